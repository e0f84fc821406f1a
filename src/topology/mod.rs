//! The machine as hwloc sees it, and placing threads and memory on it deliberately.
//!
//! - [`model`]: the machine's shape as plain, serialisable data, with the placement questions the
//!   engine and dashboard ask (node of a CPU, shared caches, remote reads).
//! - [`discover`]: filling that model from this host, a synthetic description or an XML export.
//! - [`render`]: the readable tree `ringtop topo` prints.
//! - [`pin`]: the allowed CPUs, pinning the calling thread, and reading back where it runs.
//! - [`memory`]: NUMA-bound ring memory through the ring's allocation hook, with huge pages.
//! - [`c2c`]: the core-to-core round-trip map, the physical floor under every ring.
//! - [`cpulist`]: Linux-style CPU lists (`0-3,6`).

pub mod c2c;
pub mod cpulist;
pub mod discover;
pub mod memory;
pub(crate) mod mmap;
pub mod model;
pub mod pages;
pub mod pin;
pub mod render;

pub use discover::{TopologyError, from_synthetic, from_xml_file, host};
pub use memory::{
    AllocationReport, BindingOutcome, MemoryPlacement, NodeChoice, NumaAlloc, PageLocation,
};
pub use mmap::{HUGE_PAGE_BYTES, PageBacking};
pub use model::{CpuRelation, PlacementError, Topology};
pub use pin::PinError;
