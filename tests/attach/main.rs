//! `ringtop attach` against a real program: `examples/pipeline.rs` publishes its rings, ringtop
//! watches them from another process, and the counts agree with the program's own; a program
//! killed mid-run is reported as dead and its segment cleaned up; files that are not segments
//! are reported and left alone. `rings.rs`: rings of the kinds shown with something left out or
//! joined from another program (shared-memory, MPMC).
#![cfg(not(loom))]

#[path = "../common/mod.rs"]
mod common;
mod compare;
mod report;
mod rings;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::io::{Read, Write};

use assert_cmd::cargo::cargo_bin;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ringtop::metrics::human::format_rate;
use ringtop::metrics::rates::{EndpointRates, endpoint_rates};
use ringtop::metrics::snapshot::{ProgramSnapshot, WarningTally};
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

/// `attach --list --json`, parsed, and checked against the schema `ringtop schema` gives for it
/// (`documents.attach_list`): every listing a test takes (live programs, dead ones removed, files
/// skipped, the two ends of a shared-memory ring) validates.
fn list(dir: &Path) -> Value {
    let out = ringtop(dir)
        .args(["attach", "--list", "--json"])
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    common::assert_document_valid("attach_list", &listed);
    listed
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

/// A three-second pipeline called `name`, watched from start to end by `attach --headless`
/// every 300 ms: its monitor directory and what attach printed.
fn watched_pipeline(name: &str) -> (PathBuf, Vec<u8>) {
    let dir = monitor_dir(name);
    let pipeline = start_pipeline(&dir, name, "3s");
    wait_for_program(&dir, name);
    let attached = ringtop(&dir)
        .args(["attach", name, "--headless", "--interval", "300ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(pipeline.take().wait_with_output().unwrap().status.success());
    common::assert_succeeded(&attached);
    (dir, attached.stdout)
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
    // The percentiles since the program started, against the program's own HdrHistogram of the
    // same latencies: each the top of the bucket (at most 1/16 wide) that holds the program's
    // figure, both to HdrHistogram's 0.1 %.
    for ring in ["md-in", "orders"] {
        let total = &consumer(summary, ring)["latency_total_ns"];
        let theirs = &own["latency"][ring];
        assert_eq!(total["count"], theirs["count"], "{ring}");
        for key in ["p50", "p90", "p99", "p999", "p9999", "max"] {
            let (ours, theirs) = (
                total[key].as_u64().unwrap() as f64,
                theirs[key].as_u64().unwrap() as f64,
            );
            assert!(
                ours >= theirs / 1.001 && ours <= theirs * 17.0 / 16.0 * 1.001 + 1.0,
                "{ring} {key}: attach {ours} ns, the program's own {theirs} ns"
            );
        }
    }

    // The dashboard draws the same lines, at any size, with each endpoint's stalls a second
    // from the change since the reading before.
    let reading = |i: usize| -> ProgramSnapshot {
        let mut line = intervals[i].clone();
        line.as_object_mut().unwrap().remove("type");
        serde_json::from_value(line).unwrap()
    };
    let (before, mut snapshot) = (reading(0), reading(1));
    let rates = endpoint_rates(
        Some(&before.threads),
        &snapshot.threads,
        snapshot.interval_s,
    );
    let stalls = |s: &ProgramSnapshot| {
        s.threads
            .iter()
            .find(|t| t.name == "md-in consumer-0")
            .unwrap()
            .endpoint
            .unwrap()
            .stalls
    };
    let per_s = (stalls(&snapshot) - stalls(&before)) as f64 / snapshot.interval_s;
    let shown = draw(Some(&snapshot), &rates, 130, 30);
    let row = shown
        .lines()
        .find(|l| l.contains("│md-in consumer-0"))
        .unwrap();
    assert!(
        row.contains(&format!(" {} ", format_rate(per_s))),
        "{per_s} stalls/s:\n{shown}"
    );
    // Items a second in the same words as every other rate (`200k`, not `200000`).
    let items = snapshot.threads[1].rows_per_s;
    assert!(
        row.contains(&format!(" {} ", format_rate(items))),
        "{items} items/s:\n{shown}"
    );
    // A consumer that once waited 12 s: its p99.9 keeps its unit in the column.
    let consumer = snapshot
        .threads
        .iter_mut()
        .find(|t| t.name == "md-in consumer-0")
        .unwrap();
    consumer.latency_ns.as_mut().unwrap().p999 = 12_345_678_901;
    let big = draw(Some(&snapshot), &rates, 130, 30);
    for shown in [
        "e2e-pipeline",
        "md-in",
        "orders",
        "md-in consumer-0",
        "memory on",
        "Rings (stalls: since the program started)",
        "node 0",
        "p99.9",
        " 12.3s ",
        "q quits",
    ] {
        assert!(big.contains(shown), "{shown:?} missing:\n{big}");
    }
    for (width, height) in [(1, 1), (20, 5), (40, 12), (80, 24)] {
        draw(Some(&snapshot), &rates, width, height);
        draw(None, &[], width, height);
    }
    // A long status (why the segment cannot be read) is shown whole, with its key.
    let status = "cannot read the segment: /dev/shm/ringtop-0/e2e-pipeline-16384.ringtop: its \
                  header changed while it was read. q quits";
    for width in [60, 80, 100] {
        for snapshot in [Some(&snapshot), None] {
            let text = draw_with_status(snapshot, &rates, width, 24, status);
            let shown: std::collections::BTreeSet<&str> = text
                .split(|c: char| c.is_whitespace() || c == '"')
                .collect();
            for word in status.split(' ') {
                assert!(shown.contains(word), "{word:?} cut or missing:\n{text}");
            }
        }
    }
    // In a short terminal it keeps to a quarter of it, cut with `…`, and the tables stay.
    let short = draw_with_status(Some(&snapshot), &rates, 40, 14, status);
    let last = short.lines().last().unwrap();
    assert!(last.trim_end_matches([' ', '"']).ends_with('…'), "{short}");
    assert!(
        short.contains("┌ Rings") && short.contains("┌ Endpoints"),
        "{short}"
    );
    // Shorter than the tables' wish, they give way: the program's name and the key stay.
    for height in [8, 10] {
        let tiny = draw(Some(&snapshot), &rates, 80, height);
        let (first, last) = (tiny.lines().next().unwrap(), tiny.lines().last().unwrap());
        assert!(first.contains("(pid "), "{tiny}");
        assert!(last.contains("q quits"), "{tiny}");
    }
    // The tables share what is left by what they hold: neither keeps a blank row while the
    // other's rows are off screen, and a cut one's title counts the rows it shows.
    let mut calm = snapshot.clone();
    calm.warnings.clear();
    calm.skipped.clear();
    for height in 8..=20 {
        let text = draw(Some(&calm), &rates, 80, height);
        let lines: Vec<&str> = text.lines().collect();
        let pane = |title: &str| -> Vec<&str> {
            let top = lines.iter().position(|l| l.contains(title)).unwrap();
            lines[top + 2..]
                .iter()
                .take_while(|l| l.starts_with("\"│"))
                .copied()
                .collect()
        };
        let blank = |rows: &[&str]| {
            rows.iter()
                .filter(|r| r.trim_matches(['"', '│', ' ']).is_empty())
                .count()
        };
        let (rings, threads) = (pane("┌ Rings"), pane("┌ Endpoints"));
        let (rings_shown, threads_shown) =
            (rings.len() - blank(&rings), threads.len() - blank(&threads));
        for (name, shown, all, others_blank) in [
            ("Rings", rings_shown, calm.rings.len(), blank(&threads)),
            (
                "Endpoints",
                threads_shown,
                calm.threads.len(),
                blank(&rings),
            ),
        ] {
            if shown < all {
                assert!(
                    text.contains(&format!("┌ {name} ({shown} of {all} shown;")),
                    "{name} cut without a count at 80x{height}:\n{text}"
                );
                assert_eq!(others_blank, 0, "blank rows beside a cut {name}:\n{text}");
            }
        }
    }
    // With no line to spare for the warnings, the title counts them.
    let mut warned = snapshot.clone();
    warned.warnings = vec!["orders consumer-0 ran 44 % of the last 1.0 s on CPU 1".into()];
    let tiny = draw(Some(&warned), &rates, 80, 9);
    assert!(
        tiny.lines()
            .next()
            .unwrap()
            .contains("+1 warning off screen"),
        "{tiny}"
    );
    assert!(tiny.contains("│md-in"), "the rings keep a row:\n{tiny}");
    // Warnings wrap between words: none is cut at the edge (`(pid 16` for `(pid 16384)`), and
    // the skipped records are counted beside them; where they need more than a quarter of the
    // screen, the rest are counted.
    let mut warned = snapshot.clone();
    warned.warnings = vec![
        "md-in consumer-0 ran 56 % of the last 1.0 s on CPU 0; waited 0.44 s for it; CPU 0 lost \
         0.01 s to steal; other tasks: ringtop (pid 16384)"
            .into(),
        "orders consumer-0 ran 44 % of the last 1.0 s on CPU 1; waited 0.56 s for it".into(),
    ];
    warned.skipped = vec!["record 3: its name is not UTF-8".into()];
    let text = draw(Some(&warned), &rates, 80, 24);
    let shown: std::collections::BTreeSet<&str> = text
        .split(|c: char| c.is_whitespace() || c == '"')
        .collect();
    for word in warned.warnings.iter().flat_map(|w| w.split(' ')) {
        assert!(shown.contains(word), "{word:?} cut or missing:\n{text}");
    }
    assert!(text.contains("1 skipped records"), "{text}");
    let short = draw(Some(&warned), &rates, 80, 12);
    assert!(
        short.contains("(+3 more warnings: w shows them all)"),
        "{short}"
    );
    let shorter = draw(Some(&warned), &rates, 60, 16);
    assert!(
        shorter.contains("(+2 more warnings: w shows them all)"),
        "{shorter}"
    );
    // What `w` shows: every warning and every skipped record whole, wrapped between words.
    let earlier = [WarningTally {
        warning: "md-in producer ran 12 % of the last 1.0 s on CPU 0".into(),
        count: 3,
        first_s: 1.0,
        last_s: 4.0,
    }];
    let overlay = draw_warnings(&warned, &earlier, 60, 24);
    let shown: std::collections::BTreeSet<&str> = overlay
        .split(|c: char| c.is_whitespace() || c == '"' || c == '│')
        .collect();
    let every = warned.warnings.iter().chain(&warned.skipped);
    let earlier_said = "md-in producer ran 12 % of the last 1.0 s on CPU 0 (3 intervals, the last \
                        at 4.0 s)";
    for word in every
        .flat_map(|w| w.split(' '))
        .chain(earlier_said.split(' '))
    {
        assert!(shown.contains(word), "{word:?} cut or missing:\n{overlay}");
    }
    assert!(
        overlay.contains("Warnings of the last interval, and earlier"),
        "{overlay}"
    );
    // However small the terminal, it draws (scrolled), never panics.
    for (width, height) in [(1, 1), (8, 3), (20, 4), (200, 2)] {
        draw_warnings(&warned, &earlier, width, height);
    }
    // With none in the last interval, the screen says earlier ones are there to read.
    let mut calm = snapshot.clone();
    calm.warnings.clear();
    calm.skipped.clear();
    let calm = draw_with(Some(&calm), &rates, &earlier, 100, 24, "q quits");
    assert!(
        calm.contains(
            "no warning in the last interval; 1 warning earlier, the last at 4.0 s (w lists them)"
        ),
        "{calm}"
    );
    let warned_now = draw_with(Some(&warned), &rates, &earlier, 100, 24, "q quits");
    assert!(!warned_now.contains("earlier"), "{warned_now}");
    // Narrower, the least needed columns go whole: no figure is cut into another.
    snapshot.rings[0].ring.capacity = Some(1_048_576);
    snapshot.rings[0].ring.consumer_empty_stalls = Some(123_456_789_012);
    for width in [30, 50, 60, 70, 80, 100] {
        let text = draw(Some(&snapshot), &rates, width, 30);
        // Each column shown at all (its header's start is there) shows its figure whole.
        for (header, figure) in [
            ("capa", "1048576"),
            ("empt", "123456789012"),
            ("p99.9", " 12.3s "),
            ("updated", " s ago"),
        ] {
            assert_eq!(
                text.contains(header),
                text.contains(figure),
                "{header}… without {figure} at {width} columns:\n{text}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn draw(
    snapshot: Option<&ProgramSnapshot>,
    rates: &[Option<EndpointRates>],
    width: u16,
    height: u16,
) -> String {
    draw_with_status(snapshot, rates, width, height, "q quits")
}

fn draw_with_status(
    snapshot: Option<&ProgramSnapshot>,
    rates: &[Option<EndpointRates>],
    width: u16,
    height: u16,
    status: &str,
) -> String {
    draw_with(snapshot, rates, &[], width, height, status)
}

/// The attach screen over a `width` × `height` terminal, with the warnings only `earlier`
/// intervals carried.
fn draw_with(
    snapshot: Option<&ProgramSnapshot>,
    rates: &[Option<EndpointRates>],
    earlier: &[WarningTally],
    width: u16,
    height: u16,
    status: &str,
) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| ringtop::tui::panes::program::render(frame, snapshot, rates, earlier, status))
        .unwrap();
    format!("{}", terminal.backend())
}

/// What `w` shows over a `width` × `height` terminal, unscrolled.
fn draw_warnings(
    snapshot: &ProgramSnapshot,
    earlier: &[WarningTally],
    width: u16,
    height: u16,
) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            ringtop::tui::panes::program::render_warnings(
                frame,
                Some(snapshot),
                earlier,
                &ringtop::tui::scroll::Scroll::default(),
            );
        })
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
    // `w` opens every warning whole; any key but a scrolling one closes it, `q` too, and only
    // then does `q` quit.
    let title = " Warnings of the last interval ";
    pty.type_keys(b"w");
    pty.wait_for_on_screen(&[title], (40, 120), Duration::from_secs(10));
    pty.type_keys(b"q");
    let started = Instant::now();
    while pty.screen(40, 120).contains(title) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the overlay stays open"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        pty.screen(40, 120)
            .contains("w shows the warnings, q quits")
    );
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

/// `ringtop attach NAME --headless` every `interval` for `duration`, serving metrics on a free
/// loopback port and lingering for a scrape after its summary: the process and the `HOST:PORT`
/// it announced.
fn attach_serving_metrics(
    dir: &Path,
    name: &str,
    [interval, duration]: [&str; 2],
) -> (Reaped, String) {
    let mut attach = Reaped::spawn(
        ringtop(dir)
            .args(["attach", name, "--headless", "--interval", interval])
            .args(["--duration", duration, "--metrics-listen", "127.0.0.1:0"])
            .args(["--metrics-linger", "20s"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let mut stderr = std::io::BufReader::new(attach.child().stderr.take().unwrap());
    let address = announced_metrics(&mut stderr);
    (attach, address)
}

/// `attach`'s JSON lines as it prints them, up to its `program_summary`.
fn lines_to_the_summary(attach: &mut Reaped) -> Vec<Value> {
    let mut stdout = std::io::BufReader::new(attach.child().stdout.take().unwrap());
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0);
        let parsed: Value = serde_json::from_str(&line).unwrap();
        let last = parsed["type"] == "program_summary";
        lines.push(parsed);
        if last {
            return lines;
        }
    }
}

/// What a scrape of `address`'s `/metrics` reads.
fn scrape(address: &str) -> String {
    let mut scrape = std::net::TcpStream::connect(address).unwrap();
    write!(scrape, "GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut exposition = String::new();
    scrape.read_to_string(&mut exposition).unwrap();
    exposition
}

/// A program that stops updating its segment is warned about, not taken for dead, and the
/// warnings reach Prometheus under their kind.
#[test]
fn a_stopped_program_is_warned_about_and_still_counted_alive() {
    let dir = monitor_dir("stopped");
    let mut pipeline = start_pipeline(&dir, "sleepy", "60s");
    wait_for_program(&dir, "sleepy");
    let (mut attach, address) = attach_serving_metrics(&dir, "sleepy", ["200ms", "2s"]);
    std::thread::sleep(Duration::from_millis(300));
    let pid = i32::try_from(pipeline.child().id()).unwrap();
    // SAFETY: kill(2) on a pid this test started; no memory is involved.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let lines = lines_to_the_summary(&mut attach);
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGCONT) }, 0);
    let exposition = scrape(&address);
    assert!(attach.child().wait().unwrap().success());
    let summary = lines.last().unwrap();
    assert_eq!(summary["ended"], "the duration passed");
    assert_eq!(summary["program"]["alive"], true, "stopped is not dead");
    let warned = lines
        .iter()
        .filter(|l| l["type"] == "program")
        .filter(|l| {
            l["warnings"].as_array().is_some_and(|w| {
                w.iter()
                    .any(|w| w.as_str().unwrap().contains("has not updated"))
            })
        })
        .count();
    assert!(
        warned > 0,
        "no line warned that the program stopped updating"
    );
    // Each line keys its warnings as a run's does: the stop under one key however long it lasts.
    for line in lines.iter().filter(|l| l["type"] == "program") {
        let (texts, keys) = (
            line["warnings"].as_array().unwrap(),
            line["warning_keys"].as_array().unwrap(),
        );
        assert_eq!(texts.len(), keys.len(), "{line}");
        for (text, key) in texts.iter().zip(keys) {
            assert_eq!(
                text.as_str().unwrap().contains("has not updated"),
                key == "not-updating sleepy",
                "{line}"
            );
        }
    }
    let series = "ringtop_warnings_total{kind=\"not-updating\",subject=\"sleepy\"} ";
    let counted = exposition
        .lines()
        .find_map(|l| l.strip_prefix(series))
        .unwrap_or_else(|| panic!("no {series}in:\n{exposition}"));
    assert_eq!(counted.parse::<usize>().unwrap(), warned, "{exposition}");
    // The summary tallies them too: one entry for the kind and subject, as many intervals.
    let tallies = summary["warning_tallies"].as_array().unwrap();
    let stopped: Vec<&serde_json::Value> = tallies
        .iter()
        .filter(|t| t["warning"].as_str().unwrap().contains("has not updated"))
        .collect();
    assert_eq!(stopped.len(), 1, "{summary}");
    assert_eq!(
        stopped[0]["count"].as_u64().unwrap() as usize,
        warned,
        "{summary}"
    );
    assert!(stopped[0]["first_s"].as_f64() <= stopped[0]["last_s"].as_f64());
    // Interval lines carry none.
    assert!(
        lines
            .iter()
            .filter(|l| l["type"] == "program")
            .all(|l| l["warning_tallies"].is_null())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn attach_serves_the_programs_figures_to_prometheus() {
    let dir = monitor_dir("metrics");
    let _pipeline = start_pipeline(&dir, "scraped", "60s");
    wait_for_program(&dir, "scraped");
    let (mut attach, address) = attach_serving_metrics(&dir, "scraped", ["300ms", "1500ms"]);
    // The summary is printed, then ringtop lingers until a scrape has read the final figures.
    let summary = lines_to_the_summary(&mut attach).pop().unwrap();
    let exposition = scrape(&address);
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

/// Without a target, `attach` watches the one program that publishes rings; with none, or
/// several (named, with their pids, to choose from), it says so.
#[test]
fn attach_without_a_target_takes_the_only_program() {
    use ringtop::monitor::{self, Monitor};

    let dir = monitor_dir("only-program");
    let headless = || {
        ringtop(&dir)
            .args([
                "attach",
                "--headless",
                "--interval",
                "100ms",
                "--duration",
                "300ms",
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = headless();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no running program publishes rings in"),
        "{stderr}"
    );
    let pid = std::process::id();
    let interval = Duration::from_millis(20);
    let only = monitor::publish_with(&dir, &format!("only-{pid}"), interval).unwrap();
    let _ring = ringtop::ring::spsc::channel::<u64>(64)
        .unwrap()
        .monitor(&only, "md-in")
        .unwrap();
    let out = headless();
    common::assert_succeeded(&out);
    let lines = lines(&out.stdout);
    assert!(
        lines
            .iter()
            .all(|l| l["program"]["name"] == format!("only-{pid}")),
        "{lines:?}"
    );
    let _other = monitor::publish_with(&dir, &format!("other-{pid}"), interval).unwrap();
    let out = headless();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for name in ["only", "other"] {
        assert!(
            stderr.contains(&format!("{name}-{pid} (pid {pid})")),
            "{stderr}"
        );
    }
    assert!(stderr.contains("name one"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn attach_waits_for_a_program_that_has_not_published_yet() {
    use ringtop::monitor::{self, Monitor};

    let dir = monitor_dir("waited-for");
    let name = format!("late-{}", std::process::id());
    // Started before the program publishes: it waits for it, then watches it.
    let attach = Reaped::spawn(
        ringtop(&dir)
            .args(["attach", &name, "--headless", "--wait", "30s"])
            .args(["--interval", "100ms", "--duration", "300ms"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let program = monitor::publish_with(&dir, &name, Duration::from_millis(20)).unwrap();
    let _ring = ringtop::ring::spsc::channel::<u64>(64)
        .unwrap()
        .monitor(&program, "md-in")
        .unwrap();
    let out = attach.take().wait_with_output().unwrap();
    common::assert_succeeded(&out);
    let lines = lines(&out.stdout);
    assert_eq!(lines[0]["type"], "attach");
    assert_eq!(lines[0]["program"]["name"], name.as_str());
    assert_eq!(lines.last().unwrap()["type"], "program_summary");

    // Nobody by that name within the wait: the usual error, saying how long it waited.
    let out = ringtop(&dir)
        .args(["attach", "nobody", "--headless", "--wait", "200ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no running program named \"nobody\" publishes rings")
            && stderr.contains("(waited 200ms)"),
        "{stderr}"
    );
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
