//! What leaves the terminal: the Prometheus / OpenMetrics exposition (`--metrics-listen`) and the
//! comparison of two runs.
//!
//! - [`metrics`]: the figures a front end hands over each interval, kept as Prometheus wants
//!   them (counters since the start, gauges now, classic histograms with log-spaced nanosecond
//!   buckets), and encoded with `prometheus-client` on each scrape.
//! - [`server`]: the HTTP endpoint that serves them.
//! - [`flamegraph`]: the workers' sampled stacks as a flamegraph SVG.
//! - [`compare`]: two headless runs (or attachments) side by side, with a verdict CI can gate on.
//! - [`report`]: one self-contained HTML file of a run, its plots drawn by [`svg`].

pub mod compare;
pub mod flamegraph;
pub mod metrics;
pub mod report;
pub mod server;
pub mod svg;

pub use metrics::Metrics;
pub use server::MetricsServer;
