//! The plain-text table `ringtop probe` prints: presentation, kept with the command line.

use ringtop::engine::probe::ProbeReport;
use ringtop::topology::AllocationReport;

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
    let _ = writeln!(out, "{}", report.host_check.line());
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
        "\nthroughput   {} rows in {:.3} s = {:.2} M rows/s, {:.0} MB/s (batches of up to {})",
        t.rows,
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
    let _ = writeln!(
        out,
        "\nlatency (ns)          {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "p50", "p90", "p99", "p99.9", "p99.99", "max", "samples"
    );
    let rows = [
        (
            format!("one-way @{}k/s", report.latency_rate_per_s / 1000),
            &report.one_way_latency,
        ),
        ("round trip".to_owned(), &report.round_trip),
        ("round trip, relay".to_owned(), &report.relay_round_trip),
    ];
    for (name, s) in rows {
        let _ = writeln!(
            out,
            "{name:<21} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
            s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns, s.p9999_ns, s.max_ns, s.count
        );
    }
    let _ = writeln!(
        out,
        "(one-way is measured from each row's scheduled send time, so stalls are not hidden)"
    );
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
