//! Prefetch hints for the batch paths.
//!
//! A consumer walking a batch can ask for the slot `distance` ahead to be pulled into L1 while it
//! processes the current one; a producer can ask for ownership of a line before writing it. On
//! x86_64 these are `prefetcht0` / `prefetchw`; elsewhere they compile to nothing. A distance of 0
//! turns them off. They are hints: they never change results, only timing, which is why the
//! distance is a runtime tunable rather than a constant.

/// How far ahead (in slots) the batch paths prefetch; 0 disables prefetching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefetchDistance(pub usize);

impl PrefetchDistance {
    /// Prefetching off.
    pub const OFF: Self = Self(0);

    /// Whether prefetching is on.
    #[inline(always)]
    pub const fn is_on(self) -> bool {
        self.0 != 0
    }
}

/// Hints that the cache line at `ptr` will soon be read.
#[inline(always)]
pub fn prefetch_read<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults and never reads or writes memory visibly, so
    // any address is acceptable.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(ptr.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}

/// Hints that the cache line at `ptr` will soon be written (fetch it in exclusive state).
#[inline(always)]
pub fn prefetch_write<T>(ptr: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as for `prefetch_read`: a hint that never faults. On CPUs without PREFETCHW the
    // instruction is a no-op.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_ET0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_ET0>(ptr.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = ptr;
}
