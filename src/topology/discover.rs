//! Filling a [`Topology`] from hwloc: this host, a synthetic description, or an XML export.

use std::path::Path;
use std::sync::OnceLock;

use hwlocality::Topology as Hwloc;
use hwlocality::topology::builder::{TopologyBuilder, TypeFilter};
use std::borrow::Borrow;

use hwlocality::bitmap::Bitmap;
use hwlocality::cpu::binding::CpuBindingFlags;
use hwlocality::object::TopologyObject;
use hwlocality::object::attributes::ObjectAttributes;
use hwlocality::object::types::{CacheType, ObjectType};

use super::model::{
    Cache, CacheKind, Core, NumaNode, Package, PageSize, Pu, Topology, TopologySource,
};

/// A topology that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopologyError {
    /// hwloc could not describe this machine.
    #[error("cannot read this machine's topology: {0}")]
    Host(String),
    /// The synthetic description was rejected.
    #[error(
        "bad synthetic topology {description:?}: {reason} (expected levels like \"pack:2 numa:1 core:4 pu:2\")"
    )]
    Synthetic {
        /// The description given.
        description: String,
        /// hwloc's complaint.
        reason: String,
    },
    /// The XML file could not be read or was rejected.
    #[error("cannot load topology XML {path}: {reason}")]
    Xml {
        /// The file given.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The hwloc view of this host, loaded once and shared by pinning, memory binding and discovery.
pub(crate) fn host_hwloc() -> Result<&'static Hwloc, TopologyError> {
    static HOST: OnceLock<Result<Hwloc, TopologyError>> = OnceLock::new();
    HOST.get_or_init(|| {
        builder()
            .build()
            .map_err(|e| TopologyError::Host(e.to_string()))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// This host's topology, read once.
///
/// The allowed CPUs are those of the process's affinity mask (over all its threads) inside the
/// cgroup's set, as they were the first time this is called: `main` calls it before spawning
/// anything, so a thread pinned later does not shrink the set offered to the others.
///
/// # Errors
/// [`TopologyError::Host`] when hwloc cannot read the machine.
pub fn host() -> Result<&'static Topology, TopologyError> {
    static MODEL: OnceLock<Result<Topology, TopologyError>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let hw = host_hwloc()?;
            let mut allowed = set_to_vec(&*hw.allowed_cpuset());
            if let Ok(mask) = hw.cpu_binding(CpuBindingFlags::PROCESS) {
                allowed.retain(|&cpu| mask.is_set(cpu));
            }
            Ok(extract(hw, TopologySource::Host, allowed))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Builds a machine from an hwloc synthetic description such as `"pack:2 numa:1 core:4 pu:2"`:
/// how multi-node logic is exercised on a single-node laptop. Every CPU is allowed.
///
/// # Errors
/// [`TopologyError::Synthetic`] with hwloc's reason.
pub fn from_synthetic(description: &str) -> Result<Topology, TopologyError> {
    let fail = |reason: String| TopologyError::Synthetic {
        description: description.to_owned(),
        reason,
    };
    let configured = builder()
        .from_synthetic(description)
        .map_err(|e| fail(e.to_string()))?;
    let source = TopologySource::Synthetic {
        description: description.to_owned(),
    };
    build_foreign(configured, source).map_err(fail)
}

/// Loads a machine from an hwloc XML export (`lstopo-no-graphics --of xml > box.xml` on the
/// machine of interest). The allowed CPUs are those the export recorded.
///
/// # Errors
/// [`TopologyError::Xml`] when the file cannot be read or hwloc rejects it.
pub fn from_xml_file(path: &Path) -> Result<Topology, TopologyError> {
    let fail = |reason: String| TopologyError::Xml {
        path: path.display().to_string(),
        reason,
    };
    let xml =
        crate::input::read_document(path, crate::input::DOCUMENT_BYTES, "an hwloc XML export")
            .map_err(|e| fail(e.to_string()))?;
    let configured = builder().from_xml(&xml).map_err(|e| fail(e.to_string()))?;
    let source = TopologySource::Xml {
        path: path.display().to_string(),
    };
    build_foreign(configured, source).map_err(fail)
}

/// Builds a topology that is not this host's: every CPU it records as allowed is allowed.
fn build_foreign(configured: TopologyBuilder, source: TopologySource) -> Result<Topology, String> {
    let hw = configured.build().map_err(|e| refused(&e))?;
    let allowed = set_to_vec(&*hw.allowed_cpuset());
    Ok(extract(&hw, source, allowed))
}

/// What hwloc said when it would not build a topology, in words (its error's own text is its
/// entry point and a debug print of the errno).
fn refused(err: &hwlocality::errors::RawHwlocError) -> String {
    match err.errno {
        Some(errno) => format!("hwloc could not load it as a topology ({errno})"),
        None => "hwloc could not load it as a topology".to_owned(),
    }
}

/// A builder that keeps instruction caches, as lstopo shows them (hwloc drops them by default).
fn builder() -> TopologyBuilder {
    let plain = Hwloc::builder;
    plain()
        .with_cpu_icache_type_filter(TypeFilter::KeepAll)
        .unwrap_or_else(|_| plain())
}

/// The indices set in an hwloc CPU or node set, ascending.
pub(crate) fn set_to_vec<S: Borrow<Bitmap>>(set: &S) -> Vec<usize> {
    set.borrow().iter_set().map(usize::from).collect()
}

fn cpus_of(obj: &TopologyObject) -> Vec<usize> {
    obj.cpuset().map(|s| set_to_vec(&*s)).unwrap_or_default()
}

fn extract(hw: &Hwloc, source: TopologySource, mut allowed_cpus: Vec<usize>) -> Topology {
    allowed_cpus.sort_unstable();
    let numa_nodes: Vec<NumaNode> = {
        let mut nodes: Vec<NumaNode> = hw
            .objects_with_type(ObjectType::NUMANode)
            .map(|obj| {
                let (memory_bytes, page_sizes) = match obj.attributes() {
                    Some(ObjectAttributes::NUMANode(attr)) => (
                        attr.local_memory().map_or(0, |m| m.get()),
                        attr.page_types()
                            .iter()
                            .map(|p| PageSize {
                                size_bytes: p.size().get(),
                                count: p.count(),
                            })
                            .collect(),
                    ),
                    _ => (0, Vec::new()),
                };
                NumaNode {
                    os_index: obj.os_index().unwrap_or(0),
                    memory_bytes,
                    cpus: cpus_of(obj),
                    page_sizes,
                }
            })
            .collect();
        nodes.sort_by_key(|n| n.os_index);
        nodes
    };

    let packages: Vec<Package> = hw
        .objects_with_type(ObjectType::Package)
        .map(|obj| Package {
            os_index: obj.os_index(),
            cpus: cpus_of(obj),
            nodes: obj.nodeset().map(|s| set_to_vec(&*s)).unwrap_or_default(),
        })
        .collect();

    let pu_ids: Vec<usize> = {
        let mut ids: Vec<usize> = hw
            .objects_with_type(ObjectType::PU)
            .filter_map(TopologyObject::os_index)
            .collect();
        ids.sort_unstable();
        ids
    };

    let mut cores: Vec<Core> = hw
        .objects_with_type(ObjectType::Core)
        .enumerate()
        .map(|(index, obj)| Core {
            index,
            os_index: obj.os_index(),
            pus: cpus_of(obj),
        })
        .collect();
    // Some platforms report no cores: then each PU stands alone.
    if cores.is_empty() {
        cores = pu_ids
            .iter()
            .enumerate()
            .map(|(index, &cpu)| Core {
                index,
                os_index: None,
                pus: vec![cpu],
            })
            .collect();
    }

    let pus = pu_ids
        .iter()
        .map(|&cpu| Pu {
            os_index: cpu,
            core: cores.iter().position(|c| c.pus.contains(&cpu)).unwrap_or(0),
            package: packages.iter().position(|p| p.cpus.contains(&cpu)),
            node: numa_nodes
                .iter()
                .find(|n| n.cpus.contains(&cpu))
                .map(|n| n.os_index),
            allowed: allowed_cpus.contains(&cpu),
        })
        .collect();

    let cache_types = [
        ObjectType::L5Cache,
        ObjectType::L4Cache,
        ObjectType::L3Cache,
        ObjectType::L3ICache,
        ObjectType::L2Cache,
        ObjectType::L2ICache,
        ObjectType::L1Cache,
        ObjectType::L1ICache,
    ];
    let caches = cache_types
        .into_iter()
        .flat_map(|ty| hw.objects_with_type(ty))
        .filter_map(|obj| match obj.attributes() {
            Some(ObjectAttributes::Cache(attr)) => Some(Cache {
                level: u8::try_from(attr.depth()).unwrap_or(u8::MAX),
                kind: match attr.cache_type() {
                    CacheType::Data => CacheKind::Data,
                    CacheType::Instruction => CacheKind::Instruction,
                    _ => CacheKind::Unified,
                },
                size_bytes: attr.size().map_or(0, |s| s.get()),
                line_bytes: attr.line_size().map_or(0, |l| l.get() as u64),
                cpus: cpus_of(obj),
            }),
            _ => None,
        })
        .collect();

    Topology {
        source,
        numa_nodes,
        packages,
        cores,
        pus,
        caches,
        allowed_cpus,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthetic_two_package_machine_has_the_shape_described() {
        let t = from_synthetic("pack:2 numa:1 l3:1 core:4 pu:2").unwrap();
        assert_eq!(t.packages.len(), 2);
        assert_eq!(t.numa_nodes.len(), 2);
        assert_eq!(t.cores.len(), 8);
        assert_eq!(t.pus.len(), 16);
        assert_eq!(t.allowed_cpus, (0..16).collect::<Vec<_>>());
        assert_eq!(t.caches.iter().filter(|c| c.level == 3).count(), 2);
        assert_eq!(t.numa_nodes[0].cpus, (0..8).collect::<Vec<_>>());
        assert_eq!(t.numa_nodes[1].cpus, (8..16).collect::<Vec<_>>());
    }

    #[test]
    fn a_bad_synthetic_description_is_an_error_not_a_panic() {
        let err = from_synthetic("pack:two").unwrap_err().to_string();
        assert!(err.contains("bad synthetic topology \"pack:two\""), "{err}");
    }

    #[test]
    fn an_xml_export_loads_back_as_the_same_machine() {
        let description = "pack:2 numa:1 l3:1(size=32MB) l2:2 l1d:1 core:1 pu:2";
        let hw = builder()
            .from_synthetic(description)
            .unwrap()
            .build()
            .unwrap();
        let xml = hw
            .export_xml(hwlocality::topology::export::xml::XMLExportFlags::empty())
            .unwrap();
        let path = std::env::temp_dir().join(format!("ringtop-topo-{}.xml", std::process::id()));
        std::fs::write(&path, xml.as_bytes()).unwrap();
        let loaded = from_xml_file(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut synthetic = from_synthetic(description).unwrap();
        synthetic.source = loaded.source.clone();
        assert_eq!(loaded, synthetic);
        assert_eq!(loaded.caches.iter().filter(|c| c.level == 3).count(), 2);
        assert!(loaded.caches.iter().any(|c| c.size_bytes == 32_000_000));
    }

    #[test]
    fn xml_that_is_not_a_topology_is_an_error() {
        let path = std::env::temp_dir().join(format!("ringtop-bad-{}.xml", std::process::id()));
        std::fs::write(&path, "<not-a-topology/>").unwrap();
        let err = from_xml_file(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, TopologyError::Xml { .. }), "{err}");
        // Said in words, not as a debug print of hwloc's errno.
        let said = err.to_string();
        assert!(
            said.contains("hwloc could not load it as a topology"),
            "{said}"
        );
        assert!(
            !said.contains("Some(") && !said.contains("Errno {"),
            "{said}"
        );
    }

    #[test]
    fn a_missing_xml_file_names_the_file() {
        let err = from_xml_file(Path::new("/nonexistent/box.xml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/box.xml"), "{err}");
    }

    #[test]
    fn this_host_has_at_least_one_allowed_cpu_on_a_core() {
        let t = host().unwrap();
        assert!(!t.allowed_cpus.is_empty());
        for cpu in &t.allowed_cpus {
            let pu = t.pu(*cpu).expect("allowed CPUs are PUs");
            assert!(pu.allowed);
            assert!(t.cores[pu.core].pus.contains(cpu));
        }
    }
}
