//! What `ringtop attach` sees of a shared-memory ring, registered by its receiver
//! ([`crate::monitor::Monitor`]): the receiver's head and the sender's published tail, read by
//! the monitor's thread from words the two ends write anyway: in items for a ring of items
//! ([`super::items`]), in bytes of records for a ring of messages ([`super::messages`], whose
//! messages vary in size). Nothing is added to the per-item path.
//!
//! The tail is the sender's word (the file's tail, or where the receiver has taken the stream
//! to, whichever is further), bounded by what the ring can hold past the receiver's head: a
//! sender that writes nonsense into the file moves no figure outside the ring. The sender's
//! thread, CPU and counters are another process's: the registering program cannot see them, and
//! `attach` says so.

use std::sync::atomic::Ordering::Acquire;
use std::sync::{Arc, Weak};

use crate::ring::EndpointStats;
use crate::ring::watch::{RingMemory, RingWatch, StatsCell};
use crate::ring::window::WindowPositions;

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
fn sender_tail(segment: &Segment, head: u64, taken: u64) -> u64 {
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
}

/// The watch of one message ring, in bytes of records: its file and its window, held weakly.
pub(super) struct MessageWatch {
    segment: Weak<Segment>,
    window: WindowPositions,
}

impl MessageWatch {
    /// A watch on the ring file `segment` whose window's positions are `window`.
    pub(super) fn new(segment: Weak<Segment>, window: WindowPositions) -> Arc<Self> {
        Arc::new(MessageWatch { segment, window })
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
}

/// The cells a monitored receiver writes: its own (its thread, and its head when it is dropped)
/// and its sender's (only the tail it last saw, when it is dropped: the sender's counters are
/// another process's).
#[derive(Debug)]
pub(super) struct WatchedCells {
    producer: StatsCell,
    consumer: StatsCell,
}

impl WatchedCells {
    /// The cells a monitor gave the ring's two ends; says which thread reads it (the
    /// caller's).
    pub(super) fn new(producer: StatsCell, consumer: StatsCell) -> Self {
        let watched = WatchedCells { producer, consumer };
        watched.reader_is_here();
        watched
    }

    /// Says the calling thread reads the ring (its thread id, for its CPU and scheduling): at
    /// registration and at each sender's arrival, off the per-item path.
    pub(super) fn reader_is_here(&self) {
        self.consumer.store(EndpointStats::default());
    }

    /// The positions (in the ring's unit) as the receiver goes away.
    pub(super) fn ended(&self, head: u64, tail: u64) {
        self.producer.store_final(tail);
        self.consumer.store_final(head);
    }
}
