//! The profiles shipped in `profiles/`, compiled into the binary so `ringtop` works with no files.

use super::{ProfileError, TuningProfile, parse};

/// Every built-in profile: name and TOML text. `default` comes first.
pub const BUILTIN: [(&str, &str); 6] = [
    ("default", include_str!("../../profiles/default.toml")),
    (
        "low-latency",
        include_str!("../../profiles/low-latency.toml"),
    ),
    ("throughput", include_str!("../../profiles/throughput.toml")),
    (
        "compressed-timeseries",
        include_str!("../../profiles/compressed-timeseries.toml"),
    ),
    (
        "broadcast-fanout",
        include_str!("../../profiles/broadcast-fanout.toml"),
    ),
    ("remote-tcp", include_str!("../../profiles/remote-tcp.toml")),
];

/// The TOML of the built-in profile `name`.
pub fn text(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The built-in profile `name`, checked against this machine.
///
/// # Errors
/// [`ProfileError`] for an unknown name (listing the names), or when this machine cannot run it.
pub fn get(name: &str) -> Result<TuningProfile, ProfileError> {
    let text = text(name).ok_or_else(|| ProfileError {
        file: format!("<builtin {name}>"),
        line: None,
        column: None,
        message: format!(
            "no built-in profile {name:?}; built-in: {}",
            BUILTIN.map(|(n, _)| n).join(", ")
        ),
    })?;
    parse(text, &format!("<builtin {name}>"))
}
