//! `run --headless --flamegraph FILE.svg`: the workers' stacks sampled while the run lasts, drawn
//! when it ends.

use std::path::{Path, PathBuf};

use crate::engine::EngineHandle;
use crate::metrics::stacks::StackSampler;
use crate::save::Pending;

/// Samples per second of each worker's CPU time: odd, so the sampling does not beat with
/// anything periodic in the workload.
const FREQUENCY_HZ: u64 = 997;

/// The file a flamegraph goes to, begun when the run starts (a path that cannot be written is
/// then a usage error, not a run's samples lost at its end) and put in place only once drawn:
/// a run that ends with nothing to draw leaves the path as it was.
pub(super) struct Target {
    path: PathBuf,
    pending: Pending,
}

impl Target {
    /// Begins the flamegraph's file for `path`.
    ///
    /// # Errors
    /// What the OS said.
    pub(super) fn create(path: &Path) -> std::io::Result<Self> {
        Ok(Target {
            path: path.to_owned(),
            pending: Pending::begin(path)?,
        })
    }

    /// Drops the file begun: the reason nothing was drawn is said instead.
    pub(super) fn abandon(self) -> PathBuf {
        drop(self.pending);
        self.path
    }
}

/// Where the flamegraph of a run stands.
pub(super) enum Flamegraph {
    /// Waiting for every worker to start.
    Waiting(Target),
    /// Sampling them.
    Sampling(Target, StackSampler),
    /// Refused (said once) or not asked for.
    Off,
}

impl Flamegraph {
    /// A flamegraph into `target`, when asked for.
    pub(super) fn new(target: Option<Target>) -> Self {
        target.map_or(Flamegraph::Off, Flamegraph::Waiting)
    }

    /// Starts sampling once every worker runs, and takes the samples waiting; the reason, once,
    /// if the kernel refuses.
    pub(super) fn tick(&mut self, engine: &EngineHandle) -> Option<String> {
        match std::mem::replace(self, Flamegraph::Off) {
            Flamegraph::Off => None,
            Flamegraph::Sampling(target, mut sampler) => {
                sampler.drain();
                *self = Flamegraph::Sampling(target, sampler);
                None
            }
            Flamegraph::Waiting(target) => {
                let threads = engine.worker_threads();
                if threads.is_empty() || threads.len() < engine.thread_count() {
                    *self = Flamegraph::Waiting(target);
                    return None;
                }
                match StackSampler::start(&threads, FREQUENCY_HZ) {
                    Ok(sampler) => {
                        *self = Flamegraph::Sampling(target, sampler);
                        None
                    }
                    Err(reason) => {
                        let path = target.abandon();
                        Some(format!("no flamegraph in {}: {reason}", path.display()))
                    }
                }
            }
        }
    }

    /// Draws what was sampled into its file, titled `title`; what went wrong, if anything.
    pub(super) fn finish(self, title: &str) -> Option<String> {
        let (target, sampler) = match self {
            Flamegraph::Sampling(target, sampler) => (target, sampler),
            Flamegraph::Waiting(target) => {
                return Some(format!(
                    "no flamegraph in {}: the workers ended before they could be sampled",
                    target.abandon().display()
                ));
            }
            Flamegraph::Off => return None,
        };
        let stacks = sampler.finish();
        let Target { path, pending } = target;
        crate::export::flamegraph::save_svg(&stacks, title, pending)
            .err()
            .map(|e| format!("no flamegraph in {}: {e}", path.display()))
    }
}
