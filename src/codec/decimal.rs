//! `decimal`: most real series are decimals printed with a few digits (prices, temperatures),
//! which XOR schemes compress badly because every change flips many mantissa bits. Per column,
//! this codec finds the smallest power of ten `10^e` that turns the values into exact integers
//! (`value == n / 10^e` bit for bit), then stores the integers in their cheapest form.
//! Values that do not fit (NaN, -0.0, a stray long fraction) are kept as exceptions, raw; a
//! column with too many of them is stored raw. The idea is ALP's (Afroozeh et al., SIGMOD 2024).
//!
//! Sequence numbers and stamps are integers already.
//!
//! Each column's integers are stored as the smallest of several forms (see [`super::ints`]:
//! differencing of order 0 to 2, a common factor out, packed or Rice-coded). Frames written by
//! earlier versions (plain differences, packed) still decode.
//!
//! A value column that is exactly the sum or difference of two others in the frame (a total
//! beside its parts, as statistical tables have) is stored as that relation alone.
//!
//! Suits prices, temperatures, percentages, anything that was text with a fixed number of
//! decimals. Full-precision noise (simulations, sensor floats after filtering) falls back to raw.

use super::CodecError;
use super::columns::{Columns, WORDS, le_word};
use super::ints::{Coding, Integration, get_integers, get_residuals, put_stream};
use super::io::{ByteReader, ByteWriter};
use super::pack;

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
/// A value column equal, row for row, to another value column plus or minus a third (or to
/// another alone, or its negation), all three of one exponent and without exceptions: a total
/// stored beside its parts costs five bytes (the mode and four of relation).
const DERIVED: u8 = 7;

/// In a `DERIVED` column's header: no second term.
const NO_TERM: u8 = u8::MAX;

/// The most bytes [`encode`] writes for `n` rows: per column a mode, an exponent, an exception
/// count, up to `n / 8` exceptions (position and raw value), and the integers: a form byte, up
/// to two heads and a factor (varints), and residuals no bigger than packing makes them.
pub(crate) const fn max_len(n: usize) -> usize {
    WORDS * (2 + 10 + (n / 8) * 18 + 1 + 3 * 10 + pack::max_len(n))
}

/// Reusable buffers, so encoding allocates nothing once warm.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    ints: Vec<i64>,
    deltas: Vec<i64>,
    exceptions: Vec<(usize, u64)>,
    exponents: Vec<u8>,
    /// Every column's scaled integers, column-major (`WORDS` × rows), for relations between
    /// columns.
    table: Vec<i64>,
    /// Every scaled column's exceptions, one after another.
    all_exceptions: Vec<(usize, u64)>,
}

/// How a value column was scaled: its exponent, and whether every value fit (no exceptions),
/// which a column must for another to be derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scale {
    exponent: u8,
    exact: bool,
}

/// A derived column: `first + sign * second` (or `sign * first` alone), row for row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Relation {
    first: usize,
    second: Option<usize>,
    negate: bool,
}

/// Whether `column` equals `relation` applied to `table`'s columns, row for row.
fn holds(table: &[i64], n: usize, column: usize, relation: Relation) -> bool {
    let col = |c: usize| &table[c * n..(c + 1) * n];
    let (target, first) = (col(column), col(relation.first));
    match relation.second {
        None => target
            .iter()
            .zip(first)
            .all(|(&t, &a)| t == if relation.negate { a.wrapping_neg() } else { a }),
        Some(second) => target
            .iter()
            .zip(first)
            .zip(col(second))
            .all(|((&t, &a), &b)| {
                t == if relation.negate {
                    a.wrapping_sub(b)
                } else {
                    a.wrapping_add(b)
                }
            }),
    }
}

/// For each value column, a relation to other value columns that holds exactly, if one does:
/// columns taken in order, each derived only from columns that are not derived themselves and
/// of its exponent, and a column once used as a term never derived afterwards.
fn find_relations(
    table: &[i64],
    n: usize,
    scales: &[Option<Scale>; WORDS],
) -> [Option<Relation>; WORDS] {
    let mut relations = [None; WORDS];
    let mut is_term = [false; WORDS];
    if n == 0 {
        return relations;
    }
    for c in 2..WORDS {
        let Some(scale) = scales[c].filter(|s| s.exact) else {
            continue;
        };
        if is_term[c] {
            continue;
        }
        let usable = |x: usize| x != c && relations[x].is_none() && scales[x] == Some(scale);
        let found = (2..WORDS).filter(|&a| usable(a)).find_map(|first| {
            let alone = [false, true].into_iter().map(move |negate| Relation {
                first,
                second: None,
                negate,
            });
            let pairs = (2..WORDS)
                .filter(move |&b| b != first && usable(b))
                .flat_map(move |second| {
                    [false, true].into_iter().map(move |negate| Relation {
                        first,
                        second: Some(second),
                        negate,
                    })
                });
            alone.chain(pairs).find(|&r| holds(table, n, c, r))
        });
        if let Some(relation) = found {
            is_term[relation.first] = true;
            if let Some(second) = relation.second {
                is_term[second] = true;
            }
            relations[c] = Some(relation);
        }
    }
    relations
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
    coding: Coding,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    out.put_u8(INTEGER_STREAM)?;
    scratch.ints.clear();
    scratch.ints.extend(column.iter().map(|&w| w as i64));
    put_stream(&scratch.ints, &mut scratch.deltas, coding, out)
}

fn put_raw(column: &[u64], out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    out.put_u8(RAW)?;
    for &w in column {
        out.put_u64(w)?;
    }
    Ok(())
}

/// Scales a value column to integers (into `ints`, exceptions into `scratch.exceptions`), or
/// `None` when it is better stored raw.
fn scale_values(column: &[u64], scratch: &mut Scratch, ints: &mut Vec<i64>) -> Option<u8> {
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
        return None;
    }
    scratch.exponents.clear();
    scratch
        .exponents
        .extend(column.iter().map(|&w| exponent_of(f64::from_bits(w))));
    let allowed_exceptions = n / 8;
    let e = (0..=MAX_EXPONENT as u8)
        .find(|&e| scratch.exponents.iter().filter(|&&x| x > e).count() <= allowed_exceptions)?;
    ints.clear();
    scratch.exceptions.clear();
    let mut prev = 0i64;
    for (i, &w) in column.iter().enumerate() {
        // An exception repeats the previous integer: a zero difference costs nothing.
        let int = scaled(f64::from_bits(w), usize::from(e)).unwrap_or_else(|| {
            scratch.exceptions.push((i, w));
            prev
        });
        ints.push(int);
        prev = int;
    }
    Some(e)
}

/// Writes a scaled value column: exponent, exceptions, integers.
fn put_scaled(
    e: u8,
    ints: &[i64],
    exceptions: &[(usize, u64)],
    work: &mut Vec<i64>,
    coding: Coding,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    out.put_u8(SCALED_STREAM)?;
    out.put_u8(e)?;
    out.put_varint(exceptions.len() as u64)?;
    let mut last = 0;
    for &(i, w) in exceptions {
        out.put_varint((i - last) as u64)?;
        out.put_u64(w)?;
        last = i;
    }
    put_stream(ints, work, coding, out)
}

fn is_constant(column: &[u64]) -> bool {
    column
        .split_first()
        .is_none_or(|(&first, rest)| rest.iter().all(|&w| w == first))
}

/// Encodes a frame's columns, their integers in the forms `coding` allows (`decimal`: the
/// smallest; `decimal-fast`: packed only).
pub(crate) fn encode(
    cols: &Columns,
    scratch: &mut Scratch,
    coding: Coding,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let n = cols.rows();
    // First every value column's scale, so relations between them can be found.
    let mut table = std::mem::take(&mut scratch.table);
    table.clear();
    table.resize(WORDS * n, 0);
    let mut scales: [Option<Scale>; WORDS] = [None; WORDS];
    let mut exceptions_of: [std::ops::Range<usize>; WORDS] = std::array::from_fn(|_| 0..0);
    let mut ints = std::mem::take(&mut scratch.ints);
    let mut all_exceptions = std::mem::take(&mut scratch.all_exceptions);
    all_exceptions.clear();
    for (c, scale) in scales.iter_mut().enumerate().skip(2) {
        let column = cols.column(c);
        if is_constant(column) {
            continue;
        }
        if let Some(exponent) = scale_values(column, scratch, &mut ints) {
            *scale = Some(Scale {
                exponent,
                exact: scratch.exceptions.is_empty(),
            });
            table[c * n..(c + 1) * n].copy_from_slice(&ints);
            let start = all_exceptions.len();
            all_exceptions.extend_from_slice(&scratch.exceptions);
            exceptions_of[c] = start..all_exceptions.len();
        }
    }
    let relations = find_relations(&table, n, &scales);
    let written = (|| {
        for c in 0..WORDS {
            let column = cols.column(c);
            match column.split_first() {
                Some((0, rest)) if rest.iter().all(|&w| w == 0) => out.put_u8(ZERO)?,
                Some((&first, _)) if is_constant(column) => {
                    out.put_u8(CONSTANT)?;
                    out.put_u64(first)?;
                }
                _ if c < 2 => encode_integers(column, scratch, coding, out)?,
                _ => match (relations[c], scales[c]) {
                    (Some(relation), Some(scale)) => {
                        out.put_u8(DERIVED)?;
                        out.put_u8(scale.exponent)?;
                        out.put_u8(relation.first as u8)?;
                        out.put_u8(relation.second.map_or(NO_TERM, |s| s as u8))?;
                        out.put_u8(u8::from(relation.negate))?;
                    }
                    (None, Some(scale)) => put_scaled(
                        scale.exponent,
                        &table[c * n..(c + 1) * n],
                        &all_exceptions[exceptions_of[c].clone()],
                        &mut scratch.deltas,
                        coding,
                        out,
                    )?,
                    _ => put_raw(column, out)?,
                },
            }
        }
        Ok(())
    })();
    scratch.table = table;
    scratch.ints = ints;
    scratch.all_exceptions = all_exceptions;
    written
}

/// Finishes `ints` (`integration`, [`Integration::DONE`] for integers already whole) and writes
/// the values they stand for at exponent `e` (`n / 10^e`, as [`scaled`] checked each one
/// against) as words into `column`. The division is the slow part, so the integers are
/// finished in the same loop ([`Integration::finish_into`]); at `e` 0 (dates, counts) there is
/// no division (`x / 1.0 == x`), and the two plain loops are faster.
fn unscale(integration: Integration, ints: &mut [i64], e: u8, column: &mut [u64]) {
    if e == 0 {
        integration.finish(ints);
        for (slot, &n) in column.iter_mut().zip(ints.iter()) {
            *slot = (n as f64).to_bits();
        }
    } else {
        let power = POWERS[usize::from(e)];
        integration.finish_into(ints, column, |n| (n as f64 / power).to_bits());
    }
}

/// A column's integers, not yet finished: a [`put_stream`] stream (its residuals), or the plain
/// packed differences of earlier versions (finished already).
fn read_integers(
    input: &mut ByteReader<'_>,
    ints: &mut [i64],
    stream: bool,
) -> Result<Integration, CodecError> {
    if stream {
        get_residuals(input, ints)
    } else {
        get_integers(input, ints)?;
        Ok(Integration::DONE)
    }
}

/// Decodes a frame's columns into `cols`, writing only the columns whose bit is set in
/// `wanted` (bit `c` for column `c`; [`ALL_COLUMNS`] for rows): the others are read and checked
/// all the same, but a caller that takes a two-column table's values does not pay for filling
/// the four unused columns, the stamps, or dividing the sequence numbers.
pub(crate) fn decode(
    input: &mut ByteReader<'_>,
    cols: &mut Columns,
    scratch: &mut Scratch,
    wanted: u8,
) -> Result<(), CodecError> {
    let n = cols.rows();
    let mut scales: [Option<Scale>; WORDS] = [None; WORDS];
    let mut derived: [Option<(u8, Relation)>; WORDS] = [None; WORDS];
    scratch.table.resize(WORDS * n, 0);
    for c in 0..WORDS {
        let column = cols.column_mut(c);
        let write = wanted & (1 << c) != 0;
        match input.u8()? {
            RAW => {
                // One bounds check for the column, not one a word: full-precision noise is
                // all raw columns, and this loop is then the whole decode.
                let bytes = input.take(n * 8)?;
                if write {
                    for (slot, word) in column.iter_mut().zip(bytes.chunks_exact(8)) {
                        *slot = le_word(word);
                    }
                }
            }
            CONSTANT => {
                let value = input.u64()?;
                if write {
                    column.fill(value);
                }
            }
            ZERO if write => column.fill(0),
            ZERO => {}
            mode @ (INTEGER | INTEGER_STREAM) => {
                scratch.ints.resize(n, 0);
                let integration = read_integers(input, &mut scratch.ints, mode == INTEGER_STREAM)?;
                if write {
                    integration.finish(&mut scratch.ints);
                    for (slot, &int) in column.iter_mut().zip(&scratch.ints) {
                        *slot = int as u64;
                    }
                }
            }
            mode @ (SCALED | SCALED_STREAM) => {
                let e = input.u8()?;
                if usize::from(e) > MAX_EXPONENT {
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
                let ints = &mut scratch.table[c * n..(c + 1) * n];
                let integration = read_integers(input, ints, mode == SCALED_STREAM)?;
                if write {
                    unscale(integration, ints, e, column);
                    for &(i, w) in &scratch.exceptions {
                        column[i] = w;
                    }
                } else {
                    // Kept whole all the same: a derived column may be built on them.
                    integration.finish(ints);
                }
                scales[c] = Some(Scale {
                    exponent: e,
                    exact: count == 0,
                });
            }
            DERIVED if c >= 2 => {
                let e = input.u8()?;
                let term = |index: u8| {
                    let index = usize::from(index);
                    (2..WORDS)
                        .contains(&index)
                        .then_some(index)
                        .filter(|&i| i != c)
                        .ok_or(CodecError::Corrupt(
                            "derived column refers to no value column",
                        ))
                };
                let first = term(input.u8()?)?;
                let second = match input.u8()? {
                    NO_TERM => None,
                    index => match term(index)? {
                        same if same == first => {
                            return Err(CodecError::Corrupt("derived column names a term twice"));
                        }
                        other => Some(other),
                    },
                };
                let negate = match input.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(CodecError::Corrupt("derived column sign is not 0 or 1")),
                };
                derived[c] = Some((
                    e,
                    Relation {
                        first,
                        second,
                        negate,
                    },
                ));
            }
            _ => return Err(CodecError::Corrupt("unknown decimal column mode")),
        }
    }
    // Derived columns last: their terms may come after them in the frame.
    for (c, entry) in derived.iter().enumerate() {
        let Some((e, relation)) = *entry else {
            continue;
        };
        let term_scale = Some(Scale {
            exponent: e,
            exact: true,
        });
        let terms_fit = std::iter::once(relation.first)
            .chain(relation.second)
            .all(|t| scales[t] == term_scale && derived[t].is_none());
        if !terms_fit {
            return Err(CodecError::Corrupt(
                "derived column's terms are not plain exact columns of its exponent",
            ));
        }
        let (before, rest) = scratch.table.split_at_mut(c * n);
        let (target, after) = rest.split_at_mut(n);
        let col = |t: usize| -> &[i64] {
            if t < c {
                &before[t * n..(t + 1) * n]
            } else {
                &after[(t - c - 1) * n..(t - c) * n]
            }
        };
        let first = col(relation.first);
        match relation.second {
            None => {
                for (slot, &a) in target.iter_mut().zip(first) {
                    *slot = if relation.negate { a.wrapping_neg() } else { a };
                }
            }
            Some(second) => {
                for ((slot, &a), &b) in target.iter_mut().zip(first).zip(col(second)) {
                    *slot = if relation.negate {
                        a.wrapping_sub(b)
                    } else {
                        a.wrapping_add(b)
                    };
                }
            }
        }
        if wanted & (1 << c) != 0 {
            unscale(Integration::DONE, target, e, cols.column_mut(c));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
