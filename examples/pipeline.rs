//! A three-stage pipeline on `ringtop::ring` that publishes its rings for `ringtop attach`:
//!
//! ```text
//! feed ──md-in──▶ strategy ──orders──▶ gateway
//! ```
//!
//! Each stage is a pinned thread; each ring's memory is on the node of the CPU that reads it;
//! every item is a `CLOCK_MONOTONIC` stamp taken when it was due (paced feeds), so the consumers
//! record latency from it and `attach` shows the percentiles. At the end it prints its own
//! counts, its latency percentiles (kept beside, in an HdrHistogram of its own) and where its
//! rings' pages are (as hwloc tells it) as one JSON line, which `ringtop attach` must agree with.
//!
//! ```text
//! cargo run --release --example pipeline -- --duration 30s &
//! ringtop attach pipeline
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use ringtop::clock::monotonic_ns;
use ringtop::monitor::{self, LatencyRecorder, Monitor};
use ringtop::ring::{RingConfig, WaitStrategy, spsc};
use ringtop::topology::{MemoryPlacement, NodeChoice, NumaAlloc, pin};

/// A three-stage pipeline whose rings `ringtop attach` can watch.
#[derive(Debug, Parser)]
struct Args {
    /// How long the feed runs (`10s`, `2m`).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Items per second the feed sends (0: as fast as the rings take them).
    #[arg(long, default_value_t = 200_000)]
    rate: u64,
    /// The name it publishes under.
    #[arg(long, default_value = "pipeline")]
    name: String,
    /// Slots per ring.
    #[arg(long, default_value_t = 4096)]
    capacity: usize,
}

/// How a stage waits when its input is empty: spin a little, then yield, so the three stages
/// share a small machine.
const WAIT: WaitStrategy = WaitStrategy::SpinYield { spins: 256 };

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // A CPU of its own for each stage, when there are three: stages sharing a CPU while one of
    // them spins would only measure the scheduler.
    let cpus = pin::allowed_cpus();
    let cpu = |stage: usize| (cpus.len() >= 3).then(|| cpus[stage]);
    if cpus.len() < 3 {
        eprintln!(
            "pipeline: {} CPU(s) allowed, fewer than the three stages; leaving them unpinned",
            cpus.len()
        );
    }
    let registry = monitor::publish(&args.name)?;
    eprintln!("pipeline: publishing at {}", registry.path().display());

    let allocator = |reader: Option<usize>| {
        NumaAlloc::new(MemoryPlacement {
            node: reader.map_or(NodeChoice::Any, NodeChoice::LocalTo),
            huge_pages: false,
        })
        .map(Arc::new)
    };
    let ring = |alloc: &Arc<NumaAlloc>| RingConfig {
        alloc: alloc.clone(),
        producer_wait: WAIT,
        consumer_wait: WAIT,
    };
    let (md_alloc, orders_alloc) = (allocator(cpu(1))?, allocator(cpu(2))?);
    let (mut md_tx, mut md_rx) =
        spsc::channel_with::<u64>(args.capacity, ring(&md_alloc))?.monitor(&registry, "md-in")?;
    let (mut orders_tx, mut orders_rx) =
        spsc::channel_with::<u64>(args.capacity, ring(&orders_alloc))?
            .monitor(&registry, "orders")?;
    // Where the kernel put each ring's pages, as this process sees them (hwloc).
    let memory = |alloc: &NumaAlloc| {
        let reports = alloc.reports();
        serde_json::json!({
            "bytes": reports.iter().map(|r| r.mapped_bytes).sum::<usize>(),
            "nodes": reports.iter().filter_map(|r| r.located_on.nodes()).flatten().collect::<Vec<_>>(),
        })
    };
    let own_memory =
        serde_json::json!({ "md-in": memory(&md_alloc), "orders": memory(&orders_alloc) });
    let mut md_latency = Latency::new(registry.latency_recorder("md-in", 0)?);
    let mut orders_latency = Latency::new(registry.latency_recorder("orders", 0)?);

    let stage_cpus: [Option<usize>; 3] = [cpu(0), cpu(1), cpu(2)];
    let pin_to = move |stage: usize| {
        if let Some(cpu) = stage_cpus[stage]
            && let Err(err) = pin::pin_current_thread(cpu)
        {
            eprintln!("pipeline: stage {stage} not pinned: {err}");
        }
    };
    let (rate, duration) = (args.rate, args.duration);
    let feed = std::thread::Builder::new()
        .name("feed".into())
        .spawn(move || {
            pin_to(0);
            let start = Instant::now();
            let started_ns = monotonic_ns();
            let mut sent = 0u64;
            while start.elapsed() < duration {
                // When the next item is due (paced), or now (as fast as the rings take them).
                let due = match (sent * 1_000_000_000).checked_div(rate) {
                    None => monotonic_ns(),
                    Some(offset) => {
                        let due = started_ns + offset;
                        if monotonic_ns() < due {
                            std::hint::spin_loop();
                            continue;
                        }
                        due
                    }
                };
                if md_tx.push(due).is_err() {
                    break;
                }
                sent += 1;
            }
            sent
        })?;
    let strategy = std::thread::Builder::new()
        .name("strategy".into())
        .spawn(move || {
            pin_to(1);
            let mut seen = 0u64;
            while let Some(stamp) = md_rx.pop() {
                md_latency.record(stamp);
                seen += 1;
                // Every fourth quote makes an order, carrying the quote's stamp onward.
                if seen.is_multiple_of(4) && orders_tx.push(stamp).is_err() {
                    break;
                }
            }
            (seen, md_latency.own_percentiles())
        })?;
    let gateway = std::thread::Builder::new()
        .name("gateway".into())
        .spawn(move || {
            pin_to(2);
            let mut seen = 0u64;
            while let Some(stamp) = orders_rx.pop() {
                orders_latency.record(stamp);
                seen += 1;
            }
            (seen, orders_latency.own_percentiles())
        })?;
    let fed = feed.join().map_err(|_| "the feed panicked")?;
    let (quotes, md_own) = strategy.join().map_err(|_| "the strategy panicked")?;
    let (orders, orders_own) = gateway.join().map_err(|_| "the gateway panicked")?;
    println!(
        "{}",
        serde_json::json!({
            "program": args.name,
            "pid": std::process::id(),
            "rings": {
                "md-in": { "produced": fed, "consumed": quotes },
                "orders": { "produced": quotes / 4, "consumed": orders },
            },
            "memory": own_memory,
            "latency": { "md-in": md_own, "orders": orders_own },
        })
    );
    drop(registry);
    Ok(())
}

/// A consumer's latency: recorded for `ringtop attach` and, beside it, in an HdrHistogram of
/// the program's own, the instrument `attach`'s figures are checked against.
struct Latency {
    recorder: LatencyRecorder,
    own: hdrhistogram::Histogram<u64>,
}

impl Latency {
    fn new(recorder: LatencyRecorder) -> Self {
        let own =
            hdrhistogram::Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("static bounds");
        Latency { recorder, own }
    }

    /// Records the latency of an item stamped `stamp` (when it was due), now, in both.
    fn record(&mut self, stamp: u64) {
        let nanos = monotonic_ns().saturating_sub(stamp);
        self.recorder.record(nanos);
        self.own.saturating_record(nanos.max(1));
    }

    /// The own histogram's count and percentiles, named as `attach` names its own.
    fn own_percentiles(&self) -> serde_json::Value {
        let at = |quantile: f64| self.own.value_at_quantile(quantile);
        serde_json::json!({
            "count": self.own.len(),
            "p50": at(0.5),
            "p90": at(0.9),
            "p99": at(0.99),
            "p999": at(0.999),
            "p9999": at(0.9999),
            "max": self.own.max(),
        })
    }
}
