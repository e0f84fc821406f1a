//! The TCP backend's bytes on the wire: the handshake and the five messages, each with a fixed
//! layout (little-endian) and a size limit checked before anything is allocated or written.
//!
//! ```text
//! hello    "RTOP" version:u16 run_id:u64 next_seq:u64 max_frame:u32 token_len:u16 token boot_len:u8 boot_id
//! reply    "RTOP" version:u16 status:u8 (0: capacity:u64 start:u64 max_payload:u32 | 1: len:u16 reason)
//! sender → receiver: 'W' offset:u64 len:u32 bytes   'T' tail:u64   'B' rows_sent:u64
//! receiver → sender: 'C' head:u64 echo_stamp:u64 rows:u64   'E' len:u16 text
//! ```

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use super::LinkError;

/// The first bytes of both sides' handshake.
pub const MAGIC: [u8; 4] = *b"RTOP";
/// The protocol this build speaks.
pub const VERSION: u16 = 1;
/// Longest token accepted.
pub const MAX_TOKEN: usize = crate::profile::rules::MAX_TOKEN;
/// Longest boot id accepted.
pub const MAX_BOOT_ID: usize = 64;
/// Longest error text accepted.
pub const MAX_TEXT: usize = 1024;

/// Tag of a write message.
pub const WRITE: u8 = b'W';
/// Tag of a tail message.
pub const TAIL: u8 = b'T';
/// Tag of a goodbye message.
pub const BYE: u8 = b'B';
/// Tag of a credit message.
pub const CREDIT: u8 = b'C';
/// Tag of an error message.
pub const ERROR: u8 = b'E';
/// Bytes in front of a write's payload: tag, offset, length.
pub const WRITE_HEADER: usize = 13;
/// Bytes of a tail or goodbye message: tag and a position or count.
pub const POSITION_MESSAGE: usize = 9;

/// What a sender says first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Identifies one producer run across reconnects.
    pub run_id: u64,
    /// The sequence number of the first row this connection will carry.
    pub next_seq: u64,
    /// The largest frame the sender will write.
    pub max_frame: u32,
    /// The shared secret.
    pub token: String,
    /// The sender's boot id (same boot: same clock).
    pub boot_id: String,
}

/// The receiver's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Go ahead.
    Welcome {
        /// Bytes in the receiver's window.
        capacity: u64,
        /// The position the sender's first record goes to (and the head it starts from).
        start: u64,
        /// Largest record payload the window accepts.
        max_payload: u32,
    },
    /// Go away, and why.
    Refused(String),
}

/// A message after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Bytes for the window at `offset` (the payload follows the header on the wire).
    Write {
        /// Offset in the window.
        offset: u64,
        /// Payload bytes that follow.
        len: u32,
    },
    /// Everything before this position is written.
    Tail(u64),
    /// The sender is done; it sent this many rows in the run.
    Bye(u64),
    /// The receiver released everything before `head`.
    Credit {
        /// The receiver's head.
        head: u64,
        /// The stamp of the last row consumed, echoed for round-trip times.
        echo_stamp: u64,
        /// Rows consumed in this connection.
        rows: u64,
    },
    /// The receiver's reason for dropping the connection.
    Error(String),
}

/// The hello's bytes.
pub fn encode_hello(hello: &Hello) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + hello.token.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&hello.run_id.to_le_bytes());
    out.extend_from_slice(&hello.next_seq.to_le_bytes());
    out.extend_from_slice(&hello.max_frame.to_le_bytes());
    let token = &hello.token.as_bytes()[..hello.token.len().min(MAX_TOKEN)];
    out.extend_from_slice(&(token.len() as u16).to_le_bytes());
    out.extend_from_slice(token);
    let boot = &hello.boot_id.as_bytes()[..hello.boot_id.len().min(MAX_BOOT_ID)];
    out.push(boot.len() as u8);
    out.extend_from_slice(boot);
    out
}

/// The reply's bytes.
pub fn encode_reply(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::with_capacity(32);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    match reply {
        Reply::Welcome {
            capacity,
            start,
            max_payload,
        } => {
            out.push(0);
            out.extend_from_slice(&capacity.to_le_bytes());
            out.extend_from_slice(&start.to_le_bytes());
            out.extend_from_slice(&max_payload.to_le_bytes());
        }
        Reply::Refused(reason) => {
            out.push(1);
            push_text(&mut out, reason);
        }
    }
    out
}

fn push_text(out: &mut Vec<u8>, text: &str) {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.extend_from_slice(&(end as u16).to_le_bytes());
    out.extend_from_slice(&text.as_bytes()[..end]);
}

/// Appends a message (for a write, only its header; the payload follows).
pub fn encode_message(out: &mut Vec<u8>, message: &Message) {
    match message {
        Message::Write { offset, len } => {
            out.push(WRITE);
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        Message::Tail(tail) => {
            out.push(TAIL);
            out.extend_from_slice(&tail.to_le_bytes());
        }
        Message::Bye(rows) => {
            out.push(BYE);
            out.extend_from_slice(&rows.to_le_bytes());
        }
        Message::Credit {
            head,
            echo_stamp,
            rows,
        } => {
            out.push(CREDIT);
            out.extend_from_slice(&head.to_le_bytes());
            out.extend_from_slice(&echo_stamp.to_le_bytes());
            out.extend_from_slice(&rows.to_le_bytes());
        }
        Message::Error(text) => {
            out.push(ERROR);
            push_text(out, text);
        }
    }
}

/// Sends bytes, naming what was being sent when it fails.
pub fn send(stream: &mut impl Write, bytes: &[u8], what: &'static str) -> Result<(), LinkError> {
    stream
        .write_all(bytes)
        .map_err(|source| LinkError::Io { what, source })
}

/// When reading should give up: the caller's stop flag, a limit on silence, and optionally an
/// absolute deadline (a handshake's: a peer that dribbles one byte at a time is never silent for
/// long, but it does not finish in time either).
pub struct Patience<'a> {
    /// Silence longer than this ends the connection.
    pub idle: Duration,
    /// Checked whenever the socket's read timeout ticks.
    pub stop: &'a dyn Fn() -> bool,
    /// Reading fails with [`LinkError::Deadline`] from this instant on, whatever arrives.
    pub deadline: Option<(Instant, Duration)>,
}

impl<'a> Patience<'a> {
    /// Patience with silence only: no deadline.
    pub fn idle(idle: Duration, stop: &'a dyn Fn() -> bool) -> Self {
        Patience {
            idle,
            stop,
            deadline: None,
        }
    }

    /// A limit of `limit` counted from `since` (the accept), whatever the peer sends.
    pub fn within(limit: Duration, since: Instant, stop: &'a dyn Fn() -> bool) -> Self {
        let deadline = since.checked_add(limit).unwrap_or(since);
        Patience {
            idle: Duration::MAX,
            stop,
            deadline: Some((deadline, limit)),
        }
    }

    fn expired(&self) -> Result<(), LinkError> {
        match self.deadline {
            Some((at, limit)) if Instant::now() >= at => Err(LinkError::Deadline(limit)),
            _ => Ok(()),
        }
    }
}

/// How far a poller may go for the next message or body bytes.
///
/// A poller that has just taken what it was waiting for (the receiver a tail, the sender a
/// credit) switches to [`Fetch::BufferOnly`]: another read of the socket would be a system call
/// that finds nothing, paid between the arrival and whoever acts on it. What stays buffered is
/// never a whole message, so a later wait on the socket strands nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// From the buffer, else one read of the stream.
    Stream,
    /// Only what the buffer holds already.
    BufferOnly,
}

/// Buffered reading from a socket whose read timeout is a short tick: a timeout is not an error
/// but a chance to check the stop flag and the idle limit, and a message cut off half-way says how
/// much of it arrived.
pub struct Inbound<R> {
    stream: R,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    last_byte: Instant,
    /// Bytes taken out so far.
    pub total: u64,
}

impl<R> std::fmt::Debug for Inbound<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inbound")
            .field("buffered", &(self.end - self.start))
            .field("total", &self.total)
            .finish()
    }
}

impl<R: Read> Inbound<R> {
    /// Reads from `stream` through a 64 KiB buffer.
    pub fn new(stream: R) -> Self {
        Inbound {
            stream,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            last_byte: Instant::now(),
            total: 0,
        }
    }

    fn refill(&mut self, patience: &Patience<'_>) -> Result<bool, LinkError> {
        self.start = 0;
        self.end = 0;
        loop {
            patience.expired()?;
            match self.stream.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.end = n;
                    self.last_byte = Instant::now();
                    return Ok(true);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    if (patience.stop)() {
                        return Err(LinkError::Stopped);
                    }
                    if self.last_byte.elapsed() >= patience.idle {
                        return Err(LinkError::Idle(patience.idle));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(LinkError::Io {
                        what: "reading",
                        source,
                    });
                }
            }
        }
    }

    /// Fills `out` completely. `started` says whether this is the middle of a message (bytes of
    /// it already read), which decides how an end of stream is reported.
    pub fn read_exact(
        &mut self,
        out: &mut [u8],
        started: usize,
        patience: &Patience<'_>,
    ) -> Result<(), LinkError> {
        let mut filled = 0;
        while filled < out.len() {
            if self.start == self.end && !self.refill(patience)? {
                return Err(if started + filled == 0 {
                    LinkError::Closed
                } else {
                    LinkError::Truncated {
                        got: started + filled,
                        wanted: started + out.len(),
                    }
                });
            }
            let n = (self.end - self.start).min(out.len() - filled);
            out[filled..filled + n].copy_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
            filled += n;
        }
        self.total += out.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(
        &mut self,
        started: usize,
        patience: &Patience<'_>,
    ) -> Result<[u8; N], LinkError> {
        let mut bytes = [0; N];
        self.read_exact(&mut bytes, started, patience)?;
        Ok(bytes)
    }

    fn u64(&mut self, started: usize, patience: &Patience<'_>) -> Result<u64, LinkError> {
        Ok(u64::from_le_bytes(self.array(started, patience)?))
    }

    fn text(
        &mut self,
        started: usize,
        limit: usize,
        what: &str,
        patience: &Patience<'_>,
    ) -> Result<String, LinkError> {
        let len = u16::from_le_bytes(self.array(started, patience)?) as usize;
        if len > limit {
            return Err(LinkError::Protocol(format!(
                "{what} of {len} bytes is longer than the {limit} allowed"
            )));
        }
        let mut bytes = vec![0; len];
        self.read_exact(&mut bytes, started + 2, patience)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn preamble(&mut self, patience: &Patience<'_>) -> Result<(), LinkError> {
        let magic: [u8; 4] = self.array(0, patience)?;
        if magic != MAGIC {
            return Err(LinkError::Protocol(format!(
                "not a ringtop peer (first bytes {magic:02x?}, expected \"RTOP\")"
            )));
        }
        let version = u16::from_le_bytes(self.array(4, patience)?);
        if version != VERSION {
            return Err(LinkError::Protocol(format!(
                "protocol version {version}; this build speaks {VERSION}"
            )));
        }
        Ok(())
    }

    /// Bytes the message starting at the buffer's head needs before it can be parsed without
    /// touching the socket (a write's payload not included); `None` until that is known.
    fn buffered_need(&self) -> Option<usize> {
        let available = self.end - self.start;
        let tag = *self.buf.get(self.start).filter(|_| available > 0)?;
        Some(match tag {
            WRITE => WRITE_HEADER,
            TAIL | BYE => POSITION_MESSAGE,
            CREDIT => 25,
            ERROR if available < 3 => return None,
            ERROR => {
                3 + usize::from(u16::from_le_bytes([
                    self.buf[self.start + 1],
                    self.buf[self.start + 2],
                ]))
                .min(MAX_TEXT + 1)
            }
            // An unknown tag: one byte is enough for `message` to refuse it.
            _ => 1,
        })
    }

    /// The next message if all of it is in the buffer already, without reading the stream: for a
    /// poller that has just taken what it was waiting for, and would otherwise pay a system call
    /// that finds nothing before it acts on it.
    ///
    /// # Errors
    /// As [`Inbound::message`].
    pub fn buffered_message(&mut self) -> Result<Option<Message>, LinkError> {
        if self
            .buffered_need()
            .is_some_and(|need| self.end - self.start >= need)
        {
            let never = || false;
            return self
                .message(&Patience::idle(Duration::MAX, &never))
                .map(Some);
        }
        Ok(None)
    }

    /// Bytes read from the stream and not yet taken.
    pub fn buffered_len(&self) -> usize {
        self.end - self.start
    }

    /// The next whole message, going as far as `fetch` allows for it: [`Inbound::try_message`]
    /// or [`Inbound::buffered_message`].
    ///
    /// # Errors
    /// As those.
    pub fn next_message(&mut self, fetch: Fetch) -> Result<Option<Message>, LinkError> {
        match fetch {
            Fetch::Stream => self.try_message(),
            Fetch::BufferOnly => self.buffered_message(),
        }
    }

    /// The next message if all of it has arrived, without waiting: for a socket in non-blocking
    /// mode, polled by a thread that has other work.
    ///
    /// # Errors
    /// As [`Inbound::message`]; an end of stream is [`LinkError::Closed`] or
    /// [`LinkError::Truncated`].
    pub fn try_message(&mut self) -> Result<Option<Message>, LinkError> {
        loop {
            if let Some(message) = self.buffered_message()? {
                return Ok(Some(message));
            }
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(0) if self.end == self.start => return Err(LinkError::Closed),
                Ok(0) => {
                    return Err(LinkError::Truncated {
                        got: self.end - self.start,
                        wanted: self.buffered_need().unwrap_or(self.end - self.start + 1),
                    });
                }
                Ok(n) => {
                    self.end += n;
                    self.last_byte = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(LinkError::Io {
                        what: "reading",
                        source,
                    });
                }
            }
        }
    }

    /// Up to `out.len()` bytes of a message's body, without waiting: from the buffer if it holds
    /// any, else (with [`Fetch::Stream`]) one read of the stream (for a stream whose reads do not
    /// block); 0 when nothing has arrived. `started` bytes of the message were read before, for
    /// the error at an end of stream.
    ///
    /// # Errors
    /// [`LinkError::Truncated`] at an end of stream, [`LinkError::Io`].
    pub fn try_read_some(
        &mut self,
        out: &mut [u8],
        started: usize,
        fetch: Fetch,
    ) -> Result<usize, LinkError> {
        if out.is_empty() || (fetch == Fetch::BufferOnly && self.start == self.end) {
            return Ok(0);
        }
        if self.start < self.end {
            let n = (self.end - self.start).min(out.len());
            out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
            self.total += n as u64;
            return Ok(n);
        }
        loop {
            match self.stream.read(out) {
                Ok(0) => {
                    return Err(LinkError::Truncated {
                        got: started,
                        wanted: started + out.len(),
                    });
                }
                Ok(n) => {
                    self.last_byte = Instant::now();
                    self.total += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(LinkError::Io {
                        what: "reading",
                        source,
                    });
                }
            }
        }
    }

    /// How long since a byte last arrived.
    pub fn idle_for(&self) -> Duration {
        self.last_byte.elapsed()
    }

    /// The same buffered bytes read on from another stream (the same socket read another way).
    pub fn map_stream<S>(self, f: impl FnOnce(R) -> S) -> Inbound<S> {
        Inbound {
            stream: f(self.stream),
            buf: self.buf,
            start: self.start,
            end: self.end,
            last_byte: self.last_byte,
            total: self.total,
        }
    }

    /// Reads a sender's hello.
    pub fn hello(&mut self, patience: &Patience<'_>) -> Result<Hello, LinkError> {
        self.preamble(patience)?;
        let run_id = self.u64(6, patience)?;
        let next_seq = self.u64(14, patience)?;
        let max_frame = u32::from_le_bytes(self.array(22, patience)?);
        let token = self.text(26, MAX_TOKEN, "token", patience)?;
        let boot_len = self.array::<1>(28, patience)?[0] as usize;
        if boot_len > MAX_BOOT_ID {
            return Err(LinkError::Protocol(format!(
                "boot id of {boot_len} bytes is longer than the {MAX_BOOT_ID} allowed"
            )));
        }
        let mut boot = vec![0; boot_len];
        self.read_exact(&mut boot, 29, patience)?;
        Ok(Hello {
            run_id,
            next_seq,
            max_frame,
            token,
            boot_id: String::from_utf8_lossy(&boot).into_owned(),
        })
    }

    /// Reads a receiver's reply.
    pub fn reply(&mut self, patience: &Patience<'_>) -> Result<Reply, LinkError> {
        self.preamble(patience)?;
        match self.array::<1>(6, patience)?[0] {
            0 => Ok(Reply::Welcome {
                capacity: self.u64(7, patience)?,
                start: self.u64(15, patience)?,
                max_payload: u32::from_le_bytes(self.array(23, patience)?),
            }),
            1 => Ok(Reply::Refused(self.text(7, MAX_TEXT, "reason", patience)?)),
            other => Err(LinkError::Protocol(format!(
                "unknown handshake status {other}"
            ))),
        }
    }

    /// Reads the next message; a write's payload is left for [`Inbound::read_exact`].
    pub fn message(&mut self, patience: &Patience<'_>) -> Result<Message, LinkError> {
        let [tag] = self.array::<1>(0, patience)?;
        Ok(match tag {
            WRITE => Message::Write {
                offset: self.u64(1, patience)?,
                len: u32::from_le_bytes(self.array(9, patience)?),
            },
            TAIL => Message::Tail(self.u64(1, patience)?),
            BYE => Message::Bye(self.u64(1, patience)?),
            CREDIT => Message::Credit {
                head: self.u64(1, patience)?,
                echo_stamp: self.u64(9, patience)?,
                rows: self.u64(17, patience)?,
            },
            ERROR => Message::Error(self.text(1, MAX_TEXT, "error text", patience)?),
            other => {
                return Err(LinkError::Protocol(format!(
                    "unknown message tag 0x{other:02x}"
                )));
            }
        })
    }
}

#[cfg(test)]
mod tests;
