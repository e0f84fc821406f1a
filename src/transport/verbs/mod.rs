//! The RDMA verbs backend (cargo feature `rdma`): the TCP backend's one-sided protocol on an RC
//! queue pair set up with librdmacm. The receiver registers its window once per connection for
//! remote writes; the sender writes each frame with RDMA WRITE (inline when it fits the device's
//! inline limit, else from a registered staging buffer), then the tail with RDMA WRITE WITH
//! IMMEDIATE; credits come back the same way. Only staging writes and every 32nd inline request
//! are signalled. The handshake is the TCP one (magic, version, token, largest frame) carried in
//! SEND messages, plus each side's remotely writable addresses and keys.
//!
//! - [`send`]: the sender; [`receive`]: the listener and the consumer's credit path;
//! - `ffi`: every libibverbs/librdmacm call, behind owned handles; `layout`: the handshake's
//!   extra fields.
//!
//! With no device (a kernel without InfiniBand gives `ENOSYS`; one without an adapter an empty
//! list) a profile asking for `kind = "rdma"` stops at start with the reason and the way out,
//! `kind = "tcp"`. No machine this project runs on has an RDMA device: the data path builds and
//! its handshake layout is tested, but it has not carried a frame.

use std::ffi::CStr;

mod ffi;
mod layout;
pub mod receive;
pub mod send;

pub use receive::{VerbsListener, listen};
pub use send::VerbsSender;

use super::LinkError;

/// One RDMA device as libibverbs names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Kernel name (`mlx5_0`, `rxe0`, …).
    pub name: String,
}

/// The RDMA devices on this host.
///
/// # Errors
/// [`LinkError::Unavailable`] with libibverbs' reason when it cannot list devices at all.
pub fn devices() -> Result<Vec<Device>, LinkError> {
    let mut count: libc::c_int = 0;
    // SAFETY: `ibv_get_device_list` writes the count through a valid pointer and returns either
    // null (errno set) or an array of `count` device pointers that stays valid until
    // `ibv_free_device_list`, which is called below on every path that got one.
    let list = unsafe { rdma_sys::ibv_get_device_list(&mut count) };
    if list.is_null() {
        let err = std::io::Error::last_os_error();
        return Err(LinkError::Unavailable(format!(
            "no RDMA device (ibv_get_device_list: {}); use kind = \"tcp\" in [transport]",
            errno_name(&err)
        )));
    }
    let mut found = Vec::new();
    for i in 0..usize::try_from(count).unwrap_or(0) {
        // SAFETY: `i < count`, so the element is one of the device pointers in the list, and
        // `ibv_get_device_name` returns a NUL-terminated name owned by the device.
        let name = unsafe {
            let device = *list.add(i);
            let name = rdma_sys::ibv_get_device_name(device);
            if name.is_null() {
                continue;
            }
            CStr::from_ptr(name).to_string_lossy().into_owned()
        };
        found.push(Device { name });
    }
    // SAFETY: `list` came from `ibv_get_device_list` and is freed once.
    unsafe { rdma_sys::ibv_free_device_list(list) };
    Ok(found)
}

/// The next SEND from the peer, in one of the receive slots from `recv_at` (the slot is posted
/// again), within `timeout`; gives up early when `stop` says so.
fn next_message(
    endpoint: &ffi::Endpoint,
    region: &ffi::Region,
    memory: &[u64],
    recv_at: usize,
    timeout: std::time::Duration,
    stop: &dyn Fn() -> bool,
) -> Result<Vec<u8>, LinkError> {
    let deadline = crate::clock::deadline(std::time::Instant::now(), timeout);
    loop {
        if let Some(done) = endpoint.poll_recv() {
            if let Some(error) = done.error {
                return Err(LinkError::Protocol(format!("handshake failed: {error}")));
            }
            let slot = done.wr_id as usize % ffi::RECV_DEPTH as usize;
            let at = recv_at + slot * layout::SLOT;
            let len = (done.byte_len as usize).min(layout::SLOT);
            let bytes = ffi::as_bytes(memory)[at..at + len].to_vec();
            endpoint.post_recv(region, at, layout::SLOT as u32, slot as u64)?;
            return Ok(bytes);
        }
        if stop() {
            return Err(LinkError::Stopped);
        }
        if !crate::clock::ahead(deadline, std::time::Instant::now()) {
            return Err(LinkError::Deadline(timeout));
        }
        std::thread::sleep(std::time::Duration::from_micros(50));
    }
}

/// Succeeds when this host has at least one RDMA device.
///
/// # Errors
/// [`unavailable`]'s reason otherwise.
pub fn require_device() -> Result<(), LinkError> {
    match devices() {
        Ok(found) if !found.is_empty() => Ok(()),
        _ => Err(unavailable()),
    }
}

/// Why verbs cannot carry a ring here: the device list's error, or the lack of a device.
pub fn unavailable() -> LinkError {
    match devices() {
        Err(e) => e,
        Ok(found) if found.is_empty() => LinkError::Unavailable(
            "no RDMA device (ibv_get_device_list: found none); use kind = \"tcp\" in [transport]"
                .into(),
        ),
        Ok(found) => LinkError::Unavailable(format!(
            "RDMA device(s) {} found, but the connection could not be set up",
            found
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// `ENOSYS` rather than "Function not implemented": the name the issue trackers use.
fn errno_name(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(libc::ENOSYS) => "ENOSYS".into(),
        Some(libc::ENODEV) => "ENODEV".into(),
        Some(libc::EPERM) => "EPERM".into(),
        Some(libc::EACCES) => "EACCES".into(),
        Some(code) => format!("{err} (errno {code})"),
        None => err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_device_the_reason_names_the_call_and_the_way_out() {
        let message = unavailable().to_string();
        assert!(
            message.contains("use kind = \"tcp\" in [transport]"),
            "{message}"
        );
        if devices().map_or(true, |d| d.is_empty()) {
            assert!(
                message.starts_with("no RDMA device (ibv_get_device_list: "),
                "{message}"
            );
        }
    }
}
