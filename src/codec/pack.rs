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
pub(crate) fn encoded_len(values: &[i64]) -> usize {
    values
        .chunks(BLOCK)
        .map(|block| {
            let min = block.iter().copied().min().unwrap_or(0);
            let max = block.iter().copied().max().unwrap_or(0);
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

pub(crate) fn decode(input: &mut ByteReader<'_>, out: &mut [i64]) -> Result<(), CodecError> {
    for block in out.chunks_mut(BLOCK) {
        let min = unzigzag(input.varint()?);
        let width = u32::from(input.u8()?);
        if width > 64 {
            return Err(CodecError::Corrupt("packed width over 64 bits"));
        }
        let mut bits = BitReader::new(input, block.len() * width as usize)?;
        for slot in block {
            *slot = min.wrapping_add(bits.get(width)? as i64);
        }
    }
    Ok(())
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
    fn a_constant_block_takes_two_bytes() {
        let values = [42i64; 128];
        let mut buf = [0u8; 64];
        let mut w = ByteWriter::new(&mut buf);
        encode(&values, &mut w).unwrap();
        assert_eq!(w.position(), 2);
    }
}
