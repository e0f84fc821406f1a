//! Per-thread hardware and software counters through perf-event2. Each worker opens counters on
//! itself; the collector reads them (a `read` system call per counter, never in the hot loop).
//! A counter the machine cannot provide is `null` with the reason, never a made-up 0.

use std::collections::BTreeMap;
use std::io;

use perf_event::events::{Cache, CacheId, CacheOp, CacheResult, Event, Hardware, Software};
use perf_event::{Builder, Counter};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Counter values for one thread over a span (an interval, or since it started); `None` where
/// the counter is unavailable, with the reason in `unavailable`.
///
/// A PMU has a few counters (four to eight per hardware thread, some taken by the kernel's
/// watchdog); when more hardware events are open on a thread than it has, the kernel time-shares
/// them, and each counts only part of the time the thread runs. Such a value is then the count
/// scaled by the share of the span the counter was counting, as `perf stat` scales it, and that
/// share is in `counted_share`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// For each counter that counted only part of the span (the kernel time-shared the PMU
    /// between more events than it has counters), that part (0 to 1, exclusive of 1): its value
    /// is an estimate, the count divided by it. Counters that counted throughout are not listed.
    /// Absent from the output of ringtop before it scaled counters: read as empty.
    #[serde(default)]
    pub counted_share: BTreeMap<String, f64>,
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

    /// The figures between two readings of one thread's counters (`earlier` `None`: since the
    /// counters were opened). Each counter's count, enabled and running times are taken as
    /// differences first, so a time-shared counter is scaled by its share of this span alone,
    /// as `perf stat --interval-print` does.
    pub fn between(now: &CounterReading, earlier: Option<&CounterReading>) -> CounterValues {
        let mut values = CounterValues::default();
        for (name, read) in &now.counters {
            let value = match read {
                Ok(now) => {
                    let then = earlier.and_then(|e| e.get(name)).unwrap_or_default();
                    match now.since(then).scaled() {
                        Ok((value, share)) => {
                            if let Some(share) = share {
                                values.counted_share.insert((*name).to_owned(), share);
                            }
                            Some(value)
                        }
                        Err(why) => {
                            values.unavailable.insert((*name).to_owned(), why);
                            None
                        }
                    }
                }
                Err(why) => {
                    values.unavailable.insert((*name).to_owned(), why.clone());
                    None
                }
            };
            if let Some(slot) = values.slot(name) {
                *slot = value;
            }
        }
        values
    }

    /// The field a counter's figure goes in, by its name (`None` for a name it does not have).
    fn slot(&mut self, name: &str) -> Option<&mut Option<u64>> {
        Some(match name {
            "cycles" => &mut self.cycles,
            "instructions" => &mut self.instructions,
            "cache_references" => &mut self.cache_references,
            "cache_misses" => &mut self.cache_misses,
            "l1d_read_misses" => &mut self.l1d_read_misses,
            "llc_read_misses" => &mut self.llc_read_misses,
            "branch_misses" => &mut self.branch_misses,
            "task_clock_ns" => &mut self.task_clock_ns,
            "context_switches" => &mut self.context_switches,
            "cpu_migrations" => &mut self.cpu_migrations,
            "page_faults" => &mut self.page_faults,
            _ => return None,
        })
    }
}

/// One counter as the kernel reports it: the count, how long the counter was enabled (for a
/// thread's counter: how long the thread ran) and how long of that it was counting on the PMU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawCount {
    /// Events counted.
    pub count: u64,
    /// Nanoseconds enabled.
    pub enabled_ns: u64,
    /// Nanoseconds counting (below `enabled_ns` when the kernel time-shared the PMU).
    pub running_ns: u64,
}

impl RawCount {
    fn since(self, earlier: RawCount) -> RawCount {
        RawCount {
            count: self.count.saturating_sub(earlier.count),
            enabled_ns: self.enabled_ns.saturating_sub(earlier.enabled_ns),
            running_ns: self.running_ns.saturating_sub(earlier.running_ns),
        }
    }

    /// The count over the span, scaled up when the counter counted only part of it, with that
    /// part; or why there is no figure (it never counted while the thread ran).
    fn scaled(self) -> Result<(u64, Option<f64>), String> {
        if self.running_ns >= self.enabled_ns {
            return Ok((self.count, None));
        }
        if self.running_ns == 0 {
            return Err(
                "not counted in this span: the kernel gave the PMU to other events \
                        for all the time the thread ran"
                    .to_owned(),
            );
        }
        let share = self.running_ns as f64 / self.enabled_ns as f64;
        let scaled =
            u128::from(self.count) * u128::from(self.enabled_ns) / u128::from(self.running_ns);
        Ok((u64::try_from(scaled).unwrap_or(u64::MAX), Some(share)))
    }
}

/// Every counter of one thread read at one instant, or why it cannot be; two of them make
/// figures ([`CounterValues::between`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CounterReading {
    counters: Vec<(&'static str, Result<RawCount, String>)>,
}

impl CounterReading {
    /// A reading made of these counters (names as in [`CounterValues`]).
    pub fn from_counts(counters: Vec<(&'static str, Result<RawCount, String>)>) -> Self {
        CounterReading { counters }
    }

    /// The counter `name`'s reading, when it has one.
    pub fn get(&self, name: &str) -> Option<RawCount> {
        self.counters
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, read)| read.as_ref().ok().copied())
    }

    /// Why the counter `name` cannot be read, when it cannot.
    pub fn unavailable(&self, name: &str) -> Option<&str> {
        self.counters
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, read)| read.as_ref().err().map(String::as_str))
    }
}

/// The counters that need a hardware PMU, by their names in [`CounterValues`]: the ones the
/// kernel time-shares when the PMU has fewer counters than events.
pub const HARDWARE_COUNTERS: [&str; 7] = [
    "cycles",
    "instructions",
    "cache_references",
    "cache_misses",
    "l1d_read_misses",
    "llc_read_misses",
    "branch_misses",
];

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

    /// Reads every counter: its count with its enabled and running times.
    pub fn read(&mut self) -> CounterReading {
        let counters = self
            .counters
            .iter_mut()
            .map(|(name, counter)| {
                let read = match counter {
                    Ok(c) => c
                        .read_count_and_time()
                        .map(|r| RawCount {
                            count: r.count,
                            enabled_ns: r.time_enabled,
                            running_ns: r.time_running,
                        })
                        .map_err(|e| reason(&e)),
                    Err(why) => Err(why.clone()),
                };
                (*name, read)
            })
            .collect();
        CounterReading { counters }
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
        let values = CounterValues::between(&counters.read(), None);
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

    fn raw(count: u64, enabled_ns: u64, running_ns: u64) -> Result<RawCount, String> {
        Ok(RawCount {
            count,
            enabled_ns,
            running_ns,
        })
    }

    #[test]
    fn the_hardware_counters_are_counters_a_thread_opens() {
        let reading = ThreadCounters::open_for_current_thread().read();
        for name in HARDWARE_COUNTERS {
            assert!(CounterValues::default().slot(name).is_some(), "{name}");
            assert!(
                reading.get(name).is_some() || reading.unavailable(name).is_some(),
                "{name} is not opened"
            );
        }
    }

    #[test]
    fn a_counter_that_counted_throughout_is_exact() {
        let reading = CounterReading::from_counts(vec![("cycles", raw(1_000, 50, 50))]);
        let values = CounterValues::between(&reading, None);
        assert_eq!(values.cycles, Some(1_000));
        assert!(values.counted_share.is_empty());
    }

    #[test]
    fn a_time_shared_counter_is_scaled_by_its_share_of_the_span_alone() {
        // Counting all of the first 100 ns, then a quarter of the next 400 ns: over the second
        // span the 250 events counted stand for 1,000, whatever the first span did.
        let before = CounterReading::from_counts(vec![("cache_misses", raw(700, 100, 100))]);
        let now = CounterReading::from_counts(vec![("cache_misses", raw(950, 500, 200))]);
        let values = CounterValues::between(&now, Some(&before));
        assert_eq!(values.cache_misses, Some(1_000));
        assert_eq!(values.counted_share["cache_misses"], 0.25);
        // Since the start: 950 counted in 200 of 500 ns.
        let whole = CounterValues::between(&now, None);
        assert_eq!(whole.cache_misses, Some(2_375));
        assert_eq!(whole.counted_share["cache_misses"], 0.4);
    }

    #[test]
    fn a_counter_that_never_counted_in_the_span_is_null_with_why() {
        let before = CounterReading::from_counts(vec![("instructions", raw(10, 100, 100))]);
        let now = CounterReading::from_counts(vec![("instructions", raw(10, 3_000_100, 100))]);
        let values = CounterValues::between(&now, Some(&before));
        assert_eq!(values.instructions, None);
        assert!(
            values.unavailable["instructions"].starts_with("not counted in this span"),
            "{values:?}"
        );
    }

    #[test]
    fn an_unavailable_counter_keeps_its_reason() {
        let reading =
            CounterReading::from_counts(vec![("cycles", Err("no PMU: ENOENT".to_owned()))]);
        let values = CounterValues::between(&reading, None);
        assert_eq!(values.cycles, None);
        assert_eq!(values.unavailable["cycles"], "no PMU: ENOENT");
    }
}
