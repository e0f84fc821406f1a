//! From segment readings to the snapshot types every front end shows: rates over an interval,
//! latency percentiles from the published histograms, the endpoints' threads as the kernel sees
//! them (CPU, node, scheduling).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::engine::Warning;
use crate::metrics::LatencyHistogram;
use crate::metrics::sched::{self, SPINNING_SHARE_FLOOR, TaskSched};
use crate::metrics::snapshot::{
    AttachedRing, EndpointCounters, LatencyNs, ProgramInfo, ProgramSnapshot, RegisteredBy,
    RingSnapshot, Role, SCHEMA_VERSION, ThreadSnapshot,
};
use crate::ring::EndpointStats;
use crate::topology::model::format_bytes;
use crate::topology::pages::{self, PageCensus};

use super::layout;
use super::peer::{PeerRing, Peers};
use super::read::{EndpointReading, Liveness, ProgramReading, RingReading, Segment};

/// A program's monitor this many intervals late is reported as not updating.
const LATE_INTERVALS: u64 = 5;

/// Watches one segment: each [`Watcher::read_next`] reads it and reports the interval since the
/// previous one.
pub struct Watcher {
    segment: Segment,
    /// The other ends of its rings between processes that other programs registered.
    peers: Peers,
    started: Instant,
    first: Moment,
    previous: Moment,
    /// Each ring's last census taken while it was live (by ring index), for the readings after
    /// it was dropped or the program ended.
    last_pages: HashMap<usize, PageCensus>,
}

/// One interval of a watched program.
#[derive(Debug, Clone)]
pub struct ProgramInterval {
    /// What every front end shows.
    pub snapshot: ProgramSnapshot,
    /// The snapshot's warnings, each with what it is about (for the Prometheus tally).
    pub warnings: Vec<Warning>,
}

/// One reading and what went with it.
#[derive(Clone)]
struct Moment {
    at: Instant,
    reading: ProgramReading,
    alive: bool,
    /// The endpoints' threads (by process and thread id), as `/proc` showed them.
    sched: HashMap<(u32, u32), Result<TaskSched, String>>,
    /// The other end's record of each ring between processes another program registered too
    /// (by ring index).
    peers: HashMap<usize, PeerRing>,
    steal: Result<BTreeMap<usize, u64>, String>,
    /// Where each ring's pages are (by ring index), or why that is not known.
    pages: HashMap<usize, Result<PageCensus, String>>,
}

impl Moment {
    fn take(segment: &Segment, peers: &mut Peers) -> Result<Moment, super::read::ReadError> {
        let reading = segment.read()?;
        let alive = segment.liveness() == Liveness::Live;
        let peers = peers.read(&reading);
        let own = thread_ids(&reading.rings).map(|tid| (reading.pid, tid));
        let theirs = peers
            .values()
            .flat_map(|peer| thread_ids(std::slice::from_ref(&peer.ring)).map(|t| (peer.pid, t)));
        let sched = own
            .chain(theirs)
            .map(|(pid, tid)| ((pid, tid), TaskSched::of_task(pid, tid)))
            .collect();
        let pages = reading
            .rings
            .iter()
            .map(|ring| (ring.index, ring_pages(&reading, ring, alive)))
            .collect();
        Ok(Moment {
            at: Instant::now(),
            alive,
            sched,
            peers,
            steal: sched::steal_ns_per_cpu(),
            pages,
            reading,
        })
    }
}

/// Asks the kernel where `ring`'s pages are in the program, while both are there to ask about.
fn ring_pages(
    reading: &ProgramReading,
    ring: &RingReading,
    alive: bool,
) -> Result<PageCensus, String> {
    if !alive || reading.closed {
        return Err("the program has ended".into());
    }
    if ring.closed {
        return Err("the ring was dropped".into());
    }
    let memory = ring.memory.ok_or(
        "the program does not say where the ring's memory is (a ringtop library older than \
         this reader)",
    )?;
    pages::census(reading.pid, memory.address, memory.bytes)
}

/// Keeps each census `moment` took in `last`, by ring index.
fn remember_pages(last: &mut HashMap<usize, PageCensus>, moment: &Moment) {
    for (index, census) in &moment.pages {
        if let Ok(census) = census {
            last.insert(*index, census.clone());
        }
    }
}

fn thread_ids(rings: &[RingReading]) -> impl Iterator<Item = u32> + '_ {
    rings.iter().flat_map(|r| {
        std::iter::once(&r.producer)
            .chain(&r.consumers)
            .filter_map(|e| e.thread_id)
    })
}

/// How an attachment ended, if it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The program dropped its registry (a clean exit).
    Exited,
    /// The program is gone without closing its segment (killed, crashed).
    Died,
}

impl Watcher {
    /// Starts watching the segment at `path`.
    ///
    /// # Errors
    /// Why the segment cannot be read.
    pub fn open(path: &Path) -> Result<Watcher, String> {
        let segment = Segment::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut peers = Peers::of(path);
        let first =
            Moment::take(&segment, &mut peers).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut last_pages = HashMap::new();
        remember_pages(&mut last_pages, &first);
        Ok(Watcher {
            segment,
            peers,
            started: first.at,
            previous: first.clone(),
            first,
            last_pages,
        })
    }

    /// The program's monitor interval.
    pub fn update_interval(&self) -> Duration {
        Duration::from_nanos(self.first.reading.interval_ns)
    }

    /// The program as first read.
    pub fn program(&self) -> ProgramInfo {
        self.info(&self.first)
    }

    /// Reads the segment again: the interval since the previous call, and whether the program
    /// has ended.
    ///
    /// # Errors
    /// Why the segment cannot be read now (the previous reading stands).
    pub fn read_next(&mut self) -> Result<(ProgramInterval, Option<Ending>), String> {
        let now = Moment::take(&self.segment, &mut self.peers)
            .map_err(|e| format!("{}: {e}", self.segment.path().display()))?;
        remember_pages(&mut self.last_pages, &now);
        let interval = self.between(&self.previous, &now, None);
        let ending = if now.reading.closed {
            Some(Ending::Exited)
        } else if !now.alive {
            Some(Ending::Died)
        } else {
            None
        };
        self.previous = now;
        Ok((interval, ending))
    }

    /// Where ring `index`'s pages are, in words, and the nodes: as `moment` found them, else as
    /// last seen while the ring was live (said so), else why it is not known.
    fn ring_memory(
        &self,
        moment: &Moment,
        index: usize,
        bytes: Option<usize>,
    ) -> (String, Vec<usize>) {
        let size = bytes.map_or(String::new(), |b| format!("{} in ", format_bytes(b as u64)));
        match moment.pages.get(&index) {
            Some(Ok(census)) => (format!("{size}{}", census.summary()), census.nodes()),
            Some(Err(why)) => match self.last_pages.get(&index) {
                Some(last) => (
                    format!("{size}{} (as last seen: {why} since)", last.summary()),
                    last.nodes(),
                ),
                None => (format!("n/a: {why}"), Vec::new()),
            },
            None => ("n/a: not read".into(), Vec::new()),
        }
    }

    /// Each stamped consumer's latency histogram as last read, cumulative: its thread's name (as
    /// in the snapshots), the counts per [`layout`] bucket and their sum in nanoseconds.
    pub fn histograms(&self) -> Vec<(String, Vec<u64>, u64)> {
        let moment = &self.previous;
        moment
            .reading
            .rings
            .iter()
            .flat_map(|ring| {
                let recorded = latency_record(ring, moment.peers.get(&ring.index));
                recorded.histograms.iter().enumerate().filter_map(|(i, h)| {
                    h.as_ref().map(|(counts, sum)| {
                        (format!("{} consumer-{i}", ring.name), counts.clone(), *sum)
                    })
                })
            })
            .collect()
    }

    /// The whole attachment, from the first reading to the latest, with why it ended.
    pub fn summary(&self, ended: String) -> ProgramSnapshot {
        self.between(&self.first, &self.previous, Some(ended))
            .snapshot
    }

    fn info(&self, moment: &Moment) -> ProgramInfo {
        let reading = &moment.reading;
        let started = UNIX_EPOCH + Duration::from_nanos(reading.started_unix_ns);
        ProgramInfo {
            name: reading.name.clone(),
            pid: reading.pid,
            segment: self.segment.path().display().to_string(),
            started_utc: humantime::format_rfc3339_seconds(started).to_string(),
            alive: moment.alive && !reading.closed,
            heartbeat_age_s: reading.heartbeat_age(SystemTime::now()).as_secs_f64(),
            update_interval_s: reading.interval_ns as f64 / 1e9,
        }
    }

    fn between(&self, then: &Moment, now: &Moment, ended: Option<String>) -> ProgramInterval {
        let seconds = now.at.duration_since(then.at).as_secs_f64();
        let topology = crate::topology::host().ok();
        let mut threads = Vec::new();
        let mut rings = Vec::new();
        let mut warnings = Vec::new();
        for ring in &now.reading.rings {
            let before = then
                .reading
                .rings
                .iter()
                .find(|r| r.index == ring.index && r.name == ring.name);
            let rate_seconds = before.map_or(0.0, |b| {
                ring.sampled_unix_ns.saturating_sub(b.sampled_unix_ns) as f64 / 1e9
            });
            let rate = |now: u64, then: Option<u64>| match then {
                Some(then) if rate_seconds > 0.0 => now.saturating_sub(then) as f64 / rate_seconds,
                _ => 0.0,
            };
            let peer = now.peers.get(&ring.index);
            let peer_then = then
                .peers
                .get(&ring.index)
                .filter(|then| peer.is_some_and(|now| now.is_same_record(then)));
            let endpoint_thread =
                |name: String,
                 role: Role,
                 items: u64,
                 items_then: Option<u64>,
                 side: Side<'_>,
                 latency: (Option<LatencyNs>, Option<LatencyNs>)| {
                    let per_s = rate(items, items_then);
                    let cpu = side
                        .endpoint
                        .thread_id
                        .and_then(|tid| sched::last_cpu(side.pid, tid).ok());
                    let (scheduling, scheduling_unavailable) = match &side.unseen {
                        Some(why) => (None, Some(why.clone())),
                        None => match thread_scheduling(then, now, &side, cpu, seconds) {
                            Ok(s) => (Some(s), None),
                            Err(why) => (None, Some(why)),
                        },
                    };
                    ThreadSnapshot {
                        name,
                        role,
                        cpu,
                        node: cpu.and_then(|c| topology.and_then(|t| t.node_of_cpu(c))),
                        rows: items,
                        rows_per_s: per_s,
                        mb_per_s: per_s * ring.item_bytes as f64 / 1e6,
                        latency_ns: latency.0,
                        latency_total_ns: latency.1,
                        // Only an SPSC consumer looks for a chase.
                        endpoint: ring.kind.counts_endpoints().then(|| {
                            EndpointCounters::of(
                                side.endpoint.stats,
                                role == Role::Consumer && ring.kind == layout::RingKind::Spsc,
                            )
                        }),
                        counters: None,
                        scheduling,
                        scheduling_unavailable,
                        registered_by: side.registered_by.map(|peer| RegisteredBy {
                            program: peer.program.clone(),
                            pid: peer.pid,
                        }),
                    }
                };
            threads.push(endpoint_thread(
                format!("{} producer", ring.name),
                Role::Producer,
                ring.tail,
                before.map(|b| b.tail),
                Side::of(&now.reading, ring, true, &ring.producer, peer),
                (None, None),
            ));
            for (i, (head, endpoint)) in ring.heads.iter().zip(&ring.consumers).enumerate() {
                // A consumer in another program records its latency there.
                let recorded = latency_record(ring, peer);
                let from_peer = !std::ptr::eq(recorded, ring);
                let recorded_then = if from_peer {
                    peer_then.map(|p| &p.ring)
                } else {
                    before
                };
                let histogram = recorded
                    .histograms
                    .get(i)
                    .and_then(Option::as_ref)
                    .map(|(counts, _)| counts);
                let histogram_then = recorded_then
                    .and_then(|b| b.histograms.get(i))
                    .and_then(Option::as_ref)
                    .map(|(counts, _)| counts);
                // Over the interval only from two readings of one record: a record joined in
                // this interval recorded before it too.
                let latency = (
                    histogram
                        .filter(|_| !from_peer || recorded_then.is_some())
                        .and_then(|h| percentiles(h, histogram_then)),
                    histogram.and_then(|h| percentiles(h, None)),
                );
                threads.push(endpoint_thread(
                    format!("{} consumer-{i}", ring.name),
                    Role::Consumer,
                    *head,
                    before.and_then(|b| b.heads.get(i).copied()),
                    Side::of(&now.reading, ring, false, endpoint, peer),
                    latency,
                ));
            }
            let (summary, nodes) = self.ring_memory(now, ring.index, ring.memory.map(|m| m.bytes));
            // The threads just added for this ring: its consumers last.
            let consumers = &threads[threads.len().saturating_sub(ring.consumers.len())..];
            warnings.extend(consumers.iter().filter_map(|t| {
                let text = topology?.remote_read_warning(&t.name, t.cpu, &nodes)?;
                Some(Warning::new("remote-memory", &t.name, text))
            }));
            rings.push(attached_ring(ring, summary, nodes));
        }
        for thread in &threads {
            if let Some(s) = &thread.scheduling
                && s.ran_share < SPINNING_SHARE_FLOOR
                && sched::seems_to_spin(s)
                && seconds > 0.0
            {
                warnings.push(Warning::new(
                    "cpu-share",
                    &thread.name,
                    sched::cpu_share_warning(&thread.name, thread.cpu, s, seconds),
                ));
            }
        }
        let info = self.info(now);
        if info.alive
            && info.heartbeat_age_s * 1e9 > (LATE_INTERVALS * now.reading.interval_ns) as f64
        {
            warnings.push(Warning::new(
                "not-updating",
                &info.name,
                format!(
                    "{} (pid {}) has not updated its segment for {:.1} s: it may be stopped or \
                     stuck",
                    info.name, info.pid, info.heartbeat_age_s
                ),
            ));
        }
        let snapshot = ProgramSnapshot {
            schema_version: SCHEMA_VERSION,
            elapsed_s: now.at.duration_since(self.started).as_secs_f64(),
            interval_s: seconds,
            program: info,
            threads,
            rings,
            warnings: warnings.iter().map(|w| w.text.clone()).collect(),
            warning_keys: warnings.iter().map(|w| w.key.clone()).collect(),
            skipped: now.reading.skipped.clone(),
            ended,
            warning_tallies: None,
        };
        ProgramInterval { snapshot, warnings }
    }
}

/// `ring` as the snapshots show it, with where its pages are (`memory_summary`, `memory_nodes`).
fn attached_ring(
    ring: &RingReading,
    memory_summary: String,
    memory_nodes: Vec<usize>,
) -> AttachedRing {
    let counted = ring.kind.counts_endpoints();
    let sum = |f: fn(&EndpointStats) -> u64| {
        counted.then(|| ring.consumers.iter().map(|c| f(&c.stats)).sum())
    };
    let producer = |f: fn(&EndpointStats) -> u64| counted.then(|| f(&ring.producer.stats));
    AttachedRing {
        name: ring.name.clone(),
        closed: ring.closed,
        item_bytes: ring.item_bytes,
        produced: ring.tail,
        lag: ring
            .heads
            .iter()
            .map(|h| ring.tail.saturating_sub(*h))
            .collect(),
        ring: RingSnapshot {
            kind: ring.kind.name().to_owned(),
            capacity: Some(usize::try_from(ring.capacity).unwrap_or(usize::MAX)),
            framed: false,
            occupancy_rows: Some(ring.occupancy()),
            occupancy_bytes: None,
            memory: None,
            memory_summary: Some(memory_summary),
            memory_nodes,
            producer_full_stalls: producer(|s| s.stalls),
            consumer_empty_stalls: sum(|s| s.stalls),
            producer_index_reloads: producer(|s| s.index_reloads),
            consumer_index_reloads: sum(|s| s.index_reloads),
        },
    }
}

/// Percentiles of the counts in `now` (less those in `then`, for an interval); `None` when no
/// latency was recorded.
fn percentiles(now: &[u64], then: Option<&Vec<u64>>) -> Option<LatencyNs> {
    let mut histogram = LatencyHistogram::new();
    for (bucket, count) in now.iter().enumerate() {
        let before = then.and_then(|t| t.get(bucket)).copied().unwrap_or(0);
        let count = count.saturating_sub(before);
        if count > 0 {
            histogram.record_n(layout::bucket_high(bucket), count);
        }
    }
    LatencyNs::of(histogram.summary())
}

/// The record holding the latency of `ring`'s consumers: the other end's (`peer`) when they are
/// another program's that registered the ring too (its recorder is theirs), else the ring's own.
fn latency_record<'a>(ring: &'a RingReading, peer: Option<&'a PeerRing>) -> &'a RingReading {
    match peer {
        Some(peer) if ring.kind.consumers_elsewhere().is_some() => &peer.ring,
        _ => ring,
    }
}

/// Where an endpoint's thread is read from: the watched program's record, or the other end's
/// record in the program that registered it (`registered_by`); `unseen` says why it is not shown
/// at all.
struct Side<'a> {
    pid: u32,
    endpoint: &'a EndpointReading,
    registered_by: Option<&'a PeerRing>,
    unseen: Option<String>,
}

impl<'a> Side<'a> {
    /// Ring `ring`'s producer (`producer`) or a consumer (`own`, its record in `watched`): the
    /// watched program's own, else the other end's record `peer` when another program
    /// registered it, else unseen with the reason.
    fn of(
        watched: &ProgramReading,
        ring: &RingReading,
        producer: bool,
        own: &'a EndpointReading,
        peer: Option<&'a PeerRing>,
    ) -> Side<'a> {
        let here = Side {
            pid: watched.pid,
            endpoint: own,
            registered_by: None,
            unseen: None,
        };
        let Some(why) = ring.kind.why_no_thread(producer) else {
            return here;
        };
        if ring.kind.other_end().is_none() {
            return Side {
                unseen: Some(why.to_owned()),
                ..here
            };
        }
        let theirs = peer.and_then(|peer| {
            let endpoint = if producer {
                &peer.ring.producer
            } else {
                peer.ring.consumers.first()?
            };
            Some(Side {
                pid: peer.pid,
                endpoint,
                registered_by: Some(peer),
                unseen: None,
            })
        });
        // Looked for only while the ring is live here: a dropped end's file may be gone.
        let unseen = if ring.closed {
            why.to_owned()
        } else {
            format!("{why}; no running program registered its end")
        };
        theirs.unwrap_or(Side {
            unseen: Some(unseen),
            ..here
        })
    }
}

fn thread_scheduling(
    then: &Moment,
    now: &Moment,
    side: &Side<'_>,
    cpu: Option<usize>,
    seconds: f64,
) -> Result<crate::metrics::snapshot::Scheduling, String> {
    let tid = side
        .endpoint
        .thread_id
        .ok_or("the endpoint has not published from a thread yet")?;
    let key = (side.pid, tid);
    let sched_now = now
        .sched
        .get(&key)
        .cloned()
        .unwrap_or_else(|| Err(format!("thread {tid} was not read")))?;
    let sched_then = then
        .sched
        .get(&key)
        .and_then(|s| s.as_ref().ok())
        .copied()
        .ok_or_else(|| format!("thread {tid} was first seen in this interval"))?;
    if seconds <= 0.0 {
        return Err("no time has passed yet".into());
    }
    Ok(sched::scheduling(
        &sched_now.since(&sched_then),
        seconds,
        sched::steal_between(&then.steal, &now.steal, cpu),
        Vec::new(),
    ))
}
