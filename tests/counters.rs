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

use std::collections::BTreeMap;
use std::io::BufReader;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use common::{next_of, ringtop};
use serde_json::Value;

/// Counts per thread name and figure.
type Counts = BTreeMap<(String, &'static str), f64>;

/// The figures compared: ringtop's name, perf's event, and how ringtop's value maps to perf's
/// unit.
const FIGURES: [(&str, &str); 3] = [
    ("context_switches", "context-switches"),
    ("cpu_migrations", "cpu-migrations"),
    ("task_clock_ns", "task-clock"),
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

/// Adds a line's per-thread counters into `into`, the time on a CPU its `scheduling` share
/// stands for (share × the seconds the line covers) as `scheduled_ns`, and the time the
/// hypervisor stole from the thread's CPU as `steal_ns`.
fn add(into: &mut Counts, line: &Value, sign: f64) {
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
        for (figure, _) in FIGURES {
            let value = thread["counters"][figure]
                .as_f64()
                .unwrap_or_else(|| panic!("{name}.{figure} is null: {}", thread["counters"]));
            *into.entry((name.clone(), figure)).or_default() += sign * value;
        }
    }
}

/// `perf stat -x,` lines: `comm-tid,value,unit,event,…`, task-clock in milliseconds.
fn parse_perf(text: &str) -> Counts {
    let mut counts = Counts::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 4 {
            continue;
        }
        let Some((comm, _tid)) = fields[0].rsplit_once('-') else {
            continue;
        };
        let Some((figure, _)) = FIGURES.iter().find(|(_, event)| *event == fields[3]) else {
            continue;
        };
        let Ok(mut value) = fields[1].parse::<f64>() else {
            continue;
        };
        if *figure == "task_clock_ns" {
            value *= 1e6;
        }
        counts.insert((comm.to_owned(), figure), value);
    }
    counts
}

#[test]
fn per_thread_counters_agree_with_perf_stat_under_a_competing_load() {
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
    let competitors: Vec<_> = first["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| compete(t["cpu"].as_u64().unwrap() as usize, stop.clone()))
        .collect();

    // Snapshots up to the one just before perf starts: counting from its end is counting
    // from before perf attached.
    let mut before_perf = Counts::new();
    add(&mut before_perf, &first, 1.0);
    let second = next_of(&mut lines, "snapshot");
    add(&mut before_perf, &second, 1.0);
    let tids: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", run.id()))
        .unwrap()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.starts_with("producer-") || comm.starts_with("consumer-"))
        })
        .map(|task| task.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(tids.len(), 2, "one producer and one consumer");
    let events: Vec<&str> = FIGURES.iter().map(|(_, event)| *event).collect();
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

    // Snapshots until perf has surely attached: counting from the end of the last of these is
    // counting from after it did.
    let mut until_attached = before_perf.clone();
    while perf_started.elapsed() < Duration::from_secs(1) {
        add(&mut until_attached, &next_of(&mut lines, "snapshot"), 1.0);
    }
    let summary = next_of(&mut lines, "summary");
    stop.store(true, Relaxed);
    for competitor in competitors {
        competitor.join().unwrap();
    }
    assert!(run.wait().unwrap().success());
    let perf = perf.wait_with_output().unwrap();
    let perf_text = String::from_utf8_lossy(&perf.stderr);
    let perf_counts = parse_perf(&perf_text);

    let mut whole = Counts::new();
    add(&mut whole, &summary, 1.0);
    let mut compared = 0;
    for ((thread, figure), total) in &whole {
        if *figure == "steal_ns" {
            continue;
        }
        let mut most = total - before_perf[&(thread.clone(), *figure)];
        let least = total - until_attached[&(thread.clone(), *figure)];
        // The scheduler's time on a CPU (from /proc) is what perf's task clock counts too, but
        // for time the hypervisor stole while the thread was on its CPU: the scheduler leaves
        // it out (paravirtual steal accounting), perf's task clock, which runs on the CPU's
        // clock, counts it. So perf may exceed it by up to the steal on the thread's CPU over
        // perf's count (one CI run: 22 ms over for one worker, while on the other ringtop's own
        // task clock, a perf event, ran 19 ms ahead of its scheduled time).
        let perf_figure = if *figure == "scheduled_ns" {
            let key = (thread.clone(), "steal_ns");
            most += whole[&key] - before_perf[&key];
            "task_clock_ns"
        } else {
            figure
        };
        let measured = *perf_counts
            .get(&(thread.clone(), perf_figure))
            .unwrap_or_else(|| panic!("perf did not report {thread} {figure}: {perf_text}"));
        // A few events (or 5 ms of task clock) for the instants at which each side reads.
        let slack = match *figure {
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
    assert_eq!(compared, 8, "four figures for each of two threads");
    // The competitors took CPU time from both workers: there was something to count.
    for thread in ["producer-0", "consumer-0"] {
        assert!(whole[&(thread.to_owned(), "context_switches")] > 0.0);
    }
}
