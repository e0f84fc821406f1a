//! A profile read from its file: the text read within its size limit, relative paths in it taken
//! from the file's directory (a profile and the table it replays move together, whatever
//! directory ringtop runs in), then checked.

use std::path::Path;

use super::{ProfileError, SourceSetting, TuningProfile, check, deserialize, located};

/// Reads and checks the profile in `path`.
///
/// # Errors
/// [`ProfileError`] for an unreadable file, bad TOML, unknown keys, wrong types, or settings this
/// machine cannot honour.
pub fn load(path: &Path) -> Result<TuningProfile, ProfileError> {
    let file = path.display().to_string();
    let text = read_profile_text(path).map_err(|e| ProfileError {
        file: file.clone(),
        line: None,
        column: None,
        message: e.to_string(),
    })?;
    let profile = from_its_directory(deserialize(&text, &file)?, path);
    check::check(&profile).map_err(|problem| located(&text, &file, problem))?;
    Ok(profile)
}

/// Loads and checks a profile, reporting every problem found rather than the first (what
/// `ringtop profile check` prints).
///
/// # Errors
/// Every [`ProfileError`] found, in the order of the file's groups of settings; a file that is
/// not valid TOML, or has a wrong type or an unknown key, gives that one error (the parser stops
/// there).
pub fn check_file(path: &Path) -> Result<TuningProfile, Vec<ProfileError>> {
    let file = path.display().to_string();
    let text = read_profile_text(path).map_err(|e| {
        vec![ProfileError {
            file: file.clone(),
            line: None,
            column: None,
            message: e.to_string(),
        }]
    })?;
    let profile = from_its_directory(deserialize(&text, &file).map_err(|e| vec![e])?, path);
    let problems = check::check_all(&profile);
    if problems.is_empty() {
        Ok(profile)
    } else {
        Err(problems
            .into_iter()
            .map(|p| located(&text, &file, p))
            .collect())
    }
}

/// A profile file's text, refused past [`crate::input::PROFILE_BYTES`].
fn read_profile_text(path: &Path) -> std::io::Result<String> {
    crate::input::read_document(path, crate::input::PROFILE_BYTES, "a profile")
}

/// `profile`, read from the file `path`, with a relative `csv:` source taken from the file's
/// directory, as an absolute path: what the profile's author meant wherever ringtop runs, and
/// what a profile saved elsewhere from this run still finds. (`report.hlog`, an output, stays
/// where ringtop runs, as `--hlog` does.)
fn from_its_directory(mut profile: TuningProfile, path: &Path) -> TuningProfile {
    if let SourceSetting::Csv(table) = &mut profile.workload.source
        && table.is_relative()
    {
        let directory = path.parent().unwrap_or(Path::new(""));
        let joined = directory.join(&*table);
        *table = std::path::absolute(&joined).unwrap_or(joined);
    }
    profile
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A profile in `dir` replaying `table` (as written in it).
    fn profile_replaying(dir: &Path, table: &str) -> std::path::PathBuf {
        let path = dir.join("replay.toml");
        let text = format!(
            "version = 1\n[ring]\nkind = \"spsc\"\ncapacity = 1024\n[workload]\n\
             source = \"csv:{table}\"\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_relative_table_is_found_beside_the_profile_not_where_ringtop_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/t.csv"), "price\n1.5\n2.5\n").unwrap();
        let path = profile_replaying(dir.path(), "data/t.csv");
        let expected = std::path::absolute(dir.path().join("data/t.csv")).unwrap();
        for profile in [load(&path).unwrap(), check_file(&path).unwrap()] {
            assert_eq!(
                profile.workload.source,
                SourceSetting::Csv(expected.clone())
            );
        }
        // Saved and read back from anywhere, it still names the same table.
        let saved = profile_replaying(dir.path(), &expected.display().to_string());
        assert_eq!(
            load(&saved).unwrap().workload.source,
            SourceSetting::Csv(expected.clone())
        );
        // A table missing beside the profile is said with the path looked at.
        let missing = profile_replaying(dir.path(), "gone.csv");
        let err = load(&missing).unwrap_err().to_string();
        let looked_at = std::path::absolute(dir.path().join("gone.csv")).unwrap();
        assert!(err.contains(&format!("{}: ", looked_at.display())), "{err}");
    }
}
