//! Publishing a program's rings for `ringtop attach`: the stats segment.
//!
//! A program that uses [`crate::ring`] opts in with one call and one line per ring:
//!
//! ```no_run
//! use ringtop::monitor::{self, Monitor};
//! use ringtop::ring::spsc;
//!
//! let registry = monitor::publish("feed-handler")?;
//! let (tx, rx) = spsc::channel::<u64>(4096)?.monitor(&registry, "md-in")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The registry writes a memory-mapped file, `<program>-<pid>.ringtop`, in the per-user
//! directory ([`dir::monitor_dir`]), laid out like Agrona's counters ([`layout`],
//! `docs/monitor-format.md`): a header, a metadata record per ring, and cache-line-padded value
//! records. Nothing is added to the per-item path: a thread of the registry's samples the
//! ring positions every interval (the atomics the endpoints publish anyway), and each endpoint
//! copies its slow-path counters into its block when they change. [`read`] is the other side.
//!
//! How stale a reader's view can be: positions (and so fill level, lag and rates) by one
//! interval (100 ms unless [`publish_with`] says otherwise); endpoint counters and latency
//! histograms not at all (they are written where they change).

pub mod dir;
pub mod layout;
mod peer;
pub mod read;
mod segment;
pub mod view;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::ring::frames::{FrameConsumer, FrameProducer};
use crate::ring::watch::{RingWatch, StatsCell};
use crate::ring::{broadcast, mpmc, relay, spsc};
use crate::transport::shm::items::{ItemReceiver, ItemSender, Pod};
use crate::transport::shm::messages::{MessageReceiver, MessageSender};
use crate::words::counted;

use self::layout::{RingKind, RingState, metadata, value};
use self::segment::Segment;

/// How often the registry samples positions unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

/// Why publishing or registering failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The directory cannot be made or is not private.
    #[error("ringtop directory {dir} ($RINGTOP_DIR): {reason}")]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The segment file cannot be made.
    #[error("stats segment {path}: {reason}")]
    Segment {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A program or ring name that cannot be stored.
    #[error(
        "name {name:?}: {reason} (1 to {max} bytes of UTF-8, no control characters)",
        max = layout::NAME_BYTES - 1
    )]
    Name {
        /// The name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Every ring record is taken.
    #[error("this program already monitors {max} rings, the most one segment holds", max = layout::MAX_RINGS)]
    Full,
    /// A ring with more consumers than a record holds.
    #[error("ring {name:?} has {consumers} consumers; a monitored ring may have at most {max}", max = layout::MAX_CONSUMERS)]
    TooManyConsumers {
        /// The ring.
        name: String,
        /// Its consumers.
        consumers: usize,
    },
    /// No such ring or consumer, or its latency recorder was already taken.
    #[error("{0}")]
    Recorder(String),
    /// The sampling thread cannot start.
    #[error("cannot start the monitor thread: {0}")]
    Thread(std::io::Error),
    /// A ring's end cannot make the watch the monitor reads.
    #[error("cannot watch ring {name:?}: {reason}")]
    Watch {
        /// The ring.
        name: String,
        /// What failed.
        reason: std::io::Error,
    },
}

/// Nanoseconds since the Unix epoch, now (what the segment's timestamps count).
pub(crate) fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn check_name(name: &str) -> Result<(), MonitorError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.len() >= layout::NAME_BYTES {
        Some("too long")
    } else if name.chars().any(char::is_control) {
        Some("holds a control character")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(MonitorError::Name {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Publishes this program as `program` in the monitor directory ([`dir::monitor_dir`]),
/// sampling every [`DEFAULT_INTERVAL`].
///
/// # Errors
/// [`MonitorError`]: a bad name, a directory that cannot be made private, a file that cannot be
/// made, a thread that cannot start.
pub fn publish(program: &str) -> Result<Registry, MonitorError> {
    publish_with(&dir::monitor_dir(), program, DEFAULT_INTERVAL)
}

/// [`publish`] into `dir`, sampling every `interval` (at least 1 ms).
///
/// # Errors
/// As [`publish`].
pub fn publish_with(
    dir: &Path,
    program: &str,
    interval: Duration,
) -> Result<Registry, MonitorError> {
    check_name(program)?;
    dir::ensure_private(dir)?;
    let interval = interval.max(Duration::from_millis(1));
    let interval_ns = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
    let (segment, path) = Segment::create(dir, program, interval_ns)?;
    let segment = Arc::new(segment);
    let rings = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = mpsc::channel::<()>();
    let sampler = {
        let segment = segment.clone();
        let rings = rings.clone();
        std::thread::Builder::new()
            .name("ringtop-monitor".into())
            .spawn(move || {
                loop {
                    sample(&segment, &rings);
                    match stopped.recv_timeout(interval) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
            })
            .map_err(MonitorError::Thread)?
    };
    Ok(Registry {
        inner: Arc::new(Inner {
            segment,
            path,
            rings,
            recorders_taken: Mutex::new(Vec::new()),
            stop: Mutex::new(Some((stop, sampler))),
        }),
    })
}

/// One registered ring, as the sampler sees it.
struct Registered {
    index: usize,
    name: String,
    kind: RingKind,
    consumers: usize,
    watch: Arc<dyn RingWatch>,
    closed: bool,
}

/// A published program: register its rings here. Cheap to clone; the segment is removed when
/// the last clone is dropped (rings still running then keep writing into memory no one reads).
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    segment: Arc<Segment>,
    path: PathBuf,
    rings: Arc<Mutex<Vec<Registered>>>,
    /// (ring, consumer) pairs whose latency recorder was handed out.
    recorders_taken: Mutex<Vec<(usize, usize)>>,
    stop: Mutex<Option<(mpsc::Sender<()>, std::thread::JoinHandle<()>)>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some((stop, sampler)) = self.stop.lock().ok().and_then(|mut s| s.take()) {
            drop(stop);
            let _ = sampler.join();
        }
        sample(&self.segment, &self.rings);
        self.segment
            .u32_at(layout::header::STATE)
            .store(layout::ProgramState::Closed as u32, Release);
        let _ = std::fs::remove_file(&self.path);
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("path", &self.inner.path)
            .finish()
    }
}

/// The cells one ring's endpoints publish into.
pub struct RingCells {
    /// The producer's.
    pub producer: StatsCell,
    /// Each consumer's, in order.
    pub consumers: Vec<StatsCell>,
}

impl Registry {
    /// The segment file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Registers a ring by its watch; returns the cells its endpoints publish their counters
    /// into. The `monitor` methods below do this for each ring kind.
    ///
    /// # Errors
    /// A bad name, a full segment, too many consumers, an unknown kind.
    pub fn register(
        &self,
        name: &str,
        watch: Arc<dyn RingWatch>,
    ) -> Result<RingCells, MonitorError> {
        check_name(name)?;
        let consumers = watch.consumers();
        if consumers > layout::MAX_CONSUMERS {
            return Err(MonitorError::TooManyConsumers {
                name: name.to_owned(),
                consumers,
            });
        }
        let kind = RingKind::from_name(watch.kind()).ok_or_else(|| MonitorError::Name {
            name: watch.kind().to_owned(),
            reason: "is not a ring kind the segment knows",
        })?;
        let mut rings = self.inner.rings.lock().unwrap_or_else(|e| e.into_inner());
        let index = rings.len();
        if index >= layout::MAX_RINGS {
            return Err(MonitorError::Full);
        }
        let segment = &self.inner.segment;
        let record = layout::metadata_at(index);
        segment
            .u32_at(record + metadata::KIND)
            .store(kind as u32, Relaxed);
        segment
            .u64_at(record + metadata::CAPACITY)
            .store(watch.capacity() as u64, Relaxed);
        segment
            .u64_at(record + metadata::ITEM_BYTES)
            .store(watch.item_bytes() as u64, Relaxed);
        segment
            .u32_at(record + metadata::CONSUMERS)
            .store(consumers as u32, Relaxed);
        segment
            .u64_at(record + metadata::REGISTERED_UNIX_NS)
            .store(unix_ns(), Relaxed);
        let memory = watch.memory().map_or((0, 0), |m| (m.address, m.bytes));
        segment
            .u64_at(record + metadata::MEMORY_ADDRESS)
            .store(memory.0 as u64, Relaxed);
        segment
            .u64_at(record + metadata::MEMORY_BYTES)
            .store(memory.1 as u64, Relaxed);
        segment.write_name(record + metadata::NAME, name);
        let file = watch.shared_file().map_or((0, 0), |f| (f.device, f.inode));
        segment
            .u64_at(record + metadata::FILE_DEVICE)
            .store(file.0, Relaxed);
        segment
            .u64_at(record + metadata::FILE_INODE)
            .store(file.1, Relaxed);
        let registered = Registered {
            index,
            name: name.to_owned(),
            kind,
            consumers,
            watch,
            closed: false,
        };
        write_positions(segment, &registered);
        segment
            .u32_at(record + metadata::STATE)
            .store(RingState::Live as u32, Release);
        rings.push(registered);
        let values = layout::value_at(layout::MAX_RINGS, index);
        let owner: Arc<dyn Send + Sync> = segment.clone();
        let cell = |offset: usize| {
            // SAFETY: the cell is a block of this ring's value record inside the mapping, which
            // `owner` keeps mapped; only the one endpoint given it writes it.
            unsafe { StatsCell::new(segment.cell_at(values + offset), owner.clone()) }
        };
        Ok(RingCells {
            producer: cell(value::PRODUCER),
            consumers: (0..consumers).map(|i| cell(value::consumer(i))).collect(),
        })
    }

    /// A recorder for the latency of consumer `consumer` of ring `ring`: the program records
    /// each item's latency (now minus its stamp) and `attach` shows the percentiles. One per
    /// consumer.
    ///
    /// # Errors
    /// [`MonitorError::Recorder`]: no such ring or consumer, its recorder taken already, or a
    /// ring whose consumer is another process (a shared-memory ring registered by its sender).
    pub fn latency_recorder(
        &self,
        ring: &str,
        consumer: usize,
    ) -> Result<LatencyRecorder, MonitorError> {
        let rings = self.inner.rings.lock().unwrap_or_else(|e| e.into_inner());
        let registered = rings
            .iter()
            .find(|r| r.name == ring)
            .ok_or_else(|| MonitorError::Recorder(format!("no ring {ring:?} is registered")))?;
        if let Some(why) = registered.kind.consumers_elsewhere() {
            return Err(MonitorError::Recorder(format!(
                "ring {ring:?} is registered by its sender and {why}: record its latency there, \
                 where the ring is read"
            )));
        }
        if consumer >= registered.consumers {
            return Err(MonitorError::Recorder(format!(
                "ring {ring:?} has {}; there is no consumer {consumer}",
                counted(registered.consumers, "consumer")
            )));
        }
        let mut taken = self
            .inner
            .recorders_taken
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if taken.contains(&(registered.index, consumer)) {
            return Err(MonitorError::Recorder(format!(
                "the latency recorder of ring {ring:?} consumer {consumer} was taken already"
            )));
        }
        taken.push((registered.index, consumer));
        let segment = &self.inner.segment;
        let stamped = segment.u32_at(layout::metadata_at(registered.index) + metadata::STAMPED);
        stamped.fetch_or(1 << consumer, Release);
        let record = layout::value_at(layout::MAX_RINGS, registered.index);
        Ok(LatencyRecorder {
            segment: segment.clone(),
            base: record + value::histogram(consumer),
            sum: record + value::consumer(consumer) + layout::CELL_LATENCY_SUM,
        })
    }
}

/// Records one consumer's latencies into its histogram in the segment. Single writer: keep it
/// on the consumer's thread.
pub struct LatencyRecorder {
    segment: Arc<Segment>,
    /// Where the histogram's counts start.
    base: usize,
    /// Where the sum of the latencies is.
    sum: usize,
}

impl LatencyRecorder {
    /// Records a latency of `ns` nanoseconds: a relaxed load and store of a bucket's count and
    /// of the sum (no read-modify-write: this recorder is their only writer).
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let count = self.segment.u64_at(self.base + layout::bucket_of(ns) * 8);
        count.store(count.load(Relaxed) + 1, Relaxed);
        let sum = self.segment.u64_at(self.sum);
        sum.store(sum.load(Relaxed).wrapping_add(ns), Relaxed);
    }
}

impl std::fmt::Debug for LatencyRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyRecorder")
            .field("offset", &self.base)
            .finish()
    }
}

/// Heartbeat and positions, once.
fn sample(segment: &Segment, rings: &Mutex<Vec<Registered>>) {
    let mut rings = rings.lock().unwrap_or_else(|e| e.into_inner());
    for ring in rings.iter_mut().filter(|r| !r.closed) {
        if !write_positions(segment, ring) {
            write_final_positions(segment, ring);
            ring.closed = true;
            segment
                .u32_at(layout::metadata_at(ring.index) + metadata::STATE)
                .store(RingState::Closed as u32, Release);
        }
    }
    segment
        .u64_at(layout::header::HEARTBEAT_UNIX_NS)
        .store(unix_ns(), Release);
}

/// Writes one ring's positions under its sequence lock; false once the ring is gone.
fn write_positions(segment: &Segment, ring: &Registered) -> bool {
    let mut heads = [0u64; layout::MAX_CONSUMERS];
    let Some(tail) = ring.watch.positions(&mut heads) else {
        return false;
    };
    let record = layout::value_at(layout::MAX_RINGS, ring.index);
    let sequence = segment.u64_at(record + value::SEQUENCE);
    let odd = sequence.load(Acquire) | 1;
    sequence.store(odd, Relaxed);
    std::sync::atomic::fence(Release);
    segment
        .u64_at(record + value::SAMPLED_UNIX_NS)
        .store(unix_ns(), Relaxed);
    segment.u64_at(record + value::TAIL).store(tail, Relaxed);
    for (i, head) in heads.iter().take(ring.consumers).enumerate() {
        segment
            .u64_at(record + value::HEADS + i * 8)
            .store(*head, Relaxed);
    }
    sequence.store(odd + 1, Release);
    true
}

/// A ring whose endpoints are gone: its positions are the ones each endpoint left in its cell as
/// it was dropped (the last sample may be up to an interval older).
fn write_final_positions(segment: &Segment, ring: &Registered) {
    let record = layout::value_at(layout::MAX_RINGS, ring.index);
    let last = |block: usize| {
        (segment
            .u64_at(record + block + layout::CELL_ENDED)
            .load(Acquire)
            == 1)
            .then(|| {
                segment
                    .u64_at(record + block + layout::CELL_FINAL_POSITION)
                    .load(Relaxed)
            })
    };
    let sequence = segment.u64_at(record + value::SEQUENCE);
    let odd = sequence.load(Acquire) | 1;
    sequence.store(odd, Relaxed);
    std::sync::atomic::fence(Release);
    if let Some(tail) = last(value::PRODUCER) {
        segment.u64_at(record + value::TAIL).store(tail, Relaxed);
    }
    for i in 0..ring.consumers {
        if let Some(head) = last(value::consumer(i)) {
            segment
                .u64_at(record + value::HEADS + i * 8)
                .store(head, Relaxed);
        }
    }
    segment
        .u64_at(record + value::SAMPLED_UNIX_NS)
        .store(unix_ns(), Relaxed);
    sequence.store(odd + 1, Release);
}

/// Monitoring a ring at construction: `spsc::channel(n)?.monitor(&registry, "md-in")?`.
pub trait Monitor: Sized {
    /// Registers the ring under `name` and returns its endpoints, now publishing.
    ///
    /// # Errors
    /// As [`Registry::register`].
    fn monitor(self, registry: &Registry, name: &str) -> Result<Self, MonitorError>;
}

/// [`Monitor`] for the endpoint pair of a ring with one consumer: `spsc`, `relay`, or the
/// types given with their generics (`impl[] FrameProducer, FrameConsumer`).
macro_rules! monitor_pair {
    (impl[$($generics:tt)*] $producer:ty, $consumer:ty) => {
        impl<$($generics)*> Monitor for ($producer, $consumer) {
            fn monitor(mut self, registry: &Registry, name: &str) -> Result<Self, MonitorError> {
                let cells = registry.register(name, self.0.watch())?;
                self.0.publish_stats(cells.producer);
                if let Some(cell) = cells.consumers.into_iter().next() {
                    self.1.publish_stats(cell);
                }
                Ok(self)
            }
        }
    };
    ($ring:ident) => {
        monitor_pair!(impl[T: Send + 'static] $ring::Producer<T>, $ring::Consumer<T>);
    };
}
monitor_pair!(spsc);
monitor_pair!(relay);
// Counted in bytes of records.
monitor_pair!(impl[] FrameProducer, FrameConsumer);

/// [`Monitor`] for a shared-memory ring's receiver (its one end in this program): the ring's
/// positions, the receiver's thread and where the window's pages are; `attach` says that the
/// sender's thread is not this program's to see and that neither end counts stalls or reloads.
macro_rules! monitor_receiver {
    ($receiver:ty $(, $generic:ident: $bound:path)?) => {
        impl$(<$generic: $bound>)? Monitor for $receiver {
            fn monitor(mut self, registry: &Registry, name: &str) -> Result<Self, MonitorError> {
                let cells = registry.register(name, self.watch())?;
                if let Some(consumer) = cells.consumers.into_iter().next() {
                    self.publish_to(cells.producer, consumer);
                }
                Ok(self)
            }
        }
    };
}
// `ItemReceiver::create(..)?.monitor(&registry, "quotes")?`, counted in items.
monitor_receiver!(ItemReceiver<T>, T: Pod);
// Counted in bytes of records (messages vary in size).
monitor_receiver!(MessageReceiver);

/// [`Monitor`] for a shared-memory ring's sender (its one end in this program): the ring's
/// positions (the head as the receiver last credited it), the sender's thread and where the
/// window's pages are; `attach` says that the receiver's thread is not this program's to see.
macro_rules! monitor_sender {
    ($sender:ty $(, $generic:ident: $bound:path)?) => {
        impl$(<$generic: $bound>)? Monitor for $sender {
            fn monitor(mut self, registry: &Registry, name: &str) -> Result<Self, MonitorError> {
                check_name(name)?;
                let watch = self.watch().map_err(|reason| MonitorError::Watch {
                    name: name.to_owned(),
                    reason,
                })?;
                let cells = registry.register(name, watch)?;
                if let Some(consumer) = cells.consumers.into_iter().next() {
                    self.publish_to(cells.producer, consumer);
                }
                Ok(self)
            }
        }
    };
}
// `ItemSender::open(..)?.monitor(&registry, "quotes")?`, counted in items.
monitor_sender!(ItemSender<T>, T: Pod);
// Counted in bytes of records.
monitor_sender!(MessageSender);

/// [`Monitor`] for an MPMC ring's first two ends (register it before cloning them): its
/// positions, where its slots are, and its final positions once every end is gone; `attach`
/// says that its sides are every thread holding an end, so no one thread is shown.
impl<T: Send + 'static> Monitor for (mpmc::Sender<T>, mpmc::Receiver<T>) {
    fn monitor(self, registry: &Registry, name: &str) -> Result<Self, MonitorError> {
        let cells = registry.register(name, self.0.watch())?;
        if let Some(consumer) = cells.consumers.into_iter().next() {
            self.0.publish_to(cells.producer, consumer);
        }
        Ok(self)
    }
}

impl<T: Copy + Send + 'static> Monitor for (broadcast::Producer<T>, Vec<broadcast::Consumer<T>>) {
    fn monitor(mut self, registry: &Registry, name: &str) -> Result<Self, MonitorError> {
        let cells = registry.register(name, self.0.watch())?;
        self.0.publish_stats(cells.producer);
        for (consumer, cell) in self.1.iter_mut().zip(cells.consumers) {
            consumer.publish_stats(cell);
        }
        Ok(self)
    }
}
