//! Header: profile, ring, state, uptime, throughput, and lost/duplicated (red when not 0).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::metrics::snapshot::RunState;
use crate::tui::app::App;
use crate::tui::style::{Severity, format_rate, severity};

/// Draws the header into `area` (one or two lines).
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
    let first = Line::from(vec![
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
    let lines = if area.height >= 2 {
        vec![first, second]
    } else {
        vec![first]
    };
    frame.render_widget(Paragraph::new(lines), area);
}
