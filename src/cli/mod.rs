//! The `ringtop` command line: parses arguments, picks a front end, calls the library.

use std::io::{self, Write};
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
mod workload;

use args::{
    C2cArgs, Cli, CodecArgs, Command, DoctorArgs, ProbeArgs, ProfileCommand, ReportArgs, RunArgs,
    TokenArgs, TopoArgs,
};
use clap::Parser;
use codec_document::{CodecDocument, CodecFile};
use ringtop::codec::trial;
use ringtop::engine::probe;
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
        None => workload::run_workload(&RunArgs {
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
        Some(Command::Serve(args)) => workload::run_serve(&args),
        Some(Command::Topo(args)) => run_topo(&args),
        Some(Command::C2c(args)) => run_c2c(&args),
        Some(Command::Codec(args)) => run_codec(&args),
        Some(Command::Profile(command)) => run_profile(&command),
        Some(Command::Run(args)) => workload::run_workload(&args),
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
                "{}: ok ({})\n",
                file.display(),
                what_it_runs(&p)
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

/// What `profile check` says a valid profile runs: a local ring's kind, threads and codec; a
/// sender's frames and where they go (the ring and its consumer are the receiver's); a
/// receiver's ring and consumers (the rows, their pace and codec are its sender's).
fn what_it_runs(p: &profile::TuningProfile) -> String {
    let codec = p.codec().unwrap_or(ringtop::codec::CodecId::None);
    let floor = p
        .codec
        .as_ref()
        .and_then(|c| c.min_ratio)
        .map(|floor| format!(", tuned to a codec ratio of at least {floor}x"))
        .unwrap_or_default();
    match p.link_end() {
        profile::LinkEndSetting::Local => format!(
            "{} ring, {}, {}{}{floor}",
            p.ring.kind.name(),
            counted(p.workload.producers, "producer"),
            counted(p.workload.consumers, "consumer"),
            p.codec()
                .map(|c| format!(", codec {c}"))
                .unwrap_or_default(),
        ),
        profile::LinkEndSetting::Send(kind, at) => format!(
            "sends {codec} frames over {} to {at}, {}; the ring and its consumer are the \
             receiver's{floor}",
            kind.name(),
            counted(p.workload.producers, "producer"),
        ),
        profile::LinkEndSetting::Receive(kind, at) => format!(
            "receives over {} on {at} into a {} ring of {} rows, {}; the rows, their pace and \
             codec are the sender's",
            kind.name(),
            p.ring.kind.name(),
            p.ring.capacity,
            counted(p.workload.consumers, "consumer"),
        ),
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
