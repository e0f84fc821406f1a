//! One producer, one consumer, tuned for the latency of items that arrive one at a time: a
//! request and its reply, a sparse market-data feed, a control message.
//!
//! Design (after FastForward and B-Queue): every slot carries a sequence stamp next to its item.
//! The producer writes the item, then stamps the slot with its position + 1 (`Release`); the
//! consumer learns that the slot at `head` is full from that stamp (`Acquire`) and never reads the
//! producer's index. A hand-off therefore moves one cache line from the producer's core to the
//! consumer's (the slot's), where the index design of [`spsc`](super::spsc) moves two (the tail's
//! line, then the slot's). The producer still learns which slots are free from the consumer's
//! `head`, through a private cached copy re-read only when the ring looks full, as in `spsc`.
//!
//! A stamp from the previous lap is `position + 1 - capacity`, so a slot is never mistaken for
//! full; positions are unbounded (wrapping) counters and the capacity is a power of two.
//!
//! When to pick which: `relay` when a consumer waits for items that come one at a time and every
//! nanosecond of hand-off counts; [`spsc`](super::spsc) for streams, where its batch calls and
//! its index-only polling move more items per cache line (a `relay` consumer right behind a busy
//! producer reads each slot line while the producer is still filling it). Each slot costs one
//! `usize` more than in `spsc`. Item and stamp always share a cache line when the slot's size
//! divides 64 (on 64-bit targets: items of 8, 24 or 56 bytes); other slots sometimes straddle
//! two lines, and a hand-off then moves both.
//!
//! ```
//! let (mut tx, mut rx) = ringtop::ring::relay::channel::<u64>(64)?;
//! tx.try_push(7).unwrap();
//! assert_eq!(rx.try_pop(), Some(7));
//! # Ok::<(), ringtop::ring::RingError>(())
//! ```

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::blocking::{pop_with, push_with};
use super::buffer::{Buffer, SlotView, check_capacity, for_each_position};
use super::pad::{CacheAligned, CachePadded};
use super::sides::Sides;
use super::sync::{Arc, AtomicUsize, UnsafeCell};
use super::{EndpointStats, EndpointTally, RingConfig, RingError, WaitStrategy, producer_room};

/// An item and the stamp that says which position it belongs to.
#[repr(C)]
struct Slot<T> {
    /// `position + 1` once the item for `position` is written; written only by the producer.
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// State both endpoints share.
struct Shared<T> {
    /// Next position the consumer will read. Written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// Next position the producer will write, published for `len` and for dropping leftovers; no
    /// item is read on its strength (the stamps say what is full). Written only by the producer.
    tail: CachePadded<AtomicUsize>,
    /// Liveness of each side and the parkers: rarely written.
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
            slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        });
    }
}

/// Creates a relay ring of `capacity` slots with the default [`RingConfig`].
///
/// # Errors
/// `capacity` must be a power of two and at least 2: anything else is refused with the reason
/// (and, for a non-power of two, its two nearest valid neighbours), never rounded silently.
pub fn channel<T: Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), RingError> {
    channel_with(capacity, RingConfig::default())
}

/// Creates a relay ring with an explicit allocator and wait strategies.
///
/// # Errors
/// As [`channel`], plus [`RingError::AllocationFailed`] when the allocator has no memory.
pub fn channel_with<T: Send>(
    capacity: usize,
    config: RingConfig,
) -> Result<(Producer<T>, Consumer<T>), RingError> {
    let capacity = check_capacity::<Slot<T>>(capacity, 2)?;
    // Stamp 0 matches no position's `position + 1`: every slot starts empty.
    let slots = Buffer::new(capacity, config.alloc, |_| Slot {
        stamp: AtomicUsize::new(0),
        value: UnsafeCell::new(MaybeUninit::uninit()),
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
        counters: EndpointTally::default(),
    };
    let consumer = Consumer {
        _align: CacheAligned,
        shared,
        slots: view,
        head: 0,
        wait: config.consumer_wait,
        wake_producer: config.producer_wait.may_park(),
        counters: EndpointTally::default(),
    };
    Ok((producer, consumer))
}

/// The writing end of a relay ring. Send it to the producer thread.
pub struct Producer<T> {
    /// Alone on its cache-line block: this side's private state never shares a line.
    _align: CacheAligned,
    shared: Arc<Shared<T>>,
    slots: SlotView<Slot<T>>,
    /// Authoritative tail (only this side writes it).
    tail: usize,
    /// Last head seen; the ring has at least `capacity - (tail - cached_head)` free slots.
    cached_head: usize,
    wait: WaitStrategy,
    /// Whether the consumer may be parked and so needs a wake-up after each push.
    wake_consumer: bool,
    counters: EndpointTally,
}

// SAFETY: the producer is the only writer of free slots, of the stamps and of `tail`; moving it to
// another thread moves that role with it. Items of type `T: Send` cross to the consumer thread.
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

    /// This side's slow-path counters: `index_reloads` and `stalls` as for an `spsc` producer.
    pub fn stats(&self) -> EndpointStats {
        self.counters.stats()
    }

    /// Pushes `value` if there is room; gives it back if the ring is full.
    #[inline]
    pub fn try_push(&mut self, value: T) -> Result<(), T> {
        let shared = &self.shared;
        let free = producer_room(
            self.slots.capacity(),
            self.tail,
            &mut self.cached_head,
            &mut self.counters,
            1,
            || shared.head.load(Acquire),
        );
        if free == 0 {
            return Err(value);
        }
        let pos = self.tail;
        let next = pos.wrapping_add(1);
        let slot = self.slots.at(pos);
        // SAFETY: the slot at `tail` is free (the consumer has released it, as the head we read
        // with Acquire shows) and only this producer writes free slots.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // The tail goes out before the stamp, so a consumer that has seen the stamp never reads
        // a tail behind its own head in `len`.
        self.shared.tail.store(next, Relaxed);
        slot.stamp.store(next, Release);
        self.tail = next;
        if self.wake_consumer {
            self.shared.sides.consumer_parker.notify();
        }
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
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        self.counters.publish_final(self.tail);
        self.shared.sides.producer_leaves();
    }
}

/// The reading end of a relay ring. Send it to the consumer thread.
pub struct Consumer<T> {
    /// Alone on its cache-line block: this side's private state never shares a line.
    _align: CacheAligned,
    shared: Arc<Shared<T>>,
    slots: SlotView<Slot<T>>,
    /// Authoritative head (only this side writes it).
    head: usize,
    wait: WaitStrategy,
    wake_producer: bool,
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

    /// Whether no item is ready now: the slot at the head is not stamped yet.
    pub fn is_empty(&self) -> bool {
        !self.ready(self.head)
    }

    /// Whether the producer has been dropped. Items it pushed before that are still readable:
    /// check `is_abandoned() && is_empty()` (in that order) to know the stream has ended.
    pub fn is_abandoned(&self) -> bool {
        !self.shared.sides.producer_alive()
    }

    /// This side's slow-path counters. A relay consumer never reads the producer's index, so
    /// `index_reloads` and `chase_backoffs` stay 0; `stalls` counts episodes of an empty ring.
    pub fn stats(&self) -> EndpointStats {
        self.counters.stats()
    }

    /// Whether the item for `pos` has been stamped; its write is visible once this says so.
    #[inline(always)]
    fn ready(&self, pos: usize) -> bool {
        self.slots.at(pos).stamp.load(Acquire) == pos.wrapping_add(1)
    }

    /// Whether an item is ready, as [`try_pop`](Self::try_pop) would find it, without taking it:
    /// finding none is a stall, counted as `try_pop` counts it (once per episode), where
    /// [`is_empty`](Self::is_empty) counts nothing. A consumer that waits before it pops polls
    /// with this once, then looks with `is_empty()`: its wait is counted before the item comes.
    #[inline]
    pub fn poll_ready(&mut self) -> bool {
        let ready = self.ready(self.head);
        if !ready {
            self.counters.stuck_at(self.head);
        }
        ready
    }

    /// Pops the oldest item, or `None` if the ring is empty.
    #[inline]
    pub fn try_pop(&mut self) -> Option<T> {
        if !self.poll_ready() {
            return None;
        }
        let pos = self.head;
        // SAFETY: the slot's stamp (read with Acquire) says the producer has written the item for
        // `pos`; this consumer is its only reader and moves it out once (`head` moves past it).
        let value = self
            .slots
            .at(pos)
            .value
            .with(|p| unsafe { (*p).assume_init_read() });
        let next = pos.wrapping_add(1);
        self.head = next;
        self.shared.head.store(next, Release);
        if self.wake_producer {
            self.shared.sides.producer_parker.notify();
        }
        Some(value)
    }

    /// Pops the oldest item, waiting with this side's [`WaitStrategy`] while the ring is empty.
    /// Returns `None` only once the producer is gone and every item it pushed has been read.
    pub fn pop(&mut self) -> Option<T> {
        pop_with(self, Self::try_pop, Self::is_abandoned, |c| {
            let (shared, head) = (&*c.shared, c.head);
            c.wait.wait_until(&shared.sides.consumer_parker, || {
                c.ready(head) || !shared.sides.producer_alive()
            });
        })
    }
}

impl<T> Drop for Consumer<T> {
    fn drop(&mut self) {
        self.counters.publish_final(self.head);
        self.shared.sides.consumer_leaves();
    }
}

impl<T> std::fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("relay::Producer")
            .field("capacity", &self.capacity())
            .field("tail", &self.tail)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T> std::fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("relay::Consumer")
            .field("capacity", &self.capacity())
            .field("head", &self.head)
            .field("stats", &self.stats())
            .finish()
    }
}

super::watch::one_consumer_positions!("relay");
super::watch::watch_endpoints!(Send + 'static);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_full_ring_refuses_then_takes_again_after_a_pop() {
        let (mut tx, mut rx) = channel::<u32>(2).unwrap();
        assert!(rx.is_empty());
        tx.try_push(1).unwrap();
        tx.try_push(2).unwrap();
        assert_eq!(tx.try_push(3), Err(3));
        assert_eq!((tx.len(), rx.len()), (2, 2));
        assert_eq!(rx.try_pop(), Some(1));
        tx.try_push(3).unwrap();
        assert_eq!(rx.try_pop(), Some(2));
        assert_eq!(rx.try_pop(), Some(3));
        assert_eq!(rx.try_pop(), None);
        assert!(rx.is_empty() && tx.is_empty());
    }

    #[test]
    fn stamps_of_the_previous_lap_never_read_as_full() {
        // Many laps of a 4-slot ring, one item at a time and in bursts that fill it: every pop
        // after the ring empties must find nothing, whatever the slot last held.
        let (mut tx, mut rx) = channel::<u64>(4).unwrap();
        let mut next = 0u64;
        let mut expected = 0u64;
        for burst in [1usize, 4, 3, 4, 2, 1, 4].iter().cycle().take(70) {
            for _ in 0..*burst {
                tx.try_push(next).unwrap();
                next += 1;
            }
            while let Some(v) = rx.try_pop() {
                assert_eq!(v, expected);
                expected += 1;
            }
            assert_eq!(rx.try_pop(), None);
        }
        assert_eq!(expected, next);
    }

    #[test]
    fn stats_count_producer_reloads_and_consumer_stall_episodes() {
        let (mut tx, mut rx) = channel::<u32>(2).unwrap();
        assert_eq!(rx.try_pop(), None);
        assert_eq!(rx.try_pop(), None);
        tx.try_push(1).unwrap();
        tx.try_push(2).unwrap();
        assert_eq!(tx.try_push(3), Err(3));
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
        assert_eq!(
            rx.stats(),
            EndpointStats {
                index_reloads: 0,
                stalls: 2,
                chase_backoffs: 0,
            }
        );
    }

    #[test]
    fn a_poll_counts_a_stall_once_and_takes_nothing() {
        let (mut tx, mut rx) = channel::<u32>(4).unwrap();
        assert!(!rx.poll_ready());
        assert!(!rx.poll_ready());
        assert!(rx.is_empty());
        assert_eq!(rx.stats().stalls, 1);
        tx.try_push(7).unwrap();
        assert!(rx.poll_ready());
        assert!(rx.poll_ready());
        assert_eq!(rx.try_pop(), Some(7));
        assert_eq!(rx.try_pop(), None);
        assert_eq!(rx.stats().stalls, 2);
    }

    proptest::proptest! {
        /// Any sequence of pushes and pops on one thread behaves as a bounded FIFO queue.
        #[test]
        fn behaves_as_a_bounded_fifo(
            log2_capacity in 1u32..5,
            ops in proptest::collection::vec(proptest::bool::weighted(0.55), 0..400),
        ) {
            let capacity = 1usize << log2_capacity;
            let (mut tx, mut rx) = channel::<u64>(capacity).unwrap();
            let mut model = std::collections::VecDeque::new();
            let mut next = 0u64;
            for push in ops {
                if push {
                    let accepted = tx.try_push(next).is_ok();
                    proptest::prop_assert_eq!(accepted, model.len() < capacity);
                    if accepted {
                        model.push_back(next);
                    }
                    next += 1;
                } else {
                    proptest::prop_assert_eq!(rx.try_pop(), model.pop_front());
                }
                proptest::prop_assert_eq!(rx.len(), model.len());
                proptest::prop_assert_eq!(rx.is_empty(), model.is_empty());
            }
        }
    }

    #[test]
    fn a_non_power_of_two_is_refused_with_its_neighbours() {
        assert_eq!(
            channel::<u8>(6).unwrap_err(),
            RingError::CapacityNotPowerOfTwo {
                requested: 6,
                below: 4,
                above: 8
            }
        );
        assert!(matches!(
            channel::<u8>(1).unwrap_err(),
            RingError::CapacityTooSmall { .. }
        ));
    }
}
