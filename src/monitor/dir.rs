//! Where stats segments live: one directory per user, private to that user.

use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::MonitorError;

/// The environment variable that moves the directory.
pub const DIR_VARIABLE: &str = "RINGTOP_DIR";

/// The directory segments are published in and read from: `$RINGTOP_DIR`, else
/// `/dev/shm/ringtop-<uid>` (memory, not disk: the writer's updates never reach a device).
pub fn monitor_dir() -> PathBuf {
    match std::env::var_os(DIR_VARIABLE) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        // SAFETY: getuid(2) takes nothing and cannot fail.
        _ => PathBuf::from(format!("/dev/shm/ringtop-{}", unsafe { libc::getuid() })),
    }
}

/// Makes `dir` (mode 0700) if it is missing, and checks that it belongs to this user and that
/// no one else may enter or write it: other users must not read a program's figures or plant
/// files for `attach` to read.
///
/// # Errors
/// [`MonitorError::Directory`] naming the directory and what is wrong.
pub fn ensure_private(dir: &Path) -> Result<(), MonitorError> {
    let fail = |reason: String| MonitorError::Directory {
        dir: dir.to_owned(),
        reason,
    };
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(fail(format!("cannot create it: {e}"))),
    }
    check_private(dir).map_err(fail)
}

/// Whether `dir` is a directory of this user's that only this user may use; why not otherwise.
pub fn check_private(dir: &Path) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_dir() {
        return Err("it is not a directory".into());
    }
    // SAFETY: getuid(2) takes nothing and cannot fail.
    let uid = unsafe { libc::getuid() };
    if meta.uid() != uid {
        return Err(format!(
            "it belongs to uid {}, not to this user (uid {uid})",
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "its mode is {mode:04o}: other users could read or plant segments (chmod 700 it)"
        ));
    }
    Ok(())
}

/// A name made safe for a file name: letters, digits, `.`, `_` and `-` kept, anything else `_`.
pub fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
