//! The other end of a ring between processes. A shared-memory ring's sender and receiver are two
//! programs; when both register their end, each program's segment has a record of the ring,
//! carrying the ring file's identity (device and inode). `attach` watches one program: the
//! other end's thread (its CPU, node and scheduling) and, seen from the sender, the receiver's
//! latency are in the other program's record, found in the same directory by that identity.
//!
//! Records are joined only while both are live and their programs run: each program then keeps
//! the file mapped, so no other file has its identity. A join lasts until the other end's record
//! closes or its program ends; then the ring is looked for again (a receiver outlives its
//! senders, and the next sender may be another program).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::read::{self, Liveness, ProgramReading, RingReading, Segment};

/// The other end's record of one ring, as read with the rest of a moment.
#[derive(Debug, Clone)]
pub(super) struct PeerRing {
    /// The program that registered it.
    pub program: String,
    /// Its process.
    pub pid: u32,
    /// Its record.
    pub ring: RingReading,
}

impl PeerRing {
    /// Whether `other` is a reading of the same record (the same program's, registered at the
    /// same moment): readings of two records, even of one ring, are not to be subtracted.
    pub fn is_same_record(&self, other: &PeerRing) -> bool {
        self.pid == other.pid
            && self.ring.index == other.ring.index
            && self.ring.registered_unix_ns == other.ring.registered_unix_ns
    }
}

/// A joined ring: the other program's segment and its record's index there.
#[derive(Debug)]
struct Join {
    segment: Segment,
    index: usize,
    /// When the other end's record was registered: a record registered again at that index is
    /// another ring.
    registered_unix_ns: u64,
}

/// The joins of one watched program's rings, by the watched ring's record index.
#[derive(Debug)]
pub(super) struct Peers {
    /// Where the watched program's segment is, and so where its peers publish.
    dir: PathBuf,
    /// The watched program's own segment, never its own peer.
    own: PathBuf,
    joins: HashMap<usize, Join>,
}

impl Peers {
    /// The peers of the program whose segment is at `own`.
    pub(super) fn of(own: &Path) -> Peers {
        Peers {
            dir: own.parent().map_or_else(PathBuf::new, Path::to_path_buf),
            own: own.to_path_buf(),
            joins: HashMap::new(),
        }
    }

    /// The other end's record of each of `watched`'s rings between processes that another
    /// running program registered too, by the watched ring's index: joins kept while they hold,
    /// new ones looked for in the directory for rings still live.
    pub(super) fn read(&mut self, watched: &ProgramReading) -> HashMap<usize, PeerRing> {
        let mut found = HashMap::new();
        let mut wanted = Vec::new();
        for ring in &watched.rings {
            let Some(joined) = self.joins.get(&ring.index) else {
                if !ring.closed && joinable(ring) {
                    wanted.push(ring);
                }
                continue;
            };
            match joined.read_again() {
                Some(peer) => {
                    found.insert(ring.index, peer);
                }
                None => {
                    self.joins.remove(&ring.index);
                    if !ring.closed && joinable(ring) {
                        wanted.push(ring);
                    }
                }
            }
        }
        if wanted.is_empty() {
            return found;
        }
        // The other end may be this program's own (it registered both), else another running
        // program's in the directory. One that cannot be read now joins nothing now: the rings
        // are looked for again at the next reading.
        let others = read::list(&self.dir, false).map_or_else(|_| Vec::new(), |l| l.programs);
        let programs = std::iter::once((self.own.as_path(), watched)).chain(
            others
                .iter()
                .filter(|(path, _)| *path != self.own)
                .map(|(path, reading)| (path.as_path(), reading)),
        );
        for (path, reading) in programs {
            for ring in &wanted {
                if found.contains_key(&ring.index) {
                    continue;
                }
                let Some(theirs) = reading.rings.iter().find(|r| r.is_other_end_of(ring)) else {
                    continue;
                };
                let Ok(segment) = Segment::open(path) else {
                    continue;
                };
                let join = Join {
                    segment,
                    index: theirs.index,
                    registered_unix_ns: theirs.registered_unix_ns,
                };
                found.insert(
                    ring.index,
                    PeerRing {
                        program: reading.name.clone(),
                        pid: reading.pid,
                        ring: theirs.clone(),
                    },
                );
                self.joins.insert(ring.index, join);
            }
        }
        found
    }
}

/// Whether another program may have registered the other end of `ring`.
fn joinable(ring: &RingReading) -> bool {
    ring.file.is_some() && ring.kind.other_end().is_some()
}

impl Join {
    /// The other end's record read again, while the join holds: its program runs and the
    /// record is still live, so its end has kept the file mapped since the two were joined
    /// (the watched end may have been dropped since: the join still names the same file).
    fn read_again(&self) -> Option<PeerRing> {
        if self.segment.liveness() != Liveness::Live {
            return None;
        }
        let reading = self.segment.read().ok()?;
        if reading.closed {
            return None;
        }
        let theirs = reading.rings.into_iter().find(|r| r.index == self.index)?;
        if theirs.closed || theirs.registered_unix_ns != self.registered_unix_ns {
            return None;
        }
        Some(PeerRing {
            program: reading.name,
            pid: reading.pid,
            ring: theirs,
        })
    }
}
