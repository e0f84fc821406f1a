//! Golomb–Rice coding of small signed integers (zigzagged), in blocks of 128 with a parameter `k`
//! each: a value `z` is `z >> k` one-bits, a zero-bit, then the low `k` bits of `z`. Residuals of
//! real series are peaked around zero (most small, a few large), where frame-of-reference packing
//! pays the largest value's width for every value and Rice pays about its entropy.
//!
//! A quotient of [`ESCAPE`] or more is written as `ESCAPE` one-bits and the zigzagged value whole,
//! so one outlier costs 96 bits, never billions, and a hostile stream cannot make the reader
//! count ones for long.
//!
//! Layout: one byte of `k` per block, then the bits (least significant first, as [`BitWriter`]
//! writes them) up to the next whole byte. The stream delimits itself: the reader gives back
//! the bytes after it.

use super::CodecError;
use super::io::{BitReader, BitWriter, ByteReader, ByteWriter, unzigzag, zigzag};

/// Values per block (one `k` each).
const BLOCK: usize = 128;

/// Quotients from here on are escaped.
const ESCAPE: u64 = 32;

/// Bits `z` takes with parameter `k`.
fn bits_of(z: u64, k: u32) -> u64 {
    let q = z >> k;
    if q >= ESCAPE {
        ESCAPE + 64
    } else {
        q + 1 + u64::from(k)
    }
}

/// The `k` that codes `block` in the fewest bits, and those bits: the best, computed exactly,
/// of the `k`s its mean suggests (right for peaked residuals) and its median suggests (right
/// when a few outliers drag the mean up), and their neighbours.
fn best_k(block: &[i64]) -> (u32, u64) {
    let mut zs = [0u64; BLOCK];
    let zs = &mut zs[..block.len()];
    for (z, &v) in zs.iter_mut().zip(block) {
        *z = zigzag(v);
    }
    let sum: u128 = zs.iter().map(|&z| u128::from(z)).sum();
    let mean = (sum / zs.len().max(1) as u128).max(1);
    let by_mean = 127 - mean.leading_zeros();
    let middle = zs.len() / 2;
    let median = if zs.is_empty() {
        1
    } else {
        *zs.select_nth_unstable(middle).1
    };
    let by_median = 63 - median.max(1).leading_zeros();
    let around = |k: u32| k.saturating_sub(1)..=(k + 1).min(63);
    around(by_mean)
        .chain(around(by_median))
        .map(|k| (k, zs.iter().map(|&z| bits_of(z, k)).sum()))
        .min_by_key(|&(k, bits)| (bits, k))
        .unwrap_or((0, 0))
}

/// Bytes [`encode`] writes for `values`.
pub(crate) fn encoded_len(values: &[i64]) -> usize {
    let bits: u64 = values.chunks(BLOCK).map(|b| best_k(b).1).sum();
    values.len().div_ceil(BLOCK) + bits.div_ceil(8) as usize
}

/// Writes `values` (see the module's layout).
pub(crate) fn encode(values: &[i64], out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    for block in values.chunks(BLOCK) {
        out.put_u8(best_k(block).0 as u8)?;
    }
    let mut stream = BitWriter::new(out);
    for block in values.chunks(BLOCK) {
        let (k, _) = best_k(block);
        for &v in block {
            let z = zigzag(v);
            let q = z >> k;
            if q >= ESCAPE {
                stream.put(u64::MAX, ESCAPE as u32)?;
                stream.put(z, 64)?;
            } else {
                // q ones then a zero, least significant first: the low q+1 bits of 2^q - 1.
                stream.put((1u64 << q) - 1, q as u32 + 1)?;
                stream.put(z, k)?;
            }
        }
    }
    stream.finish()
}

/// Reads what [`encode`] wrote into `out` (whose length says how many values).
pub(crate) fn decode(input: &mut ByteReader<'_>, out: &mut [i64]) -> Result<(), CodecError> {
    let blocks = out.len().div_ceil(BLOCK);
    let ks = input.take(blocks)?;
    if ks.iter().any(|&k| k > 63) {
        return Err(CodecError::Corrupt("rice parameter over 63"));
    }
    let mut stream = BitReader::rest(input)?;
    for (block, &k) in out.chunks_mut(BLOCK).zip(ks) {
        let k = u32::from(k);
        for slot in block {
            let q = u64::from(stream.peek().trailing_ones()).min(ESCAPE);
            let z = if q >= ESCAPE {
                stream.skip(ESCAPE as u32)?;
                stream.get(64)?
            } else {
                stream.skip(q as u32 + 1)?;
                (q << k) | stream.get(k)?
            };
            *slot = unzigzag(z);
        }
    }
    input.unread(stream.unused_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[i64]) -> usize {
        let mut buf = vec![0u8; values.len() * 13 + 16];
        let mut w = ByteWriter::new(&mut buf);
        encode(values, &mut w).unwrap();
        let len = w.position();
        assert_eq!(
            len,
            encoded_len(values),
            "the size promised is the size written"
        );
        // Bytes after the stream are left for the next reader.
        buf[len] = 0xa5;
        let mut r = ByteReader::new(&buf[..=len]);
        let mut back = vec![0i64; values.len()];
        decode(&mut r, &mut back).unwrap();
        assert_eq!(r.u8().unwrap(), 0xa5);
        r.finish().unwrap();
        assert_eq!(back, values);
        len
    }

    #[test]
    fn peaked_values_and_outliers_round_trip() {
        let mut values: Vec<i64> = (0..500).map(|i| ((i * 7919) % 23) - 11).collect();
        values.extend([i64::MIN, i64::MAX, 0, -1, 1 << 40, -(1 << 40)]);
        values.extend((0..100).map(|i| i % 2));
        round_trip(&values);
        round_trip(&[]);
        round_trip(&[0]);
    }

    #[test]
    fn small_residuals_cost_about_their_entropy() {
        // Values in -3..=3: zigzag 0..=6, k = 1 or 2: about 3.5 bits each, where frame of
        // reference packing pays 3 and a byte per block: Rice does not lose on these...
        let small: Vec<i64> = (0..1024).map(|i| (i * 31 % 7) - 3).collect();
        assert!(round_trip(&small) <= 1024 * 4 / 8 + 32);
        // ...and wins by far with one outlier a block.
        let spiky: Vec<i64> = (0..1024)
            .map(|i| if i % 64 == 0 { 1 << 30 } else { i % 3 - 1 })
            .collect();
        assert!(
            round_trip(&spiky) < 1024 * 3 / 8 + 16 * 13,
            "{}",
            round_trip(&spiky)
        );
    }

    #[test]
    fn hostile_streams_are_errors() {
        // k over 63.
        let mut r = ByteReader::new(&[64, 0]);
        assert!(decode(&mut r, &mut [0; 3]).is_err());
        // Ones to the end of the stream, short of an escape.
        let mut r = ByteReader::new(&[0, 0xff, 0xff]);
        assert!(decode(&mut r, &mut [0; 1]).is_err());
        // An escape without its value.
        let mut r = ByteReader::new(&[0, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert!(decode(&mut r, &mut [0; 1]).is_err());
        // No stream at all.
        let mut r = ByteReader::new(&[3]);
        assert!(decode(&mut r, &mut [0; 2]).is_err());
    }
}
