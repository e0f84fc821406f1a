//! The search: successive halving over the candidates within a budget, then a paired,
//! interleaved confirmation of the winner against the baseline.
//!
//! Rung 0 runs every sampled candidate in short trials; each following rung keeps the better
//! half and runs it twice as long. Within a rung each repeat runs every candidate once, in a
//! fresh shuffled order, so a slow phase of a noisy machine falls on all of them alike; a
//! candidate's rung figure is the median of its repeats. The winner is then run against the
//! baseline in alternating pairs (A B, B A, …), and crowned only when it wins enough pairs for
//! the stated confidence (a one-sided sign test, in `confirm`): otherwise the baseline is kept.
//! A lucky setting on a bimodal VM cannot win that way, because each pair is measured in one
//! phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_pcg::Pcg64Mcg;
use serde::Serialize;

use crate::metrics::latency::{P99_SAMPLES, Percentile};
use crate::profile::{RingKind, TuningProfile};

use super::confirm::{confirm, interrupted};
use super::merit::{merit, none_qualified};
use super::space::Candidate;
use super::stats::median;

/// What the search optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Goal {
    /// The lowest p99 at the given rate with no loss (p50 breaks ties).
    Latency,
    /// The most rows per second (p99 reported).
    Throughput,
}

impl Goal {
    /// The goal a search of `base` has unless told otherwise: latency when it paces its
    /// producers (the rows per second are the pace's), throughput when they run flat out.
    pub fn for_base(base: &TuningProfile) -> Goal {
        if base.workload.rate > 0 {
            Goal::Latency
        } else {
            Goal::Throughput
        }
    }

    /// Why this goal cannot rank candidates of `base`, if it cannot: at a pace (`pace_from`
    /// says whose: `` `low-latency` `` or `--rate 500k`), every candidate that keeps up delivers
    /// the same rows per second, so a throughput search would crown noise.
    pub fn unrankable(self, base: &TuningProfile, pace_from: &str) -> Option<String> {
        let rate = base.workload.rate;
        (self == Goal::Throughput && rate > 0).then(|| {
            format!(
                "a throughput search at a pace ({pace_from}: {} rows/s a producer): every \
                 candidate that keeps up delivers the same rows per second, so there is nothing \
                 to rank. Search flat out with --rate 0, or for the lowest latency at that pace \
                 with --goal latency (the goal of a paced base when none is given)",
                crate::metrics::human::format_rate(rate as f64)
            )
        })
    }
}

/// One trial's result, as the measurement gives it.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TrialOutcome {
    /// Rows consumed per second over the measured window; `None` where the trial never started
    /// (its [`Self::failure`] says why), so that nothing reads a run that did not happen as 0.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub rows_per_s: Option<f64>,
    /// Median latency, ns, as [`LatencySpan::of`](super::LatencySpan::of) the trial's
    /// profile: one-way, the worst consumer's; a link's sender's round trip. `None` when not
    /// measured.
    pub p50_ns: Option<u64>,
    /// 99th percentile latency, ns, as `p50_ns`.
    pub p99_ns: Option<u64>,
    /// Rows timed over the window by the consumer that timed fewest (of those that timed any),
    /// or a sender's round trips: what the percentiles stand on (under [`P99_SAMPLES`], a p99
    /// is only the slowest of them); `None` when none was timed.
    pub latency_samples: Option<u64>,
    /// A framed workload's codec ratio over the window (64-byte rows over frame bytes); `None`
    /// where rows travel unframed.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub codec_ratio: Option<f64>,
    /// Every row arrived once and in order; `None` where the trial never started (its
    /// [`Self::failure`] says why: no row was lost, none was sent), and where its end checks no
    /// row (a sender's rows are checked where they are received).
    pub integrity_ok: Option<bool>,
    /// Whether every producer kept the rate it offers over the window (under 95 % of it is
    /// behind: its rows' latency includes the wait); `None` where the producers run flat out.
    pub kept_rate: Option<bool>,
    /// Why the trial could not run or stopped early.
    pub failure: Option<String>,
    /// What the trial cost of the budget (start, warm-up and stop included), s.
    #[serde(rename = "cost_s", serialize_with = "crate::metrics::figures::seconds")]
    #[schemars(with = "f64")]
    pub cost: Duration,
}

impl TrialOutcome {
    /// Whether the trial ran to its end and every row arrived once and in order, where its end
    /// checks them (a sender's are checked at its receiver): the trials a knee or a candidate's
    /// figures may stand on.
    pub fn ran_clean(&self) -> bool {
        self.failure.is_none() && self.integrity_ok != Some(false)
    }

    /// Whether the p99 stands on fewer than [`P99_SAMPLES`] rows: the slowest of them, not a
    /// percentile.
    pub fn p99_is_thin(&self) -> bool {
        self.p99_ns.is_some()
            && self
                .latency_samples
                .is_some_and(|n| Percentile::P99.is_thin(n))
    }
}

/// Runs one candidate for a while and says how it did.
pub trait Trials {
    /// Runs `candidate` for `duration` of measurement.
    fn run(&mut self, candidate: &Candidate, duration: Duration) -> TrialOutcome;
    /// What a trial costs besides its measured `duration` (start, warm-up, stop), for planning.
    fn overhead(&self) -> Duration;
}

/// How the search runs.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// The goal.
    pub goal: Goal,
    /// The rate a latency goal must keep, rows/s in total (0: none).
    pub rate: u64,
    /// All the trials together may cost this much.
    pub budget: Duration,
    /// The confidence the winner must beat the baseline with (0.5–0.999).
    pub confidence: f64,
    /// Repeats of every candidate in each rung.
    pub repeats: usize,
    /// The shortest measured window of a trial.
    pub min_trial: Duration,
    /// The share of the budget kept for the confirmation.
    pub confirm_share: f64,
    /// Seed of the sampling and the shuffles.
    pub seed: u64,
    /// Set from outside (Ctrl-C) to stop the search before its next trial: what was measured
    /// is kept in the record, nothing is crowned ([`SearchRecord::interrupted`]).
    pub stop: Option<Arc<AtomicBool>>,
    /// The least codec ratio a framed candidate's trial may show and still count: a trial that
    /// compressed less is out, as one that lost rows is, so a throughput search cannot trade a
    /// workload's compression away for speed. `None`: no floor.
    pub min_codec_ratio: Option<f64>,
}

/// The shortest measured window of a trial, unless a latency goal's rate asks for longer.
pub const DEFAULT_MIN_TRIAL: Duration = Duration::from_millis(200);

impl SearchConfig {
    /// The defaults for `goal` within `budget`.
    pub fn new(goal: Goal, budget: Duration) -> Self {
        SearchConfig {
            goal,
            rate: 0,
            budget,
            confidence: 0.95,
            repeats: 2,
            min_trial: DEFAULT_MIN_TRIAL,
            confirm_share: 0.3,
            seed: 1,
            stop: None,
            min_codec_ratio: None,
        }
    }

    /// The defaults for `goal` within `budget` searching from `base`: the rate its producers
    /// offer together, its `[codec] min_ratio` as the floor, and for a latency goal trials long
    /// enough that each consumer times [`P99_SAMPLES`] rows at that rate (a broadcast ring's
    /// consumers each read every row, the others share them), so that every p99 compared is a
    /// percentile and not the slowest row.
    pub fn for_base(goal: Goal, budget: Duration, base: &TuningProfile) -> Self {
        let workload = &base.workload;
        let rate = workload.rate * workload.producers as u64;
        let defaults = SearchConfig::new(goal, budget);
        let readers = if base.ring.kind == RingKind::Broadcast {
            1
        } else {
            workload.consumers.max(1)
        };
        let timing_p99 = (goal == Goal::Latency && rate > 0)
            .then(|| Duration::from_secs_f64((P99_SAMPLES * readers as u64) as f64 / rate as f64));
        SearchConfig {
            rate,
            min_trial: timing_p99.map_or(defaults.min_trial, |t| t.max(defaults.min_trial)),
            min_codec_ratio: base.codec.as_ref().and_then(|codec| codec.min_ratio),
            ..defaults
        }
    }

    /// Whether the search was told to stop.
    pub(super) fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| stop.load(Relaxed))
    }
}

/// Pairs of the confirmation, at least and at most.
const PAIRS: (usize, usize) = (8, 16);

/// A trial in the record.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct TrialRecord {
    /// `rung 0`, `rung 1`, …, or `confirm`.
    pub phase: String,
    /// The candidate's id.
    pub candidate: usize,
    /// Measured window, s.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub duration_s: f64,
    /// What it gave.
    pub outcome: TrialOutcome,
    /// Its merit for the goal (higher is better); `None` when disqualified.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub merit: Option<f64>,
    /// In a rung: its merit over the median merit of the trials run just before and after it
    /// (the machine's phase then), what the rung ranks by; `None` in the confirmation.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub relative_merit: Option<f64>,
}

/// One rung of the halving.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Rung {
    /// Measured window of each trial, s.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub trial_s: f64,
    /// The candidates it ran, best first, with their median merit.
    pub ranking: Vec<(usize, Option<f64>)>,
    /// How many of them went on.
    pub kept: usize,
}

/// Whether the winner beat the baseline.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Verdict {
    /// The candidate written out: the winner if it beat the baseline, else the baseline (0).
    pub chosen: usize,
    /// The halving's winner.
    pub winner: usize,
    /// Whether the winner beat the baseline with the required confidence.
    pub improved: bool,
    /// Confirmation pairs run (0 when the winner is the baseline).
    pub pairs: usize,
    /// Pairs the winner won.
    pub wins: usize,
    /// Median of the per-pair merit ratios, winner over baseline (>1: the winner is better).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub median_ratio: Option<f64>,
    /// Smallest and largest per-pair ratio.
    #[serde(serialize_with = "crate::metrics::figures::significant_pair_or_null")]
    pub ratio_range: Option<(f64, f64)>,
    /// The sign test's confidence that the winner is better.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub confidence: Option<f64>,
    /// The confidence it needed.
    pub required_confidence: f64,
    /// In words.
    pub reason: String,
}

/// The whole search, for `--json` and the evidence in the profile.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SearchRecord {
    /// The goal.
    pub goal: Goal,
    /// The rate a latency goal kept, rows/s (0: none).
    pub rate: u64,
    /// The least codec ratio a trial had to show to count ([`SearchConfig::min_codec_ratio`]).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub min_codec_ratio: Option<f64>,
    /// The budget, s.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub budget_s: f64,
    /// What the trials cost, s.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub spent_s: f64,
    /// Candidates in the space (the baseline included).
    pub candidates: usize,
    /// Candidates sampled into rung 0.
    pub sampled: usize,
    /// The rungs, in order.
    pub rungs: Vec<Rung>,
    /// Every trial, in order.
    pub trials: Vec<TrialRecord>,
    /// The search was stopped from outside before it ended ([`SearchConfig::stop`]): the
    /// baseline is kept, since nothing was confirmed, and the winner is the leader then.
    pub interrupted: bool,
    /// The outcome.
    pub verdict: Verdict,
}

/// What the search is doing, for a progress bar.
#[derive(Debug, Clone)]
pub struct Progress {
    /// `rung 0`, …, `confirm`.
    pub phase: String,
    /// Budget spent so far.
    pub spent: Duration,
    /// The budget.
    pub budget: Duration,
    /// The candidate about to run.
    pub candidate: String,
    /// The best candidate so far (the top of the last finished rung; the winner while it is
    /// confirmed).
    pub leader: Option<String>,
    /// Trials run so far.
    pub trials_done: usize,
}

/// Why the search could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// Not even the baseline and one candidate fit the budget.
    #[error(
        "a budget of {budget:?} cannot hold the baseline and one candidate ({repeats} trials of \
         at least {min_trial:?} each{}, plus {overhead:?} to start and stop, and the \
         confirmation); give at least {needed}s",
        timing_rows_at.map_or_else(String::new, |rate| format!(
            ", so that each consumer times {P99_SAMPLES} rows at {rate} rows/s"
        ))
    )]
    BudgetTooSmall {
        /// The budget given.
        budget: Duration,
        /// Repeats per rung.
        repeats: usize,
        /// Shortest trial.
        min_trial: Duration,
        /// The rate (rows/s, all producers) that made the shortest trial longer than
        /// [`DEFAULT_MIN_TRIAL`], for a latency goal's p99 ([`SearchConfig::for_base`]).
        timing_rows_at: Option<u64>,
        /// Overhead per trial.
        overhead: Duration,
        /// Seconds that would do.
        needed: u64,
    },
    /// A search configuration no budget can hold.
    #[error("{0}")]
    Config(String),
    /// Only the baseline: nothing to search.
    #[error("no candidate besides the base profile is valid for this machine and workload")]
    NothingToTry,
}

/// One rung as planned.
#[derive(Debug, Clone, Copy, PartialEq)]
struct RungPlan {
    /// Candidates it runs (at most).
    size: usize,
    /// Times each runs.
    repeats: usize,
    /// Measured window of each trial.
    trial: Duration,
}

/// The rungs for `n` candidates within `halving_budget`, an equal share each. Rung `r` runs
/// each of its candidates `repeats + r` times: as the field narrows, each survivor gets more
/// and longer trials, so a few trials in a slow phase of the machine cannot decide between the
/// last contenders.
fn plan_rungs(n: usize, halving_budget: Duration, per_trial: (Duration, usize)) -> Vec<RungPlan> {
    let (overhead, repeats) = per_trial;
    let mut sizes = Vec::new();
    let mut alive = n;
    while alive >= 2 {
        sizes.push(alive);
        alive = alive.div_ceil(2);
    }
    let rung_budget = halving_budget.as_secs_f64() / sizes.len().max(1) as f64;
    sizes
        .into_iter()
        .enumerate()
        .map(|(r, size)| {
            let repeats = repeats + r;
            let each = rung_budget / (size * repeats) as f64 - overhead.as_secs_f64();
            RungPlan {
                size,
                repeats,
                trial: Duration::from_secs_f64(each.max(0.0)),
            }
        })
        .collect()
}

/// The rungs for `sampled` candidates if `config`'s budget holds them with trials of at least
/// its shortest, and holds the confirmation too.
fn plan_within(config: &SearchConfig, overhead: Duration, sampled: usize) -> Option<Vec<RungPlan>> {
    let halving_budget = config.budget.mul_f64(1.0 - config.confirm_share);
    let plan = plan_rungs(sampled, halving_budget, (overhead, config.repeats));
    let fits = plan.iter().all(|r| r.trial >= config.min_trial)
        && config.budget.as_secs_f64() * config.confirm_share >= confirmation_s(config, overhead);
    fits.then_some(plan)
}

/// What the confirmation's paired trials take at their shortest, s.
fn confirmation_s(config: &SearchConfig, overhead: Duration) -> f64 {
    2.0 * PAIRS.0 as f64 * (config.min_trial + overhead).as_secs_f64()
}

/// Whether `config`'s budget holds the baseline, one candidate and the confirmation, with
/// trials that each cost `overhead` besides their window: asked before anything is measured.
///
/// # Errors
/// [`SearchError::BudgetTooSmall`] with the smallest budget (whole seconds) that would do;
/// [`SearchError::Config`] for a confirmation share outside (0, 1) or no repeats.
pub fn check_budget(config: &SearchConfig, overhead: Duration) -> Result<(), SearchError> {
    if !(config.confirm_share > 0.0 && config.confirm_share < 1.0) || config.repeats == 0 {
        return Err(SearchError::Config(format!(
            "the confirmation's share of the budget must be between 0 and 1 (not {}) and each \
             candidate must run at least once a rung (not {} times)",
            config.confirm_share, config.repeats
        )));
    }
    if plan_within(config, overhead, 2).is_some() {
        return Ok(());
    }
    // Two candidates, one rung: each runs `repeats` times in the halving share of the budget;
    // the confirmation runs in the rest.
    let halving = 2.0 * config.repeats as f64 * (config.min_trial + overhead).as_secs_f64()
        / (1.0 - config.confirm_share);
    let confirming = confirmation_s(config, overhead) / config.confirm_share;
    let mut needed = halving.max(confirming).min(1e9).ceil() as u64;
    // Against rounding: the figure given is one that fits (a second or two more at most).
    for _ in 0..16 {
        let budget = Duration::from_secs(needed);
        if plan_within(
            &SearchConfig {
                budget,
                ..config.clone()
            },
            overhead,
            2,
        )
        .is_some()
        {
            break;
        }
        needed += 1;
    }
    Err(SearchError::BudgetTooSmall {
        budget: config.budget,
        repeats: config.repeats,
        min_trial: config.min_trial,
        timing_rows_at: (config.goal == Goal::Latency
            && config.rate > 0
            && config.min_trial > DEFAULT_MIN_TRIAL)
            .then_some(config.rate),
        overhead,
        needed,
    })
}

/// Runs the search over `candidates` (the baseline first) with `trials`.
///
/// # Errors
/// [`SearchError`] when the budget is too small, the configuration impossible, or there is
/// nothing to try.
pub fn search(
    candidates: &[Candidate],
    trials: &mut dyn Trials,
    config: &SearchConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<SearchRecord, SearchError> {
    if candidates.len() < 2 {
        return Err(SearchError::NothingToTry);
    }
    let overhead = trials.overhead();
    check_budget(config, overhead)?;
    let halving_budget = config.budget.mul_f64(1.0 - config.confirm_share);
    // Sample fewer candidates until rung 0's trials are long enough to mean something (two
    // always fit: the budget was checked).
    let mut sampled = candidates.len();
    let rungs_plan = loop {
        if let Some(plan) = plan_within(config, overhead, sampled) {
            break plan;
        }
        sampled = (sampled * 4 / 5).max(2);
    };

    let mut rng = Pcg64Mcg::seed_from_u64(config.seed);
    let mut alive: Vec<usize> = (1..candidates.len()).collect();
    alive.shuffle(&mut rng);
    alive.truncate(sampled - 1);
    alive.insert(0, 0);

    let mut record = SearchRecord {
        goal: config.goal,
        rate: config.rate,
        min_codec_ratio: config.min_codec_ratio,
        budget_s: config.budget.as_secs_f64(),
        spent_s: 0.0,
        candidates: candidates.len(),
        sampled,
        rungs: Vec::new(),
        trials: Vec::new(),
        interrupted: false,
        verdict: Verdict {
            chosen: 0,
            winner: 0,
            improved: false,
            pairs: 0,
            wins: 0,
            median_ratio: None,
            ratio_range: None,
            confidence: None,
            required_confidence: config.confidence,
            reason: String::new(),
        },
    };
    let mut spent = Duration::ZERO;
    'rungs: for (index, rung) in rungs_plan.iter().enumerate() {
        let (size, trial) = (rung.size, rung.trial);
        debug_assert!(alive.len() <= size);
        if alive.len() < 2 {
            break;
        }
        let phase = format!("rung {index}");
        let first = record.trials.len();
        for _ in 0..rung.repeats {
            let mut order = alive.clone();
            order.shuffle(&mut rng);
            for id in order {
                if config.stopped() {
                    record.interrupted = true;
                    break 'rungs;
                }
                let status = Progress {
                    phase: phase.clone(),
                    spent,
                    budget: config.budget,
                    candidate: String::new(),
                    leader: record
                        .rungs
                        .last()
                        .and_then(|r| r.ranking.first())
                        .map(|&(id, _)| candidates[id].label()),
                    trials_done: record.trials.len(),
                };
                let outcome = run_one(trials, &candidates[id], trial, status, progress);
                spent += outcome.cost;
                let m = merit(config, &outcome);
                record.trials.push(TrialRecord {
                    phase: phase.clone(),
                    candidate: id,
                    duration_s: trial.as_secs_f64(),
                    outcome,
                    merit: m,
                    relative_merit: None,
                });
            }
        }
        let rung_trials = &mut record.trials[first..];
        relate_to_neighbours(rung_trials);
        let mut merits: Vec<Vec<Option<f64>>> = vec![Vec::new(); candidates.len()];
        let mut lossy = vec![false; candidates.len()];
        for t in rung_trials.iter() {
            merits[t.candidate].push(t.relative_merit);
            lossy[t.candidate] |= t.outcome.integrity_ok == Some(false);
        }
        // Lost, duplicated or reordered rows put a candidate out, however fast it was.
        let mut ranking: Vec<(usize, Option<f64>)> = alive
            .iter()
            .map(|&id| (id, rung_merit(&merits[id]).filter(|_| !lossy[id])))
            .collect();
        ranking.sort_by(|a, b| rank_order(b.1).total_cmp(&rank_order(a.1)));
        let keep = ranking
            .iter()
            .filter(|(_, m)| m.is_some())
            .count()
            .min(alive.len().div_ceil(2))
            .max(1);
        alive = ranking.iter().take(keep).map(|&(id, _)| id).collect();
        record.rungs.push(Rung {
            trial_s: trial.as_secs_f64(),
            ranking,
            kept: keep,
        });
        if spent >= halving_budget + config.budget.mul_f64(config.confirm_share / 2.0) {
            break;
        }
    }
    // The best candidate that is not the baseline: even when the baseline tops the last rung,
    // the runner-up is confirmed against it, so the evidence says by how much it lost.
    let winner = record
        .rungs
        .last()
        .and_then(|rung| {
            rung.ranking
                .iter()
                .find(|&&(id, m)| id != 0 && m.is_some())
                .map(|&(id, _)| id)
        })
        .unwrap_or(0);
    record.verdict.winner = winner;
    record.interrupted |= config.stopped();
    record.verdict = if record.interrupted {
        interrupted(record.verdict, record.trials.len())
    } else if winner == 0 {
        let phase = format!("rung {}", record.rungs.len().saturating_sub(1));
        let reason = none_qualified(config, record.trials.iter().filter(|t| t.phase == phase));
        Verdict {
            reason,
            ..record.verdict
        }
    } else {
        // As long as the last rung's trials, as far as the share kept for it allows.
        let last_rung = rungs_plan.last().map_or(config.min_trial, |r| r.trial);
        let fitting = config
            .budget
            .mul_f64(config.confirm_share)
            .div_f64(2.0 * PAIRS.0 as f64)
            .saturating_sub(overhead);
        let trial = last_rung.min(fitting).max(config.min_trial);
        let left = config.budget.saturating_sub(spent);
        let fit = (left.as_secs_f64() / ((trial + overhead) * 2).as_secs_f64()) as usize;
        let verdict = confirm(
            candidates,
            trials,
            config,
            (winner, fit.clamp(PAIRS.0 / 2, PAIRS.1), trial),
            (&mut record.trials, &mut spent),
            progress,
        );
        record.interrupted = config.stopped();
        if record.interrupted {
            interrupted(verdict, record.trials.len())
        } else {
            verdict
        }
    };
    record.spent_s = spent.as_secs_f64();
    Ok(record)
}

/// Trials on each side whose median is a trial's reference in [`relate_to_neighbours`].
const NEIGHBOURS: usize = 3;

/// Sets each trial's relative merit: its merit over the median merit of the trials run just
/// before and after it in the rung. The candidates around a trial are a random draw, so their
/// median tracks how fast the machine was then: a candidate that happened to run in a slow
/// phase is not mistaken for a slow candidate.
fn relate_to_neighbours(trials: &mut [TrialRecord]) {
    let merits: Vec<Option<f64>> = trials.iter().map(|t| t.merit).collect();
    for (i, trial) in trials.iter_mut().enumerate() {
        let window = &merits[i.saturating_sub(NEIGHBOURS)..(i + NEIGHBOURS + 1).min(merits.len())];
        let values: Vec<f64> = window.iter().flatten().copied().collect();
        trial.relative_merit = match (trial.merit, median(&values)) {
            (Some(m), Some(reference)) if reference > 0.0 => Some(m / reference),
            _ => None,
        };
    }
}

/// `None` ranks below every figure.
fn rank_order(merit: Option<f64>) -> f64 {
    merit.unwrap_or(f64::NEG_INFINITY)
}

/// A candidate's figure in a rung: the upper quartile of its repeats' relative merits (a
/// disqualified repeat counting as the worst); `None` if half or more were disqualified.
/// The upper quartile, not the median: on a machine whose slow phases only ever slow a trial
/// down, what a setting reaches in the good phase is its speed, and a trial that fell at a
/// phase boundary should not sink it. A lucky setting this flatters still has to beat the
/// baseline in the confirmation.
fn rung_merit(merits: &[Option<f64>]) -> Option<f64> {
    let disqualified = merits.iter().filter(|m| m.is_none()).count();
    if merits.is_empty() || disqualified * 2 >= merits.len() {
        return None;
    }
    let mut values: Vec<f64> = merits.iter().map(|&m| rank_order(m)).collect();
    values.sort_by(f64::total_cmp);
    let rank = (values.len() * 3).div_ceil(4).max(1) - 1;
    Some(values[rank])
}

/// Reports `status` with `candidate` about to run, then runs it.
pub(super) fn run_one(
    trials: &mut dyn Trials,
    candidate: &Candidate,
    duration: Duration,
    mut status: Progress,
    progress: &mut dyn FnMut(&Progress),
) -> TrialOutcome {
    status.candidate = candidate.label();
    progress(&status);
    trials.run(candidate, duration)
}
