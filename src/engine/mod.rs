//! Running workloads on pinned threads and measuring them.
//!
//! - [`probe`]: a short SPSC measurement (throughput, one-way and round-trip latency) that shows
//!   what the ring does on this machine.

pub mod probe;
