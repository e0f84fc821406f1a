//! A running workload: read it each interval, steer it with commands, stop it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::thread::JoinHandle;

use crate::metrics::sched::{OtherTask, runnable_on, steal_ns_per_cpu};
use crate::metrics::snapshot::{LinkRole, Role, RunState, Snapshot, Summary};
use crate::profile::rules::{RingShape, check_batch, check_codec_switch, check_prefetch};
use crate::profile::{CpuSetting, TuningProfile};
use crate::topology::pin::check_cpu;
use crate::topology::{AllocationReport, NumaAlloc, Topology};

use super::command::{Command, CommandError};
use super::control::{Control, ThreadSlot};
use super::cut::{self, AtCut};
use super::link::LinkEnd;
use super::measure::{Interval, RunShape, measure, summarize};
use super::reading::{LinkReading, MemoryReading, Reading, ThreadReading};
use super::warnings::WarningLog;

/// The workers [`super::Engine::start`] spawned, and the settings and state they share with the
/// handle.
#[derive(Debug)]
pub(crate) struct Workers {
    /// Run-wide settings the handle changes.
    pub(crate) control: Arc<Control>,
    /// Each worker's published state, producers first.
    pub(crate) slots: Vec<Arc<ThreadSlot>>,
    /// The worker threads, joined at shut-down.
    pub(crate) threads: Vec<JoinHandle<()>>,
}

/// A running workload.
#[derive(Debug)]
pub struct EngineHandle {
    profile: TuningProfile,
    shape: RunShape,
    control: Arc<Control>,
    slots: Vec<Arc<ThreadSlot>>,
    threads: Vec<JoinHandle<()>>,
    alloc: Arc<NumaAlloc>,
    /// The ring's allocation as first placed (reported after the ring is gone, too).
    memory: Option<AllocationReport>,
    /// The link, when the ring is remote.
    link: Option<LinkEnd>,
    /// The reading the next interval starts from.
    previous: Reading,
    /// The run's start, as the summary counts from it.
    origin: Reading,
    /// Every warning the intervals carried.
    warnings: WarningLog,
    stopped: bool,
}

impl EngineHandle {
    /// A handle over workers that are already running.
    pub(crate) fn new(
        profile: TuningProfile,
        host: Option<Topology>,
        workers: Workers,
        alloc: Arc<NumaAlloc>,
        memory: Option<AllocationReport>,
        link: Option<LinkEnd>,
    ) -> Self {
        let Workers {
            control,
            slots,
            threads,
        } = workers;
        let origin = Reading {
            steal_ns: steal_ns_per_cpu(),
            ..Reading::start()
        };
        let shape = RunShape {
            profile: profile.description.clone(),
            profile_description: profile.description.clone(),
            ring_kind: profile.ring.kind,
            capacity: profile.ring.capacity,
            framed: profile.is_framed(),
            host,
            link: link.as_ref().map(|l| l.shape.clone()),
        };
        EngineHandle {
            profile,
            shape,
            control,
            slots,
            threads,
            alloc,
            memory,
            link,
            previous: origin.clone(),
            origin,
            warnings: WarningLog::default(),
            stopped: false,
        }
    }

    /// The interval since the previous call (or the start): its snapshot, and each consumer's
    /// latency histogram over exactly that interval.
    pub fn interval(&mut self) -> Interval {
        let now = self.read();
        let interval = measure(&self.shape, &self.previous, &now);
        self.warnings.add(&interval.warnings, now.at);
        self.previous = now;
        interval
    }

    /// Names the running profile as the operator chose it (a built-in's name, a file's path):
    /// what snapshots and the summary call it.
    pub fn name_profile(&mut self, name: &str) {
        self.shape.profile = name.to_owned();
    }

    /// Worker threads the workload has (started or not).
    pub fn thread_count(&self) -> usize {
        self.slots.len()
    }

    /// The worker threads that have started: name and Linux thread id.
    pub fn worker_threads(&self) -> Vec<(String, i32)> {
        self.slots
            .iter()
            .filter_map(|s| {
                let tid = s.tid.load(Relaxed);
                (tid != 0).then(|| (s.name.clone(), tid))
            })
            .collect()
    }

    /// Time since the workload started (what snapshots' `elapsed_s` counts).
    pub fn elapsed(&self) -> std::time::Duration {
        self.control.epoch.elapsed()
    }

    /// The engine now; rates and interval latency cover the time since the previous call.
    pub fn snapshot(&mut self) -> Snapshot {
        self.interval().snapshot
    }

    /// The address this process accepts senders on, when it holds a remote ring.
    pub fn listen_address(&self) -> Option<String> {
        self.link
            .as_ref()
            .filter(|l| l.shape.role == LinkRole::Receiver)
            .map(|l| l.shape.address.clone())
    }

    /// Whether this process holds a remote ring, a sender has come and gone, and none is
    /// connected now (`serve --once` stops then).
    pub fn sender_left(&self) -> bool {
        self.link.as_ref().is_some_and(|l| {
            l.shape.role == LinkRole::Receiver
                && l.stats.sessions.load(Relaxed) > 0
                && !l.stats.connected.load(Relaxed)
        })
    }

    /// Whether every worker has finished (producers stop only when told, so this is rare before
    /// [`EngineHandle::stop`]).
    pub fn is_finished(&self) -> bool {
        self.slots.iter().all(|s| s.finished.load(Relaxed))
    }

    /// The names of the worker threads, producers first.
    pub fn thread_names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.name.clone()).collect()
    }

    /// Applies a command between batches, or refuses it and changes nothing.
    ///
    /// # Errors
    /// [`CommandError`] for an unknown thread, an unavailable CPU, or a setting that does not
    /// apply to this run.
    pub fn send(&self, command: Command) -> Result<(), CommandError> {
        if self.stopped {
            return Err(CommandError::Stopped);
        }
        let receiver = self.shape.role() == Some(LinkRole::Receiver);
        let sender = self.shape.role() == Some(LinkRole::Sender);
        let ring = RingShape::of(&self.profile);
        match command {
            Command::Codec { .. } | Command::Rate { .. } | Command::Pause | Command::Resume
                if receiver =>
            {
                return Err(CommandError::SenderDecides);
            }
            Command::ResetHistograms if sender => return Err(CommandError::ReceiverTimes),
            Command::Repin { thread, cpu } => {
                let slot = self
                    .slots
                    .iter()
                    .find(|s| s.name == thread)
                    .ok_or_else(|| CommandError::NoSuchThread {
                        name: thread.clone(),
                        threads: self.thread_names().join(", "),
                    })?;
                check_cpu(cpu).map_err(|e| CommandError::Cpu(e.to_string()))?;
                slot.want_cpu.store(cpu, Release);
            }
            Command::Codec { name } => {
                check_codec_switch(ring)?;
                self.control.codec.store(name as u8, Relaxed);
            }
            Command::Batch { size } => {
                check_batch(ring, size)?;
                self.control.batch.store(size, Relaxed);
            }
            Command::Prefetch { distance } => {
                check_prefetch(ring, distance)?;
                self.control.prefetch.store(distance, Relaxed);
            }
            Command::Rate { rows_per_s } => {
                self.control.rate.store(rows_per_s, Relaxed);
                self.control.pace_changes.fetch_add(1, Relaxed);
            }
            Command::Pause => {
                self.control.paused.store(true, Relaxed);
                self.control.pace_changes.fetch_add(1, Relaxed);
            }
            Command::Resume => {
                self.control.paused.store(false, Relaxed);
                self.control.pace_changes.fetch_add(1, Relaxed);
            }
            Command::ResetHistograms => {
                self.control.reset_epoch.fetch_add(1, Relaxed);
            }
        }
        Ok(())
    }

    /// The current settings as a profile (what "save" writes): batch, rate, codec, prefetch and
    /// every thread's CPU as they are now.
    pub fn current_profile(&self) -> TuningProfile {
        let mut profile = self.profile.clone();
        let batch = self.control.batch.load(Relaxed);
        match &mut profile.codec {
            Some(codec) => codec.rows_per_frame = Some(batch),
            None => profile.workload.batch = batch,
        }
        profile.workload.rate = self.control.rate.load(Relaxed);
        profile.prefetch.distance = self.control.prefetch.load(Relaxed);
        if let Some(codec) = &mut profile.codec {
            codec.name = self.control.codec();
        }
        let cpus = |role: Role| {
            self.slots
                .iter()
                .filter(|s| s.role == role)
                .map(|s| CpuSetting::Cpu(s.want_cpu.load(Relaxed)))
                .collect()
        };
        profile.pinning.producers = cpus(Role::Producer);
        profile.pinning.consumers = cpus(Role::Consumer);
        profile
    }

    /// Stops the workload now and keeps the handle: producers stop, consumers drain, every
    /// thread is joined, the CPUs are free (the dashboard does this before a search runs trials
    /// on them). Later readings show it stopped; [`EngineHandle::stop`] still gives the summary.
    pub fn halt(&mut self) {
        self.shut_down();
    }

    /// Stops producers, lets consumers drain everything written, joins every thread and reports
    /// over the whole run.
    pub fn stop(self) -> Summary {
        self.finish().0
    }

    /// As [`EngineHandle::stop`], and the last interval too: from the previous call of
    /// [`EngineHandle::interval`] until every worker finished, with the latency recorded while
    /// consumers drained (an HdrHistogram log that must hold every sample the summary counts
    /// writes it).
    pub fn finish(mut self) -> (Summary, Interval) {
        self.shut_down();
        let end = self.read();
        let last = measure(&self.shape, &self.previous, &end);
        let mut summary = summarize(&self.shape, &self.origin, &end);
        summary.warnings = self.warnings.tallies();
        (summary, last)
    }

    /// Tells producers to stop, stops accepting senders, and joins every worker once consumers
    /// have drained what was written. Safe to call twice.
    fn shut_down(&mut self) {
        self.control.stop.store(true, Relaxed);
        self.control.paused.store(false, Relaxed);
        if let Some(listener) = self.link.as_mut().and_then(|l| l.listener.as_mut()) {
            listener.stop();
        }
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
        self.stopped = true;
    }

    /// Everything the workers and the link have published, now.
    fn read(&self) -> Reading {
        // The interval ends at the cut: every worker's rows and latency samples up to it.
        let at = self.control.epoch.elapsed();
        let at_cut = if self.stopped {
            vec![AtCut::NotAsked; self.slots.len()]
        } else {
            cut::announce(&self.control, &self.slots)
        };
        let threads: Vec<ThreadReading> = self
            .slots
            .iter()
            .zip(at_cut)
            .map(|(slot, at_cut)| ThreadReading::take(slot, at_cut))
            .collect();
        cut::withdraw(&self.control);
        let other_tasks = if self.stopped {
            BTreeMap::new()
        } else {
            self.others_where_threads_waited(&threads, at)
        };
        let failure = self.failure();
        let state = if self.stopped || failure.is_some() {
            RunState::Stopped
        } else if self.control.paused.load(Relaxed) {
            RunState::Paused
        } else {
            RunState::Running
        };
        let memory = self.alloc.reports().into_iter().next().or_else(|| {
            let listener = self.link.as_ref()?.listener.as_ref()?;
            listener.memory()
        });
        Reading {
            at,
            state,
            codec_setting: self.control.codec(),
            rate: self.control.rate.load(Relaxed),
            pace_changes: self.control.pace_changes.load(Relaxed),
            threads,
            memory: memory
                .as_ref()
                .or(self.memory.as_ref())
                .map(MemoryReading::from),
            link: self
                .link
                .as_ref()
                .map(|l| LinkReading::take(&l.stats, l.listener.as_deref())),
            failure,
            steal_ns: steal_ns_per_cpu(),
            other_tasks,
        }
    }

    /// The tasks runnable on the CPUs of threads that waited for theirs more than a tenth of the
    /// time since the previous reading (a walk over `/proc`, so only when there is a reason).
    fn others_where_threads_waited(
        &self,
        threads: &[ThreadReading],
        at: std::time::Duration,
    ) -> BTreeMap<usize, Vec<OtherTask>> {
        let elapsed_ns = at.saturating_sub(self.previous.at).as_nanos() as u64;
        let waited_cpus: Vec<usize> = threads
            .iter()
            .enumerate()
            .filter_map(|(i, thread)| {
                let now = thread.sched.as_ref().ok()?;
                let before = self
                    .previous
                    .threads
                    .get(i)
                    .and_then(|b| b.sched.as_ref().ok())
                    .copied()
                    .unwrap_or_default();
                (now.since(&before).waited_ns * 10 > elapsed_ns).then_some(thread.cpu?)
            })
            .collect();
        if waited_cpus.is_empty() {
            return BTreeMap::new();
        }
        runnable_on(&waited_cpus, 3)
    }

    /// The worker that died and why (`"consumer-1 panicked: …; the workload was stopped"`), once
    /// one has: the other workers are stopped, and front ends end the run and report it.
    pub fn failure(&self) -> Option<String> {
        self.control.failure.lock().ok().and_then(|f| f.clone())
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.shut_down();
    }
}
