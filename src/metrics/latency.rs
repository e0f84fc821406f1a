//! Latency recording on HdrHistogram, and the percentile summary every report uses.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency recorded exactly: 60 s. Longer values are clamped to it (and still counted).
const MAX_TRACKABLE_NS: u64 = 60_000_000_000;
/// Significant decimal digits kept at every magnitude (0.1% resolution).
const SIGNIFICANT_DIGITS: u8 = 3;
/// The fewest samples for a p90 that is more than the largest sample, as [`P99_SAMPLES`].
pub const P90_SAMPLES: u64 = 10;
/// The fewest samples for a p99 that is more than the slowest of them: under 100, the 99th
/// percentile is the largest sample.
pub const P99_SAMPLES: u64 = 100;
/// The fewest samples for a p99.9 that is more than the largest sample, as [`P99_SAMPLES`].
pub const P999_SAMPLES: u64 = 1_000;
/// The fewest samples for a p99.99 that is more than the largest sample, as [`P99_SAMPLES`].
pub const P9999_SAMPLES: u64 = 10_000;

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

    #[test]
    fn empty_is_all_zero_and_huge_values_are_clamped() {
        assert_eq!(LatencyHistogram::new().summary().p99_ns, 0);
        let mut h = LatencyHistogram::new();
        h.record(u64::MAX);
        assert_eq!(h.len(), 1);
        assert!(h.summary().max_ns >= MAX_TRACKABLE_NS);
    }
}
