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

/// Nanoseconds for humans, in at most six characters: `850ns`, `1.23µs`, `12.3µs`, `456µs`,
/// `4.56ms`, `1.20s`.
pub fn format_ns(ns: u64) -> String {
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    three_digits(ns as f64 / 1e3, &["µs", "ms", "s"])
}

/// `value` with three significant digits in the first of `units` (each a thousand times the one
/// before) where it stays under 1000 once rounded (`9.99`, `10.0`, `999`, then `1.00` of the
/// next), the last unit for anything larger: the one rule that keeps a figure within six
/// characters with its unit.
fn three_digits(mut value: f64, units: &[&str]) -> String {
    let mut units = units.iter().peekable();
    while let Some(unit) = units.next() {
        if value < 999.5 || units.peek().is_none() {
            return if value < 9.995 {
                format!("{value:.2}{unit}")
            } else if value < 99.95 {
                format!("{value:.1}{unit}")
            } else {
                format!("{value:.0}{unit}")
            };
        }
        value /= 1000.0;
    }
    format!("{value:.0}")
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

/// Rates for humans, in at most six characters (the width the tables give them, so no figure
/// loses its unit at a column's edge): `950`, `1.23k`, `12.3k`, `4.56M`, `456M`, `1.23G`.
pub fn format_rate(per_s: f64) -> String {
    if per_s < 999.5 {
        return format!("{per_s:.0}");
    }
    three_digits(per_s / 1e3, &["k", "M", "G", "T"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latency_fits_six_characters_with_its_unit_at_every_rounding_edge() {
        for (ns, text) in [
            (999, "999ns"),
            (1_000, "1.00µs"),
            (9_994, "9.99µs"),
            (9_996, "10.0µs"),
            (99_960, "100µs"),
            (999_499, "999µs"),
            (999_500, "1.00ms"),
            (4_560_000, "4.56ms"),
            (999_500_000, "1.00s"),
            (12_345_678_901, "12.3s"),
        ] {
            assert_eq!(format_ns(ns), text, "{ns}");
        }
    }

    #[test]
    fn labels_get_the_width_of_the_longest() {
        let names = ["producer-0", "consumer-9", "consumer-255"];
        assert_eq!(label_width(names, false), 12);
        assert_eq!(label_width(names, true), 4);
        assert_eq!(label_width(["P0"; 0], false), 6);
        assert_eq!(label_width(["consumer-0"], true), 2);
    }

    #[test]
    fn a_rate_fits_six_characters_with_its_unit() {
        for (rate, text) in [
            (0.4, "0"),
            (950.0, "950"),
            (999.4, "999"),
            (999.6, "1.00k"),
            (12_345.0, "12.3k"),
            (208_700.0, "209k"),
            (999_499.0, "999k"),
            (999_500.0, "1.00M"),
            (4_561_000.0, "4.56M"),
            (9_996_000.0, "10.0M"),
            (45_600_000.0, "45.6M"),
            (99_960_000.0, "100M"),
            (456_000_000.0, "456M"),
            (999_600_000.0, "1.00G"),
            (1_234_000_000.0, "1.23G"),
            (123_400_000_000.0, "123G"),
        ] {
            assert_eq!(format_rate(rate), text, "{rate}");
        }
    }
}
