//! Reading what users hand ringtop, with a bound: a profile, a saved map, a run's output, a CSV
//! table, commands on stdin. A file named by mistake (`/dev/zero`, a core dump, a pipe that
//! never ends a line) then gets a clear error once the bound is passed, instead of taking the
//! machine's memory first.
//!
//! Two bounds, for two kinds of input: a whole document (TOML, JSON, XML, a token) is read
//! whole and bounded in size ([`read_document`]); a stream of lines (CSV, JSON lines, interval
//! logs, commands) may be as long as it likes but each line is bounded ([`LineLimit`]).

use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;

use crate::topology::model::format_bytes;

/// The most a profile may hold: the built-in ones are about 2 KiB.
pub const PROFILE_BYTES: u64 = 1 << 20;
/// The most a saved document may hold (a `c2c --json` map, a `sweep --json` result, an hwloc
/// XML export): a 1,024-CPU map is about 50 MiB.
pub const DOCUMENT_BYTES: u64 = 256 << 20;
/// The most a token file may hold: its first line is the token, at most a few hundred bytes.
pub const TOKEN_FILE_BYTES: u64 = 64 << 10;
/// The longest line of a data file (a CSV table's record, a headless run's JSON line, an
/// interval log's histogram): a snapshot of 256 threads is well under 1 MiB.
pub const DATA_LINE_BYTES: u64 = 16 << 20;
/// The longest command line on a headless run's stdin: the largest command is under 1 KiB.
pub const COMMAND_LINE_BYTES: u64 = 64 << 10;

/// The text of the file at `path`, refused once it passes `limit` bytes (an
/// [`io::ErrorKind::InvalidData`] error saying it is too large for `what`, "a profile") without
/// reading further.
///
/// # Errors
/// The file cannot be opened or read, is not UTF-8, or is larger than `limit`.
pub fn read_document(path: &Path, limit: u64, what: &str) -> io::Result<String> {
    let mut text = String::new();
    File::open(path)?
        .take(limit.saturating_add(1))
        .read_to_string(&mut text)?;
    if text.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than {}: too large for {what}", format_bytes(limit)),
        ));
    }
    Ok(text)
}

/// The text of the file at `path`, a stream of lines each at most `line_limit` bytes long: read
/// whole, refused at the first longer line ([`LineTooLong`]).
///
/// # Errors
/// The file cannot be opened or read, is not UTF-8, or has a longer line.
pub fn read_lines_file(path: &Path, line_limit: u64) -> io::Result<String> {
    let mut text = String::new();
    LineLimit::new(io::BufReader::new(File::open(path)?), line_limit).read_to_string(&mut text)?;
    Ok(text)
}

/// A line longer than a [`LineLimit`]'s limit, as the error it gives (inside an
/// [`io::ErrorKind::InvalidData`] [`io::Error`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line {line} is longer than {}", format_bytes(*.limit))]
pub struct LineTooLong {
    /// The line, counted from 1.
    pub line: u64,
    /// The limit it passed, bytes.
    pub limit: u64,
}

impl LineTooLong {
    /// Whether `err` is a [`LineTooLong`] (the reader can go on with the next line).
    pub fn is(err: &io::Error) -> bool {
        err.get_ref().is_some_and(|inner| inner.is::<LineTooLong>())
    }

    fn error(line: u64, limit: u64) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, LineTooLong { line, limit })
    }
}

/// A reader that passes its input through unchanged while every line (the bytes between two
/// `\n`) is at most `limit` bytes long. At the first byte past the limit it gives the bytes
/// before it, then an error ([`LineTooLong`]) once; read on, it drops the rest of that line
/// and carries on from the next, so a stream of commands survives one bad line.
#[derive(Debug)]
pub struct LineLimit<R> {
    inner: R,
    limit: u64,
    /// Bytes of the current line passed so far.
    run: u64,
    /// Lines ended so far (dropped ones included).
    ended: u64,
    /// The limit was reached with bytes already given: the error comes with the next read.
    error_due: bool,
    /// Dropping the rest of an overlong line.
    skipping: bool,
}

impl<R: BufRead> LineLimit<R> {
    /// `inner`, with lines of at most `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        LineLimit {
            inner,
            limit,
            run: 0,
            ended: 0,
            error_due: false,
            skipping: false,
        }
    }
}

impl<R: BufRead> Read for LineLimit<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.error_due {
            self.error_due = false;
            self.skipping = true;
            return Err(LineTooLong::error(self.ended + 1, self.limit));
        }
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() || out.is_empty() {
                return Ok(0);
            }
            if self.skipping {
                match available.iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        self.inner.consume(end + 1);
                        self.skipping = false;
                        self.run = 0;
                        self.ended += 1;
                    }
                    None => {
                        let all = available.len();
                        self.inner.consume(all);
                    }
                }
                continue;
            }
            let offered = &available[..available.len().min(out.len())];
            let (passed, over) = pass((&mut self.run, &mut self.ended), self.limit, offered);
            out[..passed].copy_from_slice(&offered[..passed]);
            self.inner.consume(passed);
            if over {
                if passed == 0 {
                    self.skipping = true;
                    return Err(LineTooLong::error(self.ended + 1, self.limit));
                }
                self.error_due = true;
            }
            return Ok(passed);
        }
    }
}

/// How many of `bytes` may pass under `limit` when the current line has `run` bytes so far,
/// and whether the limit stops them; moves `run` on and counts the lines they end.
fn pass((run, ended): (&mut u64, &mut u64), limit: u64, bytes: &[u8]) -> (usize, bool) {
    let mut passed = 0;
    for segment in bytes.split_inclusive(|&b| b == b'\n') {
        let last_ended = segment.last() == Some(&b'\n');
        let body = (segment.len() - usize::from(last_ended)) as u64;
        if *run + body > limit {
            let room = usize::try_from(limit - *run).unwrap_or(usize::MAX);
            *run = limit;
            return (passed + room, true);
        }
        passed += segment.len();
        if last_ended {
            *run = 0;
            *ended += 1;
        } else {
            *run += body;
        }
    }
    (passed, false)
}

// proptest is not built for the loom models.
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a reader of `input` through a [`LineLimit`] of `limit` sees, line by line, reading
    /// `chunk` bytes at a time: `Ok(line)` or `Err(())` for an overlong one.
    fn read_lines(input: &[u8], limit: u64, chunk: usize) -> Vec<Result<Vec<u8>, ()>> {
        let mut reader = LineLimit::new(io::BufReader::with_capacity(chunk, input), limit);
        let mut lines = Vec::new();
        let mut line = Vec::new();
        let mut buf = vec![0u8; chunk];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    for &b in &buf[..n] {
                        if b == b'\n' {
                            lines.push(Ok(std::mem::take(&mut line)));
                        } else {
                            line.push(b);
                        }
                    }
                }
                Err(err) => {
                    assert!(LineTooLong::is(&err), "{err}");
                    let number = lines.len() + 1;
                    assert_eq!(
                        err.to_string(),
                        format!("line {number} is longer than {}", format_bytes(limit))
                    );
                    line.clear();
                    lines.push(Err(()));
                }
            }
        }
        if !line.is_empty() {
            lines.push(Ok(line));
        }
        lines
    }

    /// The model: every line as it is, or an error in its place when it is longer than
    /// `limit` (an unended last line counts as a line).
    fn model(input: &[u8], limit: u64) -> Vec<Result<Vec<u8>, ()>> {
        let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
            .into_iter()
            .map(|l| {
                if l.len() as u64 > limit {
                    Err(())
                } else {
                    Ok(l.to_vec())
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn lines_pass_unchanged_and_each_overlong_one_is_one_error(
            lengths in prop::collection::vec(0usize..12, 0..20),
            ended in any::<bool>(),
            limit in 0u64..8,
            chunk in 1usize..9,
        ) {
            let mut input = Vec::new();
            for (i, &len) in lengths.iter().enumerate() {
                input.extend((0..len).map(|k| b'a' + ((i + k) % 26) as u8));
                input.push(b'\n');
            }
            if !ended && input.last() == Some(&b'\n') {
                input.pop();
            }
            prop_assert_eq!(read_lines(&input, limit, chunk), model(&input, limit));
        }
    }

    #[test]
    fn a_document_past_its_limit_is_refused_and_one_at_it_is_read() {
        let dir = std::env::temp_dir().join(format!("ringtop-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("doc.txt");
        std::fs::write(&path, "x".repeat(1024)).unwrap();
        assert_eq!(read_document(&path, 1024, "a test").unwrap().len(), 1024);
        let err = read_document(&path, 1023, "a test").unwrap_err();
        assert_eq!(err.to_string(), "larger than 1023 B: too large for a test");
        let err = read_document(Path::new("/dev/zero"), 4 << 10, "a profile").unwrap_err();
        assert_eq!(
            err.to_string(),
            "larger than 4 KiB: too large for a profile"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
