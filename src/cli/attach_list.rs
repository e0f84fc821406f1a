//! What `ringtop attach --list --json` prints: the programs that publish rings in the monitor
//! directory, their rings, and the segments removed or skipped on the way, typed so that
//! `ringtop schema` can describe it.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ringtop::monitor::read::{Listing, ProgramReading, RingReading};
use schemars::JsonSchema;
use serde::Serialize;

/// The listing.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct AttachList {
    /// The monitor directory read.
    directory: String,
    /// Each program publishing there, alive or closing.
    programs: Vec<ListedProgram>,
    /// Segments whose writer had died, removed.
    removed: Vec<ListedFile>,
    /// Files that could not be read, left alone.
    skipped: Vec<ListedFile>,
}

/// One publishing program.
#[derive(Debug, Serialize, JsonSchema)]
struct ListedProgram {
    /// The name it published under.
    name: String,
    /// Its process.
    pid: u32,
    /// Its segment file.
    segment: String,
    /// Seconds since its last heartbeat.
    heartbeat_age_s: f64,
    /// Seconds between its updates.
    update_interval_s: f64,
    /// It dropped its registry: it has stopped publishing and is exiting.
    closed: bool,
    /// Its rings, in registration order.
    rings: Vec<ListedRing>,
    /// Ring records skipped, each with why.
    skipped: Vec<String>,
}

/// One ring of a program.
#[derive(Debug, Serialize, JsonSchema)]
struct ListedRing {
    /// Its name.
    name: String,
    /// Its kind (`spsc`, `relay`, `broadcast`, `mpmc`, `frames`, `shm-items`, `shm-messages`).
    kind: String,
    /// Slots.
    capacity: u64,
    /// Bytes an item.
    item_bytes: u64,
    /// Both endpoints dropped.
    closed: bool,
    /// Items pushed (the producer's tail).
    produced: u64,
    /// Items each consumer popped (its head).
    consumed: Vec<u64>,
    /// Items in the ring, behind the slowest consumer.
    occupancy: u64,
    /// For a ring between processes, the program holding its other end, when it publishes too.
    other_end: Option<OtherEnd>,
}

/// The program at a shared-memory ring's other end.
#[derive(Debug, Serialize, JsonSchema)]
struct OtherEnd {
    /// Its name.
    program: String,
    /// Its process.
    pid: u32,
}

/// A file removed or skipped, and why.
#[derive(Debug, Serialize, JsonSchema)]
struct ListedFile {
    /// The file.
    path: String,
    /// Why.
    reason: String,
}

impl AttachList {
    /// `listing` of `dir`, as of now.
    pub(super) fn of(dir: &Path, listing: &Listing) -> Self {
        let files = |files: &[(PathBuf, String)]| {
            files
                .iter()
                .map(|(path, reason)| ListedFile {
                    path: path.display().to_string(),
                    reason: reason.clone(),
                })
                .collect()
        };
        AttachList {
            directory: dir.display().to_string(),
            programs: listing
                .programs
                .iter()
                .map(|(path, program)| ListedProgram::of(path, program, listing))
                .collect(),
            removed: files(&listing.removed),
            skipped: files(&listing.skipped),
        }
    }
}

impl ListedProgram {
    fn of(path: &Path, program: &ProgramReading, listing: &Listing) -> Self {
        ListedProgram {
            name: program.name.clone(),
            pid: program.pid,
            segment: path.display().to_string(),
            heartbeat_age_s: program.heartbeat_age(SystemTime::now()).as_secs_f64(),
            update_interval_s: program.interval_ns as f64 / 1e9,
            closed: program.closed,
            rings: program
                .rings
                .iter()
                .map(|ring| ListedRing {
                    name: ring.name.clone(),
                    kind: ring.kind.name().to_owned(),
                    capacity: ring.capacity,
                    item_bytes: ring.item_bytes,
                    closed: ring.closed,
                    produced: ring.tail,
                    consumed: ring.heads.clone(),
                    occupancy: ring.occupancy(),
                    other_end: other_end(listing, ring).map(|other| OtherEnd {
                        program: other.name.clone(),
                        pid: other.pid,
                    }),
                })
                .collect(),
            skipped: program.skipped.clone(),
        }
    }
}

/// The program holding the other end of `ring`, a ring between processes, if it publishes too.
pub(super) fn other_end<'a>(
    listing: &'a Listing,
    ring: &RingReading,
) -> Option<&'a ProgramReading> {
    listing
        .programs
        .iter()
        .map(|(_, program)| program)
        .find(|program| program.rings.iter().any(|r| r.is_other_end_of(ring)))
}
