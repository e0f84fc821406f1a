//! Figures for people: three significant digits with their unit, in at most six characters,
//! so a table column or a warning holds each whole (`1.23µs`, `45.6M`). JSON keeps the full
//! figures ([`super::figures`]).

/// The most characters [`format_ns`] and [`format_rate`] write: a table column this wide holds
/// any of their figures without moving.
pub const FIGURE_WIDTH: usize = 6;

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

/// Rates for humans, in at most six characters (the width the tables give them, so no figure
/// loses its unit at a column's edge): `950`, `1.23k`, `12.3k`, `4.56M`, `456M`, `1.23G`, up to
/// a u64's most, `18.4E`.
pub fn format_rate(per_s: f64) -> String {
    if per_s < 999.5 {
        return format!("{per_s:.0}");
    }
    three_digits(per_s / 1e3, &["k", "M", "G", "T", "P", "E"])
}

/// A count as people write one, and as [`format_rate`] writes it: a whole number, optionally
/// with a k, M, G or T multiplier (`100k`, `2.5M`, `1.00T`); `_` separators are allowed. `None`
/// for anything else, a fraction or a negative number, or 10^18 and beyond.
pub fn parse_count(text: &str) -> Option<u64> {
    let text = text.trim().replace('_', "");
    let (digits, scale) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1e3),
        'M' => (&text[..text.len() - 1], 1e6),
        'G' => (&text[..text.len() - 1], 1e9),
        'T' => (&text[..text.len() - 1], 1e12),
        _ => (&text[..], 1.0),
    };
    let value: f64 = digits.parse().ok()?;
    whole_count(value * scale)
}

/// `value` as a count, if it is one: whole, not negative, under 10^18 (a profile's `rate =
/// 1e6`, or [`parse_count`]'s figure once scaled).
pub fn whole_count(value: f64) -> Option<u64> {
    (value >= 0.0 && value.fract() == 0.0 && value < 1e18).then_some(value as u64)
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
    fn a_count_is_read_as_people_and_format_rate_write_it() {
        for (text, count) in [
            ("0", Some(0)),
            ("1_000", Some(1_000)),
            ("100k", Some(100_000)),
            ("2.5M", Some(2_500_000)),
            ("1.00T", Some(1_000_000_000_000)),
            (" 3G ", Some(3_000_000_000)),
            ("1.5", None),
            ("1.2345k", None),
            ("-1", None),
            ("1000000000000000000", None),
            ("fast", None),
            ("", None),
        ] {
            assert_eq!(parse_count(text), count, "{text:?}");
        }
        for rate in [950.0, 12_300.0, 4_560_000.0, 1e12] {
            assert_eq!(parse_count(&format_rate(rate)), Some(rate as u64));
        }
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
            // A rate no machine keeps (a u64's most, offered from a script) keeps its six too.
            (u64::MAX as f64, "18.4E"),
        ] {
            assert_eq!(format_rate(rate), text, "{rate}");
        }
    }
}
