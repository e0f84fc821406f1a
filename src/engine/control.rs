//! State shared between the workers and the handle: settings the handle changes and workers read
//! between batches, and counters workers publish and the handle reads. All plain atomics and
//! uncontended locks; a worker never waits on the handle.

use std::sync::Mutex;
use std::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU8, AtomicU64, AtomicUsize, Ordering::Relaxed,
};
use std::time::{Duration, Instant};

use crate::codec::CodecId;
use crate::metrics::LatencyHistogram;
use crate::metrics::counters::{CounterReading, ThreadCounters};
use crate::metrics::integrity::Integrity;
use crate::metrics::sched::TaskSched;
use crate::metrics::snapshot::{EndpointCounters, Role};

use super::cut::{CutMark, NO_CUT};

/// "No CPU" in a CPU atomic.
pub(crate) const NO_CPU: usize = usize::MAX;

/// Run-wide settings.
#[derive(Debug)]
pub(crate) struct Control {
    /// When the run started: snapshots' elapsed time counts from here. Row stamps are not
    /// read from it but from [`Control::now_ns`], the clock every process on the host shares.
    pub(crate) epoch: Instant,
    pub(crate) stop: AtomicBool,
    pub(crate) paused: AtomicBool,
    pub(crate) batch: AtomicUsize,
    pub(crate) rate: AtomicU64,
    pub(crate) codec: AtomicU8,
    pub(crate) prefetch: AtomicUsize,
    pub(crate) reset_epoch: AtomicU64,
    /// Bumped by every command that restarts the producers' schedule (a new rate, a pause, a
    /// resume): an interval with a change in it has no single rate to keep.
    pub(crate) pace_changes: AtomicU64,
    /// The interval cut a reading has announced and not yet withdrawn ([`NO_CUT`]: none); see
    /// [`super::cut`].
    pub(crate) cut: AtomicU64,
    /// The first worker that died (a panic), and why: the workload is stopped when one does.
    pub(crate) failure: Mutex<Option<String>>,
}

impl Control {
    pub(crate) fn new(batch: usize, rate: u64, codec: CodecId, prefetch: usize) -> Self {
        Control {
            epoch: Instant::now(),
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            batch: AtomicUsize::new(batch),
            rate: AtomicU64::new(rate),
            codec: AtomicU8::new(codec as u8),
            prefetch: AtomicUsize::new(prefetch),
            reset_epoch: AtomicU64::new(0),
            pace_changes: AtomicU64::new(0),
            cut: AtomicU64::new(NO_CUT),
            failure: Mutex::new(None),
        }
    }

    /// Records that worker `name` died of `reason` (the first such report wins) and stops every
    /// other worker: the figures of a workload missing a thread mean nothing.
    pub(crate) fn fail(&self, name: &str, reason: &str) {
        if let Ok(mut failure) = self.failure.lock()
            && failure.is_none()
        {
            *failure = Some(format!(
                "{name} panicked: {reason}; the workload was stopped"
            ));
        }
        self.stop.store(true, Relaxed);
    }

    /// Now on the clock rows are stamped with: `CLOCK_MONOTONIC`, which every process on this
    /// host shares, so a consumer in another process can time rows one way.
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        crate::clock::monotonic_ns()
    }

    pub(crate) fn codec(&self) -> CodecId {
        CodecId::from_id(self.codec.load(Relaxed)).unwrap_or(CodecId::None)
    }
}

/// Frames encoded or decoded by one thread.
#[derive(Debug, Default)]
pub(crate) struct CodecCounters {
    pub(crate) frames: AtomicU64,
    pub(crate) rows: AtomicU64,
    pub(crate) frame_bytes: AtomicU64,
    pub(crate) nanos: AtomicU64,
    pub(crate) corrupt_frames: AtomicU64,
    /// The codec of the last frame decoded (a receiver reports what senders chose).
    pub(crate) last_codec: AtomicU8,
    /// The same counts per codec (indexed by its number), so a run that switches codecs can
    /// say what each one did.
    pub(crate) per_codec: [CodecShareCounters; CodecId::ALL.len()],
}

/// One codec's frames, as [`CodecCounters`] counts them.
#[derive(Debug, Default)]
pub(crate) struct CodecShareCounters {
    pub(crate) frames: AtomicU64,
    pub(crate) rows: AtomicU64,
    pub(crate) frame_bytes: AtomicU64,
    pub(crate) nanos: AtomicU64,
}

impl CodecCounters {
    /// Counts one frame of `rows` rows in `frame_bytes` that `codec` took `took` to code.
    pub(crate) fn record(&self, codec: CodecId, rows: usize, frame_bytes: usize, took: Duration) {
        let nanos = took.as_nanos() as u64;
        self.frames.fetch_add(1, Relaxed);
        self.rows.fetch_add(rows as u64, Relaxed);
        self.frame_bytes.fetch_add(frame_bytes as u64, Relaxed);
        self.nanos.fetch_add(nanos, Relaxed);
        let share = &self.per_codec[codec as usize];
        share.frames.fetch_add(1, Relaxed);
        share.rows.fetch_add(rows as u64, Relaxed);
        share.frame_bytes.fetch_add(frame_bytes as u64, Relaxed);
        share.nanos.fetch_add(nanos, Relaxed);
    }
}

/// Latency histograms a consumer merges its samples into now and then.
#[derive(Debug, Default)]
pub(crate) struct SharedLatency {
    pub(crate) interval: LatencyHistogram,
    pub(crate) total: LatencyHistogram,
    /// The consumer has ended and merged its last samples: every row it counted is in.
    pub(crate) complete: bool,
}

/// One worker thread's published state.
#[derive(Debug)]
pub(crate) struct ThreadSlot {
    pub(crate) name: String,
    pub(crate) role: Role,
    /// The CPU the handle wants the thread on.
    pub(crate) want_cpu: AtomicUsize,
    /// The CPU the thread last saw itself on.
    pub(crate) cpu: AtomicUsize,
    pub(crate) rows: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) duplicated: AtomicU64,
    pub(crate) reordered: AtomicU64,
    pub(crate) endpoint: Mutex<Option<EndpointCounters>>,
    pub(crate) latency: Mutex<SharedLatency>,
    /// Consumers: where it stands with the interval cuts.
    pub(crate) cut: CutMark,
    pub(crate) codec: CodecCounters,
    pub(crate) finished: AtomicBool,
    /// Why the thread could not do what it was asked (a refused repin), for the snapshot.
    pub(crate) last_error: Mutex<Option<String>>,
    /// The thread's perf counters, opened by the thread itself, read by the handle.
    pub(crate) counters: Mutex<Option<ThreadCounters>>,
    /// The thread's id in the kernel (0 until it starts), for its `/proc/self/task` entry.
    pub(crate) tid: AtomicI32,
    /// Whether it busy-spins while it waits (its wait strategy).
    pub(crate) spins: bool,
    /// The scheduler's last word on the thread, read by the thread as it ends (its `/proc`
    /// entry goes with it).
    pub(crate) final_sched: Mutex<Option<Result<TaskSched, String>>>,
}

impl ThreadSlot {
    pub(crate) fn new(name: String, role: Role, cpu: usize, spins: bool) -> Self {
        ThreadSlot {
            name,
            role,
            want_cpu: AtomicUsize::new(cpu),
            cpu: AtomicUsize::new(NO_CPU),
            rows: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            duplicated: AtomicU64::new(0),
            reordered: AtomicU64::new(0),
            endpoint: Mutex::new(None),
            latency: Mutex::new(SharedLatency::default()),
            cut: CutMark::default(),
            codec: CodecCounters::default(),
            finished: AtomicBool::new(false),
            last_error: Mutex::new(None),
            counters: Mutex::new(None),
            tid: AtomicI32::new(0),
            spins,
            final_sched: Mutex::new(None),
        }
    }

    pub(crate) fn integrity(&self) -> Integrity {
        Integrity {
            lost: self.lost.load(Relaxed),
            duplicated: self.duplicated.load(Relaxed),
            reordered: self.reordered.load(Relaxed),
        }
    }

    pub(crate) fn publish_integrity(&self, integrity: Integrity) {
        self.lost.store(integrity.lost, Relaxed);
        self.duplicated.store(integrity.duplicated, Relaxed);
        self.reordered.store(integrity.reordered, Relaxed);
    }

    pub(crate) fn publish_endpoint(&self, counters: Option<EndpointCounters>) {
        if let Ok(mut slot) = self.endpoint.try_lock() {
            *slot = counters;
        }
    }

    /// Opens the calling thread's counters (call from the worker itself).
    pub(crate) fn open_counters(&self) {
        let counters = ThreadCounters::open_for_current_thread();
        if let Ok(mut slot) = self.counters.lock() {
            *slot = Some(counters);
        }
    }

    /// The counters' values now, once the thread has opened them.
    pub(crate) fn read_counters(&self) -> Option<CounterReading> {
        self.counters
            .lock()
            .ok()?
            .as_mut()
            .map(ThreadCounters::read)
    }

    pub(crate) fn cpu(&self) -> Option<usize> {
        Some(self.cpu.load(Relaxed)).filter(|&c| c != NO_CPU)
    }
}
