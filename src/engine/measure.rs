//! Turning two readings into the figures a front end shows: a pure function, no clocks, no locks.
//!
//! [`measure`] gives the [`Snapshot`] of the interval between two consecutive readings, with each
//! consumer's latency histogram of that interval beside it (for interval logs); [`summarize`]
//! gives the [`Summary`] of the whole run from its last reading. Every rate and ratio covers
//! exactly the window between the two readings, because every count comes from them (a
//! receiver's summary counts its rows/s over the part of that window a sender was connected).

use crate::codec::CodecId;
use crate::metrics::LatencyHistogram;
use crate::metrics::counters::CounterValues;
use crate::metrics::integrity::Integrity;
use crate::metrics::snapshot::{
    CodecPart, CodecSnapshot, EndpointCounters, LatencyNs, LinkRole, RingSnapshot, Role,
    SCHEMA_VERSION, Scheduling, Snapshot, Summary, ThreadSnapshot, Totals, TransportSnapshot,
};
use crate::profile::{RingKind, TransportKind};
use crate::row::Row;
use crate::topology::Topology;

use super::reading::{
    CodecReading, CodecShare, LatencyReading, LinkReading, Reading, ThreadReading,
};
use super::warnings::Warning;

mod warnings;

const ROW_BYTES: f64 = std::mem::size_of::<Row>() as f64;

/// What a run is, fixed when it starts: everything besides the readings that its figures need.
#[derive(Debug, Clone)]
pub(crate) struct RunShape {
    /// The profile's name (its description until a front end names it).
    pub(crate) profile: String,
    /// The profile's description.
    pub(crate) profile_description: String,
    /// The ring's kind.
    pub(crate) ring_kind: RingKind,
    /// The ring's capacity in rows.
    pub(crate) capacity: usize,
    /// Whether rows travel in codec frames.
    pub(crate) framed: bool,
    /// This host, for each CPU's NUMA node.
    pub(crate) host: Option<Topology>,
    /// This process's end of the link, when the ring is remote.
    pub(crate) link: Option<LinkShape>,
}

/// This process's end of a link.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkShape {
    /// TCP or RDMA.
    pub(crate) kind: TransportKind,
    /// Sender or receiver.
    pub(crate) role: LinkRole,
    /// Where the sender connects, or where the receiver listens.
    pub(crate) address: String,
    /// The sender's bandwidth cap, Mbit/s.
    pub(crate) link_mbps: Option<f64>,
}

impl RunShape {
    /// This process's end of the link, when the ring is remote.
    pub(crate) fn role(&self) -> Option<LinkRole> {
        self.link.as_ref().map(|l| l.role)
    }
}

/// One consumer's latency over one interval.
#[derive(Debug, Clone)]
pub struct ConsumerLatency {
    /// The consumer's thread name (`consumer-0`, …).
    pub thread: String,
    /// Every sample recorded over the interval.
    pub histogram: LatencyHistogram,
}

/// One interval's figures, and the latency histograms they were computed from.
#[derive(Debug, Clone)]
pub struct Interval {
    /// What every front end shows.
    pub snapshot: Snapshot,
    /// Each consumer's latency over exactly this interval (for HdrHistogram interval logs);
    /// empty where rows carry another host's clock.
    pub latency: Vec<ConsumerLatency>,
    /// The snapshot's warnings, each with what it is about (for the summary's tally).
    pub warnings: Vec<Warning>,
}

/// Which latency a figure reports: that of the interval, or all of it since the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Interval,
    WholeRun,
}

impl Span {
    /// The span's figures; `None` when it holds no sample.
    fn pick(self, reading: &LatencyReading) -> Option<LatencyNs> {
        LatencyNs::of(match self {
            Span::Interval => reading.interval.summary(),
            Span::WholeRun => reading.total,
        })
    }
}

/// The figures shared by a snapshot and a summary.
struct Figures {
    threads: Vec<ThreadSnapshot>,
    ring: RingSnapshot,
    codec: Option<CodecSnapshot>,
    totals: Totals,
    transport: Option<TransportSnapshot>,
    seconds: f64,
}

/// The interval from `previous` to `now` (consecutive readings of one run).
pub(crate) fn measure(shape: &RunShape, previous: &Reading, now: &Reading) -> Interval {
    let figures = figures(shape, previous, now, Span::Interval);
    let latency = if rows_carry_this_clock(shape, now) {
        now.threads
            .iter()
            .filter_map(|t| {
                Some(ConsumerLatency {
                    thread: t.name.clone(),
                    histogram: t.latency.as_ref()?.interval.clone(),
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let warnings = warnings::of(shape, previous, now, &figures);
    Interval {
        snapshot: Snapshot {
            schema_version: SCHEMA_VERSION,
            elapsed_s: now.at.as_secs_f64(),
            interval_s: figures.seconds,
            state: now.state,
            profile: shape.profile.clone(),
            profile_description: shape.profile_description.clone(),
            threads: figures.threads,
            ring: figures.ring,
            codec: figures.codec,
            totals: figures.totals,
            transport: figures.transport,
            warnings: warnings.iter().map(|w| w.text.clone()).collect(),
            warning_keys: warnings.iter().map(|w| w.key.clone()).collect(),
        },
        latency,
        warnings,
    }
}

/// The whole run, from its first reading (`start`: [`Reading::start`] with what the host showed
/// then) to its last (taken after every worker has finished).
pub(crate) fn summarize(shape: &RunShape, start: &Reading, end: &Reading) -> Summary {
    let Figures {
        threads,
        ring,
        codec,
        mut totals,
        transport,
        ..
    } = figures(shape, start, end, Span::WholeRun);
    // Rows a consumer never saw once everything was drained are lost (where this process knows
    // what was produced; a receiver's sender counts them).
    let consumers = threads.iter().filter(|t| t.role == Role::Consumer);
    let missing: u64 = match (shape.ring_kind, totals.produced) {
        (_, None) => 0,
        (RingKind::Mpmc, Some(produced)) => produced.saturating_sub(totals.consumed),
        (_, Some(produced)) => consumers.map(|c| produced.saturating_sub(c.rows)).sum(),
    };
    totals.lost = totals.lost.map(|lost| lost + missing);
    Summary {
        schema_version: SCHEMA_VERSION,
        elapsed_s: end.at.as_secs_f64(),
        profile: shape.profile.clone(),
        profile_description: shape.profile_description.clone(),
        threads,
        ring,
        codec,
        totals,
        transport,
        integrity_ok: totals.integrity_ok(),
        failure: end.failure.clone(),
        warnings: Vec::new(),
    }
}

/// Whether the rows' stamps are on this host's clock, so `now - stamp` is a latency. Rows from a
/// sender on another host carry its clock.
fn rows_carry_this_clock(shape: &RunShape, now: &Reading) -> bool {
    match (&shape.role(), &now.link) {
        (Some(LinkRole::Receiver), Some(link)) => link.sessions == 0 || link.same_clock,
        _ => true,
    }
}

fn figures(shape: &RunShape, previous: &Reading, now: &Reading, span: Span) -> Figures {
    let seconds = now.at.saturating_sub(previous.at).as_secs_f64().max(1e-9);
    let rate_seconds = rate_seconds(shape, previous, now, span, seconds);
    let timed = rows_carry_this_clock(shape, now);
    let mut threads = Vec::new();
    let mut integrity = Integrity::default();
    let mut codec = CodecTally::default();
    let (mut produced, mut consumed, mut consumed_since) = (0u64, 0u64, 0u64);
    // What each consumer had taken out of the ring, the rows in its hand at the cut included.
    let mut taken_by = Vec::new();
    for (i, thread) in now.threads.iter().enumerate() {
        let before = previous.threads.get(i);
        let rows_since = thread.rows.saturating_sub(before.map_or(0, |b| b.rows));
        let codec_since = thread
            .codec
            .since(&before.map(|b| b.codec).unwrap_or_default());
        match thread.role {
            Role::Producer => {
                produced += thread.rows;
                codec.encoded.add(&codec_since);
            }
            Role::Consumer => {
                consumed += thread.rows;
                consumed_since += rows_since;
                taken_by.push(thread.rows + thread.in_hand);
                integrity.add(&thread.integrity);
                codec.decoded.add(&codec_since);
            }
        }
        let mut figures =
            thread_figures(shape, thread, before, rows_since, rate_seconds, span, timed);
        (figures.scheduling, figures.scheduling_unavailable) =
            match scheduling(previous, now, thread, before, seconds) {
                Ok(scheduling) => (Some(scheduling), None),
                Err(reason) => (None, Some(reason)),
            };
        threads.push(figures);
    }
    // Counted at the cut: what the consumers took out of the ring (the slowest of them, on a
    // broadcast ring, where each reads every row).
    let mut taken = match shape.ring_kind {
        RingKind::Broadcast => taken_by.iter().copied().min().unwrap_or(0),
        _ => taken_by.iter().sum(),
    };
    let link = now.link.as_ref();
    // A sender's consumer is on the other host: what it acknowledged is what was consumed.
    if let (Some(LinkRole::Sender), Some(link)) = (shape.role(), link) {
        consumed = link.rows_acknowledged;
        taken = consumed;
        consumed_since = link
            .rows_acknowledged
            .saturating_sub(previous.link.as_ref().map_or(0, |l| l.rows_acknowledged));
    }
    // A receiver's producer is its sender, in another process: what it wrote is not known here.
    let produced = (shape.role() != Some(LinkRole::Receiver)).then_some(produced);
    let occupancy = produced.map(|produced| produced.saturating_sub(taken));
    let ring = ring_figures(shape, now, &threads, occupancy);
    let codec = shape
        .framed
        .then(|| codec.snapshot(codec_in_use(shape, now)));
    // A sender runs no consumer: its rows are checked where they are received, not here.
    let checked = shape.role() != Some(LinkRole::Sender);
    let totals = Totals {
        produced,
        consumed,
        lost: checked.then_some(integrity.lost),
        duplicated: checked.then_some(integrity.duplicated),
        reordered: checked.then_some(integrity.reordered),
        rows_per_s: consumed_since as f64 / rate_seconds,
        mb_per_s: consumed_since as f64 * ROW_BYTES / rate_seconds / 1e6,
    };
    let transport = transport_figures(shape, previous, now, &threads, rate_seconds, span);
    Figures {
        threads,
        ring,
        codec,
        totals,
        transport,
        seconds,
    }
}

/// The seconds rows/s and MB/s are over: the `seconds` between the readings, but in a
/// receiver's summary the time a sender was connected in them. A receiver waits for its sender
/// (before the first, between them, after the last until it is stopped); over all of its time,
/// its rows/s would fall the longer it waited, and say nothing of the link.
fn rate_seconds(
    shape: &RunShape,
    previous: &Reading,
    now: &Reading,
    span: Span,
    seconds: f64,
) -> f64 {
    let connected_s = |reading: &Reading| reading.link.as_ref().map_or(0.0, |l| l.connected_s);
    let served = connected_s(now) - connected_s(previous);
    match (span, shape.role()) {
        (Span::WholeRun, Some(LinkRole::Receiver)) if served > 0.0 => served.clamp(1e-9, seconds),
        _ => seconds,
    }
}

fn thread_figures(
    shape: &RunShape,
    thread: &ThreadReading,
    before: Option<&ThreadReading>,
    rows_since: u64,
    seconds: f64,
    span: Span,
    timed: bool,
) -> ThreadSnapshot {
    let latency = thread.latency.as_ref().filter(|_| timed);
    ThreadSnapshot {
        name: thread.name.clone(),
        role: thread.role,
        cpu: thread.cpu,
        node: thread.cpu.and_then(|c| shape.host.as_ref()?.node_of_cpu(c)),
        rows: thread.rows,
        rows_per_s: rows_since as f64 / seconds,
        mb_per_s: rows_since as f64 * ROW_BYTES / seconds / 1e6,
        latency_ns: latency.and_then(|l| span.pick(l)),
        latency_total_ns: latency.and_then(|l| LatencyNs::of(l.total)),
        endpoint: thread.endpoint,
        counters: thread
            .counters
            .as_ref()
            .map(|now| CounterValues::between(now, before.and_then(|b| b.counters.as_ref()))),
        scheduling: None,
        scheduling_unavailable: None,
        registered_by: None,
    }
}

/// What the scheduler did to `thread` between the readings: its share of the `seconds`, its
/// wait for a CPU, its switches, its CPU's steal, and who else was runnable there.
fn scheduling(
    previous: &Reading,
    now: &Reading,
    thread: &ThreadReading,
    before: Option<&ThreadReading>,
    seconds: f64,
) -> Result<Scheduling, String> {
    let sched_now = thread.sched.as_ref().map_err(Clone::clone)?;
    let sched_then = before
        .and_then(|b| b.sched.as_ref().ok())
        .copied()
        .unwrap_or_default();
    let since = sched_now.since(&sched_then);
    let steal = crate::metrics::sched::steal_between(&previous.steal_ns, &now.steal_ns, thread.cpu);
    let other_tasks = thread
        .cpu
        .and_then(|cpu| now.other_tasks.get(&cpu))
        .cloned()
        .unwrap_or_default();
    Ok(crate::metrics::sched::scheduling(
        &since,
        seconds,
        steal,
        other_tasks,
    ))
}

fn ring_figures(
    shape: &RunShape,
    now: &Reading,
    threads: &[ThreadSnapshot],
    occupancy: Option<u64>,
) -> RingSnapshot {
    // A side with no thread here (a link's far end, in another process or on another host) has
    // no counters to sum: `null`, not the empty sum's 0.
    let sum = |role: Role, f: fn(&EndpointCounters) -> u64| -> Option<u64> {
        let mut side = threads.iter().filter(|t| t.role == role).peekable();
        side.peek()?;
        side.map(|t| t.endpoint.as_ref().map(f)).sum()
    };
    // A sender writes into its receiver's ring: its slots are the receiver's, as its welcome
    // said (its own profile's capacity sizes nothing).
    let capacity = match (shape.role(), now.link.as_ref()) {
        (Some(LinkRole::Sender), link) => link
            .map(|link| link.window_bytes / std::mem::size_of::<Row>() as u64)
            .filter(|&rows| rows > 0)
            .and_then(|rows| usize::try_from(rows).ok()),
        _ => Some(shape.capacity),
    };
    RingSnapshot {
        kind: shape.ring_kind.name().to_owned(),
        capacity,
        framed: shape.framed,
        occupancy_rows: occupancy,
        occupancy_bytes: now
            .link
            .as_ref()
            .filter(|_| shape.role() == Some(LinkRole::Receiver))
            .and_then(|link| link.unread_bytes),
        memory: now.memory.as_ref().map(|m| m.report.clone()),
        memory_summary: match (&now.memory, shape.role()) {
            (Some(memory), _) => Some(memory.summary.clone()),
            (None, Some(LinkRole::Sender)) => Some(
                "n/a: the ring is the receiver's (this end writes into it over the link)".into(),
            ),
            (None, _) => None,
        },
        memory_nodes: now
            .memory
            .as_ref()
            .map(|m| m.nodes.clone())
            .unwrap_or_default(),
        producer_full_stalls: sum(Role::Producer, |e| e.stalls),
        consumer_empty_stalls: sum(Role::Consumer, |e| e.stalls),
        producer_index_reloads: sum(Role::Producer, |e| e.index_reloads),
        consumer_index_reloads: sum(Role::Consumer, |e| e.index_reloads),
    }
}

/// The codec frames use now: the setting, or on a receiver, what the last frame carried.
/// The codec frames are encoded with now: this run's setting, but on a receiver, whose codec is
/// its sender's, the last frame's (`None` before its first).
fn codec_in_use(shape: &RunShape, now: &Reading) -> Option<CodecId> {
    match shape.role() {
        Some(LinkRole::Receiver) => now.threads.iter().find_map(|t| t.codec.last_codec),
        _ => Some(now.codec_setting),
    }
}

fn transport_figures(
    shape: &RunShape,
    previous: &Reading,
    now: &Reading,
    threads: &[ThreadSnapshot],
    seconds: f64,
    span: Span,
) -> Option<TransportSnapshot> {
    let end = shape.link.as_ref()?;
    let empty = LinkReading::default();
    let link = now.link.as_ref().unwrap_or(&empty);
    let before = previous.link.as_ref().unwrap_or(&empty);
    let sender = end.role == LinkRole::Sender;
    let (one_way, unavailable) = if sender {
        (None, Some("measured by the receiver".to_owned()))
    } else if link.sessions == 0 {
        (None, Some("no sender has connected yet".to_owned()))
    } else if !link.same_clock {
        (
            None,
            Some(
                "the sender runs on another host (its boot id differs): one-way times would \
                 compare two clocks; the sender reports round trips"
                    .to_owned(),
            ),
        )
    } else {
        match threads
            .iter()
            .find(|t| t.role == Role::Consumer)
            .and_then(|t| t.latency_ns)
        {
            Some(latency) => (Some(latency), None),
            None => (None, Some("no row was timed over this span".to_owned())),
        }
    };
    Some(TransportSnapshot {
        kind: end.kind.name().to_owned(),
        role: end.role,
        address: end.address.clone(),
        peer: link.peer.clone(),
        connected: link.connected,
        connected_s: Some(link.connected_s),
        frames: link.frames,
        bytes: link.bytes,
        frames_per_s: link.frames.saturating_sub(before.frames) as f64 / seconds,
        mb_per_s: link.bytes.saturating_sub(before.bytes) as f64 / seconds / 1e6,
        rows_acknowledged: sender.then_some(link.rows_acknowledged),
        round_trip_ns: sender.then(|| span.pick(&link.round_trip)).flatten(),
        one_way_ns: one_way,
        one_way_unavailable: unavailable,
        credit_stalls: sender.then_some(link.credit_stalls),
        cap_waits: sender.then_some(link.cap_waits),
        link_mbps: end.link_mbps,
        sessions: link.sessions,
        reconnects: link.reconnects,
        refused: link.refused,
        dropped: link.dropped,
        last_error: link.last_error.clone(),
    })
}

impl CodecReading {
    /// What was coded between `earlier` and this reading.
    fn since(&self, earlier: &CodecReading) -> CodecReading {
        CodecReading {
            frames: self.frames.saturating_sub(earlier.frames),
            rows: self.rows.saturating_sub(earlier.rows),
            frame_bytes: self.frame_bytes.saturating_sub(earlier.frame_bytes),
            nanos: self.nanos.saturating_sub(earlier.nanos),
            corrupt_frames: self.corrupt_frames.saturating_sub(earlier.corrupt_frames),
            last_codec: self.last_codec,
            per_codec: std::array::from_fn(|i| {
                let (now, then) = (self.per_codec[i], earlier.per_codec[i]);
                CodecShare {
                    frames: now.frames.saturating_sub(then.frames),
                    rows: now.rows.saturating_sub(then.rows),
                    frame_bytes: now.frame_bytes.saturating_sub(then.frame_bytes),
                    nanos: now.nanos.saturating_sub(then.nanos),
                }
            }),
        }
    }

    fn add(&mut self, other: &CodecReading) {
        self.frames += other.frames;
        self.rows += other.rows;
        self.frame_bytes += other.frame_bytes;
        self.nanos += other.nanos;
        self.corrupt_frames += other.corrupt_frames;
        for (mine, theirs) in self.per_codec.iter_mut().zip(&other.per_codec) {
            mine.frames += theirs.frames;
            mine.rows += theirs.rows;
            mine.frame_bytes += theirs.frame_bytes;
            mine.nanos += theirs.nanos;
        }
    }
}

/// Frames coded over a window, on both sides of the ring.
#[derive(Debug, Default)]
struct CodecTally {
    encoded: CodecReading,
    decoded: CodecReading,
}

impl CodecTally {
    fn snapshot(&self, codec: Option<CodecId>) -> CodecSnapshot {
        // A receiver of a remote ring encodes nothing: its ratio is that of the frames it read.
        let counted = if self.encoded.rows > 0 || self.decoded.rows == 0 {
            &self.encoded
        } else {
            &self.decoded
        };
        let raw = counted.rows * std::mem::size_of::<Row>() as u64;
        let encoded = counted.frame_bytes;
        let per_row = |c: &CodecReading| (c.rows > 0).then(|| c.nanos as f64 / c.rows as f64);
        let share_per_row = |s: &CodecShare| (s.rows > 0).then(|| s.nanos as f64 / s.rows as f64);
        let by_codec = CodecId::ALL
            .iter()
            .filter_map(|&id| {
                let i = id as usize;
                let counted = &counted.per_codec[i];
                (counted.rows > 0).then(|| {
                    let raw = counted.rows * std::mem::size_of::<Row>() as u64;
                    CodecPart {
                        name: id.name().to_owned(),
                        frames: counted.frames,
                        rows: counted.rows,
                        rows_per_frame: rows_per_frame(counted.rows, counted.frames),
                        raw_bytes: raw,
                        encoded_bytes: counted.frame_bytes,
                        ratio: (counted.frame_bytes > 0)
                            .then(|| raw as f64 / counted.frame_bytes as f64),
                        encode_ns_per_row: share_per_row(&self.encoded.per_codec[i]),
                        decode_ns_per_row: share_per_row(&self.decoded.per_codec[i]),
                    }
                })
            })
            .collect();
        CodecSnapshot {
            name: codec.map(|codec| codec.name().to_owned()),
            frames: counted.frames,
            rows_per_frame: rows_per_frame(counted.rows, counted.frames),
            raw_bytes: raw,
            encoded_bytes: encoded,
            ratio: (encoded > 0).then(|| raw as f64 / encoded as f64),
            encode_ns_per_row: per_row(&self.encoded),
            decode_ns_per_row: per_row(&self.decoded),
            by_codec,
        }
    }
}

/// Rows a frame on average (`None` before the first frame): a paced producer sends each frame
/// when its rows are due, so at a slow rate frames hold a row or two and headers weigh on the
/// ratio.
fn rows_per_frame(rows: u64, frames: u64) -> Option<f64> {
    (frames > 0).then(|| rows as f64 / frames as f64)
}

#[cfg(test)]
mod tests;
