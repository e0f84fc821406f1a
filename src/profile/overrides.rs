//! Profile keys set from the command line (`section.name=value`): one rule for `sweep`'s grid
//! points and `run --set`, so that a value means the same wherever it is given.

use super::TuningProfile;
use crate::metrics::human::parse_count;

/// A profile key (`workload.rate`) and the value it is set to.
pub type Setting = (String, toml::Value);

/// `KEY=VALUES` split at its first `=`, the key checked to be `section.name`; `form` is what
/// the caller takes, for the error (`KEY=VALUE, e.g. workload.batch=8`).
///
/// # Errors
/// What is wrong and what would do.
pub fn split_key<'t>(text: &'t str, form: &str) -> Result<(&'t str, &'t str), String> {
    let (key, values) = text
        .split_once('=')
        .ok_or_else(|| format!("expected {form}"))?;
    let key = key.trim();
    if key.split('.').count() != 2 || key.split('.').any(str::is_empty) {
        return Err("the key is section.name, as in a profile (workload.rate)".into());
    }
    Ok((key, values.trim()))
}

/// One value as the command line gives it: a whole number (`500k`, `2M`, `1e6`), another
/// number, `true`/`false`, or a word. Numbers that no key takes (a negative one, a fraction)
/// stay numbers, for the profile's check to refuse with its own reason.
pub fn value_of(text: &str) -> toml::Value {
    let text = text.trim();
    match (parse_count(text), text.parse::<f64>()) {
        (Some(n), _) => toml::Value::Integer(n as i64),
        (None, Ok(x)) if x.fract() == 0.0 && x.abs() < 1e18 => toml::Value::Integer(x as i64),
        (None, Ok(x)) if x.is_finite() => toml::Value::Float(x),
        _ if text == "true" || text == "false" => toml::Value::Boolean(text == "true"),
        _ => toml::Value::String(text.to_owned()),
    }
}

/// `KEY=VALUE`: one setting (`run --set workload.rate=500k`).
///
/// # Errors
/// `--set TEXT: reason`, where the key is not `section.name` or the value is empty.
pub fn parse(text: &str) -> Result<Setting, String> {
    let error = |reason: &str| format!("--set {text}: {reason}");
    let (key, value) =
        split_key(text, "KEY=VALUE, e.g. workload.batch=8").map_err(|reason| error(&reason))?;
    if value.is_empty() {
        return Err(error("no value after `=`"));
    }
    Ok((key.to_owned(), value_for(key, value)))
}

/// The value `text` gives `key`: [`value_of`]'s reading, but the link's secret stays the text
/// it was given (`12345678` is a token, not a number).
pub fn value_for(key: &str, text: &str) -> toml::Value {
    if key == SECRET_KEY {
        toml::Value::String(text.to_owned())
    } else {
        value_of(text)
    }
}

/// `base` with each of `settings` written into it, then checked as a profile file is: a key
/// that takes one entry a thread (every `[pinning]` key, and any whose value is a list) reads
/// `2+3` as `[2, 3]` and `1` as `[1]`.
///
/// # Errors
/// What is wrong, starting with the settings (`workload.rate=-1: …`): a key given twice, a key
/// whose section is not a table, a value of the wrong type, or a profile that breaks a rule.
pub fn with_settings(base: &TuningProfile, settings: &[Setting]) -> Result<TuningProfile, String> {
    if let Some((key, _)) = settings
        .iter()
        .enumerate()
        .find_map(|(i, (key, _))| settings[..i].iter().find(|(earlier, _)| earlier == key))
    {
        return Err(format!(
            "{key} is set twice: give it once (the later would replace the earlier)"
        ));
    }
    let what = settings.iter().map(shown).collect::<Vec<_>>().join(" ");
    let mut value = toml::Value::try_from(base).map_err(|e| format!("{what}: {e}"))?;
    // Sections the settings begin (a key of `[codec]` on an unframed profile): a new one needs
    // its required keys too, which is what a `missing field` then means.
    let mut begun: Vec<&str> = Vec::new();
    for (key, v) in settings {
        let (section_name, name) = key.split_once('.').unwrap_or((key, ""));
        let root = value.as_table_mut().expect("a profile is a table");
        if !root.contains_key(section_name) && !begun.contains(&section_name) {
            begun.push(section_name);
        }
        let section = root
            .entry(section_name)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let Some(section) = section.as_table_mut() else {
            return Err(format!("{what}: {key} is not a section"));
        };
        let v = match (section.get(name), key.starts_with("pinning.")) {
            (Some(toml::Value::Array(_)), _) | (_, true) => per_thread(v),
            _ => v.clone(),
        };
        section.insert(name.to_owned(), v);
    }
    let profile: TuningProfile = value.try_into().map_err(|e: toml::de::Error| {
        let message = e.message().trim();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'));
        match (missing, begun.as_slice()) {
            (Some(field), [section]) => format!(
                "{what}: the profile has no [{section}] section, and a new one needs `{field}` \
                 too (--set {section}.{field}=…)"
            ),
            _ => format!("{what}: {message}"),
        }
    })?;
    profile.validate(&what).map_err(|e| e.to_string())?;
    Ok(profile)
}

/// Why a receiver (`ringtop serve`) takes no setting of `key`: what it would set is the
/// sender's, or another option's; `None` for a key a receiver uses. One home for the rule:
/// `serve --set` asks it.
pub fn unused_by_a_receiver(key: &str) -> Option<&'static str> {
    let section = key.split_once('.').map_or(key, |(section, _)| section);
    match (section, key) {
        ("workload" | "codec", _) => Some(
            "the rows, their pace and codec are the sender's: set it on the sender's `ringtop run`",
        ),
        (_, "pinning.producers" | "wait.producer") => {
            Some("this side runs no producer: the sender's is set on its `ringtop run`")
        }
        (_, "transport.listen" | "transport.connect" | "transport.name") => {
            Some("where this side listens is --listen (TCP) or --shm NAME")
        }
        _ => None,
    }
}

/// Why a sender (a run with `--connect`, `--shm` or a profile that sends) takes no setting of
/// `key`: it sizes or places the ring, or sets a consumer, and those are the receiver's: set, it
/// would be taken and do nothing. `None` for a key a sender uses. One home for the rule: `run
/// --set` and `sweep --set` ask it.
pub fn unused_by_a_sender(key: &str) -> Option<&'static str> {
    let section = key.split_once('.').map_or(key, |(section, _)| section);
    match (section, key) {
        ("ring", _) => {
            Some("the ring this side writes into is the receiver's: set it on its `ringtop serve`")
        }
        (_, "workload.consumers" | "pinning.consumers" | "wait.consumer") => {
            Some("this side runs no consumer: the receiver's is set on its `ringtop serve`")
        }
        _ => None,
    }
}

/// The key of the link's shared secret, which ringtop never writes back.
pub const SECRET_KEY: &str = "transport.token";

/// A setting as ringtop writes it back (in an error, a run's description): `key=value`, but the
/// link's shared secret never (`transport.token=(hidden)`), as the start line and saved
/// profiles leave it out.
pub fn shown((key, value): &Setting) -> String {
    if key == SECRET_KEY {
        format!("{key}=(hidden)")
    } else {
        format!("{key}={value}")
    }
}

/// A value for a key that takes one entry per thread (`pinning.consumers`): `1` is `[1]`, and
/// `2+3` is `[2, 3]`, each entry a whole number (a CPU) or a word (`auto`).
fn per_thread(value: &toml::Value) -> toml::Value {
    let entry = |text: &str| {
        text.parse::<i64>().map_or_else(
            |_| toml::Value::String(text.to_owned()),
            toml::Value::Integer,
        )
    };
    toml::Value::Array(match value {
        toml::Value::String(text) => text.split('+').map(|e| entry(e.trim())).collect(),
        other => vec![other.clone()],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value;

    #[test]
    fn values_read_as_a_profile_would_take_them() {
        for (text, value) in [
            ("500k", Value::Integer(500_000)),
            ("1e6", Value::Integer(1_000_000)),
            ("-1", Value::Integer(-1)),
            ("0.5", Value::Float(0.5)),
            ("true", Value::Boolean(true)),
            (" auto ", Value::String("auto".into())),
            ("2+3", Value::String("2+3".into())),
        ] {
            assert_eq!(value_of(text), value, "{text}");
        }
        assert_eq!(
            parse("workload.rate=2M"),
            Ok(("workload.rate".to_owned(), Value::Integer(2_000_000)))
        );
        assert!(
            parse("workload.rate=")
                .unwrap_err()
                .ends_with(": no value after `=`")
        );
        assert!(parse("rate=1").unwrap_err().contains("section.name"));
        // A secret of digits or `1k` is the text it was given, not a number.
        for token in ["12345678", "1k", "true"] {
            assert_eq!(
                parse(&format!("transport.token={token}")),
                Ok(("transport.token".to_owned(), Value::String(token.into())))
            );
        }
    }

    #[test]
    fn settings_write_into_the_profile_and_are_checked() {
        let base = crate::profile::builtin::get("default").unwrap();
        let set = |pairs: &[(&str, Value)]| {
            let settings: Vec<Setting> = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            with_settings(&base, &settings)
        };
        let profile = set(&[
            ("workload.batch", Value::Integer(8)),
            ("pinning.consumers", Value::String("auto".into())),
        ])
        .unwrap();
        assert_eq!(profile.workload.batch, 8);
        assert_eq!(profile.description, base.description);
        let twice = set(&[
            ("workload.batch", Value::Integer(8)),
            ("workload.batch", Value::Integer(16)),
        ]);
        assert_eq!(
            twice.unwrap_err(),
            "workload.batch is set twice: give it once (the later would replace the earlier)"
        );
        let wrong = set(&[("ring.capacity", Value::Integer(1000))]).unwrap_err();
        assert!(wrong.starts_with("ring.capacity=1000: "), "{wrong}");
        let secret = set(&[("transport.token", Value::String("hunter2".into()))]).unwrap_err();
        assert!(secret.starts_with("transport.token=(hidden): "), "{secret}");
        assert!(!secret.contains("hunter2"), "{secret}");
        let not_a_section = set(&[("version.x", Value::Integer(1))]).unwrap_err();
        assert_eq!(not_a_section, "version.x=1: version.x is not a section");
        // A key of a section the profile lacks: the new section's required key is named.
        let begun = set(&[("codec.rows_per_frame", Value::Integer(64))]).unwrap_err();
        assert_eq!(
            begun,
            "codec.rows_per_frame=64: the profile has no [codec] section, and a new one needs \
             `name` too (--set codec.name=…)"
        );
        let whole = set(&[
            ("codec.rows_per_frame", Value::Integer(64)),
            ("codec.name", Value::String("lz4".into())),
        ])
        .unwrap();
        assert_eq!(whole.codec.unwrap().rows_per_frame, Some(64));
    }
}
