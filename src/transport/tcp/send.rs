//! The sending side: lays frames out in the remote window exactly as the receiver's
//! [`crate::ring::window`] expects, writes them with `write(offset, bytes)` and `tail`, and
//! waits for credit when the window is full. A broken link is retried with backoff; the rows in
//! flight when it broke are reported lost by the receiver, never silently skipped.

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use crate::clock::{boot_id, monotonic_ns};
use crate::ring::window::{HEADER, PADDING, footprint, place, record_header};
use crate::transport::bucket::TokenBucket;
use crate::transport::session::FRAME;
use crate::transport::wire::{self, Fetch, Hello, Inbound, Message, Patience, Reply, WRITE_HEADER};
use crate::transport::{FrameLink, LinkError, LinkStats, SendOutcome};

use super::TICK;
use crate::transport::{SenderConfig, check_credit, check_welcome};

/// One connection: the socket (non-blocking once the handshake is done) and the credit as last
/// read from it. Credits are read by the sending thread itself, between frames: no thread has to
/// be woken for them, which keeps a hand-off off the round trip.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    inbound: Inbound<TcpStream>,
    capacity: usize,
    tail: u64,
    /// The receiver's head as last credited.
    head: u64,
    /// Rows the receiver confirmed in this connection.
    rows_acked: u64,
    /// Credits were read since the last frame went out (or was refused for want of room), so
    /// the next frame need not read them first: a request/response caller reads them while it
    /// waits for the answer, and another read just before the next frame would be a system
    /// call on the round trip that finds nothing.
    fresh: bool,
}

impl Connection {
    /// Applies every credit that has arrived; the reason when the link has ended. Once one is
    /// in, only what is already buffered (see [`Fetch`]).
    fn poll(&mut self, stats: &LinkStats) -> Result<(), String> {
        self.fresh = true;
        let mut fetch = Fetch::Stream;
        loop {
            match self.inbound.next_message(fetch) {
                Ok(None) => return Ok(()),
                Ok(Some(Message::Credit {
                    head,
                    echo_stamp,
                    rows,
                })) => {
                    check_credit(head, self.tail).map_err(|e| e.to_string())?;
                    self.head = head;
                    self.rows_acked = rows;
                    fetch = Fetch::BufferOnly;
                    // No stamp echoed: no clock to read.
                    if echo_stamp > 0 {
                        let now = monotonic_ns();
                        if echo_stamp <= now {
                            stats.record_round_trip(now - echo_stamp);
                        }
                    }
                }
                Ok(Some(Message::Error(text))) => {
                    return Err(format!("the receiver dropped the link: {text}"));
                }
                Ok(Some(other)) => {
                    return Err(format!("protocol error: a receiver may not send {other:?}"));
                }
                Err(e) => return Err(format!("receiver: {e}")),
            }
        }
    }

    /// Writes all of `bytes`, waiting (and reading credits) while the socket's buffer is full.
    fn write_all(&mut self, bytes: &[u8], stats: &LinkStats) -> std::io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut at = 0;
        while at < bytes.len() {
            match self.stream.write(&bytes[at..]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => at += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the receiver took nothing for 5 s",
                        ));
                    }
                    if let Err(reason) = self.poll(stats) {
                        return Err(std::io::Error::other(reason));
                    }
                    std::thread::yield_now();
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }
}

/// The producer's end of a remote ring.
#[derive(Debug)]
pub struct RemoteSender {
    config: SenderConfig,
    stats: Arc<LinkStats>,
    run_id: u64,
    link: Option<Connection>,
    /// Rows written in this run (the next row's sequence number for a single producer).
    rows_sent: u64,
    /// Rows acknowledged in earlier connections.
    acked_before: u64,
    bucket: Option<TokenBucket>,
    next_retry: Instant,
    backoff: Duration,
    stalled: bool,
    out: Vec<u8>,
}

impl RemoteSender {
    /// Connects and shakes hands; the first connection must succeed so a wrong address or token
    /// is reported at once.
    ///
    /// # Errors
    /// [`LinkError::Connect`], [`LinkError::Refused`] or a handshake error.
    pub fn connect(config: SenderConfig, stats: Arc<LinkStats>) -> Result<Self, LinkError> {
        let run_id = monotonic_ns() ^ (u64::from(std::process::id()) << 32);
        let bucket = config
            .link_mbps
            .filter(|m| *m > 0.0)
            .map(|m| TokenBucket::new(m, (2 * config.max_frame).max(64 * 1024)));
        let mut sender = RemoteSender {
            config,
            stats,
            run_id,
            link: None,
            rows_sent: 0,
            acked_before: 0,
            bucket,
            next_retry: Instant::now(),
            backoff: Duration::from_millis(100),
            stalled: false,
            out: Vec::new(),
        };
        sender.link = Some(sender.open()?);
        Ok(sender)
    }

    fn open(&mut self) -> Result<Connection, LinkError> {
        let address = self.config.address.clone();
        let failed = |reason: String| LinkError::Connect {
            address: address.clone(),
            reason,
        };
        let target = address
            .to_socket_addrs()
            .map_err(|e| failed(e.to_string()))?
            .next()
            .ok_or_else(|| failed("the name resolves to no address".into()))?;
        let stream = TcpStream::connect_timeout(&target, self.config.connect_timeout)
            .map_err(|e| failed(e.to_string()))?;
        let connected = Instant::now();
        let io = |what: &'static str| move |source| LinkError::Io { what, source };
        stream
            .set_nodelay(true)
            .map_err(io("setting TCP_NODELAY"))?;
        stream
            .set_read_timeout(Some(TICK))
            .map_err(io("setting a read timeout"))?;
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .map_err(io("setting a write timeout"))?;
        let mut write_half = stream.try_clone().map_err(io("cloning the socket"))?;
        let hello = Hello {
            run_id: self.run_id,
            next_seq: self.rows_sent,
            max_frame: self.config.max_frame as u32,
            token: self.config.token.clone().unwrap_or_default(),
            boot_id: boot_id().to_owned(),
        };
        wire::send(&mut write_half, &wire::encode_hello(&hello), "saying hello")?;
        let mut inbound = Inbound::new(stream);
        let never = || false;
        let reply = inbound.reply(&Patience::within(
            self.config.connect_timeout,
            connected,
            &never,
        ))?;
        let (capacity, start) = match reply {
            Reply::Welcome {
                capacity,
                start,
                max_payload,
            } => {
                check_welcome(capacity, max_payload)?;
                if (max_payload as usize) < self.config.max_frame {
                    return Err(LinkError::Protocol(format!(
                        "the receiver's window ({capacity} bytes, records up to {max_payload}) cannot take frames of {} bytes",
                        self.config.max_frame
                    )));
                }
                (capacity as usize, start)
            }
            Reply::Refused(reason) => {
                return Err(LinkError::Refused { address, reason });
            }
        };
        write_half
            .set_nonblocking(true)
            .map_err(io("making the socket non-blocking"))?;
        self.stats.sessions.fetch_add(1, Relaxed);
        self.stats.window_bytes.store(capacity as u64, Relaxed);
        self.stats.connect(target.to_string());
        Ok(Connection {
            stream: write_half,
            inbound,
            capacity,
            tail: start,
            head: start,
            rows_acked: 0,
            fresh: false,
        })
    }

    /// Makes sure a link is up, reconnecting when the backoff allows.
    fn ensure_link(&mut self) -> bool {
        if let Some(link) = self.link.as_mut()
            && !link.fresh
            && let Err(reason) = link.poll(&self.stats)
        {
            self.link_lost(reason);
        }
        if self.link.is_some() {
            return true;
        }
        if Instant::now() < self.next_retry {
            return false;
        }
        match self.open() {
            Ok(link) => {
                self.link = Some(link);
                self.stats.reconnects.fetch_add(1, Relaxed);
                self.backoff = Duration::from_millis(100);
                true
            }
            Err(e) => {
                self.stats.set_error(format!("reconnecting: {e}"));
                self.next_retry = Instant::now() + self.backoff;
                self.backoff = (self.backoff * 2).min(Duration::from_secs(2));
                false
            }
        }
    }

    fn link_lost(&mut self, reason: String) {
        self.stats.disconnect();
        match self.link.take() {
            Some(link) => {
                self.acked_before += link.rows_acked;
                self.stats.count_drop(reason);
            }
            None => self.stats.set_error(reason),
        }
        self.next_retry = Instant::now() + self.backoff;
    }

    /// Sends one frame of `rows` rows that `encode` writes into a buffer of `bound` bytes
    /// (returning its length), unless the link, the window or the cap says wait.
    pub fn send_frame(
        &mut self,
        bound: usize,
        rows: usize,
        encode: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> SendOutcome {
        if !self.ensure_link() {
            return SendOutcome::LinkDown;
        }
        if let Some(bucket) = &mut self.bucket
            && !bucket.ready()
        {
            self.stats.cap_waits.fetch_add(1, Relaxed);
            return SendOutcome::Capped;
        }
        let Some(link) = self.link.as_mut() else {
            return SendOutcome::LinkDown;
        };
        let head = link.head;
        let bound = bound.min(self.config.max_frame);
        match place(link.capacity, head, link.tail, bound) {
            Ok(Some(_)) => self.stalled = false,
            Ok(None) | Err(_) => {
                // The next try reads credits first.
                link.fresh = false;
                if !self.stalled {
                    self.stalled = true;
                    self.stats.credit_stalls.fetch_add(1, Relaxed);
                }
                return SendOutcome::NoCredit;
            }
        }
        // The record goes out as one write message: message header, record header, frame.
        let start = WRITE_HEADER + HEADER;
        self.out.clear();
        self.out.resize(start + bound, 0);
        let Some(len) = encode(&mut self.out[start..]).filter(|len| *len <= bound) else {
            return SendOutcome::NotEncoded;
        };
        let Ok(Some(spot)) = place(link.capacity, head, link.tail, len) else {
            link.fresh = false;
            return SendOutcome::NoCredit;
        };
        let record = footprint(len);
        self.out.truncate(start + len);
        self.out.resize(WRITE_HEADER + record, 0);
        let mut header = Vec::with_capacity(WRITE_HEADER);
        wire::encode_message(
            &mut header,
            &Message::Write {
                offset: spot.offset as u64,
                len: record as u32,
            },
        );
        self.out[..WRITE_HEADER].copy_from_slice(&header);
        self.out[WRITE_HEADER..start].copy_from_slice(&record_header(len as u32, FRAME));
        if let Some((offset, padding)) = spot.padding {
            wire::encode_message(
                &mut self.out,
                &Message::Write {
                    offset: offset as u64,
                    len: HEADER as u32,
                },
            );
            self.out.extend_from_slice(&record_header(padding, PADDING));
        }
        wire::encode_message(&mut self.out, &Message::Tail(spot.end));
        if let Err(e) = link.write_all(&self.out, &self.stats) {
            self.link_lost(format!("sending a frame: {e}"));
            return SendOutcome::LinkDown;
        }
        link.tail = spot.end;
        link.fresh = false;
        self.rows_sent += rows as u64;
        self.stats.count_frame(rows, self.out.len());
        if let Some(bucket) = &mut self.bucket {
            bucket.spend(self.out.len());
        }
        self.publish_acks();
        SendOutcome::Sent(self.out.len())
    }

    /// Rows the receiver has confirmed it consumed, over every connection of this run (credits
    /// that have arrived are read first).
    pub fn acknowledged(&mut self) -> u64 {
        if let Some(link) = self.link.as_mut()
            && let Err(reason) = link.poll(&self.stats)
        {
            self.link_lost(reason);
        }
        self.acked_before + self.link.as_ref().map_or(0, |l| l.rows_acked)
    }

    fn publish_acks(&mut self) {
        let acked = self.acknowledged();
        self.stats.rows_acknowledged.store(acked, Relaxed);
    }

    /// The largest frame this sender writes.
    pub fn max_frame(&self) -> usize {
        self.config.max_frame
    }

    /// Rows written in this run.
    pub fn rows_sent(&self) -> u64 {
        self.rows_sent
    }

    /// Says goodbye with the run's row count and waits up to `wait` for the receiver to
    /// acknowledge every row; returns the rows acknowledged.
    ///
    /// The receiver closes the connection once it has the goodbye: that is the session's end,
    /// not a dropped link, unless rows are still unacknowledged when it happens.
    pub fn finish(&mut self, wait: Duration) -> u64 {
        let mut ended = None;
        if let Some(link) = self.link.as_mut() {
            let mut bye = Vec::new();
            wire::encode_message(&mut bye, &Message::Bye(self.rows_sent));
            match link.write_all(&bye, &self.stats) {
                Err(e) => ended = Some(format!("saying goodbye: {e}")),
                Ok(()) => {
                    let deadline = crate::clock::deadline(Instant::now(), wait);
                    loop {
                        // Credits that arrived since the last look count, even past the deadline.
                        if let Err(reason) = link.poll(&self.stats) {
                            ended = Some(reason);
                            break;
                        }
                        if self.acked_before + link.rows_acked >= self.rows_sent
                            || !crate::clock::ahead(deadline, Instant::now())
                        {
                            break;
                        }
                        std::thread::sleep(Duration::from_micros(100));
                    }
                }
            }
        }
        if let Some(link) = self.link.take() {
            self.acked_before += link.rows_acked;
            if let Some(reason) = ended.filter(|_| self.acked_before < self.rows_sent) {
                self.stats.count_drop(reason);
            }
        }
        let acked = self.acked_before;
        self.stats.rows_acknowledged.store(acked, Relaxed);
        self.stats.disconnect();
        acked
    }
}

impl FrameLink for RemoteSender {
    fn max_frame(&self) -> usize {
        self.config.max_frame
    }

    fn send_frame(
        &mut self,
        bound: usize,
        rows: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> SendOutcome {
        RemoteSender::send_frame(self, bound, rows, encode)
    }

    fn acknowledged(&mut self) -> u64 {
        RemoteSender::acknowledged(self)
    }

    fn rows_sent(&self) -> u64 {
        self.rows_sent
    }

    fn finish(&mut self, wait: Duration) -> u64 {
        RemoteSender::finish(self, wait)
    }
}
