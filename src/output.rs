//! The lines headless mode prints: one JSON object per line, each with a `"type"`, all of them
//! described by one schema (`ringtop schema`'s `line`). Every front end that writes JSON lines
//! builds them from [`OutputLine`], so what is printed and what the schema says cannot drift.
//! Plain lines for the operator go through [`to_stderr`] and [`to_stdout`], which never panic.

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::doctor::{Check, DoctorSummary};
use crate::host::HostFacts;
use crate::metrics::snapshot::{ProgramInfo, ProgramSnapshot, SCHEMA_VERSION, Snapshot, Summary};

/// One line of headless output.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputLine {
    /// The first line: what ran, where and when, so two runs can be compared later.
    Start(StartLine),
    /// An interval's figures.
    Snapshot(Snapshot),
    /// The whole run's figures, last.
    Summary(Summary),
    /// A command read from stdin was applied.
    Ack(Ack),
    /// A command was refused, stdin held something that is not a command, or the histogram log
    /// stopped.
    Error(ErrorLine),
    /// `attach`'s first line: which program, where and when.
    Attach(AttachStart),
    /// `attach`: an interval of the program's rings.
    Program(ProgramSnapshot),
    /// `attach`'s last line: the whole attachment, and why it ended.
    ProgramSummary(ProgramSnapshot),
}

/// What `attach` watches, from where, since when.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachStart {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The ringtop version that watches.
    pub ringtop_version: String,
    /// When watching started, UTC, RFC 3339.
    pub started_utc: String,
    /// The host.
    pub host: HostFacts,
    /// The program.
    pub program: ProgramInfo,
}

impl AttachStart {
    /// The line for watching `program`, starting now.
    pub fn now(program: ProgramInfo) -> Self {
        AttachStart {
            schema_version: SCHEMA_VERSION,
            ringtop_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_utc: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            host: HostFacts::read(),
            program,
        }
    }
}

/// What ran, where and when.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StartLine {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The ringtop version that ran.
    pub ringtop_version: String,
    /// When the run started, UTC, RFC 3339.
    pub started_utc: String,
    /// The host.
    pub host: HostFacts,
    /// The profile's name (a built-in's name or the file's path).
    pub profile: String,
    /// The profile as it ran, every default filled in (the same keys as its TOML).
    pub resolved_profile: Value,
    /// `ringtop doctor` for the CPUs this run uses, in one line's worth; `null` when the CPUs
    /// could not be planned (the run then fails to start and says why).
    pub host_check: Option<DoctorSummary>,
    /// Each of those checks with what it saw and the fix, so a record sent elsewhere says why a
    /// check warned (`[]` where `host_check` is `null`).
    pub host_checks: Vec<Check>,
}

impl StartLine {
    /// The line for a run of `profile`, called `name`, starting now.
    pub fn now(name: &str, profile: &crate::profile::TuningProfile) -> Self {
        let report = crate::engine::doctor_plan(profile)
            .ok()
            .map(|plan| crate::doctor::examine(&plan));
        let mut resolved = serde_json::to_value(profile).unwrap_or(Value::Null);
        // The token is a secret: a run's record holds none.
        if let Some(transport) = resolved.get_mut("transport").and_then(Value::as_object_mut) {
            transport.remove("token");
        }
        StartLine {
            schema_version: SCHEMA_VERSION,
            ringtop_version: env!("CARGO_PKG_VERSION").to_owned(),
            started_utc: humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                .to_string(),
            host: HostFacts::read(),
            profile: name.to_owned(),
            resolved_profile: resolved,
            host_check: report.as_ref().map(|r| r.summary.clone()),
            host_checks: report.map(|r| r.checks).unwrap_or_default(),
        }
    }
}

/// A command that was applied.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Seconds since the run started, when it was applied.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub elapsed_s: f64,
    /// The command as it was read.
    pub command: Value,
}

/// Something that went wrong without ending the run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorLine {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Seconds since the run started.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub elapsed_s: f64,
    /// What went wrong.
    pub message: String,
    /// The command it is about, as it was read (a refused command).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Value>,
    /// The input that is not a command, as it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

impl ErrorLine {
    /// An error `elapsed_s` into the run.
    pub fn new(elapsed_s: f64, message: String) -> Self {
        ErrorLine {
            schema_version: SCHEMA_VERSION,
            elapsed_s,
            message,
            command: None,
            input: None,
        }
    }
}

impl OutputLine {
    /// The line as JSON.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Writes one line for the operator on stderr. Unlike `eprintln!`, which panics when stderr
/// cannot be written (a full disk under `2> run.log`), a line that cannot be written is dropped:
/// there is nowhere left to say so, and the exit code still tells.
pub fn to_stderr(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// [`to_stderr`] for a line on stdout (a summary after the dashboard has left the screen).
pub fn to_stdout(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// The schemas `ringtop schema` prints: every output line, and the commands read on stdin.
pub fn schemas() -> Value {
    serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "line": schemars::schema_for!(OutputLine),
        "command": schemars::schema_for!(crate::headless::StdinCommand),
    })
}
