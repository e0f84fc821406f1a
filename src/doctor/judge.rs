//! The judges: what was read of the host, in; a verdict with the evidence and the fix, out. No
//! I/O here, so each is tested on hand-made readings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Check, Status};
use crate::topology::cpulist::{cpus_named, format_cpu_list, parse_cpu_list};

/// The CPUs a sysfs list names (`0-3,6`); none where it is missing, empty or unreadable.
pub(super) fn cpus_in(list: Option<&str>) -> Vec<usize> {
    list.map(str::trim)
        .filter(|l| !l.is_empty())
        .and_then(|l| parse_cpu_list(l).ok())
        .unwrap_or_default()
}

/// The CPUs of `online` (the host's, as `/sys/devices/system/cpu/online` lists them) a run on
/// `cpus` leaves to the system; `None` when the host's CPUs are not known.
fn spare_cpus(cpus: &[usize], online: Option<&str>) -> Option<Vec<usize>> {
    let online = cpus_in(online);
    (!online.is_empty()).then(|| online.into_iter().filter(|c| !cpus.contains(c)).collect())
}

/// `isolcpus`, `nohz_full` and `rcu_nocbs`: whether the kernel keeps its own work off the CPUs;
/// `online`, the host's CPUs, says which are left for the system (none, when the run uses them
/// all: then isolating is no fix here).
pub fn judge_isolation(
    cpus: &[usize],
    isolated: Option<&str>,
    nohz_full: Option<&str>,
    cmdline: Option<&str>,
    online: Option<&str>,
) -> Check {
    let isolated = cpus_in(isolated);
    let nohz = cpus_in(nohz_full);
    let rcu = cmdline
        .and_then(|c| {
            c.split_whitespace()
                .find_map(|w| w.strip_prefix("rcu_nocbs="))
        })
        .map_or_else(Vec::new, |l| parse_cpu_list(l).unwrap_or_default());
    let all = |set: &[usize]| cpus.iter().all(|c| set.contains(c));
    let evidence = format!(
        "isolated {}, nohz_full {}, rcu_nocbs {}; this run uses {}",
        format_cpu_list(&isolated),
        format_cpu_list(&nohz),
        format_cpu_list(&rcu),
        format_cpu_list(cpus)
    );
    if all(&isolated) && all(&nohz) && all(&rcu) {
        Check::new("isolation", Status::Ok, evidence, None)
    } else {
        let want = format_cpu_list(cpus);
        let boot =
            format!("isolcpus=nohz,domain,managed_irq,{want} nohz_full={want} rcu_nocbs={want}");
        let fix = match spare_cpus(cpus, online) {
            None => format!("boot with {boot} (keep one CPU for the system)"),
            Some(spare) if spare.is_empty() => format!(
                "every online CPU ({want}) runs the workload: isolating them all would leave none \
                 for the kernel and other tasks, so here the scheduler shares them; on a host \
                 with a CPU to spare, boot with the run's CPUs isolated ({boot}) and leave the \
                 others to the system"
            ),
            Some(spare) => format!(
                "boot with {boot} ({} {} for the system)",
                cpus_named(&spare),
                if spare.len() == 1 { "stays" } else { "stay" }
            ),
        };
        Check::new("isolation", Status::Warn, evidence, Some(fix))
    }
}

/// Each CPU's frequency governor, and whether turbo is on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frequency {
    /// Governor per CPU (`None`: no cpufreq for it).
    pub governors: BTreeMap<usize, Option<String>>,
    /// Whether turbo/boost is on (`None`: cannot tell).
    pub turbo: Option<bool>,
}

/// The governor should be `performance` (a CPU clocking up under load adds microseconds); turbo
/// makes the frequency depend on temperature and on the other cores.
pub fn judge_frequency(cpus: &[usize], seen: &Frequency) -> Check {
    let known: Vec<(usize, &str)> = seen
        .governors
        .iter()
        .filter_map(|(c, g)| Some((*c, g.as_deref()?)))
        .collect();
    if known.is_empty() {
        return Check::new(
            "frequency",
            Status::NotAvailable,
            format!(
                "no cpufreq governor for {} (a VM or firmware control: the host decides)",
                cpus_named(cpus)
            ),
            None,
        );
    }
    let slow: Vec<String> = known
        .iter()
        .filter(|(_, g)| *g != "performance")
        .map(|(c, g)| format!("CPU {c}: {g}"))
        .collect();
    let turbo = match seen.turbo {
        Some(true) => "turbo on",
        Some(false) => "turbo off",
        None => "turbo unknown",
    };
    if slow.is_empty() && seen.turbo != Some(true) {
        Check::new(
            "frequency",
            Status::Ok,
            format!("governor performance on every CPU used; {turbo}"),
            None,
        )
    } else {
        let mut fixes = Vec::new();
        if !slow.is_empty() {
            fixes.push("cpupower frequency-set -g performance".to_owned());
        }
        if seen.turbo == Some(true) {
            fixes.push(
                "turn turbo off for steady clocks (echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo, \
                 or echo 0 > /sys/devices/system/cpu/cpufreq/boost)"
                    .to_owned(),
            );
        }
        let governors = if slow.is_empty() {
            "governor performance".to_owned()
        } else {
            slow.join(", ")
        };
        Check::new(
            "frequency",
            Status::Warn,
            format!("{governors}; {turbo}"),
            Some(fixes.join("; ")),
        )
    }
}

/// One idle state of one CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleState {
    /// Its name (`C6`, `POLL`, …).
    pub name: String,
    /// Its exit latency in microseconds.
    pub exit_latency_us: u64,
    /// Whether it is disabled.
    pub disabled: bool,
}

/// Exit latency above which an idle state costs a spinning ring's wake-ups: 10 µs.
const DEEP_IDLE_US: u64 = 10;

/// Deep idle states let an idle CPU sleep for tens of microseconds: the first row after a pause
/// pays for the wake-up.
pub fn judge_idle_states(cpus: &[usize], seen: &BTreeMap<usize, Vec<IdleState>>) -> Check {
    if seen.values().all(Vec::is_empty) {
        return Check::new(
            "c-states",
            Status::NotAvailable,
            format!("no cpuidle states listed for {}", cpus_named(cpus)),
            None,
        );
    }
    let deep: Vec<String> = seen
        .iter()
        .flat_map(|(cpu, states)| {
            states
                .iter()
                .filter(|s| !s.disabled && s.exit_latency_us > DEEP_IDLE_US)
                .map(move |s| format!("CPU {cpu}: {} (exit {} µs)", s.name, s.exit_latency_us))
        })
        .collect();
    if deep.is_empty() {
        let deepest = seen
            .values()
            .flatten()
            .filter(|s| !s.disabled)
            .map(|s| s.exit_latency_us)
            .max()
            .unwrap_or(0);
        Check::new(
            "c-states",
            Status::Ok,
            format!(
                "no enabled idle state exits slower than {DEEP_IDLE_US} µs (deepest {deepest} µs)"
            ),
            None,
        )
    } else {
        Check::new(
            "c-states",
            Status::Warn,
            format!("deep idle states enabled: {}", deep.join(", ")),
            Some(format!(
                "cpupower idle-set -D {DEEP_IDLE_US} (or boot with intel_idle.max_cstate=1 \
                 processor.max_cstate=1)"
            )),
        )
    }
}

/// Transparent huge pages and the reserved 2 MiB pages per node, against what the ring asks for.
pub fn judge_huge_pages(
    wanted: bool,
    transparent: Option<&str>,
    reserved: &BTreeMap<usize, u64>,
) -> Check {
    let mode = transparent
        .and_then(|t| t.split_whitespace().find(|w| w.starts_with('[')))
        .map(|w| w.trim_matches(['[', ']']).to_owned());
    let per_node = if reserved.is_empty() {
        "unknown".to_owned()
    } else {
        reserved
            .iter()
            .map(|(n, c)| format!("node {n}: {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let evidence = format!(
        "transparent huge pages {}; reserved 2 MiB pages {per_node}; the ring {} huge pages",
        mode.as_deref().unwrap_or("unknown"),
        if wanted {
            "asks for"
        } else {
            "does not ask for"
        }
    );
    let none_reserved = reserved.values().all(|&c| c == 0);
    if wanted && none_reserved {
        Check::new(
            "huge-pages",
            Status::Warn,
            evidence,
            Some("sysctl vm.nr_hugepages=64 (128 MiB of 2 MiB pages; per node: /sys/devices/system/node/nodeN/hugepages)".into()),
        )
    } else {
        Check::new("huge-pages", Status::Ok, evidence, None)
    }
}

/// Interrupts that fired on the given CPUs, per IRQ, from `/proc/interrupts` text.
pub(super) fn irqs_on(cpus: &[usize], interrupts: &str) -> Vec<(String, u64)> {
    let mut lines = interrupts.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let columns: Vec<usize> = header
        .split_whitespace()
        .filter_map(|c| c.strip_prefix("CPU")?.parse().ok())
        .collect();
    let mut fired = Vec::new();
    for line in lines {
        let mut fields = line.split_whitespace();
        let Some(irq) = fields.next().map(|f| f.trim_end_matches(':').to_owned()) else {
            continue;
        };
        // Only numbered device interrupts can be moved; LOC, RES and the like cannot.
        if irq.parse::<u32>().is_err() {
            continue;
        }
        let counts: u64 = columns
            .iter()
            .zip(fields)
            .filter(|(cpu, _)| cpus.contains(cpu))
            .filter_map(|(_, count)| count.parse::<u64>().ok())
            .sum();
        if counts > 0 {
            fired.push((irq, counts));
        }
    }
    fired
}

/// Device interrupts that land on the run's CPUs preempt its threads.
/// Device interrupts on the CPUs used, and whether irqbalance may put them back; `online`, the
/// host's CPUs, says where they can go instead.
pub fn judge_irqs(
    cpus: &[usize],
    interrupts: Option<&str>,
    irqbalance: bool,
    online: Option<&str>,
) -> Check {
    let Some(interrupts) = interrupts else {
        return Check::new(
            "irqs",
            Status::NotAvailable,
            "/proc/interrupts cannot be read".into(),
            None,
        );
    };
    let fired = irqs_on(cpus, interrupts);
    let balance = if irqbalance {
        "irqbalance is running (it may move interrupts back)"
    } else {
        "irqbalance is not running"
    };
    if fired.is_empty() {
        return Check::new(
            "irqs",
            Status::Ok,
            format!(
                "no device interrupt has fired on {}; {balance}",
                cpus_named(cpus)
            ),
            None,
        );
    }
    let total: u64 = fired.iter().map(|(_, n)| n).sum();
    let names: Vec<&str> = fired.iter().take(8).map(|(irq, _)| irq.as_str()).collect();
    let more = if fired.len() > 8 { ", …" } else { "" };
    Check::new(
        "irqs",
        Status::Warn,
        format!(
            "{} ({}{more}) fired {total} times on {}; {balance}",
            crate::words::counted(fired.len(), "device IRQ"),
            names.join(", "),
            cpus_named(cpus)
        ),
        Some(irq_fix(cpus, online)),
    )
}

/// Where a run's CPUs' interrupts can go, and how to keep irqbalance from bringing them back.
fn irq_fix(cpus: &[usize], online: Option<&str>) -> String {
    let used = format_cpu_list(cpus);
    let ban = format!(
        "ban {} in irqbalance (IRQBALANCE_BANNED_CPULIST={used})",
        cpus_named(cpus)
    );
    match spare_cpus(cpus, online) {
        None => format!("move them: echo <other CPUs> > /proc/irq/N/smp_affinity_list, and {ban}"),
        Some(spare) if spare.is_empty() => format!(
            "every online CPU ({used}) runs the workload: there is no other CPU to move them to \
             here; on a host with one to spare, echo it > /proc/irq/N/smp_affinity_list for each \
             and {ban}"
        ),
        Some(spare) => format!(
            "move them to {}: echo {} > /proc/irq/N/smp_affinity_list for each, and {ban}",
            cpus_named(&spare),
            format_cpu_list(&spare)
        ),
    }
}

/// Time each CPU spent busy and stolen over a short sample, as fractions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuSample {
    /// CPU → (busy share, steal share) over the sample.
    pub shares: BTreeMap<usize, (f64, f64)>,
}

/// `/proc/stat`'s per-CPU jiffies: (busy, steal, total).
pub(super) fn cpu_jiffies(stat: &str) -> BTreeMap<usize, (u64, u64, u64)> {
    let mut all = BTreeMap::new();
    for line in stat.lines() {
        let mut fields = line.split_whitespace();
        let Some(cpu) = fields
            .next()
            .and_then(|f| f.strip_prefix("cpu")?.parse::<usize>().ok())
        else {
            continue;
        };
        let values: Vec<u64> = fields.filter_map(|f| f.parse().ok()).collect();
        if values.len() < 8 {
            continue;
        }
        // user nice system idle iowait irq softirq steal
        let busy = values[0] + values[1] + values[2] + values[5] + values[6];
        let total: u64 = values[..8].iter().sum();
        all.insert(cpu, (busy, values[7], total));
    }
    all
}

/// Before the run starts its CPUs should be idle: anything busy there is another task the run's
/// threads will share them with, and steal is time the hypervisor gives to other guests. Checked
/// `during_run`, the run's own threads keep its CPUs busy: then only steal and the other tasks
/// runnable there count.
pub fn judge_other_tasks(
    cpus: &[usize],
    sample: &CpuSample,
    runnable: &[String],
    during_run: bool,
) -> Check {
    let mut seen = Vec::new();
    let mut worst: f64 = 0.0;
    let mut stolen: f64 = 0.0;
    for cpu in cpus {
        if let Some((busy, steal)) = sample.shares.get(cpu) {
            seen.push(if during_run {
                format!("CPU {cpu} {:.1} % steal", steal * 100.0)
            } else {
                format!(
                    "CPU {cpu} {:.0} % busy, {:.1} % steal",
                    busy * 100.0,
                    steal * 100.0
                )
            });
            worst = worst.max(*busy);
            stolen = stolen.max(*steal);
        }
    }
    if seen.is_empty() {
        return Check::new(
            "other-tasks",
            Status::NotAvailable,
            "/proc/stat has no line for these CPUs".into(),
            None,
        );
    }
    let when = if during_run {
        "over 100 ms while the run uses them (its own threads keep them busy)"
    } else {
        "over 100 ms before the run"
    };
    let mut evidence = format!("{when}: {}", seen.join("; "));
    if !runnable.is_empty() {
        let _ = write!(evidence, "; runnable there: {}", runnable.join(", "));
    }
    let crowded = if during_run {
        !runnable.is_empty()
    } else {
        worst > 0.10
    };
    if crowded || stolen > 0.02 {
        Check::new(
            "other-tasks",
            Status::Warn,
            evidence,
            Some(
                "stop the other work on these CPUs (or pin it elsewhere with taskset/cgroups); \
                 steal is the hypervisor's: ask for dedicated vCPUs"
                    .into(),
            ),
        )
    } else {
        Check::new("other-tasks", Status::Ok, evidence, None)
    }
}

/// Two busy-spinning threads that hand rows to each other must not be SMT siblings: they would
/// share one core's pipeline and slow each other down.
pub fn judge_smt(
    pairs: &[(usize, usize)],
    smt_active: Option<&str>,
    siblings: &dyn Fn(usize, usize) -> bool,
) -> Check {
    let smt = match smt_active.map(str::trim) {
        Some("1") => "SMT is on",
        Some("0") => "SMT is off",
        _ => "SMT state unknown",
    };
    let shared: Vec<String> = pairs
        .iter()
        .filter(|(a, b)| a != b && siblings(*a, *b))
        .map(|(a, b)| format!("CPUs {a} and {b}"))
        .collect();
    if shared.is_empty() {
        Check::new(
            "smt",
            Status::Ok,
            format!("{smt}; no spinning pair shares a core"),
            None,
        )
    } else {
        Check::new(
            "smt",
            Status::Fail,
            format!(
                "{smt}; spinning threads on SMT siblings: {}",
                shared.join(", ")
            ),
            Some(
                "pin the two threads to different cores (ringtop topo shows which CPUs share one)"
                    .into(),
            ),
        )
    }
}

/// Which counters a run will have: hardware ones need a PMU, kernel ones root or
/// `perf_event_paranoid` <= 1. `pmu` is whether there are hardware counters and, if the PMU
/// time-shares them, the least share of a short watch one counted (the figures are then scaled
/// estimates); `nmi_watchdog` is `/proc/sys/kernel/nmi_watchdog`, whose watchdog holds a counter.
pub fn judge_perf(
    paranoid: Option<&str>,
    root: bool,
    pmu: Result<Option<f64>, String>,
    nmi_watchdog: Option<&str>,
) -> Check {
    let level: Option<i32> = paranoid.and_then(|p| p.trim().parse().ok());
    let kernel_events = root || level.is_some_and(|l| l <= 1);
    let mut evidence = format!(
        "perf_event_paranoid {}{}; ",
        level.map_or("unknown".to_owned(), |l| l.to_string()),
        if root { " (running as root)" } else { "" }
    );
    let mut fixes = Vec::new();
    match &pmu {
        Ok(None) => evidence.push_str("hardware PMU present, every hardware counter counting"),
        Ok(Some(share)) => {
            let _ = write!(
                evidence,
                "hardware PMU present, time-shared between ringtop's {} hardware events (the \
                 least counted {:.0} % of a {} ms watch): cycles, IPC and cache figures are \
                 scaled estimates",
                crate::metrics::counters::HARDWARE_COUNTERS.len(),
                share * 100.0,
                super::PMU_WATCH.as_millis()
            );
            if nmi_watchdog.is_some_and(|w| w.trim() == "1") {
                fixes.push(
                    "sysctl kernel.nmi_watchdog=0 frees the PMU counter the watchdog holds"
                        .to_owned(),
                );
            }
        }
        Err(reason) => {
            let _ = write!(
                evidence,
                "no hardware counters ({reason}): cycles, IPC and cache misses will be null"
            );
            fixes.push("on a VM, ask for PMU passthrough (vPMU)".to_owned());
        }
    }
    if !kernel_events {
        evidence.push_str("; context switches and migrations cannot be counted");
        fixes.push("sysctl kernel.perf_event_paranoid=1 (or run as root)".to_owned());
    }
    if fixes.is_empty() {
        Check::new("perf", Status::Ok, evidence, None)
    } else {
        Check::new("perf", Status::Warn, evidence, Some(fixes.join("; ")))
    }
}

/// Every latency figure reads the clock twice: a slow clocksource adds its cost to each.
pub fn judge_clock(clocksource: Option<&str>, read_ns: f64) -> Check {
    let source = clocksource.map_or("unknown", str::trim);
    let evidence = format!("clocksource {source}; one clock read costs {read_ns:.0} ns");
    if read_ns >= 1_000.0 {
        Check::new(
            "clock",
            Status::Fail,
            evidence,
            Some("use the tsc clocksource (boot with clocksource=tsc tsc=reliable where the TSC is stable)".into()),
        )
    } else if read_ns >= 100.0 || (source != "tsc" && cfg!(target_arch = "x86_64")) {
        Check::new(
            "clock",
            Status::Warn,
            evidence,
            Some(
                "echo tsc > /sys/devices/system/clocksource/clocksource0/current_clocksource"
                    .into(),
            ),
        )
    } else {
        Check::new("clock", Status::Ok, evidence, None)
    }
}

/// The shared-memory item rings' receivers take their slots with two plain stores when the
/// kernel gives private expedited memory barriers (`membarrier`, `ring::visits`); without them
/// each take pays a full fence (correct, a few ns slower an item). `commands` is the kernel's
/// answer to `MEMBARRIER_CMD_QUERY` (0 where it has no such call), `registered` whether this
/// process could register for them.
pub fn judge_membarrier(commands: u32, registered: bool) -> Check {
    use rustix::thread::MembarrierCommand::{PrivateExpedited, RegisterPrivateExpedited};
    let offered = [PrivateExpedited, RegisterPrivateExpedited]
        .into_iter()
        .all(|command| commands & command as u32 != 0);
    let evidence = format!(
        "membarrier commands {commands:#x}: private expedited barriers {}{}",
        if offered { "offered" } else { "not offered" },
        match (offered, registered) {
            (true, true) => ", this process registered",
            (true, false) => ", but registering this process failed",
            (false, _) => "",
        }
    );
    if offered && registered {
        Check::new("membarrier", Status::Ok, evidence, None)
    } else {
        Check::new(
            "membarrier",
            Status::Warn,
            evidence,
            Some(
                "a kernel of 4.14 or later built with CONFIG_MEMBARRIER; in a container, a \
                 seccomp profile that allows membarrier (without it, shared-memory item \
                 receivers pay a full fence an item)"
                    .into(),
            ),
        )
    }
}
