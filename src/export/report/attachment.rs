//! The report of an attachment (`attach --headless` output): the watched program, its rings and
//! their endpoints, each endpoint's figures over the attachment and over time, in the same tables
//! and plots as a run's.

use std::fmt::Write;

use serde_json::Value;

use super::charts::{IntervalThreads, c2c_section, percentile_chart, thread_charts, time_chart};
use super::{page_head, thread_table, warnings_section};
use crate::export::compare::Attachment;
use crate::export::svg::{Chart, Scale, Series, escape};
use crate::metrics::snapshot::{ProgramSnapshot, ThreadSnapshot};
use crate::topology::c2c::C2cReport;

/// The report of `attachment`, with the core-to-core map when one is given.
pub fn attachment_html(attachment: &Attachment, c2c: Option<&C2cReport>) -> String {
    let summary = &attachment.summary;
    let mut page = page_head(&format!("{} (attached)", summary.program.name));
    page.push_str(&overview(attachment));
    page.push_str(&warnings_section(
        summary.warning_tallies.as_deref().unwrap_or(&[]),
        None,
    ));
    page.push_str("<h2>Rings</h2>");
    page.push_str(&rings_table(summary));
    page.push_str("<h2>Endpoints</h2>");
    let (threads, last_seen) = with_last_seen_cpus(summary, &attachment.intervals);
    page.push_str(&thread_table(
        &threads,
        |t| t.latency_ns,
        "a consumer with none timed no item while it was watched (a program records latency \
         with <code>monitor::LatencyRecorder</code>)",
    ));
    page.push_str(
        "<p>Rows are the items each endpoint has moved since its ring was made; rows/s and the \
         latency are over the attachment.",
    );
    if last_seen {
        page.push_str(
            " CPU and node: where the thread last ran when an interval last saw it (its thread \
             was gone when watching ended).",
        );
    }
    page.push_str("</p>");
    page.push_str("<h2>Latency distribution</h2>");
    page.push_str(&percentile_chart(&summary.threads, |t| t.latency_ns).svg());
    page.push_str(
        "<p>Each consumer's latency over the attachment at the summary's percentiles (p50, p90, \
         p99, p99.9, p99.99, max), from the stamps the program's items carry: it includes \
         whatever the program's stamp includes. Each figure is the top of its histogram bucket, \
         at most 1/16 above the true value.</p>",
    );
    page.push_str("<h2>Over time</h2>");
    let intervals: Vec<IntervalThreads<'_>> = attachment
        .intervals
        .iter()
        .map(IntervalThreads::from)
        .collect();
    page.push_str(&thread_charts(&intervals, &summary.threads));
    page.push_str(&fill_over_time(&attachment.intervals).svg());
    if let Some(c2c) = c2c {
        page.push_str(&c2c_section(c2c));
    }
    let _ = writeln!(
        page,
        "<p>Made by ringtop {} from {}.</p></body></html>",
        env!("CARGO_PKG_VERSION"),
        escape(&attachment.path)
    );
    page
}

/// The summary's threads, each without a CPU (its thread was gone by the end: the program
/// exited) given the CPU and node the latest interval that knew them saw; whether any was.
fn with_last_seen_cpus(
    summary: &ProgramSnapshot,
    intervals: &[ProgramSnapshot],
) -> (Vec<ThreadSnapshot>, bool) {
    let mut last_seen = false;
    let threads = summary
        .threads
        .iter()
        .map(|thread| {
            let mut thread = thread.clone();
            if thread.cpu.is_none()
                && let Some(seen) = intervals
                    .iter()
                    .rev()
                    .filter_map(|s| s.threads.iter().find(|t| t.name == thread.name))
                    .find(|t| t.cpu.is_some())
            {
                thread.cpu = seen.cpu;
                thread.node = seen.node;
                last_seen = true;
            }
            thread
        })
        .collect();
    (threads, last_seen)
}

/// What was watched, where, and how watching ended.
fn overview(attachment: &Attachment) -> String {
    let summary = &attachment.summary;
    let program = &summary.program;
    let start = &attachment.start;
    let host = &start["host"];
    let text = |v: &Value| v.as_str().map_or("n/a".to_owned(), escape);
    let mut html = format!(
        "<table><tr><th>program</th><td>{} (pid {}), started {}</td></tr>\
         <tr><th>watched</th><td>from {} for {:.1} s, every {} (the program samples its \
         positions every {} s)</td></tr>\
         <tr><th>ended</th><td>{}</td></tr>\
         <tr><th>segment</th><td>{}</td></tr>\
         <tr><th>host</th><td>{} ({}, kernel {}, clocksource {})</td></tr>\
         <tr><th>ringtop</th><td>{}</td></tr>",
        escape(&program.name),
        program.pid,
        escape(&program.started_utc),
        text(&start["started_utc"]),
        summary.elapsed_s,
        interval_in_words(&attachment.intervals),
        program.update_interval_s,
        summary.ended.as_deref().map_or("n/a".to_owned(), escape),
        escape(&program.segment),
        text(&host["hostname"]),
        text(&host["cpu_model"]),
        text(&host["kernel"]),
        text(&host["clocksource"]),
        text(&start["ringtop_version"]),
    );
    if !summary.skipped.is_empty() {
        let skipped: Vec<String> = summary.skipped.iter().map(|s| escape(s)).collect();
        let _ = write!(
            html,
            "<tr><th>not believed</th><td class=\"bad\">{}</td></tr>",
            skipped.join("; ")
        );
    }
    html.push_str("</table>");
    html
}

/// How often the intervals came: the median of their lengths.
fn interval_in_words(intervals: &[ProgramSnapshot]) -> String {
    let mut lengths: Vec<f64> = intervals.iter().map(|s| s.interval_s).collect();
    lengths.sort_by(f64::total_cmp);
    lengths
        .get(lengths.len() / 2)
        .map_or("n/a (no interval)".to_owned(), |s| format!("{s:.2} s"))
}

/// Each ring: its kind, size, what went through it, how far behind each consumer was at the end,
/// and where its pages are.
fn rings_table(summary: &ProgramSnapshot) -> String {
    let mut html = String::from(
        "<table><tr><th>ring</th><th>kind</th><th>capacity</th><th>item bytes</th>\
         <th>produced</th><th>lag</th><th>memory</th></tr>",
    );
    for ring in &summary.rings {
        let lag: Vec<String> = ring.lag.iter().map(u64::to_string).collect();
        let _ = write!(
            html,
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            escape(&ring.name),
            if ring.closed { " (dropped)" } else { "" },
            escape(&ring.ring.kind),
            ring.ring.capacity,
            ring.item_bytes,
            ring.produced,
            lag.join(", "),
            ring.ring
                .memory_summary
                .as_deref()
                .map_or("n/a".to_owned(), escape),
        );
    }
    html.push_str("</table>");
    html
}

/// Each ring's fill at each interval's end: a line per ring.
fn fill_over_time(intervals: &[ProgramSnapshot]) -> Chart {
    let names: Vec<&str> = intervals
        .last()
        .map(|s| s.rings.iter().map(|r| r.name.as_str()).collect())
        .unwrap_or_default();
    let series = names
        .iter()
        .map(|name| Series {
            name: (*name).to_owned(),
            points: intervals
                .iter()
                .filter_map(|s| {
                    let ring = s.rings.iter().find(|r| r.name == *name)?;
                    Some((s.elapsed_s, ring.ring.occupancy_rows? as f64))
                })
                .collect(),
        })
        .collect();
    time_chart(
        "Ring fill (items written, not yet read, at each interval's end)",
        "items".to_owned(),
        Scale::Linear,
        series,
    )
}
