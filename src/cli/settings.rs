//! Profile keys set on the command line (`--set KEY=VALUE`) for `run`, `serve` and the
//! dashboard: written into the chosen profile by the profile's own rule
//! ([`ringtop::profile::overrides`]), and what each end of a link takes of them.

use ringtop::profile::overrides::SECRET_KEY;
use ringtop::profile::{self, TuningProfile};

use super::args::SettingArgs;

/// `profile` with the command line's `--set KEY=VALUE`s written in, checked, and what was set
/// for its description (`; here with workload.rate=500000 (--set)`), which may name the value
/// it replaced (`default`'s names its rate).
pub(super) fn with_settings(
    profile: TuningProfile,
    args: &SettingArgs,
) -> Result<(TuningProfile, String), String> {
    if args.set.is_empty() {
        return Ok((profile, String::new()));
    }
    let settings = args
        .set
        .iter()
        .map(|text| profile::overrides::parse(text))
        .collect::<Result<Vec<_>, _>>()?;
    let profile = profile::overrides::with_settings(&profile, &settings)
        .map_err(|reason| format!("--set {reason}"))?;
    let set = settings
        .iter()
        .map(profile::overrides::shown)
        .collect::<Vec<_>>()
        .join(", ");
    Ok((profile, format!("; here with {set} (--set)")))
}

/// The profile keys `--connect` and `--shm` set: the link's kind and its place.
const LINK_PLACE_KEYS: [&str; 4] = [
    "transport.kind",
    "transport.connect",
    "transport.listen",
    "transport.name",
];

/// Refuses a `--set` of a key that an option given with it also sets: `place`, the option that
/// says where the link goes (`--connect`, `--shm`), and `token`, the one that gives its secret
/// (`--token`, `--token-file`). The command line would say two things, and one would be dropped
/// unseen.
///
/// # Errors
/// `--set KEY: OPTION sets it too; give one of them`, for the first such key (its value left
/// out: it may be the link's secret).
pub(super) fn not_also_given(
    args: &SettingArgs,
    place: Option<&str>,
    token: Option<&str>,
) -> Result<(), String> {
    let given = [
        place.map(|option| (option, &LINK_PLACE_KEYS[..])),
        token.map(|option| (option, &[SECRET_KEY][..])),
    ];
    for text in &args.set {
        let key = text
            .split_once('=')
            .map_or(text.as_str(), |(key, _)| key.trim());
        if let Some((option, _)) = given.iter().flatten().find(|(_, keys)| keys.contains(&key)) {
            return Err(format!(
                "--set {key}: {option} sets it too; give one of them"
            ));
        }
    }
    Ok(())
}

/// Refuses a `--set` that `serve` would not use.
///
/// # Errors
/// `serve --set TEXT: why`, for the first such key.
pub(super) fn for_a_receiver(args: &SettingArgs) -> Result<(), String> {
    refuse_the_first(args, "serve", profile::overrides::unused_by_a_receiver)
}

/// Refuses a `--set` that a sender would not use: it would be taken and do nothing.
///
/// # Errors
/// `run --set TEXT: why`, for the first such key.
pub(super) fn for_a_sender(args: &SettingArgs) -> Result<(), String> {
    refuse_the_first(args, "run", profile::overrides::unused_by_a_sender)
}

/// `COMMAND --set TEXT: why` for the first `--set` whose key `unused` has a reason for.
fn refuse_the_first(
    args: &SettingArgs,
    command: &str,
    unused: fn(&str) -> Option<&'static str>,
) -> Result<(), String> {
    match args.set.iter().find_map(|text| {
        let key = text
            .split_once('=')
            .map_or(text.as_str(), |(key, _)| key.trim());
        Some((text, unused(key)?))
    }) {
        Some((text, why)) => Err(format!("{command} --set {text}: {why}")),
        None => Ok(()),
    }
}
