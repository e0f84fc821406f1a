//! The search on a fake measurement: a planted landscape, multiplicative noise, and a machine
//! that switches between a fast and a 3× slower phase every few trials (as these VMs do), so the
//! search logic is checked against a known answer.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use super::*;

/// A measurement whose truth is `merit[id]` (1.0 is the baseline), seen through noise.
struct Fake {
    truth: Vec<f64>,
    /// Candidates that lose rows.
    lossy: Vec<usize>,
    /// ± this share of multiplicative noise on every trial.
    noise: f64,
    rng: Pcg64Mcg,
    /// Trials until the machine's phase flips, and the phase's speed.
    phase: (usize, f64),
    overhead: Duration,
}

impl Fake {
    fn new(truth: Vec<f64>, noise: f64, seed: u64) -> Self {
        Fake {
            truth,
            lossy: Vec::new(),
            noise,
            rng: Pcg64Mcg::seed_from_u64(seed),
            phase: (0, 1.0),
            overhead: Duration::from_millis(100),
        }
    }
}

impl Trials for Fake {
    fn run(&mut self, candidate: &Candidate, duration: Duration) -> TrialOutcome {
        if self.phase.0 == 0 {
            // A new phase: fast (1.0) or slow (0.3), lasting 2 to 12 trials.
            self.phase = (
                self.rng.random_range(2..=12),
                if self.rng.random_bool(0.5) { 1.0 } else { 0.3 },
            );
        }
        self.phase.0 -= 1;
        let jitter = 1.0 + self.rng.random_range(-self.noise..=self.noise);
        let rate = 1e7 * self.truth[candidate.id] * self.phase.1 * jitter;
        // Latency falls as merit rises: p99 = 1000 ns at merit 1.
        let p99 = (1000.0 / (self.truth[candidate.id] * self.phase.1 * jitter)) as u64;
        TrialOutcome {
            rows_per_s: Some(rate),
            p50_ns: Some(p99 / 3),
            p99_ns: Some(p99),
            latency_samples: Some(10_000),
            // A faster candidate compresses less, as a faster codec does.
            codec_ratio: Some(20.0 / self.truth[candidate.id]),
            integrity_ok: Some(!self.lossy.contains(&candidate.id)),
            kept_rate: None,
            failure: None,
            cost: duration + self.overhead,
        }
    }

    fn overhead(&self) -> Duration {
        self.overhead
    }
}

fn candidates(n: usize) -> Vec<Candidate> {
    let base = crate::profile::builtin::get("default").unwrap();
    (0..n)
        .map(|id| Candidate {
            id,
            setting: None,
            profile: base.clone(),
        })
        .collect()
}

/// A landscape of `n` candidates around a baseline of 1.0, worse than `ceiling`, with `planted`
/// at `optimum` (if any).
fn landscape(n: usize, ceiling: f64, planted: Option<(usize, f64)>, seed: u64) -> Vec<f64> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0xfeed);
    let mut truth: Vec<f64> = (0..n)
        .map(|i| {
            if i == 0 {
                1.0
            } else {
                rng.random_range(0.5..ceiling)
            }
        })
        .collect();
    if let Some((id, merit)) = planted {
        truth[id] = merit;
    }
    truth
}

fn config(goal: Goal, budget_s: u64, seed: u64) -> SearchConfig {
    SearchConfig {
        seed,
        ..SearchConfig::new(goal, Duration::from_secs(budget_s))
    }
}

#[test]
fn the_planted_optimum_is_found_within_the_budget() {
    for seed in 0..12 {
        let n = 30;
        let optimum = 1 + (seed as usize * 7) % (n - 1);
        let truth = landscape(n, 1.1, Some((optimum, 1.35)), seed);
        let mut fake = Fake::new(truth, 0.1, seed);
        // Every candidate sampled: the budget holds them all in rung 0.
        let cfg = config(Goal::Throughput, 200, seed);
        let record = search(&candidates(n), &mut fake, &cfg, &mut |_| {}).unwrap();
        assert_eq!(record.sampled, n, "seed {seed}");
        assert_eq!(
            record.verdict.chosen, optimum,
            "seed {seed}: {:?}",
            record.verdict
        );
        assert!(record.verdict.improved);
        assert!(record.verdict.confidence.unwrap() >= cfg.confidence);
        assert!(
            record.spent_s <= cfg.budget.as_secs_f64() * 1.02,
            "seed {seed}: spent {} of {}",
            record.spent_s,
            record.budget_s
        );
        // Every comparison in the record is of measured trials; every rung halves.
        for pair in record.rungs.windows(2) {
            assert!(pair[1].ranking.len() <= pair[0].ranking.len().div_ceil(2));
            assert!(pair[1].trial_s > pair[0].trial_s);
        }
    }
}

#[test]
fn the_latency_goal_finds_the_lowest_p99_too() {
    for seed in 0..8 {
        let n = 24;
        let optimum = 1 + (seed as usize * 11) % (n - 1);
        let truth = landscape(n, 1.05, Some((optimum, 1.4)), seed);
        let mut fake = Fake::new(truth, 0.1, seed);
        let record = search(
            &candidates(n),
            &mut fake,
            &config(Goal::Latency, 120, seed),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(record.sampled, n, "seed {seed}");
        assert_eq!(
            record.verdict.chosen, optimum,
            "seed {seed}: {:?}",
            record.verdict
        );
    }
}

#[test]
fn a_small_budget_samples_fewer_candidates_and_still_stays_within_it() {
    let n = 200;
    let truth = landscape(n, 1.2, None, 3);
    let mut fake = Fake::new(truth, 0.1, 3);
    let cfg = config(Goal::Throughput, 30, 3);
    let record = search(&candidates(n), &mut fake, &cfg, &mut |_| {}).unwrap();
    assert!(
        record.sampled < n && record.sampled >= 2,
        "{}",
        record.sampled
    );
    assert!(record.spent_s <= 30.0 * 1.02, "{}", record.spent_s);
    assert!(record.trials.iter().all(|t| t.duration_s >= 0.2));
}

#[test]
fn nothing_worse_than_the_baseline_is_ever_crowned() {
    // Every candidate is truly 1–10 % worse than the baseline, under ±15 % noise and a machine
    // flipping between a fast and a 3× slower phase: a lucky trial can make one look better,
    // but it must not survive the interleaved confirmation.
    for seed in 0..30 {
        let n = 60;
        let truth = landscape(n, 0.99, Some((1 + seed as usize % 59, 0.99)), seed);
        let mut fake = Fake::new(truth, 0.15, seed);
        let record = search(
            &candidates(n),
            &mut fake,
            &config(Goal::Throughput, 120, seed),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(
            record.verdict.chosen, 0,
            "seed {seed}: {:?}",
            record.verdict
        );
        assert!(!record.verdict.improved);
    }
}

#[test]
fn a_candidate_that_loses_rows_is_never_chosen_however_fast() {
    let n = 20;
    let truth = landscape(n, 1.0, Some((5, 3.0)), 1);
    let mut fake = Fake::new(truth, 0.05, 1);
    fake.lossy = vec![5];
    let record = search(
        &candidates(n),
        &mut fake,
        &config(Goal::Throughput, 60, 1),
        &mut |_| {},
    )
    .unwrap();
    assert_ne!(record.verdict.chosen, 5);
    assert!(
        record
            .trials
            .iter()
            .filter(|t| t.candidate == 5)
            .all(|t| t.merit.is_none())
    );
}

#[test]
fn a_profiles_ratio_floor_is_its_searchs_and_goes_with_the_profile_written() {
    let base = crate::profile::builtin::get("compressed-timeseries").unwrap();
    let budget = Duration::from_secs(60);
    assert_eq!(
        SearchConfig::for_base(Goal::Throughput, budget, &base).min_codec_ratio,
        None
    );
    let mut floored = base.clone();
    floored.codec.as_mut().unwrap().min_ratio = Some(12.0);
    assert_eq!(
        SearchConfig::for_base(Goal::Latency, budget, &floored).min_codec_ratio,
        Some(12.0)
    );
    // A candidate trying another codec keeps the base's floor.
    let setting = Setting {
        producer_cpu: 0,
        consumer_cpu: 1,
        memory_node: None,
        kind: crate::profile::RingKind::Spsc,
        capacity: 4096,
        batch: 64,
        prefetch: 0,
        producer_wait: crate::profile::WaitSetting::BusySpin,
        consumer_wait: crate::profile::WaitSetting::BusySpin,
        codec: Some(crate::codec::CodecId::Lz4),
    };
    let tried = apply(&floored, &setting);
    assert_eq!(tried.codec.as_ref().map(|c| c.min_ratio), Some(Some(12.0)));
    // The profile written holds the floor the search kept to (here another than the base's,
    // as `--min-ratio` gives), and reads back with it.
    let n = 6;
    let mut space = candidates(n);
    for candidate in &mut space {
        candidate.profile = floored.clone();
    }
    let cfg = SearchConfig {
        min_codec_ratio: Some(15.0),
        ..config(Goal::Throughput, 60, 4)
    };
    let mut fake = Fake::new(landscape(n, 1.0, Some((3, 1.5)), 4), 0.05, 4);
    let record = search(&space, &mut fake, &cfg, &mut |_| {}).unwrap();
    let written = evidence(&record, &space, "framed", "ringtop tune").unwrap();
    assert_eq!(
        written.profile.codec.as_ref().unwrap().min_ratio,
        Some(15.0)
    );
    let read_back = crate::profile::parse(&written.text, "tuned.toml").unwrap();
    assert_eq!(read_back.codec.unwrap().min_ratio, Some(15.0));
}

#[test]
fn a_codec_ratio_floor_puts_out_what_compresses_less_however_fast() {
    let n = 20;
    // 5 is three times the baseline's speed at 6.7x, 6 half again at 12.5x (the fake's ratio
    // is 20 over the speed), the baseline 20x; the rest slower than the baseline.
    let mut truth = landscape(n, 1.0, Some((5, 3.0)), 4);
    truth[6] = 1.6;
    let run = |floor: Option<f64>| {
        let cfg = SearchConfig {
            min_codec_ratio: floor,
            ..config(Goal::Throughput, 60, 4)
        };
        let mut fake = Fake::new(truth.clone(), 0.05, 4);
        search(&candidates(n), &mut fake, &cfg, &mut |_| {}).unwrap()
    };
    assert_eq!(run(None).verdict.chosen, 5);
    let record = run(Some(10.0));
    assert_eq!(record.min_codec_ratio, Some(10.0));
    assert_eq!(record.verdict.chosen, 6);
    for trial in &record.trials {
        let under = trial.outcome.codec_ratio.unwrap() < 10.0;
        assert_eq!(trial.merit.is_none(), under, "{trial:?}");
    }
    let written = evidence(&record, &candidates(n), "framed", "ringtop tune").unwrap();
    assert!(
        written.text.contains("# Codec ratio floor: 10x"),
        "{}",
        written.text
    );
    // A baseline under the floor is out too: whatever clears it wins, however slow, and the
    // baseline's figures still say what it measured.
    let record = run(Some(25.0));
    let chosen = record.verdict.chosen;
    assert_ne!(chosen, 0, "{:?}", record.verdict);
    assert!(20.0 / truth[chosen] >= 25.0);
    let written = evidence(&record, &candidates(n), "framed", "ringtop tune").unwrap();
    assert_eq!(written.baseline.unwrap().codec_ratio, Some(20.0));
    // No candidate clears it: the verdict says why the baseline stays.
    let record = run(Some(1000.0));
    assert_eq!(record.verdict.chosen, 0);
    let last = format!("rung {}", record.rungs.len() - 1);
    let others = record
        .trials
        .iter()
        .filter(|t| t.phase == last && t.candidate != 0)
        .count();
    assert_eq!(
        record.verdict.reason,
        format!(
            "no candidate qualified (of the last rung's {others} trials of other candidates, \
             {others} compressed under 1000x): baseline kept"
        )
    );
}

#[test]
fn a_latency_candidate_that_cannot_keep_the_rate_is_out() {
    let cfg = SearchConfig {
        rate: 1_000_000,
        ..SearchConfig::new(Goal::Latency, Duration::from_secs(10))
    };
    let outcome = |rows_per_s: f64| TrialOutcome {
        rows_per_s: Some(rows_per_s),
        p50_ns: Some(100),
        p99_ns: Some(200),
        latency_samples: Some(10_000),
        codec_ratio: None,
        integrity_ok: Some(true),
        kept_rate: None,
        failure: None,
        cost: Duration::ZERO,
    };
    assert!(merit(&cfg, &outcome(999_000.0)).is_some());
    assert!(merit(&cfg, &outcome(900_000.0)).is_none());
    // Why each is out, the first reason that holds: the verdict tallies these.
    assert_eq!(
        disqualified(&cfg, &outcome(900_000.0)),
        Some(Disqualified::MissedRate)
    );
    let lossy = TrialOutcome {
        integrity_ok: Some(false),
        ..outcome(900_000.0)
    };
    assert_eq!(disqualified(&cfg, &lossy), Some(Disqualified::LostRows));
    // A trial that never started failed; it lost no row, and it measured no rate.
    let never_started = TrialOutcome {
        rows_per_s: None,
        integrity_ok: None,
        failure: Some("cannot pin to CPU 99".into()),
        ..outcome(1e6)
    };
    assert_eq!(
        disqualified(&cfg, &never_started),
        Some(Disqualified::Failed)
    );
    let failed_on_the_way = TrialOutcome {
        integrity_ok: Some(false),
        failure: Some("the producer panicked".into()),
        ..outcome(1e6)
    };
    assert_eq!(
        disqualified(&cfg, &failed_on_the_way),
        Some(Disqualified::Failed)
    );
    let floored = SearchConfig {
        min_codec_ratio: Some(2.0),
        ..cfg.clone()
    };
    assert_eq!(
        disqualified(&floored, &outcome(1e6)),
        Some(Disqualified::UnderRatioFloor)
    );
    let untimed = TrialOutcome {
        p99_ns: None,
        ..outcome(1e6)
    };
    assert_eq!(disqualified(&cfg, &untimed), Some(Disqualified::NoLatency));
    assert_eq!(disqualified(&cfg, &outcome(1e6)), None);
    // p99 decides, p50 breaks the tie.
    let mut lower_p50 = outcome(1e6);
    lower_p50.p50_ns = Some(50);
    assert!(merit(&cfg, &lower_p50) > merit(&cfg, &outcome(1e6)));
    let mut lower_p99 = outcome(1e6);
    lower_p99.p99_ns = Some(190);
    lower_p99.p50_ns = Some(190);
    assert!(merit(&cfg, &lower_p99) > merit(&cfg, &lower_p50));
}

#[test]
fn a_budget_too_small_for_two_candidates_is_refused_with_what_would_do() {
    let mut fake = Fake::new(vec![1.0, 1.1], 0.0, 0);
    let err = search(
        &candidates(2),
        &mut fake,
        &config(Goal::Throughput, 1, 0),
        &mut |_| {},
    )
    .unwrap_err();
    let SearchError::BudgetTooSmall { needed, .. } = err else {
        panic!("{err}");
    };
    assert!(
        err.to_string()
            .contains(&format!("give at least {needed}s")),
        "{err}"
    );
    // The figure given is the least whole number of seconds that does.
    let fits = |budget_s| {
        let mut fake = Fake::new(vec![1.0, 1.1], 0.0, 0);
        search(
            &candidates(2),
            &mut fake,
            &config(Goal::Throughput, budget_s, 0),
            &mut |_| {},
        )
        .is_ok()
    };
    assert!(
        fits(needed),
        "a budget of {needed} s, as the error said, is refused"
    );
    assert!(!fits(needed - 1), "{needed} s is not the least that does");
    assert_eq!(
        check_budget(&config(Goal::Throughput, needed, 0), fake.overhead),
        Ok(())
    );
    let err = search(
        &candidates(1),
        &mut fake,
        &config(Goal::Throughput, 60, 0),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err, SearchError::NothingToTry);
    // A configuration no budget holds is an error, never a panic or a search without end.
    for (confirm_share, repeats) in [(0.0, 2), (1.5, 2), (f64::NAN, 2), (0.3, 0)] {
        let cfg = SearchConfig {
            confirm_share,
            repeats,
            ..config(Goal::Throughput, 60, 0)
        };
        let err = search(&candidates(2), &mut fake, &cfg, &mut |_| {}).unwrap_err();
        assert!(matches!(err, SearchError::Config(_)), "{err}");
    }
}

#[test]
fn the_evidence_names_both_sides_and_the_file_reads_back() {
    let n = 30;
    let truth = landscape(n, 1.0, Some((7, 1.5)), 2);
    let mut fake = Fake::new(truth, 0.05, 2);
    let mut space = candidates(n);
    space[7].profile.workload.batch = 16;
    space[7].setting = Some(Setting {
        producer_cpu: 0,
        consumer_cpu: 1,
        memory_node: None,
        kind: crate::profile::RingKind::Spsc,
        capacity: 4096,
        batch: 16,
        prefetch: 0,
        producer_wait: crate::profile::WaitSetting::BusySpin,
        consumer_wait: crate::profile::WaitSetting::BusySpin,
        codec: None,
    });
    let record = search(
        &space,
        &mut fake,
        &config(Goal::Throughput, 60, 2),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(record.verdict.chosen, 7);
    let written = evidence(&record, &space, "default", "ringtop tune").unwrap();
    assert!(
        written.text.starts_with("# Written by `ringtop tune`"),
        "{}",
        written.text
    );
    assert!(
        written.text.contains("# Baseline (default): "),
        "{}",
        written.text
    );
    assert!(written.text.contains("# Chosen: "), "{}", written.text);
    assert!(
        written.text.contains("sign test confidence"),
        "{}",
        written.text
    );
    let back = crate::profile::parse(&written.text, "tuned.toml").unwrap();
    assert_eq!(back, written.profile);
    assert_eq!(back.workload.batch, 16);
    let (base, chosen) = (written.baseline.unwrap(), written.chosen.unwrap());
    assert!(chosen.rows_per_s > base.rows_per_s);
    // What the chosen one traded: its codec ratio beside the base's.
    assert_eq!(chosen.codec_ratio, Some(20.0 / 1.5));
    for figures in [&base, &chosen] {
        let ratio = format!("codec ratio {:.2}×", figures.codec_ratio.unwrap());
        assert!(written.text.contains(&ratio), "{ratio}: {}", written.text);
    }
    assert_eq!(base.trials, record.verdict.pairs);
    // A winner the confirmation did not find surely better leaves the base, and the profile's
    // description does not claim that nothing beat it.
    let mut unsure = record.clone();
    unsure.verdict.chosen = 0;
    let kept = evidence(&unsure, &space, "default", "ringtop tune").unwrap();
    assert_eq!(
        kept.profile.description,
        "Tuned for throughput: default kept (the search's best did not beat it surely)"
    );
    assert!(kept.text.contains("was not kept"), "{}", kept.text);
}

/// Trials that tell the search to stop once `after` of them have run, as Ctrl-C would.
struct StopAfter {
    inner: Fake,
    after: usize,
    ran: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Trials for StopAfter {
    fn run(&mut self, candidate: &Candidate, duration: Duration) -> TrialOutcome {
        self.ran += 1;
        if self.ran == self.after {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.inner.run(candidate, duration)
    }

    fn overhead(&self) -> Duration {
        self.inner.overhead()
    }
}

#[test]
fn a_search_told_to_stop_runs_no_further_trial_and_crowns_nothing() {
    let n = 30;
    let truth = landscape(n, 1.1, Some((7, 1.5)), 5);
    let whole = search(
        &candidates(n),
        &mut Fake::new(truth.clone(), 0.05, 5),
        &config(Goal::Throughput, 60, 5),
        &mut |_| {},
    )
    .unwrap();
    assert!(
        whole.verdict.improved && !whole.interrupted,
        "{:?}",
        whole.verdict
    );
    let total = whole.trials.len();
    let confirming = whole
        .trials
        .iter()
        .position(|t| t.phase == "confirm")
        .unwrap();
    for after in [
        1,
        total / 3,
        confirming,
        confirming + 1,
        confirming + 4,
        total - 1,
    ] {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut trials = StopAfter {
            inner: Fake::new(truth.clone(), 0.05, 5),
            after,
            ran: 0,
            stop: stop.clone(),
        };
        let cfg = SearchConfig {
            stop: Some(stop),
            ..config(Goal::Throughput, 60, 5)
        };
        let record = search(&candidates(n), &mut trials, &cfg, &mut |_| {}).unwrap();
        assert!(record.interrupted, "after {after}");
        assert_eq!(record.trials.len(), after, "no trial after the stop");
        assert_eq!(trials.ran, after);
        let v = &record.verdict;
        assert_eq!((v.chosen, v.improved), (0, false), "after {after}: {v:?}");
        assert_eq!(
            v.reason,
            format!("interrupted after {after} trials: baseline kept, nothing confirmed")
        );
        // Only whole pairs count, and not one whose trial was running when the stop came (a
        // real trial is cut short then).
        let pairs_run = after.saturating_sub(confirming).saturating_sub(1) / 2;
        assert_eq!(v.pairs, pairs_run, "after {after}: {v:?}");
        let spent: f64 = record
            .trials
            .iter()
            .map(|t| t.outcome.cost.as_secs_f64())
            .sum();
        assert!((record.spent_s - spent).abs() < 1e-9);
    }
}

/// A latency search's trials are long enough for each consumer to time 100 rows at the rate,
/// and a budget too small for them says that is why they are long.
#[test]
fn a_latency_search_at_a_slow_rate_times_enough_rows_for_a_p99() {
    let base = |kind: crate::profile::RingKind, consumers: usize, rate: u64| {
        let mut base = crate::profile::builtin::get("default").unwrap();
        base.ring.kind = kind;
        base.workload.consumers = consumers;
        base.workload.rate = rate;
        base
    };
    use crate::profile::RingKind::{Broadcast, Mpmc, Spsc};
    let budget = Duration::from_secs(20);
    let shortest = |goal, kind, consumers, rate| {
        SearchConfig::for_base(goal, budget, &base(kind, consumers, rate)).min_trial
    };
    assert_eq!(
        shortest(Goal::Latency, Spsc, 1, 100),
        Duration::from_secs(1)
    );
    assert_eq!(
        shortest(Goal::Latency, Mpmc, 2, 100),
        Duration::from_secs(2)
    );
    assert_eq!(
        shortest(Goal::Latency, Broadcast, 2, 100),
        Duration::from_secs(1)
    );
    assert_eq!(
        shortest(Goal::Latency, Spsc, 1, 1_000_000),
        DEFAULT_MIN_TRIAL
    );
    assert_eq!(shortest(Goal::Latency, Spsc, 1, 0), DEFAULT_MIN_TRIAL);
    assert_eq!(shortest(Goal::Throughput, Spsc, 1, 100), DEFAULT_MIN_TRIAL);
    let slow = SearchConfig::for_base(Goal::Latency, budget, &base(Spsc, 1, 100));
    assert_eq!(slow.rate, 100);
    let err = check_budget(&slow, Duration::from_millis(150)).unwrap_err();
    assert!(
        err.to_string()
            .contains("at least 1s each, so that each consumer times 100 rows at 100 rows/s"),
        "{err}"
    );
    let fast = SearchConfig::for_base(
        Goal::Latency,
        Duration::from_secs(1),
        &base(Spsc, 1, 1_000_000),
    );
    let err = check_budget(&fast, Duration::from_millis(150)).unwrap_err();
    assert!(!err.to_string().contains("so that"), "{err}");
}

/// The table `tune` prints: where the baseline led the last rung, the winner line says the one
/// confirmed against it is the runner-up, not the rung's best.
#[test]
fn the_table_says_when_the_winner_is_the_runner_up_to_the_baseline() {
    let n = 4;
    let mut fake = Fake::new(vec![2.0, 1.0, 0.9, 0.8], 0.0, 5);
    let record = search(
        &candidates(n),
        &mut fake,
        &config(Goal::Throughput, 30, 5),
        &mut |_| {},
    )
    .unwrap();
    let last = record.rungs.last().unwrap();
    assert_eq!(last.ranking[0].0, 0, "{:?}", record.rungs);
    assert_ne!(record.verdict.winner, 0);
    let table = record.table(&candidates(n));
    assert!(
        table.contains("(the best but the baseline, which led the last rung)\nverdict: "),
        "{table}"
    );
    // A winner that led its rung is said plainly.
    let mut led = record.clone();
    led.rungs.last_mut().unwrap().ranking.swap(0, 1);
    assert!(!led.table(&candidates(n)).contains("the best but"));
}
