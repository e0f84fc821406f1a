//! `run --headless --flamegraph FILE.svg`: the workers' stacks sampled while the run lasts, drawn
//! when it ends.

use std::path::PathBuf;

use crate::engine::EngineHandle;
use crate::metrics::stacks::StackSampler;

/// Samples per second of each worker's CPU time: odd, so the sampling does not beat with
/// anything periodic in the workload.
const FREQUENCY_HZ: u64 = 997;

/// Where the flamegraph of a run stands.
pub(super) enum Flamegraph {
    /// Waiting for every worker to start.
    Waiting(PathBuf),
    /// Sampling them.
    Sampling(PathBuf, StackSampler),
    /// Refused (said once) or not asked for.
    Off,
}

impl Flamegraph {
    /// A flamegraph to write to `path`, when asked for.
    pub(super) fn new(path: Option<PathBuf>) -> Self {
        path.map_or(Flamegraph::Off, Flamegraph::Waiting)
    }

    /// Starts sampling once every worker runs, and takes the samples waiting; the reason, once,
    /// if the kernel refuses.
    pub(super) fn tick(&mut self, engine: &EngineHandle) -> Option<String> {
        match self {
            Flamegraph::Off => None,
            Flamegraph::Sampling(_, sampler) => {
                sampler.drain();
                None
            }
            Flamegraph::Waiting(path) => {
                let threads = engine.worker_threads();
                if threads.is_empty() || threads.len() < engine.thread_count() {
                    return None;
                }
                match StackSampler::start(&threads, FREQUENCY_HZ) {
                    Ok(sampler) => {
                        *self = Flamegraph::Sampling(path.clone(), sampler);
                        None
                    }
                    Err(reason) => {
                        *self = Flamegraph::Off;
                        Some(format!("no flamegraph: {reason}"))
                    }
                }
            }
        }
    }

    /// Draws what was sampled into its file, titled `title`; what went wrong, if anything.
    pub(super) fn finish(self, title: &str) -> Option<String> {
        let (path, sampler) = match self {
            Flamegraph::Sampling(path, sampler) => (path, sampler),
            Flamegraph::Waiting(path) => {
                return Some(format!(
                    "no flamegraph in {}: the workers ended before they could be sampled",
                    path.display()
                ));
            }
            Flamegraph::Off => return None,
        };
        let stacks = sampler.finish();
        let written = std::fs::File::create(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))
            .and_then(|file| {
                crate::export::flamegraph::write_svg(&stacks, title, std::io::BufWriter::new(file))
            });
        written
            .err()
            .map(|e| format!("no flamegraph in {}: {e}", path.display()))
    }
}
