//! The report's plots: latency by percentile, each thread's figures over time, the core-to-core
//! map.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use super::LatencyOf;
use crate::export::svg::{self, Chart, Scale, Series};
use crate::metrics::rates::endpoint_rates;
use crate::metrics::snapshot::{ProgramSnapshot, Role, Snapshot, ThreadSnapshot, thread_index};
use crate::topology::c2c::C2cReport;

/// The HdrHistogram-style plot: latency against the percentile, on a log axis of 1 ÷ (1 − p).
pub(super) fn percentile_chart(threads: &[ThreadSnapshot], latency_of: LatencyOf) -> Chart {
    let position = |p: f64| 1.0 / (1.0 - p);
    let series = threads
        .iter()
        .filter(|t| t.role == Role::Consumer)
        .filter_map(|t| {
            let l = latency_of(t)?;
            let mut points = vec![
                (position(0.5), l.p50 as f64),
                (position(0.9), l.p90 as f64),
                (position(0.99), l.p99 as f64),
                (position(0.999), l.p999 as f64),
                (position(0.9999), l.p9999 as f64),
            ];
            // The largest sample is the 1 − 1/count percentile.
            if l.count as f64 > position(0.9999) {
                points.push((l.count as f64, l.max as f64));
            }
            Some(Series {
                name: t.name.clone(),
                points,
            })
        })
        .collect();
    Chart {
        series,
        ..percentile_chart_axes()
    }
}

/// The percentile chart without its lines: a log axis of 1 ÷ (1 − p), labelled in percent.
fn percentile_chart_axes() -> Chart {
    let position = |p: f64| 1.0 / (1.0 - p);
    let ticks = [
        (0.5, "50%"),
        (0.9, "90%"),
        (0.99, "99%"),
        (0.999, "99.9%"),
        (0.9999, "99.99%"),
        (0.99999, "99.999%"),
        (0.999999, "99.9999%"),
    ];
    Chart {
        title: "Latency by percentile".into(),
        x_label: "percentile".into(),
        y_label: "latency, ns".into(),
        x_scale: Scale::Log,
        y_scale: Scale::Log,
        x_ticks: Some(
            ticks
                .iter()
                .map(|(p, label)| (position(*p), (*label).to_owned()))
                .collect(),
        ),
        series: Vec::new(),
    }
}

/// The percentile plot from full histograms: 20 points a decade of 1 ÷ (1 − p), then the max.
pub(super) fn hlog_chart(histograms: &BTreeMap<String, Histogram<u64>>) -> Chart {
    let series = histograms
        .iter()
        .filter(|(_, h)| !h.is_empty())
        .map(|(tag, h)| {
            let count = h.len() as f64;
            let mut points: Vec<(f64, f64)> = (6..=120)
                .map(|k| 10f64.powf(f64::from(k) / 20.0))
                .take_while(|x| *x < count)
                .map(|x| (x, h.value_at_quantile(1.0 - 1.0 / x) as f64))
                .collect();
            points.push((count.max(2.0), h.max() as f64));
            Series {
                name: tag.clone(),
                points,
            }
        })
        .collect();
    Chart {
        series,
        ..percentile_chart_axes()
    }
}

/// One interval's threads, as the charts over time read them.
pub(super) struct IntervalThreads<'a> {
    /// Seconds since the start, at its end.
    pub(super) elapsed_s: f64,
    /// Seconds it covers.
    pub(super) interval_s: f64,
    /// Its threads.
    pub(super) threads: &'a [ThreadSnapshot],
}

impl<'a> From<&'a Snapshot> for IntervalThreads<'a> {
    fn from(snapshot: &'a Snapshot) -> Self {
        IntervalThreads {
            elapsed_s: snapshot.elapsed_s,
            interval_s: snapshot.interval_s,
            threads: &snapshot.threads,
        }
    }
}

impl<'a> From<&'a ProgramSnapshot> for IntervalThreads<'a> {
    fn from(snapshot: &'a ProgramSnapshot) -> Self {
        IntervalThreads {
            elapsed_s: snapshot.elapsed_s,
            interval_s: snapshot.interval_s,
            threads: &snapshot.threads,
        }
    }
}

/// Each thread's throughput, p99 (consumers; no chart where none runs here), CPU share and
/// stalls per second at each of `intervals`, a chart each, a line per thread of `threads` (the
/// whole span's).
pub(super) fn thread_charts(
    intervals: &[IntervalThreads<'_>],
    threads: &[ThreadSnapshot],
) -> String {
    // Each interval's ring rates, once: every thread's come from the same two intervals.
    let stall_rates: Vec<_> = intervals
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let previous = i.checked_sub(1).map(|p| intervals[p].threads);
            endpoint_rates(previous, s.threads, s.interval_s)
        })
        .collect();
    let thread = |s: usize, t: usize| &intervals[s].threads[t];
    // Each chart: its title, unit, scale, the figure, and whether only consumers have it.
    let charts: [(&str, &str, Scale, Pick<'_>, bool); 4] = [
        (
            "Throughput",
            "rows/s",
            Scale::Linear,
            &|s, t| Some(thread(s, t).rows_per_s),
            false,
        ),
        (
            "p99 latency per interval",
            "ns",
            Scale::Log,
            &|s, t| Some(thread(s, t).latency_ns?.p99 as f64),
            true,
        ),
        (
            "CPU share (time on a CPU ÷ interval)",
            "%",
            Scale::Linear,
            &|s, t| Some(thread(s, t).scheduling.as_ref()?.ran_share * 100.0),
            false,
        ),
        (
            "Ring stalls per second (a producer's: ring full; a consumer's: ring empty)",
            "stalls/s",
            Scale::Linear,
            &|s, t| Some(stall_rates[s][t]?.stalls_per_s),
            false,
        ),
    ];
    charts
        .into_iter()
        .map(|(title, unit, scale, pick, consumers_only)| {
            let names: Vec<&str> = threads
                .iter()
                .filter(|t| !consumers_only || t.role == Role::Consumer)
                .map(|t| t.name.as_str())
                .collect();
            // No consumer here (a link's sender): its latency section says where they are.
            if consumers_only && names.is_empty() {
                return String::new();
            }
            over_time(intervals, &names, title, unit, scale, pick).svg()
        })
        .collect()
}

/// A thread's figure in an interval, given the interval's index and the thread's in it.
type Pick<'a> = &'a dyn Fn(usize, usize) -> Option<f64>;

/// A line per thread of `names` of `pick`'s figure at each interval.
fn over_time(
    intervals: &[IntervalThreads<'_>],
    names: &[&str],
    title: &str,
    unit: &str,
    y_scale: Scale,
    pick: Pick<'_>,
) -> Chart {
    let series = names
        .iter()
        .map(|name| {
            let mut at = 0;
            Series {
                name: (*name).to_owned(),
                points: intervals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| {
                        at = thread_index(s.threads, name, at)?;
                        Some((s.elapsed_s, pick(i, at)?))
                    })
                    .collect(),
            }
        })
        .collect();
    time_chart(title, unit.to_owned(), y_scale, series)
}

/// The core-to-core map as a heatmap, with its heading.
pub(super) fn c2c_section(c2c: &C2cReport) -> String {
    let labels: Vec<String> = c2c.cpus.iter().map(|c| format!("CPU {c}")).collect();
    format!(
        "<h2>Core-to-core round trip</h2>{}",
        svg::heatmap(
            "Median round trip of a cache line between two CPUs",
            &labels,
            &c2c.rtt_ns,
            "ns",
        )
    )
}

/// A chart of figures against the seconds since the run's start; series without a point are
/// left out.
pub(super) fn time_chart(title: &str, unit: String, y_scale: Scale, series: Vec<Series>) -> Chart {
    Chart {
        title: title.to_owned(),
        x_label: "seconds since the start".into(),
        y_label: unit,
        x_scale: Scale::Linear,
        y_scale,
        x_ticks: None,
        series: series
            .into_iter()
            .filter(|s| !s.points.is_empty())
            .collect(),
    }
}
