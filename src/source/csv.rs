//! Numeric columns of a CSV file as rows: what `ringtop codec --input` and replay workloads read.
//! Fields may be separated by commas, tabs, semicolons or `|`, and the file may be gzipped
//! (told from its first bytes).
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

use std::path::{Path, PathBuf};

use crate::row::Row;

mod cells;
mod text;

pub use self::cells::epoch_seconds;
use self::cells::{ColumnKind, is_empty_cell, is_rounded_integer, number};
use self::text::{first_line, open_text, sniff_delimiter};

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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct DroppedColumn {
    /// Header name, or `column N` without a header.
    pub name: String,
    /// Why (`not numeric at line 2: "drizzle"`).
    pub reason: String,
}

/// How many of a kept column's cells are of some sort (empty, say).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
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
mod tests;
