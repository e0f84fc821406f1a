//! Stacks sampled from a thread whose hot function is known, and `run --flamegraph` drawing the
//! workers of a real run.
#![cfg(not(loom))]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering::Relaxed};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use ringtop::metrics::stacks::StackSampler;

/// Spins on arithmetic until `stop`: the function the samples must find.
#[inline(never)]
fn known_hot_function(stop: &AtomicBool) -> u64 {
    let mut x = 1u64;
    while !stop.load(Relaxed) {
        for i in 0..1000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
    }
    x
}

#[test]
fn the_samples_of_a_spinning_thread_are_in_its_hot_function() {
    let stop = Arc::new(AtomicBool::new(false));
    let tid = Arc::new(AtomicI32::new(0));
    let worker = {
        let (stop, tid) = (stop.clone(), tid.clone());
        std::thread::Builder::new()
            .name("hot".into())
            .spawn(move || {
                // SAFETY: gettid(2) takes nothing and cannot fail.
                tid.store(unsafe { libc::gettid() }, Relaxed);
                known_hot_function(&stop)
            })
            .unwrap()
    };
    while tid.load(Relaxed) == 0 {
        std::thread::yield_now();
    }
    let mut sampler = StackSampler::start(&[("hot".into(), tid.load(Relaxed))], 997)
        .expect("perf_event_paranoid allows sampling this process's own threads");
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(600) {
        std::thread::sleep(Duration::from_millis(100));
        sampler.drain();
    }
    stop.store(true, Relaxed);
    worker.join().unwrap();
    let folded = sampler.finish();
    let total: u64 = folded.samples.iter().map(|(_, n)| n).sum();
    assert!(total >= 50, "{total} samples in 0.6 s at 997 Hz");
    let in_hot: u64 = folded
        .lines
        .iter()
        .filter(|l| l.starts_with("hot;") && l.contains("known_hot_function"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(
        in_hot * 10 >= total * 9,
        "{in_hot} of {total} samples in known_hot_function:\n{}",
        folded.lines.join("\n")
    );
}

#[test]
fn run_draws_each_worker_in_its_flamegraph() {
    let dir = std::env::temp_dir().join(format!("ringtop-flamegraph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("run.svg");
    let out = Command::new(cargo_bin("ringtop"))
        .args([
            "run",
            "--headless",
            "--builtin",
            "default",
            "--duration",
            "2s",
        ])
        .arg("--flamegraph")
        .arg(&svg)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("no flamegraph"), "{stdout}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(drawn.contains("<svg"), "an SVG");
    // Each worker is a tower of its own, and the workers' loops are in them.
    for frame in ["producer-0 (", "consumer-0 (", "produce (", "consume ("] {
        assert!(drawn.contains(frame), "{frame} is not in the flamegraph");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_flamegraph_path_that_cannot_be_written_is_refused_before_the_run() {
    let dir = std::env::temp_dir().join(format!("ringtop-flamegraph-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (path, says) in [
        (
            dir.join("no-such-folder").join("run.svg"),
            format!(
                "the folder {} does not exist",
                dir.join("no-such-folder").display()
            ),
        ),
        (dir.clone(), "Is a directory".to_owned()),
    ] {
        let out = Command::new(cargo_bin("ringtop"))
            .args(["run", "--headless", "--builtin", "low-latency"])
            .args(["--duration", "30s", "--flamegraph"])
            .arg(&path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "cannot create flamegraph {}: {says}",
                path.display()
            )),
            "{stderr}"
        );
        // Refused before the run (no start line), not after it with its samples lost.
        assert!(out.stdout.is_empty(), "the run started: {path:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_flamegraph_that_cannot_be_written_whole_fails_the_run_after_its_summary() {
    // Room for 1 KiB per file (`ulimit -f 1`, SIGXFSZ ignored so the write fails with EFBIG as
    // on a full disk): the samples are taken, the SVG does not fit.
    let dir = std::env::temp_dir().join(format!("ringtop-flamegraph-full-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("run.svg");
    let out = Command::new("bash")
        .arg("-c")
        .arg(
            r#"trap '' XFSZ; ulimit -f 1
            exec "$0" run --headless --builtin default --duration 1s --flamegraph "$1""#,
        )
        .arg(cargo_bin("ringtop"))
        .arg(&svg)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("no flamegraph in {}: ", svg.display()))
            && stdout.contains("File too large"),
        "{stdout}"
    );
    // The figures are all there, and stderr says which file is not.
    let last: serde_json::Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(last["type"], "summary", "{stdout}");
    assert!(
        stderr.contains(&format!(
            "the run ended, but --flamegraph {} was not written whole",
            svg.display()
        )),
        "{stderr}"
    );
    // No file that looks like a flamegraph and is not one.
    assert!(!svg.exists(), "a cut-short SVG was left at {svg:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}
