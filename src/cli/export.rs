//! `ringtop report` and `ringtop compare`: a run (and a sweep) as one HTML file, and two runs
//! side by side with a verdict.

use std::process::ExitCode;

use ringtop::export::compare::Headless;
use ringtop::input::{DATA_LINE_BYTES, DOCUMENT_BYTES, read_document, read_lines_file};

use super::args::{CompareArgs, ReportCommandArgs};
use super::{usage_error, writable_output, write_stdout};

/// `ringtop report`: the HTML of a run (with its map, interval log and sweep), or of a sweep
/// alone.
pub(super) fn run_report(args: &ReportCommandArgs) -> ExitCode {
    if let Err(err) = writable_output("--output", &args.output, "report.html") {
        return usage_error(&err);
    }
    let sweep = match &args.sweep {
        None => None,
        Some(path) => {
            let parsed = read_document(path, DOCUMENT_BYTES, "a sweep's result")
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string())
                })
                .and_then(|doc| ringtop::export::report::check_sweep(&doc).map(|()| doc));
            match parsed {
                Ok(doc) => Some(doc),
                Err(err) => return usage_error(&format!("{}: {err}", path.display())),
            }
        }
    };
    let Some(run_path) = &args.run else {
        let source = args
            .sweep
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string());
        let html = ringtop::export::report::sweep_html(
            sweep.as_ref().unwrap_or(&serde_json::Value::Null),
            &source,
        );
        return write_report(&args.output, &html);
    };
    let output = match Headless::read(run_path) {
        Ok(output) => output,
        Err(err) => return usage_error(&err),
    };
    let c2c = match &args.c2c {
        None => None,
        Some(path) => {
            let parsed = read_document(path, DOCUMENT_BYTES, "a core-to-core map")
                .map_err(|e| e.to_string())
                .and_then(|text| {
                    serde_json::from_str(&text)
                        .map_err(|e| format!("not a `ringtop c2c --json` map: {e}"))
                });
            match parsed {
                Ok(map) => Some(map),
                Err(err) => return usage_error(&format!("{}: {err}", path.display())),
            }
        }
    };
    let run = match output {
        Headless::Run(run) => run,
        Headless::Attachment(attachment) => {
            if args.hlog.is_some() || args.sweep.is_some() {
                return usage_error(&format!(
                    "{} is `attach --headless` output: its report takes --c2c, but there is no \
                     interval log (--hlog) or sweep (--sweep) of an attachment",
                    run_path.display()
                ));
            }
            let html = ringtop::export::report::attachment_html(&attachment, c2c.as_ref());
            let unfinished = attachment.summary.is_none().then_some(Unfinished {
                missing: ringtop::export::compare::NO_PROGRAM_SUMMARY,
                intervals: attachment.intervals.len(),
            });
            return report_of(run_path, html, unfinished, &args.output);
        }
    };
    let hlog = match &args.hlog {
        None => None,
        Some(path) => {
            let read = read_lines_file(path, DATA_LINE_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|text| ringtop::export::report::read_hlog(text.as_bytes()));
            match read {
                Ok(histograms) => Some(histograms),
                Err(err) => return usage_error(&format!("{}: {err}", path.display())),
            }
        }
    };
    let html = ringtop::export::report::html(
        &run,
        ringtop::export::report::Extras {
            c2c: c2c.as_ref(),
            hlog: hlog.as_ref(),
            sweep: sweep.as_ref(),
        },
    );
    let unfinished = run.summary.is_none().then_some(Unfinished {
        missing: ringtop::export::compare::NO_SUMMARY,
        intervals: run.snapshots.len(),
    });
    report_of(run_path, html, unfinished, &args.output)
}

/// What an output that did not finish lacks (its summary line, in words) and how many intervals
/// it has, for what `report` says of it.
struct Unfinished {
    missing: &'static str,
    intervals: usize,
}

/// Writes the report `html` of `input` to `output`, saying on stderr when the output did not
/// finish; `None` (nothing to report: no summary and not one interval) is refused.
fn report_of(
    input: &std::path::Path,
    html: Option<String>,
    unfinished: Option<Unfinished>,
    output: &std::path::Path,
) -> ExitCode {
    let Some(html) = html else {
        return usage_error(&format!(
            "{}: {} and not one interval: nothing to report",
            input.display(),
            unfinished.map_or("no summary", |u| u.missing)
        ));
    };
    if let Some(Unfinished { missing, intervals }) = unfinished {
        say!(
            "ringtop: {}: {missing}; the report says so, and gives its {intervals} intervals",
            input.display()
        );
    }
    write_report(output, &html)
}

fn write_report(path: &std::path::Path, html: &str) -> ExitCode {
    if let Err(err) = ringtop::save::write_whole(path, html.as_bytes()) {
        say!("ringtop: cannot write {}: {err}", path.display());
        return ExitCode::FAILURE;
    }
    say!("ringtop: wrote {}", path.display());
    ExitCode::SUCCESS
}

/// `ringtop compare A B`: exit code 1 when B regressed beyond the threshold and the noise.
pub(super) fn run_compare(args: &CompareArgs) -> ExitCode {
    use ringtop::export::compare::{Compared, compare};
    let report = Compared::read(&args.a)
        .and_then(|a| Compared::read(&args.b).map(|b| (a, b)))
        .and_then(|(a, b)| compare(&a, &b, args.max_regression));
    let report = match report {
        Ok(report) => report,
        Err(err) => return usage_error(&err),
    };
    let written = write_stdout(if args.json {
        serde_json::to_string(&report).map(|mut s| {
            s.push('\n');
            s
        })
    } else {
        Ok(report.table())
    });
    if written != ExitCode::SUCCESS {
        return written;
    }
    if report.regressed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
