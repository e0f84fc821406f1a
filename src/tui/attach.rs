//! `ringtop attach`'s dashboard: another program's rings, redrawn every interval until the
//! program ends, the duration passes, `q` or Ctrl-C; `w` shows every warning whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyModifiers};

use crate::engine::WarningLog;
use crate::metrics::rates::endpoint_rates;
use crate::metrics::snapshot::ProgramSnapshot;
use crate::monitor::view::{Ending, Watcher};

use super::scroll::Scroll;
use super::{TuiError, terminal};

/// The keys, on the status line.
const KEYS: &str = "w shows the warnings, q quits";

/// Watches `watcher`'s program until it ends (and the operator has seen that), `duration`
/// passes, the operator quits or `interrupted` is set; returns how it ended.
///
/// # Errors
/// [`TuiError::Terminal`] when the terminal fails.
pub fn run(
    mut watcher: Watcher,
    interval: Duration,
    duration: Option<Duration>,
    metrics: Option<&crate::export::Metrics>,
    interrupted: &Arc<AtomicBool>,
) -> Result<String, TuiError> {
    let (mut terminal, previous_hook) = terminal::enter()?;
    let started = Instant::now();
    let mut latest: Option<ProgramSnapshot> = None;
    let mut status = KEYS.to_owned();
    // The warnings overlay, while it is open (`w`), and where it is scrolled; every warning
    // the intervals carried, for those the latest no longer does.
    let mut warnings: Option<Scroll> = None;
    let mut warning_log = WarningLog::default();
    let mut rates = Vec::new();
    let mut ended: Option<String> = None;
    let mut next = started;
    let mut dirty = true;
    let result = loop {
        if interrupted.load(Relaxed) {
            break Ok(ended.unwrap_or_else(|| "interrupted".into()));
        }
        if duration.is_some_and(|d| started.elapsed() >= d) {
            break Ok(ended.unwrap_or_else(|| "the duration passed".into()));
        }
        if ended.is_none() && Instant::now() >= next {
            next += interval;
            dirty = true;
            match watcher.read_next() {
                Ok((interval, ending)) => {
                    if let Some(metrics) = metrics {
                        metrics.observe_program(&interval, &watcher.histograms());
                    }
                    warning_log.add(&interval.warnings, started.elapsed());
                    let snapshot = interval.snapshot;
                    // The first reading's counts run from the program's start, before this
                    // attachment: rates only from the second on.
                    rates = latest.as_ref().map_or_else(Vec::new, |before| {
                        endpoint_rates(
                            Some(&before.threads),
                            &snapshot.threads,
                            snapshot.interval_s,
                        )
                    });
                    latest = Some(snapshot);
                    ended = ending.map(|e| match e {
                        Ending::Exited => "the program exited".to_owned(),
                        Ending::Died => "the program died without closing its segment".to_owned(),
                    });
                    status = match &ended {
                        Some(how) => format!("{how}; these are its last figures. {KEYS}"),
                        None => KEYS.to_owned(),
                    };
                }
                Err(why) => status = format!("cannot read the segment: {why}. {KEYS}"),
            }
        }
        if dirty {
            dirty = false;
            if let Err(err) = terminal.draw(|frame| {
                let earlier = warning_log.earlier();
                super::panes::program::render(frame, latest.as_ref(), &rates, &earlier, &status);
                if let Some(scroll) = &warnings {
                    super::panes::program::render_warnings(
                        frame,
                        latest.as_ref(),
                        &earlier,
                        scroll,
                    );
                }
            }) {
                break Err(err.into());
            }
        }
        // Once the program has ended there is nothing more to read: wait for keys only.
        let wait = if ended.is_some() {
            Duration::from_millis(100)
        } else {
            next.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100))
        };
        match event::poll(wait) {
            Ok(false) => {}
            Ok(true) => match event::read() {
                Ok(Event::Key(key)) if key.kind == event::KeyEventKind::Press => {
                    let ctrl_c =
                        key.code == KeyCode::Char('c') && key.modifiers == KeyModifiers::CONTROL;
                    dirty = true;
                    if let Some(scroll) = &mut warnings
                        && !ctrl_c
                    {
                        // The overlay takes its scrolling keys; any other closes it.
                        if !scroll.key(key.code) {
                            warnings = None;
                        }
                    } else if key.code == KeyCode::Char('q') || key.code == KeyCode::Esc || ctrl_c {
                        break Ok(ended.unwrap_or_else(|| "stopped watching".into()));
                    } else if key.code == KeyCode::Char('w') {
                        warnings = Some(Scroll::default());
                    }
                }
                // A resize (or anything else) redraws.
                Ok(_) => dirty = true,
                Err(err) => break Err(err.into()),
            },
            Err(err) => break Err(err.into()),
        }
    };
    terminal::leave(previous_hook);
    result
}
