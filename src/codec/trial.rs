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

/// One codec's result on the rows. Every figure is against the values the data really holds
/// (rows × real columns × 8 bytes), so a one-column table is not flattered by the five unused
/// columns of the 64-byte rows the engine carries; the row-based figures say so in their names.
/// A figure is `null` when the codec failed (`roundtrip` says how).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CodecResult {
    /// Codec name.
    pub name: String,
    /// Value bytes (8 a value) over encoded bytes, frame headers included.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub ratio: Option<f64>,
    /// 64-byte row bytes over encoded bytes: the ratio the engine's frames show.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub row_ratio: Option<f64>,
    /// Encoded bytes in all, frame headers included.
    pub encoded_bytes: Option<u64>,
    /// Encoded bytes, headers included, per real value (rows × real columns).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub bytes_per_value: Option<f64>,
    /// Value megabytes (10^6 bytes, 8 a value) encoded per second, median pass.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub encode_mb_per_s: Option<f64>,
    /// Value megabytes decoded per second, median pass: into rows for [`run`] (a frame at a
    /// time, as [`CodecResult::decode_row_mb_per_s`]), into the table's own columns for
    /// [`run_columns`] (the values alone, as a program reading the table gets
    /// them, not the 64 bytes of every row).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub decode_mb_per_s: Option<f64>,
    /// Row megabytes (64 a row) encoded per second, median pass.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub encode_row_mb_per_s: Option<f64>,
    /// Row megabytes decoded per second into rows, median pass: what the engine's consumers do
    /// (each frame into a batch buffer used again for the next).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub decode_row_mb_per_s: Option<f64>,
    /// `"ok"` when every row came back bit for bit, otherwise what went wrong.
    pub roundtrip: String,
    /// What each column costs ([`run_columns`]; empty for [`run`]).
    pub columns: Vec<ColumnCost>,
    /// Encoded bytes in no column's cost: frame headers, sequence numbers, and what the columns
    /// cost together beyond their costs alone (negative where a codec finds matches between
    /// columns). `null` for [`run`] and when the codec failed.
    pub shared_bytes: Option<i64>,
}

/// One column's cost under one codec: the bytes its values add to the same frames holding no
/// values, the column encoded on its own. For the column codecs (each column its own stream) this
/// is what the column takes in the table's frames, unless `decimal` stores it as a relation to
/// other columns (then the saving is in the shared bytes); for the LZ4 codecs, which compress
/// across columns, it is the column's cost alone.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ColumnCost {
    /// The column's name.
    pub name: String,
    /// Bytes the column adds.
    pub bytes: i64,
    /// Those bytes per value of the column.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub bytes_per_value: f64,
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
    let values = rows.len() * real_columns.max(1);
    codecs
        .iter()
        .map(|&codec| measure(codec, &[rows], values, frame_rows, None))
        .collect()
}

/// A table of any width, column by column (`(name, values)`, all of one length), in the
/// column-chunked layout: the columns in groups of six in file order, each group's values as
/// rows (sequence numbers 0.., stamp 0) in frames of `frame_rows`, a frame never spanning two
/// groups. Reports each codec on all of it, with what each column costs.
pub fn run_columns(
    columns: &[(&str, &[f64])],
    frame_rows: usize,
    codecs: &[CodecId],
) -> Vec<CodecResult> {
    let rows = columns.iter().map(|(_, v)| v.len()).min().unwrap_or(0);
    let groups = column_groups(columns);
    let group_refs: Vec<&[Row]> = groups.iter().map(Vec::as_slice).collect();
    let empty = group_rows(&[], rows);
    let mut encoder = Encoder::new();
    codecs
        .iter()
        .map(|&codec| {
            let mut result = measure(
                codec,
                &group_refs,
                rows * columns.len(),
                frame_rows,
                Some(columns),
            );
            let Some(total) = result.encoded_bytes else {
                return result;
            };
            let Ok(base) = encoded_len(&mut encoder, codec, &empty, frame_rows) else {
                return result;
            };
            let mut costs = Vec::with_capacity(columns.len());
            for (name, values) in columns {
                let alone = group_rows(&[&values[..rows]], rows);
                let Ok(bytes) = encoded_len(&mut encoder, codec, &alone, frame_rows) else {
                    return result;
                };
                let bytes = bytes as i64 - base as i64;
                costs.push(ColumnCost {
                    name: (*name).to_owned(),
                    bytes,
                    bytes_per_value: bytes as f64 / rows.max(1) as f64,
                });
            }
            let columns_total: i64 = costs.iter().map(|c| c.bytes).sum();
            result.shared_bytes = Some(total as i64 - columns_total);
            result.columns = costs;
            result
        })
        .collect()
}

/// The column-chunked layout of [`run_columns`]: one run of rows a group of six columns.
pub fn column_groups(columns: &[(&str, &[f64])]) -> Vec<Vec<Row>> {
    let rows = columns.iter().map(|(_, v)| v.len()).min().unwrap_or(0);
    columns
        .chunks(Row::COLUMNS)
        .map(|group| {
            let values: Vec<&[f64]> = group.iter().map(|(_, v)| &v[..rows]).collect();
            group_rows(&values, rows)
        })
        .collect()
}

/// `rows` rows carrying `columns` (at most six) as their first values, zero after.
fn group_rows(columns: &[&[f64]], rows: usize) -> Vec<Row> {
    (0..rows)
        .map(|i| {
            let mut row = Row::new(i as u64, 0);
            for (slot, column) in row.values.iter_mut().zip(columns) {
                *slot = column[i];
            }
            row
        })
        .collect()
}

/// Bytes `rows` take in frames of `frame_rows` under `codec`, headers included.
fn encoded_len(
    encoder: &mut Encoder,
    codec: CodecId,
    rows: &[Row],
    frame_rows: usize,
) -> Result<usize, super::CodecError> {
    let frame_rows = frame_rows.max(1);
    let mut buffer = vec![0u8; max_frame_len(frame_rows)];
    rows.chunks(frame_rows)
        .map(|chunk| encoder.encode(codec, chunk, &mut buffer))
        .sum()
}

/// One codec on `groups` of rows (each in its own frames), `values` real values in all: sizes,
/// median encode and decode passes, and the bit-for-bit check. With `table` (the columns the
/// groups carry, six a group, as [`column_groups`] lays them out) the frames are also decoded
/// into those columns, timed and checked.
fn measure(
    codec: CodecId,
    groups: &[&[Row]],
    values: usize,
    frame_rows: usize,
    table: Option<&[(&str, &[f64])]>,
) -> CodecResult {
    let frame_rows = frame_rows.max(1);
    let chunks: Vec<&[Row]> = groups.iter().flat_map(|g| g.chunks(frame_rows)).collect();
    let group_of_chunk: Vec<usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, rows)| std::iter::repeat_n(g, rows.chunks(frame_rows).len()))
        .collect();
    // Only what the frames take, and one frame's worst case beyond: the room is made on the
    // first pass, as each frame is encoded, so the timed passes write into it without zeroing
    // any (a copy of the rows, or of the decoded rows, would double what a file of millions of
    // rows needs).
    let mut buffer = Vec::new();
    let mut encoder = Encoder::new();
    let mut decoder = Decoder::new();
    let row_bytes = chunks
        .iter()
        .map(|c| std::mem::size_of_val(*c))
        .sum::<usize>() as f64;
    let values = values.max(1) as f64;
    let value_bytes = values * 8.0;

    let mut bounds = Vec::with_capacity(chunks.len());
    let encode_pass =
        |encoder: &mut Encoder, buffer: &mut Vec<u8>, bounds: &mut Vec<(usize, usize)>| {
            bounds.clear();
            let mut at = 0;
            for chunk in &chunks {
                let room = at + max_frame_len(chunk.len());
                if buffer.len() < room {
                    buffer.resize(room, 0);
                }
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

    // Each frame decoded and compared with the rows it was made of.
    let mut batch: Vec<Row> = Vec::with_capacity(frame_rows);
    let mut roundtrip = "ok".to_owned();
    let mut row = 0;
    for (&(start, end), chunk) in bounds.iter().zip(&chunks) {
        batch.clear();
        if let Err(err) = decoder.decode(&buffer[start..end], &mut batch) {
            return failed(codec, format!("decode failed: {err}"));
        }
        if let Some(i) = first_difference(chunk, &batch) {
            roundtrip = format!("row {} differs after decoding", row + i);
            break;
        }
        row += chunk.len();
    }
    // Timed as the engine's consumers decode: each frame into a batch buffer they reuse, not
    // all the rows into one growing vector, which would time the memory's write bandwidth
    // (16 MiB of rows a pass for the generated sources) as much as the codec.
    let row_decode_time = median_pass(|| {
        for &(start, end) in &bounds {
            batch.clear();
            let _ = decoder.decode(&buffer[start..end], &mut batch);
        }
    });
    let mut decode_time = row_decode_time;
    if let Some(table) = table {
        // One vector a column, in groups of six as the frames carry them.
        let mut back: Vec<Vec<Vec<f64>>> = table
            .chunks(Row::COLUMNS)
            .zip(groups)
            .map(|(group, rows)| {
                group
                    .iter()
                    .map(|_| Vec::with_capacity(rows.len()))
                    .collect()
            })
            .collect();
        let column_pass = |decoder: &mut Decoder, back: &mut Vec<Vec<Vec<f64>>>| {
            back.iter_mut().flatten().for_each(Vec::clear);
            for (&(start, end), &g) in bounds.iter().zip(&group_of_chunk) {
                decoder.decode_values(&buffer[start..end], &mut back[g])?;
            }
            Ok::<(), super::CodecError>(())
        };
        if let Err(err) = column_pass(&mut decoder, &mut back) {
            return failed(codec, format!("decoding into columns failed: {err}"));
        }
        if roundtrip == "ok"
            && let Some(problem) = first_column_difference(table, &back)
        {
            roundtrip = problem;
        }
        decode_time = median_pass(|| {
            let _ = column_pass(&mut decoder, &mut back);
        });
    }
    let per_s = |bytes: f64, time: Duration| Some(bytes / 1e6 / time.as_secs_f64());
    CodecResult {
        name: codec.name().to_owned(),
        ratio: Some(value_bytes / encoded as f64),
        row_ratio: Some(row_bytes / encoded as f64),
        encoded_bytes: Some(encoded as u64),
        bytes_per_value: Some(encoded as f64 / values),
        encode_mb_per_s: per_s(value_bytes, encode_time),
        decode_mb_per_s: per_s(value_bytes, decode_time),
        encode_row_mb_per_s: per_s(row_bytes, encode_time),
        decode_row_mb_per_s: per_s(row_bytes, row_decode_time),
        roundtrip,
        columns: Vec::new(),
        shared_bytes: None,
    }
}

fn failed(codec: CodecId, reason: String) -> CodecResult {
    CodecResult {
        name: codec.name().to_owned(),
        ratio: None,
        row_ratio: None,
        encoded_bytes: None,
        bytes_per_value: None,
        encode_mb_per_s: None,
        decode_mb_per_s: None,
        encode_row_mb_per_s: None,
        decode_row_mb_per_s: None,
        roundtrip: reason,
        columns: Vec::new(),
        shared_bytes: None,
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

/// Where the columns decoded into `back` (six a group) first differ from `table`'s, bit for bit,
/// as a round-trip verdict; `None` when every value came back.
fn first_column_difference(table: &[(&str, &[f64])], back: &[Vec<Vec<f64>>]) -> Option<String> {
    let rows = table.iter().map(|(_, v)| v.len()).min().unwrap_or(0);
    table.iter().enumerate().find_map(|(i, (name, values))| {
        let decoded = back
            .get(i / Row::COLUMNS)
            .and_then(|group| group.get(i % Row::COLUMNS))
            .map_or(&[][..], Vec::as_slice);
        let at = values[..rows]
            .iter()
            .zip(decoded)
            .position(|(a, b)| a.to_bits() != b.to_bits())
            .or_else(|| (decoded.len() != rows).then_some(rows.min(decoded.len())))?;
        Some(format!(
            "column {name} differs at row {at} after decoding into columns"
        ))
    })
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

/// What each column costs under each codec, a line a column (bytes per value of the column),
/// and the bytes no column owns: empty when the results carry no columns.
pub fn render_columns(results: &[CodecResult]) -> String {
    let measured: Vec<&CodecResult> = results.iter().filter(|r| !r.columns.is_empty()).collect();
    let Some(first) = measured.first() else {
        return String::new();
    };
    let width = first
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .max("shared bytes".len());
    let mut out = format!("{:<width$}", "column");
    for r in &measured {
        out.push_str(&format!(" {:>11}", r.name));
    }
    out.push('\n');
    for (i, column) in first.columns.iter().enumerate() {
        out.push_str(&format!("{:<width$}", column.name));
        for r in &measured {
            out.push_str(&format!(" {:>11.3}", r.columns[i].bytes_per_value));
        }
        out.push('\n');
    }
    out.push_str(&format!("{:<width$}", "shared bytes"));
    for r in &measured {
        match r.shared_bytes {
            Some(bytes) => out.push_str(&format!(" {bytes:>11}")),
            None => out.push_str(&format!(" {:>11}", "n/a")),
        }
    }
    out.push('\n');
    out
}

/// The results as a table, one codec a line (`n/a` where a codec failed).
pub fn render_table(results: &[CodecResult]) -> String {
    let mut out = format!(
        "{:<12} {:>7} {:>9} {:>12} {:>12} {:>12}  round trip\n",
        "codec", "ratio", "row ratio", "bytes/value", "encode MB/s", "decode MB/s"
    );
    let cell = |value: Option<f64>, width: usize, digits: usize| {
        value.map_or_else(
            || format!("{:>width$}", "n/a"),
            |v| format!("{v:>width$.digits$}"),
        )
    };
    for r in results {
        out.push_str(&format!(
            "{:<12} {} {} {} {} {}  {}\n",
            r.name,
            cell(r.ratio, 7, 2),
            cell(r.row_ratio, 9, 2),
            cell(r.bytes_per_value, 12, 3),
            cell(r.encode_mb_per_s, 12, 0),
            cell(r.decode_mb_per_s, 12, 0),
            r.roundtrip
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
            assert!(r.encode_mb_per_s.unwrap() > 0.0 && r.decode_mb_per_s.unwrap() > 0.0);
            // Six real columns: 48 of each row's 64 bytes are values.
            let (ratio, row_ratio) = (r.ratio.unwrap(), r.row_ratio.unwrap());
            assert!((row_ratio / ratio - 64.0 / 48.0).abs() < 1e-9, "{}", r.name);
            assert!(
                (r.bytes_per_value.unwrap() * ratio - 8.0).abs() < 1e-9,
                "{}",
                r.name
            );
        }
        let none = &results[0];
        assert!(
            none.row_ratio.unwrap() < 1.0,
            "headers make `none` slightly bigger than raw rows"
        );
        let decimal = results.iter().find(|r| r.name == "decimal").unwrap();
        assert!(
            decimal.ratio.unwrap() > 3.0,
            "decimal ratio {:?}",
            decimal.ratio
        );
    }

    #[test]
    fn one_real_column_is_measured_against_its_values_not_the_rows() {
        let mut rows = Source::random_walk(5).rows(4096, 0, 0, 1000);
        for row in &mut rows {
            row.values[1..].fill(0.0);
        }
        let none = &run(&rows, 1, 1024, &[CodecId::None])[0];
        // `none` stores seq, stamp and all six values: 64 bytes a row for 8 bytes of value.
        assert!(none.ratio.unwrap() < 0.2, "{none:?}");
        assert!(none.row_ratio.unwrap() > 0.9, "{none:?}");
        let value_speed = none.encode_mb_per_s.unwrap();
        let row_speed = none.encode_row_mb_per_s.unwrap();
        assert!((row_speed / value_speed - 8.0).abs() < 1e-9);
    }

    #[test]
    fn a_table_decodes_into_its_own_columns_and_a_difference_is_named() {
        let walk: Vec<f64> = Source::random_walk(9)
            .rows(2000, 0, 0, 1)
            .iter()
            .map(|r| r.values[0])
            .collect();
        let names: Vec<String> = (0..8).map(|i| format!("c{i}")).collect();
        let table: Vec<(&str, &[f64])> = names
            .iter()
            .enumerate()
            .map(|(i, name)| (name.as_str(), &walk[i * 10..i * 10 + 1500]))
            .collect();
        for r in run_columns(&table, 512, &CodecId::ALL) {
            assert!(r.is_exact(), "{}: {}", r.name, r.roundtrip);
            assert!(r.decode_mb_per_s.unwrap() > 0.0 && r.decode_row_mb_per_s.unwrap() > 0.0);
        }
        // Eight columns come back as a group of six and a group of two.
        let mut back: Vec<Vec<Vec<f64>>> = vec![
            table[..6].iter().map(|(_, v)| v.to_vec()).collect(),
            table[6..].iter().map(|(_, v)| v.to_vec()).collect(),
        ];
        assert_eq!(first_column_difference(&table, &back), None);
        // One bit of one value.
        back[1][1][700] = f64::from_bits(back[1][1][700].to_bits() ^ 1);
        assert_eq!(
            first_column_difference(&table, &back).as_deref(),
            Some("column c7 differs at row 700 after decoding into columns")
        );
        back[1][1].truncate(10);
        back[1][1].extend_from_slice(&table[7].1[10..1499]);
        assert_eq!(
            first_column_difference(&table, &back).as_deref(),
            Some("column c7 differs at row 1499 after decoding into columns")
        );
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
