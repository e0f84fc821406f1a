//! Starting a workload: placing its threads, building its ring or its link, spawning the
//! workers.

use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, Release, SeqCst};
use std::thread::JoinHandle;

use crate::codec::CodecId;
use crate::codec::pipe::{FrameReceiver, FrameSender};
use crate::metrics::integrity::{InterleavedCheck, SequenceCheck, SessionCheck};
use crate::metrics::sched::TaskSched;
use crate::metrics::snapshot::Role;
use crate::profile::{
    CpuSetting, LinkEndSetting, NumaSetting, NumaWord, RingKind, SourceSetting, TuningProfile,
    WaitSetting,
};
use crate::ring::{RingConfig, RingError, broadcast, frames, mpmc, relay, spsc, window};
use crate::row::Row;
use crate::source::{Source, SourceKind};
use crate::topology::pin::{PinError, allowed_cpus, check_cpu};
use crate::topology::{MemoryPlacement, NodeChoice, NumaAlloc, PlacementError};
use crate::transport::LinkError;

use super::control::{Control, ThreadSlot};
use super::ends::{ReadEnd, WriteEnd};
use super::handle::{EngineHandle, Workers};
use super::link::{connect, listen};
use super::worker::{Check, ConsumerJob, ProducerJob, consume, produce};

/// Why a workload could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A CPU cannot be used.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// The ring's memory cannot be placed as asked.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// The ring cannot be built.
    #[error("ring: {0}")]
    Ring(#[from] RingError),
    /// The data source cannot be read.
    #[error("source: {0}")]
    Source(String),
    /// The link to the remote ring could not be set up.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The window a remote sender writes into could not be built.
    #[error("ring: {0}")]
    Window(#[from] window::WindowError),
    /// A worker thread could not be started.
    #[error("cannot start thread {name}: {reason}")]
    Spawn {
        /// The thread.
        name: String,
        /// What the OS said.
        reason: String,
    },
}

/// Starts workloads.
#[derive(Debug)]
pub struct Engine;

impl Engine {
    /// Allocates the ring on the chosen node, spawns the named, pinned workers and starts them.
    ///
    /// # Errors
    /// [`EngineError`] when the profile cannot run here (profiles from [`crate::profile::load`]
    /// are already checked, so this is rare).
    pub fn start(profile: TuningProfile) -> Result<EngineHandle, EngineError> {
        let host = crate::topology::host().ok();
        let work = &profile.workload;
        let end = profile.link_end();
        let (producer_cpus, consumer_cpus) = place_threads(&profile, thread_counts(&profile))?;
        let ring_side_cpu = consumer_cpus
            .first()
            .or(producer_cpus.first())
            .copied()
            .unwrap_or(0);
        let node = match profile.ring.numa_node.resolved() {
            NumaSetting::Word(NumaWord::Any) => NodeChoice::Any,
            NumaSetting::Node(n) => NodeChoice::Node(n),
            NumaSetting::Default | NumaSetting::Word(NumaWord::Local) => {
                NodeChoice::LocalTo(ring_side_cpu)
            }
        };
        let alloc = Arc::new(NumaAlloc::new(MemoryPlacement {
            node,
            huge_pages: profile.ring.huge_pages,
        })?);
        let config = RingConfig {
            alloc: alloc.clone(),
            producer_wait: profile.wait.producer.strategy(),
            consumer_wait: profile.wait.consumer.strategy(),
        };
        let codec = profile.codec();
        let control = Arc::new(Control::new(
            profile.effective_batch(),
            work.rate,
            codec.unwrap_or(CodecId::None),
            profile.prefetch.distance,
        ));

        let (sinks, sources, link) = match &end {
            LinkEndSetting::Local => {
                let (sinks, sources) = build_ring(&profile, config)?;
                (sinks, sources, None)
            }
            LinkEndSetting::Send(kind, address) => {
                let (sink, link) = connect(&profile, *kind, address)?;
                (vec![sink], Vec::new(), Some(link))
            }
            LinkEndSetting::Receive(kind, address) => {
                let (source, link) = listen(&profile, *kind, address, config, &alloc)?;
                (Vec::new(), vec![source], Some(link))
            }
        };
        let memory = alloc.reports().into_iter().next();
        let mut values = Vec::new();
        for p in 0..sinks.len() {
            values.push(row_source(&work.source, work.seed.wrapping_add(p as u64))?);
        }

        let mut threads = Vec::new();
        let spawned = (|| -> Result<Vec<Arc<ThreadSlot>>, EngineError> {
            let mut slots = Vec::new();
            for (i, (sink, values)) in sinks.into_iter().zip(values).enumerate() {
                let slot = Arc::new(ThreadSlot::new(
                    format!("producer-{i}"),
                    Role::Producer,
                    producer_cpus[i],
                    profile.wait.producer == WaitSetting::BusySpin,
                ));
                let job = ProducerJob {
                    slot: slot.clone(),
                    control: control.clone(),
                    sink,
                    values,
                    index: i as u64,
                    wait: profile.wait.producer.strategy(),
                };
                threads.push(spawn(&slot, &control, move || produce(job))?);
                slots.push(slot);
            }
            for (i, source) in sources.into_iter().enumerate() {
                let slot = Arc::new(ThreadSlot::new(
                    format!("consumer-{i}"),
                    Role::Consumer,
                    consumer_cpus[i],
                    profile.wait.consumer == WaitSetting::BusySpin,
                ));
                let check = if link.is_some() {
                    Check::Sessions(SessionCheck::default())
                } else if profile.ring.kind == RingKind::Mpmc {
                    Check::Interleaved(InterleavedCheck::new(work.producers))
                } else {
                    Check::Consecutive(SequenceCheck::default())
                };
                let job = ConsumerJob {
                    slot: slot.clone(),
                    control: control.clone(),
                    source,
                    check,
                    wait: profile.wait.consumer.strategy(),
                };
                threads.push(spawn(&slot, &control, move || consume(job))?);
                slots.push(slot);
            }
            Ok(slots)
        })();
        let slots = match spawned {
            Ok(slots) => slots,
            Err(e) => {
                // The workers already running would spin on forever: stop and join them.
                control.stop.store(true, Relaxed);
                for thread in threads {
                    let _ = thread.join();
                }
                return Err(e);
            }
        };

        let workers = Workers {
            control,
            slots,
            threads,
        };
        Ok(EngineHandle::new(
            profile,
            host.cloned(),
            workers,
            alloc,
            memory,
            link,
        ))
    }
}

/// What a run of `profile` will do to this host, for [`crate::doctor`]: the CPUs its threads
/// will get (as [`Engine::start`] places them), the pairs of busy-spinning threads that hand rows
/// to each other, and whether it asks for huge pages.
///
/// # Errors
/// A CPU the profile names that this process cannot use.
pub fn doctor_plan(profile: &TuningProfile) -> Result<crate::doctor::Plan, EngineError> {
    let (producers, consumers) = place_threads(profile, thread_counts(profile))?;
    let spins = profile.wait.producer == WaitSetting::BusySpin
        && profile.wait.consumer == WaitSetting::BusySpin;
    let mut cpus: Vec<usize> = producers.iter().chain(&consumers).copied().collect();
    cpus.sort_unstable();
    cpus.dedup();
    let spinning_pairs = if spins {
        producers
            .iter()
            .flat_map(|&p| consumers.iter().map(move |&c| (p, c)))
            .collect()
    } else {
        Vec::new()
    };
    Ok(crate::doctor::Plan {
        cpus,
        spinning_pairs,
        huge_pages: profile.ring.huge_pages,
        during_run: false,
    })
}

/// Producer and consumer threads this process runs: both ends locally, or one end of a link.
fn thread_counts(profile: &TuningProfile) -> (usize, usize) {
    match profile.link_end() {
        LinkEndSetting::Local => (profile.workload.producers, profile.workload.consumers),
        LinkEndSetting::Send(..) => (1, 0),
        LinkEndSetting::Receive(..) => (0, 1),
    }
}

/// Starts worker `name`. A panic in it is caught at the thread's edge, recorded with the reason
/// and stops the workload (see [`Control::fail`]), so every front end reports it.
fn spawn(
    slot: &Arc<ThreadSlot>,
    control: &Arc<Control>,
    body: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, EngineError> {
    let name = slot.name.as_str();
    #[cfg(test)]
    if tests::FAIL_SPAWN.with(|fail| fail.borrow().as_deref() == Some(name)) {
        return Err(EngineError::Spawn {
            name: name.to_owned(),
            reason: "refused by the test".into(),
        });
    }
    #[cfg(test)]
    let panics = tests::PANIC_IN.with(|panic| panic.borrow().as_deref() == Some(name));
    let (control, worker, slot) = (control.clone(), name.to_owned(), slot.clone());
    let ended = slot.clone();
    let guarded = move || {
        // Before the worker's first look at the interval cut, in the order a reading's
        // announcement relies on (`cut::announce`). SAFETY: gettid has no preconditions.
        slot.tid.store(unsafe { libc::gettid() }, SeqCst);
        #[cfg(test)]
        if panics {
            panic!("told to by the test");
        }
        body();
        let last = TaskSched::of_this_thread();
        if let Ok(mut kept) = slot.final_sched.lock() {
            *kept = Some(last);
        }
    };
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(guarded)) {
                control.fail(&worker, &panic_message(payload.as_ref()));
                // Ended: no reading waits for it to cross an interval's end.
                ended.finished.store(true, Release);
            }
        })
        .map_err(|e| EngineError::Spawn {
            name: name.to_owned(),
            reason: e.to_string(),
        })
}

/// What a panic said: its `&str` or `String` payload (what `panic!` carries), or that it said
/// nothing. The engine's worker guard and the dashboard's panic hook both word panics with it.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// CPUs for every thread: those the profile names (checked), then free allowed CPUs in order for
/// `"auto"`, those where another process's thread pinned there is busy now (the other end of a
/// link on this host, spinning; another run) last, reusing CPUs only when there are more threads
/// than CPUs.
fn place_threads(
    profile: &TuningProfile,
    (producers, consumers): (usize, usize),
) -> Result<(Vec<usize>, Vec<usize>), EngineError> {
    let allowed = allowed_cpus();
    if allowed.is_empty() {
        return Err(PinError::Unavailable("no CPU is allowed".into()).into());
    }
    let fixed = |list: &[CpuSetting], i: usize| match CpuSetting::of_thread(list, i) {
        CpuSetting::Cpu(c) => Some(c),
        CpuSetting::Auto(_) => None,
    };
    let mut taken: Vec<usize> = Vec::new();
    for i in 0..producers {
        if let Some(c) = fixed(&profile.pinning.producers, i) {
            check_cpu(c)?;
            taken.push(c);
        }
    }
    for i in 0..consumers {
        if let Some(c) = fixed(&profile.pinning.consumers, i) {
            check_cpu(c)?;
            taken.push(c);
        }
    }
    let mut free: Vec<usize> = allowed
        .iter()
        .copied()
        .filter(|c| !taken.contains(c))
        .collect();
    // Some thread is "auto" (`taken` holds one CPU for each that is not).
    if producers + consumers > taken.len() {
        // A CPU another process's pinned thread is busy on (a receiver's consumer spinning
        // there) would be shared with a thread placed on it, and both would measure the
        // scheduler.
        let held = crate::metrics::sched::pinned_busy_on(&free);
        free.sort_by_key(|c| held.contains_key(c));
    }
    let mut free = free.into_iter();
    let mut cycle = allowed.iter().copied().cycle();
    let mut next = || {
        free.next()
            .unwrap_or_else(|| cycle.next().unwrap_or(allowed[0]))
    };
    let producer_cpus: Vec<usize> = (0..producers)
        .map(|i| fixed(&profile.pinning.producers, i).unwrap_or_else(&mut next))
        .collect();
    let consumer_cpus: Vec<usize> = (0..consumers)
        .map(|i| fixed(&profile.pinning.consumers, i).unwrap_or_else(&mut next))
        .collect();
    Ok((producer_cpus, consumer_cpus))
}

fn build_ring(
    profile: &TuningProfile,
    config: RingConfig,
) -> Result<(Vec<WriteEnd>, Vec<ReadEnd>), EngineError> {
    let capacity = profile.ring.capacity;
    let work = &profile.workload;
    Ok(match (profile.ring.kind, profile.codec.is_some()) {
        (RingKind::Spsc, true) => {
            let (tx, rx) = frames::channel_with(capacity * std::mem::size_of::<Row>(), config)?;
            (
                vec![WriteEnd::Frames(Box::new(FrameSender::new(tx)))],
                vec![ReadEnd::Frames(Box::new(FrameReceiver::new(rx)))],
            )
        }
        (RingKind::Spsc, false) => {
            let (tx, rx) = spsc::channel_with::<Row>(capacity, config)?;
            (vec![WriteEnd::Spsc(tx)], vec![ReadEnd::Spsc(rx)])
        }
        (RingKind::Relay, _) => {
            let (tx, rx) = relay::channel_with::<Row>(capacity, config)?;
            (vec![WriteEnd::Relay(tx)], vec![ReadEnd::Relay(rx)])
        }
        (RingKind::Broadcast, _) => {
            let (tx, rxs) = broadcast::channel_with::<Row>(capacity, work.consumers, config)?;
            (
                vec![WriteEnd::Broadcast(tx)],
                rxs.into_iter().map(ReadEnd::Broadcast).collect(),
            )
        }
        (RingKind::Mpmc, _) => {
            let (tx, rx) = mpmc::channel_with::<Row>(capacity, config)?;
            let sinks = (0..work.producers)
                .map(|_| WriteEnd::Mpmc(tx.clone(), Vec::new()))
                .collect();
            let sources = (0..work.consumers)
                .map(|_| ReadEnd::Mpmc(rx.clone()))
                .collect();
            (sinks, sources)
        }
    })
}

pub(crate) fn row_source(source: &SourceSetting, seed: u64) -> Result<Source, EngineError> {
    Ok(match source {
        SourceSetting::RandomWalk => Source::new(SourceKind::RandomWalk, seed),
        SourceSetting::SineNoise => Source::new(SourceKind::SineNoise, seed),
        SourceSetting::Steps => Source::new(SourceKind::Steps, seed),
        SourceSetting::Csv(path) => {
            let table =
                crate::source::csv::load(path).map_err(|e| EngineError::Source(e.to_string()))?;
            Source::replay(table.replay_values().into())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    thread_local! {
        /// The name of a worker whose spawn fails, on this thread's next `Engine::start`.
        pub(super) static FAIL_SPAWN: RefCell<Option<String>> = const { RefCell::new(None) };
        /// The name of a worker that panics as it starts, on this thread's next `Engine::start`.
        pub(super) static PANIC_IN: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// Threads of this process named `name`, from the kernel's list.
    fn threads_named(name: &str) -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|comm| comm.trim_end() == name)
            .count()
    }

    #[test]
    fn a_worker_that_cannot_start_stops_and_joins_those_already_started() {
        // One producer and two consumers: the two started first hold both ends of the ring,
        // so nothing but the stop flag ends them.
        let profile = crate::profile::builtin::get("broadcast-fanout").unwrap();
        FAIL_SPAWN.with(|fail| *fail.borrow_mut() = Some("consumer-1".into()));
        let err = Engine::start(profile).unwrap_err().to_string();
        FAIL_SPAWN.with(|fail| *fail.borrow_mut() = None);
        assert!(
            err.contains("cannot start thread consumer-1: refused by the test"),
            "{err}"
        );
        // Long enough for a thread left running to have named itself.
        std::thread::sleep(std::time::Duration::from_millis(200));
        for started in ["producer-0", "consumer-0"] {
            assert_eq!(
                threads_named(started),
                0,
                "{started} was stopped and joined"
            );
        }
    }
}

#[cfg(test)]
mod panics {
    use super::tests::PANIC_IN;
    use super::*;
    use crate::metrics::snapshot::RunState;

    #[test]
    fn a_worker_that_panics_stops_the_workload_and_says_why() {
        let profile = crate::profile::builtin::get("broadcast-fanout").unwrap();
        PANIC_IN.with(|panic| *panic.borrow_mut() = Some("consumer-1".into()));
        let mut engine = Engine::start(profile).unwrap();
        PANIC_IN.with(|panic| *panic.borrow_mut() = None);
        let reason = "consumer-1 panicked: told to by the test; the workload was stopped";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while engine.failure().is_none() {
            assert!(std::time::Instant::now() < deadline, "no failure reported");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(engine.failure().as_deref(), Some(reason));
        let snapshot = engine.snapshot();
        assert_eq!(snapshot.state, RunState::Stopped);
        assert!(
            snapshot.warnings.iter().any(|w| w == reason),
            "{:?}",
            snapshot.warnings
        );
        assert!(
            !snapshot
                .warnings
                .iter()
                .any(|w| w.contains("interval's end")),
            "a dead consumer is not waited for: {:?}",
            snapshot.warnings
        );
        let summary = engine.stop();
        assert_eq!(summary.failure.as_deref(), Some(reason));
    }
}
