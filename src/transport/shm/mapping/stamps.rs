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

    /// Copies the item out of the slot at stream `position` into `out` (the item's bytes, as
    /// [`Segment::write_item`] wrote them): word by word with volatile loads, never through a
    /// reference (the sender's process may be writing them), each whole word a plain move. The
    /// caller has seen the slot's stamp first ([`Segment::is_stamped`]).
    ///
    /// # Panics
    /// When the slot would leave the window (the slot arithmetic keeps it inside).
    #[inline]
    pub fn read_item(&self, position: u64, out: &mut [u8]) {
        let last = out.len() / 8;
        let offset = ring_offset(position, self.capacity) + layout::slot::ITEM;
        let at = self.window_words(offset, out.len().div_ceil(8));
        // SAFETY: `window_words` checked that the item's words lie inside the window; word `i`
        // of them, 8-aligned. Volatile: another process may be writing it.
        let word = |i: usize| unsafe { at.add(i).read_volatile() }.to_ne_bytes();
        let mut whole = out.chunks_exact_mut(8);
        for (i, chunk) in (&mut whole).enumerate() {
            chunk.copy_from_slice(&word(i));
        }
        let rest = whole.into_remainder();
        if !rest.is_empty() {
            rest.copy_from_slice(&word(last)[..rest.len()]);
        }
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
        // Counted apart from the stamps: a full slot's stamp *is* the next slot's position, and
        // with the position carried from one slot to the next the compiler took it from the
        // loaded stamp, so that each load's address waited on the previous load, a transfer from
        // the sender's core each, one after another (64 items a batch streamed at 20.6 M items/s
        // on the 2-vCPU Xeon guest, 26-29 M counted apart; 60 against 99 M in 4,096 slots).
        // `black_box` keeps the count opaque, so the loads' addresses never come from their
        // values and the CPU issues them together.
        let mut taken = 0;
        while taken < most {
            let at = from.wrapping_add(taken * slot as u64);
            if !self.is_stamped(at, slot) {
                break;
            }
            taken = std::hint::black_box(taken + 1);
        }
        from.wrapping_add(taken * slot as u64)
    }

    /// Zeroes every slot's stamp (slots of `slot` bytes): before a sender is let in, so that
    /// no stamp an earlier sender left (one that died, or was dropped for what it wrote) passes
    /// for the new sender's. The caller makes sure no sender is writing.
    pub fn clear_stamps(&self, slot: usize) {
        for offset in (0..self.capacity).step_by(slot.max(8)) {
            self.stamp_word(offset as u64).store(0, Relaxed);
        }
    }

    /// The stamp of the slot at stream `position` ([`layout::slot::STAMP`] into it), an atomic
    /// word in the window.
    ///
    /// # Panics
    /// When `position` is not 8-aligned (a slot's start always is).
    #[inline]
    fn stamp_word(&self, position: u64) -> &AtomicU64 {
        let offset = ring_offset(position, self.capacity) + layout::slot::STAMP;
        let at = self.window_words(offset, 1);
        // SAFETY: inside the window and 8-aligned (checked by `window_words`); the mapping lives
        // as long as `self`, and both processes touch stamp words only through atomics.
        unsafe { AtomicU64::from_ptr(at) }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use proptest::prelude::*;

    use super::super::Segment;
    use super::layout;

    /// What a slot's stamp word holds in a case.
    #[derive(Debug, Clone, Copy)]
    enum Mark {
        /// Its own stamp, written with its item.
        Own,
        /// Zero (a new file, or cleared).
        Zero,
        /// The stamp of the same slot a lap earlier.
        LapBefore,
        /// The stamp of the same slot a lap later.
        LapAfter,
        /// The next slot's stamp.
        Neighbour,
    }

    fn mark() -> impl Strategy<Value = Mark> {
        prop_oneof![
            8 => Just(Mark::Own),
            1 => Just(Mark::Zero),
            1 => Just(Mark::LapBefore),
            1 => Just(Mark::LapAfter),
            1 => Just(Mark::Neighbour),
        ]
    }

    /// The `len` bytes of the item written into the `k`th slot of a case, none zero (a read that
    /// took the last word's padding would show).
    fn item_bytes(k: usize, len: usize) -> Vec<u8> {
        (0..len).map(|i| (k * 131 + i) as u8 | 1).collect()
    }

    /// A fresh ring file of the smallest window for items of `item` bytes.
    fn segment(item: usize) -> (Segment, std::path::PathBuf) {
        static CASES: AtomicUsize = AtomicUsize::new(0);
        let case = CASES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "ringtop-stamps-{}-{case}.{}",
            std::process::id(),
            layout::EXTENSION
        ));
        (
            Segment::create(&path, layout::MIN_WINDOW, item).unwrap(),
            path,
        )
    }

    proptest! {
        #[test]
        fn the_stamps_publish_exactly_the_run_of_slots_stamped_for_their_own_positions(
            item in prop_oneof![
                Just(1usize), Just(8), Just(12), Just(20), Just(24), Just(56), Just(57), Just(64),
                Just(120)
            ],
            laps in 0u64..3,
            first in 0u64..256,
            marks in prop::collection::vec(mark(), 1..80),
            // Often fewer than the run of stamped slots: the cap must hold.
            most in prop_oneof![0u64..4, 0u64..100],
        ) {
            let (segment, path) = segment(item);
            let slot = layout::slot_bytes(item);
            let capacity = layout::MIN_WINDOW as u64;
            let slots = capacity / slot as u64;
            let from = laps * capacity + (first % slots) * slot as u64;
            let marks = &marks[..marks.len().min(slots as usize)];
            for (k, mark) in marks.iter().enumerate() {
                let at = from + k as u64 * slot as u64;
                let word = match mark {
                    Mark::Own => {
                        segment.write_item(at, slot, &item_bytes(k, item));
                        continue;
                    }
                    Mark::Zero => 0,
                    Mark::LapBefore => layout::stamp(at.wrapping_sub(capacity), slot),
                    Mark::LapAfter => layout::stamp(at + capacity, slot),
                    Mark::Neighbour => layout::stamp(at + slot as u64, slot),
                };
                let offset = (at % capacity) as usize + layout::slot::STAMP;
                segment.write_window(offset, &word.to_le_bytes());
            }
            for (k, mark) in marks.iter().enumerate() {
                let at = from + k as u64 * slot as u64;
                prop_assert_eq!(segment.is_stamped(at, slot), matches!(mark, Mark::Own), "slot {}", k);
            }
            let run = marks.iter().take_while(|m| matches!(m, Mark::Own)).count() as u64;
            prop_assert_eq!(
                segment.stamped_tail(from, slot, most),
                from + run.min(most) * slot as u64
            );
            // A whole lap of stamped slots stops there: the next lap's slot holds this lap's
            // stamp, never its own.
            prop_assert_eq!(
                segment.stamped_tail(from, slot, u64::MAX),
                from + run * slot as u64
            );
            // Clearing takes every stamp and leaves the items, each read back whole and alone
            // (the padding of its last word, and the next slot's stamp, never in it).
            segment.clear_stamps(slot);
            prop_assert_eq!(segment.stamped_tail(from, slot, u64::MAX), from);
            for (k, mark) in marks.iter().enumerate() {
                if matches!(mark, Mark::Own) {
                    let mut bytes = vec![0xEE; item];
                    segment.read_item(from + k as u64 * slot as u64, &mut bytes);
                    prop_assert_eq!(bytes, item_bytes(k, item), "slot {}", k);
                }
            }
            drop(segment);
            let _ = std::fs::remove_file(path);
        }
    }
}
