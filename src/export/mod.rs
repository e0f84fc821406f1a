//! What leaves the terminal: the Prometheus / OpenMetrics exposition (`--metrics-listen`).
//!
//! - [`metrics`]: the figures a front end hands over each interval, kept as Prometheus wants
//!   them (counters since the start, gauges now, classic histograms with log-spaced nanosecond
//!   buckets), and encoded with `prometheus-client` on each scrape.
//! - [`server`]: the HTTP endpoint that serves them.

pub mod metrics;
pub mod server;

pub use metrics::Metrics;
pub use server::MetricsServer;
