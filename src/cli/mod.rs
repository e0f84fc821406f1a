//! The `ringtop` command line: parses arguments, picks a front end, calls the library.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// `eprintln!` that never panics: a line for the operator on stderr
/// ([`ringtop::output::to_stderr`]).
macro_rules! say {
    ($($arg:tt)*) => {
        ringtop::output::to_stderr(format_args!($($arg)*))
    };
}

mod args;
mod attach;
mod attach_list;
mod codec_document;
mod codec_table;
mod export;
mod probe_table;
mod schema;
mod settings;
mod tune;
mod tune_document;

use args::{
    C2cArgs, Cli, CodecArgs, Command, DoctorArgs, MetricsArgs, ProbeArgs, ProfileCommand,
    ReportArgs, RunArgs, ServeArgs, TokenArgs, TopoArgs,
};
use clap::Parser;
use codec_document::{CodecDocument, CodecFile};
use ringtop::codec::trial;
use ringtop::engine::probe;
use ringtop::export::{Metrics, MetricsServer};
use ringtop::headless::{self, HeadlessError, HeadlessOptions, Outcome};
use ringtop::profile::{self, builtin};
use ringtop::source::csv;
use ringtop::topology::c2c::{self, C2cConfig};
use ringtop::topology::{self, render};
use ringtop::words::counted;

/// Runs the command line.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(answer) => return parse_answer(&answer),
    };
    // Read the allowed CPUs before any thread pins itself.
    let _ = topology::host();
    match cli.command {
        Some(Command::Probe(args)) => run_probe(&args),
        None => run_workload(&RunArgs {
            headless: false,
            profile: cli.profile,
            builtin: cli.builtin,
            report: ReportArgs {
                metrics: cli.metrics,
                ..ReportArgs::default()
            },
            flamegraph: None,
            connect: None,
            shm: None,
            token: TokenArgs::default(),
            settings: cli.settings,
        }),
        Some(Command::Serve(args)) => run_serve(&args),
        Some(Command::Topo(args)) => run_topo(&args),
        Some(Command::C2c(args)) => run_c2c(&args),
        Some(Command::Codec(args)) => run_codec(&args),
        Some(Command::Profile(command)) => run_profile(&command),
        Some(Command::Run(args)) => run_workload(&args),
        Some(Command::Doctor(args)) => run_doctor(&args),
        Some(Command::Attach(args)) => attach::run_attach(&args),
        Some(Command::Tune(args)) => tune::run_tune(&args),
        Some(Command::Sweep(args)) => tune::run_sweep(&args),
        Some(Command::Compare(args)) => export::run_compare(&args),
        Some(Command::Report(args)) => export::run_report(&args),
        Some(Command::Schema) => {
            write_stdout(serde_json::to_string_pretty(&schema::all()).map(|mut s| {
                s.push('\n');
                s
            }))
        }
    }
}

/// The signals that stop a run: the first sets the returned flag (the run stops and reports);
/// a second exits at once (status 130), giving the terminal back first if the dashboard has it.
pub(super) fn stop_on_signals() -> Arc<AtomicBool> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    let watching = Signals::new([SIGINT, SIGTERM]).and_then(|mut signals| {
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for (count, _) in signals.forever().enumerate() {
                    if count == 0 {
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    } else {
                        ringtop::tui::terminal::restore();
                        std::process::exit(130);
                    }
                }
            })
    });
    if watching.is_err() {
        // No watcher thread: the flag alone (a second signal then waits for the first).
        for signal in [SIGINT, SIGTERM] {
            let _ = signal_hook::flag::register(signal, interrupted.clone());
        }
    }
    interrupted
}

fn run_dashboard(
    profile: profile::TuningProfile,
    name: &str,
    metrics: Option<Metrics>,
) -> ExitCode {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return usage_error(
            &"the dashboard needs a terminal; use `ringtop run --headless` in scripts",
        );
    }
    let interrupted = stop_on_signals();
    match ringtop::tui::run(profile, name, &interrupted, metrics.as_ref()) {
        Ok(summary) => {
            ringtop::output::to_stdout(format_args!(
                "ringtop: {} rows in {:.1} s, {}",
                summary.totals.consumed,
                summary.elapsed_s,
                summary.totals.integrity_counts(", ")
            ));
            if let Some(failure) = &summary.failure {
                say!("ringtop: {failure}");
                ExitCode::FAILURE
            } else if summary.integrity_ok != Some(false) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_INTEGRITY)
            }
        }
        Err(ringtop::tui::TuiError::Engine(err)) => usage_error(&err),
        Err(err) => {
            say!("ringtop: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Exit code for a run whose rows were lost, duplicated or reordered.
const EXIT_INTEGRITY: u8 = 3;

/// The profile a command names: a file, a built-in, or the built-in `fallback`.
fn chosen_profile(
    file: Option<&PathBuf>,
    builtin_name: Option<&String>,
    fallback: &str,
) -> Result<(profile::TuningProfile, String), profile::ProfileError> {
    match (file, builtin_name) {
        (Some(path), _) => profile::load(path).map(|p| (p, path.display().to_string())),
        (None, Some(name)) => builtin::get(name).map(|p| (p, name.clone())),
        (None, None) => builtin::get(fallback).map(|p| (p, fallback.to_owned())),
    }
}

fn run_workload(args: &RunArgs) -> ExitCode {
    let (profile, name) =
        match chosen_profile(args.profile.as_ref(), args.builtin.as_ref(), "default") {
            Ok(chosen) => chosen,
            Err(err) => return usage_error(&err),
        };
    let place = (args.connect.as_ref().map(|_| "--connect")).or(args.shm.as_ref().map(|_| "--shm"));
    if let Err(err) = settings::not_also_given(&args.settings, place, args.token.given_by()) {
        return usage_error(&err);
    }
    let (mut profile, set) = match settings::with_settings(profile, &args.settings) {
        Ok(set) => set,
        Err(err) => return usage_error(&err),
    };
    profile.description.push_str(&set);
    let token = match args.token.resolve() {
        Ok(token) => token,
        Err(err) => return usage_error(&err),
    };
    if args.connect.is_some() || args.shm.is_some() || token.is_some() {
        let transport = profile
            .transport
            .get_or_insert_with(profile::TransportSection::tcp);
        let mut sent_to = None;
        if let Some(address) = &args.connect {
            transport.kind = profile::TransportKind::Tcp;
            transport.connect = Some(address.clone());
            transport.listen = None;
            transport.name = None;
            sent_to = Some(format!("to {address} (--connect)"));
        }
        if let Some(name) = &args.shm {
            transport.kind = profile::TransportKind::Shm;
            transport.name = Some(name.clone());
            transport.connect = None;
            transport.listen = None;
            sent_to = Some(format!("into the shared-memory ring `{name}` (--shm)"));
        }
        if token.is_some() {
            transport.token = token;
        }
        if let Err(err) = profile.validate("--connect/--shm/--token") {
            return usage_error(&err);
        }
        // The profile's description may name another link (remote-tcp's names its address); a
        // profile saved from such a run already says where it was sent.
        if let Some(sent_to) = sent_to.map(|to| format!("; here sent {to}"))
            && !profile.description.contains(&sent_to)
        {
            profile.description.push_str(&sent_to);
        }
    }
    // Where this run sends, what sizes or places the ring, or sets a consumer, is the
    // receiver's: set here, it would be taken and do nothing.
    if matches!(profile.link_end(), profile::LinkEndSetting::Send(..))
        && let Err(err) = settings::for_a_sender(&args.settings)
    {
        return usage_error(&err);
    }
    let options = HeadlessOptions {
        duration: args
            .report
            .duration
            .or(profile.workload.duration.map(|d| d.0)),
        interval: args.report.interval.unwrap_or(profile.report.interval.0),
        hlog: args.report.hlog.clone().or(profile.report.hlog.clone()),
        until_sender_leaves: false,
        profile_name: Some(name.clone()),
        metrics: None,
        flamegraph: args.flamegraph.clone(),
    };
    let launched = Launch {
        name,
        command: "run",
        headless: args.headless,
        metrics: &args.report.metrics,
    };
    launch(profile, &launched, options)
}

fn run_serve(args: &ServeArgs) -> ExitCode {
    if let Err(err) = settings::for_a_receiver(&args.settings) {
        return usage_error(&err);
    }
    let place = args.shm.as_ref().map(|_| "--shm");
    if let Err(err) = settings::not_also_given(&args.settings, place, args.token.given_by()) {
        return usage_error(&err);
    }
    let (profile, name) =
        match chosen_profile(args.profile.as_ref(), args.builtin.as_ref(), "remote-tcp") {
            Ok(chosen) => chosen,
            Err(err) => return usage_error(&err),
        };
    let (mut profile, set) = match settings::with_settings(profile, &args.settings) {
        Ok(set) => set,
        Err(err) => return usage_error(&err),
    };
    let token = match args.token.resolve() {
        Ok(token) => token,
        Err(err) => return usage_error(&err),
    };
    let transport = profile
        .transport
        .get_or_insert_with(profile::TransportSection::tcp);
    transport.connect = None;
    transport.name = None;
    let (place, link) = match &args.shm {
        Some(name) => {
            transport.kind = profile::TransportKind::Shm;
            transport.listen = Some(name.clone());
            (
                format!("--shm {name}"),
                format!("the shared-memory ring `{name}`"),
            )
        }
        None => {
            if matches!(
                transport.kind,
                profile::TransportKind::Local | profile::TransportKind::Shm
            ) {
                transport.kind = profile::TransportKind::Tcp;
            }
            transport.listen = Some(args.listen.clone());
            let over = if transport.kind == profile::TransportKind::Rdma {
                "RDMA"
            } else {
                "TCP"
            };
            (args.listen.clone(), format!("{over} on {}", args.listen))
        }
    };
    if token.is_some() {
        transport.token = token;
    }
    // The sender decides what is sent; this side only holds the ring.
    profile.workload.producers = 1;
    profile.workload.consumers = 1;
    profile.codec = None;
    profile.workload.duration = None;
    // The base profile's own description speaks of its sender (its codec, its address): this
    // side's says what it is, so the start line, the report and saved profiles do not mislead.
    profile.description = format!(
        "the receiving end of {link}: ring settings from `{name}`; the rows, their pace and \
         codec are the sender's{set}"
    );
    if let Err(err) = profile.validate("serve") {
        return usage_error(&err);
    }
    let options = HeadlessOptions {
        duration: args.report.duration,
        interval: args.report.interval.unwrap_or(profile.report.interval.0),
        hlog: args.report.hlog.clone(),
        until_sender_leaves: args.once,
        profile_name: Some(name.clone()),
        metrics: None,
        flamegraph: None,
    };
    let launched = Launch {
        name: format!("serve {place} ({name})"),
        command: "serve",
        headless: args.headless,
        metrics: &args.report.metrics,
    };
    launch(profile, &launched, options)
}

/// The `/metrics` endpoint `--metrics-listen` asks for, serving what `command` on `subject`
/// measures; `None` when not asked for.
fn metrics_endpoint(
    args: &MetricsArgs,
    command: &str,
    subject: &str,
) -> Result<Option<(MetricsServer, Metrics)>, String> {
    let Some(address) = &args.metrics_listen else {
        return Ok(None);
    };
    let metrics = Metrics::new(ringtop::export::metrics::Info {
        command: command.to_owned(),
        subject: subject.to_owned(),
    });
    let server = MetricsServer::start(address, metrics.clone())?;
    say!(
        "ringtop: Prometheus metrics at http://{}/metrics",
        server.address()
    );
    Ok(Some((server, metrics)))
}

/// How a workload is started: what to call it, the command, the front end, the metrics wanted.
struct Launch<'a> {
    name: String,
    command: &'static str,
    headless: bool,
    metrics: &'a MetricsArgs,
}

fn launch(
    profile: profile::TuningProfile,
    launched: &Launch<'_>,
    mut options: HeadlessOptions,
) -> ExitCode {
    let name = launched.name.as_str();
    let endpoint = match metrics_endpoint(launched.metrics, launched.command, name) {
        Ok(endpoint) => endpoint,
        Err(err) => return usage_error(&err),
    };
    let linger = launched.metrics.metrics_linger;
    let metrics = endpoint.as_ref().map(|(_, metrics)| metrics.clone());
    if !launched.headless {
        return run_dashboard(profile, name, metrics);
    }
    options.metrics = metrics;
    let interrupted = stop_on_signals();
    let stdin = io::BufReader::new(io::stdin());
    let mut stdout = io::stdout().lock();
    let outcome = headless::run(profile, &options, stdin, &mut stdout, &interrupted);
    if let (Some((server, metrics)), Some(most)) = (endpoint, linger) {
        server.linger(&metrics, most);
    }
    match outcome {
        Ok(Outcome::Finished { summary, .. }) if summary.failure.is_some() => {
            say!(
                "ringtop: {}",
                summary.failure.as_deref().unwrap_or_default()
            );
            ExitCode::FAILURE
        }
        Ok(Outcome::Finished { summary, .. }) if summary.integrity_ok == Some(false) => {
            say!(
                "ringtop: rows {} (this is a bug; please report it)",
                summary.totals.integrity_counts(", ")
            );
            ExitCode::from(EXIT_INTEGRITY)
        }
        Ok(Outcome::Finished { unwritten, .. }) if unwritten.is_empty() => ExitCode::SUCCESS,
        // The figures are out, but a file asked for is missing or cut short: a script must
        // not take the run as whole.
        Ok(Outcome::Finished { unwritten, .. }) => {
            say!(
                "ringtop: the run ended, but {} was not written whole (see the error line)",
                unwritten.join(" and ")
            );
            ExitCode::FAILURE
        }
        Ok(Outcome::OutputClosed) => ExitCode::SUCCESS,
        Err(err @ (HeadlessError::Hlog { .. } | HeadlessError::Flamegraph { .. })) => {
            usage_error(&err)
        }
        Err(err) => {
            say!("ringtop: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run_doctor(args: &DoctorArgs) -> ExitCode {
    let (profile, _) = match chosen_profile(args.profile.as_ref(), args.builtin.as_ref(), "default")
    {
        Ok(chosen) => chosen,
        Err(err) => return usage_error(&err),
    };
    // The CPUs `run --set …` would take: the same keys give the same plan.
    let profile = match settings::with_settings(profile, &args.settings) {
        Ok((profile, _)) => profile,
        Err(err) => return usage_error(&err),
    };
    let plan = match ringtop::engine::doctor_plan(&profile) {
        Ok(plan) => plan,
        Err(err) => return usage_error(&err),
    };
    let report = ringtop::doctor::examine(&plan);
    write_stdout(if args.json {
        json_line(&report)
    } else {
        Ok(report.table())
    })
}

fn run_profile(command: &ProfileCommand) -> ExitCode {
    match command {
        ProfileCommand::List => {
            let mut text = String::new();
            for (name, _) in builtin::BUILTIN {
                match builtin::get(name) {
                    Ok(p) => text.push_str(&format!("{name:<22} {}\n", p.description)),
                    Err(err) => text.push_str(&format!("{name:<22} (not usable here: {err})\n")),
                }
            }
            write_stdout(Ok(text))
        }
        ProfileCommand::Show { name } => match builtin::text(name) {
            Some(text) => write_stdout(Ok(text.to_owned())),
            None => match builtin::get(name) {
                Err(err) => usage_error(&err),
                Ok(_) => ExitCode::FAILURE,
            },
        },
        ProfileCommand::Check { file } => match profile::check_file(file) {
            Ok(p) => write_stdout(Ok(format!(
                "{}: ok ({} ring, {}, {}{}{})\n",
                file.display(),
                p.ring.kind.name(),
                counted(p.workload.producers, "producer"),
                counted(p.workload.consumers, "consumer"),
                p.codec()
                    .map(|c| format!(", codec {c}"))
                    .unwrap_or_default(),
                p.codec
                    .as_ref()
                    .and_then(|c| c.min_ratio)
                    .map(|floor| format!(", tuned to a codec ratio of at least {floor}x"))
                    .unwrap_or_default()
            ))),
            Err(errors) => {
                for err in &errors {
                    say!("ringtop: {err}");
                }
                if errors.len() > 1 {
                    say!("ringtop: {} problems in {}", errors.len(), file.display());
                }
                ExitCode::from(2)
            }
        },
    }
}

fn run_codec(args: &CodecArgs) -> ExitCode {
    let mut tables = Vec::new();
    for path in &args.input {
        match csv::load(path) {
            Ok(table) => tables.push((path, table)),
            Err(err) => return usage_error(&err),
        }
    }
    let mut exact = true;
    let mut files = Vec::new();
    let mut text = String::new();
    for (path, table) in &tables {
        let columns: Vec<(&str, &[f64])> = table
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.values.as_slice()))
            .collect();
        let results = trial::run_columns(&columns, args.frame_rows as usize, &args.codec.0);
        exact &= results.iter().all(trial::CodecResult::is_exact);
        if args.json {
            files.push(CodecFile::of(path, table, args.frame_rows, results));
        } else {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&codec_table::render(path, table, args.frame_rows, &results));
        }
    }
    let out = if args.json {
        json_line(&CodecDocument { files })
    } else {
        Ok(text)
    };
    let code = write_stdout(out);
    if code == ExitCode::SUCCESS && !exact {
        say!("ringtop: a codec did not round-trip exactly (this is a bug; please report it)");
        return ExitCode::FAILURE;
    }
    code
}

fn run_probe(args: &ProbeArgs) -> ExitCode {
    let report = match probe::run(&args.config()) {
        Ok(report) => report,
        Err(err) => return usage_error(&err),
    };
    let text = if args.json {
        json_line(&report)
    } else {
        Ok(probe_table::render_table(&report))
    };
    let code = write_stdout(text);
    if code != ExitCode::SUCCESS {
        return code;
    }
    if report.integrity.is_clean() {
        ExitCode::SUCCESS
    } else {
        say!(
            "ringtop: ring integrity violated: {:?} (this is a bug; please report it)",
            report.integrity
        );
        ExitCode::FAILURE
    }
}

fn run_topo(args: &TopoArgs) -> ExitCode {
    let loaded = match (&args.synthetic, &args.xml) {
        (Some(description), _) => topology::from_synthetic(description),
        (None, Some(path)) => topology::from_xml_file(path),
        (None, None) => topology::host().cloned(),
    };
    let machine = match loaded {
        Ok(machine) => machine,
        Err(err) => return usage_error(&err),
    };
    write_stdout(if args.json {
        json_line(&machine)
    } else {
        Ok(render::render_tree(&machine))
    })
}

fn run_c2c(args: &C2cArgs) -> ExitCode {
    let config = C2cConfig {
        cpus: args.cpus.as_ref().map(|list| list.0.clone()),
        samples: args.samples,
        round_trips_per_sample: args.round_trips,
    };
    let report = match tune::measure_c2c(&config) {
        Ok(report) => report,
        Err(err) => return usage_error(&err),
    };
    write_stdout(if args.json {
        json_line(&report)
    } else {
        Ok(c2c::render_matrix(&report))
    })
}

/// Why `path`, given to `option`, cannot take a file a command will write: a directory (give a
/// file name like `example`), or a folder that does not exist. Asked before the command's work,
/// so a typo is a usage error, not a failure at the end with the work lost.
pub(super) fn writable_output(
    option: &str,
    path: &std::path::Path,
    example: &str,
) -> Result<(), String> {
    if path.is_dir() {
        return Err(format!(
            "{option} {}: a directory; give a file name ({example})",
            path.display()
        ));
    }
    let folder = ringtop::save::folder(path);
    if !folder.is_dir() {
        return Err(format!(
            "{option} {}: the folder {} does not exist",
            path.display(),
            folder.display()
        ));
    }
    Ok(())
}

/// Prints what `--help`, `--version` or a usage error answers, with its exit code (0 for the
/// first two, 2 for the last), or 1 where help could not be written (`--help > /dev/full`),
/// which `Parser::parse` would have let pass as 0.
fn parse_answer(answer: &clap::Error) -> ExitCode {
    let printed = answer.print().and_then(|()| io::stdout().flush());
    match answer.exit_code() {
        0 => written(printed),
        code => ExitCode::from(u8::try_from(code).unwrap_or(2)),
    }
}

/// Bad input: a clear message and exit code 2.
pub(super) fn usage_error(err: &dyn std::fmt::Display) -> ExitCode {
    say!("ringtop: {err}");
    ExitCode::from(2)
}

/// One JSON document on one line, with the `schema_version` every document ringtop prints
/// carries (the same number as the headless lines').
pub(super) fn json_line<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(value)?;
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert(
            "schema_version".into(),
            ringtop::metrics::snapshot::SCHEMA_VERSION.into(),
        );
    }
    serde_json::to_string(&value).map(|mut s| {
        s.push('\n');
        s
    })
}

/// Writes the output; a closed stdout (`| head`) is not an error worth a panic.
pub(super) fn write_stdout(text: Result<String, serde_json::Error>) -> ExitCode {
    let text = match text {
        Ok(t) => t,
        Err(err) => {
            say!("ringtop: cannot encode the output: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = io::stdout().lock();
    written(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// The exit code of a command whose answer was written to stdout with `result`: a closed
/// stdout (`| head`) is success, any other failure (a full disk) says so and fails.
fn written(result: io::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            say!("ringtop: cannot write the output: {err}");
            ExitCode::FAILURE
        }
    }
}
