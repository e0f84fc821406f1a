//! The reader's side of a stats segment: `attach` and `attach --list`.
//!
//! A segment is another process's file and is trusted in nothing: it is read with `pread` (never
//! mapped, so a file truncated under the reader is an error, not a `SIGBUS`), every size and
//! offset is checked against the layout, every name against the name rules, every position
//! against the ring's capacity; a record that fails is skipped with the reason, a header that
//! fails skips the file with the reason.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::ring::EndpointStats;
use crate::ring::watch::{FileIdentity, RingMemory};

use super::layout::{self, RingKind, header, metadata, value};

/// Rings a version-1 file may declare (the writer here makes [`layout::MAX_RINGS`]).
const MOST_RINGS: usize = 1024;
/// Times a reader retries positions caught mid-update before it gives up on them for now.
const POSITION_TRIES: usize = 16;
/// Largest item a record may claim, bytes.
const MOST_ITEM_BYTES: u64 = 1 << 24;
/// Largest capacity a record may claim, slots.
const MOST_CAPACITY: u64 = 1 << 40;

/// Why a segment cannot be read (the whole file is skipped, with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be opened or read.
    #[error("{0}")]
    Io(String),
    /// Shorter than its header says.
    #[error("truncated: {have} bytes where the layout needs {need}")]
    Truncated {
        /// Bytes the layout needs.
        need: u64,
        /// Bytes there are.
        have: u64,
    },
    /// Not a ringtop stats segment.
    #[error("not a ringtop stats segment (magic {0:02x?})")]
    BadMagic([u8; 8]),
    /// The writer has not finished setting it up.
    #[error("still being set up (no version written yet)")]
    Initialising,
    /// A layout this reader does not know.
    #[error("layout version {0}; this ringtop reads version {v}", v = layout::VERSION)]
    UnsupportedVersion(u32),
    /// A header field out of its range.
    #[error("bad header: {0}")]
    BadHeader(String),
}

/// Whether the program that wrote a segment still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Its lock is held: the writer's process is alive.
    Live,
    /// No one holds its lock: the writer is gone (it died without removing the file).
    Dead,
}

/// One endpoint's published counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EndpointReading {
    /// Its slow-path counters.
    pub stats: EndpointStats,
    /// The thread that last published them (`None` before the first publish).
    pub thread_id: Option<u32>,
}

/// One ring as the segment shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RingReading {
    /// Its record's index.
    pub index: usize,
    /// The name the program gave it.
    pub name: String,
    /// Its kind.
    pub kind: RingKind,
    /// Slots.
    pub capacity: u64,
    /// Bytes per item.
    pub item_bytes: u64,
    /// Both endpoints were dropped: these are its final figures.
    pub closed: bool,
    /// When it was registered, Unix nanoseconds.
    pub registered_unix_ns: u64,
    /// Where its slots live in the program (`None`: the program did not say).
    pub memory: Option<RingMemory>,
    /// The file it lives in, for a ring between processes (`None`: a ring inside the program,
    /// or not said).
    pub file: Option<FileIdentity>,
    /// When its positions were read, Unix nanoseconds.
    pub sampled_unix_ns: u64,
    /// Items pushed.
    pub tail: u64,
    /// Items each consumer popped.
    pub heads: Vec<u64>,
    /// The producer's counters.
    pub producer: EndpointReading,
    /// Each consumer's counters.
    pub consumers: Vec<EndpointReading>,
    /// Each consumer's latency histogram ([`layout::BUCKETS`] counts) and the sum of what it
    /// recorded (ns), when the program records latency.
    pub histograms: Vec<Option<(Vec<u64>, u64)>>,
}

impl RingReading {
    /// Whether this record is the other end of `ours`, a ring between processes: both live, of
    /// the two ends' kinds, in the same file (which no other file shares while both ends keep it
    /// mapped, as live records' ends do). A ring of the same name in another file is another
    /// ring.
    pub fn is_other_end_of(&self, ours: &RingReading) -> bool {
        !self.closed
            && !ours.closed
            && ours.file.is_some()
            && self.file == ours.file
            && ours.kind.other_end() == Some(self.kind)
    }

    /// Items in the ring now, behind the slowest consumer.
    pub fn occupancy(&self) -> u64 {
        self.heads
            .iter()
            .map(|h| self.tail.saturating_sub(*h))
            .max()
            .unwrap_or(0)
    }
}

/// A whole segment, read once.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgramReading {
    /// The writer's process.
    pub pid: u32,
    /// The name it published under.
    pub name: String,
    /// When it published, Unix nanoseconds.
    pub started_unix_ns: u64,
    /// Its last heartbeat, Unix nanoseconds.
    pub heartbeat_unix_ns: u64,
    /// Nanoseconds between its updates.
    pub interval_ns: u64,
    /// It dropped its registry (it has stopped publishing and is exiting).
    pub closed: bool,
    /// Its rings, in registration order.
    pub rings: Vec<RingReading>,
    /// Records skipped, each with why.
    pub skipped: Vec<String>,
}

impl ProgramReading {
    /// How long ago the last heartbeat was, as of `now`.
    pub fn heartbeat_age(&self, now: SystemTime) -> Duration {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Duration::from_nanos(now.saturating_sub(self.heartbeat_unix_ns))
    }
}

/// An open segment.
#[derive(Debug)]
pub struct Segment {
    path: PathBuf,
    file: File,
}

impl Segment {
    /// Opens the segment at `path` (read-only).
    ///
    /// # Errors
    /// [`ReadError::Io`] when it cannot be opened.
    pub fn open(path: &Path) -> Result<Segment, ReadError> {
        let file = File::open(path).map_err(|e| ReadError::Io(format!("cannot open: {e}")))?;
        Ok(Segment {
            path: path.to_owned(),
            file,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether its writer still runs: it holds an exclusive lock on the file for its lifetime,
    /// and the kernel drops the lock however the process ends.
    pub fn liveness(&self) -> Liveness {
        let fd = self.file.as_raw_fd();
        // SAFETY: flock(2) on a descriptor this segment owns.
        if unsafe { libc::flock(fd, libc::LOCK_SH | libc::LOCK_NB) } == 0 {
            // SAFETY: as above; gives back the lock just taken.
            unsafe { libc::flock(fd, libc::LOCK_UN) };
            Liveness::Dead
        } else {
            Liveness::Live
        }
    }

    /// Reads the whole segment.
    ///
    /// # Errors
    /// [`ReadError`] when the header is unusable; bad ring records are skipped and listed in
    /// [`ProgramReading::skipped`] instead.
    pub fn read(&self) -> Result<ProgramReading, ReadError> {
        let mut head = [0u8; layout::HEADER_BYTES];
        self.read_at(0, &mut head)?;
        let header = Header::parse(&head)?;
        let size = self
            .file
            .metadata()
            .map_err(|e| ReadError::Io(e.to_string()))?
            .len();
        if size < header.file_bytes {
            return Err(ReadError::Truncated {
                need: header.file_bytes,
                have: size,
            });
        }
        let mut reading = ProgramReading {
            pid: header.pid,
            name: header.name,
            started_unix_ns: header.started_unix_ns,
            heartbeat_unix_ns: header.heartbeat_unix_ns,
            interval_ns: header.interval_ns,
            closed: header.closed,
            rings: Vec::new(),
            skipped: Vec::new(),
        };
        let mut records = vec![0u8; header.max_rings * layout::METADATA_BYTES];
        self.read_at(layout::METADATA_OFFSET as u64, &mut records)?;
        for (index, record) in records.chunks_exact(layout::METADATA_BYTES).enumerate() {
            match self.ring(index, header.max_rings, record) {
                Ok(Some(ring)) => reading.rings.push(ring),
                Ok(None) => {}
                Err(why) => reading.skipped.push(format!("ring record {index}: {why}")),
            }
        }
        Ok(reading)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.file.read_exact_at(buf, offset).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                ReadError::Truncated {
                    need: offset + buf.len() as u64,
                    have: self.file.metadata().map_or(0, |m| m.len()),
                }
            } else {
                ReadError::Io(e.to_string())
            }
        })
    }

    /// One ring record: `None` when unused, the reason when it is not to be believed.
    fn ring(
        &self,
        index: usize,
        max_rings: usize,
        record: &[u8],
    ) -> Result<Option<RingReading>, String> {
        let state = u32_in(record, metadata::STATE);
        let closed = match state {
            s if s == layout::RingState::Free as u32 => return Ok(None),
            s if s == layout::RingState::Live as u32 => false,
            s if s == layout::RingState::Closed as u32 => true,
            other => return Err(format!("unknown state {other}")),
        };
        let kind = RingKind::from_code(u32_in(record, metadata::KIND))
            .ok_or_else(|| format!("unknown kind {}", u32_in(record, metadata::KIND)))?;
        let name = name_in(record, metadata::NAME)?;
        let capacity = u64_in(record, metadata::CAPACITY);
        if !capacity.is_power_of_two() || !(2..=MOST_CAPACITY).contains(&capacity) {
            return Err(format!("{name}: capacity {capacity} is not a ring's"));
        }
        let item_bytes = u64_in(record, metadata::ITEM_BYTES);
        if item_bytes > MOST_ITEM_BYTES {
            return Err(format!("{name}: item of {item_bytes} bytes"));
        }
        let consumers = u32_in(record, metadata::CONSUMERS) as usize;
        let most = if kind == RingKind::Broadcast {
            layout::MAX_CONSUMERS
        } else {
            1
        };
        if !(1..=most).contains(&consumers) {
            return Err(format!(
                "{name}: {consumers} consumers on a {} ring",
                kind.name()
            ));
        }
        let stamped = u32_in(record, metadata::STAMPED);
        let base = layout::value_at(max_rings, index) as u64;
        let (sampled_unix_ns, tail, heads) = self
            .positions(base, consumers)
            .map_err(|e| format!("{name}: {e}"))?;
        for head in &heads {
            let behind = tail.checked_sub(*head);
            let believable = match behind {
                None => false,
                Some(_) if kind == RingKind::Broadcast => true,
                Some(behind) => behind <= capacity,
            };
            if !believable {
                return Err(format!(
                    "{name}: a consumer at {head} with the producer at {tail} in {capacity} slots"
                ));
            }
        }
        let endpoint = |offset: usize| -> Result<EndpointReading, String> {
            let mut block = [0u8; layout::CELL_BYTES];
            self.read_at(base + offset as u64, &mut block)
                .map_err(|e| e.to_string())?;
            let thread = u64_in(&block, 24);
            Ok(EndpointReading {
                stats: EndpointStats {
                    index_reloads: u64_in(&block, 0),
                    stalls: u64_in(&block, 8),
                    chase_backoffs: u64_in(&block, 16),
                },
                thread_id: u32::try_from(thread).ok().filter(|t| *t != 0),
            })
        };
        let producer = endpoint(value::PRODUCER)?;
        let consumer_cells = (0..consumers)
            .map(|i| endpoint(value::consumer(i)))
            .collect::<Result<Vec<_>, _>>()?;
        let histograms = (0..consumers)
            .map(|i| {
                if stamped & (1 << i) == 0 {
                    return Ok(None);
                }
                let mut bytes = vec![0u8; layout::HISTOGRAM_BYTES];
                self.read_at(base + value::histogram(i) as u64, &mut bytes)
                    .map_err(|e| e.to_string())?;
                let mut sum = [0u8; 8];
                let sum_at = value::consumer(i) + layout::CELL_LATENCY_SUM;
                self.read_at(base + sum_at as u64, &mut sum)
                    .map_err(|e| e.to_string())?;
                Ok(Some((
                    bytes.chunks_exact(8).map(|c| u64_in(c, 0)).collect(),
                    u64_in(&sum, 0),
                )))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Some(RingReading {
            index,
            name,
            kind,
            capacity,
            item_bytes,
            closed,
            registered_unix_ns: u64_in(record, metadata::REGISTERED_UNIX_NS),
            memory: ring_memory(
                u64_in(record, metadata::MEMORY_ADDRESS),
                u64_in(record, metadata::MEMORY_BYTES),
            ),
            file: (u64_in(record, metadata::FILE_INODE) != 0).then(|| FileIdentity {
                device: u64_in(record, metadata::FILE_DEVICE),
                inode: u64_in(record, metadata::FILE_INODE),
            }),
            sampled_unix_ns,
            tail,
            heads,
            producer,
            consumers: consumer_cells,
            histograms,
        }))
    }

    /// The positions block under its sequence lock: read the sequence, the block, the sequence
    /// again; believe the block only if the sequence was even and did not move.
    fn positions(&self, base: u64, consumers: usize) -> Result<(u64, u64, Vec<u64>), String> {
        for _ in 0..POSITION_TRIES {
            let mut before = [0u8; 8];
            let mut block = [0u8; layout::BLOCK];
            let mut after = [0u8; 8];
            self.read_at(base, &mut before).map_err(|e| e.to_string())?;
            self.read_at(base, &mut block).map_err(|e| e.to_string())?;
            self.read_at(base, &mut after).map_err(|e| e.to_string())?;
            if before != after || u64_in(&before, 0) % 2 == 1 {
                std::thread::yield_now();
                continue;
            }
            let heads = (0..consumers)
                .map(|i| u64_in(&block, value::HEADS + i * 8))
                .collect();
            return Ok((
                u64_in(&block, value::SAMPLED_UNIX_NS),
                u64_in(&block, value::TAIL),
                heads,
            ));
        }
        Err("positions were being updated at every look".into())
    }
}

/// The header's fields, checked.
struct Header {
    pid: u32,
    max_rings: usize,
    started_unix_ns: u64,
    heartbeat_unix_ns: u64,
    interval_ns: u64,
    file_bytes: u64,
    closed: bool,
    name: String,
}

impl Header {
    fn parse(bytes: &[u8; layout::HEADER_BYTES]) -> Result<Header, ReadError> {
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&bytes[header::MAGIC..header::MAGIC + 8]);
        if magic != layout::MAGIC {
            return Err(ReadError::BadMagic(magic));
        }
        match u32_in(bytes, header::VERSION) {
            0 => return Err(ReadError::Initialising),
            layout::VERSION => {}
            other => return Err(ReadError::UnsupportedVersion(other)),
        }
        let bad = |what: String| Err(ReadError::BadHeader(what));
        let max_rings = u32_in(bytes, header::MAX_RINGS) as usize;
        if !(1..=MOST_RINGS).contains(&max_rings) {
            return bad(format!("{max_rings} ring records (1 to {MOST_RINGS})"));
        }
        let expected: [(&str, u64, u64); 7] = [
            (
                "header size",
                u64::from(u32_in(bytes, header::HEADER_BYTES)),
                layout::HEADER_BYTES as u64,
            ),
            (
                "metadata offset",
                u64_in(bytes, header::METADATA_OFFSET),
                layout::METADATA_OFFSET as u64,
            ),
            (
                "metadata record size",
                u64_in(bytes, header::METADATA_BYTES),
                layout::METADATA_BYTES as u64,
            ),
            (
                "values offset",
                u64_in(bytes, header::VALUES_OFFSET),
                layout::values_offset(max_rings) as u64,
            ),
            (
                "value record size",
                u64_in(bytes, header::VALUE_BYTES),
                layout::VALUE_BYTES as u64,
            ),
            (
                "consumers per ring",
                u64::from(u32_in(bytes, header::MAX_CONSUMERS)),
                layout::MAX_CONSUMERS as u64,
            ),
            (
                "histogram buckets",
                u64::from(u32_in(bytes, header::BUCKETS)),
                layout::BUCKETS as u64,
            ),
        ];
        for (what, found, wanted) in expected {
            if found != wanted {
                return bad(format!("{what} {found}, version 1 says {wanted}"));
            }
        }
        let file_bytes = u64_in(bytes, header::FILE_BYTES);
        if file_bytes != layout::file_bytes(max_rings) as u64 {
            return bad(format!(
                "file size {file_bytes} for {max_rings} rings (version 1 says {})",
                layout::file_bytes(max_rings)
            ));
        }
        let pid = u32_in(bytes, header::PID);
        if pid == 0 || pid > i32::MAX as u32 {
            return bad(format!("pid {pid}"));
        }
        let closed = match u32_in(bytes, header::STATE) {
            s if s == layout::ProgramState::Running as u32 => false,
            s if s == layout::ProgramState::Closed as u32 => true,
            other => return bad(format!("program state {other}")),
        };
        let name = name_in(bytes, header::NAME).map_err(ReadError::BadHeader)?;
        Ok(Header {
            pid,
            max_rings,
            started_unix_ns: u64_in(bytes, header::STARTED_UNIX_NS),
            heartbeat_unix_ns: u64_in(bytes, header::HEARTBEAT_UNIX_NS),
            interval_ns: u64_in(bytes, header::INTERVAL_NS),
            file_bytes,
            closed,
            name,
        })
    }
}

/// The slots' place in the program, as its record says: nothing where either word is 0 (a
/// program that did not say) or does not fit this machine's addresses. Only ever used to ask the
/// kernel about the program's pages, so a hostile value can only be a wrong question.
fn ring_memory(address: u64, bytes: u64) -> Option<RingMemory> {
    Some(RingMemory {
        address: usize::try_from(address).ok().filter(|a| *a != 0)?,
        bytes: usize::try_from(bytes).ok().filter(|b| *b != 0)?,
    })
}

fn u32_in(bytes: &[u8], offset: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[offset..offset + 4]);
    u32::from_ne_bytes(word)
}

fn u64_in(bytes: &[u8], offset: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[offset..offset + 8]);
    u64::from_ne_bytes(word)
}

/// A NUL-padded name field, checked as the writer checks names.
fn name_in(bytes: &[u8], offset: usize) -> Result<String, String> {
    let field = &bytes[offset..offset + layout::NAME_BYTES];
    let len = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    let name = std::str::from_utf8(&field[..len]).map_err(|_| "a name that is not UTF-8")?;
    if name.is_empty() || len == field.len() || name.chars().any(char::is_control) {
        return Err(format!("a bad name {name:?}"));
    }
    if field[len..].iter().any(|b| *b != 0) {
        return Err(format!("bytes after the name {name:?}"));
    }
    Ok(name.to_owned())
}

/// What `attach --list` found in the directory.
#[derive(Debug, Default)]
pub struct Listing {
    /// Segments of running programs, read.
    pub programs: Vec<(PathBuf, ProgramReading)>,
    /// Segments of programs that are gone, removed (the file and the program's name and pid,
    /// when its header could be read).
    pub removed: Vec<(PathBuf, String)>,
    /// Files that could not be read or removed, with why.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Reads every segment in `dir`; with `clean`, removes those whose writer is gone (and leftover
/// temporary files older than a minute that no one holds).
pub fn list(dir: &Path, clean: bool) -> Result<Listing, String> {
    // No directory yet: no program has published. Asked before the checks as well as after
    // them, so a directory a program creates (or removes) while it is looked at is never
    // reported as missing with the reason of an error.
    let missing = || {
        matches!(std::fs::symlink_metadata(dir),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound)
    };
    if missing() {
        return Ok(Listing::default());
    }
    if let Err(why) = super::dir::check_private(dir) {
        if missing() {
            return Ok(Listing::default());
        }
        return Err(format!("{}: {why}", dir.display()));
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Listing::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut listing = Listing::default();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let is_segment = path.extension().is_some_and(|e| e == layout::EXTENSION);
        let is_leftover = name.starts_with('.') && name.ends_with(".tmp");
        if !is_segment && !is_leftover {
            continue;
        }
        let segment = match Segment::open(&path) {
            Ok(segment) => segment,
            Err(e) => {
                listing.skipped.push((path, e.to_string()));
                continue;
            }
        };
        let live = segment.liveness() == Liveness::Live;
        if is_leftover {
            let old = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age > Duration::from_secs(60));
            if clean && !live && old {
                match std::fs::remove_file(&path) {
                    Ok(()) => listing
                        .removed
                        .push((path, "an unfinished segment".to_owned())),
                    Err(e) => listing.skipped.push((path, format!("cannot remove: {e}"))),
                }
            }
            continue;
        }
        match (segment.read(), live) {
            (Ok(reading), true) => listing.programs.push((path, reading)),
            (Ok(r), false) => {
                // A segment whose writer is gone: what a killed program leaves.
                let what = format!("{} (pid {}), no longer running", r.name, r.pid);
                if !clean {
                    listing.skipped.push((path, what));
                    continue;
                }
                match std::fs::remove_file(&path) {
                    Ok(()) => listing.removed.push((path, what)),
                    Err(e) => listing
                        .skipped
                        .push((path, format!("{what}; cannot remove: {e}"))),
                }
            }
            // Not a segment ringtop can read: reported, and left for its owner to look at.
            (Err(e), true) => listing.skipped.push((path, e.to_string())),
            (Err(e), false) => listing
                .skipped
                .push((path, format!("{e}; no process holds it"))),
        }
    }
    Ok(listing)
}
