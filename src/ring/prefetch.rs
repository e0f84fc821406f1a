//! Prefetch hints for the batch paths.
//!
//! A consumer walking a batch can ask for the slot `distance` ahead to be pulled into L1 while it
//! processes the current one; a producer can ask for ownership of a line before writing it. On
//! x86_64 these are `prefetcht0` and `prefetchw` (where the CPU has it: read once from CPUID, since
//! the baseline x86_64 target lets the compiler emit only `prefetcht0` for a write hint); elsewhere
//! they compile to nothing. A distance of 0 turns them off. They are hints: they never change
//! results, only timing, which is why the distance is a runtime tunable rather than a constant.

#[cfg(not(loom))]
use super::buffer::SlotView;
use super::pad::LINE_BYTES;

/// How many items of `T` one line holds (at least one): the read path hints once per this many.
#[cfg(not(loom))]
const fn items_per_line<T>() -> usize {
    let size = std::mem::size_of::<T>();
    if size == 0 || size >= LINE_BYTES {
        1
    } else {
        LINE_BYTES / size
    }
}

/// Lines the prefetching read path copies between rounds of hints: enough that a round's copy is
/// one `memcpy` rather than a call per item, few enough that the hints stay ahead of it.
#[cfg(not(loom))]
const LINES_A_STEP: usize = 8;

/// The batch read paths' prefetch: hands `runs` (a chunk's items in ring order, from position
/// `pos` of `slots`) to `take` [`LINES_A_STEP`] lines' worth at a time, each step after one read
/// hint per line for as many slots `distance` further on. Out of line, so the copy without
/// prefetching, inlined into a caller, stays as small as it was.
#[cfg(not(loom))]
#[inline(never)]
fn by_steps_hinting<S, T>(
    slots: SlotView<S>,
    mut pos: usize,
    distance: PrefetchDistance,
    runs: [&[T]; 2],
    mut take: impl FnMut(&[T]),
) {
    let per_line = items_per_line::<T>();
    for run in runs {
        for piece in run.chunks(per_line * LINES_A_STEP) {
            let ahead = pos.wrapping_add(distance.0);
            for offset in (0..piece.len()).step_by(per_line) {
                prefetch_read(slots.at(ahead.wrapping_add(offset)));
            }
            take(piece);
            pos = pos.wrapping_add(piece.len());
        }
    }
}

/// Copies a chunk's `runs` (its items in ring order, from position `pos` of `slots`) into the
/// front of `out` (as many as it holds; how many): two `copy_from_slice`s, or with a distance set,
/// a step at a time after read hints ([`by_steps_hinting`]). The index rings' `copy_to_slice`.
#[cfg(not(loom))]
#[inline]
pub(crate) fn copy_runs<S, T: Copy>(
    out: &mut [T],
    slots: SlotView<S>,
    pos: usize,
    distance: PrefetchDistance,
    runs: [&[T]; 2],
) -> usize {
    let count = out.len().min(runs[0].len() + runs[1].len());
    let from_first = count.min(runs[0].len());
    let (first, rest) = (&runs[0][..from_first], &runs[1][..count - from_first]);
    if distance.is_on() {
        let mut filled = 0;
        by_steps_hinting(slots, pos, distance, [first, rest], |piece| {
            out[filled..filled + piece.len()].copy_from_slice(piece);
            filled += piece.len();
        });
    } else {
        out[..from_first].copy_from_slice(first);
        out[from_first..count].copy_from_slice(rest);
    }
    count
}

/// Lines a batch call hints ahead of its chunk at most ([`hint_backlog`], [`hint_room`]): about
/// what one core keeps in flight (L1 fill buffers and the L2 queue), so a hint is not dropped for
/// want of room.
#[cfg(not(loom))]
const AHEAD_LINES: usize = 32;

/// Read hints for the lines of the items published after a chunk, at `start` of `slots` (up to
/// `published` of them: only what the consumer's cached index shows written, never a slot the
/// producer may be writing), as many items as the chunk's `len` and at most [`AHEAD_LINES`]
/// lines. A consumer behind its producer reads lines the other core wrote a lap ago, each a
/// transfer between cores that the hardware prefetcher does not start early enough; hinting the
/// next chunk's lines while this one is read overlaps those transfers (2026-12-05, 2-vCPU Xeon
/// guest: 256-`u64` chunks from a full ring about 1.9× as fast). Nothing is hinted where no
/// backlog is known: a consumer keeping up with its producer pays one comparison.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn hint_backlog<S>(slots: SlotView<S>, start: usize, published: usize, len: usize) {
    for pos in lines_ahead::<S>(start, published, len) {
        prefetch_read(slots.at(pos));
    }
}

/// Write hints for the lines of the free slots after a producer's claim, at `start` of `slots`
/// (up to `free` of them: only slots every consumer has released, never one still to be read),
/// as many slots as the claim's `len` and at most [`AHEAD_LINES`] lines. A producer ahead of its
/// consumer writes lines that core read a lap ago, each a transfer for ownership that the store
/// waits on; asked for while this claim is filled, the next claim's lines arrive writable
/// (2026-12-07, 2-vCPU AMD EPYC guest: 256-`u64` chunks 1.04–1.09× as fast in one state of the
/// VM, about 1.2× in another). Nothing is hinted where no more room is known than the claim
/// takes: a producer that fills the ring pays one comparison.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn hint_room<S>(slots: SlotView<S>, start: usize, free: usize, len: usize) {
    if free == 0 {
        return;
    }
    let hint = WriteHint::of_this_cpu();
    for pos in lines_ahead::<S>(start, free, len) {
        hint.issue(slots.at(pos));
    }
}

/// The positions [`hint_backlog`] and [`hint_room`] hint: one a line, from `start`, within the
/// first `len` items, at most [`AHEAD_LINES`], and only lines whose every slot is among the first
/// `known` (published, or free): a line that also holds a slot the other side is still writing
/// (or still to read) is left to it, since a hint takes the whole line.
#[cfg(not(loom))]
#[inline(always)]
fn lines_ahead<S>(start: usize, known: usize, len: usize) -> impl Iterator<Item = usize> {
    let per_line = items_per_line::<S>();
    let ahead = known.min(len).min(AHEAD_LINES * per_line);
    (0..ahead)
        .step_by(per_line)
        .map(move |offset| start.wrapping_add(offset))
        .take_while(move |&pos| last_slot_in_line::<S>(pos).wrapping_sub(start) < known)
}

/// The last slot that shares a line with the first byte of slot `pos` (slot arrays start on a
/// line): `pos` itself for slots of a line or more; the last of its line's slots where they
/// divide it; else at most `pos` and a line's worth further, since such slots straddle lines.
#[cfg(not(loom))]
#[inline(always)]
fn last_slot_in_line<S>(pos: usize) -> usize {
    let size = std::mem::size_of::<S>();
    let per_line = items_per_line::<S>();
    if size == 0 || size >= LINE_BYTES {
        pos
    } else if size.is_power_of_two() {
        pos | (per_line - 1)
    } else {
        pos.wrapping_add(per_line)
    }
}

/// Appends a chunk's `runs` (its items in ring order, from position `pos` of `slots`) to `out`:
/// two `extend_from_slice`s, or with a distance set, a step at a time after read hints
/// ([`by_steps_hinting`]). The index rings' `append_to`, which the engine reads with.
#[cfg(not(loom))]
#[inline]
pub(crate) fn append_runs<S, T: Clone>(
    out: &mut Vec<T>,
    slots: SlotView<S>,
    pos: usize,
    distance: PrefetchDistance,
    runs: [&[T]; 2],
) {
    if distance.is_on() {
        out.reserve(runs[0].len() + runs[1].len());
        by_steps_hinting(slots, pos, distance, runs, |piece| {
            out.extend_from_slice(piece)
        });
    } else {
        out.extend_from_slice(runs[0]);
        out.extend_from_slice(runs[1]);
    }
}

/// How far past the position being read a reader of another core's records hints lines
/// ([`LineHints::ahead_of`]): 16 lines (8 or fewer gained less; 32 and 64 no more).
pub const READ_LEAD_BYTES: u64 = 16 * LINE_BYTES as u64;

/// How far past the item being written a writer of slots hints them: 4 lines (2 to 8 measured
/// alike; the shared-memory item sender's batches, 26 against 71 M items/s on the 2-vCPU Xeon
/// guest). A write hint takes the line from the other core, so the writer hints no further
/// than the room it holds.
pub const WRITE_LEAD_BYTES: u64 = 4 * LINE_BYTES as u64;

/// A reader's hints for the lines of a stream of bytes in a ring buffer (a window of
/// records): each line once, in stream order, from where the last hint stopped, up to
/// [`READ_LEAD_BYTES`] past the position being read and never at or past what the writer has
/// published.
///
/// A reader of another core's records reads lines that core has just written, each a transfer
/// between cores that the hardware prefetcher starts too late, the loads then waiting on them
/// one after another. Hinted ahead, the transfers overlap (2-vCPU Xeon guest: 4 KiB messages
/// through a 128 KiB shared-memory window 6.0 against 9 GB/s).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LineHints {
    /// The stream position up to which lines were hinted.
    hinted: u64,
}

impl LineHints {
    /// Calls `hint` once for each line not hinted yet that holds stream positions from `at` to
    /// [`READ_LEAD_BYTES`] past it and below `published`, with the position where the line
    /// starts (or `at`, in `at`'s line).
    #[inline(always)]
    pub fn ahead_of(&mut self, at: u64, published: u64, mut hint: impl FnMut(u64)) {
        let until = published.min(at.saturating_add(READ_LEAD_BYTES));
        let mut line = self.hinted.max(at & !(LINE_BYTES as u64 - 1));
        while line < until {
            hint(line);
            line = line.saturating_add(LINE_BYTES as u64);
        }
        self.hinted = self.hinted.max(line);
    }
}

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

/// Hints that the cache line at `ptr` will soon be written, with this CPU's [`WriteHint`]. A loop
/// that hints at every item takes the hint once ([`WriteHint::of_this_cpu`]) and issues it
/// itself, so that the CPU is not asked again at every item.
#[inline(always)]
pub fn prefetch_write<T>(ptr: *const T) {
    WriteHint::of_this_cpu().issue(ptr);
}

/// How this CPU is asked for a line that is about to be written: `prefetchw` fetches it for
/// ownership, so the store that follows finds it writable instead of asking the core that holds
/// it again; a CPU without PREFETCHW gets `prefetcht0`, a fetch for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteHint {
    prefetchw: bool,
}

impl WriteHint {
    /// A fetch for reading (`prefetcht0`), which every x86_64 CPU takes.
    pub const FOR_READING: Self = Self { prefetchw: false };

    /// The hint this CPU takes (CPUID, read once per process).
    #[inline]
    pub fn of_this_cpu() -> Self {
        #[cfg(target_arch = "x86_64")]
        let prefetchw = has_prefetchw();
        #[cfg(not(target_arch = "x86_64"))]
        let prefetchw = false;
        Self { prefetchw }
    }

    /// Issues the hint for the line at `ptr` (nothing, off x86_64).
    #[inline(always)]
    pub fn issue<T>(self, ptr: *const T) {
        #[cfg(target_arch = "x86_64")]
        if self.prefetchw {
            // SAFETY: the CPU implements PREFETCHW (`of_this_cpu` asked CPUID); like every
            // prefetch it is a hint that never faults and writes nothing, so any address is
            // acceptable.
            unsafe {
                std::arch::asm!(
                    "prefetchw [{ptr}]",
                    ptr = in(reg) ptr,
                    options(nostack, preserves_flags, readonly)
                );
            }
        } else {
            prefetch_read(ptr);
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = ptr;
    }

    /// The instruction [`issue`](Self::issue) runs: `"prefetchw"`, `"prefetcht0"` (x86_64
    /// without PREFETCHW), or `"none"` (other architectures, where the hints compile to nothing).
    pub fn instruction(self) -> &'static str {
        if self.prefetchw {
            "prefetchw"
        } else if cfg!(target_arch = "x86_64") {
            "prefetcht0"
        } else {
            "none"
        }
    }
}

/// Whether this CPU has PREFETCHW, asked of CPUID once per process.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_prefetchw() -> bool {
    static HAS_PREFETCHW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS_PREFETCHW.get_or_init(|| {
        use std::arch::x86_64::__cpuid;
        // SAFETY: CPUID exists on every x86_64 CPU and only reads identification registers
        // (newer Rust releases declare `__cpuid` safe, hence the allowance).
        #[allow(unused_unsafe)]
        let (max_extended_leaf, ecx) =
            unsafe { (__cpuid(0x8000_0000).eax, __cpuid(0x8000_0001).ecx) };
        prefetchw_in_cpuid(max_extended_leaf, ecx)
    })
}

/// PREFETCHW's CPUID bit: leaf `0x8000_0001`, ECX bit 8 (Intel's PRFCHW, AMD's 3DNowPrefetch,
/// `3dnowprefetch` in Linux's CPU flags), which counts only where that leaf exists.
#[cfg(any(target_arch = "x86_64", test))]
const fn prefetchw_in_cpuid(max_extended_leaf: u32, ecx: u32) -> bool {
    max_extended_leaf >= 0x8000_0001 && ecx & (1 << 8) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetchw_is_bit_8_of_ecx_in_leaf_8000_0001_where_that_leaf_exists() {
        assert!(prefetchw_in_cpuid(0x8000_0001, 1 << 8));
        assert!(prefetchw_in_cpuid(0x8000_0021, u32::MAX));
        assert!(!prefetchw_in_cpuid(0x8000_0021, !(1 << 8)));
        // A CPU whose extended leaves stop below it answers another leaf's registers.
        assert!(!prefetchw_in_cpuid(0x8000_0000, 1 << 8));
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn the_write_hint_agrees_with_the_kernels_cpu_flags() {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo");
        let flags = cpuinfo
            .lines()
            .find(|l| l.starts_with("flags"))
            .expect("a flags line in /proc/cpuinfo");
        let kernel_says = flags.split_whitespace().any(|f| f == "3dnowprefetch");
        let expected = if kernel_says {
            "prefetchw"
        } else {
            "prefetcht0"
        };
        assert_eq!(WriteHint::of_this_cpu().instruction(), expected, "{flags}");
    }

    #[cfg(not(loom))]
    #[test]
    fn a_line_holds_whole_items_and_never_fewer_than_one() {
        assert_eq!(items_per_line::<u64>(), 8);
        assert_eq!(items_per_line::<String>(), 2);
        assert_eq!(items_per_line::<[u64; 8]>(), 1);
        assert_eq!(items_per_line::<[u8; 100]>(), 1);
        assert_eq!(items_per_line::<()>(), 1);
    }

    #[cfg(not(loom))]
    #[test]
    fn hints_ahead_go_one_line_at_a_time_and_only_to_lines_wholly_known() {
        // `known`: the items published past a consumer's chunk, or the slots free past a
        // producer's claim.
        let positions =
            |start, known, len| -> Vec<usize> { lines_ahead::<u64>(start, known, len).collect() };
        // Behind its producer: the next chunk's 256 items, one hint a line.
        let next = positions(5, 4000, 256);
        assert_eq!(next.len(), 32);
        assert_eq!((next[0], next[1], next[31]), (5, 13, 5 + 31 * 8));
        // Only lines wholly known, never one that also holds a slot past them (slots 5-14 known:
        // the line of slots 8-15 holds slot 15, which the other side may be at); nothing where
        // nothing is.
        assert_eq!(positions(5, 10, 256), [5]);
        assert_eq!(positions(5, 11, 256), [5, 13]);
        assert_eq!(positions(8, 7, 256), Vec::<usize>::new());
        assert_eq!(positions(8, 8, 256), [8]);
        assert!(positions(5, 0, 256).is_empty());
        assert!(positions(5, 4000, 0).is_empty());
        // Positions wrap as the ring's counters do.
        assert_eq!(positions(usize::MAX, 9, 9), [usize::MAX, 7]);
        // Slots that straddle lines (24 bytes: slot 8's line also holds the start of slot 10):
        // a line's worth past a hinted slot must be known too.
        assert_eq!(
            lines_ahead::<[u64; 3]>(0, 10, 256).collect::<Vec<_>>(),
            [0, 2, 4, 6]
        );
        assert_eq!(last_slot_in_line::<[u64; 16]>(7), 7);
        // A line an item: at most 32 lines ahead, however long the chunk.
        let rows: Vec<usize> = lines_ahead::<[u64; 8]>(0, 4096, 256).collect();
        assert_eq!(rows, (0..32).collect::<Vec<_>>());
    }

    #[test]
    fn a_reader_hints_each_published_line_once_and_a_lead_ahead_at_most() {
        let mut hints = LineHints::default();
        let mut hinted = Vec::new();
        let lead_lines = READ_LEAD_BYTES / LINE_BYTES as u64;
        // Reading from position 0 with plenty published: the lead's lines.
        hints.ahead_of(0, 1 << 20, |line| hinted.push(line));
        assert_eq!(hinted, (0..lead_lines).map(|l| l * 64).collect::<Vec<_>>());
        // Asked again: nothing new; a few bytes on, the line those bytes reach into, once.
        hinted.clear();
        hints.ahead_of(0, 1 << 20, |line| hinted.push(line));
        assert!(hinted.is_empty());
        hints.ahead_of(8, 1 << 20, |line| hinted.push(line));
        hints.ahead_of(64, 1 << 20, |line| hinted.push(line));
        assert_eq!(hinted, [lead_lines * 64]);
        // Never at or past what is published, and what was not hinted then is hinted once
        // published.
        let (mut hints, mut hinted) = (LineHints::default(), Vec::new());
        hints.ahead_of(0, 100, |line| hinted.push(line));
        assert_eq!(hinted, [0, 64]);
        hints.ahead_of(0, 100, |line| hinted.push(line));
        hints.ahead_of(0, 129, |line| hinted.push(line));
        assert_eq!(hinted, [0, 64, 128]);
        hints.ahead_of(10, 10, |line| hinted.push(line));
        assert_eq!(hinted, [0, 64, 128]);
        // Nothing near the end of the counters wraps into a hint for position 0.
        let (mut hints, mut hinted) = (LineHints::default(), Vec::new());
        hints.ahead_of(u64::MAX - 100, u64::MAX, |line| hinted.push(line));
        assert_eq!(hinted, [u64::MAX - 127, u64::MAX - 63]);
    }

    #[test]
    fn hints_at_addresses_nobody_may_touch_do_not_fault() {
        for ptr in [
            std::ptr::null::<u64>(),
            usize::MAX as *const u64,
            std::ptr::dangling::<u64>(),
        ] {
            prefetch_read(ptr);
            prefetch_write(ptr);
        }
    }
}
