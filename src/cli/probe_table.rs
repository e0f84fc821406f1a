//! The plain-text table `ringtop probe` prints: presentation, kept with the command line.

use ringtop::engine::probe::ProbeReport;
use ringtop::metrics::LatencySummary;
use ringtop::metrics::human::{format_ns, format_rate};
use ringtop::metrics::latency::{
    P90_SAMPLES, P99_SAMPLES, P999_SAMPLES, P9999_SAMPLES, Percentile,
};
use ringtop::metrics::snapshot::LatencyNs;
use ringtop::topology::AllocationReport;
use ringtop::words::counted;

/// Follows a percentile that stands on fewer samples than it needs.
const THIN_MARK: char = '*';

/// Renders a report as the plain-text table `ringtop probe` prints.
pub(crate) fn render_table(report: &ProbeReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let t = &report.throughput;
    let _ = writeln!(
        out,
        "ringtop probe: SPSC ring of {} rows, producer on CPU {}, consumer on CPU {}{}",
        report.capacity,
        report.producer_cpu,
        report.consumer_cpu,
        report
            .cpu_relation
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "{}",
        report.host_check.line_pointing_to("`ringtop doctor`")
    );
    let memory = &report.ring_memory;
    let _ = writeln!(
        out,
        "ring memory: {}: {}",
        memory.placement,
        memory
            .allocation
            .as_ref()
            .map_or_else(|| "n/a".to_owned(), AllocationReport::summary)
    );
    if memory.consumer_reads_remote == Some(true) {
        let _ = writeln!(
            out,
            "warning: the consumer reads the ring from another NUMA node"
        );
    }
    if let Some(reason) = &report.shared_cpu_reason {
        let _ = writeln!(
            out,
            "warning: {reason}, so the two threads share it; these numbers measure time slicing, \
             not the ring"
        );
    }
    let _ = writeln!(
        out,
        "\nthroughput   {} in {:.3} s = {:.2} M rows/s, {:.0} MB/s (batches of up to {})",
        counted(usize::try_from(t.rows).unwrap_or(usize::MAX), "row"),
        t.seconds,
        t.rows_per_s / 1e6,
        t.mb_per_s,
        report.batch
    );
    let _ = writeln!(
        out,
        "             index reloads per million rows: producer {:.1}, consumer {:.1}",
        report.producer_reloads_per_million, report.consumer_reloads_per_million
    );
    let rows = [
        (
            format!("one-way @{}k/s", report.latency_rate_per_s / 1000),
            &report.one_way_latency,
        ),
        ("round trip".to_owned(), &report.round_trip),
        ("round trip, relay".to_owned(), &report.relay_round_trip),
    ];
    // A percentile of fewer samples than it needs is the largest of them: marked, not passed
    // off as a tail.
    let percentiles = |s: &LatencySummary| {
        let latency = LatencyNs::from(*s);
        [
            Percentile::P50,
            Percentile::P90,
            Percentile::P99,
            Percentile::P999,
            Percentile::P9999,
        ]
        .map(|figure| {
            let ns = figure.of(&latency);
            if figure.is_thin(s.count) {
                format!("{ns}{THIN_MARK}")
            } else {
                ns.to_string()
            }
        })
    };
    let cells: Vec<[String; 5]> = rows.iter().map(|(_, s)| percentiles(s)).collect();
    let thin = cells.iter().flatten().any(|p| p.ends_with(THIN_MARK));
    // Columns as wide as their widest figure (seconds of lag are ten digits of nanoseconds).
    let digits = |n: u64| n.to_string().len();
    let width = cells.iter().flatten().map(String::len).fold(8, usize::max);
    let wide = rows
        .iter()
        .flat_map(|(_, s)| [s.max_ns, s.count])
        .map(digits)
        .fold(10, usize::max);
    let _ = writeln!(
        out,
        "\n{:<21} {:>width$} {:>width$} {:>width$} {:>width$} {:>width$} {:>wide$} {:>wide$}",
        "latency (ns)", "p50", "p90", "p99", "p99.9", "p99.99", "max", "samples"
    );
    for ((name, s), [p50, p90, p99, p999, p9999]) in rows.iter().zip(&cells) {
        let _ = writeln!(
            out,
            "{name:<21} {p50:>width$} {p90:>width$} {p99:>width$} {p999:>width$} {p9999:>width$} \
             {:>wide$} {:>wide$}",
            s.max_ns, s.count
        );
    }
    if thin {
        let _ = writeln!(
            out,
            "({THIN_MARK} fewer samples than the percentile needs: {P90_SAMPLES} for p90, \
             {P99_SAMPLES} for p99, {P999_SAMPLES} for p99.9,\n {P9999_SAMPLES} for p99.99; the \
             figure is the largest sample, not a tail)"
        );
    }
    let _ = writeln!(
        out,
        "(one-way is measured from each row's scheduled send time, so stalls are not hidden)"
    );
    let paced = &report.paced_producer;
    if !paced.kept_rate {
        let _ = writeln!(
            out,
            "warning: the paced producer sent {} rows/s of the {} it offers and pushed its last \
             row {} late: the one-way figures measure that lag (another task on its CPU? a \
             rate beyond the ring?), not the hand-off",
            format_rate(paced.sent_per_s),
            format_rate(report.latency_rate_per_s as f64),
            format_ns(paced.last_row_late_ns)
        );
    }
    let i = &report.integrity;
    let _ = writeln!(
        out,
        "\nintegrity    lost {}, duplicated {}, reordered {}{}",
        i.lost,
        i.duplicated,
        i.reordered,
        if i.is_clean() {
            " (every row exactly once, in order)"
        } else {
            "  <-- BUG"
        }
    );
    out
}
