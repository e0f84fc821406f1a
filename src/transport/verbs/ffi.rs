//! Owned handles over the librdmacm and libibverbs objects the verbs backend uses, each released
//! in `Drop`, and the few calls it makes on them. Every `unsafe` block of the backend is here.

use std::ffi::CString;
use std::io;
use std::ptr::{null_mut, read_volatile};

use rdma_sys::{
    ibv_access_flags, ibv_dereg_mr, ibv_mr, ibv_poll_cq, ibv_post_recv, ibv_post_send, ibv_qp_cap,
    ibv_qp_init_attr, ibv_qp_type, ibv_recv_wr, ibv_send_flags, ibv_send_wr, ibv_sge, ibv_wc,
    ibv_wc_opcode, ibv_wc_status, ibv_wc_status_str, ibv_wr_opcode, rdma_accept, rdma_addrinfo,
    rdma_cm_id, rdma_connect, rdma_create_ep, rdma_destroy_ep, rdma_disconnect, rdma_freeaddrinfo,
    rdma_get_request, rdma_getaddrinfo, rdma_listen, rdma_port_space,
};

use crate::transport::LinkError;

/// `RAI_PASSIVE` from `rdma_cma.h` (a macro bindgen does not carry over).
const RAI_PASSIVE: i32 = 1;
/// Work requests the send queue holds.
pub(crate) const SEND_DEPTH: u32 = 128;
/// Work requests the receive queue holds.
pub(crate) const RECV_DEPTH: u32 = 64;

fn os_error(what: &'static str) -> LinkError {
    LinkError::Io {
        what,
        source: io::Error::last_os_error(),
    }
}

/// A resolved RDMA address (`rdma_getaddrinfo`).
pub(crate) struct AddrInfo(*mut rdma_addrinfo);

impl AddrInfo {
    /// Resolves `host:port` for an RC connection; `passive` for the listening side.
    pub(crate) fn resolve(address: &str, passive: bool) -> Result<Self, LinkError> {
        let failed = |reason: String| LinkError::Connect {
            address: address.to_owned(),
            reason,
        };
        let (host, port) = address
            .rsplit_once(':')
            .ok_or_else(|| failed("expected host:port".into()))?;
        let host = CString::new(host.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|e| failed(e.to_string()))?;
        let port = CString::new(port).map_err(|e| failed(e.to_string()))?;
        // SAFETY: an all-zero `rdma_addrinfo` is the documented "no hints" value; the fields set
        // below are plain integers.
        let mut hints: rdma_addrinfo = unsafe { std::mem::zeroed() };
        hints.ai_port_space = rdma_port_space::RDMA_PS_TCP as i32;
        hints.ai_qp_type = ibv_qp_type::IBV_QPT_RC as i32;
        if passive {
            hints.ai_flags = RAI_PASSIVE;
        }
        let mut result = null_mut();
        // SAFETY: the strings are NUL-terminated and outlive the call; `result` receives a list
        // this struct frees in `Drop`.
        let rc = unsafe { rdma_getaddrinfo(host.as_ptr(), port.as_ptr(), &hints, &mut result) };
        if rc != 0 || result.is_null() {
            return Err(failed(io::Error::last_os_error().to_string()));
        }
        Ok(AddrInfo(result))
    }
}

impl Drop for AddrInfo {
    fn drop(&mut self) {
        // SAFETY: the list came from `rdma_getaddrinfo` and is freed once.
        unsafe { rdma_freeaddrinfo(self.0) };
    }
}

/// A completion taken from a completion queue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Completion {
    /// The work request's id.
    pub(crate) wr_id: u64,
    /// `None` on success, else the device's reason.
    pub(crate) error: Option<&'static str>,
    /// A receive that carried an RDMA write's immediate (not a SEND).
    pub(crate) with_imm: bool,
    /// Bytes a SEND delivered.
    pub(crate) byte_len: u32,
}

/// A connection endpoint and its RC queue pair (`rdma_create_ep`); destroyed in `Drop`.
pub(crate) struct Endpoint {
    id: *mut rdma_cm_id,
    /// What the device granted for inline sends.
    pub(crate) max_inline: u32,
}

// SAFETY: libibverbs' post and poll calls on one QP and its CQs are thread-safe, and the id is
// only destroyed in `Drop`, when no other reference exists.
unsafe impl Send for Endpoint {}
// SAFETY: as above; every method takes `&self` and calls thread-safe verbs.
unsafe impl Sync for Endpoint {}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("max_inline", &self.max_inline)
            .finish()
    }
}

impl Endpoint {
    /// Creates the endpoint and its queue pair (send queue unsignalled by default).
    pub(crate) fn create(info: &AddrInfo, max_inline: u32) -> Result<Self, LinkError> {
        // SAFETY: an all-zero `ibv_qp_init_attr` means "no CQs given, no SRQ": librdmacm
        // creates the completion queues itself.
        let mut attr: ibv_qp_init_attr = unsafe { std::mem::zeroed() };
        attr.cap = ibv_qp_cap {
            max_send_wr: SEND_DEPTH,
            max_recv_wr: RECV_DEPTH,
            max_send_sge: 1,
            max_recv_sge: 1,
            max_inline_data: max_inline,
        };
        attr.qp_type = ibv_qp_type::IBV_QPT_RC;
        attr.sq_sig_all = 0;
        let mut id = null_mut();
        // SAFETY: `info` holds a valid list from `rdma_getaddrinfo`; `attr` is a valid QP
        // description the call may update with what the device granted.
        let rc = unsafe { rdma_create_ep(&mut id, info.0, null_mut(), &mut attr) };
        if rc != 0 || id.is_null() {
            return Err(os_error("rdma_create_ep"));
        }
        Ok(Endpoint {
            id,
            max_inline: attr.cap.max_inline_data,
        })
    }

    /// Starts listening (passive endpoints), with accepts that never block.
    pub(crate) fn listen(&self) -> Result<(), LinkError> {
        // SAFETY: `id` is a live passive endpoint.
        if unsafe { rdma_listen(self.id, 1) } != 0 {
            return Err(os_error("rdma_listen"));
        }
        // SAFETY: `id` is live; a synchronous id owns the event channel `rdma_get_request`
        // reads, and making its fd non-blocking turns "no request yet" into EAGAIN.
        let channel = unsafe { (*self.id).channel };
        if channel.is_null() {
            return Err(LinkError::Protocol(
                "the listening RDMA id has no event channel".into(),
            ));
        }
        // SAFETY: checked non-null above; the channel lives as long as the id.
        let fd = unsafe { (*channel).fd };
        // SAFETY: fcntl on a file descriptor this process owns.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
            return Err(os_error("making the RDMA event channel non-blocking"));
        }
        Ok(())
    }

    /// A pending connection request, if any (with its own queue pair).
    pub(crate) fn try_accept_request(&self) -> Result<Option<Endpoint>, LinkError> {
        let mut id = null_mut();
        // SAFETY: `id` is a listening endpoint; the new id is owned by the returned Endpoint.
        let rc = unsafe { rdma_get_request(self.id, &mut id) };
        if rc != 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::WouldBlock {
                return Ok(None);
            }
            return Err(LinkError::Io {
                what: "rdma_get_request",
                source: err,
            });
        }
        Ok(Some(Endpoint {
            id,
            max_inline: self.max_inline,
        }))
    }

    /// Connects (active side) or accepts (passive side).
    pub(crate) fn establish(&self, active: bool) -> Result<(), LinkError> {
        // SAFETY: `id` is a live endpoint with a QP; null parameters take librdmacm's defaults
        // (retry and RNR retry counts of 7).
        let rc = unsafe {
            if active {
                rdma_connect(self.id, null_mut())
            } else {
                rdma_accept(self.id, null_mut())
            }
        };
        if rc != 0 {
            return Err(os_error(if active {
                "rdma_connect"
            } else {
                "rdma_accept"
            }));
        }
        Ok(())
    }

    /// Registers `len` bytes at `base` with this endpoint's protection domain.
    ///
    /// # Safety
    /// The memory must stay valid, and not move, for as long as the returned region lives, and
    /// with `remote_write`, the caller accepts that the peer writes into it at any time.
    pub(crate) unsafe fn register(
        &self,
        base: *mut u8,
        len: usize,
        remote_write: bool,
    ) -> Result<Region, LinkError> {
        let mut access = ibv_access_flags::IBV_ACCESS_LOCAL_WRITE.0;
        if remote_write {
            access |= ibv_access_flags::IBV_ACCESS_REMOTE_WRITE.0;
        }
        // SAFETY: the endpoint's PD is live; the caller guarantees the memory.
        let mr = unsafe { rdma_sys::ibv_reg_mr((*self.id).pd, base.cast(), len, access as i32) };
        if mr.is_null() {
            return Err(os_error("ibv_reg_mr"));
        }
        Ok(Region { mr })
    }

    /// Posts a receive of up to `len` bytes at `offset` of `region`.
    pub(crate) fn post_recv(
        &self,
        region: &Region,
        offset: usize,
        len: u32,
        wr_id: u64,
    ) -> Result<(), LinkError> {
        let mut sge = region.sge(offset, len);
        let mut wr = ibv_recv_wr {
            wr_id,
            next: null_mut(),
            sg_list: &mut sge,
            num_sge: 1,
        };
        let mut bad = null_mut();
        // SAFETY: the QP is live; the SGE points into registered memory the region keeps.
        if unsafe { ibv_post_recv((*self.id).qp, &mut wr, &mut bad) } != 0 {
            return Err(os_error("ibv_post_recv"));
        }
        Ok(())
    }

    /// Posts a send (`remote` = None) or an RDMA write (with an immediate when `imm` is set) of
    /// `local`: bytes inline when `inline`, else bytes in `region` at `offset`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn post(
        &self,
        local: Local<'_>,
        remote: Option<(u64, u32)>,
        imm: Option<u32>,
        signaled: bool,
        wr_id: u64,
    ) -> Result<(), LinkError> {
        let (mut sge, inline) = match local {
            Local::Inline(bytes) => (
                ibv_sge {
                    addr: bytes.as_ptr() as u64,
                    length: bytes.len() as u32,
                    lkey: 0,
                },
                true,
            ),
            Local::Registered(region, offset, len) => (region.sge(offset, len), false),
        };
        // SAFETY: an all-zero `ibv_send_wr` is a valid empty request; the fields that matter
        // are set below.
        let mut wr: ibv_send_wr = unsafe { std::mem::zeroed() };
        wr.wr_id = wr_id;
        wr.sg_list = &mut sge;
        wr.num_sge = 1;
        wr.opcode = match (remote, imm) {
            (None, _) => ibv_wr_opcode::IBV_WR_SEND,
            (Some(_), None) => ibv_wr_opcode::IBV_WR_RDMA_WRITE,
            (Some(_), Some(_)) => ibv_wr_opcode::IBV_WR_RDMA_WRITE_WITH_IMM,
        };
        let mut flags = 0;
        if signaled {
            flags |= ibv_send_flags::IBV_SEND_SIGNALED.0;
        }
        if inline {
            flags |= ibv_send_flags::IBV_SEND_INLINE.0;
        }
        wr.send_flags = flags;
        if let Some(imm) = imm {
            wr.imm_data_invalidated_rkey_union.imm_data = imm.to_be();
        }
        if let Some((remote_addr, rkey)) = remote {
            wr.wr.rdma = rdma_sys::rdma_t { remote_addr, rkey };
        }
        let mut bad = null_mut();
        // SAFETY: the QP is live; inline bytes are copied during the call, registered bytes stay
        // valid until the request's completion (the caller tracks it).
        if unsafe { ibv_post_send((*self.id).qp, &mut wr, &mut bad) } != 0 {
            return Err(os_error("ibv_post_send"));
        }
        Ok(())
    }

    fn poll(&self, send: bool) -> Option<Completion> {
        // SAFETY: an all-zero work completion is a valid buffer for `ibv_poll_cq` to fill.
        let mut wc: ibv_wc = unsafe { std::mem::zeroed() };
        // SAFETY: the CQs librdmacm created for this endpoint live as long as it does.
        let n = unsafe {
            let cq = if send {
                (*self.id).send_cq
            } else {
                (*self.id).recv_cq
            };
            ibv_poll_cq(cq, 1, &mut wc)
        };
        if n <= 0 {
            return None;
        }
        let error = (wc.status != ibv_wc_status::IBV_WC_SUCCESS).then(|| {
            // SAFETY: `ibv_wc_status_str` returns a static NUL-terminated string.
            unsafe { std::ffi::CStr::from_ptr(ibv_wc_status_str(wc.status)) }
                .to_str()
                .unwrap_or("unknown work completion error")
        });
        Some(Completion {
            wr_id: wc.wr_id,
            error,
            with_imm: wc.opcode == ibv_wc_opcode::IBV_WC_RECV_RDMA_WITH_IMM,
            byte_len: wc.byte_len,
        })
    }

    /// The next send completion, without waiting.
    pub(crate) fn poll_send(&self) -> Option<Completion> {
        self.poll(true)
    }

    /// The next receive completion, without waiting.
    pub(crate) fn poll_recv(&self) -> Option<Completion> {
        self.poll(false)
    }

    /// Tells the peer the connection is over.
    pub(crate) fn disconnect(&self) {
        // SAFETY: `id` is live; disconnecting twice is harmless.
        unsafe { rdma_disconnect(self.id) };
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // SAFETY: the id (and its QP and CQs) came from librdmacm and are destroyed once; regions
        // registered on it are dropped first by their owners.
        unsafe { rdma_destroy_ep(self.id) };
    }
}

/// What a send or write carries.
pub(crate) enum Local<'a> {
    /// Bytes copied into the work request.
    Inline(&'a [u8]),
    /// Bytes in registered memory: region, offset, length.
    Registered(&'a Region, usize, u32),
}

/// Registered memory (`ibv_reg_mr`); deregistered in `Drop`.
pub(crate) struct Region {
    mr: *mut ibv_mr,
}

// SAFETY: a memory region handle is used only through thread-safe verbs and plain reads of its
// keys and address.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

impl Region {
    /// The registered address, as the peer addresses it.
    pub(crate) fn addr(&self) -> u64 {
        // SAFETY: `mr` is live until `Drop`.
        unsafe { (*self.mr).addr as u64 }
    }

    /// The key a peer needs to write here.
    pub(crate) fn rkey(&self) -> u32 {
        // SAFETY: as above.
        unsafe { (*self.mr).rkey }
    }

    fn sge(&self, offset: usize, len: u32) -> ibv_sge {
        // SAFETY: as above.
        let (addr, lkey) = unsafe { ((*self.mr).addr as u64, (*self.mr).lkey) };
        ibv_sge {
            addr: addr + offset as u64,
            length: len,
            lkey,
        }
    }

    /// Reads the `u64` at `offset` (written by the peer's RDMA write, whose completion the
    /// caller has seen).
    pub(crate) fn read_u64(&self, offset: usize) -> u64 {
        // SAFETY: callers pass offsets of 8-aligned words inside the region; the read is volatile
        // because the device, not this program, wrote the word.
        unsafe { read_volatile(((*self.mr).addr as *const u8).add(offset).cast::<u64>()) }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: `mr` came from `ibv_reg_mr` and is deregistered once.
        unsafe { ibv_dereg_mr(self.mr) };
    }
}

/// Words of control memory as bytes (control buffers are `u64`s so every word the device writes
/// is aligned).
pub(crate) fn as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: any `u64` slice is a valid byte slice of 8× the length, with a lesser alignment.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast(), std::mem::size_of_val(words)) }
}

/// As [`as_bytes`], mutably.
pub(crate) fn as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: as above, from an exclusive borrow.
    unsafe {
        std::slice::from_raw_parts_mut(words.as_mut_ptr().cast(), std::mem::size_of_val(words))
    }
}
