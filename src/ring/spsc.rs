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
use super::buffer::fill_runs;
#[cfg(loom)]
use super::buffer::wrapped_ranges;
#[cfg(not(loom))]
use super::buffer::wrapped_slices;
use super::buffer::{Buffer, SlotView, check_capacity, for_each_position};
use super::pad::{CacheAligned, CachePadded};
use super::prefetch::{PrefetchDistance, prefetch_read, prefetch_write};
use super::sides::Sides;
use super::sync::{Arc, AtomicUsize, UnsafeCell, spin_loop};
use super::{EndpointStats, EndpointTally, RingConfig, RingError, WaitStrategy, producer_room};

type Slot<T> = UnsafeCell<MaybeUninit<T>>;

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
        slip: 0,
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

/// Fewer new items than this per reload means the consumer is right behind the producer: the
/// items of one cache line, and at least 2.
const fn chase_threshold<T>() -> usize {
    let size = std::mem::size_of::<T>();
    let per_line = match 64usize.checked_div(size) {
        Some(n) => n,
        None => 64,
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

    /// Sets how far ahead the batch write path prefetches slots for writing.
    pub fn set_prefetch_distance(&mut self, distance: PrefetchDistance) {
        self.prefetch = distance;
    }

    /// Writes `value` into the slot with index `slot` (already reduced by the mask): the batch
    /// path's store, one per item with no bounds arithmetic.
    #[inline(always)]
    fn write_free_slot(&self, slot: usize, value: T) {
        // SAFETY: callers pass only slot indices of the chunk's claimed free range (so `slot <=
        // mask`), which only this producer writes, each once.
        unsafe { self.slots.at_index(slot).with_mut(|p| (*p).write(value)) };
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

    /// Claims up to `max` free slots to fill in place, published together by
    /// [`WriteChunk::commit`]. The chunk may be shorter than `max` (even empty) when the ring is
    /// nearly full.
    #[inline]
    pub fn write_chunk(&mut self, max: usize) -> WriteChunk<'_, T> {
        let len = self.free_slots(max).min(max);
        WriteChunk {
            producer: self,
            len,
            written: 0,
        }
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.shared.sides.producer_leaves();
    }
}

/// Slots claimed by [`Producer::write_chunk`], filled in order, then published at once.
///
/// Dropping a chunk without [`commit`](Self::commit) publishes nothing and drops the items written
/// into it.
pub struct WriteChunk<'a, T> {
    producer: &'a mut Producer<T>,
    len: usize,
    written: usize,
}

impl<T> WriteChunk<'_, T> {
    /// Slots claimed.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no slot could be claimed (the ring was full).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots still to fill.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.len - self.written
    }

    /// Writes `value` into the next claimed slot; gives it back when all are filled.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.written == self.len {
            return Err(value);
        }
        let pos = self.producer.tail.wrapping_add(self.written);
        let distance = self.producer.prefetch;
        if distance.is_on() {
            prefetch_write(self.producer.slots.at(pos.wrapping_add(distance.0)));
        }
        // SAFETY: `pos` lies in the claimed range [tail, tail + len) of free slots, which only this
        // producer may write, and each is written once.
        self.producer
            .slots
            .at(pos)
            .with_mut(|p| unsafe { (*p).write(value) });
        self.written += 1;
        Ok(())
    }

    /// Fills every remaining slot with `make(i)`, `i` counting from the chunk's first slot.
    #[inline]
    pub fn fill_with(&mut self, mut make: impl FnMut(usize) -> T) {
        if !self.producer.prefetch.is_on() {
            let p = &*self.producer;
            fill_runs(
                p.slots.mask(),
                p.tail,
                &mut self.written,
                self.len,
                &mut make,
                &mut |slot, value| p.write_free_slot(slot, value),
            );
            return;
        }
        while self.written < self.len {
            let i = self.written;
            // Cannot fail: a slot remains.
            let _ = self.push(make(i));
        }
    }

    /// Publishes the slots written so far in one index store; returns how many.
    #[inline]
    pub fn commit(mut self) -> usize {
        let written = std::mem::take(&mut self.written);
        let tail = self.producer.tail.wrapping_add(written);
        self.producer.publish(tail);
        written
    }
}

impl<T> Drop for WriteChunk<'_, T> {
    fn drop(&mut self) {
        for i in 0..self.written {
            let pos = self.producer.tail.wrapping_add(i);
            // SAFETY: slots [tail, tail + written) were initialised by `push` and never published,
            // so nobody else can see them; each is dropped once.
            self.producer
                .slots
                .at(pos)
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
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
    /// Spins owed before the next reload, set when this consumer caught itself chasing.
    slip: u32,
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

    /// This side's slow-path counters.
    pub fn stats(&self) -> EndpointStats {
        self.counters.stats()
    }

    /// Sets how far ahead the batch read path prefetches slots.
    pub fn set_prefetch_distance(&mut self, distance: PrefetchDistance) {
        self.prefetch = distance;
    }

    /// Items ready, re-reading the producer's tail only if the cached copy shows fewer than
    /// `wanted`.
    #[inline(always)]
    fn ready_items(&mut self, wanted: usize) -> usize {
        let ready = self.cached_tail.wrapping_sub(self.head);
        if ready >= wanted {
            return ready;
        }
        if self.slip != 0 {
            self.fall_back();
        }
        let tail = self.shared.tail.load(Acquire);
        let previous = self.cached_tail;
        let after_progress = self.counters.last_reload_progressed(previous);
        if !self.counters.observe(&mut self.cached_tail, tail) {
            return ready;
        }
        if after_progress && tail.wrapping_sub(previous) < chase_threshold::<T>() {
            self.slip = self.chase_backoff;
        }
        tail.wrapping_sub(self.head)
    }

    /// Spins off the debt set when this consumer caught itself chasing a streaming producer: a
    /// reload that found only a few new items (fewer than fill a cache line) right after another
    /// reload that found some, with no empty poll between. In that state both cores fight over
    /// the line the producer is writing, and the tail's line, on every item; falling back lets
    /// the producer get a line or more ahead. A lone item (empty polls, then one item) never
    /// counts, so request/response latency is untouched. Touches no shared memory.
    #[cold]
    fn fall_back(&mut self) {
        for _ in 0..self.slip {
            spin_loop();
        }
        self.slip = 0;
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

    /// Pops the oldest item, or `None` if the ring is empty.
    #[inline]
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

    /// Takes up to `max` ready items to read in place, released together by
    /// [`ReadChunk::release`]. The chunk may be shorter than `max` (even empty).
    #[inline]
    pub fn read_chunk(&mut self, max: usize) -> ReadChunk<'_, T> {
        let len = self.ready_items(max).min(max);
        ReadChunk {
            consumer: self,
            len,
            taken: 0,
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.shared.sides.consumer_leaves();
    }
}

/// Items taken by [`Consumer::read_chunk`]: read them in place or move them out, then release.
///
/// Dropping a chunk without [`release`](Self::release) releases only the items moved out with
/// [`pop`](Self::pop); the rest stay in the ring for the next read.
pub struct ReadChunk<'a, T> {
    consumer: &'a mut Consumer<T>,
    len: usize,
    /// Items moved out of the front of the chunk.
    taken: usize,
}

impl<T> ReadChunk<'_, T> {
    /// Items in the chunk, including those already moved out.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the chunk holds no item (the ring was empty).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Moves the next item out of the chunk.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.taken == self.len {
            return None;
        }
        let pos = self.consumer.head.wrapping_add(self.taken);
        let distance = self.consumer.prefetch;
        if distance.is_on() {
            prefetch_read(self.consumer.slots.at(pos.wrapping_add(distance.0)));
        }
        // SAFETY: `pos` is in [head, head + len), published items only this consumer reads; each
        // is moved out once (`taken` advances past it).
        let value = self
            .consumer
            .slots
            .at(pos)
            .with(|p| unsafe { (*p).assume_init_read() });
        self.taken += 1;
        Some(value)
    }

    /// The items not yet moved out, as up to two slices (the chunk may wrap around the end of the
    /// slot array).
    #[cfg(not(loom))]
    #[inline]
    pub fn as_slices(&self) -> (&[T], &[T]) {
        let c = &*self.consumer;
        // SAFETY: slots are `UnsafeCell<MaybeUninit<T>>`, all `repr(transparent)` over `T`; the
        // untaken items of the chunk are initialised, published and not written by anyone until
        // released, which needs `&mut self`.
        unsafe {
            wrapped_slices(
                c.slots.base().cast::<T>(),
                c.slots.mask(),
                c.head.wrapping_add(self.taken),
                self.len - self.taken,
            )
        }
    }

    /// Clones the items not yet moved out onto the end of `out`, in ring order: what
    /// [`as_slices`](Self::as_slices) shows, in one call (the engine's read path). Under loom it
    /// reads slot by slot over the same two ranges, so the models check this path too.
    #[inline]
    pub fn append_to(&self, out: &mut Vec<T>)
    where
        T: Clone,
    {
        #[cfg(not(loom))]
        {
            let (first, rest) = self.as_slices();
            out.extend_from_slice(first);
            out.extend_from_slice(rest);
        }
        #[cfg(loom)]
        {
            let c = &*self.consumer;
            let pos = c.head.wrapping_add(self.taken);
            for slots in wrapped_ranges(c.slots.mask(), pos, self.len - self.taken) {
                for slot in slots {
                    // SAFETY: as for `as_slices`: the chunk's untaken items are initialised,
                    // published, and not written until released, which needs `&mut self`.
                    out.push(
                        c.slots
                            .at(slot)
                            .with(|p| unsafe { (*p).assume_init_ref().clone() }),
                    );
                }
            }
        }
    }

    /// Releases the whole chunk in one index store, dropping items not moved out.
    #[inline]
    pub fn release(mut self) {
        if std::mem::needs_drop::<T>() {
            while self.taken < self.len {
                drop(self.pop());
            }
        } else {
            self.taken = self.len;
        }
    }
}

impl<T> Drop for ReadChunk<'_, T> {
    fn drop(&mut self) {
        if self.taken > 0 {
            let head = self.consumer.head.wrapping_add(self.taken);
            self.consumer.release(head);
        }
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stats_count_reloads_with_news_and_stall_episodes_once() {
        let (mut tx, mut rx) = channel::<u32>(2).unwrap();
        tx.try_push(1).unwrap();
        tx.try_push(2).unwrap();
        for _ in 0..5 {
            assert_eq!(tx.try_push(3), Err(3));
        }
        assert_eq!(
            tx.stats(),
            EndpointStats {
                index_reloads: 0,
                stalls: 1,
                chase_backoffs: 0,
            }
        );
        assert_eq!(rx.try_pop(), Some(1));
        tx.try_push(3).unwrap();
        assert_eq!(
            tx.stats(),
            EndpointStats {
                index_reloads: 1,
                stalls: 1,
                chase_backoffs: 0,
            }
        );
        assert_eq!(rx.try_pop(), Some(2));
        assert_eq!(rx.try_pop(), Some(3));
        assert_eq!(rx.try_pop(), None);
        assert_eq!(rx.try_pop(), None);
        // One reload saw 1 and 2, the next saw 3: two small reloads in a row, so the consumer
        // falls back once before its next reload, which is the one empty episode.
        assert_eq!(
            rx.stats(),
            EndpointStats {
                index_reloads: 2,
                stalls: 1,
                chase_backoffs: 1,
            }
        );
    }

    #[test]
    fn fill_with_across_the_wrap_and_through_a_panic_drops_each_item_once() {
        use std::sync::atomic::AtomicUsize as Count;
        struct Counted<'a>(u32, &'a Count);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.1.fetch_add(1, Relaxed);
            }
        }
        let drops = Count::new(0);
        let (mut tx, mut rx) = channel::<Counted>(8).unwrap();
        // Move the positions to 6 so the next chunk of 5 wraps: slots 6, 7, 0, 1, 2.
        for i in 0..6 {
            assert!(tx.try_push(Counted(i, &drops)).is_ok());
            assert_eq!(rx.try_pop().map(|c| c.0), Some(i));
        }
        let mut chunk = tx.write_chunk(5);
        chunk.fill_with(|i| Counted(100 + i as u32, &drops));
        assert_eq!(chunk.commit(), 5);
        let got: Vec<u32> = std::iter::from_fn(|| rx.try_pop().map(|c| c.0)).collect();
        assert_eq!(got, [100, 101, 102, 103, 104]);
        assert_eq!(drops.load(Relaxed), 11);

        // `make` panics at the fourth item of a wrapping chunk: the three written are dropped
        // with the chunk, once, and nothing is published.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut chunk = tx.write_chunk(5);
            chunk.fill_with(|i| {
                assert!(i < 3, "make fails at item {i}");
                Counted(200 + i as u32, &drops)
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(drops.load(Relaxed), 14);
        assert!(rx.try_pop().is_none());
        drop((tx, rx));
        assert_eq!(drops.load(Relaxed), 14);
    }

    #[test]
    fn lone_items_after_empty_polls_never_trigger_a_fall_back() {
        let (mut tx, mut rx) = channel::<u64>(64).unwrap();
        for i in 0..100 {
            tx.try_push(i).unwrap();
            assert_eq!(rx.try_pop(), Some(i));
            assert_eq!(rx.try_pop(), None);
        }
        assert_eq!(rx.stats().chase_backoffs, 0);
        rx.set_chase_backoff(0);
        for i in 0..10 {
            tx.try_push(i).unwrap();
            assert_eq!(rx.try_pop(), Some(i));
        }
        assert_eq!(rx.stats().chase_backoffs, 0, "turned off");
    }
}
