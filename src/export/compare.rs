//! `ringtop compare A.jsonl B.jsonl`: two headless runs side by side, per thread (and for framed
//! runs the ring's codec ratio), with the change, a noise estimate from each run's own intervals,
//! and a verdict a CI job can gate on.
//!
//! The noise of a whole-run figure is estimated from the spread of that figure over the run's
//! intervals: the standard error of their mean, s ÷ √n, relative to the mean. (Not a robust
//! estimator such as the MAD on purpose: these machines are bimodal, and a MAD can read zero on
//! intervals that alternate between two states.) Two runs' noises add in quadrature. B regresses
//! on a figure when it is worse than A by more than the threshold *and* by more than twice the
//! combined noise: a change the runs' own wobble could explain is reported, never failed.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::metrics::figures::round_significant;
use crate::metrics::snapshot::{SCHEMA_VERSION, Snapshot, Summary, ThreadSnapshot};

/// The threshold when none is given: 10 %.
pub const DEFAULT_MAX_REGRESSION: f64 = 0.10;

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

/// Why a recorded run has no summary, as every command that needs one says it.
pub const NO_SUMMARY: &str = "no summary line: the run did not finish (or its output was cut)";

impl Recorded {
    /// Reads the JSON lines of a headless run.
    ///
    /// # Errors
    /// [`CompareError`] naming the file, and the line where one is wrong; a file without a
    /// start line is not a run's output.
    pub fn read(path: &Path) -> Result<Recorded, CompareError> {
        let name = path.display().to_string();
        let text = crate::input::read_lines_file(path, crate::input::DATA_LINE_BYTES).map_err(
            |source| CompareError::Io {
                path: name.clone(),
                source,
            },
        )?;
        Recorded::parse(&name, &text)
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
        for (index, line) in text.lines().enumerate() {
            let fail = |reason: String| CompareError::Line {
                path: name.to_owned(),
                line: index + 1,
                reason,
            };
            if line.trim().is_empty() {
                continue;
            }
            let mut value: Value =
                serde_json::from_str(line).map_err(|e| fail(format!("not a JSON line: {e}")))?;
            let version = value["schema_version"].as_u64();
            if version != Some(u64::from(SCHEMA_VERSION)) {
                return Err(fail(format!(
                    "schema_version {}, this ringtop reads {SCHEMA_VERSION}",
                    version.map_or("missing".to_owned(), |v| v.to_string())
                )));
            }
            let kind = value
                .as_object_mut()
                .and_then(|o| o.remove("type"))
                .and_then(|t| t.as_str().map(str::to_owned))
                .ok_or_else(|| fail("a line without a \"type\"".into()))?;
            match kind.as_str() {
                "start" => start = Some(value),
                "snapshot" => snapshots.push(
                    serde_json::from_value(value)
                        .map_err(|e| fail(format!("a snapshot ringtop cannot read: {e}")))?,
                ),
                "summary" => {
                    summary = Some(
                        serde_json::from_value(value)
                            .map_err(|e| fail(format!("a summary ringtop cannot read: {e}")))?,
                    );
                }
                "ack" => commands.push(AppliedCommand {
                    elapsed_s: value["elapsed_s"].as_f64().unwrap_or(0.0),
                    command: value["command"].take(),
                }),
                "error" => {}
                other => {
                    let whose = if matches!(other, "attach" | "program" | "program_summary") {
                        ": this is `attach --headless` output, and only a run's is read here"
                    } else {
                        ", which `run --headless` does not write"
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

/// Which way is better for a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Throughput.
    Higher,
    /// Latency.
    Lower,
}

/// One figure of one thread in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Comparison {
    /// The thread (`ring` for a figure of the ring's frames).
    pub thread: String,
    /// `rows_per_s`, `p50_ns`, `p99_ns`, `p999_ns`, or a framed run's `codec_ratio` (64-byte
    /// rows over frame bytes, whichever codecs coded them).
    pub figure: String,
    /// Which way is better.
    pub better: Better,
    /// Run A's whole-run figure.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub a: f64,
    /// Run B's.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub b: f64,
    /// (B − A) ÷ A.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub change: f64,
    /// The combined relative noise of the two figures (see the module docs); `null` when a run
    /// has fewer than four intervals (the first, the warm-up, is left out).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub noise: Option<f64>,
    /// B is worse than A by more than the threshold and twice the noise (the threshold alone
    /// where the noise is `null`).
    pub regression: bool,
    /// A is worse than B by as much: what `compare B A` would call a regression, so a change
    /// within the noise is called neither.
    pub improvement: bool,
}

/// Both runs, figure by figure.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Run A's file.
    pub a: String,
    /// Run B's file.
    pub b: String,
    /// The regression threshold, as a fraction.
    pub max_regression: f64,
    /// Every figure of every thread both runs have.
    pub comparisons: Vec<Comparison>,
    /// What differs between the runs besides the figures (profile, host, threads).
    pub warnings: Vec<String>,
    /// Whether any figure regressed.
    pub regressed: bool,
}

type Pick = fn(&ThreadSnapshot, bool) -> Option<f64>;

/// The figures compared, and where each is in a thread (the whole run's, or the interval's).
const FIGURES: [(&str, Better, Pick); 4] = [
    ("rows_per_s", Better::Higher, |t, _| Some(t.rows_per_s)),
    ("p50_ns", Better::Lower, |t, whole| {
        latency(t, whole).map(|l| l.p50 as f64)
    }),
    ("p99_ns", Better::Lower, |t, whole| {
        latency(t, whole).map(|l| l.p99 as f64)
    }),
    ("p999_ns", Better::Lower, |t, whole| {
        latency(t, whole).map(|l| l.p999 as f64)
    }),
];

fn latency(thread: &ThreadSnapshot, whole: bool) -> Option<crate::metrics::snapshot::LatencyNs> {
    if whole {
        thread.latency_total_ns
    } else {
        thread.latency_ns
    }
}

/// Compares run B against run A with `max_regression` as the threshold (a fraction).
pub fn compare(a: &Run, b: &Run, max_regression: f64) -> Report {
    let mut comparisons = Vec::new();
    let mut warnings = differences(a, b);
    for thread_a in &a.summary.threads {
        let Some(thread_b) = b.summary.threads.iter().find(|t| t.name == thread_a.name) else {
            warnings.push(format!("{} is only in {}", thread_a.name, a.path));
            continue;
        };
        for (figure, better, pick) in FIGURES {
            let (Some(value_a), Some(value_b)) = (pick(thread_a, true), pick(thread_b, true))
            else {
                continue;
            };
            let spread = |run: &Run| {
                relative_noise(
                    run.snapshots
                        .iter()
                        .skip(1)
                        .filter_map(|s| s.threads.iter().find(|t| t.name == thread_a.name))
                        .filter_map(|t| pick(t, false)),
                )
            };
            let figures = Figures {
                thread: &thread_a.name,
                figure,
                better,
                values: (value_a, value_b),
                noises: (spread(a), spread(b)),
            };
            comparisons.extend(judge(&figures, max_regression));
        }
    }
    // The ring's frames: how well the codecs did, whichever ones coded them.
    let codec_ratio = |run: &Run| run.summary.codec.as_ref()?.ratio;
    if let (Some(ratio_a), Some(ratio_b)) = (codec_ratio(a), codec_ratio(b)) {
        let spread = |run: &Run| {
            relative_noise(
                run.snapshots
                    .iter()
                    .skip(1)
                    .filter_map(|s| s.codec.as_ref()?.ratio),
            )
        };
        let figures = Figures {
            thread: "ring",
            figure: "codec_ratio",
            better: Better::Higher,
            values: (ratio_a, ratio_b),
            noises: (spread(a), spread(b)),
        };
        comparisons.extend(judge(&figures, max_regression));
    }
    for thread_b in &b.summary.threads {
        if !a.summary.threads.iter().any(|t| t.name == thread_b.name) {
            warnings.push(format!("{} is only in {}", thread_b.name, b.path));
        }
    }
    Report {
        schema_version: SCHEMA_VERSION,
        a: a.path.clone(),
        b: b.path.clone(),
        max_regression,
        regressed: comparisons.iter().any(|c| c.regression),
        comparisons,
        warnings,
    }
}

/// One figure of both runs, with each run's noise.
struct Figures<'a> {
    thread: &'a str,
    figure: &'a str,
    better: Better,
    /// A's and B's whole-run figures.
    values: (f64, f64),
    /// A's and B's relative noise ([`relative_noise`]).
    noises: (Option<f64>, Option<f64>),
}

/// B's figure against A's: the change, the combined noise, and whether B regressed or improved
/// beyond the threshold and twice the noise. `None` where A's figure is not positive (no change
/// can be said of it).
fn judge(figures: &Figures<'_>, max_regression: f64) -> Option<Comparison> {
    let (value_a, value_b) = figures.values;
    if value_a <= 0.0 {
        return None;
    }
    let noise = match figures.noises {
        (Some(x), Some(y)) => Some((x * x + y * y).sqrt()),
        _ => None,
    };
    // How much worse `to` is than `from`, as a fraction of `from`.
    let worse_than = |to: f64, from: f64| {
        let change = (to - from) / from;
        match figures.better {
            Better::Higher => -change,
            Better::Lower => change,
        }
    };
    let beyond = |by: f64| by > max_regression && by > 2.0 * noise.unwrap_or(0.0);
    Some(Comparison {
        thread: figures.thread.to_owned(),
        figure: figures.figure.to_owned(),
        better: figures.better,
        a: value_a,
        b: value_b,
        change: (value_b - value_a) / value_a,
        noise,
        regression: beyond(worse_than(value_b, value_a)),
        improvement: value_b > 0.0 && beyond(worse_than(value_a, value_b)),
    })
}

/// The relative standard error of a whole-run figure, from its `values` over the run's intervals
/// (the first left out by the caller: it includes the warm-up). `None` with fewer than three.
fn relative_noise(values: impl Iterator<Item = f64>) -> Option<f64> {
    let values: Vec<f64> = values.collect();
    if values.len() < 3 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return None;
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(variance.sqrt() / n.sqrt() / mean)
}

/// What differs between the runs' start lines: the profile, its settings, the host.
fn differences(a: &Run, b: &Run) -> Vec<String> {
    let mut warnings = Vec::new();
    let field = |run: &Run, key: &str| run.start[key].clone();
    if field(a, "profile") != field(b, "profile") {
        warnings.push(format!(
            "different profiles: {} and {}",
            field(a, "profile"),
            field(b, "profile")
        ));
    }
    // Where a run wrote its histogram log changes nothing it measured.
    let settings = |run: &Run| {
        let mut settings = flatten(&run.start["resolved_profile"]);
        settings.remove("report.hlog");
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
    for key in ["hostname", "cpu_model", "kernel", "clocksource"] {
        let (ha, hb) = (&a.start["host"][key], &b.start["host"][key]);
        if ha != hb {
            warnings.push(format!("different hosts: {key} {ha} vs {hb}"));
        }
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
    // What a run warned about while it ran explains its figures (a producer behind its rate, a
    // thread kept from its CPU): said beside the comparison, with how many intervals.
    for run in [a, b] {
        for tally in &run.summary.warnings {
            warnings.push(format!(
                "{} warned in {} of its intervals: {}",
                run.path, tally.count, tally.warning
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

impl Report {
    /// The comparison as a table for people.
    pub fn table(&self) -> String {
        let mut text = format!(
            "A: {}\nB: {}\n{:<14} {:<11} {:>14} {:>14} {:>9} {:>8}  verdict\n",
            self.a, self.b, "thread", "figure", "A", "B", "change", "noise"
        );
        for c in &self.comparisons {
            let verdict = if c.regression {
                "REGRESSION"
            } else if c.improvement {
                "better"
            } else {
                "ok"
            };
            text.push_str(&format!(
                "{:<14} {:<11} {:>14} {:>14} {:>+8.1}% {:>8}  {verdict}\n",
                c.thread,
                c.figure,
                round_significant(c.a),
                round_significant(c.b),
                c.change * 100.0,
                c.noise
                    .map_or("n/a".to_owned(), |n| format!("{:.1}%", n * 100.0))
            ));
        }
        if self.comparisons.iter().any(|c| c.noise.is_none()) {
            text.push_str(
                "noise n/a: a run needs four intervals or more (the first, the warm-up, is left \
                 out) and a figure above zero to estimate it from; run longer, or with a shorter \
                 --interval\n",
            );
        }
        for warning in &self.warnings {
            text.push_str(&format!("warning: {warning}\n"));
        }
        text.push_str(&format!(
            "{}\n",
            if self.regressed {
                format!(
                    "B regressed: worse than A by more than {:.0} % and twice the noise{}",
                    self.max_regression * 100.0,
                    if self
                        .comparisons
                        .iter()
                        .any(|c| c.regression && c.noise.is_none())
                    {
                        " (by the threshold alone where the noise is n/a)"
                    } else {
                        ""
                    }
                )
            } else {
                format!(
                    "no regression beyond {:.0} % and the noise",
                    self.max_regression * 100.0
                )
            }
        ));
        text
    }
}
