//! `delta`: each column as differences from the previous value (on the 64-bit patterns,
//! wrapping), bit-packed with a frame of reference per 128 values ([`pack`]): a column that
//! moves by a few units costs a few bits a value, and unpacks with one load and a shift each.
//! Frames of format version 1 wrote the differences as zigzag varints; they still decode.
//!
//! Suits slowly moving series whose neighbouring values share sign and exponent (prices,
//! counters, timestamps): their bit patterns differ in the low mantissa bits only. Noisy
//! full-precision floats gain little; use `xor` or `shuffle-lz4` there.

use super::CodecError;
use super::columns::{Columns, WORDS};
use super::io::{ByteReader, ByteWriter, unzigzag};
use super::pack;

/// Worst case per value of version 1: a 10-byte varint.
const MAX_VARINT_BYTES_PER_ROW: usize = WORDS * 10;

/// The most bytes a payload of `rows` rows takes, in either version.
pub(crate) const fn max_len(rows: usize) -> usize {
    let packed = WORDS * pack::max_len(rows);
    let varints = rows * MAX_VARINT_BYTES_PER_ROW;
    if packed > varints { packed } else { varints }
}

/// Writes each column's differences, packed; `diffs` is reusable space.
pub(crate) fn encode(
    cols: &Columns,
    diffs: &mut Vec<i64>,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    for c in 0..WORDS {
        diffs.clear();
        let mut prev = 0u64;
        diffs.extend(cols.column(c).iter().map(|&v| {
            let d = v.wrapping_sub(prev) as i64;
            prev = v;
            d
        }));
        pack::encode(diffs, out)?;
    }
    Ok(())
}

/// Reads a payload of format `version` (1: varints; 2: packed).
pub(crate) fn decode(
    input: &mut ByteReader<'_>,
    cols: &mut Columns,
    version: u8,
) -> Result<(), CodecError> {
    for c in 0..WORDS {
        let column = cols.column_mut(c);
        if version == 1 {
            let mut prev = 0u64;
            for slot in column {
                prev = prev.wrapping_add(unzigzag(input.varint()?) as u64);
                *slot = prev;
            }
        } else {
            pack::decode(input, column)?;
            let mut prev = 0u64;
            for slot in column {
                prev = prev.wrapping_add(*slot);
                *slot = prev;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::io::zigzag;

    #[test]
    fn payloads_of_format_version_1_still_decode() {
        let n = 300;
        let mut cols = Columns::default();
        cols.reset(n);
        for c in 0..WORDS {
            for (i, w) in cols.column_mut(c).iter_mut().enumerate() {
                *w = ((i * i * (c + 1)) as u64).wrapping_mul(0x9e37_79b9) ^ (c as u64) << 60;
            }
        }
        // Version 1: zigzag varints of the differences.
        let mut buf = vec![0u8; max_len(n)];
        let mut out = ByteWriter::new(&mut buf);
        for c in 0..WORDS {
            let mut prev = 0u64;
            for &v in cols.column(c) {
                out.put_varint(zigzag(v.wrapping_sub(prev) as i64)).unwrap();
                prev = v;
            }
        }
        let len = out.position();
        let mut back = Columns::default();
        back.reset(n);
        let mut input = ByteReader::new(&buf[..len]);
        decode(&mut input, &mut back, 1).unwrap();
        input.finish().unwrap();
        // Version 2: packed, and no bigger than the bound.
        let mut packed = vec![0u8; max_len(n)];
        let mut out = ByteWriter::new(&mut packed);
        encode(&cols, &mut Vec::new(), &mut out).unwrap();
        let packed_len = out.position();
        let mut again = Columns::default();
        again.reset(n);
        let mut input = ByteReader::new(&packed[..packed_len]);
        decode(&mut input, &mut again, 2).unwrap();
        input.finish().unwrap();
        for c in 0..WORDS {
            assert_eq!(back.column(c), cols.column(c), "version 1, column {c}");
            assert_eq!(again.column(c), cols.column(c), "version 2, column {c}");
        }
    }
}
