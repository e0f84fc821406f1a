//! The clock every row stamp is read from, shared by every process on one host.
//!
//! Rows carry the time they were scheduled. A consumer in another process can compute one-way
//! latency from that stamp only if both read the same clock: `CLOCK_MONOTONIC` is one clock per
//! boot, so two processes agree when they share a boot id. Across hosts, only a round trip (the
//! consumer echoes the stamp back to the producer) means anything.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `timeout` after `now`, or `None` where that is past what an [`Instant`] holds
/// (`Duration::MAX`, say): a wait that never ends, where `now + timeout` would panic.
pub fn deadline(now: Instant, timeout: Duration) -> Option<Instant> {
    now.checked_add(timeout)
}

/// Whether `deadline` (from [`deadline`]) is still ahead at `now`.
pub fn ahead(deadline: Option<Instant>, now: Instant) -> bool {
    deadline.is_none_or(|end| now < end)
}

/// Nanoseconds on `CLOCK_MONOTONIC`: comparable between processes on the same boot.
#[inline]
pub fn monotonic_ns() -> u64 {
    // With CLOCK_MONOTONIC it cannot fail on Linux.
    clock_ns(libc::CLOCK_MONOTONIC).unwrap_or(0)
}

/// Nanoseconds the calling thread has spent on a CPU, exact to this instant
/// (`CLOCK_THREAD_CPUTIME_ID`); `None` where the kernel does not say.
pub fn thread_cpu_ns() -> Option<u64> {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Clock `clock` in nanoseconds, `None` if `clock_gettime` refuses it.
#[inline]
fn clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through a valid pointer to a local.
    let rc = unsafe { libc::clock_gettime(clock, &mut now) };
    (rc == 0).then(|| now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64)
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`): two processes with the same id read the
/// same monotonic clock. Empty when the kernel does not say, which never matches.
pub fn boot_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    })
}

/// Whether a peer that reported `peer_boot_id` stamps rows on this host's clock.
pub fn same_clock(peer_boot_id: &str) -> bool {
    !peer_boot_id.is_empty() && peer_boot_id == boot_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_past_the_clocks_reach_never_comes() {
        let now = Instant::now();
        assert_eq!(deadline(now, Duration::MAX), None);
        assert!(ahead(
            deadline(now, Duration::MAX),
            now + Duration::from_secs(86_400)
        ));
        let soon = deadline(now, Duration::from_millis(5));
        assert!(ahead(soon, now));
        assert!(
            !ahead(soon, now + Duration::from_millis(5)),
            "over at its end"
        );
        assert!(
            !ahead(deadline(now, Duration::ZERO), now),
            "a zero wait is over at once"
        );
    }

    #[test]
    fn the_clock_moves_forward_and_agrees_with_itself() {
        let a = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = monotonic_ns();
        assert!(b >= a + 2_000_000, "{a} {b}");
        assert!(same_clock(boot_id()) || boot_id().is_empty());
        assert!(!same_clock(""));
        assert!(!same_clock("another-boot"));
    }
}
