//! `ringtop attach --headless`: a watched program's rings as JSON lines, in the same dialect as
//! `run` (`attach`, then `program` each interval, then `program_summary`).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::monitor::view::{Ending, Watcher};
use crate::output::{AttachStart, ErrorLine, OutputLine};

use super::{HeadlessError, emit};

/// Reads in a row that may fail before watching gives up.
const READ_FAILURES: u32 = 3;

/// How an attachment went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachOutcome {
    /// It ended and printed its summary; `ok` is false when the segment became unreadable.
    Finished {
        /// Whether it ended well (the program exited or died, the duration passed, or it was
        /// interrupted), rather than on a segment that could no longer be read.
        ok: bool,
    },
    /// stdout went away (`| head`).
    OutputClosed,
}

/// Watches `watcher`'s program every `interval` until it ends, `duration` passes or
/// `interrupted` is set, writing JSON lines to `out`.
///
/// # Errors
/// [`HeadlessError::Output`] when stdout fails.
pub fn attach(
    mut watcher: Watcher,
    interval: Duration,
    duration: Option<Duration>,
    metrics: Option<&crate::export::Metrics>,
    out: &mut impl Write,
    interrupted: &Arc<AtomicBool>,
) -> Result<AttachOutcome, HeadlessError> {
    let started = Instant::now();
    if !emit(
        out,
        &OutputLine::Attach(AttachStart::now(watcher.program())),
    )? {
        return Ok(AttachOutcome::OutputClosed);
    }
    let mut next = started + interval;
    let mut failures = 0;
    let mut tallies = crate::engine::WarningLog::default();
    let (ended, ok) = loop {
        let deadline = duration.map(|d| started + d);
        let wake = deadline.map_or(next, |d| d.min(next));
        while Instant::now() < wake && !interrupted.load(Relaxed) {
            std::thread::sleep((wake - Instant::now()).min(Duration::from_millis(20)));
        }
        if interrupted.load(Relaxed) {
            break ("interrupted".to_owned(), true);
        }
        match watcher.read_next() {
            Ok((interval, ending)) => {
                failures = 0;
                if let Some(metrics) = metrics {
                    metrics.observe_program(&interval, &watcher.histograms());
                }
                tallies.add(&interval.warnings, started.elapsed());
                if !emit(out, &OutputLine::Program(interval.snapshot))? {
                    return Ok(AttachOutcome::OutputClosed);
                }
                match ending {
                    Some(Ending::Exited) => break ("the program exited".to_owned(), true),
                    Some(Ending::Died) => {
                        break (
                            "the program died: it no longer holds its segment's lock, and did \
                             not close the segment"
                                .to_owned(),
                            true,
                        );
                    }
                    None => {}
                }
            }
            Err(why) => {
                failures += 1;
                let line = ErrorLine::new(started.elapsed().as_secs_f64(), why.clone());
                if !emit(out, &OutputLine::Error(line))? {
                    return Ok(AttachOutcome::OutputClosed);
                }
                if failures >= READ_FAILURES {
                    break (format!("the segment could not be read: {why}"), false);
                }
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break ("the duration passed".to_owned(), true);
        }
        next += interval;
    };
    if let Some(metrics) = metrics {
        metrics.mark_final();
    }
    let mut summary = watcher.summary(ended);
    summary.warning_tallies = Some(tallies.tallies());
    if !emit(out, &OutputLine::ProgramSummary(summary))? {
        return Ok(AttachOutcome::OutputClosed);
    }
    Ok(AttachOutcome::Finished { ok })
}
