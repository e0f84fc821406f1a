//! Where ring memory comes from.
//!
//! Rings never call the global allocator for their slots directly: they ask a [`RingAlloc`]. The
//! default, [`GlobalAligned`], is an aligned global allocation; the topology layer supplies one
//! that binds pages to a NUMA node, without the ring code knowing anything about NUMA.

use std::alloc::Layout;
use std::fmt::Debug;
use std::ptr::NonNull;

/// A source of ring memory.
///
/// # Safety
/// `allocate` must return either `None` or a pointer to at least `layout.size()` bytes, aligned to
/// `layout.align()`, valid for reads and writes until passed to `deallocate` with the same layout,
/// and not aliased by anything else.
pub unsafe trait RingAlloc: Send + Sync + Debug {
    /// Returns fresh memory for `layout`, or `None` when it cannot.
    fn allocate(&self, layout: Layout) -> Option<NonNull<u8>>;

    /// Returns memory to this allocator.
    ///
    /// # Safety
    /// `ptr` must come from `allocate` on this allocator with the same `layout`, and must not be
    /// used afterwards.
    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout);

    /// A short description for error messages and reports (e.g. `"global"`, `"numa node 1"`).
    fn describe(&self) -> String;
}

/// The default: the process's global allocator, with the layout the ring asks for (which is
/// always padded to whole cache-line blocks, see [`crate::ring::pad::CACHE_PAD`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct GlobalAligned;

// SAFETY: `std::alloc::alloc` meets the trait's contract for non-zero sizes; zero sizes are
// answered with a dangling, well-aligned pointer that is never dereferenced or freed.
unsafe impl RingAlloc for GlobalAligned {
    fn allocate(&self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            // A well-aligned dangling pointer: the address equals the alignment, never null.
            return NonNull::new(std::ptr::without_provenance_mut(layout.align()));
        }
        // SAFETY: the size is non-zero, as `alloc` requires.
        NonNull::new(unsafe { std::alloc::alloc(layout) })
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the caller guarantees `ptr` came from `allocate` with this layout.
            unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
        }
    }

    fn describe(&self) -> String {
        "global allocator".to_owned()
    }
}
