//! `attach --headless` output as `compare` reads it: a watched program's intervals and the
//! summary of the whole attachment.

use std::path::Path;

use serde_json::Value;

use crate::metrics::snapshot::ProgramSnapshot;

use super::CompareError;
use super::recorded::{TypedLine, line_error, read_text, typed_lines};

/// The line types `attach --headless` writes besides `error`.
pub(super) const LINE_TYPES: [&str; 3] = ["attach", "program", "program_summary"];

/// Why an attachment has no summary, as `compare` says it.
pub const NO_PROGRAM_SUMMARY: &str =
    "no program_summary line: watching did not finish (or its output was cut)";

/// An attachment's output as its JSON lines tell it, finished or not: an `attach` killed
/// before its end (SIGKILL, a CI job's time limit) printed its intervals but no summary.
#[derive(Debug, Clone)]
pub struct Watched {
    /// The file.
    pub path: String,
    /// Its `attach` line: the program, the host, ringtop's version.
    pub start: Value,
    /// Every interval (`program` lines).
    pub intervals: Vec<ProgramSnapshot>,
    /// The whole attachment (`program_summary`); `None` when the output has none.
    pub summary: Option<ProgramSnapshot>,
}

impl Watched {
    /// Parses `text`, the JSON lines of an attachment called `name`.
    ///
    /// # Errors
    /// [`CompareError`] naming the file, and the line where one is wrong; a file without an
    /// `attach` line is refused.
    pub fn parse(name: &str, text: &str) -> Result<Watched, CompareError> {
        let mut start = None;
        let mut intervals = Vec::new();
        let mut summary = None;
        for line in typed_lines(name, text) {
            let TypedLine {
                number,
                kind,
                fields,
            } = line?;
            let fail = |reason: String| line_error(name, number, reason);
            // Each line's fields are read once, moved into what they are.
            let program = |what: &str, fields: Value| {
                serde_json::from_value::<ProgramSnapshot>(fields)
                    .map_err(|e| fail(format!("a {what} ringtop cannot read: {e}")))
            };
            match kind.as_str() {
                "attach" => start = Some(fields),
                "program" => intervals.push(program("program line", fields)?),
                "program_summary" => summary = Some(program("program summary", fields)?),
                "error" => {}
                other => {
                    return Err(fail(format!(
                        "a line of type {other:?}, which `attach --headless` does not write"
                    )));
                }
            }
        }
        Ok(Watched {
            path: name.to_owned(),
            start: start.ok_or_else(|| CompareError::Incomplete {
                path: name.to_owned(),
                reason: "no attach line: not `attach --headless` output".to_owned(),
            })?,
            intervals,
            summary,
        })
    }

    /// The finished attachment, or [`CompareError::Incomplete`] when it has no summary.
    ///
    /// # Errors
    /// [`CompareError::Incomplete`] saying the summary is missing.
    pub fn finished(self) -> Result<Attachment, CompareError> {
        let Some(summary) = self.summary else {
            return Err(CompareError::Incomplete {
                path: self.path,
                reason: NO_PROGRAM_SUMMARY.to_owned(),
            });
        };
        Ok(Attachment {
            path: self.path,
            start: self.start,
            intervals: self.intervals,
            summary,
        })
    }
}

/// One finished attachment to a program as its JSON lines tell it: what `compare` needs.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// The file.
    pub path: String,
    /// Its `attach` line: the program, the host, ringtop's version.
    pub start: Value,
    /// Every interval (`program` lines).
    pub intervals: Vec<ProgramSnapshot>,
    /// The whole attachment (`program_summary`).
    pub summary: ProgramSnapshot,
}

impl Attachment {
    /// Reads the JSON lines of a finished `attach --headless`.
    ///
    /// # Errors
    /// [`CompareError`] naming the file, and the line where one is wrong; a file without an
    /// `attach` line or a `program_summary` is refused.
    pub fn read(path: &Path) -> Result<Attachment, CompareError> {
        let name = path.display().to_string();
        Attachment::parse(&name, &read_text(path)?)
    }

    /// Parses `text`, the JSON lines of a finished attachment called `name`.
    ///
    /// # Errors
    /// As [`Attachment::read`].
    pub fn parse(name: &str, text: &str) -> Result<Attachment, CompareError> {
        Watched::parse(name, text)?.finished()
    }

    /// What differs between two attachments besides their figures: the program, its rings'
    /// settings, and how watching ended.
    pub(super) fn differences(&self, other: &Attachment) -> Vec<String> {
        let mut warnings = Vec::new();
        let program = |a: &Attachment| a.start["program"]["name"].clone();
        if program(self) != program(other) {
            warnings.push(format!(
                "different programs: {} and {}",
                program(self),
                program(other)
            ));
        }
        let mut changed = Vec::new();
        for ring in &self.summary.rings {
            let Some(theirs) = other.summary.rings.iter().find(|r| r.name == ring.name) else {
                continue;
            };
            let settings = [
                ("kind", ring.ring.kind.clone(), theirs.ring.kind.clone()),
                (
                    "capacity",
                    ring.ring.capacity_text(),
                    theirs.ring.capacity_text(),
                ),
                (
                    "item_bytes",
                    ring.item_bytes.to_string(),
                    theirs.item_bytes.to_string(),
                ),
            ];
            changed.extend(
                settings
                    .into_iter()
                    .filter(|(_, mine, theirs)| mine != theirs)
                    .map(|(key, mine, theirs)| format!("{}.{key} = {mine} vs {theirs}", ring.name)),
            );
        }
        if !changed.is_empty() {
            warnings.push(format!("different rings: {}", changed.join("; ")));
        }
        if self.summary.ended != other.summary.ended {
            let ended = |a: &Attachment| a.summary.ended.clone().unwrap_or_default();
            warnings.push(format!(
                "watching ended differently: {} ({}) and {} ({})",
                ended(self),
                self.path,
                ended(other),
                other.path
            ));
        }
        warnings
    }
}
