//! The commands that run a workload: `run` (headless or the dashboard), `serve` (a receiver),
//! and how either is launched (its signals, its metrics endpoint, its exit code).

use std::io::{self, IsTerminal};
use std::process::ExitCode;

use ringtop::export::{Metrics, MetricsServer};
use ringtop::headless::{self, HeadlessError, HeadlessOptions, Outcome};
use ringtop::profile;

use super::args::{MetricsArgs, RunArgs, ServeArgs};
use super::{chosen_profile, settings, stop_on_signals, usage_error};

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

pub(super) fn run_workload(args: &RunArgs) -> ExitCode {
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
            transport.send_to(address);
            sent_to = Some(format!("to {address} (--connect)"));
        }
        if let Some(name) = &args.shm {
            transport.send_into_shm(name);
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

pub(super) fn run_serve(args: &ServeArgs) -> ExitCode {
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
    let (place, link) = match &args.shm {
        Some(name) => {
            transport.hold_shm(name);
            (
                format!("--shm {name}"),
                format!("the shared-memory ring `{name}`"),
            )
        }
        None => {
            transport.listen_at(&args.listen);
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
pub(super) fn metrics_endpoint(
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
