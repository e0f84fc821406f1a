//! Rows as eight columns of 64-bit words (sequence, stamp, six value bit patterns), the shape
//! every column codec works on, and rows as little-endian bytes, the shape LZ4 works on.

use crate::row::Row;

/// Words per row: `seq`, `stamp_ns` and the six values' bit patterns.
pub(crate) const WORDS: usize = 2 + Row::COLUMNS;

/// Bytes per row on the wire.
pub(crate) const ROW_BYTES: usize = WORDS * 8;

/// Every column wanted from a decoder (bit `w` for word `w`): what decoding into rows takes.
pub(crate) const ALL_COLUMNS: u8 = u8::MAX;

/// The first `count` value columns (words 2 and on) wanted from a decoder, and no others.
pub(crate) fn value_columns(count: usize) -> u8 {
    let count = count.min(Row::COLUMNS);
    (((1u16 << count) - 1) << 2) as u8
}

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
        let column = |c: usize| &self.words[c * n..(c + 1) * n];
        // Zipped slice iterators: indexed without bounds checks, and of a length `extend` knows,
        // so each row is eight loads and eight stores (indexing the columns in a loop kept a
        // bounds check a word, a third of the decode of a well-compressed frame).
        let rows = column(0)
            .iter()
            .zip(column(1))
            .zip(column(2))
            .zip(column(3))
            .zip(column(4))
            .zip(column(5))
            .zip(column(6))
            .zip(column(7));
        out.extend(
            rows.map(|(((((((&seq, &stamp), &a), &b), &c), &d), &e), &f)| Row {
                seq,
                stamp_ns: stamp,
                values: [a, b, c, d, e, f].map(f64::from_bits),
            }),
        );
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

/// Word `w` of `row`: 0 the sequence number, 1 the stamp, then the values' bit patterns.
pub(crate) fn row_word(row: &Row, w: usize) -> u64 {
    match w {
        0 => row.seq,
        1 => row.stamp_ns,
        _ => row.values.get(w - 2).map_or(0, |v| v.to_bits()),
    }
}

/// Which of the eight words hold one value in every row of `rows` (bit `w` set for word `w`),
/// and those values (the others zero). No rows: none.
pub(crate) fn constant_words(rows: &[Row]) -> (u8, [u64; WORDS]) {
    let Some(first) = rows.first() else {
        return (0, [0; WORDS]);
    };
    let values: [u64; WORDS] = std::array::from_fn(|w| row_word(first, w));
    let mut constant = u8::MAX;
    for row in &rows[1..] {
        for (w, &value) in values.iter().enumerate() {
            if row_word(row, w) != value {
                constant &= !(1 << w);
            }
        }
        if constant == 0 {
            break;
        }
    }
    let values = std::array::from_fn(|w| {
        if constant & (1 << w) != 0 {
            values[w]
        } else {
            0
        }
    });
    (constant, values)
}

/// Writes the words of `rows` not marked in `constant` as little-endian bytes into `out`
/// (exactly `rows.len()` × 8 × the unmarked words).
pub(crate) fn rows_to_varying_bytes(rows: &[Row], constant: u8, out: &mut [u8]) {
    if constant == 0 {
        return rows_to_bytes(rows, out);
    }
    // The varying words' indices, on the stack: an encoder allocates nothing in its steady state.
    let mut varying = [0usize; WORDS];
    let mut count = 0;
    for w in (0..WORDS).filter(|w| constant & (1 << w) == 0) {
        varying[count] = w;
        count += 1;
    }
    let varying = &varying[..count];
    let stride = 8 * count;
    if stride == 0 {
        return;
    }
    for (row, chunk) in rows.iter().zip(out.chunks_exact_mut(stride)) {
        for (slot, &w) in chunk.chunks_exact_mut(8).zip(varying) {
            slot.copy_from_slice(&row_word(row, w).to_le_bytes());
        }
    }
}

/// Where word `w` of every row is in [`RowWords`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordAt {
    /// At this byte offset in each row's bytes.
    Offset(usize),
    /// This value in every row, not in the bytes.
    Constant(u64),
}

/// Rows as little-endian bytes holding the words that vary, `stride` bytes a row; the words that
/// hold one value throughout are kept aside.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowWords<'a> {
    bytes: &'a [u8],
    rows: usize,
    stride: usize,
    words: [WordAt; WORDS],
}

impl<'a> RowWords<'a> {
    /// Whole 64-byte rows (`bytes` a whole number of them).
    pub(crate) fn whole(bytes: &'a [u8]) -> Self {
        Self::varying(bytes, bytes.len() / ROW_BYTES, 0, &[0; WORDS])
    }

    /// `rows` rows whose words marked in `constant` are `values[w]` throughout and whose other
    /// words are in `bytes`, in order (as [`rows_to_varying_bytes`] writes them).
    pub(crate) fn varying(
        bytes: &'a [u8],
        rows: usize,
        constant: u8,
        values: &[u64; WORDS],
    ) -> Self {
        let mut stride = 0;
        let words = std::array::from_fn(|w| {
            if constant & (1 << w) != 0 {
                WordAt::Constant(values[w])
            } else {
                stride += 8;
                WordAt::Offset(stride - 8)
            }
        });
        Self {
            bytes,
            rows,
            stride,
            words,
        }
    }

    fn word(&self, row: &[u8], w: usize) -> u64 {
        match self.words[w] {
            WordAt::Constant(value) => value,
            WordAt::Offset(at) => row.get(at..at + 8).map_or(0, le_word),
        }
    }

    /// Appends the rows to `out`.
    pub(crate) fn append_rows(&self, out: &mut Vec<Row>) {
        if self.stride == ROW_BYTES {
            return bytes_to_rows(self.bytes, out);
        }
        let row = |bytes: &[u8]| Row {
            seq: self.word(bytes, 0),
            stamp_ns: self.word(bytes, 1),
            values: std::array::from_fn(|c| f64::from_bits(self.word(bytes, 2 + c))),
        };
        if self.stride == 0 {
            out.extend(std::iter::repeat_n(row(&[]), self.rows));
        } else {
            out.extend(self.bytes.chunks_exact(self.stride).map(row));
        }
    }

    /// Appends word `w` of every row to `out` as floats.
    pub(crate) fn append_column(&self, w: usize, out: &mut Vec<f64>) {
        match self.words[w] {
            WordAt::Constant(value) => {
                out.extend(std::iter::repeat_n(f64::from_bits(value), self.rows));
            }
            WordAt::Offset(at) => out.extend(
                self.bytes
                    .chunks_exact(self.stride)
                    .map(|row| f64::from_bits(row.get(at..at + 8).map_or(0, le_word))),
            ),
        }
    }
}

/// The little-endian word in `bytes` (eight of them).
#[inline]
pub(crate) fn le_word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(w)
}

/// Appends the rows in `bytes` (a whole number of rows) to `out`.
fn bytes_to_rows(bytes: &[u8], out: &mut Vec<Row>) {
    let word = |chunk: &[u8], at: usize| le_word(&chunk[at..at + 8]);
    out.reserve(bytes.len() / ROW_BYTES);
    for chunk in bytes.chunks_exact(ROW_BYTES) {
        let mut row = Row::new(word(chunk, 0), word(chunk, 8));
        for (c, v) in row.values.iter_mut().enumerate() {
            *v = f64::from_bits(word(chunk, 16 + 8 * c));
        }
        out.push(row);
    }
}
