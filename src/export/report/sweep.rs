//! The sweep's part of a report: p50 and p99 against the rows/s each point delivered, one pair
//! of lines per curve with its knee, and the table of points (`ringtop report --sweep`, alone or
//! beside a run's report).

use std::fmt::Write;

use serde_json::Value;

use super::page_head;
use crate::export::svg::{Chart, Scale, Series, escape};
use crate::metrics::latency::Percentile;
use crate::metrics::snapshot::Totals;
use crate::tune::LatencySpan;

/// A report of a sweep alone (`ringtop report --sweep SWEEP.json`).
pub fn sweep_html(sweep: &Value, source: &str) -> String {
    let mut page = page_head("sweep");
    page.push_str(&sweep_section(sweep));
    let _ = writeln!(
        page,
        "<p>Made by ringtop {} from {}.</p></body></html>",
        env!("CARGO_PKG_VERSION"),
        escape(source)
    );
    page
}

/// Checks that `doc` is what `ringtop sweep --json` prints.
///
/// # Errors
/// What is missing.
pub fn check_sweep(doc: &Value) -> Result<(), String> {
    if doc["kind"] != "sweep" || !doc["sweep"]["points"].is_array() {
        return Err("not a `ringtop sweep --json` document (kind \"sweep\" with points)".into());
    }
    Ok(())
}

/// The sweep's plot (p50 and p99 against the rows/s each point delivered, one pair of lines
/// per curve, each curve's knee as a dot) and its table.
pub(super) fn sweep_section(doc: &Value) -> String {
    let points = doc["sweep"]["points"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // What every point shares is said once (a sweep written before it said so: nothing).
    let shared = doc["sweep"]["shared"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let setting = |kv: &Value| format!("{}={}", kv[0].as_str().unwrap_or("?"), kv[1]);
    let label = |settings: &[Value]| -> String {
        settings
            .iter()
            .filter(|kv| !shared.contains(kv))
            .map(setting)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let curve_of = |p: &Value| -> String {
        let settings = p["settings"].as_array().cloned().unwrap_or_default();
        label(&settings[..settings.len().saturating_sub(1)])
    };
    let mut curves: Vec<String> = Vec::new();
    for p in &points {
        let c = curve_of(p);
        if !curves.contains(&c) {
            curves.push(c);
        }
    }
    let mut series = Vec::new();
    for curve in &curves {
        let name = if curve.is_empty() {
            String::new()
        } else {
            format!(" {curve}")
        };
        let members: Vec<&Value> = points.iter().filter(|p| curve_of(p) == *curve).collect();
        let line = |field: &str| -> Vec<(f64, f64)> {
            members
                .iter()
                .filter_map(|p| {
                    Some((
                        p["outcome"]["rows_per_s"].as_f64()?,
                        p["outcome"][field].as_f64()?,
                    ))
                })
                .collect()
        };
        series.push(Series {
            name: format!("p50{name}"),
            points: line("p50_ns"),
        });
        series.push(Series {
            name: format!("p99{name}"),
            points: line("p99_ns"),
        });
        if let Some(knee) = members.iter().find(|p| p["knee"] == true)
            && let (Some(x), Some(y)) = (
                knee["outcome"]["rows_per_s"].as_f64(),
                knee["outcome"]["p99_ns"].as_f64(),
            )
        {
            series.push(Series {
                name: format!("knee{name}"),
                points: vec![(x, y)],
            });
        }
    }
    // Which latency the points are (a sweep written before it said so: one-way, as a sender's
    // points then had none).
    let round_trips = doc["sweep"]["latency_span"] == "round_trip";
    let chart = Chart {
        title: if round_trips {
            "Round trip against throughput"
        } else {
            "Latency against throughput"
        }
        .into(),
        x_label: "rows/s delivered".into(),
        y_label: "ns".into(),
        x_scale: Scale::Log,
        y_scale: Scale::Log,
        x_ticks: None,
        series,
    };
    let mut out = String::from("<h2>Sweep</h2>");
    out.push_str(&chart.svg());
    if !shared.is_empty() {
        let _ = write!(
            out,
            "<p>Every point: {}.</p>",
            escape(&shared.iter().map(setting).collect::<Vec<_>>().join(" "))
        );
    }
    let _ = write!(
        out,
        "<p>Each point is one run of {} s (after a warm-up); latency is {}. Knee: {}.</p>",
        doc["sweep"]["trial_s"],
        escape(
            if round_trips {
                LatencySpan::RoundTrip
            } else {
                LatencySpan::OneWay
            }
            .words()
        ),
        escape(doc["sweep"]["knee_rule"].as_str().unwrap_or(""))
    );
    // Why no point is a knee, as the sweep said (a sweep written before it said so: nothing).
    if let Some(reason) = doc["sweep"]["no_knee"].as_str() {
        let _ = write!(out, "<p class=\"bad\">No knee: {}.</p>", escape(reason));
    }
    if doc["sweep"]["interrupted"] == true {
        let _ = write!(
            out,
            "<p class=\"bad\">Interrupted: {} of the grid's {} points ran.</p>",
            points.len(),
            doc["sweep"]["planned"]
        );
    }
    // A framed workload's ratio, where any point has frames: what a codec sweep is for.
    let framed = points
        .iter()
        .any(|p| p["outcome"]["codec_ratio"].as_f64().is_some());
    let _ = write!(
        out,
        "<table><tr><th>settings</th><th>rows/s</th><th>p50 ns</th><th>p99 ns</th>{}\
         <th>rate</th><th>rows</th><th>knee</th></tr>",
        if framed { "<th>ratio</th>" } else { "" }
    );
    for p in &points {
        let o = &p["outcome"];
        let rows = if !o["failure"].is_null() {
            format!(
                "<span class=\"bad\">{}</span>",
                escape(o["failure"].as_str().unwrap_or("failed"))
            )
        } else if o["integrity_ok"] == true {
            "<span class=\"ok\">ok</span>".to_owned()
        } else if o["integrity_ok"].is_null() {
            // A sender's point: its rows are checked where they are received.
            Totals::UNCHECKED.to_owned()
        } else {
            "<span class=\"bad\">lost/reordered</span>".to_owned()
        };
        let rate = match o["kept_rate"].as_bool() {
            // A point that never started (no rows/s) kept no rate and ran flat out at none.
            None if o["rows_per_s"].is_null() => "n/a",
            None => "flat out",
            Some(true) => "kept",
            Some(false) => "<span class=\"bad\">behind</span>",
        };
        let settings = p["settings"].as_array().cloned().unwrap_or_default();
        let ratio = match (framed, o["codec_ratio"].as_f64()) {
            (false, _) => String::new(),
            (true, Some(ratio)) => format!("<td>{ratio:.2}×</td>"),
            (true, None) => "<td>n/a</td>".to_owned(),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{ratio}<td>{rate}</td>\
             <td>{rows}</td><td>{}</td></tr>",
            escape(&label(&settings)),
            // Whole rows/s, as `sweep` prints them: a tick label's three decimals would show
            // 1,000,030 as "1M" beside 99,997.7 as "99.998k".
            o["rows_per_s"]
                .as_f64()
                .map_or("n/a".into(), |r| format!("{r:.0}")),
            o["p50_ns"].as_u64().map_or("n/a".into(), |v| v.to_string()),
            p99_cell(o),
            if p["knee"] == true { "knee" } else { "" }
        );
    }
    out.push_str("</table>");
    out
}

/// A point's p99, said to be only the slowest row where fewer than
/// [`P99_SAMPLES`](crate::metrics::latency::P99_SAMPLES) were timed
/// (a sweep written before the count was kept has none, and shows the p99 alone).
fn p99_cell(outcome: &Value) -> String {
    let Some(p99) = outcome["p99_ns"].as_u64() else {
        return "n/a".into();
    };
    match outcome["latency_samples"].as_u64() {
        Some(timed) if Percentile::P99.is_thin(timed) => {
            format!("{p99} <span class=\"bad\">(the slowest of {timed} rows timed)</span>")
        }
        _ => p99.to_string(),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use serde_json::json;

    #[test]
    fn an_interrupted_sweep_says_how_much_of_its_grid_ran() {
        let point = json!({
            "settings": [["workload.rate", 100000]],
            "outcome": {"rows_per_s": 1e5, "p50_ns": 100, "p99_ns": 900,
                        "integrity_ok": true, "failure": null, "cost_s": 0.5},
            "knee": true
        });
        let doc = |interrupted: bool| {
            json!({"kind": "sweep", "sweep": {"trial_s": 0.3, "points": [point.clone()],
                   "planned": 3, "interrupted": interrupted, "knee_rule": "k"}})
        };
        let html = super::sweep_html(&doc(true), "s.json");
        assert!(
            html.contains("Interrupted: 1 of the grid's 3 points ran."),
            "{html}"
        );
        assert!(!super::sweep_html(&doc(false), "s.json").contains("Interrupted"));
    }

    #[test]
    fn the_table_gives_whole_rows_per_s_as_sweep_prints_them() {
        let point = |rate: i64, rows_per_s: f64| {
            json!({
                "settings": [["workload.rate", rate]],
                "outcome": {"rows_per_s": rows_per_s, "p50_ns": 100, "p99_ns": 900,
                            "integrity_ok": true, "failure": null, "cost_s": 0.5},
                "knee": false
            })
        };
        let doc = json!({"kind": "sweep", "sweep": {"trial_s": 0.3,
            "points": [point(100_000, 99_997.7), point(1_000_000, 1_000_030.0)],
            "planned": 2, "interrupted": false, "knee_rule": "k"}});
        let html = super::sweep_html(&doc, "s.json");
        assert!(html.contains("<td>99998</td>"), "{html}");
        assert!(html.contains("<td>1000030</td>"), "{html}");
    }

    /// A sender's sweep plots its link's round trips and says so; any other sweep (and one
    /// written before the sweep said which) its rows' one-way latency.
    #[test]
    fn a_senders_sweep_says_its_latency_is_the_links_round_trip() {
        let point = json!({
            "settings": [["workload.rate", 100000]],
            "outcome": {"rows_per_s": 1e5, "p50_ns": 100, "p99_ns": 900,
                        "integrity_ok": null, "failure": null, "cost_s": 0.5},
            "knee": true
        });
        let doc = |span: Option<&str>| {
            let mut doc = json!({"kind": "sweep", "sweep": {"trial_s": 0.3,
                "points": [point.clone()], "planned": 1, "interrupted": false,
                "knee_rule": "k"}});
            if let Some(span) = span {
                doc["sweep"]["latency_span"] = json!(span);
            }
            doc
        };
        let sender = super::sweep_html(&doc(Some("round_trip")), "s.json");
        assert!(sender.contains("Round trip against throughput"), "{sender}");
        assert!(
            sender.contains("latency is the link's round trip, from each row"),
            "{sender}"
        );
        // What every point shares is said once, and named in no curve.
        let mut shared = doc(Some("round_trip"));
        shared["sweep"]["points"][0]["settings"] = json!([
            ["transport.connect", "10.0.0.1:7471"],
            ["workload.rate", 100000]
        ]);
        shared["sweep"]["shared"] = json!([["transport.connect", "10.0.0.1:7471"]]);
        let html = super::sweep_html(&shared, "s.json");
        assert!(
            html.contains("<p>Every point: transport.connect=&quot;10.0.0.1:7471&quot;.</p>"),
            "{html}"
        );
        assert!(html.contains("<td>workload.rate=100000</td>"), "{html}");
        assert_eq!(html.matches("transport.connect").count(), 1, "{html}");
        for span in [Some("one_way"), None] {
            let local = super::sweep_html(&doc(span), "s.json");
            assert!(local.contains("Latency against throughput"), "{local}");
            assert!(
                local.contains("latency is one-way, from each row"),
                "{local}"
            );
        }
    }

    #[test]
    fn a_p99_of_few_rows_says_it_is_the_slowest_of_them() {
        let outcome = |timed: Option<u64>| json!({"p99_ns": 900, "latency_samples": timed});
        assert_eq!(
            super::p99_cell(&outcome(Some(7))),
            "900 <span class=\"bad\">(the slowest of 7 rows timed)</span>"
        );
        assert_eq!(super::p99_cell(&outcome(Some(100))), "900");
        assert_eq!(super::p99_cell(&outcome(None)), "900");
        assert_eq!(super::p99_cell(&json!({"p99_ns": null})), "n/a");
    }
}
