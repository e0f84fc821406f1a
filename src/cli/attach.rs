//! `ringtop attach`: list the programs that publish rings, or watch one.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use ringtop::headless::{self, AttachOutcome};
use ringtop::monitor::dir::monitor_dir;
use ringtop::monitor::read::{self, Listing, ProgramReading};
use ringtop::monitor::view::Watcher;
use ringtop::words::counted;

use super::args::AttachArgs;
use super::attach_list::{AttachList, other_end};
use super::workload::metrics_endpoint;
use super::{json_line, stop_on_signals, usage_error, write_stdout};

/// Time between lines unless `--interval` says otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

pub(super) fn run_attach(args: &AttachArgs) -> ExitCode {
    let dir = monitor_dir();
    if args.list {
        let listing = match listed(&dir) {
            Ok(listing) => listing,
            Err(err) => return usage_error(&err),
        };
        return write_stdout(if args.json {
            json_line(&AttachList::of(&dir, &listing))
        } else {
            Ok(list_table(&dir, &listing))
        });
    }
    let path = match choose_waiting(&dir, args.target.as_deref(), args.wait) {
        Ok(path) => path,
        Err(err) => return usage_error(&err),
    };
    let watcher = match Watcher::open(&path) {
        Ok(watcher) => watcher,
        Err(err) => return usage_error(&err),
    };
    let floor = watcher.update_interval();
    let mut interval = args.interval.unwrap_or(DEFAULT_INTERVAL);
    if interval < floor {
        say!(
            "ringtop: the program updates its segment every {}; lines come as often",
            humantime::format_duration(floor)
        );
        interval = floor;
    }
    let endpoint = match metrics_endpoint(&args.metrics, "attach", &watcher.program().name) {
        Ok(endpoint) => endpoint,
        Err(err) => return usage_error(&err),
    };
    let metrics = endpoint.as_ref().map(|(_, metrics)| metrics);
    let interrupted = stop_on_signals();
    if args.headless {
        let mut out = io::stdout().lock();
        let outcome = headless::attach(
            watcher,
            interval,
            args.duration,
            metrics,
            &mut out,
            &interrupted,
        );
        if let (Some((server, metrics)), Some(most)) = (&endpoint, args.metrics.metrics_linger) {
            server.linger(metrics, most);
        }
        return match outcome {
            Ok(AttachOutcome::Finished { ok: true } | AttachOutcome::OutputClosed) => {
                ExitCode::SUCCESS
            }
            Ok(AttachOutcome::Finished { ok: false }) => ExitCode::FAILURE,
            Err(err) => {
                say!("ringtop: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return usage_error(
            &"the dashboard needs a terminal; use `ringtop attach --headless` in scripts",
        );
    }
    match ringtop::tui::attach::run(watcher, interval, args.duration, metrics, &interrupted) {
        Ok(ended) => {
            ringtop::output::to_stdout(format_args!("ringtop: {ended}"));
            ExitCode::SUCCESS
        }
        Err(err) => {
            say!("ringtop: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The programs publishing rings in `dir`, once the segments of those that died are removed
/// (each said on stderr).
fn listed(dir: &Path) -> Result<Listing, String> {
    let listing = read::list(dir, true).map_err(|e| e.to_string())?;
    for (path, what) in &listing.removed {
        say!("ringtop: removed {}: {what}", path.display());
    }
    Ok(listing)
}

/// As [`choose`]; while no program matches, looks again every 50 ms for up to `wait` (a program
/// a script has just started may not have published yet).
fn choose_waiting(
    dir: &Path,
    target: Option<&str>,
    wait: Option<Duration>,
) -> Result<std::path::PathBuf, String> {
    let started = Instant::now();
    loop {
        let listing = listed(dir)?;
        match choose(dir, &listing, target) {
            Ok(path) => return Ok(path),
            Err(why) => {
                let waiting = wait.filter(|_| matching(&listing, target).is_empty());
                match waiting {
                    Some(most) if started.elapsed() < most => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Some(most) => {
                        return Err(format!(
                            "{why} (waited {})",
                            humantime::format_duration(most)
                        ));
                    }
                    None => return Err(why),
                }
            }
        }
    }
}

/// The programs in `listing` that `target` names (its pid, or the name it published under), or
/// every one when no target is given.
fn matching<'a>(
    listing: &'a Listing,
    target: Option<&str>,
) -> Vec<&'a (std::path::PathBuf, ProgramReading)> {
    let by_pid = target.and_then(|t| t.parse::<u32>().ok());
    listing
        .programs
        .iter()
        .filter(|(_, p)| match (target, by_pid) {
            (None, _) => true,
            (Some(_), Some(pid)) => p.pid == pid,
            (Some(name), None) => p.name == name,
        })
        .collect()
}

/// The segment of the program `target` names (a pid, or a unique published name), or of the one
/// program that publishes rings when no target is given.
fn choose(
    dir: &Path,
    listing: &Listing,
    target: Option<&str>,
) -> Result<std::path::PathBuf, String> {
    let Some(target) = target else {
        return only_program(dir, listing);
    };
    let by_pid = target.parse::<u32>().ok();
    match matching(listing, Some(target)).as_slice() {
        [(path, _)] => Ok(path.clone()),
        [] => {
            let why = listing
                .skipped
                .iter()
                .map(|(path, why)| format!("\n  {}: {why}", path.display()))
                .collect::<String>();
            Err(format!(
                "no running program {} publishes rings in {} (`ringtop attach --list`){}",
                by_pid.map_or(format!("named {target:?}"), |pid| format!("with pid {pid}")),
                dir.display(),
                if why.is_empty() {
                    String::new()
                } else {
                    format!("; unreadable there:{why}")
                }
            ))
        }
        many => Err(format!(
            "{} programs are named {target:?} (pids {}); attach by pid",
            many.len(),
            many.iter()
                .map(|(_, p)| p.pid.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The segment of the one program publishing rings in `dir`; why not when there are none or
/// several (naming them, to choose from).
fn only_program(dir: &Path, listing: &Listing) -> Result<std::path::PathBuf, String> {
    match listing.programs.as_slice() {
        [(path, _)] => Ok(path.clone()),
        [] => Err(format!(
            "no running program publishes rings in {} (a program opts in with \
             ringtop::monitor::publish)",
            dir.display()
        )),
        many => Err(format!(
            "{} programs publish rings in {}: {}; name one (`ringtop attach NAME` or its pid)",
            many.len(),
            dir.display(),
            many.iter()
                .map(|(_, p)| format!("{} (pid {})", p.name, p.pid))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn list_table(dir: &Path, listing: &Listing) -> String {
    let mut text = String::new();
    if listing.programs.is_empty() {
        text.push_str(&format!(
            "no program publishes rings in {} (a program opts in with ringtop::monitor::publish)\n",
            dir.display()
        ));
    }
    for (path, program) in &listing.programs {
        text.push_str(&format!(
            "{} (pid {}), {}, updated {} ago  {}\n",
            program.name,
            program.pid,
            counted(program.rings.len(), "ring"),
            humantime::format_duration(round_ms(program.heartbeat_age(SystemTime::now()))),
            path.display()
        ));
        text.push_str(
            "  RING            KIND           CAPACITY     PRODUCED       FILL  LAG PER CONSUMER\n",
        );
        for ring in &program.rings {
            let lags: Vec<String> = ring
                .heads
                .iter()
                .map(|h| ring.tail.saturating_sub(*h).to_string())
                .collect();
            let other_end = other_end(listing, ring).map_or(String::new(), |p| {
                format!("  (other end: {}, pid {})", p.name, p.pid)
            });
            text.push_str(&format!(
                "  {:<15} {:<12} {:>10} {:>12} {:>10}  {}{}{other_end}\n",
                ring.name,
                ring.kind.name(),
                ring.capacity,
                ring.tail,
                ring.occupancy(),
                lags.join(" "),
                if ring.closed { "  (closed)" } else { "" }
            ));
        }
        for why in &program.skipped {
            text.push_str(&format!("  skipped {why}\n"));
        }
    }
    for (path, why) in &listing.skipped {
        text.push_str(&format!("skipped {}: {why}\n", path.display()));
    }
    text
}

/// The running program that registered the other end of `ring` (a ring between processes whose
/// two ends two programs registered), if one did.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().try_into().unwrap_or(u64::MAX))
}
