//! `rle`: runs of rows that repeat the previous row's step. The first row is stored whole; after
//! it, each run is stored once as a length and the eight per-column differences every row of the
//! run adds. Equal rows (a held value, with sequence and stamp ticking regularly) form one run, and
//! so do counters with a constant increment.
//!
//! Rows that belong to no run (data that changes every row) are stored as a literal stretch:
//! each column's differences bit-packed as `delta` packs them, so such data costs what `delta`
//! costs and decodes as fast, where a run a row would cost nine varints a row. The encoder takes
//! whichever of the two forms is smaller for each stretch of short runs.
//!
//! Layout (format version 3): the first row's eight words, then segments until the frame is full,
//! each behind a varint `h`: an even `h` is a run of `h / 2` rows and its eight zigzag-varint
//! steps; an odd `h` a literal stretch of `h / 2` rows and, column by column, their differences
//! from the row before ([`pack`]). Version 2 wrote only runs, with `h` the run's length; its
//! frames still decode.
//!
//! Suits step functions and regularly sampled states: order-book levels that rarely move, alarm
//! states, configuration values.

use super::CodecError;
use super::columns::{Columns, WORDS};
use super::io::{ByteReader, ByteWriter, unzigzag, varint_len, zigzag};
use super::pack;

/// Worst case per row: a one-row run (1-byte header, eight 10-byte varints), plus the first row.
/// A literal stretch is written only where it is smaller than its rows as runs.
pub(crate) const MAX_BYTES_PER_ROW: usize = 1 + WORDS * 10;

/// Runs at least this long are always written as runs; shorter ones gather into a stretch that
/// is written as runs or as literals, whichever is smaller.
const LONG_RUN: usize = 4;

fn step(cols: &Columns, i: usize) -> [u64; WORDS] {
    std::array::from_fn(|c| {
        let column = cols.column(c);
        column[i].wrapping_sub(column[i - 1])
    })
}

/// Bytes a run of `len` rows with step `step` takes.
fn run_len(len: usize, step: &[u64; WORDS]) -> usize {
    varint_len((len as u64) << 1)
        + step
            .iter()
            .map(|&d| varint_len(zigzag(d as i64)))
            .sum::<usize>()
}

/// Writes the runs of rows `start..end` (each a maximal stretch of one step).
fn put_runs(
    cols: &Columns,
    start: usize,
    end: usize,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let mut i = start;
    while i < end {
        let current = step(cols, i);
        let mut run = 1;
        while i + run < end && step(cols, i + run) == current {
            run += 1;
        }
        out.put_varint((run as u64) << 1)?;
        for d in current {
            out.put_varint(zigzag(d as i64))?;
        }
        i += run;
    }
    Ok(())
}

/// The differences of column `c` over rows `start..end`, into `diffs`.
fn column_steps(cols: &Columns, c: usize, start: usize, end: usize, diffs: &mut Vec<i64>) {
    let column = cols.column(c);
    diffs.clear();
    diffs.extend(
        column[start - 1..end]
            .windows(2)
            .map(|w| w[1].wrapping_sub(w[0]) as i64),
    );
}

/// Writes rows `start..end` (`start` ≥ 1) as runs or as one literal stretch, whichever is smaller;
/// `runs_bytes` is what they take as runs.
fn put_stretch(
    cols: &Columns,
    start: usize,
    end: usize,
    runs_bytes: usize,
    diffs: &mut Vec<i64>,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    if start >= end {
        return Ok(());
    }
    let header = (((end - start) as u64) << 1) | 1;
    let mut literal_bytes = varint_len(header);
    for c in 0..WORDS {
        if literal_bytes >= runs_bytes {
            break;
        }
        column_steps(cols, c, start, end, diffs);
        literal_bytes += pack::encoded_len_divided(diffs, 1);
    }
    if runs_bytes <= literal_bytes {
        return put_runs(cols, start, end, out);
    }
    out.put_varint(header)?;
    for c in 0..WORDS {
        column_steps(cols, c, start, end, diffs);
        pack::encode(diffs, out)?;
    }
    Ok(())
}

/// Writes `cols` (see the module's layout); `diffs` is reusable space.
pub(crate) fn encode(
    cols: &Columns,
    diffs: &mut Vec<i64>,
    out: &mut ByteWriter<'_>,
) -> Result<(), CodecError> {
    let n = cols.rows();
    if n == 0 {
        return Ok(());
    }
    for c in 0..WORDS {
        out.put_u64(cols.column(c)[0])?;
    }
    // Short runs gather in `stretch_start..i`, costing `stretch_bytes` as runs.
    let (mut stretch_start, mut stretch_bytes) = (1, 0);
    let mut i = 1;
    while i < n {
        let current = step(cols, i);
        let mut run = 1;
        while i + run < n && step(cols, i + run) == current {
            run += 1;
        }
        if run >= LONG_RUN {
            put_stretch(cols, stretch_start, i, stretch_bytes, diffs, out)?;
            out.put_varint((run as u64) << 1)?;
            for d in current {
                out.put_varint(zigzag(d as i64))?;
            }
            (stretch_start, stretch_bytes) = (i + run, 0);
        } else {
            stretch_bytes += run_len(run, &current);
        }
        i += run;
    }
    put_stretch(cols, stretch_start, n, stretch_bytes, diffs, out)
}

/// Reads a payload of format `version` (2: runs only; 3: runs and literal stretches).
pub(crate) fn decode(
    input: &mut ByteReader<'_>,
    cols: &mut Columns,
    version: u8,
) -> Result<(), CodecError> {
    let n = cols.rows();
    if n == 0 {
        return Ok(());
    }
    let mut row = [0u64; WORDS];
    for (c, word) in row.iter_mut().enumerate() {
        *word = input.u64()?;
        cols.column_mut(c)[0] = *word;
    }
    let mut filled = 1;
    while filled < n {
        let header = input.varint()?;
        let (literal, len) = if version < 3 {
            (false, header)
        } else {
            (header & 1 == 1, header >> 1)
        };
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= n - filled)
            .ok_or(CodecError::Corrupt("rle run longer than the frame"))?;
        if len == 0 {
            return Err(CodecError::Corrupt("rle run of length zero"));
        }
        let rows = filled..filled + len;
        if literal {
            for (c, word) in row.iter_mut().enumerate() {
                let column = &mut cols.column_mut(c)[rows.clone()];
                pack::decode(input, column)?;
                for slot in column {
                    *word = word.wrapping_add(*slot);
                    *slot = *word;
                }
            }
        } else {
            let mut delta = [0u64; WORDS];
            for d in &mut delta {
                *d = unzigzag(input.varint()?) as u64;
            }
            for (c, (word, d)) in row.iter_mut().zip(delta).enumerate() {
                for slot in &mut cols.column_mut(c)[rows.clone()] {
                    *word = word.wrapping_add(d);
                    *slot = *word;
                }
            }
        }
        filled += len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `cols` as rle, checks the round trip, and returns the payload's length.
    fn round_trip(cols: &Columns) -> usize {
        let mut buf = vec![0u8; cols.rows() * MAX_BYTES_PER_ROW + 64];
        let mut out = ByteWriter::new(&mut buf);
        encode(cols, &mut Vec::new(), &mut out).unwrap();
        let len = out.position();
        let mut back = Columns::default();
        back.reset(cols.rows());
        let mut input = ByteReader::new(&buf[..len]);
        decode(&mut input, &mut back, 3).unwrap();
        input.finish().unwrap();
        for c in 0..WORDS {
            assert_eq!(back.column(c), cols.column(c), "column {c}");
        }
        len
    }

    fn columns(n: usize, word: impl Fn(usize, usize) -> u64) -> Columns {
        let mut cols = Columns::default();
        cols.reset(n);
        for c in 0..WORDS {
            for (i, w) in cols.column_mut(c).iter_mut().enumerate() {
                *w = word(c, i);
            }
        }
        cols
    }

    #[test]
    fn steps_are_runs_and_noise_is_literal_and_both_round_trip() {
        // A held value changing every 50 rows: runs, a few bytes each.
        let steps = columns(1000, |c, i| (c * 1000 + (i / 50) * 7) as u64);
        let held = round_trip(&steps);
        assert!(held < 1000, "{held} bytes for 20 levels");
        // Small noise on every row: a literal stretch, a few bits a value, not nine varints a row.
        let noisy = columns(1000, |c, i| {
            (c as u64) << 40 | ((i as u64).wrapping_mul(2_654_435_761) >> 7) & 0xff
        });
        let literal = round_trip(&noisy);
        assert!(
            literal < 1000 * WORDS * 2,
            "{literal} bytes for 8000 noisy values"
        );
        // A mixture, and frames of every small length.
        let mixed = columns(700, |c, i| match i % 100 {
            0..40 => (i / 40 + c) as u64,
            _ => (i as u64 ^ c as u64).wrapping_mul(0x9e37_79b9),
        });
        round_trip(&mixed);
        for n in 1..12 {
            round_trip(&columns(n, |c, i| (i * i + c) as u64));
        }
    }

    #[test]
    fn version_2_frames_of_runs_still_decode() {
        // Two rows: the first row, then one run of one row with step 5 in column 0 only.
        let mut payload = Vec::new();
        for c in 0..WORDS as u64 {
            payload.extend_from_slice(&(c * 10).to_le_bytes());
        }
        payload.push(1);
        payload.push(10);
        payload.extend_from_slice(&[0; WORDS - 1]);
        let mut cols = Columns::default();
        cols.reset(2);
        decode(&mut ByteReader::new(&payload), &mut cols, 2).unwrap();
        assert_eq!(cols.column(0), &[0, 5]);
        assert_eq!(cols.column(3), &[30, 30]);
        // The same bytes are not a version-3 payload: a header of 1 is a literal row there.
        let mut again = Columns::default();
        again.reset(2);
        assert!(decode(&mut ByteReader::new(&payload), &mut again, 3).is_err());
    }
}
