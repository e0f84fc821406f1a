//! `ringtop run --headless` end to end: JSON lines out, commands in, signals, closed pipes.
#![cfg(not(loom))]

mod common;

use std::io::{BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};

use common::{next_of, ringtop};
use serde_json::{Value, json};

fn spawn(args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = ringtop()
        .args(["run", "--headless"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    (child, stdout)
}

/// `ringtop run --headless ARGS` given `commands` on stdin, run to its end.
fn run_given(args: &[&str], commands: &str) -> std::process::Output {
    let mut child = ringtop()
        .args(["run", "--headless"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(commands.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn thread<'a>(snapshot: &'a Value, name: &str) -> &'a Value {
    snapshot["threads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {snapshot}"))
}

fn allowed_cpus() -> Vec<u64> {
    let out = ringtop().args(["topo", "--json"]).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["allowed_cpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect()
}

/// A profile that leaves `[pinning]` out (the `broadcast-fanout` built-in: one producer, two
/// consumers) ran every thread on "auto": its start line says so, so that `compare` does not
/// call it different from a profile that writes "auto" out.
/// The start line's `resolved_profile` of a 300 ms headless run of `command`.
fn resolved(command: &[&str]) -> Value {
    let out = ringtop()
        .args(command)
        .args(["--headless", "--duration", "300ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let start: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    start["resolved_profile"].clone()
}

#[test]
fn the_start_line_spells_out_each_threads_pinning_and_the_rings_node() {
    let profile = resolved(&["run", "--builtin", "broadcast-fanout"]);
    assert_eq!(
        profile["pinning"],
        serde_json::json!({"producers": ["auto"], "consumers": ["auto", "auto"]}),
        "{profile}"
    );
    // Nor is a NUMA node left unsaid: `remote-tcp`, whose ring settings `serve` takes, gives
    // none, and its ring is local.
    let profile = resolved(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(profile["ring"]["numa_node"], "local", "{profile}");
}

/// `--set KEY=VALUE` runs what a profile file with that key would: the start line records the
/// values and the description says they were set, as the built-in's may name the one replaced.
#[test]
fn keys_set_on_the_command_line_run_and_are_recorded() {
    let cpu = *allowed_cpus().last().unwrap();
    let pin = format!("pinning.consumers={cpu}");
    let profile = resolved(&[
        "run",
        "--set",
        "workload.rate=200k",
        "--set",
        "ring.capacity=2048",
        "--set",
        &pin,
    ]);
    assert_eq!(profile["workload"]["rate"], 200_000, "{profile}");
    assert_eq!(profile["ring"]["capacity"], 2048, "{profile}");
    assert_eq!(profile["pinning"]["consumers"], serde_json::json!([cpu]));
    assert!(
        profile["description"].as_str().unwrap().ends_with(&format!(
            "; here with workload.rate=200000, ring.capacity=2048, {pin} (--set)"
        )),
        "{profile}"
    );
    let profile = resolved(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--set",
        "ring.capacity=2048",
    ]);
    assert_eq!(profile["ring"]["capacity"], 2048, "{profile}");
    assert!(
        profile["description"]
            .as_str()
            .unwrap()
            .ends_with("; here with ring.capacity=2048 (--set)"),
        "{profile}"
    );

    for (set, says) in [
        (
            &["workload.rate=1k", "workload.rate=2k"][..],
            "--set workload.rate is set twice",
        ),
        (
            &["ring.capacity=1000"],
            "--set ring.capacity=1000: capacity 1000 is not a power",
        ),
        (
            &["workload.nope=1"],
            "--set workload.nope=1: unknown field `nope`",
        ),
        (
            &["workload.rate"],
            "--set workload.rate: expected KEY=VALUE",
        ),
        (&["rate=1"], "--set rate=1: the key is section.name"),
        (&["workload.rate="], "--set workload.rate=: no value"),
        // The link's secret is never written back, as the start line leaves it out.
        (
            &["transport.token=hunter2"],
            "--set transport.token=(hidden): the profile has no [transport] section, and a new \
             one needs `kind` too",
        ),
    ] {
        let mut command = ringtop();
        command.args(["run", "--headless", "--duration", "300ms"]);
        for s in set {
            command.args(["--set", s]);
        }
        let out = command.stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{set:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with(&format!("ringtop: {says}")),
            "{set:?}: {err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(out.stdout.is_empty(), "{set:?}: nothing ran");
    }
    // A receiver refuses what it would not use, rather than ignore it: the rows are the sender's.
    let out = ringtop()
        .args(["serve", "--headless", "--listen", "127.0.0.1:0"])
        .args(["--set", "workload.rate=1k"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("ringtop: serve --set workload.rate=1k: the rows, their pace and codec"),
        "{err}"
    );
    // A key that an option on the same line also sets is refused rather than silently lost
    // to it; the secret's value is never echoed. A sender refuses what it would take and do
    // nothing with: the ring it writes into and its consumer are the receiver's (a local run
    // takes the same keys).
    for (args, says) in [
        (
            &[
                "run",
                "--builtin",
                "remote-tcp",
                "--set",
                "ring.capacity=1024",
            ][..],
            "run --set ring.capacity=1024: the ring this side writes into is the receiver's: set \
             it on its `ringtop serve`",
        ),
        (
            &[
                "run",
                "--connect",
                "127.0.0.1:1",
                "--set",
                "pinning.consumers=1",
            ],
            "run --set pinning.consumers=1: this side runs no consumer",
        ),
        (
            &[
                "run",
                "--connect",
                "127.0.0.1:1",
                "--set",
                "transport.connect=127.0.0.1:2",
            ][..],
            "--set transport.connect: --connect sets it too; give one of them",
        ),
        (
            &["run", "--shm", "feed", "--set", "transport.kind=tcp"],
            "--set transport.kind: --shm sets it too",
        ),
        (
            &[
                "run",
                "--builtin",
                "remote-tcp",
                "--token",
                "a",
                "--set",
                "transport.token=hunter2",
            ],
            "--set transport.token: --token sets it too",
        ),
        (
            &["serve", "--shm", "feed", "--set", "transport.kind=tcp"],
            "--set transport.kind: --shm sets it too",
        ),
        (
            &[
                "serve",
                "--token-file",
                "t",
                "--set",
                "transport.token=hunter2",
            ],
            "--set transport.token: --token-file sets it too",
        ),
    ] {
        let out = ringtop()
            .args(args)
            .arg("--headless")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with(&format!("ringtop: {says}")),
            "{args:?}: {err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing ran");
    }
}

#[test]
fn a_short_run_prints_snapshots_then_a_clean_summary() {
    let out = ringtop()
        .args([
            "run",
            "--headless",
            "--duration",
            "2s",
            "--interval",
            "500ms",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    // The start line records the run as it ran: the command line's interval and duration, not
    // the built-in profile's (1 s, none).
    let resolved = &lines[0]["resolved_profile"];
    assert_eq!(resolved["report"]["interval"], "500ms", "{resolved}");
    assert_eq!(resolved["workload"]["duration"], "2s", "{resolved}");
    let snapshots: Vec<&Value> = lines.iter().filter(|l| l["type"] == "snapshot").collect();
    assert!(snapshots.len() >= 3, "{} snapshots", snapshots.len());
    for s in &snapshots {
        assert_eq!(s["schema_version"], 3);
        assert!(s["elapsed_s"].as_f64().unwrap() > 0.0);
        for key in [
            "produced",
            "consumed",
            "lost",
            "duplicated",
            "reordered",
            "rows_per_s",
        ] {
            assert!(s["totals"][key].is_number(), "{key} in {s}");
        }
        assert_eq!(s["totals"]["lost"], 0);
        assert_eq!(s["totals"]["duplicated"], 0);
        let consumer = thread(s, "consumer-0");
        assert_eq!(consumer["role"], "consumer");
        assert!(
            consumer["cpu"].is_u64() && consumer["node"].is_u64(),
            "{consumer}"
        );
        for key in ["p50", "p90", "p99", "p999", "max", "count"] {
            assert!(consumer["latency_ns"][key].is_u64(), "{key} in {consumer}");
        }
        assert_eq!(s["ring"]["kind"], "spsc");
        assert!(s["ring"]["memory_summary"].is_string());
        let memory = &s["ring"]["memory"];
        assert!(
            memory["mapped_bytes"].as_u64().unwrap() >= memory["requested_bytes"].as_u64().unwrap()
        );
        assert!(memory["pages"]["kind"].is_string(), "{memory}");
    }
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["integrity_ok"], true);
    assert!(summary["totals"]["produced"].as_u64().unwrap() > 0);
    assert_eq!(summary["totals"]["produced"], summary["totals"]["consumed"]);
}

#[test]
fn a_repin_on_stdin_moves_the_consumer_as_the_thread_itself_reports() {
    let cpus = allowed_cpus();
    let (mut child, mut lines) = spawn(&["--duration", "20s", "--interval", "200ms"]);
    let first = next_of(&mut lines, "snapshot");
    let now_on = thread(&first, "consumer-0")["cpu"].as_u64().unwrap();
    let target = *cpus.iter().find(|&&c| c != now_on).unwrap_or(&cpus[0]);
    let stdin = child.stdin.as_mut().unwrap();
    writeln!(
        stdin,
        r#"{{"cmd":"repin","thread":"consumer-0","cpu":{target}}}"#
    )
    .unwrap();
    let ack = next_of(&mut lines, "ack");
    assert_eq!(ack["command"]["cpu"], target);
    // The thread applies the move between batches and reports where it runs.
    let mut moved = false;
    for _ in 0..10 {
        let s = next_of(&mut lines, "snapshot");
        if thread(&s, "consumer-0")["cpu"] == target {
            moved = true;
            break;
        }
    }
    assert!(moved, "consumer-0 never reported CPU {target}");
    writeln!(stdin, r#"{{"cmd":"repin","thread":"consumer-9","cpu":0}}"#).unwrap();
    let err = next_of(&mut lines, "error");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no thread \"consumer-9\""),
        "{err}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn stdin_lines_that_are_not_commands_are_answered_and_the_commands_after_them_apply() {
    let (mut child, mut lines) = spawn(&["--duration", "5s", "--interval", "200ms"]);
    next_of(&mut lines, "snapshot");
    // Not UTF-8, then a line past the 64 KiB a command may take (no newline for 100 KiB: the
    // reader must not hold it all), then a command. Written from a thread of its own: a reader
    // that stopped reading would block the write, and the test must then fail, not hang.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut long = b"{\"cmd\":\"rate\",\"rows_per_s\":".to_vec();
        long.extend(std::iter::repeat_n(b'9', 100 << 10));
        long.extend(b"}\n");
        stdin.write_all(b"{\"cmd\":\xff\xfe}\n")?;
        stdin.write_all(&long)?;
        writeln!(stdin, r#"{{"cmd":"rate","rows_per_s":300000}}"#)?;
        stdin.flush()?;
        Ok::<_, std::io::Error>(stdin)
    });
    let not_utf8 = next_of(&mut lines, "error");
    let message = not_utf8["message"].as_str().unwrap();
    assert!(
        message.starts_with("not a command: not UTF-8"),
        "{not_utf8}"
    );
    assert!(
        not_utf8["input"].as_str().unwrap().starts_with("{\"cmd\":"),
        "{not_utf8}"
    );
    let too_long = next_of(&mut lines, "error");
    assert_eq!(
        too_long["message"], "not a command: line 2 is longer than 64 KiB",
        "{too_long}"
    );
    let shown = too_long["input"].as_str().unwrap();
    assert!(
        shown.starts_with("{\"cmd\":\"rate\"") && shown.ends_with('…'),
        "{shown}"
    );
    assert!(shown.len() < 200, "{shown}");
    let ack = next_of(&mut lines, "ack");
    assert_eq!(ack["command"]["rows_per_s"], 300000, "{ack}");
    let stdin = writer.join().unwrap().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
}

#[test]
fn a_rate_no_machine_can_keep_is_warned_about_with_what_was_sent() {
    let (mut child, mut lines) = spawn(&["--duration", "2s", "--interval", "200ms"]);
    next_of(&mut lines, "snapshot");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, r#"{{"cmd":"rate","rows_per_s":1000000000000}}"#).unwrap();
    stdin.flush().unwrap();
    next_of(&mut lines, "ack");
    // The interval the rate changed in has no one rate; a later one is behind all through.
    let warned = loop {
        let snapshot = next_of(&mut lines, "snapshot");
        if let Some(w) = snapshot["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w.as_str().unwrap().starts_with("producer-0 sent "))
        {
            break (snapshot.clone(), w.as_str().unwrap().to_owned());
        }
    };
    let (snapshot, warning) = warned;
    assert!(
        warning.contains("rows/s of the 1.00T it offers (under 1 %): it fell "),
        "{warning}"
    );
    // The figure it names is the producer's own rate of that interval.
    let sent = thread(&snapshot, "producer-0")["rows_per_s"]
        .as_f64()
        .unwrap();
    let named = warning["producer-0 sent ".len()..]
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(
        named,
        ringtop::metrics::human::format_rate(sent),
        "{warning}"
    );
    let summary = next_of(&mut lines, "summary");
    let tally = common::tally(&summary, "producer-0 sent ");
    assert!(tally["count"].as_u64().unwrap() >= 1, "{tally}");
    child.wait().unwrap();
    drop(stdin);
}

#[test]
fn a_codec_switch_changes_the_codec_and_its_ratio() {
    let (mut child, mut lines) = spawn(&[
        "--builtin",
        "compressed-timeseries",
        "--duration",
        "20s",
        "--interval",
        "300ms",
    ]);
    let first = next_of(&mut lines, "snapshot");
    assert_eq!(first["codec"]["name"], "decimal");
    let decimal_ratio = first["codec"]["ratio"].as_f64().unwrap();
    let stdin = child.stdin.as_mut().unwrap();
    writeln!(stdin, r#"{{"cmd":"codec","name":"none"}}"#).unwrap();
    next_of(&mut lines, "ack");
    // Skip the snapshot whose interval straddles the switch.
    next_of(&mut lines, "snapshot");
    let after = next_of(&mut lines, "snapshot");
    assert_eq!(after["codec"]["name"], "none");
    let none_ratio = after["codec"]["ratio"].as_f64().unwrap();
    assert!(decimal_ratio > 4.0, "decimal ratio {decimal_ratio}");
    assert!(
        none_ratio < 1.0,
        "none ratio {none_ratio} (headers cost a little)"
    );
    assert_eq!(after["totals"]["lost"], 0);
    // Stopped early, the summary splits the run between the two codecs.
    interrupt(&child);
    let summary = next_of(&mut lines, "summary");
    let parts = summary["codec"]["by_codec"].as_array().unwrap();
    let names: Vec<&str> = parts.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["none", "decimal"], "{summary}");
    let ratio = |i: usize| parts[i]["ratio"].as_f64().unwrap();
    assert!(ratio(0) < 1.0 && ratio(1) > 4.0, "{parts:?}");
    let rows: u64 = parts.iter().map(|p| p["rows"].as_u64().unwrap()).sum();
    assert_eq!(rows, summary["totals"]["produced"].as_u64().unwrap());
    child.wait().unwrap();
}

/// A flat-out producer fills every frame to the profile's `rows_per_frame`; a paced one sends a
/// frame when its rows are due, so at 200 rows a second each frame holds about one row, and
/// the ratio says what that costs. (At 2,000 rows a second, rows 0.5 ms apart, this VM's stalls
/// once put two rows in the average frame.)
#[test]
fn rows_a_frame_say_how_full_the_frames_went() {
    let summary_of = |profile: &str| {
        let dir = common::scratch_dir("rows-a-frame");
        let path = dir.join("framed.toml");
        std::fs::write(&path, profile).unwrap();
        let out = ringtop()
            .args(["run", "--headless", "--profile", path.to_str().unwrap()])
            .args(["--duration", "1s"])
            .output()
            .unwrap();
        common::assert_succeeded(&out);
        let last = String::from_utf8(out.stdout).unwrap();
        let summary: Value = serde_json::from_str(last.lines().last().unwrap()).unwrap();
        summary["codec"].clone()
    };
    let profile = |rate: u64| {
        format!(
            "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 16384\n[workload]\nrate = {rate}\n\
             [codec]\nname = \"decimal\"\nrows_per_frame = 256\n"
        )
    };
    let flat_out = summary_of(&profile(0));
    let paced = summary_of(&profile(200));
    for codec in [&flat_out, &paced] {
        let frames = codec["frames"].as_f64().unwrap();
        let rows = codec["by_codec"][0]["rows"].as_f64().unwrap();
        let mean = codec["rows_per_frame"].as_f64().unwrap();
        assert!((rows / frames - mean).abs() <= mean * 1e-5, "{codec}");
    }
    assert_eq!(flat_out["rows_per_frame"], 256.0, "{flat_out}");
    let paced_mean = paced["rows_per_frame"].as_f64().unwrap();
    assert!(paced_mean < 2.0, "{paced}");
    assert!(
        paced["ratio"].as_f64().unwrap() < flat_out["ratio"].as_f64().unwrap() / 4.0,
        "a row a frame compresses far less: {paced} against {flat_out}"
    );
}

/// Sends SIGINT to a run, as Ctrl-C does.
fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn interrupting_a_run_still_prints_the_summary() {
    let (mut child, mut lines) = spawn(&["--interval", "200ms"]);
    next_of(&mut lines, "snapshot");
    interrupt(&child);
    let summary = next_of(&mut lines, "summary");
    assert_eq!(summary["integrity_ok"], true);
    assert!(child.wait().unwrap().success());
}

#[test]
fn closing_stdout_ends_the_run_quietly() {
    let (child, mut lines) = spawn(&["--interval", "100ms"]);
    next_of(&mut lines, "snapshot");
    drop(lines);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_broken_profile_exits_2_with_line_and_column() {
    let path = std::env::temp_dir().join(format!("ringtop-run-broken-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 3000\n[workload]\n",
    )
    .unwrap();
    let out = ringtop()
        .args(["run", "--headless", "--profile"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(":4:12: capacity 3000 is not a power of two"),
        "{err}"
    );
}

#[test]
fn mpmc_and_broadcast_runs_lose_nothing() {
    let out = ringtop()
        .args([
            "run",
            "--headless",
            "--builtin",
            "broadcast-fanout",
            "--duration",
            "1s",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "broadcast: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["integrity_ok"], true, "broadcast");
    let produced = summary["totals"]["produced"].as_u64().unwrap();
    assert_eq!(
        summary["totals"]["consumed"].as_u64().unwrap(),
        2 * produced,
        "broadcast"
    );
    let path = std::env::temp_dir().join(format!("ringtop-run-mpmc-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "version = 1\n[ring]\nkind = \"mpmc\"\ncapacity = 1024\n[workload]\nproducers = 2\nconsumers = 2\n\
         [wait]\nproducer = \"spin-yield\"\nconsumer = \"spin-yield\"\n",
    )
    .unwrap();
    let out = ringtop()
        .args(["run", "--headless", "--duration", "1s", "--profile"])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    common::assert_succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["integrity_ok"], true);
    assert_eq!(summary["totals"]["produced"], summary["totals"]["consumed"]);
    assert!(
        summary["threads"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["endpoint"].is_null())
    );
}

/// Runs `perf stat` on a command. The comparison needs perf: a machine without it fails with
/// what to install, rather than passing without comparing.
fn perf_stat(events: &str, cmd: &mut Command) -> (std::process::Output, String) {
    let probe = Command::new("perf")
        .args(["stat", "-e", "task-clock", "true"])
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "perf cannot count here (as root, or with kernel.perf_event_paranoid <= 1, it can): {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(err) => panic!(
            "perf is needed to check ringtop's counters (scripts/install-deps.sh --ci installs \
             Debian's linux-perf): {err}"
        ),
    }
    let csv = std::env::temp_dir().join(format!("ringtop-perf-{}.csv", std::process::id()));
    let mut perf = Command::new("perf");
    perf.args(["stat", "-x", ",", "-o"])
        .arg(&csv)
        .args(["-e", events, "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    let out = perf.stdin(Stdio::null()).output().unwrap();
    let stats = std::fs::read_to_string(&csv).unwrap_or_default();
    let _ = std::fs::remove_file(&csv);
    (out, stats)
}

#[test]
fn software_counters_agree_with_perf_stat() {
    let mut cmd = ringtop();
    cmd.args(["run", "--headless", "--duration", "1s", "--interval", "1s"]);
    let (out, stats) = perf_stat("task-clock,page-faults", &mut cmd);
    common::assert_succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let summary: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    // perf stat -x, lines: value,unit,event,…  (task-clock in milliseconds).
    let perf_value = |event: &str| -> f64 {
        stats
            .lines()
            .find(|l| l.split(',').nth(2).is_some_and(|e| e.starts_with(event)))
            .and_then(|l| l.split(',').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no {event} in {stats}"))
    };
    let process_task_ns = perf_value("task-clock") * 1e6;
    let threads = summary["threads"].as_array().unwrap();
    let ours: f64 = threads
        .iter()
        .map(|t| t["counters"]["task_clock_ns"].as_f64().unwrap())
        .sum();
    // The workers are most of the process's CPU time; the rest is main, stdin and start-up.
    assert!(
        ours <= process_task_ns * 1.01,
        "threads {ours} ns > process {process_task_ns} ns"
    );
    assert!(
        ours >= process_task_ns * 0.5,
        "threads {ours} ns of process {process_task_ns} ns"
    );
    let faults: f64 = threads
        .iter()
        .map(|t| t["counters"]["page_faults"].as_f64().unwrap())
        .sum();
    assert!(faults <= perf_value("page-faults"), "{faults}");
}

#[test]
fn every_output_line_passes_the_printed_schema_and_nothing_else_does() {
    let out = ringtop().arg("schema").output().unwrap();
    assert!(out.status.success());
    let schemas: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schemas["schema_version"], 3);
    let line_schema = jsonschema::validator_for(&schemas["line"]).unwrap();
    let command = jsonschema::validator_for(&schemas["command"]).unwrap();

    // Commands on stdin: one applied, one refused, one that is not a command.
    let commands = concat!(
        r#"{"cmd":"rate","rows_per_s":200000}"#,
        "\n",
        r#"{"cmd":"batch","size":0}"#,
        "\n",
        "hello\n",
    );
    for builtin in ["default", "compressed-timeseries"] {
        let out = run_given(
            &[
                "--builtin",
                builtin,
                "--duration",
                "1s",
                "--interval",
                "300ms",
            ],
            commands,
        );
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let mut kinds = Vec::new();
        for line in text.lines() {
            let value: Value = serde_json::from_str(line).unwrap();
            let errors: Vec<String> = line_schema
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{builtin}: {errors:?}\n{line}");
            assert_eq!(value["schema_version"], 3, "{line}");
            kinds.push(value["type"].as_str().unwrap().to_owned());
        }
        for kind in ["ack", "error", "snapshot"] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "{builtin}: no {kind} in {kinds:?}"
            );
        }
        assert_eq!(kinds.last().map(String::as_str), Some("summary"));
    }

    // The schema is strict: no type, an unknown type or an unknown field does not pass.
    let ack = json!({"type": "ack", "schema_version": 3, "elapsed_s": 1.0, "command": {}});
    assert!(line_schema.is_valid(&ack));
    for broken in [
        json!({"schema_version": 3, "elapsed_s": 1.0, "command": {}}),
        json!({"type": "nack", "schema_version": 3, "elapsed_s": 1.0, "command": {}}),
        json!({"type": "ack", "schema_version": 3, "elapsed_s": 1.0, "command": {}, "x": 1}),
    ] {
        assert!(!line_schema.is_valid(&broken), "{broken}");
    }
    for good in [
        r#"{"cmd":"repin","thread":"consumer-0","cpu":0}"#,
        r#"{"cmd":"save","path":"tuned.toml"}"#,
    ] {
        assert!(
            command.is_valid(&serde_json::from_str::<Value>(good).unwrap()),
            "{good}"
        );
    }
    let bad = [
        r#"{"cmd":"codec","name":"zstd"}"#,
        r#"{"cmd":"batch","size":0}"#,
        r#"{"cmd":"rate","rows_per_s":1,"extra":true}"#,
        r#"{"cmd":"save"}"#,
        r#"{"cmd":"save","path":"a.toml","extra":true}"#,
        r#"{"cmd":"pause","for":"5s"}"#,
        r#"{"cmd":"pin","thread":"consumer-0","cpu":0}"#,
    ];
    for bad in bad {
        assert!(
            !command.is_valid(&serde_json::from_str::<Value>(bad).unwrap()),
            "{bad}"
        );
    }

    // What the schema refuses, the run refuses: an error line for each, never an ack.
    let out = run_given(
        &["--duration", "300ms", "--interval", "100ms"],
        &(bad.join("\n") + "\n"),
    );
    assert!(out.status.success());
    let replies: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["type"] == "ack" || line["type"] == "error")
        .collect();
    assert_eq!(replies.len(), bad.len(), "{replies:?}");
    for reply in &replies {
        assert_eq!(reply["type"], "error", "{reply}");
    }
    let unknown = replies
        .iter()
        .find(|reply| reply["input"].as_str().is_some_and(|i| i.contains("pin")))
        .unwrap();
    assert!(
        unknown["message"]
            .as_str()
            .unwrap()
            .contains("unknown command \"pin\": the commands are repin, "),
        "{unknown}"
    );
}

/// `save` on stdin writes the settings as they stand after the commands before it, as a profile
/// that reads back; one that cannot be written is an error line naming the file, and the run goes
/// on to its summary.
#[test]
fn save_writes_the_settings_as_they_stand_as_a_profile() {
    let dir = common::scratch_dir("headless-save");
    let saved = dir.join("tuned.toml");
    let unwritable = dir.join("no-such-folder").join("x.toml");
    let commands = format!(
        "{}\n{}\n{}\n{}\n",
        r#"{"cmd":"batch","size":32}"#,
        r#"{"cmd":"rate","rows_per_s":250000}"#,
        json!({"cmd": "save", "path": saved}),
        json!({"cmd": "save", "path": unwritable}),
    );
    let hlog = dir.join("run.hlog");
    let out = run_given(
        &[
            "--duration",
            "1s",
            "--interval",
            "500ms",
            "--hlog",
            hlog.to_str().unwrap(),
        ],
        &commands,
    );
    assert!(out.status.success());
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let replies: Vec<&Value> = lines
        .iter()
        .filter(|l| l["type"] == "ack" || l["type"] == "error")
        .collect();
    assert_eq!(replies.len(), 4, "{lines:?}");
    assert_eq!(replies[2]["type"], "ack", "{:?}", replies[2]);
    assert_eq!(replies[3]["type"], "error", "{:?}", replies[3]);
    let message = replies[3]["message"].as_str().unwrap();
    assert_eq!(
        message,
        format!(
            "cannot save {}: the folder {} does not exist",
            unwritable.display(),
            dir.join("no-such-folder").display()
        )
    );
    assert_eq!(lines.last().unwrap()["type"], "summary");
    let profile = ringtop::profile::load(&saved).unwrap();
    assert_eq!(profile.workload.batch, 32);
    assert_eq!(profile.workload.rate, 250_000);
    // This run's options are not settings: the profile keeps the built-in's own.
    let given = ringtop::profile::builtin::get("default").unwrap();
    assert_eq!(profile.workload.duration, given.workload.duration);
    assert_eq!(profile.report, given.report);
    assert!(profile.report.hlog.is_none());
    assert!(
        profile
            .description
            .contains("(saved from a headless run at "),
        "{}",
        profile.description
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_histogram_log_parses_with_one_tag_per_consumer() {
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    let path = std::env::temp_dir().join(format!("ringtop-{}.hlog", std::process::id()));
    let out = ringtop()
        .args([
            "run",
            "--headless",
            "--builtin",
            "broadcast-fanout",
            "--duration",
            "1s",
        ])
        .args(["--interval", "250ms", "--hlog"])
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let log = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut deserializer = Deserializer::new();
    let mut samples = std::collections::BTreeMap::new();
    for entry in IntervalLogIterator::new(&log) {
        if let LogEntry::Interval(interval) = entry.unwrap() {
            let bytes = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                interval.encoded_histogram(),
            )
            .unwrap();
            let histogram: hdrhistogram::Histogram<u64> = deserializer
                .deserialize(&mut std::io::Cursor::new(bytes))
                .unwrap();
            *samples
                .entry(interval.tag().unwrap().as_str().to_owned())
                .or_insert(0) += histogram.len();
        }
    }
    let tags: Vec<&str> = samples.keys().map(String::as_str).collect();
    assert_eq!(tags, ["consumer-0", "consumer-1"]);
    assert!(samples.values().all(|&n| n > 0), "{samples:?}");
}

#[test]
fn a_histogram_log_that_cannot_take_the_last_interval_says_so_and_fails_the_run() {
    // Room for the log's header and not for an interval (`ulimit -f 1`, SIGXFSZ ignored so the
    // write fails with EFBIG as on a full disk); no snapshot before the end, so the one interval
    // written is the last.
    let path = std::env::temp_dir().join(format!("ringtop-{}-full.hlog", std::process::id()));
    let out = Command::new("bash")
        .arg("-c")
        .arg(
            r#"trap '' XFSZ; ulimit -f 1
            exec "$0" run --headless --duration 1s --interval 10s --hlog "$1""#,
        )
        .arg(assert_cmd::cargo::cargo_bin("ringtop"))
        .arg(&path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    // The figures are out, the log is not whole: the run fails, saying so after its summary.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the run ended, but --hlog {} was not written whole",
            path.display()
        )),
        "{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let errors: Vec<&str> = lines
        .iter()
        .filter(|line| line["type"] == "error")
        .map(|line| line["message"].as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(
        errors[0].starts_with("histogram log stopped: ") && errors[0].contains("File too large"),
        "{stdout}"
    );
    assert_eq!(lines.last().unwrap()["type"], "summary", "{stdout}");
}
