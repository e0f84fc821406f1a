//! The frame header: what a consumer needs to decode a frame on its own, whatever codec the
//! producer used for the frames before it.
//!
//! Layout (24 bytes, little-endian):
//!
//! | bytes  | field                                                          |
//! |--------|----------------------------------------------------------------|
//! | 0..2   | magic `b"rt"`                                                  |
//! | 2      | format version ([`FORMAT_VERSION`])                            |
//! | 3      | codec id ([`super::CodecId`])                                  |
//! | 4..8   | row count (at most [`MAX_FRAME_ROWS`])                         |
//! | 8..12  | raw length: row count × 64                                     |
//! | 12..16 | encoded length: payload bytes after the header                 |
//! | 16..20 | CRC-32 of bytes 0..16 and the payload                          |
//! | 20..24 | reserved, zero                                                 |

use super::{CodecError, CodecId};
use crate::row::Row;

/// Bytes before the payload.
pub const HEADER_LEN: usize = 24;

/// The format this build writes: the header layout and, per codec, the payload's. Version 2
/// differs from 1 only in `delta`'s payload (and so `delta-lz4`'s): packed differences rather
/// than varints; version 3 from 2 only in `rle`'s (literal stretches beside runs) and `lz4`'s
/// (words that hold one value throughout stored once, ahead of the block); version 4 from 3 only
/// in `decimal`'s Rice-coded integers (quotients as runs of zeros, flagged in each stream's
/// form byte, where earlier versions wrote runs of ones).
pub const FORMAT_VERSION: u8 = 4;

/// The oldest format this build still reads.
pub const OLDEST_READABLE_VERSION: u8 = 1;

/// The most rows one frame may carry: bounds what a decoder allocates for a frame it has not
/// yet checked (4 MiB of rows).
pub const MAX_FRAME_ROWS: usize = 65_536;

const MAGIC: [u8; 2] = *b"rt";

/// What a frame's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The format the producer wrote (see [`FORMAT_VERSION`]).
    pub version: u8,
    /// The codec of the payload.
    pub codec: CodecId,
    /// Rows in the frame.
    pub rows: usize,
    /// Payload bytes after the header.
    pub encoded_len: usize,
    /// The checksum the producer computed.
    pub checksum: u32,
}

impl FrameHeader {
    /// Bytes the rows take uncompressed.
    pub fn raw_len(&self) -> usize {
        self.rows * std::mem::size_of::<Row>()
    }

    /// The whole frame: header and payload.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + self.encoded_len
    }
}

/// Writes the header for a payload already in `frame[HEADER_LEN..HEADER_LEN + encoded_len]`.
pub(crate) fn seal(frame: &mut [u8], codec: CodecId, rows: usize, encoded_len: usize) {
    let header = &mut frame[..HEADER_LEN];
    header[0..2].copy_from_slice(&MAGIC);
    header[2] = FORMAT_VERSION;
    header[3] = codec as u8;
    header[4..8].copy_from_slice(&(rows as u32).to_le_bytes());
    header[8..12].copy_from_slice(&((rows * std::mem::size_of::<Row>()) as u32).to_le_bytes());
    header[12..16].copy_from_slice(&(encoded_len as u32).to_le_bytes());
    header[20..24].fill(0);
    let checksum = checksum(&frame[..16], &frame[HEADER_LEN..HEADER_LEN + encoded_len]);
    frame[16..20].copy_from_slice(&checksum.to_le_bytes());
}

/// Wraps an arbitrary payload as a frame with a valid header and checksum: for tests and fuzzing
/// of the codec decoders behind the checksum, and for tools that forward payloads.
///
/// # Errors
/// [`CodecError::TooManyRows`] over [`MAX_FRAME_ROWS`]; [`CodecError::Corrupt`] for a payload
/// longer than the codec bound a decoder accepts.
pub fn wrap(codec: CodecId, rows: usize, payload: &[u8]) -> Result<Vec<u8>, CodecError> {
    if rows > MAX_FRAME_ROWS {
        return Err(CodecError::TooManyRows(rows));
    }
    if payload.len() > super::max_payload_len(rows) {
        return Err(CodecError::Corrupt(
            "encoded length exceeds the codec's bound",
        ));
    }
    let mut frame = vec![0u8; HEADER_LEN + payload.len()];
    frame[HEADER_LEN..].copy_from_slice(payload);
    seal(&mut frame, codec, rows, payload.len());
    Ok(frame)
}

fn checksum(header: &[u8], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(header);
    hasher.update(payload);
    hasher.finalize()
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Reads and checks the header of `frame` without verifying the checksum (cheap: for routing
/// and statistics).
///
/// # Errors
/// A [`CodecError`] naming the first field that is wrong.
pub fn peek(frame: &[u8]) -> Result<FrameHeader, CodecError> {
    if frame.len() < HEADER_LEN {
        return Err(CodecError::Truncated {
            needed: HEADER_LEN,
            available: frame.len(),
        });
    }
    if frame[0..2] != MAGIC {
        return Err(CodecError::BadMagic);
    }
    let version = frame[2];
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(CodecError::UnsupportedVersion(version));
    }
    let codec = CodecId::from_id(frame[3]).ok_or(CodecError::UnknownCodecId(frame[3]))?;
    let rows = u32_at(frame, 4) as usize;
    if rows > MAX_FRAME_ROWS {
        return Err(CodecError::TooManyRows(rows));
    }
    let raw_len = u32_at(frame, 8) as usize;
    if raw_len != rows * std::mem::size_of::<Row>() {
        return Err(CodecError::Corrupt(
            "raw length disagrees with the row count",
        ));
    }
    let encoded_len = u32_at(frame, 12) as usize;
    if encoded_len > super::max_payload_len(rows) {
        return Err(CodecError::Corrupt(
            "encoded length exceeds the codec's bound",
        ));
    }
    if frame[20..24] != [0; 4] {
        return Err(CodecError::Corrupt("reserved header bytes are not zero"));
    }
    Ok(FrameHeader {
        version,
        codec,
        rows,
        encoded_len,
        checksum: u32_at(frame, 16),
    })
}

/// Checks the header and the checksum; returns the header and the payload.
///
/// # Errors
/// As [`peek`], plus [`CodecError::Truncated`], [`CodecError::ChecksumMismatch`].
pub fn open(frame: &[u8]) -> Result<(FrameHeader, &[u8]), CodecError> {
    let header = peek(frame)?;
    if frame.len() < header.frame_len() {
        return Err(CodecError::Truncated {
            needed: header.frame_len(),
            available: frame.len(),
        });
    }
    if frame.len() > header.frame_len() {
        return Err(CodecError::Corrupt("bytes after the frame's payload"));
    }
    let payload = &frame[HEADER_LEN..];
    let actual = checksum(&frame[..16], payload);
    if actual != header.checksum {
        return Err(CodecError::ChecksumMismatch {
            expected: header.checksum,
            actual,
        });
    }
    Ok((header, payload))
}
