//! What the verbs handshake adds to the TCP one: where each side's remotely writable memory is.

use crate::transport::LinkError;
use crate::transport::wire::{self, Reply};

/// Bytes of each receive slot and handshake buffer.
pub(crate) const SLOT: usize = 512;
/// Bytes of a credit: head, echoed stamp, rows.
pub(crate) const CREDIT_BYTES: usize = 24;

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// After the hello: the sender's credit slot.
pub(crate) fn encode_hello_extra(credit_addr: u64, credit_rkey: u32) -> Vec<u8> {
    let mut out = credit_addr.to_le_bytes().to_vec();
    out.extend_from_slice(&credit_rkey.to_le_bytes());
    out
}

/// Reads what [`encode_hello_extra`] wrote.
pub(crate) fn decode_hello_extra(bytes: &[u8]) -> Result<(u64, u32), LinkError> {
    match (u64_at(bytes, 0), u32_at(bytes, 8)) {
        (Some(addr), Some(rkey)) => Ok((addr, rkey)),
        _ => Err(LinkError::Protocol(
            "the hello lacks the credit slot's address and key".into(),
        )),
    }
}

/// The receiver's welcome, with its window and tail slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Welcome {
    pub(crate) capacity: u64,
    pub(crate) start: u64,
    pub(crate) max_payload: u32,
    pub(crate) window_addr: u64,
    pub(crate) window_rkey: u32,
    pub(crate) tail_addr: u64,
    pub(crate) tail_rkey: u32,
}

impl Welcome {
    /// The welcome's bytes: the TCP reply, then the window and tail slot.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = wire::encode_reply(&Reply::Welcome {
            capacity: self.capacity,
            start: self.start,
            max_payload: self.max_payload,
        });
        out.extend_from_slice(&self.window_addr.to_le_bytes());
        out.extend_from_slice(&self.window_rkey.to_le_bytes());
        out.extend_from_slice(&self.tail_addr.to_le_bytes());
        out.extend_from_slice(&self.tail_rkey.to_le_bytes());
        out
    }

    /// Completes a TCP welcome with the bytes after it.
    pub(crate) fn decode(
        capacity: u64,
        start: u64,
        max_payload: u32,
        extra: &[u8],
    ) -> Result<Self, LinkError> {
        let fields = (
            u64_at(extra, 0),
            u32_at(extra, 8),
            u64_at(extra, 12),
            u32_at(extra, 20),
        );
        let (Some(window_addr), Some(window_rkey), Some(tail_addr), Some(tail_rkey)) = fields
        else {
            return Err(LinkError::Protocol(
                "the welcome lacks the window's address and keys".into(),
            ));
        };
        if !capacity.is_power_of_two() {
            return Err(LinkError::Protocol(format!(
                "a window of {capacity} bytes is not a power of two"
            )));
        }
        Ok(Welcome {
            capacity,
            start,
            max_payload,
            window_addr,
            window_rkey,
            tail_addr,
            tail_rkey,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::wire::{Inbound, Patience};
    use std::time::Duration;

    #[test]
    fn the_welcome_and_hello_extras_read_back() {
        let welcome = Welcome {
            capacity: 1 << 20,
            start: 64,
            max_payload: 1 << 19,
            window_addr: 0x7f00_0000_1000,
            window_rkey: 0x1234,
            tail_addr: 0x7f00_0000_9000,
            tail_rkey: 0x5678,
        };
        let bytes = welcome.encode();
        let mut inbound = Inbound::new(&bytes[..]);
        let never = || false;
        let patience = Patience::idle(Duration::from_millis(1), &never);
        let Ok(Reply::Welcome {
            capacity,
            start,
            max_payload,
        }) = inbound.reply(&patience)
        else {
            panic!("not a welcome");
        };
        let extra = &bytes[inbound.total as usize..];
        assert_eq!(
            Welcome::decode(capacity, start, max_payload, extra).unwrap(),
            welcome
        );
        assert!(Welcome::decode(capacity, start, max_payload, &extra[..20]).is_err());
        assert_eq!(
            decode_hello_extra(&encode_hello_extra(9, 7)).unwrap(),
            (9, 7)
        );
        assert!(decode_hello_extra(&[1, 2, 3]).is_err());
    }
}
