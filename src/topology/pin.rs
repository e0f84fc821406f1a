//! Which CPUs this process may run on, pinning the calling thread, and reading back where it runs.

use hwlocality::cpu::binding::CpuBindingFlags;
use hwlocality::cpu::cpuset::CpuSet;
use thiserror::Error;

use super::cpulist::{cpus_named, format_cpu_list};
use super::discover::{host, host_hwloc, set_to_vec};

/// Why a thread could not be pinned (or its placement read).
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
    /// An empty set of CPUs was asked for.
    #[error("no CPU given to pin to")]
    EmptySet,
    /// The operating system refused the affinity change.
    #[error("the OS refused to pin this thread to {}: {reason}", cpus_named(.cpus))]
    Refused {
        /// The CPUs asked for.
        cpus: Vec<usize>,
        /// What the OS said.
        reason: String,
    },
    /// The machine's topology or the thread's placement could not be read.
    #[error("thread placement is unavailable: {0}")]
    Unavailable(String),
}

/// The CPUs this process is allowed to run on, ascending (see [`super::host`] for when it is
/// read); empty if the topology cannot be read.
pub fn allowed_cpus() -> Vec<usize> {
    host().map(|t| t.allowed_cpus.clone()).unwrap_or_default()
}

/// Checks that `cpu` is one this process may use, without pinning anything.
///
/// # Errors
/// [`PinError::NotAllowed`] naming the allowed set.
pub fn check_cpu(cpu: usize) -> Result<(), PinError> {
    host()
        .map_err(|e| PinError::Unavailable(e.to_string()))?
        .check_cpu(cpu)
}

/// Pins the calling thread to `cpu`.
///
/// # Errors
/// [`PinError::NotAllowed`] for a CPU outside the allowed set, [`PinError::Refused`] if the OS
/// says no.
pub fn pin_current_thread(cpu: usize) -> Result<(), PinError> {
    pin_current_thread_to(&[cpu])
}

/// Pins the calling thread to a set of CPUs: the scheduler may move it among them only.
///
/// # Errors
/// As [`pin_current_thread`], for the first CPU that is not allowed; [`PinError::EmptySet`]
/// for an empty set.
pub fn pin_current_thread_to(cpus: &[usize]) -> Result<(), PinError> {
    if cpus.is_empty() {
        return Err(PinError::EmptySet);
    }
    for &cpu in cpus {
        check_cpu(cpu)?;
    }
    let hw = host_hwloc().map_err(|e| PinError::Unavailable(e.to_string()))?;
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu);
    }
    hw.bind_cpu(&set, CpuBindingFlags::THREAD | CpuBindingFlags::STRICT)
        .map_err(|e| PinError::Refused {
            cpus: cpus.to_vec(),
            reason: e.to_string(),
        })
}

/// The CPUs the calling thread may currently run on.
///
/// # Errors
/// [`PinError::Unavailable`] when the OS cannot say.
pub fn current_binding() -> Result<Vec<usize>, PinError> {
    let hw = host_hwloc().map_err(|e| PinError::Unavailable(e.to_string()))?;
    hw.cpu_binding(CpuBindingFlags::THREAD)
        .map(|set| set_to_vec(&set))
        .map_err(|e| PinError::Unavailable(e.to_string()))
}

/// The CPU the calling thread last ran on (it may have moved since unless pinned to one CPU).
///
/// # Errors
/// [`PinError::Unavailable`] when the OS cannot say.
pub fn current_cpu() -> Result<usize, PinError> {
    let hw = host_hwloc().map_err(|e| PinError::Unavailable(e.to_string()))?;
    let set = hw
        .last_cpu_location(CpuBindingFlags::THREAD)
        .map_err(|e| PinError::Unavailable(e.to_string()))?;
    set_to_vec(&set)
        .first()
        .copied()
        .ok_or_else(|| PinError::Unavailable("the OS reported no CPU".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn an_empty_set_is_refused() {
        assert_eq!(pin_current_thread_to(&[]), Err(PinError::EmptySet));
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
    fn a_thread_pinned_to_a_cpu_runs_there() {
        for cpu in allowed_cpus() {
            let (binding, ran_on) = std::thread::spawn(move || {
                pin_current_thread(cpu).unwrap();
                // Give the scheduler a moment to move the thread if it must.
                std::thread::yield_now();
                (current_binding().unwrap(), current_cpu().unwrap())
            })
            .join()
            .unwrap();
            assert_eq!(binding, vec![cpu]);
            assert_eq!(ran_on, cpu);
        }
    }

    #[test]
    fn a_thread_pinned_to_a_set_stays_in_it() {
        let allowed = allowed_cpus();
        let binding = std::thread::spawn({
            let allowed = allowed.clone();
            move || {
                pin_current_thread_to(&allowed).unwrap();
                current_binding().unwrap()
            }
        })
        .join()
        .unwrap();
        assert_eq!(binding, allowed);
    }
}
