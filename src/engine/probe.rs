//! A short SPSC measurement on two pinned threads: what the ring does on this machine.
//!
//! Three phases, each on a fresh ring:
//! 1. **Throughput**: the producer pushes `Row`s flat out in batches; the consumer checks every
//!    sequence number. Rows/s and MB/s.
//! 2. **One-way latency**: the producer sends at a fixed rate, stamping each row with its
//!    *scheduled* send time, so a stall anywhere shows up as latency instead of hiding as a
//!    slower send rate (coordinated omission). The consumer records `now - stamp`.
//! 3. **Round trip**: ping-pong of one item over two rings, timed on one thread (no clock
//!    comparison between cores).

use std::sync::{Arc, Barrier};

use crate::doctor::DoctorSummary;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use crate::clock::monotonic_ns;
use crate::metrics::integrity::{Integrity, SequenceCheck};
use crate::metrics::{LatencyHistogram, LatencySummary};
use crate::profile::RingKind;
use crate::profile::rules::{RingShape, check_batch};
use crate::ring::{RingAlloc, RingConfig, WaitStrategy};
use crate::ring::{RingError, relay, spsc};
use crate::row::Row;
use crate::topology::pin::{PinError, allowed_cpus, check_cpu, pin_current_thread};
use crate::topology::{AllocationReport, MemoryPlacement, NodeChoice, NumaAlloc, PlacementError};

/// What to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeConfig {
    /// Rows moved in the throughput phase.
    pub items: u64,
    /// Ring capacity (power of two).
    pub capacity: usize,
    /// Most rows per batch in the throughput phase: 1 to the capacity (a batch takes what of it is
    /// free).
    pub batch: usize,
    /// Rows per second in the one-way latency phase.
    pub rate: u64,
    /// Rows sent in the one-way latency phase.
    pub latency_samples: u64,
    /// Round trips in the ping-pong phase.
    pub round_trips: u64,
    /// CPU for the producer (and the ping side); `None` picks the first allowed CPU.
    pub producer_cpu: Option<usize>,
    /// CPU for the consumer (and the echo side); `None` picks the next allowed CPU.
    pub consumer_cpu: Option<usize>,
    /// NUMA node for the ring's memory; `None` binds it to the consumer's node (the consumer
    /// reads every slot; the producer's writes are posted and cheaper to send remote).
    pub memory_node: Option<usize>,
    /// Ask for 2 MiB pages for the ring.
    pub huge_pages: bool,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            items: 10_000_000,
            capacity: 4096,
            batch: 64,
            rate: 1_000_000,
            latency_samples: 500_000,
            round_trips: 200_000,
            producer_cpu: None,
            consumer_cpu: None,
            memory_node: None,
            huge_pages: false,
        }
    }
}

/// Why a probe could not run.
#[derive(Debug, Error)]
pub enum ProbeError {
    /// A requested CPU is unusable.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// The ring's memory placement is impossible.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// The ring could not be built.
    #[error("ring: {0}")]
    Ring(#[from] RingError),
    /// A setting is out of range.
    #[error("{0}")]
    Invalid(String),
    /// A measurement thread panicked.
    #[error("a measurement thread failed: {0}")]
    Thread(String),
}

/// Flat-out transfer results.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Throughput {
    /// Rows moved.
    pub rows: u64,
    /// Wall time from first push to last pop.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub seconds: f64,
    /// Rows per second.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub rows_per_s: f64,
    /// Payload megabytes (10^6 bytes, 64 per row) per second.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub mb_per_s: f64,
}

/// Where the measured rings' memory lived.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct RingMemory {
    /// What was asked for (`"memory local to CPU 1 (node 0)"`).
    pub placement: String,
    /// What the throughput phase's ring got, pages and binding, as the kernel reports them.
    pub allocation: Option<AllocationReport>,
    /// Whether the consumer read memory on another node; `None` when unknown.
    pub consumer_reads_remote: Option<bool>,
}

/// Everything a probe measured.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProbeReport {
    /// CPU the producer ran on.
    pub producer_cpu: usize,
    /// CPU the consumer ran on.
    pub consumer_cpu: usize,
    /// Where the ring's memory lived.
    pub ring_memory: RingMemory,
    /// `ringtop doctor` for the two CPUs, taken before anything ran.
    pub host_check: DoctorSummary,
    /// Whether both ends shared one CPU: numbers then measure time slicing, not the ring.
    pub shared_cpu: bool,
    /// Why they did: only one CPU was available, or both were asked for the same one.
    pub shared_cpu_reason: Option<String>,
    /// How the two CPUs relate in the machine (`"shares L3"`, `"cross-package"`), when the
    /// topology can be read: the first thing to check when the round trip looks slow.
    pub cpu_relation: Option<String>,
    /// Ring capacity used.
    pub capacity: usize,
    /// Batch size used in the throughput phase.
    pub batch: usize,
    /// Flat-out phase.
    pub throughput: Throughput,
    /// Paced one-way latency, from each row's scheduled send time (the pace is
    /// `latency_rate_per_s`).
    pub one_way_latency: LatencySummary,
    /// Rows per second of the paced phase.
    pub latency_rate_per_s: u64,
    /// Whether its producer kept that pace, and if not how far behind it fell: where it did not,
    /// the one-way figures include its lag (each row is timed from when it was due).
    pub paced_producer: PacedProducer,
    /// Ping-pong round trip over two SPSC rings.
    pub round_trip: LatencySummary,
    /// The same ping-pong over two relay rings (the consumer polls stamped slots), so the two
    /// designs can be compared on this machine.
    pub relay_round_trip: LatencySummary,
    /// Sequence checks over both one-way phases.
    pub integrity: Integrity,
    /// Producer-side index reloads per million rows in the throughput phase: how often the
    /// producer had to fetch the consumer's cache line.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub producer_reloads_per_million: f64,
    /// Consumer-side index reloads per million rows in the throughput phase.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub consumer_reloads_per_million: f64,
}

/// How the paced phase's producer kept its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PacedProducer {
    /// Rows a second it sent: every row, over the time from the first one's schedule to the
    /// last one's push.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub sent_per_s: f64,
    /// How late its last row went into the ring, past when it was due.
    pub last_row_late_ns: u64,
    /// Whether it kept the rate ([`crate::metrics::pace::keeps_rate`]): where it did not, the
    /// one-way figures measure its lag (a CPU taken by another task, a consumer too slow), not
    /// the ring.
    pub kept_rate: bool,
}

/// Chooses the two CPUs: requested ones are validated, missing ones are the first allowed.
fn choose_cpus(config: &ProbeConfig) -> Result<(usize, usize), ProbeError> {
    let allowed = allowed_cpus();
    let first = *allowed
        .first()
        .ok_or_else(|| PinError::Unavailable("no CPU is allowed".to_owned()))?;
    let producer = match config.producer_cpu {
        Some(cpu) => {
            check_cpu(cpu)?;
            cpu
        }
        None => first,
    };
    let consumer = match config.consumer_cpu {
        Some(cpu) => {
            check_cpu(cpu)?;
            cpu
        }
        None => allowed
            .iter()
            .copied()
            .find(|&c| c != producer)
            .unwrap_or(producer),
    };
    Ok((producer, consumer))
}

fn join<T>(handle: thread::ScopedJoinHandle<'_, Result<T, ProbeError>>) -> Result<T, ProbeError> {
    handle
        .join()
        .map_err(|_| ProbeError::Thread("panicked".into()))?
}

/// Runs the three phases and reports.
///
/// # Errors
/// A CPU that is not available, an invalid ring capacity, or a zero-sized phase.
pub fn run(config: &ProbeConfig) -> Result<ProbeReport, ProbeError> {
    if config.items == 0 || config.latency_samples == 0 || config.round_trips == 0 {
        return Err(ProbeError::Invalid(
            "items, latency samples and round trips must be at least 1".into(),
        ));
    }
    if config.rate == 0 {
        return Err(ProbeError::Invalid("rate must be at least 1".into()));
    }
    // The capacity first (its error is the clearer one), then a batch it can hold: a batch is
    // taken from the ring's free slots, so a larger one would be reported but never moved.
    crate::ring::check_capacity::<Row>(config.capacity)?;
    let ring = RingShape {
        kind: RingKind::Spsc,
        capacity: config.capacity,
        framed: false,
    };
    check_batch(ring, config.batch).map_err(|e| ProbeError::Invalid(e.to_string()))?;
    let (producer_cpu, consumer_cpu) = choose_cpus(config)?;
    let mut cpus = vec![producer_cpu, consumer_cpu];
    cpus.dedup();
    let host_check = crate::doctor::examine(&crate::doctor::Plan {
        cpus,
        spinning_pairs: vec![(producer_cpu, consumer_cpu)],
        huge_pages: config.huge_pages,
        during_run: false,
    })
    .summary;
    let alloc = Arc::new(NumaAlloc::new(MemoryPlacement {
        node: config
            .memory_node
            .map_or(NodeChoice::LocalTo(consumer_cpu), NodeChoice::Node),
        huge_pages: config.huge_pages,
    })?);
    let shared_cpu = producer_cpu == consumer_cpu;
    // Two threads on one CPU must yield to each other, or every hand-off costs a time slice.
    let wait = if shared_cpu {
        WaitStrategy::SpinYield { spins: 0 }
    } else {
        WaitStrategy::BusySpin
    };
    let ring_config = RingConfig {
        alloc: alloc.clone(),
        producer_wait: wait,
        consumer_wait: wait,
    };
    let idle = if shared_cpu {
        thread::yield_now
    } else {
        std::hint::spin_loop
    };
    // The paced producer waits for each row's time on the clock alone, as the engine's does: a
    // spin hint between clock reads (36 ns on the AMD development VM) sent each row up to a hint
    // late, and the one-way p50 counted ~19 ns of that lateness. Sharing a CPU, it yields.
    let clock_wait: fn() = if shared_cpu { thread::yield_now } else { || {} };

    let ring = || spsc::channel_with::<Row>(config.capacity, ring_config.clone());
    let (throughput, integrity_a, reloads, allocation) =
        throughput_phase(config, ring()?, (producer_cpu, consumer_cpu), &alloc, idle)?;
    let (one_way, integrity_b, paced_producer) = paced_phase(
        config,
        ring()?,
        (producer_cpu, consumer_cpu),
        [clock_wait, idle],
    )?;
    let cpus = (producer_cpu, consumer_cpu);
    let round_trip = ping_pong_phase(
        config,
        cpus,
        |c| spsc::channel_with::<u64>(2, c),
        spsc::Producer::push,
        spsc::Consumer::pop,
        wait,
    )?;
    let relay_round_trip = ping_pong_phase(
        config,
        cpus,
        |c| relay::channel_with::<u64>(2, c),
        relay::Producer::push,
        relay::Consumer::pop,
        wait,
    )?;

    let per_million = |n: u64| n as f64 * 1e6 / config.items as f64;
    Ok(ProbeReport {
        producer_cpu,
        consumer_cpu,
        host_check,
        shared_cpu,
        shared_cpu_reason: shared_cpu.then(|| {
            if allowed_cpus().len() < 2 {
                format!("only CPU {producer_cpu} is available to this process")
            } else {
                format!("both threads were asked for CPU {producer_cpu}")
            }
        }),
        ring_memory: RingMemory {
            placement: alloc.describe(),
            consumer_reads_remote: allocation.as_ref().and_then(|a| {
                let nodes = a.located_on.nodes()?;
                crate::topology::host()
                    .ok()?
                    .reads_remote_memory(consumer_cpu, nodes)
            }),
            allocation,
        },
        cpu_relation: crate::topology::host()
            .ok()
            .and_then(|t| t.relation(producer_cpu, consumer_cpu))
            .map(|r| r.label()),
        capacity: config.capacity,
        batch: config.batch,
        throughput,
        one_way_latency: one_way,
        latency_rate_per_s: config.rate,
        paced_producer,
        round_trip,
        relay_round_trip,
        integrity: Integrity {
            lost: integrity_a.lost + integrity_b.lost,
            duplicated: integrity_a.duplicated + integrity_b.duplicated,
            reordered: integrity_a.reordered + integrity_b.reordered,
        },
        producer_reloads_per_million: per_million(reloads.0),
        consumer_reloads_per_million: per_million(reloads.1),
    })
}

type Reloads = (u64, u64);

/// Pins the calling thread, then waits for the other side to have pinned too: no phase starts
/// its clock or its schedule while one thread is still being created or moved. A thread that
/// cannot pin still reaches the barrier (and then reports why), so the other is never stranded.
fn pinned_and_ready(cpu: usize, ready: &Barrier) -> Result<(), ProbeError> {
    let pinned = pin_current_thread(cpu);
    ready.wait();
    pinned.map_err(Into::into)
}

/// Rows the paced phase sends before the ones it times: the first 10 ms of the schedule (at
/// least one row), while caches and the branch predictor warm up.
fn warm_up_rows(rate: u64) -> u64 {
    (rate / 100).max(1)
}

type Ring = (spsc::Producer<Row>, spsc::Consumer<Row>);

fn throughput_phase(
    config: &ProbeConfig,
    (mut tx, mut rx): Ring,
    (producer_cpu, consumer_cpu): (usize, usize),
    alloc: &NumaAlloc,
    idle: fn(),
) -> Result<(Throughput, Integrity, Reloads, Option<AllocationReport>), ProbeError> {
    let allocation = alloc.reports().pop();
    let items = config.items;
    let batch = config.batch;
    let ready = &Barrier::new(2);
    thread::scope(|s| {
        let producer = s.spawn(move || -> Result<u64, ProbeError> {
            pinned_and_ready(producer_cpu, ready)?;
            let mut seq = 0u64;
            while seq < items {
                let want = batch.min((items - seq) as usize);
                let mut chunk = tx.write_chunk(want);
                let base = seq;
                chunk.fill_with(|i| Row::new(base + i as u64, 0));
                let written = chunk.commit();
                if written == 0 {
                    idle();
                }
                seq += written as u64;
            }
            Ok(tx.stats().index_reloads)
        });
        let consumer = s.spawn(move || -> Result<(Integrity, u64, Duration), ProbeError> {
            pinned_and_ready(consumer_cpu, ready)?;
            let start = Instant::now();
            let mut check = SequenceCheck::default();
            let mut seen = 0u64;
            while seen < items {
                let mut chunk = rx.read_chunk(batch);
                let empty = chunk.is_empty();
                while let Some(row) = chunk.pop() {
                    check.observe(row.seq);
                    seen += 1;
                }
                drop(chunk);
                if empty {
                    idle();
                }
                if rx.is_abandoned() && rx.is_empty() {
                    break;
                }
            }
            Ok((
                check.finish(items),
                rx.stats().index_reloads,
                start.elapsed(),
            ))
        });
        let producer_reloads = join(producer)?;
        let (integrity, consumer_reloads, elapsed) = join(consumer)?;
        let seconds = elapsed.as_secs_f64();
        let rows_per_s = items as f64 / seconds;
        Ok((
            Throughput {
                rows: items,
                seconds,
                rows_per_s,
                mb_per_s: rows_per_s * std::mem::size_of::<Row>() as f64 / 1e6,
            },
            integrity,
            (producer_reloads, consumer_reloads),
            allocation,
        ))
    })
}

/// One-way latency at `config.rate`: each row stamped with the time it is due and sent then, the
/// consumer reading the clock as it takes it, both on the clock the engine stamps rows with
/// ([`monotonic_ns`]: an `Instant` since an epoch cost ~13 ns more of one-way on the development
/// VM). The producer runs `clock_wait` between clock reads while a row is not yet due, and
/// `idle` between tries of a full ring.
fn paced_phase(
    config: &ProbeConfig,
    (mut tx, mut rx): Ring,
    (producer_cpu, consumer_cpu): (usize, usize),
    [clock_wait, idle]: [fn(); 2],
) -> Result<(LatencySummary, Integrity, PacedProducer), ProbeError> {
    let samples = config.latency_samples;
    let period_ns = 1e9 / config.rate as f64;
    let warm_up = warm_up_rows(config.rate);
    let ready = &Barrier::new(2);
    thread::scope(|s| {
        let producer = s.spawn(move || -> Result<PacedProducer, ProbeError> {
            pinned_and_ready(producer_cpu, ready)?;
            let start = monotonic_ns();
            let rows = warm_up + samples;
            let mut scheduled = start;
            for seq in 0..rows {
                scheduled = start + (seq as f64 * period_ns) as u64;
                while monotonic_ns() < scheduled {
                    clock_wait();
                }
                let mut row = Row::new(seq, scheduled);
                loop {
                    match tx.try_push(row) {
                        Ok(()) => break,
                        Err(back) => row = back,
                    }
                    idle();
                }
            }
            let done = monotonic_ns();
            // Over at least the time the rows take at the rate (the last is due a period before
            // it ends): a producer on time sent the rate itself, a late one less.
            let seconds = (done - start) as f64 / 1e9;
            let sent_per_s = rows as f64 / seconds.max(rows as f64 * period_ns / 1e9);
            Ok(PacedProducer {
                sent_per_s,
                last_row_late_ns: done.saturating_sub(scheduled),
                kept_rate: crate::metrics::pace::keeps_rate(sent_per_s, config.rate as f64),
            })
        });
        let consumer = s.spawn(move || -> Result<(LatencySummary, Integrity), ProbeError> {
            pinned_and_ready(consumer_cpu, ready)?;
            let mut hist = LatencyHistogram::new();
            let mut check = SequenceCheck::default();
            while let Some(row) = rx.pop() {
                let latency = monotonic_ns().saturating_sub(row.stamp_ns);
                if row.seq >= warm_up {
                    hist.record(latency);
                }
                check.observe(row.seq);
            }
            Ok((hist.summary(), check.finish(warm_up + samples)))
        });
        let paced = join(producer)?;
        let (latency, integrity) = join(consumer)?;
        Ok((latency, integrity, paced))
    })
}

/// Bounces numbers over two rings of one kind, built by `ring` and driven by its blocking
/// `push` and `pop`.
fn ping_pong_phase<P: Send, C: Send>(
    config: &ProbeConfig,
    (producer_cpu, consumer_cpu): (usize, usize),
    ring: impl Fn(RingConfig) -> Result<(P, C), RingError>,
    push: fn(&mut P, u64) -> Result<(), u64>,
    pop: fn(&mut C) -> Option<u64>,
    wait: WaitStrategy,
) -> Result<LatencySummary, ProbeError> {
    let ring_config = RingConfig {
        producer_wait: wait,
        consumer_wait: wait,
        ..RingConfig::default()
    };
    let (mut ping_tx, mut ping_rx) = ring(ring_config.clone())?;
    let (mut pong_tx, mut pong_rx) = ring(ring_config)?;
    let trips = config.round_trips;
    let warm_up = (trips / 10).clamp(1, 1_000);
    let ready = &Barrier::new(2);
    thread::scope(|s| {
        let echo = s.spawn(move || -> Result<(), ProbeError> {
            pinned_and_ready(consumer_cpu, ready)?;
            while let Some(v) = pop(&mut ping_rx) {
                if push(&mut pong_tx, v).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let pinger = s.spawn(move || -> Result<LatencySummary, ProbeError> {
            pinned_and_ready(producer_cpu, ready)?;
            let mut hist = LatencyHistogram::new();
            for i in 0..warm_up + trips {
                let t0 = Instant::now();
                push(&mut ping_tx, i)
                    .map_err(|_| ProbeError::Thread("echo side vanished".into()))?;
                match pop(&mut pong_rx) {
                    Some(v) if v == i => {}
                    other => {
                        return Err(ProbeError::Thread(format!(
                            "ping {i} answered with {other:?}"
                        )));
                    }
                }
                if i >= warm_up {
                    hist.record(t0.elapsed().as_nanos() as u64);
                }
            }
            drop(ping_tx);
            Ok(hist.summary())
        });
        let summary = join(pinger);
        join(echo)?;
        summary
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_check_counts_every_anomaly() {
        let mut c = SequenceCheck::default();
        for s in [0, 1, 3, 3, 2, 4] {
            c.observe(s);
        }
        let i = c.finish(6);
        assert_eq!(i.lost, 1 + 1); // 2 skipped, 5 never came
        assert_eq!(i.duplicated, 2); // the second 3, the late 2
        assert_eq!(i.reordered, 1);
    }

    #[test]
    fn a_small_probe_moves_every_row_exactly_once() {
        let config = ProbeConfig {
            items: 200_000,
            latency_samples: 20_000,
            rate: 200_000,
            round_trips: 2_000,
            ..ProbeConfig::default()
        };
        let report = run(&config).unwrap();
        assert!(report.integrity.is_clean(), "{:?}", report.integrity);
        assert_eq!(report.throughput.rows, 200_000);
        assert_eq!(report.one_way_latency.count, 20_000);
        assert_eq!(report.round_trip.count, 2_000);
        assert!(report.round_trip.p50_ns > 0);
        assert_eq!(report.relay_round_trip.count, 2_000);
        assert!(report.relay_round_trip.p50_ns > 0);
    }

    #[test]
    fn an_unavailable_cpu_is_refused_before_anything_runs() {
        let config = ProbeConfig {
            consumer_cpu: Some(9999),
            ..ProbeConfig::default()
        };
        let err = run(&config).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CPU 9999 is not available; allowed: ")
        );
    }
}
