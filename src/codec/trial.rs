//! Trying codecs on a batch of rows: size, speed, and a bit-exact round-trip check. What
//! `ringtop codec` prints.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::{CodecId, Decoder, Encoder, max_frame_len};
use crate::row::Row;

/// How long each codec is timed for, at least (whole passes over the rows).
const MIN_TIMING: Duration = Duration::from_millis(100);
/// Passes each codec is timed for, at least.
const MIN_PASSES: usize = 3;

/// One codec's result on the rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodecResult {
    /// Codec name.
    pub name: String,
    /// Raw row bytes (64 a row) over encoded bytes, frame headers included.
    pub ratio: f64,
    /// Encoded bytes, headers included, per real value (rows × real columns).
    pub bytes_per_value: f64,
    /// Raw megabytes (10^6 bytes) encoded per second, median pass.
    pub encode_mb_per_s: f64,
    /// Raw megabytes decoded per second, median pass.
    pub decode_mb_per_s: f64,
    /// `"ok"` when every row came back bit for bit, otherwise what went wrong.
    pub roundtrip: String,
}

impl CodecResult {
    /// Whether the round trip was exact.
    pub fn is_exact(&self) -> bool {
        self.roundtrip == "ok"
    }
}

/// Encodes `rows` in frames of `frame_rows` with each codec, decodes them back, and reports.
/// `real_columns` is how many of the six value columns hold data (for bytes per value).
pub fn run(
    rows: &[Row],
    real_columns: usize,
    frame_rows: usize,
    codecs: &[CodecId],
) -> Vec<CodecResult> {
    let frame_rows = frame_rows.max(1);
    let frames = rows.len().div_ceil(frame_rows);
    let mut buffer = vec![0u8; frames * max_frame_len(frame_rows)];
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    let mut decoded: Vec<Row> = Vec::with_capacity(rows.len());
    let raw_mb = std::mem::size_of_val(rows) as f64 / 1e6;
    let values = (rows.len() * real_columns.max(1)) as f64;

    codecs
        .iter()
        .map(|&codec| {
            let mut bounds = Vec::with_capacity(frames);
            let encode_pass =
                |encoder: &mut Encoder, buffer: &mut [u8], bounds: &mut Vec<(usize, usize)>| {
                    bounds.clear();
                    let mut at = 0;
                    for chunk in rows.chunks(frame_rows) {
                        let len = encoder.encode(codec, chunk, &mut buffer[at..])?;
                        bounds.push((at, at + len));
                        at += len;
                    }
                    Ok::<usize, super::CodecError>(at)
                };
            let encoded = match encode_pass(&mut encoder, &mut buffer, &mut bounds) {
                Ok(bytes) => bytes,
                Err(err) => return failed(codec, format!("encode failed: {err}")),
            };
            let encode_time = median_pass(|| {
                let _ = encode_pass(&mut encoder, &mut buffer, &mut bounds);
            });

            let decode_pass = |decoder: &mut Decoder, decoded: &mut Vec<Row>| {
                decoded.clear();
                for &(start, end) in &bounds {
                    decoder.decode(&buffer[start..end], decoded)?;
                }
                Ok::<(), super::CodecError>(())
            };
            if let Err(err) = decode_pass(&mut decoder, &mut decoded) {
                return failed(codec, format!("decode failed: {err}"));
            }
            let roundtrip = match first_difference(rows, &decoded) {
                None => "ok".to_owned(),
                Some(i) => format!("row {i} differs after decoding"),
            };
            let decode_time = median_pass(|| {
                let _ = decode_pass(&mut decoder, &mut decoded);
            });
            CodecResult {
                name: codec.name().to_owned(),
                ratio: std::mem::size_of_val(rows) as f64 / encoded as f64,
                bytes_per_value: encoded as f64 / values,
                encode_mb_per_s: raw_mb / encode_time.as_secs_f64(),
                decode_mb_per_s: raw_mb / decode_time.as_secs_f64(),
                roundtrip,
            }
        })
        .collect()
}

fn failed(codec: CodecId, reason: String) -> CodecResult {
    CodecResult {
        name: codec.name().to_owned(),
        ratio: 0.0,
        bytes_per_value: 0.0,
        encode_mb_per_s: 0.0,
        decode_mb_per_s: 0.0,
        roundtrip: reason,
    }
}

/// Times `pass` until [`MIN_TIMING`] and [`MIN_PASSES`] are both reached; the median pass.
fn median_pass(mut pass: impl FnMut()) -> Duration {
    let start = Instant::now();
    let mut times = Vec::new();
    while times.len() < MIN_PASSES || start.elapsed() < MIN_TIMING {
        let t = Instant::now();
        pass();
        times.push(t.elapsed().max(Duration::from_nanos(1)));
    }
    times.sort_unstable();
    times[times.len() / 2]
}

/// The first row whose bits differ, if any (NaN payloads and -0.0 included).
pub fn first_difference(a: &[Row], b: &[Row]) -> Option<usize> {
    let same = |x: &Row, y: &Row| {
        x.seq == y.seq
            && x.stamp_ns == y.stamp_ns
            && x.values
                .iter()
                .zip(&y.values)
                .all(|(p, q)| p.to_bits() == q.to_bits())
    };
    a.iter()
        .zip(b)
        .position(|(x, y)| !same(x, y))
        .or_else(|| (a.len() != b.len()).then_some(a.len().min(b.len())))
}

/// The results as a table, one codec a line.
pub fn render_table(results: &[CodecResult]) -> String {
    let mut out = format!(
        "{:<12} {:>7} {:>12} {:>12} {:>12}  round trip\n",
        "codec", "ratio", "bytes/value", "encode MB/s", "decode MB/s"
    );
    for r in results {
        out.push_str(&format!(
            "{:<12} {:>7.2} {:>12.3} {:>12.0} {:>12.0}  {}\n",
            r.name, r.ratio, r.bytes_per_value, r.encode_mb_per_s, r.decode_mb_per_s, r.roundtrip
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    #[test]
    fn every_codec_round_trips_a_random_walk_and_compresses_it() {
        let rows = Source::random_walk(3).rows(3000, 0, 0, 1000);
        let results = run(&rows, 6, 512, &CodecId::ALL);
        assert_eq!(results.len(), CodecId::ALL.len());
        for r in &results {
            assert!(r.is_exact(), "{}: {}", r.name, r.roundtrip);
            assert!(r.encode_mb_per_s > 0.0 && r.decode_mb_per_s > 0.0);
        }
        let none = &results[0];
        assert!(
            none.ratio < 1.0,
            "headers make `none` slightly bigger than raw"
        );
        let decimal = results.iter().find(|r| r.name == "decimal").unwrap();
        assert!(decimal.ratio > 4.0, "decimal ratio {}", decimal.ratio);
    }

    #[test]
    fn a_difference_is_found_at_its_row() {
        let rows = Source::steps(1).rows(10, 0, 0, 1);
        let mut other = rows.clone();
        other[7].values[2] = -other[7].values[2] - 1.0;
        assert_eq!(first_difference(&rows, &other), Some(7));
        assert_eq!(first_difference(&rows, &rows[..9]), Some(9));
        assert_eq!(first_difference(&rows, &rows), None);
    }
}
