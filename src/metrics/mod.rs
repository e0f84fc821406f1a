//! Measurements: latency histograms and the summaries front ends print.

pub mod latency;

pub use latency::{LatencyHistogram, LatencySummary};
