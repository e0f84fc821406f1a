//! What one cell of a CSV table holds: a number, a date or time (as epoch seconds), nothing (a
//! missing value), or an integer a double cannot carry; and the kind of a column, which its
//! first value decides.

pub(super) fn number(field: &str) -> Option<f64> {
    let trimmed = field.trim();
    if trimmed.is_empty() {
        None
    } else {
        trimmed.parse().ok()
    }
}

/// Whether a cell holds nothing (spaces aside): a missing value.
pub(super) fn is_empty_cell(field: &str) -> bool {
    field.trim().is_empty()
}

/// Whether `field` is an integer that `value`, the double it was read as, is not: one past
/// 2^53 (sixteen digits or more) that falls between two doubles. The double's exact decimal
/// digits against the cell's, so it holds at any length.
pub(super) fn is_rounded_integer(field: &str, value: f64) -> bool {
    let text = field.trim();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => ("-", &text[1..]),
        Some(b'+') => ("", &text[1..]),
        _ => ("", text),
    };
    if digits.len() < 16 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    format!("{value:.0}") != format!("{sign}{digits}")
}

/// Seconds since the Unix epoch (UTC) of a date or time in a usual CSV form: `2006-01-01`,
/// `2010/01/01 00:00`, `2010-01-01 00:00:00`, RFC 3339 (`2010-01-01T00:00:00.5Z`,
/// `…+02:00`). A time without a zone is taken as UTC. Parsing is humantime's; this only brings
/// the forms it does not take to one it does, years before 1970 among them.
pub fn epoch_seconds(field: &str) -> Option<f64> {
    let text = field.trim();
    let bytes = text.as_bytes();
    // A date first: four digits, a separator, two digits, the same separator, two digits.
    let separator = *bytes.get(4)?;
    let date_like = bytes.len() >= 10
        && (separator == b'-' || separator == b'/')
        && bytes[7] == separator
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|&i| bytes[i].is_ascii_digit());
    if !date_like {
        return None;
    }
    let mut normal = text.replacen(separator as char, "-", 2);
    // A zone offset humantime does not take: parse without it, then shift.
    let mut offset_s = 0i64;
    if normal.len() > 19
        && let Some(tail) = normal.get(normal.len() - 6..)
    {
        let tb = tail.as_bytes();
        if (tb[0] == b'+' || tb[0] == b'-') && tb[3] == b':' {
            let hours: i64 = tail.get(1..3)?.parse().ok()?;
            let minutes: i64 = tail.get(4..6)?.parse().ok()?;
            let sign = if tb[0] == b'+' { 1 } else { -1 };
            offset_s = sign * (hours * 3600 + minutes * 60);
            normal.truncate(normal.len() - 6);
        }
    }
    match normal.len() {
        10 => normal.push_str(" 00:00:00"),
        16 => normal.push_str(":00"),
        _ => {}
    }
    // humantime reads years from 1970 on. The Gregorian calendar repeats every 400 years, leap
    // days and all, so an earlier date is read as the same date whole cycles later (its validity
    // unchanged: 1900-02-29 is no date, nor is 2300-02-29) and moved back by those cycles.
    let year: i64 = normal.get(..4)?.parse().ok()?;
    let cycles = if year < 1970 {
        (1970 - year + 399) / 400
    } else {
        0
    };
    if cycles > 0 {
        normal.replace_range(..4, &format!("{:04}", year + 400 * cycles));
    }
    let time = humantime::parse_rfc3339_weak(&normal).ok()?;
    let seconds = time
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    Some(seconds - offset_s as f64 - (cycles * GREGORIAN_CYCLE_S) as f64)
}

/// Seconds in 400 Gregorian years: 146,097 days.
const GREGORIAN_CYCLE_S: i64 = 146_097 * 86_400;

/// A column's values: numbers, or dates and times as epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColumnKind {
    Number,
    Time,
}

impl ColumnKind {
    /// The kind a column's first value says it is: a time when it reads as one.
    pub(super) fn of(first_value: &str) -> Self {
        if epoch_seconds(first_value).is_some() {
            ColumnKind::Time
        } else {
            ColumnKind::Number
        }
    }

    /// The cell's value: `NaN` for an empty cell, `None` for one not of this kind.
    pub(super) fn value(self, field: &str) -> Option<f64> {
        if is_empty_cell(field) {
            return Some(f64::NAN);
        }
        match self {
            ColumnKind::Number => number(field),
            ColumnKind::Time => epoch_seconds(field),
        }
    }

    /// Why a cell that is not of this kind drops its column.
    pub(super) fn refusal(self, line: u64, field: &str) -> String {
        match self {
            ColumnKind::Number => format!("not numeric at line {line}: {field:?}"),
            ColumnKind::Time => format!("not a date or time at line {line}: {field:?}"),
        }
    }
}
