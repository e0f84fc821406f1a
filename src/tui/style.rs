//! Colours that degrade to plain text: with `NO_COLOR` set, severity shows as bold or reversed
//! text instead, so a monochrome terminal reads the same.

use ratatui::style::{Color, Modifier, Style};

use super::app::App;

/// How bad a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Fine.
    Good,
    /// Worth a look.
    Warn,
    /// Wrong.
    Bad,
}

/// The style for text of this severity.
pub fn severity(app: &App, level: Severity) -> Style {
    match (app.color, level) {
        (false, Severity::Good) => Style::default(),
        (true, Severity::Good) => Style::default().fg(Color::Green),
        (true, Severity::Warn) => Style::default().fg(Color::Yellow),
        (true, Severity::Bad) => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        (false, Severity::Warn) => Style::default().add_modifier(Modifier::BOLD),
        (false, Severity::Bad) => {
            Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }
}

/// The style of a pane's border: highlighted when it has focus.
pub fn border(app: &App, focused: bool) -> Style {
    match (focused, app.color) {
        (true, true) => Style::default().fg(Color::Cyan),
        (true, false) => Style::default().add_modifier(Modifier::BOLD),
        _ => Style::default(),
    }
}

/// The style of the selected row.
pub fn selected(app: &App) -> Style {
    if app.color {
        Style::default().bg(Color::DarkGray)
    } else {
        Style::default().add_modifier(Modifier::REVERSED)
    }
}

/// Dimmed text (not-allowed CPUs, hints).
pub fn dim(app: &App) -> Style {
    if app.color {
        Style::default().fg(Color::DarkGray)
    } else {
        Style::default().add_modifier(Modifier::DIM)
    }
}

/// Latency severity: under 10 µs good, under 1 ms worth a look, beyond that bad.
pub fn latency_severity(ns: u64) -> Severity {
    match ns {
        0..10_000 => Severity::Good,
        10_000..1_000_000 => Severity::Warn,
        _ => Severity::Bad,
    }
}

/// A thread's name as tables show it: whole when there is room, else `P0` / `C1`.
pub fn thread_label(name: &str, short: bool) -> String {
    if !short {
        return name.to_owned();
    }
    let n = name.rsplit('-').next().unwrap_or("?");
    if name.starts_with("producer") {
        format!("P{n}")
    } else {
        format!("C{n}")
    }
}

/// The width a table gives its thread labels: the longest of `names` as [`thread_label`] draws
/// it, so no label is cut into another's (`consumer-12` into `consumer-1`), and never less than
/// the column's header (`thread`, or `id` for short labels).
pub fn label_width<'a>(names: impl IntoIterator<Item = &'a str>, short: bool) -> u16 {
    let header = if short { "id" } else { "thread" };
    let widest = names
        .into_iter()
        .map(|name| thread_label(name, short).chars().count())
        .fold(header.len(), usize::max);
    u16::try_from(widest).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_get_the_width_of_the_longest() {
        let names = ["producer-0", "consumer-9", "consumer-255"];
        assert_eq!(label_width(names, false), 12);
        assert_eq!(label_width(names, true), 4);
        assert_eq!(label_width(["P0"; 0], false), 6);
        assert_eq!(label_width(["consumer-0"], true), 2);
    }
}
