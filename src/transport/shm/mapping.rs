//! The mapped file: made by the receiver, opened and checked by a sender, read and written only
//! through atomics in the header and raw copies in the window; the futex the consumer sleeps on.
//! The locks that say who is alive are `locks`'.

use std::alloc::Layout;
use std::fs::File;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{
    AtomicU32, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release, fence,
};
use std::time::Duration;

use crate::ring::alloc::RingAlloc;
use crate::ring::prefetch::prefetch_read;
use crate::ring::record::ring_offset;
use crate::transport::LinkError;

use super::layout::{self, credit, header};
use super::locks::{is_locked, lock, receiver_lock_path, take_receiver_lock, unlock};

/// The receiver's credit as one consistent read of its seqlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credit {
    /// The seqlock's (even) sequence: it changes with every credit written.
    pub seq: u64,
    /// The consumer's head: everything before it may be overwritten.
    pub head: u64,
    /// The stamp of the last row read (0: none).
    pub echo: u64,
    /// Rows read in the session.
    pub rows: u64,
    /// The session the credit belongs to.
    pub session: u64,
}

/// A mapped ring file.
pub struct Segment {
    base: NonNull<u8>,
    /// Bytes mapped: never fewer than the header ([`Segment::create`] and [`Segment::open`] map
    /// it whole before anything else), so a header word's bounds are known at compile time.
    len: usize,
    capacity: usize,
    /// What the window holds: 0 for records, else the size of its fixed-size items.
    item_bytes: usize,
    file: File,
    /// The receiver's lock on the ring's name ([`receiver_lock_path`]) and that path, held while
    /// it lives and removed (still held) when it goes; `None` for a sender's mapping.
    name_lock: Option<(File, PathBuf)>,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("len", &self.len)
            .field("capacity", &self.capacity)
            .finish()
    }
}

// SAFETY: the mapping is shared memory touched through atomics (header) and raw copies (window)
// only; `Segment` owns it until dropped.
unsafe impl Send for Segment {}
// SAFETY: as above: `&Segment` hands out atomics and raw pointers, never references to bytes.
unsafe impl Sync for Segment {}

use crate::topology::mmap::{create_private_file, map_shared_file as map};

impl Segment {
    /// Makes the ring file at `path` with a window of `capacity` bytes holding records
    /// (`item_bytes` 0) or fixed-size items of `item_bytes` (at least two slots a window): with
    /// the name's lock
    /// taken ([`take_receiver_lock`]), created under a temporary name, locked (for as long as
    /// this segment lives), sized, mapped and headed, then renamed into place, so a sender never
    /// finds a half-made or unlocked one. A file left there by a receiver that died is replaced;
    /// one a live receiver holds, or is making, is not.
    ///
    /// # Errors
    /// [`LinkError::Listen`] naming the file and what failed.
    pub fn create(path: &Path, capacity: usize, item_bytes: usize) -> Result<Segment, LinkError> {
        let fail = |reason: String| LinkError::Listen {
            address: path.display().to_string(),
            reason,
        };
        if !(layout::MIN_WINDOW..=layout::MAX_WINDOW).contains(&capacity)
            || !capacity.is_power_of_two()
        {
            return Err(fail(format!(
                "a shared-memory window is a power of two from {} to {} bytes; {capacity} asked for",
                layout::MIN_WINDOW,
                layout::MAX_WINDOW
            )));
        }
        if item_bytes > 0 && layout::slot_bytes(item_bytes) > capacity / 2 {
            return Err(fail(format!(
                "items of {item_bytes} bytes: a window of {capacity} does not hold two of them"
            )));
        }
        let name_lock = take_receiver_lock(&receiver_lock_path(path)).map_err(|e| match e {
            LinkError::Refused { reason, .. } => fail(reason),
            other => fail(other.to_string()),
        })?;
        if is_locked(path) {
            return Err(fail(
                "another ringtop serve holds this ring (its lock is taken)".into(),
            ));
        }
        let temporary =
            path.with_extension(format!("{}.tmp{}", layout::EXTENSION, std::process::id()));
        let file = create_private_file(&temporary)
            .map_err(|e| fail(format!("cannot create {}: {e}", temporary.display())))?;
        let undo = |reason: String| {
            let _ = std::fs::remove_file(&temporary);
            fail(reason)
        };
        match lock(&file, libc::LOCK_EX) {
            Ok(true) => {}
            Ok(false) => return Err(undo("cannot lock the new file".into())),
            Err(e) => return Err(undo(format!("cannot lock: {e}"))),
        }
        let len = layout::HEADER_BYTES + capacity;
        file.set_len(len as u64)
            .map_err(|e| undo(format!("cannot size: {e}")))?;
        let base = map(&file, len).map_err(|e| undo(format!("cannot map: {e}")))?;
        let segment = Segment {
            base,
            len,
            capacity,
            item_bytes,
            file,
            name_lock: Some((name_lock, receiver_lock_path(path))),
        };
        segment.u64_at(header::MAGIC).store(layout::MAGIC, Release);
        segment
            .u64_at(header::HEADER_BYTES)
            .store(layout::HEADER_BYTES as u64, Release);
        segment
            .u64_at(header::CAPACITY)
            .store(capacity as u64, Release);
        segment
            .u64_at(header::RECEIVER_PID)
            .store(u64::from(std::process::id()), Release);
        segment
            .u64_at(header::ITEM_BYTES)
            .store(item_bytes as u64, Release);
        // Last: a sender trusts nothing in a file whose version is not yet written.
        segment
            .u32_at(header::VERSION)
            .store(layout::VERSION, Release);
        std::fs::rename(&temporary, path).map_err(|e| undo(format!("cannot publish: {e}")))?;
        Ok(segment)
    }

    /// Opens and checks the ring file at `path` as a sender: this user's, private, of the right
    /// size and version, held by a live receiver.
    ///
    /// # Errors
    /// [`LinkError::ShmRing`] saying what is wrong.
    pub fn open(path: &Path) -> Result<Segment, LinkError> {
        let fail = |reason: String| LinkError::ShmRing {
            ring: path.display().to_string(),
            reason,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    fail("no such ring (start `ringtop serve --shm NAME` first)".into())
                } else {
                    fail(e.to_string())
                }
            })?;
        let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
        // SAFETY: geteuid(2) takes nothing and cannot fail.
        let uid = unsafe { libc::geteuid() };
        if !meta.is_file() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
            return Err(fail(format!(
                "not a private file of this user (uid {}, mode {:04o})",
                meta.uid(),
                meta.permissions().mode() & 0o7777
            )));
        }
        let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
        if len < layout::HEADER_BYTES + layout::MIN_WINDOW {
            return Err(fail(format!(
                "not a ringtop shared-memory ring: {len} bytes, fewer than a header and the \
                 smallest window"
            )));
        }
        let base =
            map(&file, layout::HEADER_BYTES).map_err(|e| fail(format!("cannot map: {e}")))?;
        let head = Segment {
            base,
            len: layout::HEADER_BYTES,
            capacity: 0,
            item_bytes: 0,
            file: file.try_clone().map_err(|e| fail(e.to_string()))?,
            name_lock: None,
        };
        let magic = head.u64_at(header::MAGIC).load(Acquire);
        let version = head.u32_at(header::VERSION).load(Acquire);
        let header_bytes = head.u64_at(header::HEADER_BYTES).load(Acquire);
        let capacity = head.u64_at(header::CAPACITY).load(Acquire);
        let item_bytes = head.u64_at(header::ITEM_BYTES).load(Acquire);
        if magic != layout::MAGIC {
            return Err(fail(
                "not a ringtop shared-memory ring (wrong magic)".into(),
            ));
        }
        if version != layout::VERSION {
            return Err(fail(format!(
                "layout version {version}; this ringtop reads version {}",
                layout::VERSION
            )));
        }
        let expected = (layout::HEADER_BYTES as u64).checked_add(capacity);
        if header_bytes != layout::HEADER_BYTES as u64
            || !capacity.is_power_of_two()
            || capacity < layout::MIN_WINDOW as u64
            || capacity > layout::MAX_WINDOW as u64
            || expected != Some(len as u64)
            || item_bytes > capacity / 2
            || (item_bytes > 0 && layout::slot_bytes(item_bytes as usize) as u64 > capacity / 2)
        {
            return Err(fail(format!(
                "sizes that do not add up: header {header_bytes} bytes, window {capacity}, \
                 file {len}, items of {item_bytes}"
            )));
        }
        // A slot at most half the window (checked above): both are powers of two.
        let item_bytes = item_bytes as usize;
        drop(head);
        let base = map(&file, len).map_err(|e| fail(format!("cannot map: {e}")))?;
        let segment = Segment {
            base,
            len,
            capacity: capacity as usize,
            item_bytes,
            file,
            name_lock: None,
        };
        match lock(&segment.file, libc::LOCK_SH) {
            Ok(true) => {
                unlock(&segment.file);
                Err(fail(
                    "the ringtop serve that made it is gone (nobody holds its lock)".into(),
                ))
            }
            Ok(false) => Ok(segment),
            Err(e) => Err(fail(format!("cannot check its lock: {e}"))),
        }
    }

    /// A second mapping of this file's header alone (no window: its capacity reads 0), for a
    /// watcher that reads the credit and must not keep the sender's own mapping alive (the
    /// sender's watch).
    ///
    /// # Errors
    /// The file cannot be mapped again (the process is out of mappings or memory).
    pub fn header_again(&self) -> std::io::Result<Segment> {
        let file = self.file.try_clone()?;
        let base = map(&file, layout::HEADER_BYTES)?;
        Ok(Segment {
            base,
            len: layout::HEADER_BYTES,
            capacity: 0,
            item_bytes: self.item_bytes,
            file,
            name_lock: None,
        })
    }

    /// The ring file's identity (device and inode), which both ends' monitors publish so that
    /// `attach` can join them; `None` if the file cannot be asked (it always can while mapped).
    pub fn identity(&self) -> Option<crate::ring::watch::FileIdentity> {
        let meta = self.file.metadata().ok()?;
        Some(crate::ring::watch::FileIdentity {
            device: meta.dev(),
            inode: meta.ino(),
        })
    }

    /// Whether the receiver that made this file still holds its lock (a sender's check).
    pub fn receiver_alive(&self) -> bool {
        match lock(&self.file, libc::LOCK_SH) {
            Ok(true) => {
                unlock(&self.file);
                false
            }
            Ok(false) => true,
            Err(_) => true,
        }
    }

    /// Window bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// What the window holds: 0 for records (frames, messages), else the size of its fixed-size
    /// items ([`layout::header::ITEM_BYTES`]).
    pub fn item_bytes(&self) -> usize {
        self.item_bytes
    }

    /// The `u64` at `offset` of the header.
    #[inline]
    pub fn u64_at(&self, offset: usize) -> &AtomicU64 {
        // Against the header's size, not `len` (never less): a constant offset's check is then
        // settled when the call is compiled, not on every access.
        assert!(offset.is_multiple_of(8) && offset + 8 <= layout::HEADER_BYTES);
        // SAFETY: in bounds and 8-aligned (asserted; the mapping is page-aligned); the memory
        // lives as long as `self`, and every access to header words goes through atomics.
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(offset).cast()) }
    }

    /// The `u32` at `offset` of the header.
    #[inline]
    pub fn u32_at(&self, offset: usize) -> &AtomicU32 {
        assert!(offset.is_multiple_of(4) && offset + 4 <= layout::HEADER_BYTES);
        // SAFETY: as for `u64_at`, 4-aligned.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast()) }
    }

    /// Writes the credit under its seqlock: the sequence odd while the fields change, even (and
    /// Release) once they are in place. Only the consumer writes it, and it counts the sequence
    /// itself: `previous` is the sequence its last credit ended on (0 before the first), and the
    /// one this credit ends on is returned for the next. Reading the word back instead would pull
    /// its line from the sender, who polls it, before every credit: one more line transfer in
    /// every round trip.
    #[inline]
    pub fn write_credit(
        &self,
        previous: u64,
        head: u64,
        echo: u64,
        rows: u64,
        session: u64,
    ) -> u64 {
        let seq = self.u64_at(credit::SEQ);
        seq.store(previous.wrapping_add(1), Relaxed);
        fence(Release);
        self.u64_at(credit::HEAD).store(head, Relaxed);
        self.u64_at(credit::ECHO).store(echo, Relaxed);
        self.u64_at(credit::ROWS).store(rows, Relaxed);
        self.u64_at(credit::SESSION).store(session, Relaxed);
        seq.store(previous.wrapping_add(2), Release);
        previous.wrapping_add(2)
    }

    /// The sender's published tail as it stands (Acquire: the bytes before it are then
    /// visible): what the receiver's feed publishes and its quiet look compares.
    #[inline]
    pub fn sender_tail(&self) -> u64 {
        self.u64_at(layout::TAIL).load(Acquire)
    }

    /// The credit's sequence word as it stands: a poller compares it with the last it read
    /// before reading the rest ([`Segment::credit_after`]).
    #[inline]
    pub fn credit_seq(&self) -> u64 {
        self.u64_at(credit::SEQ).load(Acquire)
    }

    /// The credit, if its sequence moved from `seen` (0 before any) and no write of it was under
    /// way while it was read; `None` otherwise (a poller reads one word until it changes).
    #[inline]
    pub fn credit_after(&self, seen: u64) -> Option<Credit> {
        let seq = self.u64_at(credit::SEQ).load(Acquire);
        if seq == seen || seq % 2 == 1 {
            return None;
        }
        let read = Credit {
            seq,
            head: self.u64_at(credit::HEAD).load(Relaxed),
            echo: self.u64_at(credit::ECHO).load(Relaxed),
            rows: self.u64_at(credit::ROWS).load(Relaxed),
            session: self.u64_at(credit::SESSION).load(Relaxed),
        };
        fence(Acquire);
        (self.u64_at(credit::SEQ).load(Relaxed) == seq).then_some(read)
    }

    /// Copies `bytes` into the header field at `offset` (length-prefixed fields are written
    /// before the sequence word that publishes them).
    pub fn write_field(&self, offset: usize, bytes: &[u8]) {
        assert!(offset + bytes.len() <= layout::HEADER_BYTES);
        // SAFETY: in bounds (asserted); raw copies, never references, since the peer may write
        // the same bytes at any time.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.as_ptr().add(offset),
                bytes.len(),
            );
        }
    }

    /// Copies `len` bytes of the header field at `offset` out (clamped to `room`).
    pub fn read_field(&self, offset: usize, len: usize, room: usize) -> Vec<u8> {
        let len = len.min(room);
        assert!(offset + len <= layout::HEADER_BYTES);
        let mut out = vec![0u8; len];
        // SAFETY: in bounds (asserted); copied out with a raw copy, since the peer may be writing.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.as_ptr().add(offset), out.as_mut_ptr(), len);
        }
        out
    }

    /// Copies the window's bytes at `offset` into `out` (a raw copy, never a reference: the peer
    /// may be writing them). The library's consumer reads through its window reader; this is
    /// for a program, or a measurement, that reads the ring file itself.
    ///
    /// # Panics
    /// When the bytes would leave the window.
    pub fn read_window(&self, offset: usize, out: &mut [u8]) {
        assert!(
            offset
                .checked_add(out.len())
                .is_some_and(|end| end <= self.capacity),
            "a read outside the window"
        );
        // SAFETY: inside the window (asserted); a raw copy out of shared memory another process
        // may be writing, into a buffer of exactly that length.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.base.as_ptr().add(layout::HEADER_BYTES + offset),
                out.as_mut_ptr(),
                out.len(),
            );
        }
    }

    /// Hints that the window's line at `position` (a stream position, taken modulo the window)
    /// will soon be read: a consumer that has just seen the tail move starts the first new
    /// line on its way while it checks and publishes that tail. Only timing changes; nothing is
    /// read, so a hostile tail can make it fetch nothing worse than a line of the window.
    #[inline]
    pub fn prefetch_window(&self, position: u64) {
        prefetch_read(self.window_address(position));
    }

    /// Where stream `position` lies in the window (taken modulo the window), for a hint: not
    /// checked, never dereferenced.
    #[inline(always)]
    fn window_address(&self, position: u64) -> *const u8 {
        let offset = ring_offset(position, self.capacity);
        self.base
            .as_ptr()
            .cast_const()
            .wrapping_add(layout::HEADER_BYTES + offset)
    }

    /// Copies `bytes` into the window at `offset` (a sender's record).
    ///
    /// # Panics
    /// When the bytes would leave the window (the placement arithmetic keeps them inside).
    pub fn write_window(&self, offset: usize, bytes: &[u8]) {
        assert!(
            offset + bytes.len() <= self.capacity,
            "a write outside the window"
        );
        // SAFETY: inside the window (asserted); a raw copy into shared memory the receiver reads
        // only once the tail covering it is published.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.as_ptr().add(layout::HEADER_BYTES + offset),
                bytes.len(),
            );
        }
    }

    /// Writes a record into the window at `offset` (8-aligned): its `header` word, then
    /// `payload`, its last word padded with zeros (`crate::ring::window::footprint` bytes in
    /// all). Word by word, each word whole: a small record assembled in a buffer and copied
    /// took longer, the copy's wide loads waiting on the narrower stores that had just filled
    /// the buffer (a store-to-load forwarding stall, several per record).
    ///
    /// # Panics
    /// When `offset` is not 8-aligned or the record would leave the window.
    pub fn write_record(&self, offset: usize, header: [u8; 8], payload: &[u8]) {
        let at = self.window_words(offset, 1 + payload.len().div_ceil(8));
        // SAFETY: `window_words` checked that the record's words lie inside the window; raw
        // writes into shared memory the receiver reads only once the tail covering them is
        // published. Volatile: one store per word, never turned back into a call to `memcpy`.
        unsafe {
            at.write_volatile(u64::from_ne_bytes(header));
            write_words(at.add(1), payload);
        }
    }

    /// The first of `words` aligned words at `offset` in the window.
    ///
    /// # Panics
    /// When `offset` is not 8-aligned or the words would leave the window.
    #[inline]
    fn window_words(&self, offset: usize, words: usize) -> *mut u64 {
        assert!(
            offset.is_multiple_of(8)
                && words
                    .checked_mul(8)
                    .and_then(|bytes| offset.checked_add(bytes))
                    .is_some_and(|end| end <= self.capacity),
            "a write outside the window"
        );
        // SAFETY: `offset` is inside the window (asserted), which lies inside the mapping.
        unsafe {
            self.base
                .as_ptr()
                .add(layout::HEADER_BYTES + offset)
                .cast::<u64>()
        }
    }

    /// Sleeps while the `u32` at `offset` holds `expected`, at most `timeout` (a shared futex:
    /// another process's [`Segment::wake`] ends it).
    pub fn wait(&self, offset: usize, expected: u32, timeout: Duration) {
        let word = self.u32_at(offset);
        let spec = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
        };
        // SAFETY: futex(2) FUTEX_WAIT on a 4-aligned word of a shared mapping that outlives the
        // call; a spurious return is harmless (callers re-check).
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT,
                expected,
                &spec as *const libc::timespec,
            );
        }
    }

    /// Wakes every process sleeping on the `u32` at `offset`.
    pub fn wake(&self, offset: usize) {
        let word = self.u32_at(offset);
        // SAFETY: futex(2) FUTEX_WAKE on a 4-aligned word of a shared mapping.
        unsafe {
            libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX);
        }
    }

    /// The window's memory, for the receiver's [`crate::ring::window`] (see [`WindowMemory`]).
    fn window_base(&self) -> NonNull<u8> {
        // SAFETY: the window starts `HEADER_BYTES` into a mapping of `HEADER_BYTES + capacity`.
        unsafe { self.base.add(layout::HEADER_BYTES) }
    }

    /// The window as cells, for placing its pages on a NUMA node and asking where they are
    /// (hwloc and the kernel read page tables, not bytes).
    pub fn window_cells(&self) -> &[std::cell::UnsafeCell<u8>] {
        // SAFETY: the window is `capacity` mapped bytes that live as long as `self`; cells make
        // the other process's writes, and the ring's, legal while this view exists.
        unsafe { std::slice::from_raw_parts(self.window_base().as_ptr().cast(), self.capacity) }
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // Removed while still locked (the lock goes when the file closes, after this): a
        // receiver that opened it just before finds, once it has the lock, that the name no
        // longer leads to it, and starts over ([`take_lock`]).
        if let Some((_, path)) = &self.name_lock {
            let _ = std::fs::remove_file(path);
        }
        // SAFETY: the mapping this segment made, unmapped once; nothing borrows it past `self`.
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

/// The window part of a receiver's segment as ring memory: the receiver's
/// [`crate::ring::window`] lives there, so a sender's copies land in it directly.
#[derive(Debug)]
pub struct WindowMemory {
    segment: std::sync::Arc<Segment>,
    taken: std::sync::atomic::AtomicBool,
}

impl WindowMemory {
    /// The window of `segment`, handed out once.
    pub fn new(segment: std::sync::Arc<Segment>) -> Self {
        WindowMemory {
            segment,
            taken: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

// SAFETY: the window is `capacity` bytes of a mapping that lives as long as `self` (which holds
// the segment), page-aligned, and handed out at most once, to one ring; a layout it cannot serve
// gets `None`.
unsafe impl RingAlloc for WindowMemory {
    fn allocate(&self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() > self.segment.capacity()
            || layout.align() > 4096
            || self.taken.swap(true, std::sync::atomic::Ordering::AcqRel)
        {
            return None;
        }
        Some(self.segment.window_base())
    }

    unsafe fn deallocate(&self, _ptr: NonNull<u8>, _layout: Layout) {}

    fn describe(&self) -> String {
        "shared-memory ring file".to_owned()
    }
}

/// `bytes` as whole words from `at`, the last padded with zeros, each stored once (volatile).
///
/// # Safety
/// `bytes.len().div_ceil(8)` aligned words from `at` must lie in the mapped window.
#[inline]
unsafe fn write_words(at: *mut u64, bytes: &[u8]) {
    let whole = bytes.chunks_exact(8);
    let rest = whole.remainder();
    for (i, word) in whole.enumerate() {
        let word = u64::from_ne_bytes(word.try_into().expect("8 bytes"));
        // SAFETY: word `i` of those the caller vouches for.
        unsafe { at.add(i).write_volatile(word) };
    }
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        // SAFETY: the last of those words.
        unsafe {
            at.add(bytes.len() / 8)
                .write_volatile(u64::from_ne_bytes(last));
        }
    }
}

mod stamps;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_its_header_then_its_payload_with_the_last_word_zero_padded() {
        let dir = std::env::temp_dir().join(format!("ringtop-mapping-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("records.ring");
        let segment = Segment::create(&path, layout::MIN_WINDOW, 0).unwrap();
        let mut window = vec![0xeeu8; layout::MIN_WINDOW];
        segment.write_window(0, &window);
        let payload: Vec<u8> = (1..=13).collect();
        segment.write_record(64, [9, 0, 0, 0, 0, 0, 0, 0], &payload);
        // A record ending exactly at the end of the window, its payload whole words.
        segment.write_record(layout::MIN_WINDOW - 24, [7; 8], &[5; 16]);
        segment.read_window(0, &mut window);
        assert_eq!(window[64..72], [9, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(window[72..85], payload[..]);
        assert_eq!(
            window[85..88],
            [0, 0, 0],
            "the last word's padding is zeroed"
        );
        assert!(
            window[88..layout::MIN_WINDOW - 24]
                .iter()
                .all(|&b| b == 0xee)
        );
        assert_eq!(
            window[layout::MIN_WINDOW - 24..],
            [[7; 8], [5; 8], [5; 8]].concat()[..]
        );
        let outside =
            std::panic::catch_unwind(|| segment.write_record(layout::MIN_WINDOW - 8, [0; 8], &[1]));
        assert!(
            outside.is_err(),
            "a record past the window's end is refused"
        );
        let unaligned = std::panic::catch_unwind(|| segment.write_record(4, [0; 8], &[]));
        assert!(unaligned.is_err(), "an unaligned record is refused");
        drop(segment);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
