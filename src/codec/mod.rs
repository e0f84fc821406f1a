//! Frame codecs: more rows in the same bytes. Each frame carries its own header (see [`frame`]),
//! so a producer may switch codecs between frames and a consumer decodes whatever arrives.
//!
//! | codec         | suits                                                                 |
//! |---------------|-----------------------------------------------------------------------|
//! | `none`        | incompressible data, or when every nanosecond counts                  |
//! | `delta`       | slowly moving series, counters, timestamps                            |
//! | `lz4`         | rows that repeat byte patterns (held values, padding)                 |
//! | `delta-lz4`   | slowly moving series with repeats: deltas first, then LZ4             |
//! | `shuffle-lz4` | noisy floats: byte planes group the similar high bytes (Blosc)        |
//! | `xor`         | gauges that repeat or change in few bits (Gorilla)                    |
//! | `rle`         | step functions and regular counters: runs of rows with the same step  |
//! | `decimal`     | decimals printed with few digits: prices, temperatures (ALP's idea)   |
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
    /// Scaled decimal integers, bit-packed differences.
    Decimal = 7,
}

impl CodecId {
    /// Every codec, in id order.
    pub const ALL: [CodecId; 8] = [
        CodecId::None,
        CodecId::Delta,
        CodecId::Lz4,
        CodecId::DeltaLz4,
        CodecId::ShuffleLz4,
        CodecId::Xor,
        CodecId::Rle,
        CodecId::Decimal,
    ];

    /// The codec with header id `id`.
    pub fn from_id(id: u8) -> Option<CodecId> {
        Self::ALL.get(usize::from(id)).copied()
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
    #[error(
        "unknown codec {0:?}; codecs: none, delta, lz4, delta-lz4, shuffle-lz4, xor, rle, decimal"
    )]
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
    #[error("frame format version {0} is not supported (this build reads versions 1 and 2)")]
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
            CodecId::Delta | CodecId::Xor | CodecId::Rle | CodecId::Decimal => {
                self.columns.load(rows);
                match codec {
                    CodecId::Delta => delta::encode(&self.columns, &mut self.deltas, out),
                    CodecId::Xor => xor::encode(&self.columns, out),
                    CodecId::Rle => rle::encode(&self.columns, &mut self.deltas, out),
                    _ => decimal::encode(&self.columns, &mut self.decimal, out),
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
            CodecId::Decimal => {
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
mod tests {
    use super::*;

    #[test]
    fn max_rows_in_is_the_inverse_of_max_frame_len() {
        assert_eq!(max_rows_in(max_frame_len(1) - 1), 0);
        for bytes in [max_frame_len(1), 4096, 65_536 - 8, 1 << 20] {
            let rows = max_rows_in(bytes);
            assert!(max_frame_len(rows) <= bytes, "{bytes}");
            assert!(max_frame_len(rows + 1) > bytes, "{bytes}");
        }
        assert_eq!(max_rows_in(usize::MAX / 2), frame::MAX_FRAME_ROWS);
    }

    fn sample(n: usize) -> Vec<Row> {
        (0..n)
            .map(|i| {
                let mut row = Row::new(i as u64, 1_000_000 + 1000 * i as u64);
                row.values = [
                    100.0 + (i % 7) as f64 * 0.01,
                    (i as f64).sin(),
                    (i / 10) as f64,
                    -0.0,
                    f64::NAN,
                    if i % 3 == 0 { f64::INFINITY } else { 1e-310 },
                ];
                row
            })
            .collect()
    }

    #[test]
    fn every_codec_round_trips_awkward_values() {
        let mut encoder = Encoder::new();
        let mut decoder = Decoder::new();
        for n in [0, 1, 2, 127, 128, 129, 1000] {
            let rows = sample(n);
            for codec in CodecId::ALL {
                let mut frame = Vec::new();
                encoder.encode_to_vec(codec, &rows, &mut frame).unwrap();
                assert!(frame.len() <= max_frame_len(n));
                let mut back = Vec::new();
                let header = decoder.decode(&frame, &mut back).unwrap();
                assert_eq!(header.codec, codec);
                assert_eq!(header.rows, n);
                assert_eq!(
                    trial::first_difference(&rows, &back),
                    None,
                    "{codec} with {n} rows"
                );
            }
        }
    }

    #[test]
    fn a_decoder_asked_for_some_columns_still_gives_every_row_back_after() {
        // A table's shape: stamps zero, a total beside its parts (a derived column), a zero
        // and a constant column; the columns a caller does not take may be left unwritten.
        let rows: Vec<Row> = (0..500u64)
            .map(|i| {
                let (a, b) = ((i % 50) as i64 - 20, (i * 7 % 13) as i64);
                let mut row = Row::new(i, 0);
                row.values = [
                    a as f64 / 10.0,
                    b as f64 / 10.0,
                    (a + b) as f64 / 10.0,
                    0.0,
                    7.5,
                    (i as f64).sqrt(),
                ];
                row
            })
            .collect();
        // Decoded before each: whatever a skipped column holds is the decoy's, not the rows'.
        let decoy: Vec<Row> = rows
            .iter()
            .map(|r| Row {
                values: r.values.map(|v| v + 1.0),
                ..*r
            })
            .collect();
        let mut encoder = Encoder::new();
        let mut decoder = Decoder::new();
        for codec in CodecId::ALL {
            let mut frame = Vec::new();
            encoder.encode_to_vec(codec, &rows, &mut frame).unwrap();
            let mut decoy_frame = Vec::new();
            encoder
                .encode_to_vec(codec, &decoy, &mut decoy_frame)
                .unwrap();
            for wanted in 0..=Row::COLUMNS {
                decoder.decode(&decoy_frame, &mut Vec::new()).unwrap();
                let mut columns = vec![Vec::new(); wanted];
                decoder.decode_values(&frame, &mut columns).unwrap();
                for (c, column) in columns.iter().enumerate() {
                    let expected: Vec<u64> = rows.iter().map(|r| r.values[c].to_bits()).collect();
                    let got: Vec<u64> = column.iter().map(|v| v.to_bits()).collect();
                    assert!(
                        got == expected,
                        "{codec}, column {c} of {wanted}: {} values, first wrong at {:?}",
                        got.len(),
                        got.iter().zip(&expected).position(|(a, b)| a != b)
                    );
                }
                let mut back = Vec::new();
                decoder.decode(&frame, &mut back).unwrap();
                assert_eq!(
                    trial::first_difference(&rows, &back),
                    None,
                    "{codec}: rows after {wanted} columns"
                );
            }
        }
    }

    #[test]
    fn values_decode_into_columns_as_they_decode_into_rows() {
        let mut encoder = Encoder::new();
        let mut decoder = Decoder::new();
        let rows = sample(300);
        for codec in CodecId::ALL {
            let mut frame = Vec::new();
            encoder.encode_to_vec(codec, &rows, &mut frame).unwrap();
            for wanted in [0, 1, 2, 6, 7] {
                // Something already there stays, and the frame's values follow it.
                let mut columns: Vec<Vec<f64>> = vec![vec![42.0]; wanted];
                decoder.decode_values(&frame, &mut columns).unwrap();
                for (c, column) in columns.iter().enumerate() {
                    let expected: Vec<u64> = std::iter::once(42.0f64.to_bits())
                        .chain(
                            rows.iter()
                                .map(|r| r.values.get(c).map_or(42.0, |v| *v).to_bits()),
                        )
                        .collect();
                    if c >= Row::COLUMNS {
                        assert_eq!(column, &[42.0], "{codec}: a seventh column is left alone");
                        continue;
                    }
                    let got: Vec<u64> = column.iter().map(|v| v.to_bits()).collect();
                    assert_eq!(got, expected, "{codec}, column {c} of {wanted}");
                }
            }
            let last = frame.len() - 1;
            frame[last] ^= 0x10;
            let mut columns = vec![vec![1.0], Vec::new()];
            assert!(decoder.decode_values(&frame, &mut columns).is_err());
            assert_eq!(
                columns,
                vec![vec![1.0], Vec::new()],
                "{codec}: untouched on error"
            );
        }
    }

    #[test]
    fn names_parse_back_and_unknown_names_list_the_codecs() {
        for codec in CodecId::ALL {
            assert_eq!(codec.name().parse::<CodecId>().unwrap(), codec);
            assert_eq!(CodecId::from_id(codec as u8), Some(codec));
        }
        let err = "zstd".parse::<CodecId>().unwrap_err().to_string();
        assert!(
            err.contains("unknown codec \"zstd\"") && err.contains("decimal"),
            "{err}"
        );
        assert_eq!(CodecId::from_id(8), None);
    }

    #[test]
    fn frames_of_earlier_versions_decode_and_unknown_versions_are_refused() {
        let rows = sample(50);
        let mut frame = Vec::new();
        Encoder::new()
            .encode_to_vec(CodecId::Lz4, &rows, &mut frame)
            .unwrap();
        assert_eq!(frame[2], frame::FORMAT_VERSION);
        let reseal = |frame: &mut Vec<u8>, version: u8| {
            frame[2] = version;
            let mut hasher = crc32fast::Hasher::new();
            hasher.update(&frame[..16]);
            hasher.update(&frame[HEADER_LEN..]);
            let crc = hasher.finalize();
            frame[16..20].copy_from_slice(&crc.to_le_bytes());
        };
        // Versions 1 and 2 wrote LZ4 over the whole rows.
        let mut whole = vec![0u8; rows.len() * ROW_BYTES];
        rows_to_bytes(&rows, &mut whole);
        let mut payload = vec![0u8; lz4::max_compressed_len(whole.len())];
        let mut writer = ByteWriter::new(&mut payload);
        lz4::compress(&whole, &mut writer).unwrap();
        let len = writer.position();
        let mut old = frame::wrap(CodecId::Lz4, rows.len(), &payload[..len]).unwrap();
        for version in [1, 2] {
            reseal(&mut old, version);
            let mut back = Vec::new();
            let header = Decoder::new().decode(&old, &mut back).unwrap();
            assert_eq!(header.version, version);
            assert_eq!(trial::first_difference(&rows, &back), None, "{version}");
        }
        // Under a version-3 header those bytes are not a version-3 payload.
        reseal(&mut old, 3);
        assert!(Decoder::new().decode(&old, &mut Vec::new()).is_err());
        reseal(&mut frame, frame::FORMAT_VERSION + 1);
        let err = Decoder::new().decode(&frame, &mut Vec::new()).unwrap_err();
        assert_eq!(
            err,
            CodecError::UnsupportedVersion(frame::FORMAT_VERSION + 1)
        );
    }

    #[test]
    fn lz4_stores_words_constant_throughout_once() {
        // Two value columns in use; the stamp and four value columns hold one value throughout.
        let rows: Vec<Row> = (0..1000)
            .map(|i| {
                let mut row = Row::new(i, 0);
                row.values = [i as f64 * 0.5, (i % 17) as f64, 0.0, -0.0, 7.5, f64::NAN];
                row
            })
            .collect();
        let (constant, values) = constant_words(&rows);
        assert_eq!(constant, 0b1111_0010);
        assert_eq!(values[5], (-0.0f64).to_bits());
        let mut frame = Vec::new();
        Encoder::new()
            .encode_to_vec(CodecId::Lz4, &rows, &mut frame)
            .unwrap();
        let mut back = Vec::new();
        Decoder::new().decode(&frame, &mut back).unwrap();
        assert_eq!(trial::first_difference(&rows, &back), None);
        let mut columns = vec![Vec::new(); 6];
        Decoder::new().decode_values(&frame, &mut columns).unwrap();
        for (c, column) in columns.iter().enumerate() {
            let expected: Vec<u64> = rows.iter().map(|r| r.values[c].to_bits()).collect();
            let got: Vec<u64> = column.iter().map(|v| v.to_bits()).collect();
            assert_eq!(got, expected, "column {c}");
        }
        // A single row: every word is constant, and nothing is left for LZ4 but an empty block.
        let one = &rows[..1];
        assert_eq!(constant_words(one).0, u8::MAX);
        Encoder::new()
            .encode_to_vec(CodecId::Lz4, one, &mut frame)
            .unwrap();
        let mut back = Vec::new();
        Decoder::new().decode(&frame, &mut back).unwrap();
        assert_eq!(trial::first_difference(one, &back), None);
    }

    #[test]
    fn a_flipped_bit_is_caught_by_the_checksum() {
        let rows = sample(100);
        let mut frame = Vec::new();
        Encoder::new()
            .encode_to_vec(CodecId::Decimal, &rows, &mut frame)
            .unwrap();
        let last = frame.len() - 1;
        frame[last] ^= 1;
        let mut out = Vec::new();
        let err = Decoder::new().decode(&frame, &mut out).unwrap_err();
        assert!(matches!(err, CodecError::ChecksumMismatch { .. }), "{err}");
        assert!(out.is_empty());
    }

    #[test]
    fn a_small_output_buffer_is_an_error() {
        let rows = sample(10);
        let mut out = [0u8; 40];
        let err = Encoder::new()
            .encode(CodecId::None, &rows, &mut out)
            .unwrap_err();
        assert_eq!(
            err,
            CodecError::OutputTooSmall {
                available: 40 - HEADER_LEN
            }
        );
    }
}
