//! The receiving side: a listener thread accepts senders one at a time and applies their writes
//! to the window; the consumer reads the window through an [`Inbox`] and returns credit.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::same_clock;
use crate::ring::window::{WindowReader, WindowWriter, max_payload};
use crate::transport::inbox::{CreditPath, Inbox};
use crate::transport::session::{SessionEvent, SessionLog};
use crate::transport::wire::{self, Hello, Inbound, Message, Patience, Reply};
use crate::transport::{LinkError, LinkStats, refusal};

use super::TICK;
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
    fn send(&self, message: &Message) {
        let Ok(mut link) = self.link.lock() else {
            return;
        };
        if let Some(stream) = link.as_mut() {
            let mut bytes = Vec::with_capacity(32);
            wire::encode_message(&mut bytes, message);
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

impl crate::transport::LinkListener for Listener {
    fn local_addr(&self) -> String {
        self.local_addr.to_string()
    }

    fn stop(&mut self) {
        Listener::stop(self);
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
        writer: Mutex::new(writer),
        stats: stats.clone(),
        credits: credits.clone(),
        stop: stop.clone(),
        runs_seen: Mutex::new(Vec::new()),
        sessions: sessions.clone(),
        serving: Mutex::new(None),
        handshakes: AtomicUsize::new(0),
    });
    let thread = std::thread::Builder::new()
        .name("link-accept".into())
        .spawn(move || accept_loop(socket, shared))
        .map_err(|e| failed(e.to_string()))?;
    Ok((
        Listener {
            local_addr,
            stop,
            thread: Some(thread),
        },
        Inbox::new(reader, sessions, credits, stats),
    ))
}

/// Connections allowed to be shaking hands at once; more are refused until one finishes, so a
/// crowd of silent peers costs a bounded number of threads for at most the handshake timeout.
pub const MAX_HANDSHAKES: usize = 16;

struct Shared {
    config: ListenConfig,
    /// The session slot: only an authenticated sender takes it.
    writer: Mutex<WindowWriter>,
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
}

/// One accepted connection: its hello within the handshake timeout from `accepted`, judged
/// before it may take the session slot; then the session, if the slot is free.
fn connection(stream: TcpStream, peer: SocketAddr, accepted: Instant, shared: &Shared) {
    let judged = handshake(&stream, peer, accepted, shared);
    shared.handshakes.fetch_sub(1, Relaxed);
    let Some((hello, inbound)) = judged else {
        return;
    };
    let mut writer = match shared.writer.try_lock() {
        Ok(writer) => writer,
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
    run_session(stream, inbound, &hello, peer, &mut writer, shared);
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
    mut inbound: Inbound<TcpStream>,
    hello: &Hello,
    peer: SocketAddr,
    writer: &mut WindowWriter,
    shared: &Shared,
) {
    let stats = &shared.stats;
    let stop = || shared.stop.load(Relaxed);
    let capacity = writer.capacity();
    let start = SessionEvent::Start {
        run_id: hello.run_id,
        next_seq: hello.next_seq,
        same_clock: same_clock(&hello.boot_id),
        peer: peer.to_string(),
    };
    shared.sessions.record(writer.published(), start);
    let welcome = Reply::Welcome {
        capacity: capacity as u64,
        start: writer.published(),
        max_payload: max_payload(capacity) as u32,
    };
    let mut write_half = stream;
    if wire::send(&mut write_half, &wire::encode_reply(&welcome), "welcoming").is_err() {
        let left = SessionEvent::End {
            rows_sent: None,
            reason: "peer left during the handshake".into(),
        };
        shared.sessions.record(writer.published(), left);
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
    stats.set_peer(Some(peer.to_string()));
    if let Ok(mut link) = shared.credits.link.lock() {
        *link = write_half.try_clone().ok();
    }
    if let Ok(mut reason) = shared.credits.abort_reason.lock() {
        *reason = None;
    }

    let patience = Patience::idle(shared.config.idle_timeout, &stop);
    let outcome = receive(&mut inbound, writer, &patience, stats);
    {
        // Let the consumer read (or, after a bad record, discard) everything published before
        // the session ends: after a clean goodbye its last credit reaches the sender before the
        // credit path closes.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while writer.head() < writer.published()
            && !stop()
            && !writer.is_abandoned()
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    if let Ok(mut link) = shared.credits.link.lock() {
        *link = None;
    }
    stats.connected.store(false, Relaxed);
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
    shared.sessions.record(writer.published(), end);
}

/// Applies messages until goodbye (the rows the sender sent) or an error.
fn receive(
    inbound: &mut Inbound<TcpStream>,
    writer: &mut WindowWriter,
    patience: &Patience<'_>,
    stats: &LinkStats,
) -> Result<u64, LinkError> {
    loop {
        // A sender that never pauses never lets a read time out: look at the flag here too.
        if (patience.stop)() {
            return Err(LinkError::Stopped);
        }
        match inbound.message(patience)? {
            Message::Write { offset, len } => {
                let capacity = writer.capacity();
                if len as usize > capacity {
                    return Err(LinkError::Protocol(format!(
                        "write of {len} bytes is larger than the {capacity}-byte window"
                    )));
                }
                let slice = writer.free_slice(offset, len as usize)?;
                inbound.read_exact(slice, wire::WRITE_HEADER, patience)?;
                stats
                    .bytes
                    .fetch_add(len as u64 + wire::WRITE_HEADER as u64, Relaxed);
            }
            Message::Tail(tail) => writer.publish(tail)?,
            Message::Bye(rows) => return Ok(rows),
            other => {
                return Err(LinkError::Protocol(format!(
                    "a sender may not send {other:?}"
                )));
            }
        }
    }
}
