//! `ringtop tune`: search the ring settings for a goal, keep the evidence, write the profile.
//!
//! - `space`: the candidates (CPU pairs from the core-to-core map, memory node, ring kind,
//!   capacity by the caches, batch, prefetch, wait strategies, codec by the data).
//! - `search`: successive halving within a budget on the [`Trials`] trait ([`search()`]), then
//!   `confirm`: an interleaved confirmation against the baseline with a sign test.
//! - `merit`: whether a trial counts ([`disqualified`]) and its [`merit`].
//! - `trials`: [`EngineTrials`], trials on the real engine.
//! - `sweep`: a grid of short runs over one or two settings, and its knee.
//! - [`evidence`]: the tuned profile with the search's evidence as its header.
//!
//! The search is tested on a fake measurement with a planted optimum and injected noise
//! (`tests`), so its logic is checked without a noisy machine.

mod confirm;
mod evidence;
mod merit;
mod search;
mod space;
mod span;
mod stats;
pub mod sweep;
mod table;
#[cfg(test)]
mod tests;
mod trials;

pub use evidence::{Evidence, Figures, evidence};
pub use merit::{Disqualified, disqualified, merit};
pub use search::{
    DEFAULT_MIN_TRIAL, Goal, Progress, Rung, SearchConfig, SearchError, SearchRecord, TrialOutcome,
    TrialRecord, Trials, Verdict, check_budget, search,
};
pub use space::{Candidate, Setting, SpaceError, SpaceInputs, apply, candidates, check_base};
pub use span::LatencySpan;
pub use stats::{median, sign_test_confidence};
pub use trials::EngineTrials;

use crate::codec::CodecId;
use crate::profile::TuningProfile;

/// Rows the codec trial encodes to choose codecs for a framed workload.
const CODEC_SAMPLE_ROWS: usize = 8192;
/// Codecs a framed search tries besides the base's.
const CODECS_TRIED: usize = 2;

/// The codecs the workload's own data favours, for a framed base: the smallest output and the
/// fastest decode among the exact round trips of a `codec` trial on rows from its source that
/// compress at all, or by `min_ratio` where the search has that floor (the base's codec is
/// tried anyway). Empty for a row ring, or when the source cannot be read.
pub fn favoured_codecs(base: &TuningProfile, min_ratio: Option<f64>) -> Vec<CodecId> {
    let Some(codec) = &base.codec else {
        return Vec::new();
    };
    let Ok(mut source) = crate::engine::row_source(&base.workload.source, base.workload.seed)
    else {
        return Vec::new();
    };
    let rows = source.rows(CODEC_SAMPLE_ROWS, 0, 0, 1000);
    let frame_rows = codec.rows_per_frame.unwrap_or(base.workload.batch);
    let results =
        crate::codec::trial::run(&rows, crate::row::Row::COLUMNS, frame_rows, &CodecId::ALL);
    let exact: Vec<_> = results
        .iter()
        .filter(|r| r.is_exact())
        .filter_map(|r| Some((r.name.parse::<CodecId>().ok()?, r)))
        .collect();
    let smallest = exact
        .iter()
        .filter_map(|(id, r)| Some((*id, r.bytes_per_value?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id);
    let fastest = exact
        .iter()
        .filter(|(_, r)| {
            r.ratio
                .is_some_and(|ratio| ratio > 1.0 && min_ratio.is_none_or(|floor| ratio >= floor))
        })
        .filter_map(|(id, r)| Some((*id, r.decode_mb_per_s?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id);
    let mut out = Vec::new();
    for id in [smallest, fastest].into_iter().flatten() {
        if !out.contains(&id) && out.len() < CODECS_TRIED {
            out.push(id);
        }
    }
    out
}
