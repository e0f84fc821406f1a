//! ringtop's per-thread figures against `perf stat --per-thread` (Debian `linux-perf`) on the same
//! run, while other threads compete for the workers' CPUs so that there is something to count.
//!
//! perf attaches to the worker threads while the run goes on, so its counts cover from some
//! moment `A` to the threads' exit. ringtop's snapshots bracket `A`: counting from the last
//! snapshot before perf started must give at least perf's figure, counting from the first one
//! taken after perf had a full second to attach must give at most perf's. That sandwich, with a
//! slack of a few events (5 ms of task clock, 10 ms of scheduled time) for the instants at which
//! each side reads, is the tolerance; scheduled time may also fall short of perf's task clock by
//! the time the hypervisor stole from the thread's CPU meanwhile (see below).
#![cfg(not(loom))]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use common::{next_of, ringtop};
use serde_json::Value;

/// Counts per thread name and figure.
type Counts = BTreeMap<(String, &'static str), f64>;

/// A figure: ringtop's name for it and perf's event.
type Figure = (&'static str, &'static str);

/// The software figures compared, which need no PMU.
const SOFTWARE: [Figure; 3] = [
    ("context_switches", "context-switches"),
    ("cpu_migrations", "cpu-migrations"),
    ("task_clock_ns", "task-clock"),
];

/// The hardware figures compared: ringtop counts user space only, so perf's `:u` events.
const HARDWARE: [Figure; 7] = [
    ("cycles", "cycles:u"),
    ("instructions", "instructions:u"),
    ("cache_references", "cache-references:u"),
    ("cache_misses", "cache-misses:u"),
    ("l1d_read_misses", "L1-dcache-load-misses:u"),
    ("llc_read_misses", "LLC-load-misses:u"),
    ("branch_misses", "branch-misses:u"),
];

/// Spins on `cpu` until `stop` is set: a competitor the scheduler must share the CPU with.
fn compete(cpu: usize, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it; the call
        // pins only this thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
        while !stop.load(Relaxed) {
            std::hint::spin_loop();
        }
    })
}

/// What one line says of each thread, added into `into` with `sign`: the `figures`' counters,
/// the time on a CPU its `scheduling` share stands for (share × the seconds the line covers) as
/// `scheduled_ns`, and the time the hypervisor stole from the thread's CPU as `steal_ns`. The
/// figures ringtop scaled because the PMU was time-shared go into `estimated`.
fn add(
    into: &mut Counts,
    estimated: &mut BTreeSet<(String, &'static str)>,
    line: &Value,
    figures: &[Figure],
    sign: f64,
) {
    let seconds = line["interval_s"]
        .as_f64()
        .or(line["elapsed_s"].as_f64())
        .unwrap();
    for thread in line["threads"].as_array().unwrap() {
        let name = thread["name"].as_str().unwrap().to_owned();
        let share = thread["scheduling"]["ran_share"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: no scheduling: {thread}"));
        *into.entry((name.clone(), "scheduled_ns")).or_default() += sign * share * seconds * 1e9;
        let steal = thread["scheduling"]["cpu_steal_s"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: no steal figure: {}", thread["scheduling"]));
        *into.entry((name.clone(), "steal_ns")).or_default() += sign * steal * 1e9;
        for (figure, _) in figures {
            let value = thread["counters"][figure]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}.{figure} is null: {}", thread["counters"]));
            *into.entry((name.clone(), figure)).or_default() += sign * value;
            if thread["counters"]["counted_share"].get(figure).is_some() {
                estimated.insert((name.clone(), figure));
            }
        }
    }
}

/// perf's counts and the share of the time each counted, per thread and figure.
struct PerfCounts {
    values: Counts,
    shares: Counts,
}

/// `perf stat -x,` lines: `comm-tid,value,unit,event,running ns,percent counted,…`, task-clock
/// in milliseconds.
fn parse_perf(text: &str, figures: &[Figure]) -> PerfCounts {
    let mut counts = PerfCounts {
        values: Counts::new(),
        shares: Counts::new(),
    };
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 6 {
            continue;
        }
        let Some((comm, _tid)) = fields[0].rsplit_once('-') else {
            continue;
        };
        let Some((figure, _)) = figures.iter().find(|(_, event)| *event == fields[3]) else {
            continue;
        };
        let Ok(mut value) = fields[1].parse::<f64>() else {
            continue;
        };
        if *figure == "task_clock_ns" {
            value *= 1e6;
        }
        counts.values.insert((comm.to_owned(), figure), value);
        if let Ok(percent) = fields[5].parse::<f64>() {
            counts
                .shares
                .insert((comm.to_owned(), figure), percent / 100.0);
        }
    }
    counts
}

/// One run of the `default` profile (a producer and a consumer, 100 ms snapshots) with
/// `perf stat --per-thread` counting `figures` on both workers from after its second snapshot.
struct BesidePerf {
    /// ringtop's counts up to the last snapshot before perf started.
    before_perf: Counts,
    /// … up to the first snapshot after perf had a full second to attach.
    until_attached: Counts,
    /// … over the whole run (the summary).
    whole: Counts,
    /// The figures ringtop scaled in some interval or in the summary.
    estimated: BTreeSet<(String, &'static str)>,
    perf: PerfCounts,
    /// What perf printed, for the failure messages.
    perf_text: String,
}

impl BesidePerf {
    /// Runs it; with `competing`, a spinning thread pinned to each worker's CPU from the first
    /// snapshot on, so that the scheduler switches the workers out.
    fn run(figures: &[Figure], competing: bool) -> BesidePerf {
        let mut run = ringtop()
            .args([
                "run",
                "--headless",
                "--builtin",
                "default",
                "--duration",
                "4s",
                "--interval",
                "100ms",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(run.stdout.take().unwrap());
        let first = next_of(&mut lines, "snapshot");
        let stop = Arc::new(AtomicBool::new(false));
        let competitors: Vec<_> = if competing {
            first["threads"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| compete(t["cpu"].as_u64().unwrap() as usize, stop.clone()))
                .collect()
        } else {
            Vec::new()
        };

        // Snapshots up to the one just before perf starts: counting from its end is counting
        // from before perf attached.
        let mut estimated = BTreeSet::new();
        let mut before_perf = Counts::new();
        add(&mut before_perf, &mut estimated, &first, figures, 1.0);
        let second = next_of(&mut lines, "snapshot");
        add(&mut before_perf, &mut estimated, &second, figures, 1.0);
        let tids: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", run.id()))
            .unwrap()
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| {
                    comm.starts_with("producer-") || comm.starts_with("consumer-")
                })
            })
            .map(|task| task.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(tids.len(), 2, "one producer and one consumer");
        let events: Vec<&str> = figures.iter().map(|(_, event)| *event).collect();
        let perf = Command::new("perf")
            .args([
                "stat",
                "--per-thread",
                "-x",
                ",",
                "-e",
                &events.join(","),
                "-t",
            ])
            .arg(tids.join(","))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("perf (Debian package linux-perf) is needed to check the counters");
        let perf_started = Instant::now();

        // Snapshots until perf has surely attached: counting from the end of the last of these
        // is counting from after it did.
        let mut until_attached = before_perf.clone();
        while perf_started.elapsed() < Duration::from_secs(1) {
            let line = next_of(&mut lines, "snapshot");
            add(&mut until_attached, &mut estimated, &line, figures, 1.0);
        }
        let summary = next_of(&mut lines, "summary");
        let mut whole = Counts::new();
        add(&mut whole, &mut estimated, &summary, figures, 1.0);
        stop.store(true, Relaxed);
        for competitor in competitors {
            competitor.join().unwrap();
        }
        assert!(run.wait().unwrap().success());
        let perf = perf.wait_with_output().unwrap();
        let perf_text = String::from_utf8_lossy(&perf.stderr).into_owned();
        BesidePerf {
            before_perf,
            until_attached,
            whole,
            estimated,
            perf: parse_perf(&perf_text, figures),
            perf_text,
        }
    }

    /// ringtop's count of `figure` on `thread` over what perf counted: at least from the first
    /// snapshot after perf attached, at most from the last one before it started.
    fn bracket(&self, thread: &str, figure: &'static str) -> (f64, f64) {
        let key = (thread.to_owned(), figure);
        let total = self.whole[&key];
        (
            total - self.until_attached[&key],
            total - self.before_perf[&key],
        )
    }

    /// perf's count of `figure` on `thread`.
    fn perf(&self, thread: &str, figure: &'static str) -> f64 {
        *self
            .perf
            .values
            .get(&(thread.to_owned(), figure))
            .unwrap_or_else(|| panic!("perf did not report {thread} {figure}: {}", self.perf_text))
    }
}

const WORKERS: [&str; 2] = ["producer-0", "consumer-0"];

#[test]
fn per_thread_counters_agree_with_perf_stat_under_a_competing_load() {
    let run = BesidePerf::run(&SOFTWARE, true);
    let mut compared = 0;
    for thread in WORKERS {
        for figure in SOFTWARE
            .map(|(figure, _)| figure)
            .into_iter()
            .chain(["scheduled_ns"])
        {
            let (least, mut most) = run.bracket(thread, figure);
            // The scheduler's time on a CPU (from /proc) is what perf's task clock counts too,
            // but for time the hypervisor stole while the thread was on its CPU: the scheduler
            // leaves it out (paravirtual steal accounting), perf's task clock, which runs on the
            // CPU's clock, counts it. So perf may exceed it by up to the steal on the thread's
            // CPU over perf's count (one CI run: 22 ms over for one worker, while on the other
            // ringtop's own task clock, a perf event, ran 19 ms ahead of its scheduled time).
            let perf_figure = if figure == "scheduled_ns" {
                let (_, steal) = run.bracket(thread, "steal_ns");
                most += steal;
                "task_clock_ns"
            } else {
                figure
            };
            let measured = run.perf(thread, perf_figure);
            // A few events (or 5 ms of task clock) for the instants at which each side reads.
            let slack = match figure {
                "task_clock_ns" => 5e6,
                "scheduled_ns" => 10e6,
                _ => 3.0,
            };
            eprintln!("{thread} {figure}: perf {measured}, ringtop {least}..{most}");
            assert!(
                least - slack <= measured && measured <= most + slack,
                "{thread} {figure}: perf counted {measured}, ringtop {least}..{most}"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 8, "four figures for each of two threads");
    // The competitors took CPU time from both workers: there was something to count.
    for thread in WORKERS {
        assert!(run.whole[&(thread.to_owned(), "context_switches")] > 0.0);
    }
}

/// With ringtop's seven hardware events and perf's seven open on each worker, no PMU has
/// counters for all of them: the kernel time-shares them, both sides count each event part of
/// the time and scale it up. Their estimates must agree, and the raw counts would not (a
/// counter on the PMU 40% of the time counts 40% of the events).
#[test]
#[ignore = "needs a hardware PMU (perf `cycles`), which VMs without PMU passthrough lack; run \
            with --ignored where `perf stat -e cycles true` counts"]
fn hardware_counters_agree_with_perf_stat_when_the_pmu_is_time_shared() {
    let run = BesidePerf::run(&HARDWARE, false);
    for thread in WORKERS {
        for (figure, _) in HARDWARE {
            let (least, most) = run.bracket(thread, figure);
            let measured = run.perf(thread, figure);
            let key = (thread.to_owned(), figure);
            let exact = !run.estimated.contains(&key)
                && run.perf.shares.get(&key).is_some_and(|s| *s >= 1.0);
            // Exact counts differ by what a few microseconds between the two sides' reads
            // count; scaled ones by the sampling error of a 4 ms rotation over 3 s as well.
            let slack = if exact { 1e-3 } else { 0.1 } * measured + 1_000.0;
            eprintln!(
                "{thread} {figure}: perf {measured} ({:?} counted), ringtop {least}..{most} ({})",
                run.perf.shares.get(&key),
                if exact { "exact" } else { "scaled" }
            );
            assert!(
                least - slack <= measured && measured <= most + slack,
                "{thread} {figure}: perf counted {measured}, ringtop {least}..{most}: {}",
                run.perf_text
            );
        }
    }
    assert!(
        !run.estimated.is_empty(),
        "fourteen hardware events on a thread, yet ringtop never saw its counters time-shared"
    );
}
