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
//!
//! Every ring has a power-of-two capacity, allocates its slots through a [`RingAlloc`] (so the
//! topology layer can place them on a NUMA node), lets each side pick a [`WaitStrategy`] for its
//! blocking calls, and counts the events that cost cross-core traffic in [`EndpointStats`].

pub mod alloc;
pub mod broadcast;
pub(crate) mod buffer;
pub mod error;
pub mod frames;
pub mod mpmc;
pub mod pad;
pub mod prefetch;
pub mod relay;
pub mod spsc;
pub(crate) mod sync;
pub mod wait;
pub mod window;

pub use alloc::{GlobalAligned, RingAlloc};
pub use error::RingError;
pub use pad::{CACHE_PAD, CachePadded};
pub use prefetch::PrefetchDistance;
pub use wait::WaitStrategy;

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
/// development VM it added about 250 ns to a ping-pong round trip).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    /// Reloads of the other side's index that found it moved.
    reloads: u64,
    /// Episodes of finding the ring full (producer) or empty (consumer).
    stalls: u64,
    /// Whether the current episode has been counted.
    stalled: bool,
    /// Times the consumer fell back behind a producer it was chasing.
    fell_back: u64,
}

impl Counters {
    /// Records a fresh read of the other side's index into this side's cached copy; returns
    /// whether it moved (progress) or not (a stall, counted once per episode).
    #[inline(always)]
    pub(crate) fn observe(&mut self, cached: &mut usize, fresh: usize) -> bool {
        if fresh == *cached {
            self.found_nothing();
            return false;
        }
        *cached = fresh;
        self.reloads += 1;
        self.stalled = false;
        true
    }

    /// A poll found the ring empty (or full): a stall, counted once per episode.
    #[inline(always)]
    pub(crate) fn found_nothing(&mut self) {
        if !self.stalled {
            self.stalled = true;
            self.stalls += 1;
        }
    }

    /// A poll found an item (or room) without reading the other side's index: the stall
    /// episode, if any, is over.
    #[inline(always)]
    pub(crate) fn found_some(&mut self) {
        self.stalled = false;
    }

    /// Whether the last reload of the other side's index found it moved.
    #[inline(always)]
    pub(crate) fn last_reload_progressed(&self) -> bool {
        self.reloads != 0 && !self.stalled
    }

    /// The consumer fell back behind a producer it was chasing.
    #[inline(always)]
    pub(crate) fn fell_back(&mut self) {
        self.fell_back += 1;
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
    counters: &mut Counters,
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

/// Counters one endpoint keeps privately (no atomics, no sharing), read by its owner.
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
