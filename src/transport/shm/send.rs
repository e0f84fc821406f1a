//! The producing side: opens the ring file another process made, takes the sender lock, says
//! hello in the file, then writes each frame straight into the window at the offset the
//! placement arithmetic gives and publishes the tail; credit comes back through the file.

use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use crate::clock::{ahead, boot_id, deadline, monotonic_ns};
use crate::ring::prefetch::WriteHint;
use crate::ring::window::{ALIGN, HEADER, PADDING, Placement, footprint, place, record_header};
use crate::transport::session::FRAME;
use crate::transport::{
    FrameLink, LinkError, LinkStats, SendOutcome, SenderConfig, check_credit, check_welcome,
};

use super::layout::{self, bye, hello, welcome};
use super::locks::{ring_path, sender_lock_path, take_sender_lock};
use super::mapping::{Credit, Segment};
use super::watch::WatchedCells;

mod watched;

/// Sends between checks that the receiver still holds its lock (a system call). It is also
/// checked when the window is full as last credited, and when a credit read finds no new
/// credit while sent bytes wait for one, at most once every [`ALIVE_INTERVAL_NS`] either way: a
/// live consumer credits as soon as it has read everything, so a sender that sends rarely
/// notices a dead receiver within a few sends, not 4 096, and one waiting on a full window
/// within a millisecond, without a system call on every try.
const ALIVE_EVERY: u32 = 4096;

/// Least time between two checks of the receiver's lock prompted by a full window or an
/// overdue credit.
const ALIVE_INTERVAL_NS: u64 = 1_000_000;

/// Sends of items or messages between reads of the credit while the window has room as last
/// credited. The consumer credits whenever it has read everything, so a sender that read the
/// credit before every send would pull its line back across for every item in a stream; items
/// and messages carry no stamp whose echo times a round trip, so nothing is lost by reading
/// it late (a full window, [`ShmSender::finish`] and `acknowledged` read it at once). Frames
/// read it before every send: the round trip is timed when the echo is read.
const CREDIT_EVERY: u32 = 16;

/// What a send carries, for when it reads the credit ([`CREDIT_EVERY`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SendKind {
    /// A frame: its rows' stamps come back in the credit, and time the round trip.
    Stamped,
    /// Items or a message: the credit echoes no stamp.
    Unstamped,
}

/// The producer's end of a shared-memory ring.
#[derive(Debug)]
pub struct ShmSender {
    config: SenderConfig,
    stats: Arc<LinkStats>,
    segment: Segment,
    /// Held for as long as this sender lives: the receiver's sign that it is alive.
    _lock: File,
    capacity: usize,
    /// The slot each item takes, for a ring of fixed-size items; 0 for a ring of records.
    slot: usize,
    tail: u64,
    /// The receiver's head as last credited.
    head: u64,
    credit_seq: u64,
    /// This sender's session: it takes only credits tagged with it.
    session: u64,
    rows_sent: u64,
    rows_acked: u64,
    /// Why the link is down for good (the receiver died or dropped this sender).
    down: Option<String>,
    stalled: bool,
    since_alive_check: u32,
    /// When the receiver's lock was last checked ([`monotonic_ns`]).
    alive_checked_ns: u64,
    /// How many times the receiver's lock was checked (each a system call).
    lock_checks: u64,
    /// Item or message sends since the credit was last read.
    since_credit: u32,
    /// How this CPU is asked for the lines a batch of items is about to write.
    write_hint: WriteHint,
    out: Vec<u8>,
    /// A second mapping of the file's header for a watcher ([`ShmSender::watch`]), held here
    /// so that it goes with this sender.
    watched_header: Option<Arc<Segment>>,
    /// This end's and the receiver's cells in a monitor ([`ShmSender::publish_to`]).
    watched: Option<WatchedCells>,
}

impl ShmSender {
    /// Opens the ring `config.address` (a name) of records (frames, messages), takes the sender
    /// lock and shakes hands.
    ///
    /// # Errors
    /// [`LinkError::ShmRing`] (no such ring, a file that is not one, a ring of fixed-size items,
    /// a dead receiver), [`LinkError::Refused`] (another producer, a wrong token), or a
    /// handshake timeout.
    pub fn connect(config: SenderConfig, stats: Arc<LinkStats>) -> Result<Self, LinkError> {
        Self::connect_to(config, stats, 0)
    }

    /// As [`ShmSender::connect`], for a ring of fixed-size items of `config.max_frame` bytes
    /// ([`ShmSender::send_items`]).
    ///
    /// # Errors
    /// As [`ShmSender::connect`]; a ring of records, or of items of another size.
    pub fn connect_items(config: SenderConfig, stats: Arc<LinkStats>) -> Result<Self, LinkError> {
        let items = config.max_frame;
        Self::connect_to(config, stats, items)
    }

    fn connect_to(
        config: SenderConfig,
        stats: Arc<LinkStats>,
        item_bytes: usize,
    ) -> Result<Self, LinkError> {
        let path = ring_path(&config.address).map_err(|reason| LinkError::ShmRing {
            ring: config.address.clone(),
            reason,
        })?;
        let segment = Segment::open(&path)?;
        let holds = segment.item_bytes();
        if holds != item_bytes {
            let reason = match (holds, item_bytes) {
                (0, wanted) => format!(
                    "it holds frames or messages (a `ringtop serve` or message ring), not items \
                     of {wanted} bytes: open it with a message sender"
                ),
                (holds, 0) => format!(
                    "it holds fixed-size items of {holds} bytes (an item receiver's ring): open \
                     it with an item sender of a {holds}-byte type"
                ),
                (holds, wanted) => {
                    format!("it holds items of {holds} bytes, not {wanted}")
                }
            };
            return Err(LinkError::ShmRing {
                ring: path.display().to_string(),
                reason,
            });
        }
        let lock = take_sender_lock_within(&sender_lock_path(&path), config.connect_timeout)?;
        let mut sender = ShmSender {
            capacity: segment.capacity(),
            slot: if item_bytes == 0 {
                0
            } else {
                layout::slot_bytes(item_bytes)
            },
            config,
            stats,
            segment,
            _lock: lock,
            tail: 0,
            head: 0,
            credit_seq: 0,
            session: 0,
            rows_sent: 0,
            rows_acked: 0,
            down: None,
            stalled: false,
            since_alive_check: 0,
            alive_checked_ns: 0,
            lock_checks: 0,
            since_credit: 0,
            write_hint: WriteHint::of_this_cpu(),
            out: Vec::new(),
            watched_header: None,
            watched: None,
        };
        sender.handshake(&path.display().to_string())?;
        Ok(sender)
    }

    fn handshake(&mut self, address: &str) -> Result<(), LinkError> {
        let s = &self.segment;
        let token = self.config.token.clone().unwrap_or_default();
        let boot = boot_id();
        s.u64_at(hello::RUN_ID).store(
            monotonic_ns() ^ (u64::from(std::process::id()) << 32),
            Relaxed,
        );
        s.u64_at(hello::NEXT_SEQ).store(0, Relaxed);
        s.u64_at(hello::MAX_FRAME)
            .store(self.config.max_frame as u64, Relaxed);
        s.u64_at(hello::PID)
            .store(u64::from(std::process::id()), Relaxed);
        let token = &token.as_bytes()[..token.len().min(hello::TOKEN_BYTES)];
        s.write_field(hello::TOKEN, token);
        s.u64_at(hello::TOKEN_LEN)
            .store(token.len() as u64, Relaxed);
        let boot = &boot.as_bytes()[..boot.len().min(hello::BOOT_ID_BYTES)];
        s.write_field(hello::BOOT_ID, boot);
        s.u64_at(hello::BOOT_ID_LEN)
            .store(boot.len() as u64, Relaxed);
        let seq = s.u64_at(hello::SEQ).load(Acquire).wrapping_add(1);
        s.u64_at(hello::SEQ).store(seq, Release);
        let deadline = deadline(Instant::now(), self.config.connect_timeout);
        while s.u64_at(welcome::SEQ).load(Acquire) != seq {
            if !ahead(deadline, Instant::now()) {
                return Err(LinkError::Deadline(self.config.connect_timeout));
            }
            if !s.receiver_alive() {
                return Err(LinkError::ShmRing {
                    ring: address.to_owned(),
                    reason: "the receiver left during the handshake".into(),
                });
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if s.u64_at(welcome::STATUS).load(Acquire) != layout::ACCEPTED {
            let len = s.u64_at(welcome::REASON_LEN).load(Acquire) as usize;
            let reason = s.read_field(welcome::REASON, len, welcome::REASON_BYTES);
            return Err(LinkError::Refused {
                address: address.to_owned(),
                reason: String::from_utf8_lossy(&reason).into_owned(),
            });
        }
        let start = s.u64_at(welcome::START).load(Acquire);
        let head = s.u64_at(welcome::HEAD).load(Acquire);
        let session = s.u64_at(welcome::SESSION).load(Acquire);
        check_credit(head, start)?;
        if start - head > self.capacity as u64 {
            return Err(LinkError::Protocol(format!(
                "the receiver's head {head} is more than the window behind the start {start}"
            )));
        }
        // Every record (every slot) starts on this boundary; a start off it would place them
        // across the window's end.
        let boundary = if self.slot > 0 { self.slot } else { ALIGN } as u64;
        if !start.is_multiple_of(boundary) {
            return Err(LinkError::Protocol(format!(
                "the receiver's start {start} is not on a {boundary}-byte boundary"
            )));
        }
        let max_payload = u32::try_from(s.u64_at(welcome::MAX_PAYLOAD).load(Acquire))
            .map_err(|_| LinkError::Protocol("a largest payload beyond 4 GiB".into()))?;
        if self.slot > 0 {
            // A ring of items: the receiver answers with the item's size.
            if max_payload as usize != self.config.max_frame {
                return Err(LinkError::Protocol(format!(
                    "the receiver takes items of {max_payload} bytes, not {}",
                    self.config.max_frame
                )));
            }
        } else {
            check_welcome(self.capacity as u64, max_payload)?;
        }
        if (max_payload as usize) < self.config.max_frame {
            return Err(LinkError::Protocol(format!(
                "the receiver's window ({} bytes, records up to {max_payload}) cannot take frames \
                 of {} bytes",
                self.capacity, self.config.max_frame
            )));
        }
        self.tail = start;
        self.head = head;
        self.session = session;
        self.stats.sessions.fetch_add(1, Relaxed);
        self.stats.window_bytes.store(self.capacity as u64, Relaxed);
        self.stats.connect(address.to_owned());
        Ok(())
    }

    /// Reads the credit if it changed: whether there was a new one for this sender; the reason
    /// when it is one no receiver may send. The common credit (this session's, no stamp echoed,
    /// its head between the last credited and the tail sent: everything
    /// [`ShmSender::accept_credit`] checks holds) is taken here, with no call: a sender waiting
    /// for its credit takes it that much sooner.
    #[inline]
    fn read_credit(&mut self) -> Result<bool, String> {
        let Some(credit) = self.segment.credit_after(self.credit_seq) else {
            return Ok(false);
        };
        self.credit_seq = credit.seq;
        let common = credit.session == self.session
            && credit.echo == 0
            && self.head <= credit.head
            && credit.head <= self.tail;
        if !common {
            return self.accept_credit(credit);
        }
        self.head = credit.head;
        self.rows_acked = credit.rows;
        Ok(true)
    }

    /// Checks and takes a credit whose sequence moved, as [`ShmSender::read_credit`] says; out
    /// of line, since most credits are the common kind.
    #[cold]
    #[inline(never)]
    fn accept_credit(&mut self, credit: Credit) -> Result<bool, String> {
        let Credit {
            head,
            echo,
            rows,
            session,
            ..
        } = credit;
        if session != self.session {
            // The consumer is still crediting an earlier producer's records.
            return Ok(false);
        }
        check_credit(head, self.tail).map_err(|e| e.to_string())?;
        if head < self.head {
            return Err(format!(
                "protocol error: the receiver's head went back from {} to {head}",
                self.head
            ));
        }
        self.head = head;
        self.rows_acked = rows;
        // No stamp echoed (rows without one, a message ring): no clock to read.
        if echo > 0 {
            let now = monotonic_ns();
            if echo <= now {
                self.stats.record_round_trip(now - echo);
            }
        }
        Ok(true)
    }

    /// Rows the receiver has confirmed, as of its latest credit ([`FrameLink::acknowledged`]).
    /// While the credit's sequence has not moved, one load and no call: a sender waiting for
    /// its credit loops on this, and sees the credit that much sooner.
    #[inline]
    pub fn acknowledged(&mut self) -> u64 {
        if self.down.is_none() && self.segment.credit_seq() != self.credit_seq {
            self.take_credit();
        }
        self.rows_acked
    }

    /// Reads a credit whose sequence moved (going down on one no receiver may send) and
    /// counts what it confirms.
    #[inline]
    fn take_credit(&mut self) {
        if let Err(reason) = self.read_credit() {
            self.go_down(reason);
        }
        self.stats.rows_acknowledged.store(self.rows_acked, Relaxed);
    }

    /// Why the link went down for good, once it has (the receiver died, or a credit no
    /// receiver may send).
    pub fn down_reason(&self) -> Option<&str> {
        self.down.as_deref()
    }

    fn go_down(&mut self, reason: String) -> SendOutcome {
        if self.down.is_none() {
            self.stats.disconnect();
            self.stats.count_drop(reason.clone());
            self.down = Some(reason);
        }
        SendOutcome::LinkDown
    }

    /// Whether the link is usable: credit read (when `full`, before every stamped send, and
    /// before every [`CREDIT_EVERY`]th other one), the receiver alive (checked as
    /// [`ALIVE_EVERY`] says).
    fn check_link(&mut self, full: bool, kind: SendKind) -> bool {
        if self.down.is_some() {
            return false;
        }
        self.since_credit += 1;
        let mut overdue = false;
        if full || kind == SendKind::Stamped || self.since_credit >= CREDIT_EVERY {
            self.since_credit = 0;
            match self.read_credit() {
                Ok(fresh) => overdue = !fresh && self.head != self.tail,
                Err(reason) => {
                    self.go_down(reason);
                    return false;
                }
            }
        }
        // The clock is read only when the window is full or the credit overdue, once: a sender
        // spinning on a full window looks at the lock once a millisecond, not on every try.
        let now = (full || overdue).then(monotonic_ns);
        let due = self.since_alive_check >= ALIVE_EVERY
            || now
                .is_some_and(|now| now.saturating_sub(self.alive_checked_ns) >= ALIVE_INTERVAL_NS);
        if due {
            self.since_alive_check = 0;
            self.alive_checked_ns = now.unwrap_or_else(monotonic_ns);
            self.lock_checks += 1;
            if let Some(watched) = &self.watched {
                watched.end_is_here();
            }
            if !self.segment.receiver_alive() {
                self.go_down("the receiver (ringtop serve) is gone: its lock was released".into());
                return false;
            }
        }
        true
    }

    /// How many times this sender has looked at the receiver's lock.
    #[cfg(test)]
    pub(crate) fn lock_checks(&self) -> u64 {
        self.lock_checks
    }

    /// Sends one frame, as [`FrameLink::send_frame`].
    pub fn send_frame(
        &mut self,
        bound: usize,
        rows: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> SendOutcome {
        let bound = bound.min(self.config.max_frame);
        // Room for the largest the frame may be; placed again at its length once encoded.
        if let Err(outcome) = self.make_room(bound, SendKind::Stamped) {
            return outcome;
        }
        // The buffer only grows: no bytes are cleared per frame (the encoder writes what it
        // returns, and the record's padding is zeroed below).
        if self.out.len() < footprint(bound) {
            self.out.resize(footprint(bound), 0);
        }
        let Some(len) = encode(&mut self.out[HEADER..HEADER + bound]).filter(|len| *len <= bound)
        else {
            return SendOutcome::NotEncoded;
        };
        let Some(spot) = self.spot_for(len) else {
            return SendOutcome::NoCredit;
        };
        let record = footprint(len);
        self.out[HEADER + len..record].fill(0);
        self.out[..HEADER].copy_from_slice(&record_header(len as u32, FRAME));
        self.write_padding(&spot);
        self.segment.write_window(spot.offset, &self.out[..record]);
        self.publish(spot.end, rows)
    }

    /// Sends `message` as one record of `rows` rows, with no staging buffer beyond the stack (a
    /// message needs no encoding). At most the largest frame announced.
    pub fn send_message(&mut self, message: &[u8], rows: usize) -> SendOutcome {
        let len = message.len();
        if len > self.config.max_frame {
            return SendOutcome::NotEncoded;
        }
        let spot = match self.make_room(len, SendKind::Unstamped) {
            Ok(spot) => spot,
            Err(outcome) => return outcome,
        };
        self.write_padding(&spot);
        self.segment
            .write_record(spot.offset, record_header(len as u32, FRAME), message);
        self.publish(spot.end, rows)
    }

    /// Sends as many of `items` (whole fixed-size items, one after another) as there are free
    /// slots for now, on a ring of items ([`ShmSender::connect_items`]), under one tail:
    /// `Sent` with the bytes of the slots taken; `NotEncoded` for bytes that are not whole
    /// items, or a ring of records.
    #[inline]
    pub fn send_items(&mut self, items: &[u8]) -> SendOutcome {
        self.send_items_of(items, self.config.max_frame)
    }

    /// [`ShmSender::send_items`] for items of `item` bytes, which must be the size this sender
    /// announced (`NotEncoded` otherwise). Inline, so that a caller whose size is a constant
    /// (an `ItemSender<T>`) gets the slot arithmetic and the copies settled when it is compiled.
    #[inline]
    pub(crate) fn send_items_of(&mut self, items: &[u8], item: usize) -> SendOutcome {
        if self.slot == 0 || item != self.config.max_frame || items.is_empty() {
            return SendOutcome::NotEncoded;
        }
        // One item, the common call, without a division.
        let wanted = match items.len() {
            len if len == item => 1,
            len if len % item == 0 => len / item,
            _ => return SendOutcome::NotEncoded,
        };
        let count = match self.room(SendKind::Unstamped, |sender| sender.free_slots(wanted)) {
            Ok(count) => count,
            Err(outcome) => return outcome,
        };
        // `self.slot`, from the size the sender announced (checked equal above).
        let slot = layout::slot_bytes(item);
        // Each item is published by its slot's stamp; the tail after them, for a receiver that
        // sleeps.
        self.segment
            .write_items(self.tail, slot, (items, item, count), self.write_hint);
        self.publish(self.tail + (count * slot) as u64, count)
    }

    /// Sends one item of `item.len()` bytes (the size this sender announced; `slot`, its slot)
    /// as [`ShmSender::send_items_of`] does, the common case without its general steps: the
    /// link up, no credit or lock check due, and room as last credited. The item, its stamp
    /// and the tail are written, and counted, as there.
    #[inline]
    pub(crate) fn send_item(&mut self, item: &[u8], slot: usize) -> SendOutcome {
        let end = self.tail + slot as u64;
        let common = self.down.is_none()
            && slot == self.slot
            && item.len() == self.config.max_frame
            && self.since_credit + 1 < CREDIT_EVERY
            && self.since_alive_check < ALIVE_EVERY
            && end - self.head <= self.capacity as u64;
        if !common {
            return self.send_item_the_whole_way(item);
        }
        self.since_credit += 1;
        self.segment.write_item(self.tail, slot, item);
        self.publish(end, 1)
    }

    /// [`ShmSender::send_item`]'s uncommon case, out of line: the whole general send inlined
    /// into a sender's loop made the common case's path longer (the library's sender with a bare
    /// consumer ran 1.25–1.29× the relay ring with it, 1.14–1.18× without, five alternated runs).
    #[cold]
    #[inline(never)]
    fn send_item_the_whole_way(&mut self, item: &[u8]) -> SendOutcome {
        self.send_items_of(item, item.len())
    }

    /// How many of `wanted` items have free slots now, if any.
    #[inline]
    fn free_slots(&self, wanted: usize) -> Option<usize> {
        // A shift: slots are a power of two (`layout::slot_bytes`).
        let free = (self.capacity as u64 - (self.tail - self.head)) >> self.slot.trailing_zeros();
        let count = wanted.min(usize::try_from(free).unwrap_or(usize::MAX));
        (count > 0).then_some(count)
    }

    /// Checks the link and that a record of `bound` bytes fits now (reading credit when it does
    /// not): where it goes, or the outcome to return.
    fn make_room(&mut self, bound: usize, kind: SendKind) -> Result<Placement, SendOutcome> {
        self.room(kind, |sender| sender.spot_for(bound))
    }

    /// Checks the link and asks `fits` where the next write goes (reading credit, and asking
    /// again, when it says there is no room): that, or the outcome to return.
    fn room<P>(
        &mut self,
        kind: SendKind,
        fits: impl Fn(&Self) -> Option<P>,
    ) -> Result<P, SendOutcome> {
        if !self.check_link(false, kind) {
            return Err(SendOutcome::LinkDown);
        }
        let mut spot = fits(self);
        if spot.is_none() {
            // Full as last credited: read the credit (and look at the receiver) first.
            if !self.check_link(true, kind) {
                return Err(SendOutcome::LinkDown);
            }
            spot = fits(self);
        }
        let Some(spot) = spot else {
            if !self.stalled {
                self.stalled = true;
                self.stats.credit_stalls.fetch_add(1, Relaxed);
            }
            return Err(SendOutcome::NoCredit);
        };
        self.stalled = false;
        Ok(spot)
    }

    /// Where a record of `len` bytes goes now, if it fits.
    fn spot_for(&self, len: usize) -> Option<Placement> {
        place(self.capacity, self.head, self.tail, len)
            .ok()
            .flatten()
    }

    /// The padding record `spot` needs before the end of the buffer, if any.
    fn write_padding(&self, spot: &Placement) {
        if let Some((offset, padding)) = spot.padding {
            self.segment
                .write_window(offset, &record_header(padding, PADDING));
        }
    }

    /// Publishes `end`, the tail past the record or item just written, wakes a sleeping
    /// consumer and counts what it carries.
    #[inline]
    fn publish(&mut self, end: u64, rows: usize) -> SendOutcome {
        self.segment.u64_at(layout::TAIL).store(end, Release);
        // Pairs with the consumer's fence before it sleeps: either it sees this tail, or this
        // sees that it sleeps and wakes it. A consumer that has never slept (it polls) costs no
        // fence.
        if self
            .segment
            .u32_at(layout::CONSUMER_MAY_SLEEP)
            .load(Relaxed)
            != 0
        {
            std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        }
        if self.segment.u32_at(layout::CONSUMER_SLEEPS).load(Relaxed) != 0 {
            self.segment.u32_at(layout::WAKE).fetch_add(1, Release);
            self.segment.wake(layout::WAKE);
        }
        let wrote = (end - self.tail) as usize;
        self.tail = end;
        // Sends, not tries: a sender spinning on a full window looks at the lock by the clock.
        self.since_alive_check = self.since_alive_check.saturating_add(1);
        self.rows_sent += rows as u64;
        self.stats.count_frame(rows, wrote);
        self.stats.rows_acknowledged.store(self.rows_acked, Relaxed);
        SendOutcome::Sent(wrote)
    }

    /// Says goodbye with the run's row count and waits up to `wait` for every row to be
    /// confirmed; the rows confirmed.
    pub fn finish(&mut self, wait: Duration) -> u64 {
        if self.down.is_none() {
            let s = &self.segment;
            s.u64_at(bye::ROWS).store(self.rows_sent, Relaxed);
            let seq = s.u64_at(bye::SEQ).load(Acquire).wrapping_add(1);
            s.u64_at(bye::SEQ).store(seq, Release);
            let deadline = deadline(Instant::now(), wait);
            while self.rows_acked < self.rows_sent && ahead(deadline, Instant::now()) {
                if !self.check_link(true, SendKind::Stamped) {
                    break;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        self.stats.rows_acknowledged.store(self.rows_acked, Relaxed);
        self.stats.disconnect();
        self.rows_acked
    }
}

/// Takes the sender lock, retrying for up to `within` (the receiver's liveness check holds it
/// for a moment now and then; a previous producer may still be leaving).
fn take_sender_lock_within(path: &std::path::Path, within: Duration) -> Result<File, LinkError> {
    let deadline = deadline(Instant::now(), within);
    loop {
        match take_sender_lock(path) {
            Err(LinkError::Refused { .. }) if ahead(deadline, Instant::now()) => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}

impl FrameLink for ShmSender {
    fn max_frame(&self) -> usize {
        self.config.max_frame
    }

    fn send_frame(
        &mut self,
        bound: usize,
        rows: usize,
        encode: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
    ) -> SendOutcome {
        ShmSender::send_frame(self, bound, rows, encode)
    }

    fn acknowledged(&mut self) -> u64 {
        ShmSender::acknowledged(self)
    }

    fn rows_sent(&self) -> u64 {
        self.rows_sent
    }

    fn finish(&mut self, wait: Duration) -> u64 {
        ShmSender::finish(self, wait)
    }
}
