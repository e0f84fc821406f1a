//! Header: profile, ring, state, uptime and the ring's fill (where the width allows), throughput,
//! lost/duplicated (red when not 0), and the snapshot's first warning, when there is one (a
//! spinning thread kept from its CPU, a CPU shared, a worker that died).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::metrics::snapshot::{RingSnapshot, RunState};
use crate::tui::app::App;
use crate::tui::style::{Severity, format_rate, severity};

/// Lines the header needs: two, and a third while the snapshot carries a warning.
pub fn lines(app: &App) -> u16 {
    if app
        .snapshot
        .as_ref()
        .is_some_and(|s| !s.warnings.is_empty())
    {
        3
    } else {
        2
    }
}

/// Draws the header into `area` (up to three lines).
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else {
        let line = Line::from(format!("ringtop · {} · starting…", app.profile_name));
        frame.render_widget(Paragraph::new(line), area);
        return;
    };
    let state = match s.state {
        RunState::Running => Span::styled("running", severity(app, Severity::Good)),
        RunState::Paused => Span::styled("PAUSED", severity(app, Severity::Warn)),
        RunState::Stopped => Span::styled("stopped", severity(app, Severity::Warn)),
    };
    let uptime = s.elapsed_s as u64;
    let broken = s.totals.lost + s.totals.duplicated + s.totals.reordered;
    let integrity = Span::styled(
        format!(
            "lost {} dup {} reord {}",
            s.totals.lost, s.totals.duplicated, s.totals.reordered
        ),
        severity(
            app,
            if broken == 0 {
                Severity::Good
            } else {
                Severity::Bad
            },
        ),
    );
    let mut first = Line::from(vec![
        Span::raw(format!("ringtop · {} · {} ", app.profile_name, s.ring.kind)),
        Span::raw(if s.ring.framed { "framed · " } else { "· " }),
        state,
        Span::raw(format!(
            " · up {:02}:{:02}:{:02}",
            uptime / 3600,
            uptime / 60 % 60,
            uptime % 60
        )),
    ]);
    // The fill goes last and only whole: a number cut at the edge would read as another.
    let fill = format!(" · fill {}", fill(&s.ring));
    if first.width() + fill.chars().count() <= usize::from(area.width) {
        first.push_span(Span::raw(fill));
    }
    let second = Line::from(vec![
        Span::raw(format!(
            "{} rows/s  {:.0} MB/s  batch {}  prefetch {}  ",
            format_rate(s.totals.rows_per_s),
            s.totals.mb_per_s,
            app.batch,
            app.prefetch
        )),
        integrity,
    ]);
    let mut lines = vec![first, second];
    if let Some(warning) = s.warnings.first() {
        let more = match s.warnings.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        lines.push(Line::from(Span::styled(
            format!("⚠ {warning}{more}"),
            severity(app, Severity::Warn),
        )));
    }
    lines.truncate(usize::from(area.height));
    frame.render_widget(Paragraph::new(lines), area);
}

/// The ring's fill at the interval's cut: rows of its slots (`17/4096`), or rows alone for a
/// framed ring, whose compressed frames can hold more rows than it has slots; `n/a` where not
/// known (the receiving side of a link does not know what its sender wrote).
fn fill(ring: &RingSnapshot) -> String {
    match ring.occupancy_rows {
        None => "n/a".to_owned(),
        Some(rows) if ring.framed => format!("{rows} rows"),
        Some(rows) => format!("{rows}/{}", ring.capacity),
    }
}
