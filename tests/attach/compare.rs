//! `ringtop compare` on two attachments to a real program: the same one passes, one made worse
//! fails where it was made worse (judged over the attachment's own span, as its rates are), and a
//! run's output against an attachment's is refused.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::Value;

use super::common;
use super::{lines, ringtop, watched_pipeline};

/// `lines` as a JSON-lines file `name` in `dir`.
fn write(dir: &Path, name: &str, lines: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn compare(dir: &Path, a: &Path, b: &Path) -> Output {
    ringtop(dir)
        .arg("compare")
        .args([a, b])
        .arg("--json")
        .output()
        .unwrap()
}

/// Multiplies the p99 in `field` (`latency_ns` or `latency_total_ns`) of thread `thread` in every
/// interval and the summary by `factor`.
fn scale_p99(lines: &[Value], thread: &str, field: &str, factor: u64) -> Vec<Value> {
    let mut lines = lines.to_vec();
    for line in &mut lines {
        for t in line["threads"].as_array_mut().into_iter().flatten() {
            if t["name"] == thread && t[field].is_object() {
                let p99 = t[field]["p99"].as_u64().unwrap();
                t[field]["p99"] = Value::from(p99 * factor);
            }
        }
    }
    lines
}

#[test]
fn two_attachments_compare_thread_by_thread_over_the_attachment() {
    let (dir, stdout) = watched_pipeline("compared");
    let lines = lines(&stdout);
    let scratch = common::scratch_dir("attach-compare");
    let same = write(&scratch, "same.jsonl", &lines);

    // The same attachment: every endpoint's rate, and each consumer's latency, each with a noise
    // from the intervals; nothing regressed.
    let out = compare(&dir, &same, &same);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    for thread in ["md-in producer", "md-in consumer-0", "orders consumer-0"] {
        let rate = common::comparison(&report, thread, "rows_per_s");
        assert!(rate["a"].as_f64().unwrap() > 0.0, "{rate}");
        assert!(rate["noise"].is_f64(), "{rate}");
    }
    let p99 = common::comparison(&report, "md-in consumer-0", "p99_ns");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "program_summary");
    let whole = summary["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "md-in consumer-0")
        .unwrap();
    // Over the attachment (`latency_ns`), the span its rates are over.
    // (Both as printed: to six significant digits.)
    let (compared, attached) = (
        p99["a"].as_f64().unwrap(),
        whole["latency_ns"]["p99"].as_f64().unwrap(),
    );
    assert!(
        (compared - attached).abs() <= attached * 1e-5,
        "{p99} {whole}"
    );
    assert_eq!(report["regressed"], false, "{report}");

    // Ten times the p99 over the attachment is beyond any noise (a relative standard error of
    // positive figures is at most 1): a regression, where it was made.
    let worse = scale_p99(&lines, "md-in consumer-0", "latency_ns", 10);
    let worse = write(&scratch, "worse.jsonl", &worse);
    let out = compare(&dir, &same, &worse);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        common::comparison(&report, "md-in consumer-0", "p99_ns")["regression"],
        true
    );
    assert_eq!(
        common::comparison(&report, "orders consumer-0", "p99_ns")["regression"],
        false
    );
    let table = ringtop(&dir)
        .arg("compare")
        .args([&same, &worse])
        .output()
        .unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.lines().any(|l| l
            .split_whitespace()
            .take(3)
            .eq(["md-in", "consumer-0", "p99_ns"])
            && l.ends_with("REGRESSION")),
        "{table}"
    );

    // Since the program started (`latency_total_ns`) is not the attachment's span: not judged.
    let before = scale_p99(&lines, "md-in consumer-0", "latency_total_ns", 10);
    let before = write(&scratch, "before-attaching.jsonl", &before);
    let out = compare(&dir, &same, &before);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // Another ring setting is said beside the figures.
    let mut resized = lines.clone();
    let last = resized.last_mut().unwrap();
    last["rings"][0]["ring"]["capacity"] = Value::from(65_536);
    let resized = write(&scratch, "resized.jsonl", &resized);
    let report: Value = serde_json::from_slice(&compare(&dir, &same, &resized).stdout).unwrap();
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("different rings: md-in.capacity = 4096 vs 65536"),
        "{warnings}"
    );
    // So is an endpoint that ran on another CPU: where it ran decides its latency.
    let mut moved = lines.clone();
    let last = moved.last_mut().unwrap();
    let thread = last["threads"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["name"] == "md-in consumer-0")
        .unwrap();
    let was = thread["cpu"].clone();
    thread["cpu"] = Value::from(4095);
    let moved = write(&scratch, "moved.jsonl", &moved);
    let report: Value = serde_json::from_slice(&compare(&dir, &same, &moved).stdout).unwrap();
    let warnings = report["warnings"].to_string();
    let was = if was.is_null() {
        "n/a".to_owned()
    } else {
        was.to_string()
    };
    assert!(
        warnings.contains(&format!(
            "different CPUs: md-in consumer-0 on CPU {was} vs 4095"
        )),
        "{warnings}"
    );

    // A run's output is not an attachment's: refused, naming both.
    let run = ringtop(&dir)
        .args([
            "run",
            "--headless",
            "--builtin",
            "default",
            "--duration",
            "1s",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    common::assert_succeeded(&run);
    let run_path = scratch.join("run.jsonl");
    std::fs::write(&run_path, &run.stdout).unwrap();
    let out = compare(&dir, &run_path, &same);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("run.jsonl is `run --headless` output and")
            && stderr.contains(
                "same.jsonl is `attach --headless` output: compare two runs, or two attachments"
            ),
        "{stderr}"
    );

    // Watching cut short before its summary: refused, saying so.
    let cut = write(&scratch, "cut.jsonl", &lines[..lines.len() - 1]);
    let out = compare(&dir, &same, &cut);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cut.jsonl: no program_summary line"),
        "{out:?}"
    );
}
