use super::*;

#[test]
fn both_sources_put_a_value_in_the_same_bucket_and_the_bounds_are_inclusive() {
    let values = [
        0u64,
        1,
        31,
        32,
        63,
        64,
        1000,
        1023,
        1024,
        65_535,
        1 << 20,
        1 << 35,
    ];
    let mut hdr = LatencyHistogram::new();
    let mut segment = vec![0u64; layout::BUCKETS];
    for v in values {
        hdr.record(v);
        segment[layout::bucket_of(v)] += 1;
    }
    let mut from_hdr = LatencyBuckets::default();
    from_hdr.add_hdr(&hdr);
    let from_segment = LatencyBuckets::from_segment(&segment, values.iter().sum());
    assert_eq!(from_hdr.counts, from_segment.counts);
    assert_eq!(from_hdr.count, values.len() as u64);
    // le = 31: 0, 1 and 31 (HdrHistogram records 0 as 1).
    assert_eq!(from_hdr.counts[0], 3);
    // le = 63: 32 and 63; 64 is the next bucket's.
    assert_eq!(from_hdr.counts[1], 2);
    assert_eq!(from_hdr.counts[2], 1);
    assert_eq!(from_hdr.counts[31], 1, "2^35 ns: le = 2^36 − 1");
    // Beyond 2^36 − 1 ns: +Inf (a run's HdrHistogram clamps at 60 s, below that bound).
    let mut beyond = vec![0u64; layout::BUCKETS];
    beyond[layout::bucket_of(1 << 37)] = 1;
    let beyond = LatencyBuckets::from_segment(&beyond, 1 << 37);
    assert_eq!(*beyond.counts.last().unwrap(), 1);
}

#[test]
fn every_family_is_described_before_any_figure_arrives() {
    let text = Metrics::new(Info {
        command: "run".into(),
        subject: "test".into(),
    })
    .encode();
    for family in [
        "ringtop_rows",
        "ringtop_latency_ns",
        "ringtop_link_round_trip_ns",
        "ringtop_link_connected",
        "ringtop_ring_lag",
        "ringtop_rows_lost",
        "ringtop_warnings",
        "ringtop_host_check",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family}:\n{text}"
        );
    }
    assert!(text.ends_with("# EOF\n"));
}
