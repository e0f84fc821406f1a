//! The writer's side of a stats segment: a file in the monitor directory, mapped shared, locked
//! for as long as the program lives (the lock is how a reader tells a live program from a dead
//! one), and written only through atomics once readers may see it.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Release};

use super::MonitorError;
use super::layout::{self, header};
use crate::ring::watch::EndpointCell;

/// A mapped, locked stats segment.
pub(crate) struct Segment {
    base: NonNull<u8>,
    len: usize,
    /// Holds the exclusive `flock` until the process ends (the kernel drops it then, however the
    /// process ends).
    _file: File,
}

// SAFETY: the mapping is shared memory written only through atomics (and, before any reader may
// trust it, by the thread that made it); `Segment` owns it until it is dropped.
unsafe impl Send for Segment {}
// SAFETY: as above: `&Segment` hands out only atomics and cells of atomics.
unsafe impl Sync for Segment {}

impl Segment {
    /// Creates the segment of `program` in `dir` as `<program>-<pid>.ringtop`: a private file
    /// made under a temporary name, locked, sized, mapped and headed, then renamed into place, so
    /// a reader never sees a half-made one under the final name, and never an unlocked one.
    ///
    /// # Errors
    /// [`MonitorError::Segment`] with the file and what failed.
    pub(crate) fn create(
        dir: &Path,
        program: &str,
        interval_ns: u64,
    ) -> Result<(Segment, PathBuf), MonitorError> {
        let pid = std::process::id();
        let stem = format!("{}-{pid}", super::dir::file_stem(program));
        let temporary = dir.join(format!(".{stem}.tmp"));
        let path = dir.join(format!("{stem}.{}", layout::EXTENSION));
        let fail = |path: &Path, what: &str, e: std::io::Error| MonitorError::Segment {
            path: path.to_owned(),
            reason: format!("{what}: {e}"),
        };
        let file = crate::topology::mmap::create_private_file(&temporary)
            .map_err(|e| fail(&temporary, "cannot create", e))?;
        // SAFETY: flock(2) on a descriptor this function owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            let _ = std::fs::remove_file(&temporary);
            return Err(fail(&temporary, "cannot lock", e));
        }
        let len = layout::file_bytes(layout::MAX_RINGS);
        if let Err(e) = file.set_len(len as u64) {
            let _ = std::fs::remove_file(&temporary);
            return Err(fail(&temporary, "cannot size", e));
        }
        let base = match crate::topology::mmap::map_shared_file(&file, len) {
            Ok(base) => base,
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(fail(&temporary, "cannot map", e));
            }
        };
        let segment = Segment {
            base,
            len,
            _file: file,
        };
        segment.write_header(program, pid, interval_ns);
        if let Err(e) = std::fs::rename(&temporary, &path) {
            let _ = std::fs::remove_file(&temporary);
            return Err(fail(&path, "cannot publish", e));
        }
        Ok((segment, path))
    }

    fn write_header(&self, program: &str, pid: u32, interval_ns: u64) {
        self.write_bytes(header::MAGIC, &layout::MAGIC);
        self.u32_at(header::HEADER_BYTES)
            .store(layout::HEADER_BYTES as u32, Release);
        self.u32_at(header::PID).store(pid, Release);
        self.u32_at(header::MAX_RINGS)
            .store(layout::MAX_RINGS as u32, Release);
        let now = super::unix_ns();
        self.u64_at(header::STARTED_UNIX_NS).store(now, Release);
        self.u64_at(header::HEARTBEAT_UNIX_NS).store(now, Release);
        self.u64_at(header::INTERVAL_NS).store(interval_ns, Release);
        let words = [
            (header::METADATA_OFFSET, layout::METADATA_OFFSET),
            (header::METADATA_BYTES, layout::METADATA_BYTES),
            (
                header::VALUES_OFFSET,
                layout::values_offset(layout::MAX_RINGS),
            ),
            (header::VALUE_BYTES, layout::VALUE_BYTES),
            (header::FILE_BYTES, self.len),
        ];
        for (offset, value) in words {
            self.u64_at(offset).store(value as u64, Release);
        }
        self.u32_at(header::STATE)
            .store(layout::ProgramState::Running as u32, Release);
        self.u32_at(header::MAX_CONSUMERS)
            .store(layout::MAX_CONSUMERS as u32, Release);
        self.u32_at(header::BUCKETS)
            .store(layout::BUCKETS as u32, Release);
        self.write_name(header::NAME, program);
        // Last: a reader trusts nothing in a segment whose version is not yet written.
        self.u32_at(header::VERSION).store(layout::VERSION, Release);
    }

    /// Writes `name` (already checked to fit) NUL-padded into the name field at `offset`.
    pub(crate) fn write_name(&self, offset: usize, name: &str) {
        let mut field = [0u8; layout::NAME_BYTES];
        field[..name.len()].copy_from_slice(name.as_bytes());
        self.write_bytes(offset, &field);
    }

    /// Copies `bytes` to `offset`, for fields no reader trusts until a state written after them
    /// with release order says so.
    fn write_bytes(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= self.len, "write inside the segment");
        // SAFETY: the range is inside the mapping (checked above); the mapping is writable and
        // no Rust reference to these bytes exists (every other access is through atomics on
        // other fields).
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.as_ptr().add(offset),
                bytes.len(),
            );
        }
    }

    /// The `u32` at `offset`.
    pub(crate) fn u32_at(&self, offset: usize) -> &AtomicU32 {
        assert!(
            offset.is_multiple_of(4) && offset + 4 <= self.len,
            "an aligned u32 field"
        );
        // SAFETY: in bounds and aligned (checked; the mapping is page-aligned), and only ever
        // accessed atomically while `self` lives.
        unsafe { &*self.base.as_ptr().add(offset).cast::<AtomicU32>() }
    }

    /// The `u64` at `offset`.
    pub(crate) fn u64_at(&self, offset: usize) -> &AtomicU64 {
        assert!(
            offset.is_multiple_of(8) && offset + 8 <= self.len,
            "an aligned u64 field"
        );
        // SAFETY: as for `u32_at`.
        unsafe { &*self.base.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// The endpoint cell at `offset`.
    pub(crate) fn cell_at(&self, offset: usize) -> NonNull<EndpointCell> {
        assert!(
            offset.is_multiple_of(layout::BLOCK) && offset + size_of::<EndpointCell>() <= self.len,
            "a block-aligned cell"
        );
        // SAFETY: in bounds (checked above); zeroed file bytes are a valid `EndpointCell`.
        unsafe { NonNull::new_unchecked(self.base.as_ptr().add(offset).cast()) }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `create`, unmapped once; nothing borrows from it any more
        // (every cell holder keeps the `Arc<Segment>` alive).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}
