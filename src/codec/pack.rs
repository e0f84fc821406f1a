//! Frame-of-reference bit packing in blocks of 128: each block stores its minimum and the bit
//! width of its largest offset from it, then every offset in exactly that many bits. A block of
//! equal values costs two bytes.

use super::CodecError;
use super::io::{BitReader, BitWriter, ByteReader, ByteWriter, unzigzag, varint_len, zigzag};

const BLOCK: usize = 128;

/// The most bytes [`encode`] writes for `n` values: 64 bits each, plus at most 11 bytes of
/// block header per block.
pub(crate) const fn max_len(n: usize) -> usize {
    8 * n + 11 * n.div_ceil(BLOCK)
}

/// Bytes [`encode`] writes for `values`.
#[cfg(test)]
pub(crate) fn encoded_len(values: &[i64]) -> usize {
    encoded_len_divided(values, 1)
}

/// Bytes [`encode`] writes for `values`, each divided by `divisor` (which divides them all):
/// sized without dividing each.
pub(crate) fn encoded_len_divided(values: &[i64], divisor: i64) -> usize {
    let divisor = divisor.max(1);
    values
        .chunks(BLOCK)
        .map(|block| {
            let min = block.iter().copied().min().unwrap_or(0) / divisor;
            let max = block.iter().copied().max().unwrap_or(0) / divisor;
            let width = 64 - ((i128::from(max) - i128::from(min)) as u64).leading_zeros();
            varint_len(zigzag(min)) + 1 + (block.len() * width as usize).div_ceil(8)
        })
        .sum()
}

pub(crate) fn encode(values: &[i64], out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    for block in values.chunks(BLOCK) {
        let min = block.iter().copied().min().unwrap_or(0);
        let max = block.iter().copied().max().unwrap_or(0);
        let range = (i128::from(max) - i128::from(min)) as u64;
        let width = 64 - range.leading_zeros();
        out.put_varint(zigzag(min))?;
        out.put_u8(width as u8)?;
        let mut bits = BitWriter::new(out);
        for &v in block {
            bits.put(v.wrapping_sub(min) as u64, width)?;
        }
        bits.finish()?;
    }
    Ok(())
}

/// What packed values decode into: signed integers, or the 64-bit words of a column (the same
/// bits).
pub(crate) trait Word: Copy {
    fn from_i64(v: i64) -> Self;
}

impl Word for i64 {
    #[inline]
    fn from_i64(v: i64) -> Self {
        v
    }
}

impl Word for u64 {
    #[inline]
    fn from_i64(v: i64) -> Self {
        v as u64
    }
}

pub(crate) fn decode<W: Word>(input: &mut ByteReader<'_>, out: &mut [W]) -> Result<(), CodecError> {
    for block in out.chunks_mut(BLOCK) {
        let min = unzigzag(input.varint()?);
        let width = u32::from(input.u8()?);
        if width > 64 {
            return Err(CodecError::Corrupt("packed width over 64 bits"));
        }
        // The block's bytes and everything after them in the frame: the whole-word loads of its
        // last offsets may reach into the next block's header (and mask it off), so only the
        // frame's last few offsets take the slower path.
        let ahead = input.unread_bytes();
        let bytes = input.take((block.len() * width as usize).div_ceil(8))?;
        unpack(bytes, ahead, width, min, block);
    }
    Ok(())
}

/// `out.len()` offsets of `width` bits from `bytes` (which holds at least that many bits),
/// each added to `min`; `ahead` is `bytes` and whatever follows them, which loads may touch
/// but no offset takes a bit of. Offsets are read with one unaligned load each (8 bytes up to
/// 56 bits wide, 16 above), in groups of eight by code made for their width; the last few, too
/// near the end of `ahead` for a whole load, from a zero-padded copy (or, over 56 bits, the
/// bit reader).
fn unpack<W: Word>(bytes: &[u8], ahead: &[u8], width: u32, min: i64, out: &mut [W]) {
    if width == 0 {
        out.fill(W::from_i64(min));
        return;
    }
    let done = unpack_groups(ahead, width, min, out);
    if done == out.len() {
        return;
    }
    // Each group of eight took `width` whole bytes.
    let from = done / 8 * width as usize;
    if width > 56 {
        let mut bits = BitReader::over(&bytes[from..]);
        for slot in &mut out[done..] {
            *slot = W::from_i64(min.wrapping_add(bits.get(width).unwrap_or(0) as i64));
        }
    } else {
        unpack_rest(&ahead[from..], width, min, &mut out[done..]);
    }
}

/// Unpacks groups of eight offsets with the width known at compile time (one copy of
/// [`unpack_fixed`] for each width): how many offsets it wrote from the start, a
/// multiple of 8 or all of them.
fn unpack_groups<W: Word>(bytes: &[u8], width: u32, min: i64, out: &mut [W]) -> usize {
    macro_rules! by_width {
        ($($b:literal)*) => {
            match width {
                $($b => unpack_fixed::<$b, W>(bytes, min, out),)*
                _ => 0,
            }
        };
    }
    by_width!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
        32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
        62 63 64)
}

/// [`unpack_groups`] for offsets of `B` bits: a group of eight is `B` whole bytes, read with
/// eight unaligned loads whose offsets, shifts and bounds the compiler knows, so each
/// offset is a load, a shift, a mask and an add (the general loop computes each position and
/// checks each load). Stops at the first group whose last load would pass the end of `bytes`;
/// a last group of fewer than eight (a block of 127 residuals) is unpacked whole into a
/// scratch group when `bytes` reaches far enough, and its offsets taken from there.
#[inline(never)]
fn unpack_fixed<const B: usize, W: Word>(bytes: &[u8], min: i64, out: &mut [W]) -> usize {
    // The group's loads reach `B` + `reach` bytes from its start at most.
    let reach = reach::<B>();
    let groups = (bytes.len().saturating_sub(reach) / B).min(out.len() / 8);
    for (k, group) in out[..groups * 8].chunks_exact_mut(8).enumerate() {
        unpack_group::<B, W>(&bytes[k * B..k * B + B + reach], min, group);
    }
    let done = groups * 8;
    let left = out.len() - done;
    let start = groups * B;
    if left == 0 || left >= 8 || bytes.len() < start + B + reach {
        return done;
    }
    let mut last = [W::from_i64(min); 8];
    unpack_group::<B, W>(&bytes[start..start + B + reach], min, &mut last);
    out[done..].copy_from_slice(&last[..left]);
    out.len()
}

/// Bytes each offset's load takes: 8 for offsets of up to 56 bits (an 8-byte load shifted by
/// up to 7 holds 57), 16 for wider ones.
const fn reach<const B: usize>() -> usize {
    if B <= 56 { 8 } else { 16 }
}

/// One group of eight `B`-bit offsets from `source` (`B` + [`reach`] bytes, the group's first),
/// each added to `min`.
#[inline(always)]
fn unpack_group<const B: usize, W: Word>(source: &[u8], min: i64, group: &mut [W]) {
    let mask = u64::MAX >> (64 - B);
    for (j, slot) in group.iter_mut().enumerate() {
        let bit = j * B;
        let at = bit / 8;
        let bits = if B <= 56 {
            let mut word = [0u8; 8];
            word.copy_from_slice(&source[at..at + 8]);
            u64::from_le_bytes(word) >> (bit % 8)
        } else {
            let mut word = [0u8; 16];
            word.copy_from_slice(&source[at..at + 16]);
            (u128::from_le_bytes(word) >> (bit % 8)) as u64
        };
        *slot = W::from_i64(min.wrapping_add((bits & mask) as i64));
    }
}

/// The offsets [`unpack_groups`] left (fewer than eight, or those too near the end of `bytes`
/// for whole loads), `bytes` starting at the first of them.
fn unpack_rest<W: Word>(bytes: &[u8], width: u32, min: i64, out: &mut [W]) {
    let mask = (1u64 << width) - 1;
    let width = width as usize;
    // Offsets whose 8-byte load stays inside `bytes`.
    let direct = if bytes.len() >= 8 {
        ((bytes.len() - 8) * 8 / width + 1).min(out.len())
    } else {
        0
    };
    let (head, tail) = out.split_at_mut(direct);
    for (i, slot) in head.iter_mut().enumerate() {
        let bit = i * width;
        let at = bit / 8;
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        *slot =
            W::from_i64(min.wrapping_add(((u64::from_le_bytes(word) >> (bit % 8)) & mask) as i64));
    }
    let mut padded = [0u8; 16];
    let from = (direct * width) / 8;
    let rest = &bytes[from.min(bytes.len())..];
    padded[..rest.len().min(16)].copy_from_slice(&rest[..rest.len().min(16)]);
    for (i, slot) in tail.iter_mut().enumerate() {
        let bit = (direct + i) * width - from * 8;
        let at = bit / 8;
        let mut word = [0u8; 8];
        word.copy_from_slice(&padded[at..at + 8]);
        *slot =
            W::from_i64(min.wrapping_add(((u64::from_le_bytes(word) >> (bit % 8)) & mask) as i64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_including_extremes() {
        let mut values: Vec<i64> = (0..300).map(|i| (i * 7919) % 1000 - 500).collect();
        values.extend([i64::MIN, i64::MAX, 0, -1]);
        let mut buf = vec![0u8; max_len(values.len())];
        let mut w = ByteWriter::new(&mut buf);
        encode(&values, &mut w).unwrap();
        let len = w.position();
        assert_eq!(len, encoded_len(&values));
        let mut r = ByteReader::new(&buf[..len]);
        let mut back = vec![0i64; values.len()];
        decode(&mut r, &mut back).unwrap();
        r.finish().unwrap();
        assert_eq!(back, values);
    }

    #[test]
    fn every_width_and_length_unpacks() {
        for width in 0..=64u32 {
            for len in [1usize, 2, 7, 8, 9, 63, 127, 128, 129, 300] {
                let top = if width == 64 {
                    u64::MAX
                } else {
                    (1u64 << width) - 1
                };
                let values: Vec<i64> = (0..len as u64)
                    .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) & top) as i64 - 5)
                    .collect();
                let mut buf = vec![0u8; max_len(values.len())];
                let mut w = ByteWriter::new(&mut buf);
                encode(&values, &mut w).unwrap();
                let n = w.position();
                // Whatever follows the stream in the frame (all ones here, the worst case for
                // a load that reaches past it) changes no value and is left unread.
                for trailing in [0usize, 3, 8, 17] {
                    let mut framed = buf[..n].to_vec();
                    framed.resize(n + trailing, 0xff);
                    let mut r = ByteReader::new(&framed);
                    let mut back = vec![0i64; len];
                    decode(&mut r, &mut back).unwrap();
                    assert_eq!(r.remaining(), trailing);
                    assert_eq!(
                        back, values,
                        "width {width}, {len} values, {trailing} after"
                    );
                }
            }
        }
    }

    #[test]
    fn a_constant_block_takes_two_bytes() {
        let values = [42i64; 128];
        let mut buf = [0u8; 64];
        let mut w = ByteWriter::new(&mut buf);
        encode(&values, &mut w).unwrap();
        assert_eq!(w.position(), 2);
    }
}
