//! The SPSC ring's batch calls: [`WriteChunk`] fills claimed slots in place (through the shared
//! [`Claim`]) and publishes them at once, [`ReadChunk`] reads ready items in place and releases them at once.

#[cfg(loom)]
use super::super::buffer::wrapped_ranges;
#[cfg(not(loom))]
use super::super::buffer::wrapped_slices;
use super::super::claim::Claim;
use super::super::prefetch::prefetch_read;
#[cfg(not(loom))]
use super::super::prefetch::{append_runs, copy_runs};
use super::{Consumer, Producer};

/// Slots claimed by [`Producer::write_chunk`], filled in order, then published at once.
///
/// Dropping a chunk without [`commit`](Self::commit) publishes nothing and drops the items written
/// into it.
pub struct WriteChunk<'a, T> {
    pub(super) producer: &'a mut Producer<T>,
    pub(super) claim: Claim<T>,
}

impl<T> WriteChunk<'_, T> {
    /// Slots claimed.
    #[inline]
    pub fn len(&self) -> usize {
        self.claim.len()
    }

    /// Whether no slot could be claimed (the ring was full).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Slots still to fill.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.claim.len() - self.claim.written()
    }

    /// Writes `value` into the next claimed slot; gives it back when all are filled.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), T> {
        self.claim.push(value)
    }

    /// Fills every remaining slot with `make(i)`, `i` counting from the chunk's first slot.
    #[inline]
    pub fn fill_with(&mut self, make: impl FnMut(usize) -> T) {
        self.claim.fill_with(make);
    }

    /// Copies as many of `items` as slots remain into them (one or two `memcpy`s); how many.
    #[inline]
    pub fn copy_from_slice(&mut self, items: &[T]) -> usize
    where
        T: Copy,
    {
        self.claim.copy_from(items)
    }

    /// Publishes the slots written so far in one index store (none if there are none); returns
    /// how many.
    #[inline]
    pub fn commit(mut self) -> usize {
        let written = self.claim.written();
        if let Some(tail) = self.claim.hand_over() {
            self.producer.publish(tail);
        }
        written
    }
}

/// Items taken by [`Consumer::read_chunk`]: read them in place or move them out, then release.
///
/// Dropping a chunk without [`release`](Self::release) releases only the items moved out with
/// [`pop`](Self::pop); the rest stay in the ring for the next read.
pub struct ReadChunk<'a, T> {
    pub(super) consumer: &'a mut Consumer<T>,
    pub(super) len: usize,
    /// Items moved out of the front of the chunk.
    pub(super) taken: usize,
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
    ///
    /// The consumer's head moves past the item at once (the producer learns of it when the
    /// chunk is released), so a chunk that is forgotten after a `pop` never hands the item out
    /// again: forgetting a chunk can leak, never duplicate.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.taken == self.len {
            return None;
        }
        let pos = self.consumer.head;
        let distance = self.consumer.prefetch;
        if distance.is_on() {
            prefetch_read(self.consumer.slots.at(pos.wrapping_add(distance.0)));
        }
        // SAFETY: `pos` is the consumer's head, inside the chunk's published items, which only
        // this consumer reads; the head moves past it right away, so it is moved out once.
        let value = self
            .consumer
            .slots
            .at(pos)
            .with(|p| unsafe { (*p).assume_init_read() });
        self.consumer.head = pos.wrapping_add(1);
        self.taken += 1;
        Some(value)
    }

    /// The items not yet moved out, as up to two slices (the chunk may wrap around the end of the
    /// slot array). They start at the consumer's head, which `pop` moves.
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
                c.head,
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
            let c = &*self.consumer;
            append_runs(out, c.slots, c.head, c.prefetch, [first, rest]);
        }
        #[cfg(loom)]
        {
            let c = &*self.consumer;
            for slots in wrapped_ranges(c.slots.mask(), c.head, self.len - self.taken) {
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

    /// Copies the items not yet moved out into the front of `out` (one or two `memcpy`s), as
    /// many as fit, and moves the chunk past them; how many. Release the chunk to hand their
    /// slots back.
    #[inline]
    pub fn copy_to_slice(&mut self, out: &mut [T]) -> usize
    where
        T: Copy,
    {
        #[cfg(not(loom))]
        let count = {
            let (first, rest) = self.as_slices();
            let c = &*self.consumer;
            copy_runs(out, c.slots, c.head, c.prefetch, [first, rest])
        };
        #[cfg(loom)]
        let count = {
            let mut count = 0;
            while count < out.len() {
                let Some(item) = self.pop() else { break };
                out[count] = item;
                count += 1;
            }
            count
        };
        #[cfg(not(loom))]
        {
            // `T: Copy`: moving past the items is all that taking them out needs.
            self.consumer.head = self.consumer.head.wrapping_add(count);
            self.taken += count;
        }
        count
    }

    /// Releases the whole chunk in one index store, dropping items not moved out.
    #[inline]
    pub fn release(mut self) {
        if std::mem::needs_drop::<T>() {
            while self.taken < self.len {
                drop(self.pop());
            }
        } else {
            let rest = self.len - self.taken;
            self.consumer.head = self.consumer.head.wrapping_add(rest);
            self.taken = self.len;
        }
    }
}

impl<T> Drop for ReadChunk<'_, T> {
    fn drop(&mut self) {
        // The head already stands past every item moved out; tell the producer.
        if self.taken > 0 {
            let head = self.consumer.head;
            self.consumer.release(head);
        }
    }
}
