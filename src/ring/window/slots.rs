//! The window as fixed-size slots, the shared-memory item ring's layout: every tail on a slot's
//! boundary, and items read out of their slots with no header to check (any bytes are an item).

use super::{ALIGN, WindowError, WindowReader, WindowWriter, Word, ring_offset};

impl WindowWriter {
    /// Takes only tails that are multiples of `slot` from now on: the window holds fixed-size
    /// slots ([`WindowReader::try_read_slots`]), not records.
    ///
    /// # Errors
    /// [`WindowError::BadTail`] when `slot` is not a power of two from [`ALIGN`] to the
    /// capacity, or the published tail is not on a slot's boundary.
    pub fn set_slot(&mut self, slot: usize) -> Result<(), WindowError> {
        let bad = |reason: String| WindowError::BadTail {
            tail: self.published,
            reason,
        };
        if !slot.is_power_of_two() || !(ALIGN..=self.capacity).contains(&slot) {
            return Err(bad(format!(
                "slots of {slot} bytes do not tile a {}-byte window",
                self.capacity
            )));
        }
        if !self.published.is_multiple_of(slot as u64) {
            return Err(bad(format!("not on a boundary of {slot}-byte slots")));
        }
        self.granule = slot as u64;
        Ok(())
    }
}

/// Where the items lie in a window of fixed-size slots: `item` bytes from byte `at` (a multiple
/// of [`ALIGN`]) of each `slot`-byte slot. The bytes before `at` are the writer's own (the
/// shared-memory item ring keeps each slot's stamp there); the reader never reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotShape {
    /// The slot's size: the writer's [`WindowWriter::set_slot`].
    pub slot: usize,
    /// Where in its slot the item starts.
    pub at: usize,
    /// The item's size.
    pub item: usize,
}

impl WindowReader {
    /// Items out of the next fixed-size slots, among those published as of the last
    /// [`WindowReader::refresh`] and before position `until`: `out` is cut into items of
    /// `shape.item` bytes, each filled with the item's bytes of one slot (`shape`), and the
    /// slots read are then released together; how many. `0` once the known slots (before
    /// `until`) are read. For a window of slots (the writer's [`WindowWriter::set_slot`]),
    /// which have no header: any bytes are an item, so there is nothing to check but where the
    /// slots are. Copied word by word with volatile reads (memory another process may be
    /// writing is never read through a reference), and not marked: a slot's bytes are its
    /// item's.
    ///
    /// # Errors
    /// [`WindowError::BadRecord`] when fewer than `shape.slot` bytes are published at a slot's
    /// start or a slot would not fit before the end of the buffer (a slot size the writer does
    /// not use), or when the item is empty, off [`ALIGN`] or does not fit its slot. Slots read
    /// before it stay released.
    #[inline]
    pub fn try_read_slots(
        &mut self,
        out: &mut [u8],
        shape: SlotShape,
        until: u64,
    ) -> Result<usize, WindowError> {
        let SlotShape {
            slot,
            at: skip,
            item,
        } = shape;
        if item == 0 || !skip.is_multiple_of(ALIGN) || item.saturating_add(skip) > slot {
            return Err(WindowError::BadRecord {
                position: self.head,
                reason: format!("a slot of {slot} bytes for {item}-byte items from byte {skip}"),
            });
        }
        let end = self.cached_tail.min(until.max(self.head));
        let mut read = 0;
        let mut at = self.head;
        let result = loop {
            if at >= end {
                break Ok(read);
            }
            let Some(target) = out.get_mut(read * item..(read + 1) * item) else {
                break Ok(read);
            };
            let offset = ring_offset(at, self.capacity);
            let available = self.cached_tail - at;
            if available < slot as u64 || offset + slot > self.capacity {
                break Err(WindowError::BadRecord {
                    position: at,
                    reason: format!(
                        "a slot of {slot} bytes at offset {offset}, {available} bytes published"
                    ),
                });
            }
            // The slot's words, found once: a slot never wraps (checked above).
            let first = (offset + skip) / ALIGN;
            let words = &self.shared.words[first..first + item.div_ceil(ALIGN)];
            // SAFETY: each word lies inside the slot (`skip + item <= slot`) and is published (the
            // slot's bytes are below the tail loaded with Acquire); the writer does not touch
            // it until the head passes it. Volatile: another process may be writing it.
            let load = |word: &Word| word.with(|p| unsafe { p.read_volatile() }).to_ne_bytes();
            // Whole words as fixed-size copies (a plain move each, not a call to `memcpy`).
            let mut whole = target.chunks_exact_mut(ALIGN);
            for (chunk, word) in (&mut whole).zip(words) {
                chunk.copy_from_slice(&load(word));
            }
            let rest = whole.into_remainder();
            if let (false, Some(word)) = (rest.is_empty(), words.last()) {
                rest.copy_from_slice(&load(word)[..rest.len()]);
            }
            read += 1;
            at += slot as u64;
        };
        if at != self.head {
            self.release_to(at);
        }
        result
    }
}
