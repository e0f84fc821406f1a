//! Footer: the keys that work now, and the last action's result.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, Mode};
use crate::tui::style::{self, Severity, severity};
use crate::tui::wrap::{wrap_entries, wrap_within};

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
            "a latency span",
            "s save",
            "l load",
            "m c2c",
            "g flame",
            "t tune",
            "w warnings",
        ],
        Mode::Help | Mode::Warnings | Mode::HostCheck { .. } => {
            &["↑↓ PgUp PgDn scroll", "any other key: back"]
        }
        Mode::Tune => &[
            "x cancel the search",
            "↑↓ scroll",
            "other keys: back (it goes on; t shows it)",
        ],
        Mode::CpuPicker { .. } => &[
            "↑↓ PgUp PgDn Home End choose CPU",
            "enter pin the selected thread",
            "esc cancel",
        ],
        Mode::CodecPicker { .. } => &[
            "↑↓ PgUp PgDn Home End choose codec",
            "enter switch",
            "esc cancel",
        ],
        Mode::Save { confirm: false, .. } => &["type a name", "enter save", "esc cancel"],
        Mode::Save { confirm: true, .. } => &["enter overwrite", "esc keep the existing file"],
        Mode::Load { .. } => &[
            "↑↓ PgUp PgDn Home End choose profile",
            "enter load (restarts the workload)",
            "esc cancel",
        ],
    }
}

/// The footer's lines in a `width` × `height` terminal: the last action's result (a blank line
/// until there is one), then the keys that work now, each whole: the height to give the footer.
/// All of them where they take at most a quarter of the terminal; in a shorter one, the panes
/// keep the rest: the result (its last line cut with `…` where even it does not fit) and the
/// first line of keys (`q quit` and `? help`, which lists them all).
pub fn lines(app: &App, width: u16, height: u16) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let most = usize::from(height / 4).max(2);
    let offered: Vec<&str> = keys(&app.mode)
        .iter()
        .copied()
        .filter(|entry| app.offers(entry))
        .collect();
    let keys = wrap_entries(&offered, width);
    // The result before all but the first line of keys: it answers what was just done.
    let status = app.status.as_ref().map_or_else(
        || vec![String::new()],
        |s| wrap_within(&s.text, width, most - 1),
    );
    let key_room = most.saturating_sub(status.len()).max(1);
    let status_style = severity(
        app,
        if app.status.as_ref().is_some_and(|s| s.error) {
            Severity::Bad
        } else {
            Severity::Good
        },
    );
    status
        .into_iter()
        .map(|line| Line::from(Span::styled(line, status_style)))
        .chain(
            keys.into_iter()
                .take(key_room)
                .map(|line| Line::from(Span::styled(line, style::dim(app)))),
        )
        .collect()
}

/// Draws `lines` ([`lines`]) in `area`.
pub fn render(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pickers all move by `picker_step`'s keys; each one's footer says so.
    #[test]
    fn every_picker_footer_names_the_keys_that_move_it() {
        let pickers = [
            Mode::CpuPicker { cursor: 0 },
            Mode::CodecPicker { cursor: 0 },
            Mode::Load { cursor: 0 },
        ];
        for mode in &pickers {
            let first = keys(mode)[0];
            for key in ["↑↓", "PgUp", "PgDn", "Home", "End"] {
                assert!(first.contains(key), "{first:?} leaves out {key}");
            }
        }
    }
}
