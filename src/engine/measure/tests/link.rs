//! The figures of a link's two ends: what the far side counts is `null` here, a sender's
//! consumption is what its receiver acknowledged, a receiver times rows only on its own clock and
//! counts its summary's rates over the time a sender was connected.

use super::*;

#[test]
fn a_link_end_reports_the_far_side_counters_as_null_not_zero() {
    // `ringtop serve` runs only consumers, a sender only producers: the other side's counters
    // are in another process.
    let shape = shape_of(RingKind::Spsc, true);
    for (name, role) in [
        ("consumer-0", Role::Consumer),
        ("producer-0", Role::Producer),
    ] {
        let mut now = reading(1_000, vec![thread(name, role, 0, 500)]);
        now.threads[0].endpoint = Some(EndpointCounters {
            index_reloads: 2,
            stalls: 1,
            chase_backoffs: None,
        });
        let ring = measure(&shape, &Reading::start(), &now).snapshot.ring;
        let (here, far) = match role {
            Role::Consumer => (ring.consumer_empty_stalls, ring.producer_full_stalls),
            Role::Producer => (ring.producer_full_stalls, ring.consumer_empty_stalls),
        };
        assert_eq!(here, Some(1), "{name}: its own side is counted");
        assert_eq!(far, None, "{name}: the far side is not here to count");
        let far_reloads = match role {
            Role::Consumer => ring.producer_index_reloads,
            Role::Producer => ring.consumer_index_reloads,
        };
        assert_eq!(far_reloads, None);
    }
}

#[test]
fn a_sender_counts_what_the_receiver_acknowledged_as_consumed() {
    let mut shape = over_tcp(RingKind::Spsc, true, LinkRole::Sender, "127.0.0.1:9");
    shape.link.as_mut().unwrap().link_mbps = Some(100.0);
    let sender = |at_ms, rows, acknowledged, frames, bytes| {
        let mut r = reading(at_ms, vec![thread("producer-0", Role::Producer, 0, rows)]);
        r.link = Some(LinkReading {
            rows_acknowledged: acknowledged,
            frames,
            bytes,
            connected: true,
            round_trip: LatencyReading {
                interval: histogram(&[10_000, 20_000]),
                total: LatencySummary {
                    count: 9,
                    ..LatencySummary::default()
                },
            },
            ..LinkReading::default()
        });
        r
    };
    let interval = measure(
        &shape,
        &sender(1_000, 1_000, 800, 10, 10_000),
        &sender(3_000, 5_000, 4_800, 50, 50_000),
    );
    let s = interval.snapshot;
    assert_eq!(s.totals.consumed, 4_800);
    assert_eq!(s.totals.rows_per_s, 2_000.0);
    assert_eq!(s.ring.occupancy_rows, Some(200));
    let link = s.transport.unwrap();
    assert_eq!(link.frames_per_s, 20.0);
    assert_eq!(link.mb_per_s, 20_000.0 / 1e6);
    assert_eq!(link.rows_acknowledged, Some(4_800));
    assert_eq!(link.round_trip_ns.unwrap().count, 2);
    assert_eq!(
        link.one_way_unavailable.as_deref(),
        Some("measured by the receiver")
    );
    assert_eq!(link.link_mbps, Some(100.0));
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn a_receiver_times_rows_only_on_its_own_clock() {
    let shape = over_tcp(RingKind::Spsc, true, LinkRole::Receiver, "127.0.0.1:7471");
    let receiver = |same_clock: bool| {
        let mut r = reading(1_000, vec![thread("consumer-0", Role::Consumer, 1, 10)]);
        r.threads[0].latency = Some(LatencyReading {
            interval: histogram(&[500]),
            total: LatencySummary::default(),
        });
        r.threads[0].codec = CodecReading {
            rows: 10,
            frame_bytes: 100,
            last_codec: Some(CodecId::DeltaLz4),
            ..CodecReading::default()
        };
        r.link = Some(LinkReading {
            sessions: 1,
            connected: true,
            same_clock,
            unread_bytes: Some(4096),
            ..LinkReading::default()
        });
        r
    };
    let here = measure(&shape, &Reading::start(), &receiver(true));
    // Its fill is its window's, in bytes: the rows in it are not known before they are decoded.
    assert_eq!(here.snapshot.ring.occupancy_rows, None);
    assert_eq!(here.snapshot.ring.occupancy_bytes, Some(4096));
    let link = here.snapshot.transport.as_ref().unwrap();
    assert_eq!(link.one_way_ns.unwrap().count, 1);
    assert!(link.one_way_unavailable.is_none());
    assert_eq!(here.latency.len(), 1);
    assert_eq!(
        here.snapshot.codec.as_ref().unwrap().name.as_deref(),
        Some("delta-lz4")
    );
    assert_eq!(here.snapshot.codec.as_ref().unwrap().ratio, Some(6.4));

    // Before its first frame a receiver does not know its sender's codec: not its own `none`.
    let mut waiting = receiver(true);
    waiting.threads[0].codec = CodecReading::default();
    let waiting = measure(&shape, &Reading::start(), &waiting);
    assert_eq!(waiting.snapshot.codec.as_ref().unwrap().name, None);

    let elsewhere = measure(&shape, &Reading::start(), &receiver(false));
    let link = elsewhere.snapshot.transport.as_ref().unwrap();
    assert!(link.one_way_ns.is_none());
    assert!(
        link.one_way_unavailable
            .as_deref()
            .unwrap()
            .contains("another host")
    );
    assert!(elsewhere.snapshot.threads[0].latency_ns.is_none());
    assert!(elsewhere.latency.is_empty());
}

/// A receiver waits for its sender: its summary's rates are over the seconds one was connected
/// (2 of the 10 here), as the sender's are over its run; a snapshot's stay over its interval,
/// and the thread's share of the CPU over all of the time.
#[test]
fn a_receiver_summary_counts_its_rates_over_the_time_a_sender_was_connected() {
    let mut shape = over_tcp(RingKind::Spsc, false, LinkRole::Receiver, "127.0.0.1:7471");
    let mut end = reading(
        10_000,
        vec![thread("consumer-0", Role::Consumer, 1, 2_000_000)],
    );
    end.threads[0].sched = Ok(TaskSched {
        ran_ns: 5_000_000_000,
        ..TaskSched::default()
    });
    end.link = Some(LinkReading {
        sessions: 1,
        frames: 1_000,
        bytes: 40_000_000,
        connected_s: 2.0,
        ..LinkReading::default()
    });
    let summary = summarize(&shape, &Reading::start(), &end);
    assert_eq!(summary.totals.rows_per_s, 1_000_000.0);
    assert_eq!(summary.totals.mb_per_s, 2_000_000.0 * ROW_BYTES / 2.0 / 1e6);
    assert_eq!(summary.threads[0].rows_per_s, 1_000_000.0);
    let link = summary.transport.as_ref().unwrap();
    assert_eq!(link.connected_s, Some(2.0));
    assert_eq!((link.frames_per_s, link.mb_per_s), (500.0, 20.0));
    let scheduling = summary.threads[0].scheduling.as_ref().unwrap();
    assert!((scheduling.ran_share - 0.5).abs() < 1e-9, "{scheduling:?}");

    let snapshot = measure(&shape, &Reading::start(), &end).snapshot;
    assert_eq!(snapshot.totals.rows_per_s, 200_000.0);
    assert_eq!(snapshot.transport.unwrap().frames_per_s, 100.0);

    // A sender's summary is over its run, connected or not: its producer ran all of it.
    shape.link.as_mut().unwrap().role = LinkRole::Sender;
    end.link.as_mut().unwrap().rows_acknowledged = 2_000_000;
    let sender = summarize(&shape, &Reading::start(), &end);
    assert_eq!(sender.totals.rows_per_s, 200_000.0);
}
