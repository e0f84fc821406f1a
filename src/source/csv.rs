//! Numeric columns of a CSV file as rows: what `ringtop codec --input` and replay workloads read.
//!
//! A column is numeric when every data line holds a number there (`NaN` and `inf` count), or a
//! date or time in a usual form (`2006-01-01`, `2010/01/01 00:00`, `2010-01-01 00:00:00`, RFC 3339
//! with `Z` or an offset): those become seconds since the Unix epoch, UTC, which delta codecs make
//! nearly free when they are regular. The first line is a header when any of its fields is
//! neither. The first six such columns become a row's values; the report names every column it
//! dropped and why.

use std::path::{Path, PathBuf};

use crate::row::Row;

/// A CSV file that could not be used. Every variant names the file, and the line where the file
/// itself is at fault.
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A line has a different number of fields than the first.
    #[error("{path}:{line}: {found} fields, but the first line has {expected}")]
    Ragged {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Fields on the first line.
        expected: u64,
        /// Fields on this line.
        found: u64,
    },
    /// A line is not valid UTF-8.
    #[error("{path}:{line}: not valid UTF-8")]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
    },
    /// The CSV reader rejected the file.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The reader's description.
        message: String,
    },
    /// The file has no data lines.
    #[error("{path}: no data lines")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// No column is numeric on every line.
    #[error("{path}: no numeric columns ({reasons})")]
    NoNumericColumns {
        /// The file.
        path: PathBuf,
        /// Why each column was rejected, with the first offending line.
        reasons: String,
    },
}

/// A column that was not kept, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DroppedColumn {
    /// Header name, or `column N` without a header.
    pub name: String,
    /// Why (`not numeric at line 2: "2010/01/01 00:00"`, `beyond the first 6 numeric columns`).
    pub reason: String,
}

/// The numeric content of a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// The file read.
    pub path: PathBuf,
    /// Names of the columns kept, in order (at most six); row values beyond them are 0.
    pub columns: Vec<String>,
    /// Those of them that held dates or times, now seconds since the Unix epoch (UTC).
    pub time_columns: Vec<String>,
    /// Columns not kept.
    pub dropped: Vec<DroppedColumn>,
    /// One entry per data line: the kept columns' values, zero-padded to six.
    pub values: Vec<[f64; Row::COLUMNS]>,
}

impl CsvTable {
    /// Rows with sequence numbers 0.. and stamp 0 (CSV time columns are not parsed).
    pub fn rows(&self) -> Vec<Row> {
        self.values
            .iter()
            .enumerate()
            .map(|(i, values)| Row {
                values: *values,
                ..Row::new(i as u64, 0)
            })
            .collect()
    }
}

fn number(field: &str) -> Option<f64> {
    let trimmed = field.trim();
    if trimmed.is_empty() {
        None
    } else {
        trimmed.parse().ok()
    }
}

/// Seconds since the Unix epoch (UTC) of a date or time in a usual CSV form: `2006-01-01`,
/// `2010/01/01 00:00`, `2010-01-01 00:00:00`, RFC 3339 (`2010-01-01T00:00:00.5Z`,
/// `…+02:00`). A time without a zone is taken as UTC. Parsing is humantime's; this only brings
/// the forms it does not take to one it does.
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
    let time = humantime::parse_rfc3339_weak(&normal).ok()?;
    let seconds = match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    };
    Some(seconds - offset_s as f64)
}

/// A column's values: numbers, or dates and times as epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ColumnKind {
    Number,
    Time,
}

impl ColumnKind {
    fn value(self, field: &str) -> Option<f64> {
        match self {
            ColumnKind::Number => number(field),
            ColumnKind::Time => epoch_seconds(field),
        }
    }
}

/// Reads `path`.
///
/// # Errors
/// [`CsvError`] for an unreadable, ragged, non-UTF-8 or empty file, or one with no numeric
/// column.
pub fn load(path: &Path) -> Result<CsvTable, CsvError> {
    let file = std::fs::File::open(path).map_err(|source| CsvError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(std::io::BufReader::new(file));
    let mut lines: Vec<(u64, ::csv::StringRecord)> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| convert(path, e))?;
        let line = record.position().map_or(0, |p| p.line());
        lines.push((line, record));
    }
    let Some((_, first)) = lines.first() else {
        return Err(CsvError::Empty {
            path: path.to_owned(),
        });
    };
    let has_header = first
        .iter()
        .any(|f| number(f).is_none() && epoch_seconds(f).is_none());
    let names: Vec<String> = if has_header {
        first.iter().map(|f| f.trim().to_owned()).collect()
    } else {
        (1..=first.len()).map(|i| format!("column {i}")).collect()
    };
    let data = &lines[usize::from(has_header)..];
    if data.is_empty() {
        return Err(CsvError::Empty {
            path: path.to_owned(),
        });
    }

    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (c, name) in names.iter().enumerate() {
        let first_bad = |kind: ColumnKind| data.iter().find(|(_, r)| kind.value(&r[c]).is_none());
        let (kind, bad) = match first_bad(ColumnKind::Number) {
            None => (ColumnKind::Number, None),
            Some(not_a_number) => match first_bad(ColumnKind::Time) {
                None => (ColumnKind::Time, None),
                Some(_) => (ColumnKind::Number, Some(not_a_number)),
            },
        };
        match bad {
            Some((line, record)) => dropped.push(DroppedColumn {
                name: name.clone(),
                reason: format!("not numeric at line {line}: {:?}", &record[c]),
            }),
            None if kept.len() < Row::COLUMNS => kept.push((c, kind)),
            None => dropped.push(DroppedColumn {
                name: name.clone(),
                reason: format!("beyond the first {} numeric columns", Row::COLUMNS),
            }),
        }
    }
    if kept.is_empty() {
        let reasons = dropped
            .iter()
            .map(|d| format!("{}: {}", d.name, d.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(CsvError::NoNumericColumns {
            path: path.to_owned(),
            reasons,
        });
    }
    let values = data
        .iter()
        .map(|(_, record)| {
            let mut row = [0.0; Row::COLUMNS];
            for (slot, &(c, kind)) in row.iter_mut().zip(&kept) {
                *slot = kind.value(&record[c]).unwrap_or(0.0);
            }
            row
        })
        .collect();
    Ok(CsvTable {
        path: path.to_owned(),
        columns: kept.iter().map(|&(c, _)| names[c].clone()).collect(),
        time_columns: kept
            .iter()
            .filter(|(_, kind)| *kind == ColumnKind::Time)
            .map(|&(c, _)| names[c].clone())
            .collect(),
        dropped,
        values,
    })
}

fn convert(path: &Path, err: ::csv::Error) -> CsvError {
    let path = path.to_owned();
    let line = err.position().map_or(0, |p| p.line());
    match err.into_kind() {
        ::csv::ErrorKind::Io(source) => CsvError::Io { path, source },
        ::csv::ErrorKind::Utf8 { pos, .. } => CsvError::NotUtf8 {
            path,
            line: pos.map_or(line, |p| p.line()),
        },
        ::csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => CsvError::Ragged {
            path,
            line: pos.map_or(line, |p| p.line()),
            expected: expected_len,
            found: len,
        },
        other => CsvError::Malformed {
            path,
            line,
            message: format!("{other:?}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, contents: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("ringtop-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn numeric_columns_are_kept_and_the_rest_named() {
        let path = write(
            "ok.csv",
            b"date,temp,label,a,b,c,d,e,f\n2010/01/01,39.4,x,1,2,3,4,5,6\n2010/01/02,NaN,y,1,2,3,4,5,6\n",
        );
        let table = load(&path).unwrap();
        assert_eq!(table.columns, ["date", "temp", "a", "b", "c", "d"]);
        assert_eq!(table.values.len(), 2);
        assert_eq!(table.values[0], [1_262_304_000.0, 39.4, 1.0, 2.0, 3.0, 4.0]);
        assert!(table.values[1][1].is_nan());
        let dropped: Vec<&str> = table.dropped.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(dropped, ["label", "e", "f"]);
        assert_eq!(table.dropped[0].reason, "not numeric at line 2: \"x\"");
        assert_eq!(
            table.dropped[2].reason,
            "beyond the first 6 numeric columns"
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn dates_and_times_in_the_usual_forms_are_epoch_seconds() {
        // 2010-01-01T00:00:00Z is 1,262,304,000 s after the epoch.
        let new_year = 1_262_304_000.0;
        for (text, seconds) in [
            ("2010-01-01", new_year),
            ("2010/01/01", new_year),
            ("2010/01/01 00:00", new_year),
            ("2010/01/01 01:30", new_year + 5400.0),
            ("2010-01-01 00:00:07", new_year + 7.0),
            ("2010-01-01T00:00:00Z", new_year),
            ("2010-01-01T00:00:00.25Z", new_year + 0.25),
            ("2010-01-01T02:00:00+02:00", new_year),
            ("2009-12-31T19:00:00-05:00", new_year),
        ] {
            assert_eq!(epoch_seconds(text), Some(seconds), "{text}");
        }
        // humantime reads 1970 on; a column with earlier dates is dropped with the line.
        for not_a_time in [
            "39.4",
            "2010",
            "drizzle",
            "2010-13-01",
            "2010-01-01 25:00",
            "01/02/2010",
            "1969-12-31",
            "2010-01-01T00:00:00é+1",
            "2010-01-01 00:00:00+0é",
            "2010-01-01 日本語日本",
            "2010-01-01 00:00:00本日ab",
        ] {
            assert_eq!(epoch_seconds(not_a_time), None, "{not_a_time}");
        }
    }

    #[test]
    fn a_date_column_is_kept_as_epoch_seconds_and_named() {
        let path = write(
            "dates.csv",
            b"date,temp,weather\n2010/01/01 00:00,39.4,rain\n2010/01/01 01:00,39.2,sun\n",
        );
        let table = load(&path).unwrap();
        assert_eq!(table.columns, ["date", "temp"]);
        assert_eq!(table.time_columns, ["date"]);
        assert_eq!(table.values[1][..2], [1_262_307_600.0, 39.2]);
        assert_eq!(table.dropped[0].name, "weather");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_file_without_a_header_gets_numbered_columns() {
        let path = write("nohdr.csv", b"1,2\n3,4\n");
        let table = load(&path).unwrap();
        assert_eq!(table.columns, ["column 1", "column 2"]);
        assert_eq!(table.values[1][..2], [3.0, 4.0]);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn bad_files_are_errors_with_the_line() {
        let ragged = write("ragged.csv", b"a,b\n1,2\n3\n");
        let err = load(&ragged).unwrap_err().to_string();
        assert!(
            err.ends_with("ragged.csv:3: 1 fields, but the first line has 2"),
            "{err}"
        );

        let latin1 = write("latin1.csv", b"a,b\n1,2\n3,\xe9\n");
        let err = load(&latin1).unwrap_err().to_string();
        assert!(err.ends_with("latin1.csv:3: not valid UTF-8"), "{err}");

        let words = write("words.csv", b"name,city\nann,oslo\n");
        let err = load(&words).unwrap_err().to_string();
        assert!(
            err.contains("no numeric columns (name: not numeric at line 2: \"ann\""),
            "{err}"
        );

        let empty = write("empty.csv", b"");
        assert!(
            load(&empty)
                .unwrap_err()
                .to_string()
                .ends_with("no data lines")
        );

        let missing = load(Path::new("/nonexistent/x.csv"))
            .unwrap_err()
            .to_string();
        assert!(missing.starts_with("/nonexistent/x.csv: "), "{missing}");
        for p in [ragged, latin1, words, empty] {
            std::fs::remove_file(p).unwrap();
        }
    }
}
