//! What `ringtop codec --json` prints: for each table, how it was read and what each codec made
//! of it, typed so that `ringtop schema` can describe it.

use std::path::Path;

use ringtop::codec::trial::CodecResult;
use ringtop::source::csv::{CellCount, CsvTable, DroppedColumn};
use schemars::JsonSchema;
use serde::Serialize;

/// Every table tried.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CodecDocument {
    /// One entry a `--input`, in order.
    pub(super) files: Vec<CodecFile>,
}

/// One table and the codecs' results on it.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct CodecFile {
    /// The file.
    input: String,
    /// The delimiter it was read with.
    delimiter: String,
    /// Data lines.
    rows: usize,
    /// Numeric columns kept.
    columns: usize,
    /// Their names, in file order.
    column_names: Vec<String>,
    /// Those that held dates or times (now seconds since the Unix epoch, UTC).
    time_columns: Vec<String>,
    /// Empty cells (read as NaN) of each kept column that had any.
    empty_cells: Vec<CellCount>,
    /// Integers too large for a float to hold exactly, rounded, per column that had any.
    rounded_integers: Vec<CellCount>,
    /// Columns not kept, and why.
    dropped: Vec<DroppedColumn>,
    /// Rows a frame.
    frame_rows: u32,
    /// Each codec's result.
    codecs: Vec<CodecResult>,
}

impl CodecFile {
    /// `table`, read from `path`, framed `frame_rows` rows at a time, and `codecs` on it.
    pub(super) fn of(
        path: &Path,
        table: &CsvTable,
        frame_rows: u32,
        codecs: Vec<CodecResult>,
    ) -> Self {
        CodecFile {
            input: path.display().to_string(),
            delimiter: char::from(table.delimiter).to_string(),
            rows: table.rows(),
            columns: table.columns.len(),
            column_names: table.names(),
            time_columns: table.time_columns(),
            empty_cells: table.empty_cells(),
            rounded_integers: table.rounded_integers(),
            dropped: table.dropped.clone(),
            frame_rows,
            codecs,
        }
    }
}
