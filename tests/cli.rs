//! The `ringtop` binary as a user runs it: output, exit codes, bad input, closed pipes.
#![cfg(not(loom))]

use std::io::Read;
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;

/// A short probe, so tests take milliseconds.
const SMALL: [&str; 8] = [
    "--items",
    "100000",
    "--latency-samples",
    "5000",
    "--round-trips",
    "2000",
    "--rate",
    "100000",
];

fn ringtop() -> Command {
    Command::cargo_bin("ringtop").expect("binary built")
}

#[test]
fn json_report_has_every_field_and_a_clean_integrity_check() {
    let out = ringtop().args(SMALL).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["throughput"]["rows"], 100_000);
    assert_eq!(v["one_way_latency"]["count"], 5000);
    assert_eq!(v["round_trip"]["count"], 2000);
    for key in ["lost", "duplicated", "reordered"] {
        assert_eq!(v["integrity"][key], 0, "{key}");
    }
    let p50 = v["round_trip"]["p50_ns"].as_u64().unwrap();
    let p99 = v["round_trip"]["p99_ns"].as_u64().unwrap();
    assert!(p50 > 0 && p50 <= p99);
}

#[test]
fn table_names_the_cpus_and_the_percentiles() {
    let out = ringtop().arg("probe").args(SMALL).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("producer on CPU"), "{text}");
    assert!(text.contains("p99.9"), "{text}");
    assert!(text.contains("lost 0, duplicated 0, reordered 0"), "{text}");
}

#[test]
fn an_unavailable_cpu_is_a_clear_error_with_exit_code_2() {
    let out = ringtop()
        .args(SMALL)
        .args(["--consumer-cpu", "4096"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("ringtop: CPU 4096 is not available; allowed: "),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_capacity_that_is_not_a_power_of_two_is_refused() {
    let out = ringtop()
        .args(SMALL)
        .args(["--capacity", "1000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("capacity 1000 is not a power of two (nearest: 512 or 1024)"),
        "{err}"
    );
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let mut child = ringtop()
        .args(SMALL)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close our end of the pipe before the report is written, as `| head -0` would.
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(status.success(), "{err}");
}
