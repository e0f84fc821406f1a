//! `ringtop report` in a real browser: headless Chromium (Debian's `chromium`, which CI installs)
//! renders the HTML of a real run to a PNG, and the plots are there: every chart's series
//! colours are drawn, not a blank page. The file fetches nothing. An output that cannot be a file
//! is refused before anything is read, and one that cannot be written whole leaves the old one.
#![cfg(not(loom))]

mod common;

use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use ringtop::export::svg::PALETTE;

/// `ringtop report RUN -o HTML`.
/// The text of a report's `link` row, in its overview.
fn link_row(page: &str) -> &str {
    page.split("<tr><th>link</th><td>")
        .nth(1)
        .unwrap_or_else(|| panic!("no link row: {page}"))
        .split("</td>")
        .next()
        .unwrap()
}

fn report(run: &std::path::Path, html: &std::path::Path) -> std::process::Output {
    Command::new(cargo_bin("ringtop"))
        .arg("report")
        .arg(run)
        .arg("-o")
        .arg(html)
        .output()
        .unwrap()
}

#[test]
fn chromium_renders_every_plot_of_a_real_run() {
    let dir = common::scratch_dir("report");
    let run = dir.join("run.jsonl");
    let hlog = dir.join("run.hlog");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["run", "--headless", "--builtin", "default"])
        .args(["--duration", "2s", "--interval", "200ms", "--hlog"])
        .arg(&hlog)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&run, &out.stdout).unwrap();
    let c2c = dir.join("c2c.json");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["c2c", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&c2c, &out.stdout).unwrap();

    let html = dir.join("report.html");
    let status = Command::new(cargo_bin("ringtop"))
        .arg("report")
        .arg(&run)
        .arg("-o")
        .arg(&html)
        .arg("--c2c")
        .arg(&c2c)
        .arg("--hlog")
        .arg(&hlog)
        .status()
        .unwrap();
    assert!(status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: nothing to fetch.
    for fetch in ["src=", "href=", "@import", "url(", "<script"] {
        assert!(
            !page.contains(fetch),
            "the report fetches something: {fetch}"
        );
    }
    assert_eq!(
        page.matches("<svg").count(),
        7,
        "six charts and the heatmap"
    );
    // The ring's stalls per second and its fill: a point for every interval of the run (the
    // rates from the change in each thread's counts since the interval before).
    let snapshots = std::fs::read_to_string(&run)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"type\":\"snapshot\""))
        .count();
    for (chart, lines) in [("Ring stalls per second", 2), ("Ring fill", 1)] {
        let svg = page
            .split("<svg")
            .find(|svg| svg.contains(chart))
            .unwrap_or_else(|| panic!("no chart {chart}"));
        let points: Vec<usize> = svg
            .split("<polyline points=\"")
            .skip(1)
            .map(|p| p.split('"').next().unwrap().split(' ').count())
            .collect();
        assert_eq!(points, vec![snapshots; lines], "{chart}");
    }
    // The producer's latency cells are n/a, and the page says why.
    assert!(
        page.contains(
            "<p>n/a: a row's latency is taken where it is consumed, so producers have none.</p>"
        ),
        "no reason for the producer's n/a"
    );
    assert!(!page.contains("read no rows"), "the consumer did read rows");
    // Each check needing attention says how it came out.
    let start: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&run)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    // Every check the run recorded is in the report with what it saw, and they tally to the
    // run's one-line summary.
    let check = &start["host_check"];
    let checks = start["host_checks"].as_array().unwrap();
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    for (verdict, key) in [
        ("ok", "ok"),
        ("warn", "warn"),
        ("fail", "fail"),
        ("n/a", "not_available"),
    ] {
        let n = checks.iter().filter(|c| c["status"] == verdict).count();
        assert_eq!(n as u64, check[key].as_u64().unwrap(), "{verdict}: {start}");
    }
    for c in checks {
        let verdict = c["status"].as_str().unwrap();
        let class = if verdict == "warn" || verdict == "fail" {
            " class=\"bad\""
        } else {
            ""
        };
        let row = format!(
            "<tr><td{class}>{verdict}</td><td>{}</td><td>{}</td>",
            c["name"].as_str().unwrap(),
            escape(c["evidence"].as_str().unwrap())
        );
        assert!(page.contains(&row), "no {row}");
    }
    // A run recorded before the checks were: the summary names those needing attention.
    let mut older = start.clone();
    older.as_object_mut().unwrap().remove("host_checks");
    let text = std::fs::read_to_string(&run).unwrap();
    let rest: Vec<&str> = text.lines().skip(1).collect();
    let older_run = dir.join("older.jsonl");
    std::fs::write(&older_run, format!("{older}\n{}\n", rest.join("\n"))).unwrap();
    let older_html = dir.join("older.html");
    assert!(report(&older_run, &older_html).status.success());
    let older_page = std::fs::read_to_string(&older_html).unwrap();
    let fails = check["fail"].as_u64().unwrap() as usize;
    for (i, name) in check["attention"].as_array().unwrap().iter().enumerate() {
        let verdict = if i < fails { "fail" } else { "warn" };
        let item = format!("<li>{}: {verdict}</li>", name.as_str().unwrap());
        assert!(older_page.contains(&item), "no {item}");
    }
    // The percentile plot from the interval log: every percentile, not the summary's six.
    let first_line = page.split("<polyline points=\"").nth(1).unwrap();
    let points = first_line.split('"').next().unwrap().split(' ').count();
    assert!(points > 20, "{points} points in the percentile plot");

    let (pixels, channels) = common::screenshot(&html);
    let pixels = &pixels[..];
    // Two threads: the first two colours are drawn, in the throughput and CPU share charts
    // (both threads) and the latency charts (the consumer, first colour).
    for colour in &PALETTE[..2] {
        let drawn = common::pixels_of(pixels, channels, colour);
        assert!(
            drawn > 500,
            "{colour}: {drawn} pixels: the plots are missing"
        );
    }
    let not_white = pixels
        .chunks_exact(channels)
        .filter(|p| p[..3].iter().any(|c| *c < 200))
        .count();
    assert!(
        not_white > pixels.len() / channels / 50,
        "{not_white} dark pixels: a blank page"
    );
}

/// A second of the built-in `default` profile, an interval every 200 ms, headless: its output.
fn one_second_run() -> std::process::Output {
    let out = Command::new(cargo_bin("ringtop"))
        .args(["run", "--headless", "--builtin", "default"])
        .args(["--duration", "1s", "--interval", "200ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    out
}

#[test]
fn a_run_that_did_not_finish_is_reported_up_to_its_last_interval() {
    let dir = common::scratch_dir("report");
    let out = one_second_run();
    // As a run killed before its end leaves it: every line but the summary.
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("\"type\":\"summary\""))
        .collect();
    let run = dir.join("killed.jsonl");
    std::fs::write(&run, lines.join("\n") + "\n").unwrap();
    let html = dir.join("killed.html");
    let out = report(&run, &html);
    assert!(out.status.success(), "{out:?}");
    let snapshots: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "snapshot")
        .collect();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "no summary line: the run did not finish (or its output was cut); the report says \
             so, and gives its {} intervals",
            snapshots.len()
        )),
        "{stderr}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("the run did not finish"), "{page}");
    // Each thread's rows as of the last interval, and its rate over the time until then.
    let last = snapshots.last().unwrap();
    let seconds = last["elapsed_s"].as_f64().unwrap();
    for thread in last["threads"].as_array().unwrap() {
        let rows = thread["rows"].as_u64().unwrap();
        let row = format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{rows}</td><td>{:.0}</td>",
            thread["name"].as_str().unwrap(),
            thread["cpu"],
            thread["node"],
            rows as f64 / seconds
        );
        assert!(page.contains(&row), "no {row} in {page}");
    }
    // Every chart has a point for each interval.
    assert_eq!(page.matches("<svg").count(), 6, "six charts");
    let fill = page
        .split("<svg")
        .find(|svg| svg.contains("Ring fill"))
        .unwrap();
    let points = fill
        .split("<polyline points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .split(' ')
        .count();
    assert_eq!(points, snapshots.len());
    // Only its start line: nothing to report, said, and no file.
    std::fs::write(&run, lines[0].to_owned() + "\n").unwrap();
    let nothing = dir.join("nothing.html");
    let out = report(&run, &nothing);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not one interval: nothing to report"));
    assert!(!nothing.exists());
}

/// A run that did not finish tallies its warnings from its intervals: one per thread and kind
/// however its figures change from one interval to the next, in its latest wording; intervals
/// from before they named each warning's key are tallied by wording, and the page says which.
#[test]
fn an_unfinished_runs_warnings_are_tallied_by_thread_and_kind_not_wording() {
    let dir = common::scratch_dir("report-warnings");
    let out = one_second_run();
    // Every interval behind by another figure, as a producer short of its rate is.
    let lines = |keyed: bool| -> (String, usize) {
        let mut intervals = 0;
        let text: Vec<String> = std::str::from_utf8(&out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.contains("\"type\":\"summary\""))
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                if v["type"] == "snapshot" {
                    intervals += 1;
                    v["warnings"] = serde_json::json!([format!(
                        "producer-0 sent {intervals}M rows/s of the 10M it offers"
                    )]);
                    v["warning_keys"] = if keyed {
                        serde_json::json!(["behind-schedule producer-0"])
                    } else {
                        serde_json::json!([])
                    };
                }
                v.to_string()
            })
            .collect();
        (text.join("\n") + "\n", intervals)
    };
    let page = |name: &str, text: &str| {
        let run = dir.join(format!("{name}.jsonl"));
        std::fs::write(&run, text).unwrap();
        let html = dir.join(format!("{name}.html"));
        assert!(report(&run, &html).status.success());
        std::fs::read_to_string(&html).unwrap()
    };
    let (keyed, intervals) = lines(true);
    assert!(intervals >= 3, "{intervals} intervals");
    let html = page("keyed", &keyed);
    let rows = html.matches("<tr><td>producer-0 sent ").count();
    assert_eq!(rows, 1, "{html}");
    assert!(
        html.contains(&format!(
            "<tr><td>producer-0 sent {intervals}M rows/s of the 10M it offers</td><td>{intervals}</td>"
        )),
        "{html}"
    );
    assert!(html.contains("one per thread and kind"), "{html}");
    // Intervals without keys (output from before them): one row per wording.
    let (unkeyed, _) = lines(false);
    let html = page("unkeyed", &unkeyed);
    assert_eq!(
        html.matches("<tr><td>producer-0 sent ").count(),
        intervals,
        "{html}"
    );
    assert!(
        html.contains("Each wording the intervals carried"),
        "{html}"
    );
}

/// A framed run's report has its codecs: each one's rows, frames and rows a frame as the summary
/// gives them (or, for a run that did not finish, its intervals added up), and the ratio and rows
/// a frame over time; a run whose rows travel unframed has no such section.
#[test]
fn a_framed_runs_report_has_its_codecs_and_rows_a_frame() {
    let dir = common::scratch_dir("report-codec");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["run", "--headless", "--builtin", "compressed-timeseries"])
        .args(["--duration", "1s", "--interval", "200ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let part = &summary["codec"]["by_codec"][0];
    assert_eq!(part["name"], "decimal");
    let (rows, frames) = (
        part["rows"].as_u64().unwrap(),
        part["frames"].as_u64().unwrap(),
    );
    let run = dir.join("framed.jsonl");
    std::fs::write(&run, &text).unwrap();
    let html = dir.join("framed.html");
    assert!(report(&run, &html).status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    let row = format!(
        "<tr><td>decimal</td><td>{rows}</td><td>{frames}</td><td>{:.1}</td><td>{:.2}×</td>",
        rows as f64 / frames as f64,
        part["raw_bytes"].as_f64().unwrap() / part["encoded_bytes"].as_f64().unwrap()
    );
    assert!(page.contains("<h2>Compression</h2>"), "{page}");
    assert!(page.contains(&row), "no {row} in {page}");
    assert!(page.contains("Over the whole run, by codec."), "{page}");
    for chart in ["Codec ratio per interval", "Rows a frame per interval"] {
        assert!(page.contains(chart), "no {chart} chart");
    }
    // Cut before its summary: the intervals' frames added up, said to be so.
    let cut: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"type\":\"summary\""))
        .collect();
    let interval_frames: u64 = cut
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "snapshot")
        .map(|v| v["codec"]["frames"].as_u64().unwrap())
        .sum();
    std::fs::write(&run, cut.join("\n") + "\n").unwrap();
    assert!(report(&run, &html).status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<td>decimal</td><td>"), "{page}");
    assert!(
        page.contains(&format!("</td><td>{interval_frames}</td>")),
        "{page}"
    );
    assert!(page.contains("Up to the last interval, by codec"), "{page}");
    // Unframed: no codec to report.
    let out = Command::new(cargo_bin("ringtop"))
        .args([
            "run",
            "--headless",
            "--builtin",
            "default",
            "--duration",
            "300ms",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    std::fs::write(&run, &out.stdout).unwrap();
    assert!(report(&run, &html).status.success());
    assert!(
        !std::fs::read_to_string(&html)
            .unwrap()
            .contains("Compression")
    );
}

/// Commands a run took while it ran are in its report, each with when; its resolved profile is
/// said to be the one it started with.
#[test]
fn a_run_changed_while_it_ran_says_so_in_its_report() {
    use std::io::Write;

    let dir = common::scratch_dir("report");
    let mut child = Command::new(cargo_bin("ringtop"))
        .args(["run", "--headless", "--builtin", "default"])
        .args(["--duration", "1s", "--interval", "200ms"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, r#"{{"cmd":"batch","size":32}}"#).unwrap();
    writeln!(stdin, r#"{{"cmd":"rate","rows_per_s":500000}}"#).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let acks: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "ack")
        .collect();
    assert_eq!(acks.len(), 2, "{text}");
    let run = dir.join("changed.jsonl");
    std::fs::write(&run, &text).unwrap();
    let html = dir.join("changed.html");
    let out = report(&run, &html);
    assert!(out.status.success(), "{out:?}");
    let page = std::fs::read_to_string(&html).unwrap();
    let at = |ack: &serde_json::Value| ack["elapsed_s"].as_f64().unwrap();
    let said = format!(
        "batch size=32 at {:.1} s; rate rows_per_s=500000 at {:.1} s",
        at(&acks[0]),
        at(&acks[1])
    );
    assert!(page.contains(&said), "no {said} in {page}");
    assert!(page.contains("<h2>Resolved profile, as the run started</h2>"));
}

/// A broadcast ring's consumers each read every row: the overview says its counts and rate are
/// of reads, beside the rows produced.
#[test]
fn a_broadcast_runs_report_says_each_row_is_read_by_every_consumer() {
    let dir = common::scratch_dir("report");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["run", "--headless", "--builtin", "broadcast-fanout"])
        .args(["--duration", "1s", "--interval", "200ms"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let run = dir.join("broadcast.jsonl");
    std::fs::write(&run, &out.stdout).unwrap();
    let summary: serde_json::Value = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "summary")
        .unwrap();
    let html = dir.join("broadcast.html");
    assert!(report(&run, &html).status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    let totals = &summary["totals"];
    let said = format!(
        "<tr><th>rows</th><td>{} produced, {} consumed (each row by all 2 consumers), {:.0} rows/s \
         read</td></tr>",
        totals["produced"],
        totals["consumed"],
        totals["rows_per_s"].as_f64().unwrap()
    );
    assert!(page.contains(&said), "no {said} in {page}");
}

/// A receiver knows no rows before it decodes them: its fill is plotted in bytes of its window.
#[test]
fn a_receivers_fill_is_plotted_in_bytes_of_its_window() {
    let dir = common::scratch_dir("report");
    let out = one_second_run();
    // The run's lines as a receiver reports its ring: its fill in bytes alone.
    let mut snapshots = 0;
    let lines: Vec<String> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut line: serde_json::Value = serde_json::from_str(l).unwrap();
            if line["type"] == "snapshot" {
                snapshots += 1;
                line["ring"]["occupancy_rows"] = serde_json::Value::Null;
                line["ring"]["occupancy_bytes"] = (snapshots * 4096).into();
            }
            line.to_string()
        })
        .collect();
    let run = dir.join("received.jsonl");
    std::fs::write(&run, lines.join("\n") + "\n").unwrap();
    let html = dir.join("received.html");
    assert!(report(&run, &html).status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    let fill = page
        .split("<svg")
        .find(|svg| svg.contains("Ring fill"))
        .unwrap();
    // `default`'s 4096 slots of 64 bytes.
    assert!(fill.contains("bytes of the receiver's window"), "{fill}");
    assert!(fill.contains("bytes of 256 KiB"), "{fill}");
    let points = fill
        .split("<polyline points=\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no line in {fill}"))
        .split('"')
        .next()
        .unwrap()
        .split(' ')
        .count();
    assert_eq!(points, snapshots);
}

#[test]
fn a_sweep_report_plots_latency_against_throughput_with_each_knee() {
    let dir = common::scratch_dir("report");
    let sweep = dir.join("sweep.json");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["sweep", "--json", "--trial", "200ms"])
        .args([
            "--set",
            "workload.batch=1,16",
            "--set",
            "workload.rate=100k..200k",
        ])
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    std::fs::write(&sweep, &out.stdout).unwrap();
    let html = dir.join("sweep.html");
    let status = Command::new(cargo_bin("ringtop"))
        .args(["report", "--sweep"])
        .arg(&sweep)
        .arg("-o")
        .arg(&html)
        .status()
        .unwrap();
    assert!(status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<svg").count(), 1);
    // Two curves (batch 1 and 16): p50 and p99 of each, and each curve's knee as a dot.
    assert_eq!(page.matches("<polyline").count(), 6, "{page}");
    assert_eq!(page.matches("<circle").count(), 2, "{page}");
    for legend in [
        "p50 workload.batch=1",
        "p99 workload.batch=16",
        "knee workload.batch=16",
    ] {
        assert!(page.contains(legend), "{legend} missing");
    }
    assert_eq!(page.matches(">knee</td>").count(), 2);
    // Each of the four curves runs through both rates of its sweep; each knee is one point.
    let mut sizes: Vec<usize> = page
        .split("<polyline")
        .skip(1)
        .map(|line| {
            let points = line
                .split("points=\"")
                .nth(1)
                .and_then(|p| p.split('"').next());
            points.map_or(0, |p| p.split_whitespace().count())
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [1, 1, 2, 2, 2, 2], "{page}");
    let (pixels, channels) = common::screenshot(&html);
    // Every series' colour is drawn: the lines (colours 0, 1, 3, 4) and the knee dots (2, 5).
    // Each has a 12 × 4 legend swatch, drawn over the lines; a line itself may lie under another
    // series' line where their measured figures match, so what is certain is the swatch.
    for colour in &PALETTE[..6] {
        let drawn = common::pixels_of(&pixels, channels, colour);
        assert!(drawn > 30, "{colour}: {drawn} pixels");
    }
    // A file that is no sweep is refused.
    let status = Command::new(cargo_bin("ringtop"))
        .args(["report", "--sweep"])
        .arg(&html)
        .arg("-o")
        .arg(dir.join("x.html"))
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(2));
}

#[test]
fn an_output_that_cannot_be_a_file_is_a_usage_error_before_anything_is_read() {
    let dir = common::scratch_dir("report-outputs");
    let run = dir.join("run.jsonl");
    let out = Command::new(cargo_bin("ringtop"))
        .args([
            "run",
            "--headless",
            "--builtin",
            "low-latency",
            "--duration",
            "1s",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&run, &out.stdout).unwrap();
    let missing_folder = dir.join("no-such-folder").join("report.html");
    for (output, says) in [
        (
            dir.to_path_buf(),
            "a directory; give a file name (report.html)",
        ),
        (missing_folder, "no-such-folder does not exist"),
    ] {
        let out = report(&run, &output);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{output:?}: {stderr}");
        assert!(stderr.contains(says), "{output:?}: {stderr}");
    }
    // The same run written where a file can go.
    let html = dir.join("report.html");
    let out = report(&run, &html);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(&html).unwrap();
    assert!(written.contains("<svg"));

    // Written again where the file cannot grow past 1 KiB (`ulimit -f 1`, SIGXFSZ ignored so
    // the write fails with EFBIG as on a full disk): an error, and the report written before is
    // still there whole, with no partial file beside it.
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 1; exec "$0" report "$1" -o "$2""#)
        .arg(cargo_bin("ringtop"))
        .arg(&run)
        .arg(&html)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&html).unwrap(), written);
    let beside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("partial"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

/// A link's two ends each report it: the receiver's rows/s are over the time its sender was
/// connected (which the row says, beside the longer time it ran), the sender's round trips.
#[test]
fn both_ends_of_a_link_report_it_and_the_receivers_rate_is_over_the_time_it_was_served() {
    use std::io::BufRead;
    let dir = common::scratch_dir("report-link");
    let mut serve = Command::new(cargo_bin("ringtop"))
        .args(["serve", "--headless", "--once", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut announced = String::new();
    std::io::BufReader::new(serve.stderr.take().unwrap())
        .read_line(&mut announced)
        .unwrap();
    let address = announced.trim().rsplit(' ').next().unwrap().to_owned();
    // The receiver waits for its sender first: time that moved no rows.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = Command::new(cargo_bin("ringtop"))
        .args([
            "run",
            "--headless",
            "--builtin",
            "remote-tcp",
            "--connect",
            &address,
        ])
        .args(["--duration", "1s"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    common::assert_succeeded(&sent);
    let received = serve.wait_with_output().unwrap();
    common::assert_succeeded(&received);

    let page = |name: &str, output: &[u8]| -> (String, serde_json::Value) {
        let run = dir.join(format!("{name}.jsonl"));
        std::fs::write(&run, output).unwrap();
        let html = dir.join(format!("{name}.html"));
        assert!(report(&run, &html).status.success());
        let text = std::str::from_utf8(output).unwrap();
        let summary = serde_json::from_str(text.lines().last().unwrap()).unwrap();
        (std::fs::read_to_string(&html).unwrap(), summary)
    };
    let (page_of_receiver, summary) = page("received", &received.stdout);
    let link = &summary["transport"];
    let connected_s = link["connected_s"].as_f64().unwrap();
    let elapsed_s = summary["elapsed_s"].as_f64().unwrap();
    assert!(connected_s < elapsed_s, "{summary}");
    let consumed = summary["totals"]["consumed"].as_f64().unwrap();
    let row = link_row(&page_of_receiver);
    assert!(row.starts_with("tcp receiver on 127.0.0.1:"), "{row}");
    assert!(
        row.contains(&format!(
            "connected {connected_s:.1} s of {elapsed_s:.1} s: its rows/s are over this time"
        )),
        "{row}"
    );
    assert!(row.contains("1 session, 0 reconnects"), "{row}");
    assert!(row.contains("one-way p50 "), "{row}");
    // The overview's rate is that of the time served.
    let rate: f64 = page_of_receiver
        .split("<tr><th>rows</th><td>")
        .nth(1)
        .unwrap()
        .split(" rows/s")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (rate / (consumed / connected_s) - 1.0).abs() < 1e-4,
        "{rate} rows/s, but {consumed} rows in {connected_s} s"
    );

    let (page_of_sender, sent_summary) = page("sent", &sent.stdout);
    let row = link_row(&page_of_sender);
    assert!(
        row.starts_with(&format!("tcp sender to {address}")),
        "{row}"
    );
    assert!(row.contains("round trip p50 "), "{row}");
    assert!(!row.contains("its rows/s are over"), "{row}");
    // Its rows were consumed at the receiver, as it acknowledged: no consumer of its own.
    assert!(
        page_of_sender.contains(&format!(
            "{} consumed at the receiver (as it acknowledged them)",
            sent_summary["transport"]["rows_acknowledged"]
        )),
        "{page_of_sender}"
    );
    assert!(!page_of_receiver.contains("consumed at the receiver"));
    // The sender times no row: its report says where their latency is, not an empty plot.
    assert!(
        page_of_sender.contains("None here: this end sends, and its rows are timed where"),
        "{page_of_sender}"
    );
    for empty in ["Latency by percentile: nothing", "p99 latency per interval"] {
        assert!(!page_of_sender.contains(empty), "{page_of_sender}");
    }
    assert!(!page_of_receiver.contains("None here: this end sends"));
    // It checks no row: its integrity is the receiver's, which checked every one.
    assert!(
        page_of_sender.contains(
            "<th>integrity</th><td>n/a: a sender's rows are checked where they are received"
        ),
        "{page_of_sender}"
    );
    assert!(
        page_of_receiver.contains("<th>integrity</th><td><span class=\"ok\">every row arrived"),
        "{page_of_receiver}"
    );
    // Its fill is its rows in flight: the ring is the receiver's.
    assert!(page_of_sender.contains("Rows in flight (sent, not yet acknowledged read"));
    assert!(!page_of_sender.contains("Ring fill ("), "{page_of_sender}");
    // Each end runs one side of the codec; the other's time is the far end's, and says so.
    let codec_row = |page: &str| -> Vec<String> {
        let table = page.split("<h2>Compression</h2>").nth(1).unwrap();
        let row = table
            .split("<tr><td>")
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next();
        row.unwrap()
            .split("<td>")
            .map(|cell| cell.trim_end_matches("</td>").to_owned())
            .collect()
    };
    let (received_row, sent_row) = (codec_row(&page_of_receiver), codec_row(&page_of_sender));
    assert_eq!(received_row[5], "n/a (far end)", "{received_row:?}");
    assert!(received_row[6].parse::<f64>().is_ok(), "{received_row:?}");
    assert!(sent_row[5].parse::<f64>().is_ok(), "{sent_row:?}");
    assert_eq!(sent_row[6], "n/a (far end)", "{sent_row:?}");
}

/// A run that timed 500 rows has a p99 but not a p99.9: the threads table says `=max` for the
/// latter, and why, rather than print its slowest row as a tail.
#[test]
fn a_percentile_of_too_few_rows_is_said_to_be_the_max() {
    let dir = common::scratch_dir("report-thin");
    let out = Command::new(cargo_bin("ringtop"))
        .args(["run", "--headless", "--set", "workload.rate=500"])
        .args(["--duration", "1s"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let text = std::str::from_utf8(&out.stdout).unwrap();
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let consumer = &summary["threads"][1];
    let timed = consumer["latency_total_ns"]["count"].as_u64().unwrap();
    assert!((100..1000).contains(&timed), "{consumer}");
    let run = dir.join("slow.jsonl");
    std::fs::write(&run, &out.stdout).unwrap();
    let html = dir.join("slow.html");
    assert!(report(&run, &html).status.success());
    let page = std::fs::read_to_string(&html).unwrap();
    let row = page
        .split("<tr><td>consumer-0</td>")
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    let cells: Vec<&str> = row
        .split("<td>")
        .skip(1)
        .map(|c| c.trim_end_matches("</td>"))
        .collect();
    // CPU, node, rows, rows/s, p50, p99, p99.9, max.
    let p99 = consumer["latency_total_ns"]["p99"].to_string();
    let max = consumer["latency_total_ns"]["max"].to_string();
    assert_eq!(cells[5..], [p99.as_str(), "=max", max.as_str()], "{row}");
    assert!(
        page.contains("=max: fewer rows timed than the percentile needs (100 for p99, 1000"),
        "{page}"
    );
}

/// A receiver no sender reached: its rates are over all of its time (there was no connected
/// time to take them over), and its link row says so rather than "over this time" of 0 s.
#[test]
fn a_receiver_no_sender_reached_says_so_in_its_link_row() {
    use std::io::BufRead;
    let dir = common::scratch_dir("report-unserved");
    let mut serve = common::Reaped::spawn(
        Command::new(cargo_bin("ringtop"))
            .args(["serve", "--headless", "--listen", "127.0.0.1:0"])
            .args(["--interval", "200ms"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
    )
    .unwrap();
    let mut stdout = std::io::BufReader::new(serve.child().stdout.take().unwrap());
    let mut start = String::new();
    stdout.read_line(&mut start).unwrap();
    common::next_of(&mut stdout, "snapshot");
    // Ctrl-C: the receiver prints its summary and ends.
    let status = Command::new("kill")
        .args(["-INT", &serve.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(serve.child().wait().unwrap().success());
    // Its codec is its sender's, which it never learnt: not known, rather than its own `none`.
    let summary: serde_json::Value = serde_json::from_str(rest.lines().last().unwrap()).unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(
        summary["codec"]["name"],
        serde_json::Value::Null,
        "{summary}"
    );
    assert_eq!(summary["codec"]["frames"], 0, "{summary}");
    let run = dir.join("unserved.jsonl");
    std::fs::write(&run, format!("{start}{rest}")).unwrap();
    let html = dir.join("unserved.html");
    common::assert_succeeded(&report(&run, &html));
    let page = std::fs::read_to_string(&html).unwrap();
    let row = link_row(&page);
    assert!(row.contains("0 sessions"), "{row}");
    assert!(row.contains("connected 0.0 s of "), "{row}");
    assert!(row.contains(": no sender connected"), "{row}");
    assert!(!row.contains("its rows/s are over this time"), "{row}");
}
