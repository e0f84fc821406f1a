//! The engine through its handle: commands change what they say and nothing else, pausing stops
//! production without losing rows, and the running settings save as a profile.
#![cfg(not(loom))]

use std::time::{Duration, Instant};

use ringtop::engine::{Command, CommandError, Engine};
use ringtop::metrics::snapshot::{Role, RunState, Snapshot};
use ringtop::profile::rules::SettingError;
use ringtop::profile::{self, builtin};
use ringtop::topology::pin::pin_current_thread;

#[test]
fn pause_stops_production_and_resume_restarts_it_with_nothing_lost() {
    let mut engine = Engine::start(builtin::get("default").unwrap()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    engine.send(Command::Pause).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let paused = engine.snapshot();
    assert_eq!(paused.state, RunState::Paused);
    std::thread::sleep(Duration::from_millis(200));
    let still = engine.snapshot();
    assert_eq!(
        still.totals.produced, paused.totals.produced,
        "no rows while paused"
    );
    assert_eq!(
        Some(still.totals.consumed),
        still.totals.produced,
        "consumers drained"
    );
    engine.send(Command::Resume).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let resumed = engine.snapshot();
    assert_eq!(resumed.state, RunState::Running);
    assert!(resumed.totals.produced > still.totals.produced);
    let summary = engine.stop();
    assert_eq!(summary.integrity_ok, Some(true), "{:?}", summary.totals);
    assert_eq!(summary.totals.produced, Some(summary.totals.consumed));
}

#[test]
fn an_impossible_command_changes_nothing() {
    let engine = Engine::start(builtin::get("default").unwrap()).unwrap();
    let before = engine.current_profile();
    let refusals = [
        (
            Command::Batch { size: 0 },
            CommandError::Setting(SettingError::BatchOutOfRange { capacity: 4096 }),
        ),
        (
            Command::Batch { size: 1 << 20 },
            CommandError::Setting(SettingError::BatchOutOfRange { capacity: 4096 }),
        ),
        (
            Command::Codec {
                name: ringtop::codec::CodecId::Lz4,
            },
            CommandError::Setting(SettingError::NotFramed),
        ),
        (
            Command::Prefetch { distance: 1 << 20 },
            CommandError::Setting(SettingError::PrefetchTooFar { capacity: 4096 }),
        ),
    ];
    for (command, expected) in refusals {
        assert_eq!(engine.send(command.clone()), Err(expected), "{command:?}");
    }
    let err = engine
        .send(Command::Repin {
            thread: "consumer-0".into(),
            cpu: 100_000,
        })
        .unwrap_err();
    assert!(
        matches!(&err, CommandError::Cpu(why) if why.contains("100000")),
        "{err:?}"
    );
    let err = engine
        .send(Command::Repin {
            thread: "nobody".into(),
            cpu: 0,
        })
        .unwrap_err();
    assert!(
        matches!(&err, CommandError::NoSuchThread { name, threads } if name == "nobody" && threads.contains("consumer-0")),
        "{err:?}"
    );
    assert_eq!(engine.current_profile(), before);
    drop(engine.stop());
}

#[test]
fn the_running_settings_save_as_a_profile_that_reads_back() {
    let engine = Engine::start(builtin::get("compressed-timeseries").unwrap()).unwrap();
    engine.send(Command::Batch { size: 128 }).unwrap();
    engine
        .send(Command::Rate {
            rows_per_s: 250_000,
        })
        .unwrap();
    engine
        .send(Command::Codec {
            name: ringtop::codec::CodecId::DeltaLz4,
        })
        .unwrap();
    let saved = engine.current_profile();
    drop(engine.stop());
    let text = saved.to_toml().unwrap();
    let back = profile::parse(&text, "saved.toml").unwrap();
    assert_eq!(back.effective_batch(), 128);
    assert_eq!(back.codec.as_ref().unwrap().rows_per_frame, Some(128));
    assert_eq!(back.workload.rate, 250_000);
    assert_eq!(back.codec(), Some(ringtop::codec::CodecId::DeltaLz4));
    assert_eq!(
        back.pinning.consumers.len(),
        1,
        "every thread's CPU is saved"
    );
    assert_eq!(back, saved);
}

#[test]
fn a_relay_ring_moves_every_row_and_refuses_prefetching_with_the_reason() {
    let text = builtin::text("low-latency")
        .unwrap()
        .replace("kind = \"spsc\"", "kind = \"relay\"");
    let profile = profile::parse(&text, "relay.toml").unwrap();
    assert_eq!(profile.ring.kind, profile::RingKind::Relay);
    let engine = Engine::start(profile).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let err = engine.send(Command::Prefetch { distance: 4 }).unwrap_err();
    assert!(
        matches!(
            err,
            CommandError::Setting(SettingError::PrefetchNotApplicable { .. })
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("nothing to prefetch"), "{err}");
    engine
        .send(Command::Rate {
            rows_per_s: 400_000,
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let summary = engine.stop();
    assert_eq!(summary.ring.kind, "relay");
    assert!(summary.totals.produced > Some(0));
    assert_eq!(summary.totals.produced, Some(summary.totals.consumed));
    assert_eq!(summary.integrity_ok, Some(true), "{:?}", summary.totals);
    let consumer = summary
        .threads
        .iter()
        .find(|t| t.name == "consumer-0")
        .unwrap();
    let endpoint = consumer.endpoint.as_ref().expect("relay keeps counters");
    assert_eq!(endpoint.index_reloads, 0, "a relay consumer reads stamps");
    assert!(
        endpoint.stalls > 0,
        "a paced producer leaves the ring empty"
    );
}

/// The prefetching batch paths through the whole engine: 64-byte rows, a small ring that wraps
/// every few batches, batches that do not divide it (so reads straddle the wrap), a distance set
/// by the profile and then changed while rows flow (one not a whole number of lines, none, one
/// that spans most of the ring). Every consumer checks every sequence number, so a hint that
/// fetched the wrong slot is harmless but a copy that read one is a lost, duplicated or
/// reordered row.
#[test]
fn prefetching_rings_move_every_row_in_order_while_the_distance_changes() {
    let replaced = ["capacity", "batch", "distance", "[prefetch]"];
    for (name, consumers) in [("throughput", 1), ("broadcast-fanout", 2)] {
        let text = builtin::text(name).unwrap();
        let text = text
            .lines()
            .filter(|l| !replaced.iter().any(|k| l.starts_with(k)))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("[ring]", "[ring]\ncapacity = 1024")
            .replace("[workload]", "[workload]\nbatch = 100");
        let text = format!("{text}\n[prefetch]\ndistance = 8\n");
        let profile = profile::parse(&text, "prefetching.toml").unwrap();
        assert_eq!(
            (
                profile.ring.capacity,
                profile.workload.batch,
                profile.prefetch.distance
            ),
            (1024, 100, 8),
            "{name}"
        );
        let engine = Engine::start(profile).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        for distance in [3, 0, 1000] {
            engine.send(Command::Prefetch { distance }).unwrap();
            assert_eq!(engine.current_profile().prefetch.distance, distance);
            std::thread::sleep(Duration::from_millis(200));
        }
        let summary = engine.stop();
        let produced = summary
            .totals
            .produced
            .expect("a local run counts its producers");
        assert!(produced > 0, "{name}");
        assert_eq!(summary.totals.consumed, produced * consumers, "{name}");
        assert_eq!(
            summary.integrity_ok,
            Some(true),
            "{name}: {:?}",
            summary.totals
        );
        // Chase back-offs are counted where they can happen (an SPSC consumer), and null, not
        // 0, where no chase is looked for.
        for thread in &summary.threads {
            let chases = thread.endpoint.unwrap().chase_backoffs;
            let looks = thread.role == Role::Consumer && name == "throughput";
            assert_eq!(chases.is_some(), looks, "{name} {}", thread.name);
        }
    }
}

/// Takes intervals at uneven gaps (3 to 24 ms, under the 10 ms a consumer used to hold its
/// samples) and checks that each consumer's latency in every interval counts exactly the rows it
/// consumed in it: the two are cut at the same instant, whatever the consumer's wait. A consumer
/// the scheduler kept from its CPU past the cut's 100 ms is said so by the interval's warning
/// (its samples count in the next): that interval and the next are not held to it, and most of
/// the 30 must be.
fn every_interval_times_exactly_its_rows(profile: profile::TuningProfile) {
    let name = profile.description.clone();
    let mut engine = Engine::start(profile).unwrap();
    let mut before: Vec<u64> = Vec::new();
    let mut timed = 0;
    let (mut checked, mut after_late) = (0, false);
    for gap_ms in (0..30).map(|i| 3 + (i * 7) % 22) {
        std::thread::sleep(Duration::from_millis(gap_ms));
        let interval = engine.interval();
        let late = interval
            .snapshot
            .warnings
            .iter()
            .any(|w| w.contains("did not reach the interval's end"));
        let exact = !late && !after_late;
        after_late = late;
        checked += usize::from(exact);
        // Producers are counted at the same instant: the ring never holds more than it can.
        let occupancy = interval.snapshot.ring.occupancy_rows.unwrap();
        let capacity = interval.snapshot.ring.capacity.unwrap();
        assert!(
            occupancy <= capacity as u64,
            "{name}: {occupancy} rows in a ring of {capacity}"
        );
        let consumers: Vec<_> = interval
            .snapshot
            .threads
            .iter()
            .filter(|t| t.role == ringtop::metrics::snapshot::Role::Consumer)
            .collect();
        before.resize(consumers.len(), 0);
        for (i, consumer) in consumers.iter().enumerate() {
            let rows = consumer.rows - before[i];
            before[i] = consumer.rows;
            let samples = interval
                .latency
                .iter()
                .find(|c| c.thread == consumer.name)
                .map_or(0, |c| c.histogram.len());
            if exact {
                assert_eq!(
                    samples, rows,
                    "{name}: {} timed {samples} rows of the {rows} it consumed in the interval",
                    consumer.name
                );
            }
            timed += samples;
        }
    }
    assert!(
        checked >= 20,
        "{name}: only {checked} of 30 intervals cut on time"
    );
    let summary = engine.stop();
    assert_eq!(
        summary.integrity_ok,
        Some(true),
        "{name}: {:?}",
        summary.totals
    );
    assert!(timed > 0, "{name}: no rows timed");
}

#[test]
fn each_interval_times_exactly_the_rows_consumed_in_it() {
    every_interval_times_exactly_its_rows(builtin::get("default").unwrap());
    // Two consumers that yield when idle.
    every_interval_times_exactly_its_rows(builtin::get("broadcast-fanout").unwrap());
    // A consumer that sleeps when idle, at a rate that leaves it idle between rows.
    let mut sleeping = builtin::get("default").unwrap();
    sleeping.wait.consumer = profile::WaitSetting::SpinPark;
    sleeping.workload.rate = 20_000;
    every_interval_times_exactly_its_rows(sleeping);
}

/// Keeps `cpu` from every ordinary thread for `how_long`: a `SCHED_FIFO` thread pinned there
/// spins. Returns once it spins. Needs `CAP_SYS_NICE` (root), which `.ci/run` has.
fn starve_cpu(cpu: usize, how_long: Duration) -> std::thread::JoinHandle<()> {
    let (spinning, started) = std::sync::mpsc::channel();
    let starving = std::thread::spawn(move || {
        pin_current_thread(cpu).expect("pin the starving thread");
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: sched_setscheduler(2) on the calling thread (pid 0) with an initialised
        // parameter that outlives the call.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        assert_eq!(
            rc,
            0,
            "SCHED_FIFO needs CAP_SYS_NICE: {}",
            std::io::Error::last_os_error()
        );
        let until = Instant::now() + how_long;
        spinning.send(()).unwrap();
        while Instant::now() < until {
            std::hint::spin_loop();
        }
    });
    started
        .recv_timeout(Duration::from_secs(10))
        .expect("the starving thread runs");
    starving
}

#[test]
#[ignore = "needs root (CAP_SYS_NICE) for a SCHED_FIFO thread that starves the consumer; .ci/run runs it"]
fn a_producer_stuck_on_a_full_ring_shows_the_stall_while_it_lasts() {
    // 100,000 rows/s into 4,096 slots: the ring fills 41 ms after the consumer stops, and the
    // producer then stays stuck on it, writing nothing, until the consumer runs again.
    let mut profile = builtin::get("default").unwrap();
    profile.workload.rate = 100_000;
    profile.ring.capacity = 4096;
    let mut engine = Engine::start(profile).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let cpu_of = |snapshot: &Snapshot, role: Role| {
        snapshot
            .threads
            .iter()
            .find(|t| t.role == role)
            .and_then(|t| t.cpu)
            .expect("pinned workers")
    };
    let rows_of = |snapshot: &Snapshot, role: Role| -> u64 {
        snapshot
            .threads
            .iter()
            .filter(|t| t.role == role)
            .map(|t| t.rows)
            .sum()
    };
    let running = engine.snapshot();
    let consumer_cpu = cpu_of(&running, Role::Consumer);
    assert_ne!(
        cpu_of(&running, Role::Producer),
        consumer_cpu,
        "the test starves the consumer's CPU alone"
    );
    // A kernel that keeps ordinary threads from starving (the deadline "fair server") may still
    // run the consumer now and then: a try in which it ran says nothing, and another is made.
    let mut tries = 0;
    loop {
        tries += 1;
        let before = engine.snapshot();
        let starving = starve_cpu(consumer_cpu, Duration::from_millis(700));
        std::thread::sleep(Duration::from_millis(100));
        let stopped = engine.snapshot();
        std::thread::sleep(Duration::from_millis(300));
        let stuck = engine.snapshot();
        starving.join().unwrap();
        if rows_of(&stuck, Role::Consumer) != rows_of(&stopped, Role::Consumer) {
            assert!(
                tries < 10,
                "the consumer ran in each of {tries} tries to starve it"
            );
            continue;
        }
        let occupancy = stuck.ring.occupancy_rows.unwrap();
        assert!(
            occupancy >= 4096,
            "the consumer was kept from its CPU, so the ring is full: {occupancy} rows"
        );
        let (earlier, now) = (
            before.ring.producer_full_stalls.unwrap(),
            stuck.ring.producer_full_stalls.unwrap(),
        );
        assert!(
            now > earlier,
            "the producer has been stuck on the full ring for 250 ms or more, and that stall \
             counts: {earlier} before, {now} now"
        );
        break;
    }
    let summary = engine.stop();
    assert_eq!(summary.integrity_ok, Some(true), "{:?}", summary.totals);
}
