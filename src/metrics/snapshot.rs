//! What a running engine reports: the [`Snapshot`] every front end reads each interval, and the
//! [`Summary`] at the end. Both are serde types with a schema version, so scripts can rely on
//! them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::LatencySummary;
use super::counters::CounterValues;

/// Bumped whenever a field changes meaning, is renamed or disappears, or is added and required
/// (a field added with a default for older output does not bump it). 2: `ring.consumer_empty_polls` became `ring.consumer_empty_stalls` (it counts episodes of
/// empty polls, not polls).
pub const SCHEMA_VERSION: u32 = 3;

/// Whether producers are producing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Producers run.
    Running,
    /// Producers wait; consumers drain.
    Paused,
    /// Stopping or stopped.
    Stopped,
}

/// A thread's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Writes rows into the ring.
    Producer,
    /// Reads rows out of it.
    Consumer,
}

/// Latency percentiles in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencyNs {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest.
    pub max: u64,
    /// Samples.
    pub count: u64,
}

impl LatencyNs {
    /// The figures of `summary`, or `None` when it holds no sample: the percentiles of nothing
    /// are unknown, not 0 ns (`null` in JSON, "n/a" on screen). The one home of that rule for
    /// every latency a snapshot reports.
    pub fn of(summary: LatencySummary) -> Option<Self> {
        (summary.count > 0).then(|| summary.into())
    }
}

impl From<LatencySummary> for LatencyNs {
    fn from(s: LatencySummary) -> Self {
        LatencyNs {
            p50: s.p50_ns,
            p90: s.p90_ns,
            p99: s.p99_ns,
            p999: s.p999_ns,
            p9999: s.p9999_ns,
            max: s.max_ns,
            count: s.count,
        }
    }
}

/// What one side of the ring did: cross-core traffic countable without a PMU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointCounters {
    /// Times this side re-read the other side's index and found it moved.
    pub index_reloads: u64,
    /// Times this side found the ring full (producer) or empty (consumer), once per episode.
    pub stalls: u64,
    /// Times a consumer backed off from chasing the producer; `null` where no chase is looked
    /// for (a producer, or a consumer of a ring other than SPSC rows), where it would be a 0
    /// that could not have been anything else.
    pub chase_backoffs: Option<u64>,
}

impl EndpointCounters {
    /// A ring endpoint's counts; `chases`: whether the endpoint looks for a chase at all.
    pub fn of(stats: crate::ring::EndpointStats, chases: bool) -> Self {
        EndpointCounters {
            index_reloads: stats.index_reloads,
            stalls: stats.stalls,
            chase_backoffs: chases.then_some(stats.chase_backoffs),
        }
    }
}

/// One worker thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadSnapshot {
    /// `producer-0`, `consumer-1`, …
    pub name: String,
    /// Its job.
    pub role: Role,
    /// The CPU the thread last reported running on (read by the thread itself after pinning).
    pub cpu: Option<usize>,
    /// That CPU's NUMA node.
    pub node: Option<usize>,
    /// Rows written or read since the start.
    pub rows: u64,
    /// Rows per second over the interval.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub rows_per_s: f64,
    /// Row megabytes (10^6 bytes, 64 per row) per second over the interval.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub mb_per_s: f64,
    /// Consumers: latency over the interval (from each row's stamp: its scheduled send time in
    /// rate-limited runs, so a stalled consumer cannot hide its own delay). `null` for
    /// producers, and for a consumer with no timed row in the interval.
    pub latency_ns: Option<LatencyNs>,
    /// Consumers: latency since the start (or the last reset); `null` as `latency_ns`.
    pub latency_total_ns: Option<LatencyNs>,
    /// This thread's ring endpoint counters, since the start; `null` for rings that do not keep
    /// them (MPMC; an attached shared-memory ring of items or messages).
    pub endpoint: Option<EndpointCounters>,
    /// Hardware and software counters over the interval (since the start in a summary); each is
    /// a number or `null` with its reason in `unavailable`.
    pub counters: Option<CounterValues>,
    /// What the scheduler did to the thread over the interval (since the start in a summary),
    /// from `/proc`; `null` with `scheduling_unavailable` when it cannot be read.
    pub scheduling: Option<Scheduling>,
    /// Why `scheduling` is `null`.
    pub scheduling_unavailable: Option<String>,
    /// `attach`: the program that registered this endpoint when it is not the attached one:
    /// the other end of a ring between processes, which that program registered too, so its
    /// thread is shown from that program's record. `null` for the attached program's own
    /// endpoints and in `ringtop run`.
    #[serde(default)]
    pub registered_by: Option<RegisteredBy>,
}

/// The program whose record an endpoint was read from (see [`ThreadSnapshot::registered_by`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisteredBy {
    /// The name it published under.
    pub program: String,
    /// Its process.
    pub pid: u32,
}

/// What the scheduler did to one thread: how much of the time it had a CPU, how long it waited
/// for one, and who else wanted it. A busy-spinning thread with its CPU to itself runs 100 % of
/// the time; less is time its rows waited too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scheduling {
    /// Time on a CPU ÷ the interval, 0 to 1 (`/proc/self/task/TID/schedstat`).
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub ran_share: f64,
    /// Seconds it was runnable but waiting for a CPU (`schedstat`).
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub waited_s: f64,
    /// Times it gave its CPU up itself (a park or a sleep).
    pub voluntary_switches: u64,
    /// Times the scheduler took its CPU away (`status`).
    pub involuntary_switches: u64,
    /// Seconds the hypervisor stole from the thread's CPU (`/proc/stat`); `null` with
    /// `steal_unavailable`.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub cpu_steal_s: Option<f64>,
    /// Why `cpu_steal_s` is `null`.
    pub steal_unavailable: Option<String>,
    /// Other tasks seen runnable on the thread's CPU at the end of the interval, looked for only
    /// when the thread waited for its CPU (empty otherwise).
    pub other_tasks: Vec<crate::metrics::sched::OtherTask>,
}

/// A warning as the summary keeps it: every kind that appeared, how often and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WarningTally {
    /// The latest wording.
    pub warning: String,
    /// Snapshots that carried it.
    pub count: u64,
    /// Seconds since the start of the first and the last of them.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub first_s: f64,
    /// See `first_s`.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub last_s: f64,
}

/// The ring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RingSnapshot {
    /// `spsc`, `relay`, `broadcast` or `mpmc`.
    pub kind: String,
    /// Slots (rows); a framed ring holds `capacity × 64` bytes. On a sender, which writes into
    /// its receiver's ring, the receiver's, as its welcome said; `null` before one.
    pub capacity: Option<usize>,
    /// Whether rows travel in codec frames.
    pub framed: bool,
    /// Rows in the ring at the interval's cut: written and not yet taken out (by the slowest
    /// consumer); on a sender, whose ring is its receiver's, the rows sent and not yet
    /// acknowledged read (in flight); `null` on a receiver, which does not know what its sender
    /// wrote (rows arrive in frames the consumer decodes): its `occupancy_bytes` says its fill.
    pub occupancy_rows: Option<u64>,
    /// A receiver's fill at the interval's cut, in bytes of its window (`capacity × 64`): records
    /// its sender wrote that its consumer has not read (shared memory: up to the tail the sender
    /// published; TCP: what was taken from the socket, not what the socket still holds). `null`
    /// elsewhere, where `occupancy_rows` gives the fill in rows.
    #[serde(default)]
    pub occupancy_bytes: Option<u64>,
    /// The ring's memory as the kernel reports it: bytes asked for and mapped, the pages that
    /// back it, the node binding and where the pages are.
    pub memory: Option<crate::topology::AllocationReport>,
    /// The same in words, for people. An attached program's ring has no `memory` (how it was
    /// allocated is the program's) but has this: where its pages are, or "n/a: " and why not.
    pub memory_summary: Option<String>,
    /// NUMA nodes the ring's pages are on (empty: not known).
    pub memory_nodes: Vec<usize>,
    /// Producer full-ring episodes, summed over producers (`null` where the ring keeps no
    /// counters, or where this process runs none of that side, as for the other three).
    pub producer_full_stalls: Option<u64>,
    /// Consumer empty-ring episodes (a run of empty polls counts once), summed over consumers.
    pub consumer_empty_stalls: Option<u64>,
    /// Producer re-reads of consumer indices, summed.
    pub producer_index_reloads: Option<u64>,
    /// Consumer re-reads of the producer index, summed.
    pub consumer_index_reloads: Option<u64>,
}

impl RingSnapshot {
    /// The slots in words: the number, or `n/a` where not known (a sender before its
    /// receiver's welcome).
    pub fn capacity_text(&self) -> String {
        self.capacity
            .map_or_else(|| "n/a".to_owned(), |slots| slots.to_string())
    }

    /// The bytes of the ring's slots (`capacity` rows of 64 bytes): the window a receiver's
    /// `occupancy_bytes` fills; `None` where the capacity is not known.
    pub fn window_bytes(&self) -> Option<u64> {
        self.capacity
            .map(|rows| (rows * std::mem::size_of::<crate::row::Row>()) as u64)
    }

    /// Whether each of the ring's consumers reads every row (a broadcast ring): its consumed
    /// rows and their rate then count every read, `consumers` times the rows written.
    pub fn each_consumer_reads_every_row(&self) -> bool {
        self.kind == "broadcast"
    }

    /// How many of `threads`' consumers read each row: all of them where each reads every row
    /// and there are several, else 1. One home for the rule the dashboard's rate and the
    /// report's counts share.
    pub fn readers_of_each_row(&self, threads: &[ThreadSnapshot]) -> usize {
        let consumers = threads.iter().filter(|t| t.role == Role::Consumer).count();
        if self.each_consumer_reads_every_row() && consumers > 1 {
            consumers
        } else {
            1
        }
    }
}

/// The codec of a framed run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodecSnapshot {
    /// The codec frames are encoded with now (at the end, in a summary): `by_codec` splits the
    /// figures per codec when the run switched. On a receiver, whose codec is its sender's, the
    /// last frame's; `null` before its first frame (not known yet).
    pub name: Option<String>,
    /// Frames over the interval.
    #[serde(default)]
    pub frames: u64,
    /// Rows a frame on average over the interval (`null` before the first frame): a paced
    /// producer sends a frame when its rows are due, so at a slow rate a frame holds a row or
    /// two, its header weighs on the ratio, and codecs find little to share between rows.
    #[serde(
        default,
        serialize_with = "crate::metrics::figures::significant_or_null"
    )]
    pub rows_per_frame: Option<f64>,
    /// Raw row bytes encoded over the interval.
    pub raw_bytes: u64,
    /// Frame bytes written over the interval, headers included.
    pub encoded_bytes: u64,
    /// `raw_bytes / encoded_bytes` over the interval (`null` before the first frame).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub ratio: Option<f64>,
    /// Encoding time per row over the interval, in nanoseconds: the encoder's alone, on a local
    /// frame ring and a link alike (not the copy into a remote window, not a socket write).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub encode_ns_per_row: Option<f64>,
    /// Decoding time per row over the interval, in nanoseconds.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub decode_ns_per_row: Option<f64>,
    /// Each codec that coded frames over the interval (the whole run in a summary), with its own
    /// figures, in codec-number order.
    pub by_codec: Vec<CodecPart>,
}

/// One codec's share of a run's frames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CodecPart {
    /// The codec.
    pub name: String,
    /// Its frames.
    #[serde(default)]
    pub frames: u64,
    /// Rows in its frames.
    pub rows: u64,
    /// Rows a frame on average.
    #[serde(
        default,
        serialize_with = "crate::metrics::figures::significant_or_null"
    )]
    pub rows_per_frame: Option<f64>,
    /// Their raw row bytes (64 a row).
    pub raw_bytes: u64,
    /// Its frame bytes, headers included.
    pub encoded_bytes: u64,
    /// `raw_bytes / encoded_bytes`.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub ratio: Option<f64>,
    /// Its encoding time per row, in nanoseconds.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub encode_ns_per_row: Option<f64>,
    /// Its decoding time per row, in nanoseconds.
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub decode_ns_per_row: Option<f64>,
}

/// Which end of a link this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkRole {
    /// Writes frames into the remote ring.
    Sender,
    /// Holds the ring; senders write into it.
    Receiver,
}

/// The link to a remote ring (`null` when producer and consumer share this process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransportSnapshot {
    /// `tcp` or `rdma`.
    pub kind: String,
    /// This end.
    pub role: LinkRole,
    /// The address connected to (sender) or listened on (receiver).
    pub address: String,
    /// The peer's address (the last one, when none is connected now).
    pub peer: Option<String>,
    /// Whether a peer is connected now.
    pub connected: bool,
    /// Seconds a peer has been connected since the start (this session so far included): on a
    /// receiver, the time it served senders, which its summary's rates are over. `null` only in
    /// output from before it was added.
    #[serde(
        default,
        serialize_with = "crate::metrics::figures::significant_or_null"
    )]
    pub connected_s: Option<f64>,
    /// Frames sent (sender) or received and decoded (receiver) since the start.
    pub frames: u64,
    /// Bytes on the wire since the start: frames, record headers, padding, message headers.
    pub bytes: u64,
    /// Frames per second over the interval.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub frames_per_s: f64,
    /// Wire megabytes (10^6 bytes) per second over the interval.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub mb_per_s: f64,
    /// Sender: rows the receiver confirmed it consumed (`null` on the receiver).
    pub rows_acknowledged: Option<u64>,
    /// Sender: round trip from a row's stamp to the receiver's credit echoing it, over the
    /// interval (since the start in a summary). Valid across hosts: one clock. `null` on the
    /// receiver, and where no credit echoed a stamp.
    pub round_trip_ns: Option<LatencyNs>,
    /// Receiver: one-way latency from the row stamp, when the sender shares this host's clock.
    pub one_way_ns: Option<LatencyNs>,
    /// Why `one_way_ns` is `null`.
    pub one_way_unavailable: Option<String>,
    /// Sender: times it found the remote ring full and waited for credit (once per episode);
    /// `null` on the receiver.
    pub credit_stalls: Option<u64>,
    /// Sender: times it waited for the bandwidth cap; `null` on the receiver.
    pub cap_waits: Option<u64>,
    /// The bandwidth cap, Mbit/s (`null`: none).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub link_mbps: Option<f64>,
    /// Connections made (sender) or accepted (receiver).
    pub sessions: u64,
    /// Connections after the first of the same sender run.
    pub reconnects: u64,
    /// Connections refused at the handshake (wrong token, not a ringtop peer, busy).
    pub refused: u64,
    /// Connections dropped after a bad message, a write outside the window, or silence.
    pub dropped: u64,
    /// The most recent connection error, naming the peer.
    pub last_error: Option<String>,
}

/// Totals since the start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    /// Rows written by all producers; `null` on a receiver (`ringtop serve`), whose producer is
    /// the sender in another process: its own output has the figure.
    pub produced: Option<u64>,
    /// Rows read by all consumers (a broadcast row counts once per consumer); on a sender, whose
    /// consumer is its receiver's, the rows the receiver acknowledged.
    pub consumed: u64,
    /// Rows never seen by a consumer that should have seen them. Must be 0. `null` on a sender
    /// (a link's sending end, which runs no consumer): its receiver checks every row, and the
    /// receiver's output has the figure.
    pub lost: Option<u64>,
    /// Rows seen twice. Must be 0. `null` on a sender, as [`Self::lost`].
    pub duplicated: Option<u64>,
    /// Rows seen out of order. Must be 0. `null` on a sender, as [`Self::lost`].
    pub reordered: Option<u64>,
    /// Rows consumed per second over the interval.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub rows_per_s: f64,
    /// Row megabytes consumed per second over the interval.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub mb_per_s: f64,
}

impl Totals {
    /// Whether every row arrived exactly once and in order: no row lost, duplicated or
    /// reordered; `None` where this end checks no row (a sender). One home for the rule.
    pub fn integrity_ok(&self) -> Option<bool> {
        match (self.lost, self.duplicated, self.reordered) {
            (Some(lost), Some(duplicated), Some(reordered)) => {
                Some(lost == 0 && duplicated == 0 && reordered == 0)
            }
            _ => None,
        }
    }

    /// What a front end says in place of the counts where this end checks no row (a sender).
    pub const UNCHECKED: &'static str = "rows checked at the receiver";

    /// `lost 0, duplicated 0, reordered 0`, with `separator` between the three, or
    /// [`Self::UNCHECKED`] where this end checks no row: how the front ends word the counts.
    pub fn integrity_counts(&self, separator: &str) -> String {
        match (self.lost, self.duplicated, self.reordered) {
            (Some(lost), Some(duplicated), Some(reordered)) => [
                format!("lost {lost}"),
                format!("duplicated {duplicated}"),
                format!("reordered {reordered}"),
            ]
            .join(separator),
            _ => Self::UNCHECKED.to_owned(),
        }
    }
}

/// The engine as it is now, and over the last interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Seconds since the engine started.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub elapsed_s: f64,
    /// Seconds this snapshot's interval covers.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub interval_s: f64,
    /// Running, paused or stopped.
    pub state: RunState,
    /// The profile's name: a built-in's name or the file it was loaded from.
    pub profile: String,
    /// What the profile says it is for (its `description`).
    pub profile_description: String,
    /// Every worker thread.
    pub threads: Vec<ThreadSnapshot>,
    /// The ring.
    pub ring: RingSnapshot,
    /// The codec, for a framed run.
    pub codec: Option<CodecSnapshot>,
    /// Totals and integrity.
    pub totals: Totals,
    /// The link to a remote ring, if the ring is remote.
    pub transport: Option<TransportSnapshot>,
    /// Things the operator should know (threads sharing a CPU, a spinning thread that did not
    /// get its CPU, a consumer on remote memory).
    pub warnings: Vec<String>,
    /// Each of `warnings`' kind and subject, in the same order (`cpu-share consumer-0`): the
    /// same from one interval to the next while a warning's figures change, so that a reader
    /// tallies one warning as one (`ringtop report` of a run that did not finish). Empty in
    /// output from before it was added.
    #[serde(default)]
    pub warning_keys: Vec<String>,
}

/// The rows a second a front end shows for a run: what the consumers read, or, where each of
/// several consumers reads every row (a broadcast ring), the rows written and how many read each
/// (the reads beside the pace would look like twice it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowRate {
    /// Rows a second, each counted once.
    pub rows_per_s: f64,
    /// How many consumers read each of them: 1 but for a broadcast ring's.
    pub readers: usize,
}

impl Snapshot {
    /// The rows a second to show for this interval: one home for the rule the header and the
    /// throughput chart share.
    pub fn row_rate(&self) -> RowRate {
        let readers = self.ring.readers_of_each_row(&self.threads);
        let rows_per_s = if readers == 1 {
            self.totals.rows_per_s
        } else {
            self.threads
                .iter()
                .filter(|t| t.role == Role::Producer)
                .map(|t| t.rows_per_s)
                .sum()
        };
        RowRate {
            rows_per_s,
            readers,
        }
    }
}

/// The index in `threads` of the thread called `name`, looked for first at `hint`: threads keep
/// their order from one snapshot to the next, so following a thread through a run costs one
/// comparison a snapshot, not a search.
pub fn thread_index(threads: &[ThreadSnapshot], name: &str, hint: usize) -> Option<usize> {
    match threads.get(hint) {
        Some(thread) if thread.name == name => Some(hint),
        _ => threads.iter().position(|t| t.name == name),
    }
}

/// The end of a run: the last snapshot's view over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Seconds the run lasted.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub elapsed_s: f64,
    /// The profile's name: a built-in's name or the file it was loaded from.
    pub profile: String,
    /// What the profile says it is for (its `description`).
    pub profile_description: String,
    /// Every worker, with rates over the whole run and latency since the start.
    pub threads: Vec<ThreadSnapshot>,
    /// The ring at the end.
    pub ring: RingSnapshot,
    /// The codec over the whole run.
    pub codec: Option<CodecSnapshot>,
    /// Totals, rates over the whole run.
    pub totals: Totals,
    /// The link over the whole run, if the ring is remote.
    pub transport: Option<TransportSnapshot>,
    /// Whether every row arrived exactly once and in order ([`Totals::integrity_ok`]); `null` on
    /// a sender, whose rows are checked where they are received.
    pub integrity_ok: Option<bool>,
    /// Why the workload stopped before it was told to: a worker that died, and how. `null` when
    /// every worker ran to the end.
    pub failure: Option<String>,
    /// Every warning the run's snapshots carried, once per kind and thread, with how often and
    /// when.
    pub warnings: Vec<WarningTally>,
}

/// A program `ringtop attach` watches, as its stats segment describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramInfo {
    /// The name it published under.
    pub name: String,
    /// Its process id.
    pub pid: u32,
    /// Its segment file.
    pub segment: String,
    /// When it published, UTC, RFC 3339.
    pub started_utc: String,
    /// Whether it still runs (it holds its segment's lock).
    pub alive: bool,
    /// Seconds since its monitor last updated the segment.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub heartbeat_age_s: f64,
    /// Seconds between its monitor's updates: positions, fill level, lag and rates are at most
    /// this old (endpoint counters and latency histograms are written where they change).
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub update_interval_s: f64,
}

/// One ring of an attached program.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachedRing {
    /// The name the program gave it.
    pub name: String,
    /// Both its endpoints were dropped: the figures are final.
    pub closed: bool,
    /// Bytes per item.
    pub item_bytes: u64,
    /// Items pushed since it was made.
    pub produced: u64,
    /// How far each consumer is behind the producer, in items.
    pub lag: Vec<u64>,
    /// Its kind, capacity, fill level (`occupancy_rows`, in items) and endpoint counter sums.
    pub ring: RingSnapshot,
}

/// An attached program over an interval (`program` lines), or over the whole attachment
/// (`program_summary`, with `ended`). Built from the same parts as a run's snapshot: its threads
/// are the rings' endpoints (`<ring> producer`, `<ring> consumer-N`; `rows` counts items and
/// `mb_per_s` uses the ring's item size), with latency when the program records it. Hardware
/// counters are `null`: ringtop opens them only on threads it runs. There are no integrity totals:
/// the items are the program's own, which ringtop cannot check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgramSnapshot {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Seconds since `attach` started.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub elapsed_s: f64,
    /// Seconds this line's figures cover.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub interval_s: f64,
    /// The program.
    pub program: ProgramInfo,
    /// Every endpoint of every ring, ring by ring.
    pub threads: Vec<ThreadSnapshot>,
    /// Every ring, in registration order.
    pub rings: Vec<AttachedRing>,
    /// Things the operator should know (a program that stopped updating, a spinning endpoint
    /// that did not get its CPU).
    pub warnings: Vec<String>,
    /// Each of `warnings`' kind and subject, in the same order (`not-updating pipeline`), as a
    /// run's snapshot gives them: the same from one interval to the next while a warning's
    /// figures change. Empty in output from before it was added.
    #[serde(default)]
    pub warning_keys: Vec<String>,
    /// Ring records in the segment that were not believed, each with why.
    pub skipped: Vec<String>,
    /// Summary only: why watching ended (`null` in interval lines).
    pub ended: Option<String>,
    /// Summary only: every warning the intervals carried, one per kind and subject, with how
    /// many intervals carried it and the first and last (`null` in interval lines).
    #[serde(default)]
    pub warning_tallies: Option<Vec<WarningTally>>,
}
