//! Writing the files users keep (profiles, reports, flamegraphs) whole or not at all: the new
//! text goes to a temporary file beside the old one and replaces it only once all of it is
//! written and synced, so a full disk or a killed process leaves the previous file as it was,
//! never a truncated one. A file written as a run goes (a histogram log) is created here too,
//! its folder's trouble said the same way.

use std::fs::{self, File, Permissions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// Writes `contents` to `path`, replacing what is there only once all of it is on disk
/// ([`Pending`]).
///
/// # Errors
/// As [`Pending::begin`] and [`Pending::commit`]; the file at `path` is then as it was and no
/// temporary file is left.
pub fn write_whole(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut pending = Pending::begin(path)?;
    pending.file().write_all(contents)?;
    pending.commit()
}

/// A file being written in place of `path`: begun early (so a path that cannot take the file
/// is an error before the work that fills it), filled through [`Pending::file`], put in place
/// by [`Pending::commit`]. Dropped without a commit, it leaves `path` as it was.
///
/// A new file gets the mode a plain write would give it (0666 less the umask), a replaced one
/// keeps its own; a symbolic link is followed, so the file it names is replaced and the link
/// stays. A path that is not a regular file (`/dev/stdout`, a named pipe) is written as it is,
/// since there is nothing to keep and a rename would replace the device itself.
#[derive(Debug)]
pub struct Pending {
    destination: Destination,
}

#[derive(Debug)]
enum Destination {
    /// Beside the file it replaces, renamed over it by the commit.
    Beside {
        temporary: NamedTempFile,
        target: PathBuf,
    },
    /// A device or a pipe, written directly.
    InPlace(File),
}

impl Pending {
    /// Begins the file for `path`.
    ///
    /// # Errors
    /// The folder cannot take a new file, or `path` cannot be looked at or opened.
    pub fn begin(path: &Path) -> io::Result<Pending> {
        use std::os::unix::fs::PermissionsExt;
        let (target, mode) = match fs::metadata(path) {
            Ok(existing) if !existing.is_file() => {
                let file = fs::OpenOptions::new().write(true).open(path)?;
                return Ok(Pending {
                    destination: Destination::InPlace(file),
                });
            }
            Ok(existing) => (fs::canonicalize(path)?, existing.permissions().mode()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => (path.to_path_buf(), 0o666),
            Err(err) => return Err(err),
        };
        let folder = folder(&target);
        let temporary = tempfile::Builder::new()
            .prefix(&hidden_name(&target))
            .suffix(".partial")
            .permissions(Permissions::from_mode(mode))
            .tempfile_in(&folder)
            .map_err(|err| about_folder(err, &folder))?;
        Ok(Pending {
            destination: Destination::Beside { temporary, target },
        })
    }

    /// The file to write the contents into.
    pub fn file(&mut self) -> &mut File {
        match &mut self.destination {
            Destination::Beside { temporary, .. } => temporary.as_file_mut(),
            Destination::InPlace(file) => file,
        }
    }

    /// Syncs the contents and puts the file in place of the path.
    ///
    /// # Errors
    /// Syncing or renaming fails: the path is then as it was and no temporary file is left.
    pub fn commit(self) -> io::Result<()> {
        match self.destination {
            Destination::Beside { temporary, target } => {
                temporary.as_file().sync_all()?;
                temporary.persist(&target).map_err(|e| e.error)?;
                Ok(())
            }
            Destination::InPlace(mut file) => file.flush(),
        }
    }
}

/// Creates (or empties) `path` for a file written as a run goes, such as a histogram log, which
/// a killed run should leave with what it had: not whole-or-nothing, unlike [`Pending`]. A folder
/// that cannot take it is named, as [`Pending::begin`] names it.
///
/// # Errors
/// The folder does not exist or is not one, or `path` cannot be created.
pub fn create_streamed(path: &Path) -> io::Result<File> {
    File::create(path).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => about_folder(err, &folder(path)),
        _ => err,
    })
}

/// The folder `path` is in (`.` for a bare name): where a file written at `path` goes.
pub fn folder(path: &Path) -> PathBuf {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// What went wrong making the temporary file in `folder`, said of the folder (the temporary
/// file's own name is no name the user gave): `the folder /a/b does not exist`.
fn about_folder(err: io::Error, folder: &Path) -> io::Error {
    let said = match err.kind() {
        io::ErrorKind::NotFound => "does not exist",
        io::ErrorKind::PermissionDenied => "may not be written here",
        io::ErrorKind::NotADirectory => "is not a folder",
        _ => return err,
    };
    io::Error::new(
        err.kind(),
        format!("the folder {} {said}", folder.display()),
    )
}

/// `.NAME.` for the temporary file beside `path`, so a listing shows whose it is.
fn hidden_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    format!(".{name}.")
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ringtop-save-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_folder_that_cannot_take_the_file_is_named_not_the_temporary_file() {
        let dir = scratch("missing-folder");
        let err = write_whole(&dir.join("no-such-folder/x.toml"), b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(
            err.to_string(),
            format!(
                "the folder {} does not exist",
                dir.join("no-such-folder").display()
            )
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_streamed_file_names_the_folder_that_cannot_take_it() {
        let dir = scratch("streamed");
        let err = create_streamed(&dir.join("no-such-folder/run.hlog")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the folder {} does not exist",
                dir.join("no-such-folder").display()
            )
        );
        create_streamed(&dir.join("run.hlog")).unwrap();
        assert_eq!(entries(&dir), ["run.hlog"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_never_committed_leaves_the_old_one_and_no_temporary() {
        let dir = scratch("fails");
        let path = dir.join("p.toml");
        fs::write(&path, "old").unwrap();
        // Half written when the work that fills it fails: dropped, not committed.
        let mut pending = Pending::begin(&path).unwrap();
        pending.file().write_all(b"half of the new").unwrap();
        assert_eq!(
            entries(&dir).len(),
            2,
            "the temporary file is beside the old one"
        );
        drop(pending);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(entries(&dir), ["p.toml"]);
        write_whole(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(entries(&dir), ["p.toml"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn modes_and_links_are_kept_and_devices_written_in_place() {
        let dir = scratch("modes");
        let private = dir.join("private.toml");
        fs::write(&private, "old").unwrap();
        fs::set_permissions(&private, Permissions::from_mode(0o600)).unwrap();
        write_whole(&private, b"new").unwrap();
        let mode = fs::metadata(&private).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        // A new file: what `fs::write` gives under this umask.
        let plain = dir.join("plain");
        fs::write(&plain, "x").unwrap();
        let fresh = dir.join("fresh");
        write_whole(&fresh, b"x").unwrap();
        assert_eq!(
            fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            fs::metadata(&plain).unwrap().permissions().mode() & 0o777
        );

        let link = dir.join("link.toml");
        std::os::unix::fs::symlink(&private, &link).unwrap();
        write_whole(&link, b"through the link").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(fs::read_to_string(&private).unwrap(), "through the link");

        write_whole(Path::new("/dev/null"), b"gone").unwrap();
        assert!(!fs::metadata("/dev/null").unwrap().is_file());
        fs::remove_dir_all(&dir).unwrap();
    }
}
