//! Trials on the real engine: start the candidate's profile, let it warm up, measure one
//! window, stop it and check that every row arrived.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::engine::BEHIND_SCHEDULE;
use crate::engine::Engine;
use crate::metrics::snapshot::{Role, Snapshot};

use super::search::{TrialOutcome, Trials};
use super::space::Candidate;
use super::span::LatencySpan;

/// How long a trial runs before its measured window (threads pinned, caches and the ring warm,
/// the first interval's start-up spike left out).
const WARM_UP: Duration = Duration::from_millis(100);
/// What starting and stopping a workload costs besides the warm-up (thread spawns, drains,
/// joins), for planning; the real cost of every trial is measured and counted.
const START_STOP: Duration = Duration::from_millis(50);

/// How often a trial looks at its stop flag while it measures.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// Runs candidates on this machine's engine.
#[derive(Debug, Default)]
pub struct EngineTrials {
    stop: Option<Arc<AtomicBool>>,
}

impl EngineTrials {
    /// Trials that end early, as failed ("interrupted"), once `stop` is set (Ctrl-C): a long
    /// trial does not hold up a search or sweep told to stop.
    pub fn stopping_on(stop: Arc<AtomicBool>) -> Self {
        EngineTrials { stop: Some(stop) }
    }

    /// Sleeps `duration`, or until told to stop; whether it was.
    fn wait(&self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        loop {
            let stopped = self.stop.as_ref().is_some_and(|stop| stop.load(Relaxed));
            let left = end.saturating_duration_since(Instant::now());
            if stopped || left.is_zero() {
                return stopped;
            }
            std::thread::sleep(left.min(STOP_CHECK));
        }
    }
}

impl Trials for EngineTrials {
    fn run(&mut self, candidate: &Candidate, duration: Duration) -> TrialOutcome {
        let began = Instant::now();
        let mut profile = candidate.profile.clone();
        profile.workload.duration = None;
        profile.report.hlog = None;
        let mut engine = match Engine::start(profile) {
            Ok(engine) => engine,
            Err(err) => return failed(err.to_string(), began),
        };
        let mut stopped = self.wait(WARM_UP);
        let _ = engine.interval();
        stopped = stopped || self.wait(duration);
        let window = engine.interval();
        let kept_rate = (candidate.profile.workload.rate > 0)
            .then(|| !window.warnings.iter().any(|w| w.is(BEHIND_SCHEDULE)));
        let window = window.snapshot;
        let summary = engine.stop();
        let (p50_ns, p99_ns, latency_samples) = match LatencySpan::of(&candidate.profile) {
            LatencySpan::OneWay => worst_consumer(&window),
            LatencySpan::RoundTrip => round_trips(&window),
        };
        TrialOutcome {
            rows_per_s: Some(window.totals.rows_per_s),
            p50_ns,
            p99_ns,
            latency_samples,
            codec_ratio: window.codec.as_ref().and_then(|codec| codec.ratio),
            integrity_ok: summary.integrity_ok,
            kept_rate,
            failure: summary
                .failure
                .or_else(|| stopped.then(|| "interrupted".to_owned())),
            cost: began.elapsed(),
        }
    }

    fn overhead(&self) -> Duration {
        WARM_UP + START_STOP
    }
}

/// The worst consumer's p50 and p99 over the window (each the largest of any consumer), and the
/// fewest rows a consumer timed.
fn worst_consumer(window: &Snapshot) -> (Option<u64>, Option<u64>, Option<u64>) {
    let latencies: Vec<_> = window
        .threads
        .iter()
        .filter(|t| t.role == Role::Consumer)
        .filter_map(|t| t.latency_ns)
        .filter(|l| l.count > 0)
        .collect();
    (
        latencies.iter().map(|l| l.p50).max(),
        latencies.iter().map(|l| l.p99).max(),
        latencies.iter().map(|l| l.count).min(),
    )
}

/// A sender's round trips over the window: p50, p99 and how many echoed stamps they stand on.
fn round_trips(window: &Snapshot) -> (Option<u64>, Option<u64>, Option<u64>) {
    match window
        .transport
        .as_ref()
        .and_then(|link| link.round_trip_ns)
        .filter(|l| l.count > 0)
    {
        Some(l) => (Some(l.p50), Some(l.p99), Some(l.count)),
        None => (None, None, None),
    }
}

fn failed(reason: String, began: Instant) -> TrialOutcome {
    TrialOutcome {
        rows_per_s: None,
        p50_ns: None,
        p99_ns: None,
        latency_samples: None,
        codec_ratio: None,
        integrity_ok: None,
        kept_rate: None,
        failure: Some(reason),
        cost: began.elapsed(),
    }
}
