//! The frame pipeline: rows encoded straight into a [`frames`](crate::ring::frames) ring record
//! and decoded on the other side, whatever codec each frame carries.
//!
//! The sender claims the codec's worst case in the ring, encodes in place and publishes only what
//! the encoder wrote: no copy, no allocation once warm. The codec may change on every call. The
//! engine's framed rings run through this pair (`try_send` / `try_recv`); a program of your own can
//! use the blocking `send` / `recv`.

use std::time::{Duration, Instant};

use super::frame::FrameHeader;
use super::{CodecError, CodecId, Decoder, Encoder, max_frame_len, max_rows_in};
use crate::ring::RingError;
use crate::ring::frames::{FrameConsumer, FrameProducer, FrameReader, FrameWriter};
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
        let Some(writer) = self.ring.claim(max_frame_len(rows.len()))? else {
            return Err(SendError::Disconnected);
        };
        Ok(encode_into(&mut self.encoder, writer, codec, rows)?.0)
    }

    /// As [`send`](Self::send), without waiting: `Ok(None)` when the ring has no room for the
    /// batch's worst case now. With the frame's length comes how long encoding took (timed only
    /// once a record is claimed, so an attempt on a full ring reads no clock).
    ///
    /// # Errors
    /// As [`send`](Self::send), less `Disconnected`.
    pub fn try_send(
        &mut self,
        codec: CodecId,
        rows: &[Row],
    ) -> Result<Option<(usize, Duration)>, SendError> {
        match self.ring.try_claim(max_frame_len(rows.len()))? {
            Some(writer) => Ok(Some(encode_into(&mut self.encoder, writer, codec, rows)?)),
            None => Ok(None),
        }
    }

    /// The ring frames go into (its capacity, counters, whether the receiver is gone).
    pub fn ring(&self) -> &FrameProducer {
        &self.ring
    }

    /// The largest batch a frame in this ring can carry in the worst case.
    pub fn max_batch(&self) -> usize {
        max_rows_in(self.ring.max_record())
    }
}

/// Encodes `rows` in place into a claimed record and publishes only what the encoder wrote, with
/// how long encoding took; on an encoding error nothing is published and the stream stays intact.
fn encode_into(
    encoder: &mut Encoder,
    mut writer: FrameWriter<'_>,
    codec: CodecId,
    rows: &[Row],
) -> Result<(usize, Duration), CodecError> {
    let start = Instant::now();
    let len = encoder.encode(codec, rows, writer.as_mut_slice())?;
    let took = start.elapsed();
    writer.commit_len(len);
    Ok((len, took))
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
        match self.ring.read() {
            Some(record) => decode_record(&mut self.decoder, record, out).map(|(h, _)| Some(h)),
            None => Ok(None),
        }
    }

    /// As [`recv`](Self::recv), without waiting: `Ok(None)` when no frame is ready now. With the
    /// header comes how long decoding took (timed only once a frame is there, so an empty poll
    /// reads no clock).
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn try_recv(
        &mut self,
        out: &mut Vec<Row>,
    ) -> Result<Option<(FrameHeader, Duration)>, CodecError> {
        match self.ring.try_read() {
            Some(record) => decode_record(&mut self.decoder, record, out).map(Some),
            None => Ok(None),
        }
    }

    /// Whether a frame is ready, as [`try_recv`](Self::try_recv) would find it, without taking
    /// it: finding none is a stall in the ring's counters, once per episode, where the ring's
    /// `is_empty()` counts nothing (so a consumer that waits polls with this once, then looks).
    pub fn poll_ready(&mut self) -> bool {
        self.ring.try_read().is_some()
    }

    /// The ring frames come from (its counters, whether the sender is gone, whether it is
    /// empty).
    pub fn ring(&self) -> &FrameConsumer {
        &self.ring
    }
}

/// Decodes one record onto `out` and releases it, whether it decoded or not; with how long
/// decoding took.
fn decode_record(
    decoder: &mut Decoder,
    record: FrameReader<'_>,
    out: &mut Vec<Row>,
) -> Result<(FrameHeader, Duration), CodecError> {
    let start = Instant::now();
    let decoded = decoder.decode(record.as_slice(), out);
    let took = start.elapsed();
    record.release();
    decoded.map(|header| (header, took))
}
