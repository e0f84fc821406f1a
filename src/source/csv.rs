//! Numeric columns of a CSV file as rows: what `ringtop codec --input` and replay workloads read.
//!
//! A column is numeric when every data line holds a number there (`NaN` and `inf` count). The
//! first line is a header when any of its fields is not a number. The first six numeric columns
//! become a row's values; the report names every column it dropped and why.

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
    let has_header = first.iter().any(|f| number(f).is_none());
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
        let bad = data.iter().find(|(_, r)| number(&r[c]).is_none());
        match bad {
            Some((line, record)) => dropped.push(DroppedColumn {
                name: name.clone(),
                reason: format!("not numeric at line {line}: {:?}", &record[c]),
            }),
            None if kept.len() < Row::COLUMNS => kept.push(c),
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
            for (slot, &c) in row.iter_mut().zip(&kept) {
                *slot = number(&record[c]).unwrap_or(0.0);
            }
            row
        })
        .collect();
    Ok(CsvTable {
        path: path.to_owned(),
        columns: kept.iter().map(|&c| names[c].clone()).collect(),
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
        assert_eq!(table.columns, ["temp", "a", "b", "c", "d", "e"]);
        assert_eq!(table.values.len(), 2);
        assert_eq!(table.values[0], [39.4, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert!(table.values[1][0].is_nan());
        let dropped: Vec<&str> = table.dropped.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(dropped, ["date", "label", "f"]);
        assert_eq!(
            table.dropped[0].reason,
            "not numeric at line 2: \"2010/01/01\""
        );
        assert_eq!(
            table.dropped[2].reason,
            "beyond the first 6 numeric columns"
        );
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
