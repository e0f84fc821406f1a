//! Frame codecs: more rows in the same bytes. Each frame carries its own header (see [`frame`]),
//! so a producer may switch codecs between frames and a consumer decodes whatever arrives.
//!
//! | codec          | suits                                                                        |
//! |----------------|------------------------------------------------------------------------------|
//! | `none`         | incompressible data, or when every nanosecond counts                         |
//! | `delta`        | slowly moving series, counters, timestamps                                   |
//! | `lz4`          | rows that repeat byte patterns (held values, padding)                        |
//! | `delta-lz4`    | slowly moving series with repeats: deltas first, then LZ4                    |
//! | `shuffle-lz4`  | noisy floats: byte planes group the similar high bytes (Blosc)               |
//! | `xor`          | gauges that repeat or change in few bits (Gorilla)                           |
//! | `rle`          | step functions and regular counters: runs of rows with the same step         |
//! | `decimal`      | decimals printed with few digits: prices, temperatures (ALP's idea)          |
//! | `decimal-fast` | the same, bit-packed only: a little larger, decoded 1.5–1.8× faster (tables) |
//!
//! Encoding writes into the caller's buffer ([`Encoder::encode`]); the encoder and decoder keep
//! their scratch space between frames, so the steady state allocates nothing.

mod columns;
mod decimal;
mod delta;
pub mod frame;
mod ints;
mod io;
mod lz4;
mod pack;
// The loom build reads frame records by copying; the pipeline is for real builds.
#[cfg(not(loom))]
pub mod pipe;
mod rice;
mod rle;
mod shuffle;
pub mod trial;
mod xor;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use self::columns::{
    ALL_COLUMNS, Columns, ROW_BYTES, RowWords, WORDS, constant_words, rows_to_bytes,
    rows_to_varying_bytes, value_columns,
};
use self::frame::{FrameHeader, HEADER_LEN, MAX_FRAME_ROWS};
use self::ints::Coding;
use self::io::{ByteReader, ByteWriter};
use crate::row::Row;

/// A codec, as named in profiles and on the command line, and numbered in frame headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[repr(u8)]
pub enum CodecId {
    /// Rows as they are, little-endian.
    None = 0,
    /// Per-column differences, zigzag varints.
    Delta = 1,
    /// LZ4 block compression of the rows (words constant throughout the frame stored once).
    Lz4 = 2,
    /// `delta`, then LZ4.
    DeltaLz4 = 3,
    /// Byte planes of each column, then LZ4.
    ShuffleLz4 = 4,
    /// Gorilla XOR compression.
    Xor = 5,
    /// Runs of rows repeating a step.
    Rle = 6,
    /// Scaled decimal integers in their smallest form (bit-packed or Rice-coded differences).
    Decimal = 7,
    /// `decimal` with every column bit-packed, none Rice-coded: 14–15 % more bytes on the
    /// sample tables, decoded 1.5–1.8× faster (Rice coding decodes one value after another).
    DecimalFast = 8,
}

impl CodecId {
    /// Every codec, in id order.
    pub const ALL: [CodecId; 9] = [
        CodecId::None,
        CodecId::Delta,
        CodecId::Lz4,
        CodecId::DeltaLz4,
        CodecId::ShuffleLz4,
        CodecId::Xor,
        CodecId::Rle,
        CodecId::Decimal,
        CodecId::DecimalFast,
    ];

    /// The codec with header id `id`.
    pub fn from_id(id: u8) -> Option<CodecId> {
        Self::ALL.get(usize::from(id)).copied()
    }

    /// Every codec's name, in id order, separated by commas: for messages.
    pub fn names() -> String {
        Self::ALL.map(Self::name).join(", ")
    }

    /// The name used in profiles, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            CodecId::None => "none",
            CodecId::Delta => "delta",
            CodecId::Lz4 => "lz4",
            CodecId::DeltaLz4 => "delta-lz4",
            CodecId::ShuffleLz4 => "shuffle-lz4",
            CodecId::Xor => "xor",
            CodecId::Rle => "rle",
            CodecId::Decimal => "decimal",
            CodecId::DecimalFast => "decimal-fast",
        }
    }
}

impl fmt::Display for CodecId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for CodecId {
    type Err = CodecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| CodecError::UnknownCodecName(s.to_owned()))
    }
}

/// Why a frame could not be encoded or decoded. Decoding hostile bytes always ends here, never in
/// a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// A codec name that does not exist.
    #[error("unknown codec {0:?}; codecs: {names}", names = CodecId::names())]
    UnknownCodecName(String),
    /// The frame is shorter than its header says.
    #[error("frame truncated: needs {needed} bytes, has {available}")]
    Truncated {
        /// Bytes the header calls for.
        needed: usize,
        /// Bytes there are.
        available: usize,
    },
    /// The bytes do not start with a frame header.
    #[error("not a ringtop frame (bad magic)")]
    BadMagic,
    /// A header from a format this build does not read.
    #[error(
        "frame format version {0} is not supported (this build reads versions {oldest} to {newest})",
        oldest = frame::OLDEST_READABLE_VERSION,
        newest = frame::FORMAT_VERSION
    )]
    UnsupportedVersion(u8),
    /// A codec id this build does not know.
    #[error("unknown codec id {0} in frame header")]
    UnknownCodecId(u8),
    /// More rows than a frame may carry.
    #[error("{0} rows in one frame; at most {MAX_FRAME_ROWS}")]
    TooManyRows(usize),
    /// The payload was changed after the producer wrote it.
    #[error("frame checksum mismatch: header says {expected:#010x}, payload gives {actual:#010x}")]
    ChecksumMismatch {
        /// From the header.
        expected: u32,
        /// Computed.
        actual: u32,
    },
    /// The payload does not decode.
    #[error("corrupt frame: {0}")]
    Corrupt(&'static str),
    /// The output buffer cannot hold the frame; see [`max_frame_len`].
    #[error("output buffer of {available} bytes is too small for the frame")]
    OutputTooSmall {
        /// Bytes given.
        available: usize,
    },
}

/// The most payload bytes any codec writes for `rows` rows.
pub fn max_payload_len(rows: usize) -> usize {
    let uncompressed = [
        rows * ROW_BYTES,
        delta::max_len(rows),
        rows * xor::MAX_BYTES_PER_ROW + 8,
        rows * rle::MAX_BYTES_PER_ROW + ROW_BYTES,
        decimal::max_len(rows),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    // The LZ4 variants compress at most this much, behind a length varint.
    lz4::max_compressed_len(uncompressed) + 10
}

/// The most bytes a frame of `rows` rows takes, header included: size buffers and ring claims
/// with this.
pub fn max_frame_len(rows: usize) -> usize {
    HEADER_LEN + max_payload_len(rows)
}

/// The most rows (up to [`MAX_FRAME_ROWS`]) whose frame is sure to fit in `bytes`: the inverse of
/// [`max_frame_len`]; 0 when not even one row's frame fits.
pub fn max_rows_in(bytes: usize) -> usize {
    let (mut low, mut high) = (0, MAX_FRAME_ROWS);
    while low < high {
        let mid = (low + high).div_ceil(2);
        if max_frame_len(mid) <= bytes {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    low
}

/// Encodes batches of rows into frames, reusing its scratch space.
#[derive(Debug, Default)]
pub struct Encoder {
    columns: Columns,
    deltas: Vec<i64>,
    bytes: Vec<u8>,
    decimal: decimal::Scratch,
}

impl Encoder {
    /// A fresh encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes `rows` with `codec` into `out` as one frame and returns the frame's length.
    ///
    /// # Errors
    /// [`CodecError::TooManyRows`] over [`MAX_FRAME_ROWS`]; [`CodecError::OutputTooSmall`] when
    /// `out` is shorter than needed ([`max_frame_len`] is always enough).
    pub fn encode(
        &mut self,
        codec: CodecId,
        rows: &[Row],
        out: &mut [u8],
    ) -> Result<usize, CodecError> {
        if rows.len() > MAX_FRAME_ROWS {
            return Err(CodecError::TooManyRows(rows.len()));
        }
        if out.len() < HEADER_LEN {
            return Err(CodecError::OutputTooSmall {
                available: out.len(),
            });
        }
        let (_, body) = out.split_at_mut(HEADER_LEN);
        let mut writer = ByteWriter::new(body);
        self.encode_payload(codec, rows, &mut writer)?;
        let payload_len = writer.position();
        frame::seal(out, codec, rows.len(), payload_len);
        Ok(HEADER_LEN + payload_len)
    }

    /// Encodes into a `Vec`, replacing its contents (its capacity is kept for the next frame).
    ///
    /// # Errors
    /// As [`Encoder::encode`].
    pub fn encode_to_vec(
        &mut self,
        codec: CodecId,
        rows: &[Row],
        out: &mut Vec<u8>,
    ) -> Result<usize, CodecError> {
        out.clear();
        out.resize(max_frame_len(rows.len()), 0);
        let len = self.encode(codec, rows, out)?;
        out.truncate(len);
        Ok(len)
    }

    fn encode_payload(
        &mut self,
        codec: CodecId,
        rows: &[Row],
        out: &mut ByteWriter<'_>,
    ) -> Result<(), CodecError> {
        match codec {
            CodecId::None => out.put_with(rows.len() * ROW_BYTES, |bytes| {
                rows_to_bytes(rows, bytes);
            }),
            CodecId::Lz4 => {
                // Words holding one value throughout (an unused column, a zero stamp) are
                // stored once, ahead of LZ4: less to compress, and less to decompress.
                let (constant, values) = constant_words(rows);
                out.put_u8(constant)?;
                for (w, &value) in values.iter().enumerate() {
                    if constant & (1 << w) != 0 {
                        out.put_u64(value)?;
                    }
                }
                let varying = WORDS - constant.count_ones() as usize;
                self.bytes.clear();
                self.bytes.resize(rows.len() * 8 * varying, 0);
                rows_to_varying_bytes(rows, constant, &mut self.bytes);
                lz4::compress(&self.bytes, out)
            }
            CodecId::Delta
            | CodecId::Xor
            | CodecId::Rle
            | CodecId::Decimal
            | CodecId::DecimalFast => {
                self.columns.load(rows);
                match codec {
                    CodecId::Delta => delta::encode(&self.columns, &mut self.deltas, out),
                    CodecId::Xor => xor::encode(&self.columns, out),
                    CodecId::Rle => rle::encode(&self.columns, &mut self.deltas, out),
                    CodecId::DecimalFast => {
                        decimal::encode(&self.columns, &mut self.decimal, Coding::Packed, out)
                    }
                    _ => decimal::encode(&self.columns, &mut self.decimal, Coding::Smallest, out),
                }
            }
            CodecId::DeltaLz4 => {
                self.columns.load(rows);
                self.bytes.clear();
                self.bytes.resize(delta::max_len(rows.len()), 0);
                let mut inner = ByteWriter::new(&mut self.bytes);
                delta::encode(&self.columns, &mut self.deltas, &mut inner)?;
                let len = inner.position();
                out.put_varint(len as u64)?;
                lz4::compress(&self.bytes[..len], out)
            }
            CodecId::ShuffleLz4 => {
                self.columns.load(rows);
                shuffle::encode(&self.columns, &mut self.bytes, out)
            }
        }
    }
}

/// Decodes frames of any codec, reusing its scratch space.
#[derive(Debug, Default)]
pub struct Decoder {
    columns: Columns,
    bytes: Vec<u8>,
    decimal: decimal::Scratch,
}

impl Decoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks and decodes one whole frame, appending its rows to `out`. On error `out` is left
    /// as it was.
    ///
    /// # Errors
    /// Any [`CodecError`] for a frame that is truncated, corrupt or from an unknown format.
    pub fn decode(&mut self, frame: &[u8], out: &mut Vec<Row>) -> Result<FrameHeader, CodecError> {
        let (header, decoded) = self.decode_frame(frame, ALL_COLUMNS)?;
        match decoded {
            Decoded::RowWords(words) => words.append_rows(out),
            Decoded::Columns(columns) => columns.store(out),
        }
        Ok(header)
    }

    /// Checks and decodes one whole frame, appending value column `c` of its rows to `out[c]`
    /// (at most the six value columns; sequence numbers and stamps are not returned). This is how
    /// a table in the column-chunked layout comes back (see [`trial::run_columns`]): only its
    /// own columns are written, not the 64 bytes of every row. On error `out` is left as it was.
    ///
    /// # Errors
    /// As [`Decoder::decode`].
    pub fn decode_values(
        &mut self,
        frame: &[u8],
        out: &mut [Vec<f64>],
    ) -> Result<FrameHeader, CodecError> {
        let wanted = out.len().min(Row::COLUMNS);
        let (header, decoded) = self.decode_frame(frame, value_columns(wanted))?;
        for (c, values) in out[..wanted].iter_mut().enumerate() {
            match decoded {
                Decoded::RowWords(words) => words.append_column(2 + c, values),
                Decoded::Columns(columns) => columns.append_column(2 + c, values),
            }
        }
        Ok(header)
    }

    /// Checks a frame and decodes it into the decoder's scratch space (or, for `none`, points
    /// at its payload). Columns not in `wanted` (bit `w` for word `w`) may be left unwritten
    /// where a codec can skip them; the frame is checked whole either way.
    fn decode_frame<'a>(
        &'a mut self,
        frame: &'a [u8],
        wanted: u8,
    ) -> Result<(FrameHeader, Decoded<'a>), CodecError> {
        let (header, payload) = frame::open(frame)?;
        let rows = header.rows;
        let mut input = ByteReader::new(payload);
        match header.codec {
            CodecId::None => {
                let bytes = input.take(rows * ROW_BYTES)?;
                input.finish()?;
                return Ok((header, Decoded::RowWords(RowWords::whole(bytes))));
            }
            CodecId::Lz4 if header.version < 3 => {
                lz4::decompress(payload, rows * ROW_BYTES, &mut self.bytes)?;
                return Ok((header, Decoded::RowWords(RowWords::whole(&self.bytes))));
            }
            CodecId::Lz4 => {
                let constant = input.u8()?;
                let mut values = [0u64; WORDS];
                for (w, value) in values.iter_mut().enumerate() {
                    if constant & (1 << w) != 0 {
                        *value = input.u64()?;
                    }
                }
                let varying = WORDS - constant.count_ones() as usize;
                let compressed = input.take(input.remaining())?;
                lz4::decompress(compressed, rows * 8 * varying, &mut self.bytes)?;
                let words = RowWords::varying(&self.bytes, rows, constant, &values);
                return Ok((header, Decoded::RowWords(words)));
            }
            CodecId::Delta => {
                self.columns.reset(rows);
                delta::decode(&mut input, &mut self.columns, header.version)?;
            }
            CodecId::Xor => {
                self.columns.reset(rows);
                xor::decode(&mut input, &mut self.columns)?;
            }
            CodecId::Rle => {
                self.columns.reset(rows);
                rle::decode(&mut input, &mut self.columns, header.version)?;
            }
            CodecId::Decimal | CodecId::DecimalFast => {
                self.columns.reset(rows);
                decimal::decode(&mut input, &mut self.columns, &mut self.decimal, wanted)?;
            }
            CodecId::DeltaLz4 => {
                let len = input.bounded(delta::max_len(rows), "delta length over its bound")?;
                let compressed = input.take(input.remaining())?;
                lz4::decompress(compressed, len, &mut self.bytes)?;
                self.columns.reset(rows);
                let mut inner = ByteReader::new(&self.bytes);
                delta::decode(&mut inner, &mut self.columns, header.version)?;
                inner.finish()?;
            }
            CodecId::ShuffleLz4 => {
                self.columns.reset(rows);
                shuffle::decode(&mut input, &mut self.columns, &mut self.bytes)?;
            }
        }
        input.finish()?;
        Ok((header, Decoded::Columns(&self.columns)))
    }
}

/// A checked frame's rows, decoded but not yet in the caller's shape.
#[derive(Clone, Copy)]
enum Decoded<'a> {
    /// Rows as little-endian bytes, some words perhaps kept aside.
    RowWords(RowWords<'a>),
    /// Rows as eight columns of words.
    Columns(&'a Columns),
}

#[cfg(test)]
mod tests;
