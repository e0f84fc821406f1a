//! One stdin line read as a command, and what is said when it is not one: in the words of the
//! commands there are (the engine's and the run's own together), not serde's.

use std::fmt;

use serde::de::value::MapDeserializer;
use serde::de::{self, Deserialize};
use serde_json::Value;

use crate::engine::Command;

/// A command for the headless run itself rather than its engine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum RunCommand {
    /// Write the settings as they stand now, every command applied, as a profile file (the
    /// link's token left out, and this run's `--duration`, `--interval` and `--hlog` left as
    /// the profile had them): what a script found works, kept to run again. An `ack` once it is
    /// written whole, else an `error` saying why (the file is then as it was).
    Save {
        /// The profile file, replaced whole or not at all.
        path: std::path::PathBuf,
    },
}

/// Every command a headless run reads on stdin (`ringtop schema`): the engine's, and its own.
#[derive(Debug, Clone, PartialEq, Eq, schemars::JsonSchema)]
#[serde(untagged)]
pub enum StdinCommand {
    /// A change to the running workload.
    Engine(Command),
    /// Something the run does itself.
    Run(RunCommand),
}

/// How a command looks, for a line that is not one.
const EXAMPLE: &str = r#"a command is one JSON object a line, such as {"cmd":"pause"}"#;

impl StdinCommand {
    /// Reads one line (already trimmed): a run's own command or the engine's, by its `cmd`.
    /// Why not, in plain words: not JSON, not an object, no `cmd` or an unknown one (each
    /// answered with the commands there are), or what the named command's fields lack.
    pub(super) fn parse(text: &str) -> Result<StdinCommand, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|err| format!("not JSON ({err}): {EXAMPLE}"))?;
        let Value::Object(fields) = &value else {
            return Err(format!("not an object: {EXAMPLE}"));
        };
        let name = match fields.get("cmd") {
            None => {
                return Err(format!(
                    "no \"cmd\": the commands are {}",
                    names().join(", ")
                ));
            }
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(format!(
                    "\"cmd\" is {other}, not a command's name: the commands are {}",
                    names().join(", ")
                ));
            }
        };
        if names_of::<RunCommand>().contains(&name.as_str()) {
            return serde_json::from_value(value)
                .map(StdinCommand::Run)
                .map_err(|err| format!("{name}: {err}"));
        }
        if !names_of::<Command>().contains(&name.as_str()) {
            return Err(format!(
                "unknown command \"{name}\": the commands are {}",
                names().join(", ")
            ));
        }
        let command: Command =
            serde_json::from_value(value.clone()).map_err(|err| format!("{name}: {err}"))?;
        no_field_unread(&name, &command, fields)?;
        Ok(StdinCommand::Engine(command))
    }
}

/// serde lets a command without fields (`pause`) through with any fields at all, though the
/// schema allows none: a field the command does not write back was not read, and is refused as
/// serde refuses one on a command with fields.
fn no_field_unread(
    name: &str,
    command: &Command,
    given: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    let read = match serde_json::to_value(command) {
        Ok(Value::Object(read)) => read,
        _ => return Ok(()),
    };
    match given.keys().find(|key| !read.contains_key(*key)) {
        Some(unread) => Err(format!(
            "{name}: unknown field `{unread}`, {name} has no fields"
        )),
        None => Ok(()),
    }
}

/// Every command's name: the engine's, then the run's own.
fn names() -> Vec<&'static str> {
    let mut names = names_of::<Command>();
    names.extend(names_of::<RunCommand>());
    names
}

/// The `cmd` names of an enum tagged by `cmd`, as its own `Deserialize` knows them: it is handed
/// a `cmd` no command has, and names them all in its refusal, which [`Names`] keeps.
fn names_of<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
    let unnamed = MapDeserializer::<_, Names>::new(std::iter::once(("cmd", "")));
    match T::deserialize(unnamed) {
        Err(Names(names)) => names,
        Ok(_) => Vec::new(),
    }
}

/// A deserializer's error that keeps only the variant names an unknown variant is refused with.
#[derive(Debug)]
struct Names(Vec<&'static str>);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "one of {}", self.0.join(", "))
    }
}

impl std::error::Error for Names {}

impl de::Error for Names {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        Names(Vec::new())
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        Names(expected.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_are_the_enums_own() {
        let engine = names_of::<Command>();
        assert!(engine.contains(&"repin") && engine.contains(&"reset_histograms"));
        assert_eq!(names_of::<RunCommand>(), ["save"]);
        for name in names() {
            let refused = StdinCommand::parse(&format!(r#"{{"cmd":"{name}","x":1}}"#));
            let reason = refused.unwrap_err();
            assert!(reason.starts_with(&format!("{name}: ")), "{reason}");
        }
    }

    #[test]
    fn a_line_that_is_not_a_command_is_told_what_is() {
        let reason = |text: &str| StdinCommand::parse(text).unwrap_err();
        assert!(reason("hello").starts_with("not JSON (expected value at line 1 column 1)"));
        assert!(reason("hello").ends_with(EXAMPLE));
        assert_eq!(reason("[1]"), format!("not an object: {EXAMPLE}"));
        let unknown = reason(r#"{"cmd":"pin","thread":"consumer-0","cpu":1}"#);
        assert!(unknown.starts_with("unknown command \"pin\": the commands are repin, "));
        assert!(unknown.ends_with(", save"), "{unknown}");
        assert!(reason("{}").starts_with("no \"cmd\": the commands are repin, "));
        assert!(reason(r#"{"cmd":3}"#).starts_with("\"cmd\" is 3, not a command's name"));
        assert_eq!(reason(r#"{"cmd":"save"}"#), "save: missing field `path`");
        assert!(StdinCommand::parse(r#"{"cmd":"save","path":"p.toml"}"#).is_ok());
        assert_eq!(
            reason(r#"{"cmd":"pause","for":"5s"}"#),
            "pause: unknown field `for`, pause has no fields"
        );
        assert!(StdinCommand::parse(r#"{"cmd":"pause"}"#).is_ok());
        assert!(StdinCommand::parse(r#"{"cmd":"repin","thread":"consumer-0","cpu":1}"#).is_ok());
    }

    /// Numbers are read as a profile reads them: a rate in words, and a refusal in the words of
    /// what the field takes, not of Rust's types (`expected u64`).
    #[test]
    fn a_commands_numbers_are_read_as_a_profiles_are() {
        let engine = |text: &str| match StdinCommand::parse(text) {
            Ok(StdinCommand::Engine(command)) => command,
            other => panic!("{text}: {other:?}"),
        };
        for (text, rate) in [
            (r#"{"cmd":"rate","rows_per_s":300000}"#, 300_000),
            (r#"{"cmd":"rate","rows_per_s":"2.5M"}"#, 2_500_000),
            (r#"{"cmd":"rate","rows_per_s":"500k"}"#, 500_000),
            (r#"{"cmd":"rate","rows_per_s":1e6}"#, 1_000_000),
        ] {
            assert_eq!(engine(text), Command::Rate { rows_per_s: rate }, "{text}");
        }
        let reason = |text: &str| StdinCommand::parse(text).unwrap_err();
        let rate = reason(r#"{"cmd":"rate","rows_per_s":-1}"#);
        assert!(
            rate.starts_with("rate: invalid value: integer `-1`, expected rows a second"),
            "{rate}"
        );
        for (text, field) in [
            (r#"{"cmd":"batch","size":-1}"#, "batch"),
            (r#"{"cmd":"prefetch","distance":1.5}"#, "prefetch"),
            (
                r#"{"cmd":"repin","thread":"consumer-0","cpu":"one"}"#,
                "repin",
            ),
        ] {
            let refused = reason(text);
            assert!(refused.starts_with(&format!("{field}: ")), "{refused}");
            assert!(
                refused.ends_with("expected a whole number (0, 1, 2, …)"),
                "{refused}"
            );
        }
    }
}
