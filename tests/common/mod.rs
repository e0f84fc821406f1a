//! Helpers the end-to-end test files share: the binary under test and its JSON-lines output.
#![allow(dead_code, reason = "each test file uses the helpers it needs")]

use std::io::BufRead;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// The `ringtop` binary this build made.
pub fn ringtop() -> Command {
    Command::cargo_bin("ringtop").expect("binary built")
}

/// The next headless line of the given type, skipping others.
pub fn next_of(lines: &mut impl BufRead, kind: &str) -> Value {
    loop {
        let mut line = String::new();
        assert!(
            lines.read_line(&mut line).unwrap() > 0,
            "output ended before a {kind} line"
        );
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if value["type"] == kind {
            return value;
        }
    }
}
