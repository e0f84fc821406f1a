//! The tuned profile as a file: the chosen settings, and above them, as comments, the evidence
//! (baseline against the chosen setting, the confidence, the host, the date) so that whoever
//! opens it later knows why it says what it says.

use std::time::SystemTime;

use serde::Serialize;

use crate::host::HostFacts;
use crate::profile::TuningProfile;

use super::search::{Goal, SearchRecord};
use super::space::Candidate;
use super::stats::median;

/// A candidate's figures in the search: medians over its confirmation trials, or over its last
/// rung's when it had no confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Figures {
    /// Rows per second.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub rows_per_s: f64,
    /// Median latency, ns.
    pub p50_ns: Option<u64>,
    /// 99th percentile latency, ns.
    pub p99_ns: Option<u64>,
    /// A framed workload's codec ratio (`None` unframed): a faster codec may have been chosen
    /// for a smaller ratio, and the header says what was traded.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub codec_ratio: Option<f64>,
    /// Trials the medians are over.
    pub trials: usize,
}

/// The profile tune writes and the evidence behind it.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The chosen profile (the base itself when no candidate beat it).
    pub profile: TuningProfile,
    /// The file's text: the evidence as comments, then the profile.
    pub text: String,
    /// The baseline's figures.
    pub baseline: Option<Figures>,
    /// The chosen candidate's figures.
    pub chosen: Option<Figures>,
}

/// The tuned profile of `record` over `candidates`, from the base named `base_name`, with the
/// evidence as its header; `command` is the command line that ran the search.
///
/// # Errors
/// The profile cannot be written as TOML (not expected for a checked profile).
pub fn evidence(
    record: &SearchRecord,
    candidates: &[Candidate],
    base_name: &str,
    command: &str,
) -> Result<Evidence, toml::ser::Error> {
    let verdict = &record.verdict;
    let chosen = &candidates[verdict.chosen];
    let mut profile = chosen.profile.clone();
    // The floor this search kept to goes with the profile: a search from it keeps to it too.
    if let Some(codec) = &mut profile.codec {
        codec.min_ratio = record.min_codec_ratio;
    }
    let goal = match record.goal {
        Goal::Latency => "latency",
        Goal::Throughput => "throughput",
    };
    profile.description = match &chosen.setting {
        Some(setting) => format!("Tuned for {goal} from {base_name}: {setting}"),
        // The search's best may have beaten it in some pairs, just not surely.
        None if verdict.winner != 0 => {
            format!("Tuned for {goal}: {base_name} kept (the search's best did not beat it surely)")
        }
        None => format!("Tuned for {goal}: {base_name} kept (no candidate beat it)"),
    };
    let baseline = figures(record, 0);
    let chosen_figures = figures(record, verdict.chosen);
    let host = HostFacts::read();
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str("# ");
        text.push_str(&s);
        text.push('\n');
    };
    line(format!("Written by `{command}`"));
    line(format!(
        "on {} ({}), {}",
        host.hostname.as_deref().unwrap_or("an unnamed host"),
        host.cpu_model.as_deref().unwrap_or("CPU model unknown"),
        humantime::format_rfc3339_seconds(SystemTime::now())
    ));
    line(format!(
        "Search: {} of {} candidates sampled, {} rungs, {} trials, {:.0} s of a {:.0} s budget.",
        record.sampled,
        record.candidates,
        record.rungs.len(),
        record.trials.len(),
        record.spent_s,
        record.budget_s
    ));
    if let Some(floor) = record.min_codec_ratio {
        line(format!(
            "Codec ratio floor: {floor}x (a trial that compressed less did not count)."
        ));
    }
    if let Some(b) = &baseline {
        line(format!("Baseline ({base_name}): {}", describe(b)));
    }
    if verdict.chosen != 0
        && let Some(c) = &chosen_figures
    {
        line(format!("Chosen: {}", describe(c)));
    }
    if verdict.winner != 0 && verdict.chosen == 0 {
        line(format!(
            "The search's winner, {}, was not kept.",
            candidates[verdict.winner].label()
        ));
    }
    if let (Some(ratio), Some((low, high))) = (verdict.median_ratio, verdict.ratio_range) {
        line(format!(
            "Winner/baseline per interleaved pair: median {ratio:.3} (range {low:.3}-{high:.3}, \
             {} pairs, higher is better for {goal}).",
            verdict.pairs
        ));
    }
    line(format!("Verdict: {}.", verdict.reason));
    text.push_str(&profile.to_toml()?);
    Ok(Evidence {
        profile,
        text,
        baseline,
        chosen: chosen_figures,
    })
}

fn describe(f: &Figures) -> String {
    let ns = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{v} ns"));
    let ratio = f
        .codec_ratio
        .map_or_else(String::new, |ratio| format!(", codec ratio {ratio:.2}×"));
    format!(
        "{:.3} M rows/s, p50 {}, p99 {}{ratio} (medians of {} trials)",
        f.rows_per_s / 1e6,
        ns(f.p50_ns),
        ns(f.p99_ns),
        f.trials
    )
}

/// `id`'s figures: over its confirmation trials, else over the trials of the last rung it ran
/// in, those that ran cleanly (every row once and in order, no failure; a trial out for its
/// codec ratio or its rate still says what it measured); `None` when none did.
pub(super) fn figures(record: &SearchRecord, id: usize) -> Option<Figures> {
    let mine: Vec<_> = record
        .trials
        .iter()
        .filter(|t| t.candidate == id && t.outcome.ran_clean())
        .collect();
    let confirm: Vec<_> = mine.iter().filter(|t| t.phase == "confirm").collect();
    let chosen: Vec<_> = if confirm.is_empty() {
        let last = mine.last()?.phase.clone();
        mine.iter().filter(|t| t.phase == last).collect()
    } else {
        confirm.into_iter().collect()
    };
    let rates: Vec<f64> = chosen.iter().filter_map(|t| t.outcome.rows_per_s).collect();
    let p = |pick: fn(&super::search::TrialOutcome) -> Option<u64>| {
        let values: Vec<f64> = chosen
            .iter()
            .filter_map(|t| pick(&t.outcome))
            .map(|v| v as f64)
            .collect();
        median(&values).map(|v| v.round() as u64)
    };
    let ratios: Vec<f64> = chosen
        .iter()
        .filter_map(|t| t.outcome.codec_ratio)
        .collect();
    Some(Figures {
        rows_per_s: median(&rates)?,
        p50_ns: p(|o| o.p50_ns),
        p99_ns: p(|o| o.p99_ns),
        codec_ratio: median(&ratios),
        trials: chosen.len(),
    })
}
