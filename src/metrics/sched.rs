//! What the scheduler says about a thread and its CPU, from `/proc`: time on a CPU, time waiting
//! runnable for one, voluntary and involuntary switches (`/proc/self/task/TID/schedstat` and
//! `status`), the hypervisor's steal per CPU (`/proc/stat`), and the other tasks that wanted a
//! CPU. These need no PMU and no privilege, and say why a spinning thread's latency is what it is.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One thread's scheduler counts since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskSched {
    /// Nanoseconds on a CPU.
    pub ran_ns: u64,
    /// Nanoseconds runnable but waiting for a CPU.
    pub waited_ns: u64,
    /// Times it gave up its CPU itself (a park, a sleep, a blocking call).
    pub voluntary_switches: u64,
    /// Times the scheduler took its CPU away.
    pub involuntary_switches: u64,
}

impl TaskSched {
    /// This process's thread `tid`, now.
    ///
    /// # Errors
    /// Why `/proc` could not say (the reason for a `null`).
    pub fn of_thread(tid: i32) -> Result<TaskSched, String> {
        Self::read(&format!("/proc/self/task/{tid}"))
    }

    /// The calling thread, now, with its time on a CPU exact to this instant: `schedstat` gives a
    /// running thread's time only as of its last tick or switch (up to 4 ms behind at 250 Hz),
    /// the thread's own CPU clock up to the call. A worker's last reading, which the summary
    /// reports and `perf stat`'s task clock is checked against, is taken this way.
    ///
    /// # Errors
    /// As [`TaskSched::of_thread`].
    pub fn of_this_thread() -> Result<TaskSched, String> {
        // SAFETY: gettid has no preconditions.
        let mut sched = Self::of_thread(unsafe { libc::gettid() })?;
        if let Some(cpu_ns) = crate::clock::thread_cpu_ns() {
            sched.ran_ns = sched.ran_ns.max(cpu_ns);
        }
        Ok(sched)
    }

    /// Thread `tid` of process `pid` (another program's, for `attach`), now.
    ///
    /// # Errors
    /// Why `/proc` could not say.
    pub fn of_task(pid: u32, tid: u32) -> Result<TaskSched, String> {
        Self::read(&format!("/proc/{pid}/task/{tid}"))
    }

    fn read(dir: &str) -> Result<TaskSched, String> {
        let schedstat = std::fs::read_to_string(format!("{dir}/schedstat")).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("{dir}: the thread has exited")
            } else {
                format!("{dir}/schedstat: {e}")
            }
        })?;
        let status = std::fs::read_to_string(format!("{dir}/status"))
            .map_err(|e| format!("{dir}/status: {e}"))?;
        parse_task(&schedstat, &status).ok_or_else(|| format!("{dir}: unexpected format"))
    }

    /// Counts since `earlier`.
    pub fn since(&self, earlier: &TaskSched) -> TaskSched {
        TaskSched {
            ran_ns: self.ran_ns.saturating_sub(earlier.ran_ns),
            waited_ns: self.waited_ns.saturating_sub(earlier.waited_ns),
            voluntary_switches: self
                .voluntary_switches
                .saturating_sub(earlier.voluntary_switches),
            involuntary_switches: self
                .involuntary_switches
                .saturating_sub(earlier.involuntary_switches),
        }
    }
}

/// Reads `schedstat` ("ran_ns waited_ns timeslices") and the switch counts from `status`.
fn parse_task(schedstat: &str, status: &str) -> Option<TaskSched> {
    let mut fields = schedstat.split_whitespace().map(str::parse::<u64>);
    let ran_ns = fields.next()?.ok()?;
    let waited_ns = fields.next()?.ok()?;
    let count = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().parse::<u64>().ok())
    };
    Some(TaskSched {
        ran_ns,
        waited_ns,
        voluntary_switches: count("voluntary_ctxt_switches:")?,
        involuntary_switches: count("nonvoluntary_ctxt_switches:")?,
    })
}

/// Nanoseconds the hypervisor stole from each CPU since boot (`/proc/stat`'s eighth column).
///
/// # Errors
/// Why it could not be read.
pub fn steal_ns_per_cpu() -> Result<BTreeMap<usize, u64>, String> {
    let stat = std::fs::read_to_string("/proc/stat").map_err(|e| format!("/proc/stat: {e}"))?;
    // SAFETY: sysconf has no preconditions.
    let ticks_per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks_per_s = u64::try_from(ticks_per_s)
        .ok()
        .filter(|&t| t > 0)
        .ok_or("the clock tick rate is unknown")?;
    parse_steal(&stat, ticks_per_s).ok_or_else(|| "/proc/stat: unexpected format".to_owned())
}

fn parse_steal(stat: &str, ticks_per_s: u64) -> Option<BTreeMap<usize, u64>> {
    let mut steal = BTreeMap::new();
    for line in stat.lines() {
        let mut fields = line.split_whitespace();
        let Some(cpu) = fields.next().and_then(|f| f.strip_prefix("cpu")) else {
            continue;
        };
        let Ok(cpu) = cpu.parse::<usize>() else {
            continue; // the "cpu" total line
        };
        let ticks: u64 = fields.nth(7)?.parse().ok()?;
        steal.insert(cpu, ticks * (1_000_000_000 / ticks_per_s));
    }
    (!steal.is_empty()).then_some(steal)
}

/// A task of another process (or another thread of this one) seen runnable on a CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OtherTask {
    /// Its command name.
    pub name: String,
    /// Its process id.
    pub pid: i32,
}

/// Processes (other than this one, which is measuring) with a task runnable now whose last CPU
/// is one of `cpus`: those a spinning thread on that CPU competes with. At most `limit` per CPU,
/// in `/proc` order, named by the process's command. Tasks of other users are listed as far as
/// `/proc` shows them.
pub fn runnable_on(cpus: &[usize], limit: usize) -> BTreeMap<usize, Vec<OtherTask>> {
    let mut found: BTreeMap<usize, Vec<OtherTask>> = BTreeMap::new();
    for task in other_runnable_tasks(cpus) {
        let list = found.entry(task.cpu).or_default();
        if list.len() < limit && !list.iter().any(|t| t.pid == task.pid) {
            list.push(task.named());
        }
    }
    found
}

/// Those of `cpus` on which a thread of another process pinned to that CPU alone is runnable
/// now, each with whose (at most three processes a CPU): a latency workload's thread (the other
/// end of a link on this host, spinning; another run) that a thread placed there would share the
/// CPU with. A task merely passing through (a shell, a compiler, free to run anywhere) does not
/// count.
pub fn pinned_busy_on(cpus: &[usize]) -> BTreeMap<usize, Vec<OtherTask>> {
    let mut found: BTreeMap<usize, Vec<OtherTask>> = BTreeMap::new();
    for task in other_runnable_tasks(cpus) {
        let pinned_here =
            std::fs::read_to_string(format!("/proc/{}/task/{}/status", task.pid, task.tid))
                .ok()
                .and_then(|status| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                        .map(|list| list.trim() == task.cpu.to_string())
                })
                .unwrap_or(false);
        if !pinned_here {
            continue;
        }
        let list = found.entry(task.cpu).or_default();
        if list.len() < 3 && !list.iter().any(|t| t.pid == task.pid) {
            list.push(task.named());
        }
    }
    found
}

/// A task of another process, runnable now.
struct RunnableTask {
    pid: i32,
    tid: i32,
    thread_name: String,
    /// The CPU it last ran on.
    cpu: usize,
}

impl RunnableTask {
    /// Its process, named by the process's command (the thread's name where that is gone).
    fn named(self) -> OtherTask {
        let name = std::fs::read_to_string(format!("/proc/{}/comm", self.pid))
            .map_or(self.thread_name, |comm| comm.trim_end().to_owned());
        OtherTask {
            name,
            pid: self.pid,
        }
    }
}

/// Every task of another process runnable now whose last CPU is one of `cpus`, in `/proc` order.
fn other_runnable_tasks(cpus: &[usize]) -> impl Iterator<Item = RunnableTask> + '_ {
    let ours = std::process::id() as i32;
    let number = |entry: &std::fs::DirEntry| entry.file_name().to_str()?.parse::<i32>().ok();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(move |process| Some((number(&process).filter(|&p| p != ours)?, process)))
        .flat_map(move |(pid, process)| {
            std::fs::read_dir(process.path().join("task"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(move |task| {
                    let tid = number(&task)?;
                    let stat = std::fs::read_to_string(task.path().join("stat")).ok()?;
                    let (thread_name, state, cpu) = parse_task_stat(&stat)?;
                    (state == 'R' && cpus.contains(&cpu)).then_some(RunnableTask {
                        pid,
                        tid,
                        thread_name,
                        cpu,
                    })
                })
        })
}

/// Name, state and last CPU from a `/proc/PID/task/TID/stat` line (the name may hold spaces and
/// parentheses, so fields are counted from its closing parenthesis).
fn parse_task_stat(stat: &str) -> Option<(String, char, usize)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let mut rest = stat.get(close + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    // After the state, field 39 (processor) is the 36th.
    let cpu = rest.nth(35)?.parse().ok()?;
    Some((name, state, cpu))
}

/// Steal time on `cpu` between two `/proc/stat` readings, in seconds; why not when it cannot be
/// said.
pub fn steal_between(
    then: &Result<BTreeMap<usize, u64>, String>,
    now: &Result<BTreeMap<usize, u64>, String>,
    cpu: Option<usize>,
) -> Result<f64, String> {
    match (now, then, cpu) {
        (.., None) => Err("the thread's CPU is not known yet".to_owned()),
        (Err(reason), ..) | (_, Err(reason), _) => Err(reason.clone()),
        (Ok(now), Ok(then), Some(cpu)) => match (now.get(&cpu), then.get(&cpu)) {
            (Some(n), Some(t)) => Ok(n.saturating_sub(*t) as f64 / 1e9),
            _ => Err(format!("/proc/stat has no line for CPU {cpu}")),
        },
    }
}

/// What the scheduler did to a thread over `seconds`: `since` its counts over them, `steal` its
/// CPU's steal (or why not), `other_tasks` who else was runnable there.
pub fn scheduling(
    since: &TaskSched,
    seconds: f64,
    steal: Result<f64, String>,
    other_tasks: Vec<OtherTask>,
) -> crate::metrics::snapshot::Scheduling {
    let (cpu_steal_s, steal_unavailable) = match steal {
        Ok(s) => (Some(s), None),
        Err(reason) => (None, Some(reason)),
    };
    crate::metrics::snapshot::Scheduling {
        ran_share: (since.ran_ns as f64 / 1e9 / seconds).min(1.0),
        waited_s: since.waited_ns as f64 / 1e9,
        voluntary_switches: since.voluntary_switches,
        involuntary_switches: since.involuntary_switches,
        cpu_steal_s,
        steal_unavailable,
        other_tasks,
    }
}

/// A busy-spinning thread that ran less than this share of an interval was kept from its CPU.
pub const SPINNING_SHARE_FLOOR: f64 = 0.9;

/// "consumer-0 ran 34 % of the last 1.0 s on CPU 1; waited 0.62 s for it; CPU 1 lost 0.00 s
/// to steal; other tasks: cargo (pid 4242)".
pub fn cpu_share_warning(
    name: &str,
    cpu: Option<usize>,
    scheduling: &crate::metrics::snapshot::Scheduling,
    seconds: f64,
) -> String {
    let on = cpu.map_or(String::new(), |c| format!(" on CPU {c}"));
    let mut text = format!(
        "{name} ran {:.0} % of the last {seconds:.1} s{on}; waited {:.2} s for it",
        scheduling.ran_share * 100.0,
        scheduling.waited_s
    );
    if let (Some(steal), Some(cpu)) = (scheduling.cpu_steal_s, cpu)
        && steal > 0.0
    {
        text.push_str(&format!("; CPU {cpu} lost {steal:.2} s to steal"));
    }
    if !scheduling.other_tasks.is_empty() {
        let others: Vec<String> = scheduling
            .other_tasks
            .iter()
            .map(|t| format!("{} (pid {})", t.name, t.pid))
            .collect();
        text.push_str(&format!("; other tasks: {}", others.join(", ")));
    }
    text
}

/// Whether a thread's scheduling over an interval says it spun there, asking for its CPU all
/// along: it never gave the CPU up itself, and it ran, waited for it or was switched out. A
/// thread blocked through the whole interval (asleep since before it began) did none of these,
/// and ran 0 % of it without being kept from anything. For a thread whose code is not known
/// (an attached program's).
pub fn seems_to_spin(scheduling: &crate::metrics::snapshot::Scheduling) -> bool {
    scheduling.voluntary_switches == 0
        && (scheduling.ran_share > 0.0
            || scheduling.waited_s > 0.0
            || scheduling.involuntary_switches > 0)
}

/// The CPU thread `tid` of process `pid` last ran on (`/proc/PID/task/TID/stat`).
///
/// # Errors
/// Why `/proc` could not say.
pub fn last_cpu(pid: u32, tid: u32) -> Result<usize, String> {
    let path = format!("/proc/{pid}/task/{tid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_task_stat(&stat)
        .map(|(_, _, cpu)| cpu)
        .ok_or_else(|| format!("{path}: unexpected format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threads_counts_come_from_schedstat_and_status() {
        let status =
            "Name:\tconsumer-0\nvoluntary_ctxt_switches:\t3\nnonvoluntary_ctxt_switches:\t41\n";
        assert_eq!(
            parse_task("1500000000 620000000 97\n", status),
            Some(TaskSched {
                ran_ns: 1_500_000_000,
                waited_ns: 620_000_000,
                voluntary_switches: 3,
                involuntary_switches: 41,
            })
        );
        assert_eq!(parse_task("garbage", status), None);
    }

    #[test]
    fn a_thread_asleep_all_interval_does_not_seem_to_spin_one_kept_from_its_cpu_does() {
        let over = |ran_share, waited_s, voluntary, involuntary| {
            let since = TaskSched {
                ran_ns: (ran_share * 1e9) as u64,
                waited_ns: (waited_s * 1e9) as u64,
                voluntary_switches: voluntary,
                involuntary_switches: involuntary,
            };
            scheduling(&since, 1.0, Ok(0.0), Vec::new())
        };
        // Blocked since before the interval began: nothing ran, waited or switched.
        assert!(!seems_to_spin(&over(0.0, 0.0, 0, 0)));
        // It slept on its own: not a spinner.
        assert!(!seems_to_spin(&over(0.3, 0.0, 2, 0)));
        // Spinning, kept from its CPU by others, or wholly by a wait.
        let kept = over(0.34, 0.62, 0, 41);
        assert!(seems_to_spin(&kept) && kept.ran_share < SPINNING_SHARE_FLOOR);
        assert!(seems_to_spin(&over(0.0, 0.9, 0, 1)));
        assert!(seems_to_spin(&over(1.0, 0.0, 0, 0)));
        assert_eq!(
            cpu_share_warning("consumer-0", Some(1), &kept, 1.0),
            "consumer-0 ran 34 % of the last 1.0 s on CPU 1; waited 0.62 s for it"
        );
    }

    #[test]
    fn steal_is_the_eighth_column_per_cpu_in_nanoseconds() {
        let stat = "cpu  1 2 3 4 5 6 7 99 0 0\ncpu0 1 2 3 4 5 6 7 40 0 0\ncpu1 1 2 3 4 5 6 7 59 0 0\nintr 5\n";
        let steal = parse_steal(stat, 100).unwrap();
        assert_eq!(steal, BTreeMap::from([(0, 400_000_000), (1, 590_000_000)]));
    }

    #[test]
    fn a_task_stat_line_survives_a_name_with_spaces_and_parentheses() {
        let mut line = String::from("4242 (cargo (build) x) R 1");
        for field in 5..=38 {
            line.push_str(&format!(" {field}"));
        }
        line.push_str(" 1 0 0\n");
        assert_eq!(
            parse_task_stat(&line),
            Some(("cargo (build) x".to_owned(), 'R', 1))
        );
    }

    #[test]
    fn this_thread_can_be_read_and_runs() {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() };
        let before = TaskSched::of_thread(tid).unwrap();
        // Busy for 50 ms: the kernel folds a running thread's time into schedstat at its ticks
        // (4 ms at 250 Hz), so a shorter burst can read as no time at all.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        std::hint::black_box(x);
        let after = TaskSched::of_thread(tid).unwrap();
        assert!(after.since(&before).ran_ns > 0);
        // The thread's own clock is never behind what schedstat said before it.
        let exact = TaskSched::of_this_thread().unwrap();
        assert!(exact.ran_ns >= after.ran_ns, "{exact:?} {after:?}");
        assert!(exact.voluntary_switches >= after.voluntary_switches);
    }
}
