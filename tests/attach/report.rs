//! `ringtop report` of an attachment to a real program: its tables hold the summary's figures
//! (latency over the attachment, as its rates are), a fill line per ring with a point per
//! interval, headless Chromium draws the plots, and options an attachment has nothing for are
//! refused. One cut before its summary is reported as of its last interval, saying so.

use ringtop::export::svg::PALETTE;
use serde_json::Value;

use super::common;
use super::{lines, ringtop, watched_pipeline};

/// `page` has a row for endpoint `thread`: its items, `rate` and the percentiles of `latency`
/// (`n/a` where it has none).
fn assert_endpoint_row(page: &str, thread: &Value, rate: f64, latency: &Value) {
    let cell = |key: &str| {
        latency[key]
            .as_u64()
            .map_or("n/a".to_owned(), |v| v.to_string())
    };
    let row = format!(
        "<td>{}</td><td>{rate:.0}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        thread["rows"],
        cell("p50"),
        cell("p99"),
        cell("p999"),
        cell("max")
    );
    let name = thread["name"].as_str().unwrap();
    assert!(
        page.contains(&format!("<tr><td>{name}</td>")) && page.contains(&row),
        "no row {row} for {name}"
    );
}

#[test]
fn an_attachments_report_has_its_rings_endpoints_and_plots() {
    let (dir, stdout) = watched_pipeline("reported");
    let lines = lines(&stdout);
    let scratch = common::scratch_dir("attach-report");
    let output = scratch.join("attached.jsonl");
    std::fs::write(&output, &stdout).unwrap();
    let html = scratch.join("attached.html");
    let out = ringtop(&dir)
        .arg("report")
        .arg(&output)
        .arg("-o")
        .arg(&html)
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let page = std::fs::read_to_string(&html).unwrap();
    for fetch in ["src=", "href=", "@import", "url(", "<script"] {
        assert!(!page.contains(fetch), "the report fetches: {fetch}");
    }
    assert!(page.contains("<h1>ringtop report: reported (attached)</h1>"));

    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "program_summary");
    // Each endpoint's row: its items and rate, and the latency over the attachment (`latency_ns`),
    // not since the program started.
    for thread in summary["threads"].as_array().unwrap() {
        let rate = thread["rows_per_s"].as_f64().unwrap();
        assert_endpoint_row(&page, thread, rate, &thread["latency_ns"]);
    }
    // Each ring's kind, capacity, item size and count.
    for ring in summary["rings"].as_array().unwrap() {
        let row = format!(
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            ring["ring"]["kind"].as_str().unwrap(),
            ring["ring"]["capacity"],
            ring["item_bytes"],
            ring["produced"]
        );
        assert!(page.contains(&row), "no {row}");
    }

    // The percentile plot, four charts of the endpoints, and the rings' fill.
    assert_eq!(page.matches("<svg").count(), 6, "charts");
    let intervals = lines.iter().filter(|l| l["type"] == "program").count();
    let fill = page
        .split("<svg")
        .find(|svg| svg.contains("Ring fill"))
        .expect("a fill chart");
    let points: Vec<usize> = fill
        .split("<polyline points=\"")
        .skip(1)
        .map(|p| p.split('"').next().unwrap().split(' ').count())
        .collect();
    assert_eq!(
        points,
        vec![intervals; 2],
        "a line per ring, a point per interval"
    );

    // Four endpoints: the first four colours are drawn.
    let (pixels, channels) = common::screenshot(&html);
    for colour in &PALETTE[..4] {
        let drawn = common::pixels_of(&pixels, channels, colour);
        assert!(
            drawn > 200,
            "{colour}: {drawn} pixels: the plots are missing"
        );
    }

    // Cut before its summary (attach SIGKILLed): as of the last interval, saying so.
    let cut = scratch.join("cut.jsonl");
    let program_lines: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "program").collect();
    let text = String::from_utf8_lossy(&stdout);
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"type\":\"program_summary\""))
        .collect();
    assert_eq!(kept.len() + 1, text.lines().count());
    std::fs::write(&cut, kept.join("\n") + "\n").unwrap();
    let cut_html = scratch.join("cut.html");
    let out = ringtop(&dir)
        .arg("report")
        .arg(&cut)
        .arg("-o")
        .arg(&cut_html)
        .output()
        .unwrap();
    common::assert_succeeded(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "no program_summary line: watching did not finish (or its output was cut); the \
             report says so, and gives its {} intervals",
            program_lines.len()
        )),
        "{stderr}"
    );
    let page = std::fs::read_to_string(&cut_html).unwrap();
    assert!(
        page.contains("watching did not finish"),
        "no word of the cut"
    );
    // Each endpoint: its items as of the last interval, its rate over the intervals (each
    // weighted by its length), and its latency since the program started: the last line's.
    let last = program_lines.last().unwrap();
    for thread in last["threads"].as_array().unwrap() {
        let name = thread["name"].as_str().unwrap();
        let (mut items, mut seconds) = (0.0, 0.0);
        for line in &program_lines {
            let of = line["threads"].as_array().unwrap();
            if let Some(t) = of.iter().find(|t| t["name"] == name) {
                let interval = line["interval_s"].as_f64().unwrap();
                items += t["rows_per_s"].as_f64().unwrap() * interval;
                seconds += interval;
            }
        }
        assert_endpoint_row(&page, thread, items / seconds, &thread["latency_total_ns"]);
    }
    assert_eq!(page.matches("<svg").count(), 6, "charts of the cut one");
    // With not one interval there is nothing to report: refused, nothing written.
    let bare = scratch.join("bare.jsonl");
    std::fs::write(&bare, format!("{}\n", kept[0])).unwrap();
    let out = ringtop(&dir)
        .arg("report")
        .arg(&bare)
        .arg("-o")
        .arg(scratch.join("bare.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("and not one interval: nothing to report"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!scratch.join("bare.html").exists());

    // No interval log or sweep is made of an attachment: refused, saying so.
    let out = ringtop(&dir)
        .arg("report")
        .arg(&output)
        .arg("-o")
        .arg(scratch.join("with-log.html"))
        .arg("--hlog")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("attached.jsonl is `attach --headless` output: its report takes --c2c"),
        "{stderr}"
    );
    assert!(!scratch.join("with-log.html").exists());
}
