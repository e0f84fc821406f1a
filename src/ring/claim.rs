//! The batch write that the index rings (`spsc`, `broadcast`) share: slots claimed past the
//! producer's tail, filled in place one by one or in straight runs, then handed back to the ring
//! to publish with one index store. Each ring's `WriteChunk` holds a [`Claim`] and the producer it
//! publishes through; what differs (how the ring publishes, which items it may carry) stays in the
//! ring's own file.

use std::mem::MaybeUninit;

use super::buffer::{SlotView, fill_runs};
#[cfg(not(loom))]
use super::prefetch::hint_room;
use super::prefetch::{PrefetchDistance, WriteHint};
use super::sync::UnsafeCell;

/// A slot of an index ring: an item, or nothing yet.
pub(crate) type Slot<T> = UnsafeCell<MaybeUninit<T>>;

/// Free slots `[tail, tail + len)` claimed for writing, and how many are written so far.
///
/// Items written and not yet handed over with [`Claim::hand_over`] are dropped with the claim.
pub(crate) struct Claim<T> {
    /// A copy of the producer's view, so the fill loop keeps the base in a register.
    slots: SlotView<Slot<T>>,
    tail: usize,
    prefetch: PrefetchDistance,
    /// This CPU's write hint, taken once a claim so the fill loop keeps it in a register.
    write_hint: WriteHint,
    len: usize,
    written: usize,
}

impl<T> Claim<T> {
    /// Claims `len` slots from position `tail`.
    ///
    /// # Safety
    /// The slots of positions `[tail, tail + len)` are free, and nobody but the claim's owner writes
    /// them while the claim lives.
    #[inline]
    pub(crate) unsafe fn new(
        slots: SlotView<Slot<T>>,
        tail: usize,
        prefetch: PrefetchDistance,
        len: usize,
    ) -> Self {
        Claim {
            slots,
            tail,
            prefetch,
            // Asked of the CPU only where it will be used: a claim with prefetching off (every
            // push of a batch of one, in the engine) pays nothing.
            write_hint: if prefetch.is_on() {
                WriteHint::of_this_cpu()
            } else {
                WriteHint::FOR_READING
            },
            len,
            written: 0,
        }
    }

    /// Asks for the lines of the free slots after the claim for writing ([`hint_room`]): of as
    /// many as the claim takes, within the `free` slots known free from its first (`free` at
    /// least the claim's length), so that the next claim finds them owned.
    #[inline(always)]
    pub(crate) fn ask_ahead(&self, free: usize) {
        debug_assert!(self.len <= free);
        #[cfg(not(loom))]
        hint_room(
            self.slots,
            self.tail.wrapping_add(self.len),
            free - self.len,
            self.len,
        );
        #[cfg(loom)]
        let _ = free;
    }

    /// Slots claimed.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Slots written so far.
    #[inline]
    pub(crate) fn written(&self) -> usize {
        self.written
    }

    /// Writes `value` into the next claimed slot; gives it back when all are filled.
    #[inline]
    pub(crate) fn push(&mut self, value: T) -> Result<(), T> {
        if self.written == self.len {
            return Err(value);
        }
        let pos = self.tail.wrapping_add(self.written);
        if self.prefetch.is_on() {
            self.write_hint
                .issue(self.slots.at(pos.wrapping_add(self.prefetch.0)));
        }
        // SAFETY: `pos` lies in the claimed range of free slots, which only the claim's owner
        // writes (`new`'s contract), and `written` moves past it at once, so it is written once.
        self.slots
            .at(pos)
            .with_mut(|p| unsafe { (*p).write(value) });
        self.written += 1;
        Ok(())
    }

    /// Fills every remaining slot with `make(i)`, `i` counting from the claim's first slot: in
    /// straight runs of slots when prefetching is off, one checked push at a time otherwise. A
    /// panic in `make` leaves `written` counting exactly the items written.
    #[inline]
    pub(crate) fn fill_with(&mut self, mut make: impl FnMut(usize) -> T) {
        if self.prefetch.is_on() {
            while self.written < self.len {
                let i = self.written;
                // Cannot fail: a slot remains.
                let _ = self.push(make(i));
            }
            return;
        }
        let slots = self.slots;
        fill_runs(
            slots.mask(),
            self.tail,
            &mut self.written,
            self.len,
            &mut make,
            &mut |slot, value| {
                // SAFETY: `fill_runs` passes only the slot indices of the claimed free range (so
                // `slot <= mask`), each once, which only the claim's owner writes.
                unsafe { slots.at_index(slot).with_mut(|p| (*p).write(value)) };
            },
        );
    }

    /// Copies as many of `items` as there are slots left into them, as at most two `memcpy`s (the
    /// claimed range may wrap once); how many. Under loom it writes slot by slot, so the models
    /// see every store.
    #[inline]
    pub(crate) fn copy_from(&mut self, items: &[T]) -> usize
    where
        T: Copy,
    {
        let count = items.len().min(self.len - self.written);
        let start = self.tail.wrapping_add(self.written);
        #[cfg(not(loom))]
        {
            let [first, rest] = super::buffer::wrapped_ranges(self.slots.mask(), start, count);
            let base = self.slots.base().cast::<T>().cast_mut();
            // SAFETY: both ranges lie inside the slot array (`wrapped_ranges` with `count` at most
            // the slots left in the claim, which is at most the capacity), in the claimed range
            // of free slots only the claim's owner writes (`new`'s contract); a slot is
            // `UnsafeCell<MaybeUninit<T>>`, `repr(transparent)` over `T`, so writing a `T` there
            // initialises it; `T: Copy` has no drop, and `items` cannot overlap ring memory the
            // claim holds exclusively.
            unsafe {
                std::ptr::copy_nonoverlapping(items.as_ptr(), base.add(first.start), first.len());
                std::ptr::copy_nonoverlapping(
                    items.as_ptr().add(first.len()),
                    base.add(rest.start),
                    rest.len(),
                );
            }
            self.written += count;
        }
        #[cfg(loom)]
        for &item in &items[..count] {
            // Cannot fail: `count` slots remain.
            let _ = self.push(item);
        }
        let _ = start;
        count
    }

    /// Hands the items written so far to the ring, which publishes them: the tail to publish, or
    /// `None` when nothing was written. An empty commit (the ring was full) then stores nothing: a
    /// producer polling a full ring must not pull the index's line back from the consumer it is
    /// waiting for. The claim no longer drops the items.
    #[inline]
    pub(crate) fn hand_over(&mut self) -> Option<usize> {
        let written = std::mem::take(&mut self.written);
        (written != 0).then(|| self.tail.wrapping_add(written))
    }
}

impl<T> Drop for Claim<T> {
    fn drop(&mut self) {
        if !std::mem::needs_drop::<T>() {
            return;
        }
        for i in 0..self.written {
            let pos = self.tail.wrapping_add(i);
            // SAFETY: slots [tail, tail + written) were written by this claim and never handed
            // over, so nobody else can see them; each is dropped once.
            self.slots
                .at(pos)
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}
