//! The figures Prometheus scrapes, as OpenMetrics text (`prometheus-client`).
//!
//! A front end hands each interval to [`Metrics`] ([`Metrics::observe_run`] for `run` and
//! `serve`, [`Metrics::observe_program`] for `attach`); a scrape encodes what is held then.
//! Counters are totals since the start (`_total`), gauges are the last interval's, latency is a
//! classic histogram with log-spaced nanosecond buckets (`le` = 2^k − 1 ns, k = 5 … 36), which
//! adds up across threads and hosts where percentiles would not.
//!
//! Series are labelled by `thread` (and `role`); where a thread runs is its own gauge,
//! `ringtop_thread_cpu{thread, cpu, node} 1`, so a re-pin starts a new placement series without
//! splitting the thread's counters.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use prometheus_client::registry::Registry;

use crate::engine::{Interval, Warning};
use crate::metrics::LatencyHistogram;
use crate::metrics::snapshot::{Role, ThreadSnapshot};
use crate::monitor::layout;
use crate::monitor::view::ProgramInterval;

/// Powers of two that bound the latency buckets: `le` = 2^k − 1 ns.
const FIRST_POWER: u32 = 5;
const LAST_POWER: u32 = 36;
/// Bytes of one row of ringtop's own workloads.
const ROW_BYTES: u64 = std::mem::size_of::<crate::Row>() as u64;

/// The upper bounds of the latency buckets, in nanoseconds (+Inf after them).
pub fn latency_bounds_ns() -> impl Iterator<Item = u64> {
    (FIRST_POWER..=LAST_POWER).map(|k| (1u64 << k) - 1)
}

/// A latency histogram as Prometheus keeps it: a count per bucket (not cumulative; the last is
/// +Inf), the sum and the count, all since the start.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyBuckets {
    /// Samples in each bucket of [`latency_bounds_ns`], then those above the last bound.
    pub counts: Vec<u64>,
    /// The samples' sum, nanoseconds.
    pub sum_ns: f64,
    /// Samples.
    pub count: u64,
}

impl Default for LatencyBuckets {
    fn default() -> Self {
        LatencyBuckets {
            counts: vec![0; latency_bounds_ns().count() + 1],
            sum_ns: 0.0,
            count: 0,
        }
    }
}

impl LatencyBuckets {
    /// Adds every sample of an HdrHistogram (one interval of a `run` consumer). The sum is
    /// HdrHistogram's mean times the count: within its 0.1 % resolution.
    pub fn add_hdr(&mut self, histogram: &LatencyHistogram) {
        let hdr = histogram.as_hdr();
        let mut below = 0;
        for (bucket, bound) in latency_bounds_ns().enumerate() {
            let upto = hdr.count_between(0, bound);
            self.counts[bucket] += upto - below;
            below = upto;
        }
        let last = self.counts.len() - 1;
        self.counts[last] += hdr.len() - below;
        self.count += hdr.len();
        self.sum_ns += hdr.mean() * hdr.len() as f64;
    }

    /// Every sample of a stats segment's log-linear histogram (cumulative since the ring was
    /// registered), with the sum the program's recorder kept. Exact: the segment's buckets never
    /// straddle a power of two.
    pub fn from_segment(counts: &[u64], sum_ns: u64) -> Self {
        let mut buckets = LatencyBuckets::default();
        let bounds: Vec<u64> = latency_bounds_ns().collect();
        for (bucket, count) in counts.iter().enumerate() {
            let high = layout::bucket_high(bucket);
            let at = bounds.partition_point(|bound| *bound < high);
            buckets.counts[at] += count;
            buckets.count += count;
        }
        buckets.sum_ns = sum_ns as f64;
        buckets
    }
}

/// What the info metric says.
#[derive(Debug, Clone)]
pub struct Info {
    /// `run`, `serve` or `attach`.
    pub command: String,
    /// The profile's name, or the attached program's.
    pub subject: String,
}

/// One thread's series.
#[derive(Debug, Clone, Default)]
struct ThreadSeries {
    role: &'static str,
    cpu: Option<usize>,
    node: Option<usize>,
    rows: u64,
    bytes: u64,
    stalls: Option<u64>,
    index_reloads: Option<u64>,
    /// `None` where no chase is looked for (producers, rings other than SPSC rows).
    chase_backoffs: Option<u64>,
    ran_ratio: Option<f64>,
    waited_s: f64,
    involuntary_switches: u64,
    latency: Option<LatencyBuckets>,
}

/// A ring: the run's, or one of an attached program's.
#[derive(Debug, Clone)]
struct RingSeries {
    /// An attached program's name for it; `None` for the run's one ring.
    name: Option<String>,
    kind: String,
    /// Slots (items; a framed run's slots are 64 bytes of frames); `None` where not known (a
    /// sender before its receiver's welcome: no sample then, never a 0).
    capacity: Option<u64>,
    /// Items written and not yet read by the slowest consumer (a framed run: rows, which may
    /// outnumber the slots when frames compress); `None` where not known (no sample then,
    /// never a 0).
    occupancy: Option<u64>,
    /// A receiver's fill in bytes of its window (its rows are not known before they are
    /// decoded); `None` elsewhere.
    occupancy_bytes: Option<u64>,
    /// Per consumer, an attached program's (a run reports none).
    lag: Vec<u64>,
    /// NUMA nodes its pages are on (empty: not known).
    memory_nodes: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
struct CodecSeries {
    frames: u64,
    rows: u64,
    raw_bytes: u64,
    encoded_bytes: u64,
}

#[derive(Debug, Clone)]
struct LinkSeries {
    kind: String,
    role: &'static str,
    frames: u64,
    bytes: u64,
    /// `None` on a receiver: the sender's figure.
    credit_stalls: Option<u64>,
    sessions: u64,
    refused: u64,
    dropped: u64,
    round_trip_ns: Option<Quantiles>,
    one_way_ns: Option<Quantiles>,
    /// Whether a peer is connected now.
    connected: bool,
    /// Seconds a peer has been connected since the start (`None` from output before it).
    connected_s: Option<f64>,
}

/// p50, p99 and p99.9, nanoseconds.
type Quantiles = (u64, u64, u64);

#[derive(Debug, Default)]
struct State {
    info: Option<Info>,
    /// Scrapes served.
    scrapes: u64,
    /// Scrapes served when the figures became final (the run ended), if they have.
    final_at_scrape: Option<u64>,
    intervals: u64,
    threads: BTreeMap<String, ThreadSeries>,
    /// Produced, consumed, lost, duplicated, reordered; produced is `None` on a receiver.
    totals: Option<[Option<u64>; 5]>,
    codecs: BTreeMap<String, CodecSeries>,
    link: Option<LinkSeries>,
    rings: Vec<RingSeries>,
    /// Intervals that carried each kind of warning about each subject.
    warnings: BTreeMap<(String, String), u64>,
    /// Each host check of the run's CPUs at its start, and its verdict.
    host_checks: Vec<(String, &'static str)>,
}

impl State {
    /// Counts an interval's warnings, each under its kind and subject.
    fn count_warnings(&mut self, warnings: &[Warning]) {
        for warning in warnings {
            *self
                .warnings
                .entry((warning.kind().to_owned(), warning.subject().to_owned()))
                .or_default() += 1;
        }
    }
}

/// The figures a scrape sees. Cheap to clone (one shared state).
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    state: Arc<Mutex<State>>,
}

impl Metrics {
    /// Empty metrics for `info`'s command.
    pub fn new(info: Info) -> Self {
        let metrics = Metrics::default();
        metrics.lock().info = Some(info);
        metrics
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the host checks made for the run's CPUs as it started (`ringtop doctor`), so a
    /// dashboard can show beside the figures whether the host was fit to measure on.
    pub fn host_checks(&self, checks: &[crate::doctor::Check]) {
        self.lock().host_checks = checks
            .iter()
            .map(|c| (c.name.clone(), c.status.word()))
            .collect();
    }

    /// Takes one interval of a run (or of `serve`).
    pub fn observe_run(&self, interval: &Interval) {
        let snapshot = &interval.snapshot;
        let mut state = self.lock();
        state.intervals += 1;
        for thread in &snapshot.threads {
            let series = state.threads.entry(thread.name.clone()).or_default();
            take_thread(series, thread, ROW_BYTES, snapshot.interval_s);
        }
        state.count_warnings(&interval.warnings);
        for latency in &interval.latency {
            state
                .threads
                .entry(latency.thread.clone())
                .or_default()
                .latency
                .get_or_insert_with(LatencyBuckets::default)
                .add_hdr(&latency.histogram);
        }
        let t = &snapshot.totals;
        state.totals = Some([
            t.produced,
            Some(t.consumed),
            t.lost,
            t.duplicated,
            t.reordered,
        ]);
        if let Some(codec) = &snapshot.codec {
            for part in &codec.by_codec {
                let series = state.codecs.entry(part.name.clone()).or_default();
                series.frames += part.frames;
                series.rows += part.rows;
                series.raw_bytes += part.raw_bytes;
                series.encoded_bytes += part.encoded_bytes;
            }
        }
        let ring = &snapshot.ring;
        state.rings = vec![RingSeries {
            name: None,
            kind: ring.kind.clone(),
            capacity: ring.capacity.map(|c| c as u64),
            occupancy: ring.occupancy_rows,
            occupancy_bytes: ring.occupancy_bytes,
            lag: Vec::new(),
            memory_nodes: ring.memory_nodes.clone(),
        }];
        state.link = snapshot.transport.as_ref().map(|link| {
            let quantiles = |l: &Option<crate::metrics::snapshot::LatencyNs>| {
                l.as_ref().map(|l| (l.p50, l.p99, l.p999))
            };
            LinkSeries {
                kind: link.kind.clone(),
                role: match link.role {
                    crate::metrics::snapshot::LinkRole::Sender => "sender",
                    crate::metrics::snapshot::LinkRole::Receiver => "receiver",
                },
                frames: link.frames,
                bytes: link.bytes,
                credit_stalls: link.credit_stalls,
                sessions: link.sessions,
                refused: link.refused,
                dropped: link.dropped,
                round_trip_ns: quantiles(&link.round_trip_ns),
                one_way_ns: quantiles(&link.one_way_ns),
                connected: link.connected,
                connected_s: link.connected_s,
            }
        });
    }

    /// Takes one interval of an attached program; `histograms` are its consumers' latency
    /// histograms as the segment holds them (thread name, counts, sum in ns).
    pub fn observe_program(
        &self,
        interval: &ProgramInterval,
        histograms: &[(String, Vec<u64>, u64)],
    ) {
        let snapshot = &interval.snapshot;
        let mut state = self.lock();
        state.intervals += 1;
        state.count_warnings(&interval.warnings);
        // Threads come ring by ring: each ring's producer, then its consumers (one per lag).
        let item_sizes = snapshot
            .rings
            .iter()
            .flat_map(|r| std::iter::repeat_n(r.item_bytes, 1 + r.lag.len()));
        for (thread, item_bytes) in snapshot.threads.iter().zip(item_sizes) {
            let series = state.threads.entry(thread.name.clone()).or_default();
            take_thread(series, thread, item_bytes, snapshot.interval_s);
        }
        for (thread, counts, sum_ns) in histograms {
            state.threads.entry(thread.clone()).or_default().latency =
                Some(LatencyBuckets::from_segment(counts, *sum_ns));
        }
        state.rings = snapshot
            .rings
            .iter()
            .map(|r| RingSeries {
                name: Some(r.name.clone()),
                kind: r.ring.kind.clone(),
                capacity: r.ring.capacity.map(|c| c as u64),
                occupancy: r.ring.occupancy_rows,
                occupancy_bytes: r.ring.occupancy_bytes,
                lag: r.lag.clone(),
                memory_nodes: r.ring.memory_nodes.clone(),
            })
            .collect();
    }

    /// The figures are final: the run or attachment has ended and nothing more will change.
    pub fn mark_final(&self) {
        let mut state = self.lock();
        state.final_at_scrape = Some(state.scrapes);
    }

    /// Whether a scrape has read the final figures.
    pub fn final_figures_scraped(&self) -> bool {
        let state = self.lock();
        state.final_at_scrape.is_some_and(|at| state.scrapes > at)
    }

    /// Serves one scrape: the exposition as OpenMetrics text, counted.
    pub fn scrape(&self) -> String {
        let text = self.encode();
        self.lock().scrapes += 1;
        text
    }

    /// The exposition as OpenMetrics text.
    pub fn encode(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

fn take_thread(series: &mut ThreadSeries, thread: &ThreadSnapshot, item_bytes: u64, seconds: f64) {
    series.role = match thread.role {
        Role::Producer => "producer",
        Role::Consumer => "consumer",
    };
    series.cpu = thread.cpu;
    series.node = thread.node;
    series.rows = thread.rows;
    series.bytes = thread.rows * item_bytes;
    series.stalls = thread.endpoint.map(|e| e.stalls);
    series.index_reloads = thread.endpoint.map(|e| e.index_reloads);
    series.chase_backoffs = thread.endpoint.and_then(|e| e.chase_backoffs);
    series.ran_ratio = thread.scheduling.as_ref().map(|s| s.ran_share);
    if let Some(s) = &thread.scheduling
        && seconds > 0.0
    {
        series.waited_s += s.waited_s;
        series.involuntary_switches += s.involuntary_switches;
    }
}

mod exposition;
#[cfg(test)]
mod tests;
