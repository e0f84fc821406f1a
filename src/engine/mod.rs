//! Running workloads on pinned threads and measuring them.
//!
//! - [`pin`]: which CPUs this process may use, and pinning a thread to one of them.
//! - [`probe`]: a short SPSC measurement (throughput, one-way and round-trip latency) that shows
//!   what the ring does on this machine.

pub mod pin;
pub mod probe;
