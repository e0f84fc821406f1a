//! `delta`: each column as differences from the previous value (on the 64-bit patterns,
//! wrapping), zigzag-mapped and written as varints.
//!
//! Suits slowly moving series whose neighbouring values share sign and exponent (prices,
//! counters, timestamps): their bit patterns differ in the low mantissa bits only. Noisy
//! full-precision floats gain little; use `xor` or `shuffle-lz4` there.

use super::CodecError;
use super::columns::{Columns, WORDS};
use super::io::{ByteReader, ByteWriter, unzigzag, zigzag};

/// Worst case per value: a 10-byte varint.
pub(crate) const MAX_BYTES_PER_ROW: usize = WORDS * 10;

pub(crate) fn encode(cols: &Columns, out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    for c in 0..WORDS {
        let mut prev = 0u64;
        for &v in cols.column(c) {
            out.put_varint(zigzag(v.wrapping_sub(prev) as i64))?;
            prev = v;
        }
    }
    Ok(())
}

pub(crate) fn decode(input: &mut ByteReader<'_>, cols: &mut Columns) -> Result<(), CodecError> {
    for c in 0..WORDS {
        let mut prev = 0u64;
        for slot in cols.column_mut(c) {
            prev = prev.wrapping_add(unzigzag(input.varint()?) as u64);
            *slot = prev;
        }
    }
    Ok(())
}
