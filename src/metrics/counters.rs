//! Per-thread hardware and software counters through perf-event2. Each worker opens counters on
//! itself; the collector reads them (a `read` system call per counter, never in the hot loop).
//! A counter the machine cannot provide is `null` with the reason, never a made-up 0.

use std::collections::BTreeMap;
use std::io;

use perf_event::events::{Cache, CacheId, CacheOp, CacheResult, Event, Hardware, Software};
use perf_event::{Builder, Counter};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Counter values for one thread since it started; `None` where the counter is unavailable,
/// with the reason in `unavailable`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterValues {
    /// CPU cycles.
    pub cycles: Option<u64>,
    /// Instructions retired.
    pub instructions: Option<u64>,
    /// Last-level cache references (the PMU's generic event).
    pub cache_references: Option<u64>,
    /// Last-level cache misses (the PMU's generic event).
    pub cache_misses: Option<u64>,
    /// L1 data cache read misses.
    pub l1d_read_misses: Option<u64>,
    /// Last-level cache read misses.
    pub llc_read_misses: Option<u64>,
    /// Mispredicted branches.
    pub branch_misses: Option<u64>,
    /// Nanoseconds the thread ran on a CPU.
    pub task_clock_ns: Option<u64>,
    /// Times the thread was switched out (counted in the kernel: root or
    /// `perf_event_paranoid` <= 1, else `null`).
    pub context_switches: Option<u64>,
    /// Times the thread moved to another CPU (counted in the kernel, as above).
    pub cpu_migrations: Option<u64>,
    /// Page faults.
    pub page_faults: Option<u64>,
    /// Why each `null` counter is missing (`"no PMU: ENOENT"`, …).
    pub unavailable: BTreeMap<String, String>,
}

impl CounterValues {
    /// Instructions per cycle, when both are counted.
    pub fn ipc(&self) -> Option<f64> {
        match (self.instructions, self.cycles) {
            (Some(i), Some(c)) if c > 0 => Some(i as f64 / c as f64),
            _ => None,
        }
    }

    /// Counts since `earlier` (for interval rates); unavailable stays unavailable.
    pub fn since(&self, earlier: &CounterValues) -> CounterValues {
        let d =
            |now: Option<u64>, then: Option<u64>| now.map(|n| n.saturating_sub(then.unwrap_or(0)));
        CounterValues {
            cycles: d(self.cycles, earlier.cycles),
            instructions: d(self.instructions, earlier.instructions),
            cache_references: d(self.cache_references, earlier.cache_references),
            cache_misses: d(self.cache_misses, earlier.cache_misses),
            l1d_read_misses: d(self.l1d_read_misses, earlier.l1d_read_misses),
            llc_read_misses: d(self.llc_read_misses, earlier.llc_read_misses),
            branch_misses: d(self.branch_misses, earlier.branch_misses),
            task_clock_ns: d(self.task_clock_ns, earlier.task_clock_ns),
            context_switches: d(self.context_switches, earlier.context_switches),
            cpu_migrations: d(self.cpu_migrations, earlier.cpu_migrations),
            page_faults: d(self.page_faults, earlier.page_faults),
            unavailable: self.unavailable.clone(),
        }
    }
}

/// The counters of one thread, opened by that thread on itself.
#[derive(Debug)]
pub struct ThreadCounters {
    counters: Vec<(&'static str, Result<Counter, String>)>,
}

fn open(event: impl Event) -> Result<Counter, String> {
    let mut counter = Builder::new(event)
        .observe_self()
        .any_cpu()
        .build()
        .map_err(|e| reason(&e))?;
    counter.enable().map_err(|e| reason(&e))?;
    Ok(counter)
}

/// Opens a software event that happens in the kernel (a context switch, a migration): with
/// kernel events excluded, as user-space counters are opened, it would count 0 whatever
/// happened. Where the kernel will not count kernel events for this user, the reason.
fn open_kernel_event(event: impl Event) -> Result<Counter, String> {
    let built = Builder::new(event)
        .observe_self()
        .any_cpu()
        .include_kernel()
        .build();
    let mut counter = built.map_err(|e| match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => format!(
            "counted in the kernel, which needs root or perf_event_paranoid <= 1 (now {})",
            paranoid()
        ),
        _ => reason(&e),
    })?;
    counter.enable().map_err(|e| reason(&e))?;
    Ok(counter)
}

fn paranoid() -> String {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "?".into())
}

/// Why a counter cannot be opened, in the words an operator needs.
fn reason(err: &io::Error) -> String {
    let paranoid = paranoid();
    match err.raw_os_error() {
        Some(libc::ENOENT) => "no PMU: ENOENT".into(),
        Some(libc::EOPNOTSUPP) => "not supported by this CPU or hypervisor: EOPNOTSUPP".into(),
        Some(libc::EACCES | libc::EPERM) => format!("perf_event_paranoid={paranoid} without root"),
        Some(libc::ENOSYS) => "kernel without perf events: ENOSYS".into(),
        _ => err.to_string(),
    }
}

impl ThreadCounters {
    /// Opens every counter on the calling thread; those that fail are remembered with why.
    pub fn open_for_current_thread() -> Self {
        let l1d_read_misses = Cache {
            which: CacheId::L1D,
            operation: CacheOp::READ,
            result: CacheResult::MISS,
        };
        let llc_read_misses = Cache {
            which: CacheId::LL,
            operation: CacheOp::READ,
            result: CacheResult::MISS,
        };
        ThreadCounters {
            counters: vec![
                ("cycles", open(Hardware::CPU_CYCLES)),
                ("instructions", open(Hardware::INSTRUCTIONS)),
                ("cache_references", open(Hardware::CACHE_REFERENCES)),
                ("cache_misses", open(Hardware::CACHE_MISSES)),
                ("l1d_read_misses", open(l1d_read_misses)),
                ("llc_read_misses", open(llc_read_misses)),
                ("branch_misses", open(Hardware::BRANCH_MISSES)),
                ("task_clock_ns", open(Software::TASK_CLOCK)),
                (
                    "context_switches",
                    open_kernel_event(Software::CONTEXT_SWITCHES),
                ),
                (
                    "cpu_migrations",
                    open_kernel_event(Software::CPU_MIGRATIONS),
                ),
                ("page_faults", open(Software::PAGE_FAULTS)),
            ],
        }
    }

    /// Reads every counter.
    pub fn read(&mut self) -> CounterValues {
        let mut values = CounterValues::default();
        for (name, counter) in &mut self.counters {
            let value = match counter {
                Ok(c) => match c.read() {
                    Ok(v) => Some(v),
                    Err(e) => {
                        values.unavailable.insert((*name).to_owned(), reason(&e));
                        None
                    }
                },
                Err(why) => {
                    values.unavailable.insert((*name).to_owned(), why.clone());
                    None
                }
            };
            let slot = match *name {
                "cycles" => &mut values.cycles,
                "instructions" => &mut values.instructions,
                "cache_references" => &mut values.cache_references,
                "cache_misses" => &mut values.cache_misses,
                "l1d_read_misses" => &mut values.l1d_read_misses,
                "llc_read_misses" => &mut values.llc_read_misses,
                "branch_misses" => &mut values.branch_misses,
                "task_clock_ns" => &mut values.task_clock_ns,
                "context_switches" => &mut values.context_switches,
                "cpu_migrations" => &mut values.cpu_migrations,
                _ => &mut values.page_faults,
            };
            *slot = value;
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_is_a_number_or_has_a_reason() {
        let mut counters = ThreadCounters::open_for_current_thread();
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let values = counters.read();
        let all = [
            ("cycles", values.cycles),
            ("instructions", values.instructions),
            ("cache_references", values.cache_references),
            ("cache_misses", values.cache_misses),
            ("l1d_read_misses", values.l1d_read_misses),
            ("llc_read_misses", values.llc_read_misses),
            ("branch_misses", values.branch_misses),
            ("task_clock_ns", values.task_clock_ns),
            ("context_switches", values.context_switches),
            ("cpu_migrations", values.cpu_migrations),
            ("page_faults", values.page_faults),
        ];
        for (name, value) in all {
            assert_eq!(
                value.is_none(),
                values.unavailable.contains_key(name),
                "{name}: {values:?}"
            );
        }
        // Software counters need no PMU; where perf events work at all, the thread ran.
        if let Some(ns) = values.task_clock_ns {
            assert!(ns > 0);
        }
    }
}
