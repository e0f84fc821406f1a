//! Where each record goes in a window, from positions alone: the writer's agent and a remote
//! producer that never sees the memory lay records out the same way.

use super::WindowError;
use crate::ring::record::{HEADER, footprint, max_payload, ring_offset};

/// Where one record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// A padding record to write first, at this offset, when the record does not fit before the
    /// end of the buffer: `(offset, payload length)`.
    pub padding: Option<(usize, u32)>,
    /// Offset of the record's header.
    pub offset: usize,
    /// The tail to publish once the record (and padding) are written.
    pub end: u64,
}

/// Where a record of `len` payload bytes goes in a window of `capacity` bytes (a power of two),
/// given the positions: the reader's `head` (as last credited) and the writer's `tail`. `None`:
/// not enough free room now (wait for credit).
///
/// # Errors
/// [`WindowError::RecordTooLarge`] when it can never fit.
pub fn place(
    capacity: usize,
    head: u64,
    tail: u64,
    len: usize,
) -> Result<Option<Placement>, WindowError> {
    let max = max_payload(capacity);
    if len > max {
        return Err(WindowError::RecordTooLarge { len, max });
    }
    let need = footprint(len) as u64;
    let offset = ring_offset(tail, capacity);
    let to_end = (capacity - offset) as u64;
    let (padding, start) = if need > to_end {
        (
            Some((offset, (to_end as usize - HEADER) as u32)),
            tail + to_end,
        )
    } else {
        (None, tail)
    };
    let end = start + need;
    if end - head > capacity as u64 {
        return Ok(None);
    }
    Ok(Some(Placement {
        padding,
        offset: ring_offset(start, capacity),
        end,
    }))
}
