//! `decimal`: most real series are decimals printed with a few digits (prices, temperatures),
//! which XOR schemes compress badly because every change flips many mantissa bits. Per column,
//! this codec finds the smallest power of ten `10^e` that turns the values into exact integers
//! (`value == n / 10^e` bit for bit), then stores the integers' differences bit-packed in blocks.
//! Values that do not fit (NaN, -0.0, a stray long fraction) are kept as exceptions, raw; a
//! column with too many of them is stored raw. The idea is ALP's (Afroozeh et al., SIGMOD 2024).
//!
//! Sequence numbers and stamps are integers already.
//!
//! Each column's integers are stored as the smallest of several forms ([`put_stream`]): the
//! values themselves, their differences, or their differences' differences (a regular clock's
//! stamps, a smooth curve); a common factor taken out (daily timestamps in seconds are multiples
//! of 86,400); then frame-of-reference bit packing ([`pack`], the fastest to decode) or Rice
//! coding ([`rice`], near the entropy of the peaked residuals real series leave). Frames written
//! by earlier versions (plain differences, packed) still decode.
//!
//! Suits prices, temperatures, percentages, anything that was text with a fixed number of
//! decimals. Full-precision noise (simulations, sensor floats after filtering) falls back to raw.

use super::CodecError;
use super::columns::{Columns, WORDS};
use super::io::varint_len;
use super::io::{ByteReader, ByteWriter, unzigzag, zigzag};
use super::{pack, rice};

/// Largest exponent tried: `10^15` and every integer up to `2^53` are exact doubles.
const MAX_EXPONENT: usize = 15;

const POWERS: [f64; MAX_EXPONENT + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Integers up to this magnitude are exact in an f64.
const EXACT: f64 = 9_007_199_254_740_992.0;

// Column modes. `INTEGER` and `SCALED` (plain differences, packed) are only read: frames of
// earlier versions.
const RAW: u8 = 0;
const INTEGER: u8 = 1;
const SCALED: u8 = 2;
const CONSTANT: u8 = 3;
const INTEGER_STREAM: u8 = 4;
const SCALED_STREAM: u8 = 5;
const ZERO: u8 = 6;

// A stream's form byte: the order of differencing in the low two bits, then these flags.
const ORDER_MASK: u8 = 0b11;
const FACTORED: u8 = 1 << 2;
const RICE: u8 = 1 << 3;
const MAX_ORDER: usize = 2;

/// The most bytes [`encode`] writes for `n` rows: per column a mode, an exponent, an exception
/// count, up to `n / 8` exceptions (position and raw value), and the integers: a form byte, up
/// to two heads and a factor (varints), and residuals no bigger than packing makes them.
pub(crate) const fn max_len(n: usize) -> usize {
    WORDS * (2 + 10 + (n / 8) * 18 + 1 + 3 * 10 + pack::max_len(n))
}

/// Writes the first integer whole and packs the differences of the rest: the integer form of
/// frames from earlier versions, written now only to test that they still decode.
#[cfg(test)]
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

/// `ints` differenced `order` times in place: the first `order` entries are the heads the decoder
/// starts from (the first value, the first difference), the rest the residuals.
fn difference(ints: &mut [i64], order: usize) {
    for pass in 0..order {
        difference_pass(ints, pass);
    }
}

/// Pass `pass` (from 0) of [`difference`]: every entry after the first `pass + 1` less the one
/// before it.
fn difference_pass(ints: &mut [i64], pass: usize) {
    for i in (pass + 1..ints.len()).rev() {
        ints[i] = ints[i].wrapping_sub(ints[i - 1]);
    }
}

/// Bytes a stream spends before its residuals: the form byte, the heads, the factor.
fn set_up_bytes(heads: &[i64], factor: Option<u64>) -> usize {
    1 + heads.iter().map(|&h| varint_len(zigzag(h))).sum::<usize>() + factor.map_or(0, varint_len)
}

/// Undoes [`difference`].
fn integrate(ints: &mut [i64], order: usize) {
    for pass in (0..order).rev() {
        for i in pass + 1..ints.len() {
            ints[i] = ints[i].wrapping_add(ints[i - 1]);
        }
    }
}

/// The largest factor all of `values` share, when it is worth taking out (2 up to `i64::MAX`).
fn common_factor(values: &[i64]) -> Option<u64> {
    let mut g = 0u64;
    for &v in values {
        let (mut a, mut b) = (g, v.unsigned_abs());
        while b != 0 {
            (a, b) = (b, a % b);
        }
        g = a;
        if g == 1 {
            return None;
        }
    }
    (g >= 2 && g <= i64::MAX as u64).then_some(g)
}

/// One way to store a column of integers, and what it costs.
#[derive(Debug, Clone, Copy)]
struct Form {
    order: usize,
    factor: Option<u64>,
    rice: bool,
    bytes: usize,
}

/// The cheapest form for `ints` (ties go to lower orders and to packing, which decodes faster).
/// Packing is costed for every order; Rice coding, slower to cost, for the order whose residuals
/// are smallest in sum, which is where Rice coding (a value costs about its magnitude's bits)
/// does best. `work` is scratch space.
fn choose_form(ints: &[i64], work: &mut Vec<i64>) -> Form {
    let mut best = Form {
        order: 0,
        factor: None,
        rice: false,
        bytes: usize::MAX,
    };
    let mut smallest: Option<(u128, usize)> = None;
    // One copy, differenced once more for each order in turn.
    work.clear();
    work.extend_from_slice(ints);
    for order in 0..=MAX_ORDER.min(ints.len()) {
        if order > 0 {
            difference_pass(work, order - 1);
        }
        let (heads, body) = work.split_at(order);
        let factor = common_factor(body);
        let g = factor.map_or(1, |g| g as i64);
        let form = Form {
            order,
            factor,
            rice: false,
            bytes: set_up_bytes(heads, factor) + pack::encoded_len_divided(body, g),
        };
        if form.bytes < best.bytes {
            best = form;
        }
        let sum: u128 = body.iter().map(|&v| u128::from(zigzag(v / g))).sum();
        if smallest.is_none_or(|(least, _)| sum < least) {
            smallest = Some((sum, order));
        }
    }
    if let Some((_, order)) = smallest {
        let (fixed, factor) = residuals(ints, order, work);
        let bytes = fixed + rice::encoded_len(&work[order..]);
        if bytes < best.bytes {
            best = Form {
                order,
                factor,
                rice: true,
                bytes,
            };
        }
    }
    if best.bytes == usize::MAX {
        best.bytes = 1;
    }
    best
}

/// `ints` differenced `order` times into `work`, the residuals divided by their common factor:
/// the bytes the form byte, heads and factor take, and the factor.
fn residuals(ints: &[i64], order: usize, work: &mut Vec<i64>) -> (usize, Option<u64>) {
    work.clear();
    work.extend_from_slice(ints);
    difference(work, order);
    let (heads, body) = work.split_at_mut(order.min(ints.len()));
    let factor = common_factor(body);
    if let Some(g) = factor {
        for v in body.iter_mut() {
            *v /= g as i64;
        }
    }
    (set_up_bytes(heads, factor), factor)
}

/// Writes `ints` in the cheapest [`Form`]: the form byte, the heads, the factor, the residuals.
fn put_stream(
    ints: &[i64],
    work: &mut Vec<i64>,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let form = choose_form(ints, work);
    residuals(ints, form.order, work);
    let (heads, body) = work.split_at(form.order.min(ints.len()));
    let mut flags = form.order as u8;
    if form.factor.is_some() {
        flags |= FACTORED;
    }
    if form.rice {
        flags |= RICE;
    }
    out.put_u8(flags)?;
    for &h in heads {
        out.put_varint(zigzag(h))?;
    }
    if let Some(g) = form.factor {
        out.put_varint(g)?;
    }
    if form.rice {
        rice::encode(body, out)
    } else {
        pack::encode(body, out)
    }
}

/// Reads what [`put_stream`] wrote into `ints` (whose length says how many).
fn get_stream(input: &mut ByteReader<'_>, ints: &mut [i64]) -> Result<(), CodecError> {
    let flags = input.u8()?;
    if flags & !(ORDER_MASK | FACTORED | RICE) != 0 {
        return Err(CodecError::Corrupt("unknown integer stream form"));
    }
    let order = usize::from(flags & ORDER_MASK);
    if order > MAX_ORDER {
        return Err(CodecError::Corrupt("differencing order over 2"));
    }
    let (heads, body) = ints.split_at_mut(order.min(ints.len()));
    for h in heads.iter_mut() {
        *h = unzigzag(input.varint()?);
    }
    let factor = if flags & FACTORED != 0 {
        let g = input.varint()?;
        if !(2..=i64::MAX as u64).contains(&g) {
            return Err(CodecError::Corrupt("common factor out of range"));
        }
        Some(g as i64)
    } else {
        None
    };
    if flags & RICE != 0 {
        rice::decode(input, body)?;
    } else {
        pack::decode(input, body)?;
    }
    if let Some(g) = factor {
        for v in body.iter_mut() {
            *v = v.wrapping_mul(g);
        }
    }
    integrate(ints, order);
    Ok(())
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
    // The nearest integer, without a call to `round` (baseline x86-64 has no rounding
    // instruction): should the addition round the wrong way near 2^53, the check below fails
    // and the value is kept as an exception, never decoded wrong.
    let n = (s + 0.5f64.copysign(s)) as i64;
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
    out.put_u8(INTEGER_STREAM)?;
    scratch.ints.clear();
    scratch.ints.extend(column.iter().map(|&w| w as i64));
    put_stream(&scratch.ints, &mut scratch.deltas, out)
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
    out.put_u8(SCALED_STREAM)?;
    out.put_u8(e)?;
    out.put_varint(scratch.exceptions.len() as u64)?;
    let mut last = 0;
    for &(i, w) in &scratch.exceptions {
        out.put_varint((i - last) as u64)?;
        out.put_u64(w)?;
        last = i;
    }
    put_stream(&scratch.ints, &mut scratch.deltas, out)
}

pub(crate) fn encode(
    cols: &Columns,
    scratch: &mut Scratch,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    for c in 0..WORDS {
        let column = cols.column(c);
        match column.split_first() {
            Some((0, rest)) if rest.iter().all(|&w| w == 0) => out.put_u8(ZERO)?,
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

/// A column's integers: a [`put_stream`] stream, or the plain packed differences of earlier
/// versions.
fn read_integers(
    input: &mut ByteReader<'_>,
    ints: &mut [i64],
    stream: bool,
) -> Result<(), CodecError> {
    if stream {
        get_stream(input, ints)
    } else {
        get_integers(input, ints)
    }
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
            ZERO => column.fill(0),
            mode @ (INTEGER | INTEGER_STREAM) => {
                scratch.ints.resize(n, 0);
                read_integers(input, &mut scratch.ints, mode == INTEGER_STREAM)?;
                for (slot, &int) in column.iter_mut().zip(&scratch.ints) {
                    *slot = int as u64;
                }
            }
            mode @ (SCALED | SCALED_STREAM) => {
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
                scratch.ints.resize(n, 0);
                read_integers(input, &mut scratch.ints, mode == SCALED_STREAM)?;
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

    fn stream_round_trip(ints: &[i64]) -> (Form, usize) {
        let mut work = Vec::new();
        let form = choose_form(ints, &mut work);
        let mut buf = vec![0u8; 16 * ints.len() + 64];
        let mut out = ByteWriter::new(&mut buf);
        put_stream(ints, &mut work, &mut out).unwrap();
        let len = out.position();
        assert_eq!(len, form.bytes, "the cost chosen by is the cost written");
        let mut input = ByteReader::new(&buf[..len]);
        let mut back = vec![0; ints.len()];
        get_stream(&mut input, &mut back).unwrap();
        input.finish().unwrap();
        assert_eq!(back, ints);
        (form, len)
    }

    #[test]
    fn each_column_gets_the_form_that_suits_it() {
        // Daily timestamps: constant steps of 86,400 s, so second differences are all zero.
        let days: Vec<i64> = (0..500).map(|d| 1_262_304_000 + 86_400 * d).collect();
        let (form, len) = stream_round_trip(&days);
        assert!(form.order >= 1 && len < 30, "{form:?} {len}");
        // Month starts: steps of 28 to 31 days; the factor 86,400 comes out.
        let mut month = 1_136_073_600i64;
        let months: Vec<i64> = (0..120)
            .map(|m| {
                let now = month;
                month += 86_400 * [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m % 12];
                now
            })
            .collect();
        let (form, len) = stream_round_trip(&months);
        assert_eq!(form.factor, Some(86_400), "{form:?}");
        assert!(len < 120 / 2, "{len} bytes for 120 month starts");
        // Noise around a level: no differencing.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let level: Vec<i64> = (0..1000)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                5000 + (state >> 60) as i64 - 8
            })
            .collect();
        assert_eq!(stream_round_trip(&level).0.order, 0);
        // A random walk with rare jumps: differences, Rice-coded.
        let mut x = 0i64;
        let walk: Vec<i64> = (0..1000)
            .map(|i| {
                x += if i % 97 == 0 { 5000 } else { (i * 31 % 5) - 2 };
                x
            })
            .collect();
        let (form, _) = stream_round_trip(&walk);
        assert!(form.order == 1 && form.rice, "{form:?}");
        for awkward in [
            &[][..],
            &[7],
            &[i64::MIN, i64::MAX],
            &[i64::MAX, i64::MIN, 0, -1],
        ] {
            stream_round_trip(awkward);
        }
    }

    #[test]
    fn columns_written_by_earlier_versions_still_decode() {
        // A frame of eight columns as earlier versions wrote them: INTEGER for the sequence and
        // stamp, SCALED for the values.
        let n = 300;
        let mut cols = Columns::default();
        cols.reset(n);
        for c in 0..WORDS {
            for (i, w) in cols.column_mut(c).iter_mut().enumerate() {
                *w = if c < 2 {
                    (i * (c + 1)) as u64
                } else {
                    (i as f64 / 10.0 + c as f64).to_bits()
                };
            }
        }
        let mut buf = vec![0u8; max_len(n)];
        let mut out = ByteWriter::new(&mut buf);
        let mut deltas = Vec::new();
        for c in 0..WORDS {
            let column = cols.column(c);
            let ints: Vec<i64> = if c < 2 {
                out.put_u8(INTEGER).unwrap();
                column.iter().map(|&w| w as i64).collect()
            } else {
                out.put_u8(SCALED).unwrap();
                out.put_u8(1).unwrap();
                out.put_varint(0).unwrap();
                column
                    .iter()
                    .map(|&w| scaled(f64::from_bits(w), 1).unwrap())
                    .collect()
            };
            put_integers(&ints, &mut deltas, &mut out).unwrap();
        }
        let len = out.position();
        let mut back = Columns::default();
        back.reset(n);
        let mut input = ByteReader::new(&buf[..len]);
        decode(&mut input, &mut back, &mut Scratch::default()).unwrap();
        input.finish().unwrap();
        for c in 0..WORDS {
            assert_eq!(back.column(c), cols.column(c), "column {c}");
        }
    }

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
