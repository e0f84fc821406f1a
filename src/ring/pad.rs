//! Cache padding for every index that two threads touch.
//!
//! Two indices on one cache line make the producer's and the consumer's writes invalidate each
//! other's cache even though they never touch the same variable (false sharing). Padding each one
//! to its own line removes that traffic.
//!
//! The size follows crossbeam-utils' choice: on x86_64 the L2 "adjacent-line" (spatial)
//! prefetcher pulls cache lines in 128-byte pairs, so two 64-byte lines that share a 128-byte
//! block still interfere; aarch64 big cores (Apple M-series, Neoverse) have 128-byte lines or the
//! same pairing. Elsewhere 64 bytes is the line size.

use std::ops::{Deref, DerefMut};

/// The alignment (in bytes) that keeps two padded values from interfering in the cache.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub const CACHE_PAD: usize = 128;
/// The alignment (in bytes) that keeps two padded values from interfering in the cache.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub const CACHE_PAD: usize = 64;

/// The bytes one cache line holds, and one transfer between cores moves: 64 on x86_64 and most
/// other CPUs. What a chase or a prefetch counts in, as against [`CACHE_PAD`], the distance two
/// shared values keep apart.
pub(crate) const LINE_BYTES: usize = 64;

/// A zero-sized field that gives the struct holding it [`CACHE_PAD`] alignment, so the struct starts
/// on a block of its own and fills whole blocks: nothing else shares its cache lines. The one
/// place the alignment is written; [`CachePadded`] and every ring endpoint hold one.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheAligned;

/// A value alone on its own cache-line block ([`CACHE_PAD`] bytes, aligned), so writes to it never
/// disturb a neighbour.
#[derive(Debug, Default)]
pub struct CachePadded<T> {
    _align: CacheAligned,
    value: T,
}

const _: () = assert!(std::mem::align_of::<CacheAligned>() == CACHE_PAD);
const _: () = assert!(std::mem::align_of::<CachePadded<u8>>() == CACHE_PAD);

impl<T> CachePadded<T> {
    /// Pads `value`.
    pub const fn new(value: T) -> Self {
        Self {
            _align: CacheAligned,
            value,
        }
    }

    /// Returns the inner value.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for CachePadded<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_values_never_share_a_block() {
        let pair = [CachePadded::new(1u64), CachePadded::new(2u64)];
        let a = &*pair[0] as *const u64 as usize;
        let b = &*pair[1] as *const u64 as usize;
        assert_eq!(b - a, CACHE_PAD);
        assert_eq!(a % CACHE_PAD, 0);
        assert_eq!(std::mem::size_of::<CachePadded<u64>>(), CACHE_PAD);
    }
}
