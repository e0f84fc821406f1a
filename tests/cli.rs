//! The `ringtop` binary as a user runs it: output, exit codes, bad input, closed pipes.
#![cfg(not(loom))]

mod common;

use std::io::Read;
use std::process::{Command, Stdio};

use common::{assert_succeeded, ringtop};

/// How far a figure printed to six significant digits may be from the exact one, relatively.
const SIX_DIGITS: f64 = 1e-5;

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

#[test]
fn json_report_has_every_field_and_a_clean_integrity_check() {
    let out = ringtop()
        .arg("probe")
        .args(SMALL)
        .arg("--json")
        .output()
        .unwrap();
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["throughput"]["rows"], 100_000);
    assert_eq!(v["one_way_latency"]["count"], 5000);
    assert_eq!(v["round_trip"]["count"], 2000);
    assert!(v["paced_producer"]["kept_rate"].is_boolean(), "{v}");
    assert!(v["cpu_relation"].is_string(), "{v}");
    let memory = &v["ring_memory"]["allocation"];
    assert_eq!(memory["binding"]["kind"], "bound", "{v}");
    assert_eq!(memory["located_on"]["kind"], "nodes", "{v}");
    assert_eq!(
        memory["located_on"]["nodes"],
        serde_json::json!([memory["binding"]["node"]])
    );
    assert_eq!(v["ring_memory"]["consumer_reads_remote"], false);
    for key in ["lost", "duplicated", "reordered"] {
        assert_eq!(v["integrity"][key], 0, "{key}");
    }
    let p50 = v["round_trip"]["p50_ns"].as_u64().unwrap();
    let p99 = v["round_trip"]["p99_ns"].as_u64().unwrap();
    assert!(p50 > 0 && p50 <= p99);
}

/// A pace no producer keeps: the probe says the one-way figures measure the producer's lag, in
/// the table and the JSON, with how far behind it fell.
#[test]
fn a_probe_pace_the_producer_cannot_keep_is_said_to_measure_its_lag() {
    let mut args = SMALL;
    args[7] = "1000000000";
    let out = ringtop()
        .arg("probe")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let paced = &v["paced_producer"];
    assert_eq!(paced["kept_rate"], false, "{v}");
    let sent = paced["sent_per_s"].as_f64().unwrap();
    assert!(sent > 0.0 && sent < 0.95e9, "{v}");
    // It fell behind by about as much as its rows' one-way latency says.
    let late = paced["last_row_late_ns"].as_u64().unwrap();
    let max = v["one_way_latency"]["max_ns"].as_u64().unwrap();
    assert!(late >= max / 2, "{v}");

    let out = ringtop().arg("probe").args(args).output().unwrap();
    assert_succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("warning: the paced producer sent ")
            && text.contains(" rows/s of the 1.00G it offers and pushed its last row "),
        "{text}"
    );
}

#[test]
fn table_names_the_cpus_and_the_percentiles() {
    let out = ringtop().arg("probe").args(SMALL).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("producer on CPU"), "{text}");
    assert!(text.contains("p99.9"), "{text}");
    assert!(text.contains("lost 0, duplicated 0, reordered 0"), "{text}");
    // 2,000 round trips hold a p99.9 but not a p99.99: that one is the largest sample, marked.
    let round_trip: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("round trip "))
        .unwrap()
        .split_whitespace()
        .skip(2)
        .collect();
    let [p50, p90, p99, p999, p9999, max, count] = round_trip[..] else {
        panic!("{text}");
    };
    assert_eq!(count, "2000", "{text}");
    for unmarked in [p50, p90, p99, p999] {
        assert!(unmarked.parse::<u64>().is_ok(), "{unmarked}: {text}");
    }
    assert_eq!(p9999.strip_suffix('*'), Some(max), "{text}");
    assert!(
        text.contains("(* fewer samples than the percentile needs:")
            && text.contains(" 10000 for p99.99; the figure is the largest sample, not a tail)"),
        "{text}"
    );
}

#[test]
fn an_interval_shorter_than_100ms_exits_2_with_the_reason() {
    for interval in ["99ms", "10ms", "1ns"] {
        let out = ringtop()
            .args(["run", "--headless", "--interval", interval])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{interval}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains("interval must be at least 100ms")
                && err.contains("reach the interval's end"),
            "{interval}: {err}"
        );
        assert!(out.stdout.is_empty(), "{interval}: nothing ran");
    }
}

#[test]
fn a_duration_too_long_for_a_clock_exits_2_before_anything_runs() {
    for args in [
        ["--duration", "500000000000years"],
        ["--interval", "500000000000years"],
        ["--duration", "0s"],
    ] {
        let out = ringtop()
            .args(["run", "--headless"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("must be more than zero and at most"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_duration_that_is_not_one_gets_the_same_help_as_in_a_profile() {
    for (flag, value, says) in [
        (
            "--duration",
            "garbage",
            "bad duration \"garbage\" (expected number at 0)",
        ),
        ("--interval", "-1s", "bad duration \"-1s\": it is negative"),
    ] {
        let out = ringtop()
            .args(["run", "--headless", flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(&format!("'{value}' for '{flag}")), "{err}");
        assert!(err.contains(says), "{err}");
        assert!(
            err.contains("write a positive number and a unit, e.g. \"10s\", \"500ms\", \"2m\""),
            "{err}"
        );
    }
}

#[test]
fn a_probe_told_to_share_one_cpu_says_so_rather_than_blaming_the_machine() {
    let cpu = one_allowed_cpu();
    let out = ringtop()
        .arg("probe")
        .args(SMALL)
        .args(["--producer-cpu", &cpu, "--consumer-cpu", &cpu])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "warning: both threads were asked for CPU {cpu}, so the two threads share it"
        )),
        "{text}"
    );
}

#[test]
fn an_unavailable_cpu_is_a_clear_error_with_exit_code_2() {
    let out = ringtop()
        .arg("probe")
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
fn a_metrics_address_without_a_port_says_what_one_looks_like() {
    for (address, says) in [
        (
            "localhost",
            Some("expected host:port (127.0.0.1:9464; port 0 picks a free one)"),
        ),
        (":9464", Some("no host before the port (127.0.0.1:9464)")),
        (
            "::1:9464",
            Some("an IPv6 address goes in brackets: [::1]:9464"),
        ),
        (
            "127.0.0.1:99999",
            Some("the port is a number from 1 to 65535"),
        ),
        // Well-formed, but no such host: the listener says why.
        ("999.1.1.1:80", None),
    ] {
        let out = ringtop()
            .args([
                "run",
                "--headless",
                "--builtin",
                "low-latency",
                "--duration",
                "1s",
            ])
            .args(["--metrics-listen", address])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{address}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with(&format!("ringtop: cannot serve metrics on {address}: ")),
            "{err}"
        );
        if let Some(says) = says {
            assert!(err.contains(says), "{err}");
        }
        assert!(out.stdout.is_empty(), "{address}: ran anyway");
    }
}

#[test]
fn serve_refuses_an_address_that_is_not_host_and_port_before_listening() {
    for (address, says) in [
        ("127.0.0.1:notaport", "the port is a number from 1 to 65535"),
        ("::1:7471", "an IPv6 address goes in brackets"),
    ] {
        let out = ringtop()
            .args([
                "serve",
                "--headless",
                "--duration",
                "1s",
                "--listen",
                address,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{address}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(&format!("address {address:?}: {says}")),
            "{err}"
        );
        assert!(!err.contains("listening on"), "{err}");
    }
}

#[test]
fn a_capacity_that_is_not_a_power_of_two_is_refused() {
    let out = ringtop()
        .arg("probe")
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
fn a_probe_batch_the_ring_cannot_hold_is_refused_not_reported() {
    // A batch takes the ring's free slots: one larger than the ring was reported as the batch
    // size while never moved.
    let out = ringtop()
        .arg("probe")
        .args(SMALL)
        .args(["--capacity", "1024", "--batch", "4096"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("batch must be between 1 and the ring's capacity (1024)"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let mut child = ringtop()
        .arg("probe")
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

/// `/dev/full` for a child's stream: every write fails with ENOSPC, as on a full disk.
fn full_disk() -> Stdio {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
        .into()
}

#[test]
fn a_full_disk_under_stdout_and_stderr_is_an_exit_code_not_a_panic() {
    // `eprintln!` panics (exit 101) when stderr cannot be written; each case exits as it would
    // with a working stderr, its words dropped.
    let serve = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--headless",
        "--duration",
        "300ms",
    ];
    // (command, stdout on the full disk too, exit code)
    let cases: [(&[&str], bool, i32); 5] = [
        // Help that cannot be written, and a usage error.
        (&["--help"], true, 1),
        (&["--no-such-flag"], true, 2),
        // An error message on stderr.
        (&["profile", "check", "/nonexistent.toml"], true, 2),
        // Output that cannot be written, then the message saying so.
        (&["run", "--headless", "--duration", "200ms"], true, 1),
        // A line of news on stderr ("listening on …"), then a run that goes on.
        (&serve, false, 0),
    ];
    for (args, stdout_full, code) in cases {
        let status = ringtop()
            .args(args)
            .stdout(if stdout_full {
                full_disk()
            } else {
                Stdio::null()
            })
            .stderr(full_disk())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(code), "{args:?}");
    }
}

#[test]
fn topo_json_lists_nodes_packages_cores_pus_caches_and_the_allowed_set() {
    let out = ringtop().args(["topo", "--json"]).output().unwrap();
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    let nodes = v["numa_nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    assert!(nodes[0]["memory_bytes"].as_u64().unwrap() > 0);
    assert!(nodes[0]["os_index"].is_u64() && nodes[0]["cpus"].is_array());
    assert!(!v["packages"].as_array().unwrap().is_empty());
    let cores = v["cores"].as_array().unwrap();
    let pus = v["pus"].as_array().unwrap();
    assert!(!cores.is_empty() && pus.len() >= cores.len());
    assert!(pus[0]["core"].is_u64() && pus[0]["node"].is_u64());
    for cache in v["caches"].as_array().unwrap() {
        assert!(cache["level"].as_u64().unwrap() >= 1);
        assert!(cache["size_bytes"].is_u64() && cache["line_bytes"].is_u64());
        assert!(cache["kind"].is_string() && cache["cpus"].is_array());
    }
    assert!(!v["allowed_cpus"].as_array().unwrap().is_empty());
}

#[test]
fn topo_shows_a_synthetic_two_node_machine_as_a_tree() {
    let out = ringtop()
        .args(["topo", "--synthetic", "pack:2 numa:1 core:2 pu:2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("2 packages, 2 NUMA nodes, 4 cores, 8 PUs"),
        "{text}"
    );
    assert!(
        text.contains("  NUMA node 1 (1 GiB) CPUs 4-7\n    Package 1 CPUs 4-7\n"),
        "{text}"
    );
}

#[test]
fn topo_with_a_bad_description_or_file_exits_2_with_a_reason() {
    let out = ringtop()
        .args(["topo", "--synthetic", "pack:many"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("bad synthetic topology \"pack:many\""),
        "{err}"
    );

    let out = ringtop()
        .args(["topo", "--xml", "/nonexistent/box.xml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("cannot load topology XML /nonexistent/box.xml"),
        "{err}"
    );
}

#[test]
fn a_file_that_never_ends_is_refused_at_a_bound_naming_what_it_is_too_large_for() {
    // `/dev/zero` named by mistake: every file ringtop reads stops at a bound with exit 2 and
    // the reason, instead of reading until memory runs out.
    let dir = common::scratch_dir("unending");
    let run = dir.join("run.jsonl");
    let out = ringtop()
        .args(["run", "--headless", "--duration", "300ms"])
        .output()
        .unwrap();
    assert_succeeded(&out);
    std::fs::write(&run, &out.stdout).unwrap();
    let html = dir.join("report.html");
    let (html, run) = (html.to_str().unwrap(), run.to_str().unwrap());
    let cases: [(&[&str], &str); 11] = [
        (
            &["profile", "check", "/dev/zero"],
            "/dev/zero: larger than 1 MiB: too large for a profile",
        ),
        (
            &["run", "--headless", "--profile", "/dev/zero"],
            "/dev/zero: larger than 1 MiB: too large for a profile",
        ),
        (
            &["compare", run, "/dev/zero"],
            "/dev/zero: line 1 is longer than 16 MiB",
        ),
        (
            &["report", "-o", html, "/dev/zero"],
            "/dev/zero: line 1 is longer than 16 MiB",
        ),
        (
            &["report", "-o", html, "--hlog", "/dev/zero", run],
            "/dev/zero: line 1 is longer than 16 MiB",
        ),
        (
            &["report", "-o", html, "--c2c", "/dev/zero", run],
            "/dev/zero: larger than 256 MiB: too large for a core-to-core map",
        ),
        (
            &["report", "-o", html, "--sweep", "/dev/zero"],
            "/dev/zero: larger than 256 MiB: too large for a sweep's result",
        ),
        (
            &["codec", "--input", "/dev/zero"],
            "/dev/zero: line 1 is longer than 16 MiB",
        ),
        (
            &["tune", "--budget", "30s", "-o", html, "--c2c", "/dev/zero"],
            "/dev/zero: larger than 256 MiB: too large for a core-to-core map",
        ),
        (
            &["topo", "--xml", "/dev/zero"],
            "/dev/zero: larger than 256 MiB: too large for an hwloc XML export",
        ),
        (
            &["serve", "--listen", "127.0.0.1:0", "--token-file", "TOKEN"],
            "larger than 64 KiB: too large for a token file",
        ),
    ];
    let token = dir.join("token");
    std::fs::write(&token, "t".repeat(100 << 10)).unwrap();
    std::fs::set_permissions(&token, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    for (args, expected) in cases {
        let args: Vec<&str> = args
            .iter()
            .map(|&a| {
                if a == "TOKEN" {
                    token.to_str().unwrap()
                } else {
                    a
                }
            })
            .collect();
        let out = ringtop().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs `lstopo-no-graphics` with `args`. The comparison needs it: a machine without it fails
/// with what to install, rather than passing without comparing.
fn lstopo(args: &[&str]) -> String {
    match Command::new("lstopo-no-graphics").args(args).output() {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
        Ok(out) => panic!(
            "lstopo-no-graphics failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(err) => panic!(
            "lstopo-no-graphics is needed to check the topology (scripts/install-deps.sh --ci \
             installs Debian's hwloc-nox): {err}"
        ),
    }
}

/// lstopo prints sizes as `48KB`, `2048KB`, `300MB` (binary units, rounded).
fn lstopo_size(text: &str) -> u64 {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_alphabetic()).unwrap());
    let number: u64 = number.parse().unwrap();
    number
        * match unit {
            "B" => 1,
            "KB" => 1 << 10,
            "MB" => 1 << 20,
            "GB" => 1 << 30,
            other => panic!("unit {other}"),
        }
}

#[test]
fn topo_agrees_with_lstopo_on_counts_and_cache_sizes() {
    let pus = lstopo(&["--only", "pu"]);
    let out = ringtop().args(["topo", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let count = |text: &str| text.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(count(&pus), v["pus"].as_array().unwrap().len());
    let cores = lstopo(&["--only", "core"]);
    assert_eq!(count(&cores), v["cores"].as_array().unwrap().len());
    let packages = lstopo(&["--only", "package"]);
    assert_eq!(count(&packages), v["packages"].as_array().unwrap().len());
    let nodes = lstopo(&["--only", "numanode"]);
    assert_eq!(count(&nodes), v["numa_nodes"].as_array().unwrap().len());

    for (kind, level, json_kind) in [
        ("l1dcache", 1, "data"),
        ("l1icache", 1, "instruction"),
        ("l2cache", 2, "unified"),
        ("l3cache", 3, "unified"),
    ] {
        // Lines like `L3 L#0 (300MB)`.
        let mut theirs: Vec<u64> = lstopo(&["--only", kind])
            .lines()
            .filter_map(|l| {
                l.split_once('(')
                    .map(|(_, rest)| rest.trim_end_matches(')'))
            })
            .map(lstopo_size)
            .collect();
        let ours = v["caches"].as_array().unwrap().iter().filter(|c| {
            c["level"] == level && (c["kind"] == json_kind || (level > 1 && c["kind"] == "data"))
        });
        // Round ours the way lstopo does: to whole KiB, or whole MiB from 10 MiB up.
        let mut ours: Vec<u64> = ours
            .map(|c| {
                let bytes = c["size_bytes"].as_u64().unwrap();
                if bytes >= 10 << 20 {
                    (bytes as f64 / (1 << 20) as f64).round() as u64 * (1 << 20)
                } else {
                    (bytes as f64 / 1024.0).round() as u64 * 1024
                }
            })
            .collect();
        theirs.sort_unstable();
        ours.sort_unstable();
        assert_eq!(ours, theirs, "{kind}");
    }
}

#[test]
fn c2c_json_is_a_square_matrix_of_finite_round_trips() {
    let out = ringtop()
        .args(["c2c", "--json", "--samples", "20", "--round-trips", "50"])
        .output()
        .unwrap();
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cpus = v["cpus"].as_array().unwrap();
    let rtt = v["rtt_ns"].as_array().unwrap();
    assert_eq!(rtt.len(), cpus.len());
    if cpus.len() < 2 {
        return;
    }
    for (i, row) in rtt.iter().enumerate() {
        let row = row.as_array().unwrap();
        assert_eq!(row.len(), cpus.len());
        for (j, cell) in row.iter().enumerate() {
            if i == j {
                assert!(cell.is_null());
            } else {
                let ns = cell.as_f64().expect("a number");
                assert!(ns.is_finite() && ns > 0.0);
            }
        }
    }
    assert_eq!(v["samples"], 20);
}

#[test]
fn c2c_with_an_unavailable_cpu_exits_2_naming_the_allowed_set() {
    let out = ringtop()
        .args(["c2c", "--cpus", "0,4096"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("CPU 4096 is not available; allowed: "),
        "{err}"
    );
}

#[test]
fn a_memory_node_that_does_not_exist_exits_2_naming_the_nodes() {
    let out = ringtop()
        .arg("probe")
        .args(SMALL)
        .args(["--memory-node", "4096"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("NUMA node 4096 does not exist; nodes: "),
        "{err}"
    );
}

/// The first CPU this process may use, from the topology ringtop itself reports.
fn one_allowed_cpu() -> String {
    let out = ringtop().args(["topo", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["allowed_cpus"][0].to_string()
}

/// Runs ringtop restricted to one CPU with `taskset` (util-linux, on every Debian system).
fn on_one_cpu(args: &[&str]) -> std::process::Output {
    let cpu = one_allowed_cpu();
    Command::new("taskset")
        .args(["-c", &cpu])
        .arg(assert_cmd::cargo::cargo_bin("ringtop"))
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("taskset (util-linux) is needed here: {err}"))
}

#[test]
fn the_affinity_mask_ringtop_starts_with_is_the_allowed_set() {
    let out = on_one_cpu(&["topo", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cpu: u64 = one_allowed_cpu().parse().unwrap();
    assert_eq!(v["allowed_cpus"], serde_json::json!([cpu]));
    let disallowed = v["pus"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["allowed"] == false);
    assert_eq!(disallowed.count() + 1, v["pus"].as_array().unwrap().len());

    let out = on_one_cpu(&["c2c"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("needs at least two CPUs; got only CPU "),
        "{err}"
    );
}

#[test]
fn a_probe_on_one_cpu_finishes_and_says_what_it_measured() {
    // Both threads share the CPU: they must yield to each other rather than spin out a time
    // slice per hand-off, which would make this run take many minutes.
    let out = on_one_cpu(&[&["probe"][..], &SMALL[..]].concat());
    assert_succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "warning: only CPU 0 is available to this process, so the two threads share it"
        ),
        "{text}"
    );
    assert!(text.contains("lost 0, duplicated 0, reordered 0"), "{text}");
}

#[test]
fn codec_json_reports_every_codec_with_an_exact_round_trip() {
    let out = ringtop()
        .args([
            "codec",
            "--json",
            "--input",
            "assets/seattle-hourly-temperature-2010.csv",
            "assets/seattle-daily-weather-2012-2015.csv",
        ])
        .output()
        .unwrap();
    assert_succeeded(&out);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = all["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "each file measured on its own");
    assert_eq!(
        files[1]["input"],
        "assets/seattle-daily-weather-2012-2015.csv"
    );
    assert_eq!(files[1]["columns"], 5, "the date, and four numeric columns");
    assert_eq!(files[1]["dropped"][0]["name"], "weather");
    let v = &files[0];
    assert_eq!(v["input"], "assets/seattle-hourly-temperature-2010.csv");
    assert_eq!(v["rows"], 8759);
    assert_eq!(v["columns"], 2);
    assert_eq!(v["time_columns"], serde_json::json!(["date"]));
    assert_eq!(v["dropped"], serde_json::json!([]));
    let codecs = v["codecs"].as_array().unwrap();
    let names: Vec<&str> = codecs.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "none",
            "delta",
            "lz4",
            "delta-lz4",
            "shuffle-lz4",
            "xor",
            "rle",
            "decimal",
            "decimal-fast"
        ]
    );
    for c in codecs {
        assert_eq!(c["roundtrip"], "ok", "{c}");
        for key in [
            "ratio",
            "row_ratio",
            "bytes_per_value",
            "encode_mb_per_s",
            "decode_mb_per_s",
        ] {
            assert!(c[key].as_f64().unwrap() > 0.0, "{key} in {c}");
        }
        // Two real columns: the value ratio is a quarter of the row ratio, and a ratio is 8
        // bytes over the bytes a value costs (each figure printed to six significant digits).
        let (ratio, row_ratio) = (
            c["ratio"].as_f64().unwrap(),
            c["row_ratio"].as_f64().unwrap(),
        );
        assert!((row_ratio / ratio - 4.0).abs() < 4.0 * SIX_DIGITS, "{c}");
        assert!(
            (c["bytes_per_value"].as_f64().unwrap() * ratio - 8.0).abs() < 8.0 * SIX_DIGITS,
            "{c}"
        );
    }
    // Two real columns in 64-byte rows: `none` costs half a row per value, and says so.
    assert!(codecs[0]["bytes_per_value"].as_f64().unwrap() > 32.0);
    assert!(codecs[0]["ratio"].as_f64().unwrap() < 0.25);
}

#[test]
fn codec_with_one_codec_prints_a_table() {
    let out = ringtop()
        .args(["codec", "--codec", "decimal", "--frame-rows", "256"])
        .args(["--input", "assets/seattle-daily-weather-2012-2015.csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "5 numeric columns (date as epoch seconds, precipitation, temp_max, temp_min, wind)"
        ),
        "{text}"
    );
    assert!(
        text.contains("weather (not numeric at line 2: \"drizzle\")"),
        "{text}"
    );
    assert!(text.contains("frames of 256 rows"), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.ends_with(" ok")).collect();
    assert_eq!(rows.len(), 1, "{text}");
    assert!(rows[0].starts_with("decimal "), "{text}");
    // The cost of each column, under the one codec, under a caption saying what it is.
    assert!(
        text.contains("\nwhat each column costs: the bytes per value its values add"),
        "{text}"
    );
    let by_column = &text[text.find("\ncolumn ").expect(&text)..];
    for name in [
        "date",
        "precipitation",
        "temp_max",
        "temp_min",
        "wind",
        "shared bytes",
    ] {
        assert!(
            by_column.lines().any(|l| l.starts_with(name)),
            "{name} in {by_column}"
        );
    }
}

#[test]
fn codec_measures_every_column_of_a_wide_table_and_what_each_costs() {
    let file = "assets/us-employment-monthly-2006-2015.csv";
    let out = ringtop()
        .args(["codec", "--json", "--input", file])
        .output()
        .unwrap();
    assert_succeeded(&out);
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = &all["files"][0];
    // Every column of the header is numeric here (the month as a date).
    let text = std::fs::read_to_string(file).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    assert_eq!(header.len(), 24);
    assert_eq!(table["column_names"], serde_json::json!(header));
    assert_eq!(table["time_columns"], serde_json::json!(["month"]));
    assert_eq!(table["rows"], 120);
    let values = 120.0 * 24.0;
    for codec in table["codecs"].as_array().unwrap() {
        assert_eq!(codec["roundtrip"], "ok", "{codec}");
        let total = codec["encoded_bytes"].as_i64().unwrap();
        let per_value = codec["bytes_per_value"].as_f64().unwrap();
        assert!((per_value * values - total as f64).abs() < total as f64 * SIX_DIGITS);
        let columns = codec["columns"].as_array().unwrap();
        let names: Vec<&str> = columns
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, header, "{}", codec["name"]);
        let column_bytes: i64 = columns.iter().map(|c| c["bytes"].as_i64().unwrap()).sum();
        let shared = codec["shared_bytes"].as_i64().unwrap();
        assert_eq!(
            column_bytes + shared,
            total,
            "the columns and the shared bytes are the whole: {codec}"
        );
        for c in columns {
            let per_value = c["bytes"].as_f64().unwrap() / 120.0;
            assert!(
                (c["bytes_per_value"].as_f64().unwrap() - per_value).abs()
                    <= per_value.abs() * SIX_DIGITS
            );
        }
        if codec["name"] == "none" {
            // `none` stores every slot of a row whatever it holds: a column adds nothing.
            assert!(columns.iter().all(|c| c["bytes"] == 0), "{codec}");
        }
    }
}

#[test]
fn codec_reads_a_gzipped_tab_separated_table_with_gaps_and_says_what_it_read() {
    use std::io::Write;
    let path = std::env::temp_dir().join(format!("ringtop-cli-gaps-{}.tsv.gz", std::process::id()));
    let table = "date\ttemp\tns\tlabel\n\
                 2012/01/01\t5.0\t1325376000000000001\ta\n\
                 2012/01/02\t\t1325462400000000000\tb\n\
                 2012/01/03\t6.5\t1325548800000000003\tc\n\
                 2012/01/04\t\t1325635200000000000\td\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(table.as_bytes()).unwrap();
    std::fs::write(&path, gz.finish().unwrap()).unwrap();
    let json = ringtop()
        .args(["codec", "--json", "--input"])
        .arg(&path)
        .output()
        .unwrap();
    let text = ringtop()
        .args(["codec", "--codec", "decimal", "--input"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_succeeded(&json);
    let all: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let table = &all["files"][0];
    assert_eq!(table["delimiter"], "\t");
    assert_eq!(
        table["column_names"],
        serde_json::json!(["date", "temp", "ns"])
    );
    assert_eq!(
        table["empty_cells"],
        serde_json::json!([{"name": "temp", "cells": 2}])
    );
    // 1 325 462 400 × 10^9 and 1 325 635 200 × 10^9 are doubles; the other two are not.
    assert_eq!(
        table["rounded_integers"],
        serde_json::json!([{"name": "ns", "cells": 2}])
    );
    assert_eq!(table["dropped"][0]["name"], "label");
    for codec in table["codecs"].as_array().unwrap() {
        // The missing values come back as the same NaN, bit for bit.
        assert_eq!(codec["roundtrip"], "ok", "{codec}");
    }
    assert_succeeded(&text);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(
            ".tsv.gz (tab-separated): 4 rows, 3 numeric columns (date as epoch seconds, temp with \
             2 empty cells as NaN, ns with 2 integers past 2^53 rounded to doubles)"
        ),
        "{text}"
    );
}

#[test]
fn codec_with_a_bad_file_or_name_exits_2_saying_why() {
    let dir = std::env::temp_dir();
    let ragged = dir.join(format!("ringtop-cli-ragged-{}.csv", std::process::id()));
    std::fs::write(&ragged, "a,b\n1,2\n3,4,5\n").unwrap();
    let out = ringtop()
        .arg("codec")
        .arg("--input")
        .arg(&ragged)
        .output()
        .unwrap();
    std::fs::remove_file(&ragged).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(":3: 3 fields, but the first line has 2"),
        "{err}"
    );

    let out = ringtop()
        .args([
            "codec",
            "--codec",
            "zstd",
            "--input",
            "assets/seattle-daily-weather-2012-2015.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("unknown codec \"zstd\""), "{err}");
}

#[test]
fn profile_list_show_and_check() {
    let out = ringtop().args(["profile", "list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for name in [
        "default",
        "low-latency",
        "throughput",
        "compressed-timeseries",
        "broadcast-fanout",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} in {text}"
        );
    }

    let out = ringtop()
        .args(["profile", "show", "default"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let shown = std::env::temp_dir().join(format!("ringtop-shown-{}.toml", std::process::id()));
    std::fs::write(&shown, &out.stdout).unwrap();
    let out = ringtop()
        .arg("profile")
        .arg("check")
        .arg(&shown)
        .output()
        .unwrap();
    std::fs::remove_file(&shown).unwrap();
    assert_succeeded(&out);
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(
        said.ends_with(": ok (spsc ring, 1 producer, 1 consumer)\n"),
        "{said}"
    );
}

/// `profile check` says what a link's profile runs at its end: a sender's frames and where they
/// go, not a ring and a consumer that are the receiver's; a receiver's ring, not a codec that is
/// its sender's.
#[test]
fn profile_check_says_which_end_of_a_link_a_profile_runs() {
    let dir = common::scratch_dir("check-ends");
    let sender = dir.join("sender.toml");
    std::fs::write(&sender, include_str!("../profiles/remote-tcp.toml")).unwrap();
    let receiver = dir.join("receiver.toml");
    std::fs::write(
        &receiver,
        include_str!("../profiles/remote-tcp.toml").replace(
            "connect = \"127.0.0.1:7471\"",
            "listen = \"127.0.0.1:7481\"",
        ),
    )
    .unwrap();
    let check = |path: &std::path::Path| {
        let out = ringtop()
            .args(["profile", "check"])
            .arg(path)
            .output()
            .unwrap();
        assert_succeeded(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let said = check(&sender);
    assert!(
        said.ends_with(
            ": ok (sends delta-lz4 frames over tcp to 127.0.0.1:7471, 1 producer; the ring and \
             its consumer are the receiver's)\n"
        ),
        "{said}"
    );
    let said = check(&receiver);
    assert!(
        said.ends_with(
            ": ok (receives over tcp on 127.0.0.1:7481 into a spsc ring of 16384 rows, 1 \
             consumer; the rows, their pace and codec are the sender's)\n"
        ),
        "{said}"
    );
}

#[test]
fn a_broken_profile_exits_2_with_file_line_and_column() {
    let path = std::env::temp_dir().join(format!("ringtop-broken-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 4096\n[workload]\nbatch = \"many\"\n",
    )
    .unwrap();
    let out = ringtop()
        .arg("profile")
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "{}:6:9: invalid type: string \"many\"",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn the_dashboard_without_a_terminal_points_to_headless_mode() {
    let out = ringtop().stdin(Stdio::null()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("the dashboard needs a terminal; use `ringtop run --headless`"),
        "{err}"
    );
}

#[test]
fn a_token_file_others_can_read_or_an_empty_one_is_refused_with_the_fix() {
    let dir = std::env::temp_dir().join(format!("ringtop-token-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("token");
    let set_mode = |mode| {
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(mode)).unwrap()
    };
    let refusal = || {
        let out = ringtop()
            .args([
                "serve",
                "--headless",
                "--listen",
                "127.0.0.1:0",
                "--token-file",
            ])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    std::fs::write(&file, "s3cret\n").unwrap();
    set_mode(0o644);
    let err = refusal();
    assert!(
        err.contains("other users can read it (mode 644); chmod 600"),
        "{err}"
    );
    std::fs::write(&file, "\n").unwrap();
    set_mode(0o600);
    assert!(refusal().contains("the first line is empty"));
    std::fs::write(&file, "k".repeat(300)).unwrap();
    assert!(refusal().contains("a token is at most 256 bytes"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_json_document_carries_the_schema_version_and_rates_say_per_s() {
    let csv = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/seattle-hourly-temperature-2010.csv"
    );
    let commands: [&[&str]; 4] = [
        &[
            "probe",
            "--items",
            "20000",
            "--latency-samples",
            "200",
            "--round-trips",
            "200",
            "--json",
        ],
        &["topo", "--json"],
        &["c2c", "--samples", "5", "--json"],
        &["codec", "--input", csv, "--codec", "delta-lz4", "--json"],
    ];
    for args in commands {
        let out = ringtop().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schema_version"], 3, "{args:?}");
        for old in ["_per_sec", "_mb_s\"", "\"latency_rate\""] {
            assert!(!text.contains(old), "{args:?} still says {old}: {text}");
        }
    }
}

#[test]
fn doctor_checks_the_profiles_cpus_and_its_evidence_matches_the_kernel() {
    let out = ringtop().args(["doctor", "--json"]).output().unwrap();
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 3);
    let checks = v["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 10);
    let find = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check"))
    };
    for check in checks {
        let status = check["status"].as_str().unwrap();
        assert!(["ok", "warn", "fail", "n/a"].contains(&status), "{check}");
        if status == "warn" || status == "fail" {
            assert!(
                check["fix"].is_string(),
                "a warning says how to fix it: {check}"
            );
        }
    }
    // The evidence says what the kernel says.
    let clocksource =
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .unwrap();
    let clock = find("clock")["evidence"].as_str().unwrap().to_owned();
    assert!(
        clock.starts_with(&format!("clocksource {}", clocksource.trim())),
        "{clock}"
    );
    let isolated = std::fs::read_to_string("/sys/devices/system/cpu/isolated").unwrap();
    let isolation = find("isolation")["evidence"].as_str().unwrap().to_owned();
    let expected = if isolated.trim().is_empty() {
        "none"
    } else {
        isolated.trim()
    };
    assert!(
        isolation.starts_with(&format!("isolated {expected},")),
        "{isolation}"
    );
    // The kernel's membarrier commands, asked by Python through the raw system call.
    let number = if cfg!(target_arch = "aarch64") {
        283
    } else {
        324
    };
    let asked = std::process::Command::new("python3")
        .args([
            "-c",
            &format!(
                "import ctypes; print(hex(max(ctypes.CDLL(None).syscall({number}, 0, 0), 0)))"
            ),
        ])
        .output()
        .unwrap();
    let commands = String::from_utf8(asked.stdout).unwrap();
    let membarrier = find("membarrier")["evidence"].as_str().unwrap().to_owned();
    assert!(
        membarrier.starts_with(&format!("membarrier commands {}:", commands.trim())),
        "{membarrier} (python: {commands})"
    );
    let summary = &v["summary"];
    let counted: u64 = ["ok", "warn", "fail", "not_available"]
        .iter()
        .map(|k| summary[k].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 10);

    let table = ringtop().arg("doctor").output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.starts_with("ringtop doctor: is this host fit to measure on CPUs"),
        "{text}"
    );
    assert!(text.contains("host check: "), "{text}");
}

/// `doctor --set` checks the CPUs `run --set` with the same keys would take.
#[test]
fn doctor_takes_the_keys_a_run_would_be_set_with() {
    let cpu = one_allowed_cpu();
    let out = ringtop()
        .args(["doctor", "--json"])
        .args(["--set", &format!("pinning.producers={cpu}")])
        .args(["--set", &format!("pinning.consumers={cpu}")])
        .output()
        .unwrap();
    assert_succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cpus"].to_string(), format!("[{cpu}]"), "{v}");
    let out = ringtop()
        .args(["doctor", "--set", "pinning.consumers=100000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("ringtop: --set pinning.consumers=100000: CPU 100000 is not available"),
        "{err}"
    );
}

/// A ring no host this size can hold is refused at its line, by `profile check` and by `run`
/// before anything is allocated, rather than by the allocator once the run has started.
#[test]
fn a_ring_larger_than_the_hosts_memory_is_refused_at_its_line() {
    let dir = common::scratch_dir("check-memory");
    let file = dir.join("huge.toml");
    // 2^40 slots of a 64-byte row: 64 TiB.
    std::fs::write(
        &file,
        "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1099511627776\n",
    )
    .unwrap();
    let expected = format!(
        "{}:4:12: capacity 1099511627776 needs at least 64 TiB of ring memory (a 64-byte row a \
         slot); this host has ",
        file.display()
    );
    for args in [
        &["profile", "check"][..],
        &["run", "--headless", "--profile"],
    ] {
        let out = ringtop().args(args).arg(&file).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(&expected), "{args:?}: {expected:?} in {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn profile_check_reports_every_problem_it_can_find_in_one_pass() {
    let dir = std::env::temp_dir().join(format!("ringtop-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1000\n[workload]\nduration = \"0s\"\n\
         [pinning]\nproducers = [4096]\n",
    )
    .unwrap();
    let out = ringtop()
        .args(["profile", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let name = file.display();
    for expected in [
        format!("{name}:4:12: capacity 1000 is not a power of two"),
        format!("{name}:6:12: duration must be more than zero"),
        format!("{name}:8:14: CPU 4096 is not available"),
        format!("3 problems in {name}"),
    ] {
        assert!(err.contains(&expected), "{expected:?} in {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
