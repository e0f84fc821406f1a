//! `ringtop tune` and `ringtop sweep` end to end, on this machine's engine: the profile tune
//! writes is accepted and runs, its verdict is what its own paired trials say (recomputed from
//! them, never a pace the machine must keep); bad input is refused with what would do.
#![cfg(not(loom))]

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{machine, ringtop, scratch_dir};
use serde_json::Value;

fn rows_per_s(profile: &[&str]) -> f64 {
    let out = ringtop()
        .args(["run", "--headless", "--duration", "1s"])
        .args(profile)
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["integrity_ok"], true);
    summary["totals"]["rows_per_s"].as_f64().unwrap()
}

/// This machine's core-to-core map, measured with `ringtop c2c --json` into `dir`: its path.
fn measured_c2c_map(dir: &std::path::Path) -> std::path::PathBuf {
    let map = dir.join("c2c.json");
    let out = ringtop().args(["c2c", "--json"]).output().unwrap();
    assert!(out.status.success());
    std::fs::write(&map, &out.stdout).unwrap();
    map
}

#[test]
fn a_short_throughput_tune_writes_a_profile_that_checks_runs_and_a_verdict_its_pairs_support() {
    let _machine = machine();
    let dir = scratch_dir("tune");
    let map = measured_c2c_map(&dir);
    let best = dir.join("best.toml");
    let out = ringtop()
        .args([
            "tune",
            "--goal",
            "throughput",
            "--budget",
            "20s",
            "--json",
            "--c2c",
        ])
        .arg(&map)
        .arg("-o")
        .arg(&best)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("verdict: "), "{stderr}");

    // The whole search: every trial, a verdict that says how it was decided.
    let search: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_document_valid("tune", &search);
    assert_eq!(search["kind"], "tune");
    assert_eq!(search["base"], "throughput");
    let trials = search["search"]["trials"].as_array().unwrap();
    assert!(trials.iter().any(|t| t["phase"] == "rung 0"));
    assert!(
        trials.iter().any(|t| t["phase"] == "confirm"),
        "a candidate is always confirmed"
    );
    let spent = search["search"]["spent_s"].as_f64().unwrap();
    let cost: f64 = trials
        .iter()
        .map(|t| t["outcome"]["cost_s"].as_f64().unwrap())
        .sum();
    assert!(
        (spent - cost).abs() < 0.01 * spent,
        "spent {spent} is the trials' cost {cost}"
    );
    let verdict = &search["search"]["verdict"];
    let pairs = verdict["pairs"].as_u64().unwrap();
    assert!(pairs >= 4, "{verdict}");
    assert_eq!(
        trials.iter().filter(|t| t["phase"] == "confirm").count() as u64,
        2 * pairs
    );
    let chosen = verdict["chosen"].as_u64().unwrap();
    if verdict["improved"] == true {
        assert!(verdict["confidence"].as_f64().unwrap() >= 0.95);
        assert_ne!(chosen, 0);
    } else {
        assert_eq!(chosen, 0, "{verdict}");
    }

    // The file: the evidence as comments, a profile `profile check` accepts.
    let text = std::fs::read_to_string(&best).unwrap();
    assert!(
        text.starts_with("# Written by `ringtop tune --goal throughput"),
        "{text}"
    );
    assert!(text.contains("# Baseline (throughput): "), "{text}");
    assert!(text.contains("# Verdict: "), "{text}");
    let check = ringtop()
        .args(["profile", "check"])
        .arg(&best)
        .output()
        .unwrap();
    common::assert_succeeded(&check);

    // The verdict is what its own confirmation measured: recomputed here from the trials alone
    // (pairs in order, each ratio the winner's rows/s over the baseline's, a win above 1, the
    // one-sided sign test from the binomial tail), so a tuner that miscounted, mislabelled the
    // pairs or crowned a winner its pairs do not support fails here, whatever the machine's pace.
    let winner = verdict["winner"].as_u64().unwrap();
    let confirm: Vec<&Value> = trials.iter().filter(|t| t["phase"] == "confirm").collect();
    let mut ratios = Vec::new();
    for (pair, runs) in confirm.chunks(2).enumerate() {
        let ids: Vec<u64> = runs
            .iter()
            .map(|t| t["candidate"].as_u64().unwrap())
            .collect();
        let expected = if pair % 2 == 0 {
            [0, winner]
        } else {
            [winner, 0]
        };
        assert_eq!(ids, expected, "pair {pair} alternates baseline and winner");
        let rate = |id: u64| {
            let run = runs.iter().find(|t| t["candidate"] == id).unwrap();
            assert_eq!(run["outcome"]["integrity_ok"], true, "{run}");
            let rows_per_s = run["outcome"]["rows_per_s"].as_f64().unwrap();
            assert_eq!(
                run["merit"].as_f64(),
                Some(rows_per_s),
                "throughput's merit is rows/s"
            );
            rows_per_s
        };
        ratios.push(rate(winner) / rate(0));
    }
    // Every figure is printed to six significant digits, so a ratio of two is within 2e-5 of
    // the one the search took, and a pair that close to even may have gone either way.
    const PRINTED: f64 = 2e-5;
    let sure_wins = ratios.iter().filter(|&&r| r > 1.0 + PRINTED).count() as u64;
    let close = ratios
        .iter()
        .filter(|&&r| (r - 1.0).abs() <= PRINTED)
        .count() as u64;
    let wins = verdict["wins"].as_u64().unwrap();
    assert!(
        (sure_wins..=sure_wins + close).contains(&wins),
        "{verdict}: {ratios:?}"
    );
    ratios.sort_by(f64::total_cmp);
    let middle = ratios.len() / 2;
    let median = if ratios.len() % 2 == 1 {
        ratios[middle]
    } else {
        (ratios[middle - 1] + ratios[middle]) / 2.0
    };
    let stated = verdict["median_ratio"].as_f64().unwrap();
    assert!(
        (stated - median).abs() <= PRINTED * median,
        "{verdict}: median {median}"
    );
    let range = &verdict["ratio_range"];
    let near =
        |printed: &Value, ratio: f64| (printed.as_f64().unwrap() - ratio).abs() <= PRINTED * ratio;
    assert!(near(&range[0], ratios[0]), "{verdict}");
    assert!(near(&range[1], *ratios.last().unwrap()), "{verdict}");
    let choose = |n: u64, k: u64| (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64);
    let tail: f64 = (wins..=pairs).map(|k| choose(pairs, k)).sum::<f64>() / 2f64.powi(pairs as i32);
    let confidence = verdict["confidence"].as_f64().unwrap();
    assert!((confidence - (1.0 - tail)).abs() < 1e-6, "{verdict}");
    let required = verdict["required_confidence"].as_f64().unwrap();
    assert_eq!(
        verdict["improved"] == true,
        confidence >= required && median > 1.0,
        "{verdict}"
    );

    // And the profile it wrote runs: every row once and in order.
    let best = best.display().to_string();
    assert!(rows_per_s(&["--profile", &best]) > 0.0);
}

#[test]
fn a_sweep_runs_every_point_and_marks_one_knee_per_curve() {
    let _machine = machine();
    let out = ringtop()
        .args([
            "sweep",
            "--builtin",
            "default",
            "--set",
            "workload.batch=1,16",
            "--set",
            "workload.rate=100k..200k",
            // Long against the VM's own stalls (10-15 ms seen under CI): a paced producer
            // catches up after one, and a stall at the window's edge would count its catch-up.
            "--trial",
            "1s",
            "--json",
        ])
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let points = doc["sweep"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    let mut seen = Vec::new();
    for point in points {
        let settings = point["settings"].as_array().unwrap();
        let batch = settings[0][1].as_u64().unwrap();
        let rate = settings[1][1].as_u64().unwrap() as f64;
        seen.push((batch, rate as u64));
        let o = &point["outcome"];
        assert_eq!(o["integrity_ok"], true, "{point}");
        // A paced producer offers exactly its rate: what arrived is that rate where it kept
        // it. (A stall of the VM can put it behind for a window: CI saw 183,722 rows/s of
        // 200k with a 91 ms p99, and the point said `kept_rate: false`.)
        let got = o["rows_per_s"].as_f64().unwrap();
        let p99_s = o["p99_ns"].as_u64().unwrap() as f64 / 1e9;
        if o["kept_rate"] == true && got < 1.05 * rate {
            assert!((got - rate).abs() < 0.05 * rate, "{point}");
        }
        // More arrives only where the producer was behind when the window began (a stall at
        // its edge: a full test run saw 110,001 rows/s of 100k) and caught up in it. Those
        // rows were due before the window (of 1 s), the oldest a backlog's worth of time
        // before: the slowest 1 % of the window's rows waited at least that backlog less 1 %
        // of the rows.
        if got >= 1.05 * rate {
            let late_s = ((got - rate) - 0.01 * got) / rate;
            assert!(
                p99_s >= 0.5 * late_s,
                "{point}: caught up, yet its rows were not late"
            );
        }
        assert!(o["p50_ns"].as_u64().unwrap() <= o["p99_ns"].as_u64().unwrap());
    }
    assert_eq!(
        seen,
        [(1, 100_000), (1, 200_000), (16, 100_000), (16, 200_000)]
    );
    for curve in points.chunks(2) {
        assert_eq!(curve.iter().filter(|p| p["knee"] == true).count(), 1);
    }
    // The table names the knee.
    let out = ringtop()
        .args([
            "sweep",
            "--set",
            "workload.rate=100k,150k",
            "--trial",
            "200ms",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("<- knee"), "{table}");
    assert!(
        table.lines().next().unwrap().contains("workload.rate"),
        "{table}"
    );
}

/// The line of a sweep's table whose first column is `first`.
fn table_row<'t>(table: &'t str, first: &str) -> &'t str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(first))
        .unwrap_or_else(|| panic!("no {first} row: {table}"))
}

#[test]
fn a_sweep_point_whose_producer_cannot_keep_its_rate_says_so() {
    let _machine = machine();
    // No machine sends 100 G rows a second; flat out offers no rate to keep.
    let out = ringtop()
        .args(["sweep", "--set", "workload.rate=0,100G", "--trial", "200ms"])
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    let row = |rate: &str| table_row(&table, rate);
    assert!(row("0").contains(" flat out "), "{table}");
    assert!(row("100000000000").contains(" BEHIND "), "{table}");
    assert!(
        table.contains("rate: BEHIND where a producer sent under 95 % of the rate it offers"),
        "{table}"
    );
    let out = ringtop()
        .args([
            "sweep",
            "--set",
            "workload.rate=0,100G",
            "--trial",
            "200ms",
            "--json",
        ])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let kept: Vec<&Value> = doc["sweep"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["outcome"]["kept_rate"])
        .collect();
    assert_eq!(kept, [&Value::Null, &Value::Bool(false)], "{doc}");
}

/// At 20 rows a second a 200 ms window times four rows: their p99 is the slowest of them, which
/// the table marks and the knee does not stand on; the JSON gives the count.
#[test]
fn a_sweep_point_with_few_rows_timed_says_its_p99_is_their_slowest() {
    let _machine = machine();
    let args = [
        "sweep",
        "--set",
        "workload.rate=20,200k",
        "--trial",
        "200ms",
    ];
    let out = ringtop().args(args).arg("--json").output().unwrap();
    common::assert_succeeded(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let points = doc["sweep"]["points"].as_array().unwrap();
    let timed: Vec<u64> = points
        .iter()
        .map(|p| p["outcome"]["latency_samples"].as_u64().unwrap())
        .collect();
    assert!(timed[0] < 100 && timed[1] >= 100, "{doc}");
    assert_eq!(points[0]["knee"], false, "{doc}");
    assert_eq!(points[1]["knee"], true, "{doc}");
    let out = ringtop().args(args).output().unwrap();
    common::assert_succeeded(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    let row = |rate: &str| table_row(&table, rate);
    assert!(row("20").contains(" *"), "{table}");
    assert!(!row("200000").contains('*'), "{table}");
    assert!(
        table.contains("*: fewer than 100 rows timed (the consumer that timed fewest)"),
        "{table}"
    );
}

/// At one row a second a 100 ms window times no row at all: no percentile, so no knee, and the
/// table says why instead of marking a point that moved nothing.
#[test]
fn a_sweep_that_timed_no_row_has_no_knee_and_says_why() {
    let _machine = machine();
    let args = ["sweep", "--set", "workload.rate=1", "--trial", "100ms"];
    let out = ringtop().args(args).arg("--json").output().unwrap();
    common::assert_succeeded(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let point = &doc["sweep"]["points"][0];
    assert_eq!(point["outcome"]["p99_ns"], Value::Null, "{doc}");
    assert_eq!(point["knee"], false, "{doc}");
    let out = ringtop().args(args).output().unwrap();
    common::assert_succeeded(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.contains("<- knee"), "{table}");
    assert!(
        table.contains("no knee: no point without loss timed a row (a slow rate times none"),
        "{table}"
    );
}

/// A point that never started measured nothing: its rows/s and integrity are `null` (the table's
/// `n/a`) beside the reason, never a rate of 0 or a lost row; a sweep whose every point failed
/// says so and exits 1.
#[test]
fn a_sweep_whose_points_never_started_shows_no_figure_and_exits_1() {
    // Port 1 refuses every connection: each point fails as it starts.
    let args = [
        "sweep",
        "--builtin",
        "remote-tcp",
        "--set",
        "transport.connect=127.0.0.1:1",
        "--set",
        "workload.batch=1,4",
        "--trial",
        "100ms",
    ];
    let out = ringtop().args(args).arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("every point failed: nothing was measured"),
        "{stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let no_knee = doc["sweep"]["no_knee"].as_str().unwrap();
    assert!(no_knee.starts_with("every point failed"), "{doc}");
    // Its report says why nothing is plotted, as the sweep did.
    let dir = scratch_dir("sweep-failed");
    let (json, html) = (dir.join("sweep.json"), dir.join("sweep.html"));
    std::fs::write(&json, &out.stdout).unwrap();
    let report = ringtop()
        .args(["report", "--sweep"])
        .args([&json, &std::path::PathBuf::from("-o"), &html])
        .output()
        .unwrap();
    common::assert_succeeded(&report);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("No knee: every point failed"), "{page}");
    let points = doc["sweep"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 2, "{doc}");
    for point in points {
        let o = &point["outcome"];
        assert!(
            o["failure"].as_str().unwrap().contains("127.0.0.1:1"),
            "{o}"
        );
        assert_eq!(o["rows_per_s"], Value::Null, "{o}");
        assert_eq!(o["integrity_ok"], Value::Null, "{o}");
        assert_eq!(point["knee"], false, "{o}");
    }
    let out = ringtop().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let table = String::from_utf8(out.stdout).unwrap();
    // The address, every point's, is said once above; the batch is the one column.
    assert!(
        table.starts_with("every point: transport.connect=127.0.0.1:1\n"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.split_whitespace().next() == Some("4"))
        .unwrap_or_else(|| panic!("no batch 4 row: {table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1..5], ["n/a"; 4], "{table}");
    assert!(row.contains("failed: cannot connect"), "{table}");
    assert!(table.contains("no knee: every point failed"), "{table}");
}

/// A sweep of a sender whose receiver asks for a secret: `--set transport.token=…` reaches every
/// point (each is let in and delivers every row) and no table or document of the sweep holds it.
#[test]
fn a_sweeps_secret_reaches_every_point_and_is_never_printed() {
    let _machine = machine();
    const SECRET: &str = "84926173";
    let mut receiver = common::Reaped::spawn(
        ringtop()
            .args(["serve", "--headless", "--listen", "127.0.0.1:0"])
            .args(["--token", SECRET])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let mut stderr = std::io::BufReader::new(receiver.child().stderr.take().unwrap());
    let address = common::announced_address(&mut stderr);
    let connect = format!("transport.connect={address}");
    let token = format!("transport.token={SECRET}");
    let args = [
        "sweep",
        "--builtin",
        "remote-tcp",
        "--set",
        &token,
        "--set",
        &connect,
        "--set",
        "workload.batch=1,4",
        "--trial",
        "100ms",
    ];
    for json in [true, false] {
        let out = ringtop()
            .args(args)
            .args(json.then_some("--json"))
            .output()
            .unwrap();
        common::assert_succeeded(&out);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            !stdout.contains(SECRET) && !stderr.contains(SECRET),
            "{stdout}{stderr}"
        );
        if json {
            let doc: Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(doc["sweep"]["latency_span"], "round_trip", "{doc}");
            assert_eq!(
                doc["sweep"]["shared"],
                serde_json::json!([["transport.connect", address]]),
                "{doc}"
            );
            for point in doc["sweep"]["points"].as_array().unwrap() {
                assert_eq!(point["outcome"]["failure"], Value::Null, "{point}");
                // A sender checks no row: its receiver does. It times its link's round trips.
                assert_eq!(point["outcome"]["integrity_ok"], Value::Null, "{point}");
                assert!(point["outcome"]["p99_ns"].as_u64().is_some(), "{point}");
                let keys: Vec<&str> = point["settings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s[0].as_str().unwrap())
                    .collect();
                assert_eq!(keys, ["transport.connect", "workload.batch"], "{point}");
            }
        } else {
            // The address every point shares is said once, not as a column.
            assert!(
                stdout.starts_with(&format!(
                    "every point: transport.connect={address}\nworkload.batch   "
                )),
                "{stdout}"
            );
            // Each setting's column as wide as its key: the value ends where the key does.
            let header = stdout.lines().nth(1).unwrap();
            let key_end = header.find("workload.batch").unwrap() + "workload.batch".len();
            for (row, batch) in stdout.lines().skip(2).zip(["1", "4"]) {
                assert_eq!(row.find(batch).map(|at| at + 1), Some(key_end), "{stdout}");
            }
            assert!(stdout.contains("rows checked at the receiver"), "{stdout}");
            assert!(!stdout.contains("LOST"), "{stdout}");
            assert!(
                stdout.contains("p50, p99: the link's round trip, from each row's scheduled"),
                "{stdout}"
            );
        }
    }
}

/// A sweep of codecs gives each point's ratio, in the JSON and as a column of the table; a sweep
/// of unframed rows has no such column.
#[test]
fn a_codec_sweep_gives_each_points_ratio() {
    let _machine = machine();
    let args = [
        "sweep",
        "--builtin",
        "compressed-timeseries",
        "--set",
        "codec.name=decimal,none",
        "--trial",
        "200ms",
    ];
    let out = ringtop().args(args).arg("--json").output().unwrap();
    common::assert_succeeded(&out);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["sweep"]["latency_span"], "one_way", "{doc}");
    let ratios: Vec<f64> = doc["sweep"]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["outcome"]["codec_ratio"].as_f64().unwrap())
        .collect();
    // Random-walk prices in under a byte a value; `none` adds a header to every frame.
    assert!(ratios[0] > 4.0 && ratios[1] < 1.0, "{doc}");
    let out = ringtop().args(args).output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.lines().next().unwrap().contains(" ratio "), "{table}");
    // Another sweep, so not the same figure (a loaded machine sends some frames part full),
    // but the same finding: decimal compresses these prices, `none` does not (under 1, shown to
    // two places).
    let shown = |codec: &str| -> f64 {
        table_row(&table, codec)
            .split_whitespace()
            .find_map(|word| word.strip_suffix('×'))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(shown("decimal") > 4.0 && shown("none") <= 1.0, "{table}");
    let out = ringtop()
        .args(["sweep", "--set", "workload.batch=1,2", "--trial", "200ms"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.contains("ratio"), "{table}");
}

#[test]
fn a_broadcast_sweep_says_its_rows_per_s_count_each_consumers_reads() {
    let _machine = machine();
    let out = ringtop()
        .args([
            "sweep",
            "--builtin",
            "broadcast-fanout",
            "--set",
            "pinning.consumers=auto+auto",
            "--set",
            "workload.rate=50k",
            "--trial",
            "300ms",
        ])
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    // One point: its settings are every point's, said once above the figures.
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0], "every point: pinning.consumers=auto+auto  workload.rate=50000",
        "{table}"
    );
    assert!(lines[1].trim_start().starts_with("rows/s"), "{table}");
    // Two consumers read each of the 50k rows a second: the table's 100k says why. Read once
    // per consumer: well past the 50k one consumer reads, whatever this machine's scheduler
    // does to the three threads on its CPUs in 300 ms (within 5 % of 100k failed once in a
    // dozen runs on two CPUs).
    let rows_per_s: f64 = lines[2].split_whitespace().next().unwrap().parse().unwrap();
    assert!(rows_per_s > 75_000.0, "{table}");
    assert!(
        table.contains(
            "rows/s: the rows the consumers read, a broadcast ring's each row once per consumer"
        ),
        "{table}"
    );
}

/// Sends SIGINT to `child` after `after`, as Ctrl-C would, and waits for its output.
fn interrupted_after(mut child: std::process::Child, after: Duration) -> std::process::Output {
    std::thread::sleep(after);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = child.stdin.take();
    child.wait_with_output().unwrap()
}

#[test]
fn ctrl_c_stops_a_tune_with_its_trials_reported_and_nothing_written() {
    let _machine = machine();
    let dir = scratch_dir("tune-ctrl-c");
    let map = measured_c2c_map(&dir);
    let best = dir.join("best.toml");
    let child = ringtop()
        .args(["tune", "--goal", "throughput", "--budget", "60s", "--json"])
        .arg("--c2c")
        .arg(&map)
        .arg("-o")
        .arg(&best)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = interrupted_after(child, Duration::from_secs(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted: nothing written to"),
        "{stderr}"
    );
    assert!(!best.exists(), "an interrupted search wrote a profile");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_document_valid("tune", &doc);
    assert_eq!(doc["output"], Value::Null);
    let search = &doc["search"];
    assert_eq!(search["interrupted"], true);
    let trials = search["trials"].as_array().unwrap();
    assert!(!trials.is_empty(), "three seconds ran trials: {search}");
    assert_eq!(search["verdict"]["chosen"], 0);
    let reason = search["verdict"]["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        format!(
            "interrupted after {} trials: baseline kept, nothing confirmed",
            trials.len()
        )
    );
}

#[test]
fn a_profiles_codec_ratio_floor_is_the_searchs_unless_the_command_line_gives_one() {
    let _machine = machine();
    let dir = scratch_dir("tune-floor");
    let map = measured_c2c_map(&dir);
    let text = ringtop()
        .args(["profile", "show", "compressed-timeseries"])
        .output()
        .unwrap()
        .stdout;
    let text = String::from_utf8(text).unwrap();
    let floored = text.replace("[codec]\n", "[codec]\nmin_ratio = \"12x\"\n");
    assert_ne!(floored, text, "the built-in has a [codec] section");
    let profile = dir.join("floored.toml");
    std::fs::write(&profile, floored).unwrap();
    let out = ringtop()
        .args(["profile", "check"])
        .arg(&profile)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("codec decimal, tuned to a codec ratio of at least 12x"),
        "{said}"
    );
    for (given, floor) in [(None, 12.0), (Some("20"), 20.0)] {
        let mut tune = ringtop();
        tune.args(["tune", "--goal", "throughput", "--budget", "60s", "--json"])
            .arg("--profile")
            .arg(&profile)
            .arg("--c2c")
            .arg(&map)
            .arg("-o")
            .arg(dir.join("best.toml"));
        if let Some(given) = given {
            tune.args(["--min-ratio", given]);
        }
        let child = tune
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = interrupted_after(child, Duration::from_secs(3));
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        common::assert_document_valid("tune", &doc);
        assert_eq!(doc["search"]["min_codec_ratio"], floor, "{given:?}");
    }
}

/// `sweep --set workload.rate=RATES --trial TRIAL --json` sent SIGINT after `after`: its exit
/// status checked (130), its `sweep` record and its stderr.
fn sweep_interrupted(rates: &str, trial: &str, after: Duration) -> (Value, String) {
    let child = ringtop()
        .args(["sweep", "--set", &format!("workload.rate={rates}")])
        .args(["--trial", trial, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = interrupted_after(child, after);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let mut doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["sweep"]["interrupted"], true, "{doc}");
    (doc["sweep"].take(), stderr)
}

#[test]
fn ctrl_c_stops_a_sweep_with_the_points_it_ran() {
    let _machine = machine();
    let (sweep, stderr) = sweep_interrupted("100k..10M", "1s", Duration::from_secs(3));
    let planned = sweep["planned"].as_u64().unwrap();
    let points = sweep["points"].as_array().unwrap();
    assert_eq!(planned, 7, "100k..10M steps 1-2-5");
    assert!((points.len() as u64) < planned, "{sweep}");
    for point in points {
        assert_eq!(point["outcome"]["integrity_ok"], true, "{point}");
        assert_eq!(point["outcome"]["failure"], Value::Null, "{point}");
    }
    let said = format!("interrupted: {} of {planned} points run", points.len());
    assert!(stderr.contains(&said), "{stderr}");

    // A point of a minute stopped after two seconds: cut short, so left out (waited out, it
    // would be there, whole).
    let (sweep, stderr) = sweep_interrupted("100k", "60s", Duration::from_secs(2));
    assert_eq!(sweep["points"], serde_json::json!([]), "{sweep}");
    assert_eq!(sweep["planned"], 1);
    assert!(
        stderr.contains("interrupted: 0 of 1 points run"),
        "{stderr}"
    );
}

#[test]
fn bad_tune_and_sweep_input_is_refused_with_what_would_do() {
    let dir = scratch_dir("tune-bad");
    let out_file = dir.join("x.toml");
    let garbage = dir.join("map.json");
    std::fs::write(&garbage, "{\"cpus\": [0, 1]").unwrap();
    let far_cpus = dir.join("far.json");
    std::fs::write(
        &far_cpus,
        r#"{"cpus":[0,4000],"rtt_ns":[[null,50.0],[50.0,null]],"spread_ns":[[null,1.0],[1.0,null]],
            "min_ns":[[null,40.0],[40.0,null]],"relation":[[null,null],[null,null]],
            "samples":1,"round_trips_per_sample":1}"#,
    )
    .unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["tune".into(), "--budget".into(), "2s".into()],
            "give at least",
        ),
        (
            vec!["tune".into(), "--c2c".into(), garbage.display().to_string()],
            "not a map written by `ringtop c2c --json`",
        ),
        (
            vec![
                "tune".into(),
                "--c2c".into(),
                far_cpus.display().to_string(),
            ],
            "4000",
        ),
        (
            vec!["tune".into(), "--builtin".into(), "broadcast-fanout".into()],
            "tune searches one producer and one consumer",
        ),
        // A base no search can take is said before a budget that would only need raising.
        (
            vec![
                "tune".into(),
                "--builtin".into(),
                "remote-tcp".into(),
                "--budget".into(),
                "2s".into(),
            ],
            "tune runs local workloads",
        ),
        (
            vec!["tune".into(), "--rate".into(), "fast".into()],
            "500k or 2M",
        ),
        (
            vec!["tune".into(), "--confidence".into(), "1.5".into()],
            "between 0.5 and 1",
        ),
        // At a pace every candidate that keeps up delivers the same rows per second.
        (
            vec![
                "tune".into(),
                "--goal".into(),
                "throughput".into(),
                "--builtin".into(),
                "low-latency".into(),
            ],
            "a throughput search at a pace (`low-latency`: 100k rows/s a producer)",
        ),
        // With no goal given, a pace asks for the latency search (whose trials time 100 rows).
        (
            vec![
                "tune".into(),
                "--rate".into(),
                "100".into(),
                "--budget".into(),
                "19s".into(),
            ],
            "so that each consumer times 100 rows at 100 rows/s",
        ),
        (
            vec!["tune".into(), "--min-ratio".into(), "10".into()],
            "--min-ratio needs a framed base profile",
        ),
        (
            vec![
                "tune".into(),
                "--builtin".into(),
                "compressed-timeseries".into(),
                "--min-ratio=-3x".into(),
            ],
            "a codec ratio above 0",
        ),
    ];
    for (args, expected) in cases {
        let out = ringtop()
            .args(&args)
            .arg("-o")
            .arg(&out_file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!out_file.exists(), "{args:?} wrote a profile");
    }
    // What can be known before anything is measured is refused before the core-to-core map
    // (seconds) and the search (minutes): a budget too small, an output that cannot be a file.
    let missing_folder = dir.join("no-such-folder").join("x.toml");
    for (budget, output, expected) in [
        ("10s", out_file.as_path(), "give at least"),
        ("2m", &*dir, "a directory; give a file name"),
        ("2m", missing_folder.as_path(), "does not exist"),
    ] {
        let out = ringtop()
            .args(["tune", "--budget", budget, "-o"])
            .arg(output)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{output:?}: {stderr}");
        assert!(stderr.contains(expected), "{output:?}: {stderr}");
        assert!(
            !stderr.contains("measuring the core-to-core map"),
            "measured before refusing: {stderr}"
        );
    }
    // So is a base no search can tune (two consumers, a remote ring).
    for builtin in ["broadcast-fanout", "remote-tcp"] {
        let out = ringtop()
            .args(["tune", "--builtin", builtin, "-o"])
            .arg(&out_file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{builtin}: {stderr}");
        assert!(
            !stderr.contains("measuring the core-to-core map"),
            "measured before refusing: {stderr}"
        );
    }
    for (set, expected) in [
        ("workload.rate", "expected KEY=VALUES"),
        ("workload.batch=0", "workload.batch=0"),
        ("workload.rate=5M..1M", "LOW..HIGH"),
        ("ring.colour=red", "colour"),
        ("workload.batch=1,,8", "value 2 is empty"),
        (
            "workload.batch=8 --set workload.batch=16",
            "swept by two --set options",
        ),
    ] {
        let sets = set.split(" --set ").flat_map(|axis| ["--set", axis]);
        let out = ringtop().arg("sweep").args(sets).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{set}: {stderr}");
        assert!(stderr.contains(expected), "{set}: {stderr}");
    }
}
