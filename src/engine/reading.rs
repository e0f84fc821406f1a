//! What the workers and the link have published, read at one instant into plain owned values.
//!
//! A [`Reading`] is the only thing [`super::measure`] looks at, so every figure a snapshot shows
//! comes from values read together, and the arithmetic over them can be tested on hand-made
//! readings. Taking a reading is the one step with a side effect: it takes the latency recorded
//! since the previous reading (each consumer's interval histogram and the link's round trips), so
//! consecutive readings split the run into intervals that neither overlap nor leave gaps; a
//! consumer's samples and rows are both taken at the reading's cut (`super::cut`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::codec::CodecId;
use crate::metrics::counters::CounterReading;
use crate::metrics::integrity::Integrity;
use crate::metrics::sched::{OtherTask, TaskSched};
use crate::metrics::snapshot::{EndpointCounters, Role, RunState};
use crate::metrics::{LatencyHistogram, LatencySummary};
use crate::topology::AllocationReport;
use crate::transport::{LinkListener, LinkStats};

use super::control::{SharedLatency, ThreadSlot};
use super::cut::{AtCut, RowsAtCut};

/// Everything the engine had published at one instant.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    /// Time since the engine started.
    pub(crate) at: Duration,
    /// Running, paused or stopped.
    pub(crate) state: RunState,
    /// The codec producers encode with now.
    pub(crate) codec_setting: CodecId,
    /// The rows per second each producer offers now (0: flat out).
    pub(crate) rate: u64,
    /// How many times the producers' schedule was changed so far ([`super::control::Control`]'s
    /// `pace_changes`).
    pub(crate) pace_changes: u64,
    /// Every worker, in the engine's order (producers first).
    pub(crate) threads: Vec<ThreadReading>,
    /// Where the ring's memory is.
    pub(crate) memory: Option<MemoryReading>,
    /// The link, when the ring is remote.
    pub(crate) link: Option<LinkReading>,
    /// The worker that died and why, when one did (the workload was stopped).
    pub(crate) failure: Option<String>,
    /// Nanoseconds stolen from each CPU since boot, or why that is unknown.
    pub(crate) steal_ns: Result<BTreeMap<usize, u64>, String>,
    /// Other tasks runnable on the CPUs of threads that waited for theirs since the previous
    /// reading.
    pub(crate) other_tasks: BTreeMap<usize, Vec<OtherTask>>,
}

impl Reading {
    /// The run's start: zero time and no threads, so every count in a later reading is counted
    /// from zero when measured against it.
    pub(crate) fn start() -> Self {
        Reading {
            at: Duration::ZERO,
            state: RunState::Running,
            codec_setting: CodecId::None,
            rate: 0,
            pace_changes: 0,
            threads: Vec::new(),
            memory: None,
            link: None,
            failure: None,
            steal_ns: Err("no reading yet".into()),
            other_tasks: BTreeMap::new(),
        }
    }
}

/// One worker's published counts.
#[derive(Debug, Clone)]
pub(crate) struct ThreadReading {
    /// `producer-0`, `consumer-1`, …
    pub(crate) name: String,
    /// Its job.
    pub(crate) role: Role,
    /// The CPU it last saw itself on.
    pub(crate) cpu: Option<usize>,
    /// Rows written or read since the start (a consumer: up to the reading's cut).
    pub(crate) rows: u64,
    /// A consumer's rows out of the ring at the reading's cut but counted after it (its next
    /// interval's first): with `rows`, what it had taken from the ring.
    pub(crate) in_hand: u64,
    /// A consumer that did not cross the reading's cut in time: its latency samples of the
    /// last few milliseconds count in the next interval.
    pub(crate) missed_cut: bool,
    /// Frames encoded or decoded since the start.
    pub(crate) codec: CodecReading,
    /// Consumers: what the sequence check found since the start.
    pub(crate) integrity: Integrity,
    /// The ring endpoint's counters since the start (`None`: the ring keeps none).
    pub(crate) endpoint: Option<EndpointCounters>,
    /// perf counters since the thread opened them (`None`: not opened yet).
    pub(crate) counters: Option<CounterReading>,
    /// Consumers: latency from the rows' stamps.
    pub(crate) latency: Option<LatencyReading>,
    /// Why the thread could not do what it was asked last (a refused repin).
    pub(crate) last_error: Option<String>,
    /// The scheduler's counts for the thread since it started, or why they are unknown.
    pub(crate) sched: Result<TaskSched, String>,
    /// Whether it busy-spins (so anything under all of its CPU's time is time taken from it).
    pub(crate) spins: bool,
}

/// Frames one thread encoded (producer) or decoded (consumer), since the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CodecReading {
    /// Frames coded.
    pub(crate) frames: u64,
    /// Rows in those frames.
    pub(crate) rows: u64,
    /// Frame bytes, headers included.
    pub(crate) frame_bytes: u64,
    /// Time spent encoding or decoding.
    pub(crate) nanos: u64,
    /// Frames that did not decode.
    pub(crate) corrupt_frames: u64,
    /// The codec of the last frame decoded (`None` before the first).
    pub(crate) last_codec: Option<CodecId>,
    /// Rows, frame bytes and time per codec (by its number).
    pub(crate) per_codec: [CodecShare; CodecId::ALL.len()],
}

/// One codec's part of a [`CodecReading`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CodecShare {
    /// Its frames.
    pub(crate) frames: u64,
    /// Rows in its frames.
    pub(crate) rows: u64,
    /// Its frame bytes, headers included.
    pub(crate) frame_bytes: u64,
    /// Time spent coding them.
    pub(crate) nanos: u64,
}

/// Latency recorded since the previous reading, and since the start (or the last reset).
#[derive(Debug, Clone, Default)]
pub(crate) struct LatencyReading {
    /// Samples recorded since the previous reading, taken out of the shared histogram.
    pub(crate) interval: LatencyHistogram,
    /// Percentiles of every sample since the start or the last reset.
    pub(crate) total: LatencySummary,
}

/// The ring's memory as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemoryReading {
    /// Size, node, binding and pages.
    pub(crate) report: AllocationReport,
    /// The same in words.
    pub(crate) summary: String,
    /// NUMA nodes the pages are on (empty: unknown).
    pub(crate) nodes: Vec<usize>,
}

impl From<&AllocationReport> for MemoryReading {
    fn from(report: &AllocationReport) -> Self {
        MemoryReading {
            report: report.clone(),
            summary: report.summary(),
            nodes: report
                .located_on
                .nodes()
                .map(<[usize]>::to_vec)
                .unwrap_or_default(),
        }
    }
}

/// The link's counts since the start.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkReading {
    /// Frames moved.
    pub(crate) frames: u64,
    /// Bytes on the wire.
    pub(crate) bytes: u64,
    /// Sender: rows the receiver confirmed it consumed.
    pub(crate) rows_acknowledged: u64,
    /// Sender: bytes of the receiver's window, from its last welcome (0 before one).
    pub(crate) window_bytes: u64,
    /// Connections made or accepted.
    pub(crate) sessions: u64,
    /// Connections after the first of the same sender run.
    pub(crate) reconnects: u64,
    /// Connections refused at the handshake.
    pub(crate) refused: u64,
    /// Connections dropped after a bad message or silence.
    pub(crate) dropped: u64,
    /// Times the sender found the remote ring full.
    pub(crate) credit_stalls: u64,
    /// Times the sender waited for the bandwidth cap.
    pub(crate) cap_waits: u64,
    /// Whether a peer is connected now.
    pub(crate) connected: bool,
    /// Seconds a peer has been connected since the start.
    pub(crate) connected_s: f64,
    /// Receiver: whether the current sender stamps rows on this host's clock.
    pub(crate) same_clock: bool,
    /// The last peer's address.
    pub(crate) peer: Option<String>,
    /// The most recent connection error.
    pub(crate) last_error: Option<String>,
    /// Sender: round trips from a row's stamp to the credit that echoes it.
    pub(crate) round_trip: LatencyReading,
    /// Receiver: bytes of records in its window its consumer has not read, where the backend
    /// says ([`crate::transport::LinkListener::unread_bytes`]).
    pub(crate) unread_bytes: Option<u64>,
}

/// Locks `mutex` even if a thread panicked while holding it: every value behind these locks is a
/// plain count or histogram, valid at every instant.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ThreadReading {
    /// Reads one worker's slot, taking its interval latency: for a consumer that crossed the
    /// reading's cut (`at_cut`), its samples and rows up to the cut.
    pub(crate) fn take(slot: &ThreadSlot, at_cut: AtCut) -> Self {
        let mut complete = false;
        let latency = (slot.role == Role::Consumer).then(|| {
            let mut shared = lock(&slot.latency);
            let SharedLatency {
                interval,
                total,
                complete: ended,
            } = &mut *shared;
            complete = *ended;
            LatencyReading {
                interval: std::mem::take(interval),
                total: total.summary(),
            }
        });
        // A consumer that ended after crossing has merged its later samples too: count its
        // later rows with them.
        let counted = match at_cut {
            AtCut::Crossed(counted) if !complete => counted,
            _ => RowsAtCut::counted(slot.rows.load(Relaxed)),
        };
        let coded_rows = slot.codec.rows.load(Relaxed);
        ThreadReading {
            name: slot.name.clone(),
            role: slot.role,
            cpu: slot.cpu(),
            rows: counted.rows,
            in_hand: counted.in_hand,
            missed_cut: at_cut == AtCut::Late && !complete,
            codec: CodecReading {
                frames: slot.codec.frames.load(Relaxed),
                rows: coded_rows,
                frame_bytes: slot.codec.frame_bytes.load(Relaxed),
                nanos: slot.codec.nanos.load(Relaxed),
                corrupt_frames: slot.codec.corrupt_frames.load(Relaxed),
                last_codec: CodecId::from_id(slot.codec.last_codec.load(Relaxed))
                    .filter(|_| coded_rows > 0),
                per_codec: std::array::from_fn(|i| {
                    let share = &slot.codec.per_codec[i];
                    CodecShare {
                        frames: share.frames.load(Relaxed),
                        rows: share.rows.load(Relaxed),
                        frame_bytes: share.frame_bytes.load(Relaxed),
                        nanos: share.nanos.load(Relaxed),
                    }
                }),
            },
            integrity: slot.integrity(),
            endpoint: *lock(&slot.endpoint),
            counters: slot.read_counters(),
            latency,
            last_error: lock(&slot.last_error).clone(),
            sched: match (lock(&slot.final_sched).clone(), slot.tid.load(Relaxed)) {
                (Some(last), _) => last,
                (None, 0) => Err("the thread has not started".into()),
                (None, tid) => TaskSched::of_thread(tid),
            },
            spins: slot.spins,
        }
    }
}

impl LinkReading {
    /// Reads a link's counters, taking the round trips recorded since the last reading, and
    /// on a receiver what its `listener` says of the window's fill.
    pub(crate) fn take(stats: &LinkStats, listener: Option<&dyn LinkListener>) -> Self {
        let round_trip = {
            let mut histograms = lock(&stats.round_trip);
            LatencyReading {
                interval: std::mem::take(&mut histograms.0),
                total: histograms.1.summary(),
            }
        };
        LinkReading {
            frames: stats.frames.load(Relaxed),
            bytes: stats.bytes.load(Relaxed),
            rows_acknowledged: stats.rows_acknowledged.load(Relaxed),
            window_bytes: stats.window_bytes.load(Relaxed),
            sessions: stats.sessions.load(Relaxed),
            reconnects: stats.reconnects.load(Relaxed),
            refused: stats.refused.load(Acquire),
            dropped: stats.dropped.load(Acquire),
            credit_stalls: stats.credit_stalls.load(Relaxed),
            cap_waits: stats.cap_waits.load(Relaxed),
            connected: stats.connected.load(Relaxed),
            connected_s: stats.connected_for().as_secs_f64(),
            same_clock: stats.same_clock.load(Relaxed),
            peer: stats.peer(),
            last_error: stats.error(),
            round_trip,
            unread_bytes: listener.and_then(|l| l.unread_bytes()),
        }
    }
}
