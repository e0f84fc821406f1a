//! Footer: the keys that work now, and the last action's result.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, Mode};
use crate::tui::style::{self, Severity, severity};
use crate::tui::wrap::{wrap_entries, wrap_words};

/// The keys for the current mode, each with what it does.
pub fn keys(mode: &Mode) -> &'static [&'static str] {
    match mode {
        Mode::Normal => &[
            "q quit",
            "? help",
            "tab pane",
            "↑↓ thread",
            "p pin",
            "c codec",
            "b/B batch",
            "+/- pace",
            "f/F prefetch",
            "space pause",
            "r reset",
            "s save",
            "l load",
            "m c2c",
            "g flame",
            "t tune",
            "w warnings",
        ],
        Mode::Help | Mode::Warnings | Mode::HostCheck { .. } => &["any key: back"],
        Mode::Tune => &[
            "x cancel the search",
            "any other key: back (the search goes on; t shows it)",
        ],
        Mode::CpuPicker { .. } => &[
            "↑↓ choose CPU",
            "enter pin the selected thread",
            "esc cancel",
        ],
        Mode::CodecPicker { .. } => &["↑↓ choose codec", "enter switch", "esc cancel"],
        Mode::Save { confirm: false, .. } => &["type a name", "enter save", "esc cancel"],
        Mode::Save { confirm: true, .. } => &["enter overwrite", "esc keep the existing file"],
        Mode::Load { .. } => &[
            "↑↓ choose profile",
            "enter load (restarts the workload)",
            "esc cancel",
        ],
    }
}

/// The footer's lines at `width`: the last action's result (a blank line until there is one),
/// then the keys that work now, each whole, however many lines they take: the height to give
/// the footer.
pub fn lines(app: &App, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let mut lines = match &app.status {
        Some(status) => {
            let style = severity(
                app,
                if status.error {
                    Severity::Bad
                } else {
                    Severity::Good
                },
            );
            wrap_words(&status.text, width)
                .into_iter()
                .map(|line| Line::from(Span::styled(line, style)))
                .collect()
        }
        None => vec![Line::from("")],
    };
    lines.extend(
        wrap_entries(keys(&app.mode), width)
            .into_iter()
            .map(|line| Line::from(Span::styled(line, style::dim(app)))),
    );
    lines
}

/// Draws `lines` ([`lines`]) in `area`.
pub fn render(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines), area);
}
