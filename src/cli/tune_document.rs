//! What `ringtop tune --json` prints: the search, every candidate it could try, and the figures
//! behind the profile written, typed so that `ringtop schema` can describe it.

use ringtop::tune::{Candidate, Figures, SearchRecord, Setting};
use schemars::JsonSchema;
use serde::Serialize;

/// The whole search.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct TuneDocument<'a> {
    /// What this document is.
    kind: TuneKind,
    /// The base profile's name.
    base: &'a str,
    /// The profile file written; `null` when the search was interrupted and nothing was.
    output: Option<String>,
    /// Every candidate of the space, by id (0: the baseline).
    candidates: Vec<CandidateEntry>,
    /// The search: its rungs, every trial, the verdict.
    search: &'a SearchRecord,
    /// The baseline's figures; `null` when nothing was written.
    baseline: Option<Figures>,
    /// The written candidate's figures; `null` when nothing was written.
    chosen: Option<Figures>,
}

/// The `kind` of a [`TuneDocument`]: `"tune"`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum TuneKind {
    /// A search.
    Tune,
}

/// One candidate.
#[derive(Debug, Serialize, JsonSchema)]
struct CandidateEntry {
    /// Its id: what the trials and rungs name it by.
    id: usize,
    /// What it changes from the base; `null` for the baseline.
    setting: Option<Setting>,
    /// How the table names it.
    label: String,
}

impl<'a> TuneDocument<'a> {
    /// The search `record` over `candidates` from the base `base`; `written` is the file and the
    /// baseline's and chosen candidate's figures, when the search ended and wrote one.
    pub(super) fn of(
        base: &'a str,
        candidates: &[Candidate],
        search: &'a SearchRecord,
        written: Option<(String, Option<Figures>, Option<Figures>)>,
    ) -> Self {
        let (output, baseline, chosen) = match written {
            Some((output, baseline, chosen)) => (Some(output), baseline, chosen),
            None => (None, None, None),
        };
        TuneDocument {
            kind: TuneKind::Tune,
            base,
            output,
            candidates: candidates
                .iter()
                .map(|c| CandidateEntry {
                    id: c.id,
                    setting: c.setting.clone(),
                    label: c.label(),
                })
                .collect(),
            search,
            baseline,
            chosen,
        }
    }
}
