//! A CSV file's text: inflated when it is gzip's, and the separator its first line uses.

use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::input::{DATA_LINE_BYTES, LineLimit};

/// The fields' separator: of `,`, tab, `;` and `|`, the one the first line holds most of outside
/// quotes (a comma on a tie or when it holds none), so tab- and semicolon-separated files read
/// as they are.
pub(super) fn sniff_delimiter(first_line: &[u8]) -> u8 {
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
/// first, whatever the name), so a `.csv.gz` as published is read as it is. A record longer than
/// [`DATA_LINE_BYTES`] is an error ([`crate::input::LineTooLong`]), not a field that grows until
/// memory runs out (a binary file named by mistake, `/dev/zero`).
pub(super) fn open_text(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    const BUFFER: usize = 64 * 1024;
    let mut file = BufReader::with_capacity(BUFFER, std::fs::File::open(path)?);
    if file.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        let inflated = Gzipped(flate2::bufread::MultiGzDecoder::new(file));
        let lines = LineLimit::new(BufReader::with_capacity(BUFFER, inflated), DATA_LINE_BYTES);
        return Ok(Box::new(BufReader::with_capacity(BUFFER, lines)));
    }
    Ok(Box::new(BufReader::with_capacity(
        BUFFER,
        LineLimit::new(file, DATA_LINE_BYTES),
    )))
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
pub(super) fn first_line(file: &mut Box<dyn BufRead>) -> std::io::Result<&[u8]> {
    let buffer = file.fill_buf()?;
    Ok(buffer.split(|&b| b == b'\n').next().unwrap_or(buffer))
}
