//! Where a worker thread spends its time: its stack, sampled by the kernel (perf's software
//! `cpu-clock` event, which needs no hardware PMU, and which `perf_event_paranoid` 2 allows on a
//! process's own threads), symbolized and folded into the lines a flamegraph is drawn from.
//!
//! The kernel walks each sampled user stack by its frame pointers (the project builds with them:
//! `.cargo/config.toml`); frames of code built without them (the precompiled standard library)
//! end the walk early, so a stack can stop short of the thread's entry, never show a frame that
//! was not there.

use std::collections::HashMap;

use perf_event::events::Software;
use perf_event::{Builder, SampleFlag, Sampler};

/// Bytes of each thread's sample buffer (a power of two of pages).
const BUFFER_BYTES: usize = 1 << 20;
/// Callchain entries at and above this are the kernel's context markers, not addresses.
const CONTEXT_MARKERS: u64 = u64::MAX - 4095;

/// One thread being sampled.
struct Sampled {
    name: String,
    sampler: Sampler,
    /// Callchains, innermost first, and how often each was seen.
    stacks: HashMap<Vec<u64>, u64>,
    samples: u64,
}

/// Samples the stacks of some of this process's threads until [`StackSampler::finish`].
pub struct StackSampler {
    threads: Vec<Sampled>,
    frequency_hz: u64,
}

/// Folded stacks: `thread;outermost;…;innermost count` lines, and what went into them.
#[derive(Debug, Clone, Default)]
pub struct FoldedStacks {
    /// The lines, sorted.
    pub lines: Vec<String>,
    /// Samples taken per thread.
    pub samples: Vec<(String, u64)>,
    /// Samples per second asked of the kernel.
    pub frequency_hz: u64,
}

impl StackSampler {
    /// Starts sampling each `(name, thread id)` of this process `frequency_hz` times a second of
    /// its CPU time.
    ///
    /// # Errors
    /// Why the kernel refused (with what to change), for the first thread it refused.
    pub fn start(threads: &[(String, i32)], frequency_hz: u64) -> Result<Self, String> {
        let mut sampled = Vec::new();
        for (name, tid) in threads {
            let mut builder = Builder::new(Software::CPU_CLOCK);
            builder
                .observe_pid(*tid)
                .any_cpu()
                .sample_frequency(frequency_hz)
                .sample(SampleFlag::CALLCHAIN)
                .exclude_kernel(true)
                .exclude_hv(true);
            let sampler = builder
                .build()
                .and_then(|counter| counter.sampled(BUFFER_BYTES))
                .map_err(|e| refused(name, &e))?;
            sampled.push(Sampled {
                name: name.clone(),
                sampler,
                stacks: HashMap::new(),
                samples: 0,
            });
        }
        for thread in &mut sampled {
            thread
                .sampler
                .enable()
                .map_err(|e| refused(&thread.name, &e))?;
        }
        Ok(StackSampler {
            threads: sampled,
            frequency_hz,
        })
    }

    /// Takes the samples waiting in the buffers (call it often enough that they do not fill:
    /// once a second holds about 3,000 samples a thread).
    pub fn drain(&mut self) {
        for thread in &mut self.threads {
            while let Some(record) = thread.sampler.next_record() {
                let Ok(perf_event::data::Record::Sample(sample)) = record.parse_record() else {
                    continue;
                };
                let Some(chain) = sample.callchain() else {
                    continue;
                };
                let addresses: Vec<u64> = chain
                    .iter()
                    .copied()
                    .filter(|ip| *ip < CONTEXT_MARKERS && *ip != 0)
                    .collect();
                if addresses.is_empty() {
                    continue;
                }
                thread.samples += 1;
                *thread.stacks.entry(addresses).or_insert(0) += 1;
            }
        }
    }

    /// Stops sampling and folds what was sampled, every address named.
    pub fn finish(mut self) -> FoldedStacks {
        self.drain();
        let mut names: HashMap<(u64, bool), Vec<String>> = HashMap::new();
        let mut folded: HashMap<String, u64> = HashMap::new();
        for thread in &self.threads {
            for (chain, count) in &thread.stacks {
                let mut frames = vec![thread.name.clone()];
                // Outermost first; every frame but the innermost is a return address, one past
                // its call.
                for (depth, ip) in chain.iter().enumerate().rev() {
                    let leaf = depth == 0;
                    let symbols = names
                        .entry((*ip, leaf))
                        .or_insert_with(|| symbolize(*ip, leaf));
                    frames.extend(symbols.iter().cloned());
                }
                *folded.entry(frames.join(";")).or_insert(0) += count;
            }
        }
        let mut lines: Vec<String> = folded
            .into_iter()
            .map(|(stack, count)| format!("{stack} {count}"))
            .collect();
        lines.sort();
        FoldedStacks {
            lines,
            samples: self
                .threads
                .iter()
                .map(|t| (t.name.clone(), t.samples))
                .collect(),
            frequency_hz: self.frequency_hz,
        }
    }
}

/// The function names at `ip`, outermost first (inlined calls expand into several); none when
/// it is in no known symbol.
fn symbolize(ip: u64, leaf: bool) -> Vec<String> {
    let at = if leaf { ip } else { ip.saturating_sub(1) };
    let mut names = Vec::new();
    backtrace::resolve(at as usize as *mut std::ffi::c_void, |symbol| {
        if let Some(name) = symbol.name() {
            // `{:#}` leaves out the hash of a Rust symbol.
            names.push(format!("{name:#}").replace(';', ":"));
        }
    });
    // The resolver reports the innermost inlined frame first.
    names.reverse();
    names
}

fn refused(thread: &str, error: &std::io::Error) -> String {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "cannot sample {thread}'s stack: {error} (perf_event_paranoid is {paranoid}; sampling a \
         process's own threads needs 2 or less, or CAP_PERFMON)"
    )
}
