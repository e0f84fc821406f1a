//! The core-to-core map: how long a cache line takes to go from one CPU to another and back.
//!
//! This is the physical floor under every ring (a ring hand-off is at least one such transfer),
//! and the evidence behind pinning advice: pairs sharing a cache are cheap, pairs across packages
//! are not.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::cpulist::format_cpu_list;
use super::discover::host;
use super::model::Topology;
use super::pin::{PinError, allowed_cpus, check_cpu, pin_current_thread};
use crate::ring::pad::CachePadded;

/// What to measure and how hard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C2cConfig {
    /// CPUs to map (`None`: every allowed CPU).
    pub cpus: Option<Vec<usize>>,
    /// Timed samples per pair; the median and spread are taken over these.
    pub samples: usize,
    /// Round trips per timed sample (amortises the clock read).
    pub round_trips_per_sample: usize,
}

/// The most samples a pair: each is kept (8 bytes) to take the median and spread from.
pub const MAX_SAMPLES: usize = 1_000_000;
/// The most round trips a sample: enough to amortise any clock read many times over.
pub const MAX_ROUND_TRIPS_PER_SAMPLE: usize = 1_000_000;

impl Default for C2cConfig {
    /// 22 000 round trips a pair (warm-up included): a few milliseconds within a package, tens
    /// across packages, so a 16-CPU map (120 pairs) takes a few seconds at most.
    fn default() -> Self {
        C2cConfig {
            cpus: None,
            samples: 200,
            round_trips_per_sample: 100,
        }
    }
}

/// Why the map could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C2cError {
    /// A CPU could not be used.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// Fewer than two CPUs to pair.
    #[error("the core-to-core map needs at least two CPUs; got {}", too_few(.0))]
    TooFewCpus(Vec<usize>),
    /// Zero samples or round trips were asked for, or more than [`MAX_SAMPLES`] or
    /// [`MAX_ROUND_TRIPS_PER_SAMPLE`].
    #[error(
        "samples must be 1 to {MAX_SAMPLES} and round trips per sample 1 to \
         {MAX_ROUND_TRIPS_PER_SAMPLE}"
    )]
    SamplesOutOfRange,
}

/// The CPUs of a [`C2cError::TooFewCpus`] in words: "none", "only CPU 3".
fn too_few(cpus: &[usize]) -> String {
    match cpus {
        [] => "none".to_owned(),
        _ => format!("only CPU {}", format_cpu_list(cpus)),
    }
}

/// Round-trip times for every pair of CPUs. Matrices are indexed like `cpus`; the diagonal is
/// `null` (a CPU is not a pair with itself). Each unordered pair is measured once and mirrored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct C2cReport {
    /// CPUs measured, ascending.
    pub cpus: Vec<usize>,
    /// Median round trip in nanoseconds: the line goes to the other CPU and comes back.
    pub rtt_ns: Vec<Vec<Option<f64>>>,
    /// Spread of the samples: 90th minus 10th percentile, in nanoseconds.
    pub spread_ns: Vec<Vec<Option<f64>>>,
    /// Fastest sample, in nanoseconds.
    pub min_ns: Vec<Vec<Option<f64>>>,
    /// How the two CPUs relate in the topology (`"same core"`, `"shares L3"`, …).
    pub relation: Vec<Vec<Option<String>>>,
    /// Timed samples per pair.
    pub samples: usize,
    /// Round trips per sample.
    pub round_trips_per_sample: usize,
}

impl C2cReport {
    /// The median round trip between two CPUs, if both were measured and differ.
    pub fn rtt(&self, a: usize, b: usize) -> Option<f64> {
        let i = self.cpus.iter().position(|&c| c == a)?;
        let j = self.cpus.iter().position(|&c| c == b)?;
        self.rtt_ns[i][j]
    }

    /// Every measured pair, each once (`a < b`).
    pub fn pairs(&self) -> Vec<PairTime> {
        let mut pairs = Vec::new();
        for (i, &a) in self.cpus.iter().enumerate() {
            for (j, &b) in self.cpus.iter().enumerate().skip(i + 1) {
                if let Some(rtt_ns) = self.rtt_ns[i][j] {
                    pairs.push(PairTime {
                        a,
                        b,
                        rtt_ns,
                        relation: self.relation[i][j].clone(),
                    });
                }
            }
        }
        pairs
    }
}

/// One measured pair of CPUs.
#[derive(Debug, Clone, PartialEq)]
pub struct PairTime {
    /// The timing CPU.
    pub a: usize,
    /// The answering CPU.
    pub b: usize,
    /// Median round trip in nanoseconds.
    pub rtt_ns: f64,
    /// How the two relate in the topology, when known.
    pub relation: Option<String>,
}

impl PairTime {
    fn describe(&self) -> String {
        let relation = self
            .relation
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        format!("CPUs {}-{} {:.1} ns{relation}", self.a, self.b, self.rtt_ns)
    }
}

/// Statistics of one pair.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PairStats {
    median: f64,
    spread: f64,
    min: f64,
}

/// Measures every pair of the chosen CPUs.
///
/// # Errors
/// [`C2cError`] for an unavailable CPU, fewer than two CPUs, or nothing to measure.
pub fn run(config: &C2cConfig) -> Result<C2cReport, C2cError> {
    run_with_progress(config, &mut |_, _| {})
}

/// As [`run`], calling `progress(done, total)` with the pairs measured so far before each pair
/// and once at the end (a big machine's map takes minutes: the caller shows how far it is).
///
/// # Errors
/// As [`run`].
pub fn run_with_progress(
    config: &C2cConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<C2cReport, C2cError> {
    if !(1..=MAX_SAMPLES).contains(&config.samples)
        || !(1..=MAX_ROUND_TRIPS_PER_SAMPLE).contains(&config.round_trips_per_sample)
    {
        return Err(C2cError::SamplesOutOfRange);
    }
    let cpus = match &config.cpus {
        Some(list) => {
            for &cpu in list {
                check_cpu(cpu)?;
            }
            let mut list = list.clone();
            list.sort_unstable();
            list.dedup();
            list
        }
        None => allowed_cpus(),
    };
    if cpus.len() < 2 {
        return Err(C2cError::TooFewCpus(cpus));
    }
    let topology = host().ok();
    let n = cpus.len();
    let mut report = C2cReport {
        cpus: cpus.clone(),
        rtt_ns: vec![vec![None; n]; n],
        spread_ns: vec![vec![None; n]; n],
        min_ns: vec![vec![None; n]; n],
        relation: relation_matrix(topology, &cpus),
        samples: config.samples,
        round_trips_per_sample: config.round_trips_per_sample,
    };
    let total = n * (n - 1) / 2;
    let mut done = 0;
    for i in 0..n {
        for j in i + 1..n {
            progress(done, total);
            let stats = measure_pair(cpus[i], cpus[j], config)?;
            done += 1;
            for (a, b) in [(i, j), (j, i)] {
                report.rtt_ns[a][b] = Some(stats.median);
                report.spread_ns[a][b] = Some(stats.spread);
                report.min_ns[a][b] = Some(stats.min);
            }
        }
    }
    progress(done, total);
    Ok(report)
}

fn relation_matrix(topology: Option<&Topology>, cpus: &[usize]) -> Vec<Vec<Option<String>>> {
    cpus.iter()
        .map(|&a| {
            cpus.iter()
                .map(|&b| topology.and_then(|t| t.relation(a, b)).map(|r| r.label()))
                .collect()
        })
        .collect()
}

/// Bounces one cache line between a thread on `a` (which times) and one on `b` (which answers).
fn measure_pair(a: usize, b: usize, config: &C2cConfig) -> Result<PairStats, C2cError> {
    const WARMUP_ROUND_TRIPS: u64 = 2_000;
    let per_sample = config.round_trips_per_sample as u64;
    let total = WARMUP_ROUND_TRIPS + per_sample * config.samples as u64;
    let line = CachePadded::new(AtomicU64::new(0));
    let failed = AtomicBool::new(false);
    let ready = Barrier::new(2);

    let pin = |cpu: usize| {
        let result = pin_current_thread(cpu);
        if result.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        ready.wait();
        result.map(|()| !failed.load(Ordering::Relaxed))
    };

    std::thread::scope(|scope| {
        let answerer = std::thread::Builder::new()
            .name(format!("c2c-{b}"))
            .spawn_scoped(scope, || -> Result<(), PinError> {
                if !pin(b)? {
                    return Ok(());
                }
                for n in 0..total {
                    while line.load(Ordering::Acquire) != 2 * n + 1 {
                        std::hint::spin_loop();
                    }
                    line.store(2 * n + 2, Ordering::Release);
                }
                Ok(())
            })
            .expect("spawning a measurement thread");
        let timer = std::thread::Builder::new()
            .name(format!("c2c-{a}"))
            .spawn_scoped(scope, || -> Result<Vec<f64>, PinError> {
                if !pin(a)? {
                    return Ok(Vec::new());
                }
                let round_trip = |n: u64| {
                    line.store(2 * n + 1, Ordering::Release);
                    while line.load(Ordering::Acquire) != 2 * n + 2 {
                        std::hint::spin_loop();
                    }
                };
                for n in 0..WARMUP_ROUND_TRIPS {
                    round_trip(n);
                }
                let mut samples = Vec::with_capacity(config.samples);
                let mut n = WARMUP_ROUND_TRIPS;
                for _ in 0..config.samples {
                    let start = Instant::now();
                    for _ in 0..per_sample {
                        round_trip(n);
                        n += 1;
                    }
                    samples.push(start.elapsed().as_nanos() as f64 / per_sample as f64);
                }
                Ok(samples)
            })
            .expect("spawning a measurement thread");
        let samples = timer.join().expect("the timing thread does not panic");
        let answered = answerer
            .join()
            .expect("the answering thread does not panic");
        answered?;
        Ok(summarise(samples?))
    })
}

fn summarise(mut samples: Vec<f64>) -> PairStats {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    PairStats {
        median: at(0.5),
        spread: at(0.9) - at(0.1),
        min: samples[0],
    }
}

/// The map as a table: one row per CPU, medians in nanoseconds, then the fastest and slowest
/// pairs with how they relate.
pub fn render_matrix(report: &C2cReport) -> String {
    let width = report
        .cpus
        .iter()
        .map(|c| c.to_string().len())
        .max()
        .unwrap_or(1)
        .max(6);
    let mut out = format!(
        "Core-to-core round trip, median ns ({} samples × {} round trips per pair)\n",
        report.samples, report.round_trips_per_sample
    );
    out.push_str(&format!("{:>5}", "CPU"));
    for cpu in &report.cpus {
        out.push_str(&format!(" {cpu:>width$}"));
    }
    out.push('\n');
    for (i, cpu) in report.cpus.iter().enumerate() {
        out.push_str(&format!("{cpu:>5}"));
        for value in &report.rtt_ns[i] {
            match value {
                Some(ns) => out.push_str(&format!(" {ns:>width$.1}")),
                None => out.push_str(&format!(" {:>width$}", "-")),
            }
        }
        out.push('\n');
    }
    let pairs = report.pairs();
    let fastest = pairs.iter().min_by(|x, y| x.rtt_ns.total_cmp(&y.rtt_ns));
    let slowest = pairs.iter().max_by(|x, y| x.rtt_ns.total_cmp(&y.rtt_ns));
    if let (Some(fastest), Some(slowest)) = (fastest, slowest) {
        out.push_str(&format!(
            "fastest: {}; slowest: {}\n",
            fastest.describe(),
            slowest.describe()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_take_the_median_and_interdecile_spread() {
        let stats = summarise((1..=11).rev().map(f64::from).collect());
        assert_eq!(stats.median, 6.0);
        assert_eq!(stats.min, 1.0);
        assert_eq!(stats.spread, 10.0 - 2.0);
    }

    #[test]
    fn zero_or_too_many_samples_are_refused_before_anything_is_allocated() {
        for (samples, round_trips_per_sample) in [
            (0, 100),
            (200, 0),
            (MAX_SAMPLES + 1, 100),
            (200, MAX_ROUND_TRIPS_PER_SAMPLE + 1),
            (usize::MAX, usize::MAX),
        ] {
            let config = C2cConfig {
                samples,
                round_trips_per_sample,
                ..C2cConfig::default()
            };
            assert_eq!(run(&config), Err(C2cError::SamplesOutOfRange));
        }
    }

    #[test]
    fn a_single_cpu_is_not_a_map() {
        let cpu = allowed_cpus()[0];
        let config = C2cConfig {
            cpus: Some(vec![cpu]),
            ..C2cConfig::default()
        };
        assert_eq!(run(&config), Err(C2cError::TooFewCpus(vec![cpu])));
    }

    #[test]
    fn an_unavailable_cpu_is_named() {
        let config = C2cConfig {
            cpus: Some(vec![0, 100_000]),
            ..C2cConfig::default()
        };
        let err = run(&config).unwrap_err().to_string();
        assert!(
            err.starts_with("CPU 100000 is not available; allowed: "),
            "{err}"
        );
    }

    #[test]
    fn every_pair_of_allowed_cpus_gets_a_finite_round_trip() {
        let cpus = allowed_cpus();
        let config = C2cConfig {
            cpus: None,
            samples: 20,
            round_trips_per_sample: 50,
        };
        if cpus.len() < 2 {
            // No pair to measure: the run must say so rather than report an empty map.
            assert!(matches!(run(&config), Err(C2cError::TooFewCpus(_))));
            return;
        }
        let report = run(&config).unwrap();
        assert_eq!(report.cpus, cpus);
        let n = cpus.len();
        assert_eq!(report.rtt_ns.len(), n);
        for i in 0..n {
            assert_eq!(report.rtt_ns[i].len(), n);
            assert_eq!(report.rtt_ns[i][i], None);
            for j in (0..n).filter(|&j| j != i) {
                let rtt = report.rtt_ns[i][j].expect("measured");
                assert!(rtt.is_finite() && rtt > 0.0, "{rtt}");
                assert!(report.min_ns[i][j].is_some() && report.spread_ns[i][j].is_some());
            }
        }
        let table = render_matrix(&report);
        assert!(table.contains("fastest: CPUs"), "{table}");
    }

    #[test]
    fn a_pair_is_summarised_by_its_median_its_p10_to_p90_spread_and_its_fastest_sample() {
        // Eleven samples, given out of order: sorted they are 10, 20, …, 110.
        let samples = vec![
            60.0, 110.0, 10.0, 50.0, 90.0, 20.0, 70.0, 40.0, 100.0, 30.0, 80.0,
        ];
        let stats = summarise(samples);
        assert_eq!(stats.median, 60.0);
        assert_eq!(stats.spread, 100.0 - 20.0);
        assert_eq!(stats.min, 10.0);
        let one = summarise(vec![42.0]);
        assert_eq!((one.median, one.spread, one.min), (42.0, 0.0, 42.0));
    }
}
