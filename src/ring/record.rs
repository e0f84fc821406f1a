//! The record format that [`super::frames`] and [`super::window`] share: variable-length byte
//! records in a power-of-two byte ring.
//!
//! | bytes | field |
//! |---|---|
//! | 0..4 | payload length, little-endian `u32` |
//! | 4..8 | kind, little-endian `u32` ([`PADDING`]: skip to the ring's end; [`CONSUMED`]: released) |
//! | 8.. | payload, zero-padded to a multiple of [`ALIGN`] |
//!
//! A record never wraps: when the next one does not fit before the end of the buffer, a padding
//! record fills the rest and the record starts at offset 0. A payload is at most
//! [`max_payload`], half the ring less a header, so a record and the padding before it always fit
//! in an empty ring. The frame ring writes the header as one 8-byte word ([`header_word`]), the
//! window as bytes ([`record_header`]); both are the same bytes in memory.

/// Bytes of the header in front of every record.
pub const HEADER: usize = 8;
/// Record alignment in bytes; every record starts on a multiple of it.
pub const ALIGN: usize = 8;
/// The kind of a padding record, which readers skip.
pub const PADDING: u32 = u32::MAX;
/// The kind a window's reader writes over each header it releases, so that a tail published over
/// bytes nobody wrote since reads as an error, not as the stale record that was there.
pub const CONSUMED: u32 = u32::MAX - 1;

/// Bytes a record with `len` payload bytes occupies.
#[inline]
pub const fn footprint(len: usize) -> usize {
    HEADER + len.next_multiple_of(ALIGN)
}

/// Where stream position `position` falls in a ring of `capacity` bytes, a power of two (every
/// ring's is): a mask, not a division, since it runs on every record's way in and out.
#[inline(always)]
pub const fn ring_offset(position: u64, capacity: usize) -> usize {
    debug_assert!(capacity.is_power_of_two());
    (position & (capacity as u64 - 1)) as usize
}

/// The largest payload a ring of `capacity` bytes accepts: half of it less a header, so a record
/// plus the padding in front of it always fit in an empty ring.
#[inline]
pub const fn max_payload(capacity: usize) -> usize {
    (capacity / 2).saturating_sub(HEADER)
}

/// The 8-byte header of a record: payload length then kind, little-endian.
#[inline]
pub fn record_header(len: u32, kind: u32) -> [u8; HEADER] {
    let mut header = [0; HEADER];
    header[..4].copy_from_slice(&len.to_le_bytes());
    header[4..].copy_from_slice(&kind.to_le_bytes());
    header
}

/// A record's bytes as a writer copies them in: header, payload, zero padding.
pub fn encode_record(kind: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(footprint(payload.len()));
    bytes.extend_from_slice(&record_header(payload.len() as u32, kind));
    bytes.extend_from_slice(payload);
    bytes.resize(footprint(payload.len()), 0);
    bytes
}

/// The header as one word whose bytes in memory are [`record_header`]'s.
#[inline(always)]
pub fn header_word(len: u32, kind: u32) -> u64 {
    u64::from_ne_bytes(record_header(len, kind))
}

/// The payload length and kind of a header read as one word.
#[inline(always)]
pub fn split_header_word(word: u64) -> (u32, u32) {
    let bytes = word.to_ne_bytes();
    let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let kind = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    (len, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_word_is_the_header_bytes() {
        for (len, kind) in [(0, 0), (5, PADDING), (u32::MAX, 3), (1 << 20, 1)] {
            let word = header_word(len, kind);
            assert_eq!(word.to_ne_bytes(), record_header(len, kind));
            assert_eq!(split_header_word(word), (len, kind));
        }
    }

    #[test]
    fn records_are_padded_to_the_alignment_and_fit_half_the_ring() {
        assert_eq!(footprint(0), 8);
        assert_eq!(footprint(1), 16);
        assert_eq!(footprint(8), 16);
        assert_eq!(
            encode_record(2, b"abc"),
            [3, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', b'c', 0, 0, 0, 0, 0]
        );
        assert_eq!(max_payload(256), 120);
        assert!(HEADER + footprint(max_payload(256)) <= 256 / 2 + HEADER);
    }
}
