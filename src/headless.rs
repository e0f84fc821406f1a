//! The headless front end: JSON lines out (a snapshot each interval, a summary at the end,
//! replies to commands), commands as JSON lines in. For scripts and CI.

mod attach;
mod flamegraph;
mod stdin_command;

pub use attach::{AttachOutcome, attach};
pub use stdin_command::{RunCommand, StdinCommand};

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriter, IntervalLogWriterBuilder, Tag};
use indicatif::{ProgressBar, ProgressStyle};

use serde_json::Value;

use crate::engine::{Engine, EngineError, EngineHandle, Interval};
use crate::input::{COMMAND_LINE_BYTES, LineLimit, LineTooLong};
use crate::metrics::snapshot::{SCHEMA_VERSION, Summary};
use crate::output::{Ack, ErrorLine, OutputLine, StartLine};
use crate::profile::{DurationSetting, ReportSection, TuningProfile};

/// How a headless run is shaped.
#[derive(Debug, Clone)]
pub struct HeadlessOptions {
    /// Stop after this long (`None`: until interrupted).
    pub duration: Option<Duration>,
    /// Time between snapshots.
    pub interval: Duration,
    /// Where to write an HdrHistogram interval log (V2, DEFLATE), one tag per consumer.
    pub hlog: Option<PathBuf>,
    /// Holding a remote ring: stop once the first sender has finished and left.
    pub until_sender_leaves: bool,
    /// What to call the profile in every line (a built-in's name, a file's path); `None`: its
    /// description.
    pub profile_name: Option<String>,
    /// Where each interval's figures also go for Prometheus (`--metrics-listen`).
    pub metrics: Option<crate::export::Metrics>,
    /// Where to draw the workers' sampled stacks as a flamegraph SVG when the run ends.
    pub flamegraph: Option<PathBuf>,
}

/// How a run ended.
#[derive(Debug)]
pub enum Outcome {
    /// The run finished and printed its summary.
    Finished {
        /// The run's summary, as printed.
        summary: Box<Summary>,
        /// The files asked for (`--hlog FILE`, `--flamegraph FILE`) that were not written
        /// whole; an error line said why for each.
        unwritten: Vec<String>,
    },
    /// stdout went away (`| head`); the run was stopped quietly.
    OutputClosed,
}

/// Why a headless run failed.
#[derive(Debug, thiserror::Error)]
pub enum HeadlessError {
    /// The workload could not start.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// stdout failed for a reason other than being closed.
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
    /// The interval log cannot be created.
    #[error("cannot create histogram log {path}: {source}")]
    Hlog {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The flamegraph's file cannot be created (asked before the run, not after it).
    #[error("cannot create flamegraph {path}: {source}")]
    Flamegraph {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// One line from stdin, parsed or not.
enum Incoming {
    Command(StdinCommand, String),
    Garbage(String, String),
}

/// Runs `profile` until the duration passes or `interrupted` is set, writing JSON lines to
/// `out` and taking commands from `input`.
///
/// # Errors
/// [`HeadlessError`] when the engine cannot start or stdout fails.
pub fn run(
    profile: TuningProfile,
    options: &HeadlessOptions,
    input: impl BufRead + Send + 'static,
    out: &mut impl Write,
    interrupted: &Arc<AtomicBool>,
) -> Result<Outcome, HeadlessError> {
    let mut hlog_file = match &options.hlog {
        Some(path) => {
            Some(
                crate::save::create_streamed(path).map_err(|source| HeadlessError::Hlog {
                    path: path.clone(),
                    source,
                })?,
            )
        }
        None => None,
    };
    let mut serializer = V2DeflateSerializer::new();
    let mut hlog = match hlog_file.as_mut() {
        Some(file) => Some(
            IntervalLogWriterBuilder::new()
                .add_comment("ringtop latency per consumer, nanoseconds")
                .with_start_time(SystemTime::now())
                .with_base_time(SystemTime::now())
                .begin_log_with(file, &mut serializer)
                .map_err(|source| HeadlessError::Hlog {
                    path: options.hlog.clone().unwrap_or_default(),
                    source,
                })?,
        ),
        None => None,
    };
    let flamegraph_target = options
        .flamegraph
        .as_deref()
        .map(|path| {
            flamegraph::Target::create(path).map_err(|source| HeadlessError::Flamegraph {
                path: path.to_owned(),
                source,
            })
        })
        .transpose()?;
    let name = options
        .profile_name
        .clone()
        .unwrap_or_else(|| profile.description.clone());
    let own = OwnRunSettings::of(&profile);
    let profile = as_run(profile, options);
    let start_line = StartLine::now(&name, &profile);
    if let Some(metrics) = &options.metrics {
        metrics.host_checks(&start_line.host_checks);
    }
    let start = OutputLine::Start(start_line);
    let mut engine = match Engine::start(profile) {
        Ok(engine) => engine,
        Err(err) => {
            // Nothing will be drawn: the empty file goes.
            flamegraph_target.map(flamegraph::Target::abandon);
            return Err(err.into());
        }
    };
    engine.name_profile(&name);
    if !emit(out, &start)? {
        return Ok(closed(engine));
    }
    if let Some(address) = engine.listen_address() {
        crate::output::to_stderr(format_args!("ringtop: listening on {address}"));
    }
    let commands = read_commands(input);
    let started = Instant::now();
    let progress = options.duration.and_then(progress_bar);
    let mut next_snapshot = started + options.interval;
    let mut stdin_open = true;
    let mut flamegraph = flamegraph::Flamegraph::new(flamegraph_target);
    let mut unwritten = Vec::new();
    let flamegraph_named = || format!("--flamegraph {}", path_of(&options.flamegraph));
    let hlog_named = || format!("--hlog {}", path_of(&options.hlog));
    loop {
        if let Some(problem) = flamegraph.tick(&engine) {
            unwritten.push(flamegraph_named());
            let line = OutputLine::Error(ErrorLine::new(engine.elapsed().as_secs_f64(), problem));
            if !emit(out, &line)? {
                return Ok(closed(engine));
            }
        }
        if interrupted.load(Relaxed)
            || options.duration.is_some_and(|d| started.elapsed() >= d)
            || (options.until_sender_leaves && engine.sender_left())
            || engine.failure().is_some()
        {
            break;
        }
        if let Some(bar) = &progress {
            bar.set_position(started.elapsed().as_millis() as u64);
        }
        let deadline = match options.duration {
            Some(d) => next_snapshot.min(started + d),
            None => next_snapshot,
        };
        let wait = deadline
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(50));
        if stdin_open {
            match commands.recv_timeout(wait) {
                Ok(incoming) => {
                    let reply = apply(&engine, incoming, &own);
                    if !emit(out, &reply)? {
                        return Ok(closed(engine));
                    }
                    continue;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => stdin_open = false,
            }
        } else {
            std::thread::sleep(wait);
        }
        if Instant::now() >= next_snapshot {
            next_snapshot += options.interval;
            let interval = engine.interval();
            if let Some(metrics) = &options.metrics {
                metrics.observe_run(&interval);
            }
            let line = OutputLine::Snapshot(interval.snapshot.clone());
            if !emit(out, &line)? {
                return Ok(closed(engine));
            }
            if let Some(log) = &mut hlog
                && let Err(problem) = log_interval(log, &interval)
            {
                hlog = None;
                unwritten.push(hlog_named());
                let line = hlog_stopped(engine.elapsed().as_secs_f64(), &problem);
                if !emit(out, &line)? {
                    return Ok(closed(engine));
                }
            }
        }
    }
    if let Some(bar) = &progress {
        bar.finish_and_clear();
    }
    let elapsed = engine.elapsed().as_secs_f64();
    let (summary, last) = engine.finish();
    if let Some(problem) = flamegraph.finish(&format!("ringtop run: {name}")) {
        unwritten.push(flamegraph_named());
        let line = OutputLine::Error(ErrorLine::new(elapsed, problem));
        if !emit(out, &line)? {
            return Ok(Outcome::OutputClosed);
        }
    }
    if let Some(metrics) = &options.metrics {
        metrics.observe_run(&last);
        metrics.mark_final();
    }
    // Every sample the summary counts, the ones recorded while consumers drained included.
    if let Some(log) = &mut hlog
        && let Err(problem) = log_interval(log, &last)
    {
        unwritten.push(hlog_named());
        if !emit(out, &hlog_stopped(elapsed, &problem))? {
            return Ok(Outcome::OutputClosed);
        }
    }
    if !emit(out, &OutputLine::Summary(summary.clone()))? {
        return Ok(Outcome::OutputClosed);
    }
    Ok(Outcome::Finished {
        summary: Box::new(summary),
        unwritten,
    })
}

/// A file option's path as the operator gave it.
fn path_of(path: &Option<PathBuf>) -> String {
    path.as_deref()
        .unwrap_or(Path::new(""))
        .display()
        .to_string()
}

/// A progress bar on stderr for a timed run, only when stderr is a terminal (never in pipes or
/// logs).
fn progress_bar(duration: Duration) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(duration.as_millis() as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {percent}% of the run")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

/// `profile` as this run carries it out: the options' duration, interval and histogram log in
/// place of the profile's (`--duration`, `--interval` and `--hlog` override them), a
/// `[pinning]` entry for every thread (`"auto"` where the profile has none) and the ring's NUMA
/// node as it places memory (`"local"` where not given), so the start line's `resolved_profile`
/// says what ran and `compare` sees two runs' real settings.
fn as_run(mut profile: TuningProfile, options: &HeadlessOptions) -> TuningProfile {
    profile.ring.numa_node = profile.ring.numa_node.resolved();
    profile.pinning = profile
        .pinning
        .for_threads(profile.workload.producers, profile.workload.consumers);
    profile.workload.duration = options.duration.map(DurationSetting);
    profile.report.interval = DurationSetting(options.interval);
    profile.report.hlog.clone_from(&options.hlog);
    profile
}

/// The error line for a histogram log that could not take an interval (it takes no more).
fn hlog_stopped(elapsed_s: f64, problem: &str) -> OutputLine {
    OutputLine::Error(ErrorLine::new(
        elapsed_s,
        format!("histogram log stopped: {problem}"),
    ))
}

/// Appends each consumer's histogram of `interval`.
fn log_interval<W: Write>(
    log: &mut IntervalLogWriter<'_, '_, W, V2DeflateSerializer>,
    interval: &Interval,
) -> Result<(), String> {
    let snapshot = &interval.snapshot;
    let start = Duration::from_secs_f64((snapshot.elapsed_s - snapshot.interval_s).max(0.0));
    let length = Duration::from_secs_f64(snapshot.interval_s.max(0.0));
    for consumer in interval.latency.iter().filter(|c| !c.histogram.is_empty()) {
        let tag = Tag::new(&consumer.thread);
        log.write_histogram(consumer.histogram.as_hdr(), start, length, tag)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn closed(engine: EngineHandle) -> Outcome {
    drop(engine.stop());
    Outcome::OutputClosed
}

/// Reads stdin on its own thread: a blocked read must never hold up snapshots. A line that is
/// not UTF-8 or is longer than [`COMMAND_LINE_BYTES`] is answered with an error line, like any
/// other that is not a command, and the commands after it are still read.
fn read_commands(input: impl BufRead + Send + 'static) -> mpsc::Receiver<Incoming> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            let mut input = std::io::BufReader::new(LineLimit::new(input, COMMAND_LINE_BYTES));
            let mut bytes = Vec::new();
            loop {
                bytes.clear();
                let incoming = match input.read_until(b'\n', &mut bytes) {
                    Ok(0) => break,
                    Ok(_) => match std::str::from_utf8(&bytes) {
                        Ok(text) if text.trim().is_empty() => continue,
                        Ok(text) => {
                            let text = text.trim();
                            match StdinCommand::parse(text) {
                                Ok(command) => Incoming::Command(command, text.to_owned()),
                                Err(reason) => Incoming::Garbage(text.to_owned(), reason),
                            }
                        }
                        Err(err) => Incoming::Garbage(
                            String::from_utf8_lossy(&bytes).trim().to_owned(),
                            format!("not UTF-8 ({err})"),
                        ),
                    },
                    Err(err) if LineTooLong::is(&err) => {
                        Incoming::Garbage(opening(&bytes), err.to_string())
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                if tx.send(incoming).is_err() {
                    break;
                }
            }
        });
    // Without a reader thread commands cannot arrive; the run goes on without them.
    drop(spawned);
    rx
}

/// The first bytes of an overlong line, to echo: enough to recognise it.
fn opening(bytes: &[u8]) -> String {
    const SHOWN: usize = 80;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]);
    format!("{}…", text.trim_start())
}

fn apply(engine: &EngineHandle, incoming: Incoming, own: &OwnRunSettings) -> OutputLine {
    let elapsed_s = engine.elapsed().as_secs_f64();
    match incoming {
        Incoming::Command(command, text) => {
            let echo: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let done = match command {
                StdinCommand::Engine(command) => engine.send(command).map_err(|e| e.to_string()),
                StdinCommand::Run(RunCommand::Save { path }) => save_profile(engine, own, &path),
            };
            match done {
                Ok(()) => OutputLine::Ack(Ack {
                    schema_version: SCHEMA_VERSION,
                    elapsed_s,
                    command: echo,
                }),
                Err(err) => OutputLine::Error(ErrorLine {
                    command: Some(echo),
                    ..ErrorLine::new(elapsed_s, err)
                }),
            }
        }
        Incoming::Garbage(text, reason) => OutputLine::Error(ErrorLine {
            input: Some(text),
            ..ErrorLine::new(elapsed_s, format!("not a command: {reason}"))
        }),
    }
}

/// What a saved profile keeps of the profile the run was given rather than of the run: how long
/// a run lasts and how it reports (`--duration`, `--interval`, `--hlog` on this one) are options
/// of one run, not settings found to work, and a profile saved for the next run must not carry
/// this one's (its log file among them).
struct OwnRunSettings {
    duration: Option<DurationSetting>,
    report: ReportSection,
}

impl OwnRunSettings {
    fn of(profile: &TuningProfile) -> Self {
        OwnRunSettings {
            duration: profile.workload.duration,
            report: profile.report.clone(),
        }
    }
}

/// Writes the engine's settings as they stand now to `path` as a profile, the token left out and
/// the run's own options as the given profile had them; why not, naming the file.
fn save_profile(engine: &EngineHandle, own: &OwnRunSettings, path: &Path) -> Result<(), String> {
    let mut profile = engine.current_profile();
    profile.forget_secrets();
    profile.workload.duration = own.duration;
    profile.report = own.report.clone();
    profile.mark_saved(&format!(
        "saved from a headless run at {:.1} s",
        engine.elapsed().as_secs_f64()
    ));
    let text = profile
        .to_toml()
        .map_err(|e| format!("cannot save {}: {e}", path.display()))?;
    crate::save::write_whole(path, text.as_bytes())
        .map_err(|e| format!("cannot save {}: {e}", path.display()))
}

/// Writes one line and flushes; `false` when stdout is closed.
fn emit(out: &mut impl Write, line: &OutputLine) -> Result<bool, HeadlessError> {
    let mut text = line.to_value().to_string();
    text.push('\n');
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(err) => Err(HeadlessError::Output(err)),
    }
}
