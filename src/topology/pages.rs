//! Which NUMA nodes a range of another process's memory is on: `move_pages(2)` asked where the
//! pages are, with nothing to move (no target nodes). `ringtop attach` asks it of each published
//! ring's slots, so it can show where a program's rings live without the program's help.

use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::io;

/// The most pages asked about in one census: a larger range is sampled evenly (a ring of 4,096
/// slots of 8 bytes is 8 pages; 16 MiB of 4 KiB pages is this many).
pub const MAX_PAGES_ASKED: usize = 4096;

/// Where the pages of a range were, as the kernel said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageCensus {
    /// Pages the range covers.
    pub pages: usize,
    /// Pages asked about: all of them, or [`MAX_PAGES_ASKED`] spread evenly over them.
    pub asked: usize,
    /// Pages asked about that are in memory, by the node (OS index) they are on.
    pub on_node: BTreeMap<usize, usize>,
    /// Pages asked about with none of their own yet (never written, or swapped out).
    pub absent: usize,
    /// Pages asked about that the process does not map (a range that is wrong, or gone).
    pub unmapped: usize,
}

impl PageCensus {
    /// The nodes the pages in memory are on, ascending.
    pub fn nodes(&self) -> Vec<usize> {
        self.on_node.keys().copied().collect()
    }

    /// One line for people: `8 pages on node 0`, `4,096 of 262,144 pages asked: …`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .on_node
            .iter()
            .map(|(node, n)| format!("{n} on node {node}"))
            .collect();
        if self.absent > 0 {
            parts.push(format!("{} not in memory yet", self.absent));
        }
        if self.unmapped > 0 {
            parts.push(format!("{} not mapped", self.unmapped));
        }
        let asked = if self.asked == self.pages {
            format!("{} pages", self.pages)
        } else {
            format!("{} of {} pages (spread evenly)", self.asked, self.pages)
        };
        format!("{asked}: {}", parts.join(", "))
    }
}

/// Asks the kernel which nodes the pages of `bytes` bytes from `address` in process `pid` are on.
///
/// # Errors
/// Why the kernel would not say: no such process, not allowed to look (another user's process),
/// no NUMA support in the kernel, an empty or impossible range, or a range the process does not
/// map at all.
pub fn census(pid: u32, address: usize, bytes: usize) -> Result<PageCensus, String> {
    let page = super::mmap::page_size();
    let end = address
        .checked_add(bytes)
        .filter(|_| bytes > 0)
        .ok_or_else(|| format!("no pages in {bytes} bytes from {address:#x}"))?;
    let first = address / page * page;
    let pages = (end - first).div_ceil(page);
    let asked = pages.min(MAX_PAGES_ASKED);
    let addresses: Vec<*const c_void> = (0..asked)
        .map(|i| {
            let index = (i as u128 * pages as u128 / asked as u128) as usize;
            (first + index * page) as *const c_void
        })
        .collect();
    let mut status: Vec<c_int> = vec![c_int::MIN; asked];
    let target = libc::pid_t::try_from(pid).map_err(|_| format!("pid {pid} is out of range"))?;
    // SAFETY: with no target nodes (`nodes` NULL), move_pages moves nothing: it reads `asked`
    // addresses from `addresses` (looked up in the target's address space, never dereferenced in
    // ours) and writes `asked` ints into `status`; both live across the call.
    let done = unsafe {
        libc::syscall(
            libc::SYS_move_pages,
            libc::c_long::from(target),
            asked as libc::c_ulong,
            addresses.as_ptr(),
            std::ptr::null::<c_int>(),
            status.as_mut_ptr(),
            0 as c_int,
        )
    };
    if done < 0 {
        let err = io::Error::last_os_error();
        return Err(match err.raw_os_error() {
            Some(libc::ESRCH) => format!("no process {pid}"),
            Some(libc::EPERM) => format!(
                "not allowed to look at the pages of process {pid} (another user's: run as that \
                 user, or as root)"
            ),
            Some(libc::ENOSYS) => "this kernel has no NUMA support (move_pages: ENOSYS)".into(),
            _ => format!("move_pages on process {pid}: {err}"),
        });
    }
    let mut census = PageCensus {
        pages,
        asked,
        ..PageCensus::default()
    };
    for &s in &status {
        match usize::try_from(s) {
            Ok(node) => *census.on_node.entry(node).or_default() += 1,
            Err(_) if s == -libc::ENOENT => census.absent += 1,
            Err(_) => census.unmapped += 1,
        }
    }
    if census.unmapped == asked {
        return Err(format!(
            "process {pid} maps none of the {bytes} bytes from {address:#x}"
        ));
    }
    Ok(census)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::mmap::{Mapping, page_size};

    fn mapping(pages: usize, written: bool) -> Mapping {
        let (mapping, _) = Mapping::fallback(pages * page_size(), None).unwrap();
        if written {
            mapping.touch(page_size());
        }
        mapping
    }

    fn census_of(mapping: &Mapping) -> PageCensus {
        census(
            std::process::id(),
            mapping.ptr().as_ptr() as usize,
            mapping.len(),
        )
        .unwrap()
    }

    #[test]
    fn written_pages_are_on_the_hosts_nodes_and_unwritten_ones_not_in_memory() {
        let written = census_of(&mapping(3, true));
        assert_eq!((written.pages, written.asked), (3, 3));
        assert_eq!(written.on_node.values().sum::<usize>(), 3, "{written:?}");
        let host = crate::topology::host().unwrap();
        assert!(
            written.nodes().iter().all(|&n| host.node(n).is_some()),
            "{written:?}: a node the host does not have"
        );
        assert!(
            written.summary().starts_with("3 pages: 3 on node"),
            "{}",
            written.summary()
        );

        let unwritten = census_of(&mapping(5, false));
        assert_eq!(unwritten.absent, 5, "{unwritten:?}");
        assert!(unwritten.nodes().is_empty());
        assert_eq!(unwritten.summary(), "5 pages: 5 not in memory yet");
    }

    #[test]
    fn a_large_range_is_sampled_evenly_and_a_wrong_one_is_an_error_not_a_census() {
        let large = census_of(&mapping(2 * MAX_PAGES_ASKED, true));
        assert_eq!(large.pages, 2 * MAX_PAGES_ASKED);
        assert_eq!(large.asked, MAX_PAGES_ASKED);
        assert_eq!(large.on_node.values().sum::<usize>(), MAX_PAGES_ASKED);
        assert!(
            large.summary().contains("(spread evenly)"),
            "{}",
            large.summary()
        );

        // Nothing is mapped in the first page of an address space.
        let page = page_size();
        let err = census(std::process::id(), page, page).unwrap_err();
        assert!(err.contains("maps none"), "{err}");
        let err = census(std::process::id(), page, 0).unwrap_err();
        assert!(err.contains("no pages"), "{err}");
        let err = census(std::process::id(), usize::MAX - 10, page).unwrap_err();
        assert!(err.contains("no pages"), "{err}");
        let err = census(i32::MAX as u32, page, page).unwrap_err();
        assert!(err.contains("no process"), "{err}");
    }
}
