//! `xor`: Gorilla's float compression (Pelkonen et al., VLDB 2015). Each value is XORed with the
//! previous one in its column; a zero result costs one bit, otherwise only the meaningful bits
//! are stored, reusing the previous leading/trailing-zero window when they fit in it.
//!
//! Suits gauges that often repeat or change in few bits (CPU load, queue depths, sensor
//! readings held between updates). Decimal series (prices, temperatures) flip many mantissa
//! bits on every change and compress poorly; use `decimal` for them.

use super::CodecError;
use super::columns::{Columns, WORDS};
use super::io::{BitWriter, ByteReader, ByteWriter, bits_at};

/// Bits [`look`] always holds: one 8-byte load shifted by up to 7.
const SHORT_LOOK: u32 = 57;

/// Worst case per value: 2 control bits, 12 bits of window, 64 meaningful bits.
pub(crate) const MAX_BYTES_PER_ROW: usize = WORDS * 10;

pub(crate) fn encode(cols: &Columns, out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    let mut bits = BitWriter::new(out);
    for c in 0..WORDS {
        let column = cols.column(c);
        let Some((&first, rest)) = column.split_first() else {
            continue;
        };
        bits.put(first, 64)?;
        let mut prev = first;
        // The current window: leading zeros and meaningful length; none yet.
        let mut window: Option<(u32, u32)> = None;
        for &v in rest {
            let x = v ^ prev;
            prev = v;
            if x == 0 {
                bits.put(0, 1)?;
                continue;
            }
            let lead = x.leading_zeros();
            let trail = x.trailing_zeros();
            match window {
                Some((wl, wlen)) if lead >= wl && trail >= 64 - wl - wlen => {
                    bits.put(0b01, 2)?; // '1' then '0', low bit first
                    bits.put(x >> (64 - wl - wlen), wlen)?;
                }
                _ => {
                    let len = 64 - lead - trail;
                    bits.put(0b11, 2)?;
                    bits.put(u64::from(lead), 6)?;
                    bits.put(u64::from(len - 1), 6)?;
                    bits.put(x >> trail, len)?;
                    window = Some((lead, len));
                }
            }
        }
    }
    bits.finish()
}

pub(crate) fn decode(input: &mut ByteReader<'_>, cols: &mut Columns) -> Result<(), CodecError> {
    let data = input.take(input.remaining())?;
    let end = data.len() * 8;
    let ends_early = CodecError::Corrupt("bit stream ends early");
    // The bit position, kept in a register: a value's length is known only from its own
    // control bits (or, in a run reusing one window, from the window: [`reuse_run`]), so the
    // next position waits on them and on nothing else.
    let mut pos = 0usize;
    for c in 0..WORDS {
        let column = cols.column_mut(c);
        let Some((first, rest)) = column.split_first_mut() else {
            continue;
        };
        *first = field(data, pos, 64);
        pos += 64;
        if pos > end {
            return Err(ends_early);
        }
        let mut prev = *first;
        // The current window: leading zeros and meaningful length; none yet (a zero length).
        let (mut window_lead, mut window_len) = (0u32, 0u32);
        let mut i = 0;
        while i < rest.len() {
            if window_len != 0 {
                let out = &mut rest[i..];
                let taken = if window_len + 2 <= SHORT_LOOK {
                    reuse_run::<false>(data, &mut pos, &mut prev, window_lead, window_len, out)
                } else {
                    reuse_run::<true>(data, &mut pos, &mut prev, window_lead, window_len, out)
                };
                i += taken;
                if i == rest.len() {
                    break;
                }
            }
            let next = look(data, pos);
            if next & 1 == 0 {
                // A run of unchanged values, one bit each (at most the bits looked at).
                let same = (next.trailing_zeros().min(SHORT_LOOK) as usize).min(rest.len() - i);
                pos += same;
                if pos > end {
                    return Err(ends_early);
                }
                rest[i..i + same].fill(prev);
                i += same;
                continue;
            }
            let (head, lead, len) = if next & 0b10 == 0 {
                if window_len == 0 {
                    return Err(CodecError::Corrupt("xor reuses a window never set"));
                }
                (2, window_lead, window_len)
            } else {
                let lead = ((next >> 2) & 0x3f) as u32;
                let len = ((next >> 8) & 0x3f) as u32 + 1;
                if lead + len > 64 {
                    return Err(CodecError::Corrupt("xor window wider than 64 bits"));
                }
                (window_lead, window_len) = (lead, len);
                (14, lead, len)
            };
            let meaningful = if head + len <= SHORT_LOOK {
                // The control bits and the value both in the one look.
                (next >> head) & (u64::MAX >> (64 - len))
            } else if len <= SHORT_LOOK {
                look(data, pos + head as usize) & (u64::MAX >> (64 - len))
            } else {
                field(data, pos + head as usize, len)
            };
            pos += (head + len) as usize;
            if pos > end {
                return Err(ends_early);
            }
            prev ^= meaningful << (64 - lead - len);
            rest[i] = prev;
            i += 1;
        }
    }
    // The stream ends at the last whole byte written; anything after it is not ours.
    if data.len() != pos.div_ceil(8) {
        return Err(CodecError::Corrupt("trailing bytes after the xor stream"));
    }
    Ok(())
}

/// At least [`SHORT_LOOK`] bits from bit `pos` of `data` on (zeros past its end): one 8-byte load
/// where there is room for it.
#[inline(always)]
fn look(data: &[u8], pos: usize) -> u64 {
    let at = pos / 8;
    match data.get(at..at + 8) {
        Some(word) => u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) >> (pos % 8),
        None => field(data, pos, 64),
    }
}

/// The `width` bits (1 to 64) from bit `pos` of `data` on, zeros past its end.
#[inline]
fn field(data: &[u8], pos: usize, width: u32) -> u64 {
    (bits_at(data, pos) as u64) & (u64::MAX >> (64 - width))
}

/// Decodes the values from bit `pos` on that reuse the window (`lead`, `len`) into `out`, until
/// one does not (a repeat, a new window) or the data ends too near for a whole load: how many.
/// The window fixes each value's length, so the loop carries only the position and the value:
/// a load (8 bytes when the control bits and the value fit in the 57 bits it holds, `WIDE` 16
/// otherwise), a shift, the control bits' check, a mask, a shift into place and an XOR. The
/// load's bounds keep the value inside the stream (a value of `2 + len` bits ends within the
/// bytes loaded), so the general loop's end check isn't needed here.
#[inline(always)]
fn reuse_run<const WIDE: bool>(
    data: &[u8],
    pos: &mut usize,
    prev: &mut u64,
    lead: u32,
    len: u32,
    out: &mut [u64],
) -> usize {
    let step = (2 + len) as usize;
    let place = 64 - lead - len;
    let mask = u64::MAX >> (64 - len);
    let (mut at_bit, mut value) = (*pos, *prev);
    let mut done = 0;
    for slot in out.iter_mut() {
        let at = at_bit / 8;
        let bits = if WIDE {
            let Some(sixteen) = data.get(at..at + 16) else {
                break;
            };
            let window = u128::from_le_bytes(sixteen.try_into().unwrap_or([0; 16])) >> (at_bit % 8);
            if window as u64 & 0b11 != 0b01 {
                break;
            }
            (window >> 2) as u64
        } else {
            let Some(eight) = data.get(at..at + 8) else {
                break;
            };
            let window = u64::from_le_bytes(eight.try_into().unwrap_or([0; 8])) >> (at_bit % 8);
            if window & 0b11 != 0b01 {
                break;
            }
            window >> 2
        };
        value ^= (bits & mask) << place;
        *slot = value;
        at_bit += step;
        done += 1;
    }
    (*pos, *prev) = (at_bit, value);
    done
}

#[cfg(test)]
mod tests {
    use crate::Row;
    use crate::codec::{CodecId, Decoder, Encoder};

    /// The decoder looks at 57 bits at a time (`SHORT_LOOK`, one 8-byte load): runs of repeats
    /// longer than that, and values whose control and meaningful bits together straddle the
    /// look (every width from 1 to 64 bits, at every offset, new windows and reused ones),
    /// round-trip bit for bit.
    #[test]
    fn long_runs_and_every_width_round_trip() {
        let mut values = vec![1.5f64.to_bits(); 300];
        let mut v = 1.5f64.to_bits();
        for width in 1..=64u32 {
            for shift in [0, (64 - width) / 2, 64 - width] {
                // Flip `width` bits `shift` from the bottom (at the bottom, the middle, the
                // top), then some of them again (the window reused).
                let mask = (u64::MAX >> (64 - width)) << shift;
                v ^= mask;
                values.push(v);
                v ^= mask & (mask >> 1).max(1);
                values.push(v);
                values.extend([v; 70]);
            }
        }
        // Every column the same series, the last shifted by one value.
        let rows: Vec<Row> = (0..values.len())
            .map(|i| {
                let mut row = Row::new(i as u64, 0);
                for (c, slot) in row.values.iter_mut().enumerate() {
                    *slot = f64::from_bits(values[(i + c / 5) % values.len()]);
                }
                row
            })
            .collect();
        for frame_rows in rows.chunks(1024) {
            let mut frame = Vec::new();
            Encoder::new()
                .encode_to_vec(CodecId::Xor, frame_rows, &mut frame)
                .unwrap();
            let mut back = Vec::new();
            Decoder::new().decode(&frame, &mut back).unwrap();
            let bits = |rows: &[Row]| -> Vec<u64> {
                rows.iter()
                    .flat_map(|r| r.values.map(f64::to_bits))
                    .collect()
            };
            assert_eq!(bits(&back), bits(frame_rows));
        }
    }
}
