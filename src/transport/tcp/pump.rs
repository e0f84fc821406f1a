//! Applying a TCP session's messages to the window without waiting: whoever holds the session
//! (the consumer between polls, or the session thread) reads what has arrived and applies it.
//! A write's payload may arrive in pieces; the whole write is checked against the window's free
//! part before any of it is read, and the first error or the goodbye ends the session.

use std::io::Read;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering::Relaxed;

use crate::ring::window::WindowWriter;
use crate::transport::wire::{self, Fetch, Inbound, Message};
use crate::transport::{LinkError, LinkStats};

/// The open session's incoming side.
pub(super) struct Conn {
    pub(super) inbound: Inbound<DontWait>,
    /// A write whose payload is still arriving.
    pending: Option<PendingWrite>,
    /// How the session ended, once it did: the goodbye's row count, or why it failed.
    pub(super) outcome: Option<Result<u64, LinkError>>,
}

/// A write's payload, partly read into the window.
struct PendingWrite {
    offset: u64,
    len: usize,
    filled: usize,
}

/// Reads of the session's socket that never wait (`recv` with `MSG_DONTWAIT`), so the consumer
/// can look between polls; the socket itself stays blocking for the handshake, the session
/// thread's wait and the credits written back.
pub(super) struct DontWait(pub(super) TcpStream);

impl Read for DontWait {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // SAFETY: recv(2) writes at most `buf.len()` bytes into `buf`, a live, writable buffer,
        // from a socket descriptor this value owns.
        let n = unsafe {
            libc::recv(
                self.0.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
    }
}

impl Conn {
    /// A session's incoming side, from what the handshake left buffered.
    pub(super) fn new(inbound: Inbound<DontWait>) -> Self {
        Conn {
            inbound,
            pending: None,
            outcome: None,
        }
    }

    /// Applies what has arrived, without waiting; the first error or the goodbye ends the
    /// session (kept in `outcome` for the session thread), and nothing is applied after it.
    pub(super) fn pump(&mut self, writer: &mut WindowWriter, stats: &LinkStats) {
        if self.outcome.is_none()
            && let Err(e) = self.apply(writer, stats)
        {
            self.outcome = Some(Err(e));
        }
    }

    fn apply(&mut self, writer: &mut WindowWriter, stats: &LinkStats) -> Result<(), LinkError> {
        // Once a tail is published, only what is already buffered (see `Fetch`).
        let mut fetch = Fetch::Stream;
        loop {
            if let Some(write) = &mut self.pending {
                if write.filled == write.len {
                    stats
                        .bytes
                        .fetch_add(write.len as u64 + wire::WRITE_HEADER as u64, Relaxed);
                    self.pending = None;
                    continue;
                }
                let slice = writer
                    .free_slice(write.offset + write.filled as u64, write.len - write.filled)?;
                let n =
                    self.inbound
                        .try_read_some(slice, wire::WRITE_HEADER + write.filled, fetch)?;
                if n == 0 {
                    return Ok(());
                }
                write.filled += n;
                continue;
            }
            match self.inbound.next_message(fetch)? {
                None => return Ok(()),
                Some(Message::Write { offset, len }) => {
                    let capacity = writer.capacity();
                    if len as usize > capacity {
                        return Err(LinkError::Protocol(format!(
                            "write of {len} bytes is larger than the {capacity}-byte window"
                        )));
                    }
                    // The whole write must land in free space, before any of it is read.
                    writer.free_slice(offset, len as usize)?;
                    self.pending = Some(PendingWrite {
                        offset,
                        len: len as usize,
                        filled: 0,
                    });
                }
                Some(Message::Tail(tail)) => {
                    writer.publish(tail)?;
                    // The sender counts it with the frame it ends: so does the receiver.
                    stats
                        .bytes
                        .fetch_add(wire::POSITION_MESSAGE as u64, Relaxed);
                    fetch = Fetch::BufferOnly;
                }
                Some(Message::Bye(rows)) => {
                    self.outcome = Some(Ok(rows));
                    return Ok(());
                }
                Some(other) => {
                    return Err(LinkError::Protocol(format!(
                        "a sender may not send {other:?}"
                    )));
                }
            }
        }
    }
}
