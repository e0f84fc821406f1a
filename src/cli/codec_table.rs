//! The plain-text report `ringtop codec` prints: presentation, kept with the command line.

use ringtop::codec::trial;
use ringtop::source::csv;
use ringtop::words::counted;

/// One file's part of `ringtop codec`'s table: what was read, each codec's figures, each
/// column's cost.
pub(crate) fn render(
    path: &std::path::Path,
    table: &csv::CsvTable,
    frame_rows: u32,
    results: &[trial::CodecResult],
) -> String {
    let dropped: Vec<String> = table
        .dropped
        .iter()
        .map(|d| format!("{} ({})", d.name, d.reason))
        .collect();
    let used: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let mut name = c.name.clone();
            if c.is_time {
                name.push_str(" as epoch seconds");
            }
            let mut notes = Vec::new();
            if c.empty_cells > 0 {
                notes.push(format!("{} as NaN", counted(c.empty_cells, "empty cell")));
            }
            match c.rounded_integers {
                0 => {}
                1 => notes.push("1 integer past 2^53 rounded to a double".to_owned()),
                n => notes.push(format!("{n} integers past 2^53 rounded to doubles")),
            }
            if !notes.is_empty() {
                name.push_str(&format!(" with {}", notes.join(" and ")));
            }
            name
        })
        .collect();
    let (rows, columns) = (table.rows(), table.columns.len());
    let separated = match table.delimiter {
        b',' => String::new(),
        b'\t' => " (tab-separated)".to_owned(),
        other => format!(" ({:?}-separated)", char::from(other)),
    };
    let mut text = format!(
        "{}{separated}: {}, {} ({}); dropped: {}\n",
        path.display(),
        counted(rows, "row"),
        counted(columns, "numeric column"),
        used.join(", "),
        if dropped.is_empty() {
            "none".to_owned()
        } else {
            dropped.join(", ")
        },
    );
    let groups = columns.div_ceil(ringtop::Row::COLUMNS);
    text.push_str(&format!(
        "{} of up to six columns, frames of {frame_rows} rows; ratio and MB/s: the {} values (8 \
         bytes each) over encoded bytes, headers included, decoded into the table's columns; row \
         ratio: the 64-byte rows the engine carries\n\n",
        if groups == 1 {
            "one group".to_owned()
        } else {
            format!("{groups} groups")
        },
        rows * columns
    ));
    text.push_str(&trial::render_table(results));
    let by_column = trial::render_columns(results);
    if !by_column.is_empty() {
        text.push_str(
            "\nwhat each column costs: the bytes per value its values add to the same frames \
             (none: 0, as a row's six slots take 64 bytes whatever they hold); shared bytes: the \
             rest of the encoded size (headers, sequence numbers, and what the columns cost \
             together beyond alone)\n",
        );
        text.push_str(&by_column);
    }
    text
}
