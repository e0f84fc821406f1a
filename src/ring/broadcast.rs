//! One producer, N consumers; every consumer sees every item, in order.
//!
//! Each consumer has its own cursor on its own [`CachePadded`] block and reads items by copy
//! (`T: Copy`), so consumers never write anything another consumer reads. The producer may only
//! overwrite a slot once the *slowest* consumer has passed it; it caches that minimum and re-reads
//! the cursors only when the cached value says the ring might be full, so in the steady state it
//! touches no consumer's cache line.
//!
//! A dropped consumer detaches: the producer stops waiting for it. When every consumer is gone the
//! producer [`is_abandoned`](Producer::is_abandoned).
//!
//! ```
//! let (mut tx, mut rxs) = ringtop::ring::broadcast::channel::<u32>(8, 2)?;
//! tx.try_push(5).unwrap();
//! assert_eq!(rxs[0].try_pop(), Some(5));
//! assert_eq!(rxs[1].try_pop(), Some(5));
//! # Ok::<(), ringtop::ring::RingError>(())
//! ```

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{Acquire, Release};

use super::blocking::{pop_with, push_with};
#[cfg(loom)]
use super::buffer::wrapped_ranges;
#[cfg(not(loom))]
use super::buffer::wrapped_slices;
use super::buffer::{Buffer, SlotView, check_capacity};
use super::claim::{Claim, Slot};
use super::pad::{CacheAligned, CachePadded};
#[cfg(not(loom))]
use super::prefetch::append_runs;
use super::prefetch::{PrefetchDistance, prefetch_read};
use super::sync::{Arc, AtomicBool, AtomicUsize, UnsafeCell};
use super::wait::Parker;
use super::{EndpointStats, EndpointTally, RingConfig, RingError, WaitStrategy, producer_room};

/// One consumer's published position.
struct Cursor {
    /// Next position this consumer reads; everything before it is released.
    head: AtomicUsize,
    /// False once the consumer is dropped: the producer stops waiting for it.
    attached: AtomicBool,
}

struct Shared<T> {
    tail: CachePadded<AtomicUsize>,
    cursors: Box<[CachePadded<Cursor>]>,
    producer_alive: CachePadded<AtomicBool>,
    producer_parker: Parker,
    consumer_parker: Parker,
    /// Owns the memory the endpoints' slot views point into.
    #[cfg_attr(
        loom,
        expect(
            dead_code,
            reason = "kept for ownership; accessed through the endpoints' views"
        )
    )]
    slots: Buffer<Slot<T>>,
}

/// The slowest attached consumer's head; `tail` when none is attached.
fn slowest_head<T>(shared: &Shared<T>, tail: usize) -> usize {
    shared
        .cursors
        .iter()
        .filter(|c| c.attached.load(Acquire))
        .map(|c| c.head.load(Acquire))
        // The slowest is the one furthest behind the tail.
        .max_by_key(|&h| tail.wrapping_sub(h))
        .unwrap_or(tail)
}

/// The most consumers one broadcast ring takes: the producer reads every consumer's cursor (a
/// cache line each) whenever it looks for free slots, so a ring with more would spend its time
/// there, and each consumer's handle and cursor are allocated up front.
pub const MAX_CONSUMERS: usize = 4096;

/// Creates a broadcast ring of `capacity` slots with `consumers` consumers, default config.
///
/// # Errors
/// `capacity` must be a power of two ≥ 2 and `consumers` 1 to [`MAX_CONSUMERS`].
pub fn channel<T: Copy + Send>(
    capacity: usize,
    consumers: usize,
) -> Result<(Producer<T>, Vec<Consumer<T>>), RingError> {
    channel_with(capacity, consumers, RingConfig::default())
}

/// Creates a broadcast ring with an explicit allocator and wait strategies.
///
/// # Errors
/// As [`channel`], plus [`RingError::AllocationFailed`].
pub fn channel_with<T: Copy + Send>(
    capacity: usize,
    consumers: usize,
    config: RingConfig,
) -> Result<(Producer<T>, Vec<Consumer<T>>), RingError> {
    if consumers == 0 {
        return Err(RingError::NoConsumers);
    }
    if consumers > MAX_CONSUMERS {
        return Err(RingError::TooManyConsumers {
            requested: consumers,
            max: MAX_CONSUMERS,
        });
    }
    let capacity = check_capacity::<Slot<T>>(capacity, 2)?;
    let slots = Buffer::new(capacity, config.alloc, |_| {
        UnsafeCell::new(MaybeUninit::uninit())
    })?;
    // SAFETY: every endpoint holds the `Arc` of the shared part that owns `slots`.
    let view = unsafe { SlotView::new(&slots) };
    let cursors = (0..consumers)
        .map(|_| {
            CachePadded::new(Cursor {
                head: AtomicUsize::new(0),
                attached: AtomicBool::new(true),
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        tail: CachePadded::new(AtomicUsize::new(0)),
        cursors,
        producer_alive: CachePadded::new(AtomicBool::new(true)),
        producer_parker: Parker::new(),
        consumer_parker: Parker::new(),
        slots,
    });
    let rxs = (0..consumers)
        .map(|index| Consumer {
            _align: CacheAligned,
            shared: shared.clone(),
            slots: view,
            index,
            head: 0,
            cached_tail: 0,
            wait: config.consumer_wait,
            wake_producer: config.producer_wait.may_park(),
            prefetch: PrefetchDistance::OFF,
            counters: EndpointTally::default(),
        })
        .collect();
    let tx = Producer {
        _align: CacheAligned,
        shared,
        slots: view,
        tail: 0,
        cached_min_head: 0,
        wait: config.producer_wait,
        wake_consumers: config.consumer_wait.may_park(),
        prefetch: PrefetchDistance::OFF,
        counters: EndpointTally::default(),
    };
    Ok((tx, rxs))
}

/// The writing end of a broadcast ring.
pub struct Producer<T> {
    /// Alone on its cache-line block: this side's private state never shares a line.
    _align: CacheAligned,
    shared: Arc<Shared<T>>,
    slots: SlotView<Slot<T>>,
    tail: usize,
    /// A lower bound of every attached consumer's head.
    cached_min_head: usize,
    wait: WaitStrategy,
    wake_consumers: bool,
    prefetch: PrefetchDistance,
    counters: EndpointTally,
}

// SAFETY: the producer is the only writer of free slots and of `tail`; `T: Send` items are read by
// copy on the consumer threads.
unsafe impl<T: Copy + Send> Send for Producer<T> {}

impl<T: Copy> Producer<T> {
    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Consumers the ring was built with (attached or not).
    pub fn consumers(&self) -> usize {
        self.shared.cursors.len()
    }

    /// Items the slowest attached consumer has yet to read (a snapshot).
    pub fn len(&self) -> usize {
        self.tail.wrapping_sub(self.min_head())
    }

    /// Whether every attached consumer has read everything (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every consumer has been dropped.
    pub fn is_abandoned(&self) -> bool {
        self.shared
            .cursors
            .iter()
            .all(|c| !c.attached.load(Acquire))
    }

    /// This side's slow-path counters (a reload is one pass over all cursors).
    pub fn stats(&self) -> EndpointStats {
        self.counters.stats()
    }

    /// Sets how far ahead the batch write path prefetches slots.
    pub fn set_prefetch_distance(&mut self, distance: PrefetchDistance) {
        self.prefetch = distance;
    }

    fn min_head(&self) -> usize {
        slowest_head(&self.shared, self.tail)
    }

    #[inline(always)]
    fn free_slots(&mut self, wanted: usize) -> usize {
        let (shared, tail) = (&self.shared, self.tail);
        producer_room(
            self.slots.capacity(),
            tail,
            &mut self.cached_min_head,
            &mut self.counters,
            wanted,
            || slowest_head(shared, tail),
        )
    }

    #[inline(always)]
    fn publish(&mut self, tail: usize) {
        self.tail = tail;
        self.shared.tail.store(tail, Release);
        if self.wake_consumers {
            self.shared.consumer_parker.notify();
        }
    }

    /// Pushes `value` if every attached consumer has left room; gives it back otherwise.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        if self.free_slots(1) == 0 {
            return Err(value);
        }
        // SAFETY: every attached consumer's head is past `tail - capacity` (Acquire), so no one
        // reads this slot; only the producer writes.
        self.slots
            .at(self.tail)
            .with_mut(|p| unsafe { (*p).write(value) });
        self.publish(self.tail.wrapping_add(1));
        Ok(())
    }

    /// Pushes `value`, waiting with this side's strategy while the slowest consumer is a full
    /// ring behind.
    ///
    /// # Errors
    /// Gives `value` back if every consumer is gone.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        push_with(self, value, Self::try_push, Self::is_abandoned, |p| {
            let (tail, capacity) = (p.tail, p.capacity());
            p.wait.wait_until(&p.shared.producer_parker, || {
                p.is_abandoned() || tail.wrapping_sub(p.min_head()) < capacity
            });
        })
    }

    /// Claims up to `max` free slots to fill in place, published together by
    /// [`WriteChunk::commit`]. As the SPSC ring's, it asks for the lines of as many free slots
    /// again for writing, where it knows of them.
    #[inline]
    pub fn write_chunk(&mut self, max: usize) -> WriteChunk<'_, T> {
        let free = self.free_slots(max);
        let len = free.min(max);
        // SAFETY: `free_slots` found `len` slots past the tail that every consumer has released,
        // and the chunk holds this producer, the only writer of free slots, until it is gone.
        let claim = unsafe { Claim::new(self.slots, self.tail, self.prefetch, len) };
        claim.ask_ahead(free);
        WriteChunk {
            producer: self,
            claim,
        }
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.counters.publish_final(self.tail);
        self.shared.producer_alive.store(false, Release);
        self.shared.consumer_parker.notify();
    }
}

/// Slots claimed by [`Producer::write_chunk`]; unpublished if dropped without `commit`.
pub struct WriteChunk<'a, T: Copy> {
    producer: &'a mut Producer<T>,
    claim: Claim<T>,
}

impl<T: Copy> WriteChunk<'_, T> {
    /// Slots claimed.
    pub fn len(&self) -> usize {
        self.claim.len()
    }

    /// Whether no slot could be claimed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes `value` into the next claimed slot; gives it back when all are filled.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        self.claim.push(value)
    }

    /// Fills every remaining slot with `make(i)`.
    #[inline]
    pub fn fill_with(&mut self, make: impl FnMut(usize) -> T) {
        self.claim.fill_with(make);
    }

    /// Publishes the slots written so far in one index store (none if there are none); returns
    /// how many.
    pub fn commit(mut self) -> usize {
        let written = self.claim.written();
        if let Some(tail) = self.claim.hand_over() {
            self.producer.publish(tail);
        }
        written
    }
}

/// One reading end of a broadcast ring.
pub struct Consumer<T> {
    /// Alone on its cache-line block: this side's private state never shares a line.
    _align: CacheAligned,
    shared: Arc<Shared<T>>,
    slots: SlotView<Slot<T>>,
    index: usize,
    head: usize,
    cached_tail: usize,
    wait: WaitStrategy,
    wake_producer: bool,
    prefetch: PrefetchDistance,
    counters: EndpointTally,
}

// SAFETY: a consumer only reads published slots by copy and writes its own cursor.
unsafe impl<T: Copy + Send> Send for Consumer<T> {}

impl<T: Copy> Consumer<T> {
    /// This consumer's index, 0-based, in the order `channel` returned them.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Items this consumer has yet to read (a snapshot).
    pub fn len(&self) -> usize {
        self.shared.tail.load(Acquire).wrapping_sub(self.head)
    }

    /// Whether this consumer has read everything published so far.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the producer has been dropped (items it published remain readable).
    pub fn is_abandoned(&self) -> bool {
        !self.shared.producer_alive.load(Acquire)
    }

    /// This side's slow-path counters.
    pub fn stats(&self) -> EndpointStats {
        self.counters.stats()
    }

    /// Sets how far ahead the batch read path prefetches slots: `append_to` copies a few lines at
    /// a time, each after read hints for as many lines `distance` slots on, `ReadChunk::pop`
    /// hints once an item; `as_slices` leaves the reading, and any hints, to the caller.
    pub fn set_prefetch_distance(&mut self, distance: PrefetchDistance) {
        self.prefetch = distance;
    }

    #[inline(always)]
    fn ready_items(&mut self, wanted: usize) -> usize {
        let ready = self.cached_tail.wrapping_sub(self.head);
        if ready >= wanted {
            return ready;
        }
        let tail = self.shared.tail.load(Acquire);
        if !self.counters.observe(&mut self.cached_tail, tail) {
            return ready;
        }
        tail.wrapping_sub(self.head)
    }

    #[inline(always)]
    fn release(&mut self, head: usize) {
        self.head = head;
        self.shared.cursors[self.index].head.store(head, Release);
        if self.wake_producer {
            self.shared.producer_parker.notify();
        }
    }

    #[inline(always)]
    fn read(&self, pos: usize) -> T {
        // SAFETY: `pos` is published (tail read with Acquire) and not yet released by this
        // consumer, so the producer cannot overwrite it; `T: Copy`, so reading leaves it intact
        // for the other consumers.
        self.slots
            .at(pos)
            .with(|p| unsafe { (*p).assume_init_read() })
    }

    /// Copies out the next item, or `None` if this consumer has read everything.
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        if self.ready_items(1) == 0 {
            return None;
        }
        let value = self.read(self.head);
        self.release(self.head.wrapping_add(1));
        Some(value)
    }

    /// Waits for the next item; `None` once the producer is gone and everything is read.
    pub fn pop(&mut self) -> Option<T> {
        pop_with(self, Self::try_pop, Self::is_abandoned, |c| {
            let (shared, head) = (&*c.shared, c.head);
            c.wait.wait_until(&shared.consumer_parker, || {
                shared.tail.load(Acquire) != head || !shared.producer_alive.load(Acquire)
            });
        })
    }

    /// Takes up to `max` ready items to read in place, released together. Where more items are
    /// known to be published, the lines of as many again are hinted to the cache, as for
    /// [`spsc::Consumer::read_chunk`](super::spsc::Consumer::read_chunk).
    #[inline]
    pub fn read_chunk(&mut self, max: usize) -> ReadChunk<'_, T> {
        let ready = self.ready_items(max);
        let len = ready.min(max);
        #[cfg(not(loom))]
        super::prefetch::hint_backlog(self.slots, self.head.wrapping_add(len), ready - len, len);
        ReadChunk {
            consumer: self,
            len,
            read: 0,
        }
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.counters.publish_final(self.head);
        self.shared.cursors[self.index]
            .attached
            .store(false, Release);
        self.shared.producer_parker.notify();
    }
}

/// Items taken by [`Consumer::read_chunk`]. Dropping it releases the items read with
/// [`pop`](Self::pop); [`release`](Self::release) releases all of them.
pub struct ReadChunk<'a, T: Copy> {
    consumer: &'a mut Consumer<T>,
    len: usize,
    read: usize,
}

impl<T: Copy> ReadChunk<'_, T> {
    /// Items in the chunk.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the chunk is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies out the next item of the chunk.
    ///
    /// This consumer's head moves past the item at once (the producer learns of it when the
    /// chunk is released), so a chunk forgotten after a `pop` never hands the item out again.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.read == self.len {
            return None;
        }
        let pos = self.consumer.head;
        let distance = self.consumer.prefetch;
        if distance.is_on() {
            prefetch_read(self.consumer.slots.at(pos.wrapping_add(distance.0)));
        }
        let value = self.consumer.read(pos);
        self.consumer.head = pos.wrapping_add(1);
        self.read += 1;
        Some(value)
    }

    /// The items not yet popped, as up to two slices. Every consumer may look at the same items at
    /// once, so the slices need `T: Sync`:
    ///
    /// ```compile_fail
    /// use std::{cell::Cell, marker::PhantomData};
    /// // Copy and Send, but not Sync.
    /// let (_tx, mut rxs) = ringtop::ring::broadcast::channel::<PhantomData<Cell<u8>>>(4, 1)?;
    /// let chunk = rxs[0].read_chunk(1);
    /// let _ = chunk.as_slices();
    /// # Ok::<(), ringtop::ring::RingError>(())
    /// ```
    ///
    /// (The same lines without `as_slices` compile: `read_chunk` and `pop` copy items out.)
    ///
    /// ```
    /// use std::{cell::Cell, marker::PhantomData};
    /// let (_tx, mut rxs) = ringtop::ring::broadcast::channel::<PhantomData<Cell<u8>>>(4, 1)?;
    /// let mut chunk = rxs[0].read_chunk(1);
    /// assert!(chunk.pop().is_none());
    /// # Ok::<(), ringtop::ring::RingError>(())
    /// ```
    #[cfg(not(loom))]
    pub fn as_slices(&self) -> (&[T], &[T])
    where
        T: Sync,
    {
        let c = &*self.consumer;
        // SAFETY: slots are `repr(transparent)` over `T`; the unread items of the chunk are
        // published and not overwritten until this consumer releases them, which needs `&mut self`.
        unsafe {
            wrapped_slices(
                c.slots.base().cast::<T>(),
                c.slots.mask(),
                c.head,
                self.len - self.read,
            )
        }
    }

    /// Copies the items not yet popped onto the end of `out`, in ring order: what
    /// [`as_slices`](Self::as_slices) shows, in one call (the engine's read path). Under loom it
    /// reads slot by slot over the same two ranges, so the models check this path too.
    #[inline]
    pub fn append_to(&self, out: &mut Vec<T>)
    where
        T: Sync,
    {
        #[cfg(not(loom))]
        {
            let (first, rest) = self.as_slices();
            let c = &*self.consumer;
            append_runs(out, c.slots, c.head, c.prefetch, [first, rest]);
        }
        #[cfg(loom)]
        {
            let c = &*self.consumer;
            for slots in wrapped_ranges(c.slots.mask(), c.head, self.len - self.read) {
                out.extend(slots.map(|slot| c.read(slot)));
            }
        }
    }

    /// Releases the whole chunk in one cursor store.
    pub fn release(mut self) {
        let rest = self.len - self.read;
        self.consumer.head = self.consumer.head.wrapping_add(rest);
        self.read = self.len;
    }
}

impl<T: Copy> Drop for ReadChunk<'_, T> {
    fn drop(&mut self) {
        // The head already stands past every item read; tell the producer.
        if self.read > 0 {
            let head = self.consumer.head;
            self.consumer.release(head);
        }
    }
}

impl<T> std::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("broadcast::Producer")
            .field("capacity", &(self.slots.capacity()))
            .field("tail", &self.tail)
            .finish()
    }
}

impl<T> std::fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("broadcast::Consumer")
            .field("index", &self.index)
            .field("head", &self.head)
            .finish()
    }
}

#[cfg(not(loom))]
impl<T: Send + 'static> super::watch::SharedPositions for Shared<T> {
    const KIND: &'static str = "broadcast";
    fn capacity(&self) -> usize {
        self.slots.len()
    }
    fn item_bytes(&self) -> usize {
        std::mem::size_of::<T>()
    }
    fn consumers(&self) -> usize {
        self.cursors.len()
    }
    fn positions(&self, heads: &mut [u64]) -> u64 {
        // Heads first: the tail read after them is at least as new, so no lag reads negative.
        for (head, cursor) in heads.iter_mut().zip(self.cursors.iter()) {
            *head = cursor.head.load(Acquire) as u64;
        }
        self.tail.load(Acquire) as u64
    }
    fn memory(&self) -> super::buffer::RingMemory {
        self.slots.memory()
    }
}

super::watch::watch_endpoints!(Copy + Send + 'static);
