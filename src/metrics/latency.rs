//! Latency recording on HdrHistogram, and the percentile summary every report uses.

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::metrics::snapshot::LatencyNs;

/// Highest latency recorded exactly: 60 s. Longer values are clamped to it (and still counted).
const MAX_TRACKABLE_NS: u64 = 60_000_000_000;
/// Significant decimal digits kept at every magnitude (0.1% resolution).
const SIGNIFICANT_DIGITS: u8 = 3;
/// The fewest samples for a p90 that is more than the largest sample, as [`P99_SAMPLES`].
pub const P90_SAMPLES: u64 = Percentile::P90.samples_needed();
/// The fewest samples for a p99 that is more than the slowest of them: under 100, the 99th
/// percentile is the largest sample.
pub const P99_SAMPLES: u64 = Percentile::P99.samples_needed();
/// The fewest samples for a p99.9 that is more than the largest sample, as [`P99_SAMPLES`].
pub const P999_SAMPLES: u64 = Percentile::P999.samples_needed();
/// The fewest samples for a p99.99 that is more than the largest sample, as [`P99_SAMPLES`].
pub const P9999_SAMPLES: u64 = Percentile::P9999.samples_needed();

/// A latency figure every report shows, and the one home of the rule for when it stands on too
/// few samples to be what it says: a percentile q of fewer than 1/(1 − q) samples is only the
/// largest of them (`*` in `probe`, `=max` in the dashboard and the report, `thin` in
/// `compare`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Percentile {
    /// The median.
    P50,
    /// The 90th percentile.
    P90,
    /// The 99th percentile.
    P99,
    /// The 99.9th percentile.
    P999,
    /// The 99.99th percentile.
    P9999,
    /// The largest sample.
    Max,
}

impl Percentile {
    /// The fewest samples for this figure to be more than the largest of them (one for the
    /// median and the largest, which any sample gives).
    pub const fn samples_needed(self) -> u64 {
        match self {
            Percentile::P50 | Percentile::Max => 1,
            Percentile::P90 => 10,
            Percentile::P99 => 100,
            Percentile::P999 => 1_000,
            Percentile::P9999 => 10_000,
        }
    }

    /// Whether `count` samples are too few for it: it is then the largest of them.
    pub const fn is_thin(self, count: u64) -> bool {
        count < self.samples_needed()
    }

    /// Its figure in `latency`, ns.
    pub fn of(self, latency: &LatencyNs) -> u64 {
        match self {
            Percentile::P50 => latency.p50,
            Percentile::P90 => latency.p90,
            Percentile::P99 => latency.p99,
            Percentile::P999 => latency.p999,
            Percentile::P9999 => latency.p9999,
            Percentile::Max => latency.max,
        }
    }
}

/// A latency histogram in nanoseconds: constant-time recording, percentiles to 0.1%.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    inner: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram covering 1 ns to 60 s.
    pub fn new() -> Self {
        let inner = Histogram::new_with_bounds(1, MAX_TRACKABLE_NS, SIGNIFICANT_DIGITS)
            .expect("static histogram bounds are valid");
        Self { inner }
    }

    /// Records one latency; values beyond the range are clamped, never dropped.
    #[inline]
    pub fn record(&mut self, nanos: u64) {
        self.inner.saturating_record(nanos.max(1));
    }

    /// Records `count` latencies of `nanos` each (clamped as [`Self::record`] clamps).
    pub fn record_n(&mut self, nanos: u64, count: u64) {
        self.inner.saturating_record_n(nanos.max(1), count);
    }

    /// Samples recorded.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Self) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.inner.add(&other.inner);
    }

    /// Forgets every sample.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// The percentile summary.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.inner;
        let empty = h.is_empty();
        let q = |quantile: f64| {
            if empty {
                0
            } else {
                h.value_at_quantile(quantile)
            }
        };
        LatencySummary {
            count: h.len(),
            min_ns: if empty { 0 } else { h.min() },
            mean_ns: if empty { 0.0 } else { h.mean() },
            p50_ns: q(0.50),
            p90_ns: q(0.90),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            p9999_ns: q(0.9999),
            max_ns: if empty { 0 } else { h.max() },
        }
    }

    /// The underlying HdrHistogram, for log writers.
    pub fn as_hdr(&self) -> &Histogram<u64> {
        &self.inner
    }
}

/// Percentiles of one latency distribution, in nanoseconds. All zero when `count` is 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Smallest sample.
    pub min_ns: u64,
    /// Arithmetic mean.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// 99.99th percentile.
    pub p9999_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_follow_the_samples() {
        let mut h = LatencyHistogram::new();
        for v in 1..=1000u64 {
            h.record(v * 100);
        }
        let s = h.summary();
        assert_eq!(s.count, 1000);
        assert!((49_900..=50_100).contains(&s.p50_ns), "{s:?}");
        assert!((98_900..=99_100).contains(&s.p99_ns), "{s:?}");
        assert!((99_900..=100_100).contains(&s.max_ns), "{s:?}");
        assert_eq!(s.min_ns, 100);
    }

    /// Under 1/(1 − q) samples a percentile q is the largest sample: `is_thin` says so exactly
    /// there, as the histogram shows.
    #[test]
    fn a_percentile_of_fewer_samples_than_it_needs_is_the_largest_of_them() {
        for figure in [Percentile::P90, Percentile::P99, Percentile::P999] {
            let needs = figure.samples_needed();
            for (count, thin) in [(needs - 1, true), (needs, false)] {
                let mut h = LatencyHistogram::new();
                for v in 1..=count {
                    h.record(v * 1_000);
                }
                let latency = crate::metrics::snapshot::LatencyNs::from(h.summary());
                assert_eq!(figure.is_thin(count), thin, "{figure:?} of {count}");
                let is_max = figure.of(&latency) == latency.max;
                assert_eq!(is_max, thin, "{figure:?} of {count}: {latency:?}");
            }
        }
        assert!(!Percentile::P50.is_thin(1) && !Percentile::Max.is_thin(1));
    }

    #[test]
    fn empty_is_all_zero_and_huge_values_are_clamped() {
        assert_eq!(LatencyHistogram::new().summary().p99_ns, 0);
        let mut h = LatencyHistogram::new();
        h.record(u64::MAX);
        assert_eq!(h.len(), 1);
        assert!(h.summary().max_ns >= MAX_TRACKABLE_NS);
    }
}
