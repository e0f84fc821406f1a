//! `decimal`: most real series are decimals printed with a few digits (prices, temperatures),
//! which XOR schemes compress badly because every change flips many mantissa bits. Per column,
//! this codec finds the smallest power of ten `10^e` that turns the values into exact integers
//! (`value == n / 10^e` bit for bit), then stores the integers' differences bit-packed in blocks.
//! Values that do not fit (NaN, -0.0, a stray long fraction) are kept as exceptions, raw; a
//! column with too many of them is stored raw. The idea is ALP's (Afroozeh et al., SIGMOD 2024).
//!
//! Sequence numbers and stamps are integers already: their differences are packed directly.
//!
//! Suits prices, temperatures, percentages, anything that was text with a fixed number of
//! decimals. Full-precision noise (simulations, sensor floats after filtering) falls back to raw.

use super::CodecError;
use super::columns::{Columns, WORDS};
use super::io::{ByteReader, ByteWriter, unzigzag, zigzag};
use super::pack;

/// Largest exponent tried: `10^15` and every integer up to `2^53` are exact doubles.
const MAX_EXPONENT: usize = 15;

const POWERS: [f64; MAX_EXPONENT + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Integers up to this magnitude are exact in an f64.
const EXACT: f64 = 9_007_199_254_740_992.0;

const RAW: u8 = 0;
const INTEGER: u8 = 1;
const SCALED: u8 = 2;
const CONSTANT: u8 = 3;

/// The most bytes [`encode`] writes for `n` rows: per column a mode, an exponent, an exception
/// count, up to `n / 8` exceptions (position and raw value), the first integer and the packed
/// differences.
pub(crate) const fn max_len(n: usize) -> usize {
    WORDS * (2 + 10 + 10 + (n / 8) * 18 + pack::max_len(n))
}

/// Writes the first integer whole and packs the differences of the rest: a large first value
/// must not widen the first block.
fn put_integers(
    ints: &[i64],
    scratch: &mut Vec<i64>,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let Some(&first) = ints.first() else {
        return Ok(());
    };
    out.put_varint(zigzag(first))?;
    scratch.clear();
    scratch.extend(ints.windows(2).map(|w| w[1].wrapping_sub(w[0])));
    pack::encode(scratch, out)
}

/// Reads what [`put_integers`] wrote into `ints` (whose length says how many).
fn get_integers(input: &mut ByteReader<'_>, ints: &mut [i64]) -> Result<(), CodecError> {
    let Some((first, rest)) = ints.split_first_mut() else {
        return Ok(());
    };
    *first = unzigzag(input.varint()?);
    pack::decode(input, rest)?;
    let mut prev = *first;
    for slot in rest {
        prev = prev.wrapping_add(*slot);
        *slot = prev;
    }
    Ok(())
}

/// Reusable buffers, so encoding allocates nothing once warm.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    ints: Vec<i64>,
    deltas: Vec<i64>,
    exceptions: Vec<(usize, u64)>,
    exponents: Vec<u8>,
}

/// `value * 10^e` as an integer if that is exactly `value` again.
fn scaled(value: f64, e: usize) -> Option<i64> {
    let s = value * POWERS[e];
    if !s.is_finite() || s.abs() > EXACT {
        return None;
    }
    let n = s.round() as i64;
    // Checked through the integer, as the decoder will compute it: -0.0 does not survive.
    ((n as f64 / POWERS[e]).to_bits() == value.to_bits()).then_some(n)
}

/// The smallest exponent that makes `value` an exact integer, or `u8::MAX`.
fn exponent_of(value: f64) -> u8 {
    (0..=MAX_EXPONENT)
        .find(|&e| scaled(value, e).is_some())
        .map_or(u8::MAX, |e| e as u8)
}

fn encode_integers(
    column: &[u64],
    scratch: &mut Scratch,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    out.put_u8(INTEGER)?;
    scratch.ints.clear();
    scratch.ints.extend(column.iter().map(|&w| w as i64));
    put_integers(&scratch.ints, &mut scratch.deltas, out)
}

fn put_raw(column: &[u64], out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    out.put_u8(RAW)?;
    for &w in column {
        out.put_u64(w)?;
    }
    Ok(())
}

fn encode_values(
    column: &[u64],
    scratch: &mut Scratch,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let n = column.len();
    // A sample first (as ALP does): columns of full-precision floats go raw without paying for
    // sixteen failed exponents per value.
    let step = (n / 64).max(1);
    let sampled = column.iter().step_by(step);
    let sample_len = n.div_ceil(step);
    let misfits = sampled
        .filter(|&&w| exponent_of(f64::from_bits(w)) == u8::MAX)
        .count();
    if misfits > sample_len / 8 {
        return put_raw(column, out);
    }
    scratch.exponents.clear();
    scratch
        .exponents
        .extend(column.iter().map(|&w| exponent_of(f64::from_bits(w))));
    let allowed_exceptions = n / 8;
    let chosen = (0..=MAX_EXPONENT as u8)
        .find(|&e| scratch.exponents.iter().filter(|&&x| x > e).count() <= allowed_exceptions);
    let Some(e) = chosen else {
        return put_raw(column, out);
    };
    scratch.ints.clear();
    scratch.exceptions.clear();
    let mut prev = 0i64;
    for (i, &w) in column.iter().enumerate() {
        // An exception repeats the previous integer: a zero difference costs nothing.
        let int = scaled(f64::from_bits(w), usize::from(e)).unwrap_or_else(|| {
            scratch.exceptions.push((i, w));
            prev
        });
        scratch.ints.push(int);
        prev = int;
    }
    out.put_u8(SCALED)?;
    out.put_u8(e)?;
    out.put_varint(scratch.exceptions.len() as u64)?;
    let mut last = 0;
    for &(i, w) in &scratch.exceptions {
        out.put_varint((i - last) as u64)?;
        out.put_u64(w)?;
        last = i;
    }
    put_integers(&scratch.ints, &mut scratch.deltas, out)
}

pub(crate) fn encode(
    cols: &Columns,
    scratch: &mut Scratch,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    for c in 0..WORDS {
        let column = cols.column(c);
        match column.split_first() {
            Some((&first, rest)) if rest.iter().all(|&w| w == first) => {
                out.put_u8(CONSTANT)?;
                out.put_u64(first)?;
            }
            _ if c < 2 => encode_integers(column, scratch, out)?,
            _ => encode_values(column, scratch, out)?,
        }
    }
    Ok(())
}

pub(crate) fn decode(
    input: &mut ByteReader<'_>,
    cols: &mut Columns,
    scratch: &mut Scratch,
) -> Result<(), CodecError> {
    let n = cols.rows();
    for c in 0..WORDS {
        let column = cols.column_mut(c);
        match input.u8()? {
            RAW => {
                for slot in column.iter_mut() {
                    *slot = input.u64()?;
                }
            }
            CONSTANT => column.fill(input.u64()?),
            INTEGER => {
                scratch.ints.clear();
                scratch.ints.resize(n, 0);
                get_integers(input, &mut scratch.ints)?;
                for (slot, &int) in column.iter_mut().zip(&scratch.ints) {
                    *slot = int as u64;
                }
            }
            SCALED => {
                let e = usize::from(input.u8()?);
                if e > MAX_EXPONENT {
                    return Err(CodecError::Corrupt("decimal exponent out of range"));
                }
                let count = input.bounded(n, "more decimal exceptions than rows")?;
                scratch.exceptions.clear();
                let mut at = 0usize;
                for k in 0..count {
                    let gap = input.bounded(n, "decimal exception past the frame")?;
                    at = at
                        .checked_add(gap)
                        .filter(|&p| p < n && (k == 0 || gap > 0))
                        .ok_or(CodecError::Corrupt("decimal exceptions out of order"))?;
                    scratch.exceptions.push((at, input.u64()?));
                }
                scratch.ints.clear();
                scratch.ints.resize(n, 0);
                get_integers(input, &mut scratch.ints)?;
                for (slot, &int) in column.iter_mut().zip(&scratch.ints) {
                    *slot = (int as f64 / POWERS[e]).to_bits();
                }
                for &(i, w) in &scratch.exceptions {
                    column[i] = w;
                }
            }
            _ => return Err(CodecError::Corrupt("unknown decimal column mode")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_are_the_fewest_decimals_that_print_the_value() {
        assert_eq!(exponent_of(42.0), 0);
        assert_eq!(exponent_of(39.4), 1);
        assert_eq!(exponent_of(123.45), 2);
        assert_eq!(exponent_of(0.001), 3);
        assert_eq!(exponent_of(-7.25), 2);
        assert_eq!(exponent_of(f64::NAN), u8::MAX);
        assert_eq!(exponent_of(-0.0), u8::MAX, "-0.0 would come back as +0.0");
        assert_eq!(
            exponent_of(std::f64::consts::PI),
            15,
            "3.141592653589793 prints in 15"
        );
        assert_eq!(
            exponent_of(1.0 / 3.0),
            u8::MAX,
            "0.3333333333333333 needs 16"
        );
        assert_eq!(exponent_of(1e300), u8::MAX);
    }
}
