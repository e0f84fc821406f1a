//! Anonymous memory mappings for ring memory (FFI to `mmap`/`madvise`), with huge pages when the
//! machine has them.
//!
//! The global allocator cannot ask for huge pages or hand whole pages to `mbind`, so NUMA-placed
//! rings map their own memory here. [`map_shared_file`] maps a file two processes share (stats
//! segments, shared-memory rings).

use std::cell::UnsafeCell;
use std::ptr::NonNull;

use serde::{Deserialize, Serialize};

/// The size of a huge page on the platforms ringtop knows (x86_64 and aarch64 with 4 KiB base
/// pages).
pub const HUGE_PAGE_BYTES: usize = 2 << 20;

/// What backs a mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PageBacking {
    /// Ordinary pages; huge pages were not asked for.
    Normal {
        /// Bytes per page.
        page_bytes: usize,
    },
    /// Explicit 2 MiB pages from the kernel's reserved pool (`MAP_HUGETLB`).
    ExplicitHuge,
    /// Explicit huge pages were unavailable; the mapping is 2 MiB-aligned and advised for
    /// transparent huge pages, which the kernel may or may not grant.
    TransparentHuge {
        /// Why explicit huge pages could not be had.
        explicit_failed: String,
        /// Bytes of the mapping backed by transparent huge pages after touching, as
        /// `/proc/self/smaps` reports; `None` when that cannot be read.
        backed_bytes: Option<u64>,
    },
    /// Huge pages were asked for and neither kind could be had; ordinary pages are used.
    NormalFallback {
        /// Bytes per page.
        page_bytes: usize,
        /// Why huge pages could not be had.
        reason: String,
    },
}

/// An owned anonymous mapping, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a `Mapping` owns its pages exclusively; moving or sharing the handle across threads
// does not touch the memory, which the ring synchronises itself.
unsafe impl Send for Mapping {}
// SAFETY: as above; `&Mapping` only exposes the address and the `UnsafeCell` view.
unsafe impl Sync for Mapping {}

/// The base page size of this machine.
/// Faults in every page of `area` (memory this process maps, of whole pages) for writing,
/// without changing a byte: the pages are allocated now, under the area's memory policy.
///
/// # Errors
/// What the kernel said (a kernel before 5.14 has no `MADV_POPULATE_WRITE`).
pub(crate) fn populate_area(area: &[UnsafeCell<u8>]) -> Result<(), String> {
    // SAFETY: the range is memory this process maps (the slice says so); populating only faults
    // pages in, writing nothing.
    let populated = unsafe {
        libc::madvise(
            area.as_ptr().cast_mut().cast(),
            area.len(),
            libc::MADV_POPULATE_WRITE,
        )
    };
    if populated == 0 {
        Ok(())
    } else {
        Err(format!(
            "its pages could not be faulted in ({})",
            std::io::Error::last_os_error()
        ))
    }
}

pub(crate) fn page_size() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

fn round_up(len: usize, to: usize) -> usize {
    len.div_ceil(to) * to
}

fn last_os_error() -> String {
    std::io::Error::last_os_error().to_string()
}

impl Mapping {
    /// Maps at least `len` bytes of zeroed, private, read-write memory. With `huge`, tries
    /// explicit 2 MiB pages, then transparent huge pages, then ordinary pages, and says which.
    /// The explicit pages are faulted in here; a caller that binds the memory to a node first
    /// uses [`Mapping::explicit_huge`], [`Mapping::populate`] and [`Mapping::fallback`].
    #[cfg(test)]
    pub(crate) fn new(len: usize, huge: bool) -> Result<(Mapping, PageBacking), String> {
        if !huge {
            return Self::fallback(len, None);
        }
        let explicit_failed = match Self::explicit_huge(len) {
            Ok(mapping) => match mapping.populate(None) {
                Ok(()) => return Ok((mapping, PageBacking::ExplicitHuge)),
                Err(reason) => reason,
            },
            Err(reason) => reason,
        };
        Self::fallback(len, Some(explicit_failed))
    }

    /// Maps `len` bytes (rounded up to 2 MiB) of explicit 2 MiB huge pages from the kernel's
    /// reserved pool. The size is named (`MAP_HUGE_2MB`): without it the kernel takes its
    /// default huge page size, 1 GiB on some hosts, which this mapping's length would not fit.
    /// The pages are not faulted in yet: see [`Mapping::populate`].
    pub(crate) fn explicit_huge(len: usize) -> Result<Mapping, String> {
        Self::map(
            round_up(len, HUGE_PAGE_BYTES),
            libc::MAP_HUGETLB | libc::MAP_HUGE_2MB,
        )
        .map_err(|err| format!("no explicit 2 MiB huge pages reserved ({err})"))
    }

    /// Faults in every page of an explicit huge mapping now, under its memory policy, so that a
    /// node with no free huge pages is an error here rather than a `SIGBUS` when the ring first
    /// writes there. Uses `MADV_POPULATE_WRITE` (Linux 5.14); on older kernels, checks the free
    /// huge pages of `node` (or the whole host) before touching.
    ///
    /// # Errors
    /// Why the pages cannot be had; the mapping should then be dropped.
    pub(crate) fn populate(&self, node: Option<usize>) -> Result<(), String> {
        // SAFETY: the range is exactly this mapping; populating only faults pages in.
        let populated = unsafe {
            libc::madvise(
                self.ptr.as_ptr().cast(),
                self.len,
                libc::MADV_POPULATE_WRITE,
            )
        };
        if populated == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        let where_ = node.map_or(String::new(), |n| format!(" on node {n}"));
        let needed = self.len / HUGE_PAGE_BYTES;
        if err.raw_os_error() != Some(libc::EINVAL) {
            return Err(format!(
                "{needed} explicit 2 MiB huge pages could not be faulted in{where_} ({err})"
            ));
        }
        match free_huge_pages(node) {
            Some(free) if free >= needed => {
                self.touch(HUGE_PAGE_BYTES);
                Ok(())
            }
            Some(free) => Err(format!(
                "{needed} explicit 2 MiB huge pages needed, {free} free{where_}"
            )),
            None => Err(format!(
                "cannot tell whether {needed} explicit 2 MiB huge pages are free{where_} \
                 (no MADV_POPULATE_WRITE on this kernel, no free_hugepages count)"
            )),
        }
    }

    /// Ordinary memory for `len` bytes: with `explicit_failed` (huge pages were asked for and
    /// explicit ones could not be had, for that reason), 2 MiB-aligned and advised for
    /// transparent huge pages; without, plain pages.
    pub(crate) fn fallback(
        len: usize,
        explicit_failed: Option<String>,
    ) -> Result<(Mapping, PageBacking), String> {
        let page = page_size();
        let Some(explicit_failed) = explicit_failed else {
            let mapping = Self::map(round_up(len, page), 0)?;
            return Ok((mapping, PageBacking::Normal { page_bytes: page }));
        };
        let mapping = Self::map_aligned(round_up(len, HUGE_PAGE_BYTES), HUGE_PAGE_BYTES)?;
        // SAFETY: the range is exactly the mapping just created.
        let advised = unsafe {
            libc::madvise(
                mapping.ptr.as_ptr().cast(),
                mapping.len,
                libc::MADV_HUGEPAGE,
            )
        };
        if advised == 0 {
            Ok((
                mapping,
                PageBacking::TransparentHuge {
                    explicit_failed,
                    backed_bytes: None,
                },
            ))
        } else {
            let reason = format!(
                "{explicit_failed}; transparent huge pages refused ({})",
                last_os_error()
            );
            Ok((
                mapping,
                PageBacking::NormalFallback {
                    page_bytes: page,
                    reason,
                },
            ))
        }
    }

    fn map(len: usize, extra_flags: libc::c_int) -> Result<Mapping, String> {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing affects
        // no existing memory.
        let raw = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra_flags,
                -1,
                0,
            )
        };
        if raw == libc::MAP_FAILED {
            return Err(last_os_error());
        }
        let ptr = NonNull::new(raw.cast::<u8>()).ok_or_else(|| "mmap returned null".to_owned())?;
        Ok(Mapping { ptr, len })
    }

    /// Maps `len` bytes starting at a multiple of `align`, by mapping more and unmapping the
    /// unaligned ends.
    fn map_aligned(len: usize, align: usize) -> Result<Mapping, String> {
        let over = Self::map(len + align, 0)?;
        let start = over.ptr.as_ptr() as usize;
        let aligned = round_up(start, align);
        let head = aligned - start;
        let tail = align - head;
        debug_assert_eq!(head + len + tail, over.len);
        let ptr = NonNull::new(aligned as *mut u8).ok_or_else(|| "aligned null".to_owned())?;
        // The ends go first; `over` still owns the whole range (and unmaps it on an error).
        for (at, bytes) in [(start, head), (aligned + len, tail)] {
            // SAFETY: a page-aligned sub-range at either end of `over`, which nothing
            // references; the part kept does not overlap it.
            if bytes > 0 && unsafe { libc::munmap(at as *mut libc::c_void, bytes) } != 0 {
                return Err(format!("trimming an aligned mapping: {}", last_os_error()));
            }
        }
        std::mem::forget(over);
        Ok(Mapping { ptr, len })
    }

    /// The first byte.
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Bytes mapped (a whole number of pages).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The mapping as cells: a view hwloc can be handed to bind or locate the pages while a
    /// ring is writing them (it reads page tables, not bytes).
    pub(crate) fn cells(&self) -> &[UnsafeCell<u8>] {
        // SAFETY: the mapping is `len` readable bytes that live as long as `self`; `UnsafeCell`
        // makes concurrent writes through the ring's pointers legal while this view exists.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len) }
    }

    /// Writes one byte in every page so the kernel places the pages now, from the calling
    /// thread, under the mapping's memory policy.
    pub(crate) fn touch(&self, stride: usize) {
        let mut offset = 0;
        while offset < self.len {
            // SAFETY: `offset < len`, inside the mapping; nothing else uses the memory yet.
            unsafe { self.ptr.as_ptr().add(offset).write_volatile(0) };
            offset += stride;
        }
    }

    /// Bytes of this mapping the kernel backs with transparent huge pages now.
    pub(crate) fn transparent_huge_bytes(&self) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        anon_huge_bytes_in(&smaps, self.ptr.as_ptr() as usize, self.len)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the range is exactly this mapping, and nothing uses it after drop.
        let unmapped = unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        // The length is a whole number of the mapping's pages (2 MiB ones named explicitly),
        // so the kernel has no reason to refuse; if it ever does, the pages leak, loudly in tests.
        debug_assert_eq!(unmapped, 0, "munmap: {}", last_os_error());
    }
}

/// Free explicit 2 MiB huge pages on `node`, or on the whole host.
fn free_huge_pages(node: Option<usize>) -> Option<usize> {
    let path = match node {
        Some(n) => {
            format!("/sys/devices/system/node/node{n}/hugepages/hugepages-2048kB/free_hugepages")
        }
        None => "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages".to_owned(),
    };
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Sums `AnonHugePages` over the `/proc/self/smaps` entries overlapping `[start, start+len)`.
fn anon_huge_bytes_in(smaps: &str, start: usize, len: usize) -> Option<u64> {
    let end = start + len;
    let mut in_range = false;
    let mut found = false;
    let mut total = 0u64;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((lo, hi)) = first.split_once('-')
            && let (Ok(lo), Ok(hi)) = (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
        {
            in_range = lo < end && hi > start;
            found |= in_range;
            continue;
        }
        if in_range && let Some(rest) = line.strip_prefix("AnonHugePages:") {
            let kib: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            total += kib * 1024;
        }
    }
    found.then_some(total)
}

/// Creates `path` afresh for a file two processes will share: a leftover of that name (a
/// temporary file a crashed process left) removed first, then made new, readable and writable,
/// mode 0600 (this user only). The caller sizes, maps and renames it into place.
///
/// # Errors
/// What the OS said.
#[cfg(not(loom))]
pub(crate) fn create_private_file(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Maps the first `len` bytes of `file` readable and writable, shared with every process that
/// maps it. The caller makes sure the file is at least `len` bytes long, and unmaps the result
/// (`munmap`) once nothing uses it.
///
/// # Errors
/// What `mmap` said.
#[cfg(not(loom))]
pub(crate) fn map_shared_file(file: &std::fs::File, len: usize) -> std::io::Result<NonNull<u8>> {
    use std::os::fd::AsRawFd;
    // SAFETY: a fresh shared mapping of `len` bytes of an open file; the kernel checks the
    // descriptor and the length, and the result is checked before use.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    NonNull::new(base.cast()).ok_or_else(|| std::io::Error::other("mmap returned null"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smaps_entries_are_summed_over_the_range_only() {
        let smaps = "\
7f0000000000-7f0000400000 rw-p 00000000 00:00 0
Size:               4096 kB
AnonHugePages:      2048 kB
7f0000400000-7f0000600000 rw-p 00000000 00:00 0
AnonHugePages:      2048 kB
";
        assert_eq!(
            anon_huge_bytes_in(smaps, 0x7f00_0000_0000, 0x40_0000),
            Some(2 << 20)
        );
        assert_eq!(
            anon_huge_bytes_in(smaps, 0x7f00_0000_0000, 0x60_0000),
            Some(4 << 20)
        );
        assert_eq!(anon_huge_bytes_in(smaps, 0x1000, 0x1000), None);
    }

    #[test]
    fn mappings_are_page_multiples_and_huge_ones_are_aligned() {
        let (normal, backing) = Mapping::new(100, false).unwrap();
        assert_eq!(normal.len() % page_size(), 0);
        assert!(matches!(backing, PageBacking::Normal { .. }));
        normal.touch(page_size());

        let (huge, backing) = Mapping::new(3 << 20, true).unwrap();
        assert_eq!(huge.len(), 4 << 20);
        if !matches!(backing, PageBacking::NormalFallback { .. }) {
            assert_eq!(huge.ptr().as_ptr() as usize % HUGE_PAGE_BYTES, 0);
        }
        huge.touch(page_size());
    }
}
