//! Codec benchmarks: every codec on every data source, and LZ4 against the reference C library on
//! the same bytes in the same run.
//!
//! `cargo bench --bench codecs -- [--json] [--quick]`
//!
//! - Per source × codec: ratio (64-byte rows over frame bytes, headers included), bytes per real
//!   value, encode and decode MB/s of raw rows, median pass; every frame round-trips bit for bit.
//!   Speeds are the median of three rounds (one with `--quick`), each round measuring every
//!   source and codec in turn, so a slow moment of the machine (these VMs change speed within
//!   seconds) moves one round's figure, not the result; `decode_mb_per_s_rounds` lists them.
//! - `lz4_peer`: the pure-Rust lz4_flex against C LZ4 (the `lz4` crate, which builds liblz4 and
//!   which the LZ4 codecs call) on the identical row bytes, frame by frame, the two timed
//!   alternately: the evidence for the codecs' choice of the C library.
//! - `targets`: the figures the codec work aims for, each with the value measured here.

use std::path::Path;
use std::time::{Duration, Instant};

use ringtop::Row;
use ringtop::codec::CodecId;
use ringtop::codec::trial::{self, CodecResult};
use ringtop::source::{Source, SourceKind, csv};
use serde_json::{Value, json};

const FRAME_ROWS: usize = 1024;

struct Dataset {
    name: String,
    /// The rows the codecs see (for a CSV file, its columns in groups of six).
    rows: Vec<Row>,
    real_columns: usize,
    /// A CSV file's columns, measured with `trial::run_columns`.
    table: Option<csv::CsvTable>,
}

impl Dataset {
    fn results(&self) -> Vec<CodecResult> {
        match &self.table {
            Some(table) => {
                let columns: Vec<(&str, &[f64])> = table
                    .columns
                    .iter()
                    .map(|c| (c.name.as_str(), c.values.as_slice()))
                    .collect();
                trial::run_columns(&columns, FRAME_ROWS, &CodecId::ALL)
            }
            None => trial::run(&self.rows, self.real_columns, FRAME_ROWS, &CodecId::ALL),
        }
    }
}

fn datasets(rows: usize) -> Vec<Dataset> {
    let mut sets: Vec<Dataset> = SourceKind::ALL
        .into_iter()
        .map(|kind| Dataset {
            name: kind.name().to_owned(),
            rows: Source::new(kind, 42).rows(rows, 0, 1_000_000, 1000),
            real_columns: Row::COLUMNS,
            table: None,
        })
        .collect();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    for file in [
        "seattle-hourly-temperature-2010.csv",
        "san-francisco-hourly-temperature-2010.csv",
        "seattle-daily-weather-2012-2015.csv",
        "us-employment-monthly-2006-2015.csv",
    ] {
        match csv::load(&assets.join(file)) {
            Ok(table) => sets.push(Dataset {
                name: file.trim_end_matches(".csv").to_owned(),
                rows: {
                    let columns: Vec<(&str, &[f64])> = table
                        .columns
                        .iter()
                        .map(|c| (c.name.as_str(), c.values.as_slice()))
                        .collect();
                    trial::column_groups(&columns).concat()
                },
                real_columns: table.columns.len(),
                table: Some(table),
            }),
            Err(err) => eprintln!("skipping {file}: {err}"),
        }
    }
    sets
}

fn row_bytes(rows: &[Row]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(rows.len() * 64);
    for row in rows {
        bytes.extend_from_slice(&row.seq.to_le_bytes());
        bytes.extend_from_slice(&row.stamp_ns.to_le_bytes());
        for v in row.values {
            bytes.extend_from_slice(&v.to_bits().to_le_bytes());
        }
    }
    bytes
}

/// Median seconds of `pass` over `rounds` passes.
fn median_secs(rounds: usize, mut pass: impl FnMut()) -> f64 {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            pass();
            t.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2].as_secs_f64().max(1e-9)
}

/// lz4_flex against C LZ4 on the same frames: (flex encode, flex decode, C encode, C decode)
/// in MB/s, and both compressed sizes.
fn lz4_peer(rows: &[Row], rounds: usize) -> Value {
    let frames: Vec<Vec<u8>> = rows.chunks(FRAME_ROWS).map(row_bytes).collect();
    let raw: usize = frames.iter().map(Vec::len).sum();
    let mb = raw as f64 / 1e6;
    let bound = lz4_flex::block::get_maximum_output_size(FRAME_ROWS * 64) + 64;
    let mut flex_out: Vec<Vec<u8>> = frames.iter().map(|_| vec![0u8; bound]).collect();
    let mut c_out: Vec<Vec<u8>> = frames.iter().map(|_| vec![0u8; bound]).collect();
    let mut flex_len = vec![0usize; frames.len()];
    let mut c_len = vec![0usize; frames.len()];
    let mut back = vec![0u8; FRAME_ROWS * 64];

    let mut flex_encode = Vec::new();
    let mut c_encode = Vec::new();
    let mut flex_decode = Vec::new();
    let mut c_decode = Vec::new();
    for _ in 0..rounds {
        flex_encode.push(median_secs(1, || {
            for ((f, out), len) in frames.iter().zip(&mut flex_out).zip(&mut flex_len) {
                *len = lz4_flex::block::compress_into(f, out).expect("fits the bound");
            }
        }));
        c_encode.push(median_secs(1, || {
            for ((f, out), len) in frames.iter().zip(&mut c_out).zip(&mut c_len) {
                *len = lz4::block::compress_to_buffer(f, None, false, out).expect("fits the bound");
            }
        }));
        flex_decode.push(median_secs(1, || {
            for ((f, out), len) in frames.iter().zip(&flex_out).zip(&flex_len) {
                let n = lz4_flex::block::decompress_into(&out[..*len], &mut back).expect("decodes");
                assert_eq!(&back[..n], &f[..], "lz4_flex round trip");
            }
        }));
        c_decode.push(median_secs(1, || {
            for ((f, out), len) in frames.iter().zip(&c_out).zip(&c_len) {
                let n =
                    lz4::block::decompress_to_buffer(&out[..*len], Some(f.len() as i32), &mut back)
                        .expect("decodes");
                assert_eq!(&back[..n], &f[..], "C LZ4 round trip");
            }
        }));
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (fe, fd, ce, cd) = (
        mb / median(flex_encode),
        mb / median(flex_decode),
        mb / median(c_encode),
        mb / median(c_decode),
    );
    json!({
        "lz4_flex": {"encode_mb_per_s": round(fe), "decode_mb_per_s": round(fd),
                     "ratio": round(raw as f64 / flex_len.iter().sum::<usize>() as f64)},
        "c_lz4": {"encode_mb_per_s": round(ce), "decode_mb_per_s": round(cd),
                  "ratio": round(raw as f64 / c_len.iter().sum::<usize>() as f64)},
        "encode_flex_vs_c": round(fe / ce),
        "decode_flex_vs_c": round(fd / cd),
    })
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn result_json(r: &CodecResult, decode_rounds: &[f64]) -> Value {
    let r3 = |x: Option<f64>| x.map(round);
    json!({
        "codec": r.name, "ratio": r3(r.ratio), "row_ratio": r3(r.row_ratio),
        "bytes_per_value": r3(r.bytes_per_value),
        "encode_mb_per_s": r3(r.encode_mb_per_s), "decode_mb_per_s": r3(r.decode_mb_per_s),
        "decode_mb_per_s_rounds": decode_rounds.iter().copied().map(round).collect::<Vec<_>>(),
        "roundtrip": r.roundtrip,
    })
}

/// One source's results with each speed the median of its rounds (`rounds`: the source's
/// results from each round, in the same codec order), and each codec's decode speeds by round.
/// Sizes come from the first round: encoding is deterministic, which this checks.
fn median_of_rounds(rounds: &[Vec<CodecResult>]) -> (Vec<CodecResult>, Vec<Vec<f64>>) {
    let mut merged = rounds[0].clone();
    let mut decode_rounds = Vec::with_capacity(merged.len());
    for (i, result) in merged.iter_mut().enumerate() {
        let of_codec: Vec<&CodecResult> = rounds.iter().map(|round| &round[i]).collect();
        for other in &of_codec {
            assert_eq!(
                (&other.name, other.encoded_bytes),
                (&result.name, result.encoded_bytes),
                "rounds of one source encoded alike"
            );
        }
        let median_of = |speed: fn(&CodecResult) -> Option<f64>| {
            let mut values: Vec<f64> = of_codec.iter().filter_map(|r| speed(r)).collect();
            values.sort_by(f64::total_cmp);
            values.get(values.len() / 2).copied()
        };
        result.encode_mb_per_s = median_of(|r| r.encode_mb_per_s);
        result.decode_mb_per_s = median_of(|r| r.decode_mb_per_s);
        result.encode_row_mb_per_s = median_of(|r| r.encode_row_mb_per_s);
        result.decode_row_mb_per_s = median_of(|r| r.decode_row_mb_per_s);
        decode_rounds.push(of_codec.iter().filter_map(|r| r.decode_mb_per_s).collect());
    }
    (merged, decode_rounds)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let as_json = args.iter().any(|a| a == "--json");
    let quick = args.iter().any(|a| a == "--quick");
    let (rows, rounds, speed_rounds) = if quick {
        (16_384, 3, 1)
    } else {
        (262_144, 9, 3)
    };

    let sets = datasets(rows);
    // Every source and codec once a round, the rounds one after another (see the module's doc).
    let by_round: Vec<Vec<Vec<CodecResult>>> = (0..speed_rounds)
        .map(|_| sets.iter().map(Dataset::results).collect())
        .collect();
    let mut sources = Vec::new();
    let mut peers = Vec::new();
    let mut all: Vec<(String, CodecResult)> = Vec::new();
    for (index, set) in sets.iter().enumerate() {
        let of_set: Vec<Vec<CodecResult>> = by_round.iter().map(|r| r[index].clone()).collect();
        let (results, decode_rounds) = median_of_rounds(&of_set);
        for r in of_set.iter().flatten() {
            assert!(r.is_exact(), "{} on {}: {}", r.name, set.name, r.roundtrip);
        }
        for r in &results {
            all.push((set.name.clone(), r.clone()));
        }
        sources.push(json!({
            "source": set.name, "rows": set.rows.len(), "real_columns": set.real_columns,
            "codecs": results.iter().zip(&decode_rounds)
                .map(|(r, d)| result_json(r, d)).collect::<Vec<_>>(),
        }));
        let peer = lz4_peer(&set.rows, rounds);
        peers.push(json!({"source": set.name, "lz4_peer": peer}));
        if !as_json {
            println!(
                "{} ({} rows, {} real columns)",
                set.name,
                set.rows.len(),
                set.real_columns
            );
            print!("{}", trial::render_table(&results));
            println!(
                "  LZ4 blocks: lz4_flex {}/{} MB/s vs C LZ4 {}/{} MB/s (encode/decode)\n",
                peer["lz4_flex"]["encode_mb_per_s"],
                peer["lz4_flex"]["decode_mb_per_s"],
                peer["c_lz4"]["encode_mb_per_s"],
                peer["c_lz4"]["decode_mb_per_s"]
            );
        }
    }

    let find = |source: &str, codec: &str| {
        all.iter()
            .find(|(s, r)| s == source && r.name == codec)
            .map(|(_, r)| r.clone())
    };
    let best_on_walk = all
        .iter()
        .filter(|(s, _)| s == "random-walk")
        .filter_map(|(_, r)| r.row_ratio)
        .fold(0.0, f64::max);
    let slowest = |keep: &dyn Fn(&CodecResult) -> bool| {
        all.iter()
            .filter(|(_, r)| keep(r))
            .filter_map(|(s, r)| Some((r.decode_mb_per_s?, format!("{} on {s}", r.name))))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    };
    let slowest_decode = slowest(&|r| !r.name.starts_with("decimal"));
    let slowest_decimal = slowest(&|r| r.name == "decimal");
    let slowest_decimal_fast = slowest(&|r| r.name == "decimal-fast");
    let csv_worst = |codec: &str| {
        all.iter()
            .filter(|(s, r)| s.contains("-20") && r.name == codec)
            .filter_map(|(s, r)| Some((r.bytes_per_value?, s.clone())))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    };
    let worst_table = csv_worst("decimal");
    let worst_table_fast = csv_worst("decimal-fast");
    let hourly_temp = all
        .iter()
        .filter(|(s, r)| s.contains("hourly") && r.name == "decimal")
        .flat_map(|(_, r)| r.columns.iter().filter(|c| c.name == "temp"))
        .map(|c| c.bytes_per_value)
        .fold(0.0, f64::max);
    let flex_vs_c: Vec<f64> = peers
        .iter()
        .flat_map(|p| {
            [
                p["lz4_peer"]["encode_flex_vs_c"].as_f64().unwrap_or(0.0),
                p["lz4_peer"]["decode_flex_vs_c"].as_f64().unwrap_or(0.0),
            ]
        })
        .collect();
    let worst_flex = flex_vs_c.iter().copied().fold(f64::INFINITY, f64::min);
    let targets = json!([
        {"target": "delta-lz4 row ratio on random-walk >= 2.7",
         "measured": find("random-walk", "delta-lz4").and_then(|r| r.row_ratio).map(round)},
        {"target": "best row ratio on random-walk >= 4", "measured": round(best_on_walk)},
        {"target": "decimal bytes/value on every sample table <= 1.0 (worst)",
         "measured": worst_table.as_ref().map(|w| round(w.0)), "where": worst_table.map(|w| w.1)},
        {"target": "decimal-fast bytes/value on every sample table <= 1.0 (worst)",
         "measured": worst_table_fast.as_ref().map(|w| round(w.0)),
         "where": worst_table_fast.map(|w| w.1)},
        {"target": "decimal bytes/value of the hourly temperatures, dates aside <= 0.75 (worst)",
         "measured": round(hourly_temp)},
        {"target": "LZ4 codecs within 5% of C LZ4: they call it; lz4_flex, not used, measures (worst ratio)",
         "measured": round(worst_flex)},
        {"target": "every codec but the decimals decodes >= 1500 MB/s of values (slowest)",
         "measured": slowest_decode.as_ref().map(|s| round(s.0)),
         "where": slowest_decode.map(|s| s.1)},
        {"target": "decimal decodes >= 3000 MB/s of values (slowest)",
         "measured": slowest_decimal.as_ref().map(|s| round(s.0)),
         "where": slowest_decimal.map(|s| s.1)},
        {"target": "decimal-fast decodes >= 3000 MB/s of values (slowest)",
         "measured": slowest_decimal_fast.as_ref().map(|s| round(s.0)),
         "where": slowest_decimal_fast.map(|s| s.1)},
    ]);
    if as_json {
        let report = json!({
            "suite": "codecs", "quick": quick, "frame_rows": FRAME_ROWS, "rounds": rounds,
            "speed_rounds": speed_rounds,
            "sources": sources, "lz4_peer": peers, "targets": targets,
        });
        println!("{report}");
    } else {
        println!("targets:");
        for t in targets.as_array().into_iter().flatten() {
            let place = t["where"]
                .as_str()
                .map_or(String::new(), |w| format!(" ({w})"));
            println!(
                "  {}: {}{place}",
                t["target"].as_str().unwrap_or(""),
                t["measured"]
            );
        }
    }
}
