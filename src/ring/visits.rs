//! A hot thread's visits to state it shares with a cold thread, which the cold thread can wait
//! out after changing that state: the hot side pays two plain stores a visit, no locked
//! instruction and no fence, where a lock would cost two locked instructions.
//!
//! The shape is Dekker's: the hot side marks itself inside, then looks at a flag; the cold side
//! changes the flag, then looks at the mark. Each side needs a full barrier between its store
//! and its load, or both can miss the other's store. The barrier is asymmetric: the hot side's
//! is a compiler fence only, and the cold side's is the `membarrier` system call, which makes
//! every running thread of the process pass through a full barrier before it returns (the
//! technique of Linux's RCU and folly's `asymmetricHeavyBarrier`). Where the kernel has no
//! `membarrier`, and under loom (which checks the protocol with the fences that call stands
//! for), both sides take a `SeqCst` fence.
//!
//! What it guarantees: after [`Visits::wait_out`] returns, every visit that may have seen the
//! flag as it was before the cold side changed it has ended (and what it wrote is visible to the
//! cold side), and every later visit sees the change.

use std::sync::atomic::Ordering::{Acquire, Release, SeqCst};

use super::sync::{Arc, AtomicU64, fence};

/// The visits of one hot thread, as the cold thread sees them: the count of their starts and
/// ends (odd while a visit is under way), written only by the [`Visitor`].
#[derive(Debug)]
pub struct Visits {
    mark: AtomicU64,
    /// Whether the cold side's barrier is `membarrier` (the hot side's then only a compiler
    /// fence); otherwise both sides take a `SeqCst` fence.
    asymmetric: bool,
}

/// The hot side of [`Visits`]: one thread's visits, one at a time (`&mut self`).
#[derive(Debug)]
pub struct Visitor {
    visits: Arc<Visits>,
    /// The mark the last visit left (even).
    mark: u64,
}

impl Visits {
    /// The visits of a new hot side, and its [`Visitor`]. Registers the process for
    /// `membarrier` the first time (once per process).
    pub fn new() -> (Arc<Visits>, Visitor) {
        let visits = Arc::new(Visits {
            mark: AtomicU64::new(0),
            asymmetric: Self::asymmetric_here(),
        });
        let visitor = Visitor {
            visits: visits.clone(),
            mark: 0,
        };
        (visits, visitor)
    }

    /// Whether the hot side's barrier is a compiler fence only (`membarrier` is there).
    pub fn is_asymmetric(&self) -> bool {
        self.asymmetric
    }

    /// Whether visits in this process are asymmetric: the kernel gives private expedited
    /// barriers and this process is registered for them (registering it, the first time).
    pub fn asymmetric_here() -> bool {
        barrier::registered()
    }

    /// Waits out the visits that may have seen the shared state as it was before the caller's
    /// last change to it: call it right after that change. Returns once such a visit has ended
    /// (at once when none is under way); what it wrote is then visible here, and every visit
    /// that starts later sees the change. A visit runs a short, bounded closure, so the wait is
    /// as long as one visit (longer only while the hot thread is not scheduled).
    pub fn wait_out(&self) {
        if self.asymmetric {
            barrier::heavy();
        } else {
            fence(SeqCst);
        }
        let seen = self.mark.load(Acquire);
        if seen.is_multiple_of(2) {
            return;
        }
        // A later start (a larger odd mark) saw the change: only this visit is waited for.
        while self.mark.load(Acquire) == seen {
            super::sync::yield_now();
        }
    }
}

impl Visitor {
    /// Runs `visit` marked as a visit: the caller's loads of the shared state inside it come
    /// after the mark, and everything it wrote before the mark's end. `visit` must be short and
    /// bounded: the cold side may be waiting for it.
    #[inline(always)]
    pub fn visit<R>(&mut self, visit: impl FnOnce() -> R) -> R {
        /// Ends the visit even if the closure panics: a cold side waiting for it is let go.
        struct End<'a>(&'a AtomicU64, u64);
        impl Drop for End<'_> {
            #[inline(always)]
            fn drop(&mut self) {
                self.0.store(self.1, Release);
            }
        }
        let visits = &*self.visits;
        // Release, free on the CPUs this runs on: the cold side may read this mark instead of
        // the end of the visit before, and must then see what that visit wrote.
        visits.mark.store(self.mark + 1, Release);
        self.mark += 2;
        let _end = End(&visits.mark, self.mark);
        if visits.asymmetric {
            std::sync::atomic::compiler_fence(SeqCst);
        } else {
            fence(SeqCst);
        }
        visit()
    }
}

/// The cold side's barrier: `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`.
#[cfg(not(loom))]
mod barrier {
    use std::sync::OnceLock;
    use std::sync::atomic::{Ordering::SeqCst, fence};

    use rustix::thread::{MembarrierCommand, membarrier, membarrier_query};

    /// Whether this process is registered for private expedited barriers (asked once).
    pub(super) fn registered() -> bool {
        static REGISTERED: OnceLock<bool> = OnceLock::new();
        *REGISTERED.get_or_init(|| {
            let query = membarrier_query();
            query.contains_command(MembarrierCommand::PrivateExpedited)
                && query.contains_command(MembarrierCommand::RegisterPrivateExpedited)
                && membarrier(MembarrierCommand::RegisterPrivateExpedited).is_ok()
        })
    }

    /// A full barrier on every running thread of this process, and on the caller.
    pub(super) fn heavy() {
        fence(SeqCst);
        // Once registered, the kernel refuses only when it cannot allocate a CPU mask: the
        // barrier is retried until it is made, never skipped.
        while membarrier(MembarrierCommand::PrivateExpedited).is_err() {
            std::thread::yield_now();
        }
        fence(SeqCst);
    }
}

/// Loom has no `membarrier`: both sides take the `SeqCst` fence it stands for.
#[cfg(loom)]
mod barrier {
    pub(super) fn registered() -> bool {
        false
    }

    pub(super) fn heavy() {
        unreachable!("never asymmetric under loom")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Acquire, Ordering::Release};
    use std::sync::{Arc, Barrier};

    use super::Visits;

    #[test]
    fn this_kernel_gives_the_asymmetric_barrier() {
        // Linux has had private expedited barriers since 4.14; if this fails, the hot side
        // pays a full fence a visit here, which is correct but not what is measured.
        let (visits, _) = Visits::new();
        assert!(visits.is_asymmetric(), "membarrier is not available");
    }

    #[test]
    fn a_visit_that_saw_the_flag_up_is_waited_out_and_later_visits_see_it_down() {
        let (visits, mut visitor) = Visits::new();
        let up = Arc::new(AtomicBool::new(true));
        let written = Arc::new(AtomicU64::new(0));
        let inside = Arc::new(Barrier::new(2));
        let hot = {
            let (up, written, inside) = (up.clone(), written.clone(), inside.clone());
            std::thread::spawn(move || {
                // One visit that sees the flag up and lingers while the cold side lowers it.
                visitor.visit(|| {
                    assert!(up.load(Acquire));
                    inside.wait();
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    written.store(1, Release);
                });
                // Then visits until one sees it down: each that sees it up writes.
                let mut visits = 0;
                while visitor.visit(|| {
                    let seen = up.load(Acquire);
                    if seen {
                        written.fetch_add(1, Release);
                    }
                    seen
                }) {
                    visits += 1;
                }
                visits
            })
        };
        inside.wait();
        up.store(false, Release);
        visits.wait_out();
        // The lingering visit's write is here, and nothing is written after this.
        let after = written.load(Acquire);
        assert!(after >= 1, "the lingering visit was not waited out");
        let visits_up = hot.join().unwrap();
        assert_eq!(written.load(Acquire), after, "a visit wrote after the wait");
        assert_eq!(after, 1 + visits_up);
    }

    #[test]
    fn a_visit_that_panics_still_ends() {
        let (visits, mut visitor) = Visits::new();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            visitor.visit(|| panic!("inside"));
        }));
        assert!(panicked.is_err());
        // Returns: the mark is even again.
        visits.wait_out();
        visitor.visit(|| ());
        visits.wait_out();
    }
}
