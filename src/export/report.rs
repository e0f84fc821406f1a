//! `ringtop report RUN.jsonl -o report.html`: one self-contained HTML file to send a person —
//! what ran where, its figures, and SVG plots (latency percentiles per consumer; throughput, p99,
//! CPU share, ring stalls per second and the ring's fill over time; a framed run's codecs; the
//! core-to-core map when one is given), the host check and the resolved profile; or of an
//! attachment's output ([`attachment_html`]). No scripts, no fonts, no fetches: it opens the same
//! anywhere.

use std::collections::BTreeMap;
use std::fmt::Write;

use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::Value;

use super::compare::Recorded;
use super::svg::{Chart, Scale, Series, escape};
use crate::doctor::{Check, DoctorSummary, Status};
use crate::engine::WarningLog;
use crate::metrics::latency::{P99_SAMPLES, P999_SAMPLES, Percentile};
use crate::metrics::snapshot::{
    LatencyNs, LinkRole, RingSnapshot, Role, ThreadSnapshot, Totals, TransportSnapshot,
    WarningTally,
};
use crate::topology::c2c::C2cReport;
use crate::topology::model::format_bytes;

mod attachment;
mod charts;
mod compression;
mod hlog;
mod link;
mod sweep;

pub use attachment::attachment_html;
use charts::{
    IntervalThreads, c2c_section, hlog_chart, percentile_chart, thread_charts, time_chart,
};

use compression::compression_section;
pub use hlog::read_hlog;
use sweep::sweep_section;
pub use sweep::{check_sweep, sweep_html};

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:64em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:0.25em 0.6em;\
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}\
.bad{color:#b00;font-weight:bold}.ok{color:#070}pre{background:#f7f7f7;padding:1em;overflow:auto}\
svg .title{font-size:14px;font-weight:bold}svg .tick,svg .legend{font-size:11px}\
svg .label{font-size:12px}svg .grid{stroke:#e4e4e4;stroke-width:1}\
svg .frame{fill:none;stroke:#999;stroke-width:1}.empty{color:#777;font-style:italic}\
table.checks td,table.checks th{text-align:left}";

/// What a report holds besides the run itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// The core-to-core map, when one was measured.
    pub c2c: Option<&'a C2cReport>,
    /// Each consumer's full latency distribution, when the run wrote an interval log.
    pub hlog: Option<&'a BTreeMap<String, Histogram<u64>>>,
    /// A `ringtop sweep --json` document.
    pub sweep: Option<&'a Value>,
}

/// The page's head and title: the one style every report shares.
fn page_head(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>ringtop report: {title}</title><style>{STYLE}</style></head><body>\
         <h1>ringtop report: {title}</h1>",
        title = escape(title)
    )
}

/// The whole run as the report tells it: the summary's figures or, for a run that did not
/// finish, its last interval's counts since the start, with rates over the time they took.
struct WholeRun<'a> {
    /// Whether the run printed its summary.
    finished: bool,
    /// Seconds it lasted (a run that did not finish: at least).
    elapsed_s: f64,
    profile: &'a str,
    profile_description: &'a str,
    /// Every thread: rows since the start, rows/s over the whole run, latency since the start
    /// (or the last reset); its other figures (unused here) are the last interval's when the
    /// run did not finish.
    threads: Vec<ThreadSnapshot>,
    ring: &'a RingSnapshot,
    /// The link, where the ring is remote.
    transport: Option<&'a TransportSnapshot>,
    /// Rows, integrity counts, rows/s over the whole run (a receiver's: over the time a sender
    /// was connected).
    totals: Totals,
    failure: Option<&'a str>,
    warnings: Vec<WarningTally>,
    /// The warnings were tallied by wording: intervals from before they carried their keys.
    warnings_by_wording: bool,
}

impl<'a> WholeRun<'a> {
    /// `None` for a run with neither a summary nor an interval: nothing to report.
    fn of(run: &'a Recorded) -> Option<WholeRun<'a>> {
        if let Some(summary) = &run.summary {
            return Some(WholeRun {
                finished: true,
                elapsed_s: summary.elapsed_s,
                profile: &summary.profile,
                profile_description: &summary.profile_description,
                threads: summary.threads.clone(),
                ring: &summary.ring,
                transport: summary.transport.as_ref(),
                totals: summary.totals,
                failure: summary.failure.as_deref(),
                warnings: summary.warnings.clone(),
                warnings_by_wording: false,
            });
        }
        let last = run.snapshots.last()?;
        let (warnings, warnings_by_wording) = tally_of_intervals(run);
        // Rates over the time until the last interval, as a summary's: a receiver's over the
        // time a sender was connected in it.
        let served = last
            .transport
            .as_ref()
            .filter(|link| link.role == LinkRole::Receiver)
            .and_then(|link| link.connected_s)
            .filter(|&s| s > 0.0);
        let seconds = served.unwrap_or(last.elapsed_s).max(1e-9);
        let threads = last
            .threads
            .iter()
            .map(|t| ThreadSnapshot {
                rows_per_s: t.rows as f64 / seconds,
                ..t.clone()
            })
            .collect();
        Some(WholeRun {
            finished: false,
            elapsed_s: last.elapsed_s,
            profile: &last.profile,
            profile_description: &last.profile_description,
            threads,
            ring: &last.ring,
            transport: last.transport.as_ref(),
            totals: Totals {
                rows_per_s: last.totals.consumed as f64 / seconds,
                ..last.totals
            },
            failure: None,
            warnings,
            warnings_by_wording,
        })
    }
}

/// A run without a summary has no tally of its warnings: the run's own tally, made again from
/// its intervals, one warning per kind and subject (its latest wording), or per wording for
/// output from before the lines carried their warnings' keys; and whether any was tallied so.
fn tally_of_intervals(run: &Recorded) -> (Vec<WarningTally>, bool) {
    let mut log = WarningLog::default();
    let mut by_wording = false;
    for snapshot in &run.snapshots {
        by_wording |= !log.add_snapshot(snapshot);
    }
    (log.tallies(), by_wording)
}

/// The report of `run`, with what `extras` holds; `None` when the run has neither a summary nor
/// an interval to report.
pub fn html(run: &Recorded, extras: Extras<'_>) -> Option<String> {
    let Extras { c2c, hlog, sweep } = extras;
    let whole = WholeRun::of(run)?;
    let mut page = page_head(whole.profile);
    page.push_str(&overview(run, &whole));
    page.push_str("<h2>Threads</h2>");
    page.push_str(&thread_table(
        &whole.threads,
        |t| t.latency_total_ns,
        "a consumer with none read no rows",
    ));
    page.push_str("<h2>Latency distribution</h2>");
    let sender = run.link_role() == Some(LinkRole::Sender);
    let drawn = hlog.is_some() || !sender;
    match hlog {
        // A sender's consumer is its receiver's, which times the rows: nothing to draw here.
        None if sender => page.push_str(
            "<p>None here: this end sends, and its rows are timed where they are received (the \
             receiver's own output, <code>ringtop serve --headless</code>, has their latency; \
             the link row above has the round trip).</p>",
        ),
        Some(histograms) => {
            page.push_str(&hlog_chart(histograms).svg());
            page.push_str(
                "<p>Each consumer's latency over the whole run, from every sample of the run's \
                 HdrHistogram interval log (HdrHistogram's highest equivalent value at each \
                 percentile, to 0.1 %),",
            );
        }
        None => {
            page.push_str(&percentile_chart(&whole.threads, |t| t.latency_total_ns).svg());
            page.push_str(if whole.finished {
                "<p>Each consumer's latency over the whole run at the summary's percentiles \
                 (p50, p90, p99, p99.9, p99.99, max; <code>--hlog</code> with the run's \
                 interval log draws every percentile),"
            } else {
                "<p>Each consumer's latency from the start to the last interval, at the \
                 percentiles that interval's line gives since the start (p50, p90, p99, p99.9, \
                 p99.99, max; <code>--hlog</code> with the run's interval log draws every \
                 percentile),"
            });
        }
    }
    if drawn {
        page.push_str(
            " from each row's stamp: its scheduled send time when the run is rate-limited, so \
             a stalled consumer cannot hide its own delay.</p>",
        );
    }
    page.push_str("<h2>Over time</h2>");
    let intervals: Vec<IntervalThreads<'_>> =
        run.snapshots.iter().map(IntervalThreads::from).collect();
    page.push_str(&thread_charts(&intervals, &whole.threads));
    page.push_str(&fill_over_time(run, whole.ring).svg());
    if let Some(section) = compression_section(run) {
        page.push_str(&section);
    }
    if let Some(c2c) = c2c {
        page.push_str(&c2c_section(c2c));
    }
    if let Some(sweep) = sweep {
        page.push_str(&sweep_section(sweep));
    }
    page.push_str(&host_check(run));
    page.push_str(if run.commands.is_empty() {
        "<h2>Resolved profile</h2><pre>"
    } else {
        "<h2>Resolved profile, as the run started</h2><pre>"
    });
    page.push_str(&escape(&profile_text(&run.start["resolved_profile"])));
    page.push_str("</pre>");
    let _ = writeln!(
        page,
        "<p>Made by ringtop {} from {}.</p></body></html>",
        env!("CARGO_PKG_VERSION"),
        escape(&run.path)
    );
    Some(page)
}

fn overview(run: &Recorded, whole: &WholeRun) -> String {
    let start = &run.start;
    let host = &start["host"];
    let text = |v: &Value| v.as_str().map_or("n/a".to_owned(), escape);
    let totals = &whole.totals;
    let sender = run.link_role() == Some(LinkRole::Sender);
    // A sender checks no row (output from before its counts were `null` says 0 for them).
    let checked = if sender { None } else { totals.integrity_ok() };
    let integrity = match (checked, whole.finished) {
        (None, _) => "n/a: a sender's rows are checked where they are received (the \
                      receiver's output has the counts)"
            .to_owned(),
        (Some(true), true) => {
            "<span class=\"ok\">every row arrived once, in order</span>".to_owned()
        }
        (Some(true), false) => "<span class=\"ok\">none lost, duplicated or reordered up to its \
                                last interval</span> (rows still in the ring then were never \
                                checked)"
            .to_owned(),
        (Some(false), _) => format!(
            "<span class=\"bad\">{}</span>",
            totals.integrity_counts(", ")
        ),
    };
    let lasted = if whole.finished {
        format!("{:.1} s", whole.elapsed_s)
    } else {
        format!(
            "at least {:.1} s: <span class=\"bad\">the run did not finish</span> (its output \
             has no summary line: it was killed, or the output was cut); every figure here is as \
             of its last interval, rates over the time until then",
            whole.elapsed_s,
        )
    };
    // A broadcast ring's consumers each read every row: its counts and rate are of reads.
    let consumers = whole.ring.readers_of_each_row(&whole.threads);
    let (consumed, read) = if consumers > 1 {
        (
            format!(
                "{} consumed (each row by all {consumers} consumers)",
                totals.consumed
            ),
            " read",
        )
    } else if sender {
        // A sender's consumer is its receiver's: what it acknowledged is what was consumed.
        (
            format!(
                "{} consumed at the receiver (as it acknowledged them)",
                totals.consumed
            ),
            "",
        )
    } else {
        (format!("{} consumed", totals.consumed), "")
    };
    let link = whole
        .transport
        .map_or_else(String::new, |link| link::link_row(link, whole.elapsed_s));
    let mut html = format!(
        "<table><tr><th>started</th><td>{}</td></tr>\
         <tr><th>lasted</th><td>{lasted}</td></tr>\
         <tr><th>profile</th><td>{} — {}</td></tr>\
         <tr><th>host</th><td>{} ({}, kernel {}, clocksource {})</td></tr>\
         <tr><th>ringtop</th><td>{}</td></tr>\
         <tr><th>rows</th><td>{}, {consumed}, {:.0} rows/s{read}</td></tr>\
         {link}<tr><th>integrity</th><td>{integrity}</td></tr>",
        text(&start["started_utc"]),
        escape(whole.profile),
        escape(whole.profile_description),
        text(&host["hostname"]),
        text(&host["cpu_model"]),
        text(&host["kernel"]),
        text(&host["clocksource"]),
        text(&start["ringtop_version"]),
        totals.produced.map_or_else(
            || "produced n/a (a receiver: its sender counts them)".to_owned(),
            |n| format!("{n} produced")
        ),
        totals.rows_per_s,
    );
    if let Some(failure) = whole.failure {
        let _ = write!(
            html,
            "<tr><th>failure</th><td class=\"bad\">{}</td></tr>",
            escape(failure)
        );
    }
    if !run.commands.is_empty() {
        let said: Vec<String> = run.commands.iter().map(|c| escape(&c.describe())).collect();
        let _ = write!(
            html,
            "<tr><th>changed</th><td>while it ran (the whole-run figures mix before and after; \
             the resolved profile below is as it started): {}</td></tr>",
            said.join("; ")
        );
    }
    html.push_str("</table>");
    let note = if whole.warnings_by_wording {
        Some(
            "Each wording the intervals carried (a run that did not finish has no summary, and \
             these intervals do not name each warning's thread and kind).",
        )
    } else if !whole.finished {
        Some(
            "Tallied from the intervals (a run that did not finish has no summary), one per \
             thread and kind, in its latest wording.",
        )
    } else {
        None
    };
    html.push_str(&warnings_section(&whole.warnings, note));
    html
}

/// The warnings an output tallied, each with how many intervals carried it and when, under
/// `note`; nothing when there were none.
fn warnings_section(tallies: &[WarningTally], note: Option<&str>) -> String {
    if tallies.is_empty() {
        return String::new();
    }
    let mut html = String::from("<h2>Warnings</h2>");
    if let Some(note) = note {
        let _ = write!(html, "<p>{note}</p>");
    }
    html.push_str("<table><tr><th>warning</th><th>times</th><th>first s</th><th>last s</th></tr>");
    for w in tallies {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td></tr>",
            escape(&w.warning),
            w.count,
            w.first_s,
            w.last_s
        );
    }
    html.push_str("</table>");
    html
}

/// A thread's latency over the span a report's table and percentile plot are of.
pub(super) type LatencyOf = fn(&ThreadSnapshot) -> Option<LatencyNs>;

/// Every thread's CPU, node, rows, rate and `latency`; why a consumer has none, in words, for
/// the note under the table.
fn thread_table(
    threads: &[ThreadSnapshot],
    latency_of: LatencyOf,
    consumer_without: &str,
) -> String {
    let mut html = String::from(
        "<table><tr><th>thread</th><th>CPU</th><th>node</th><th>rows</th><th>rows/s</th>\
         <th>p50 ns</th><th>p99 ns</th><th>p99.9 ns</th><th>max ns</th></tr>",
    );
    let or_na = |v: Option<String>| v.unwrap_or_else(|| "n/a".to_owned());
    let mut thin = false;
    for t in threads {
        let l = latency_of(t);
        // A percentile of fewer rows than it needs is the slowest of them: said, not passed off
        // as a tail.
        let mut latency = |figure: Percentile| {
            or_na(l.as_ref().map(|l| {
                if figure.is_thin(l.count) {
                    thin = true;
                    "=max".to_owned()
                } else {
                    figure.of(l).to_string()
                }
            }))
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&t.name),
            or_na(t.cpu.map(|c| c.to_string())),
            or_na(t.node.map(|n| n.to_string())),
            t.rows,
            t.rows_per_s,
            latency(Percentile::P50),
            latency(Percentile::P99),
            latency(Percentile::P999),
            latency(Percentile::Max),
        );
    }
    html.push_str("</table>");
    let unmeasured = |role: Role| {
        threads
            .iter()
            .any(|t| t.role == role && latency_of(t).is_none())
    };
    let mut why = Vec::new();
    if unmeasured(Role::Producer) {
        why.push("a row's latency is taken where it is consumed, so producers have none");
    }
    if unmeasured(Role::Consumer) {
        why.push(consumer_without);
    }
    if !why.is_empty() {
        let _ = write!(html, "<p>n/a: {}.</p>", why.join("; "));
    }
    if thin {
        let _ = write!(
            html,
            "<p>=max: fewer rows timed than the percentile needs ({P99_SAMPLES} for p99, \
             {P999_SAMPLES} for p99.9), so it is the slowest of them.</p>"
        );
    }
    html
}

/// The ring's fill at each interval's end: one line, in rows, or on a receiver, which knows no
/// rows before it decodes them, in bytes of its window; on a sender, its rows in flight.
fn fill_over_time(run: &Recorded, ring: &RingSnapshot) -> Chart {
    let in_rows = run
        .snapshots
        .iter()
        .any(|s| s.ring.occupancy_rows.is_some());
    let sender = run.link_role() == Some(LinkRole::Sender);
    let (title, unit) = if !in_rows {
        (
            "Ring fill (bytes of the receiver's window written, not yet read, at each \
             interval's end)",
            format!(
                "bytes of {}",
                ring.window_bytes()
                    .map_or_else(|| "n/a".to_owned(), format_bytes)
            ),
        )
    } else if sender {
        // The ring is the receiver's: what this end knows is what it sent and is not yet told
        // was read.
        (
            "Rows in flight (sent, not yet acknowledged read by the receiver, at each interval's \
             end)",
            "rows".to_owned(),
        )
    } else if ring.framed {
        // A framed ring's compressed frames can hold more rows than it has slots.
        (FILL_IN_ROWS, "rows".to_owned())
    } else {
        (
            FILL_IN_ROWS,
            format!("rows of {} slots", ring.capacity_text()),
        )
    };
    let fill = Series {
        name: ring.kind.clone(),
        points: run
            .snapshots
            .iter()
            .filter_map(|s| {
                let fill = if in_rows {
                    s.ring.occupancy_rows
                } else {
                    s.ring.occupancy_bytes
                };
                Some((s.elapsed_s, fill? as f64))
            })
            .collect(),
    };
    time_chart(title, unit, Scale::Linear, vec![fill])
}

/// The fill chart's title where it counts rows.
const FILL_IN_ROWS: &str = "Ring fill (rows written, not yet read, at each interval's end)";

fn host_check(run: &Recorded) -> String {
    let mut html = String::from("<h2>Host check</h2>");
    let Ok(check) = DoctorSummary::deserialize(&run.start["host_check"]) else {
        html.push_str("<p class=\"empty\">Not run: the CPUs could not be planned.</p>");
        return html;
    };
    let _ = write!(
        html,
        "<p>{} ok, {} warn, {} fail, {} not available (<code>ringtop doctor</code> for the CPUs \
         this run used).</p>",
        check.ok, check.warn, check.fail, check.not_available
    );
    // Every check with what it saw and its fix, where the run recorded them; a run from before
    // they were recorded names the checks needing attention.
    if let Ok(checks) = Vec::<Check>::deserialize(&run.start["host_checks"])
        && !checks.is_empty()
    {
        html.push_str(
            "<table class=\"checks\"><tr><th>verdict</th><th>check</th><th>what was seen</th>\
             <th>fix</th></tr>",
        );
        for c in &checks {
            let class = if c.status >= Status::Warn {
                " class=\"bad\""
            } else {
                ""
            };
            let _ = write!(
                html,
                "<tr><td{class}>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.status.word(),
                escape(&c.name),
                escape(&c.evidence),
                c.fix.as_deref().map_or_else(String::new, escape)
            );
        }
        html.push_str("</table>");
        return html;
    }
    let (failing, warning) = check.needing_attention();
    if !check.attention.is_empty() {
        html.push_str("<p>Needing attention:</p><ul>");
        let verdicts = failing.iter().map(|name| (name, "fail"));
        for (name, verdict) in verdicts.chain(warning.iter().map(|name| (name, "warn"))) {
            let _ = write!(html, "<li>{}: {verdict}</li>", escape(name));
        }
        html.push_str("</ul>");
    }
    html
}

/// The profile as TOML (what a person would write), or as JSON when TOML cannot hold it.
fn profile_text(profile: &Value) -> String {
    toml::to_string_pretty(profile)
        .unwrap_or_else(|_| serde_json::to_string_pretty(profile).unwrap_or_default())
}
