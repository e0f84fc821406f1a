//! `ringtop doctor`: is this host fit to measure on? Each check looks at one thing that decides
//! low-latency results on the CPUs a run will use (isolation, frequency, idle states, huge pages,
//! interrupts, other tasks and steal, SMT siblings, the PMU, the clock, the memory barriers the
//! shared-memory item rings use) and says `ok`, `warn`, `fail` or `n/a` (the host does not say,
//! and why), with the evidence and the fix.
//!
//! Reading the host is kept apart from judging it: each `judge_*` function takes what was read
//! and is tested on hand-made inputs; [`examine`] reads this host and judges it.

use std::fmt::Write as _;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::topology::cpulist::cpus_named;

mod judge;
mod read;

pub use judge::{
    CpuSample, Frequency, IdleState, judge_clock, judge_frequency, judge_huge_pages,
    judge_idle_states, judge_irqs, judge_isolation, judge_membarrier, judge_other_tasks,
    judge_perf, judge_smt,
};
use read::{
    clock_read_ns, irqbalance_running, is_root, read_frequency, read_idle_states, read_membarrier,
    read_pmu, read_reserved_huge_pages, runnable_elsewhere, sample_cpu_time,
};

/// How long the hardware counters are watched while the doctor's thread spins (what `read`
/// measures and `judge_perf` reports): several of the kernel's rotations of time-shared events
/// (every 4 ms by default, `perf_event_mux_interval_ms`).
const PMU_WATCH: Duration = Duration::from_millis(20);

/// A check's verdict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Status {
    /// Nothing to fix.
    #[serde(rename = "ok")]
    Ok,
    /// The host cannot say (no such interface here); the evidence says why.
    #[serde(rename = "n/a")]
    NotAvailable,
    /// Results will be noisier or slower than this hardware allows.
    #[serde(rename = "warn")]
    Warn,
    /// Results will mostly measure the host's interference, not the ring.
    #[serde(rename = "fail")]
    Fail,
}

impl Status {
    /// `ok`, `n/a`, `warn` or `fail`, as the table and the JSON write it.
    pub fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NotAvailable => "n/a",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// What is checked (`isolation`, `frequency`, …).
    pub name: String,
    /// The verdict.
    pub status: Status,
    /// What was seen.
    pub evidence: String,
    /// What to do about it (`null` when nothing).
    pub fix: Option<String>,
}

impl Check {
    fn new(name: &str, status: Status, evidence: String, fix: Option<String>) -> Self {
        Check {
            name: name.to_owned(),
            status,
            evidence,
            fix,
        }
    }
}

/// What a run will do on this host, as far as the checks care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The CPUs its threads will run on.
    pub cpus: Vec<usize>,
    /// Pairs of CPUs running busy-spinning threads that hand rows to each other.
    pub spinning_pairs: Vec<(usize, usize)>,
    /// Whether the ring asks for huge pages.
    pub huge_pages: bool,
    /// Whether the run is going on now (the dashboard's check): its own threads then keep its
    /// CPUs busy, which is not another task's doing.
    pub during_run: bool,
}

/// Every check, for the CPUs of one plan.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DoctorReport {
    /// The CPUs checked.
    pub cpus: Vec<usize>,
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
    /// The counts, and which checks need attention.
    pub summary: DoctorSummary,
}

/// The doctor in one line: how many checks came out each way, and those that need attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DoctorSummary {
    /// Checks that passed.
    pub ok: usize,
    /// Checks that warn.
    pub warn: usize,
    /// Checks that fail.
    pub fail: usize,
    /// Checks the host could not answer.
    pub not_available: usize,
    /// The names of the checks that warn or fail, worst first.
    pub attention: Vec<String>,
}

impl DoctorSummary {
    fn of(checks: &[Check]) -> Self {
        let count = |status| checks.iter().filter(|c| c.status == status).count();
        let mut attention: Vec<&Check> =
            checks.iter().filter(|c| c.status >= Status::Warn).collect();
        attention.sort_by_key(|c| std::cmp::Reverse(c.status));
        DoctorSummary {
            ok: count(Status::Ok),
            warn: count(Status::Warn),
            fail: count(Status::Fail),
            not_available: count(Status::NotAvailable),
            attention: attention.into_iter().map(|c| c.name.clone()).collect(),
        }
    }

    /// The names of the checks that fail, and of those that warn (`attention` is worst first).
    pub fn needing_attention(&self) -> (&[String], &[String]) {
        self.attention.split_at(self.fail.min(self.attention.len()))
    }

    /// `host check: 5 ok, 3 warn (isolation, irqs, other-tasks), 1 n/a`: each verdict that needs
    /// attention names its checks. Where the fixes are already beside it (the doctor's own table,
    /// the dashboard's overlay); elsewhere [`Self::line_pointing_to`].
    pub fn line(&self) -> String {
        let (failing, warning) = self.needing_attention();
        let mut line = format!("host check: {} ok", self.ok);
        for (n, word, names) in [
            (self.warn, "warn", warning),
            (self.fail, "fail", failing),
            (self.not_available, "n/a", &[][..]),
        ] {
            if n > 0 {
                let _ = write!(line, ", {n} {word}");
            }
            if !names.is_empty() {
                let _ = write!(line, " ({})", names.join(", "));
            }
        }
        line
    }

    /// [`Self::line`], then where a check needs attention, what shows the fixes (`; \`ringtop
    /// doctor\` says how to fix each`, or in the dashboard `h`).
    pub fn line_pointing_to(&self, fixes: &str) -> String {
        let line = self.line();
        if self.attention.is_empty() {
            line
        } else {
            format!("{line}; {fixes} says how to fix each")
        }
    }
}

impl DoctorReport {
    /// The report as a table: one line per check, its evidence, and its fix.
    pub fn table(&self) -> String {
        let mut out = format!(
            "ringtop doctor: is this host fit to measure on {}?\n\n",
            cpus_named(&self.cpus)
        );
        for check in &self.checks {
            let _ = writeln!(
                out,
                "{:<5} {:<12} {}",
                check.status.word(),
                check.name,
                check.evidence
            );
            if let Some(fix) = &check.fix {
                let _ = writeln!(out, "{:<18} fix: {fix}", "");
            }
        }
        let _ = writeln!(out, "\n{}", self.summary.line());
        out
    }
}

/// Reads this host and judges it for `plan`.
pub fn examine(plan: &Plan) -> DoctorReport {
    let cpus = &plan.cpus;
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let online = read("/sys/devices/system/cpu/online");
    let checks = vec![
        judge_isolation(
            cpus,
            read("/sys/devices/system/cpu/isolated").as_deref(),
            read("/sys/devices/system/cpu/nohz_full").as_deref(),
            read("/proc/cmdline").as_deref(),
            online.as_deref(),
        ),
        judge_frequency(cpus, &read_frequency(cpus)),
        judge_idle_states(cpus, &read_idle_states(cpus)),
        judge_huge_pages(
            plan.huge_pages,
            read("/sys/kernel/mm/transparent_hugepage/enabled").as_deref(),
            &read_reserved_huge_pages(),
        ),
        judge_irqs(
            cpus,
            read("/proc/interrupts").as_deref(),
            irqbalance_running(),
            online.as_deref(),
        ),
        judge_other_tasks(
            cpus,
            &sample_cpu_time(Duration::from_millis(100)),
            &runnable_elsewhere(cpus),
            plan.during_run,
        ),
        judge_smt(
            &plan.spinning_pairs,
            read("/sys/devices/system/cpu/smt/active").as_deref(),
            &|a, b| {
                crate::topology::host()
                    .ok()
                    .and_then(|t| t.relation(a, b))
                    .is_some_and(|r| r == crate::topology::CpuRelation::SameCore)
            },
        ),
        judge_perf(
            read("/proc/sys/kernel/perf_event_paranoid").as_deref(),
            is_root(),
            read_pmu(),
            read("/proc/sys/kernel/nmi_watchdog").as_deref(),
        ),
        judge_clock(
            read("/sys/devices/system/clocksource/clocksource0/current_clocksource").as_deref(),
            clock_read_ns(),
        ),
        {
            let (commands, registered) = read_membarrier();
            judge_membarrier(commands, registered)
        },
    ];
    DoctorReport {
        cpus: cpus.clone(),
        summary: DoctorSummary::of(&checks),
        checks,
    }
}

#[cfg(test)]
mod tests;
