//! The exposition: every metric family, described and encoded on each scrape from what
//! [`Metrics`] holds.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{
    LatencyBuckets, LinkSeries, Metrics, Quantiles, RingSeries, ThreadSeries, latency_bounds_ns,
};

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
        family(
            &mut encoder,
            "ringtop_warnings",
            "Intervals that carried a warning of this kind about this subject (a thread, a link's address, the workload).",
            MetricType::Counter,
            state.warnings.iter().map(|((kind, subject), count)| {
                (
                    vec![("kind", kind.clone()), ("subject", subject.clone())],
                    ConstCounter::new(*count),
                )
            }),
        )?;
        family(
            &mut encoder,
            "ringtop_host_check",
            "1 for each `ringtop doctor` check of the run's CPUs at its start, with its verdict (ok, warn, fail, n/a).",
            MetricType::Gauge,
            state.host_checks.iter().map(|(check, status)| {
                (
                    vec![("check", check.clone()), ("status", (*status).to_owned())],
                    ConstGauge::new(1i64),
                )
            }),
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
        // The ring's own counters: a series only where the thread's ring keeps that count.
        type Count = fn(&ThreadSeries) -> Option<u64>;
        let ring_counters: [(&str, &str, Count); 3] = [
            (
                "ringtop_stalls",
                "Episodes of finding the ring full (producer) or empty (consumer).",
                |t| t.stalls,
            ),
            (
                "ringtop_index_reloads",
                "Re-reads of the other side's index that found it moved (a cache line pulled across).",
                |t| t.index_reloads,
            ),
            (
                "ringtop_chase_backoffs",
                "Times an SPSC consumer caught itself reading right behind a streaming producer and fell back a few spins.",
                |t| t.chase_backoffs,
            ),
        ];
        for (name, help, count) in ring_counters {
            family(
                &mut encoder,
                name,
                help,
                MetricType::Counter,
                threads().filter_map(|(n, t)| {
                    count(t).map(|v| (by_thread(n, t.role), ConstCounter::new(v)))
                }),
            )?;
        }
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
        let totals: [Described<[Option<u64>; 5], Option<u64>>; 5] = [
            (
                "ringtop_rows_produced",
                "Rows written by all producers (absent on a receiver: its sender's figure).",
                |t| t[0],
            ),
            (
                "ringtop_rows_consumed",
                "Rows read by all consumers (a broadcast row once per consumer; on a sender, those its \
                 receiver acknowledged).",
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
                    .and_then(pick)
                    .map(|v| (Labels::new(), ConstCounter::new(v))),
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
        family(
            &mut encoder,
            "ringtop_codec_frames",
            "Frames coded, per codec (rows over frames: the rows a frame).",
            MetricType::Counter,
            codecs().map(|(n, c)| (by_codec(n), ConstCounter::new(c.frames))),
        )?;
        let link = state.link.as_ref();
        let link_labels = |link: &LinkSeries| -> Labels {
            vec![("kind", link.kind.clone()), ("role", link.role.to_owned())]
        };
        let link_counters: [Described<LinkSeries, Option<u64>>; 6] = [
            (
                "ringtop_link_frames",
                "Frames sent (sender) or received (receiver).",
                |l| Some(l.frames),
            ),
            (
                "ringtop_link_bytes",
                "Bytes on the wire: frames, record headers, padding, message headers.",
                |l| Some(l.bytes),
            ),
            (
                "ringtop_link_credit_stalls",
                "Sender: times it found the remote ring full (absent on a receiver).",
                |l| l.credit_stalls,
            ),
            (
                "ringtop_link_sessions",
                "Connections made (sender) or accepted (receiver).",
                |l| Some(l.sessions),
            ),
            (
                "ringtop_link_refused",
                "Connections refused at the handshake.",
                |l| Some(l.refused),
            ),
            (
                "ringtop_link_dropped",
                "Connections dropped after a bad message or silence.",
                |l| Some(l.dropped),
            ),
        ];
        for (name, help, pick) in link_counters {
            family(
                &mut encoder,
                name,
                help,
                MetricType::Counter,
                link.and_then(|l| pick(l).map(|v| (link_labels(l), ConstCounter::new(v)))),
            )?;
        }
        family(
            &mut encoder,
            "ringtop_link_connected",
            "1 while a peer is connected, else 0 (a sender's link is down, a receiver waits).",
            MetricType::Gauge,
            link.map(|l| (link_labels(l), ConstGauge::new(i64::from(l.connected)))),
        )?;
        family(
            &mut encoder,
            "ringtop_link_connected_seconds",
            "Seconds a peer has been connected since the start: a receiver's rows over these are its rate while served.",
            MetricType::Counter,
            link.and_then(|l| Some((link_labels(l), ConstCounter::new(l.connected_s?)))),
        )?;
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
        // The run's ring by its kind; an attached program's by its name too.
        let by_ring = |r: &RingSeries| -> Labels {
            r.name
                .iter()
                .map(|name| ("ring", name.clone()))
                .chain([("kind", r.kind.clone())])
                .collect()
        };
        let on_node = |mut labels: Labels, node: &usize| {
            labels.push(("node", node.to_string()));
            (labels, ConstGauge::new(1i64))
        };
        family(
            &mut encoder,
            "ringtop_ring_memory_node",
            "Where a ring's pages are: 1 for each NUMA node holding some (the run's ring by `kind`; an attached program's rings by `ring` and `kind`).",
            MetricType::Gauge,
            rings().flat_map(|r| {
                r.memory_nodes
                    .iter()
                    .map(move |node| on_node(by_ring(r), node))
            }),
        )?;
        family(
            &mut encoder,
            "ringtop_ring_capacity",
            "A ring's slots (a framed run's: 64 bytes of frames each; a sender's: its receiver's window, as its welcome said).",
            MetricType::Gauge,
            rings().filter_map(|r| Some((by_ring(r), ConstGauge::new(gauge(r.capacity?))))),
        )?;
        family(
            &mut encoder,
            "ringtop_ring_occupancy",
            "Items written and not yet read by a ring's slowest consumer at the last interval's end (a framed run counts rows, which outnumber the slots when frames compress; a sender's: rows sent and not yet acknowledged read by its receiver).",
            MetricType::Gauge,
            rings().filter_map(|r| Some((by_ring(r), ConstGauge::new(gauge(r.occupancy?))))),
        )?;
        family(
            &mut encoder,
            "ringtop_ring_occupancy_bytes",
            "The receiving end of a link: bytes of its window its sender wrote and its consumer had not read at the last interval's end (its rows are not known before they are decoded).",
            MetricType::Gauge,
            rings().filter_map(|r| Some((by_ring(r), ConstGauge::new(gauge(r.occupancy_bytes?))))),
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
