//! One interface over every ring's two ends, so the worker loops are written once: a producer
//! offers rows, a consumer takes rows; framed rings encode and decode on the way.

use std::time::Instant;

use crate::codec::{CodecId, Decoder, Encoder, max_frame_len};
use crate::ring::frames::{FrameConsumer, FrameProducer};
use crate::ring::{PrefetchDistance, broadcast, mpmc, spsc};
use crate::row::Row;

use super::control::CodecCounters;

/// The writing end of some ring.
pub(crate) enum Sink {
    Spsc(spsc::Producer<Row>),
    Broadcast(broadcast::Producer<Row>),
    Mpmc(mpmc::Sender<Row>, Vec<Row>),
    Frames(FrameProducer, Encoder),
}

/// The reading end of some ring.
pub(crate) enum Source {
    Spsc(spsc::Consumer<Row>),
    Broadcast(broadcast::Consumer<Row>),
    Mpmc(mpmc::Receiver<Row>),
    Frames(FrameConsumer, Decoder),
}

/// The ring's endpoint counters, when the ring keeps them.
pub(crate) type Counters = Option<crate::ring::EndpointStats>;

impl Sink {
    /// Writes as many of `rows` as fit now (all or nothing for a frame); how many.
    pub(crate) fn offer(&mut self, rows: &[Row], codec: CodecId, stats: &CodecCounters) -> usize {
        match self {
            Sink::Spsc(tx) => {
                let mut chunk = tx.write_chunk(rows.len());
                chunk.fill_with(|i| rows[i]);
                chunk.commit()
            }
            Sink::Broadcast(tx) => {
                let mut chunk = tx.write_chunk(rows.len());
                chunk.fill_with(|i| rows[i]);
                chunk.commit()
            }
            Sink::Mpmc(tx, staged) => {
                staged.clear();
                staged.extend_from_slice(rows);
                tx.push_batch(staged)
            }
            Sink::Frames(tx, encoder) => {
                let bound = max_frame_len(rows.len());
                let Ok(Some(mut writer)) = tx.try_claim(bound) else {
                    return 0;
                };
                let start = Instant::now();
                match encoder.encode(codec, rows, writer.as_mut_slice()) {
                    Ok(len) => {
                        stats.record(rows.len(), len, start.elapsed());
                        writer.commit_len(len);
                        rows.len()
                    }
                    // The batch was checked against the frame bound; a failure is a bug, and
                    // publishing nothing keeps the stream intact.
                    Err(_) => 0,
                }
            }
        }
    }

    /// Whether every reader is gone.
    pub(crate) fn is_abandoned(&self) -> bool {
        match self {
            Sink::Spsc(tx) => tx.is_abandoned(),
            Sink::Broadcast(tx) => tx.is_abandoned(),
            Sink::Mpmc(tx, _) => tx.is_abandoned(),
            Sink::Frames(tx, _) => tx.is_abandoned(),
        }
    }

    pub(crate) fn counters(&self) -> Counters {
        match self {
            Sink::Spsc(tx) => Some(tx.stats()),
            Sink::Broadcast(tx) => Some(tx.stats()),
            Sink::Mpmc(..) => None,
            Sink::Frames(tx, _) => Some(tx.stats()),
        }
    }

    /// Applies a prefetch distance where the ring has one; whether it applied.
    pub(crate) fn set_prefetch(&mut self, distance: usize) -> bool {
        match self {
            Sink::Spsc(tx) => tx.set_prefetch_distance(PrefetchDistance(distance)),
            Sink::Broadcast(tx) => tx.set_prefetch_distance(PrefetchDistance(distance)),
            Sink::Mpmc(..) | Sink::Frames(..) => return false,
        }
        true
    }
}

impl Source {
    /// Moves up to `max` rows (a whole frame when framed) onto `out`; how many.
    pub(crate) fn take(&mut self, max: usize, out: &mut Vec<Row>, stats: &CodecCounters) -> usize {
        let before = out.len();
        match self {
            Source::Spsc(rx) => {
                let chunk = rx.read_chunk(max);
                let (a, b) = chunk.as_slices();
                out.extend_from_slice(a);
                out.extend_from_slice(b);
                chunk.release();
            }
            Source::Broadcast(rx) => {
                let chunk = rx.read_chunk(max);
                let (a, b) = chunk.as_slices();
                out.extend_from_slice(a);
                out.extend_from_slice(b);
                chunk.release();
            }
            Source::Mpmc(rx) => {
                rx.pop_batch(out, max);
            }
            Source::Frames(rx, decoder) => {
                if let Some(record) = rx.try_read() {
                    let start = Instant::now();
                    let decoded = decoder.decode(record.as_slice(), out);
                    let elapsed = start.elapsed();
                    let frame_len = record.len();
                    record.release();
                    match decoded {
                        Ok(header) => stats.record(header.rows, frame_len, elapsed),
                        Err(_) => {
                            stats
                                .corrupt_frames
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    };
                }
            }
        }
        out.len() - before
    }

    /// Whether the writers are gone and everything they wrote was read.
    pub(crate) fn is_drained(&self) -> bool {
        match self {
            Source::Spsc(rx) => rx.is_abandoned() && rx.is_empty(),
            Source::Broadcast(rx) => rx.is_abandoned() && rx.is_empty(),
            Source::Mpmc(rx) => rx.is_abandoned() && rx.is_empty(),
            Source::Frames(rx, _) => rx.is_abandoned() && rx.is_empty(),
        }
    }

    pub(crate) fn counters(&self) -> Counters {
        match self {
            Source::Spsc(rx) => Some(rx.stats()),
            Source::Broadcast(rx) => Some(rx.stats()),
            Source::Mpmc(_) => None,
            Source::Frames(rx, _) => Some(rx.stats()),
        }
    }

    pub(crate) fn set_prefetch(&mut self, distance: usize) -> bool {
        match self {
            Source::Spsc(rx) => rx.set_prefetch_distance(PrefetchDistance(distance)),
            Source::Broadcast(rx) => rx.set_prefetch_distance(PrefetchDistance(distance)),
            Source::Mpmc(_) | Source::Frames(..) => return false,
        }
        true
    }
}
