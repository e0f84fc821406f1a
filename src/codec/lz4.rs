//! LZ4 block compression (lz4_flex) into and out of the frame's buffers.

use super::CodecError;
use super::io::ByteWriter;

/// Compresses `input` into the rest of `out`.
pub(crate) fn compress(input: &[u8], out: &mut ByteWriter<'_>) -> Result<(), CodecError> {
    let available = out.rest().len();
    let len = lz4_flex::block::compress_into(input, out.rest())
        .map_err(|_| CodecError::OutputTooSmall { available })?;
    out.advance(len)
}

/// Decompresses `input` into `into` (resized to `len`), which must come out exactly `len` long.
pub(crate) fn decompress(input: &[u8], len: usize, into: &mut Vec<u8>) -> Result<(), CodecError> {
    into.clear();
    into.resize(len, 0);
    let got = lz4_flex::block::decompress_into(input, into)
        .map_err(|_| CodecError::Corrupt("LZ4 block does not decompress"))?;
    if got == len {
        Ok(())
    } else {
        Err(CodecError::Corrupt(
            "LZ4 block has the wrong decompressed length",
        ))
    }
}
