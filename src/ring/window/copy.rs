//! How a [`WindowReader`] copies a record's payload out of memory another process or a device
//! may be writing (word by word, volatile), and the read hints that keep the lines it is about
//! to read on their way.

#[cfg(not(loom))]
use super::ring_offset;
use super::{ALIGN, HEADER, WindowReader};
#[cfg(not(loom))]
use crate::ring::pad::LINE_BYTES;
#[cfg(not(loom))]
use crate::ring::prefetch::prefetch_read;

/// The words in a cache line: the copy hints ahead once per this many.
#[cfg(not(loom))]
const LINE_WORDS: usize = LINE_BYTES / ALIGN;

impl WindowReader {
    /// `len` payload bytes of the record at `position`, copied word by word with volatile reads
    /// into `out` (for memory a device may be writing, and under loom, which tracks every word).
    #[cfg(loom)]
    pub(super) fn copy_payload(&self, position: u64, len: usize, out: &mut Vec<u8>) {
        out.clear();
        let first = position + HEADER as u64;
        for i in 0..len.div_ceil(ALIGN) as u64 {
            // SAFETY: the words lie inside the record (`footprint(len)` bytes from `position`,
            // checked by the caller to be published and inside the buffer); volatile, because a
            // device may be writing them.
            let word = self
                .shared
                .word(first + i * ALIGN as u64)
                .with(|p| unsafe { p.read_volatile() });
            out.extend_from_slice(&word.to_ne_bytes());
        }
        out.truncate(len);
    }

    /// `len` payload bytes of the record at `position`, copied word by word with volatile reads
    /// into `out`, a line at a time after [`WindowReader::hint_ahead`]: memory a device (or
    /// another process) may be writing is never read through a reference, only a word at a
    /// time, each read once.
    #[cfg(not(loom))]
    pub(super) fn copy_payload(&mut self, position: u64, len: usize, out: &mut Vec<u8>) {
        let words = len.div_ceil(ALIGN);
        let offset = ring_offset(position, self.capacity) + HEADER;
        out.clear();
        out.reserve(words * ALIGN);
        // SAFETY: the record's `footprint(len)` bytes from `position` lie inside the buffer
        // (checked by the caller: `offset - HEADER + footprint <= capacity`), so the `words`
        // 8-aligned words from `offset` are inside it (the buffer is 8-aligned); each is read once,
        // volatile, because a device or another process may be writing it; `out` has room for
        // them (reserved above) and its length is set only once they are all written.
        unsafe {
            let source = self.shared.base().add(offset).cast::<u64>().cast_const();
            let target = out.as_mut_ptr().cast::<u64>();
            let first = position + HEADER as u64;
            for line in (0..words).step_by(LINE_WORDS) {
                self.hint_ahead(first + (line * ALIGN) as u64);
                for i in line..words.min(line + LINE_WORDS) {
                    target.add(i).write_unaligned(source.add(i).read_volatile());
                }
            }
            out.set_len(words * ALIGN);
        }
        out.truncate(len);
    }

    /// Read hints for the published lines up to a lead past stream `position`, those not
    /// hinted yet: the lines a reader of another core's records is about to wait on
    /// ([`LineHints::ahead_of`]). Only timing changes.
    #[cfg(not(loom))]
    #[inline(always)]
    pub(super) fn hint_ahead(&mut self, position: u64) {
        let (base, capacity) = (self.shared.base(), self.capacity);
        self.read_ahead
            .ahead_of(position, self.cached_tail, |line| {
                prefetch_read(base.wrapping_add(ring_offset(line, capacity)));
            });
    }
}
