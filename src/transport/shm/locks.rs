//! Who is alive, by `flock`: the receiver holds its ring file's lock and a lock on the ring's
//! name, a producer the sender lock beside it; the kernel drops a lock however its process
//! ends. And where those files are.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::transport::LinkError;

use super::layout;

/// Tries `flock` with `how` (never blocking): whether it was taken.
pub(super) fn lock(file: &File, how: libc::c_int) -> std::io::Result<bool> {
    // SAFETY: flock(2) on a descriptor the caller owns.
    if unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Lets go of `file`'s lock.
pub(super) fn unlock(file: &File) {
    // SAFETY: flock(2) on a descriptor the caller owns.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
}

/// Whether someone holds `path`'s lock (the receiver its ring file, a sender its sender file);
/// `false` for a missing file.
pub fn is_locked(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    match lock(&file, libc::LOCK_EX) {
        Ok(true) => {
            unlock(&file);
            false
        }
        Ok(false) => true,
        Err(_) => false,
    }
}

/// Takes the sender lock beside the ring file: one producer at a time, and the receiver tells a
/// live producer from a dead one by it (the kernel drops it however the producer ends).
///
/// # Errors
/// [`LinkError::Refused`] when another producer holds it, [`LinkError::Io`] otherwise.
pub fn take_sender_lock(path: &Path) -> Result<File, LinkError> {
    take_lock(
        path,
        "the sender lock",
        "another producer is writing into this ring",
    )
}

/// Takes the lock on a ring's name ([`receiver_lock_path`]) for a receiver about to make the
/// ring: two `serve`s started at once for one name would otherwise both find no live ring, both
/// make one and rename it into place, the first left serving a file no sender can find.
///
/// # Errors
/// [`LinkError::Refused`] when another receiver holds the name, [`LinkError::Io`] otherwise.
pub fn take_receiver_lock(path: &Path) -> Result<File, LinkError> {
    take_lock(
        path,
        "the receiver lock",
        "another ringtop serve holds this ring or is making it (its name's lock is taken)",
    )
}

/// Opens (making it if need be, 0600, never through a symlink) and locks `path` exclusively.
/// A holder removes its lock file before it lets go of it (see [`Segment`]'s drop), so a lock
/// taken on a file the name no longer leads to is let go and taken again on the name's new
/// file: at most one holder per name, and no lock file left behind.
fn take_lock(path: &Path, what: &'static str, busy: &str) -> Result<File, LinkError> {
    // Each retry follows a holder that left while this one opened its file.
    const TRIES: usize = 64;
    for _ in 0..TRIES {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|source| LinkError::Io { what, source })?;
        match lock(&file, libc::LOCK_EX) {
            Ok(true) if names_file(path, &file) => return Ok(file),
            Ok(true) => continue,
            Ok(false) => {
                return Err(LinkError::Refused {
                    address: path.display().to_string(),
                    reason: busy.into(),
                });
            }
            Err(source) => return Err(LinkError::Io { what, source }),
        }
    }
    Err(LinkError::Refused {
        address: path.display().to_string(),
        reason: format!("{busy} (its lock file was replaced {TRIES} times while it was taken)"),
    })
}

/// Whether `path` still names the open file `file` (the same inode on the same device).
fn names_file(path: &Path, file: &File) -> bool {
    match (std::fs::symlink_metadata(path), file.metadata()) {
        (Ok(named), Ok(open)) => named.dev() == open.dev() && named.ino() == open.ino(),
        _ => false,
    }
}

/// The ring file of `name` in the per-user ringtop directory (made private if missing).
///
/// # Errors
/// A name that is not a plain file name, or a directory that is not private.
pub fn ring_path(name: &str) -> Result<PathBuf, String> {
    crate::profile::rules::check_shm_name(name).map_err(|e| e.to_string())?;
    let dir = crate::monitor::dir::monitor_dir();
    crate::monitor::dir::ensure_private(&dir).map_err(|e| e.to_string())?;
    Ok(dir.join(format!("{name}.{}", layout::EXTENSION)))
}

/// The sender lock beside ring file `path`.
pub fn sender_lock_path(path: &Path) -> PathBuf {
    path.with_extension(format!("{}.sender", layout::EXTENSION))
}

/// The receiver's lock beside ring file `path`, on the ring's name: held while the receiver
/// lives, and removed by it, still held, when it ends: safe, since a receiver that then takes
/// the lock on the removed file finds the name no longer leads to it, lets go and starts over.
pub fn receiver_lock_path(path: &Path) -> PathBuf {
    path.with_extension(format!("{}.receiver", layout::EXTENSION))
}
