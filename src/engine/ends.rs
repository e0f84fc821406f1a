//! One interface over every ring's two ends, so the worker loops are written once: a producer
//! offers rows, a consumer takes rows; framed rings encode and decode on the way.

use std::time::Instant;

use crate::codec::pipe::{FrameReceiver, FrameSender};
use crate::codec::{CodecId, Decoder, Encoder, max_frame_len, max_rows_in};
use crate::metrics::snapshot::EndpointCounters;
use crate::ring::{PrefetchDistance, broadcast, mpmc, relay, spsc};
use crate::row::Row;
use crate::transport::inbox::{Inbox, Polled};
use crate::transport::session::SessionEvent;
use crate::transport::{FrameLink, SendOutcome};

use super::control::CodecCounters;

/// The writing end of some ring.
pub(crate) enum WriteEnd {
    Spsc(spsc::Producer<Row>),
    Relay(relay::Producer<Row>),
    Broadcast(broadcast::Producer<Row>),
    Mpmc(mpmc::Sender<Row>, Vec<Row>),
    Frames(Box<FrameSender>),
    /// A ring on another host: frames written across the link, each of at most the rows its
    /// largest frame holds (worked out once: a link's largest frame never changes).
    Remote(Box<dyn FrameLink>, Encoder, usize),
}

/// The reading end of some ring.
pub(crate) enum ReadEnd {
    Spsc(spsc::Consumer<Row>),
    Relay(relay::Consumer<Row>),
    Broadcast(broadcast::Consumer<Row>),
    Mpmc(mpmc::Receiver<Row>),
    Frames(Box<FrameReceiver>),
    /// This process's ring, written by a sender on another host; a session marker read from
    /// the stream waits in the option until the worker takes it.
    Remote(Box<Inbox>, Decoder, Option<SessionEvent>),
}

impl WriteEnd {
    /// The writing end of a remote ring reached through `link`.
    pub(crate) fn remote(link: Box<dyn FrameLink>) -> Self {
        // At least one row: a sender's frames always have room for one (checked at connect).
        let max_rows = max_rows_in(link.max_frame()).max(1);
        WriteEnd::Remote(link, Encoder::new(), max_rows)
    }

    /// Writes as many of `rows` as fit now (all or nothing for a frame); how many.
    pub(crate) fn offer(&mut self, rows: &[Row], codec: CodecId, stats: &CodecCounters) -> usize {
        match self {
            // One or two copies into the ring, or item by item when prefetching.
            WriteEnd::Spsc(tx) => tx.push_slice(rows),
            // One stamp per row: no batch to publish at once.
            WriteEnd::Relay(tx) => rows.iter().take_while(|r| tx.try_push(**r).is_ok()).count(),
            WriteEnd::Broadcast(tx) => {
                let mut chunk = tx.write_chunk(rows.len());
                chunk.fill_with(|i| rows[i]);
                chunk.commit()
            }
            WriteEnd::Mpmc(tx, staged) => {
                staged.clear();
                staged.extend_from_slice(rows);
                tx.push_batch(staged)
            }
            WriteEnd::Frames(tx) => {
                match tx.try_send(codec, rows) {
                    Ok(Some((len, took))) => {
                        stats.record(codec, rows.len(), len, took);
                        rows.len()
                    }
                    // No room now. An error cannot happen (the batch was checked against the
                    // frame bound) and would publish nothing, keeping the stream intact.
                    Ok(None) | Err(_) => 0,
                }
            }
            WriteEnd::Remote(tx, encoder, max_rows) => {
                let rows = &rows[..(*max_rows).min(rows.len())];
                let (mut encoded, mut took) = (0, std::time::Duration::ZERO);
                // The encode alone is timed, as for a local frame ring: the link calls this only
                // once the window has room (a try on a full one reads no clock), and the copy
                // into the window and the publish after it are the link's, not the codec's.
                let outcome = tx.send_frame(max_frame_len(rows.len()), rows.len(), &mut |buf| {
                    let start = Instant::now();
                    let len = encoder.encode(codec, rows, buf).ok()?;
                    (encoded, took) = (len, start.elapsed());
                    Some(len)
                });
                match outcome {
                    SendOutcome::Sent(_) => {
                        stats.record(codec, rows.len(), encoded, took);
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
        if let WriteEnd::Remote(tx, ..) = self {
            tx.finish(std::time::Duration::from_secs(5));
        }
    }

    /// Whether every reader is gone.
    pub(crate) fn is_abandoned(&self) -> bool {
        match self {
            WriteEnd::Spsc(tx) => tx.is_abandoned(),
            WriteEnd::Relay(tx) => tx.is_abandoned(),
            WriteEnd::Broadcast(tx) => tx.is_abandoned(),
            WriteEnd::Mpmc(tx, _) => tx.is_abandoned(),
            WriteEnd::Frames(tx) => tx.ring().is_abandoned(),
            // A remote receiver may come back: the sender reconnects.
            WriteEnd::Remote(..) => false,
        }
    }

    /// The ring end's counters (`None`: the ring keeps none). A producer never chases.
    pub(crate) fn endpoint_counters(&self) -> Option<EndpointCounters> {
        let stats = match self {
            WriteEnd::Spsc(tx) => tx.stats(),
            WriteEnd::Relay(tx) => tx.stats(),
            WriteEnd::Broadcast(tx) => tx.stats(),
            WriteEnd::Mpmc(..) | WriteEnd::Remote(..) => return None,
            WriteEnd::Frames(tx) => tx.ring().stats(),
        };
        Some(EndpointCounters::of(stats, false))
    }

    /// Hands a prefetch distance to the ring's batch path. Which rings may be given one is
    /// `profile::rules::check_prefetch`'s to say, before a setting gets here; the others have no
    /// such knob, and the distance they are handed is always 0.
    pub(crate) fn set_prefetch(&mut self, distance: usize) {
        match self {
            WriteEnd::Spsc(tx) => tx.set_prefetch_distance(PrefetchDistance(distance)),
            WriteEnd::Broadcast(tx) => tx.set_prefetch_distance(PrefetchDistance(distance)),
            WriteEnd::Relay(_)
            | WriteEnd::Mpmc(..)
            | WriteEnd::Frames(..)
            | WriteEnd::Remote(..) => {}
        }
    }
}

impl ReadEnd {
    /// Moves up to `max` rows (a whole frame when framed) onto `out`; how many.
    pub(crate) fn take(&mut self, max: usize, out: &mut Vec<Row>, stats: &CodecCounters) -> usize {
        let before = out.len();
        match self {
            ReadEnd::Spsc(rx) => {
                let chunk = rx.read_chunk(max);
                chunk.append_to(out);
                chunk.release();
            }
            ReadEnd::Relay(rx) => {
                while out.len() - before < max {
                    let Some(row) = rx.try_pop() else { break };
                    out.push(row);
                }
            }
            ReadEnd::Broadcast(rx) => {
                let chunk = rx.read_chunk(max);
                chunk.append_to(out);
                chunk.release();
            }
            ReadEnd::Mpmc(rx) => {
                rx.pop_batch(out, max);
            }
            ReadEnd::Frames(rx) => match rx.try_recv(out) {
                Ok(Some((header, took))) => {
                    stats.record(header.codec, header.rows, header.frame_len(), took);
                }
                Ok(None) => {}
                Err(_) => {
                    stats
                        .corrupt_frames
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            },
            ReadEnd::Remote(inbox, decoder, pending) => {
                let polled = inbox.poll(|frame| {
                    let start = Instant::now();
                    match decoder.decode(frame, out) {
                        Ok(header) => {
                            stats.record(header.codec, header.rows, frame.len(), start.elapsed());
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

    /// Whether [`ReadEnd::spin_until_ready`] can look at this end: every local ring can; a
    /// remote inbox has no one word to look at (its poll has its own quick look), and its
    /// consumer waits its own way.
    pub(crate) fn can_spin(&self) -> bool {
        !matches!(self, ReadEnd::Remote(..))
    }

    /// Spins until rows look ready, or `looks` looks at the ring found none, with a spin hint
    /// between looks: one load of the word the producer publishes a look, no copy, no release,
    /// none of the loop's control checks. What a busy-spinning consumer waits with between two
    /// turns of its loop, so that it notices a row within a look and a hint, as a bare polling
    /// loop does, and takes it at once. Returns at once where it cannot look
    /// ([`ReadEnd::can_spin`]).
    ///
    /// Every ring that counts stalls is first polled (nothing taken, nothing released), which
    /// counts the wait as a stall where `is_empty()` counts nothing: an SPSC consumer that never
    /// saw itself wait takes each lone row of a paced feed for a chase and backs off behind it,
    /// and every ring's empty stalls read as a few hundred a second where the consumer waited
    /// for each row. The looks after that first poll are `is_empty()` (the bookkeeping is done
    /// before the row comes; a poll per look cost the `low-latency` profile 16 ns of one-way
    /// p50), and the take that follows finds the stall counted and takes the row on the ring's
    /// fast path.
    pub(crate) fn spin_until_ready(&mut self, looks: u32) {
        fn spin(looks: u32, mut is_empty: impl FnMut() -> bool) {
            let mut looked = 0;
            while looked < looks && is_empty() {
                std::hint::spin_loop();
                looked += 1;
            }
        }
        match self {
            ReadEnd::Spsc(rx) => {
                if rx.read_chunk(1).is_empty() {
                    spin(looks, || rx.is_empty());
                }
            }
            ReadEnd::Relay(rx) => {
                if !rx.poll_ready() {
                    spin(looks, || rx.is_empty());
                }
            }
            ReadEnd::Broadcast(rx) => {
                if rx.read_chunk(1).is_empty() {
                    spin(looks, || rx.is_empty());
                }
            }
            ReadEnd::Mpmc(rx) => spin(looks, || rx.is_empty()),
            ReadEnd::Frames(rx) => {
                if !rx.poll_ready() {
                    spin(looks, || rx.ring().is_empty());
                }
            }
            ReadEnd::Remote(..) => {}
        }
    }

    /// A session marker read from a remote stream, once.
    pub(crate) fn take_event(&mut self) -> Option<SessionEvent> {
        match self {
            ReadEnd::Remote(_, _, pending) => pending.take(),
            _ => None,
        }
    }

    /// Whether row stamps are on this process's clock (not so for a sender on another host).
    pub(crate) fn same_clock(&self) -> bool {
        match self {
            ReadEnd::Remote(inbox, ..) => inbox.same_clock(),
            _ => true,
        }
    }

    /// Sleeps until the writer makes progress, at most `at_most`, where the source can be woken
    /// across processes (a shared-memory ring); `false` at once where it cannot.
    pub(crate) fn park(&mut self, at_most: std::time::Duration) -> bool {
        match self {
            ReadEnd::Remote(inbox, _, None) => inbox.park(at_most),
            _ => false,
        }
    }

    /// Whether the writers are gone and everything they wrote was read.
    pub(crate) fn is_drained(&self) -> bool {
        match self {
            ReadEnd::Spsc(rx) => rx.is_abandoned() && rx.is_empty(),
            ReadEnd::Relay(rx) => rx.is_abandoned() && rx.is_empty(),
            ReadEnd::Broadcast(rx) => rx.is_abandoned() && rx.is_empty(),
            ReadEnd::Mpmc(rx) => rx.is_abandoned() && rx.is_empty(),
            ReadEnd::Frames(rx) => rx.ring().is_abandoned() && rx.ring().is_empty(),
            ReadEnd::Remote(inbox, _, pending) => inbox.is_drained() && pending.is_none(),
        }
    }

    /// The ring end's counters (`None`: the ring keeps none). Only an SPSC consumer of rows
    /// looks for a chase.
    pub(crate) fn endpoint_counters(&self) -> Option<EndpointCounters> {
        let (stats, chases) = match self {
            ReadEnd::Spsc(rx) => (rx.stats(), true),
            ReadEnd::Relay(rx) => (rx.stats(), false),
            ReadEnd::Broadcast(rx) => (rx.stats(), false),
            ReadEnd::Mpmc(_) | ReadEnd::Remote(..) => return None,
            ReadEnd::Frames(rx) => (rx.ring().stats(), false),
        };
        Some(EndpointCounters::of(stats, chases))
    }

    /// As [`WriteEnd::set_prefetch`], for the reading side.
    pub(crate) fn set_prefetch(&mut self, distance: usize) {
        match self {
            ReadEnd::Spsc(rx) => rx.set_prefetch_distance(PrefetchDistance(distance)),
            ReadEnd::Broadcast(rx) => rx.set_prefetch_distance(PrefetchDistance(distance)),
            ReadEnd::Relay(_) | ReadEnd::Mpmc(_) | ReadEnd::Frames(..) | ReadEnd::Remote(..) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::Duration;

    use super::*;

    /// What a link does after the encoder has written: the copy into the remote window, a
    /// socket write, here a sleep long enough to show in any figure that counts it.
    const AFTER_ENCODE: Duration = Duration::from_millis(50);

    /// A link with room (the frame encoded, then `AFTER_ENCODE` to send it), or without.
    #[derive(Debug)]
    struct Link {
        room: bool,
        sent: u64,
    }

    impl FrameLink for Link {
        fn max_frame(&self) -> usize {
            1 << 16
        }

        fn send_frame(
            &mut self,
            bound: usize,
            rows: usize,
            encode: &mut dyn FnMut(&mut [u8]) -> Option<usize>,
        ) -> SendOutcome {
            if !self.room {
                return SendOutcome::NoCredit;
            }
            let mut buffer = vec![0; bound];
            let Some(len) = encode(&mut buffer) else {
                return SendOutcome::NotEncoded;
            };
            std::thread::sleep(AFTER_ENCODE);
            self.sent += rows as u64;
            SendOutcome::Sent(len)
        }

        fn acknowledged(&mut self) -> u64 {
            self.sent
        }

        fn rows_sent(&self) -> u64 {
            self.sent
        }

        fn finish(&mut self, _: Duration) -> u64 {
            self.sent
        }
    }

    #[test]
    fn a_remote_frames_encode_time_is_the_encoders_alone() {
        let rows: Vec<Row> = (0..64).map(|i| Row::new(i, i)).collect();
        let stats = CodecCounters::default();
        let mut full = WriteEnd::remote(Box::new(Link {
            room: false,
            sent: 0,
        }));
        assert_eq!(full.offer(&rows, CodecId::DeltaLz4, &stats), 0);
        assert_eq!(
            (stats.rows.load(Relaxed), stats.nanos.load(Relaxed)),
            (0, 0),
            "a full window: nothing encoded, nothing counted"
        );
        let mut open = WriteEnd::remote(Box::new(Link {
            room: true,
            sent: 0,
        }));
        assert_eq!(open.offer(&rows, CodecId::DeltaLz4, &stats), 64);
        let nanos = stats.nanos.load(Relaxed);
        assert_eq!(stats.rows.load(Relaxed), 64);
        assert!(
            nanos > 0 && nanos < AFTER_ENCODE.as_nanos() as u64,
            "{nanos} ns counted as encoding: the link's own {AFTER_ENCODE:?} is not the codec's"
        );
    }

    #[test]
    fn a_spinning_consumer_counts_each_wait_for_a_lone_row_as_a_stall_and_never_chases() {
        // A paced feed, one row at a time, each waited for: the wait (some looks find nothing),
        // then the row, then the take. Waiting with `is_empty()` alone, no ring's consumer saw
        // a stall, and the SPSC one took these rows for a chase (on the old code: no stall
        // counted by any of the four, and a back-off).
        let (tx, rx) = spsc::channel::<Row>(64).expect("a ring");
        let (btx, mut brxs) = broadcast::channel::<Row>(64, 1).expect("a ring");
        let (rtx, rrx) = relay::channel::<Row>(64).expect("a ring");
        let (ftx, frx) = crate::ring::frames::channel(1 << 16).expect("a ring");
        let mut writers = [
            WriteEnd::Spsc(tx),
            WriteEnd::Broadcast(btx),
            WriteEnd::Relay(rtx),
            WriteEnd::Frames(Box::new(FrameSender::new(ftx))),
        ];
        let mut readers = [
            ReadEnd::Spsc(rx),
            ReadEnd::Broadcast(brxs.remove(0)),
            ReadEnd::Relay(rrx),
            ReadEnd::Frames(Box::new(FrameReceiver::new(frx))),
        ];
        let counters = CodecCounters::default();
        for i in 0..100 {
            for (writer, reader) in writers.iter_mut().zip(&mut readers) {
                reader.spin_until_ready(3);
                let row = [Row::new(i, 1)];
                assert_eq!(writer.offer(&row, CodecId::DeltaLz4, &counters), 1);
                reader.spin_until_ready(3);
                let mut out = Vec::new();
                // A batch of one (`low-latency`): the take looks no further than its row.
                assert_eq!(reader.take(1, &mut out, &counters), 1);
                assert_eq!(out[0].seq, i);
            }
        }
        let [spsc, broadcast, relay, framed] =
            readers.map(|end| end.endpoint_counters().expect("counts"));
        assert_eq!((spsc.stalls, spsc.chase_backoffs), (100, Some(0)));
        assert_eq!((broadcast.stalls, broadcast.chase_backoffs), (100, None));
        assert_eq!((relay.stalls, relay.chase_backoffs), (100, None));
        assert_eq!((framed.stalls, framed.chase_backoffs), (100, None));
    }

    #[test]
    fn a_spinning_consumer_ends_its_wait_when_a_row_is_ready_and_takes_it_at_once() {
        let (mut tx, rx) = spsc::channel::<Row>(8).expect("a ring");
        let mut end = ReadEnd::Spsc(rx);
        assert!(end.can_spin());
        // Nothing comes: the wait ends after its looks.
        end.spin_until_ready(1_000);
        let counters = CodecCounters::default();
        let mut out = Vec::new();
        assert_eq!(end.take(8, &mut out, &counters), 0);
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                tx.push(Row::new(7, 1)).expect("room");
            });
            // Without end: it returns once the row is there, never before.
            end.spin_until_ready(u32::MAX);
            assert_eq!(end.take(8, &mut out, &counters), 1, "the row it waited for");
        });
        assert_eq!(out[0].seq, 7);
    }
}
