//! Footer: the keys that work now, and the last action's result.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, Mode};
use crate::tui::style::{self, Severity, severity};

/// The keys for the current mode.
pub fn keys(mode: &Mode) -> &'static str {
    match mode {
        Mode::Normal => {
            "q quit  ? help  tab pane  ↑↓ thread  p pin  c codec  b/B batch  +/- pace  f/F prefetch  space pause  r reset  s save  l load  m c2c  g flame  t tune  w warnings"
        }
        Mode::Help | Mode::Warnings | Mode::HostCheck { .. } => "any key: back",
        Mode::Tune => "x cancel the search  any other key: back (the search goes on; t shows it)",
        Mode::CpuPicker { .. } => "↑↓ choose CPU  enter pin the selected thread  esc cancel",
        Mode::CodecPicker { .. } => "↑↓ choose codec  enter switch  esc cancel",
        Mode::Save { confirm: false, .. } => "type a name  enter save  esc cancel",
        Mode::Save { confirm: true, .. } => "enter overwrite  esc keep the existing file",
        Mode::Load { .. } => "↑↓ choose profile  enter load (restarts the workload)  esc cancel",
    }
}

/// Draws the status line (if any) and the key line.
pub fn render(frame: &mut Frame, area: Rect, app: &App) {
    let mut lines = Vec::new();
    if area.height >= 2 || app.status.is_some() {
        lines.push(match &app.status {
            Some(status) => Line::from(Span::styled(
                status.text.clone(),
                severity(
                    app,
                    if status.error {
                        Severity::Bad
                    } else {
                        Severity::Good
                    },
                ),
            )),
            None => Line::from(""),
        });
    }
    lines.push(Line::from(Span::styled(keys(&app.mode), style::dim(app))));
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true }),
        area,
    );
}
