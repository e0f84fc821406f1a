//! The frame pipeline: rows encoded straight into a [`frames`](crate::ring::frames) ring record
//! and decoded on the other side, whatever codec each frame carries.
//!
//! The sender claims the codec's worst case in the ring, encodes in place and publishes only what
//! the encoder wrote: no copy, no allocation once warm. The codec may change on every call.

use super::frame::FrameHeader;
use super::{CodecError, CodecId, Decoder, Encoder, max_frame_len};
use crate::ring::RingError;
use crate::ring::frames::{FrameConsumer, FrameProducer};
use crate::row::Row;

/// Why a batch could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The batch cannot be encoded (too many rows for a frame).
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The ring can never hold a frame of this batch.
    #[error(transparent)]
    Ring(#[from] RingError),
    /// The receiving side is gone.
    #[error("the receiver is gone")]
    Disconnected,
}

/// The producing end: encodes batches of rows into a frame ring.
#[derive(Debug)]
pub struct FrameSender {
    ring: FrameProducer,
    encoder: Encoder,
}

impl FrameSender {
    /// Sends through `ring`.
    pub fn new(ring: FrameProducer) -> Self {
        FrameSender {
            ring,
            encoder: Encoder::new(),
        }
    }

    /// Encodes `rows` with `codec` as one frame, waiting (with the ring's strategy) for room.
    /// Returns the frame's length in bytes.
    ///
    /// # Errors
    /// [`SendError::Ring`] when the ring is too small for this batch's worst case, and
    /// [`SendError::Disconnected`] when the receiver is gone.
    pub fn send(&mut self, codec: CodecId, rows: &[Row]) -> Result<usize, SendError> {
        let bound = max_frame_len(rows.len());
        let Some(mut writer) = self.ring.claim(bound)? else {
            return Err(SendError::Disconnected);
        };
        let len = self.encoder.encode(codec, rows, writer.as_mut_slice())?;
        writer.commit_len(len);
        Ok(len)
    }

    /// The largest batch a frame in this ring can carry in the worst case.
    pub fn max_batch(&self) -> usize {
        let max = self.ring.max_record();
        let (mut lo, mut hi) = (0, super::frame::MAX_FRAME_ROWS);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if max_frame_len(mid) <= max {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }
}

/// The consuming end: decodes frames from a frame ring.
#[derive(Debug)]
pub struct FrameReceiver {
    ring: FrameConsumer,
    decoder: Decoder,
}

impl FrameReceiver {
    /// Receives from `ring`.
    pub fn new(ring: FrameConsumer) -> Self {
        FrameReceiver {
            ring,
            decoder: Decoder::new(),
        }
    }

    /// Waits for the next frame and appends its rows to `out`. `Ok(None)` once the sender is gone
    /// and every frame was read.
    ///
    /// # Errors
    /// A [`CodecError`] for a frame that does not decode; the frame is consumed (the next call
    /// reads the one after it) and `out` is left as it was.
    pub fn recv(&mut self, out: &mut Vec<Row>) -> Result<Option<FrameHeader>, CodecError> {
        let Some(record) = self.ring.read() else {
            return Ok(None);
        };
        let decoded = self.decoder.decode(record.as_slice(), out);
        record.release();
        decoded.map(Some)
    }
}
