//! Moving frames to a ring on another host, the way RDMA rings do it: the producer writes each
//! frame straight into the remote ring's memory at an offset it computes, then publishes the new
//! tail; the consumer reads locally and returns its head as credit.
//!
//! - [`tcp`]: the same one-sided protocol over TCP, for machines without RDMA and for tests.
//! - [`shm`]: the window in a file two processes of one host map: the producer writes straight
//!   into the consumer's memory.
//! - `verbs` (cargo feature `rdma`): RDMA WRITE into registered memory.
//! - [`wire`]: the TCP messages; [`session`]: the boundaries a receiver records between sessions;
//!   [`bucket`]: the bandwidth cap; [`ListenConfig`] and [`SenderConfig`]: how each end is set
//!   up, whatever the backend.
//!
//! The receiving side's memory is a [`crate::ring::window`]: every offset and length a peer
//! sends is checked against it before a byte is written, and every record header is checked
//! before it is read, so a hostile peer can end its own connection and nothing else.

pub mod bucket;
mod config;
pub mod inbox;
pub mod session;
pub mod shm;
pub mod stats;
pub mod tcp;
#[cfg(feature = "rdma")]
pub mod verbs;
pub mod wire;

use std::time::Duration;

pub use config::{ListenConfig, SenderConfig};

use crate::profile::rules::check_token;
pub use stats::LinkStats;

use crate::ring::window::WindowError;

/// What happened to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// Written and published: bytes on the wire.
    Sent(usize),
    /// The remote window is full: wait for credit.
    NoCredit,
    /// The bandwidth cap says wait.
    Capped,
    /// No connection now (retrying with backoff).
    LinkDown,
    /// The encoder produced nothing (nothing was sent).
    NotEncoded,
}

/// The producer's end of a remote ring, whichever backend carries it: lays frames out in the
/// remote window, waits for credit, and reports what the receiver confirmed.
pub trait FrameLink: Send + std::fmt::Debug {
    /// The largest frame this sender writes.
    fn max_frame(&self) -> usize;
    /// Sends one frame of `rows` rows that `encode` writes into a buffer of `bound` bytes
    /// (returning its length), unless the link, the window or the cap says wait.
    fn send_frame(
        &mut self,
        bound: usize,
        rows: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> SendOutcome;
    /// Rows the receiver confirmed it consumed, over the whole run.
    fn acknowledged(&mut self) -> u64;
    /// Rows written in this run.
    fn rows_sent(&self) -> u64;
    /// Says goodbye and waits up to `wait` for every row to be confirmed; the rows confirmed.
    fn finish(&mut self, wait: Duration) -> u64;
}

/// A receiver's accepting side, whichever backend: stopped before the consumer drains.
pub trait LinkListener: Send + std::fmt::Debug {
    /// The address senders connect to.
    fn local_addr(&self) -> String;
    /// Ends the current session and stops accepting.
    fn stop(&mut self);
    /// The ring memory the listener holds itself, where it is now (`None`: the ring's memory is
    /// the engine's, or the backend does not say).
    fn memory(&self) -> Option<crate::topology::AllocationReport> {
        None
    }
    /// Bytes of records in the ring's window that its consumer has not read yet, as the window
    /// stands now: a receiver's fill, whose rows are not known before its frames are decoded
    /// (`None` where the backend does not say).
    fn unread_bytes(&self) -> Option<u64> {
        None
    }
}

/// Why a connection ended or could not start.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The operating system refused an operation.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Nobody answered at the address.
    #[error(
        "cannot connect to {address}: {reason} (is `ringtop serve --listen {address}` running?)"
    )]
    Connect {
        /// Where.
        address: String,
        /// What the OS said.
        reason: String,
    },
    /// A shared-memory ring that cannot be written into.
    #[error("shared-memory ring {ring}: {reason}")]
    ShmRing {
        /// Its name or file.
        ring: String,
        /// What is wrong.
        reason: String,
    },
    /// The address could not be bound.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// Where.
        address: String,
        /// What the OS said.
        reason: String,
    },
    /// The peer closed the connection between messages.
    #[error("peer closed the connection")]
    Closed,
    /// The peer closed the connection in the middle of a message.
    #[error("peer stopped mid-message ({got} of {wanted} bytes)")]
    Truncated {
        /// Bytes of the message that arrived.
        got: usize,
        /// Bytes the message has.
        wanted: usize,
    },
    /// The peer went silent.
    #[error("peer sent nothing for {0:?}")]
    Idle(Duration),
    /// The peer did not finish the handshake in the time it is given from accept.
    #[error("peer did not complete the handshake within {0:?} of connecting")]
    Deadline(Duration),
    /// The peer broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// A write or tail that would land outside the free part of the window.
    #[error(transparent)]
    Window(#[from] WindowError),
    /// The receiver said no.
    #[error("refused by {address}: {reason}")]
    Refused {
        /// The receiver.
        address: String,
        /// Its reason.
        reason: String,
    },
    /// The transport cannot run on this machine or build.
    #[error("{0}")]
    Unavailable(String),
    /// A token no handshake could carry.
    #[error("token: {0}")]
    Token(String),
    /// This side is shutting down.
    #[error("stopped")]
    Stopped,
}

/// Why RDMA cannot be used by this process: no support built in, or no device (as verbs says).
pub fn rdma_unavailable() -> LinkError {
    #[cfg(feature = "rdma")]
    {
        verbs::unavailable()
    }
    #[cfg(not(feature = "rdma"))]
    {
        LinkError::Unavailable(
            "this build has no RDMA support (build with --features rdma); use kind = \"tcp\" in [transport]"
                .into(),
        )
    }
}

/// Whether a receiver's welcome describes a window a sender can place records in: a power of two
/// of at least two record headers that holds the records it promises. A tiny or boastful window
/// would wrap the placement arithmetic; a sender treats one as a protocol error.
///
/// # Errors
/// [`LinkError::Protocol`] naming the window.
pub fn check_welcome(capacity: u64, max_payload: u32) -> Result<(), LinkError> {
    let fits = capacity >= 2 * crate::ring::record::HEADER as u64
        && capacity.is_power_of_two()
        && u64::from(max_payload) <= crate::ring::record::max_payload(capacity as usize) as u64;
    if fits {
        Ok(())
    } else {
        Err(LinkError::Protocol(format!(
            "the receiver's window ({capacity} bytes, records up to {max_payload}) is not a ring \
             this sender can place records in"
        )))
    }
}

/// Whether a receiver's credit can be its head: never past what was sent (`tail`). It may trail
/// the session's start while the receiver consumes what came before. One past the tail would
/// wrap the sender's window arithmetic and stall it forever; a sender treats it as a protocol
/// error, over TCP and verbs alike.
///
/// # Errors
/// [`LinkError::Protocol`] naming both positions.
pub fn check_credit(head: u64, tail: u64) -> Result<(), LinkError> {
    if head > tail {
        return Err(LinkError::Protocol(format!(
            "the receiver credited position {head}, past the {tail} sent"
        )));
    }
    Ok(())
}

/// Why a receiver refuses a hello: a wrong token, or frames its window cannot take.
pub fn refusal(expected_token: Option<&str>, hello: &wire::Hello, window: usize) -> Option<String> {
    let largest = crate::ring::window::max_payload(window);
    if let Some(wrong) = token_refusal(expected_token, hello) {
        Some(wrong)
    } else if hello.max_frame as usize > largest {
        Some(format!(
            "frames of up to {} bytes do not fit this {window}-byte window (at most {largest})",
            hello.max_frame
        ))
    } else {
        None
    }
}

/// Why a receiver refuses a hello for its token: a wrong one (none expected: any will do).
pub fn token_refusal(expected_token: Option<&str>, hello: &wire::Hello) -> Option<String> {
    expected_token
        .filter(|token| !tokens_match(token, &hello.token))
        .map(|_| "wrong token".to_owned())
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}

/// The token in the first line of `path`, a file other users cannot read (a secret in a file
/// anyone can read is no secret; ssh refuses such keys for the same reason).
///
/// # Errors
/// [`LinkError::Token`] naming the file: unreadable, readable by group or others, empty, or a
/// token no handshake carries.
pub fn read_token_file(path: &std::path::Path) -> Result<String, LinkError> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |why: String| LinkError::Token(format!("{}: {why}", path.display()));
    let mode = std::fs::metadata(path)
        .map_err(|e| failed(e.to_string()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(failed(format!(
            "other users can read it (mode {:o}); chmod 600 {}",
            mode & 0o777,
            path.display()
        )));
    }
    let text = crate::input::read_document(path, crate::input::TOKEN_FILE_BYTES, "a token file")
        .map_err(|e| failed(e.to_string()))?;
    let token = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if token.is_empty() {
        return Err(failed("the first line is empty".into()));
    }
    check_token(token).map_err(|e| failed(e.to_string()))?;
    Ok(token.to_owned())
}

/// The token to use: the one given, else `RINGTOP_TOKEN` from the environment.
pub fn resolve_token(given: Option<&str>) -> Result<Option<String>, LinkError> {
    let token = given
        .map(str::to_owned)
        .or_else(|| std::env::var("RINGTOP_TOKEN").ok())
        .filter(|t| !t.is_empty());
    if let Some(token) = &token {
        check_token(token).map_err(|e| LinkError::Token(e.to_string()))?;
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_longer_than_a_handshake_carries_is_refused() {
        assert!(matches!(
            resolve_token(Some(&"k".repeat(300))),
            Err(LinkError::Token(_))
        ));
    }

    #[test]
    fn a_credit_past_what_was_sent_is_a_protocol_error() {
        assert!(check_credit(0, 0).is_ok());
        assert!(check_credit(64, 128).is_ok());
        assert!(check_credit(128, 128).is_ok());
        let e = check_credit(129, 128).unwrap_err().to_string();
        assert!(
            e.contains("credited position 129, past the 128 sent"),
            "{e}"
        );
    }

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match("sesame", "sesame"));
        assert!(!tokens_match("sesame", "sesamE"));
        assert!(!tokens_match("sesame", "sesame!"));
        assert!(!tokens_match("sesame", ""));
        assert!(tokens_match("", ""));
    }
}
