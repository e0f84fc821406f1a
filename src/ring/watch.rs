//! Watching a ring from outside its two threads, without slowing them: what the monitor
//! (`ringtop::monitor`) publishes for `ringtop attach`.
//!
//! Two channels, neither on the per-item path:
//! - [`RingWatch`]: the ring's positions (the producer's tail, each consumer's head), read by a
//!   third thread from the atomics the endpoints publish anyway. Fill level, lag and rates follow
//!   from them. The watch holds the ring weakly: it never keeps items alive, and reads nothing
//!   once both endpoints are gone.
//! - [`StatsCell`]: an endpoint copies its slow-path counters ([`super::EndpointStats`]) into a
//!   cell each time one of them changes, which happens only on the slow path (a reload of the
//!   other side's index, the first poll of a stall, a chase back-off). A reader of the cell is
//!   therefore never behind the endpoint's own counts by more than the store in flight.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

pub use super::buffer::RingMemory;

/// What a watcher can read of a ring at any time, from any thread.
pub trait RingWatch: Send + Sync {
    /// `spsc`, `relay` or `broadcast`.
    fn kind(&self) -> &'static str;
    /// Slots.
    fn capacity(&self) -> usize;
    /// Bytes of one item (`size_of::<T>()`).
    fn item_bytes(&self) -> usize;
    /// Consumers: 1, or a broadcast ring's count.
    fn consumers(&self) -> usize;
    /// The producer's tail (items pushed since the ring was made) and each consumer's head (items
    /// it popped) into `heads` (as many as fit); `None` once both endpoints have been dropped.
    ///
    /// Heads are read before the tail, so `tail - head` never reads negative.
    fn positions(&self, heads: &mut [u64]) -> Option<u64>;
    /// Where the slots live in this process (`None` once both endpoints have been dropped, or
    /// for a ring that does not say).
    fn memory(&self) -> Option<RingMemory> {
        None
    }
    /// The file the ring lives in, for a ring between processes (a shared-memory ring); `None`
    /// for a ring inside one program. Two programs registering the two ends of one such ring
    /// publish the same identity, which is how `attach` joins them.
    fn shared_file(&self) -> Option<FileIdentity> {
        None
    }
}

/// Which file a ring between processes lives in: its device and inode, which no other file has
/// while either end keeps the ring mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileIdentity {
    /// The file system's device number (`st_dev`).
    pub device: u64,
    /// The file's inode number (`st_ino`, never 0).
    pub inode: u64,
}

/// Where one endpoint publishes its slow-path counters: three words a watcher reads with relaxed
/// loads. Laid out as the monitor's segment format documents (`docs/monitor-format.md`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct EndpointCell {
    /// [`super::EndpointStats::index_reloads`].
    pub index_reloads: AtomicU64,
    /// [`super::EndpointStats::stalls`].
    pub stalls: AtomicU64,
    /// [`super::EndpointStats::chase_backoffs`].
    pub chase_backoffs: AtomicU64,
    /// The Linux thread id that last published (0 before the first publish): a watcher finds the
    /// thread's CPU and scheduling from it.
    pub thread_id: AtomicU64,
    /// The endpoint's position (producer: its tail; consumer: its head) when it was dropped.
    pub final_position: AtomicU64,
    /// 1 once the endpoint was dropped and `final_position` holds its last position (written
    /// after it with release order), 0 before.
    pub ended: AtomicU64,
}

/// An [`EndpointCell`] somewhere in memory, with whatever keeps that memory alive.
pub struct StatsCell {
    cell: NonNull<EndpointCell>,
    /// Keeps the memory `cell` points into mapped for as long as the endpoint holds this.
    _owner: std::sync::Arc<dyn Send + Sync>,
}

impl StatsCell {
    /// A cell at `cell`, kept valid by `owner`.
    ///
    /// # Safety
    /// `cell` must point to an `EndpointCell` (suitably aligned, initialised) that stays valid
    /// for as long as `owner` is alive, and that no one but the endpoint given this cell writes.
    pub unsafe fn new(cell: NonNull<EndpointCell>, owner: std::sync::Arc<dyn Send + Sync>) -> Self {
        StatsCell {
            cell,
            _owner: owner,
        }
    }

    /// Copies `stats` into the cell.
    #[inline]
    pub(crate) fn store(&self, stats: super::EndpointStats) {
        // SAFETY: `new`'s contract: the cell is valid while `_owner` lives, which is as long as
        // `self`.
        let cell = unsafe { self.cell.as_ref() };
        cell.index_reloads.store(stats.index_reloads, Relaxed);
        cell.stalls.store(stats.stalls, Relaxed);
        cell.chase_backoffs.store(stats.chase_backoffs, Relaxed);
        let thread = current_thread_id();
        if cell.thread_id.load(Relaxed) != thread {
            cell.thread_id.store(thread, Relaxed);
        }
    }
}

impl StatsCell {
    /// Records the endpoint's last position as it goes away.
    pub(crate) fn store_final(&self, position: u64) {
        // SAFETY: as in `store`.
        let cell = unsafe { self.cell.as_ref() };
        cell.final_position.store(position, Relaxed);
        cell.ended.store(1, std::sync::atomic::Ordering::Release);
    }
}

impl std::fmt::Debug for StatsCell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatsCell")
            .field("cell", &self.cell)
            .finish()
    }
}

// SAFETY: the cell is only written through atomics, and `new`'s contract keeps it valid for as
// long as the owner (itself Send + Sync) lives, on whichever thread.
unsafe impl Send for StatsCell {}
// SAFETY: as above; `&StatsCell` allows only atomic stores.
unsafe impl Sync for StatsCell {}

/// This thread's Linux thread id, asked of the kernel once per thread.
fn current_thread_id() -> u64 {
    thread_local! {
        static ID: u64 = {
            // SAFETY: gettid(2) takes nothing and cannot fail.
            let id = unsafe { libc::gettid() };
            u64::try_from(id).unwrap_or(0)
        };
    }
    ID.with(|id| *id)
}

/// Copies `stats` into `cell`; kept out of line so the unmonitored slow path stays small.
#[cold]
#[inline(never)]
pub(crate) fn publish_slow(cell: &StatsCell, stats: super::EndpointStats) {
    cell.store(stats);
}

/// What a ring's shared state tells a watcher. Implementations read atomics only.
#[cfg(not(loom))]
pub(crate) trait SharedPositions: 'static {
    /// See [`RingWatch::kind`].
    const KIND: &'static str;
    /// Slots.
    fn capacity(&self) -> usize;
    /// Bytes of one item.
    fn item_bytes(&self) -> usize;
    /// Consumers.
    fn consumers(&self) -> usize;
    /// Heads into `heads` (read first), then the tail.
    fn positions(&self, heads: &mut [u64]) -> u64;
    /// Where the slots live.
    fn memory(&self) -> RingMemory;
}

/// A ring's shared state, held weakly for a watcher.
#[cfg(not(loom))]
pub(crate) struct Watched<S>(std::sync::Weak<S>);

#[cfg(not(loom))]
impl<S> Watched<S> {
    /// A watch on `shared`.
    pub(crate) fn new(shared: &std::sync::Arc<S>) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Watched(std::sync::Arc::downgrade(shared)))
    }
}

// SAFETY: a watcher only reads atomics through `SharedPositions`; the one other thing it can do
// is drop the last strong reference (both endpoints gone while it looked), which drops the ring's
// leftover items on the watcher's thread: every `SharedPositions` implementation is for a ring of
// `T: Send`, whose endpoints may be dropped on any thread just the same.
#[cfg(not(loom))]
unsafe impl<S: SharedPositions> Send for Watched<S> {}
// SAFETY: as above; `&Watched` gives only atomic loads.
#[cfg(not(loom))]
unsafe impl<S: SharedPositions> Sync for Watched<S> {}

#[cfg(not(loom))]
impl<S: SharedPositions> RingWatch for Watched<S> {
    fn kind(&self) -> &'static str {
        S::KIND
    }
    fn capacity(&self) -> usize {
        self.0.upgrade().map_or(0, |s| s.capacity())
    }
    fn item_bytes(&self) -> usize {
        self.0.upgrade().map_or(0, |s| s.item_bytes())
    }
    fn consumers(&self) -> usize {
        self.0.upgrade().map_or(0, |s| s.consumers())
    }
    fn positions(&self, heads: &mut [u64]) -> Option<u64> {
        let shared = self.0.upgrade()?;
        Some(shared.positions(heads))
    }
    fn memory(&self) -> Option<RingMemory> {
        Some(self.0.upgrade()?.memory())
    }
}

/// The watch methods of a ring's two endpoint types, `Producer<T>` and `Consumer<T>` with a
/// `counters: EndpointTally` field each and the producer a `shared: Arc<Shared<T>>`:
/// `publish_stats` on both, `watch` on the producer. The argument is `T`'s bound; or
/// `impl[generics] ProducerType, ConsumerType` for endpoint types of other names.
macro_rules! watch_endpoints {
    (impl[$($generics:tt)*] $producer:ty, $consumer:ty) => {
        impl<$($generics)*> $producer {
            /// Copies this side's slow-path counters into `cell` each time they change (only ever
            /// on the slow path), for a watcher in another thread or process: see
            /// [`super::watch`].
            pub fn publish_stats(&mut self, cell: super::watch::StatsCell) {
                self.counters.publish_to(cell);
            }

            /// This ring's positions for a watcher, held weakly: see [`super::watch`].
            #[cfg(not(loom))]
            pub fn watch(&self) -> std::sync::Arc<dyn super::watch::RingWatch> {
                super::watch::Watched::new(&self.shared)
            }
        }

        impl<$($generics)*> $consumer {
            /// As the producer's `publish_stats`, for this consumer's counters.
            pub fn publish_stats(&mut self, cell: super::watch::StatsCell) {
                self.counters.publish_to(cell);
            }
        }
    };
    ($($bound:tt)+) => {
        super::watch::watch_endpoints!(impl[T: $($bound)+] Producer<T>, Consumer<T>);
    };
}
pub(crate) use watch_endpoints;

/// [`SharedPositions`] for a ring with one consumer whose `Shared<T>` has `head`, `tail` (each an
/// atomic position) and `slots`; the argument is the ring's kind.
macro_rules! one_consumer_positions {
    ($kind:literal) => {
        #[cfg(not(loom))]
        impl<T: Send + 'static> super::watch::SharedPositions for Shared<T> {
            const KIND: &'static str = $kind;
            fn capacity(&self) -> usize {
                self.slots.len()
            }
            fn item_bytes(&self) -> usize {
                std::mem::size_of::<T>()
            }
            fn consumers(&self) -> usize {
                1
            }
            fn positions(&self, heads: &mut [u64]) -> u64 {
                // Heads first: the tail read after them is at least as new, so no lag reads
                // negative.
                if let Some(head) = heads.first_mut() {
                    *head = self.head.load(std::sync::atomic::Ordering::Acquire) as u64;
                }
                self.tail.load(std::sync::atomic::Ordering::Acquire) as u64
            }
            fn memory(&self) -> super::buffer::RingMemory {
                self.slots.memory()
            }
        }
    };
}
pub(crate) use one_consumer_positions;
