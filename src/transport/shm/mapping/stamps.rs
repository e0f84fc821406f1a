//! A window of item slots, each published by its stamp ([`layout::slot`]): the sender's write
//! of an item and its stamp, the receiver's look at the stamps, and their clearing between
//! senders. One home for the rule that a slot is full when its stamp is its position's.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crate::ring::record::ring_offset;

use super::super::layout;
use super::{Segment, write_words};

impl Segment {
    /// Writes an item into the slot at stream `position` (`slot` bytes, [`layout::slot`]): its
    /// bytes after the stamp's word, the last word padded with zeros, word by word as
    /// [`Segment::write_record`]; then the slot's stamp (`Release`), which publishes it.
    ///
    /// # Panics
    /// When the slot would leave the window (the slot arithmetic keeps it inside).
    #[inline]
    pub fn write_item(&self, position: u64, slot: usize, item: &[u8]) {
        let offset = ring_offset(position, self.capacity);
        let at = self.window_words(offset, (layout::slot::ITEM + item.len()).div_ceil(8));
        // SAFETY: as in `write_record`: the stamp's and the item's words lie inside the window
        // (checked); the receiver reads the item's words only once it has seen the stamp below.
        unsafe { write_words(at.add(layout::slot::ITEM / 8), item) }
        self.stamp_word(position)
            .store(layout::stamp(position, slot), Release);
    }

    /// Whether the slot at stream `position` (of `slot` bytes) holds its item: one `Acquire`
    /// load of its stamp, after which the item's bytes are visible. The word a receiver polls
    /// for the next item, in the line it then reads the item from.
    #[inline]
    pub fn is_stamped(&self, position: u64, slot: usize) -> bool {
        self.stamp_word(position).load(Acquire) == layout::stamp(position, slot)
    }

    /// The position past the full slots (of `slot` bytes) from `from` on, at most `most` of
    /// them: how far the sender has published, read from the stamps alone.
    #[inline]
    pub fn stamped_tail(&self, from: u64, slot: usize, most: u64) -> u64 {
        let mut at = from;
        for _ in 0..most {
            if !self.is_stamped(at, slot) {
                break;
            }
            at = at.wrapping_add(slot as u64);
        }
        at
    }

    /// Zeroes every slot's stamp (slots of `slot` bytes): before a sender is let in, so that
    /// no stamp an earlier sender left (one that died, or was dropped for what it wrote) passes
    /// for the new sender's. The caller makes sure no sender is writing.
    pub fn clear_stamps(&self, slot: usize) {
        for offset in (0..self.capacity).step_by(slot.max(8)) {
            self.stamp_word(offset as u64).store(0, Relaxed);
        }
    }

    /// The stamp of the slot at stream `position`, an atomic word in the window.
    ///
    /// # Panics
    /// When `position` is not 8-aligned (a slot's start always is).
    #[inline]
    fn stamp_word(&self, position: u64) -> &AtomicU64 {
        let at = self.window_words(ring_offset(position, self.capacity), 1);
        // SAFETY: inside the window and 8-aligned (checked by `window_words`); the mapping lives
        // as long as `self`, and both processes touch stamp words only through atomics.
        unsafe { AtomicU64::from_ptr(at) }
    }
}
