//! ringtop: a NUMA-aware, cache-aligned, lock-free ring engine, and the tools to watch and tune
//! it on a real machine.
//!
//! - [`ring`]: the rings themselves (SPSC, broadcast, MPMC, variable-length frames), usable on
//!   their own in any program.
//! - [`row`]: the 64-byte record ringtop's workloads carry.
//! - [`clock`]: the clock every row stamp is read from, shared by the processes of one host.
//! - [`host`]: facts about this host a measurement depends on (kernel, CPU model, clocksource).
//! - [`input`]: files and streams users hand ringtop, read with a bound; [`save`]: the files
//!   it writes for them, whole or not at all.
//! - [`codec`]: frame codecs (delta, LZ4, Gorilla XOR, decimal, …) switchable per frame.
//! - [`source`]: deterministic data generators and CSV replay.
//! - [`metrics`]: latency histograms and their summaries.
//! - [`topology`]: the machine as hwloc sees it; pinning, NUMA-placed memory, the core-to-core map.
//! - [`profile`]: tuning profiles, TOML in and out, checked against the machine.
//! - [`transport`]: remote rings over TCP (and RDMA verbs with the `rdma` feature).
//! - [`doctor`]: whether this host is fit to measure on, check by check, with the fixes.
//! - [`monitor`]: publishing a program's own rings for `ringtop attach`, and reading them.
//! - [`engine`]: runs workloads on pinned threads, takes commands while they run, measures them.
//! - [`export`]: Prometheus metrics (`--metrics-listen`).
//! - [`headless`]: the JSON-lines front end for scripts and CI; [`output`]: its lines and their
//!   schema.
//! - [`tui`]: the dashboard.

// `eprintln!` and `println!` panic when their stream cannot be written (a full disk under
// `2> log`): lines for the operator go through `output::to_stderr` and `to_stdout`.
#![warn(clippy::print_stderr, clippy::print_stdout)]

pub mod clock;
pub mod codec;
pub mod host;
pub mod input;
// The loom build checks the rings; the engine and its front ends use APIs only real builds have.
#[cfg(not(loom))]
pub mod doctor;
#[cfg(not(loom))]
pub mod engine;
#[cfg(not(loom))]
pub mod export;
#[cfg(not(loom))]
pub mod headless;
pub mod metrics;
#[cfg(not(loom))]
pub mod monitor;
#[cfg(not(loom))]
pub mod output;
pub mod profile;
pub mod ring;
pub mod row;
#[cfg(not(loom))]
pub mod save;
pub mod source;
pub mod topology;
#[cfg(not(loom))]
pub mod transport;
#[cfg(not(loom))]
pub mod tui;
#[cfg(not(loom))]
pub mod tune;
pub mod words;

pub use row::Row;

/// The README's and the manual's Rust examples, compiled and run as doctests so they cannot go
/// stale (`tests/docs.rs` runs their commands and parses their profiles).
#[cfg(doctest)]
pub mod doc_examples {
    macro_rules! pages {
        ($($name:ident => $path:literal),* $(,)?) => {
            $(
                #[doc = include_str!($path)]
                pub struct $name;
            )*
        };
    }
    pages! {
        Readme => "../README.md",
        Machine => "../docs/machine.md",
        Dashboard => "../docs/dashboard.md",
        Profiles => "../docs/profiles.md",
        Headless => "../docs/headless.md",
        Remote => "../docs/remote.md",
        Codecs => "../docs/codecs.md",
        Library => "../docs/library.md",
        Attach => "../docs/attach.md",
        MonitorFormat => "../docs/monitor-format.md",
        Metrics => "../docs/metrics.md",
        Correctness => "../docs/correctness.md",
        Performance => "../docs/performance.md",
        Design => "../docs/design.md",
    }
}
