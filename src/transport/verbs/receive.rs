//! The verbs receiver: a listener accepts one sender at a time; once its hello is judged, the
//! window is registered for its remote writes, each RDMA WRITE WITH IMMEDIATE of the tail is checked and published, and the
//! consumer's credits go back by RDMA WRITE WITH IMMEDIATE into the sender's credit slot.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::clock::same_clock;
use crate::ring::window::{WindowReader, WindowWriter, max_payload};
use crate::transport::ListenConfig;
use crate::transport::inbox::{CreditPath, Inbox};
use crate::transport::session::{SessionEvent, SessionLog};
use crate::transport::stats::add_sole;
use crate::transport::wire::{self, Inbound, Message, Patience, Reply};
use crate::transport::{LinkError, LinkListener, LinkStats, refusal};

use super::ffi::{AddrInfo, Endpoint, Local, RECV_DEPTH, Region, as_bytes, as_bytes_mut};
use super::layout::{CREDIT_BYTES, SLOT, Welcome, decode_hello_extra};

/// Control memory: the tail slot, the receive slots, one send slot.
const TAIL_AT: usize = 0;
const RECV_AT: usize = 64;
const SEND_AT: usize = RECV_AT + RECV_DEPTH as usize * SLOT;
const CONTROL_BYTES: usize = SEND_AT + SLOT;
/// Credits between signalled ones.
const SIGNAL_EVERY: u32 = 32;

/// Where credits go while a sender is connected.
#[derive(Debug, Default)]
struct VerbsCredits {
    link: Mutex<Option<(Arc<Endpoint>, u64, u32)>>,
    abort_reason: Mutex<Option<String>>,
    unsignaled: AtomicU32,
}

impl CreditPath for VerbsCredits {
    fn send(&self, head: u64, echo_stamp: u64, rows: u64) {
        let Ok(link) = self.link.lock() else {
            return;
        };
        let Some((endpoint, addr, rkey)) = link.as_ref() else {
            return;
        };
        let mut bytes = [0u8; CREDIT_BYTES];
        bytes[..8].copy_from_slice(&head.to_le_bytes());
        bytes[8..16].copy_from_slice(&echo_stamp.to_le_bytes());
        bytes[16..].copy_from_slice(&rows.to_le_bytes());
        let count = self.unsignaled.fetch_add(1, Relaxed) + 1;
        let signaled = count >= SIGNAL_EVERY;
        if signaled {
            self.unsignaled.store(0, Relaxed);
        }
        while endpoint.poll_send().is_some() {}
        if endpoint
            .post(
                Local::Inline(&bytes),
                Some((*addr, *rkey)),
                Some(0),
                signaled,
                0,
            )
            .is_err()
        {
            endpoint.disconnect();
        }
    }

    fn abort(&self, reason: String) {
        if let Ok(mut r) = self.abort_reason.lock() {
            *r = Some(reason);
        }
        if let Ok(link) = self.link.lock()
            && let Some((endpoint, ..)) = link.as_ref()
        {
            endpoint.disconnect();
        }
    }
}

/// A running verbs listener.
#[derive(Debug)]
pub struct VerbsListener {
    address: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LinkListener for VerbsListener {
    fn local_addr(&self) -> String {
        self.address.clone()
    }

    fn stop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for VerbsListener {
    fn drop(&mut self) {
        LinkListener::stop(self);
    }
}

/// Listens on `config.address` over RDMA and feeds `writer`'s window; the consumer reads it
/// through the returned [`Inbox`].
///
/// # Errors
/// No device, an address RDMA cannot bind, or no token on a non-loopback address.
pub fn listen(
    config: ListenConfig,
    writer: WindowWriter,
    reader: WindowReader,
    stats: Arc<LinkStats>,
) -> Result<(VerbsListener, Inbox), LinkError> {
    super::require_device()?;
    let loopback = config
        .address
        .parse::<SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if config.token.is_none() && !loopback {
        return Err(LinkError::Listen {
            address: config.address.clone(),
            reason:
                "a non-loopback address needs a token (transport.token, --token or RINGTOP_TOKEN)"
                    .into(),
        });
    }
    let info = AddrInfo::resolve(&config.address, true)?;
    let listener = Endpoint::create(&info, 256)?;
    listener.listen()?;
    let stop = Arc::new(AtomicBool::new(false));
    let credits = Arc::new(VerbsCredits::default());
    let sessions = Arc::new(SessionLog::default());
    let address = config.address.clone();
    let thread = {
        let (stop, credits, stats, sessions) = (
            stop.clone(),
            credits.clone(),
            stats.clone(),
            sessions.clone(),
        );
        std::thread::Builder::new()
            .name("link-accept".into())
            .spawn(move || {
                let mut writer = writer;
                while !stop.load(Relaxed) {
                    match listener.try_accept_request() {
                        Ok(Some(endpoint)) => {
                            let session = Session {
                                config: &config,
                                sessions: &sessions,
                                stats: &stats,
                                credits: &credits,
                                stop: &stop,
                            };
                            session.run(Arc::new(endpoint), &mut writer);
                        }
                        Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                        Err(e) => {
                            stats.set_error(format!("accepting: {e}"));
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            })
            .map_err(|e| LinkError::Listen {
                address: address.clone(),
                reason: e.to_string(),
            })?
    };
    Ok((
        VerbsListener {
            address,
            stop,
            thread: Some(thread),
        },
        Inbox::new(reader, sessions, credits, stats),
    ))
}

struct Session<'a> {
    config: &'a ListenConfig,
    sessions: &'a SessionLog,
    stats: &'a LinkStats,
    credits: &'a Arc<VerbsCredits>,
    stop: &'a AtomicBool,
}

/// Control memory and its registration, dropped region first.
struct Control {
    region: Option<Region>,
    memory: Box<[u64]>,
}

impl Drop for Control {
    fn drop(&mut self) {
        self.region = None;
    }
}

impl Session<'_> {
    fn run(&self, endpoint: Arc<Endpoint>, writer: &mut WindowWriter) {
        let mut control = Control {
            region: None,
            memory: vec![0u64; CONTROL_BYTES / 8].into_boxed_slice(),
        };
        // SAFETY: the boxed memory never moves and outlives its region (see `Control`'s drop).
        let region = match unsafe {
            endpoint.register(control.memory.as_mut_ptr().cast(), CONTROL_BYTES, true)
        } {
            Ok(region) => region,
            Err(e) => return self.stats.set_error(format!("registering memory: {e}")),
        };
        for slot in 0..RECV_DEPTH {
            let at = RECV_AT + slot as usize * SLOT;
            if let Err(e) = endpoint.post_recv(&region, at, SLOT as u32, u64::from(slot)) {
                return self.stats.set_error(e.to_string());
            }
        }
        control.region = Some(region);
        if let Err(e) = endpoint.establish(false) {
            return self.stats.set_error(e.to_string());
        }
        let outcome = self.serve(&endpoint, &mut control, writer);
        // Let the consumer read (or discard) what was published, so its last credit reaches
        // the sender before the credit path closes.
        let deadline = Instant::now() + Duration::from_secs(5);
        while writer.head() < writer.published()
            && !self.stop.load(Relaxed)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_micros(100));
        }
        if let Ok(mut link) = self.credits.link.lock() {
            *link = None;
        }
        self.stats.disconnect();
        let end = match outcome {
            Ok(None) => return endpoint.disconnect(),
            Ok(Some(rows)) => SessionEvent::End {
                rows_sent: Some(rows),
                reason: "sender finished".into(),
            },
            Err(e) => {
                let reason = self
                    .credits
                    .abort_reason
                    .lock()
                    .ok()
                    .and_then(|mut r| r.take())
                    .unwrap_or_else(|| e.to_string());
                self.stats
                    .count_drop(format!("rdma peer: {reason}; connection dropped"));
                SessionEvent::End {
                    rows_sent: None,
                    reason,
                }
            }
        };
        self.sessions.record(writer.published(), end);
        endpoint.disconnect();
    }

    /// The handshake, then tails and goodbye until the sender leaves: `Ok(None)` when it was
    /// refused, `Ok(Some(rows))` after a goodbye. The window is registered for the peer's writes
    /// only once its hello has been judged, and deregistered when this returns.
    fn serve(
        &self,
        endpoint: &Arc<Endpoint>,
        control: &mut Control,
        writer: &mut WindowWriter,
    ) -> Result<Option<u64>, LinkError> {
        let region = control
            .region
            .as_ref()
            .ok_or_else(|| LinkError::Protocol("no registered memory".into()))?;
        let hello_bytes = super::next_message(
            endpoint,
            region,
            &control.memory,
            RECV_AT,
            self.config.handshake_timeout,
            &|| self.stop.load(Relaxed),
        )?;
        let never = || false;
        let patience = Patience::idle(Duration::from_millis(1), &never);
        let mut inbound = Inbound::new(&hello_bytes[..]);
        let hello = inbound.hello(&patience)?;
        let (credit_addr, credit_rkey) =
            decode_hello_extra(&hello_bytes[inbound.total as usize..])?;
        let capacity = writer.capacity();
        let refusal = refusal(self.config.token.as_deref(), &hello, capacity);
        if let Some(reason) = refusal {
            self.stats
                .count_refusal(format!("refused an rdma peer: {reason}"));
            let _ = self.reply(
                endpoint,
                control,
                &wire::encode_reply(&Reply::Refused(reason)),
            );
            return Ok(None);
        }
        let (base, len) = writer.device_memory();
        // SAFETY: the window's memory lives as long as `writer`, which outlives this session and
        // the region (dropped when this function returns); the authenticated sender's remote
        // writes are the point of registering it, and the reader copies out and checks whatever
        // lands there (see `WindowWriter::device_memory`).
        let window = unsafe { endpoint.register(base, len, true) }
            .map_err(|e| LinkError::Protocol(format!("registering the window: {e}")))?;
        let start = SessionEvent::Start {
            run_id: hello.run_id,
            next_seq: hello.next_seq,
            same_clock: same_clock(&hello.boot_id),
            peer: "rdma peer".into(),
        };
        self.sessions.record(writer.published(), start);
        let region = control
            .region
            .as_ref()
            .ok_or_else(|| LinkError::Protocol("no registered memory".into()))?;
        let welcome = Welcome {
            capacity: capacity as u64,
            start: writer.published(),
            max_payload: max_payload(capacity) as u32,
            window_addr: window.addr(),
            window_rkey: window.rkey(),
            tail_addr: region.addr() + TAIL_AT as u64,
            tail_rkey: region.rkey(),
        };
        self.reply(endpoint, control, &welcome.encode())?;
        self.stats.sessions.fetch_add(1, Relaxed);
        self.stats.connect("rdma peer".into());
        if let Ok(mut link) = self.credits.link.lock() {
            *link = Some((endpoint.clone(), credit_addr, credit_rkey));
        }
        if let Ok(mut reason) = self.credits.abort_reason.lock() {
            *reason = None;
        }
        let mut last = Instant::now();
        loop {
            if self.stop.load(Relaxed) {
                return Err(LinkError::Stopped);
            }
            let Some(done) = endpoint.poll_recv() else {
                if last.elapsed() >= self.config.idle_timeout {
                    return Err(LinkError::Idle(self.config.idle_timeout));
                }
                std::thread::yield_now();
                continue;
            };
            last = Instant::now();
            if let Some(error) = done.error {
                return Err(LinkError::Protocol(format!("the link failed: {error}")));
            }
            let slot = done.wr_id as usize % RECV_DEPTH as usize;
            let at = RECV_AT + slot * SLOT;
            let region = control
                .region
                .as_ref()
                .ok_or_else(|| LinkError::Protocol("no registered memory".into()))?;
            if done.with_imm {
                let added = writer.publish(region.read_u64(TAIL_AT))?;
                add_sole(&self.stats.bytes, added);
            } else {
                let bytes = &as_bytes(&control.memory)[at..at + (done.byte_len as usize).min(SLOT)];
                let message = Inbound::new(bytes).message(&patience)?;
                match message {
                    Message::Bye(rows) => return Ok(Some(rows)),
                    other => {
                        return Err(LinkError::Protocol(format!(
                            "a sender may not send {other:?} over rdma"
                        )));
                    }
                }
            }
            endpoint.post_recv(region, at, SLOT as u32, slot as u64)?;
        }
    }

    /// Sends a handshake reply from the registered send slot and waits for it to go.
    fn reply(
        &self,
        endpoint: &Endpoint,
        control: &mut Control,
        bytes: &[u8],
    ) -> Result<(), LinkError> {
        let len = bytes.len().min(SLOT);
        as_bytes_mut(&mut control.memory)[SEND_AT..SEND_AT + len].copy_from_slice(&bytes[..len]);
        let region = control
            .region
            .as_ref()
            .ok_or_else(|| LinkError::Protocol("no registered memory".into()))?;
        endpoint.post(
            Local::Registered(region, SEND_AT, len as u32),
            None,
            None,
            true,
            u64::MAX,
        )?;
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            if let Some(done) = endpoint.poll_send() {
                if let Some(error) = done.error {
                    return Err(LinkError::Protocol(format!("sending the reply: {error}")));
                }
                if done.wr_id == u64::MAX {
                    return Ok(());
                }
            } else if Instant::now() >= deadline {
                return Err(LinkError::Idle(Duration::from_secs(2)));
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
}
