//! Many producers, many consumers; each item is taken by exactly one consumer.
//!
//! Dmitry Vyukov's bounded queue: every slot carries a sequence number that says whose turn it is.
//! For position `p`, the slot is free for the producer of `p` when `seq == p`, and holds `p`'s item
//! when `seq == p + 1`; the consumer of `p` hands it to the producer of `p + capacity` by storing
//! `p + capacity`. Producers (consumers) race for positions with a CAS on `tail` (`head`), so
//! neither side ever waits for a lock, and a slow thread only delays the slots it has claimed.
//!
//! Both ends are `Clone`. The batch calls claim several consecutive positions with one CAS.
//!
//! ```
//! let (tx, rx) = ringtop::ring::mpmc::channel::<String>(4)?;
//! let tx2 = tx.clone();
//! tx2.try_push("hello".into()).unwrap();
//! assert_eq!(rx.try_pop().as_deref(), Some("hello"));
//! # Ok::<(), ringtop::ring::RingError>(())
//! ```

use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use super::blocking::{pop_with, push_with};
use super::buffer::{Buffer, check_capacity, for_each_position};
use super::pad::CachePadded;
use super::sync::{Arc, AtomicUsize, UnsafeCell, spin_loop};
use super::wait::Parker;
use super::{RingConfig, RingError, WaitStrategy};

struct Slot<T> {
    seq: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

struct Shared<T> {
    /// Next position a producer will claim.
    tail: CachePadded<AtomicUsize>,
    /// Next position a consumer will claim.
    head: CachePadded<AtomicUsize>,
    senders: CachePadded<AtomicUsize>,
    receivers: AtomicUsize,
    producer_parker: Parker,
    consumer_parker: Parker,
    producer_wait: WaitStrategy,
    consumer_wait: WaitStrategy,
    slots: Buffer<Slot<T>>,
    mask: usize,
    /// A monitor's cells for the ring's two sides ([`Sender::publish_to`]): the final positions
    /// go there when the last endpoint goes.
    #[cfg(not(loom))]
    watched: std::sync::OnceLock<[super::watch::StatsCell; 2]>,
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // No endpoint remains, so no operation is in flight: every position in [head, tail) holds
        // an item (its seq is pos + 1). Drop each once.
        let (head, tail) = (self.head.load(Relaxed), self.tail.load(Relaxed));
        #[cfg(not(loom))]
        if let Some([producer, consumer]) = self.watched.get() {
            producer.store_final(tail as u64);
            consumer.store_final(head as u64);
        }
        for_each_position(&self.slots, head, tail, |pos, slot| {
            if slot.seq.load(Relaxed) == pos.wrapping_add(1) {
                // SAFETY: seq == pos + 1 means the item of `pos` was written and never taken.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        });
    }
}

impl<T> Shared<T> {
    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.slots[pos & self.mask]
    }

    fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Counts free slots from `pos` on (up to `max`), for a claim starting at `pos`. Also says
    /// whether the first slot shows the ring full (as opposed to `pos` being stale).
    fn free_run(&self, pos: usize, max: usize) -> (usize, bool) {
        let mut n = 0;
        while n < max {
            let p = pos.wrapping_add(n);
            let seq = self.slot(p).seq.load(Acquire);
            if seq != p {
                let full = n == 0 && (seq.wrapping_sub(p) as isize) < 0;
                return (n, full);
            }
            n += 1;
        }
        (n, false)
    }

    /// Counts filled slots from `pos` on (up to `max`); also whether the first shows empty.
    fn ready_run(&self, pos: usize, max: usize) -> (usize, bool) {
        let mut n = 0;
        while n < max {
            let p = pos.wrapping_add(n);
            let seq = self.slot(p).seq.load(Acquire);
            if seq != p.wrapping_add(1) {
                let empty = n == 0 && (seq.wrapping_sub(p.wrapping_add(1)) as isize) < 0;
                return (n, empty);
            }
            n += 1;
        }
        (n, false)
    }

    /// Claims up to `max` consecutive free positions; returns (first, count), count 0 when full.
    fn claim_push(&self, max: usize) -> (usize, usize) {
        let mut pos = self.tail.load(Relaxed);
        loop {
            let (n, full) = self.free_run(pos, max);
            if n == 0 {
                if full {
                    return (pos, 0);
                }
                // Another producer took `pos` since we read `tail`.
                spin_loop();
                pos = self.tail.load(Relaxed);
                continue;
            }
            match self
                .tail
                .compare_exchange_weak(pos, pos.wrapping_add(n), Relaxed, Relaxed)
            {
                Ok(_) => return (pos, n),
                Err(actual) => pos = actual,
            }
        }
    }

    /// Claims up to `max` consecutive filled positions; returns (first, count), count 0 when
    /// empty.
    fn claim_pop(&self, max: usize) -> (usize, usize) {
        let mut pos = self.head.load(Relaxed);
        loop {
            let (n, empty) = self.ready_run(pos, max);
            if n == 0 {
                if empty {
                    return (pos, 0);
                }
                spin_loop();
                pos = self.head.load(Relaxed);
                continue;
            }
            match self
                .head
                .compare_exchange_weak(pos, pos.wrapping_add(n), Relaxed, Relaxed)
            {
                Ok(_) => return (pos, n),
                Err(actual) => pos = actual,
            }
        }
    }

    /// Writes `value` at claimed position `pos` and hands the slot to its consumer.
    fn fill(&self, pos: usize, value: T) {
        let slot = self.slot(pos);
        // SAFETY: this thread won the CAS for `pos` after seeing seq == pos (Acquire: the previous
        // consumer is done with the slot), so it is the slot's only user until it stores pos + 1.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        slot.seq.store(pos.wrapping_add(1), Release);
    }

    /// Moves the item out of claimed position `pos` and hands the slot to the next lap's producer.
    fn take(&self, pos: usize) -> T {
        let slot = self.slot(pos);
        // SAFETY: this thread won the CAS for `pos` after seeing seq == pos + 1 (Acquire: the item
        // is written), so it is the slot's only user until it stores pos + capacity.
        let value = slot.value.with(|p| unsafe { (*p).assume_init_read() });
        slot.seq.store(pos.wrapping_add(self.capacity()), Release);
        value
    }

    fn after_push(&self) {
        if self.consumer_wait.may_park() {
            self.consumer_parker.notify();
        }
    }

    fn after_pop(&self) {
        if self.producer_wait.may_park() {
            self.producer_parker.notify();
        }
    }
}

/// Creates an MPMC ring of `capacity` slots with the default config.
///
/// # Errors
/// `capacity` must be a power of two ≥ 2.
pub fn channel<T: Send>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), RingError> {
    channel_with(capacity, RingConfig::default())
}

/// Creates an MPMC ring with an explicit allocator and wait strategies.
///
/// # Errors
/// As [`channel`], plus [`RingError::AllocationFailed`].
pub fn channel_with<T: Send>(
    capacity: usize,
    config: RingConfig,
) -> Result<(Sender<T>, Receiver<T>), RingError> {
    let capacity = check_capacity::<Slot<T>>(capacity, 2)?;
    let slots = Buffer::new(capacity, config.alloc, |i| Slot {
        seq: AtomicUsize::new(i),
        value: UnsafeCell::new(MaybeUninit::uninit()),
    })?;
    let shared = Arc::new(Shared {
        tail: CachePadded::new(AtomicUsize::new(0)),
        head: CachePadded::new(AtomicUsize::new(0)),
        senders: CachePadded::new(AtomicUsize::new(1)),
        receivers: AtomicUsize::new(1),
        producer_parker: Parker::new(),
        consumer_parker: Parker::new(),
        producer_wait: config.producer_wait,
        consumer_wait: config.consumer_wait,
        slots,
        mask: capacity - 1,
        #[cfg(not(loom))]
        watched: std::sync::OnceLock::new(),
    });
    Ok((
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    ))
}

/// A producing end; clone it for more producers.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

// SAFETY: all shared state is synchronised through the slot sequence protocol; items are `Send`.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: every method takes `&self` and is safe to call concurrently (that is the design).
unsafe impl<T: Send> Sync for Sender<T> {}

impl<T> Sender<T> {
    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Items in the ring (a snapshot; claimed-but-unfinished operations count as done).
    pub fn len(&self) -> usize {
        len(&self.shared)
    }

    /// Whether the ring looks empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every receiver has been dropped.
    pub fn is_abandoned(&self) -> bool {
        self.shared.receivers.load(Acquire) == 0
    }

    /// Pushes `value` if a slot is free; gives it back if the ring is full.
    #[inline]
    pub fn try_push(&self, value: T) -> Result<(), T> {
        let (pos, n) = self.shared.claim_push(1);
        if n == 0 {
            return Err(value);
        }
        self.shared.fill(pos, value);
        self.shared.after_push();
        Ok(())
    }

    /// Pushes `value`, waiting with the producers' strategy while the ring is full.
    ///
    /// # Errors
    /// Gives `value` back if every receiver is gone.
    pub fn push(&self, value: T) -> Result<(), T> {
        push_with(
            &mut &*self,
            value,
            |s, v| s.try_push(v),
            |s| s.is_abandoned(),
            |s| {
                let shared = &*s.shared;
                shared
                    .producer_wait
                    .wait_until(&shared.producer_parker, || {
                        let pos = shared.tail.load(Relaxed);
                        !shared.free_run(pos, 1).1 || shared.receivers.load(Acquire) == 0
                    });
            },
        )
    }

    /// Moves as many items as fit from the front of `items` into the ring, claiming their slots
    /// with one CAS; returns how many moved (0 when full). Items keep their order, and no other
    /// producer's item lands between them.
    pub fn push_batch(&self, items: &mut Vec<T>) -> usize {
        if items.is_empty() {
            return 0;
        }
        let (pos, n) = self.shared.claim_push(items.len());
        for (i, value) in items.drain(..n).enumerate() {
            self.shared.fill(pos.wrapping_add(i), value);
        }
        if n > 0 {
            self.shared.after_push();
        }
        n
    }
}

impl<T: Send + 'static> Sender<T> {
    /// This ring's positions for a watcher, held weakly: the positions producers have claimed
    /// and those consumers have claimed (an item being written or read at that instant counts as
    /// done, as in [`Sender::len`]). See [`super::watch`].
    #[cfg(not(loom))]
    pub fn watch(&self) -> std::sync::Arc<dyn super::watch::RingWatch> {
        super::watch::Watched::new(&self.shared)
    }

    /// Writes into `producer` and `consumer` (the ring's cells in a monitor:
    /// `ringtop::monitor::RingCells`) the final positions when the last endpoint goes. Nothing
    /// else: an MPMC ring's sides are every thread holding a [`Sender`] or [`Receiver`], with no
    /// one thread to name, and they count no stalls. The first call's cells stay.
    #[cfg(not(loom))]
    pub fn publish_to(&self, producer: super::watch::StatsCell, consumer: super::watch::StatsCell) {
        let _ = self.shared.watched.set([producer, consumer]);
    }
}

super::watch::one_consumer_positions!("mpmc");

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, AcqRel) == 1 {
            self.shared.consumer_parker.notify();
        }
    }
}

/// A consuming end; clone it for more consumers.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

// SAFETY: as for `Sender`.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: as for `Sender`.
unsafe impl<T: Send> Sync for Receiver<T> {}

impl<T> Receiver<T> {
    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.shared.capacity()
    }

    /// Items in the ring (a snapshot).
    pub fn len(&self) -> usize {
        len(&self.shared)
    }

    /// Whether the ring looks empty now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender has been dropped (items already pushed remain readable).
    pub fn is_abandoned(&self) -> bool {
        self.shared.senders.load(Acquire) == 0
    }

    /// Takes the oldest available item, or `None` if the ring is empty.
    #[inline]
    pub fn try_pop(&self) -> Option<T> {
        let (pos, n) = self.shared.claim_pop(1);
        if n == 0 {
            return None;
        }
        let value = self.shared.take(pos);
        self.shared.after_pop();
        Some(value)
    }

    /// Waits for an item; `None` once every sender is gone and the ring is drained.
    pub fn pop(&self) -> Option<T> {
        pop_with(
            &mut &*self,
            |r| r.try_pop(),
            |r| r.is_abandoned(),
            |r| {
                let shared = &*r.shared;
                shared
                    .consumer_wait
                    .wait_until(&shared.consumer_parker, || {
                        let pos = shared.head.load(Relaxed);
                        !shared.ready_run(pos, 1).1 || shared.senders.load(Acquire) == 0
                    });
            },
        )
    }

    /// Moves up to `max` items, in ring order, onto the end of `out`, claiming them with one CAS;
    /// returns how many. `out` is grown (by at most the capacity) before the claim, so nothing can
    /// fail half-way.
    pub fn pop_batch(&self, out: &mut Vec<T>, max: usize) -> usize {
        if max == 0 {
            return 0;
        }
        // Never more than the ring holds: `max` may be usize::MAX ("everything").
        out.reserve(max.min(self.capacity()));
        let (pos, n) = self.shared.claim_pop(max);
        for i in 0..n {
            out.push(self.shared.take(pos.wrapping_add(i)));
        }
        if n > 0 {
            self.shared.after_pop();
        }
        n
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Relaxed);
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.receivers.fetch_sub(1, AcqRel) == 1 {
            self.shared.producer_parker.notify();
        }
    }
}

fn len<T>(shared: &Shared<T>) -> usize {
    let head = shared.head.load(Acquire);
    let tail = shared.tail.load(Acquire);
    tail.wrapping_sub(head).min(shared.capacity())
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("mpmc::Sender")
            .field("capacity", &self.capacity())
            .finish()
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("mpmc::Receiver")
            .field("capacity", &self.capacity())
            .finish()
    }
}
