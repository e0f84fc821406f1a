//! Placement questions answered on synthetic multi-package machines, and placement on this one.
#![cfg(not(loom))]

use ringtop::topology::model::CacheKind;
use ringtop::topology::pin::{allowed_cpus, current_cpu, pin_current_thread};
use ringtop::topology::{CpuRelation, PinError, from_synthetic};

/// Two packages, one NUMA node and one L3 each, four cores with private L2, two threads a core.
const TWO_SOCKETS: &str = "pack:2 numa:1 l3:1 l2:4 l1d:1 core:1 pu:2";

#[test]
fn each_cpu_belongs_to_its_packages_node() {
    let t = from_synthetic(TWO_SOCKETS).unwrap();
    assert_eq!(t.numa_nodes.len(), 2);
    for cpu in 0..8 {
        assert_eq!(t.node_of_cpu(cpu), Some(0), "CPU {cpu}");
    }
    for cpu in 8..16 {
        assert_eq!(t.node_of_cpu(cpu), Some(1), "CPU {cpu}");
    }
    assert_eq!(t.node_of_cpu(16), None);
    assert_eq!(t.packages[1].nodes, vec![1]);
}

#[test]
fn cache_sharing_follows_the_hierarchy() {
    let t = from_synthetic(TWO_SOCKETS).unwrap();
    assert_eq!(t.cpus_sharing_cache(5, 3), (0..8).collect::<Vec<_>>());
    assert_eq!(t.cpus_sharing_cache(5, 2), vec![4, 5]);
    assert_eq!(t.cpus_sharing_cache(5, 1), vec![4, 5]);
    assert_eq!(t.cpus_sharing_cache(5, 4), Vec::<usize>::new());
    assert_eq!(t.shared_cache_level(0, 7), Some(3));
    assert_eq!(t.shared_cache_level(0, 8), None);
    assert!(
        t.caches
            .iter()
            .all(|c| c.kind != CacheKind::Instruction || c.level == 1)
    );
}

#[test]
fn relations_rank_from_same_core_to_cross_package() {
    let t = from_synthetic(TWO_SOCKETS).unwrap();
    assert_eq!(t.relation(3, 3), Some(CpuRelation::SameCpu));
    assert_eq!(t.relation(2, 3), Some(CpuRelation::SameCore));
    assert_eq!(t.relation(0, 7), Some(CpuRelation::SharedCache(3)));
    assert_eq!(t.relation(0, 15), Some(CpuRelation::Remote));
    assert_eq!(t.relation(0, 99), None);
    assert!(CpuRelation::SameCore < CpuRelation::SharedCache(3));
    assert!(CpuRelation::SharedCache(3) < CpuRelation::Remote);

    let no_l3 = from_synthetic("pack:1 numa:1 core:2 pu:1").unwrap();
    assert_eq!(no_l3.relation(0, 1), Some(CpuRelation::SamePackage));
}

#[test]
fn a_consumer_on_the_other_package_reads_remote_memory() {
    let t = from_synthetic(TWO_SOCKETS).unwrap();
    assert_eq!(t.reads_remote_memory(2, &[0]), Some(false));
    assert_eq!(t.reads_remote_memory(12, &[0]), Some(true));
    assert_eq!(
        t.reads_remote_memory(12, &[0, 1]),
        Some(true),
        "partly remote"
    );
    assert_eq!(t.reads_remote_memory(12, &[]), None, "location unknown");
    assert_eq!(t.reads_remote_memory(99, &[0]), None, "no such CPU");
    assert_eq!(t.remote_read_warning("consumer-0", Some(2), &[0]), None);
    assert_eq!(t.remote_read_warning("consumer-0", None, &[1]), None);
    assert_eq!(
        t.remote_read_warning("md-in consumer-0", Some(12), &[0])
            .as_deref(),
        Some("md-in consumer-0 on CPU 12 reads the ring from remote NUMA node(s) [0]")
    );
}

#[test]
fn allowed_set_validation_names_the_allowed_cpus() {
    let mut t = from_synthetic(TWO_SOCKETS).unwrap();
    t.allowed_cpus = vec![0, 1, 2, 3, 8];
    assert_eq!(t.check_cpu(8), Ok(()));
    let err = t.check_cpu(9).unwrap_err();
    assert_eq!(err.to_string(), "CPU 9 is not available; allowed: 0-3,8");
    assert!(matches!(err, PinError::NotAllowed { cpu: 9, .. }));
    let err = t.check_node(2).unwrap_err();
    assert_eq!(err.to_string(), "NUMA node 2 does not exist; nodes: 0-1");
}

#[test]
fn a_thread_pinned_to_the_last_allowed_cpu_observes_it() {
    let cpu = *allowed_cpus().last().unwrap();
    let seen = std::thread::spawn(move || {
        pin_current_thread(cpu).unwrap();
        // Spin a little so the scheduler has certainly placed the thread.
        let mut x = 0u64;
        for i in 0..1_000_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        current_cpu().unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(seen, cpu);
}
