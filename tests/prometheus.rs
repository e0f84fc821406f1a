//! `--metrics-listen` against a real Prometheus server (Debian's `prometheus`, which CI
//! installs): the server scrapes a running ringtop on 127.0.0.1, and the totals it stored agree
//! with ringtop's own summary line; the Grafana dashboard's queries and the alerting rules use
//! only metric names ringtop serves, and the rules fire where they should (`promtool`).
#![cfg(not(loom))]

mod common;

use std::io::{BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

use common::{Reaped, announced_metrics};

/// `GET path` on `address` over HTTP/1.0; the status line and the body.
fn get(address: &str, path: &str) -> Result<(String, String), std::io::Error> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    Ok((
        head.lines().next().unwrap_or_default().to_owned(),
        body.to_owned(),
    ))
}

/// A query string value, percent-encoded.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One instant query's value, as a number (`None` when the series is absent).
fn query(prometheus: &str, expression: &str) -> Option<f64> {
    let (status, body) = get(
        prometheus,
        &format!("/api/v1/query?query={}", encode(expression)),
    )
    .ok()?;
    assert!(status.contains("200"), "{status}: {body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let result = answer["data"]["result"].as_array()?.first()?.clone();
    result["value"][1].as_str()?.parse().ok()
}

#[test]
fn prometheus_stores_the_totals_ringtop_reports() {
    let dir = std::env::temp_dir().join(format!("ringtop-prometheus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // ringtop first: its port goes into Prometheus's scrape configuration. Its summary line is
    // read at the end (stdout piped), and it lingers until Prometheus has scraped the last figures.
    let (mut ringtop, metrics) = run_serving_metrics(
        "default",
        ["8s", "500ms"],
        &["--metrics-linger", "30s"],
        Stdio::piped(),
    );

    let web = format!("127.0.0.1:{}", free_port());
    let config = dir.join("prometheus.yml");
    // The alerting rules too, evaluated on what it scrapes, as a user's server would.
    let rules = std::fs::canonicalize(ALERT_RULES).unwrap();
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 500ms\n  scrape_timeout: 400ms\n  \
             evaluation_interval: 500ms\n\
             rule_files: ['{}']\n\
             scrape_configs:\n  - job_name: ringtop\n    static_configs:\n      - targets: ['{metrics}']\n",
            rules.display()
        ),
    )
    .unwrap();
    let _prometheus = Reaped::spawn(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("Prometheus (Debian package prometheus) is needed to check the exposition");

    // Prometheus answers queries only once it is ready (503 while its storage starts).
    let started = Instant::now();
    while !get(&web, "/-/ready").is_ok_and(|(status, _)| status.contains("200")) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Prometheus never became ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // While ringtop runs: Prometheus scrapes it.
    while query(&web, "ringtop_rows_total").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "Prometheus never stored ringtop's figures"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    // Every alerting rule evaluates on the real series without an error, and a clean run
    // raises no alert that it lost a row.
    let rules_answer = || -> Value {
        let (status, body) = get(&web, "/api/v1/rules").unwrap();
        assert!(status.contains("200"), "{status}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let group = loop {
        let answer = rules_answer();
        let group = answer["data"]["groups"][0].clone();
        let rules = group["rules"].as_array().cloned().unwrap_or_default();
        if !rules.is_empty() && rules.iter().all(|r| r["health"] != "unknown") {
            break group;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the rules were never evaluated: {answer}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(group["name"], "ringtop", "{group}");
    let rules = group["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 10, "{group}");
    for rule in rules {
        assert_eq!(rule["health"], "ok", "{rule}");
        if ["RingtopRowsLostOrOutOfOrder", "RingtopDown"].contains(&rule["name"].as_str().unwrap())
        {
            assert_eq!(rule["state"], "inactive", "{rule}");
        }
    }
    // The Grafana dashboard's queries are PromQL this server runs; those about a plain run
    // find its series.
    for expr in dashboard_expressions() {
        let expr = expr.replace("$__rate_interval", "5s");
        let (status, body) = get(&web, &format!("/api/v1/query?query={}", encode(&expr))).unwrap();
        assert!(
            status.contains("200") && body.contains("\"status\":\"success\""),
            "{expr}: {status} {body}"
        );
        let about_a_run = [
            "ringtop_rows_total",
            "ringtop_cpu_ran_ratio",
            "ringtop_stalls_total",
            "ringtop_ring_occupancy",
        ];
        // Whole names: `ringtop_ring_occupancy_bytes` is a receiver's, not a run's.
        let mut names = expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
        if names.any(|name| about_a_run.contains(&name)) {
            assert!(
                !body.contains("\"result\":[]"),
                "{expr} found nothing: {body}"
            );
        }
    }

    // ringtop serves until Prometheus has scraped its final figures (or 30 s pass).
    let child = ringtop.child();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let summary: Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["type"] == "summary")
        .expect("a summary line");

    // ringtop is gone: the next scrape fails, and the rule that says so is pending (it fires
    // after a minute).
    let gone = Instant::now();
    loop {
        let answer = rules_answer();
        let down = answer["data"]["groups"][0]["rules"]
            .as_array()
            .and_then(|rules| rules.iter().find(|r| r["name"] == "RingtopDown").cloned())
            .expect("the RingtopDown rule");
        if down["state"] == "pending" {
            assert_eq!(down["alerts"][0]["labels"]["instance"], metrics, "{down}");
            break;
        }
        assert!(
            gone.elapsed() < Duration::from_secs(30),
            "RingtopDown never noticed ringtop had gone: {down}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // What Prometheus stored last (ringtop is gone, so its series are stale now: a range
    // selection still has their samples).
    let last = |expr: &str| query(&web, &format!("last_over_time({expr}[5m])"));
    let totals = &summary["totals"];
    assert_eq!(
        last("ringtop_rows_produced_total"),
        totals["produced"].as_f64()
    );
    assert_eq!(
        last("ringtop_rows_consumed_total"),
        totals["consumed"].as_f64()
    );
    assert_eq!(last("ringtop_rows_lost_total"), Some(0.0));
    for thread in summary["threads"].as_array().unwrap() {
        let name = thread["name"].as_str().unwrap();
        assert_eq!(
            last(&format!("ringtop_rows_total{{thread=\"{name}\"}}")),
            thread["rows"].as_f64(),
            "{name}"
        );
        // The ring's own counters, as the summary has them (a `null` there is no series).
        for (metric, field) in [
            ("ringtop_stalls_total", "stalls"),
            ("ringtop_index_reloads_total", "index_reloads"),
            ("ringtop_chase_backoffs_total", "chase_backoffs"),
        ] {
            assert_eq!(
                last(&format!("{metric}{{thread=\"{name}\"}}")),
                thread["endpoint"][field].as_f64(),
                "{name}: {metric}"
            );
        }
        if let Some(count) = thread["latency_total_ns"]["count"].as_f64() {
            assert_eq!(
                last(&format!("ringtop_latency_ns_count{{thread=\"{name}\"}}")),
                Some(count),
                "{name}: every latency sample the summary counts"
            );
            let inf = last(&format!(
                "ringtop_latency_ns_bucket{{thread=\"{name}\",le=\"+Inf\"}}"
            ));
            assert_eq!(inf, Some(count), "{name}: the +Inf bucket holds them all");
            let p99 = query(
                &web,
                &format!(
                    "histogram_quantile(0.99, last_over_time(ringtop_latency_ns_bucket{{thread=\"{name}\"}}[5m]))"
                ),
            )
            .unwrap();
            let own = thread["latency_total_ns"]["p99"].as_f64().unwrap();
            // Buckets are powers of two: the estimate is within a factor of two of the truth.
            assert!(
                p99 >= own / 2.0 && p99 <= own * 2.0,
                "{name}: histogram_quantile says p99 {p99}, ringtop {own}"
            );
        }
    }
    assert_eq!(
        last("ringtop_info{command=\"run\",subject=\"default\"}"),
        Some(1.0)
    );
    // Each host check the start line made, with its verdict: one series each.
    let start: Value = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["type"] == "start")
        .expect("a start line");
    let checks = start["host_checks"].as_array().unwrap();
    assert!(!checks.is_empty(), "{start}");
    for check in checks {
        let series = format!(
            "ringtop_host_check{{check=\"{}\",status=\"{}\"}}",
            check["name"].as_str().unwrap(),
            check["status"].as_str().unwrap()
        );
        assert_eq!(last(&series), Some(1.0), "{series}");
    }
    assert_eq!(
        query(&web, "count(last_over_time(ringtop_host_check[5m]))"),
        Some(checks.len() as f64)
    );
    // Warnings, counted by kind and subject: as many intervals as the summary's tallies (none,
    // on a quiet machine: then no series).
    let tallied: f64 = summary["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_f64().unwrap())
        .sum();
    assert_eq!(
        query(&web, "sum(last_over_time(ringtop_warnings_total[5m]))"),
        (tallied > 0.0).then_some(tallied),
        "{summary}"
    );
    // The run's ring, by its kind: its slots, its fill at the end, and where its pages are (a
    // series per node the summary names).
    let ring = &summary["ring"];
    assert_eq!(
        last("ringtop_ring_capacity{kind=\"spsc\"}"),
        ring["capacity"].as_f64(),
        "{ring}"
    );
    assert_eq!(
        last("ringtop_ring_occupancy{kind=\"spsc\"}"),
        ring["occupancy_rows"].as_f64(),
        "{ring}"
    );
    let nodes = ring["memory_nodes"].as_array().unwrap();
    assert!(!nodes.is_empty(), "{ring}");
    for node in nodes {
        assert_eq!(
            last(&format!(
                "ringtop_ring_memory_node{{kind=\"spsc\",node=\"{node}\"}}"
            )),
            Some(1.0),
            "node {node}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The PromQL expression of every target of every panel of the Grafana dashboard.
fn dashboard_expressions() -> Vec<String> {
    let path = PathBuf::from("assets/grafana/ringtop.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 6, "{} panels", panels.len());
    panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| {
            target["expr"]
                .as_str()
                .expect("a PromQL expression")
                .to_owned()
        })
        .collect()
}

/// Every ringtop metric name in `texts` (PromQL expressions, a rules file).
fn metric_names<'t>(texts: impl IntoIterator<Item = &'t str>) -> Vec<String> {
    let mut names = Vec::new();
    for text in texts {
        let mut word = String::new();
        for c in text.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                word.push(c);
            } else {
                if word.starts_with("ringtop_") {
                    names.push(word.clone());
                }
                word.clear();
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_grafana_dashboard_queries_metrics_ringtop_serves() {
    let expressions = dashboard_expressions();
    let names = metric_names(expressions.iter().map(String::as_str));
    assert!(names.len() >= 6, "{names:?}");
    let served = served_names();
    for name in &names {
        assert!(
            served.contains(name),
            "the dashboard queries {name}, which ringtop does not serve"
        );
    }
}

/// The alerting rules are valid for Prometheus (`promtool check rules`), each fires on the
/// made-up series that should raise it and not on the others (`promtool test rules`), and
/// every metric they ask for is one ringtop serves.
/// The alerting rules ringtop ships.
const ALERT_RULES: &str = "assets/prometheus/ringtop-alerts.yml";

#[test]
fn the_alerting_rules_check_fire_where_they_should_and_ask_for_metrics_ringtop_serves() {
    let rules = ALERT_RULES;
    for args in [
        ["check", "rules", rules],
        ["test", "rules", "tests/prometheus-alerts.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .output()
            .expect("promtool (Debian's prometheus package; ./scripts/install-deps.sh --ci)");
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(rules).unwrap();
    let names = metric_names([text.as_str()]);
    assert!(names.len() >= 5, "{names:?}");
    let served = served_names();
    for name in &names {
        assert!(
            served.contains(name),
            "the rules ask for {name}, which ringtop does not serve"
        );
    }
}

/// Every metric name a scrape of ringtop can carry: those of every family its exposition
/// describes (each is described in every exposition, with or without series now).
fn served_names() -> Vec<String> {
    // A framed run has codec series too; its exposition has every name a run can have.
    let (ringtop, address) =
        run_serving_metrics("compressed-timeseries", ["2s", "250ms"], &[], Stdio::null());
    std::thread::sleep(Duration::from_millis(1200));
    let (status, exposition) = get(&address, "/metrics").unwrap();
    drop(ringtop);
    assert!(status.contains("200"), "{status}");
    assert!(
        exposition.ends_with("# EOF\n"),
        "OpenMetrics ends with # EOF"
    );
    // Every family is described in every exposition, with or without series now: the names a
    // scrape can carry follow from the `# TYPE` lines.
    let served: Vec<String> = exposition
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .flat_map(|l| {
            let (name, kind) = l.split_once(' ').unwrap();
            match kind {
                "counter" => vec![format!("{name}_total")],
                "histogram" => ["_bucket", "_count", "_sum"]
                    .iter()
                    .map(|s| format!("{name}{s}"))
                    .collect(),
                "info" => vec![format!("{name}_info")],
                _ => vec![name.to_owned()],
            }
        })
        .collect();
    let samples: Vec<&str> = exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    assert!(
        samples.iter().all(|s| served.iter().any(|n| n == s)),
        "a sample of a family not described:\n{exposition}"
    );
    served
}

#[test]
fn a_producer_behind_its_rate_is_counted_as_a_warning_by_kind_and_subject() {
    let mut ringtop = Reaped::spawn(
        Command::new(cargo_bin("ringtop"))
            .args([
                "run",
                "--headless",
                "--duration",
                "2s",
                "--interval",
                "200ms",
            ])
            .args(["--metrics-listen", "127.0.0.1:0", "--metrics-linger", "20s"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let child = ringtop.child();
    let address = announced_metrics(&mut BufReader::new(child.stderr.take().unwrap()));
    // A rate no machine keeps.
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, r#"{{"cmd":"rate","rows_per_s":1000000000000}}"#).unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let summary = common::next_of(&mut stdout, "summary");
    let behind = common::tally(&summary, "producer-0 sent ");
    // The final figures, which the run lingers to serve.
    let (status, body) = get(&address, "/metrics").unwrap();
    assert!(status.contains("200"), "{status}");
    let series = "ringtop_warnings_total{kind=\"behind-schedule\",subject=\"producer-0\"} ";
    let counted = body
        .lines()
        .find_map(|l| l.strip_prefix(series))
        .unwrap_or_else(|| panic!("no {series}in:\n{body}"));
    assert_eq!(
        counted.parse::<u64>().unwrap(),
        behind["count"].as_u64().unwrap()
    );
    assert!(body.contains("# TYPE ringtop_warnings counter"), "{body}");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

/// `ringtop run --headless` on the built-in profile `builtin` for `[duration, interval]`, serving
/// metrics on a free loopback port (`extra` arguments after), its stdout as `stdout` asks: the
/// running process and the `HOST:PORT` it announced.
fn run_serving_metrics(
    builtin: &str,
    [duration, interval]: [&str; 2],
    extra: &[&str],
    stdout: Stdio,
) -> (Reaped, String) {
    let mut ringtop = Reaped::spawn(
        Command::new(cargo_bin("ringtop"))
            .args(["run", "--headless", "--builtin", builtin])
            .args(["--duration", duration, "--interval", interval])
            .args(["--metrics-listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let address = announced_metrics(&mut BufReader::new(ringtop.child().stderr.take().unwrap()));
    (ringtop, address)
}

/// The receiving end of a shared-memory link serves its window's fill in bytes (it knows no rows
/// before it decodes them): 0, a known value, once its consumer has read all its sender wrote.
#[test]
fn a_receiver_serves_its_windows_fill_in_bytes() {
    let scratch = common::scratch_dir("metrics-fill");
    // A directory ringtop makes itself, private as it insists.
    let dir = scratch.join("rings");
    let mut serve = Reaped::spawn(
        Command::new(cargo_bin("ringtop"))
            .env("RINGTOP_DIR", &dir)
            .args([
                "serve",
                "--shm",
                "fill",
                "--headless",
                "--interval",
                "100ms",
            ])
            .args(["--duration", "20s", "--metrics-listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let mut stderr = BufReader::new(serve.child().stderr.take().unwrap());
    let address = announced_metrics(&mut stderr);
    let mut listening = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut listening).unwrap();
    assert!(listening.contains("listening on"), "{listening}");
    let sent = Command::new(cargo_bin("ringtop"))
        .env("RINGTOP_DIR", &dir)
        .args(["run", "--headless", "--builtin", "default", "--shm", "fill"])
        .args(["--duration", "1s"])
        .output()
        .unwrap();
    common::assert_succeeded(&sent);
    // The sender ended once every row was acknowledged: a few intervals later, all are read.
    std::thread::sleep(Duration::from_millis(500));
    let (status, body) = get(&address, "/metrics").unwrap();
    assert!(status.contains("200"), "{status}");
    assert!(
        body.contains("# TYPE ringtop_ring_occupancy_bytes gauge"),
        "{body}"
    );
    assert!(
        body.lines()
            .any(|l| l == "ringtop_ring_occupancy_bytes{kind=\"spsc\"} 0"),
        "{body}"
    );
    // The sender has come and gone: no peer now, and the time one was connected counted.
    assert!(
        body.lines()
            .any(|l| l == "ringtop_link_connected{kind=\"shm\",role=\"receiver\"} 0"),
        "{body}"
    );
    let connected_s: f64 = body
        .lines()
        .find_map(|l| {
            l.strip_prefix("ringtop_link_connected_seconds_total{kind=\"shm\",role=\"receiver\"} ")
        })
        .unwrap_or_else(|| panic!("no connected seconds: {body}"))
        .parse()
        .unwrap();
    assert!(connected_s > 0.0, "{body}");
    // Its rows are not known: no fill in rows, rather than a false one.
    assert!(
        !body
            .lines()
            .any(|l| l.starts_with("ringtop_ring_occupancy{")),
        "{body}"
    );
    let _ = serve.child().kill();
}
