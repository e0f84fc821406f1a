//! Bounds-checked byte and bit cursors, varints and zigzag: the building blocks every codec
//! writes and reads with. Every read is checked, so a hostile frame yields an error, never a
//! panic or an out-of-bounds access.

use super::CodecError;

/// Writes into a caller's slice; running out of room is an error, not a panic.
pub(crate) struct ByteWriter<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> ByteWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        ByteWriter { buf, pos: 0 }
    }

    /// Bytes written so far.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    #[inline]
    fn room(&mut self, len: usize) -> Result<&mut [u8], CodecError> {
        let end = self.pos.checked_add(len).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let slice = &mut self.buf[self.pos..end];
                self.pos = end;
                Ok(slice)
            }
            None => Err(CodecError::OutputTooSmall {
                available: self.buf.len(),
            }),
        }
    }

    /// Lets `write` fill the next `len` bytes in place (no staging copy).
    #[inline]
    pub(crate) fn put_with(
        &mut self,
        len: usize,
        write: impl FnOnce(&mut [u8]),
    ) -> Result<(), CodecError> {
        write(self.room(len)?);
        Ok(())
    }

    #[inline]
    pub(crate) fn put(&mut self, bytes: &[u8]) -> Result<(), CodecError> {
        self.room(bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }

    #[inline]
    pub(crate) fn put_u8(&mut self, v: u8) -> Result<(), CodecError> {
        self.put(&[v])
    }

    #[inline]
    pub(crate) fn put_u64(&mut self, v: u64) -> Result<(), CodecError> {
        self.put(&v.to_le_bytes())
    }

    /// LEB128: seven bits a byte, low first.
    #[inline]
    pub(crate) fn put_varint(&mut self, mut v: u64) -> Result<(), CodecError> {
        let mut tmp = [0u8; 10];
        let dst = match self.buf.get_mut(self.pos..self.pos + 10) {
            Some(dst) => dst,
            None => &mut tmp,
        };
        let mut n = 0;
        while v >= 0x80 {
            dst[n] = (v as u8) | 0x80;
            v >>= 7;
            n += 1;
        }
        dst[n] = v as u8;
        if self.buf.len() >= self.pos + 10 {
            self.pos += n + 1;
            Ok(())
        } else {
            self.put(&tmp[..=n])
        }
    }

    /// The unwritten rest of the buffer, for a compressor that writes in place; call
    /// [`ByteWriter::advance`] with what it wrote.
    pub(crate) fn rest(&mut self) -> &mut [u8] {
        &mut self.buf[self.pos..]
    }

    pub(crate) fn advance(&mut self, len: usize) -> Result<(), CodecError> {
        self.room(len).map(|_| ())
    }
}

/// Reads from a frame's bytes; every read is bounds-checked.
pub(crate) struct ByteReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> ByteReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        ByteReader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unread bytes, without taking them: for a decoder whose whole-word loads may reach
    /// past the field it takes next (and mask off what they read beyond it).
    #[inline]
    pub(crate) fn unread_bytes(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Errors unless every byte was consumed: trailing bytes mean a corrupt frame.
    pub(crate) fn finish(&self) -> Result<(), CodecError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(CodecError::Corrupt("trailing bytes after the payload"))
        }
    }

    #[inline]
    /// Steps back over the last `len` bytes taken: a self-delimiting stream, read from all that
    /// remained, gives back what follows it.
    pub(crate) fn unread(&mut self, len: usize) {
        debug_assert!(len <= self.pos);
        self.pos -= len.min(self.pos);
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or(CodecError::Corrupt("payload ends early"))?;
        let slice = &self.buf[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    pub(crate) fn u64(&mut self) -> Result<u64, CodecError> {
        let bytes = self.take(8)?;
        let mut word = [0u8; 8];
        word.copy_from_slice(bytes);
        Ok(u64::from_le_bytes(word))
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64, CodecError> {
        // Fast paths: one byte (small differences, the common case), then a whole 8-byte window
        // holding the varint's last byte.
        if let Some(&byte) = self.buf.get(self.pos)
            && byte < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(byte));
        }
        if let Some(window) = self.buf.get(self.pos..self.pos + 8) {
            let word = u64::from_le_bytes(window.try_into().unwrap_or([0; 8]));
            let ends = !word & 0x8080_8080_8080_8080;
            if ends != 0 {
                let len = (ends.trailing_zeros() / 8 + 1) as usize;
                self.pos += len;
                let bytes = if len == 8 {
                    word
                } else {
                    word & ((1u64 << (8 * len)) - 1)
                };
                return Ok(compact_seven_bit_groups(bytes));
            }
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64, CodecError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(CodecError::Corrupt("varint overflows 64 bits"));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(CodecError::Corrupt("varint longer than 10 bytes"))
    }

    /// A varint that must fit `limit` (a count or a length read from the frame).
    pub(crate) fn bounded(
        &mut self,
        limit: usize,
        what: &'static str,
    ) -> Result<usize, CodecError> {
        let v = self.varint()?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= limit)
            .ok_or(CodecError::Corrupt(what))
    }
}

/// Joins the low seven bits of each of up to eight bytes into one number (byte 0 lowest).
#[inline]
fn compact_seven_bit_groups(bytes: u64) -> u64 {
    let x = bytes & 0x7f7f_7f7f_7f7f_7f7f;
    let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
    let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
    (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4)
}

/// Maps signed to unsigned so small magnitudes of either sign stay small.
#[inline]
/// Bytes [`ByteWriter::put_varint`] writes for `v`.
pub(crate) fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros()).div_ceil(7).max(1) as usize
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Packs bit fields, low bits first, into a [`ByteWriter`].
pub(crate) struct BitWriter<'w, 'a> {
    out: &'w mut ByteWriter<'a>,
    acc: u128,
    filled: u32,
}

impl<'w, 'a> BitWriter<'w, 'a> {
    pub(crate) fn new(out: &'w mut ByteWriter<'a>) -> Self {
        BitWriter {
            out,
            acc: 0,
            filled: 0,
        }
    }

    /// Appends the low `width` bits of `value` (`width` ≤ 64).
    #[inline]
    pub(crate) fn put(&mut self, value: u64, width: u32) -> Result<(), CodecError> {
        if width == 0 {
            return Ok(());
        }
        let masked = if width == 64 {
            value
        } else {
            value & ((1u64 << width) - 1)
        };
        self.acc |= u128::from(masked) << self.filled;
        self.filled += width;
        if self.filled >= 64 {
            self.out.put_u64(self.acc as u64)?;
            self.acc >>= 64;
            self.filled -= 64;
        }
        Ok(())
    }

    /// Writes the partial last word's whole bytes.
    pub(crate) fn finish(self) -> Result<(), CodecError> {
        let bytes = self.filled.div_ceil(8) as usize;
        self.out.put(&(self.acc as u64).to_le_bytes()[..bytes])
    }
}

/// Reads bit fields written by [`BitWriter`]; reading past the end is an error.
pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    /// Reads `bytes`, already taken from their reader.
    pub(crate) fn over(bytes: &'a [u8]) -> Self {
        BitReader { bytes, bit: 0 }
    }

    /// Bits read so far.
    pub(crate) fn position(&self) -> usize {
        self.bit
    }

    /// The next 64 bits without consuming them, zeros past the end of the stream.
    #[inline]
    pub(crate) fn peek(&self) -> u64 {
        self.window() as u64
    }

    /// Consumes `width` bits.
    #[inline]
    pub(crate) fn skip(&mut self, width: u32) -> Result<(), CodecError> {
        self.skip_bits(width as usize)
    }

    /// Consumes `bits` bits, any number.
    pub(crate) fn skip_bits(&mut self, bits: usize) -> Result<(), CodecError> {
        let end = self.bit.saturating_add(bits);
        if end > self.bytes.len() * 8 {
            return Err(CodecError::Corrupt("bit stream ends early"));
        }
        self.bit = end;
        Ok(())
    }

    /// Reads `width` bits (≤ 64).
    #[inline]
    pub(crate) fn get(&mut self, width: u32) -> Result<u64, CodecError> {
        if width == 0 {
            return Ok(0);
        }
        let end = self.bit + width as usize;
        if end > self.bytes.len() * 8 {
            return Err(CodecError::Corrupt("bit stream ends early"));
        }
        let value = self.window();
        self.bit = end;
        Ok(if width == 64 {
            value as u64
        } else {
            (value as u64) & ((1u64 << width) - 1)
        })
    }

    /// At least 64 bits from the current position on (zeros past the end).
    #[inline]
    fn window(&self) -> u128 {
        bits_at(self.bytes, self.bit)
    }
}

/// At least 121 bits of `bytes` from bit `bit` on, least significant first (zeros past the end):
/// a 16-byte little-endian load shifted by the bit's place in its byte, for a reader that keeps
/// its own position.
#[inline]
pub(crate) fn bits_at(bytes: &[u8], bit: usize) -> u128 {
    let first = bit / 8;
    let word: [u8; 16] = match bytes.get(first..first + 16) {
        Some(window) => window.try_into().unwrap_or([0; 16]),
        None => {
            let mut word = [0u8; 16];
            let tail = bytes.get(first..).unwrap_or(&[]);
            word[..tail.len()].copy_from_slice(tail);
            word
        }
    };
    u128::from_le_bytes(word) >> (bit % 8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_length() {
        let values = [
            0,
            1,
            127,
            128,
            300,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ];
        let mut buf = [0u8; 128];
        let mut w = ByteWriter::new(&mut buf);
        for v in values {
            w.put_varint(v).unwrap();
        }
        let len = w.position();
        let mut r = ByteReader::new(&buf[..len]);
        for v in values {
            assert_eq!(r.varint().unwrap(), v);
        }
        r.finish().unwrap();
    }

    #[test]
    fn the_fast_and_slow_varint_paths_agree() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut values = Vec::new();
        for bits in 0..64 {
            rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            values.push(rng >> bits);
        }
        let mut buf = vec![0u8; values.len() * 10];
        let mut w = ByteWriter::new(&mut buf);
        for &v in &values {
            w.put_varint(v).unwrap();
        }
        let len = w.position();
        let mut fast = ByteReader::new(&buf[..len]);
        let mut slow = ByteReader::new(&buf[..len]);
        for &v in &values {
            assert_eq!(fast.varint().unwrap(), v);
            assert_eq!(slow.varint_slow().unwrap(), v);
        }
        fast.finish().unwrap();
        slow.finish().unwrap();
    }

    #[test]
    fn overlong_varints_are_errors() {
        let mut r = ByteReader::new(&[0xff; 11]);
        assert!(r.varint().is_err());
        let mut r = ByteReader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(r.varint().is_err());
    }

    #[test]
    fn zigzag_keeps_small_magnitudes_small() {
        for v in [0i64, -1, 1, -2, 2, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn bit_fields_round_trip() {
        let fields = [
            (1u64, 1u32),
            (0, 1),
            (0x3f, 6),
            (u64::MAX, 64),
            (5, 3),
            (0, 0),
            (1 << 40, 41),
        ];
        let mut buf = [0u8; 64];
        let mut w = ByteWriter::new(&mut buf);
        let mut bits = BitWriter::new(&mut w);
        for (v, width) in fields {
            bits.put(v, width).unwrap();
        }
        bits.finish().unwrap();
        let total: u32 = fields.iter().map(|f| f.1).sum();
        assert_eq!(w.position(), total.div_ceil(8) as usize);
        let len = w.position();
        let mut r = ByteReader::new(&buf[..len]);
        let mut bits = BitReader::over(r.take((total as usize).div_ceil(8)).unwrap());
        for (v, width) in fields {
            assert_eq!(bits.get(width).unwrap(), v);
        }
        assert!(bits.get(8).is_err());
    }

    #[test]
    fn a_full_writer_is_an_error() {
        let mut buf = [0u8; 3];
        let mut w = ByteWriter::new(&mut buf);
        assert!(w.put_u64(1).is_err());
    }
}
