//! What a ring endpoint does while it cannot make progress (ring full, or empty).
//!
//! Each side of a ring picks its own strategy when the ring is built: a latency-critical consumer
//! can busy-spin while a bulk producer parks. Only the blocking calls (`push`, `pop`, …) wait; the
//! `try_*` calls never do.

use super::sync::{AtomicUsize, Condvar, Mutex, fence, spin_loop, yield_now};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};

/// How a blocked endpoint waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitStrategy {
    /// Spin on the CPU forever: lowest wake-up latency, burns the core. For pinned threads on
    /// isolated cores.
    #[default]
    BusySpin,
    /// Spin `spins` times, then yield the time slice between checks: for cores shared with other
    /// work.
    SpinYield {
        /// Spins before the first yield.
        spins: u32,
    },
    /// Spin `spins` times, then sleep until the other side makes progress. No wake-up is ever
    /// lost; the other side pays a fence per operation to check for sleepers.
    SpinPark {
        /// Spins before going to sleep.
        spins: u32,
    },
}

impl WaitStrategy {
    /// Spin-then-yield with a spin budget that suits most machines.
    pub const fn spin_yield() -> Self {
        Self::SpinYield { spins: 128 }
    }

    /// Spin-then-park with a spin budget that suits most machines.
    pub const fn spin_park() -> Self {
        Self::SpinPark { spins: 128 }
    }

    /// Whether this strategy may put the thread to sleep (and so needs wake-ups).
    pub const fn may_park(self) -> bool {
        matches!(self, Self::SpinPark { .. })
    }

    /// Waits until `ready()` holds, using `parker` to sleep if the strategy parks.
    ///
    /// `ready` must become true through a store that is followed by [`Parker::notify`] when
    /// somebody may be parked.
    #[inline]
    pub(crate) fn wait_until(self, parker: &Parker, mut ready: impl FnMut() -> bool) {
        let spins = match self {
            Self::BusySpin => u32::MAX,
            Self::SpinYield { spins } | Self::SpinPark { spins } => spins,
        };
        let mut spun = 0u32;
        while !ready() {
            if spun < spins {
                spun += 1;
                spin_loop();
                continue;
            }
            match self {
                Self::BusySpin => spin_loop(),
                Self::SpinYield { .. } => yield_now(),
                Self::SpinPark { .. } => parker.park_until(&mut ready),
            }
        }
    }
}

/// Sleep and wake-up for one side of a ring (one or many threads), without lost wake-ups.
///
/// A sleeper announces itself (a count, so several sleepers cannot hide one another), then
/// re-checks its condition; the waker publishes, then checks for sleepers. A sequentially consistent fence on both sides (Dekker's pattern) guarantees at least
/// one of them sees the other, and the lock orders the wake-up after the sleeper is waiting.
#[derive(Debug)]
pub(crate) struct Parker {
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wakeup: Condvar,
}

impl Parker {
    /// A parker with nobody asleep.
    pub(crate) fn new() -> Self {
        Self {
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wakeup: Condvar::new(),
        }
    }

    /// Sleeps until `ready()` holds.
    pub(crate) fn park_until(&self, ready: &mut impl FnMut() -> bool) {
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.sleepers.fetch_add(1, Relaxed);
        fence(SeqCst);
        while !ready() {
            guard = self.wakeup.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        self.sleepers.fetch_sub(1, Relaxed);
        drop(guard);
    }

    /// Wakes the sleepers, if any. Call after publishing what they wait for.
    ///
    /// Kept out of line: it runs only on rings whose other side may park, and inlining it into
    /// the push/pop loops would cost those loops their registers.
    #[cold]
    #[inline(never)]
    pub(crate) fn notify(&self) {
        fence(SeqCst);
        if self.sleepers.load(Relaxed) != 0 {
            let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.wakeup.notify_all();
        }
    }
}
