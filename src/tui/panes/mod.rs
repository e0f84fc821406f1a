//! One component per pane, each drawing from [`crate::tui::app::App`] only.

pub mod compression;
pub mod counters;
pub mod footer;
pub mod header;
pub mod latency;
pub mod overlay;
pub mod program;
pub mod throughput;
pub mod topology;
pub mod transport;
