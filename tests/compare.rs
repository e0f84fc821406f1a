//! `ringtop compare`: a run against itself passes, a run made worse fails with exit code 1 and
//! says where, a change within the runs' own noise passes, and broken input is an error that
//! names the file and line.
#![cfg(not(loom))]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use assert_cmd::cargo::cargo_bin;
use ringtop::metrics::snapshot::SCHEMA_VERSION;
use serde_json::Value;

use common::scratch_dir;

/// A real run's lines, once per test binary.
fn baseline() -> Vec<Value> {
    static LINES: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    LINES
        .get_or_init(|| {
            let out = Command::new(cargo_bin("ringtop"))
                .args(["run", "--headless", "--builtin", "default"])
                .args(["--duration", "2s", "--interval", "200ms"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        })
        .clone()
}

/// `lines` written as the JSON-lines file `name` in `dir`.
fn write(dir: &Path, name: &str, lines: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn compare(a: &Path, b: &Path, extra: &[&str]) -> Output {
    Command::new(cargo_bin("ringtop"))
        .arg("compare")
        .arg(a)
        .arg(b)
        .args(extra)
        .output()
        .unwrap()
}

/// Multiplies `field` of every thread named `thread` (in snapshots and the summary) by `factor`.
fn scale(lines: &mut [Value], thread: &str, path: &[&str], factor: f64) {
    for line in lines.iter_mut() {
        for t in line["threads"].as_array_mut().into_iter().flatten() {
            if t["name"] != thread {
                continue;
            }
            let mut at = &mut *t;
            for key in path {
                at = &mut at[*key];
            }
            if let Some(v) = at.as_f64() {
                *at = if at.is_u64() {
                    Value::from((v * factor).round() as u64)
                } else {
                    Value::from(v * factor)
                };
            }
        }
    }
}

/// The summary line of `lines`.
fn summary(lines: &mut [Value]) -> &mut Value {
    lines.iter_mut().find(|l| l["type"] == "summary").unwrap()
}

#[test]
fn a_run_against_itself_passes() {
    let dir = scratch_dir("compare");
    // Quiet, as a busy machine's run might not be: no warning of its own to report.
    let mut lines = baseline();
    summary(&mut lines)["warnings"] = Value::Array(Vec::new());
    let a = write(&dir, "same.jsonl", &lines);
    let out = compare(&a, &a, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["regressed"], false);
    let comparisons = report["comparisons"].as_array().unwrap();
    assert!(comparisons.len() >= 5, "{report}");
    assert!(comparisons.iter().all(|c| c["change"] == 0.0));
    assert_eq!(report["warnings"].as_array().unwrap().len(), 0);
}

#[test]
fn what_a_run_warned_about_is_said_beside_the_comparison() {
    let dir = scratch_dir("compare");
    let mut quiet = baseline();
    summary(&mut quiet)["warnings"] = Value::Array(Vec::new());
    let a = write(&dir, "quiet.jsonl", &quiet);
    let mut behind = quiet.clone();
    let warning = "producer-0 sent 600k rows/s of the 1.00M it offers (60 %): it fell 400ms \
                   further behind its schedule in the interval, and latency, timed from when \
                   each row was due, includes the wait";
    summary(&mut behind)["warnings"] = serde_json::json!([
        {"warning": warning, "count": 3, "first_s": 0.4, "last_s": 1.2}
    ]);
    let b = write(&dir, "behind.jsonl", &behind);
    let out = compare(&a, &b, &[]);
    let table = String::from_utf8(out.stdout).unwrap();
    let said = format!(
        "warning: {} warned in 3 of its intervals: {warning}",
        b.display()
    );
    assert!(table.contains(&said), "{table}");
    assert!(!table.contains("quiet.jsonl warned"), "{table}");
}

/// A run that took commands while it ran (a new batch, a pause) is not of its start line's
/// settings alone: the comparison says what changed and when.
#[test]
fn a_run_changed_while_it_ran_is_said_beside_the_comparison() {
    let dir = scratch_dir("compare");
    let mut quiet = baseline();
    summary(&mut quiet)["warnings"] = Value::Array(Vec::new());
    let a = write(&dir, "steady.jsonl", &quiet);
    let mut changed = quiet.clone();
    let ack = |elapsed_s: f64, command: Value| {
        serde_json::json!({
            "type": "ack", "schema_version": SCHEMA_VERSION, "elapsed_s": elapsed_s,
            "command": command,
        })
    };
    changed.insert(
        3,
        ack(0.41, serde_json::json!({"cmd": "batch", "size": 32})),
    );
    changed.insert(5, ack(0.83, serde_json::json!({"cmd": "pause"})));
    let b = write(&dir, "changed.jsonl", &changed);
    let out = compare(&a, &b, &[]);
    let table = String::from_utf8(out.stdout).unwrap();
    let said = format!(
        "warning: {} was changed while it ran (its whole-run figures mix before and after): 2 \
         commands: batch size=32 at 0.4 s; pause at 0.8 s",
        b.display()
    );
    assert!(table.contains(&said), "{table}");
    assert!(!table.contains("steady.jsonl was changed"), "{table}");
}

/// Output of a ringtop from before the counters said which were time-shared on the PMU
/// (schema version 3 without `counted_share`) is still read: a baseline kept from then stays
/// comparable.
#[test]
fn a_run_from_before_counted_share_is_still_read() {
    let dir = scratch_dir("compare");
    let mut older = baseline();
    for line in &mut older {
        for thread in line["threads"].as_array_mut().into_iter().flatten() {
            if let Some(counters) = thread["counters"].as_object_mut() {
                assert!(counters.remove("counted_share").is_some(), "{counters:?}");
            }
        }
    }
    let a = write(&dir, "older.jsonl", &older);
    let b = write(&dir, "newer.jsonl", &baseline());
    let out = compare(&a, &b, &["--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_fifth_of_the_throughput_and_ten_times_the_p99_are_regressions() {
    // Changes far beyond what a loaded machine's intervals wobble by, so the verdict cannot
    // depend on the baseline run's own noise.
    let dir = scratch_dir("compare");
    let a = write(&dir, "a.jsonl", &baseline());
    let mut worse = baseline();
    scale(&mut worse, "consumer-0", &["rows_per_s"], 0.2);
    scale(&mut worse, "consumer-0", &["latency_total_ns", "p99"], 10.0);
    scale(&mut worse, "consumer-0", &["latency_ns", "p99"], 10.0);
    let b = write(&dir, "worse.jsonl", &worse);
    let out = compare(&a, &b, &["--json"]);
    assert_eq!(out.status.code(), Some(1), "B is worse: exit code 1");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let regressed: Vec<String> = report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["regression"] == true)
        .map(|c| {
            format!(
                "{} {}",
                c["thread"].as_str().unwrap(),
                c["figure"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(regressed, ["consumer-0 rows_per_s", "consumer-0 p99_ns"]);
    // The table says so too, for people.
    let table = compare(&a, &b, &[]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("REGRESSION") && text.contains("B regressed"),
        "{text}"
    );
    // Better is never a regression, and is called better by the same rule.
    let out = compare(&b, &a, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let improved: Vec<&str> = report["comparisons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["improvement"] == true)
        .map(|c| c["figure"].as_str().unwrap())
        .collect();
    assert_eq!(improved, ["rows_per_s", "p99_ns"], "{report:#}");
}

/// A p99.9 of fewer than 1,000 rows timed is its slowest row: ten times it in B is shown,
/// marked thin, and never a regression; the same change with enough rows is one.
#[test]
fn a_percentile_of_too_few_rows_is_marked_thin_and_never_a_regression() {
    let dir = scratch_dir("compare");
    let few = |lines: &mut Vec<Value>| {
        summary(lines)["threads"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .filter(|t| t["name"] == "consumer-0")
            .for_each(|t| t["latency_total_ns"]["count"] = Value::from(500));
    };
    let mut thin_a = baseline();
    few(&mut thin_a);
    let mut thin_b = baseline();
    few(&mut thin_b);
    scale(
        &mut thin_b,
        "consumer-0",
        &["latency_total_ns", "p999"],
        10.0,
    );
    scale(&mut thin_b, "consumer-0", &["latency_ns", "p999"], 10.0);
    let a = write(&dir, "thin-a.jsonl", &thin_a);
    let b = write(&dir, "thin-b.jsonl", &thin_b);
    let out = compare(&a, &b, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "a thin figure gates nothing");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p999 = common::comparison(&report, "consumer-0", "p999_ns");
    assert_eq!(p999["thin"], true, "{p999}");
    assert_eq!(p999["regression"], false, "{p999}");
    assert!(p999["change"].as_f64().unwrap() > 8.0, "{p999}");
    // 500 rows hold a p99: it is no thinner than before.
    let p99 = common::comparison(&report, "consumer-0", "p99_ns");
    assert_eq!(p99["thin"], false, "{p99}");
    let text = String::from_utf8(compare(&a, &b, &[]).stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("consumer-0") && l.contains("p999_ns") && l.ends_with("thin")),
        "{text}"
    );
    assert!(text.contains("thin: A or B timed fewer rows than the percentile needs"));

    // With the rows it needs, the same tenfold p99.9 is a regression.
    let a = write(&dir, "full-a.jsonl", &baseline());
    let mut worse = baseline();
    scale(
        &mut worse,
        "consumer-0",
        &["latency_total_ns", "p999"],
        10.0,
    );
    scale(&mut worse, "consumer-0", &["latency_ns", "p999"], 10.0);
    let b = write(&dir, "full-b.jsonl", &worse);
    assert_eq!(compare(&a, &b, &[]).status.code(), Some(1));
}

/// `lines` as a receiver's (`serve`) would read that waited its first four intervals for its
/// sender: no rows then, and its link's connected time growing only after.
fn as_receiver(lines: &mut [Value]) {
    let mut connected_s = 0.0;
    let mut intervals = 0;
    for line in lines.iter_mut() {
        if line["type"] == "snapshot" {
            intervals += 1;
            if intervals <= 4 {
                for t in line["threads"].as_array_mut().unwrap() {
                    t["rows_per_s"] = Value::from(0.0);
                }
            } else {
                connected_s += line["interval_s"].as_f64().unwrap();
            }
        }
        if line["type"] == "snapshot" || line["type"] == "summary" {
            line["transport"] = serde_json::json!({
                "kind": "tcp", "role": "receiver", "address": "127.0.0.1:7471",
                "peer": "127.0.0.1:50000", "connected": true, "connected_s": connected_s,
                "frames": 1000, "bytes": 100000, "frames_per_s": 500.0, "mb_per_s": 0.05,
                "rows_acknowledged": null, "round_trip_ns": null, "one_way_ns": null,
                "one_way_unavailable": "no row was timed over this span",
                "credit_stalls": null, "cap_waits": null, "link_mbps": null,
                "sessions": 1, "reconnects": 0, "refused": 0, "dropped": 0, "last_error": null
            });
        }
    }
}

/// A receiver's intervals of waiting for its sender moved no rows: its noise is of the
/// intervals served (as its summary's rates are), the first of them left out as a warm-up, so a
/// fifth of the rows a second is a regression, where the waits' zeros made the noise too wide to
/// call anything.
#[test]
fn a_receivers_waits_for_its_sender_are_not_counted_as_noise() {
    let dir = scratch_dir("compare");
    let mut served = baseline();
    as_receiver(&mut served);
    let a = write(&dir, "receiver-a.jsonl", &served);
    let mut slower = served.clone();
    scale(&mut slower, "consumer-0", &["rows_per_s"], 0.2);
    let b = write(&dir, "receiver-b.jsonl", &slower);
    let out = compare(&a, &b, &["--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rate = common::comparison(&report, "consumer-0", "rows_per_s");
    // The standard error of the mean of the served intervals but the first, relative to it;
    // B's, a uniform fifth, is the same, and the two add in quadrature.
    let rates: Vec<f64> = served
        .iter()
        .filter(|l| l["type"] == "snapshot")
        .skip(5)
        .map(|l| {
            l["threads"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == "consumer-0")
                .unwrap()["rows_per_s"]
                .as_f64()
                .unwrap()
        })
        .collect();
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    let variance = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let own = variance.sqrt() / n.sqrt() / mean;
    let noise = rate["noise"].as_f64().unwrap();
    assert!(
        (noise / (own * 2f64.sqrt()) - 1.0).abs() < 1e-3,
        "{rate}: the served intervals' own noise is {own}"
    );
    assert_eq!(rate["regression"], true, "{rate}");
    assert_eq!(out.status.code(), Some(1));
}

/// A framed run's ring is compared by its codec ratio too: half the ratio is a regression however
/// the threads did, and twice it an improvement; an unframed run has no such figure.
#[test]
fn half_the_codec_ratio_is_a_regression_of_the_ring() {
    let dir = scratch_dir("compare-codec");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["run", "--headless", "--builtin", "compressed-timeseries"])
        .args(["--duration", "1500ms", "--interval", "200ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let framed: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut halved = framed.clone();
    for line in &mut halved {
        if let Some(ratio) = line["codec"]["ratio"].as_f64() {
            line["codec"]["ratio"] = Value::from(ratio / 2.0);
        }
    }
    let a = write(&dir, "a.jsonl", &framed);
    let b = write(&dir, "halved.jsonl", &halved);
    let ring = |report: &Value| -> Vec<Value> {
        report["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["thread"] == "ring")
            .cloned()
            .collect()
    };
    let out = compare(&a, &b, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = ring(&report);
    assert_eq!(rows.len(), 1, "{report:#}");
    assert_eq!(rows[0]["figure"], "codec_ratio");
    assert_eq!(rows[0]["regression"], true, "{report:#}");
    assert!((rows[0]["change"].as_f64().unwrap() + 0.5).abs() < 1e-5);
    let out = compare(&b, &a, &["--json"]);
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ring(&report)[0]["improvement"], true, "{report:#}");
    let plain = write(&dir, "plain.jsonl", &baseline());
    let report: Value =
        serde_json::from_slice(&compare(&plain, &plain, &["--json"]).stdout).unwrap();
    assert!(ring(&report).is_empty(), "{report:#}");
}

/// A real link's two outputs: the receiver's (`serve --once`) and its sender's (`remote-tcp`),
/// once per test binary.
fn link_outputs() -> (Vec<Value>, Vec<Value>) {
    static LINES: std::sync::OnceLock<(Vec<Value>, Vec<Value>)> = std::sync::OnceLock::new();
    LINES
        .get_or_init(|| {
            use std::io::BufRead;
            let mut serve = common::Reaped::spawn(
                Command::new(cargo_bin("ringtop"))
                    .args(["serve", "--headless", "--once", "--listen", "127.0.0.1:0"])
                    .args(["--interval", "200ms"])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped()),
            )
            .unwrap();
            let address = common::announced_address(&mut std::io::BufReader::new(
                serve.child().stderr.take().unwrap(),
            ));
            let sent = Command::new(cargo_bin("ringtop"))
                .args(["run", "--headless", "--builtin", "remote-tcp"])
                .args(["--connect", &address])
                .args(["--duration", "2s", "--interval", "200ms"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            common::assert_succeeded(&sent);
            let received = serve.take().wait_with_output().unwrap();
            common::assert_succeeded(&received);
            let lines = |out: &[u8]| -> Vec<Value> {
                out.lines()
                    .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
                    .collect()
            };
            (lines(&received.stdout), lines(&sent.stdout))
        })
        .clone()
}

/// A sender times no row itself: its latency is its link's round trips, judged as the figures
/// of `link` (its own output's, and its intervals' noise), so ten times the round trip's p99 is
/// a regression; a receiver's output compared with it is said to be the other end.
#[test]
fn a_senders_round_trips_are_judged_as_its_links_figures() {
    let dir = scratch_dir("compare-link");
    let (received, sent) = link_outputs();
    let a = write(&dir, "sender.jsonl", &sent);
    let out = compare(&a, &a, &["--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let whole = &sent.last().unwrap()["transport"]["round_trip_ns"];
    for (figure, key) in [("p50_ns", "p50"), ("p99_ns", "p99"), ("p999_ns", "p999")] {
        let link = common::comparison(&report, "link", figure);
        // As printed: to six significant figures.
        let (printed, own) = (link["a"].as_f64().unwrap(), whole[key].as_f64().unwrap());
        assert!((printed / own - 1.0).abs() < 1e-5, "{link}: {own}");
        assert_eq!(link["change"], 0.0, "{link}");
        assert!(link["noise"].as_f64().is_some(), "{link}");
    }
    let table = String::from_utf8(compare(&a, &a, &[]).stdout).unwrap();
    assert!(
        table.contains("link: the sender's round trips, a row's stamp to the receiver's credit"),
        "{table}"
    );

    let mut slower = sent.clone();
    for line in &mut slower {
        let p99 = &mut line["transport"]["round_trip_ns"]["p99"];
        if let Some(value) = p99.as_u64() {
            *p99 = Value::from(value * 10);
        }
    }
    let b = write(&dir, "slower.jsonl", &slower);
    let out = compare(&a, &b, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p99 = common::comparison(&report, "link", "p99_ns");
    assert_eq!(p99["regression"], true, "{p99}");
    assert_eq!(
        common::comparison(&report, "link", "p50_ns")["regression"],
        false
    );

    let receiver = write(&dir, "receiver.jsonl", &received);
    let report: Value =
        serde_json::from_slice(&compare(&receiver, &a, &["--json"]).stdout).unwrap();
    let ends = format!(
        "different ends: {} is a link's receiver's output, {} a link's sender's",
        receiver.display(),
        a.display()
    );
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w == &Value::from(ends.clone())),
        "{report:#}"
    );
    // A receiver has no round trips: its latency is its consumers' one way.
    assert!(
        report["comparisons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["thread"] != "link"),
        "{report:#}"
    );
}

#[test]
fn a_change_within_the_threshold_is_ok_either_way() {
    let dir = scratch_dir("compare");
    let a = write(&dir, "a.jsonl", &baseline());
    // 1 % more rows a second and a 1 % lower p99: neither is a change worth a word.
    let mut slightly = baseline();
    scale(&mut slightly, "consumer-0", &["rows_per_s"], 1.01);
    scale(
        &mut slightly,
        "consumer-0",
        &["latency_total_ns", "p99"],
        0.99,
    );
    let b = write(&dir, "slightly.jsonl", &slightly);
    let out = compare(&a, &b, &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for figure in ["rows_per_s", "p99_ns"] {
        let row = text
            .lines()
            .find(|l| l.starts_with("consumer-0") && l.contains(figure))
            .unwrap();
        assert!(row.ends_with("  ok"), "{text}");
    }
}

#[test]
fn a_change_within_the_noise_is_not_a_regression() {
    let dir = scratch_dir("compare");
    // Intervals that swing between half and one and a half of the figure: a 30 % drop of the
    // whole-run figure is within twice their noise.
    let mut noisy = baseline();
    let mut swing = 0.5;
    for line in noisy.iter_mut().filter(|l| l["type"] == "snapshot") {
        scale(
            std::slice::from_mut(line),
            "consumer-0",
            &["rows_per_s"],
            swing,
        );
        swing = if swing < 1.0 { 1.5 } else { 0.5 };
    }
    let a = write(&dir, "noisy-a.jsonl", &noisy);
    let mut dropped = noisy.clone();
    for line in dropped.iter_mut().filter(|l| l["type"] == "summary") {
        scale(
            std::slice::from_mut(line),
            "consumer-0",
            &["rows_per_s"],
            0.7,
        );
    }
    let b = write(&dir, "noisy-b.jsonl", &dropped);
    let out = compare(&a, &b, &["--json", "--max-regression", "5%"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let figure = common::comparison(&report, "consumer-0", "rows_per_s").clone();
    assert!(figure["noise"].as_f64().unwrap() > 0.15, "{figure}");
    assert_eq!(figure["regression"], false, "{figure}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn different_profiles_are_compared_with_a_warning_that_says_what_differs() {
    let dir = scratch_dir("compare");
    let a = write(&dir, "p-a.jsonl", &baseline());
    let mut other = baseline();
    for line in other.iter_mut().filter(|l| l["type"] == "start") {
        line["profile"] = "low-latency".into();
        line["resolved_profile"]["ring"]["capacity"] = 256.into();
    }
    let b = write(&dir, "p-b.jsonl", &other);
    let out = compare(&a, &b, &["--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = report["warnings"].to_string();
    assert!(warnings.contains("different profiles"), "{warnings}");
    assert!(
        warnings.contains("ring.capacity = 4096 vs 256"),
        "{warnings}"
    );
}

#[test]
fn the_same_settings_on_other_cpus_are_compared_with_a_warning_naming_them() {
    let dir = scratch_dir("compare");
    let mut lines = baseline();
    summary(&mut lines)["warnings"] = Value::Array(Vec::new());
    let a = write(&dir, "cpu-a.jsonl", &lines);
    // "auto" in both: the second run's consumer was placed on another CPU.
    let threads = summary(&mut lines)["threads"].as_array_mut().unwrap();
    let consumer = threads
        .iter_mut()
        .find(|t| t["name"] == "consumer-0")
        .unwrap();
    let was = consumer["cpu"].as_u64().unwrap();
    consumer["cpu"] = (was + 7).into();
    let b = write(&dir, "cpu-b.jsonl", &lines);
    let out = compare(&a, &b, &["--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(
        warnings,
        &vec![Value::from(format!(
            "different CPUs: consumer-0 on CPU {was} vs {}",
            was + 7
        ))],
        "{report}"
    );
}

#[test]
fn where_each_run_wrote_its_histogram_log_and_its_description_are_not_settings() {
    let dir = scratch_dir("compare");
    let logged = |path: &str, interval: &str| {
        let mut lines = baseline();
        for line in lines.iter_mut().filter(|l| l["type"] == "start") {
            line["resolved_profile"]["report"]["hlog"] = path.into();
            line["resolved_profile"]["report"]["interval"] = interval.into();
        }
        lines
    };
    let a = write(&dir, "log-a.jsonl", &logged("a.hlog", "1s"));
    let mut reworded = logged("b.hlog", "250ms");
    for line in reworded.iter_mut().filter(|l| l["type"] == "start") {
        line["resolved_profile"]["description"] = "the same, in other words".into();
    }
    let b = write(&dir, "log-b.jsonl", &reworded);
    let out = compare(&a, &b, &["--json"]);
    let warnings = serde_json::from_slice::<Value>(&out.stdout).unwrap()["warnings"].to_string();
    assert!(!warnings.contains("hlog"), "{warnings}");
    // Nor are the words describing the profile.
    assert!(!warnings.contains("description"), "{warnings}");
    // The interval is a setting that changes what was measured: it stays.
    assert!(
        warnings.contains(r#"report.interval = \"1s\" vs \"250ms\""#),
        "{warnings}"
    );
}

#[test]
fn broken_input_names_the_file_and_line() {
    let dir = scratch_dir("compare");
    let good = write(&dir, "good.jsonl", &baseline());
    let mut lines: Vec<String> = baseline().iter().map(ToString::to_string).collect();
    lines.insert(2, "{not json".to_owned());
    let broken = dir.join("broken.jsonl");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let out = compare(&good, &broken, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("broken.jsonl:3: not a JSON line"),
        "{stderr}"
    );

    let cut: Vec<Value> = baseline()
        .into_iter()
        .filter(|l| l["type"] != "summary")
        .collect();
    let cut = write(&dir, "cut.jsonl", &cut);
    let out = compare(&good, &cut, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no summary line"));

    // Killed mid-write: the summary line cut off in the middle, no newline after it. The lines
    // before it are read; the summary is missing, and said so (not "not a JSON line").
    let whole: Vec<String> = baseline().iter().map(ToString::to_string).collect();
    let mut text = whole.join("\n");
    text.truncate(text.len() - 40);
    let killed = dir.join("killed.jsonl");
    std::fs::write(&killed, &text).unwrap();
    let out = compare(&good, &killed, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("killed.jsonl: no summary line"), "{stderr}");
    // The same cut line followed by a newline was written whole as it is: it is wrong.
    std::fs::write(&killed, text + "\n").unwrap();
    let out = compare(&good, &killed, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a JSON line"), "{stderr}");

    let out = compare(&good, &dir.join("missing.jsonl"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.jsonl"));

    // A watched program's lines in a run's output: the error says whose they are.
    let mut mixed = baseline();
    mixed.insert(
        1,
        serde_json::json!({"type": "program", "schema_version": SCHEMA_VERSION}),
    );
    let mixed = write(&dir, "mixed.jsonl", &mixed);
    let out = compare(&good, &mixed, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "mixed.jsonl:2: a line of type \"program\": `attach --headless` output, in a run's"
        ),
        "{stderr}"
    );
}

#[test]
fn a_noise_that_cannot_be_estimated_is_n_a_with_the_reason() {
    let dir = scratch_dir("compare");
    let full = baseline();
    let a = write(&dir, "full.jsonl", &full);
    let table = String::from_utf8(compare(&a, &a, &[]).stdout).unwrap();
    assert!(!table.contains("n/a"), "{table}");
    // The start line, two intervals and the summary: too few to estimate a spread from.
    let mut short: Vec<Value> = full[..3].to_vec();
    short.push(full.last().unwrap().clone());
    assert_eq!(short[1]["type"], "snapshot");
    let b = write(&dir, "short.jsonl", &short);
    let out = compare(&a, &b, &[]);
    assert_eq!(out.status.code(), Some(0));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("n/a"), "{table}");
    assert!(
        table.contains("noise n/a: an output needs four intervals or more"),
        "{table}"
    );
    // A regression judged without a noise says the threshold alone judged it.
    let mut worse = short.clone();
    scale(&mut worse, "consumer-0", &["latency_total_ns", "p99"], 2.0);
    let worse = write(&dir, "short-worse.jsonl", &worse);
    let out = compare(&b, &worse, &[]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("(by the threshold alone where the noise is n/a)"),
        "{table}"
    );
}
