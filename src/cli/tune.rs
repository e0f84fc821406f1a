//! `ringtop tune` and `ringtop sweep`: the search and the grid on the real engine, with
//! progress on stderr, a table at the end, and JSON for scripts.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use ringtop::input::{DOCUMENT_BYTES, read_document};
use ringtop::metrics::latency::P99_SAMPLES;
use ringtop::profile::RingKind;
use ringtop::topology::c2c::{self, C2cConfig, C2cReport};
use ringtop::tune::{
    self, EngineTrials, Goal, SearchConfig, SpaceInputs, TrialOutcome, Trials, sweep,
};

use super::args::{GoalArg, SweepArgs, TuneArgs};
use super::tune_document::TuneDocument;
use super::{
    chosen_profile, json_line, stop_on_signals, usage_error, writable_output, write_stdout,
};

/// A progress bar on stderr when it is a terminal; hidden otherwise (scripts, CI).
fn bar(length: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The core-to-core map with a progress bar and the time left, as `c2c` and `tune` measure it.
pub(super) fn measure_c2c(config: &C2cConfig) -> Result<C2cReport, c2c::C2cError> {
    let progress = bar(
        0,
        "core-to-core map {bar:40} {pos}/{len} pairs, {elapsed} spent, ~{eta} left",
    );
    let report = c2c::run_with_progress(config, &mut |done, total| {
        progress.set_length(total as u64);
        progress.set_position(done as u64);
    });
    progress.finish_and_clear();
    report
}

/// A map saved by `c2c --json`, checked against this host's CPUs.
fn saved_c2c(path: &Path) -> Result<C2cReport, String> {
    let text = read_document(path, DOCUMENT_BYTES, "a core-to-core map")
        .map_err(|e| format!("cannot read the core-to-core map {}: {e}", path.display()))?;
    let report: C2cReport = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a map written by `ringtop c2c --json`: {e}",
            path.display()
        )
    })?;
    let allowed = ringtop::topology::pin::allowed_cpus();
    let missing: Vec<usize> = report
        .cpus
        .iter()
        .copied()
        .filter(|c| !allowed.contains(c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{}: the map covers CPUs this host does not let ringtop use ({}); measure it here \
             with `ringtop c2c --json`",
            path.display(),
            ringtop::topology::cpulist::format_cpu_list(&missing)
        ));
    }
    Ok(report)
}

pub(super) fn run_tune(args: &TuneArgs) -> ExitCode {
    // The base with no profile given: the goal's built-in, and with no goal either, the one a
    // pace (`--rate 500k`) or its absence asks for.
    let paced = args.rate.is_some_and(|rate| rate > 0);
    let fallback = match (args.goal, paced) {
        (Some(GoalArg::Latency), _) | (None, true) => "low-latency",
        (Some(GoalArg::Throughput), _) | (None, false) => "throughput",
    };
    let (mut base, base_name) =
        match chosen_profile(args.profile.as_ref(), args.builtin.as_ref(), fallback) {
            Ok(chosen) => chosen,
            Err(err) => return usage_error(&err),
        };
    if let Some(rate) = args.rate {
        base.workload.rate = rate;
        if let Err(err) = base.validate("--rate") {
            return usage_error(&err);
        }
    }
    let goal = match args.goal {
        Some(GoalArg::Latency) => Goal::Latency,
        Some(GoalArg::Throughput) => Goal::Throughput,
        None => Goal::for_base(&base),
    };
    base.workload.duration = None;
    if args.min_ratio.is_some() && base.codec.is_none() {
        return usage_error(&format!(
            "--min-ratio needs a framed base profile (one with a [codec] section, like \
             `--builtin compressed-timeseries`): `{base_name}` sends rows unframed"
        ));
    }
    let from_base = SearchConfig::for_base(goal, args.budget, &base);
    let config = SearchConfig {
        confidence: args.confidence,
        seed: args.seed,
        min_codec_ratio: args.min_ratio.or(from_base.min_codec_ratio),
        ..from_base
    };
    // What can be known before anything is measured is asked first: a search of minutes must
    // not end in a budget or a path that was never going to do. A base no search can take
    // comes before a budget that would only need raising.
    if let Err(err) = tune::check_base(&base) {
        return usage_error(&err);
    }
    let pace_from = args
        .rate
        .map_or_else(|| format!("`{base_name}`"), |rate| format!("--rate {rate}"));
    if let Some(why) = goal.unrankable(&base, &pace_from) {
        return usage_error(&why);
    }
    if let Err(err) = tune::check_budget(&config, EngineTrials::default().overhead()) {
        return usage_error(&err);
    }
    // Whether the file itself may be written is left to the end: opening it now would empty a
    // profile the search may be about to replace.
    if let Err(err) = writable_output("--output", &args.output, "tuned.toml") {
        return usage_error(&err);
    }
    let topology = match ringtop::topology::host() {
        Ok(topology) => topology,
        Err(err) => return usage_error(&err),
    };
    let map = match &args.c2c {
        Some(path) => saved_c2c(path),
        None => {
            say!("ringtop tune: measuring the core-to-core map to rank CPU pairs");
            measure_c2c(&C2cConfig::default()).map_err(|e| e.to_string())
        }
    };
    let map = match map {
        Ok(map) => map,
        Err(err) => return usage_error(&err),
    };
    let codecs = tune::favoured_codecs(&base, config.min_codec_ratio);
    let inputs = SpaceInputs {
        base: &base,
        topology,
        c2c: &map,
        allow_smt: args.allow_smt,
        latency: goal == Goal::Latency,
        codecs,
    };
    let candidates = match tune::candidates(&inputs) {
        Ok(candidates) => candidates,
        Err(err) => return usage_error(&err),
    };
    let progress = bar(
        args.budget.as_millis() as u64,
        "{elapsed} [{bar:40}] {percent}% of the budget, ~{eta} left, {msg}",
    );
    // Ctrl-C stops the search after (or within) the trial running: what it measured is
    // reported, nothing is written; a second Ctrl-C exits at once.
    let interrupted = stop_on_signals();
    let config = SearchConfig {
        stop: Some(interrupted.clone()),
        ..config
    };
    let mut trials = EngineTrials::stopping_on(interrupted);
    let record = tune::search(&candidates, &mut trials, &config, &mut |p| {
        progress.set_position(p.spent.as_millis() as u64);
        progress.set_message(format!("{}: {}", p.phase, p.candidate));
    });
    progress.finish_and_clear();
    let record = match record {
        Ok(record) => record,
        Err(err) => return usage_error(&err),
    };
    if record.interrupted {
        return tune_interrupted(&record, &candidates, &base_name, args);
    }
    let command = std::iter::once("ringtop".to_owned())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let written = match tune::evidence(&record, &candidates, &base_name, &command) {
        Ok(written) => written,
        Err(err) => {
            say!("ringtop: cannot write the profile: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = ringtop::save::write_whole(&args.output, written.text.as_bytes()) {
        // Checked before the search, so rare (the disk filled, the directory went): the
        // search's result is not lost with the file.
        say!(
            "ringtop: cannot write {}: {err}; the profile follows\n{}",
            args.output.display(),
            written.text
        );
        return ExitCode::FAILURE;
    }
    say!("{}", record.table(&candidates).trim_end_matches('\n'));
    say!("wrote {}", args.output.display());
    if args.json {
        return write_stdout(json_line(&TuneDocument::of(
            &base_name,
            &candidates,
            &record,
            Some((
                args.output.display().to_string(),
                written.baseline,
                written.chosen,
            )),
        )));
    }
    ExitCode::SUCCESS
}

/// A search stopped by Ctrl-C: its table and record (with `--json`), no profile written (nothing
/// was confirmed), exit status 130 as for any command a SIGINT ended.
fn tune_interrupted(
    record: &tune::SearchRecord,
    candidates: &[tune::Candidate],
    base_name: &str,
    args: &TuneArgs,
) -> ExitCode {
    say!("{}", record.table(candidates).trim_end_matches('\n'));
    say!(
        "interrupted: nothing written to {} (the search did not end, so nothing was confirmed)",
        args.output.display()
    );
    if args.json {
        let shown = write_stdout(json_line(&TuneDocument::of(
            base_name, candidates, record, None,
        )));
        if shown != ExitCode::SUCCESS {
            return shown;
        }
    }
    ExitCode::from(130)
}

pub(super) fn run_sweep(args: &SweepArgs) -> ExitCode {
    let (base, _) = match chosen_profile(args.profile.as_ref(), args.builtin.as_ref(), "default") {
        Ok(chosen) => chosen,
        Err(err) => return usage_error(&err),
    };
    let axes: Result<Vec<_>, _> = args.set.iter().map(|s| sweep::Axis::parse(s)).collect();
    let axes = match axes {
        Ok(axes) => axes,
        Err(err) => return usage_error(&err),
    };
    let grid = match sweep::grid(&base, &axes) {
        Ok(grid) => grid,
        Err(err) => return usage_error(&err),
    };
    // Where rows/s is not one producer's rows: several producers, or several consumers reading
    // each row.
    let reads_differ_from_rate = grid.iter().any(|point| {
        let (ring, workload) = (&point.profile.ring, &point.profile.workload);
        workload.producers > 1 || (ring.kind == RingKind::Broadcast && workload.consumers > 1)
    });
    let progress = bar(
        grid.len() as u64,
        "{bar:40} {pos}/{len} points, ~{eta} left",
    );
    // Ctrl-C stops the sweep within the point running: the points done are shown, exit 130.
    let interrupted = stop_on_signals();
    let mut trials = EngineTrials::stopping_on(interrupted.clone());
    let record = sweep::sweep(
        grid,
        &mut trials,
        args.trial,
        &interrupted,
        &mut |done, _| {
            progress.set_position(done as u64);
        },
    );
    progress.finish_and_clear();
    let shown = if args.json {
        write_stdout(json_line(&sweep::SweepDocument::of(&record)))
    } else {
        write_stdout(Ok(sweep_table(&record, reads_differ_from_rate)))
    };
    if record.interrupted && shown == ExitCode::SUCCESS {
        say!(
            "interrupted: {} of {} points run",
            record.points.len(),
            record.planned
        );
        return ExitCode::from(130);
    }
    if shown == ExitCode::SUCCESS && record.points.iter().all(|p| p.outcome.failure.is_some()) {
        say!("every point failed: nothing was measured");
        return ExitCode::FAILURE;
    }
    shown
}

/// A setting's value as the table shows it: a word bare (`spsc`, `2+3`), as it was given.
fn setting_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(word) => word.clone(),
        other => other.to_string(),
    }
}

/// How a point's producers did against the rate they offer.
fn kept_rate_word(outcome: &TrialOutcome) -> &'static str {
    match outcome.kept_rate {
        // A trial that never started kept no rate and ran flat out at none.
        None if outcome.rows_per_s.is_none() => "n/a",
        None => "flat out",
        Some(true) => "kept",
        Some(false) => "BEHIND",
    }
}

/// One line per point: its settings, rows/s, p50, p99, whether the producers kept their rate,
/// whether every row arrived, the knee. Each setting's column is as wide as its key or its widest
/// value. `reads_differ_from_rate`: some point's rows/s sums several producers' rows or counts a
/// row once per consumer reading it, which the table then says.
fn sweep_table(record: &sweep::SweepRecord, reads_differ_from_rate: bool) -> String {
    let Some(first) = record.points.first() else {
        return String::new();
    };
    // What every point shares is said once, above: a column of one value says nothing.
    let columns: Vec<usize> = (0..first.settings.len())
        .filter(|&i| !record.shared.contains(&first.settings[i]))
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .map(|&i| {
            record
                .points
                .iter()
                .filter_map(|p| p.settings.get(i))
                .map(|(_, value)| setting_text(value).chars().count())
                .chain([first.settings[i].0.chars().count(), 14])
                .max()
                .unwrap_or(14)
        })
        .collect();
    let mut out = String::new();
    if !record.shared.is_empty() {
        let shared: Vec<String> = record
            .shared
            .iter()
            .map(|(key, value)| format!("{key}={}", setting_text(value)))
            .collect();
        out.push_str(&format!("every point: {}\n", shared.join("  ")));
    }
    for (&i, width) in columns.iter().zip(&widths) {
        let key = &first.settings[i].0;
        out.push_str(&format!("{key:>width$}   "));
    }
    // A framed workload's ratio, where any point has frames: what a codec sweep is for.
    let framed = record
        .points
        .iter()
        .any(|p| p.outcome.codec_ratio.is_some());
    let ratio_column = |text: &str| {
        if framed {
            format!(" {text:>8}")
        } else {
            String::new()
        }
    };
    let ratio = |o: &TrialOutcome| {
        ratio_column(
            &o.codec_ratio
                .map_or("n/a".to_owned(), |r| format!("{r:.2}×")),
        )
    };
    out.push_str(&format!(
        "{:>12} {:>9} {:>9}{}  {:<8}  rows\n",
        "rows/s",
        "p50 ns",
        "p99 ns",
        ratio_column("ratio"),
        "rate"
    ));
    let ns = |v: Option<u64>| v.map_or_else(|| "n/a".to_owned(), |v| v.to_string());
    let thin_mark = |o: &TrialOutcome| if o.p99_is_thin() { "*" } else { "" };
    for point in &record.points {
        for (&i, width) in columns.iter().zip(&widths) {
            let value = point
                .settings
                .get(i)
                .map_or(String::new(), |(_, v)| setting_text(v));
            out.push_str(&format!("{value:>width$}   "));
        }
        let o = &point.outcome;
        let rows = match (&o.failure, o.integrity_ok) {
            (Some(failure), _) => format!("failed: {failure}"),
            (None, Some(true)) => "ok".to_owned(),
            (None, Some(false)) => "LOST/REORDERED".to_owned(),
            // A sender's point: its rows are checked where they are received.
            (None, None) => ringtop::metrics::snapshot::Totals::UNCHECKED.to_owned(),
        };
        out.push_str(&format!(
            "{:>12} {:>9} {:>9}{}  {:<8}  {rows}{}\n",
            o.rows_per_s
                .map_or_else(|| "n/a".to_owned(), |r| format!("{r:.0}")),
            ns(o.p50_ns),
            format!("{}{}", thin_mark(o), ns(o.p99_ns)),
            ratio(o),
            kept_rate_word(o),
            if point.knee { "  <- knee" } else { "" }
        ));
    }
    if reads_differ_from_rate {
        out.push_str(
            "rows/s: the rows the consumers read, a broadcast ring's each row once per consumer \
             (workload.rate is each producer's)\n",
        );
    }
    out.push_str(&format!(
        "p50, p99: {}\nknee: {}\n",
        record.latency_span.words(),
        record.knee_rule
    ));
    if let Some(reason) = &record.no_knee {
        out.push_str(&format!("no knee: {reason}\n"));
    }
    if record.points.iter().any(|p| p.outcome.p99_is_thin()) {
        out.push_str(&format!(
            "*: fewer than {P99_SAMPLES} rows timed (the consumer that timed fewest): the p99 is \
             the slowest of them; a slower rate needs a longer --trial\n"
        ));
    }
    if record
        .points
        .iter()
        .any(|p| p.outcome.kept_rate == Some(false))
    {
        out.push_str(
            "rate: BEHIND where a producer sent under 95 % of the rate it offers: its rows' \
             latency includes how late they were sent\n",
        );
    }
    out
}
