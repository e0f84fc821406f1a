//! Where `"auto"` puts threads when another process's pinned thread already spins on a CPU: the
//! two ends of a shared-memory link on one host, a receiver started first, then a sender. A
//! test binary of its own, so that no other test's pinned spinners hold the CPUs meanwhile.
#![cfg(not(loom))]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{Reaped, ringtop, scratch_dir};
use serde_json::Value;

/// The last line of a headless command's stdout: its summary.
fn summary(stdout: &[u8]) -> Value {
    let text = String::from_utf8_lossy(stdout);
    let last = text.lines().last().expect("a summary line");
    let summary: Value = serde_json::from_str(last).unwrap();
    assert_eq!(summary["type"], "summary", "{last}");
    summary
}

/// The CPU the summary gives thread `name`.
fn cpu_of(summary: &Value, name: &str) -> u64 {
    summary["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .and_then(|t| t["cpu"].as_u64())
        .unwrap_or_else(|| panic!("no CPU for {name}: {summary}"))
}

#[test]
fn an_auto_placed_sender_keeps_off_the_cpu_its_receivers_consumer_spins_on() {
    let dir = scratch_dir("placement");
    let rings = dir.join("rings");
    let mut server = Reaped::spawn(
        ringtop()
            .env("RINGTOP_DIR", &rings)
            .args(["serve", "--shm", "apart", "--headless", "--once"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(server.child().stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("listening on"), "{line}");
    let sent = ringtop()
        .env("RINGTOP_DIR", &rings)
        .args([
            "run",
            "--headless",
            "--shm",
            "apart",
            "--builtin",
            "default",
        ])
        .args(["--duration", "1s", "--interval", "250ms"])
        .output()
        .unwrap();
    common::assert_succeeded(&sent);
    let sent = summary(&sent.stdout);
    let held = server.take().wait_with_output().unwrap();
    let held = summary(&held.stdout);
    // Both "auto": the receiver's consumer took a CPU and spins there, pinned; the sender, placed
    // after it, took another rather than share it (where both would measure the scheduler).
    let (consumer, producer) = (cpu_of(&held, "consumer-0"), cpu_of(&sent, "producer-0"));
    if ringtop::topology::pin::allowed_cpus().len() == 1 {
        assert_eq!(consumer, producer, "one CPU: nowhere else to go");
        return;
    }
    assert_ne!(consumer, producer, "both on CPU {consumer}");
    let shared: Vec<&Value> = [&sent, &held]
        .into_iter()
        .flat_map(|s| s["warnings"].as_array().unwrap())
        .filter(|w| {
            w["warning"]
                .as_str()
                .unwrap()
                .contains("other tasks: ringtop")
        })
        .collect();
    assert!(shared.is_empty(), "{shared:?}");
}
