//! The receiving side: a listener thread accepts senders one at a time; the session's messages
//! are applied to the window by whichever thread finds them first: the consumer, reading the
//! socket itself (without waiting) whenever its window is empty, or the session thread while the
//! consumer is busy or sleeping. The consumer reads the window through an [`Inbox`] and returns
//! credit.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::same_clock;
use crate::ring::window::{WindowError, WindowPositions, WindowReader, WindowWriter, max_payload};
use crate::transport::inbox::{CreditPath, Inbox, TailFeed};
use crate::transport::session::{SessionEvent, SessionLog};
use crate::transport::wire::{self, Hello, Inbound, Message, Patience, Reply};
use crate::transport::{LinkError, LinkListener, LinkStats, refusal};

use super::TICK;
use super::pump::{Conn, DontWait};
use crate::transport::ListenConfig;

/// The credit path back to the current sender, shared by the session thread (which attaches and
/// detaches it) and the consumer (which writes credits).
#[derive(Debug, Default)]
struct CreditReturn {
    link: Mutex<Option<TcpStream>>,
    /// Why the consumer cut the connection (a bad record), reported by the session.
    abort_reason: Mutex<Option<String>>,
}

impl CreditPath for CreditReturn {
    fn send(&self, head: u64, echo_stamp: u64, rows: u64) {
        let Ok(mut link) = self.link.lock() else {
            return;
        };
        if let Some(stream) = link.as_mut() {
            let mut bytes = Vec::with_capacity(32);
            let credit = Message::Credit {
                head,
                echo_stamp,
                rows,
            };
            wire::encode_message(&mut bytes, &credit);
            if wire::send(stream, &bytes, "sending credit").is_err() {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                *link = None;
            }
        }
    }

    fn abort(&self, reason: String) {
        if let Ok(mut r) = self.abort_reason.lock() {
            *r = Some(reason);
        }
        if let Ok(link) = self.link.lock()
            && let Some(stream) = link.as_ref()
        {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// A running listener; [`Listener::stop`] ends the session and the thread.
#[derive(Debug)]
pub struct Listener {
    /// The address actually bound.
    pub local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The consumer's window positions, held weakly: its fill ([`LinkListener::unread_bytes`]).
    window: WindowPositions,
}

impl Listener {
    /// Closes the connection (the consumer sees the session end), stops accepting and waits.
    pub fn stop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl LinkListener for Listener {
    fn local_addr(&self) -> String {
        self.local_addr.to_string()
    }

    fn stop(&mut self) {
        Listener::stop(self);
    }

    /// What the session thread or the consumer applied from the socket and the consumer has
    /// not read: bytes still in the socket are not in the ring yet.
    fn unread_bytes(&self) -> Option<u64> {
        let (head, tail) = self.window.read()?;
        Some(tail - head)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds `config.address` and starts accepting senders into `writer`'s window; the consumer
/// reads it through the returned [`Inbox`].
///
/// # Errors
/// [`LinkError::Listen`] when the address cannot be bound, or it is not a loopback address and no
/// token is set (anyone who reaches it could write into the ring).
pub fn listen(
    config: ListenConfig,
    writer: WindowWriter,
    reader: WindowReader,
    stats: Arc<LinkStats>,
) -> Result<(Listener, Inbox), LinkError> {
    let address = config.address.clone();
    let failed = |reason: String| LinkError::Listen {
        address: address.clone(),
        reason,
    };
    let socket = TcpListener::bind(&config.address).map_err(|e| failed(e.to_string()))?;
    let local_addr = socket.local_addr().map_err(|e| failed(e.to_string()))?;
    if config.token.is_none() && !local_addr.ip().is_loopback() {
        return Err(failed(
            "a non-loopback address needs a token (transport.token, --token or RINGTOP_TOKEN)"
                .into(),
        ));
    }
    socket
        .set_nonblocking(true)
        .map_err(|e| failed(e.to_string()))?;
    let stop = Arc::new(AtomicBool::new(false));
    let credits = Arc::new(CreditReturn::default());
    let sessions = Arc::new(SessionLog::default());
    let shared = Arc::new(Shared {
        config,
        writer_capacity: writer.capacity(),
        slot: Mutex::new(()),
        io: Mutex::new(Io {
            writer: Some(writer),
            conn: None,
        }),
        feeds: AtomicU64::new(0),
        stats: stats.clone(),
        credits: credits.clone(),
        stop: stop.clone(),
        runs_seen: Mutex::new(Vec::new()),
        sessions: sessions.clone(),
        serving: Mutex::new(None),
        handshakes: AtomicUsize::new(0),
    });
    let thread = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("link-accept".into())
            .spawn(move || accept_loop(socket, shared))
            .map_err(|e| failed(e.to_string()))?
    };
    Ok((
        Listener {
            local_addr,
            stop,
            thread: Some(thread),
            window: reader.positions(),
        },
        Inbox::with_feed(reader, sessions, credits, stats, shared),
    ))
}

/// Connections allowed to be shaking hands at once; more are refused until one finishes, so a
/// crowd of silent peers costs a bounded number of threads for at most the handshake timeout.
pub const MAX_HANDSHAKES: usize = 16;

struct Shared {
    config: ListenConfig,
    /// The session slot: only an authenticated sender takes it.
    slot: Mutex<()>,
    /// The window's writing end and the open session's socket, for whoever applies messages.
    io: Mutex<Io>,
    /// Polls of the consumer's feed: while they come, the consumer reads the socket itself and
    /// the session thread keeps out of its way.
    feeds: AtomicU64,
    /// The window's size, for judging a hello without the slot.
    writer_capacity: usize,
    stats: Arc<LinkStats>,
    credits: Arc<CreditReturn>,
    stop: Arc<AtomicBool>,
    runs_seen: Mutex<Vec<u64>>,
    /// Where each session starts and ends in the window, for the consumer.
    sessions: Arc<SessionLog>,
    /// The peer holding the session, named to those told "busy".
    serving: Mutex<Option<String>>,
    /// Connections accepted whose hello has not been judged yet.
    handshakes: AtomicUsize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("address", &self.config.address)
            .field("capacity", &self.writer_capacity)
            .finish()
    }
}

/// What applies the session's messages: the window's writing end (gone once the listener
/// stopped) and the open session's incoming side.
struct Io {
    writer: Option<WindowWriter>,
    conn: Option<Conn>,
}

impl TailFeed for Shared {
    /// The consumer, its window empty, applies whatever the sender's socket holds: no thread
    /// wakes between the bytes and the reader. Errors end the session through the session thread,
    /// as when it applies them itself.
    fn feed(&self) -> Result<(), WindowError> {
        self.feeds
            .store(self.feeds.load(Relaxed).wrapping_add(1), Relaxed);
        if let Ok(mut io) = self.io.try_lock()
            && let Io {
                writer: Some(writer),
                conn: Some(conn),
            } = &mut *io
        {
            conn.pump(writer, &self.stats);
        }
        Ok(())
    }
}

/// How long the session thread leaves the socket to a consumer that is polling it before it
/// looks again.
const CONSUMER_WATCH: Duration = Duration::from_micros(200);

fn accept_loop(socket: TcpListener, shared: Arc<Shared>) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Relaxed) {
        connections.retain(|c| !c.is_finished());
        match socket.accept() {
            Ok((stream, peer)) => {
                let accepted = Instant::now();
                if shared.handshakes.load(Relaxed) >= MAX_HANDSHAKES {
                    let reason = format!("{MAX_HANDSHAKES} connections are already shaking hands");
                    shared
                        .stats
                        .count_refusal(format!("refused {peer}: {reason}"));
                    refuse(stream, &reason);
                    continue;
                }
                shared.handshakes.fetch_add(1, Relaxed);
                let for_thread = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("link-session".into())
                    .spawn(move || connection(stream, peer, accepted, &for_thread));
                match spawned {
                    Ok(thread) => connections.push(thread),
                    Err(e) => {
                        shared.handshakes.fetch_sub(1, Relaxed);
                        shared.stats.set_error(format!("no thread for {peer}: {e}"));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(TICK / 5),
            Err(e) => {
                shared.stats.set_error(format!("accept: {e}"));
                std::thread::sleep(TICK);
            }
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
    // The window's writing end goes: the consumer sees the stream end once it has read it all.
    if let Ok(mut io) = shared.io.lock() {
        io.writer = None;
    }
}

/// One accepted connection: its hello within the handshake timeout from `accepted`, judged
/// before it may take the session slot; then the session, if the slot is free.
fn connection(stream: TcpStream, peer: SocketAddr, accepted: Instant, shared: &Shared) {
    let judged = handshake(&stream, peer, accepted, shared);
    shared.handshakes.fetch_sub(1, Relaxed);
    let Some((hello, inbound)) = judged else {
        return;
    };
    let _slot = match shared.slot.try_lock() {
        Ok(slot) => slot,
        Err(_) => {
            let serving = shared
                .serving
                .lock()
                .ok()
                .and_then(|s| s.clone())
                .unwrap_or_else(|| "another sender".into());
            let reason = format!("busy: already serving {serving}");
            shared
                .stats
                .count_refusal(format!("refused {peer}: {reason}"));
            refuse(stream, &reason);
            return;
        }
    };
    if let Ok(mut serving) = shared.serving.lock() {
        *serving = Some(peer.to_string());
    }
    run_session(stream, inbound, &hello, peer, shared);
    if let Ok(mut serving) = shared.serving.lock() {
        *serving = None;
    }
}

/// Reads and judges a hello: `None` (the peer told why) when it is late, malformed, has the
/// wrong token or frames the window cannot take.
fn handshake(
    stream: &TcpStream,
    peer: SocketAddr,
    accepted: Instant,
    shared: &Shared,
) -> Option<(Hello, Inbound<TcpStream>)> {
    let stats = &shared.stats;
    let setup = (|| {
        stream.set_nonblocking(false)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TICK))?;
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        stream.try_clone()
    })();
    let read_half = setup.ok()?;
    let mut inbound = Inbound::new(read_half);
    let stop = || shared.stop.load(Relaxed);
    let patience = Patience::within(shared.config.handshake_timeout, accepted, &stop);
    let capacity = shared.writer_capacity;
    let judged = inbound
        .hello(&patience)
        .map_err(|e| e.to_string())
        .and_then(
            |hello| match refusal(shared.config.token.as_deref(), &hello, capacity) {
                Some(reason) => Err(reason),
                None => Ok(hello),
            },
        );
    match judged {
        Ok(hello) => Some((hello, inbound)),
        Err(reason) => {
            stats.count_refusal(format!("refused {peer}: {reason}"));
            if let Ok(stream) = stream.try_clone() {
                refuse(stream, &reason);
            }
            None
        }
    }
}

/// Tells a connection why it is not welcome, best effort, and closes it.
fn refuse(mut stream: TcpStream, reason: &str) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_write_timeout(Some(Duration::from_millis(200)));
    let _ = wire::send(
        &mut stream,
        &wire::encode_reply(&Reply::Refused(reason.to_owned())),
        "refusing",
    );
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn run_session(
    stream: TcpStream,
    inbound: Inbound<TcpStream>,
    hello: &Hello,
    peer: SocketAddr,
    shared: &Shared,
) {
    let stats = &shared.stats;
    let stop = || shared.stop.load(Relaxed);
    let capacity = shared.writer_capacity;
    // Where the window's stream stands; `None` once the listener has stopped. Nothing publishes
    // while no session is open, so a boundary recorded here precedes every record of the session.
    let published = || {
        shared
            .io
            .lock()
            .ok()
            .and_then(|io| io.writer.as_ref().map(WindowWriter::published))
    };
    let Some(start_at) = published() else {
        return;
    };
    let start = SessionEvent::Start {
        run_id: hello.run_id,
        next_seq: hello.next_seq,
        same_clock: same_clock(&hello.boot_id),
        peer: peer.to_string(),
    };
    shared.sessions.record(start_at, start);
    let welcome = Reply::Welcome {
        capacity: capacity as u64,
        start: start_at,
        max_payload: max_payload(capacity) as u32,
    };
    let mut write_half = stream;
    if wire::send(&mut write_half, &wire::encode_reply(&welcome), "welcoming").is_err() {
        let left = SessionEvent::End {
            rows_sent: None,
            reason: "peer left during the handshake".into(),
        };
        shared.sessions.record(start_at, left);
        return;
    }
    if let Ok(mut runs) = shared.runs_seen.lock() {
        if runs.contains(&hello.run_id) {
            stats.reconnects.fetch_add(1, Relaxed);
        } else {
            runs.push(hello.run_id);
        }
    }
    stats.sessions.fetch_add(1, Relaxed);
    stats.connect(peer.to_string());
    if let Ok(mut link) = shared.credits.link.lock() {
        *link = write_half.try_clone().ok();
    }
    if let Ok(mut reason) = shared.credits.abort_reason.lock() {
        *reason = None;
    }
    if let Ok(mut io) = shared.io.lock() {
        io.conn = Some(Conn::new(inbound.map_stream(DontWait)));
    }

    let patience = Patience::idle(shared.config.idle_timeout, &stop);
    let outcome = watch(&write_half, shared, &patience);
    {
        // Let the consumer read (or, after a bad record, discard) everything published before
        // the session ends: after a clean goodbye its last credit reaches the sender before the
        // credit path closes.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let unread = || {
            shared.io.lock().ok().is_some_and(|io| {
                io.writer
                    .as_ref()
                    .is_some_and(|w| w.head() < w.published() && !w.is_abandoned())
            })
        };
        while unread() && !stop() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    if let Ok(mut link) = shared.credits.link.lock() {
        *link = None;
    }
    stats.disconnect();
    let end = match outcome {
        Ok(rows) => SessionEvent::End {
            rows_sent: Some(rows),
            reason: "sender finished".into(),
        },
        Err(LinkError::Stopped) => SessionEvent::End {
            rows_sent: None,
            reason: "receiver stopped".into(),
        },
        Err(e) => {
            let reason = shared
                .credits
                .abort_reason
                .lock()
                .ok()
                .and_then(|mut r| r.take())
                .unwrap_or_else(|| e.to_string());
            stats.count_drop(format!("peer {peer}: {reason}; connection dropped"));
            let mut bytes = Vec::new();
            wire::encode_message(&mut bytes, &Message::Error(reason.clone()));
            let _ = wire::send(&mut write_half, &bytes, "reporting an error");
            SessionEvent::End {
                rows_sent: None,
                reason,
            }
        }
    };
    let _ = write_half.shutdown(std::net::Shutdown::Both);
    shared.sessions.record(published().unwrap_or(start_at), end);
}

/// Watches the open session until it ends (a goodbye: the rows the sender sent; or an error):
/// applies what arrives while the consumer is not reading the socket itself, and enforces the
/// stop flag and the idle limit. The session's incoming side is closed when this returns, so
/// nothing is published after it.
fn watch(stream: &TcpStream, shared: &Shared, patience: &Patience<'_>) -> Result<u64, LinkError> {
    let mut feeds = shared.feeds.load(Relaxed);
    loop {
        // A sender that never pauses never lets a wait time out: look at the flag here too.
        let stopped = (patience.stop)();
        let consumer_polls = {
            let now = shared.feeds.load(Relaxed);
            std::mem::replace(&mut feeds, now) != now
        };
        // Wait, holding nothing: while the consumer polls the socket itself, a short sleep;
        // else until bytes arrive (or the read timeout's tick), which the consumer may still
        // take first. Once stopped, one last look without waiting.
        if !stopped {
            if consumer_polls {
                std::thread::sleep(CONSUMER_WATCH);
            } else {
                let _ = stream.peek(&mut [0u8; 1]);
            }
        }
        let Ok(mut guard) = shared.io.lock() else {
            return Err(LinkError::Stopped);
        };
        let io = &mut *guard;
        let ended = match (io.writer.as_mut(), io.conn.as_mut()) {
            (Some(writer), Some(conn)) => {
                conn.pump(writer, &shared.stats);
                conn.outcome.take().or_else(|| {
                    if stopped {
                        Some(Err(LinkError::Stopped))
                    } else if conn.inbound.idle_for() >= patience.idle {
                        Some(Err(LinkError::Idle(patience.idle)))
                    } else {
                        None
                    }
                })
            }
            _ => Some(Err(LinkError::Stopped)),
        };
        if let Some(outcome) = ended {
            io.conn = None;
            return outcome;
        }
    }
}
