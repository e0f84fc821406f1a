//! Numeric columns of a CSV file as rows: what `ringtop codec --input` and replay workloads read.
//!
//! A column is numeric when every data line holds a number there (`NaN` and `inf` count), or a
//! date or time in a usual form (`2006-01-01`, `2010/01/01 00:00`, `2010-01-01 00:00:00`, RFC 3339
//! with `Z` or an offset): those become seconds since the Unix epoch, UTC, which delta codecs make
//! nearly free when they are regular. An empty cell is a missing value: it reads as `NaN`, as a
//! data frame library reads it, and is counted ([`CsvColumn::empty_cells`]), so a column with
//! gaps is measured rather than dropped (one of nothing but empty cells is dropped). An integer
//! past 2^53 is read as the nearest double, which is not it: such cells are counted too
//! ([`CsvColumn::rounded_integers`]), so a report never passes off a rounded column as the
//! file's. The first line is a header when any of its fields is neither a number nor a time nor
//! empty. Every such column is kept (`ringtop codec` measures them all); a replay workload's rows
//! carry the first six ([`CsvTable::replay_values`]). The report names every column that was
//! dropped and why: the first cell that is not of the column's kind, which its first value
//! decides.

use std::io::{BufRead, BufReader};
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
    /// Why (`not numeric at line 2: "drizzle"`).
    pub reason: String,
}

/// How many of a kept column's cells are of some sort (empty, say).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CellCount {
    /// Header name, or `column N` without a header.
    pub name: String,
    /// How many of its cells.
    pub cells: usize,
}

/// One numeric column of a CSV file.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvColumn {
    /// Header name, or `column N` without a header.
    pub name: String,
    /// Whether the file held dates or times here, now seconds since the Unix epoch (UTC).
    pub is_time: bool,
    /// One value a data line, `NaN` where the cell was empty.
    pub values: Vec<f64>,
    /// How many cells were empty (missing values, read as `NaN`).
    pub empty_cells: usize,
    /// How many cells held an integer a double cannot (past 2^53), read as the nearest one.
    pub rounded_integers: usize,
}

/// The numeric content of a CSV file, column by column.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// The file read.
    pub path: PathBuf,
    /// The fields' separator found on the first line: `,`, tab, `;` or `|`.
    pub delimiter: u8,
    /// Every numeric column, in file order (at least one), each with one value a data line.
    pub columns: Vec<CsvColumn>,
    /// Columns not kept.
    pub dropped: Vec<DroppedColumn>,
}

impl CsvTable {
    /// Data lines.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    /// The numeric columns' names, in order.
    pub fn names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The columns with empty cells, each with how many: their missing values are `NaN`.
    pub fn empty_cells(&self) -> Vec<CellCount> {
        self.cell_counts(|c| c.empty_cells)
    }

    /// The columns with integers past what a double holds exactly, each with how many.
    pub fn rounded_integers(&self) -> Vec<CellCount> {
        self.cell_counts(|c| c.rounded_integers)
    }

    /// The columns where `count` is not zero, with it.
    fn cell_counts(&self, count: impl Fn(&CsvColumn) -> usize) -> Vec<CellCount> {
        self.columns
            .iter()
            .filter(|c| count(c) > 0)
            .map(|c| CellCount {
                name: c.name.clone(),
                cells: count(c),
            })
            .collect()
    }

    /// The names of the columns that held dates or times.
    pub fn time_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.is_time)
            .map(|c| c.name.clone())
            .collect()
    }

    /// What a replay workload's rows carry, one array a data line: the first six columns, zero
    /// beyond the table's last (an engine row holds six values).
    pub fn replay_values(&self) -> Vec<[f64; Row::COLUMNS]> {
        (0..self.rows())
            .map(|i| {
                let mut values = [0.0; Row::COLUMNS];
                for (slot, column) in values.iter_mut().zip(&self.columns) {
                    *slot = column.values[i];
                }
                values
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

/// Whether a cell holds nothing (spaces aside): a missing value.
fn is_empty_cell(field: &str) -> bool {
    field.trim().is_empty()
}

/// Whether `field` is an integer that `value`, the double it was read as, is not: one past
/// 2^53 (sixteen digits or more) that falls between two doubles. The double's exact decimal
/// digits against the cell's, so it holds at any length.
fn is_rounded_integer(field: &str, value: f64) -> bool {
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
    /// The kind a column's first value says it is: a time when it reads as one.
    fn of(first_value: &str) -> Self {
        if epoch_seconds(first_value).is_some() {
            ColumnKind::Time
        } else {
            ColumnKind::Number
        }
    }

    /// The cell's value: `NaN` for an empty cell, `None` for one not of this kind.
    fn value(self, field: &str) -> Option<f64> {
        if is_empty_cell(field) {
            return Some(f64::NAN);
        }
        match self {
            ColumnKind::Number => number(field),
            ColumnKind::Time => epoch_seconds(field),
        }
    }

    /// Why a cell that is not of this kind drops its column.
    fn refusal(self, line: u64, field: &str) -> String {
        match self {
            ColumnKind::Number => format!("not numeric at line {line}: {field:?}"),
            ColumnKind::Time => format!("not a date or time at line {line}: {field:?}"),
        }
    }
}

/// Reads `path`.
///
/// # Errors
/// [`CsvError`] for an unreadable, ragged, non-UTF-8 or empty file, or one with no numeric
/// column.
pub fn load(path: &Path) -> Result<CsvTable, CsvError> {
    let io_error = |source| CsvError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = open_text(path).map_err(io_error)?;
    let delimiter = sniff_delimiter(first_line(&mut file).map_err(io_error)?);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .delimiter(delimiter)
        .from_reader(file);
    // One pass, one record at a time: what stays is each kept column's values, so a file of
    // gigabytes takes about its values' memory, not its text's.
    let mut record = ::csv::StringRecord::new();
    let read = |reader: &mut ::csv::Reader<_>, record: &mut ::csv::StringRecord| {
        reader.read_record(record).map_err(|e| convert(path, e))
    };
    if !read(&mut reader, &mut record)? {
        return Err(CsvError::Empty {
            path: path.to_owned(),
        });
    }
    let has_header = record
        .iter()
        .any(|f| !is_empty_cell(f) && number(f).is_none() && epoch_seconds(f).is_none());
    let names: Vec<String> = if has_header {
        record.iter().map(|f| f.trim().to_owned()).collect()
    } else {
        (1..=record.len()).map(|i| format!("column {i}")).collect()
    };
    let mut columns: Vec<Reading> = names.iter().map(|_| Reading::Undecided(0)).collect();
    let mut rows = 0usize;
    let mut more = !has_header || read(&mut reader, &mut record)?;
    while more {
        let line = record.position().map_or(0, |p| p.line());
        for (column, field) in columns.iter_mut().zip(record.iter()) {
            column.take(line, field);
        }
        rows += 1;
        more = read(&mut reader, &mut record)?;
    }
    if rows == 0 {
        return Err(CsvError::Empty {
            path: path.to_owned(),
        });
    }
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (name, column) in names.into_iter().zip(columns) {
        match column {
            Reading::Kept {
                kind,
                values,
                empty_cells,
                rounded_integers,
            } => kept.push(CsvColumn {
                name,
                is_time: kind == ColumnKind::Time,
                values,
                empty_cells,
                rounded_integers,
            }),
            Reading::Undecided(_) => dropped.push(DroppedColumn {
                name,
                reason: "no values: every cell is empty".to_owned(),
            }),
            Reading::Dropped(reason) => dropped.push(DroppedColumn { name, reason }),
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
    Ok(CsvTable {
        path: path.to_owned(),
        delimiter,
        columns: kept,
        dropped,
    })
}

/// The fields' separator: of `,`, tab, `;` and `|`, the one the first line holds most of outside
/// quotes (a comma on a tie or when it holds none), so tab- and semicolon-separated files read
/// as they are.
fn sniff_delimiter(first_line: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];
    let mut counts = [0usize; CANDIDATES.len()];
    let mut quoted = false;
    for &byte in first_line {
        if byte == b'"' {
            quoted = !quoted;
        } else if !quoted && let Some(i) = CANDIDATES.iter().position(|&c| c == byte) {
            counts[i] += 1;
        }
    }
    // The first of the most frequent: `max_by_key` would take the last.
    let most = counts.iter().copied().max().unwrap_or(0);
    CANDIDATES[counts.iter().position(|&n| n == most).unwrap_or(0)]
}

/// The file's text: its bytes, or what they inflate to when they are gzip's (its magic bytes
/// first, whatever the name), so a `.csv.gz` as published is read as it is.
fn open_text(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    const BUFFER: usize = 64 * 1024;
    let mut file = BufReader::with_capacity(BUFFER, std::fs::File::open(path)?);
    if file.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        let inflated = Gzipped(flate2::bufread::MultiGzDecoder::new(file));
        return Ok(Box::new(BufReader::with_capacity(BUFFER, inflated)));
    }
    Ok(Box::new(file))
}

/// A gzip stream whose errors say they are the compression's (`gzip: unexpected end of file`),
/// not the table's.
struct Gzipped<R>(flate2::bufread::MultiGzDecoder<R>);

impl<R: BufRead> std::io::Read for Gzipped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| std::io::Error::new(e.kind(), format!("gzip: {e}")))
    }
}

/// The file's first line (what its first read brings, 64 KiB at most), left unread in `file`.
fn first_line(file: &mut Box<dyn BufRead>) -> std::io::Result<&[u8]> {
    let buffer = file.fill_buf()?;
    Ok(buffer.split(|&b| b == b'\n').next().unwrap_or(buffer))
}

/// One column while the file is read: its kind is decided by its first value.
enum Reading {
    /// Only empty cells so far: how many.
    Undecided(usize),
    /// Every cell so far of `kind` or empty.
    Kept {
        kind: ColumnKind,
        /// One a data line so far, `NaN` for the empty cells.
        values: Vec<f64>,
        empty_cells: usize,
        rounded_integers: usize,
    },
    /// A cell not of the column's kind: why, with its line.
    Dropped(String),
}

impl Reading {
    /// Takes the column's cell `field` of data line `line`.
    fn take(&mut self, line: u64, field: &str) {
        match self {
            Reading::Undecided(empties) if is_empty_cell(field) => *empties += 1,
            Reading::Undecided(empties) => {
                let kind = ColumnKind::of(field);
                *self = Reading::Kept {
                    kind,
                    values: vec![f64::NAN; *empties],
                    empty_cells: *empties,
                    rounded_integers: 0,
                };
                self.take(line, field);
            }
            Reading::Kept {
                kind,
                values,
                empty_cells,
                rounded_integers,
            } => match kind.value(field) {
                Some(value) => {
                    values.push(value);
                    *empty_cells += usize::from(is_empty_cell(field));
                    *rounded_integers += usize::from(is_rounded_integer(field, value));
                }
                None => *self = Reading::Dropped(kind.refusal(line, field)),
            },
            Reading::Dropped(_) => {}
        }
    }
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
        assert_eq!(
            table.names(),
            ["date", "temp", "a", "b", "c", "d", "e", "f"],
            "every numeric column, past the six a row carries"
        );
        assert_eq!(table.rows(), 2);
        assert_eq!(table.columns[7].values, [6.0, 6.0]);
        let replay = table.replay_values();
        assert_eq!(replay[0], [1_262_304_000.0, 39.4, 1.0, 2.0, 3.0, 4.0]);
        assert!(replay[1][1].is_nan());
        let dropped: Vec<&str> = table.dropped.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(dropped, ["label"]);
        assert_eq!(table.dropped[0].reason, "not numeric at line 2: \"x\"");
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
        assert_eq!(table.names(), ["date", "temp"]);
        assert_eq!(table.time_columns(), ["date"]);
        assert_eq!(
            table.replay_values()[1],
            [1_262_307_600.0, 39.2, 0.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(table.dropped[0].name, "weather");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn empty_cells_are_missing_values_read_as_nan_and_counted() {
        let path = write(
            "gaps.csv",
            b"date,temp,wind,none\n2012/01/01,,4.7,\n,10.6, ,\n2012/01/03,9.4,3.1,\n",
        );
        let table = load(&path).unwrap();
        assert_eq!(table.names(), ["date", "temp", "wind"]);
        assert_eq!(table.time_columns(), ["date"]);
        let bits = |c: usize| -> Vec<u64> {
            table.columns[c]
                .values
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(
            bits(0),
            [
                1_325_376_000.0f64.to_bits(),
                f64::NAN.to_bits(),
                1_325_548_800.0f64.to_bits()
            ]
        );
        assert_eq!(
            bits(1),
            [f64::NAN.to_bits(), 10.6f64.to_bits(), 9.4f64.to_bits()]
        );
        assert_eq!(
            bits(2),
            [4.7f64.to_bits(), f64::NAN.to_bits(), 3.1f64.to_bits()]
        );
        let counts: Vec<(String, usize)> = table
            .empty_cells()
            .into_iter()
            .map(|e| (e.name, e.cells))
            .collect();
        assert_eq!(
            counts,
            [
                ("date".to_owned(), 1),
                ("temp".to_owned(), 1),
                ("wind".to_owned(), 1)
            ]
        );
        assert_eq!(table.dropped.len(), 1);
        assert_eq!(table.dropped[0].name, "none");
        assert_eq!(table.dropped[0].reason, "no values: every cell is empty");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn integers_past_what_a_double_holds_are_counted_as_rounded() {
        let path = write(
            "nanos.csv",
            b"ns,n\n1262304000123456789,9007199254740993\n1262304000000000000,9007199254740992\n-1262304000123456789,-12\n",
        );
        let table = load(&path).unwrap();
        // 1 262 304 × 10^12 and 2^53 are doubles; the others fall between two.
        let counts: Vec<(String, usize)> = table
            .rounded_integers()
            .into_iter()
            .map(|c| (c.name, c.cells))
            .collect();
        assert_eq!(counts, [("ns".to_owned(), 2), ("n".to_owned(), 1)]);
        assert_eq!(table.columns[0].values[1], 1_262_304_000_000_000_000.0);
        for (text, rounded) in [
            ("9007199254740993", true),
            ("9007199254740992", false),
            ("+9007199254740993", true),
            ("123456789012345678901234567890123456789012", true),
            // 2^140, 43 digits: a double, exactly.
            ("1393796574908163946345982392040522594123776", false),
            ("-0000000000000000", false),
            ("0009007199254740993", true),
            ("1e300", false),
            ("12.000000000000001", false),
            ("123", false),
        ] {
            let value: f64 = text.parse().unwrap();
            assert_eq!(is_rounded_integer(text, value), rounded, "{text}");
        }
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_headerless_file_may_start_with_an_empty_cell() {
        let path = write("gap-first.csv", b"1,,3\n4,5,6\n");
        let table = load(&path).unwrap();
        assert_eq!(table.names(), ["column 1", "column 2", "column 3"]);
        assert_eq!(table.rows(), 2, "the first line is data, not a header");
        assert!(table.columns[1].values[0].is_nan());
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_column_of_dates_is_dropped_at_the_first_cell_that_is_not_one() {
        let path = write(
            "bad-date.csv",
            b"date,temp\n2010/01/01 00:00,39.4\n2010/01/01 01:00,39.2\n2010-13-45,39.0\n",
        );
        let table = load(&path).unwrap();
        assert_eq!(table.names(), ["temp"]);
        assert_eq!(
            table.dropped[0].reason,
            "not a date or time at line 4: \"2010-13-45\""
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn tab_semicolon_and_pipe_separated_files_read_as_they_are() {
        for (name, text, delimiter) in [
            (
                "tabs.tsv",
                "time\ttemp\n2010-01-01\t1.5\n2010-01-02\t2\n",
                b'\t',
            ),
            (
                "semis.csv",
                "time;temp\n2010-01-01;1.5\n2010-01-02;2\n",
                b';',
            ),
            (
                "pipes.csv",
                "time|temp\n2010-01-01|1.5\n2010-01-02|2\n",
                b'|',
            ),
            // A comma inside quotes is no separator: two fields, comma-separated.
            (
                "quoted.csv",
                "\"time;x|y\",temp\n2010-01-01,1.5\n2010-01-02,2\n",
                b',',
            ),
        ] {
            let path = write(name, text.as_bytes());
            let table = load(&path).unwrap();
            assert_eq!(table.delimiter, delimiter, "{name}");
            assert_eq!(table.columns.len(), 2, "{name}");
            assert_eq!(table.columns[1].values, [1.5, 2.0], "{name}");
            std::fs::remove_file(path).unwrap();
        }
        assert_eq!(sniff_delimiter(b"one column"), b',', "none found: a comma");
        assert_eq!(sniff_delimiter(b"a,b;c"), b',', "a tie: the comma");
        assert_eq!(sniff_delimiter(b"a;b;c,d"), b';');
    }

    #[test]
    fn a_gzipped_table_reads_as_its_text_and_a_broken_one_says_so() {
        use std::io::Write;
        let text = "date,temp\n2010-01-01,1.5\n2010-01-02,2\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        // Told by its bytes, not its name.
        let path = write("gzipped.csv", &bytes);
        let table = load(&path).unwrap();
        let plain = write("plain.csv", text.as_bytes());
        let expected = load(&plain).unwrap();
        assert_eq!(table.columns, expected.columns);
        let cut = write("cut.csv.gz", &bytes[..bytes.len() - 12]);
        let err = load(&cut).unwrap_err().to_string();
        assert!(err.contains("cut.csv.gz: gzip: "), "{err}");
        for p in [path, plain, cut] {
            std::fs::remove_file(p).unwrap();
        }
    }

    #[test]
    fn a_file_without_a_header_gets_numbered_columns() {
        let path = write("nohdr.csv", b"1,2\n3,4\n");
        let table = load(&path).unwrap();
        assert_eq!(table.names(), ["column 1", "column 2"]);
        assert_eq!(table.columns[1].values, [2.0, 4.0]);
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
