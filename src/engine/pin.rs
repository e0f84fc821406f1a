//! Which CPUs this process may run on, and pinning the calling thread to one of them.

use std::fmt::Write as _;
use std::sync::OnceLock;

use thiserror::Error;

/// Why a thread could not be pinned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PinError {
    /// The CPU does not exist or is outside this process's affinity mask / cgroup.
    #[error("CPU {cpu} is not available; allowed: {}", format_cpu_list(.allowed))]
    NotAllowed {
        /// The CPU asked for.
        cpu: usize,
        /// The CPUs this process may use.
        allowed: Vec<usize>,
    },
    /// The operating system refused the affinity change.
    #[error("the OS refused to pin this thread to CPU {cpu}")]
    Refused {
        /// The CPU asked for.
        cpu: usize,
    },
    /// The platform cannot report or set affinity.
    #[error("thread pinning is not supported on this platform")]
    Unsupported,
}

/// The CPUs this process is allowed to run on, ascending.
///
/// Read once, on first use, from the affinity mask ringtop was started with: a thread pinned
/// later narrows its own mask (and its children's), which must not shrink the set offered to the
/// other threads.
pub fn allowed_cpus() -> Vec<usize> {
    static ALLOWED: OnceLock<Vec<usize>> = OnceLock::new();
    ALLOWED
        .get_or_init(|| {
            let mut cpus: Vec<usize> = core_affinity::get_core_ids()
                .unwrap_or_default()
                .into_iter()
                .map(|c| c.id)
                .collect();
            cpus.sort_unstable();
            cpus
        })
        .clone()
}

/// Checks that `cpu` is one this process may use, without pinning anything.
///
/// # Errors
/// [`PinError::NotAllowed`] naming the allowed set.
pub fn check_cpu(cpu: usize) -> Result<(), PinError> {
    let allowed = allowed_cpus();
    if allowed.is_empty() {
        return Err(PinError::Unsupported);
    }
    if allowed.contains(&cpu) {
        Ok(())
    } else {
        Err(PinError::NotAllowed { cpu, allowed })
    }
}

/// Pins the calling thread to `cpu`.
///
/// # Errors
/// [`PinError::NotAllowed`] for a CPU outside the allowed set, [`PinError::Refused`] if the OS
/// says no.
pub fn pin_current_thread(cpu: usize) -> Result<(), PinError> {
    check_cpu(cpu)?;
    if core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        Ok(())
    } else {
        Err(PinError::Refused { cpu })
    }
}

/// Formats CPU ids the way Linux does (`0-3,6,8-9`).
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            let _ = write!(out, "{start}");
        } else {
            let _ = write!(out, "{start}-{end}");
        }
        i += 1;
    }
    if out.is_empty() {
        out.push_str("none");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_read_like_linux() {
        assert_eq!(format_cpu_list(&[0, 1]), "0-1");
        assert_eq!(format_cpu_list(&[3, 0, 1, 2, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(format_cpu_list(&[5]), "5");
        assert_eq!(format_cpu_list(&[]), "none");
    }

    #[test]
    fn a_cpu_that_does_not_exist_is_an_error_naming_the_allowed_set() {
        let err = pin_current_thread(100_000).unwrap_err();
        let allowed = format_cpu_list(&allowed_cpus());
        assert_eq!(
            err.to_string(),
            format!("CPU 100000 is not available; allowed: {allowed}")
        );
    }

    #[test]
    fn a_pinned_thread_does_not_shrink_the_allowed_set() {
        let before = allowed_cpus();
        let last = *before.last().expect("at least one CPU");
        let after = std::thread::spawn(move || {
            pin_current_thread(last).unwrap();
            std::thread::spawn(allowed_cpus).join().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn pinning_to_an_allowed_cpu_works() {
        let cpu = *allowed_cpus().last().expect("at least one CPU");
        std::thread::spawn(move || pin_current_thread(cpu))
            .join()
            .unwrap()
            .unwrap();
    }
}
