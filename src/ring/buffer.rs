//! The slot array every ring keeps its items in, allocated through a [`RingAlloc`].

use std::alloc::Layout;
use std::ops::Deref;
use std::ops::Range;
use std::ptr::NonNull;

use super::alloc::RingAlloc;
use super::error::RingError;
use super::pad::CACHE_PAD;
use std::sync::Arc;

/// A fixed array of `len` initialised `S`, owned, living in memory from a [`RingAlloc`].
///
/// The allocation is aligned to and padded out to whole [`CACHE_PAD`] blocks, so no other object
/// shares a cache line with either end of the array (the "slack" of rigtorp's queue).
pub(crate) struct Buffer<S> {
    ptr: NonNull<S>,
    len: usize,
    layout: Layout,
    alloc: Arc<dyn RingAlloc>,
}

// SAFETY: a Buffer owns its elements like a Box<[S]>; sending or sharing it is as safe as sending
// or sharing the elements.
unsafe impl<S: Send> Send for Buffer<S> {}
// SAFETY: as above; shared access only hands out `&S`.
unsafe impl<S: Sync> Sync for Buffer<S> {}

impl<S> Buffer<S> {
    /// Allocates `len` elements from `alloc`, initialising element `i` with `init(i)`.
    pub(crate) fn new(
        len: usize,
        alloc: Arc<dyn RingAlloc>,
        mut init: impl FnMut(usize) -> S,
    ) -> Result<Self, RingError> {
        let max = max_len::<S>();
        let too_large = || RingError::CapacityTooLarge {
            requested: len,
            max,
        };
        if len > max {
            return Err(too_large());
        }
        let layout = Layout::array::<S>(len)
            .and_then(|l| l.align_to(CACHE_PAD))
            .map(|l| l.pad_to_align())
            .map_err(|_| too_large())?;
        let raw = alloc
            .allocate(layout)
            .ok_or_else(|| RingError::AllocationFailed {
                bytes: layout.size(),
                allocator: alloc.describe(),
            })?;
        let ptr = raw.cast::<S>();
        for i in 0..len {
            // SAFETY: `ptr` points to room for `len` elements of `S` (the layout above), properly
            // aligned; element `i < len` is written once, before any read.
            unsafe { ptr.as_ptr().add(i).write(init(i)) };
        }
        Ok(Self {
            ptr,
            len,
            layout,
            alloc,
        })
    }

    /// Raw pointer to element 0, for endpoints that index the array without the bounds check.
    pub(crate) fn as_ptr(&self) -> *const S {
        self.ptr.as_ptr()
    }

    /// The allocation, padding included: where the ring's slots live in this process.
    #[cfg(not(loom))]
    pub(crate) fn memory(&self) -> RingMemory {
        RingMemory {
            address: self.ptr.as_ptr() as usize,
            bytes: self.layout.size(),
        }
    }
}

/// Where a ring's slots live in its process's address space: for a watcher in another process to
/// ask the kernel which NUMA nodes the pages are on (`ringtop attach`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingMemory {
    /// The first byte's address.
    pub address: usize,
    /// Bytes, padding to whole cache-line blocks included.
    pub bytes: usize,
}

impl<S> Deref for Buffer<S> {
    type Target = [S];
    fn deref(&self) -> &[S] {
        // SAFETY: `ptr` holds `len` initialised elements for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<S> Drop for Buffer<S> {
    fn drop(&mut self) {
        // SAFETY: the `len` elements are initialised and dropped exactly once, here; the memory
        // came from `self.alloc` with `self.layout`.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr(),
                self.len,
            ));
            self.alloc.deallocate(self.ptr.cast(), self.layout);
        }
    }
}

/// Calls `each(pos, slot)` for every position in `[head, tail)` of a ring over `slots`: how a
/// ring's shared part reaches the items nobody consumed, to drop them, once both ends are gone.
pub(crate) fn for_each_position<S>(
    slots: &Buffer<S>,
    head: usize,
    tail: usize,
    mut each: impl FnMut(usize, &S),
) {
    let mask = slots.len() - 1;
    let mut pos = head;
    while pos != tail {
        each(pos, &slots[pos & mask]);
        pos = pos.wrapping_add(1);
    }
}

/// A ring's slot array as an endpoint sees it: where it starts, and the mask that maps a position
/// to its slot. Each endpoint keeps a copy so its hot path does not go through the shared
/// allocation; the endpoint's `Arc` of the ring's shared part keeps the array alive.
pub(crate) struct SlotView<S> {
    base: *const S,
    mask: usize,
}

impl<S> Clone for SlotView<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for SlotView<S> {}

impl<S> SlotView<S> {
    /// A view of `buffer`'s slots (a power-of-two count).
    ///
    /// # Safety
    /// `buffer` must outlive every use of the view: the view's holder keeps the owner alive.
    pub(crate) unsafe fn new(buffer: &Buffer<S>) -> Self {
        debug_assert!(buffer.len().is_power_of_two());
        SlotView {
            base: buffer.as_ptr(),
            mask: buffer.len() - 1,
        }
    }

    /// Number of slots.
    #[inline(always)]
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// The mask that maps a position to its slot index.
    #[inline(always)]
    pub(crate) fn mask(&self) -> usize {
        self.mask
    }

    /// The first slot (for the slice views, which loom builds do without).
    #[cfg(not(loom))]
    #[inline(always)]
    pub(crate) fn base(&self) -> *const S {
        self.base
    }

    /// The slot of position `pos`.
    #[inline(always)]
    pub(crate) fn at(&self, pos: usize) -> &S {
        // SAFETY: `pos & mask` is below the slot count, and the array outlives the view (`new`'s
        // contract).
        unsafe { &*self.base.add(pos & self.mask) }
    }

    /// The slot with index `slot`, already reduced by the mask (the batch paths' runs).
    ///
    /// # Safety
    /// `slot <= mask`.
    #[inline(always)]
    pub(crate) unsafe fn at_index(&self, slot: usize) -> &S {
        debug_assert!(slot <= self.mask);
        // SAFETY: `slot <= mask` (the caller's promise) is inside the array, which outlives the
        // view.
        unsafe { &*self.base.add(slot) }
    }
}

/// The slot indices of the `count` positions from `pos` in a ring of `mask + 1` slots: the run up
/// to the end of the slot array, then the rest from slot 0 (empty unless the range wraps).
/// `count <= mask + 1`. The batch paths ([`wrapped_slices`] and [`fill_runs`]) and their loom
/// counterparts all walk these ranges, so the loom models check the arithmetic the fast paths use.
#[inline(always)]
pub(crate) fn wrapped_ranges(mask: usize, pos: usize, count: usize) -> [Range<usize>; 2] {
    let start = pos & mask;
    let first = count.min(mask + 1 - start);
    [start..start + first, 0..count - first]
}

/// The `count` slots from position `pos` of a ring with `mask + 1` slots at `base`, wrapping at
/// most once at the end of the array, as two slices of `T`.
///
/// # Safety
/// The slot type must be `repr(transparent)` over `T`; `count <= mask + 1`; those slots must be
/// initialised and left unwritten for `'a`.
#[cfg(not(loom))]
pub(crate) unsafe fn wrapped_slices<'a, T>(
    base: *const T,
    mask: usize,
    pos: usize,
    count: usize,
) -> (&'a [T], &'a [T]) {
    let [first, rest] = wrapped_ranges(mask, pos, count);
    // SAFETY: both ranges lie inside the `mask + 1` slots at `base` (`wrapped_ranges` stops the
    // first at the end and restarts at 0, and `count <= mask + 1`); the caller vouches they are
    // initialised `T`s that nobody writes for 'a.
    unsafe {
        (
            std::slice::from_raw_parts(base.add(first.start), first.len()),
            std::slice::from_raw_parts(base.add(rest.start), rest.len()),
        )
    }
}

/// Writes `make(i)` for `i` in `*written..len` into the slots of positions `tail + i`, as straight
/// runs of slots (two when the range wraps around the end of the array) with no per-item checks:
/// `write(slot, value)` stores one value into the slot with that index. `*written` moves past each
/// slot as soon as it holds its item, so a panic in `make` leaves it counting exactly the items
/// written.
#[inline(always)]
pub(crate) fn fill_runs<T>(
    mask: usize,
    tail: usize,
    written: &mut usize,
    len: usize,
    make: &mut impl FnMut(usize) -> T,
    write: &mut impl FnMut(usize, T),
) {
    let ranges = wrapped_ranges(mask, tail.wrapping_add(*written), len - *written);
    for slots in ranges {
        for slot in slots {
            let i = *written;
            write(slot, make(i));
            *written = i + 1;
        }
    }
}

/// The largest element count a ring of `S` accepts: it must fit in memory, and positions are
/// compared with wrapping arithmetic, which needs capacity ≤ usize::MAX / 2.
pub(crate) fn max_len<S>() -> usize {
    let size = std::mem::size_of::<S>().max(1);
    let by_memory = (isize::MAX as usize - CACHE_PAD) / size;
    let by_arithmetic = 1usize << (usize::BITS - 2);
    prev_power_of_two(by_memory.min(by_arithmetic))
}

/// Checks a requested capacity: a power of two, at least `min`, at most what `S` allows.
pub(crate) fn check_capacity<S>(requested: usize, min: usize) -> Result<usize, RingError> {
    if requested < min {
        return Err(RingError::CapacityTooSmall { requested, min });
    }
    let max = max_len::<S>();
    if requested > max {
        return Err(RingError::CapacityTooLarge { requested, max });
    }
    if !requested.is_power_of_two() {
        return Err(RingError::CapacityNotPowerOfTwo {
            requested,
            below: prev_power_of_two(requested),
            above: requested.next_power_of_two(),
        });
    }
    Ok(requested)
}

fn prev_power_of_two(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn capacity_rules() {
        assert_eq!(check_capacity::<u64>(8, 2), Ok(8));
        assert_eq!(
            check_capacity::<u64>(1000, 2),
            Err(RingError::CapacityNotPowerOfTwo {
                requested: 1000,
                below: 512,
                above: 1024
            })
        );
        assert_eq!(
            check_capacity::<u64>(1, 2),
            Err(RingError::CapacityTooSmall {
                requested: 1,
                min: 2
            })
        );
        assert!(matches!(
            check_capacity::<u64>(usize::MAX, 2),
            Err(RingError::CapacityTooLarge { .. })
        ));
        let max = max_len::<[u8; 4096]>();
        assert!(max.is_power_of_two());
        assert_eq!(check_capacity::<[u8; 4096]>(max, 2), Ok(max));
        assert!(check_capacity::<[u8; 4096]>(max * 2, 2).is_err());
    }

    #[test]
    fn buffer_is_block_aligned_and_padded() {
        let buf = Buffer::<u8>::new(3, Arc::new(crate::ring::GlobalAligned), |i| i as u8).unwrap();
        assert_eq!(&*buf, &[0, 1, 2]);
        assert_eq!(buf.as_ptr() as usize % CACHE_PAD, 0);
        assert_eq!(buf.layout.size() % CACHE_PAD, 0);
    }
}
