//! Measurements: latency histograms, integrity checks, and the snapshot every front end reads.

pub mod counters;
pub mod figures;
pub mod human;
pub mod integrity;
pub mod latency;
pub mod pace;
pub mod rates;
pub mod sched;
pub mod snapshot;
#[cfg(not(loom))]
pub mod stacks;

pub use integrity::Integrity;
pub use latency::{LatencyHistogram, LatencySummary};
