//! NUMA-placed ring memory: a [`RingAlloc`] that binds a ring's pages to a chosen node, touches
//! them, and reports where they really ended up.

use std::alloc::Layout;
use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::Mutex;

use hwlocality::memory::binding::{MemoryBindingFlags, MemoryBindingPolicy};
use hwlocality::memory::nodeset::NodeSet;
use serde::{Deserialize, Serialize};

use super::cpulist::format_cpu_list;
use super::discover::{host, host_hwloc, set_to_vec};
use super::mmap::{Mapping, PageBacking};
use super::model::{PlacementError, format_bytes};
use crate::ring::RingAlloc;

/// Which NUMA node a ring's memory should live on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeChoice {
    /// No binding: pages land where they are first touched (the allocating thread's node).
    #[default]
    Any,
    /// The NUMA node with this OS index.
    Node(usize),
    /// The node local to this CPU (typically the consumer's, which reads every slot).
    LocalTo(usize),
}

/// Where and how a ring's memory is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemoryPlacement {
    /// The node to bind to.
    pub node: NodeChoice,
    /// Ask for 2 MiB pages (fewer TLB misses on big rings); falls back, and says so, when the
    /// machine has none.
    pub huge_pages: bool,
}

/// Whether the memory policy asked for was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BindingOutcome {
    /// No node was asked for; first touch decided.
    NotRequested,
    /// The pages are bound to this node.
    Bound {
        /// OS index of the node.
        node: usize,
    },
    /// The binding was refused; the memory is usable but placed by first touch.
    Failed {
        /// The node asked for.
        node: usize,
        /// What the OS said.
        reason: String,
    },
}

/// What one allocation got: size, pages, binding, and where its pages are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocationReport {
    /// Bytes the ring asked for.
    pub requested_bytes: usize,
    /// Bytes mapped (whole pages).
    pub mapped_bytes: usize,
    /// What backs the pages.
    pub pages: PageBacking,
    /// Whether the node binding took.
    pub binding: BindingOutcome,
    /// NUMA nodes the pages are on, as the kernel reports after touching them.
    pub located_on: PageLocation,
}

/// Where the kernel says a mapping's pages are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PageLocation {
    /// The pages are on these nodes.
    Nodes {
        /// OS indices, ascending.
        nodes: Vec<usize>,
    },
    /// The kernel could not say.
    Unavailable {
        /// Why.
        reason: String,
    },
}

impl PageLocation {
    /// The nodes, when known.
    pub fn nodes(&self) -> Option<&[usize]> {
        match self {
            PageLocation::Nodes { nodes } => Some(nodes),
            PageLocation::Unavailable { .. } => None,
        }
    }
}

impl AllocationReport {
    /// One line for tables and status bars: size, where the pages are, binding, page kind.
    pub fn summary(&self) -> String {
        let located = match &self.located_on {
            PageLocation::Nodes { nodes } if nodes.is_empty() => "pages not yet placed".to_owned(),
            PageLocation::Nodes { nodes } => format!("on node {}", format_cpu_list(nodes)),
            PageLocation::Unavailable { reason } => format!("location n/a ({reason})"),
        };
        let binding = match &self.binding {
            BindingOutcome::NotRequested => "first touch".to_owned(),
            BindingOutcome::Bound { node } => format!("bound to node {node}"),
            BindingOutcome::Failed { node, reason } => {
                format!("binding to node {node} failed: {reason}")
            }
        };
        let pages = match &self.pages {
            PageBacking::Normal { page_bytes } => {
                format!("{} pages", format_bytes(*page_bytes as u64))
            }
            PageBacking::ExplicitHuge => "2 MiB huge pages".to_owned(),
            PageBacking::TransparentHuge { backed_bytes, .. } => match backed_bytes {
                Some(bytes) => format!(
                    "transparent huge pages, {} of {} backed",
                    format_bytes(*bytes),
                    format_bytes(self.mapped_bytes as u64)
                ),
                None => "transparent huge pages (backing n/a)".to_owned(),
            },
            PageBacking::NormalFallback { page_bytes, reason } => {
                format!("{} pages ({reason})", format_bytes(*page_bytes as u64))
            }
        };
        format!(
            "{} {located} ({binding}), {pages}",
            format_bytes(self.mapped_bytes as u64)
        )
    }
}

#[derive(Debug)]
struct Region {
    mapping: Mapping,
    report: AllocationReport,
}

/// A ring allocator that places pages on a NUMA node of this host.
///
/// Keep an `Arc` of it next to the ring to read [`NumaAlloc::reports`] later.
#[derive(Debug)]
pub struct NumaAlloc {
    placement: MemoryPlacement,
    node: Option<usize>,
    regions: Mutex<Vec<Region>>,
}

impl NumaAlloc {
    /// An allocator for `placement`, checked against this host.
    ///
    /// # Errors
    /// [`PlacementError`] for a node that does not exist or a CPU that is not available.
    pub fn new(placement: MemoryPlacement) -> Result<Self, PlacementError> {
        let topology = host().map_err(|e| PlacementError::Topology(e.to_string()))?;
        let node = match placement.node {
            NodeChoice::Any => None,
            NodeChoice::Node(node) => {
                topology.check_node(node)?;
                Some(node)
            }
            NodeChoice::LocalTo(cpu) => {
                topology.check_cpu(cpu)?;
                Some(
                    topology
                        .node_of_cpu(cpu)
                        .ok_or(PlacementError::NoNodeForCpu { cpu })?,
                )
            }
        };
        Ok(NumaAlloc {
            placement,
            node,
            regions: Mutex::new(Vec::new()),
        })
    }

    /// The placement asked for.
    pub fn placement(&self) -> MemoryPlacement {
        self.placement
    }

    /// The node the memory is bound to (`None` for [`NodeChoice::Any`]).
    pub fn target_node(&self) -> Option<usize> {
        self.node
    }

    /// A report for each live allocation, with page locations read again now (the kernel may
    /// migrate pages over time).
    pub fn reports(&self) -> Vec<AllocationReport> {
        let regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        regions
            .iter()
            .map(|r| AllocationReport {
                located_on: locate(r.mapping.cells()),
                ..r.report.clone()
            })
            .collect()
    }

    /// Places `area`, memory this process mapped by other means (a shared-memory ring's window,
    /// in a file both processes map), as this allocator places its own: bound to the target
    /// node, if any, and its pages faulted in now from the calling thread. Its pages are the
    /// file's: huge pages asked for are reported as not had, with that reason. Call before
    /// anything else writes the area (pages already elsewhere make a strict binding fail, which
    /// the report says).
    pub fn place_area(&self, area: &[UnsafeCell<u8>]) -> AllocationReport {
        let binding = self.bind_area(area);
        let page_bytes = super::mmap::page_size();
        let pages = if self.placement.huge_pages {
            PageBacking::NormalFallback {
                page_bytes,
                reason: "the pages are those of a shared file: its file system chooses their size"
                    .into(),
            }
        } else {
            PageBacking::Normal { page_bytes }
        };
        let located_on = match super::mmap::populate_area(area) {
            Ok(()) => locate(area),
            Err(reason) => PageLocation::Unavailable { reason },
        };
        AllocationReport {
            requested_bytes: area.len(),
            mapped_bytes: area.len(),
            pages,
            binding,
            located_on,
        }
    }

    /// Binds `area` to the target node, if any.
    fn bind_area(&self, area: &[UnsafeCell<u8>]) -> BindingOutcome {
        match self.node {
            None => BindingOutcome::NotRequested,
            Some(node) => match bind(area, node) {
                Ok(()) => BindingOutcome::Bound { node },
                Err(reason) => BindingOutcome::Failed { node, reason },
            },
        }
    }

    /// Maps, binds and faults in memory for `layout`: explicit huge pages when asked for and the
    /// node has them, else transparent huge pages or ordinary ones, with the reason.
    fn map(&self, layout: Layout) -> Result<Region, String> {
        let size = layout.size();
        let mut explicit_failed = None;
        if self.placement.huge_pages {
            match Mapping::explicit_huge(size) {
                Ok(mapping) => {
                    let binding = self.bind_area(mapping.cells());
                    match mapping.populate(self.node) {
                        Ok(()) => {
                            return Ok(self.region(
                                size,
                                mapping,
                                PageBacking::ExplicitHuge,
                                binding,
                            ));
                        }
                        Err(reason) => explicit_failed = Some(reason),
                    }
                }
                Err(reason) => explicit_failed = Some(reason),
            }
        }
        let (mapping, mut pages) = Mapping::fallback(size, explicit_failed)?;
        let binding = self.bind_area(mapping.cells());
        mapping.touch(super::mmap::page_size());
        if let PageBacking::TransparentHuge { backed_bytes, .. } = &mut pages {
            *backed_bytes = mapping.transparent_huge_bytes();
        }
        Ok(self.region(size, mapping, pages, binding))
    }

    fn region(
        &self,
        requested_bytes: usize,
        mapping: Mapping,
        pages: PageBacking,
        binding: BindingOutcome,
    ) -> Region {
        let report = AllocationReport {
            requested_bytes,
            mapped_bytes: mapping.len(),
            pages,
            binding,
            located_on: locate(mapping.cells()),
        };
        Region { mapping, report }
    }
}

fn bind(area: &[UnsafeCell<u8>], node: usize) -> Result<(), String> {
    let hw = host_hwloc().map_err(|e| e.to_string())?;
    let mut set = NodeSet::new();
    set.set(node);
    hw.bind_memory_area(
        area,
        &set,
        MemoryBindingPolicy::Bind,
        MemoryBindingFlags::STRICT,
    )
    .map_err(|e| e.to_string())
}

/// Where the kernel says the pages of `area` (memory of this process) are.
pub fn locate(area: &[UnsafeCell<u8>]) -> PageLocation {
    let located = host_hwloc().map_err(|e| e.to_string()).and_then(|hw| {
        hw.area_memory_location::<_, NodeSet>(area, MemoryBindingFlags::empty())
            .map_err(|e| e.to_string())
    });
    match located {
        Ok(set) => PageLocation::Nodes {
            nodes: set_to_vec(&set),
        },
        Err(reason) => PageLocation::Unavailable { reason },
    }
}

// SAFETY: `allocate` returns the start of a fresh private mapping of at least `layout.size()`
// bytes, page-aligned (so aligned for any layout whose alignment is at most a page, which is
// checked), owned by `regions` until `deallocate` removes and unmaps it.
unsafe impl RingAlloc for NumaAlloc {
    fn allocate(&self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            return NonNull::new(std::ptr::without_provenance_mut(layout.align()));
        }
        if layout.align() > super::mmap::page_size() {
            return None;
        }
        let region = self.map(layout).ok()?;
        let ptr = region.mapping.ptr();
        self.regions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(region);
        Some(ptr)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() == 0 {
            return;
        }
        let mut regions = self.regions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = regions.iter().position(|r| r.mapping.ptr() == ptr) {
            drop(regions.swap_remove(i));
        }
    }

    fn describe(&self) -> String {
        let node = match self.placement.node {
            NodeChoice::Any => "first-touch memory".to_owned(),
            NodeChoice::Node(n) => format!("memory on NUMA node {n}"),
            NodeChoice::LocalTo(cpu) => format!(
                "memory local to CPU {cpu} (node {})",
                self.node.map_or("?".to_owned(), |n| n.to_string())
            ),
        };
        if self.placement.huge_pages {
            format!("{node}, huge pages")
        } else {
            node
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ring::{RingConfig, spsc};

    #[test]
    fn a_node_that_does_not_exist_is_refused_with_the_nodes_there_are() {
        let err = NumaAlloc::new(MemoryPlacement {
            node: NodeChoice::Node(4096),
            huge_pages: false,
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("NUMA node 4096 does not exist; nodes: ")
        );
    }

    #[test]
    fn a_cpu_that_is_not_available_is_refused() {
        let err = NumaAlloc::new(MemoryPlacement {
            node: NodeChoice::LocalTo(100_000),
            huge_pages: false,
        })
        .unwrap_err();
        assert!(
            err.to_string().starts_with("CPU 100000 is not available"),
            "{err}"
        );
    }

    #[test]
    fn memory_mapped_elsewhere_is_bound_faulted_in_and_reported_with_its_page_size() {
        let first = host().unwrap().numa_nodes[0].os_index;
        let page = super::super::mmap::page_size();
        let (area, _) = Mapping::fallback(16 * page, None).unwrap();
        for huge_pages in [false, true] {
            let alloc = NumaAlloc::new(MemoryPlacement {
                node: NodeChoice::Node(first),
                huge_pages,
            })
            .unwrap();
            let report = alloc.place_area(area.cells());
            assert_eq!(report.binding, BindingOutcome::Bound { node: first });
            assert_eq!(report.located_on.nodes(), Some(&[first][..]));
            assert_eq!(report.mapped_bytes, 16 * page);
            match report.pages {
                PageBacking::Normal { page_bytes } => {
                    assert!(!huge_pages);
                    assert_eq!(page_bytes, page);
                }
                PageBacking::NormalFallback { reason, .. } => {
                    assert!(huge_pages);
                    assert!(reason.contains("shared file"), "{reason}");
                }
                other => panic!("{other:?}"),
            }
            assert!(
                alloc.reports().is_empty(),
                "the area is not the allocator's"
            );
        }
        // Faulted in: every page is in memory now, before anything wrote it.
        let census = crate::topology::pages::census(
            std::process::id(),
            area.ptr().as_ptr() as usize,
            area.len(),
        )
        .unwrap();
        assert_eq!(census.on_node.get(&first), Some(&16), "{census:?}");
    }

    #[test]
    fn ring_memory_bound_to_the_first_node_is_reported_there() {
        let first = host().unwrap().numa_nodes[0].os_index;
        let alloc = Arc::new(
            NumaAlloc::new(MemoryPlacement {
                node: NodeChoice::Node(first),
                huge_pages: false,
            })
            .unwrap(),
        );
        let config = RingConfig {
            alloc: alloc.clone(),
            ..RingConfig::default()
        };
        let (mut tx, mut rx) = spsc::channel_with::<u64>(1 << 16, config).unwrap();
        for i in 0..1000 {
            tx.try_push(i).unwrap();
        }
        for i in 0..1000 {
            assert_eq!(rx.try_pop(), Some(i));
        }
        let reports = alloc.reports();
        assert_eq!(reports.len(), 1);
        let report = &reports[0];
        assert!(report.mapped_bytes >= report.requested_bytes);
        assert_eq!(report.binding, BindingOutcome::Bound { node: first });
        assert_eq!(report.located_on.nodes(), Some(&[first][..]));
        drop((tx, rx));
        assert!(
            alloc.reports().is_empty(),
            "the mapping is released with the ring"
        );
    }

    #[test]
    fn huge_pages_are_granted_or_the_fallback_is_reported() {
        let alloc = Arc::new(
            NumaAlloc::new(MemoryPlacement {
                node: NodeChoice::Any,
                huge_pages: true,
            })
            .unwrap(),
        );
        let config = RingConfig {
            alloc: alloc.clone(),
            ..RingConfig::default()
        };
        let (_tx, _rx) = spsc::channel_with::<u64>(1 << 19, config).unwrap();
        let report = &alloc.reports()[0];
        assert_eq!(report.mapped_bytes % (2 << 20), 0);
        match &report.pages {
            PageBacking::ExplicitHuge => {}
            PageBacking::TransparentHuge {
                explicit_failed, ..
            }
            | PageBacking::NormalFallback {
                reason: explicit_failed,
                ..
            } => assert!(!explicit_failed.is_empty()),
            PageBacking::Normal { .. } => panic!("huge pages were asked for: {report:?}"),
        }
    }
}
