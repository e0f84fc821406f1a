//! Reading this host for the judges: `/sys`, `/proc`, a perf counter, a timed clock loop.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::judge::{CpuSample, Frequency, IdleState, cpu_jiffies};

pub(super) fn read_frequency(cpus: &[usize]) -> Frequency {
    let read = |path: String| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
    };
    let turbo = read("/sys/devices/system/cpu/intel_pstate/no_turbo".into())
        .map(|v| v == "0")
        .or_else(|| read("/sys/devices/system/cpu/cpufreq/boost".into()).map(|v| v == "1"));
    Frequency {
        governors: cpus
            .iter()
            .map(|&c| {
                (
                    c,
                    read(format!(
                        "/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor"
                    )),
                )
            })
            .collect(),
        turbo,
    }
}

pub(super) fn read_idle_states(cpus: &[usize]) -> BTreeMap<usize, Vec<IdleState>> {
    let mut all = BTreeMap::new();
    for &cpu in cpus {
        let Ok(dir) = std::fs::read_dir(format!("/sys/devices/system/cpu/cpu{cpu}/cpuidle")) else {
            continue;
        };
        let mut states: Vec<IdleState> = dir
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("state"))
            .filter_map(|e| {
                let read = |f: &str| std::fs::read_to_string(e.path().join(f)).ok();
                Some(IdleState {
                    name: read("name")?.trim().to_owned(),
                    exit_latency_us: read("latency")?.trim().parse().ok()?,
                    disabled: read("disable")?.trim() == "1",
                })
            })
            .collect();
        states.sort_by_key(|s| s.exit_latency_us);
        all.insert(cpu, states);
    }
    all
}

pub(super) fn read_reserved_huge_pages() -> BTreeMap<usize, u64> {
    let mut reserved = BTreeMap::new();
    let Ok(nodes) = std::fs::read_dir("/sys/devices/system/node") else {
        return reserved;
    };
    for node in nodes.flatten() {
        let name = node.file_name().to_string_lossy().into_owned();
        let Some(n) = name
            .strip_prefix("node")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let path = node.path().join("hugepages/hugepages-2048kB/nr_hugepages");
        if let Some(count) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            reserved.insert(n, count);
        }
    }
    reserved
}

pub(super) fn irqbalance_running() -> bool {
    std::fs::read_dir("/proc").is_ok_and(|procs| {
        procs.flatten().any(|p| {
            std::fs::read_to_string(p.path().join("comm")).is_ok_and(|c| c.trim() == "irqbalance")
        })
    })
}

pub(super) fn sample_cpu_time(over: Duration) -> CpuSample {
    let read = || {
        std::fs::read_to_string("/proc/stat")
            .map(|s| cpu_jiffies(&s))
            .unwrap_or_default()
    };
    let before = read();
    std::thread::sleep(over);
    let after = read();
    let shares = after
        .iter()
        .filter_map(|(cpu, (busy, steal, total))| {
            let (b0, s0, t0) = before.get(cpu)?;
            let elapsed = total.checked_sub(*t0).filter(|&e| e > 0)?;
            Some((
                *cpu,
                (
                    busy.saturating_sub(*b0) as f64 / elapsed as f64,
                    steal.saturating_sub(*s0) as f64 / elapsed as f64,
                ),
            ))
        })
        .collect();
    CpuSample { shares }
}

pub(super) fn runnable_elsewhere(cpus: &[usize]) -> Vec<String> {
    let mut names: Vec<String> = crate::metrics::sched::runnable_on(cpus, 3)
        .into_values()
        .flatten()
        .map(|t| format!("{} (pid {})", t.name, t.pid))
        .collect();
    names.dedup();
    names
}

pub(super) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether this thread gets hardware counters (why not, if not) and, when it does, the least
/// share of [`super::PMU_WATCH`] that ringtop's hardware counters were counting while it spun: `None`
/// when every one counted throughout, below 1 when the PMU time-shares them.
pub(super) fn read_pmu() -> Result<Option<f64>, String> {
    use crate::metrics::counters::{CounterValues, HARDWARE_COUNTERS, ThreadCounters};
    let mut counters = ThreadCounters::open_for_current_thread();
    let start = counters.read();
    if let Some(why) = start.unavailable("cycles") {
        return Err(why.to_owned());
    }
    let until = Instant::now() + super::PMU_WATCH;
    while Instant::now() < until {
        std::hint::spin_loop();
    }
    let values = CounterValues::between(&counters.read(), Some(&start));
    let least = HARDWARE_COUNTERS
        .iter()
        .filter(|name| start.get(name).is_some())
        .map(|&name| match values.counted_share.get(name) {
            Some(&share) => share,
            // Opened and read, yet no figure: it never counted in the watch.
            None if values.unavailable.contains_key(name) => 0.0,
            None => 1.0,
        })
        .reduce(f64::min);
    Ok(least.filter(|&share| share < 1.0))
}

/// Nanoseconds one read of the clock every row stamp comes from costs, averaged over 100,000.
pub(super) fn clock_read_ns() -> f64 {
    let reads = 100_000u32;
    let start = Instant::now();
    let mut last = 0;
    for _ in 0..reads {
        last = std::hint::black_box(crate::clock::monotonic_ns());
    }
    std::hint::black_box(last);
    start.elapsed().as_nanos() as f64 / f64::from(reads)
}

/// The kernel's answer to `membarrier(MEMBARRIER_CMD_QUERY)` (0 without the call), and whether
/// this process is registered for private expedited barriers (registering it).
pub(super) fn read_membarrier() -> (u32, bool) {
    (
        rustix::thread::membarrier_query().bits(),
        crate::ring::visits::Visits::asymmetric_here(),
    )
}
