//! `rle`: runs of rows that repeat the previous row's step. The first row is stored whole; after
//! it, each run is stored once as a length and the eight per-column differences every row of the
//! run adds. Equal rows (a held value, with sequence and stamp ticking regularly) form one run, and
//! so do counters with a constant increment.
//!
//! Suits step functions and regularly sampled states: order-book levels that rarely move, alarm
//! states, configuration values. Anything that changes every row costs more than `delta`.

use super::CodecError;
use super::columns::{Columns, WORDS};
use super::io::{ByteReader, ByteWriter, unzigzag, zigzag};

/// Worst case per row: a one-row run (1-byte length, eight 10-byte varints), plus the first row.
pub(crate) const MAX_BYTES_PER_ROW: usize = 1 + WORDS * 10;

fn step(cols: &Columns, i: usize) -> [u64; WORDS] {
    std::array::from_fn(|c| {
        let column = cols.column(c);
        column[i].wrapping_sub(column[i - 1])
    })
}

pub(crate) fn encode(cols: &Columns, out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    let n = cols.rows();
    if n == 0 {
        return Ok(());
    }
    for c in 0..WORDS {
        out.put_u64(cols.column(c)[0])?;
    }
    let mut i = 1;
    while i < n {
        let current = step(cols, i);
        let mut run = 1;
        while i + run < n && step(cols, i + run) == current {
            run += 1;
        }
        out.put_varint(run as u64)?;
        for d in current {
            out.put_varint(zigzag(d as i64))?;
        }
        i += run;
    }
    Ok(())
}

pub(crate) fn decode(input: &mut ByteReader<'_>, cols: &mut Columns) -> Result<(), CodecError> {
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
        let run = input.bounded(n - filled, "rle run longer than the frame")?;
        if run == 0 {
            return Err(CodecError::Corrupt("rle run of length zero"));
        }
        let mut delta = [0u64; WORDS];
        for d in &mut delta {
            *d = unzigzag(input.varint()?) as u64;
        }
        for i in filled..filled + run {
            for c in 0..WORDS {
                row[c] = row[c].wrapping_add(delta[c]);
                cols.column_mut(c)[i] = row[c];
            }
        }
        filled += run;
    }
    Ok(())
}
