//! The sweep's grid, knees and reasons, on made-up points.

use super::*;

#[test]
fn a_range_steps_through_one_two_five() {
    let axis = Axis::parse("workload.rate=100k..10M").unwrap();
    let values: Vec<i64> = axis
        .values
        .iter()
        .map(|v| v.as_integer().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000
        ]
    );
    let odd = Axis::parse("workload.rate=300..3000").unwrap();
    let values: Vec<i64> = odd.values.iter().map(|v| v.as_integer().unwrap()).collect();
    assert_eq!(values, [300, 500, 1000, 2000, 3000]);
}

#[test]
fn lists_keep_numbers_and_words() {
    let axis = Axis::parse("workload.batch=1, 8,64").unwrap();
    assert_eq!(axis.values, [1, 8, 64].map(toml::Value::Integer));
    let kinds = Axis::parse("ring.kind=spsc,relay").unwrap();
    assert_eq!(kinds.values[1], toml::Value::String("relay".into()));
}

#[test]
fn bad_axes_say_what_would_do() {
    for (text, says) in [
        ("rate=1,2", "the key is section.name"),
        ("workload.rate", "expected KEY=VALUES"),
        ("workload.rate=", "no values"),
        ("workload.rate=10..1", "not 10..1"),
        ("workload.rate=0..5", "0 < LOW"),
        ("workload.rate=x..1M", "low end `x` is not a whole number"),
        ("workload.rate=1..1e30", "high end `1e30`"),
        (
            "workload.rate=1..10,20",
            "a range or a list of values, not both",
        ),
        ("workload.batch=1,,2", "value 2 is empty"),
        ("workload.batch=1,2,", "value 3 is empty"),
        ("workload.batch=8,8", "`8` is listed twice"),
        ("ring.kind=spsc, relay,spsc", "`spsc` is listed twice"),
    ] {
        let err = Axis::parse(text).unwrap_err().to_string();
        assert!(err.starts_with(&format!("--set {text}: ")), "{err}");
        assert!(err.contains(says), "{text}: {err}");
    }
}

#[test]
fn other_numbers_stay_numbers_for_the_profile_to_judge() {
    let axis = Axis::parse("workload.rate=1.5,2k,-3").unwrap();
    assert_eq!(
        axis.values,
        [
            toml::Value::Float(1.5),
            toml::Value::Integer(2000),
            toml::Value::Integer(-3)
        ]
    );
    let base = crate::profile::builtin::get("default").unwrap();
    let err = grid(&base, &[axis]).unwrap_err().to_string();
    assert!(err.contains("workload.rate=1.5"), "{err}");
    assert!(err.contains("floating point `1.5`"), "{err}");
}

#[test]
fn a_key_swept_twice_is_refused_not_overwritten() {
    let base = crate::profile::builtin::get("default").unwrap();
    let axes = [
        Axis::parse("workload.rate=1,2").unwrap(),
        Axis::parse("workload.batch=1").unwrap(),
        Axis::parse("workload.rate=3").unwrap(),
    ];
    let err = grid(&base, &axes).unwrap_err();
    assert_eq!(err, SweepError::SweptTwice("workload.rate".into()));
    assert!(err.to_string().contains("give it once"), "{err}");
}

/// A curve runs along the last axis: a swept rate goes last whatever order it was given in, so
/// each curve's knee is how far the rate goes, not the best of another setting at one rate.
#[test]
fn a_swept_rate_is_the_axis_each_curve_runs_along() {
    let base = crate::profile::builtin::get("default").unwrap();
    let axes = [
        Axis::parse("workload.rate=100k,1M").unwrap(),
        Axis::parse("ring.capacity=1024,4096").unwrap(),
    ];
    let keys: Vec<Vec<String>> = grid(&base, &axes)
        .unwrap()
        .iter()
        .map(|p| p.settings.iter().map(|(key, _)| key.clone()).collect())
        .collect();
    assert_eq!(keys.len(), 4);
    assert!(
        keys.iter()
            .all(|k| k == &["ring.capacity", "workload.rate"]),
        "{keys:?}"
    );
    // A rate given one value is every point's, not an axis: the order stays as given.
    let axes = [
        Axis::parse("workload.rate=1M").unwrap(),
        Axis::parse("ring.capacity=1024,4096").unwrap(),
    ];
    let first = &grid(&base, &axes).unwrap()[0].settings;
    assert_eq!(first[0].0, "workload.rate");
}

#[test]
fn the_links_secret_reaches_every_point_and_no_points_settings() {
    let base = crate::profile::builtin::get("remote-tcp").unwrap();
    // A secret of digits stays the string it was given.
    let axes = [
        Axis::parse("transport.token=12345678").unwrap(),
        Axis::parse("workload.batch=1,4").unwrap(),
    ];
    let points = grid(&base, &axes).unwrap();
    assert_eq!(points.len(), 2);
    for point in &points {
        let transport = point.profile.transport.as_ref().unwrap();
        assert_eq!(transport.token.as_deref(), Some("12345678"));
        assert!(
            point
                .settings
                .iter()
                .all(|(key, _)| key == "workload.batch")
        );
    }
    for swept in ["transport.token=hunter2,hunter3", "transport.token=1..9"] {
        let err = Axis::parse(swept).unwrap_err().to_string();
        assert!(err.starts_with("--set transport.token=(hidden): "), "{err}");
        assert!(!err.contains("hunter") && !err.contains("1..9"), "{err}");
    }
    let alone = [Axis::parse("transport.token=hunter2").unwrap()];
    assert_eq!(grid(&base, &alone).unwrap_err(), SweepError::NoAxes);
}

/// A receiver consumes only what its sender sends, which no point starts: a sweep of one is
/// refused before anything runs, rather than time each point's wait as rows/s of 0.
#[test]
fn a_receivers_sweep_is_refused() {
    let mut receiver = crate::profile::builtin::get("remote-tcp").unwrap();
    let transport = receiver.transport.as_mut().unwrap();
    transport.connect = None;
    transport.listen = Some("127.0.0.1:7481".into());
    let err = grid(&receiver, &[Axis::parse("workload.batch=1,2").unwrap()]).unwrap_err();
    assert_eq!(err, SweepError::Receives("127.0.0.1:7481".into()));
    assert!(
        err.to_string()
            .starts_with("this profile receives on 127.0.0.1:7481: sweep runs each point's"),
        "{err}"
    );
}

/// A sender sizes no ring and runs no consumer: sweeping what it would take and do nothing with
/// is refused (every point would run the same), where a local run sweeps it.
#[test]
fn a_senders_sweep_of_the_receivers_keys_is_refused() {
    let sender = crate::profile::builtin::get("remote-tcp").unwrap();
    for (axis, says) in [
        (
            "ring.capacity=1024,2048",
            "the ring this side writes into is the receiver's",
        ),
        ("pinning.consumers=0,1", "this side runs no consumer"),
    ] {
        let err = grid(&sender, &[Axis::parse(axis).unwrap()]).unwrap_err();
        let key = axis.split_once('=').unwrap().0;
        assert!(
            matches!(&err, SweepError::NotTheSenders { key: k, .. } if k == key),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with(&format!("--set {key}: {says}")),
            "{err}"
        );
    }
    let local = crate::profile::builtin::get("default").unwrap();
    let points = grid(&local, &[Axis::parse("ring.capacity=1024,2048").unwrap()]).unwrap();
    assert_eq!(points[1].profile.ring.capacity, 2048);
}

#[test]
fn a_grid_point_that_is_no_profile_is_named() {
    let base = crate::profile::builtin::get("default").unwrap();
    let axes = [Axis::parse("workload.batch=8,0").unwrap()];
    let err = grid(&base, &axes).unwrap_err().to_string();
    assert!(err.contains("workload.batch=0"), "{err}");
    let ok = grid(&base, &[Axis::parse("workload.batch=8,16").unwrap()]).unwrap();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[1].profile.workload.batch, 16);
}

#[test]
fn a_pinning_key_takes_one_cpu_or_several_joined_by_plus() {
    use crate::profile::{AutoWord, CpuSetting};
    let base = crate::profile::builtin::get("broadcast-fanout").unwrap();
    let axes = [Axis::parse("pinning.consumers=0,auto+0").unwrap()];
    let points = grid(&base, &axes).unwrap();
    assert_eq!(points[0].profile.pinning.consumers, [CpuSetting::Cpu(0)]);
    assert_eq!(
        points[1].profile.pinning.consumers,
        [CpuSetting::Auto(AutoWord::Auto), CpuSetting::Cpu(0)]
    );
    // The point is named as it was written.
    assert_eq!(
        points[1].settings[0].1,
        toml::Value::String("auto+0".into())
    );
    let err = grid(&base, &[Axis::parse("pinning.consumers=x").unwrap()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected a CPU number (0, 1, …) or \"auto\""),
        "{err}"
    );
}

fn point(batch: i64, rate: i64, rows_per_s: f64, p99: u64) -> Point {
    Point {
        settings: vec![
            ("workload.batch".into(), toml::Value::Integer(batch)),
            ("workload.rate".into(), toml::Value::Integer(rate)),
        ],
        outcome: TrialOutcome {
            rows_per_s: Some(rows_per_s),
            p50_ns: Some(p99 / 2),
            p99_ns: Some(p99),
            latency_samples: Some(1_000),
            codec_ratio: None,
            integrity_ok: Some(true),
            kept_rate: None,
            failure: None,
            cost: Duration::ZERO,
        },
        knee: false,
    }
}

#[test]
fn the_knee_is_the_most_throughput_before_p99_leaves_its_floor() {
    let mut points = vec![
        point(1, 1, 1e5, 500),
        point(1, 2, 1e6, 600),
        point(1, 3, 2e6, 900),
        point(1, 4, 2.2e6, 40_000),
        point(8, 1, 1e5, 300),
        point(8, 2, 1e6, 2000),
    ];
    mark_knees(&mut points);
    let knees: Vec<bool> = points.iter().map(|p| p.knee).collect();
    assert_eq!(knees, [false, false, true, false, true, false]);
}

/// `p` with its p99 standing on one row fewer than a p99 needs.
fn thin(mut p: Point) -> Point {
    p.outcome.latency_samples = Some(P99_SAMPLES - 1);
    p
}

/// `p` as a point that timed no row: no percentile at all.
fn untimed(mut p: Point) -> Point {
    p.outcome.p50_ns = None;
    p.outcome.p99_ns = None;
    p.outcome.latency_samples = None;
    p
}

#[test]
fn a_p99_of_few_rows_is_neither_floor_nor_knee() {
    // The thin point's low p99 would set a floor the others all miss, and its rows/s would
    // make it the knee.
    let mut points = vec![
        thin(point(1, 1, 1e1, 100)),
        point(1, 2, 1e5, 500),
        point(1, 3, 1e6, 600),
        thin(point(1, 4, 2e6, 700)),
    ];
    mark_knees(&mut points);
    let knees: Vec<bool> = points.iter().map(|p| p.knee).collect();
    assert_eq!(knees, [false, false, true, false]);
    assert!(points[0].outcome.p99_is_thin() && !points[1].outcome.p99_is_thin());
    // A curve of thin points alone has no knee.
    let mut points = vec![thin(point(1, 1, 1.0, 100)), thin(point(1, 2, 2.0, 90))];
    mark_knees(&mut points);
    assert!(points.iter().all(|p| !p.knee));
}

#[test]
fn a_point_that_timed_no_row_is_not_a_knee() {
    // A rate of 1 row/s in a 100 ms trial: no row timed, no percentile at all.
    let mut points = vec![untimed(point(1, 1, 0.0, 0)), untimed(point(1, 2, 5.0, 0))];
    mark_knees(&mut points);
    assert!(points.iter().all(|p| !p.knee));
    // Beside timed points it is not the knee either, however many rows/s it moved.
    let mut points = vec![point(1, 1, 1e5, 500), untimed(point(1, 2, 1e6, 0))];
    mark_knees(&mut points);
    let knees: Vec<bool> = points.iter().map(|p| p.knee).collect();
    assert_eq!(knees, [true, false]);
}

#[test]
fn a_sweep_without_a_knee_says_which_rule_no_point_met() {
    let reason = |points: Vec<Point>| {
        let mut points = points;
        mark_knees(&mut points);
        why_no_knee(&points)
    };
    let never_started = |mut p: Point| {
        p.outcome.rows_per_s = None;
        p.outcome.integrity_ok = None;
        p.outcome.failure = Some("cannot connect".into());
        p
    };
    let lossy = |mut p: Point| {
        p.outcome.integrity_ok = Some(false);
        p
    };
    assert_eq!(reason(vec![point(1, 1, 1e5, 500)]), None);
    let failed = reason(vec![never_started(point(1, 1, 1e5, 500))]).unwrap();
    assert!(failed.starts_with("every point failed"), "{failed}");
    let lost = reason(vec![
        lossy(point(1, 1, 1e5, 500)),
        never_started(point(1, 2, 1e5, 500)),
    ]);
    assert!(lost.unwrap().starts_with("no point delivered every row"));
    let none_timed = reason(vec![
        untimed(point(1, 1, 1e5, 500)),
        lossy(point(1, 2, 1e6, 9)),
    ]);
    assert!(
        none_timed
            .unwrap()
            .starts_with("no point without loss timed a row")
    );
    // A sender's points check no row (its receiver does) and time round trips: they stand.
    let sent = |mut p: Point| {
        p.outcome.integrity_ok = None;
        p
    };
    assert_eq!(
        reason(vec![
            sent(point(1, 1, 1e5, 500)),
            never_started(point(1, 2, 1e5, 500)),
        ]),
        None
    );
    let untimed_sender = reason(vec![sent(untimed(point(1, 1, 1e5, 500)))]).unwrap();
    assert!(
        untimed_sender.starts_with("no point without loss timed a row"),
        "{untimed_sender}"
    );
    let few = reason(vec![
        thin(point(1, 1, 1e5, 500)),
        untimed(point(1, 2, 1e6, 9)),
    ])
    .unwrap();
    assert!(
        few.starts_with("no point without loss timed 100 rows or more"),
        "{few}"
    );
}

/// Trials that all give the same outcome, and set `stop` (as Ctrl-C would) once `stop_after`
/// have run.
struct Constant {
    ran: usize,
    stop_after: usize,
    stop: std::sync::Arc<AtomicBool>,
}

impl Trials for Constant {
    fn run(&mut self, _: &Candidate, _: Duration) -> TrialOutcome {
        self.ran += 1;
        if self.ran == self.stop_after {
            self.stop.store(true, Relaxed);
        }
        point(1, 1, 1e5, 500).outcome
    }

    fn overhead(&self) -> Duration {
        Duration::ZERO
    }
}

/// An axis of one value (a sender's `transport.connect`, say) is a setting every point shares:
/// the record says it once, for the table and the report; an interrupted sweep says none, as its
/// grid's other values did not run.
#[test]
fn the_settings_every_point_shares_are_said_once() {
    let base = crate::profile::builtin::get("default").unwrap();
    let axes = [
        Axis::parse("workload.batch=8").unwrap(),
        Axis::parse("workload.rate=100k,200k").unwrap(),
    ];
    let run = |stop_after: usize| {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let mut trials = Constant {
            ran: 0,
            stop_after,
            stop: stop.clone(),
        };
        let grid = grid(&base, &axes).unwrap();
        sweep(
            grid,
            &mut trials,
            Duration::from_millis(1),
            &stop,
            &mut |_, _| {},
        )
    };
    let whole = run(usize::MAX);
    assert_eq!(
        whole.shared,
        [("workload.batch".to_owned(), toml::Value::Integer(8))]
    );
    // Stopped after the first point: the second never ran.
    let cut = run(1);
    assert!(cut.interrupted);
    assert!(cut.shared.is_empty(), "{:?}", cut.shared);
}
