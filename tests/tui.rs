//! The dashboard drawn on a test terminal from fixed snapshots: every pane, a two-node machine, a
//! machine without a PMU, the narrow and too-small screens, and what keys do.
#![cfg(not(loom))]

use std::collections::BTreeMap;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ringtop::codec::CodecId;
use ringtop::engine::Command;
use ringtop::metrics::counters::CounterValues;
use ringtop::metrics::snapshot::{
    CodecSnapshot, EndpointCounters, LatencyNs, LinkRole, RingSnapshot, Role, RunState,
    SCHEMA_VERSION, Snapshot, ThreadSnapshot, Totals, TransportSnapshot,
};
use ringtop::topology::from_synthetic;
use ringtop::tui::app::{App, Effect, Mode};
use ringtop::tui::{panes, view};

fn no_pmu() -> CounterValues {
    let mut unavailable = BTreeMap::new();
    for name in [
        "branch_misses",
        "cache_misses",
        "cache_references",
        "cycles",
        "instructions",
        "l1d_read_misses",
        "llc_read_misses",
    ] {
        unavailable.insert(name.to_owned(), "no PMU: ENOENT".to_owned());
    }
    CounterValues {
        task_clock_ns: Some(990_000_000),
        context_switches: Some(3),
        cpu_migrations: Some(0),
        page_faults: Some(12),
        unavailable,
        ..CounterValues::default()
    }
}

fn with_pmu() -> CounterValues {
    CounterValues {
        cycles: Some(3_000_000_000),
        instructions: Some(4_500_000_000),
        cache_references: Some(20_000_000),
        cache_misses: Some(1_000_000),
        l1d_read_misses: Some(5_000_000),
        llc_read_misses: Some(250_000),
        branch_misses: Some(100_000),
        ..no_pmu()
    }
    .clear_unavailable()
}

trait Clear {
    fn clear_unavailable(self) -> Self;
}

impl Clear for CounterValues {
    fn clear_unavailable(mut self) -> Self {
        self.unavailable.clear();
        self
    }
}

fn thread(
    name: &str,
    role: Role,
    cpu: usize,
    node: usize,
    latency: Option<LatencyNs>,
    counters: CounterValues,
) -> ThreadSnapshot {
    ThreadSnapshot {
        name: name.to_owned(),
        role,
        cpu: Some(cpu),
        node: Some(node),
        rows: 1_000_000,
        rows_per_s: 1_000_000.0,
        mb_per_s: 64.0,
        latency_ns: latency,
        latency_total_ns: latency,
        endpoint: Some(EndpointCounters {
            index_reloads: 1234,
            stalls: 56,
            chase_backoffs: None,
        }),
        counters: Some(counters),
        scheduling: None,
        scheduling_unavailable: Some("a fixture".into()),
        registered_by: None,
    }
}

fn latency(p50: u64, p99: u64) -> LatencyNs {
    LatencyNs {
        p50,
        p90: p50 * 2,
        p99,
        p999: p99 * 3,
        p9999: p99 * 5,
        max: p99 * 10,
        count: 1_000_000,
    }
}

/// `snapshot` as taken `elapsed_s` into the run: its ring counters (counted since the start)
/// grow by a fixed amount a second, so the dashboard's rates are those amounts: 56 stalls and
/// 1,234 reloads a second, a producer's one stall in ten seconds.
fn at(mut snapshot: Snapshot, elapsed_s: f64) -> Snapshot {
    snapshot.elapsed_s = elapsed_s;
    for thread in &mut snapshot.threads {
        let stalls_per_s = if thread.role == Role::Producer {
            0.1
        } else {
            56.0
        };
        thread.endpoint = Some(EndpointCounters {
            index_reloads: (1234.0 * elapsed_s) as u64,
            stalls: (stalls_per_s * elapsed_s) as u64,
            chase_backoffs: None,
        });
    }
    snapshot
}

/// A broadcast run on the two-node machine: the producer and one consumer on node 0, the other
/// consumer on node 1 reading the ring's memory remotely.
fn fixture(counters: fn() -> CounterValues, framed: bool) -> Snapshot {
    let snapshot = Snapshot {
        schema_version: SCHEMA_VERSION,
        elapsed_s: 0.0,
        interval_s: 1.0,
        state: RunState::Running,
        profile: "fixture".into(),
        profile_description: "a hand-made snapshot".into(),
        threads: vec![
            thread("producer-0", Role::Producer, 0, 0, None, counters()),
            thread(
                "consumer-0",
                Role::Consumer,
                2,
                0,
                Some(latency(450, 8_000)),
                counters(),
            ),
            thread(
                "consumer-1",
                Role::Consumer,
                5,
                1,
                Some(latency(900, 2_500_000)),
                counters(),
            ),
        ],
        ring: RingSnapshot {
            kind: "broadcast".into(),
            capacity: Some(8192),
            framed,
            occupancy_rows: Some(17),
            occupancy_bytes: None,
            memory: None,
            memory_summary: Some("512 KiB on node 0 (bound to node 0), 4 KiB pages".into()),
            memory_nodes: vec![0],
            producer_full_stalls: Some(4),
            consumer_empty_stalls: Some(9000),
            producer_index_reloads: Some(1234),
            consumer_index_reloads: Some(2468),
        },
        codec: framed.then(|| CodecSnapshot {
            name: Some("decimal".into()),
            frames: 3_907,
            rows_per_frame: Some(255.96),
            raw_bytes: 64_000_000,
            encoded_bytes: 2_500_000,
            ratio: Some(25.6),
            encode_ns_per_row: Some(40.0),
            decode_ns_per_row: Some(12.5),
            by_codec: Vec::new(),
        }),
        totals: Totals {
            produced: Some(1_000_000),
            consumed: 2_000_000,
            lost: Some(0),
            duplicated: Some(0),
            reordered: Some(0),
            rows_per_s: 2_000_000.0,
            mb_per_s: 128.0,
        },
        transport: None,
        warnings: vec![],
        warning_keys: vec![],
    };
    at(snapshot, 3725.0)
}

fn app(counters: fn() -> CounterValues, framed: bool) -> App {
    let topology = from_synthetic("pack:2 numa:1 l3:1 core:2 pu:2").unwrap();
    let profile = ringtop::profile::builtin::get("broadcast-fanout").unwrap();
    let mut app = App::new("broadcast-fanout", Some(topology), &profile);
    app.ring.framed = framed;
    app.color = false;
    for i in 0..30u32 {
        let mut s = at(fixture(counters, framed), 3695.0 + f64::from(i));
        s.totals.rows_per_s = 1_900_000.0 + f64::from(i % 5) * 50_000.0;
        if let Some(c) = &mut s.codec {
            c.ratio = Some(20.0 + f64::from(i % 7));
        }
        s.threads[2].latency_ns = Some(latency(900, 2_000_000 + u64::from(i % 4) * 300_000));
        app.update(s);
    }
    app.update(fixture(counters, framed));
    app
}

fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            view::draw(frame, app);
        })
        .unwrap();
    format!("{}", terminal.backend())
}

fn pane(app: &App, width: u16, height: u16, draw: fn(&mut ratatui::Frame, Rect, &App)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| draw(frame, frame.area(), app))
        .unwrap();
    format!("{}", terminal.backend())
}

#[test]
fn the_whole_dashboard_at_80x24() {
    insta::assert_snapshot!(screen(&app(no_pmu, true), 80, 24));
}

/// At any width every key is shown with what it does, and a long status line whole above them.
#[test]
fn the_footer_shows_every_key_with_what_it_does_and_the_whole_status() {
    let mut app = app(no_pmu, true);
    let status = "host check: 6 ok, 3 warn (isolation, irqs, perf), 1 n/a; h says how to fix \
                  each of them, one by one";
    app.status = Some(ringtop::tui::app::Status {
        text: status.to_owned(),
        error: false,
    });
    for width in [60, 80, 81, 100, 120, 160] {
        let shown = screen(&app, width, 30);
        for entry in panes::footer::keys(&app.mode)
            .iter()
            .filter(|entry| app.offers(entry))
        {
            assert!(
                shown.contains(entry),
                "{entry:?} at {width} columns:\n{shown}"
            );
        }
        let words: String = status.split_whitespace().collect();
        let bottom: String = shown
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .flat_map(|l| l.split_whitespace())
            .collect::<String>()
            .replace('"', "");
        assert!(bottom.contains(&words), "at {width} columns:\n{shown}");
    }
    // A short terminal keeps its panes: the status (in the lines a quarter of the terminal
    // leaves, cut with `…`), then one line of keys, `? help` among them.
    let short = screen(&app, 45, 12);
    let lines: Vec<&str> = short.lines().collect();
    assert!(lines[11].contains("q quit  ? help"), "{short}");
    assert!(
        lines[10].trim_end_matches([' ', '"']).ends_with('…'),
        "{short}"
    );
    assert!(lines[9].contains("host check: 6 ok"), "{short}");
    // The latency table fits whole in 43 columns, with the whole thread name.
    assert!(
        short.contains("│consumer-0 2    450ns  8.00µs 24.0µs 80.0µs│"),
        "the consumer's latency row:\n{short}"
    );
}

#[test]
fn the_whole_dashboard_at_120x40() {
    insta::assert_snapshot!(screen(&app(with_pmu, true), 120, 40));
}

#[test]
fn a_narrow_terminal_keeps_latency_and_counters() {
    let text = screen(&app(no_pmu, false), 60, 20);
    // Every thread's counters row, and why its figures are n/a on the title where no line is
    // left for it.
    for row in ["│producer-0 ", "│consumer-0 "] {
        assert!(text.contains(row), "{row} in:\n{text}");
    }
    assert!(
        text.contains("┌ Counters · n/a: no PMU: ENOENT ─"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_tiny_terminal_says_so() {
    insta::assert_snapshot!(screen(&app(no_pmu, false), 20, 5));
}

/// A broadcast ring's consumers each read every row: the header gives the rows written and how
/// many read each, not the reads, which beside the pace would look like twice it.
#[test]
fn a_broadcast_header_gives_the_rows_written_and_how_many_read_each() {
    let app = app(no_pmu, false);
    let header = pane(&app, 120, 2, panes::header::render);
    // The fixture's producer writes 1 M rows/s; its two consumers read 2 M together.
    let snapshot = app.snapshot.as_ref().unwrap();
    assert_eq!(snapshot.threads[0].rows_per_s, 1_000_000.0);
    assert_eq!(snapshot.totals.rows_per_s, 2_000_000.0);
    assert!(header.contains("\"1.00M rows/s ×2  128 MB/s  "), "{header}");
    assert!(!header.contains("2.00M"), "{header}");
    // The throughput chart plots the same rows, and says so: its scale tops 1 M, not 2 M.
    let chart = pane(&app, 80, 8, panes::throughput::render);
    assert!(
        chart.contains("Throughput (rows/s written; each read by 2 consumers)"),
        "{chart}"
    );
    assert!(chart.contains("│1.1"), "{chart}");
}

#[test]
fn header_pane() {
    insta::assert_snapshot!(pane(&app(no_pmu, false), 80, 2, panes::header::render));
}

#[test]
fn the_header_keeps_each_part_whole_and_leaves_out_the_least_needed() {
    let mut app = app(no_pmu, false);
    let wide = pane(&app, 80, 2, panes::header::render);
    assert!(wide.contains("ringtop · broadcast-fanout"), "{wide}");
    assert!(wide.contains(" · fill 17/8192 "), "{wide}");
    // Narrower: the program's own name goes before the ring's fill.
    let narrower = pane(&app, 70, 2, panes::header::render);
    assert!(!narrower.contains("ringtop"), "{narrower}");
    assert!(narrower.contains(" · fill 17/8192 "), "{narrower}");
    // Narrower still: lost rows are never cut to another number (`lost 12` for `lost 1234567`);
    // the settings and the fill give way first.
    app.snapshot.as_mut().unwrap().totals.lost = Some(1_234_567);
    for width in [40, 50, 60] {
        let narrow = pane(&app, width, 2, panes::header::render);
        assert!(narrow.contains("lost 1234567 dup 0 reord 0"), "{narrow}");
        assert!(narrow.contains("running"), "{narrow}");
        assert!(!narrow.contains("fill"), "{narrow}");
    }
    // A framed ring's compressed frames can hold more rows than it has slots: rows alone.
    app.snapshot.as_mut().unwrap().ring.framed = true;
    let framed = pane(&app, 100, 2, panes::header::render);
    assert!(framed.contains(" · fill 17 rows "), "{framed}");
    // The receiving side of a link does not know what its sender wrote.
    app.snapshot.as_mut().unwrap().ring.occupancy_rows = None;
    let receiver = pane(&app, 100, 2, panes::header::render);
    assert!(receiver.contains(" · fill n/a "), "{receiver}");
    // Where its window's fill is known, in bytes of the window (8192 rows of 64 bytes).
    app.snapshot.as_mut().unwrap().ring.occupancy_bytes = Some(12 * 1024);
    let receiver = pane(&app, 100, 2, panes::header::render);
    assert!(receiver.contains(" · fill 12 KiB/512 KiB "), "{receiver}");
    app.snapshot.as_mut().unwrap().ring.occupancy_bytes = None;
    // Nor the pace its sender offers (not this process's profile's), where a run shows its own.
    assert!(receiver.contains("  pace 500k  "), "{receiver}");
    let mut app = remote_app(LinkRole::Receiver);
    app.rate = 500_000;
    let receiver = pane(&app, 100, 2, panes::header::render);
    assert!(receiver.contains("  pace: the sender's  "), "{receiver}");
    // The pace is each producer's: said so where there are several.
    let mut app = remote_app(LinkRole::Sender);
    app.producers = 4;
    let several = pane(&app, 100, 2, panes::header::render);
    assert!(several.contains("  pace 500k each  "), "{several}");
}

#[test]
fn the_header_shows_the_first_warning_on_a_line_of_its_own() {
    let mut app = app(no_pmu, false);
    assert_eq!(panes::header::lines(&app), 2);
    let snapshot = app.snapshot.as_mut().unwrap();
    snapshot.warnings = vec![
        "consumer-0 ran 34 % of the last 1.0 s on CPU 1; waited 0.62 s for it".into(),
        "producer-0 shares CPU 1 with consumer-0: its numbers include time slicing".into(),
    ];
    assert_eq!(panes::header::lines(&app), 3);
    let text = pane(&app, 100, 3, panes::header::render);
    assert!(
        text.contains(
            "⚠ consumer-0 ran 34 % of the last 1.0 s on CPU 1; waited 0.62 s for it (+1 more: w)"
        ),
        "{text}"
    );
}

#[test]
fn a_warning_too_long_for_the_header_is_cut_between_words_and_w_shows_them_all() {
    let mut app = app(no_pmu, false);
    let long = "producer-0 ran 54 % of the last 1.0 s on CPU 0; waited 0.46 s for it; other \
                tasks: ringtop (pid 16384), cargo (pid 4242)";
    let other = "producer-0 shares CPU 0 with consumer-0: its numbers include time slicing";
    let words: std::collections::BTreeSet<&str> = long.split(' ').chain(other.split(' ')).collect();
    app.snapshot.as_mut().unwrap().warnings = vec![long.into()];
    for width in [40, 60, 80, 100, 120] {
        let text = pane(&app, width, 3, panes::header::render);
        let line = text.lines().nth(2).unwrap().trim_matches('"').trim_end();
        // Before 100 columns the pid was cut to `(pid 16`: a pid of another process.
        assert!(
            line.ends_with("… (w: whole)") || line.ends_with("4242)"),
            "{width}: {line}"
        );
        let said = line
            .trim_start_matches("⚠ ")
            .trim_end_matches(" (w: whole)");
        for word in said.trim_end_matches('…').split(' ') {
            assert!(
                words.contains(word),
                "{width}: {word:?} is not whole: {line}"
            );
        }
    }
    app.snapshot.as_mut().unwrap().warnings = vec![long.into(), other.into()];
    let text = pane(&app, 80, 3, panes::header::render);
    assert!(text.contains("… (+1 more: w)"), "{text}");
    // `w` shows every warning whole, wrapped between words, until any key.
    assert_eq!(app.key(key(KeyCode::Char('w'))), Effect::None);
    assert_eq!(app.mode, Mode::Warnings);
    let text = screen(&app, 80, 24);
    assert!(text.contains("Warnings of the last interval"), "{text}");
    let shown: std::collections::BTreeSet<&str> = text
        .split(|c: char| c.is_whitespace() || c == '│' || c == '"')
        .collect();
    for word in &words {
        assert!(shown.contains(word), "{word:?} cut or missing:\n{text}");
    }
    app.key(key(KeyCode::Char('x')));
    assert_eq!(app.mode, Mode::Normal);
    // More than the terminal's height: the overlay says which lines show, and the keys reach
    // the rest.
    app.snapshot.as_mut().unwrap().warnings = (0..40)
        .map(|n| format!("consumer-{n} shares CPU 1 with producer-0"))
        .collect();
    app.key(key(KeyCode::Char('w')));
    let text = screen(&app, 80, 24);
    assert!(text.contains("consumer-0 shares"), "{text}");
    assert!(!text.contains("consumer-21 shares"), "{text}");
    assert!(
        text.contains("lines 1–21 of 40: ↑↓ PgUp PgDn scroll"),
        "{text}"
    );
    app.key(key(KeyCode::End));
    assert_eq!(app.mode, Mode::Warnings, "a scrolling key keeps it open");
    let text = screen(&app, 80, 24);
    assert!(text.contains("consumer-39 shares"), "{text}");
    assert!(text.contains("lines 20–40 of 40"), "{text}");
    app.key(key(KeyCode::Up));
    assert!(screen(&app, 80, 24).contains("lines 19–39 of 40"));
    app.key(key(KeyCode::Char('x')));
    assert_eq!(app.mode, Mode::Normal);
    // Opened again, it starts from the top.
    app.key(key(KeyCode::Char('w')));
    assert!(screen(&app, 80, 24).contains("lines 1–21 of 40"));
    app.key(key(KeyCode::Char('x')));
    app.snapshot.as_mut().unwrap().warnings.clear();
    app.key(key(KeyCode::Char('w')));
    assert!(screen(&app, 80, 24).contains("none"));
}

#[test]
fn w_shows_warnings_earlier_intervals_carried_with_how_often_and_when() {
    let mut app = app(no_pmu, false);
    let mut snapshot = app.snapshot.clone().unwrap();
    let mut interval = |app: &mut ringtop::tui::app::App, at: f64, warnings: &[(&str, &str)]| {
        snapshot.elapsed_s = at;
        snapshot.warnings = warnings
            .iter()
            .map(|(_, text)| (*text).to_owned())
            .collect();
        snapshot.warning_keys = warnings.iter().map(|(key, _)| (*key).to_owned()).collect();
        app.update(snapshot.clone());
    };
    let shared = (
        "shared-cpu producer-0",
        "producer-0 shares CPU 1 with consumer-0",
    );
    interval(
        &mut app,
        1.0,
        &[("cpu-share consumer-0", "consumer-0 ran 40 %"), shared],
    );
    interval(&mut app, 2.0, &[shared]);
    // Its wording changes with its figures; what it is about does not.
    interval(
        &mut app,
        3.0,
        &[("cpu-share consumer-0", "consumer-0 ran 70 %")],
    );
    app.key(key(KeyCode::Char('w')));
    let text = screen(&app, 100, 24);
    assert!(
        text.contains("Warnings of the last interval, and earlier"),
        "{text}"
    );
    assert!(text.contains("⚠ consumer-0 ran 70 %"), "{text}");
    assert!(
        text.contains("earlier, not in the last interval:"),
        "{text}"
    );
    assert!(
        text.contains("producer-0 shares CPU 1 with consumer-0 (2 intervals, the last at 2.0 s)"),
        "{text}"
    );
    assert!(
        !text.contains("ran 40 %"),
        "the share is still warned of: {text}"
    );
    app.key(key(KeyCode::Char('x')));
    // Nothing warned of now: both are earlier, and the main screen says so, with the key.
    interval(&mut app, 4.0, &[]);
    let main = screen(&app, 100, 24);
    assert!(
        main.contains(
            "no warning in the last interval; 2 warnings earlier, the last at 3.0 s (w lists them)"
        ),
        "{main}"
    );
    assert!(
        screen(&app, 40, 24).contains("2 warnings earlier (w)"),
        "{}",
        screen(&app, 40, 24)
    );
    app.key(key(KeyCode::Char('w')));
    let text = screen(&app, 100, 24);
    assert!(text.contains("none"), "{text}");
    assert!(
        text.contains("consumer-0 ran 70 % (2 intervals, the last at 3.0 s)"),
        "{text}"
    );
}

#[test]
fn topology_pane_on_two_nodes_with_a_remote_reader() {
    let text = pane(&app(no_pmu, false), 60, 10, panes::topology::render);
    assert!(
        text.contains("consumer-1 on CPU 5 reads remote memory"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

/// In the 38 columns of an 80-column dashboard, the remote reader's warning is read whole on
/// one line, the ring's placement is wrapped between words, and where rows are short the hint to
/// measure a map gives way before them, and they before a cut.
#[test]
fn a_narrow_topology_pane_keeps_the_warning_and_the_rings_placement_whole() {
    let app = app(no_pmu, false);
    let text = pane(&app, 40, 10, panes::topology::render);
    for line in [
        "│! consumer-1 reads remote memory",
        "│ring: 512 KiB on node 0 (bound to node│",
        "│  0), 4 KiB pages",
        "│m: measure the core-to-core map",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    let short = pane(&app, 40, 9, panes::topology::render);
    assert!(short.contains("│  0), 4 KiB pages"), "{short}");
    assert!(!short.contains("m: measure"), "{short}");
    // A row short of the placement's two, it is left out whole (its node's header still says
    // `ring memory`), not cut after its first line; the one-line hint fits.
    let shorter = pane(&app, 40, 8, panes::topology::render);
    assert!(!shorter.contains("ring: 512 KiB"), "{shorter}");
    assert!(shorter.contains("· ring memory"), "{shorter}");
    assert!(
        shorter.contains("│m: measure the core-to-core map"),
        "{shorter}"
    );
}

#[test]
fn topology_pane_with_the_core_to_core_heatmap() {
    let mut app = app(no_pmu, false);
    let cpus: Vec<usize> = (0..8).collect();
    let rtt = |a: usize, b: usize| {
        if a == b {
            None
        } else if a / 2 == b / 2 {
            Some(30.0)
        } else if a / 4 == b / 4 {
            Some(80.0)
        } else {
            Some(300.0)
        }
    };
    let matrix: Vec<Vec<Option<f64>>> = cpus
        .iter()
        .map(|&a| cpus.iter().map(|&b| rtt(a, b)).collect())
        .collect();
    app.c2c = Some(ringtop::topology::c2c::C2cReport {
        cpus: cpus.clone(),
        rtt_ns: matrix.clone(),
        spread_ns: matrix.clone(),
        min_ns: matrix,
        relation: vec![vec![None; 8]; 8],
        samples: 200,
        round_trips_per_sample: 100,
    });
    insta::assert_snapshot!(pane(&app, 60, 16, panes::topology::render));
}

#[test]
fn latency_pane() {
    insta::assert_snapshot!(pane(&app(no_pmu, false), 60, 10, panes::latency::render));
}

#[test]
fn the_latency_pane_shows_whole_thread_names_wherever_its_table_fits_them() {
    // `consumer-0` (10 columns), then cpu, p50, p99, p99.9 and max (28) with a gap before each
    // (5): 43 columns inside the borders.
    let app = app(no_pmu, false);
    let whole = pane(&app, 45, 10, panes::latency::render);
    assert!(whole.contains("│consumer-0 "), "{whole}");
    assert!(whole.contains("max"), "{whole}");
    let narrower = pane(&app, 44, 10, panes::latency::render);
    assert!(!narrower.contains("consumer-0"), "{narrower}");
    assert!(narrower.contains("│C0 "), "{narrower}");
    assert!(narrower.contains("max"), "{narrower}");
}

/// A percentile of fewer samples than it needs is the largest of them: `=max`, not a figure
/// passed off as a tail (500 rows hold a p99 but not a p99.9; 50, neither).
#[test]
fn a_percentile_of_too_few_samples_says_it_is_the_max() {
    let mut app = app(no_pmu, false);
    for (count, p99, p999) in [
        (500, "8.00µs", "=max"),
        (50, "=max", "=max"),
        (1_000, "8.00µs", "24.0µs"),
    ] {
        for t in &mut app.snapshot.as_mut().unwrap().threads {
            if let Some(l) = t.latency_ns.as_mut() {
                l.count = count;
            }
        }
        let text = pane(&app, 60, 10, panes::latency::render);
        let line = text.lines().find(|l| l.contains("│consumer-0 ")).unwrap();
        let cells: Vec<&str> = line
            .trim_matches(|c| c == '"' || c == '│')
            .split_whitespace()
            .collect();
        assert_eq!(
            cells[2..],
            ["450ns", p99, p999, "80.0µs"],
            "{count}: {text}"
        );
    }
}

#[test]
fn a_one_line_p99_history_keeps_its_scale_beside_its_label() {
    // Two consumers' histories on four lines: one line each, the scale after the label.
    let text = pane(&app(no_pmu, false), 60, 7, panes::latency::render);
    let histories: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" p99 ") && !l.contains("p50"))
        .collect();
    assert_eq!(histories.len(), 2, "{text}");
    for line in histories {
        assert!(line.contains(" p99 ≤"), "{text}");
    }
    // With room for two lines each, the scale goes under the label.
    let text = pane(&app(no_pmu, false), 60, 9, panes::latency::render);
    assert!(text.lines().any(|l| l.starts_with("\"│≤")), "{text}");
}

#[test]
fn counters_pane_without_a_pmu() {
    let text = pane(&app(no_pmu, false), 60, 8, panes::counters::render);
    assert!(text.contains("n/a: no PMU: ENOENT"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn counters_pane_with_a_pmu() {
    let text = pane(&app(with_pmu, false), 60, 8, panes::counters::render);
    assert!(text.contains("1.50"), "IPC 4.5G/3G: {text}");
    // The columns stand where they stood with n/a in them.
    let without = pane(&app(no_pmu, false), 60, 8, panes::counters::render);
    let header = |text: &str| text.lines().nth(1).unwrap().to_owned();
    assert_eq!(header(&text), header(&without));
    insta::assert_snapshot!(text);
}

#[test]
fn the_counters_pane_shows_the_rings_counters_per_second_of_the_interval() {
    let text = pane(&app(no_pmu, false), 60, 8, panes::counters::render);
    // The fixture's consumers stall 56 times and reload 1,234 times a second, for an hour: the
    // pane shows those rates, not the 208,600 stalls and 4.6 M reloads since the start.
    assert!(text.contains("stall/s reload/s"), "{text}");
    let consumer = text.lines().find(|l| l.contains("consumer-0")).unwrap();
    assert!(
        consumer.contains(" 56 ") && consumer.contains(" 1.23k "),
        "{text}"
    );
    assert!(!text.contains("208") && !text.contains("4.6M"), "{text}");
    // Context switches too, per second: 3 in an interval of half a second.
    let mut app = app(no_pmu, false);
    let mut half = at(fixture(no_pmu, false), 3725.5);
    half.interval_s = 0.5;
    app.update(half);
    let text = pane(&app, 60, 8, panes::counters::render);
    let consumer = text.lines().find(|l| l.contains("consumer-0")).unwrap();
    assert!(consumer.contains(" 6 "), "{text}");
    assert!(
        consumer.contains(" 1.23k "),
        "617 reloads in half a second: {text}"
    );
}

/// An SPSC run: its consumer looks for a chase and backed off 30 times a second.
fn chasing_app() -> App {
    let with_chases = |elapsed_s: f64| {
        let mut s = at(fixture(no_pmu, false), elapsed_s);
        s.threads.truncate(2);
        if let Some(e) = &mut s.threads[1].endpoint {
            e.chase_backoffs = Some((30.0 * elapsed_s) as u64);
        }
        s
    };
    let mut app = app(no_pmu, false);
    app.update(with_chases(3726.0));
    app.update(with_chases(3727.0));
    app
}

#[test]
fn chase_back_offs_show_where_a_consumer_looks_for_a_chase_and_the_width_allows() {
    let wide = pane(&chasing_app(), 60, 7, panes::counters::render);
    assert!(wide.contains("backoff/s"), "{wide}");
    let consumer = wide.lines().find(|l| l.contains("│C0 ")).unwrap();
    assert!(
        consumer.trim_end_matches(['│', '"', ' ']).ends_with(" 30"),
        "{wide}"
    );
    let producer = wide.lines().find(|l| l.contains("│P0 ")).unwrap();
    assert!(
        producer.contains(" n/a "),
        "a producer looks for no chase: {wide}"
    );
    // At 80 columns the pane is 40 wide: stalls stay, reloads and back-offs give way.
    let narrow = pane(&chasing_app(), 40, 7, panes::counters::render);
    assert!(
        narrow.contains("stall/s") && !narrow.contains("reload/s"),
        "{narrow}"
    );
    // No column of n/a where no consumer looks for a chase.
    let broadcast = pane(&app(no_pmu, false), 80, 8, panes::counters::render);
    assert!(!broadcast.contains("backoff/s"), "{broadcast}");
}

/// An MPMC ring keeps no endpoint counts: its pane has no columns of n/a beside the PMU's
/// reason, which would read as theirs, but says why they are not there.
#[test]
fn a_ring_that_counts_no_stalls_says_so_rather_than_show_na() {
    let uncounted = |elapsed_s: f64| {
        let mut s = at(fixture(no_pmu, false), elapsed_s);
        s.ring.kind = "mpmc".into();
        for t in &mut s.threads {
            t.endpoint = None;
        }
        s
    };
    let mut app = app(no_pmu, false);
    app.update(uncounted(3726.0));
    app.update(uncounted(3727.0));
    let text = pane(&app, 60, 9, panes::counters::render);
    assert!(
        !text.contains("stall/s") && !text.contains("reload/s"),
        "{text}"
    );
    assert!(
        text.contains("mpmc ring: no stall or reload counts"),
        "{text}"
    );
    // A link's end keeps none whatever its ring's kind, and says it is the link's.
    let mut link = remote_app(LinkRole::Receiver);
    let mut s = link.snapshot.clone().unwrap();
    for t in &mut s.threads {
        t.endpoint = None;
    }
    link.update(s);
    let text = pane(&link, 60, 9, panes::counters::render);
    assert!(
        text.contains("link's ring: no stall or reload counts"),
        "{text}"
    );
    // A ring that counts them keeps its columns and no such note.
    let counted = pane(&chasing_app(), 60, 9, panes::counters::render);
    assert!(
        counted.contains("stall/s") && !counted.contains("reload counts"),
        "{counted}"
    );
}

#[test]
fn a_twelfth_consumer_is_labelled_whole_never_as_the_second() {
    let mut app = app(no_pmu, false);
    let mut s = at(fixture(no_pmu, false), 3726.0);
    let template = s.threads[2].clone();
    for n in 2..12 {
        s.threads.push(ThreadSnapshot {
            name: format!("consumer-{n}"),
            ..template.clone()
        });
    }
    app.update(s);
    for (draw, width) in [
        (
            panes::latency::render as fn(&mut ratatui::Frame, Rect, &App),
            60,
        ),
        (panes::counters::render, 60),
        (panes::latency::render, 40),
        (panes::counters::render, 40),
    ] {
        let text = pane(&app, width, 20, draw);
        // The tables' first column (not the p99 histories' labels under them).
        let labels: Vec<&str> = text
            .lines()
            .map(|l| l.trim_start_matches(['"', '│']).split_whitespace())
            .filter_map(|mut words| Some((words.next()?, words.next()?)))
            .filter(|&(_, next)| next != "p99")
            .map(|(label, _)| label)
            .filter(|w| w.starts_with("consumer-") || w.starts_with('C'))
            .collect();
        assert!(
            labels.contains(&"consumer-11") || labels.contains(&"C11"),
            "{text}"
        );
        let unique: std::collections::BTreeSet<&&str> = labels.iter().collect();
        assert_eq!(unique.len(), labels.len(), "a label twice: {text}");
    }
    // They arrived after the run's first interval with counts since a start the dashboard did
    // not see: no rate yet, rather than an hour's counts as one second's.
    let text = pane(&app, 60, 20, panes::counters::render);
    let late = text.lines().find(|l| l.contains("consumer-11")).unwrap();
    assert_eq!(late.matches("n/a").count(), 5, "{text}");
}

#[test]
fn a_threads_rates_follow_it_by_name_when_the_order_changes() {
    let mut app = app(no_pmu, false);
    let mut s = at(fixture(no_pmu, false), 3726.0);
    s.threads.reverse();
    app.update(s);
    let text = pane(&app, 60, 8, panes::counters::render);
    let consumer = text.lines().find(|l| l.contains("consumer-0")).unwrap();
    assert!(consumer.contains(" 56 "), "{text}");
    let producer = text.lines().find(|l| l.contains("producer-0")).unwrap();
    assert!(producer.contains(" 0 "), "{text}");
}

#[test]
fn ring_counters_that_went_back_are_not_turned_into_a_rate() {
    let mut app = app(no_pmu, false);
    app.update(at(fixture(no_pmu, false), 10.0));
    let text = pane(&app, 60, 8, panes::counters::render);
    let consumer = text.lines().find(|l| l.contains("consumer-0")).unwrap();
    assert_eq!(consumer.matches("n/a").count(), 5, "{text}");
}

/// A PMU with fewer counters than events: two of them counted part of the interval.
fn time_shared_pmu() -> CounterValues {
    let mut values = with_pmu();
    values.counted_share.insert("cache_misses".to_owned(), 0.57);
    values
        .counted_share
        .insert("llc_read_misses".to_owned(), 0.834);
    values
}

#[test]
fn counters_pane_says_when_its_figures_are_estimates() {
    let text = pane(&app(time_shared_pmu, false), 60, 8, panes::counters::render);
    assert!(text.contains("time-shared"), "{text}");
    assert!(text.contains("57–83%"), "{text}");
    let exact = pane(&app(with_pmu, false), 60, 8, panes::counters::render);
    assert!(!exact.contains("est."), "{exact}");
}

/// Every reason a machine can give at once: the notes must not crowd out the threads.
fn many_reasons() -> CounterValues {
    let mut values = time_shared_pmu();
    values.cycles = None;
    values.unavailable.insert(
        "cycles".to_owned(),
        "not counted in this span: the kernel gave the PMU to other events for all the time \
         the thread ran"
            .to_owned(),
    );
    values
}

#[test]
fn the_counters_notes_leave_the_threads_their_rows() {
    let text = pane(&app(many_reasons, false), 60, 9, panes::counters::render);
    for thread in ["producer-0", "consumer-0", "consumer-1"] {
        assert!(text.contains(thread), "{thread} is not shown:\n{text}");
    }
    assert!(text.contains("n/a: not counted"), "{text}");
}

#[test]
fn compression_pane() {
    insta::assert_snapshot!(pane(&app(no_pmu, true), 50, 6, panes::compression::render));
}

#[test]
fn a_codec_with_a_long_name_keeps_its_speeds_whole() {
    let mut app = app(no_pmu, true);
    let codec = app.snapshot.as_mut().unwrap().codec.as_mut().unwrap();
    codec.name = Some("decimal-fast".into());
    codec.decode_ns_per_row = Some(10.5);
    // 40 columns, as at an 80-column terminal: `decimal-fast  enc 1600 MB/s  dec 6095 MB/s`
    // is 42 wide; the encoder's speed gives way rather than `dec 6095` becoming `dec 60`.
    let text = pane(&app, 40, 6, panes::compression::render);
    assert!(text.contains("decimal-fast  dec 6095 MB/s"), "{text}");
    let wide = pane(&app, 60, 6, panes::compression::render);
    assert!(wide.contains("enc 1600 MB/s  dec 6095 MB/s"), "{wide}");
}

#[test]
fn a_ratio_that_barely_moves_is_said_in_figures_beside_its_level_bars() {
    let mut app = app(no_pmu, true);
    app.ratio_history = [2393, 2398, 2396].into_iter().collect();
    let text = pane(&app, 50, 6, panes::compression::render);
    // The bars rise from zero: 23.93 and 23.98 draw alike, so the range is written out.
    assert!(text.contains("ratio, last 3.0 s: 23.93–23.98×"), "{text}");
}

#[test]
fn compression_pane_for_an_unframed_run() {
    insta::assert_snapshot!(pane(&app(no_pmu, false), 50, 6, panes::compression::render));
}

#[test]
fn throughput_pane() {
    insta::assert_snapshot!(pane(&app(no_pmu, false), 60, 8, panes::throughput::render));
}

#[test]
fn help_and_pickers_draw_over_the_panes() {
    let mut app = app(no_pmu, true);
    app.mode = Mode::Help;
    insta::assert_snapshot!("help", screen(&app, 80, 24));
    app.mode = Mode::CpuPicker { cursor: 3 };
    // Each CPU says which of this run's threads are on it, and another process's pinned thread
    // busy there.
    app.cpus_busy_elsewhere.insert(
        7,
        vec![ringtop::metrics::sched::OtherTask {
            name: "ringtop".into(),
            pid: 4242,
        }],
    );
    insta::assert_snapshot!("cpu_picker", screen(&app, 80, 24));
}

#[test]
fn the_help_on_a_small_terminal_keeps_its_columns_and_scrolls_to_its_end() {
    let mut app = app(no_pmu, true);
    app.key(key(KeyCode::Char('?')));
    let text = screen(&app, 60, 18);
    // A description too long for the line goes on under itself, the key column kept clear.
    assert!(
        text.contains("│p               pick a CPU for the selected thread"),
        "{text}"
    );
    assert!(
        text.contains("│                (grey: not allowed)"),
        "{text}"
    );
    assert!(
        text.contains("lines 1–15 of 35: ↑↓ PgUp PgDn scroll"),
        "{text}"
    );
    assert!(!text.contains("scheduled send time"), "{text}");
    app.key(key(KeyCode::PageDown));
    app.key(key(KeyCode::PageDown));
    let text = screen(&app, 60, 18);
    assert!(text.contains("Latency counts from each row's"), "{text}");
    assert!(
        text.contains("│=max            a percentile of too few samples: it is"),
        "{text}"
    );
    assert!(text.contains("lines 21–35 of 35: ↑↓"), "{text}");
    assert_eq!(app.mode, Mode::Help);
}

#[test]
fn a_receiver_offers_no_key_for_what_its_sender_chooses() {
    let mut profile = ringtop::profile::builtin::get("remote-tcp").unwrap();
    let transport = profile.transport.as_mut().unwrap();
    transport.connect = None;
    transport.listen = Some("127.0.0.1:7471".into());
    // As `ringtop serve` makes it: the sender chooses the codec.
    profile.codec = None;
    let mut app = App::new("serve", None, &profile);
    app.color = false;
    // The codec, pace and pause keys say whose they are, and open nothing.
    for code in ['c', '+', '-', ' '] {
        app.status = None;
        assert_eq!(app.key(key(KeyCode::Char(code))), Effect::None, "{code:?}");
        assert_eq!(app.mode, Mode::Normal, "{code:?}");
        let status = app.status.as_ref().unwrap();
        assert!(
            status.error && status.text.contains("the sender chooses"),
            "{code:?}"
        );
    }
    // What the receiving consumer does is its own.
    assert_eq!(
        app.key(key(KeyCode::Char('b'))),
        Effect::Send(Command::Batch { size: 32 })
    );
    let shown = screen(&app, 120, 30);
    for gone in ["c codec", "+/- pace", "space pause", "t tune"] {
        assert!(!shown.contains(gone), "{gone}:\n{shown}");
    }
    assert!(
        shown.contains("b/B batch") && shown.contains("? help"),
        "{shown}"
    );
    // A sender keeps them, but for the search, which runs local workloads, and the keys of the
    // latency its receiver times.
    let mut sender = App::new(
        "remote-tcp",
        None,
        &ringtop::profile::builtin::get("remote-tcp").unwrap(),
    );
    sender.color = false;
    let shown = screen(&sender, 120, 30);
    assert!(
        shown.contains("c codec") && !shown.contains("t tune"),
        "{shown}"
    );
    for gone in ["r reset", "a latency span", "f/F prefetch"] {
        assert!(!shown.contains(gone), "{gone}:\n{shown}");
    }
    for code in ['r', 'a'] {
        sender.status = None;
        assert_eq!(
            sender.key(key(KeyCode::Char(code))),
            Effect::None,
            "{code:?}"
        );
        let status = sender.status.as_ref().unwrap();
        assert!(
            status.error
                && status
                    .text
                    .starts_with("this process sends: its rows are read"),
            "{code:?}: {status:?}"
        );
    }
    assert!(!sender.latency_whole);
}

/// The prefetch keys are offered where the ring prefetches: a row ring's (spsc, broadcast), not
/// a framed one's, whose frames have no slots to prefetch; the codec picker where rows travel in
/// frames. Pressed anyway, each says why not.
#[test]
fn the_prefetch_and_codec_keys_are_offered_only_where_they_act() {
    let mut rows = app(no_pmu, false);
    let shown = screen(&rows, 120, 30);
    assert!(shown.contains("f/F prefetch"), "{shown}");
    assert!(!shown.contains("c codec"), "{shown}");
    assert_eq!(rows.key(key(KeyCode::Char('c'))), Effect::None);
    let status = rows.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("this run moves rows, not frames"),
        "{status:?}"
    );
    let framed = screen(&app(no_pmu, true), 120, 30);
    assert!(!framed.contains("f/F prefetch"), "{framed}");
    assert!(framed.contains("c codec"), "{framed}");
    assert!(framed.contains("b/B batch"), "{framed}");
}

/// `t` is offered where a search can run on the workload: one producer and one consumer here.
#[test]
fn the_tune_key_is_offered_only_where_a_search_can_run() {
    for (name, offered) in [
        ("default", true),
        ("low-latency", true),
        ("broadcast-fanout", false),
        ("remote-tcp", false),
    ] {
        let profile = ringtop::profile::builtin::get(name).unwrap();
        let mut app = App::new(name, None, &profile);
        assert_eq!(app.offers("t tune"), offered, "{name}");
        assert_eq!(screen(&app, 160, 30).contains("t tune"), offered, "{name}");
        // Pressed anyway, it says why rather than stopping the workload.
        if !offered {
            assert_eq!(app.key(key(KeyCode::Char('t'))), Effect::Tune, "{name}");
        }
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

#[test]
fn h_checks_the_host_and_shows_the_report_until_any_key() {
    let mut app = app(no_pmu, false);
    assert_eq!(app.key(key(KeyCode::Char('h'))), Effect::CheckHost);
    let report = ringtop::doctor::examine(&ringtop::doctor::Plan {
        cpus: vec![0],
        ..Default::default()
    });
    app.mode = Mode::HostCheck {
        lines: report.table().lines().map(str::to_owned).collect(),
    };
    let text = screen(&app, 160, 30);
    assert!(text.contains("Host check (ringtop doctor)"), "{text}");
    for check in &report.checks {
        assert!(
            text.contains(&check.name),
            "{} missing:\n{text}",
            check.name
        );
    }
    // At 80 columns the report's long lines wrap between words: every word of it is on the
    // screen whole, none cut at the overlay's edge.
    let text = screen(&app, 80, 60);
    let shown: std::collections::BTreeSet<&str> = text
        .split(|c: char| c.is_whitespace() || c == '│' || c == '"')
        .collect();
    for word in report.table().split_whitespace() {
        assert!(shown.contains(word), "{word:?} cut or missing:\n{text}");
    }
    assert_eq!(app.key(key(KeyCode::Char('x'))), Effect::None);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn the_cpu_picker_repins_the_selected_thread() {
    let mut app = app(no_pmu, false);
    assert_eq!(app.key(key(KeyCode::Down)), Effect::None);
    assert_eq!(app.selected_name(), Some("consumer-0"));
    app.key(key(KeyCode::Char('p')));
    assert_eq!(
        app.mode,
        Mode::CpuPicker { cursor: 2 },
        "starts on the thread's CPU"
    );
    app.key(key(KeyCode::Down));
    let effect = app.key(key(KeyCode::Enter));
    assert_eq!(
        effect,
        Effect::Send(Command::Repin {
            thread: "consumer-0".into(),
            cpu: 3
        })
    );
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn a_cpu_that_is_not_allowed_is_refused_in_the_picker() {
    let mut app = app(no_pmu, false);
    if let Some(t) = &mut app.topology {
        t.pus[4].allowed = false;
    }
    app.key(key(KeyCode::Char('p')));
    app.mode = Mode::CpuPicker { cursor: 4 };
    assert_eq!(app.key(key(KeyCode::Enter)), Effect::None);
    let status = app.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("CPU 4 is not available"),
        "{status:?}"
    );
}

#[test]
fn batch_prefetch_pause_and_reset_keys_send_commands() {
    let mut app = app(no_pmu, false);
    assert_eq!(
        app.key(key(KeyCode::Char('b'))),
        Effect::Send(Command::Batch { size: 32 })
    );
    assert_eq!(
        app.key(key(KeyCode::Char('B'))),
        Effect::Send(Command::Batch { size: 128 })
    );
    // At the bottom already, the key says so rather than send what changes nothing.
    assert_eq!(app.key(key(KeyCode::Char('f'))), Effect::None);
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .contains("prefetch is off (0) already")
    );
    assert_eq!(
        app.key(key(KeyCode::Char('F'))),
        Effect::Send(Command::Prefetch { distance: 1 })
    );
    app.applied(&Command::Prefetch { distance: 1 });
    assert_eq!(
        app.key(key(KeyCode::Char('f'))),
        Effect::Send(Command::Prefetch { distance: 0 })
    );
    app.applied(&Command::Batch { size: 1 });
    assert_eq!(app.key(key(KeyCode::Char('b'))), Effect::None);
    assert_eq!(app.status.as_ref().unwrap().text, "batch 1 is the smallest");
    assert_eq!(
        app.key(key(KeyCode::Char(' '))),
        Effect::Send(Command::Pause)
    );
    assert_eq!(
        app.key(key(KeyCode::Char('r'))),
        Effect::Send(Command::ResetHistograms)
    );
    assert_eq!(
        app.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Effect::Quit
    );
    assert_eq!(app.key(key(KeyCode::Char('q'))), Effect::Quit);
}

/// The latency pane says its figures are the last interval's; a reset, once applied, forgets
/// the p99 history it drew as the engine forgets the latency recorded so far.
#[test]
fn the_latency_pane_says_its_span_and_a_reset_clears_its_history() {
    let mut app = app(no_pmu, false);
    let before = pane(&app, 60, 10, panes::latency::render);
    assert!(
        before.contains(" Latency per consumer, last 1.0 s "),
        "{before}"
    );
    assert!(app.p99_history.values().all(|h| !h.is_empty()));
    app.applied(&Command::ResetHistograms);
    assert!(app.p99_history.is_empty());
    let after = pane(&app, 60, 10, panes::latency::render);
    assert!(
        !after.contains('█'),
        "no history drawn after a reset:\n{after}"
    );
    app.applied(&Command::Batch { size: 32 });
    assert_eq!(app.batch, 32);
}

/// `a` switches the latency table between the last interval and the run since its start (or
/// the last reset), and the title says which.
#[test]
fn a_switches_the_latency_table_to_the_whole_run_and_back() {
    let mut app = app(no_pmu, false);
    let snapshot = app.snapshot.as_mut().unwrap();
    snapshot.threads[1].latency_total_ns = Some(latency(777, 88_800));
    let interval = pane(&app, 60, 10, panes::latency::render);
    assert!(!interval.contains("777ns"), "{interval}");
    assert_eq!(app.key(key(KeyCode::Char('a'))), Effect::None);
    let whole = pane(&app, 60, 10, panes::latency::render);
    assert!(
        whole.contains(" Latency per consumer, since start/r "),
        "{whole}"
    );
    assert!(whole.contains("777ns  88.8µs 266µs  888µs"), "{whole}");
    // Whole in the pane an 80-column dashboard gives it.
    let narrow = pane(&app, 40, 10, panes::latency::render);
    assert!(narrow.contains("since start/r ─"), "{narrow}");
    assert!(
        app.status
            .as_ref()
            .unwrap()
            .text
            .starts_with("latency since the start")
    );
    app.key(key(KeyCode::Char('a')));
    assert_eq!(pane(&app, 60, 10, panes::latency::render), interval);
}

#[test]
fn pace_keys_step_one_two_five_and_flat_out_where_the_producer_falls_short() {
    // broadcast-fanout offers 500k rows/s a producer; the fixture's producer sends 1 M.
    let mut app = app(no_pmu, false);
    assert_eq!(app.rate, 500_000);
    assert!(screen(&app, 120, 30).contains("  pace 500k  "));
    assert_eq!(
        app.key(key(KeyCode::Char('+'))),
        Effect::Send(Command::Rate {
            rows_per_s: 1_000_000
        })
    );
    assert_eq!(
        app.key(key(KeyCode::Char('-'))),
        Effect::Send(Command::Rate {
            rows_per_s: 200_000
        })
    );
    // Offering 5 M while it sends 1 M: higher would only add to its lag, so + runs it flat out.
    app.rate = 5_000_000;
    assert_eq!(
        app.key(key(KeyCode::Char('+'))),
        Effect::Send(Command::Rate { rows_per_s: 0 })
    );
    // Flat out: - paces it a step below what it delivers; + has nowhere to go.
    app.rate = 0;
    assert!(screen(&app, 120, 30).contains("  flat out  "));
    assert_eq!(
        app.key(key(KeyCode::Char('-'))),
        Effect::Send(Command::Rate {
            rows_per_s: 500_000
        })
    );
    assert_eq!(app.key(key(KeyCode::Char('+'))), Effect::None);
    assert!(
        app.status
            .as_ref()
            .is_some_and(|s| s.error && s.text.starts_with("flat out already")),
        "{:?}",
        app.status
    );
    app.rate = 1;
    assert_eq!(app.key(key(KeyCode::Char('-'))), Effect::None);
}

#[test]
fn batch_and_prefetch_keys_offer_only_what_the_ring_takes() {
    let mut rows = app(no_pmu, false);
    rows.batch = rows.ring.capacity / 2;
    assert_eq!(
        rows.key(key(KeyCode::Char('B'))),
        Effect::Send(Command::Batch {
            size: rows.ring.capacity
        })
    );
    rows.batch = rows.ring.capacity;
    assert_eq!(rows.key(key(KeyCode::Char('B'))), Effect::None);
    let status = rows.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("the largest"),
        "{status:?}"
    );

    let mut framed = app(no_pmu, true);
    assert_eq!(framed.key(key(KeyCode::Char('F'))), Effect::None);
    let status = framed.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("no slots to prefetch"),
        "{status:?}"
    );
    framed.batch = 1;
    let Effect::Send(Command::Batch { size }) = framed.key(key(KeyCode::Char('B'))) else {
        panic!("a framed ring takes a batch of 2");
    };
    assert_eq!(size, 2);
    framed.batch = ringtop::profile::rules::largest_batch(framed.ring);
    assert_eq!(framed.key(key(KeyCode::Char('B'))), Effect::None);
}

#[test]
fn the_codec_key_needs_a_framed_run() {
    let mut unframed = app(no_pmu, false);
    assert_eq!(unframed.key(key(KeyCode::Char('c'))), Effect::None);
    assert!(unframed.status.unwrap().error);

    let mut framed = app(no_pmu, true);
    framed.key(key(KeyCode::Char('c')));
    assert_eq!(
        framed.mode,
        Mode::CodecPicker {
            cursor: CodecId::Decimal as usize
        }
    );
    framed.key(key(KeyCode::Up));
    assert_eq!(
        framed.key(key(KeyCode::Enter)),
        Effect::Send(Command::Codec { name: CodecId::Rle })
    );
}

#[test]
fn saving_asks_before_overwriting() {
    let mut app = app(no_pmu, false);
    app.key(key(KeyCode::Char('s')));
    for c in "my-tune".chars() {
        app.key(key(KeyCode::Char(c)));
    }
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        Effect::Save {
            name: "my-tune".into(),
            overwrite: false
        }
    );
    // The event loop found the file there.
    app.ask_to_overwrite("my-tune".into());
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        Effect::Save {
            name: "my-tune".into(),
            overwrite: true
        }
    );
    app.ask_to_overwrite("my-tune".into());
    assert_eq!(app.key(key(KeyCode::Esc)), Effect::None);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn loading_offers_the_built_in_profiles() {
    let mut app = app(no_pmu, false);
    app.key(key(KeyCode::Char('l')));
    app.key(key(KeyCode::Down));
    assert_eq!(
        app.key(key(KeyCode::Enter)),
        Effect::Load("low-latency".into())
    );
}

#[test]
fn a_click_on_a_table_row_selects_that_thread() {
    let mut app = app(no_pmu, false);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut areas = view::Areas::default();
    terminal
        .draw(|frame| areas = view::draw(frame, &app))
        .unwrap();
    let latency = areas.latency.unwrap();
    // Second data row of the latency table: consumer-1, thread index 2.
    let hit = view::thread_at(&app, &areas, latency.x + 2, latency.y + 3);
    assert_eq!(hit, Some(2));
    app.select_thread(hit.unwrap());
    assert_eq!(app.selected_name(), Some("consumer-1"));
    let counters = areas.counters.unwrap();
    assert_eq!(
        view::thread_at(&app, &areas, counters.x + 2, counters.y + 2),
        Some(0)
    );
    assert_eq!(
        view::thread_at(&app, &areas, counters.x + 2, counters.y),
        None,
        "the border"
    );
}

fn link(role: LinkRole) -> TransportSnapshot {
    let sender = role == LinkRole::Sender;
    TransportSnapshot {
        kind: "tcp".into(),
        role,
        address: "127.0.0.1:7471".into(),
        peer: Some(
            if sender {
                "127.0.0.1:7471"
            } else {
                "10.0.0.2:51234"
            }
            .into(),
        ),
        connected: true,
        connected_s: Some(3.0),
        frames: 167_015,
        bytes: 68_252_292,
        frames_per_s: 55_383.0,
        mb_per_s: 22.6,
        rows_acknowledged: sender.then_some(2_992_905),
        round_trip_ns: sender.then(|| latency(38_000, 1_400_000)),
        one_way_ns: None,
        one_way_unavailable: Some(if sender {
            "measured by the receiver".into()
        } else {
            "the sender runs on another host (its boot id differs): one-way times would compare two clocks; the sender reports round trips".into()
        }),
        credit_stalls: sender.then_some(12),
        cap_waits: sender.then_some(3_400),
        link_mbps: sender.then_some(1000.0),
        sessions: 2,
        reconnects: 1,
        refused: 1,
        dropped: 1,
        last_error: Some("peer 10.0.0.9:40000: wrong token".into()),
    }
}

fn remote_app(role: LinkRole) -> App {
    let mut app = app(no_pmu, true);
    let mut s = at(fixture(no_pmu, true), 3726.0);
    s.transport = Some(link(role));
    app.update(s);
    // As a profile of that end makes it.
    app.sending = role == LinkRole::Sender;
    app.receiving = role == LinkRole::Receiver;
    app
}

#[test]
fn transport_pane_of_a_sender_shows_round_trips_and_the_cap() {
    let app = remote_app(LinkRole::Sender);
    let text = pane(
        &app,
        70,
        panes::transport::height(&app, 70),
        panes::transport::render,
    );
    assert!(text.contains("round trip p50 38.0µs"), "{text}");
    assert!(text.contains("linked 3.0 s in all"), "{text}");
    assert!(text.contains("cap 1000 Mbit/s"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn transport_pane_of_a_receiver_says_why_one_way_is_unavailable() {
    let app = remote_app(LinkRole::Receiver);
    let text = pane(
        &app,
        70,
        panes::transport::height(&app, 70),
        panes::transport::render,
    );
    assert!(
        text.contains("one-way n/a: the sender runs on another host"),
        "{text}"
    );
    insta::assert_snapshot!(text);
}

#[test]
fn a_remote_run_shows_its_transport_pane() {
    let wide = screen(&remote_app(LinkRole::Sender), 120, 40);
    assert!(wide.contains("Transport: tcp sender"), "{wide}");
    let narrow = screen(&remote_app(LinkRole::Receiver), 60, 20);
    assert!(narrow.contains("Transport: tcp receiver"), "{narrow}");
    insta::assert_snapshot!(wide);
    // At 80 columns the pane is 40 wide: its name gives way, the port stays whole (it read
    // `127.0.0.1:747`).
    for role in [LinkRole::Sender, LinkRole::Receiver] {
        for width in [30, 36, 40, 44, 60] {
            let text = pane(&remote_app(role), width, 8, panes::transport::render);
            let title = text.lines().next().unwrap();
            assert!(title.contains(" 127.0.0.1:7471 "), "{width}: {title}");
        }
    }
}

/// A sender as it runs: its producer here, its consumer at the receiver.
fn sender_app() -> App {
    let mut app = app(no_pmu, true);
    let mut s = at(fixture(no_pmu, true), 3726.0);
    s.threads.retain(|t| t.role == Role::Producer);
    // Its frames are decoded, and its rows checked, at the receiver.
    s.codec.as_mut().unwrap().decode_ns_per_row = None;
    s.totals.lost = None;
    s.totals.duplicated = None;
    s.totals.reordered = None;
    s.transport = Some(link(LinkRole::Sender));
    app.update(s);
    app.sending = true;
    app
}

/// A sender's dashboard says why it shows no latency (its rows are timed at the receiver) rather
/// than draw an empty table; short of rows, it keeps its link's state and whole last error and
/// its codec's pane (the ratio, and the speed of the side this end runs) before the link's other
/// lines; its header counts the rows in flight, not a fill of a ring it does not hold, and says
/// its rows are checked at the receiver rather than count lost rows it never checked.
#[test]
fn a_senders_dashboard_says_why_it_times_no_row_and_keeps_its_links_state_and_its_codec() {
    let app = sender_app();
    for (width, height) in [(80, 24), (100, 30), (120, 40)] {
        let text = screen(&app, width, height);
        for line in [
            "connected  sessions 2",
            "last error: peer 10.0.0.9:40000",
            "token",
            "round trip p50 38.0µs",
            "ratio 25.60×",
            "enc 1600 MB/s",
            "in flight 17 rows",
            "rows checked at the receiver",
        ] {
            assert!(text.contains(line), "{width}x{height}: {line}\n{text}");
        }
        assert!(!text.contains("fill 17"), "{width}x{height}\n{text}");
        // It checks no row: it claims no count of lost ones.
        assert!(!text.contains("lost 0"), "{width}x{height}\n{text}");
        // Its peer is the address in the pane's title: not said twice.
        assert!(!text.contains("peer 127.0.0.1"), "{width}x{height}\n{text}");
        if height >= 30 {
            for line in ["dropped 1", "acked 2.99M rows", "dec n/a (far end)"] {
                assert!(text.contains(line), "{width}x{height}: {line}\n{text}");
            }
        }
        // Short of rows, the note gives way first.
        if height >= 40 {
            assert!(text.contains("no consumer here: a sender's rows"), "{text}");
        }
    }
    insta::assert_snapshot!(screen(&app, 120, 40));
    insta::assert_snapshot!("a_senders_dashboard_at_80x24", screen(&app, 80, 24));
}

/// A receiver before its first frame does not know its sender's codec, and says so.
#[test]
fn a_receiver_before_its_first_frame_says_its_codec_is_not_known_yet() {
    let mut app = app(no_pmu, true);
    let mut s = at(fixture(no_pmu, true), 3726.0);
    s.codec.as_mut().unwrap().name = None;
    s.transport = Some(link(LinkRole::Receiver));
    app.update(s);
    let text = pane(&app, 60, 8, panes::compression::render);
    assert!(text.contains("codec n/a: no frame yet"), "{text}");
}

/// A receiver short of rows keeps its consumer's latency row (what ringtop is for) before the
/// codec's pane, and every line of its link.
#[test]
fn a_short_receivers_dashboard_keeps_its_consumers_latency_and_its_link() {
    let mut app = app(no_pmu, true);
    let mut s = at(fixture(no_pmu, true), 3726.0);
    s.threads
        .retain(|t| t.role == Role::Consumer && t.name == "consumer-0");
    // A sender on this host: the one-way times are on one line.
    let mut link = link(LinkRole::Receiver);
    link.last_error = None;
    link.one_way_unavailable = None;
    link.one_way_ns = s.threads[0].latency_ns;
    s.transport = Some(link);
    app.update(s);
    let text = screen(&app, 80, 24);
    assert!(text.contains("Latency per consumer"), "{text}");
    assert!(text.contains("C0 2    450ns"), "{text}");
    assert!(text.contains("refused 1  dropped 1"), "{text}");
}

/// A receiver whose sender runs on another host says at length why it times no row one way:
/// short of rows, that note gives way before its consumer's latency and its link's state and last
/// error, which are drawn whole.
#[test]
fn a_short_cross_host_receiver_keeps_its_latency_and_its_links_state_before_the_long_note() {
    let mut app = app(no_pmu, true);
    let mut s = at(fixture(no_pmu, true), 3726.0);
    s.threads
        .retain(|t| t.role == Role::Consumer && t.name == "consumer-0");
    s.transport = Some(link(LinkRole::Receiver));
    app.update(s);
    let text = screen(&app, 80, 24);
    for line in [
        "C0 2    450ns",
        "connected  peer 10.0.0.2:51234",
        "last error: peer 10.0.0.9:40000",
        "token",
        "wire 22.6 MB/s",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("one-way n/a"), "{text}");
    // With the rows for it, the note is there.
    let tall = screen(&app, 80, 40);
    assert!(tall.contains("one-way n/a: the sender runs on"), "{tall}");
    insta::assert_snapshot!(text);
}

#[test]
fn g_asks_for_the_flamegraph_and_the_keys_say_so() {
    let mut app = app(no_pmu, false);
    assert_eq!(app.key(key(KeyCode::Char('g'))), Effect::Flamegraph);
    assert!(screen(&app, 120, 40).contains("g flame"));
}

#[test]
fn t_starts_a_search_whose_progress_draws_over_the_panes_until_any_key() {
    use ringtop::tui::tune::TuneView;
    use ringtop::tune::{Goal, Progress};
    let mut app = app(no_pmu, false);
    assert_eq!(app.key(key(KeyCode::Char('t'))), Effect::Tune);
    let mut view = TuneView::new(&ringtop::tune::SearchConfig::new(
        Goal::Latency,
        std::time::Duration::from_secs(30),
    ));
    view.update(&Progress {
        phase: "rung 2".into(),
        spent: std::time::Duration::from_secs(21),
        budget: std::time::Duration::from_secs(30),
        candidate: "spsc cpus 1->0 cap 256 batch 4 wait spin/spin".into(),
        leader: Some("relay cpus 0->1 cap 256 batch 1 wait spin/spin".into()),
        trials_done: 41,
    });
    app.tune = Some(view);
    app.mode = Mode::Tune;
    insta::assert_snapshot!("tune", screen(&app, 80, 24));
    assert_eq!(app.key(key(KeyCode::Char('y'))), Effect::None);
    assert_eq!(app.mode, Mode::Normal);
    // Shown again, `x` cancels the search.
    app.mode = Mode::Tune;
    assert_eq!(app.key(key(KeyCode::Char('x'))), Effect::CancelTune);
    assert_eq!(app.mode, Mode::Normal);
}

/// Narrower than columns, a sender's link comes first: its round trips are its only latency, so
/// they are not pushed out by the latency pane's note that no consumer runs here; a receiver's
/// latency pane is drawn only with room for a consumer's row under its header.
#[test]
fn a_narrow_senders_dashboard_keeps_its_round_trips_before_the_latency_note() {
    let mut sender = sender_app();
    sender.color = false;
    let text = screen(&sender, 45, 14);
    assert!(
        text.contains("│round trip p50 38.0µs  p99 1.40ms"),
        "{text}"
    );
    assert!(!text.contains("no consumer here"), "{text}");
    // With room, the note is drawn too, below nothing the link needs.
    let tall = screen(&sender, 60, 30);
    assert!(
        tall.contains("no consumer here: a sender's rows are timed"),
        "{tall}"
    );
    assert!(tall.contains("round trip p50 38.0µs"), "{tall}");
    let mut receiver = remote_app(LinkRole::Receiver);
    receiver.color = false;
    let text = screen(&receiver, 45, 14);
    assert!(
        !text.contains("│thread     cpu  p50"),
        "a header without a row:\n{text}"
    );
    let taller = screen(&receiver, 45, 20);
    assert!(
        taller.contains("│C0 ") || taller.contains("│consumer-0 "),
        "{taller}"
    );
}
