//! The machine's shape as plain data: what `ringtop topo --json` prints, what the engine and the
//! dashboard reason about, and what tests build from synthetic descriptions.
//!
//! Nothing here talks to hwloc: [`super::discover`] fills these types once, and every placement
//! question is answered from them, so the same logic works for this host, a synthetic machine and
//! an XML export of a production box.

use serde::{Deserialize, Serialize};

use super::cpulist::format_cpu_list;
use super::pin::PinError;
use crate::words::counted;

/// Where a [`Topology`] came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TopologySource {
    /// Discovered on the machine ringtop runs on.
    Host,
    /// Built from an hwloc synthetic description such as `"pack:2 numa:1 core:4 pu:2"`.
    Synthetic {
        /// The description as given.
        description: String,
    },
    /// Loaded from an hwloc XML export (`lstopo --of xml`) of some machine.
    Xml {
        /// The file it was read from.
        path: String,
    },
}

/// A NUMA node: a pool of memory and the CPUs closest to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NumaNode {
    /// The operating system's number for the node (`/sys/devices/system/node/nodeN`).
    pub os_index: usize,
    /// Memory local to this node, in bytes (0 when the source does not say).
    pub memory_bytes: u64,
    /// CPUs (OS indices) local to this node; empty for a memory-only node.
    pub cpus: Vec<usize>,
    /// Page sizes this node offers, in bytes, with how many pages of each are configured
    /// (explicit huge pages show up here with a count of 0 when none are reserved).
    pub page_sizes: Vec<PageSize>,
}

/// One page size a NUMA node supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PageSize {
    /// Bytes per page.
    pub size_bytes: u64,
    /// Pages of this size the node has configured.
    pub count: u64,
}

/// A physical processor package (socket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Package {
    /// The operating system's number for the package, when it gives one.
    pub os_index: Option<usize>,
    /// CPUs (OS indices) in this package.
    pub cpus: Vec<usize>,
    /// NUMA nodes whose CPUs lie in this package.
    pub nodes: Vec<usize>,
}

/// A physical core: one or more hardware threads (PUs) sharing an execution engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Core {
    /// Position of the core in [`Topology::cores`], stable within one topology.
    pub index: usize,
    /// The operating system's number for the core, when it gives one (core ids repeat across
    /// packages on Linux, so this is not unique; `index` is).
    pub os_index: Option<usize>,
    /// Hardware threads (OS CPU indices) of this core.
    pub pus: Vec<usize>,
}

/// A processing unit: what the OS calls a CPU, the unit threads are pinned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Pu {
    /// The operating system's CPU number.
    pub os_index: usize,
    /// Index into [`Topology::cores`] of the core holding this PU.
    pub core: usize,
    /// Position in [`Topology::packages`] of its package, if the machine reports packages.
    pub package: Option<usize>,
    /// OS index of the NUMA node local to this PU, if any.
    pub node: Option<usize>,
    /// Whether this process may run on it (affinity mask and cgroup).
    pub allowed: bool,
}

/// What a cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheKind {
    /// Data and instructions.
    Unified,
    /// Data only.
    Data,
    /// Instructions only.
    Instruction,
}

impl CacheKind {
    /// The suffix lstopo uses after the level (`L1d`, `L1i`, `L2`).
    pub fn suffix(self) -> &'static str {
        match self {
            CacheKind::Unified => "",
            CacheKind::Data => "d",
            CacheKind::Instruction => "i",
        }
    }
}

/// One CPU cache instance and the CPUs that share it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Cache {
    /// 1 for L1, 2 for L2, …
    pub level: u8,
    /// Data, instruction or unified.
    pub kind: CacheKind,
    /// Capacity in bytes (0 when the source does not say).
    pub size_bytes: u64,
    /// Line size in bytes (0 when the source does not say).
    pub line_bytes: u64,
    /// CPUs (OS indices) sharing this cache instance.
    pub cpus: Vec<usize>,
}

/// How close two CPUs are, from nearest to farthest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "relation", content = "level", rename_all = "snake_case")]
pub enum CpuRelation {
    /// The same CPU.
    SameCpu,
    /// Two hardware threads of one core: they share everything down to L1.
    SameCore,
    /// Different cores sharing a cache of this level (the lowest one they share).
    SharedCache(u8),
    /// Same package, no shared cache.
    SamePackage,
    /// Same NUMA node but different packages (rare).
    SameNode,
    /// Different packages and nodes: every line crosses the interconnect.
    Remote,
}

impl CpuRelation {
    /// A short human label (`"same core"`, `"shares L3"`, `"cross-package"`).
    pub fn label(self) -> String {
        match self {
            CpuRelation::SameCpu => "same CPU".to_owned(),
            CpuRelation::SameCore => "same core".to_owned(),
            CpuRelation::SharedCache(level) => format!("shares L{level}"),
            CpuRelation::SamePackage => "same package".to_owned(),
            CpuRelation::SameNode => "same node".to_owned(),
            CpuRelation::Remote => "cross-package".to_owned(),
        }
    }
}

/// A machine's processors, caches and memory nodes, and which CPUs this process may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Topology {
    /// Where this description came from.
    pub source: TopologySource,
    /// NUMA nodes, by OS index.
    pub numa_nodes: Vec<NumaNode>,
    /// Packages, in hwloc's logical order.
    pub packages: Vec<Package>,
    /// Cores, in hwloc's logical order.
    pub cores: Vec<Core>,
    /// PUs, by OS index.
    pub pus: Vec<Pu>,
    /// Every cache instance, from the highest level down.
    pub caches: Vec<Cache>,
    /// CPUs this process may run on, ascending.
    pub allowed_cpus: Vec<usize>,
}

impl Topology {
    /// The PU with OS index `cpu`, if the machine has one.
    pub fn pu(&self, cpu: usize) -> Option<&Pu> {
        self.pus.iter().find(|p| p.os_index == cpu)
    }

    /// The NUMA node with OS index `node`.
    pub fn node(&self, node: usize) -> Option<&NumaNode> {
        self.numa_nodes.iter().find(|n| n.os_index == node)
    }

    /// Total memory over all NUMA nodes, in bytes.
    pub fn total_memory_bytes(&self) -> u64 {
        self.numa_nodes.iter().map(|n| n.memory_bytes).sum()
    }

    /// Checks that `cpu` exists and this process may run on it.
    ///
    /// # Errors
    /// [`PinError::NotAllowed`] naming the allowed set.
    pub fn check_cpu(&self, cpu: usize) -> Result<(), PinError> {
        if self.allowed_cpus.contains(&cpu) {
            Ok(())
        } else {
            Err(PinError::NotAllowed {
                cpu,
                allowed: self.allowed_cpus.clone(),
            })
        }
    }

    /// Checks that the NUMA node exists.
    ///
    /// # Errors
    /// [`PlacementError::NoSuchNode`] naming the nodes there are.
    pub fn check_node(&self, node: usize) -> Result<(), PlacementError> {
        if self.node(node).is_some() {
            Ok(())
        } else {
            Err(PlacementError::NoSuchNode {
                node,
                nodes: self.numa_nodes.iter().map(|n| n.os_index).collect(),
            })
        }
    }

    /// The NUMA node local to `cpu` (`None` for an unknown CPU or a machine without nodes).
    pub fn node_of_cpu(&self, cpu: usize) -> Option<usize> {
        self.pu(cpu).and_then(|p| p.node)
    }

    /// The CPUs sharing the level-`level` data (or unified) cache with `cpu`, `cpu` included;
    /// empty when there is no such cache.
    pub fn cpus_sharing_cache(&self, cpu: usize, level: u8) -> Vec<usize> {
        self.caches
            .iter()
            .find(|c| c.level == level && c.kind != CacheKind::Instruction && c.cpus.contains(&cpu))
            .map(|c| c.cpus.clone())
            .unwrap_or_default()
    }

    /// The lowest cache level `a` and `b` share (data or unified), if any.
    pub fn shared_cache_level(&self, a: usize, b: usize) -> Option<u8> {
        self.caches
            .iter()
            .filter(|c| c.kind != CacheKind::Instruction)
            .filter(|c| c.cpus.contains(&a) && c.cpus.contains(&b))
            .map(|c| c.level)
            .min()
    }

    /// How close `a` and `b` are; `None` if either CPU is unknown.
    pub fn relation(&self, a: usize, b: usize) -> Option<CpuRelation> {
        let (pa, pb) = (self.pu(a)?, self.pu(b)?);
        Some(if a == b {
            CpuRelation::SameCpu
        } else if pa.core == pb.core {
            CpuRelation::SameCore
        } else if let Some(level) = self.shared_cache_level(a, b) {
            CpuRelation::SharedCache(level)
        } else if pa.package.is_some() && pa.package == pb.package {
            CpuRelation::SamePackage
        } else if pa.node.is_some() && pa.node == pb.node {
            CpuRelation::SameNode
        } else {
            CpuRelation::Remote
        })
    }

    /// Whether a thread on `cpu` reading memory that lives on `memory_nodes` reads (at least
    /// partly) remote memory. `None` when the CPU's node is unknown or nothing is known about
    /// the memory.
    pub fn reads_remote_memory(&self, cpu: usize, memory_nodes: &[usize]) -> Option<bool> {
        let local = self.node_of_cpu(cpu)?;
        if memory_nodes.is_empty() {
            return None;
        }
        Some(memory_nodes.iter().any(|&n| n != local))
    }

    /// What to warn of a thread named `reader` on `cpu` that reads a ring whose pages are on
    /// `memory_nodes`: `None` unless it reads (at least partly) remote memory.
    pub fn remote_read_warning(
        &self,
        reader: &str,
        cpu: Option<usize>,
        memory_nodes: &[usize],
    ) -> Option<String> {
        let cpu = cpu?;
        (self.reads_remote_memory(cpu, memory_nodes) == Some(true)).then(|| {
            format!(
                "{reader} on CPU {cpu} reads the ring from remote NUMA node(s) {memory_nodes:?}"
            )
        })
    }

    /// One line summarising the machine: counts, memory and the allowed CPUs.
    pub fn summary(&self) -> String {
        let smt = if self.cores.is_empty() {
            0
        } else {
            self.pus.len() / self.cores.len()
        };
        format!(
            "{}, {}, {}, {} ({} per core), {} memory; allowed CPUs {}",
            counted(self.packages.len(), "package"),
            counted(self.numa_nodes.len(), "NUMA node"),
            counted(self.cores.len(), "core"),
            counted(self.pus.len(), "PU"),
            smt,
            format_bytes(self.total_memory_bytes()),
            format_cpu_list(&self.allowed_cpus),
        )
    }
}

/// A placement that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    /// The NUMA node does not exist on this machine.
    #[error("NUMA node {node} does not exist; nodes: {}", format_cpu_list(.nodes))]
    NoSuchNode {
        /// The node asked for.
        node: usize,
        /// The nodes the machine has.
        nodes: Vec<usize>,
    },
    /// The CPU has no NUMA node to be local to.
    #[error("CPU {cpu} has no NUMA node")]
    NoNodeForCpu {
        /// The CPU asked about.
        cpu: usize,
    },
    /// The CPU is not one this process may use.
    #[error(transparent)]
    Cpu(#[from] PinError),
    /// This host's topology could not be read.
    #[error("{0}")]
    Topology(String),
}

/// Formats a byte count with binary units the way lstopo does (`48 KiB`, `1.5 MiB`, `23 GiB`).
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || (value - value.round()).abs() < 0.05 {
        format!("{:.0} {}", value.round(), UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_lstopo() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(48 * 1024), "48 KiB");
        assert_eq!(format_bytes(1536 * 1024), "1.5 MiB");
        assert_eq!(format_bytes(32 << 20), "32 MiB");
        assert_eq!(format_bytes(24 << 30), "24 GiB");
    }
}
