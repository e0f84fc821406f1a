//! `ringtop attach` against a real program: `examples/pipeline.rs` publishes its rings, ringtop
//! watches them from another process, and the counts agree with the program's own; a program
//! killed mid-run is reported as dead and its segment cleaned up; files that are not segments
//! are reported and left alone.
#![cfg(not(loom))]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::io::{Read, Write};

use assert_cmd::cargo::cargo_bin;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ringtop::metrics::snapshot::ProgramSnapshot;
use serde_json::Value;

use common::{Pty, Reaped, announced_metrics, dies_with_the_test};

/// The example that publishes its rings.
fn pipeline_binary() -> PathBuf {
    common::example_binary("pipeline")
}

/// A private monitor directory for one test.
fn monitor_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ringtop-attach-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn start_pipeline(dir: &Path, name: &str, duration: &str) -> Reaped {
    Reaped::spawn(
        Command::new(pipeline_binary())
            .args(["--duration", duration, "--rate", "100000", "--name", name])
            .env("RINGTOP_DIR", dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null()),
    )
    .expect("the pipeline example starts")
}

fn ringtop(dir: &Path) -> Command {
    let mut command = Command::new(cargo_bin("ringtop"));
    dies_with_the_test(&mut command).env("RINGTOP_DIR", dir);
    command
}

/// `attach --list --json`, parsed.
fn list(dir: &Path) -> Value {
    let out = ringtop(dir)
        .args(["attach", "--list", "--json"])
        .output()
        .unwrap();
    common::assert_succeeded(&out);
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
    let own = pipeline.take().wait_with_output().unwrap();
    assert!(own.status.success());
    common::assert_succeeded(&attached);
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
        // Where the pages are, asked from outside, as the program found them from inside.
        let own_memory = &own["memory"][name];
        assert_eq!(ring["ring"]["memory_nodes"], own_memory["nodes"], "{name}");
        let pages = own_memory["bytes"].as_u64().unwrap() / common::page_size();
        let said = ring["ring"]["memory_summary"].as_str().unwrap();
        assert!(
            said.contains(&format!("in {pages} pages: {pages} on node")),
            "{name}: {said}"
        );
    }
    for line in &intervals {
        for ring in line["rings"].as_array().unwrap() {
            assert_eq!(
                ring["ring"]["memory_nodes"],
                own["memory"][ring["name"].as_str().unwrap()]["nodes"]
            );
        }
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
    // An SPSC consumer counts its chase back-offs; a producer looks for none: null, not 0.
    assert!(consumer(summary, "md-in")["endpoint"]["chase_backoffs"].is_u64());
    let producer = &summary["threads"][0];
    assert_eq!(producer["name"], "md-in producer");
    assert!(
        producer["endpoint"]["chase_backoffs"].is_null(),
        "{producer}"
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

    // The dashboard draws the same lines, at any size.
    let mut line = intervals[1].clone();
    line.as_object_mut().unwrap().remove("type");
    let snapshot: ProgramSnapshot = serde_json::from_value(line).unwrap();
    let big = draw(Some(&snapshot), 130, 30);
    for shown in [
        "e2e-pipeline",
        "md-in",
        "orders",
        "md-in consumer-0",
        "memory on",
        "node 0",
        "p99 ns",
        "q quits",
    ] {
        assert!(big.contains(shown), "{shown:?} missing:\n{big}");
    }
    for (width, height) in [(1, 1), (20, 5), (40, 12), (80, 24)] {
        draw(Some(&snapshot), width, height);
        draw(None, width, height);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn draw(snapshot: Option<&ProgramSnapshot>, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| ringtop::tui::panes::program::render(frame, snapshot, "q quits"))
        .unwrap();
    format!("{}", terminal.backend())
}

#[test]
fn the_dashboard_shows_a_live_program_in_a_real_terminal_and_quits_on_q() {
    let dir = monitor_dir("dashboard");
    let _pipeline = start_pipeline(&dir, "on-screen", "60s");
    wait_for_program(&dir, "on-screen");
    let mut pty = Pty::spawn(
        &format!(
            "stty cols 120 rows 40; exec {} attach on-screen",
            cargo_bin("ringtop").display()
        ),
        &[("RINGTOP_DIR", dir.as_os_str())],
    );
    pty.wait_for(&["md-in", "orders", "items/s"]);
    pty.type_keys(b"q");
    let (status, output) = pty.finish();
    assert!(status.success(), "{status:?}");
    assert!(
        output.contains("\x1b[?1049l"),
        "the main screen is given back"
    );
    assert!(output.contains("stopped watching"), "says how it ended");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_killed_program_is_reported_dead_and_its_segment_removed() {
    let dir = monitor_dir("killed");
    let mut pipeline = start_pipeline(&dir, "doomed", "60s");
    wait_for_program(&dir, "doomed");
    let pid = pipeline.child().id();
    let attach = Reaped::spawn(
        ringtop(&dir)
            .args([
                "attach",
                &pid.to_string(),
                "--headless",
                "--interval",
                "200ms",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    pipeline.child().kill().unwrap();
    pipeline.child().wait().unwrap();
    let attached = attach.take().wait_with_output().unwrap();
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
    let _pipeline = start_pipeline(&dir, "neighbour", "60s");
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
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stopped_program_is_warned_about_and_still_counted_alive() {
    let dir = monitor_dir("stopped");
    let mut pipeline = start_pipeline(&dir, "sleepy", "60s");
    wait_for_program(&dir, "sleepy");
    let attach = ringtop(&dir)
        .args([
            "attach",
            "sleepy",
            "--headless",
            "--interval",
            "200ms",
            "--duration",
            "2s",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let pid = i32::try_from(pipeline.child().id()).unwrap();
    // SAFETY: kill(2) on a pid this test started; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let attached = attach.wait_with_output().unwrap();
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    assert!(attached.status.success());
    let lines = lines(&attached.stdout);
    let summary = lines.last().unwrap();
    assert_eq!(summary["ended"], "the duration passed");
    assert_eq!(summary["program"]["alive"], true, "stopped is not dead");
    let warned = lines.iter().any(|l| {
        l["warnings"].as_array().is_some_and(|w| {
            w.iter()
                .any(|w| w.as_str().unwrap().contains("has not updated"))
        })
    });
    assert!(warned, "no line warned that the program stopped updating");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn attach_serves_the_programs_figures_to_prometheus() {
    let dir = monitor_dir("metrics");
    let _pipeline = start_pipeline(&dir, "scraped", "60s");
    wait_for_program(&dir, "scraped");
    let mut attach = Reaped::spawn(
        ringtop(&dir)
            .args([
                "attach",
                "scraped",
                "--headless",
                "--interval",
                "300ms",
                "--duration",
                "1500ms",
                "--metrics-listen",
                "127.0.0.1:0",
                "--metrics-linger",
                "20s",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let mut stderr = std::io::BufReader::new(attach.child().stderr.take().unwrap());
    let address = announced_metrics(&mut stderr);
    // The summary is printed, then ringtop lingers until a scrape has read the final figures.
    let mut stdout = std::io::BufReader::new(attach.child().stdout.take().unwrap());
    let summary = loop {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        if parsed["type"] == "program_summary" {
            break parsed;
        }
    };
    let mut scrape = std::net::TcpStream::connect(&address).unwrap();
    write!(scrape, "GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut exposition = String::new();
    scrape.read_to_string(&mut exposition).unwrap();
    assert!(attach.child().wait().unwrap().success());
    let sample = |prefix: &str| -> f64 {
        exposition
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in:\n{exposition}"))
    };
    for thread in summary["threads"].as_array().unwrap() {
        let name = thread["name"].as_str().unwrap();
        assert_eq!(
            sample(&format!("ringtop_rows_total{{thread=\"{name}\"")),
            thread["rows"].as_f64().unwrap(),
            "{name}"
        );
    }
    let md = &summary["rings"][0];
    assert_eq!(
        sample("ringtop_ring_lag{ring=\"md-in\""),
        md["lag"][0].as_f64().unwrap()
    );
    let nodes = md["ring"]["memory_nodes"].as_array().unwrap();
    assert!(!nodes.is_empty(), "{md}");
    for node in nodes {
        let series =
            format!("ringtop_ring_memory_node{{ring=\"md-in\",kind=\"spsc\",node=\"{node}\"}}");
        assert_eq!(sample(&series), 1.0);
    }
    let count = sample("ringtop_latency_ns_count{thread=\"md-in consumer-0\"");
    assert_eq!(
        Some(count),
        summary["threads"][1]["latency_total_ns"]["count"].as_f64()
    );
    assert!(exposition.contains("ringtop_info{version="));
    assert!(exposition.contains("command=\"attach\",subject=\"scraped\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_goes_with_list_alone() {
    let dir = monitor_dir("attach-json-alone");
    // Without `--list`: told it needs `--list`, not that it also lacks a target.
    let out = ringtop(&dir).args(["attach", "--json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--list"), "{stderr}");
    assert!(!stderr.contains("<TARGET>"), "{stderr}");
    // With a target: refused, not ignored (it used to go on to watch the program).
    let out = ringtop(&dir)
        .args(["attach", "123", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot be used with") && stderr.contains("--json"),
        "{stderr}"
    );
}

/// What `ringtop attach --headless` printed about `program` (in `dir`): its lines, each checked
/// against the schema. `end` ends the program's part (its rings and registry dropped) once
/// attach has printed two intervals.
fn attached_lines(dir: &Path, program: &str, end: impl FnOnce()) -> Vec<Value> {
    use std::io::BufRead;
    let mut attach = Reaped::spawn(
        ringtop(dir)
            .args(["attach", program, "--headless", "--interval", "100ms"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let mut stdout = std::io::BufReader::new(attach.child().stdout.take().unwrap());
    let mut printed = Vec::new();
    while printed
        .iter()
        .filter(|l: &&Value| l["type"] == "program")
        .count()
        < 2
    {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{printed:?}");
        printed.push(serde_json::from_str(&line).unwrap());
    }
    end();
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let attached = attach.take().wait_with_output().unwrap();
    common::assert_succeeded(&attached);
    let mut lines = printed;
    lines.extend(self::lines(&rest));
    let schema = ringtop(dir).arg("schema").output().unwrap();
    let schema: Value = serde_json::from_slice(&schema.stdout).unwrap();
    let validator = jsonschema::validator_for(&schema["line"]).unwrap();
    for line in &lines {
        let errors: Vec<String> = validator.iter_errors(line).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?} in {line}");
    }
    lines
}

/// A shared-memory ring as `attach` should show it, from the side that registered it.
struct ShmRingSeen {
    /// Whether the sender registered it (else the receiver).
    sender_here: bool,
    kind: &'static str,
    capacity: u64,
    item_bytes: u64,
    /// Published and read (as credited, from the sender's side), in the ring's unit (items, or
    /// bytes of records).
    produced: u64,
    consumed: u64,
    /// How `memory_summary` starts: the window's size.
    window: &'static str,
}

/// Checks every line `attach` printed about ring `quotes`, a shared-memory ring as `seen` says:
/// what was sent and read exactly, where the window's pages are, the registering end's thread,
/// and (null, with the reason) what the program cannot see: the other end's thread, another
/// process's, and counters neither end keeps. Its final positions stand once the registering end
/// is dropped.
fn check_shm_ring(lines: &[Value], seen: &ShmRingSeen) {
    let intervals: Vec<&Value> = lines.iter().filter(|l| l["type"] == "program").collect();
    assert!(!intervals.is_empty(), "{lines:?}");
    // The other end, and why its thread is not shown.
    let (elsewhere, why) = if seen.sender_here {
        (
            "quotes consumer-0",
            "the consumer is another process (the ring's receiver)",
        )
    } else {
        (
            "quotes producer",
            "the producer is another process (the ring's sender)",
        )
    };
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "program_summary", "{summary}");
    for line in intervals.iter().copied().chain([summary]) {
        let quotes = &line["rings"][0];
        assert_eq!(quotes["name"], "quotes");
        assert_eq!(quotes["ring"]["kind"], seen.kind);
        assert_eq!(quotes["ring"]["capacity"], seen.capacity);
        assert_eq!(quotes["item_bytes"], seen.item_bytes);
        assert_eq!(quotes["produced"], seen.produced, "{line}");
        let lag = seen.produced - seen.consumed;
        assert_eq!(quotes["lag"], serde_json::json!([lag]), "{line}");
        assert_eq!(quotes["ring"]["occupancy_rows"], lag);
        // The window was written by the sender: its pages are where the kernel put them, asked
        // from outside.
        let said = quotes["ring"]["memory_summary"].as_str().unwrap();
        assert!(said.starts_with(&format!("{} in ", seen.window)), "{said}");
        assert_eq!(
            quotes["ring"]["memory_nodes"],
            serde_json::json!([0]),
            "{line}"
        );
        for counter in [
            "producer_full_stalls",
            "consumer_empty_stalls",
            "producer_index_reloads",
            "consumer_index_reloads",
        ] {
            assert!(quotes["ring"][counter].is_null(), "{counter}: {line}");
        }
        let threads = line["threads"].as_array().unwrap();
        let (producer, consumer) = (&threads[0], &threads[1]);
        assert_eq!(producer["name"], "quotes producer");
        assert_eq!(producer["rows"], seen.produced);
        assert_eq!(consumer["name"], "quotes consumer-0");
        assert_eq!(consumer["rows"], seen.consumed);
        let elsewhere = if seen.sender_here { consumer } else { producer };
        assert!(elsewhere["cpu"].is_null(), "{elsewhere}");
        assert_eq!(elsewhere["scheduling_unavailable"], why, "{elsewhere}");
        assert!(producer["endpoint"].is_null() && consumer["endpoint"].is_null());
    }
    // The registering end's thread (the test's) slept through the intervals: it asked for no
    // CPU, and is not warned about as kept from one.
    for line in &intervals {
        let warnings = line["warnings"].as_array().unwrap();
        assert!(
            !warnings
                .iter()
                .any(|w| w.as_str().unwrap().contains(" ran ")),
            "{warnings:?}"
        );
    }
    // While the registering end lived, its thread was seen on a CPU.
    let here = if seen.sender_here { 0 } else { 1 };
    assert!(
        intervals[0]["threads"][here]["cpu"].is_u64(),
        "{}",
        intervals[0]
    );
    // The dashboard shows the kind and the capacity whole.
    let mut line = intervals[0].clone();
    line.as_object_mut().unwrap().remove("type");
    let snapshot: ProgramSnapshot = serde_json::from_value(line).unwrap();
    let shown = draw(Some(&snapshot), 130, 30);
    // And says why the other end's CPU is n/a.
    let note = format!("{elsewhere}: {why}");
    assert!(shown.contains(&note), "{note:?} missing:\n{shown}");
    let row = format!("{} {}", seen.kind, seen.capacity);
    assert!(
        shown.lines().any(|l| l
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains(&row)),
        "{row:?} missing:\n{shown}"
    );
    assert_eq!(summary["rings"][0]["closed"], true, "{summary}");
}

/// Reads `wanted` of what `take` finds (`Some` for each item or message, checked by the
/// caller), within 10 s.
fn read_some(wanted: u64, mut take: impl FnMut(u64) -> bool) {
    let (mut read, deadline) = (0u64, Instant::now() + Duration::from_secs(10));
    while read < wanted {
        assert!(Instant::now() < deadline, "{read} of {wanted} read");
        if take(read) {
            read += 1;
        }
    }
}

/// What was read, as `attach` sees it from the registering end: all `read` from the receiver's
/// side; from the sender's, what the receiver last credited (`credited`, what the sender's
/// `acknowledged` says), which is at most `quarter` (a quarter window) behind.
fn consumed_as_seen(sender_here: bool, read: u64, credited: u64, quarter: u64) -> u64 {
    if !sender_here {
        return read;
    }
    assert!((read - quarter..=read).contains(&credited), "{credited}");
    credited
}

/// Which end registers the ring, as the names of a test's files say it.
fn end_name(sender_here: bool) -> &'static str {
    if sender_here { "sender" } else { "receiver" }
}

/// Sends 1,000 items of 24 bytes through a ring of 1,024 (slots of 32 bytes: 24 of item, 8 of
/// stamp), reads 600, and checks what `attach` shows from the end that registered the ring.
fn check_item_ring_seen_from(sender_here: bool) {
    use ringtop::monitor::{self, Monitor};
    use ringtop::ring::WaitStrategy;
    use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItem};

    let end = end_name(sender_here);
    let dir = monitor_dir(&format!("shm-items-{end}"));
    let program = format!("items-{end}-{}", std::process::id());
    let registry = monitor::publish_with(&dir, &program, Duration::from_millis(20)).unwrap();
    let ring = format!("test-attach-items-{end}-{}", std::process::id());
    let mut receiver =
        ItemReceiver::<[u64; 3]>::create(&ring, 1024, WaitStrategy::BusySpin).unwrap();
    if !sender_here {
        receiver = receiver.monitor(&registry, "quotes").unwrap();
    }
    let mut sender = ItemSender::<[u64; 3]>::open(&ring).unwrap();
    if sender_here {
        sender = sender.monitor(&registry, "quotes").unwrap();
    }
    for i in 0..1000 {
        sender.send(&[i; 3], Duration::from_secs(5)).unwrap();
    }
    read_some(600, |n| match receiver.try_recv() {
        ReceivedItem::Item(item) => {
            assert_eq!(item, [n; 3]);
            true
        }
        ReceivedItem::Other(_) => false,
    });
    let consumed = consumed_as_seen(sender_here, 600, sender.acknowledged(), 256);
    let lines = attached_lines(&dir, &program, || {
        if sender_here {
            drop((sender, receiver, registry));
        } else {
            drop((receiver, sender, registry));
        }
    });
    let seen = ShmRingSeen {
        sender_here,
        kind: "shm-items",
        capacity: 1024,
        item_bytes: 24,
        produced: 1000,
        consumed,
        window: "32 KiB",
    };
    check_shm_ring(&lines, &seen);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A message ring is counted in bytes of records: each a header of 8 bytes and the message
/// padded to 8 (13 bytes: 24 in all; 1,000 of them do not reach the end of the window, so no
/// padding record). Sends 1,000, reads 700 (past the first quarter of the window, 682 records,
/// so the receiver has credited some), and checks what `attach` shows from the end that
/// registered the ring.
fn check_message_ring_seen_from(sender_here: bool) {
    use ringtop::monitor::{self, Monitor};
    use ringtop::ring::WaitStrategy;
    use ringtop::transport::shm::messages::{MessageReceiver, MessageSender, Received};

    let end = end_name(sender_here);
    let dir = monitor_dir(&format!("shm-messages-{end}"));
    let program = format!("messages-{end}-{}", std::process::id());
    let registry = monitor::publish_with(&dir, &program, Duration::from_millis(20)).unwrap();
    let ring = format!("test-attach-messages-{end}-{}", std::process::id());
    let mut receiver = MessageReceiver::create(&ring, 1 << 16, WaitStrategy::BusySpin).unwrap();
    if !sender_here {
        receiver = receiver.monitor(&registry, "quotes").unwrap();
    }
    let mut sender = MessageSender::open(&ring, 64).unwrap();
    if sender_here {
        sender = sender.monitor(&registry, "quotes").unwrap();
    }
    let message = |n: u64| format!("quote {n:07}").into_bytes();
    for n in 0..1000 {
        assert_eq!(message(n).len(), 13);
        sender.send(&message(n), Duration::from_secs(5)).unwrap();
    }
    let mut out = Vec::new();
    read_some(700, |n| match receiver.try_recv(&mut out) {
        Received::Message => {
            assert_eq!(out, message(n));
            true
        }
        _ => false,
    });
    let consumed = consumed_as_seen(sender_here, 700, sender.acknowledged(), 682);
    let lines = attached_lines(&dir, &program, || {
        if sender_here {
            drop((sender, receiver, registry));
        } else {
            drop((receiver, sender, registry));
        }
    });
    let record = 8 + 16;
    let seen = ShmRingSeen {
        sender_here,
        kind: "shm-messages",
        capacity: 1 << 16,
        item_bytes: 1,
        produced: 1000 * record,
        consumed: consumed * record,
        window: "64 KiB",
    };
    check_shm_ring(&lines, &seen);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn attach_shows_a_shared_memory_item_ring_from_its_receivers_side() {
    check_item_ring_seen_from(false);
}

#[test]
fn attach_shows_a_shared_memory_message_ring_in_bytes_of_records() {
    check_message_ring_seen_from(false);
}

/// From its sender's side: the sender's thread, the tail exact and the head as the receiver last
/// credited it, and its figures standing once the sender is dropped.
#[test]
fn attach_shows_a_shared_memory_item_ring_from_its_senders_side() {
    check_item_ring_seen_from(true);
}

#[test]
fn attach_shows_a_shared_memory_message_ring_from_its_senders_side() {
    check_message_ring_seen_from(true);
}

/// An MPMC ring: what its sides claimed, where its slots are, and (null, with the reason) the
/// threads, since every thread holding an end is one of its sides.
#[test]
fn attach_shows_an_mpmc_ring_without_naming_a_thread_for_either_side() {
    use ringtop::monitor::{self, Monitor};
    use ringtop::ring::mpmc;

    let dir = monitor_dir("mpmc");
    let program = format!("pool-{}", std::process::id());
    let registry = monitor::publish_with(&dir, &program, Duration::from_millis(20)).unwrap();
    let (tx, rx) = mpmc::channel::<[u64; 2]>(1024)
        .unwrap()
        .monitor(&registry, "jobs")
        .unwrap();
    std::thread::scope(|s| {
        for p in 0..2 {
            let tx = tx.clone();
            s.spawn(move || (0..400).for_each(|i| tx.try_push([p, i]).unwrap()));
        }
    });
    (0..300).for_each(|_| assert!(rx.try_pop().is_some()));
    let lines = attached_lines(&dir, &program, || drop((tx, rx, registry)));
    let intervals: Vec<&Value> = lines.iter().filter(|l| l["type"] == "program").collect();
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "program_summary", "{summary}");
    for line in intervals.iter().copied().chain([summary]) {
        let jobs = &line["rings"][0];
        assert_eq!(jobs["ring"]["kind"], "mpmc");
        assert_eq!(jobs["ring"]["capacity"], 1024);
        assert_eq!(jobs["item_bytes"], 16);
        assert_eq!(jobs["produced"], 800, "{line}");
        assert_eq!(jobs["lag"], serde_json::json!([500]), "{line}");
        assert_eq!(jobs["ring"]["memory_nodes"], serde_json::json!([0]));
        assert!(jobs["ring"]["consumer_empty_stalls"].is_null(), "{line}");
        for (thread, holding) in line["threads"]
            .as_array()
            .unwrap()
            .iter()
            .zip(["Sender", "Receiver"])
        {
            assert!(
                thread["cpu"].is_null() && thread["endpoint"].is_null(),
                "{thread}"
            );
            let why = thread["scheduling_unavailable"].as_str().unwrap();
            assert!(
                why.contains(&format!("every thread holding a {holding}")),
                "{why}"
            );
        }
    }
    assert_eq!(summary["rings"][0]["closed"], true, "{summary}");
    let mut line = intervals[0].clone();
    line.as_object_mut().unwrap().remove("type");
    let snapshot: ProgramSnapshot = serde_json::from_value(line).unwrap();
    let shown = draw(Some(&snapshot), 130, 30);
    assert!(
        shown.contains("jobs producer: an mpmc ring is pushed by every thread"),
        "{shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
