//! `shuffle-lz4`: each column's values split into byte planes (byte 0 of every value, then byte 1,
//! …) before LZ4, as Blosc does. The high bytes of similar floats (sign, exponent, top of the
//! mantissa) line up into long runs that LZ4 finds. Planes holding one byte value throughout (the
//! top bytes of small integers, an unused column) are stored as that byte and kept out of LZ4.
//!
//! Suits noisy floats and wide integers whose high bytes barely move: sensor signals, simulation
//! output. Slowly moving decimals do better with `decimal` or `delta-lz4`.

use super::CodecError;
use super::columns::{Columns, WORDS};
use super::io::{ByteReader, ByteWriter};
use super::lz4;

const PLANES: usize = WORDS * 8;

/// Columns with at most this many stored planes are put together a plane at a time; the others
/// eight words at a time, all their planes at once.
const FEW_PLANES: usize = 3;

/// Payload: a 64-bit mask of constant planes, their bytes in plane order, then LZ4 of the other
/// planes in plane order.
pub(crate) fn encode(
    cols: &Columns,
    planes: &mut Vec<u8>,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let n = cols.rows();
    planes.clear();
    planes.resize(n * PLANES, 0);
    if n == 0 {
        out.put_u64(0)?;
        return lz4::compress(&[], out);
    }
    // Transpose, then move each varying plane down next to the previous varying one.
    for (c, column_planes) in planes.chunks_exact_mut(8 * n).enumerate() {
        let column = cols.column(c);
        for (b, plane) in column_planes.chunks_exact_mut(n).enumerate() {
            for (byte, &w) in plane.iter_mut().zip(column) {
                *byte = (w >> (8 * b)) as u8;
            }
        }
    }
    let mut constant = 0u64;
    let mut constants = [0u8; PLANES];
    let mut kept = 0;
    for p in 0..PLANES {
        let plane = &planes[p * n..(p + 1) * n];
        if plane.iter().all(|&b| b == plane[0]) {
            constant |= 1 << p;
            constants[p] = plane[0];
        } else {
            planes.copy_within(p * n..(p + 1) * n, kept * n);
            kept += 1;
        }
    }
    out.put_u64(constant)?;
    for p in (0..PLANES).filter(|p| constant & (1 << p) != 0) {
        out.put_u8(constants[p])?;
    }
    lz4::compress(&planes[..kept * n], out)
}

pub(crate) fn decode(
    input: &mut ByteReader<'_>,
    cols: &mut Columns,
    planes: &mut Vec<u8>,
) -> Result<(), CodecError> {
    let n = cols.rows();
    let constant = input.u64()?;
    let mut constants = [0u8; PLANES];
    for (p, slot) in constants.iter_mut().enumerate() {
        if constant & (1 << p) != 0 {
            *slot = input.u8()?;
        }
    }
    let varying = PLANES - constant.count_ones() as usize;
    let compressed = input.take(input.remaining())?;
    lz4::decompress(compressed, varying * n, planes)?;
    if n == 0 {
        return Ok(());
    }
    // Varying planes first, then one plane of zeros standing in for each constant plane (whose
    // byte is in `base`), so each word is put together in one pass over its eight planes.
    planes.resize((varying + 1) * n, 0);
    let (stored, zeros) = planes.split_at_mut(varying * n);
    zeros.fill(0);
    let (stored, zeros) = (&*stored, &*zeros);
    let mut next = stored.chunks_exact(n);
    for c in 0..WORDS {
        let mut base = 0u64;
        let mut sources = [zeros; 8];
        for (b, source) in sources.iter_mut().enumerate() {
            let p = c * 8 + b;
            if constant & (1 << p) != 0 {
                base |= u64::from(constants[p]) << (8 * b);
            } else {
                *source = next
                    .next()
                    .ok_or(CodecError::Corrupt("missing byte plane"))?;
            }
        }
        let column = &mut cols.column_mut(c)[..n];
        let planes = sources.map(|plane| &plane[..n]);
        let stored_planes = (0..8).filter(|b| constant & (1 << (c * 8 + b)) == 0);
        if stored_planes.clone().count() <= FEW_PLANES {
            // Mostly constant (an unused column, a small counter): a pass per stored plane.
            column.fill(base);
            for b in stored_planes {
                for (slot, &byte) in column.iter_mut().zip(planes[b]) {
                    *slot |= u64::from(byte) << (8 * b);
                }
            }
            continue;
        }
        // Eight words at a time: eight bytes from each plane, transposed in registers.
        let mut words = column.chunks_exact_mut(8);
        let mut at = 0;
        for eight in &mut words {
            let block = transpose_bytes(std::array::from_fn(|b| {
                u64::from_le_bytes(planes[b][at..at + 8].try_into().unwrap_or([0; 8]))
            }));
            for (slot, word) in eight.iter_mut().zip(block) {
                *slot = base | word;
            }
            at += 8;
        }
        for (i, slot) in words.into_remainder().iter_mut().enumerate() {
            *slot = base | u64::from_le_bytes(std::array::from_fn(|b| planes[b][at + i]));
        }
    }
    Ok(())
}

/// The 8 × 8 byte matrix whose row `b` is `rows[b]` (byte `j` of the word is column `j`),
/// transposed: byte `b` of word `j` of the result is byte `j` of `rows[b]`. Three rounds of
/// swapping blocks (4 × 4, 2 × 2, then single bytes) across the diagonal.
#[inline(always)]
fn transpose_bytes(mut rows: [u64; 8]) -> [u64; 8] {
    for (shift, mask, pairs) in [
        (
            32,
            0x0000_0000_ffff_ffff_u64,
            [(0, 4), (1, 5), (2, 6), (3, 7)],
        ),
        (16, 0x0000_ffff_0000_ffff, [(0, 2), (1, 3), (4, 6), (5, 7)]),
        (8, 0x00ff_00ff_00ff_00ff, [(0, 1), (2, 3), (4, 5), (6, 7)]),
    ] {
        for (a, b) in pairs {
            let t = ((rows[a] >> shift) ^ rows[b]) & mask;
            rows[a] ^= t << shift;
            rows[b] ^= t;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_transpose_like_the_matrix_they_are() {
        let rows: [u64; 8] = std::array::from_fn(|b| {
            u64::from_le_bytes(std::array::from_fn(|j| (16 * b + j) as u8))
        });
        let words = transpose_bytes(rows);
        for (j, word) in words.iter().enumerate() {
            assert_eq!(
                word.to_le_bytes(),
                std::array::from_fn::<u8, 8, _>(|b| (16 * b + j) as u8),
                "word {j}"
            );
        }
        assert_eq!(transpose_bytes(words), rows);
    }
}
