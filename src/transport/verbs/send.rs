//! The verbs sender: frames go into the receiver's window with RDMA WRITE (inline when small,
//! else from a registered staging buffer), then the new tail with RDMA WRITE WITH IMMEDIATE so
//! the receiver's session sees it; credits come back the same way into a registered slot here.
//! Only writes from the staging buffer and every 32nd inline request are signalled.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use crate::clock::{boot_id, monotonic_ns};
use crate::ring::window::{HEADER, PADDING, footprint, place, record_header};
use crate::transport::SenderConfig;
use crate::transport::bucket::TokenBucket;
use crate::transport::session::FRAME;
use crate::transport::wire::{self, Hello, Inbound, Message, Patience, Reply};
use crate::transport::{FrameLink, LinkError, LinkStats, SendOutcome};

use super::ffi::{
    AddrInfo, Endpoint, Local, RECV_DEPTH, Region, SEND_DEPTH, as_bytes, as_bytes_mut,
};
use super::layout::{CREDIT_BYTES, SLOT, Welcome, encode_hello_extra};

/// Staging buffers for frames too big to send inline.
const STAGING: usize = 2;
/// Inline requests between signalled ones, so the send queue drains.
const SIGNAL_EVERY: u32 = 32;

/// The control buffer: receive slots, the hello, the credit slot, then the staging buffers.
struct Control {
    memory: Box<[u64]>,
    region: Option<Region>,
}

const RECV_AT: usize = 0;
const HELLO_AT: usize = RECV_DEPTH as usize * SLOT;
const CREDIT_AT: usize = HELLO_AT + SLOT;
const STAGING_AT: usize = CREDIT_AT + SLOT;

/// The producer's end of a remote ring over RDMA verbs.
pub struct VerbsSender {
    config: SenderConfig,
    stats: Arc<LinkStats>,
    control: Control,
    endpoint: Endpoint,
    welcome: Welcome,
    tail: u64,
    head: u64,
    rows_acked: u64,
    rows_sent: u64,
    bucket: Option<TokenBucket>,
    /// Which staging buffers a posted write still reads.
    staging_busy: [bool; STAGING],
    unsignaled: u32,
    stalled: bool,
    failed: Option<String>,
}

impl std::fmt::Debug for VerbsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerbsSender")
            .field("address", &self.config.address)
            .field("tail", &self.tail)
            .field("head", &self.head)
            .finish()
    }
}

impl VerbsSender {
    /// Connects an RC queue pair to `config.address` and shakes hands as the TCP backend does.
    ///
    /// # Errors
    /// No device, no route, a refused handshake, or a receiver whose window cannot take frames
    /// of `config.max_frame` bytes.
    pub fn connect(config: SenderConfig, stats: Arc<LinkStats>) -> Result<Self, LinkError> {
        super::require_device()?;
        let info = AddrInfo::resolve(&config.address, false)?;
        let endpoint = Endpoint::create(&info, 256)?;
        let record = footprint(config.max_frame);
        let bytes = STAGING_AT + STAGING * record;
        let mut control = Control {
            memory: vec![0u64; bytes.div_ceil(8)].into_boxed_slice(),
            region: None,
        };
        // SAFETY: the boxed memory never moves and lives in the same struct as its region, which
        // is dropped first (see `Drop`); the receiver writes only credits into it.
        let region = unsafe { endpoint.register(control.memory.as_mut_ptr().cast(), bytes, true)? };
        for slot in 0..RECV_DEPTH {
            endpoint.post_recv(
                &region,
                RECV_AT + slot as usize * SLOT,
                SLOT as u32,
                u64::from(slot),
            )?;
        }
        endpoint.establish(true)?;
        let hello = Hello {
            run_id: monotonic_ns() ^ (u64::from(std::process::id()) << 32),
            next_seq: 0,
            max_frame: config.max_frame as u32,
            token: config.token.clone().unwrap_or_default(),
            boot_id: boot_id().to_owned(),
        };
        let mut message = wire::encode_hello(&hello);
        message.extend(encode_hello_extra(
            region.addr() + CREDIT_AT as u64,
            region.rkey(),
        ));
        as_bytes_mut(&mut control.memory)[HELLO_AT..HELLO_AT + message.len()]
            .copy_from_slice(&message);
        endpoint.post(
            Local::Registered(&region, HELLO_AT, message.len() as u32),
            None,
            None,
            true,
            u64::MAX,
        )?;
        let reply = super::next_message(
            &endpoint,
            &region,
            &control.memory,
            RECV_AT,
            config.connect_timeout,
            &|| false,
        )?;
        let mut inbound = Inbound::new(&reply[..]);
        let never = || false;
        let patience = Patience::idle(Duration::from_millis(1), &never);
        let welcome = match inbound.reply(&patience)? {
            Reply::Refused(reason) => {
                return Err(LinkError::Refused {
                    address: config.address.clone(),
                    reason,
                });
            }
            Reply::Welcome {
                capacity,
                start,
                max_payload,
            } => {
                crate::transport::check_welcome(capacity, max_payload)?;
                let consumed = inbound.total as usize;
                Welcome::decode(capacity, start, max_payload, &reply[consumed..])?
            }
        };
        if (welcome.max_payload as usize) < config.max_frame {
            return Err(LinkError::Protocol(format!(
                "the receiver's window takes records of up to {} bytes, not {}",
                welcome.max_payload, config.max_frame
            )));
        }
        control.region = Some(region);
        let bucket = config
            .link_mbps
            .filter(|m| *m > 0.0)
            .map(|m| TokenBucket::new(m, (2 * config.max_frame).max(64 * 1024)));
        stats.sessions.fetch_add(1, Relaxed);
        stats.window_bytes.store(welcome.capacity, Relaxed);
        stats.connect(config.address.clone());
        Ok(VerbsSender {
            tail: welcome.start,
            head: welcome.start,
            welcome,
            config,
            stats,
            control,
            endpoint,
            rows_acked: 0,
            rows_sent: 0,
            bucket,
            staging_busy: [false; STAGING],
            unsignaled: 0,
            stalled: false,
            failed: None,
        })
    }

    fn region(&self) -> &Region {
        self.control
            .region
            .as_ref()
            .unwrap_or_else(|| unreachable!("registered in connect"))
    }

    /// Takes completions: credits on the receive queue, finished writes on the send queue.
    fn poll(&mut self) {
        while let Some(done) = self.endpoint.poll_recv() {
            if let Some(error) = done.error {
                self.fail(format!("the link failed: {error}"));
                return;
            }
            if done.with_imm {
                let region = self.region();
                let head = region.read_u64(CREDIT_AT);
                let echo = region.read_u64(CREDIT_AT + 8);
                let rows = region.read_u64(CREDIT_AT + 16);
                if let Err(e) = crate::transport::check_credit(head, self.tail) {
                    self.fail(e.to_string());
                    return;
                }
                self.head = self.head.max(head);
                self.rows_acked = self.rows_acked.max(rows);
                let now = monotonic_ns();
                if echo > 0 && echo <= now {
                    self.stats.record_round_trip(now - echo);
                }
            } else {
                let text = String::from_utf8_lossy(
                    &self.slot_bytes(done.wr_id as usize)[..done.byte_len as usize],
                )
                .into_owned();
                self.fail(format!("the receiver dropped the link: {text}"));
                return;
            }
            let slot = done.wr_id as usize % RECV_DEPTH as usize;
            let region = self.region();
            if let Err(e) =
                self.endpoint
                    .post_recv(region, RECV_AT + slot * SLOT, SLOT as u32, slot as u64)
            {
                self.fail(e.to_string());
                return;
            }
        }
        while let Some(done) = self.endpoint.poll_send() {
            if let Some(error) = done.error {
                self.fail(format!("a write failed: {error}"));
                return;
            }
            if let Some(busy) = self.staging_busy.get_mut(done.wr_id as usize) {
                *busy = false;
            }
            // A completion means every earlier request on the queue is done, staging included.
            if done.wr_id as usize >= STAGING {
                self.staging_busy = [false; STAGING];
            }
            self.unsignaled = 0;
        }
    }

    fn slot_bytes(&self, slot: usize) -> &[u8] {
        let bytes: &[u8] = as_bytes(&self.control.memory);
        let at = RECV_AT + (slot % RECV_DEPTH as usize) * SLOT;
        &bytes[at..at + SLOT]
    }

    fn fail(&mut self, reason: String) {
        if self.failed.is_none() {
            self.stats.disconnect();
            self.stats.count_drop(reason.clone());
            self.failed = Some(reason);
        }
    }

    /// Posts a write; signalled when it reads staging buffer `staging`, or to drain the queue.
    fn write(
        &mut self,
        local: Local<'_>,
        remote_offset: u64,
        staging: Option<usize>,
    ) -> Result<(), LinkError> {
        let signaled = staging.is_some() || self.unsignaled + 1 >= SIGNAL_EVERY;
        let wr_id = staging.map_or(STAGING as u64, |s| s as u64);
        self.endpoint.post(
            local,
            Some((
                self.welcome.window_addr + remote_offset,
                self.welcome.window_rkey,
            )),
            None,
            signaled,
            wr_id,
        )?;
        self.unsignaled = if signaled { 0 } else { self.unsignaled + 1 };
        Ok(())
    }

    fn publish_tail(&mut self, tail: u64) -> Result<(), LinkError> {
        let signaled = self.unsignaled + 1 >= SIGNAL_EVERY;
        let bytes = tail.to_le_bytes();
        self.endpoint.post(
            Local::Inline(&bytes),
            Some((self.welcome.tail_addr, self.welcome.tail_rkey)),
            Some(tail as u32),
            signaled,
            STAGING as u64,
        )?;
        self.unsignaled = if signaled { 0 } else { self.unsignaled + 1 };
        Ok(())
    }
}

impl FrameLink for VerbsSender {
    fn max_frame(&self) -> usize {
        self.config.max_frame
    }

    fn send_frame(
        &mut self,
        bound: usize,
        rows: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> SendOutcome {
        self.poll();
        if self.failed.is_some() {
            return SendOutcome::LinkDown;
        }
        if let Some(bucket) = &mut self.bucket
            && !bucket.ready()
        {
            self.stats.cap_waits.fetch_add(1, Relaxed);
            return SendOutcome::Capped;
        }
        let capacity = self.welcome.capacity as usize;
        let bound = bound.min(self.config.max_frame);
        let Some(staging) = self.staging_busy.iter().position(|busy| !busy) else {
            return SendOutcome::NoCredit;
        };
        if !matches!(place(capacity, self.head, self.tail, bound), Ok(Some(_))) {
            if !self.stalled {
                self.stalled = true;
                self.stats.credit_stalls.fetch_add(1, Relaxed);
            }
            return SendOutcome::NoCredit;
        }
        self.stalled = false;
        let record = footprint(self.config.max_frame);
        let at = STAGING_AT + staging * record;
        let len = {
            let buffer = &mut as_bytes_mut(&mut self.control.memory)[at..at + record];
            let Some(len) = encode(&mut buffer[HEADER..HEADER + bound]).filter(|l| *l <= bound)
            else {
                return SendOutcome::NotEncoded;
            };
            buffer[..HEADER].copy_from_slice(&record_header(len as u32, FRAME));
            buffer[HEADER + len..footprint(len)].fill(0);
            len
        };
        let size = footprint(len);
        let Ok(Some(spot)) = place(capacity, self.head, self.tail, len) else {
            return SendOutcome::NoCredit;
        };
        let inline = (size <= self.endpoint.max_inline as usize)
            .then(|| as_bytes(&self.control.memory)[at..at + size].to_vec());
        let result = (|| {
            match &inline {
                Some(copy) => self.write(Local::Inline(copy), spot.offset as u64, None)?,
                None => {
                    self.staging_busy[staging] = true;
                    let region = self
                        .control
                        .region
                        .as_ref()
                        .ok_or_else(|| LinkError::Protocol("no registered memory".into()))?;
                    self.endpoint.post(
                        Local::Registered(region, at, size as u32),
                        Some((
                            self.welcome.window_addr + spot.offset as u64,
                            self.welcome.window_rkey,
                        )),
                        None,
                        true,
                        staging as u64,
                    )?;
                    self.unsignaled = 0;
                }
            }
            if let Some((offset, padding)) = spot.padding {
                let header = record_header(padding, PADDING);
                self.write(Local::Inline(&header), offset as u64, None)?;
            }
            self.publish_tail(spot.end)
        })();
        if let Err(e) = result {
            self.fail(format!("posting a write: {e}"));
            return SendOutcome::LinkDown;
        }
        // The tail's advance, padding included: what the receiver counts as it publishes it.
        let wrote = (spot.end - self.tail) as usize;
        self.tail = spot.end;
        self.rows_sent += rows as u64;
        self.stats.count_frame(rows, wrote);
        if let Some(bucket) = &mut self.bucket {
            bucket.spend(size);
        }
        self.stats.rows_acknowledged.store(self.rows_acked, Relaxed);
        SendOutcome::Sent(size)
    }

    fn acknowledged(&mut self) -> u64 {
        self.poll();
        self.rows_acked
    }

    fn rows_sent(&self) -> u64 {
        self.rows_sent
    }

    fn finish(&mut self, wait: Duration) -> u64 {
        if self.failed.is_none() {
            let mut bye = Vec::new();
            wire::encode_message(&mut bye, &Message::Bye(self.rows_sent));
            if self
                .endpoint
                .post(Local::Inline(&bye), None, None, true, STAGING as u64)
                .is_ok()
            {
                let deadline = crate::clock::deadline(Instant::now(), wait);
                while self.rows_acked < self.rows_sent
                    && self.failed.is_none()
                    && crate::clock::ahead(deadline, Instant::now())
                {
                    self.poll();
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
        }
        self.endpoint.disconnect();
        self.stats.rows_acknowledged.store(self.rows_acked, Relaxed);
        self.stats.disconnect();
        self.rows_acked
    }
}

impl Drop for VerbsSender {
    fn drop(&mut self) {
        // The region goes before the memory it covers (and before the endpoint's PD).
        self.control.region = None;
    }
}

/// Keeps the credit slot's size in view: head, echoed stamp, rows.
const _: () = assert!(CREDIT_BYTES <= SLOT);
/// Keeps the send depth in view: signalling every `SIGNAL_EVERY` keeps the queue from filling.
const _: () = assert!(SIGNAL_EVERY < SEND_DEPTH);
