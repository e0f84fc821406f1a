//! `t` in the dashboard: `ringtop tune` on the running profile, in the background, shown live.
//!
//! The workload stops while the search runs (its trials need the CPUs to themselves), the
//! search runs on a thread of its own and reports each trial before it starts, and when it ends
//! the profile it wrote (`profiles/tuned.toml`) is loaded and runs. `x` cancels it: it stops
//! within its trial, writes nothing, and the workload resumes as it was.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use crate::profile::TuningProfile;
use crate::topology::c2c::{self, C2cConfig, C2cReport};
use crate::tune::{self, EngineTrials, Goal, Progress, SearchConfig, SpaceInputs};

/// How long a search started from the dashboard may take.
pub const DASHBOARD_BUDGET: Duration = Duration::from_secs(30);
/// The profile a dashboard search writes (and loads).
pub const TUNED_PROFILE: &str = "tuned";

/// What the search thread tells the dashboard.
#[derive(Debug)]
pub(crate) enum TuneEvent {
    /// A trial is about to start.
    Progress(Progress),
    /// The search ended: the profile written, or why there is none.
    Done(Result<TuneDone, String>),
}

/// A finished search.
#[derive(Debug)]
pub(crate) struct TuneDone {
    /// Where the profile went.
    pub(crate) path: PathBuf,
    /// The verdict in words.
    pub(crate) reason: String,
    /// The candidate written, as a label.
    pub(crate) chosen: String,
}

/// The live view of a search: what the overlay shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TuneView {
    /// `latency` or `throughput`.
    pub goal: &'static str,
    /// The least codec ratio a trial may show and count (the profile's `[codec] min_ratio`).
    pub min_ratio: Option<f64>,
    /// The budget.
    pub budget: Duration,
    /// Budget spent so far.
    pub spent: Duration,
    /// `measuring the core-to-core map`, `rung N`, `confirm` or `done`.
    pub phase: String,
    /// The candidate running now.
    pub candidate: String,
    /// The best so far.
    pub leader: Option<String>,
    /// Trials run.
    pub trials: usize,
    /// How it ended, once it has.
    pub verdict: Option<String>,
}

impl TuneView {
    /// A search that is about to start with `config`: its goal, budget and ratio floor.
    pub fn new(config: &SearchConfig) -> Self {
        TuneView {
            goal: match config.goal {
                Goal::Latency => "latency",
                Goal::Throughput => "throughput",
            },
            min_ratio: config.min_codec_ratio,
            budget: config.budget,
            spent: Duration::ZERO,
            phase: "starting".into(),
            candidate: String::new(),
            leader: None,
            trials: 0,
            verdict: None,
        }
    }

    /// Takes in a progress report.
    pub fn update(&mut self, progress: &Progress) {
        self.spent = progress.spent;
        self.phase.clone_from(&progress.phase);
        self.candidate.clone_from(&progress.candidate);
        self.leader.clone_from(&progress.leader);
        self.trials = progress.trials_done;
    }

    /// The overlay's lines.
    pub fn lines(&self) -> Vec<String> {
        let share = self.spent.as_secs_f64() / self.budget.as_secs_f64().max(1e-9);
        let filled = ((share.min(1.0)) * 30.0).round() as usize;
        let mut lines = vec![
            format!(
                "goal {}, budget {} s{}; the workload is stopped meanwhile",
                self.goal,
                self.budget.as_secs(),
                self.min_ratio
                    .map(|floor| format!(", codec ratio at least {floor}x"))
                    .unwrap_or_default()
            ),
            format!(
                "[{}{}] {:.0} of {} s, {} trials",
                "=".repeat(filled),
                " ".repeat(30 - filled),
                self.spent.as_secs_f64(),
                self.budget.as_secs(),
                self.trials
            ),
            format!("phase:  {}", self.phase),
        ];
        if self.verdict.is_none() && !self.candidate.is_empty() {
            lines.push(format!("trying: {}", self.candidate));
        }
        if let Some(leader) = &self.leader {
            lines.push(format!("best so far: {leader}"));
        }
        if let Some(verdict) = &self.verdict {
            lines.push(String::new());
            lines.extend(verdict.lines().map(str::to_owned));
        }
        lines
    }
}

/// The search on `profile` the dashboard runs: its goal ([`Goal::for_base`]), the dashboard's budget,
/// and the floor of the profile's `[codec] min_ratio`.
pub fn config_for(profile: &TuningProfile) -> SearchConfig {
    SearchConfig::for_base(Goal::for_base(profile), DASHBOARD_BUDGET, profile)
}

/// Starts the search on `base` on a thread of its own; events arrive on the receiver. Setting
/// `stop` cancels it: it ends with an error saying so, having written nothing.
///
/// # Errors
/// The thread could not be spawned.
pub(crate) fn start(
    base: TuningProfile,
    base_name: String,
    map: Option<C2cReport>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<Receiver<TuneEvent>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("tune".into())
        .spawn(move || {
            let result = search(base, &base_name, map, stop, &mut |p| {
                let _ = tx.send(TuneEvent::Progress(p.clone()));
            });
            let _ = tx.send(TuneEvent::Done(result));
        })?;
    Ok(rx)
}

fn search(
    mut base: TuningProfile,
    base_name: &str,
    map: Option<C2cReport>,
    stop: Arc<AtomicBool>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<TuneDone, String> {
    base.workload.duration = None;
    let topology = crate::topology::host().map_err(|e| e.to_string())?;
    let map = match map {
        Some(map) => map,
        None => {
            progress(&Progress {
                phase: "measuring the core-to-core map".into(),
                spent: Duration::ZERO,
                budget: DASHBOARD_BUDGET,
                candidate: String::new(),
                leader: None,
                trials_done: 0,
            });
            c2c::run(&C2cConfig::default()).map_err(|e| e.to_string())?
        }
    };
    let config = SearchConfig {
        stop: Some(stop.clone()),
        ..config_for(&base)
    };
    let codecs = tune::favoured_codecs(&base, config.min_codec_ratio);
    let candidates = tune::candidates(&SpaceInputs {
        base: &base,
        topology,
        c2c: &map,
        allow_smt: false,
        latency: config.goal == Goal::Latency,
        codecs,
    })
    .map_err(|e| e.to_string())?;
    let record = tune::search(
        &candidates,
        &mut EngineTrials::stopping_on(stop),
        &config,
        progress,
    )
    .map_err(|e| e.to_string())?;
    if record.interrupted {
        return Err(format!(
            "cancelled after {} trials: nothing written",
            record.trials.len()
        ));
    }
    let written = tune::evidence(
        &record,
        &candidates,
        base_name,
        &format!("ringtop (dashboard key t) on {base_name}"),
    )
    .map_err(|e| e.to_string())?;
    let path = super::profile_path(TUNED_PROFILE);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    crate::save::write_whole(&path, written.text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(TuneDone {
        path,
        reason: record.verdict.reason.clone(),
        chosen: candidates[record.verdict.chosen].label(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_follows_the_search_and_ends_with_its_verdict() {
        let mut view = TuneView::new(&SearchConfig::new(
            Goal::Throughput,
            Duration::from_secs(30),
        ));
        view.update(&Progress {
            phase: "rung 1".into(),
            spent: Duration::from_secs(15),
            budget: Duration::from_secs(30),
            candidate: "spsc cpus 0->1 cap 4096 batch 64 wait spin/spin".into(),
            leader: Some("relay cpus 1->0 cap 256 batch 64 wait spin/spin".into()),
            trials_done: 12,
        });
        let lines = view.lines();
        assert_eq!(
            lines[1],
            format!(
                "[{}{}] 15 of 30 s, 12 trials",
                "=".repeat(15),
                " ".repeat(15)
            )
        );
        assert_eq!(lines[2], "phase:  rung 1");
        assert!(lines[3].starts_with("trying: spsc cpus 0->1"));
        assert!(lines[4].starts_with("best so far: relay"));
        assert_eq!(
            lines[0],
            "goal throughput, budget 30 s; the workload is stopped meanwhile"
        );
        view.verdict = Some("wrote and loaded profiles/tuned.toml:\nthe base\nkept".into());
        let lines = view.lines();
        assert!(!lines.iter().any(|l| l.starts_with("trying")));
        assert_eq!(
            lines[lines.len() - 3..],
            ["wrote and loaded profiles/tuned.toml:", "the base", "kept"]
        );
    }

    #[test]
    fn a_framed_profiles_floor_is_the_dashboard_searchs_and_the_overlay_says_it() {
        let mut profile = crate::profile::builtin::get("compressed-timeseries").unwrap();
        assert_eq!(config_for(&profile).min_codec_ratio, None);
        profile.codec.as_mut().unwrap().min_ratio = Some(10.0);
        let config = config_for(&profile);
        assert_eq!(config.min_codec_ratio, Some(10.0));
        let view = TuneView::new(&config);
        assert_eq!(
            view.lines()[0],
            "goal throughput, budget 30 s, codec ratio at least 10x; the workload is stopped \
             meanwhile"
        );
    }
}
