//! One producer, one consumer: the ring every other design is measured against.
//!
//! Design (after rigtorp's `SPSCQueue`): the producer owns `tail`, the consumer owns `head`, each
//! on its own [`CachePadded`] block. Each side keeps a private cached copy of the other side's
//! index and re-reads the shared one only when the cached copy says full (producer) or empty
//! (consumer), so in the steady state a push or pop touches no cache line the other core is
//! writing except the slot itself. Positions are unbounded `usize` counters (wrapping), mapped to
//! slots with a mask, which is why the capacity is a power of two.
//!
//! Ordering: the item write happens-before the `Release` store of `tail`, which the consumer reads
//! with `Acquire` before reading the item; symmetrically for `head` and slot reuse. No `SeqCst`
//! anywhere on the data path.
//!
//! ```
//! let (mut tx, mut rx) = ringtop::ring::spsc::channel::<u64>(1024)?;
//! tx.try_push(7).unwrap();
//! assert_eq!(rx.try_pop(), Some(7));
//! # Ok::<(), ringtop::ring::RingError>(())
//! ```

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::blocking::{pop_with, push_with};
use super::buffer::{Buffer, SlotView, check_capacity, for_each_position};
use super::claim::{Claim, Slot};
use super::pad::{CacheAligned, CachePadded, LINE_BYTES};
use super::prefetch::PrefetchDistance;
use super::sides::Sides;
use super::sync::{Arc, AtomicUsize, UnsafeCell, spin_loop};
use super::{EndpointStats, EndpointTally, RingConfig, RingError, WaitStrategy, producer_room};

/// State both endpoints share.
struct Shared<T> {
    /// Next position the consumer will read. Written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// Next position the producer will write. Written only by the producer.
    tail: CachePadded<AtomicUsize>,
    /// Liveness of each side and the parkers live on one block: rarely written.
    sides: CachePadded<Sides>,
    slots: Buffer<Slot<T>>,
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both endpoints are gone (the Arc's final drop synchronises with their last writes), so
        // the items in [head, tail) are exactly the unconsumed ones; drop each once.
        let (head, tail) = (self.head.load(Relaxed), self.tail.load(Relaxed));
        for_each_position(&self.slots, head, tail, |_, slot| {
            // SAFETY: positions in [head, tail) hold initialised items nobody else can reach.
            slot.with_mut(|p| unsafe { (*p).assume_init_drop() });
        });
    }
}

/// Creates an SPSC ring of `capacity` slots with the default [`RingConfig`].
///
/// # Errors
/// `capacity` must be a power of two and at least 2: anything else is refused with the reason
/// (and, for a non-power of two, its two nearest valid neighbours), never rounded silently.
pub fn channel<T: Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), RingError> {
    channel_with(capacity, RingConfig::default())
}

/// Creates an SPSC ring with an explicit allocator and wait strategies.
///
/// # Errors
/// As [`channel`], plus [`RingError::AllocationFailed`] when the allocator has no memory.
pub fn channel_with<T: Send>(
    capacity: usize,
    config: RingConfig,
) -> Result<(Producer<T>, Consumer<T>), RingError> {
    let capacity = check_capacity::<Slot<T>>(capacity, 2)?;
    let slots = Buffer::new(capacity, config.alloc, |_| {
        UnsafeCell::new(MaybeUninit::uninit())
    })?;
    // SAFETY: every endpoint holds the `Arc` of the shared part that owns `slots`.
    let view = unsafe { SlotView::new(&slots) };
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        sides: CachePadded::new(Sides::new()),
        slots,
    });
    let producer = Producer {
        _align: CacheAligned,
        shared: shared.clone(),
        slots: view,
        tail: 0,
        cached_head: 0,
        wait: config.producer_wait,
        wake_consumer: config.consumer_wait.may_park(),
        prefetch: PrefetchDistance::OFF,
        counters: EndpointTally::default(),
    };
    let consumer = Consumer {
        _align: CacheAligned,
        shared,
        slots: view,
        head: 0,
        cached_tail: 0,
        unjudged: None,
        slip: 0,
        chase_streak: 0,
        judging_backoff: false,
        quiet_reloads: 0,
        chase_backoff: DEFAULT_CHASE_BACKOFF,
        wait: config.consumer_wait,
        wake_producer: config.producer_wait.may_park(),
        prefetch: PrefetchDistance::OFF,
        counters: EndpointTally::default(),
    };
    Ok((producer, consumer))
}

/// Spin-loop hints a consumer waits when it finds itself chasing the producer (see
/// [`Consumer::set_chase_backoff`]). One under loom, where every spin is a scheduling point.
const DEFAULT_CHASE_BACKOFF: u32 = if cfg!(loom) { 1 } else { 64 };

/// Reloads in a row that must each find the consumer right behind the producer before it falls
/// back: one such reload also happens in a request/response exchange whenever the answer beats
/// the next poll (the asking side was delayed), and backing off there only adds latency; a
/// streaming producer being chased makes every reload look like that.
const CHASE_STREAK: u8 = 2;

/// Reloads with news during which a consumer does not look for a chase, after a back-off that did
/// not pay: the reload after it found the producer no further ahead, so the producer was waiting
/// on this side (a request/response exchange, whose answers now and then beat the next poll), not
/// streaming. Without this, each useless back-off delayed the answer enough that the next request
/// beat the poll again, and the exchange could stay in that mode for a whole run.
const QUIET_RELOADS: u32 = if cfg!(loom) { 2 } else { 4096 };

/// Fewer new items than this per reload means the consumer is right behind the producer: the
/// items of one cache line, and at least 2.
const fn chase_threshold<T>() -> usize {
    let size = std::mem::size_of::<T>();
    let per_line = match LINE_BYTES.checked_div(size) {
        Some(n) => n,
        None => LINE_BYTES,
    };
    if per_line < 2 { 2 } else { per_line }
}

/// The writing end of an SPSC ring. Send it to the producer thread.
pub struct Producer<T> {
    /// Alone on its cache-line block: this side's private state never shares a line.
    _align: CacheAligned,
    shared: Arc<Shared<T>>,
    slots: SlotView<Slot<T>>,
    /// Authoritative tail (only this side writes it); the shared one is its published copy.
    tail: usize,
    /// Last head seen; the ring has at least `capacity - (tail - cached_head)` free slots.
    cached_head: usize,
    wait: WaitStrategy,
    /// Whether the consumer may be parked and so needs a wake-up after each publish.
    wake_consumer: bool,
    prefetch: PrefetchDistance,
    counters: EndpointTally,
}

// SAFETY: the producer is the only writer of free slots and of `tail`; moving it to another thread
// moves that role with it. Items of type `T: Send` cross to the consumer thread.
unsafe impl<T: Send> Send for Producer<T> {}

impl<T> Producer<T> {
    /// Number of slots.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Items in the ring now (a snapshot: the consumer may be popping concurrently).
    pub fn len(&self) -> usize {
        self.tail.wrapping_sub(self.shared.head.load(Acquire))
    }

    /// Whether the ring is empty now (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the consumer has been dropped: nothing pushed from now on will be read.
    pub fn is_abandoned(&self) -> bool {
        !self.shared.sides.consumer_alive()
    }

    /// This side's slow-path counters.
    pub fn stats(&self) -> EndpointStats {
        self.counters.stats()
    }

    /// Sets how far ahead the batch write path prefetches slots for writing: `fill_with`,
    /// `push_slice` and `WriteChunk::push` write item by item, each after a write hint for the
    /// slot `distance` ahead.
    pub fn set_prefetch_distance(&mut self, distance: PrefetchDistance) {
        self.prefetch = distance;
    }

    /// Free slots, re-reading the consumer's head only if the cached copy shows fewer than
    /// `wanted`.
    #[inline(always)]
    fn free_slots(&mut self, wanted: usize) -> usize {
        let shared = &self.shared;
        producer_room(
            self.slots.capacity(),
            self.tail,
            &mut self.cached_head,
            &mut self.counters,
            wanted,
            || shared.head.load(Acquire),
        )
    }

    #[inline(always)]
    fn publish(&mut self, tail: usize) {
        self.tail = tail;
        self.shared.tail.store(tail, Release);
        if self.wake_consumer {
            self.shared.sides.consumer_parker.notify();
        }
    }

    /// Pushes `value` if there is room; gives it back if the ring is full.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        if self.free_slots(1) == 0 {
            return Err(value);
        }
        // SAFETY: the slot at `tail` is free (the consumer has released it, as the head we read
        // with Acquire shows) and only this producer writes free slots.
        self.slots
            .at(self.tail)
            .with_mut(|p| unsafe { (*p).write(value) });
        self.publish(self.tail.wrapping_add(1));
        Ok(())
    }

    /// Pushes `value`, waiting with this side's [`WaitStrategy`] while the ring is full.
    ///
    /// # Errors
    /// Gives `value` back if the consumer is gone (it could never be read).
    pub fn push(&mut self, value: T) -> Result<(), T> {
        push_with(self, value, Self::try_push, Self::is_abandoned, |p| {
            let (shared, tail, capacity) = (&*p.shared, p.tail, p.capacity());
            p.wait.wait_until(&shared.sides.producer_parker, || {
                tail.wrapping_sub(shared.head.load(Acquire)) < capacity
                    || !shared.sides.consumer_alive()
            });
        })
    }

    /// Copies as many of `items` as fit now into the ring (one or two `memcpy`s; item by item
    /// with prefetching when a prefetch distance is set) and publishes them with one index store;
    /// how many (0 when the ring is full).
    #[inline]
    pub fn push_slice(&mut self, items: &[T]) -> usize
    where
        T: Copy,
    {
        let prefetch = self.prefetch.is_on();
        if prefetch {
            let mut chunk = self.write_chunk(items.len());
            // Item by item, each slot's line prefetched ahead as the distance asks.
            chunk.fill_with(|i| items[i]);
            chunk.commit()
        } else {
            // No lines asked for ahead: a copy's stores, unlike a fill's, ran slower after them
            // (slices 0.91–0.99× as fast, 2026-12-07, 2-vCPU AMD EPYC guest).
            let (mut chunk, _) = self.claim(items.len());
            chunk.copy_from_slice(items);
            chunk.commit()
        }
    }

    /// Claims up to `max` free slots to fill in place, published together by
    /// [`WriteChunk::commit`]. The chunk may be shorter than `max` (even empty) when the ring is
    /// nearly full.
    ///
    /// Where more slots are known free than the chunk takes (a producer ahead of its consumer),
    /// the lines of as many again are asked for writing, so that they travel from the consumer's
    /// core while this chunk is filled.
    #[inline]
    pub fn write_chunk(&mut self, max: usize) -> WriteChunk<'_, T> {
        let (chunk, free) = self.claim(max);
        chunk.claim.ask_ahead(free);
        chunk
    }

    /// Claims up to `max` free slots; the chunk, and how many slots are known free.
    #[inline(always)]
    fn claim(&mut self, max: usize) -> (WriteChunk<'_, T>, usize) {
        let free = self.free_slots(max);
        let len = free.min(max);
        // SAFETY: `free_slots` found `len` free slots past the tail, and the chunk holds this
        // producer, the only writer of free slots, until it is gone.
        let claim = unsafe { Claim::new(self.slots, self.tail, self.prefetch, len) };
        let chunk = WriteChunk {
            producer: self,
            claim,
        };
        (chunk, free)
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.counters.publish_final(self.tail);
        self.shared.sides.producer_leaves();
    }
}

/// The reading end of an SPSC ring. Send it to the consumer thread.
pub struct Consumer<T> {
    /// Alone on its cache-line block: this side's private state never shares a line.
    _align: CacheAligned,
    shared: Arc<Shared<T>>,
    slots: SlotView<Slot<T>>,
    /// Authoritative head (only this side writes it).
    head: usize,
    /// Last tail seen; at least `cached_tail - head` items are ready.
    cached_tail: usize,
    /// The tail before the last reload with news, while that reload is not yet counted or
    /// looked at for a chase ([`Consumer::judge_reload`]: at the start of the next reload).
    unjudged: Option<usize>,
    /// Spins owed before the next reload, set when this consumer caught itself chasing.
    slip: u32,
    /// Reloads in a row that found the consumer right behind the producer.
    chase_streak: u8,
    /// A back-off was just spun: the next reload with news says whether it paid.
    judging_backoff: bool,
    /// Reloads with news left before chases are looked for again ([`QUIET_RELOADS`]).
    quiet_reloads: u32,
    /// Spins to fall back by when chasing the producer; 0 disables it.
    chase_backoff: u32,
    wait: WaitStrategy,
    wake_producer: bool,
    prefetch: PrefetchDistance,
    counters: EndpointTally,
}

// SAFETY: the consumer is the only reader of full slots and the only writer of `head`; moving it
// moves that role. Items of type `T: Send` arrive from the producer thread.
unsafe impl<T: Send> Send for Consumer<T> {}

impl<T> Consumer<T> {
    /// Number of slots.
    #[inline]
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Items ready now (a snapshot: the producer may be pushing concurrently).
    pub fn len(&self) -> usize {
        self.shared.tail.load(Acquire).wrapping_sub(self.head)
    }

    /// Whether no item is ready now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the producer has been dropped. Items it pushed before that are still readable:
    /// check `is_abandoned() && is_empty()` (in that order) to know the stream has ended.
    pub fn is_abandoned(&self) -> bool {
        !self.shared.sides.producer_alive()
    }

    /// This side's slow-path counters. (A watcher's copy counts the last reload with news at the
    /// next reload; this one at once.)
    pub fn stats(&self) -> EndpointStats {
        let mut stats = self.counters.stats();
        stats.index_reloads += u64::from(self.unjudged.is_some());
        stats
    }

    /// Sets how far ahead the batch read path prefetches slots: `append_to` and `copy_to_slice`
    /// (so `pop_slice`) copy a few lines at a time, each after read hints for as many lines
    /// `distance` slots on, `ReadChunk::pop` hints once an item; `as_slices` leaves the
    /// reading, and any hints, to the caller.
    pub fn set_prefetch_distance(&mut self, distance: PrefetchDistance) {
        self.prefetch = distance;
    }

    /// Items ready, re-reading the producer's tail only if the cached copy shows fewer than
    /// `wanted`. A reload with news only notes the tail it replaced: counting it and looking
    /// for a chase ([`Consumer::judge_reload`]) wait for the next reload, so they are not
    /// between the news and the item it brought, nor in the loop of a caller that polls, and
    /// come in the same order as if done at once. That bookkeeping, and counting the stall, is
    /// done once per position of the cached tail ([`Consumer::reload_unsettled`]); once this
    /// side is counted stuck at it, the polls only re-read the tail: one comparison and one load.
    #[inline(always)]
    fn ready_items(&mut self, wanted: usize) -> usize {
        let ready = self.cached_tail.wrapping_sub(self.head);
        if ready >= wanted {
            return ready;
        }
        if !self.counters.is_stuck_at(self.cached_tail) {
            return self.reload_unsettled();
        }
        let tail = self.shared.tail.load(Acquire);
        if tail == self.cached_tail {
            return ready;
        }
        self.take_news(tail)
    }

    /// The first reload since the cached tail moved: judges the reload that moved it, spins
    /// off a back-off owed, then reloads; a stall found here is the episode's first, counted,
    /// and settles the position (the polls after it see this side stuck there). Out of line:
    /// the poll inlined into a caller's loop stays a few instructions.
    #[inline(never)]
    fn reload_unsettled(&mut self) -> usize {
        if let Some(previous) = self.unjudged.take() {
            self.judge_reload(previous);
        }
        if self.slip != 0 {
            self.fall_back();
        }
        let tail = self.shared.tail.load(Acquire);
        if tail == self.cached_tail {
            self.counters.stuck_at(tail);
            return tail.wrapping_sub(self.head);
        }
        self.take_news(tail)
    }

    /// A reload found the tail moved to `tail`: notes the tail it replaced for the next
    /// reload to judge. Returns the items now ready.
    #[inline(always)]
    fn take_news(&mut self, tail: usize) -> usize {
        self.unjudged = Some(self.cached_tail);
        self.cached_tail = tail;
        tail.wrapping_sub(self.head)
    }

    /// Counts the last reload with news, which moved the cached tail from `previous` to where
    /// it is, and looks at it for a chase: a back-off owed ([`Consumer::fall_back`]) is spun
    /// at the start of the reload that judges it, as it was owed before that reload anyway.
    #[inline]
    fn judge_reload(&mut self, previous: usize) {
        let tail = self.cached_tail;
        let after_progress = self.counters.last_reload_progressed(previous);
        self.counters.reloaded();
        let right_behind = tail.wrapping_sub(previous) < chase_threshold::<T>();
        if self.judging_backoff {
            self.judging_backoff = false;
            self.chase_streak = 0;
            if right_behind {
                self.quiet_reloads = QUIET_RELOADS;
            }
        } else if self.quiet_reloads != 0 {
            self.quiet_reloads -= 1;
        } else if after_progress && right_behind {
            self.chase_streak += 1;
            if self.chase_streak >= CHASE_STREAK {
                self.chase_streak = 0;
                self.slip = self.chase_backoff;
            }
        } else {
            self.chase_streak = 0;
        }
    }

    /// Spins off the debt set when this consumer caught itself chasing a streaming producer:
    /// [`CHASE_STREAK`] reloads in a row that each found only a few new items (fewer than fill a
    /// cache line) right after another reload that found some, with no empty poll between. In
    /// that state both cores fight over the line the producer is writing, and the tail's line, on
    /// every item; falling back lets the producer get a line or more ahead. A lone item (empty
    /// polls, then one item) never counts, and neither does one answer that beat the next poll,
    /// so request/response latency is untouched. A back-off after which the producer is still
    /// right behind did not pay (it waits on this side): chases are then not looked for during
    /// the next [`QUIET_RELOADS`] reloads with news. Touches no shared memory.
    #[cold]
    fn fall_back(&mut self) {
        for _ in 0..self.slip {
            spin_loop();
        }
        self.slip = 0;
        self.judging_backoff = true;
        self.counters.fell_back();
    }

    /// Sets how many spin-loop hints the consumer waits when it finds itself chasing a streaming
    /// producer item by item (0 turns it off). The default suits x86 servers; raise it if
    /// [`EndpointStats::chase_backoffs`] is high and throughput low, lower it to favour the
    /// latency of items that arrive in bursts.
    pub fn set_chase_backoff(&mut self, spins: u32) {
        self.chase_backoff = spins;
    }

    #[inline(always)]
    fn release(&mut self, head: usize) {
        self.head = head;
        self.shared.head.store(head, Release);
        if self.wake_producer {
            self.shared.sides.producer_parker.notify();
        }
    }

    /// Pops the oldest item, or `None` if the ring is empty. Inlined whole: a caller polling in
    /// a loop then runs the few instructions of an empty poll without a call.
    #[inline(always)]
    pub fn try_pop(&mut self) -> Option<T> {
        if self.ready_items(1) == 0 {
            return None;
        }
        // SAFETY: the slot at `head` holds an item published by the producer (the tail we read
        // with Acquire covers it); this consumer is its only reader and moves it out once.
        let value = self
            .slots
            .at(self.head)
            .with(|p| unsafe { (*p).assume_init_read() });
        self.release(self.head.wrapping_add(1));
        Some(value)
    }

    /// Pops the oldest item, waiting with this side's [`WaitStrategy`] while the ring is empty.
    /// Returns `None` only once the producer is gone and every item it pushed has been read.
    pub fn pop(&mut self) -> Option<T> {
        pop_with(self, Self::try_pop, Self::is_abandoned, |c| {
            let (shared, head) = (&*c.shared, c.head);
            c.wait.wait_until(&shared.sides.consumer_parker, || {
                shared.tail.load(Acquire) != head || !shared.sides.producer_alive()
            });
        })
    }

    /// Copies up to `out.len()` ready items into the front of `out` (one or two `memcpy`s) and
    /// releases their slots with one index store; how many (0 when the ring is empty).
    #[inline]
    pub fn pop_slice(&mut self, out: &mut [T]) -> usize
    where
        T: Copy,
    {
        let mut chunk = self.read_chunk(out.len());
        let count = chunk.copy_to_slice(out);
        chunk.release();
        count
    }

    /// Takes up to `max` ready items to read in place, released together by
    /// [`ReadChunk::release`]. The chunk may be shorter than `max` (even empty).
    ///
    /// Where more items are known to be published than the chunk takes (a consumer behind its
    /// producer), the lines of as many again are hinted to the cache, so that they travel from the
    /// producer's core while this chunk is read.
    #[inline]
    pub fn read_chunk(&mut self, max: usize) -> ReadChunk<'_, T> {
        let ready = self.ready_items(max);
        let len = ready.min(max);
        #[cfg(not(loom))]
        super::prefetch::hint_backlog(self.slots, self.head.wrapping_add(len), ready - len, len);
        ReadChunk {
            consumer: self,
            len,
            taken: 0,
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        // A chunk forgotten after a `pop` left the head ahead of the published one: publish it, so
        // the ring's final drop sees exactly the items nobody took.
        if self.shared.head.load(Relaxed) != self.head {
            self.shared.head.store(self.head, Release);
        }
        if let Some(previous) = self.unjudged.take() {
            self.judge_reload(previous);
        }
        self.counters.publish_final(self.head);
        self.shared.sides.consumer_leaves();
    }
}

impl<T> std::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("spsc::Producer")
            .field("capacity", &self.capacity())
            .field("tail", &self.tail)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T> std::fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("spsc::Consumer")
            .field("capacity", &self.capacity())
            .field("head", &self.head)
            .field("stats", &self.stats())
            .finish()
    }
}

mod chunk;
#[cfg(all(test, not(loom)))]
mod tests;

pub use chunk::{ReadChunk, WriteChunk};

super::watch::one_consumer_positions!("spsc");
super::watch::watch_endpoints!(Send + 'static);
