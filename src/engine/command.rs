//! Commands every front end sends a running engine (JSON lines in headless mode, keys in the
//! dashboard). Workers apply them between batches, never mid-batch.

use serde::{Deserialize, Serialize};

use crate::codec::CodecId;
use crate::profile::numbers;
use crate::profile::rules::SettingError;

/// A change to a running workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Move a thread (`producer-0`, `consumer-1`, …) to a CPU.
    Repin {
        /// The thread's name.
        thread: String,
        /// The CPU.
        #[serde(deserialize_with = "numbers::whole")]
        cpu: usize,
    },
    /// Encode frames with another codec from the next frame on.
    Codec {
        /// Codec name.
        name: CodecId,
    },
    /// Rows per batch (per frame when framed).
    Batch {
        /// At least 1, at most the ring's capacity.
        #[schemars(range(min = 1))]
        #[serde(deserialize_with = "numbers::whole")]
        size: usize,
    },
    /// Prefetch distance of the row rings' batch paths (0: off).
    Prefetch {
        /// Slots ahead.
        #[serde(deserialize_with = "numbers::whole")]
        distance: usize,
    },
    /// Rows per second per producer (0: flat out).
    Rate {
        /// Rows per second: a whole number, or in words as a profile takes them (`"2M"`,
        /// `"500k"`).
        #[serde(deserialize_with = "numbers::rows_per_s")]
        #[schemars(schema_with = "rows_per_s_schema")]
        rows_per_s: u64,
    },
    /// Producers stop producing; consumers drain.
    Pause,
    /// Producers start again (the schedule restarts, with no burst to catch up).
    Resume,
    /// Forget the latency recorded so far.
    ResetHistograms,
}

/// What a rate may be written as: the number, or the words [`numbers::rows_per_s`] reads.
fn rows_per_s_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "anyOf": [
            {"type": "integer", "minimum": 0},
            {"type": "string", "pattern": "^[0-9_.eE+]+[kKMGT]?$"}
        ]
    })
}

/// A command that cannot be applied; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No thread has that name.
    #[error("no thread {name:?}; threads: {threads}")]
    NoSuchThread {
        /// The name given.
        name: String,
        /// The names there are.
        threads: String,
    },
    /// The CPU cannot be used (it does not exist, or this process may not run on it).
    #[error("{0}")]
    Cpu(String),
    /// The setting is out of range or does not apply to this ring (the rule in
    /// [`crate::profile::rules`] that a profile is checked against too).
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// This process holds a remote ring: the sending process decides codec, rate and pausing.
    #[error(
        "this process holds the ring; the sender chooses codec, rate and pausing: send the \
         command to the sending process"
    )]
    SenderDecides,
    /// This process sends: no consumer here reads or times its rows (the receiver's does).
    #[error(
        "this process sends: its rows are read and timed by the receiving process, whose \
         latency that is (this end's is the link's round trip): reset or view it there"
    )]
    ReceiverTimes,
    /// The engine has stopped.
    #[error("the engine has stopped")]
    Stopped,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_as_json_lines() {
        let cases = [
            (
                r#"{"cmd":"repin","thread":"consumer-0","cpu":0}"#,
                Command::Repin {
                    thread: "consumer-0".into(),
                    cpu: 0,
                },
            ),
            (
                r#"{"cmd":"codec","name":"lz4"}"#,
                Command::Codec { name: CodecId::Lz4 },
            ),
            (r#"{"cmd":"batch","size":32}"#, Command::Batch { size: 32 }),
            (
                r#"{"cmd":"prefetch","distance":4}"#,
                Command::Prefetch { distance: 4 },
            ),
            (
                r#"{"cmd":"rate","rows_per_s":1000}"#,
                Command::Rate { rows_per_s: 1000 },
            ),
            (r#"{"cmd":"pause"}"#, Command::Pause),
            (r#"{"cmd":"resume"}"#, Command::Resume),
            (r#"{"cmd":"reset_histograms"}"#, Command::ResetHistograms),
        ];
        for (json, command) in cases {
            assert_eq!(
                serde_json::from_str::<Command>(json).unwrap(),
                command,
                "{json}"
            );
            let back = serde_json::to_string(&command).unwrap();
            assert_eq!(serde_json::from_str::<Command>(&back).unwrap(), command);
        }
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"codec","name":"zstd"}"#).is_err());
        assert!(serde_json::from_str::<Command>(r#"{"cmd":"jump"}"#).is_err());
    }
}
