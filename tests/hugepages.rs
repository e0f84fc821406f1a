//! Explicit 2 MiB huge pages, against the kernel's own count of its pool. Needs root (it reserves
//! pages in `/proc/sys/vm/nr_hugepages` and gives them back), so it is ignored by a plain
//! `cargo test`; `.ci/run` runs it as root with `--ignored`. Its own test binary: nothing else
//! allocates huge pages while it counts them.
#![cfg(not(loom))]

use std::sync::Arc;

use ringtop::ring::{RingConfig, spsc};
use ringtop::topology::{MemoryPlacement, NodeChoice, NumaAlloc, PageBacking};

const POOL: &str = "/proc/sys/vm/nr_hugepages";
const FREE: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";

fn read(path: &str) -> usize {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .parse()
        .unwrap()
}

/// Reserves `pages` 2 MiB pages for the test's life, restoring the pool's size after.
struct Reserved(usize);

impl Reserved {
    fn pages(pages: usize) -> Reserved {
        let before = read(POOL);
        std::fs::write(POOL, pages.to_string()).expect("reserving huge pages needs root");
        assert_eq!(
            read(POOL),
            pages,
            "the kernel could not reserve {pages} huge pages"
        );
        Reserved(before)
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        let _ = std::fs::write(POOL, self.0.to_string());
    }
}

fn ring_of(bytes: usize) -> (Arc<NumaAlloc>, spsc::Producer<u64>, spsc::Consumer<u64>) {
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
    let (tx, rx) = spsc::channel_with::<u64>(bytes / 8, config).unwrap();
    (alloc, tx, rx)
}

#[test]
#[ignore = "reserves huge pages in /proc/sys/vm/nr_hugepages: needs root; .ci/run runs it"]
fn explicit_huge_pages_are_2mib_faulted_in_at_allocation_and_given_back_or_refused_with_the_reason()
{
    let _reserved = Reserved::pages(2);
    assert_eq!(read(FREE), 2);

    // 4 MiB of ring: two 2 MiB pages, faulted in by the allocation itself (the kernel's pool
    // shows them in use before the ring has written anything).
    let (alloc, tx, rx) = ring_of(4 << 20);
    let report = &alloc.reports()[0];
    assert_eq!(report.pages, PageBacking::ExplicitHuge, "{report:?}");
    assert_eq!(report.mapped_bytes, 4 << 20);
    assert_eq!(read(FREE), 0, "both pages are faulted in at allocation");
    drop((tx, rx));
    assert_eq!(read(FREE), 2, "unmapping gave both pages back");

    // 8 MiB needs four: refused, ordinary memory used instead, with the kernel's reason.
    let (alloc, _tx, _rx) = ring_of(8 << 20);
    let report = &alloc.reports()[0];
    match &report.pages {
        PageBacking::TransparentHuge {
            explicit_failed, ..
        }
        | PageBacking::NormalFallback {
            reason: explicit_failed,
            ..
        } => assert!(
            explicit_failed.contains("explicit 2 MiB huge pages"),
            "{explicit_failed}"
        ),
        other => panic!("four pages from a pool of two: {other:?}"),
    }
    assert_eq!(read(FREE), 2, "the refused mapping holds none");
}
