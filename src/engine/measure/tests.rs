//! `measure` and `summarize` on hand-made readings: every figure checked against arithmetic done
//! here by hand.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::metrics::counters::{CounterReading, RawCount};
use crate::metrics::sched::{OtherTask, TaskSched};
use crate::metrics::snapshot::RunState;
use crate::metrics::{LatencyHistogram, LatencySummary};

use super::super::reading::MemoryReading;

mod codec;
mod link;

fn shape_of(kind: RingKind, framed: bool) -> RunShape {
    RunShape {
        profile: "hand-made".into(),
        profile_description: "made by hand".into(),
        ring_kind: kind,
        capacity: 1024,
        framed,
        host: None,
        link: None,
    }
}

/// A run of `kind` that is the `role` end of a TCP link to `address` (no bandwidth cap).
fn over_tcp(kind: RingKind, framed: bool, role: LinkRole, address: &str) -> RunShape {
    RunShape {
        link: Some(LinkShape {
            kind: TransportKind::Tcp,
            role,
            address: address.into(),
            link_mbps: None,
        }),
        ..shape_of(kind, framed)
    }
}

fn thread(name: &str, role: Role, cpu: usize, rows: u64) -> ThreadReading {
    ThreadReading {
        name: name.into(),
        role,
        cpu: Some(cpu),
        rows,
        in_hand: 0,
        missed_cut: false,
        codec: CodecReading::default(),
        integrity: Integrity::default(),
        endpoint: None,
        counters: None,
        latency: (role == Role::Consumer).then(LatencyReading::default),
        last_error: None,
        sched: Err("not read in this test".into()),
        spins: false,
    }
}

fn reading(at_ms: u64, threads: Vec<ThreadReading>) -> Reading {
    Reading {
        at: Duration::from_millis(at_ms),
        threads,
        ..Reading::start()
    }
}

fn histogram(samples: &[u64]) -> LatencyHistogram {
    let mut h = LatencyHistogram::new();
    for &s in samples {
        h.record(s);
    }
    h
}

fn pair(at_ms: u64, produced: u64, consumed: u64) -> Reading {
    reading(
        at_ms,
        vec![
            thread("producer-0", Role::Producer, 0, produced),
            thread("consumer-0", Role::Consumer, 1, consumed),
        ],
    )
}

#[test]
fn rates_cover_exactly_the_window_between_the_two_readings() {
    let shape = shape_of(RingKind::Spsc, false);
    let interval = measure(&shape, &pair(1_000, 1_000, 900), &pair(1_500, 3_000, 2_900));
    let s = &interval.snapshot;
    assert_eq!(s.interval_s, 0.5);
    assert_eq!(s.elapsed_s, 1.5);
    assert_eq!(s.threads[0].rows, 3_000);
    assert_eq!(s.threads[0].rows_per_s, 4_000.0);
    assert_eq!(s.threads[1].rows_per_s, 4_000.0);
    assert_eq!(s.threads[1].mb_per_s, 4_000.0 * 64.0 / 1e6);
    assert_eq!(s.totals.produced, Some(3_000));
    assert_eq!(s.totals.consumed, 2_900);
    assert_eq!(s.totals.rows_per_s, 4_000.0);
    assert_eq!(s.ring.occupancy_rows, Some(100));
    assert_eq!(s.state, RunState::Running);
    assert!(s.codec.is_none(), "a row ring has no codec figures");
}

#[test]
fn interval_latency_comes_back_with_the_snapshot_and_the_summary_reports_the_whole_run() {
    let shape = shape_of(RingKind::Spsc, false);
    let mut now = pair(250, 10, 10);
    now.threads[1].latency = Some(LatencyReading {
        interval: histogram(&[100, 200, 300]),
        total: LatencySummary {
            count: 7,
            p50_ns: 150,
            max_ns: 900,
            ..LatencySummary::default()
        },
    });
    let interval = measure(&shape, &Reading::start(), &now);
    let consumer = &interval.snapshot.threads[1];
    assert_eq!(consumer.latency_ns.unwrap().count, 3);
    assert_eq!(consumer.latency_total_ns.unwrap().count, 7);
    assert!(interval.snapshot.threads[0].latency_ns.is_none());
    assert_eq!(interval.latency.len(), 1);
    assert_eq!(interval.latency[0].thread, "consumer-0");
    assert_eq!(interval.latency[0].histogram.len(), 3);

    let summary = summarize(&shape, &Reading::start(), &now);
    let consumer = &summary.threads[1];
    assert_eq!(consumer.latency_ns.unwrap().count, 7);
    assert_eq!(consumer.latency_ns.unwrap().max, 900);
    assert_eq!(summary.totals.rows_per_s, 40.0, "rates over the whole run");
}

#[test]
fn a_consumer_with_no_timed_row_reports_no_latency_not_zero() {
    let shape = shape_of(RingKind::Spsc, false);
    // The consumer's reading holds histograms, both empty: no row was timed yet.
    let now = pair(250, 0, 0);
    let interval = measure(&shape, &Reading::start(), &now);
    let consumer = &interval.snapshot.threads[1];
    assert_eq!(consumer.role, Role::Consumer);
    assert_eq!(
        (consumer.latency_ns, consumer.latency_total_ns),
        (None, None),
        "percentiles of no sample are unknown, not 0 ns"
    );
    assert!(
        summarize(&shape, &Reading::start(), &now).threads[1]
            .latency_ns
            .is_none()
    );

    // Samples since the start, none in this interval: only the total has figures.
    let mut later = pair(500, 10, 10);
    later.threads[1].latency = Some(LatencyReading {
        interval: LatencyHistogram::new(),
        total: histogram(&[100, 200]).summary(),
    });
    let consumer = &measure(&shape, &now, &later).snapshot.threads[1];
    assert!(consumer.latency_ns.is_none());
    assert_eq!(consumer.latency_total_ns.map(|l| l.count), Some(2));
}

#[test]
fn a_summary_counts_rows_a_consumer_never_saw_as_lost() {
    let shape = shape_of(RingKind::Spsc, false);
    let summary = summarize(&shape, &Reading::start(), &pair(1_000, 1_000, 990));
    assert_eq!(summary.totals.lost, Some(10));
    assert_eq!(summary.integrity_ok, Some(false));

    let clean = summarize(&shape, &Reading::start(), &pair(1_000, 1_000, 1_000));
    assert_eq!(clean.totals.lost, Some(0));
    assert_eq!(clean.integrity_ok, Some(true));

    let mut duplicated = pair(1_000, 1_000, 1_000);
    duplicated.threads[1].integrity.duplicated = 1;
    assert_eq!(
        summarize(&shape, &Reading::start(), &duplicated).integrity_ok,
        Some(false)
    );
}

#[test]
fn rows_a_consumer_holds_at_the_cut_count_in_the_next_interval_but_no_longer_fill_the_ring() {
    // The ring (1,024 rows) was full when the consumer took a batch of 200, the producer refilled
    // the 200 slots before the cut, and the consumer timed its batch after the cut.
    let mut now = pair(1_000, 5_000, 3_776);
    now.threads[1].in_hand = 200;
    let snapshot = measure(&shape_of(RingKind::Spsc, false), &Reading::start(), &now).snapshot;
    assert_eq!(
        snapshot.totals.consumed, 3_776,
        "the batch is the next interval's"
    );
    assert_eq!(snapshot.ring.occupancy_rows, Some(1_024), "not 1,224");

    let shape = shape_of(RingKind::Broadcast, false);
    let mut now = reading(
        1_000,
        vec![
            thread("producer-0", Role::Producer, 0, 5_000),
            thread("consumer-0", Role::Consumer, 1, 4_500),
            thread("consumer-1", Role::Consumer, 2, 3_776),
        ],
    );
    now.threads[2].in_hand = 200;
    let snapshot = measure(&shape, &Reading::start(), &now).snapshot;
    assert_eq!(snapshot.ring.occupancy_rows, Some(1_024));
}

#[test]
fn a_broadcast_ring_holds_what_its_slowest_consumer_has_not_read() {
    let shape = shape_of(RingKind::Broadcast, false);
    let now = reading(
        1_000,
        vec![
            thread("producer-0", Role::Producer, 0, 1_000),
            thread("consumer-0", Role::Consumer, 1, 990),
            thread("consumer-1", Role::Consumer, 2, 700),
        ],
    );
    let snapshot = measure(&shape, &Reading::start(), &now).snapshot;
    assert_eq!(snapshot.ring.occupancy_rows, Some(300));
    assert_eq!(snapshot.totals.consumed, 1_690);
    let summary = summarize(&shape, &Reading::start(), &now);
    assert_eq!(summary.totals.lost, Some(10 + 300));

    let mpmc = shape_of(RingKind::Mpmc, false);
    assert_eq!(
        summarize(&mpmc, &Reading::start(), &now).totals.lost,
        Some(0),
        "mpmc consumers share rows"
    );
}

#[test]
fn counters_are_differences_once_the_previous_reading_has_them() {
    let shape = shape_of(RingKind::Spsc, false);
    let values = |switches: u64| {
        CounterReading::from_counts(vec![(
            "context_switches",
            Ok(RawCount {
                count: switches,
                enabled_ns: switches * 1_000,
                running_ns: switches * 1_000,
            }),
        )])
    };
    let mut before = pair(1_000, 0, 0);
    let mut now = pair(2_000, 0, 0);
    now.threads[0].counters = Some(values(50));
    now.threads[1].counters = Some(values(30));
    before.threads[1].counters = Some(values(20));
    let threads = measure(&shape, &before, &now).snapshot.threads;
    assert_eq!(
        threads[0].counters.as_ref().unwrap().context_switches,
        Some(50)
    );
    assert_eq!(
        threads[1].counters.as_ref().unwrap().context_switches,
        Some(10)
    );
}

#[test]
fn endpoint_counters_sum_per_side_and_stay_null_where_the_ring_keeps_none() {
    let shape = shape_of(RingKind::Spsc, false);
    let mut now = pair(1_000, 0, 0);
    now.threads[0].endpoint = Some(EndpointCounters {
        index_reloads: 3,
        stalls: 4,
        chase_backoffs: None,
    });
    let ring = measure(&shape, &Reading::start(), &now).snapshot.ring;
    assert_eq!(ring.producer_full_stalls, Some(4));
    assert_eq!(ring.producer_index_reloads, Some(3));
    assert_eq!(ring.consumer_empty_stalls, None);
    assert_eq!(ring.consumer_index_reloads, None);
}

/// A sender writes into its receiver's ring: its slots are the receiver's, as its welcome said,
/// not its own profile's, and not known before a welcome.
#[test]
fn a_senders_ring_is_its_receivers_as_its_welcome_said() {
    let sender = over_tcp(RingKind::Spsc, true, LinkRole::Sender, "127.0.0.1:9");
    let mut now = reading(1_000, vec![thread("producer-0", Role::Producer, 0, 0)]);
    now.link = Some(LinkReading::default());
    let ring = |now: &Reading| measure(&sender, &Reading::start(), now).snapshot.ring;
    assert_eq!(ring(&now).capacity, None, "no welcome yet");
    assert_eq!(ring(&now).capacity_text(), "n/a");
    now.link.as_mut().unwrap().window_bytes = 4_096 * 64;
    assert_ne!(sender.capacity, 4_096);
    assert_eq!(ring(&now).capacity, Some(4_096));
    assert_eq!(ring(&now).window_bytes(), Some(4_096 * 64));
}

/// A sender runs no consumer: it checks no row, so it claims neither loss nor integrity (its
/// receiver's output has them), where a local run that lost none says 0 and ok.
#[test]
fn a_sender_claims_no_integrity_it_did_not_check() {
    let sender = over_tcp(RingKind::Spsc, true, LinkRole::Sender, "127.0.0.1:9");
    let mut now = reading(1_000, vec![thread("producer-0", Role::Producer, 0, 5_000)]);
    now.link = Some(LinkReading {
        rows_acknowledged: 4_996,
        ..LinkReading::default()
    });
    let snapshot = measure(&sender, &Reading::start(), &now).snapshot;
    assert_eq!(snapshot.totals.lost, None);
    assert_eq!(snapshot.totals.integrity_ok(), None);
    let summary = summarize(&sender, &Reading::start(), &now);
    assert_eq!(
        (
            summary.totals.lost,
            summary.totals.duplicated,
            summary.totals.reordered
        ),
        (None, None, None)
    );
    assert_eq!(summary.integrity_ok, None);
    assert_eq!(
        summary.totals.integrity_counts(", "),
        "rows checked at the receiver"
    );
    // Its four rows in flight at the end are its fill, not a loss it could know of.
    assert_eq!(summary.ring.occupancy_rows, Some(4));

    let local = summarize(
        &shape_of(RingKind::Spsc, false),
        &Reading::start(),
        &pair(1_000, 5_000, 5_000),
    );
    assert_eq!(local.integrity_ok, Some(true));
    assert_eq!(
        local.totals.integrity_counts(", "),
        "lost 0, duplicated 0, reordered 0"
    );
}

#[test]
fn warnings_name_shared_cpus_refused_repins_late_cuts_corrupt_frames_and_a_dead_link() {
    let shape = over_tcp(RingKind::Spsc, true, LinkRole::Sender, "127.0.0.1:9");
    let mut now = pair(1_000, 0, 0);
    now.threads[1].cpu = Some(0);
    now.threads[1].last_error = Some("CPU 7 does not exist".into());
    now.threads[1].codec.corrupt_frames = 2;
    now.threads[1].missed_cut = true;
    now.link = Some(LinkReading {
        last_error: Some("connection refused".into()),
        ..LinkReading::default()
    });
    let warnings = measure(&shape, &Reading::start(), &now).snapshot.warnings;
    assert_eq!(
        warnings,
        [
            "link to 127.0.0.1:9 is down (connection refused); reconnecting",
            "producer-0 shares CPU 0 with consumer-0: their numbers include time slicing",
            "consumer-0 did not reach the interval's end within 100 ms (descheduled or stuck): \
             its latency samples of the last few milliseconds count in the next interval",
            "consumer-0: CPU 7 does not exist",
            "consumer-0: 2 frames did not decode",
        ]
    );
}

/// Threads sharing a CPU are one warning, about the first of them: the others' would say the
/// same again (sixteen consumers of a broadcast ring on two CPUs said it fifteen times).
#[test]
fn threads_sharing_a_cpu_are_warned_about_once_a_cpu() {
    let shape = shape_of(RingKind::Broadcast, false);
    let mut threads = vec![thread("producer-0", Role::Producer, 0, 0)];
    threads.extend((0..4).map(|i| thread(&format!("consumer-{i}"), Role::Consumer, i % 2, 0)));
    threads.push(thread("consumer-4", Role::Consumer, 2, 0));
    let warnings = measure(&shape, &Reading::start(), &reading(1_000, threads))
        .snapshot
        .warnings;
    assert_eq!(
        warnings,
        [
            "producer-0 shares CPU 0 with consumer-0, consumer-2: their numbers include time \
             slicing",
            "consumer-1 shares CPU 1 with consumer-3: their numbers include time slicing",
        ]
    );
}

#[test]
fn the_memory_reading_and_host_place_threads_and_warn_of_remote_reads() {
    let mut shape = shape_of(RingKind::Spsc, false);
    shape.host = Some(crate::topology::from_synthetic("pack:2 numa:1 core:2 pu:1").unwrap());
    let mut now = pair(1_000, 0, 0);
    now.threads[1].cpu = Some(3);
    let report = crate::topology::AllocationReport {
        requested_bytes: 4096,
        mapped_bytes: 4096,
        pages: crate::topology::PageBacking::Normal { page_bytes: 4096 },
        binding: crate::topology::BindingOutcome::Bound { node: 0 },
        located_on: crate::topology::PageLocation::Nodes { nodes: vec![0] },
    };
    now.memory = Some(MemoryReading::from(&report));
    let snapshot = measure(&shape, &Reading::start(), &now).snapshot;
    assert_eq!(snapshot.threads[0].node, Some(0));
    assert_eq!(snapshot.threads[1].node, Some(1));
    assert_eq!(snapshot.ring.memory, Some(report.clone()));
    assert_eq!(snapshot.ring.memory_summary, Some(report.summary()));
    assert_eq!(snapshot.ring.memory_nodes, [0]);
    assert_eq!(
        snapshot.warnings,
        ["consumer-0 on CPU 3 reads the ring from remote NUMA node(s) [0]"]
    );
}

/// A spinning consumer on CPU 1 that ran `ran_ms` of each second and waited `waited_ms`.
fn spinning(at_ms: u64, ran_ms: u64, waited_ms: u64, steal_ms: u64) -> Reading {
    let mut consumer = thread("consumer-0", Role::Consumer, 1, at_ms);
    consumer.spins = true;
    consumer.sched = Ok(TaskSched {
        ran_ns: ran_ms * 1_000_000,
        waited_ns: waited_ms * 1_000_000,
        voluntary_switches: 0,
        involuntary_switches: at_ms / 10,
    });
    let mut now = reading(
        at_ms,
        vec![thread("producer-0", Role::Producer, 0, at_ms), consumer],
    );
    now.steal_ns = Ok(BTreeMap::from([(0, 0), (1, steal_ms * 1_000_000)]));
    now
}

#[test]
fn a_spinning_thread_kept_from_its_cpu_is_measured_and_warned_about() {
    let shape = shape_of(RingKind::Spsc, false);
    let before = spinning(1_000, 1_000, 0, 0);
    let mut now = spinning(2_000, 1_340, 620, 30);
    now.other_tasks = BTreeMap::from([(
        1,
        vec![OtherTask {
            name: "cargo".into(),
            pid: 4242,
        }],
    )]);
    let interval = measure(&shape, &before, &now);
    let consumer = &interval.snapshot.threads[1];
    let scheduling = consumer.scheduling.as_ref().unwrap();
    assert!((scheduling.ran_share - 0.34).abs() < 1e-9);
    assert!((scheduling.waited_s - 0.62).abs() < 1e-9);
    assert_eq!(scheduling.involuntary_switches, 100);
    assert_eq!(scheduling.cpu_steal_s, Some(0.03));
    let warning = "consumer-0 ran 34 % of the last 1.0 s on CPU 1; waited 0.62 s for it; \
                   CPU 1 lost 0.03 s to steal; other tasks: cargo (pid 4242)";
    assert_eq!(interval.snapshot.warnings, vec![warning.to_owned()]);
    assert_eq!(interval.warnings[0].key, "cpu-share consumer-0");

    // The producer does not spin here (its wait is not busy-spin): no warning for it, though
    // its share is unknown.
    let producer = &interval.snapshot.threads[0];
    assert_eq!(
        producer.scheduling_unavailable.as_deref(),
        Some("not read in this test")
    );

    // A thread that had its CPU is not warned about; one whose /proc/stat line is missing has
    // steal `null` with the reason.
    let mut fine = spinning(3_000, 2_300, 620, 30);
    fine.steal_ns = Ok(BTreeMap::from([(0, 0)]));
    let interval = measure(&shape, &now, &fine);
    assert!(
        interval.snapshot.warnings.is_empty(),
        "{:?}",
        interval.snapshot.warnings
    );
    let scheduling = interval.snapshot.threads[1].scheduling.as_ref().unwrap();
    assert_eq!(scheduling.cpu_steal_s, None);
    assert_eq!(
        scheduling.steal_unavailable.as_deref(),
        Some("/proc/stat has no line for CPU 1")
    );
}

#[test]
fn a_producer_short_of_its_rate_through_an_interval_is_warned_about() {
    let shape = shape_of(RingKind::Spsc, false);
    let paced = |at_ms: u64, produced: u64, pace_changes: u64| Reading {
        rate: 1_000_000,
        pace_changes,
        ..pair(at_ms, produced, produced)
    };
    // 600,000 rows in a second of a 1 M rows/s schedule.
    let interval = measure(
        &shape,
        &paced(1_000, 1_000_000, 0),
        &paced(2_000, 1_600_000, 0),
    );
    assert_eq!(
        interval.snapshot.warnings,
        vec![
            "producer-0 sent 600k rows/s of the 1.00M it offers (60 %): it fell 400ms further \
             behind its schedule in the interval, and latency, timed from when each row was due, \
             includes the wait"
                .to_owned()
        ]
    );
    assert_eq!(interval.warnings[0].key, "behind-schedule producer-0");
    // Where the ring counts them, the side that waited more often says who set the pace: the
    // producer found it full 12,345 times in the second, the consumer empty 3 times.
    let waited = |at_ms: u64, produced: u64, full: u64, empty: u64| {
        let mut reading = paced(at_ms, produced, 0);
        for (thread, stalls) in reading.threads.iter_mut().zip([full, empty]) {
            thread.endpoint = Some(EndpointCounters {
                stalls,
                ..EndpointCounters::default()
            });
        }
        reading
    };
    let held = measure(
        &shape,
        &waited(1_000, 1_000_000, 1_000, 10),
        &waited(2_000, 1_600_000, 13_345, 13),
    );
    assert!(
        held.snapshot.warnings[0].ends_with(
            "; it waited for its consumers (it found the ring full 12.3k times a second, they \
             found it empty 3)"
        ),
        "{:?}",
        held.snapshot.warnings
    );
    // A sender's consumers are in another process: who waited more is not known here.
    let sender = |at_ms: u64, produced: u64| {
        let mut producer = thread("producer-0", Role::Producer, 0, produced);
        producer.endpoint = Some(EndpointCounters::default());
        Reading {
            rate: 1_000_000,
            ..reading(at_ms, vec![producer])
        }
    };
    let alone = measure(&shape, &sender(1_000, 1_000_000), &sender(2_000, 1_600_000));
    assert!(
        alone.snapshot.warnings[0].ends_with("includes the wait"),
        "{:?}",
        alone.snapshot.warnings
    );
    // Kept: nothing to say.
    let kept = measure(
        &shape,
        &paced(1_000, 1_000_000, 0),
        &paced(2_000, 1_990_000, 0),
    );
    assert!(
        kept.snapshot.warnings.is_empty(),
        "{:?}",
        kept.snapshot.warnings
    );
    // The first interval began before the producers' schedules did: not behind.
    let first = measure(&shape, &Reading::start(), &paced(1_000, 600_000, 0));
    assert!(
        first.snapshot.warnings.is_empty(),
        "{:?}",
        first.snapshot.warnings
    );
    // A new rate, a pause or a resume in the interval: no one rate to keep.
    let changed = measure(
        &shape,
        &paced(1_000, 1_000_000, 0),
        &paced(2_000, 1_600_000, 1),
    );
    assert!(
        changed.snapshot.warnings.is_empty(),
        "{:?}",
        changed.snapshot.warnings
    );
    let mut paused = paced(2_000, 1_600_000, 0);
    paused.state = RunState::Paused;
    let paused = measure(&shape, &paced(1_000, 1_000_000, 0), &paused);
    assert!(
        paused.snapshot.warnings.is_empty(),
        "{:?}",
        paused.snapshot.warnings
    );
    // Flat out (rate 0) offers no schedule.
    let flat_out = |at_ms, produced| Reading {
        rate: 0,
        ..pair(at_ms, produced, produced)
    };
    let flat_out = measure(&shape, &flat_out(1_000, 1_000), &flat_out(2_000, 1_500));
    assert!(
        flat_out.snapshot.warnings.is_empty(),
        "{:?}",
        flat_out.snapshot.warnings
    );
}
