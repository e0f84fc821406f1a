//! Rows as eight columns of 64-bit words (sequence, stamp, six value bit patterns), the shape
//! every column codec works on, and rows as little-endian bytes, the shape LZ4 works on.

use crate::row::Row;

/// Words per row: `seq`, `stamp_ns` and the six values' bit patterns.
pub(crate) const WORDS: usize = 2 + Row::COLUMNS;

/// Bytes per row on the wire.
pub(crate) const ROW_BYTES: usize = WORDS * 8;

/// Column-major scratch space, reused from frame to frame.
#[derive(Debug, Default)]
pub(crate) struct Columns {
    words: Vec<u64>,
    rows: usize,
}

impl Columns {
    /// Lays `rows` out column by column.
    pub(crate) fn load(&mut self, rows: &[Row]) {
        self.reset(rows.len());
        let n = rows.len();
        for (i, row) in rows.iter().enumerate() {
            self.words[i] = row.seq;
            self.words[n + i] = row.stamp_ns;
            for (c, v) in row.values.iter().enumerate() {
                self.words[(2 + c) * n + i] = v.to_bits();
            }
        }
    }

    /// Makes room for `rows` rows (contents unspecified until written).
    pub(crate) fn reset(&mut self, rows: usize) {
        self.rows = rows;
        // Not cleared first: every decoder writes every word, and zeroing them all cost a
        // tenth of a decode.
        self.words.resize(rows * WORDS, 0);
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn column(&self, c: usize) -> &[u64] {
        &self.words[c * self.rows..(c + 1) * self.rows]
    }

    pub(crate) fn column_mut(&mut self, c: usize) -> &mut [u64] {
        &mut self.words[c * self.rows..(c + 1) * self.rows]
    }

    /// Appends column `c` (a value column: 2 and on) to `out` as floats.
    pub(crate) fn append_column(&self, c: usize, out: &mut Vec<f64>) {
        out.extend(self.column(c).iter().map(|&w| f64::from_bits(w)));
    }

    /// Appends the columns as rows to `out`.
    pub(crate) fn store(&self, out: &mut Vec<Row>) {
        let n = self.rows;
        if n == 0 {
            return;
        }
        // Eight slices of exactly `n` words, so the loop below indexes without bounds checks.
        let mut columns = self.words.chunks_exact(n);
        let mut next = || columns.next().unwrap_or(&[]);
        let (seq, stamp) = (next(), next());
        let values: [&[u64]; Row::COLUMNS] = std::array::from_fn(|_| next());
        out.extend((0..n.min(seq.len()).min(stamp.len())).map(|i| Row {
            seq: seq[i],
            stamp_ns: stamp[i],
            values: std::array::from_fn(|c| f64::from_bits(values[c].get(i).copied().unwrap_or(0))),
        }));
    }
}

/// Writes rows as little-endian bytes into `out` (exactly `rows.len() * 64` bytes).
pub(crate) fn rows_to_bytes(rows: &[Row], out: &mut [u8]) {
    for (row, chunk) in rows.iter().zip(out.chunks_exact_mut(ROW_BYTES)) {
        chunk[0..8].copy_from_slice(&row.seq.to_le_bytes());
        chunk[8..16].copy_from_slice(&row.stamp_ns.to_le_bytes());
        for (c, v) in row.values.iter().enumerate() {
            chunk[16 + 8 * c..24 + 8 * c].copy_from_slice(&v.to_bits().to_le_bytes());
        }
    }
}

/// Appends word `word` of each row in `bytes` (a whole number of rows) to `out` as floats.
pub(crate) fn bytes_to_column(bytes: &[u8], word: usize, out: &mut Vec<f64>) {
    let at = 8 * word;
    out.extend(bytes.chunks_exact(ROW_BYTES).map(|row| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&row[at..at + 8]);
        f64::from_bits(u64::from_le_bytes(w))
    }));
}

/// Appends the rows in `bytes` (a whole number of rows) to `out`.
pub(crate) fn bytes_to_rows(bytes: &[u8], out: &mut Vec<Row>) {
    let word = |chunk: &[u8], at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&chunk[at..at + 8]);
        u64::from_le_bytes(w)
    };
    out.reserve(bytes.len() / ROW_BYTES);
    for chunk in bytes.chunks_exact(ROW_BYTES) {
        let mut row = Row::new(word(chunk, 0), word(chunk, 8));
        for (c, v) in row.values.iter_mut().enumerate() {
            *v = f64::from_bits(word(chunk, 16 + 8 * c));
        }
        out.push(row);
    }
}
