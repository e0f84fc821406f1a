//! One interface over every ring's two ends, so the worker loops are written once: a producer
//! offers rows, a consumer takes rows; framed rings encode and decode on the way.

use std::time::Instant;

use crate::codec::pipe::{FrameReceiver, FrameSender};
use crate::codec::{CodecId, Decoder, Encoder, max_frame_len, max_rows_in};
use crate::ring::{PrefetchDistance, broadcast, mpmc, relay, spsc};
use crate::row::Row;
use crate::transport::inbox::{Inbox, Polled};
use crate::transport::session::SessionEvent;
use crate::transport::{FrameLink, SendOutcome};

use super::control::CodecCounters;

/// The writing end of some ring.
pub(crate) enum Sink {
    Spsc(spsc::Producer<Row>),
    Relay(relay::Producer<Row>),
    Broadcast(broadcast::Producer<Row>),
    Mpmc(mpmc::Sender<Row>, Vec<Row>),
    Frames(Box<FrameSender>),
    /// A ring on another host: frames written across the link.
    Remote(Box<dyn FrameLink>, Encoder),
}

/// The reading end of some ring.
pub(crate) enum Source {
    Spsc(spsc::Consumer<Row>),
    Relay(relay::Consumer<Row>),
    Broadcast(broadcast::Consumer<Row>),
    Mpmc(mpmc::Receiver<Row>),
    Frames(Box<FrameReceiver>),
    /// This process's ring, written by a sender on another host; a session marker read from
    /// the stream waits in the option until the worker takes it.
    Remote(Box<Inbox>, Decoder, Option<SessionEvent>),
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
            // One stamp per row: no batch to publish at once.
            Sink::Relay(tx) => rows.iter().take_while(|r| tx.try_push(**r).is_ok()).count(),
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
            Sink::Frames(tx) => {
                let start = Instant::now();
                match tx.try_send(codec, rows) {
                    Ok(Some(len)) => {
                        stats.record(rows.len(), len, start.elapsed());
                        rows.len()
                    }
                    // No room now. An error cannot happen (the batch was checked against the
                    // frame bound) and would publish nothing, keeping the stream intact.
                    Ok(None) | Err(_) => 0,
                }
            }
            Sink::Remote(tx, encoder) => {
                // At least one row: a sender's frames always have room for one (checked at connect).
                let rows = &rows[..max_rows_in(tx.max_frame()).max(1).min(rows.len())];
                let start = Instant::now();
                let mut encoded = 0;
                let outcome = tx.send_frame(max_frame_len(rows.len()), rows.len(), &mut |buf| {
                    let len = encoder.encode(codec, rows, buf).ok()?;
                    encoded = len;
                    Some(len)
                });
                match outcome {
                    SendOutcome::Sent(_) => {
                        stats.record(rows.len(), encoded, start.elapsed());
                        rows.len()
                    }
                    _ => 0,
                }
            }
        }
    }

    /// Ends the stream cleanly where that means something: a remote sender says goodbye and
    /// waits briefly for the receiver to confirm every row.
    pub(crate) fn finish(&mut self) {
        if let Sink::Remote(tx, _) = self {
            tx.finish(std::time::Duration::from_secs(5));
        }
    }

    /// Whether every reader is gone.
    pub(crate) fn is_abandoned(&self) -> bool {
        match self {
            Sink::Spsc(tx) => tx.is_abandoned(),
            Sink::Relay(tx) => tx.is_abandoned(),
            Sink::Broadcast(tx) => tx.is_abandoned(),
            Sink::Mpmc(tx, _) => tx.is_abandoned(),
            Sink::Frames(tx) => tx.ring().is_abandoned(),
            // A remote receiver may come back: the sender reconnects.
            Sink::Remote(..) => false,
        }
    }

    pub(crate) fn counters(&self) -> Counters {
        match self {
            Sink::Spsc(tx) => Some(tx.stats()),
            Sink::Relay(tx) => Some(tx.stats()),
            Sink::Broadcast(tx) => Some(tx.stats()),
            Sink::Mpmc(..) | Sink::Remote(..) => None,
            Sink::Frames(tx) => Some(tx.ring().stats()),
        }
    }

    /// Applies a prefetch distance where the ring has one; whether it applied.
    pub(crate) fn set_prefetch(&mut self, distance: usize) -> bool {
        match self {
            Sink::Spsc(tx) => tx.set_prefetch_distance(PrefetchDistance(distance)),
            Sink::Broadcast(tx) => tx.set_prefetch_distance(PrefetchDistance(distance)),
            Sink::Relay(_) | Sink::Mpmc(..) | Sink::Frames(..) | Sink::Remote(..) => return false,
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
                chunk.append_to(out);
                chunk.release();
            }
            Source::Relay(rx) => {
                while out.len() - before < max {
                    let Some(row) = rx.try_pop() else { break };
                    out.push(row);
                }
            }
            Source::Broadcast(rx) => {
                let chunk = rx.read_chunk(max);
                chunk.append_to(out);
                chunk.release();
            }
            Source::Mpmc(rx) => {
                rx.pop_batch(out, max);
            }
            Source::Frames(rx) => {
                let start = Instant::now();
                match rx.try_recv(out) {
                    Ok(Some(header)) => {
                        stats.record(header.rows, header.frame_len(), start.elapsed());
                    }
                    Ok(None) => {}
                    Err(_) => {
                        stats
                            .corrupt_frames
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            Source::Remote(inbox, decoder, pending) => {
                let polled = inbox.poll(|frame| {
                    let start = Instant::now();
                    match decoder.decode(frame, out) {
                        Ok(header) => {
                            stats.record(header.rows, frame.len(), start.elapsed());
                            stats
                                .last_codec
                                .store(header.codec as u8, std::sync::atomic::Ordering::Relaxed);
                            Ok((header.rows, out.last().map_or(0, |r| r.stamp_ns)))
                        }
                        Err(e) => {
                            out.truncate(before);
                            Err(e.to_string())
                        }
                    }
                });
                match polled {
                    Polled::Event(event) => *pending = Some(event),
                    Polled::Dropped(_) => {
                        stats
                            .corrupt_frames
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Polled::Nothing | Polled::Frame(_) => {}
                }
            }
        }
        out.len() - before
    }

    /// A session marker read from a remote stream, once.
    pub(crate) fn take_event(&mut self) -> Option<SessionEvent> {
        match self {
            Source::Remote(_, _, pending) => pending.take(),
            _ => None,
        }
    }

    /// Whether row stamps are on this process's clock (not so for a sender on another host).
    pub(crate) fn same_clock(&self) -> bool {
        match self {
            Source::Remote(inbox, ..) => inbox.same_clock(),
            _ => true,
        }
    }

    /// Whether the writers are gone and everything they wrote was read.
    pub(crate) fn is_drained(&self) -> bool {
        match self {
            Source::Spsc(rx) => rx.is_abandoned() && rx.is_empty(),
            Source::Relay(rx) => rx.is_abandoned() && rx.is_empty(),
            Source::Broadcast(rx) => rx.is_abandoned() && rx.is_empty(),
            Source::Mpmc(rx) => rx.is_abandoned() && rx.is_empty(),
            Source::Frames(rx) => rx.ring().is_abandoned() && rx.ring().is_empty(),
            Source::Remote(inbox, _, pending) => inbox.is_drained() && pending.is_none(),
        }
    }

    pub(crate) fn counters(&self) -> Counters {
        match self {
            Source::Spsc(rx) => Some(rx.stats()),
            Source::Relay(rx) => Some(rx.stats()),
            Source::Broadcast(rx) => Some(rx.stats()),
            Source::Mpmc(_) | Source::Remote(..) => None,
            Source::Frames(rx) => Some(rx.ring().stats()),
        }
    }

    pub(crate) fn set_prefetch(&mut self, distance: usize) -> bool {
        match self {
            Source::Spsc(rx) => rx.set_prefetch_distance(PrefetchDistance(distance)),
            Source::Broadcast(rx) => rx.set_prefetch_distance(PrefetchDistance(distance)),
            Source::Relay(_) | Source::Mpmc(_) | Source::Frames(..) | Source::Remote(..) => {
                return false;
            }
        }
        true
    }
}
