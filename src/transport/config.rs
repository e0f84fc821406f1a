//! How each end of a link is set up: what the sender connects to and with, what the receiver
//! listens on and accepts. Every backend (TCP, verbs) takes these.

use std::time::Duration;

use crate::profile::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT};

/// Where and how a sender connects.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// The receiver's `host:port`.
    pub address: String,
    /// The shared secret.
    pub token: Option<String>,
    /// The largest frame this sender will write, in bytes.
    pub max_frame: usize,
    /// Bandwidth cap in Mbit/s, if any.
    pub link_mbps: Option<f64>,
    /// How long connecting (and the handshake) may take.
    pub connect_timeout: Duration,
}

/// How the receiver listens.
#[derive(Debug, Clone)]
pub struct ListenConfig {
    /// `host:port`; port 0 picks a free one.
    pub address: String,
    /// The secret a sender must present; `None` accepts anyone (loopback only).
    pub token: Option<String>,
    /// A connected sender silent this long is dropped.
    pub idle_timeout: Duration,
    /// A new connection has this long to say hello.
    pub handshake_timeout: Duration,
}

impl ListenConfig {
    /// Listens on `address` (for shm: the ring's name) with no secret and the profile's default
    /// timeouts: what a program embedding one end of a loopback or shared-memory link needs.
    pub fn open(address: impl Into<String>) -> Self {
        ListenConfig {
            address: address.into(),
            token: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        }
    }
}
