//! `ringtop attach` against a real program: `examples/pipeline.rs` publishes its rings, ringtop
//! watches them from another process, and the counts agree with the program's own; a program
//! killed mid-run is reported as dead and its segment cleaned up; files that are not segments
//! are reported and left alone.
#![cfg(not(loom))]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

/// The example binary, built beside ringtop (cargo builds examples with the tests; built here
/// when a single test target was asked for).
fn pipeline_binary() -> PathBuf {
    let ringtop = cargo_bin("ringtop");
    let profile_dir = ringtop.parent().unwrap();
    let example = profile_dir.join("examples").join("pipeline");
    if !example.exists() {
        let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        build.args(["build", "--example", "pipeline"]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(build.status().unwrap().success(), "the example builds");
    }
    example
}

/// A private monitor directory for one test.
fn monitor_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ringtop-attach-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn start_pipeline(dir: &Path, name: &str, duration: &str) -> Child {
    Command::new(pipeline_binary())
        .args(["--duration", duration, "--rate", "100000", "--name", name])
        .env("RINGTOP_DIR", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the pipeline example starts")
}

fn ringtop(dir: &Path) -> Command {
    let mut command = Command::new(cargo_bin("ringtop"));
    command.env("RINGTOP_DIR", dir);
    command
}

/// `attach --list --json`, parsed.
fn list(dir: &Path) -> Value {
    let out = ringtop(dir)
        .args(["attach", "--list", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn wait_for_program(dir: &Path, name: &str) {
    let started = Instant::now();
    loop {
        let listed = list(dir);
        let programs = listed["programs"].as_array().unwrap();
        if programs
            .iter()
            .any(|p| p["name"] == name && p["rings"].as_array().unwrap().len() == 2)
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{name} never published: {listed}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn lines(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn attach_reports_the_counts_the_program_itself_reports() {
    let dir = monitor_dir("counts");
    let pipeline = start_pipeline(&dir, "e2e-pipeline", "3s");
    wait_for_program(&dir, "e2e-pipeline");
    let attached = ringtop(&dir)
        .args([
            "attach",
            "e2e-pipeline",
            "--headless",
            "--interval",
            "300ms",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let own = pipeline.wait_with_output().unwrap();
    assert!(own.status.success());
    assert!(
        attached.status.success(),
        "{}",
        String::from_utf8_lossy(&attached.stderr)
    );
    let own: Value = serde_json::from_slice(&own.stdout).unwrap();
    let lines = lines(&attached.stdout);

    // Every line is one the schema describes.
    let schema = ringtop(&dir).arg("schema").output().unwrap();
    let schema: Value = serde_json::from_slice(&schema.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema["line"]).unwrap();
    for line in &lines {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?} in {line}");
    }

    assert_eq!(lines[0]["type"], "attach");
    assert_eq!(lines[0]["program"]["name"], "e2e-pipeline");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "program_summary");
    assert_eq!(summary["ended"], "the program exited");
    let intervals: Vec<&Value> = lines.iter().filter(|l| l["type"] == "program").collect();
    assert!(intervals.len() >= 3, "{} intervals", intervals.len());

    // The end: exactly the program's own counts.
    for ring in summary["rings"].as_array().unwrap() {
        let name = ring["name"].as_str().unwrap();
        let produced = ring["produced"].as_u64().unwrap();
        let lag = ring["lag"][0].as_u64().unwrap();
        assert_eq!(produced, own["rings"][name]["produced"], "{name}");
        assert_eq!(produced - lag, own["rings"][name]["consumed"], "{name}");
        assert_eq!(ring["closed"], true);
    }
    let consumer = |line: &Value, ring: &str| -> Value {
        line["threads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == format!("{ring} consumer-0"))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        consumer(summary, "md-in")["rows"],
        own["rings"]["md-in"]["consumed"]
    );

    // On the way: counts only grow, no consumer is further behind than the ring holds, the
    // feed's rate is seen, and the stamped consumers have latency.
    let mut last = 0;
    let mut rated = 0;
    for line in &intervals {
        let md = &line["rings"][0];
        let produced = md["produced"].as_u64().unwrap();
        assert!(produced >= last);
        last = produced;
        assert!(md["lag"][0].as_u64().unwrap() <= md["ring"]["capacity"].as_u64().unwrap());
        let rate = line["threads"][0]["rows_per_s"].as_f64().unwrap();
        if rate > 0.0 {
            rated += 1;
        }
        if consumer(line, "md-in")["rows_per_s"].as_f64().unwrap() > 0.0 {
            let latency = &consumer(line, "md-in")["latency_ns"];
            assert!(latency["count"].as_u64().unwrap() > 0, "{line}");
            assert!(latency["p50"].as_u64().unwrap() <= latency["p99"].as_u64().unwrap());
        }
    }
    assert!(rated >= 2, "the feed was seen sending in {rated} intervals");
    let total = &consumer(summary, "md-in")["latency_total_ns"];
    assert_eq!(total["count"], own["rings"]["md-in"]["consumed"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_program_is_reported_dead_and_its_segment_removed() {
    let dir = monitor_dir("killed");
    let mut pipeline = start_pipeline(&dir, "doomed", "60s");
    wait_for_program(&dir, "doomed");
    let pid = pipeline.id();
    let attach = ringtop(&dir)
        .args([
            "attach",
            &pid.to_string(),
            "--headless",
            "--interval",
            "200ms",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    pipeline.kill().unwrap();
    pipeline.wait().unwrap();
    let attached = attach.wait_with_output().unwrap();
    assert!(attached.status.success());
    let lines = lines(&attached.stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "program_summary");
    assert!(
        summary["ended"].as_str().unwrap().contains("died"),
        "{summary}"
    );
    assert_eq!(summary["program"]["alive"], false);

    let out = ringtop(&dir).args(["attach", "--list"]).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("removed") && stderr.contains("doomed (pid"),
        "{stderr}"
    );
    assert_eq!(list(&dir)["programs"].as_array().unwrap().len(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn files_that_are_not_segments_are_reported_and_left_alone() {
    let dir = monitor_dir("garbage");
    let mut pipeline = start_pipeline(&dir, "neighbour", "60s");
    wait_for_program(&dir, "neighbour");
    let garbage = dir.join("garbage-1.ringtop");
    std::fs::write(&garbage, b"RTSTATS\0 but nothing after").unwrap();
    let short = dir.join("short-2.ringtop");
    std::fs::write(&short, b"").unwrap();

    let listed = list(&dir);
    assert_eq!(listed["programs"].as_array().unwrap().len(), 1, "{listed}");
    let skipped = listed["skipped"].to_string();
    assert!(
        skipped.contains("garbage-1.ringtop") && skipped.contains("truncated"),
        "{skipped}"
    );
    assert!(skipped.contains("short-2.ringtop"), "{skipped}");
    assert!(
        garbage.exists() && short.exists(),
        "not ringtop's to remove"
    );

    let out = ringtop(&dir)
        .args(["attach", "no-such-program", "--headless"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no running program named \"no-such-program\""),
        "{stderr}"
    );
    assert!(stderr.contains("garbage-1.ringtop"), "{stderr}");
    pipeline.kill().unwrap();
    pipeline.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
