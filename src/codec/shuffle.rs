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
    let mut next = planes.chunks_exact(n);
    for c in 0..WORDS {
        let column = cols.column_mut(c);
        column.fill(0);
        for b in 0..8 {
            let p = c * 8 + b;
            if constant & (1 << p) != 0 {
                let word = u64::from(constants[p]) << (8 * b);
                if word != 0 {
                    column.iter_mut().for_each(|slot| *slot |= word);
                }
            } else {
                let plane = next
                    .next()
                    .ok_or(CodecError::Corrupt("missing byte plane"))?;
                for (slot, &byte) in column.iter_mut().zip(plane) {
                    *slot |= u64::from(byte) << (8 * b);
                }
            }
        }
    }
    Ok(())
}
