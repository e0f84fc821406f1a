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

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::engine::Interval;
use crate::metrics::LatencyHistogram;
use crate::metrics::snapshot::{ProgramSnapshot, Role, ThreadSnapshot};
use crate::monitor::layout;

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
    ran_ratio: Option<f64>,
    waited_s: f64,
    involuntary_switches: u64,
    latency: Option<LatencyBuckets>,
}

/// A ring of an attached program.
#[derive(Debug, Clone)]
struct RingSeries {
    name: String,
    kind: String,
    capacity: u64,
    occupancy: u64,
    lag: Vec<u64>,
}

#[derive(Debug, Clone, Default)]
struct CodecSeries {
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
    credit_stalls: u64,
    sessions: u64,
    refused: u64,
    dropped: u64,
    round_trip_ns: Option<Quantiles>,
    one_way_ns: Option<Quantiles>,
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
    totals: Option<[u64; 5]>,
    codecs: BTreeMap<String, CodecSeries>,
    link: Option<LinkSeries>,
    rings: Vec<RingSeries>,
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

    /// Takes one interval of a run (or of `serve`).
    pub fn observe_run(&self, interval: &Interval) {
        let snapshot = &interval.snapshot;
        let mut state = self.lock();
        state.intervals += 1;
        for thread in &snapshot.threads {
            let series = state.threads.entry(thread.name.clone()).or_default();
            take_thread(series, thread, ROW_BYTES, snapshot.interval_s);
        }
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
        state.totals = Some([t.produced, t.consumed, t.lost, t.duplicated, t.reordered]);
        if let Some(codec) = &snapshot.codec {
            for part in &codec.by_codec {
                let series = state.codecs.entry(part.name.clone()).or_default();
                series.rows += part.rows;
                series.raw_bytes += part.raw_bytes;
                series.encoded_bytes += part.encoded_bytes;
            }
        }
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
            }
        });
    }

    /// Takes one interval of an attached program; `histograms` are its consumers' latency
    /// histograms as the segment holds them (thread name, counts, sum in ns).
    pub fn observe_program(
        &self,
        snapshot: &ProgramSnapshot,
        histograms: &[(String, Vec<u64>, u64)],
    ) {
        let mut state = self.lock();
        state.intervals += 1;
        for thread in &snapshot.threads {
            let ring = snapshot
                .rings
                .iter()
                .find(|r| thread.name.starts_with(&format!("{} ", r.name)));
            let item_bytes = ring.map_or(0, |r| r.item_bytes);
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
                name: r.name.clone(),
                kind: r.ring.kind.clone(),
                capacity: r.ring.capacity as u64,
                occupancy: r.ring.occupancy_rows,
                lag: r.lag.clone(),
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
    series.ran_ratio = thread.scheduling.as_ref().map(|s| s.ran_share);
    if let Some(s) = &thread.scheduling
        && seconds > 0.0
    {
        series.waited_s += s.waited_s;
        series.involuntary_switches += s.involuntary_switches;
    }
}

type Labels = Vec<(&'static str, String)>;

/// A family's name, its help, and how to pick its value out of a `T`.
type Described<T, V> = (&'static str, &'static str, fn(&T) -> V);

/// Writes one metric family: `name`, its help, its type, and a value per label set. A family
/// with no series now (no link, no attached ring) is still described, so every name ringtop can
/// serve is in every exposition.
fn family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    series: impl IntoIterator<Item = (Labels, M)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, metric) in series {
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A histogram's figures, for [`family`].
#[derive(Debug)]
struct Histogram<'a>(&'a LatencyBuckets);

impl EncodeMetric for Histogram<'_> {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        let buckets: Vec<(f64, u64)> = latency_bounds_ns()
            .map(|b| b as f64)
            .chain(std::iter::once(f64::INFINITY))
            .zip(self.0.counts.iter().copied())
            .collect();
        encoder.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            self.0.sum_ns,
            self.0.count,
            &buckets,
            None,
        )
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The info metric's labels.
#[derive(Debug)]
struct InfoMetric(Labels);

impl EncodeMetric for InfoMetric {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::MetricEncoder<'_>,
    ) -> Result<(), std::fmt::Error> {
        encoder.encode_info(&self.0)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Info
    }
}

impl Collector for Metrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let state = self.lock();
        let state = &*state;
        if let Some(info) = &state.info {
            let host = crate::host::HostFacts::read();
            let mut labels: Labels = vec![
                ("version", env!("CARGO_PKG_VERSION").to_owned()),
                ("command", info.command.clone()),
                ("subject", info.subject.clone()),
            ];
            if let Some(hostname) = host.hostname {
                labels.push(("host", hostname));
            }
            let mut family = encoder.encode_descriptor(
                "ringtop",
                "What is measured: ringtop's version, the command, the profile or program, the host.",
                None,
                MetricType::Info,
            )?;
            InfoMetric(labels).encode(family.encode_family(&Vec::<(&str, String)>::new())?)?;
        }
        family(
            &mut encoder,
            "ringtop_intervals",
            "Intervals measured since the start.",
            MetricType::Counter,
            [(Labels::new(), ConstCounter::new(state.intervals))],
        )?;
        let threads = || state.threads.iter();
        let by_thread = |name: &String, role: &str| -> Labels {
            vec![("thread", name.clone()), ("role", role.to_owned())]
        };
        family(
            &mut encoder,
            "ringtop_rows",
            "Rows (attach: items) written by a producer or read by a consumer since the start.",
            MetricType::Counter,
            threads().map(|(n, t)| (by_thread(n, t.role), ConstCounter::new(t.rows))),
        )?;
        family(
            &mut encoder,
            "ringtop_bytes",
            "Bytes of those rows (64 a row; attach: the ring's item size).",
            MetricType::Counter,
            threads().map(|(n, t)| (by_thread(n, t.role), ConstCounter::new(t.bytes))),
        )?;
        family(
            &mut encoder,
            "ringtop_stalls",
            "Episodes of finding the ring full (producer) or empty (consumer).",
            MetricType::Counter,
            threads().filter_map(|(n, t)| {
                t.stalls
                    .map(|v| (by_thread(n, t.role), ConstCounter::new(v)))
            }),
        )?;
        family(
            &mut encoder,
            "ringtop_index_reloads",
            "Re-reads of the other side's index that found it moved (a cache line pulled across).",
            MetricType::Counter,
            threads().filter_map(|(n, t)| {
                t.index_reloads
                    .map(|v| (by_thread(n, t.role), ConstCounter::new(v)))
            }),
        )?;
        family(
            &mut encoder,
            "ringtop_thread_cpu",
            "Where a thread last ran: 1 for its current CPU and that CPU's NUMA node.",
            MetricType::Gauge,
            threads().filter_map(|(n, t)| {
                t.cpu.map(|cpu| {
                    let mut labels = by_thread(n, t.role);
                    labels.push(("cpu", cpu.to_string()));
                    labels.push(("node", t.node.map_or(String::new(), |n| n.to_string())));
                    (labels, ConstGauge::new(1i64))
                })
            }),
        )?;
        family(
            &mut encoder,
            "ringtop_cpu_ran_ratio",
            "Share of the last interval the thread was on a CPU (1: all of it; a spinning thread below 0.9 waited for its CPU).",
            MetricType::Gauge,
            threads().filter_map(|(n, t)| {
                t.ran_ratio
                    .map(|v| (by_thread(n, t.role), ConstGauge::new(v)))
            }),
        )?;
        family(
            &mut encoder,
            "ringtop_cpu_waited_seconds",
            "Seconds the thread waited runnable for a CPU, summed over the intervals measured.",
            MetricType::Counter,
            threads()
                .filter(|(_, t)| t.ran_ratio.is_some())
                .map(|(n, t)| (by_thread(n, t.role), ConstCounter::new(t.waited_s))),
        )?;
        family(
            &mut encoder,
            "ringtop_involuntary_switches",
            "Times the scheduler took the thread's CPU away, summed over the intervals measured.",
            MetricType::Counter,
            threads()
                .filter(|(_, t)| t.ran_ratio.is_some())
                .map(|(n, t)| {
                    (
                        by_thread(n, t.role),
                        ConstCounter::new(t.involuntary_switches),
                    )
                }),
        )?;
        family(
            &mut encoder,
            "ringtop_latency_ns",
            "Consumer latency from each row's stamp (its scheduled send time when rate-limited), nanoseconds.",
            MetricType::Histogram,
            threads().filter_map(|(n, t)| {
                t.latency
                    .as_ref()
                    .map(|l| (by_thread(n, t.role), Histogram(l)))
            }),
        )?;
        let totals: [Described<[u64; 5], u64>; 5] = [
            (
                "ringtop_rows_produced",
                "Rows written by all producers.",
                |t| t[0],
            ),
            (
                "ringtop_rows_consumed",
                "Rows read by all consumers (a broadcast row once per consumer).",
                |t| t[1],
            ),
            (
                "ringtop_rows_lost",
                "Rows a consumer should have seen and never did. Must be 0.",
                |t| t[2],
            ),
            (
                "ringtop_rows_duplicated",
                "Rows seen twice. Must be 0.",
                |t| t[3],
            ),
            (
                "ringtop_rows_reordered",
                "Rows seen out of order. Must be 0.",
                |t| t[4],
            ),
        ];
        for (name, help, pick) in totals {
            family(
                &mut encoder,
                name,
                help,
                MetricType::Counter,
                state
                    .totals
                    .as_ref()
                    .map(|t| (Labels::new(), ConstCounter::new(pick(t)))),
            )?;
        }
        let codecs = || state.codecs.iter();
        let by_codec = |name: &String| -> Labels { vec![("codec", name.clone())] };
        family(
            &mut encoder,
            "ringtop_codec_raw_bytes",
            "Row bytes encoded, per codec.",
            MetricType::Counter,
            codecs().map(|(n, c)| (by_codec(n), ConstCounter::new(c.raw_bytes))),
        )?;
        family(
            &mut encoder,
            "ringtop_codec_encoded_bytes",
            "Frame bytes written, headers included, per codec.",
            MetricType::Counter,
            codecs().map(|(n, c)| (by_codec(n), ConstCounter::new(c.encoded_bytes))),
        )?;
        family(
            &mut encoder,
            "ringtop_codec_rows",
            "Rows in frames, per codec.",
            MetricType::Counter,
            codecs().map(|(n, c)| (by_codec(n), ConstCounter::new(c.rows))),
        )?;
        let link = state.link.as_ref();
        let link_labels = |link: &LinkSeries| -> Labels {
            vec![("kind", link.kind.clone()), ("role", link.role.to_owned())]
        };
        let link_counters: [Described<LinkSeries, u64>; 6] = [
            (
                "ringtop_link_frames",
                "Frames sent (sender) or received (receiver).",
                |l| l.frames,
            ),
            (
                "ringtop_link_bytes",
                "Bytes on the wire: frames, record headers, padding, message headers.",
                |l| l.bytes,
            ),
            (
                "ringtop_link_credit_stalls",
                "Times the sender found the remote ring full.",
                |l| l.credit_stalls,
            ),
            (
                "ringtop_link_sessions",
                "Connections made (sender) or accepted (receiver).",
                |l| l.sessions,
            ),
            (
                "ringtop_link_refused",
                "Connections refused at the handshake.",
                |l| l.refused,
            ),
            (
                "ringtop_link_dropped",
                "Connections dropped after a bad message or silence.",
                |l| l.dropped,
            ),
        ];
        for (name, help, pick) in link_counters {
            family(
                &mut encoder,
                name,
                help,
                MetricType::Counter,
                link.map(|l| (link_labels(l), ConstCounter::new(pick(l)))),
            )?;
        }
        let link_quantiles: [Described<LinkSeries, Option<Quantiles>>; 2] = [
            (
                "ringtop_link_round_trip_ns",
                "Sender: round trip from a row's stamp to the receiver's credit echoing it, over the last interval, by quantile.",
                |l| l.round_trip_ns,
            ),
            (
                "ringtop_link_one_way_ns",
                "Receiver: one-way latency from the row stamp (same host clock only), over the last interval, by quantile.",
                |l| l.one_way_ns,
            ),
        ];
        for (name, help, pick) in link_quantiles {
            let series = link.into_iter().flat_map(|l| {
                pick(l).into_iter().flat_map(move |(p50, p99, p999)| {
                    [("0.5", p50), ("0.99", p99), ("0.999", p999)].map(|(q, v)| {
                        let mut labels = link_labels(l);
                        labels.push(("quantile", q.to_owned()));
                        (labels, ConstGauge::new(gauge(v)))
                    })
                })
            });
            family(&mut encoder, name, help, MetricType::Gauge, series)?;
        }
        let rings = || state.rings.iter();
        let by_ring =
            |r: &RingSeries| -> Labels { vec![("ring", r.name.clone()), ("kind", r.kind.clone())] };
        family(
            &mut encoder,
            "ringtop_ring_capacity",
            "An attached program's ring: slots.",
            MetricType::Gauge,
            rings().map(|r| (by_ring(r), ConstGauge::new(gauge(r.capacity)))),
        )?;
        family(
            &mut encoder,
            "ringtop_ring_occupancy",
            "An attached program's ring: items written and not yet read by its slowest consumer.",
            MetricType::Gauge,
            rings().map(|r| (by_ring(r), ConstGauge::new(gauge(r.occupancy)))),
        )?;
        family(
            &mut encoder,
            "ringtop_ring_lag",
            "An attached program's ring: items a consumer is behind the producer.",
            MetricType::Gauge,
            rings().flat_map(|r| {
                r.lag.iter().enumerate().map(move |(i, lag)| {
                    let mut labels = by_ring(r);
                    labels.push(("consumer", i.to_string()));
                    (labels, ConstGauge::new(gauge(*lag)))
                })
            }),
        )?;
        Ok(())
    }
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sources_put_a_value_in_the_same_bucket_and_the_bounds_are_inclusive() {
        let values = [
            0u64,
            1,
            31,
            32,
            63,
            64,
            1000,
            1023,
            1024,
            65_535,
            1 << 20,
            1 << 35,
        ];
        let mut hdr = LatencyHistogram::new();
        let mut segment = vec![0u64; layout::BUCKETS];
        for v in values {
            hdr.record(v);
            segment[layout::bucket_of(v)] += 1;
        }
        let mut from_hdr = LatencyBuckets::default();
        from_hdr.add_hdr(&hdr);
        let from_segment = LatencyBuckets::from_segment(&segment, values.iter().sum());
        assert_eq!(from_hdr.counts, from_segment.counts);
        assert_eq!(from_hdr.count, values.len() as u64);
        // le = 31: 0, 1 and 31 (HdrHistogram records 0 as 1).
        assert_eq!(from_hdr.counts[0], 3);
        // le = 63: 32 and 63; 64 is the next bucket's.
        assert_eq!(from_hdr.counts[1], 2);
        assert_eq!(from_hdr.counts[2], 1);
        assert_eq!(from_hdr.counts[31], 1, "2^35 ns: le = 2^36 − 1");
        // Beyond 2^36 − 1 ns: +Inf (a run's HdrHistogram clamps at 60 s, below that bound).
        let mut beyond = vec![0u64; layout::BUCKETS];
        beyond[layout::bucket_of(1 << 37)] = 1;
        let beyond = LatencyBuckets::from_segment(&beyond, 1 << 37);
        assert_eq!(*beyond.counts.last().unwrap(), 1);
    }

    #[test]
    fn every_family_is_described_before_any_figure_arrives() {
        let text = Metrics::new(Info {
            command: "run".into(),
            subject: "test".into(),
        })
        .encode();
        for family in [
            "ringtop_rows",
            "ringtop_latency_ns",
            "ringtop_link_round_trip_ns",
            "ringtop_ring_lag",
            "ringtop_rows_lost",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family} ")),
                "{family}:\n{text}"
            );
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
