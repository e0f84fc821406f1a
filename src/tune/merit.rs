//! Whether a trial counts, and how much: the one rule that puts a trial out (rows lost, a
//! failure, a codec ratio under the floor, a latency goal's rate missed or no latency timed),
//! the merit of those that count, and the verdict's words when no candidate did.

use crate::metrics::pace::keeps_rate;
use crate::words::{counted, listed};

use super::search::{Goal, SearchConfig, TrialOutcome, TrialRecord};

/// Why a trial does not count, in words for the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Disqualified {
    /// Rows lost, duplicated or out of order.
    LostRows,
    /// The trial could not run or stopped early.
    Failed,
    /// A framed trial compressed less than the floor asked for.
    UnderRatioFloor,
    /// A latency trial whose producer could not keep the rate.
    MissedRate,
    /// A latency trial without latency figures.
    NoLatency,
}

impl Disqualified {
    /// What a trial out for this reason did, for a sentence ("3 lost rows").
    fn did(self, config: &SearchConfig) -> String {
        match self {
            Disqualified::LostRows => "lost rows".to_owned(),
            Disqualified::Failed => "failed".to_owned(),
            Disqualified::UnderRatioFloor => format!(
                "compressed under {}x",
                config.min_codec_ratio.unwrap_or_default()
            ),
            Disqualified::MissedRate => "missed the rate".to_owned(),
            Disqualified::NoLatency => "timed no row".to_owned(),
        }
    }
}

/// Why `outcome` does not count for `config`'s goal, if it does not: rows lost or out of order,
/// a failure, a codec ratio under the floor asked for, or for a latency goal a rate not kept or
/// no latency figure. One home for the rule: [`merit`] and the verdict's tally ask it.
pub fn disqualified(config: &SearchConfig, outcome: &TrialOutcome) -> Option<Disqualified> {
    let Some(rows_per_s) = outcome.rows_per_s.filter(|_| outcome.failure.is_none()) else {
        return Some(Disqualified::Failed);
    };
    if outcome.integrity_ok != Some(true) {
        return Some(Disqualified::LostRows);
    }
    if rows_per_s <= 0.0 {
        return Some(Disqualified::Failed);
    }
    if config
        .min_codec_ratio
        .is_some_and(|floor| !outcome.codec_ratio.is_some_and(|ratio| ratio >= floor))
    {
        return Some(Disqualified::UnderRatioFloor);
    }
    if config.goal == Goal::Latency {
        if !keeps_rate(rows_per_s, config.rate as f64) {
            return Some(Disqualified::MissedRate);
        }
        if outcome.p99_ns.is_none() || outcome.p50_ns.is_none() {
            return Some(Disqualified::NoLatency);
        }
    }
    None
}

/// The merit of one outcome for `config`'s goal: higher is better; `None` when it is
/// [`disqualified`].
pub fn merit(config: &SearchConfig, outcome: &TrialOutcome) -> Option<f64> {
    if disqualified(config, outcome).is_some() {
        return None;
    }
    match config.goal {
        Goal::Throughput => outcome.rows_per_s,
        Goal::Latency => {
            let p99 = outcome.p99_ns? as f64;
            let p50 = outcome.p50_ns? as f64;
            // p99 decides; p50 (weighted 1/100) breaks ties between equal p99s.
            Some(1e9 / (p99 + p50 / 100.0 + 1.0))
        }
    }
}

/// Why no candidate but the baseline qualified in the trials `rung` (the last rung's): how many
/// of the other candidates' trials were out for each reason, most first.
pub(super) fn none_qualified<'r>(
    config: &SearchConfig,
    rung: impl Iterator<Item = &'r TrialRecord>,
) -> String {
    let mut tally: Vec<(Disqualified, usize)> = Vec::new();
    let mut trials = 0;
    for trial in rung.filter(|t| t.candidate != 0) {
        trials += 1;
        if let Some(why) = disqualified(config, &trial.outcome) {
            match tally.iter_mut().find(|(w, _)| *w == why) {
                Some((_, n)) => *n += 1,
                None => tally.push((why, 1)),
            }
        }
    }
    tally.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let reasons: Vec<String> = tally
        .iter()
        .map(|(why, n)| format!("{n} {}", why.did(config)))
        .collect();
    if reasons.is_empty() {
        return "no candidate qualified: baseline kept".to_owned();
    }
    format!(
        "no candidate qualified (of the last rung's {} of other candidates, {}): baseline kept",
        counted(trials, "trial"),
        listed(&reasons, "and")
    )
}
