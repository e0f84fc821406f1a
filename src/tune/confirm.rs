//! The confirmation: the search's winner against the baseline in alternating pairs (A B, B A,
//! …), each pair measured in one phase of a noisy machine, crowned only when a one-sided sign
//! test on the pairs gives the confidence asked for; and the verdict of a search stopped from
//! outside.

use std::time::Duration;

use super::merit::merit;
use super::search::{Progress, SearchConfig, TrialRecord, Trials, Verdict, run_one};
use super::space::Candidate;
use super::stats::{median, sign_test_confidence};

/// The winner against the baseline in alternating pairs, and the sign test on them.
pub(super) fn confirm(
    candidates: &[Candidate],
    trials: &mut dyn Trials,
    config: &SearchConfig,
    (winner, pairs, trial): (usize, usize, Duration),
    (log, spent): (&mut Vec<TrialRecord>, &mut Duration),
    progress: &mut dyn FnMut(&Progress),
) -> Verdict {
    let mut ratios = Vec::new();
    let mut disqualified = 0;
    let mut completed = 0;
    'pairs: for pair in 0..pairs {
        let order = if pair % 2 == 0 {
            [0, winner]
        } else {
            [winner, 0]
        };
        let mut merits = [None, None];
        for id in order {
            if config.stopped() {
                break 'pairs;
            }
            let status = Progress {
                phase: "confirm".to_owned(),
                spent: *spent,
                budget: config.budget,
                candidate: String::new(),
                leader: Some(candidates[winner].label()),
                trials_done: log.len(),
            };
            let outcome = run_one(trials, &candidates[id], trial, status, progress);
            *spent += outcome.cost;
            let m = merit(config, &outcome);
            merits[usize::from(id == winner)] = m;
            log.push(TrialRecord {
                phase: "confirm".to_owned(),
                candidate: id,
                duration_s: trial.as_secs_f64(),
                outcome,
                merit: m,
                relative_merit: None,
            });
            // A pair cut short (its trial may have been too) does not count.
            if config.stopped() {
                break 'pairs;
            }
        }
        completed += 1;
        match merits {
            [Some(base), Some(best)] => ratios.push(best / base),
            [_, None] => disqualified += 1,
            // The baseline disqualified and the winner not: a win.
            [None, Some(_)] => ratios.push(f64::INFINITY),
        }
    }
    // Stopped from outside: the pairs that ran (the search says it was interrupted).
    let pairs = completed;
    let wins = ratios.iter().filter(|&&r| r > 1.0).count();
    let confidence = sign_test_confidence(wins, pairs);
    let finite: Vec<f64> = ratios.iter().copied().filter(|r| r.is_finite()).collect();
    let median_ratio = median(&ratios);
    let ratio_range = finite
        .iter()
        .copied()
        .fold(None, |range: Option<(f64, f64)>, r| {
            Some(range.map_or((r, r), |(lo, hi)| (lo.min(r), hi.max(r))))
        });
    let improved = disqualified == 0
        && confidence >= config.confidence
        && median_ratio.is_some_and(|r| r > 1.0);
    let reason = if disqualified > 0 {
        format!("the winner was disqualified in {disqualified} of {pairs} pairs: baseline kept")
    } else if improved {
        format!(
            "the winner beat the baseline in {wins} of {pairs} interleaved pairs (sign test \
             confidence {:.3} >= {:.3})",
            confidence, config.confidence
        )
    } else {
        format!(
            "the winner beat the baseline in only {wins} of {pairs} interleaved pairs (sign test \
             confidence {:.3} < {:.3}): baseline kept",
            confidence, config.confidence
        )
    };
    Verdict {
        chosen: if improved { winner } else { 0 },
        winner,
        improved,
        pairs,
        wins,
        median_ratio,
        ratio_range,
        confidence: Some(confidence),
        required_confidence: config.confidence,
        reason,
    }
}

/// `verdict` once the search was stopped after `trials` trials: the baseline kept, the winner
/// and any pairs run left as they were, for the record.
pub(super) fn interrupted(verdict: Verdict, trials: usize) -> Verdict {
    Verdict {
        chosen: 0,
        improved: false,
        reason: format!("interrupted after {trials} trials: baseline kept, nothing confirmed"),
        ..verdict
    }
}
