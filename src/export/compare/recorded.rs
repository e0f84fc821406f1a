//! A run's output (`run --headless`) as `compare` and `report` read it, and the line reading
//! both kinds of output share.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::metrics::snapshot::{LinkRole, SCHEMA_VERSION, Snapshot, Summary};

use super::attachment;

/// Why a run file cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A line that is not what `run --headless` prints.
    #[error("{path}:{line}: {reason}")]
    Line {
        /// The file.
        path: String,
        /// Its line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Two outputs that cannot be compared with each other.
    #[error("{reason}")]
    Mismatch {
        /// Why not.
        reason: String,
    },
    /// A run without its summary (interrupted before it printed one) or its first line.
    #[error("{path}: {reason}")]
    Incomplete {
        /// The file.
        path: String,
        /// What is missing.
        reason: String,
    },
}

/// A run's output as its JSON lines tell it, finished or not: a run killed before its end
/// (SIGKILL, a CI job's time limit) printed its intervals but no summary.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The file.
    pub path: String,
    /// Its `start` line.
    pub start: Value,
    /// Every interval.
    pub snapshots: Vec<Snapshot>,
    /// The whole run; `None` when the output has no summary line.
    pub summary: Option<Summary>,
    /// The commands it took while it ran (its `ack` lines), in order: its figures are not of
    /// its start's settings alone.
    pub commands: Vec<AppliedCommand>,
}

/// A command a run took while it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedCommand {
    /// Seconds into the run.
    pub elapsed_s: f64,
    /// The command as it was sent (`{"cmd":"batch","size":32}`).
    pub command: Value,
}

impl AppliedCommand {
    /// In words: `batch size=32 at 2.0 s`, `pause at 4.5 s`.
    pub fn describe(&self) -> String {
        let fields = self.command.as_object();
        let name = fields
            .and_then(|f| f.get("cmd"))
            .and_then(Value::as_str)
            .unwrap_or("a command");
        let settings: String = fields
            .into_iter()
            .flatten()
            .filter(|(key, _)| *key != "cmd")
            .map(|(key, value)| match value {
                Value::String(text) => format!(" {key}={text}"),
                other => format!(" {key}={other}"),
            })
            .collect();
        format!("{name}{settings} at {:.1} s", self.elapsed_s)
    }
}

/// What [`Recorded::commands`] says in one line: how many, the first few in words.
pub fn commands_in_words(commands: &[AppliedCommand]) -> String {
    const SHOWN: usize = 4;
    let mut words: Vec<String> = commands
        .iter()
        .take(SHOWN)
        .map(AppliedCommand::describe)
        .collect();
    if commands.len() > SHOWN {
        words.push(format!("{} more", commands.len() - SHOWN));
    }
    format!(
        "{}: {}",
        crate::words::counted(commands.len(), "command"),
        words.join("; ")
    )
}

/// The text of the headless output at `path`, read as every front end reads data lines.
pub(super) fn read_text(path: &Path) -> Result<String, CompareError> {
    crate::input::read_lines_file(path, crate::input::DATA_LINE_BYTES).map_err(|source| {
        CompareError::Io {
            path: path.display().to_string(),
            source,
        }
    })
}

/// One line of headless output: its number (from 1), its `type`, and its other fields.
pub(super) struct TypedLine {
    pub(super) number: usize,
    pub(super) kind: String,
    pub(super) fields: Value,
}

/// Each non-empty line of `text` (the headless output called `name`) with its type taken out,
/// once its schema version is found to be the one this ringtop reads. A last line cut off in
/// the middle (no newline after it, its JSON ended early: a run killed mid-write, a copy cut
/// short) is left out: the lines before it are read, and a summary it would have been is
/// missing, as [`NO_SUMMARY`] says.
pub(super) fn typed_lines<'a>(
    name: &'a str,
    text: &'a str,
) -> impl Iterator<Item = Result<TypedLine, CompareError>> + 'a {
    let last = text.lines().count().checked_sub(1);
    let cut = !text.ends_with('\n');
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .filter_map(move |(index, line)| {
            let fail = |reason: String| line_error(name, index + 1, reason);
            let mut fields: Value = match serde_json::from_str(line) {
                Ok(fields) => fields,
                Err(e) if e.is_eof() && cut && Some(index) == last => return None,
                Err(e) => return Some(Err(fail(format!("not a JSON line: {e}")))),
            };
            let version = fields["schema_version"].as_u64();
            if version != Some(u64::from(SCHEMA_VERSION)) {
                return Some(Err(fail(format!(
                    "schema_version {}, this ringtop reads {SCHEMA_VERSION}",
                    version.map_or("missing".to_owned(), |v| v.to_string())
                ))));
            }
            let Some(kind) = fields
                .as_object_mut()
                .and_then(|o| o.remove("type"))
                .and_then(|t| t.as_str().map(str::to_owned))
            else {
                return Some(Err(fail("a line without a \"type\"".into())));
            };
            Some(Ok(TypedLine {
                number: index + 1,
                kind,
                fields,
            }))
        })
}

/// What is wrong with line `number` of the output called `path`.
pub(super) fn line_error(path: &str, number: usize, reason: String) -> CompareError {
    CompareError::Line {
        path: path.to_owned(),
        line: number,
        reason,
    }
}

/// Why a recorded run has no summary, as every command that needs one says it.
pub const NO_SUMMARY: &str = "no summary line: the run did not finish (or its output was cut)";

impl Recorded {
    /// Which end of a link the run was (`None` for a local ring), as its lines say.
    pub fn link_role(&self) -> Option<LinkRole> {
        self.snapshots
            .iter()
            .filter_map(|s| s.transport.as_ref())
            .chain(self.summary.iter().filter_map(|s| s.transport.as_ref()))
            .map(|link| link.role)
            .next()
    }

    /// Reads the JSON lines of a headless run.
    ///
    /// # Errors
    /// [`CompareError`] naming the file, and the line where one is wrong; a file without a
    /// start line is not a run's output.
    pub fn read(path: &Path) -> Result<Recorded, CompareError> {
        let name = path.display().to_string();
        Recorded::parse(&name, &read_text(path)?)
    }

    /// Parses `text`, the JSON lines of a headless run called `name`.
    ///
    /// # Errors
    /// As [`Recorded::read`].
    pub fn parse(name: &str, text: &str) -> Result<Recorded, CompareError> {
        let mut start = None;
        let mut snapshots = Vec::new();
        let mut summary = None;
        let mut commands = Vec::new();
        for line in typed_lines(name, text) {
            let TypedLine {
                number,
                kind,
                mut fields,
            } = line?;
            let fail = |reason: String| line_error(name, number, reason);
            match kind.as_str() {
                "start" => start = Some(fields),
                "snapshot" => snapshots.push(
                    serde_json::from_value(fields)
                        .map_err(|e| fail(format!("a snapshot ringtop cannot read: {e}")))?,
                ),
                "summary" => {
                    summary = Some(
                        serde_json::from_value(fields)
                            .map_err(|e| fail(format!("a summary ringtop cannot read: {e}")))?,
                    );
                }
                "ack" => commands.push(AppliedCommand {
                    elapsed_s: fields["elapsed_s"].as_f64().unwrap_or(0.0),
                    command: fields["command"].take(),
                }),
                "error" => {}
                other => {
                    let whose = if !attachment::LINE_TYPES.contains(&other) {
                        ", which `run --headless` does not write"
                    } else if start.is_some() {
                        ": `attach --headless` output, in a run's"
                    } else {
                        ": this is `attach --headless` output, and only a run's is read here"
                    };
                    return Err(fail(format!("a line of type {other:?}{whose}")));
                }
            }
        }

        Ok(Recorded {
            path: name.to_owned(),
            start: start.ok_or_else(|| CompareError::Incomplete {
                path: name.to_owned(),
                reason: "no start line: not `run --headless` output".to_owned(),
            })?,
            snapshots,
            summary,
            commands,
        })
    }

    /// The finished run, or [`CompareError::Incomplete`] when it has no summary.
    ///
    /// # Errors
    /// [`CompareError::Incomplete`] saying the summary is missing.
    pub fn finished(self) -> Result<Run, CompareError> {
        let Some(summary) = self.summary else {
            return Err(CompareError::Incomplete {
                path: self.path,
                reason: NO_SUMMARY.to_owned(),
            });
        };
        Ok(Run {
            path: self.path,
            start: self.start,
            snapshots: self.snapshots,
            summary,
            commands: self.commands,
        })
    }
}

/// One finished run as its JSON lines tell it: what `compare` needs.
#[derive(Debug, Clone)]
pub struct Run {
    /// The file.
    pub path: String,
    /// Its `start` line.
    pub start: Value,
    /// Every interval.
    pub snapshots: Vec<Snapshot>,
    /// The whole run.
    pub summary: Summary,
    /// The commands it took while it ran ([`Recorded::commands`]).
    pub commands: Vec<AppliedCommand>,
}

impl Run {
    /// Reads the JSON lines of a finished headless run.
    ///
    /// # Errors
    /// As [`Recorded::read`], and [`CompareError::Incomplete`] without a summary.
    pub fn read(path: &Path) -> Result<Run, CompareError> {
        Recorded::read(path)?.finished()
    }

    /// Parses `text`, the JSON lines of a finished headless run called `name`.
    ///
    /// # Errors
    /// As [`Run::read`].
    pub fn parse(name: &str, text: &str) -> Result<Run, CompareError> {
        Recorded::parse(name, text)?.finished()
    }
}

/// What differs between the runs' start lines: the profile and its settings; the CPUs their
/// threads ran on; the commands each took while it ran.
pub(super) fn differences(a: &Run, b: &Run) -> Vec<String> {
    let mut warnings = Vec::new();
    let field = |run: &Run, key: &str| run.start[key].clone();
    if field(a, "profile") != field(b, "profile") {
        warnings.push(format!(
            "different profiles: {} and {}",
            field(a, "profile"),
            field(b, "profile")
        ));
    }
    // Where a run wrote its histogram log, and the words describing its profile (which say
    // where a link's rows went, already a setting of their own), change nothing it measured.
    let settings = |run: &Run| {
        let mut settings = flatten(&run.start["resolved_profile"]);
        settings.remove("report.hlog");
        settings.remove("description");
        settings
    };
    let (sa, sb) = (settings(a), settings(b));
    let mut changed: Vec<String> = sa
        .iter()
        .filter(|(k, v)| sb.get(*k) != Some(v))
        .map(|(k, v)| {
            format!(
                "{k} = {v} vs {}",
                sb.get(k).map_or("(unset)".to_owned(), ToString::to_string)
            )
        })
        .collect();
    changed.extend(
        sb.iter()
            .filter(|(k, _)| !sa.contains_key(*k))
            .map(|(k, v)| format!("{k} = (unset) vs {v}")),
    );
    if !changed.is_empty() {
        warnings.push(format!("different settings: {}", changed.join("; ")));
    }
    // The ends of a link time different things: a receiver its rows one way, a sender its round
    // trips; a local ring's rows never leave the process.
    let end = |run: &Run| match run.summary.transport.as_ref().map(|link| link.role) {
        None => "a local ring's",
        Some(LinkRole::Sender) => "a link's sender's",
        Some(LinkRole::Receiver) => "a link's receiver's",
    };
    if end(a) != end(b) {
        warnings.push(format!(
            "different ends: {} is {} output, {} {}",
            a.path,
            end(a),
            b.path,
            end(b)
        ));
    }
    // A run changed while it ran is not of its start line's settings alone.
    for run in [a, b] {
        if !run.commands.is_empty() {
            warnings.push(format!(
                "{} was changed while it ran (its whole-run figures mix before and after): {}",
                run.path,
                commands_in_words(&run.commands)
            ));
        }
    }
    warnings
}

/// A JSON object's leaves as `a.b.c` → value.
fn flatten(value: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(fields) => {
                for (key, inner) in fields {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, inner, out);
                }
            }
            leaf => {
                out.insert(prefix.to_owned(), leaf.clone());
            }
        }
    }
    walk("", value, &mut out);
    out
}
