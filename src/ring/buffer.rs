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
