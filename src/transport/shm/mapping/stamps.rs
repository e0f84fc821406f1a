//! A window of item slots, each published by its stamp ([`layout::slot`]): the sender's write
//! of an item and its stamp, the receiver's look at the stamps, and their clearing between
//! senders. One home for the rule that a slot is full when its stamp is its position's.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use crate::ring::pad::LINE_BYTES;
use crate::ring::prefetch::{WRITE_LEAD_BYTES, WriteHint};
use crate::ring::record::ring_offset;

use super::super::layout;
use super::{Segment, write_words};

/// The most lines past their stamps' that one look at the stamps hints
/// ([`Segment::stamped_tail_to_read`]): more than a core keeps in flight would wait for room.
const SCAN_HINTS: u32 = 64;

/// Which lines of a batch of slots [`Segment::write_items`] hints, and when: before the slot at
/// a position is written, every line of it and of the slots up to [`WRITE_LEAD_BYTES`] past
/// it that holds a stamp or item bytes (a slot's padding lines are never written), each once,
/// none past the batch.
#[derive(Debug, Clone, Copy)]
struct SlotWriteHints {
    /// The batch's first slot.
    start: u64,
    /// The batch's end.
    end: u64,
    /// A slot's bytes, a power of two.
    slot: u64,
    /// The bytes a slot's stamp and item take.
    used: u64,
    /// The first line not looked at yet.
    unhinted: u64,
}

impl SlotWriteHints {
    /// For `count` items of `item` bytes in slots of `slot` bytes from stream `start` on.
    #[inline(always)]
    fn new(start: u64, slot: usize, item: usize, count: usize) -> Self {
        SlotWriteHints {
            start,
            end: start + (count * slot) as u64,
            slot: slot as u64,
            used: (layout::slot::ITEM + item) as u64,
            unhinted: start & !(LINE_BYTES as u64 - 1),
        }
    }

    /// Calls `hint` for the lines due before the slot at `at` is written (one comparison when
    /// none is).
    #[inline(always)]
    fn before_writing(&mut self, at: u64, mut hint: impl FnMut(u64)) {
        let due = (at + self.slot + WRITE_LEAD_BYTES).min(self.end);
        while self.unhinted < due {
            // Slots start at multiples of their size (a power of two): a line is padding when it
            // starts `used` bytes or more into its slot.
            if self.unhinted.wrapping_sub(self.start) & (self.slot - 1) < self.used {
                hint(self.unhinted);
            }
            self.unhinted += LINE_BYTES as u64;
        }
    }
}

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

    /// Writes `count` items of `item` bytes (`items`, at least that long) into the slots from
    /// stream `position` on, each as [`Segment::write_item`] does, asking for the lines the
    /// slots' stamps and items take (not a slot's padding lines) [`WRITE_LEAD_BYTES`] before the
    /// writes reach them (with `hint`: `prefetchw` where the CPU has it). Only these slots are
    /// hinted, the room the sender holds: never a line the receiver may still read. One
    /// comparison an item where no line is due: small items stream as fast as without.
    ///
    /// # Panics
    /// When a slot would leave the window (the slot arithmetic keeps them inside), or `items`
    /// is shorter than `count` items.
    #[inline]
    pub fn write_items(
        &self,
        position: u64,
        slot: usize,
        (items, item, count): (&[u8], usize, usize),
        hint: WriteHint,
    ) {
        let mut hints = SlotWriteHints::new(position, slot, item, count);
        for k in 0..count {
            let at = position + (k * slot) as u64;
            hints.before_writing(at, |line| self.hint_line(line, hint));
            // Sliced by hand: `chunks_exact` divides the length by the item size to find its end.
            self.write_item(at, slot, &items[k * item..(k + 1) * item]);
        }
    }

    /// Issues `hint` for the window's line at stream `position`. Only timing changes: a hint
    /// reads and writes nothing.
    #[inline(always)]
    fn hint_line(&self, position: u64, hint: WriteHint) {
        hint.issue(self.window_address(position));
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
        self.scan_stamps(from, slot, 0, most)
    }

    /// As [`Segment::stamped_tail`], for the receiver about to read the slots' items of `item`
    /// bytes: the lines each full slot's item takes past its stamp's line are hinted as the
    /// scan goes, at most `SCAN_HINTS` of them. A slot of two lines read after the count waited
    /// on the second line's transfer alone (batches of 64 through 1,024 slots on the 2-vCPU
    /// Xeon guest: 64-byte items 71 against 87 M items/s, 120-byte items 52 against 84 M).
    #[inline]
    pub fn stamped_tail_to_read(&self, from: u64, slot: usize, item: usize, most: u64) -> u64 {
        self.scan_stamps(from, slot, layout::slot::ITEM + item, most)
    }

    /// [`Segment::stamped_tail`], hinting each full slot's lines from its second to `used`
    /// bytes into it.
    #[inline(always)]
    fn scan_stamps(&self, from: u64, slot: usize, used: usize, most: u64) -> u64 {
        // Counted apart from the stamps: a full slot's stamp *is* the next slot's position, and
        // with the position carried from one slot to the next the compiler took it from the
        // loaded stamp, so that each load's address waited on the previous load, a transfer from
        // the sender's core each, one after another (64 items a batch streamed at 20.6 M items/s
        // on the 2-vCPU Xeon guest, 26-29 M counted apart; 60 against 99 M in 4,096 slots).
        // `black_box` keeps the count opaque, so the loads' addresses never come from their
        // values and the CPU issues them together.
        let mut taken = 0;
        let mut hints = 0;
        while taken < most {
            let at = from.wrapping_add(taken * slot as u64);
            if !self.is_stamped(at, slot) {
                break;
            }
            let mut line = LINE_BYTES;
            while line < used && hints < SCAN_HINTS {
                self.prefetch_window(at + line as u64);
                line += LINE_BYTES;
                hints += 1;
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
    use super::{LINE_BYTES, SlotWriteHints, WRITE_LEAD_BYTES, layout};

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
        fn a_batch_hints_each_line_its_slots_write_once_before_it_is_written_and_nothing_else(
            item in prop_oneof![
                Just(1usize), Just(8), Just(24), Just(56), Just(57), Just(64), Just(120),
                Just(200), Just(1024)
            ],
            first in 0u64..10_000,
            count in 1usize..70,
        ) {
            let slot = layout::slot_bytes(item);
            let start = first * slot as u64;
            let end = start + (count * slot) as u64;
            let line_of = |position: u64| position & !(LINE_BYTES as u64 - 1);
            // The lines holding a stamp or item byte of the batch's slots.
            let written = |line: u64| {
                (0..count).any(|k| {
                    let at = start + (k * slot) as u64;
                    line < at + (8 + item) as u64 && at < line + LINE_BYTES as u64
                })
            };
            let mut hints = SlotWriteHints::new(start, slot, item, count);
            let mut hinted: Vec<u64> = Vec::new();
            for k in 0..count {
                let at = start + (k * slot) as u64;
                let before = hinted.len();
                hints.before_writing(at, |line| hinted.push(line));
                for &line in &hinted[before..] {
                    prop_assert_eq!(line, line_of(line), "a hint for a line's start");
                    prop_assert!(line < end && line >= line_of(start), "inside the batch");
                    prop_assert!(line < at + (slot as u64) + WRITE_LEAD_BYTES, "within the lead");
                    prop_assert!(written(line), "line {} is padding", line);
                }
                // Every line this slot writes has been hinted by now.
                let mut line = line_of(at);
                while line < at + (8 + item) as u64 {
                    prop_assert!(hinted.contains(&line), "line {} of slot {} unhinted", line, k);
                    line += LINE_BYTES as u64;
                }
            }
            let mut unique = hinted.clone();
            unique.dedup();
            prop_assert_eq!(unique.len(), hinted.len(), "a line hinted twice");
        }

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
            // The receiver's look, which hints the lines it is about to read, finds the same.
            prop_assert_eq!(
                segment.stamped_tail_to_read(from, slot, item, most),
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
