//! The report of an attachment (`attach --headless` output, finished or not): the watched
//! program, its rings and their endpoints, each endpoint's figures over the attachment and over
//! time, in the same tables and plots as a run's.

use std::fmt::Write;

use serde_json::Value;

use super::charts::{IntervalThreads, c2c_section, percentile_chart, thread_charts, time_chart};
use super::{LatencyOf, page_head, thread_table, warnings_section};
use crate::engine::WarningLog;
use crate::export::compare::Watched;
use crate::export::svg::{Chart, Scale, Series, escape};
use crate::metrics::snapshot::{ProgramSnapshot, ThreadSnapshot, WarningTally};
use crate::topology::c2c::C2cReport;

/// The whole attachment as the report tells it: the summary or, for one that did not finish,
/// its last interval with each endpoint's rate over the attachment until then.
struct WholeAttachment<'a> {
    /// The output.
    watched: &'a Watched,
    /// Whether it printed its summary.
    finished: bool,
    /// The summary, or the last interval with rates over the attachment so far and latency
    /// since the program started (`latency_total_ns`: the attachment's own is in the summary).
    whole: ProgramSnapshot,
    /// The warnings the intervals carried, one per kind and subject.
    warnings: Vec<WarningTally>,
}

impl<'a> WholeAttachment<'a> {
    /// `None` for an output with neither a summary nor an interval: nothing to report.
    fn of(watched: &'a Watched) -> Option<WholeAttachment<'a>> {
        if let Some(summary) = &watched.summary {
            return Some(WholeAttachment {
                watched,
                finished: true,
                whole: summary.clone(),
                warnings: summary
                    .warning_tallies
                    .clone()
                    .unwrap_or_else(|| tally_of_intervals(&watched.intervals)),
            });
        }
        let mut whole = watched.intervals.last()?.clone();
        for thread in &mut whole.threads {
            let (per_s, mb_per_s) = mean_rates(&watched.intervals, &thread.name);
            thread.rows_per_s = per_s;
            thread.mb_per_s = mb_per_s;
        }
        Some(WholeAttachment {
            watched,
            finished: false,
            whole,
            warnings: tally_of_intervals(&watched.intervals),
        })
    }

    /// Each thread's latency over what the report is of: the attachment (its summary), or, for
    /// one that did not finish, since the program started.
    fn latency_of(&self) -> LatencyOf {
        if self.finished {
            |t| t.latency_ns
        } else {
            |t| t.latency_total_ns
        }
    }
}

/// `name`'s items and MB a second over the intervals that have it: each interval's rate weighted
/// by its length (the items it moved over the time they took).
fn mean_rates(intervals: &[ProgramSnapshot], name: &str) -> (f64, f64) {
    let mut seconds = 0.0;
    let (mut items, mut mb) = (0.0, 0.0);
    for interval in intervals {
        if let Some(thread) = interval.threads.iter().find(|t| t.name == name) {
            seconds += interval.interval_s;
            items += thread.rows_per_s * interval.interval_s;
            mb += thread.mb_per_s * interval.interval_s;
        }
    }
    if seconds > 0.0 {
        (items / seconds, mb / seconds)
    } else {
        (0.0, 0.0)
    }
}

/// The warnings `intervals` carried, one per kind and subject in its latest wording (per wording
/// in output from before the lines named them).
fn tally_of_intervals(intervals: &[ProgramSnapshot]) -> Vec<WarningTally> {
    let mut log = WarningLog::default();
    for interval in intervals {
        log.add_lines(
            &interval.warnings,
            &interval.warning_keys,
            interval.elapsed_s,
        );
    }
    log.tallies()
}

/// The report of `watched`, with the core-to-core map when one is given; `None` when it has
/// neither a summary nor an interval to report.
pub fn attachment_html(watched: &Watched, c2c: Option<&C2cReport>) -> Option<String> {
    let whole = WholeAttachment::of(watched)?;
    let summary = &whole.whole;
    let mut page = page_head(&format!("{} (attached)", summary.program.name));
    page.push_str(&overview(&whole));
    page.push_str(&warnings_section(
        &whole.warnings,
        (!whole.finished).then_some(
            "Tallied from the intervals (an attachment that did not finish has no summary), one \
             per endpoint and kind, in its latest wording.",
        ),
    ));
    page.push_str("<h2>Rings</h2>");
    page.push_str(&rings_table(summary));
    page.push_str("<h2>Endpoints</h2>");
    let (threads, last_seen) = with_last_seen_cpus(summary, &watched.intervals);
    page.push_str(&thread_table(
        &threads,
        whole.latency_of(),
        "a consumer with none timed no item while it was watched (a program records latency \
         with <code>monitor::LatencyRecorder</code>)",
    ));
    page.push_str(if whole.finished {
        "<p>Rows are the items each endpoint has moved since its ring was made; rows/s and the \
         latency are over the attachment."
    } else {
        "<p>Rows are the items each endpoint had moved since its ring was made, as of the last \
         interval; rows/s are over the attachment until then, and the latency is since the \
         program started (the latency over the attachment is in its summary, which this output \
         lacks)."
    });
    if last_seen {
        page.push_str(
            " CPU and node: where the thread last ran when an interval last saw it (its thread \
             was gone when watching ended).",
        );
    }
    page.push_str("</p>");
    page.push_str("<h2>Latency distribution</h2>");
    page.push_str(&percentile_chart(&summary.threads, whole.latency_of()).svg());
    page.push_str(if whole.finished {
        "<p>Each consumer's latency over the attachment at the summary's percentiles (p50, p90, \
         p99, p99.9, p99.99, max),"
    } else {
        "<p>Each consumer's latency from the program's start to the last interval, at the \
         percentiles that interval's line gives since the start (p50, p90, p99, p99.9, p99.99, \
         max),"
    });
    page.push_str(
        " from the stamps the program's items carry: it includes whatever the program's stamp \
         includes. Each figure is the top of its histogram bucket, at most 1/16 above the true \
         value.</p>",
    );
    page.push_str("<h2>Over time</h2>");
    let intervals: Vec<IntervalThreads<'_>> = watched
        .intervals
        .iter()
        .map(IntervalThreads::from)
        .collect();
    page.push_str(&thread_charts(&intervals, &summary.threads));
    page.push_str(&fill_over_time(&watched.intervals).svg());
    if let Some(c2c) = c2c {
        page.push_str(&c2c_section(c2c));
    }
    let _ = writeln!(
        page,
        "<p>Made by ringtop {} from {}.</p></body></html>",
        env!("CARGO_PKG_VERSION"),
        escape(&watched.path)
    );
    Some(page)
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
fn overview(whole: &WholeAttachment<'_>) -> String {
    let summary = &whole.whole;
    let program = &summary.program;
    let start = &whole.watched.start;
    let host = &start["host"];
    let text = |v: &Value| v.as_str().map_or("n/a".to_owned(), escape);
    let (lasted, ended) = if whole.finished {
        (
            format!("{:.1} s", summary.elapsed_s),
            summary.ended.as_deref().map_or("n/a".to_owned(), escape),
        )
    } else {
        (
            format!("at least {:.1} s", summary.elapsed_s),
            "<span class=\"bad\">watching did not finish</span> (its output has no \
             program_summary line: attach was killed, or the output was cut); every figure here \
             is as of its last interval"
                .to_owned(),
        )
    };
    let mut html = format!(
        "<table><tr><th>program</th><td>{} (pid {}), started {}</td></tr>\
         <tr><th>watched</th><td>from {} for {lasted}, every {} (the program samples its \
         positions every {} s)</td></tr>\
         <tr><th>ended</th><td>{ended}</td></tr>\
         <tr><th>segment</th><td>{}</td></tr>\
         <tr><th>host</th><td>{} ({}, kernel {}, clocksource {})</td></tr>\
         <tr><th>ringtop</th><td>{}</td></tr>",
        escape(&program.name),
        program.pid,
        escape(&program.started_utc),
        text(&start["started_utc"]),
        interval_in_words(&whole.watched.intervals),
        program.update_interval_s,
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
            ring.ring.capacity_text(),
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
