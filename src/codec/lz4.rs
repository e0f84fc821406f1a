//! LZ4 block compression into and out of the frame's buffers: the reference C library (through
//! the `lz4` crate's safe block API; its decoder checks every offset and length against the
//! buffers, for untrusted input).

use super::CodecError;
use super::io::ByteWriter;

/// The most bytes compressing `len` bytes can take: LZ4's own bound (`LZ4_COMPRESSBOUND`,
/// `len + len / 255 + 16`) with room to spare, as frames have always been sized.
pub(crate) fn max_compressed_len(len: usize) -> usize {
    20 + len + len / 10
}

/// Compresses `input` into the rest of `out`.
pub(crate) fn compress(input: &[u8], out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    let available = out.rest().len();
    let len = lz4::block::compress_to_buffer(input, None, false, out.rest())
        .map_err(|_| CodecError::OutputTooSmall { available })?;
    out.advance(len)
}

/// Decompresses `input` into `into` (resized to `len`), which must come out exactly `len` long.
pub(crate) fn decompress(input: &[u8], len: usize, into: &mut Vec<u8>) -> Result<(), CodecError> {
    // Not cleared first: a block that decompresses to exactly `len` bytes writes every one.
    into.resize(len, 0);
    let expected = i32::try_from(len).map_err(|_| CodecError::Corrupt("LZ4 block too long"))?;
    let got = lz4::block::decompress_to_buffer(input, Some(expected), into)
        .map_err(|_| CodecError::Corrupt("LZ4 block does not decompress"))?;
    if got == len {
        Ok(())
    } else {
        Err(CodecError::Corrupt(
            "LZ4 block has the wrong decompressed length",
        ))
    }
}
