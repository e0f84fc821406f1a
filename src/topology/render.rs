//! The readable tree `ringtop topo` prints: NUMA node → package → caches → core → PU, in the
//! spirit of `lstopo-no-graphics`, built only from the [`Topology`] model so a synthetic machine
//! or an XML export prints the same way as this host.

use super::cpulist::format_cpu_list;
use super::model::{Cache, CacheKind, Topology, TopologySource, format_bytes};

/// One line of the tree and what hangs below it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    label: String,
    children: Vec<Node>,
}

impl Node {
    fn leaf(label: String) -> Self {
        Node {
            label,
            children: Vec::new(),
        }
    }
}

/// Renders the whole machine as an indented tree, one object per line, single-child chains of
/// caches, cores and PUs joined with ` + ` as lstopo does.
pub fn render_tree(topology: &Topology) -> String {
    let mut out = String::new();
    let source = match &topology.source {
        TopologySource::Host => "this host".to_owned(),
        TopologySource::Synthetic { description } => format!("synthetic \"{description}\""),
        TopologySource::Xml { path } => format!("XML {path}"),
    };
    out.push_str(&format!("Machine ({source}): {}\n", topology.summary()));
    if let Some(line) = topology
        .caches
        .iter()
        .map(|c| c.line_bytes)
        .find(|&b| b > 0)
    {
        out.push_str(&format!("Cache line: {line} B\n"));
    }
    for node in nodes(topology) {
        write_node(&mut out, &node, 1);
    }
    out
}

fn write_node(out: &mut String, node: &Node, depth: usize) {
    let mut label = node.label.clone();
    let mut current = node;
    // Join a chain of single children onto one line, as lstopo does.
    while current.children.len() == 1 && !current.label.starts_with("NUMA node") {
        current = &current.children[0];
        if current.label.starts_with("Package") {
            break;
        }
        label.push_str(" + ");
        label.push_str(&current.label);
    }
    out.push_str(&"  ".repeat(depth));
    out.push_str(&label);
    out.push('\n');
    for child in &current.children {
        write_node(out, child, depth + 1);
    }
}

fn nodes(topology: &Topology) -> Vec<Node> {
    let mut result = Vec::new();
    for numa in &topology.numa_nodes {
        let mut label = format!(
            "NUMA node {} ({}",
            numa.os_index,
            format_bytes(numa.memory_bytes)
        );
        if numa.cpus.is_empty() {
            label.push_str(", no CPUs)");
            result.push(Node::leaf(label));
            continue;
        }
        label.push_str(&format!(") CPUs {}", format_cpu_list(&numa.cpus)));
        let huge: Vec<String> = numa
            .page_sizes
            .iter()
            .filter(|p| p.size_bytes > 4096)
            .map(|p| format!("{} × {}", p.count, format_bytes(p.size_bytes)))
            .collect();
        if !huge.is_empty() {
            label.push_str(&format!("; huge pages {}", huge.join(", ")));
        }
        let children = if topology.packages.is_empty() {
            below(topology, &numa.cpus, u8::MAX)
        } else {
            topology
                .packages
                .iter()
                .enumerate()
                .filter_map(|(i, package)| {
                    let scope = intersect(&numa.cpus, &package.cpus);
                    if scope.is_empty() {
                        return None;
                    }
                    let id = package.os_index.unwrap_or(i);
                    Some(Node {
                        label: format!("Package {id} CPUs {}", format_cpu_list(&scope)),
                        children: below(topology, &scope, u8::MAX),
                    })
                })
                .collect()
        };
        result.push(Node { label, children });
    }
    result
}

/// The caches of the highest level under `max_level` that cover `scope`, each with what lies
/// below it; cores when no cache is left.
fn below(topology: &Topology, scope: &[usize], max_level: u8) -> Vec<Node> {
    let in_scope = |c: &&Cache| c.kind != CacheKind::Instruction && overlaps(&c.cpus, scope);
    let level = topology
        .caches
        .iter()
        .filter(in_scope)
        .map(|c| c.level)
        .filter(|&l| l < max_level)
        .max();
    let Some(level) = level else {
        return cores(topology, scope);
    };
    let mut caches: Vec<&Cache> = topology
        .caches
        .iter()
        .filter(in_scope)
        .filter(|c| c.level == level)
        .collect();
    caches.sort_by_key(|c| c.cpus.first().copied());
    caches
        .into_iter()
        .map(|cache| {
            let mut label = cache_label(cache);
            if let Some(icache) = topology.caches.iter().find(|c| {
                c.level == level && c.kind == CacheKind::Instruction && c.cpus == cache.cpus
            }) {
                label.push_str(" + ");
                label.push_str(&cache_label(icache));
            }
            let inner = intersect(scope, &cache.cpus);
            if inner.len() < cache.cpus.len() {
                label.push_str(&format!(
                    " (shared with CPUs {} elsewhere)",
                    format_cpu_list(&difference(&cache.cpus, scope))
                ));
            }
            Node {
                label,
                children: below(topology, &inner, level),
            }
        })
        .collect()
}

fn cache_label(cache: &Cache) -> String {
    format!(
        "L{}{} {}",
        cache.level,
        cache.kind.suffix(),
        format_bytes(cache.size_bytes)
    )
}

fn cores(topology: &Topology, scope: &[usize]) -> Vec<Node> {
    topology
        .cores
        .iter()
        .filter(|core| overlaps(&core.pus, scope))
        .map(|core| {
            let label = match core.os_index {
                Some(os) => format!("Core {} (P#{os})", core.index),
                None => format!("Core {}", core.index),
            };
            let children = intersect(&core.pus, scope)
                .into_iter()
                .map(|cpu| {
                    let allowed = topology.pu(cpu).is_some_and(|p| p.allowed);
                    Node::leaf(if allowed {
                        format!("PU {cpu}")
                    } else {
                        format!("PU {cpu} (not allowed)")
                    })
                })
                .collect();
            Node { label, children }
        })
        .collect()
}

fn overlaps(a: &[usize], b: &[usize]) -> bool {
    a.iter().any(|x| b.contains(x))
}

fn intersect(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter().copied().filter(|x| b.contains(x)).collect()
}

fn difference(a: &[usize], b: &[usize]) -> Vec<usize> {
    a.iter().copied().filter(|x| !b.contains(x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::from_synthetic;

    #[test]
    fn a_two_node_machine_prints_node_package_cache_core_pu() {
        let t = from_synthetic("pack:2 numa:1 l3:1 l2:2 core:1 pu:2").unwrap();
        let tree = render_tree(&t);
        let expected_start = "\
Machine (synthetic \"pack:2 numa:1 l3:1 l2:2 core:1 pu:2\"): 2 packages, 2 NUMA nodes, 4 cores, 8 PUs (2 per core),";
        assert!(tree.starts_with(expected_start), "{tree}");
        let body: Vec<&str> = tree.lines().skip(2).collect();
        assert!(
            body[0].starts_with("  NUMA node 0 (1 GiB) CPUs 0-3"),
            "{tree}"
        );
        assert_eq!(body[1], "    Package 0 CPUs 0-3 + L3 16 MiB");
        assert_eq!(body[2], "      L2 4 MiB + Core 0 (P#0)");
        assert_eq!(body[3], "        PU 0");
        assert_eq!(body[4], "        PU 1");
        assert_eq!(body[5], "      L2 4 MiB + Core 1 (P#1)");
        assert!(tree.contains("  NUMA node 1 ("), "{tree}");
        assert!(
            tree.contains("    Package 1 CPUs 4-7 + L3 16 MiB\n"),
            "{tree}"
        );
        assert!(tree.ends_with("        PU 7\n"), "{tree}");
    }

    #[test]
    fn a_package_split_over_two_nodes_appears_under_each() {
        let t = from_synthetic("pack:1 l3:1 numa:2 core:2 pu:1").unwrap();
        let tree = render_tree(&t);
        assert!(
            tree.contains("  NUMA node 0 (1 GiB) CPUs 0-1\n    Package 0 CPUs 0-1"),
            "{tree}"
        );
        assert!(
            tree.contains("  NUMA node 1 (1 GiB) CPUs 2-3\n    Package 0 CPUs 2-3"),
            "{tree}"
        );
        assert!(tree.contains("(shared with CPUs 2-3 elsewhere)"), "{tree}");
    }

    #[test]
    fn cpus_this_process_may_not_use_are_marked() {
        let mut t = from_synthetic("pack:1 core:2 pu:1").unwrap();
        t.allowed_cpus = vec![0];
        t.pus[1].allowed = false;
        let tree = render_tree(&t);
        assert!(tree.contains("PU 1 (not allowed)"), "{tree}");
        assert!(tree.contains("allowed CPUs 0\n"), "{tree}");
    }
}
