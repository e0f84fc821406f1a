//! The ring engine: lock-free, cache-aligned rings with no threads, no I/O and no knowledge of
//! what they carry.
//!
//! - [`spsc`]: one producer, one consumer; the fastest path for streams.
//! - [`relay`]: one producer, one consumer, items stamped in their slots; the fastest hand-off of
//!   a lone item (request/response, sparse feeds).
//! - [`broadcast`]: one producer, N consumers, each sees every item.
//! - [`mpmc`]: many producers and consumers, each item taken exactly once.
//! - [`frames`]: variable-length byte records (encoded frames) on an SPSC ring.
//! - `window`: a byte ring whose writer chooses the offsets, the memory a remote peer writes into.
//! - [`record`]: the record format `frames` and `window` share.
//! - [`visits`]: a hot thread's visits to shared state that a cold thread waits out, without a
//!   locked instruction on the hot side (the shared-memory item rings' receiver).
//!
//! Every ring has a power-of-two capacity, allocates its slots through a [`RingAlloc`] (so the
//! topology layer can place them on a NUMA node), lets each side pick a [`WaitStrategy`] for its
//! blocking calls, and counts the events that cost cross-core traffic in [`EndpointStats`].

pub mod alloc;
pub(crate) mod blocking;
pub mod broadcast;
pub(crate) mod buffer;
pub(crate) mod claim;
pub mod error;
pub mod frames;
pub mod mpmc;
pub mod pad;
pub mod prefetch;
pub mod record;
pub mod relay;
pub(crate) mod sides;
pub mod spsc;
pub(crate) mod sync;
pub mod visits;
pub mod wait;
pub mod watch;
pub mod window;

pub use alloc::{GlobalAligned, RingAlloc};
pub use error::RingError;
pub use pad::{CACHE_PAD, CachePadded};
pub use prefetch::PrefetchDistance;
pub use wait::WaitStrategy;

// Every endpoint starts on a cache-line block of its own and fills whole blocks
// (`pad::CacheAligned`), so one side's private state never shares a line with anything else.
const _: () = {
    use std::mem::align_of;
    assert!(align_of::<spsc::Producer<u8>>() == CACHE_PAD);
    assert!(align_of::<spsc::Consumer<u8>>() == CACHE_PAD);
    assert!(align_of::<relay::Producer<u8>>() == CACHE_PAD);
    assert!(align_of::<relay::Consumer<u8>>() == CACHE_PAD);
    assert!(align_of::<broadcast::Producer<u8>>() == CACHE_PAD);
    assert!(align_of::<broadcast::Consumer<u8>>() == CACHE_PAD);
    assert!(align_of::<frames::FrameProducer>() == CACHE_PAD);
    assert!(align_of::<frames::FrameConsumer>() == CACHE_PAD);
};

/// Checks that a ring of `T` with `capacity` slots can be built (a power of two, at least 2, not
/// beyond what memory can address), without building it: for validating settings up front.
///
/// # Errors
/// The [`RingError`] the ring's constructor would give.
pub fn check_capacity<T>(capacity: usize) -> Result<usize, RingError> {
    buffer::check_capacity::<T>(capacity, 2)
}

/// How to build a ring beyond its capacity: where its memory comes from and how each side waits.
#[derive(Debug, Clone)]
pub struct RingConfig {
    /// Source of the slot memory.
    pub alloc: std::sync::Arc<dyn RingAlloc>,
    /// How producers wait in blocking calls.
    pub producer_wait: WaitStrategy,
    /// How consumers wait in blocking calls.
    pub consumer_wait: WaitStrategy,
}

impl Default for RingConfig {
    fn default() -> Self {
        Self {
            alloc: std::sync::Arc::new(GlobalAligned),
            producer_wait: WaitStrategy::BusySpin,
            consumer_wait: WaitStrategy::BusySpin,
        }
    }
}

/// Slow-path counters one endpoint keeps privately (no atomics, no sharing).
///
/// A poll that finds the ring still empty (or full) writes nothing once its episode is counted:
/// a store per poll in a spin loop measurably slows the very wake-up the loop waits for (on the
/// development VM it added about 250 ns to a ping-pong round trip). Nor does the way out of an
/// episode write anything beyond the reload count: an episode is marked with the position it
/// stalled at, which progress leaves behind by itself, so no flag needs clearing on the hand-off
/// path.
#[derive(Debug)]
pub(crate) struct EndpointTally {
    /// Reloads of the other side's index that found it moved.
    reloads: u64,
    /// Episodes of finding the ring full (producer) or empty (consumer).
    stalls: u64,
    /// The position this side was stuck at when it last counted a stall: a poll stuck at the
    /// same position is the same episode.
    stalled_at: usize,
    /// Times the consumer fell back behind a producer it was chasing.
    fell_back: u64,
    /// Where a watcher reads these counts, when the ring is monitored: written each time one
    /// changes, which is only ever on the slow path.
    published: Option<watch::StatsCell>,
}

impl Default for EndpointTally {
    fn default() -> Self {
        Self {
            reloads: 0,
            stalls: 0,
            // No position yet: the first stall at position 0 is a new episode. (A stall at
            // exactly this position, after 2^64 items, would go uncounted.)
            stalled_at: usize::MAX,
            fell_back: 0,
            published: None,
        }
    }
}

impl EndpointTally {
    /// Records a fresh read of the other side's index into this side's cached copy; returns
    /// whether it moved (progress) or not (a stall, counted once per episode).
    #[inline(always)]
    pub(crate) fn observe(&mut self, cached: &mut usize, fresh: usize) -> bool {
        if fresh == *cached {
            self.stuck_at(*cached);
            return false;
        }
        *cached = fresh;
        self.reloaded();
        true
    }

    /// Counts a reload of the other side's index that found it moved.
    #[inline(always)]
    pub(crate) fn reloaded(&mut self) {
        self.reloads += 1;
        self.publish();
    }

    /// A poll found the ring empty (or full) while this side stood at `position`: a stall,
    /// counted once per episode (once per position it gets stuck at).
    #[inline(always)]
    pub(crate) fn stuck_at(&mut self, position: usize) {
        if self.stalled_at != position {
            self.stalled_at = position;
            self.stalls += 1;
            self.publish();
        }
    }

    /// Whether the stall at `position` is already counted (this side is stuck there): a poll
    /// stuck at it again has nothing to note.
    #[inline(always)]
    pub(crate) fn is_stuck_at(&self, position: usize) -> bool {
        self.stalled_at == position
    }

    /// Whether the last reload of the other side's index found it moved, `cached` being the
    /// copy that reload left.
    #[inline(always)]
    pub(crate) fn last_reload_progressed(&self, cached: usize) -> bool {
        self.reloads != 0 && self.stalled_at != cached
    }

    /// The consumer fell back behind a producer it was chasing.
    #[inline(always)]
    pub(crate) fn fell_back(&mut self) {
        self.fell_back += 1;
        self.publish();
    }

    /// From now on, copies the counts into `cell` each time they change (and once now).
    pub(crate) fn publish_to(&mut self, cell: watch::StatsCell) {
        cell.store(self.stats());
        self.published = Some(cell);
    }

    /// The endpoint is going away at `position` (its tail or head): the watcher's cell gets the
    /// final counts and the position, which the ring itself can no longer be asked for.
    pub(crate) fn publish_final(&self, position: usize) {
        if let Some(cell) = &self.published {
            cell.store(self.stats());
            cell.store_final(position as u64);
        }
    }

    /// Copies the counts to the watcher's cell, if there is one.
    #[inline(always)]
    fn publish(&self) {
        if let Some(cell) = &self.published {
            watch::publish_slow(cell, self.stats());
        }
    }

    pub(crate) fn stats(&self) -> EndpointStats {
        EndpointStats {
            index_reloads: self.reloads,
            stalls: self.stalls,
            chase_backoffs: self.fell_back,
        }
    }
}

/// Room a producer has: `capacity - (tail - cached_head)`, re-reading the consumer's position
/// with `load` only when the cached copy shows less than `wanted`.
#[inline(always)]
pub(crate) fn producer_room(
    capacity: usize,
    tail: usize,
    cached_head: &mut usize,
    counters: &mut EndpointTally,
    wanted: usize,
    load: impl FnOnce() -> usize,
) -> usize {
    let free = capacity - tail.wrapping_sub(*cached_head);
    if free >= wanted {
        return free;
    }
    let head = load();
    if !counters.observe(cached_head, head) {
        return free;
    }
    capacity - tail.wrapping_sub(head)
}

/// EndpointTally one endpoint keeps privately (no atomics, no sharing), read by its owner.
///
/// They count the slow-path events that explain a ring's speed without a hardware PMU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Times this side re-read the other side's index (because its cached copy said full or
    /// empty) and found it moved: each is a cache line pulled from the other core with news.
    pub index_reloads: u64,
    /// Times this side found the ring full (producer) or empty (consumer), counted once per
    /// episode however long it then polled.
    pub stalls: u64,
    /// Times an SPSC consumer found itself chasing a streaming producer item by item and fell
    /// back to let it get ahead (always 0 for producers and other rings).
    pub chase_backoffs: u64,
}
