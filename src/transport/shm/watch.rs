//! What `ringtop attach` sees of a shared-memory ring, registered by either of its ends
//! ([`crate::monitor::Monitor`]): the receiver's head and the sender's published tail, read by
//! the monitor's thread from words the two ends write anyway: in items for a ring of items
//! ([`super::items`]), in bytes of records for a ring of messages ([`super::messages`], whose
//! messages vary in size). Nothing is added to the per-item path.
//!
//! Registered by its receiver ([`ItemWatch`], [`MessageWatch`]), the head is exact and the
//! tail is the sender's word (the file's tail, or where the receiver has taken the stream to,
//! whichever is further), bounded by what the ring can hold past the receiver's head: a sender
//! that writes nonsense into the file moves no figure outside the ring. Registered by its sender
//! ([`SenderWatch`]), the tail is exact (the sender's own count of what it published) and the
//! head is the receiver's as it last credited it, bounded to a window behind the tail. The other
//! end's thread, CPU and counters are another process's: the registering program cannot see
//! them, and `attach` says so.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::{Arc, Weak};

use crate::ring::EndpointStats;
use crate::ring::watch::{FileIdentity, RingMemory, RingWatch, StatsCell};
use crate::ring::window::WindowPositions;
use crate::transport::LinkStats;

use super::items::{ItemStream, StreamEnds};
use super::mapping::Segment;
use super::receive::Shared;

/// The watch of one item ring: its shared state held weakly (nothing once the receiver is
/// gone), its stream's ends, and the slot's size.
pub(super) struct ItemWatch {
    shared: Weak<Shared<ItemStream>>,
    ends: Arc<StreamEnds>,
    /// A slot's bytes, as a shift (slots are a power of two).
    slot_shift: u32,
    item_bytes: usize,
    /// The ring file's identity.
    file: Option<FileIdentity>,
}

impl ItemWatch {
    /// A watch on the ring `shared` whose stream ends are `ends`, of items of `item_bytes` in
    /// slots of `slot_bytes`.
    pub(super) fn new(
        shared: &Arc<Shared<ItemStream>>,
        ends: &Arc<StreamEnds>,
        item_bytes: usize,
        slot_bytes: usize,
    ) -> Arc<Self> {
        Arc::new(ItemWatch {
            shared: Arc::downgrade(shared),
            ends: ends.clone(),
            slot_shift: slot_bytes.trailing_zeros(),
            item_bytes,
            file: shared.segment.identity(),
        })
    }
}

/// The receiver's head and the sender's tail, in bytes of the stream, as [`ItemWatch`] reads
/// them: the head first, the tail bounded to `head..=head + window`.
pub(super) fn stream_positions(shared: &Shared<ItemStream>, ends: &StreamEnds) -> (u64, u64) {
    let head = ends.head.load(Acquire);
    let taken = ends.published.load(Acquire);
    (head, sender_tail(&shared.segment, head, taken))
}

/// The sender's tail as a watcher believes it: the file's tail or `taken` (where the receiver has
/// taken the stream to), whichever is further, within a window past `head`.
pub(super) fn sender_tail(segment: &Segment, head: u64, taken: u64) -> u64 {
    let window = segment.capacity() as u64;
    segment
        .sender_tail()
        .max(taken)
        .clamp(head, head.saturating_add(window))
}

/// Where a ring file's window lies in this process, for a watcher's page census.
fn window_memory(segment: &Segment) -> RingMemory {
    let window = segment.window_cells();
    RingMemory {
        address: window.as_ptr() as usize,
        bytes: window.len(),
    }
}

impl RingWatch for ItemWatch {
    fn kind(&self) -> &'static str {
        "shm-items"
    }

    fn capacity(&self) -> usize {
        self.shared
            .upgrade()
            .map_or(0, |s| s.segment.capacity() >> self.slot_shift)
    }

    fn item_bytes(&self) -> usize {
        self.item_bytes
    }

    fn consumers(&self) -> usize {
        1
    }

    fn positions(&self, heads: &mut [u64]) -> Option<u64> {
        let shared = self.shared.upgrade()?;
        let (head, tail) = stream_positions(&shared, &self.ends);
        if let Some(first) = heads.first_mut() {
            *first = head >> self.slot_shift;
        }
        Some(tail >> self.slot_shift)
    }

    fn memory(&self) -> Option<RingMemory> {
        Some(window_memory(&self.shared.upgrade()?.segment))
    }

    fn shared_file(&self) -> Option<FileIdentity> {
        self.file
    }
}

/// The watch of one message ring, in bytes of records: its file and its window, held weakly.
pub(super) struct MessageWatch {
    segment: Weak<Segment>,
    window: WindowPositions,
    /// The ring file's identity.
    file: Option<FileIdentity>,
}

impl MessageWatch {
    /// A watch on the ring file `segment` whose window's positions are `window`.
    pub(super) fn new(segment: Weak<Segment>, window: WindowPositions) -> Arc<Self> {
        let file = segment.upgrade().and_then(|s| s.identity());
        Arc::new(MessageWatch {
            segment,
            window,
            file,
        })
    }

    /// The receiver's head and the sender's tail in bytes (the head first); `None` once the
    /// receiver is gone.
    pub(super) fn read(&self) -> Option<(u64, u64)> {
        let segment = self.segment.upgrade()?;
        let (head, published) = self.window.read()?;
        Some((head, sender_tail(&segment, head, published)))
    }
}

impl RingWatch for MessageWatch {
    fn kind(&self) -> &'static str {
        "shm-messages"
    }

    fn capacity(&self) -> usize {
        self.segment.upgrade().map_or(0, |s| s.capacity())
    }

    fn item_bytes(&self) -> usize {
        1
    }

    fn consumers(&self) -> usize {
        1
    }

    fn positions(&self, heads: &mut [u64]) -> Option<u64> {
        let (head, tail) = self.read()?;
        if let Some(first) = heads.first_mut() {
            *first = head;
        }
        Some(tail)
    }

    fn memory(&self) -> Option<RingMemory> {
        Some(window_memory(&*self.segment.upgrade()?))
    }

    fn shared_file(&self) -> Option<FileIdentity> {
        self.file
    }
}

/// The watch of a ring from its sending end: the sender's tail (exact, from the bytes it
/// counts as it publishes, in this process: a receiver writing into the file's tail word moves
/// no figure) and the head the receiver last credited (it credits at least every quarter window
/// and whenever it has read everything, so a head seen here may trail the receiver's by up to a
/// quarter window while it reads). The credit is read through a second mapping of the file's
/// header that the sender holds and this holds weakly: nothing once the sender is gone.
pub(super) struct SenderWatch {
    header: Weak<Segment>,
    /// The sender's counts: the bytes it has published.
    sent: Arc<LinkStats>,
    /// Its bytes published when the watch was made, at `tail_then`.
    bytes_then: u64,
    tail_then: u64,
    kind: &'static str,
    /// The window's bytes.
    window: u64,
    /// The ring's unit as a shift of bytes: a slot's for items, 0 for messages (bytes).
    unit_shift: u32,
    item_bytes: usize,
    /// The sender's session: only its credits are taken (the receiver may still be crediting
    /// an earlier sender's records).
    session: u64,
    /// The furthest head seen: credits only move it on, and a credit being written (or an
    /// earlier session's) leaves it where it was.
    head_seen: AtomicU64,
    /// The window in the sender's own mapping, whose pages are mapped there once it writes
    /// them: what the page census asks about.
    memory: RingMemory,
    /// The ring file's identity.
    file: Option<FileIdentity>,
}

/// What a [`SenderWatch`] is told of its sender when it is made.
pub(super) struct SenderEnd<'a> {
    /// The sender's own mapping of the file (for its window's address and size).
    pub segment: &'a Segment,
    /// A second mapping of the file's header, which the sender holds.
    pub header: &'a Arc<Segment>,
    /// `shm-items-sender` or `shm-messages-sender`.
    pub kind: &'static str,
    /// The slot's bytes for a ring of items, 0 for messages.
    pub slot: usize,
    /// The item's bytes (1 for messages: counted in bytes).
    pub item_bytes: usize,
    /// The sender's counts (the bytes it has published, [`LinkStats::bytes`]).
    pub sent: &'a Arc<LinkStats>,
    /// The sender's session.
    pub session: u64,
    /// The sender's tail now.
    pub tail: u64,
    /// The receiver's head as last credited to the sender.
    pub head: u64,
}

impl SenderWatch {
    /// A watch on the ring whose sender is `end`.
    pub(super) fn new(end: SenderEnd<'_>) -> Arc<Self> {
        Arc::new(SenderWatch {
            header: Arc::downgrade(end.header),
            kind: end.kind,
            window: end.segment.capacity() as u64,
            unit_shift: unit_shift(end.slot),
            item_bytes: end.item_bytes,
            sent: end.sent.clone(),
            bytes_then: end.sent.bytes.load(Relaxed),
            tail_then: end.tail,
            session: end.session,
            head_seen: AtomicU64::new(end.head),
            memory: window_memory(end.segment),
            file: end.segment.identity(),
        })
    }

    /// The receiver's head as credited and the sender's tail, in bytes of the stream (the head
    /// first, within a window behind the tail); `None` once the sender is gone.
    fn read(&self) -> Option<(u64, u64)> {
        let header = self.header.upgrade()?;
        // The head first: a credit that lands between the two reads then shows as fill, not as
        // a head past the tail.
        let credited = header
            .credit_after(0)
            .filter(|credit| credit.session == self.session)
            .map_or(0, |credit| credit.head);
        let sent = self
            .sent
            .bytes
            .load(Relaxed)
            .saturating_sub(self.bytes_then);
        let tail = self.tail_then.saturating_add(sent);
        let head = self
            .head_seen
            .load(Relaxed)
            .max(credited)
            .clamp(tail.saturating_sub(self.window), tail);
        self.head_seen.store(head, Relaxed);
        Some((head, tail))
    }
}

impl RingWatch for SenderWatch {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn capacity(&self) -> usize {
        usize::try_from(self.window >> self.unit_shift).unwrap_or(usize::MAX)
    }

    fn item_bytes(&self) -> usize {
        self.item_bytes
    }

    fn consumers(&self) -> usize {
        1
    }

    fn positions(&self, heads: &mut [u64]) -> Option<u64> {
        let (head, tail) = self.read()?;
        if let Some(first) = heads.first_mut() {
            *first = head >> self.unit_shift;
        }
        Some(tail >> self.unit_shift)
    }

    fn memory(&self) -> Option<RingMemory> {
        self.header.upgrade().map(|_| self.memory)
    }

    fn shared_file(&self) -> Option<FileIdentity> {
        self.file
    }
}

/// The ring's unit as a shift of bytes, for a sender whose slots are `slot` bytes (0: a ring of
/// records, counted in bytes).
pub(super) fn unit_shift(slot: usize) -> u32 {
    if slot == 0 { 0 } else { slot.trailing_zeros() }
}

/// Which end of a shared-memory ring the registering program holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HeldEnd {
    /// The sender: its thread is the ring's producer.
    Sender,
    /// The receiver: its thread is the ring's one consumer.
    Receiver,
}

/// The cells a monitored end writes: its own (its thread, and its position when it is dropped)
/// and the other end's (only the position this end last saw, when it is dropped: the other
/// end's counters are another process's).
#[derive(Debug)]
pub(super) struct WatchedCells {
    producer: StatsCell,
    consumer: StatsCell,
    held: HeldEnd,
}

impl WatchedCells {
    /// The cells a monitor gave the ring's two ends, of which this program holds `held`; says
    /// which thread uses that end (the caller's).
    pub(super) fn new(producer: StatsCell, consumer: StatsCell, held: HeldEnd) -> Self {
        let watched = WatchedCells {
            producer,
            consumer,
            held,
        };
        watched.end_is_here();
        watched
    }

    /// Says the calling thread uses this program's end of the ring (its thread id, for its CPU
    /// and scheduling): at registration and now and then after (a receiver at each sender's
    /// arrival, a sender when it looks at its receiver's lock), off the per-item path.
    pub(super) fn end_is_here(&self) {
        let cell = match self.held {
            HeldEnd::Sender => &self.producer,
            HeldEnd::Receiver => &self.consumer,
        };
        cell.store(EndpointStats::default());
    }

    /// The positions (in the ring's unit) as this program's end goes away.
    pub(super) fn ended(&self, head: u64, tail: u64) {
        self.producer.store_final(tail);
        self.consumer.store_final(head);
    }
}
