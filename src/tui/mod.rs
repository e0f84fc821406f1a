//! The dashboard: see the machine, tune it live. Fed only by engine snapshots, speaking to the
//! engine only in [`Command`] values.
//!
//! - [`app`]: state and keys (pure, tested without a terminal).
//! - [`view`]: the layout for the terminal's size; [`panes`]: one component per pane.
//! - [`terminal`]: taking the terminal and every way of giving it back.
//! - [`run`]: the event loop.

pub mod app;
pub mod attach;
pub mod columns;
pub mod panes;
pub mod scroll;
pub mod style;
pub mod terminal;
pub mod tune;
pub mod view;
pub mod wrap;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, MouseButton, MouseEventKind};

use crate::engine::{Command, Engine, EngineError, EngineHandle};
use crate::metrics::human::format_rate;
use crate::metrics::snapshot::Summary;
use crate::metrics::stacks::StackSampler;
use crate::profile::{TuningProfile, builtin};
use crate::topology::c2c::{self, C2cConfig, C2cReport};

use self::app::{App, Effect, Mode};

/// Redraws at most this often.
const FRAME: Duration = Duration::from_millis(100);

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    /// The workload could not start.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The terminal failed.
    #[error("terminal: {0}")]
    Terminal(#[from] io::Error),
}

/// Runs the dashboard on `profile` (named `name`) until the operator quits or `interrupted` is
/// set; returns the last workload's summary. The terminal is restored on every way out,
/// panics included.
///
/// # Errors
/// [`TuiError`] when the workload cannot start or the terminal fails.
pub fn run(
    profile: TuningProfile,
    name: &str,
    interrupted: &Arc<AtomicBool>,
    metrics: Option<&crate::export::Metrics>,
) -> Result<Summary, TuiError> {
    let topology = crate::topology::host().ok().cloned();
    let mut interval = profile.report.interval.0;
    let mut app = App::new(name, topology, &profile);
    let host_check = crate::engine::doctor_plan(&profile)
        .ok()
        .map(|plan| crate::doctor::examine(&plan));
    let mut engine = Engine::start(profile)?;
    engine.name_profile(name);
    if let (Some(report), Some(metrics)) = (&host_check, metrics) {
        metrics.host_checks(&report.checks);
    }
    if let Some(summary) = host_check.map(|report| report.summary) {
        app.report(summary.line_pointing_to("h"), summary.fail > 0);
    }

    let (mut terminal, previous_hook) = terminal::enter()?;
    let result = event_loop(
        &mut terminal,
        &mut app,
        &mut engine,
        &mut interval,
        interrupted,
        metrics,
    );
    terminal::leave(previous_hook);
    result?;
    Ok(engine.stop())
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    engine: &mut EngineHandle,
    interval: &mut Duration,
    interrupted: &Arc<AtomicBool>,
    metrics: Option<&crate::export::Metrics>,
) -> Result<(), TuiError> {
    let mut next_snapshot = Instant::now() + (*interval).min(Duration::from_millis(250));
    let mut areas = view::Areas::default();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let (c2c_tx, c2c_rx) = mpsc::channel::<Result<C2cReport, String>>();
    let mut failure_shown = false;
    let mut sampling: Option<StackSampler> = None;
    let mut tuning: Option<Search> = None;
    loop {
        if interrupted.load(Relaxed) {
            return Ok(());
        }
        if let Some(panic) = terminal::take_background_panic() {
            app.report(panic, true);
            dirty = true;
        }
        if !failure_shown && let Some(failure) = engine.failure() {
            failure_shown = true;
            app.report(format!("{failure}; q quits"), true);
            dirty = true;
        }
        if Instant::now() >= next_snapshot {
            if let Some(sampler) = &mut sampling {
                sampler.drain();
            }
            let measured = engine.interval();
            if let Some(metrics) = metrics {
                metrics.observe_run(&measured);
            }
            app.update(measured.snapshot);
            next_snapshot = Instant::now() + *interval;
            dirty = true;
        }
        if let Some(search) = &tuning {
            let mut ended = None;
            while let Ok(event) = search.events.try_recv() {
                dirty = true;
                match event {
                    tune::TuneEvent::Progress(progress) => {
                        if let Some(view) = &mut app.tune {
                            view.update(&progress);
                        }
                    }
                    tune::TuneEvent::Done(result) => ended = Some(result),
                }
            }
            if let Some(result) = ended
                && let Some(search) = tuning.take()
            {
                tune_ended(app, engine, interval, result, search)?;
            }
        }
        if let Ok(result) = c2c_rx.try_recv() {
            app.c2c_running = false;
            match result {
                Ok(report) => {
                    app.report("core-to-core map measured (Topology pane)", false);
                    app.c2c = Some(report);
                }
                Err(err) => app.report(format!("core-to-core map failed: {err}"), true),
            }
            dirty = true;
        }
        if dirty && last_draw.elapsed() >= FRAME {
            terminal.draw(|frame| areas = view::draw(frame, app))?;
            last_draw = Instant::now();
            dirty = false;
        }
        let until_frame = FRAME.saturating_sub(last_draw.elapsed());
        let until_snapshot = next_snapshot.saturating_duration_since(Instant::now());
        let wait = if dirty { until_frame } else { until_snapshot }.min(FRAME);
        if !event::poll(wait)? {
            continue;
        }
        dirty = true;
        let effect = match event::read()? {
            Event::Key(key) if key.kind == event::KeyEventKind::Press => app.key(key),
            Event::Mouse(mouse) if mouse.kind == MouseEventKind::Down(MouseButton::Left) => {
                if let Some(i) = view::thread_at(app, &areas, mouse.column, mouse.row) {
                    app.select_thread(i);
                }
                Effect::None
            }
            _ => Effect::None,
        };
        match effect {
            Effect::None => {}
            Effect::Quit => return Ok(()),
            Effect::Send(command) => send(app, engine, command),
            Effect::Save { name, overwrite } => save(app, engine, &name, overwrite),
            Effect::Load(_) if tuning.is_some() => {
                app.report("a search is running on the CPUs: load when it ends", true);
            }
            Effect::Load(name) => {
                if sampling.take().is_some() {
                    app.report("stack sampling stopped: the workload restarted", true);
                }
                load(app, engine, interval, &name)?;
            }
            Effect::Flamegraph => flamegraph(app, engine, &mut sampling),
            Effect::Tune => {
                if tuning.is_none() {
                    if sampling.take().is_some() {
                        app.report("stack sampling stopped: the search needs the CPUs", true);
                    }
                    tuning = start_tune(app, engine);
                }
                if app.tune.is_some() {
                    app.mode = Mode::Tune;
                }
            }
            Effect::CancelTune => match &tuning {
                Some(search) => {
                    search.stop.store(true, Relaxed);
                    app.report("cancelling the search: it stops within its trial", false);
                }
                None => app.report("no search is running", false),
            },
            Effect::CheckHost => {
                let profile = engine.current_profile();
                match crate::engine::doctor_plan(&profile) {
                    Ok(plan) => {
                        let report = crate::doctor::examine(&crate::doctor::Plan {
                            during_run: true,
                            ..plan
                        });
                        app.report(report.summary.line(), report.summary.fail > 0);
                        app.mode = Mode::HostCheck {
                            lines: report.table().lines().map(str::to_owned).collect(),
                        };
                    }
                    Err(err) => app.report(format!("cannot check the host: {err}"), true),
                }
            }
            Effect::MeasureC2c => {
                app.c2c_running = true;
                app.report(
                    "measuring the core-to-core map (the workload is disturbed meanwhile)",
                    false,
                );
                let tx = c2c_tx.clone();
                let spawned = std::thread::Builder::new()
                    .name("c2c".into())
                    .spawn(move || {
                        let _ = tx.send(c2c::run(&C2cConfig::default()).map_err(|e| e.to_string()));
                    });
                if let Err(err) = spawned {
                    app.c2c_running = false;
                    app.report(
                        format!("cannot start the core-to-core measurement: {err}"),
                        true,
                    );
                }
            }
        }
    }
}

/// A search started from the dashboard: its events, its cancel flag, and the workload it
/// stopped (resumed if it fails or is cancelled).
struct Search {
    events: mpsc::Receiver<tune::TuneEvent>,
    stop: Arc<AtomicBool>,
    base: TuningProfile,
    base_name: String,
}

/// `t`: stops the workload and starts the search on its profile; `None` (and why on the
/// status line) when it cannot start.
fn start_tune(app: &mut App, engine: &mut EngineHandle) -> Option<Search> {
    let profile = engine.current_profile();
    // A search that cannot start leaves the workload running (a link's peer connected).
    if let Err(err) = crate::tune::check_base(&profile) {
        app.report(format!("cannot tune: {err}"), true);
        return None;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let base_name = app.profile_name.clone();
    engine.halt();
    match tune::start(
        profile.clone(),
        base_name.clone(),
        app.c2c.clone(),
        stop.clone(),
    ) {
        Ok(events) => {
            app.tune = Some(tune::TuneView::new(&tune::config_for(&profile)));
            app.report(
                "tuning: the workload is stopped while the search runs; x cancels it, any other \
                 key hides it, t shows it",
                false,
            );
            Some(Search {
                events,
                stop,
                base: profile,
                base_name,
            })
        }
        Err(err) => {
            app.report(format!("cannot start the search: {err}"), true);
            None
        }
    }
}

/// The search ended: load the profile it wrote (the base again when nothing beat it), or, when
/// it failed or was cancelled, resume the workload it stopped; keep the search's view, and say
/// how it went.
fn tune_ended(
    app: &mut App,
    engine: &mut EngineHandle,
    interval: &mut Duration,
    result: Result<tune::TuneDone, String>,
    search: Search,
) -> Result<(), TuiError> {
    let mut view = app.tune.take();
    match result {
        Ok(done) => {
            let path = done.path.display().to_string();
            if let Some(view) = &mut view {
                view.phase = "done".into();
                view.verdict = Some(format!(
                    "wrote and loaded {path}:\n{}\n{}",
                    done.chosen, done.reason
                ));
            }
            let showing = app.mode == Mode::Tune;
            load(app, engine, interval, &path)?;
            app.tune = view;
            if showing {
                app.mode = Mode::Tune;
            }
            app.report(format!("tuned: running {path} ({})", done.chosen), false);
        }
        Err(err) => {
            let cancelled = search.stop.load(Relaxed);
            if let Some(view) = &mut view {
                view.phase = if cancelled { "cancelled" } else { "failed" }.into();
                view.verdict = Some(err.clone());
            }
            let resumed = restart(app, engine, interval, &search.base_name, search.base)?;
            app.tune = view;
            // Unless the restart reported the stopped run's rows lost, which matters more.
            if resumed && !app.status.as_ref().is_some_and(|status| status.error) {
                let said = if cancelled {
                    format!("search {err}; {} resumed", search.base_name)
                } else {
                    format!("the search failed: {err}; {} resumed", search.base_name)
                };
                app.report(said, !cancelled);
            }
        }
    }
    Ok(())
}

/// `g`: starts sampling every worker's stack, or draws what was sampled into
/// `ringtop-flamegraph-<unix seconds>.svg` in the current directory.
fn flamegraph(app: &mut App, engine: &EngineHandle, sampling: &mut Option<StackSampler>) {
    match sampling.take() {
        None => match StackSampler::start(&engine.worker_threads(), 997) {
            Ok(sampler) => {
                *sampling = Some(sampler);
                app.report(
                    "sampling every worker's stack; g again draws the flamegraph",
                    false,
                );
            }
            Err(reason) => app.report(reason, true),
        },
        Some(sampler) => {
            let stacks = sampler.finish();
            let seconds = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let path = PathBuf::from(format!("ringtop-flamegraph-{seconds}.svg"));
            let written = crate::save::Pending::begin(&path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))
                .and_then(|pending| {
                    crate::export::flamegraph::save_svg(
                        &stacks,
                        &format!("ringtop: {}", app.profile_name),
                        pending,
                    )
                });
            match written {
                Ok(()) => {
                    let samples: u64 = stacks.samples.iter().map(|(_, n)| n).sum();
                    app.report(
                        format!("flamegraph of {samples} samples in {}", path.display()),
                        false,
                    );
                }
                Err(err) => app.report(format!("no flamegraph: {err}"), true),
            }
        }
    }
}

fn send(app: &mut App, engine: &EngineHandle, command: Command) {
    let described = describe(&command);
    match engine.send(command.clone()) {
        Ok(()) => {
            app.applied(&command);
            app.report(format!("{described}: done"), false);
        }
        Err(err) => app.report(format!("{described}: {err}"), true),
    }
}

fn describe(command: &Command) -> String {
    match command {
        Command::Repin { thread, cpu } => format!("pin {thread} to CPU {cpu}"),
        Command::Codec { name } => format!("codec {name}"),
        Command::Batch { size } => format!("batch {size}"),
        Command::Prefetch { distance } => format!("prefetch {distance}"),
        Command::Rate { rows_per_s: 0 } => "pace: flat out".into(),
        Command::Rate { rows_per_s } => {
            format!("pace {} rows/s a producer", format_rate(*rows_per_s as f64))
        }
        Command::Pause => "pause".into(),
        Command::Resume => "resume".into(),
        Command::ResetHistograms => {
            "reset the latency histograms (the p99 history, and the run's latency since the start, \
             count from now)"
                .into()
        }
    }
}

/// Where "save" writes a profile called `name`.
pub fn profile_path(name: &str) -> PathBuf {
    PathBuf::from("profiles").join(format!("{name}.toml"))
}

fn save(app: &mut App, engine: &EngineHandle, name: &str, overwrite: bool) {
    let path = profile_path(name);
    if path.exists() && !overwrite {
        app.ask_to_overwrite(name.to_owned());
        return;
    }
    let mut profile = engine.current_profile();
    profile.mark_saved(&format!(
        "saved from the dashboard running `{}`",
        app.profile_name
    ));
    let token_left_out = profile.forget_secrets();
    let written = profile
        .to_toml()
        .map_err(|e| e.to_string())
        .and_then(|text| {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            crate::save::write_whole(&path, text.as_bytes()).map_err(|e| e.to_string())
        });
    match written {
        Ok(()) if token_left_out => app.report(
            format!(
                "saved {} without the link's token (give it with --token-file or RINGTOP_TOKEN)",
                path.display()
            ),
            false,
        ),
        Ok(()) => app.report(format!("saved {}", path.display()), false),
        Err(err) => app.report(format!("cannot save {}: {err}", path.display()), true),
    }
}

fn load(
    app: &mut App,
    engine: &mut EngineHandle,
    interval: &mut Duration,
    name: &str,
) -> Result<(), TuiError> {
    let loaded = if name.ends_with(".toml") {
        crate::profile::load(std::path::Path::new(name))
    } else {
        builtin::get(name)
    };
    let profile = match loaded {
        Ok(profile) => profile,
        Err(err) => {
            app.report(err.to_string(), true);
            return Ok(());
        }
    };
    restart(app, engine, interval, name, profile).map(|_| ())
}

/// Replaces the running workload with `profile`, called `name`, and says how the last run went;
/// whether it started (if not, the status line says why).
fn restart(
    app: &mut App,
    engine: &mut EngineHandle,
    interval: &mut Duration,
    name: &str,
    profile: TuningProfile,
) -> Result<bool, TuiError> {
    *interval = profile.report.interval.0;
    let fresh_app = App::new(name, None, &profile);
    let fresh = Engine::start(profile);
    match fresh {
        Ok(mut fresh) => {
            fresh.name_profile(name);
            let old = std::mem::replace(engine, fresh);
            let summary = old.stop();
            let topology = app.topology.take();
            let c2c = app.c2c.take();
            let color = app.color;
            *app = App {
                topology,
                ..fresh_app
            };
            app.color = color;
            app.c2c = c2c;
            app.report(
                format!(
                    "loaded {name}; the previous run moved {} rows, integrity {}",
                    summary.totals.consumed,
                    match summary.integrity_ok {
                        Some(true) => "ok",
                        Some(false) => "VIOLATED",
                        None => "checked at its receiver",
                    }
                ),
                summary.integrity_ok == Some(false),
            );
        }
        Err(err) => {
            app.report(format!("cannot load {name}: {err}"), true);
            return Ok(false);
        }
    }
    Ok(true)
}
