//! What a link did, counted by whichever thread saw it and read by the engine's snapshot.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::Release};
use std::time::{Duration, Instant};

use crate::metrics::LatencyHistogram;

/// Adds `n` to a counter that one thread at a time writes (readers only load it): a load and a
/// store, where `fetch_add`'s locked instruction would cost every frame a full barrier on the
/// data path. Two writers at once would lose counts (never memory safety): callers say why
/// theirs is the only one.
#[inline]
pub fn add_sole(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Counters of one link end (sender or receiver); all monotonic except `connected`.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Frames moved.
    pub frames: AtomicU64,
    /// Bytes moved on the wire (frames, record headers, padding and message headers).
    pub bytes: AtomicU64,
    /// Rows in those frames.
    pub rows: AtomicU64,
    /// Times the sender found the remote window full (once per episode).
    pub credit_stalls: AtomicU64,
    /// Times the sender waited for the bandwidth cap.
    pub cap_waits: AtomicU64,
    /// Connections after the first of the same run.
    pub reconnects: AtomicU64,
    /// Connections accepted (receiver) or made (sender).
    pub sessions: AtomicU64,
    /// Connection attempts refused at the handshake (counted by [`LinkStats::count_refusal`],
    /// after the reason is recorded; read with `Acquire`).
    pub refused: AtomicU64,
    /// Connections dropped for a protocol error, a bad write or silence (counted by
    /// [`LinkStats::count_drop`], after the reason is recorded; read with `Acquire`).
    pub dropped: AtomicU64,
    /// Rows the receiver confirmed it consumed (sender side).
    pub rows_acknowledged: AtomicU64,
    /// Sender: the bytes of the receiver's window, as its last welcome said (0 before one): the
    /// ring this end writes into, which its own profile does not size.
    pub window_bytes: AtomicU64,
    /// Whether a peer is connected now.
    pub connected: AtomicBool,
    /// Receiver: whether the current sender stamps rows on this host's clock.
    pub same_clock: AtomicBool,
    /// The peer's address.
    pub peer: Mutex<Option<String>>,
    /// The most recent connection error, with the peer it came from.
    pub last_error: Mutex<Option<String>>,
    /// Round trips (row stamp to echoed credit) since the last snapshot, and in total.
    pub round_trip: Mutex<(LatencyHistogram, LatencyHistogram)>,
    /// How long a peer has been connected ([`LinkStats::connected_for`]).
    connected_time: Mutex<ConnectedTime>,
}

/// The time a peer was connected: the sessions that ended, and when the current one began.
#[derive(Debug, Default)]
struct ConnectedTime {
    ended: Duration,
    current_since: Option<Instant>,
}

impl LinkStats {
    /// Records why a connection ended or was refused.
    pub fn set_error(&self, error: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error);
        }
    }

    /// Counts a refused connection attempt, recording `reason` first: a reader that sees the
    /// count (loading it with `Acquire`) also sees the reason, never a count without one.
    pub fn count_refusal(&self, reason: String) {
        self.set_error(reason);
        self.refused.fetch_add(1, Release);
    }

    /// Counts a dropped connection, recording `reason` first (as [`LinkStats::count_refusal`]).
    pub fn count_drop(&self, reason: String) {
        self.set_error(reason);
        self.dropped.fetch_add(1, Release);
    }

    /// The most recent error.
    pub fn error(&self) -> Option<String> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }

    /// Records that `peer` is connected now, and starts counting its connected time.
    pub fn connect(&self, peer: String) {
        if let Ok(mut p) = self.peer.lock() {
            *p = Some(peer);
        }
        if let Ok(mut time) = self.connected_time.lock() {
            time.current_since.get_or_insert_with(Instant::now);
        }
        self.connected.store(true, Relaxed);
    }

    /// Records that no peer is connected now (the last one's address is kept).
    pub fn disconnect(&self) {
        self.connected.store(false, Relaxed);
        if let Ok(mut time) = self.connected_time.lock()
            && let Some(since) = time.current_since.take()
        {
            time.ended += since.elapsed();
        }
    }

    /// How long a peer has been connected since the start, the current session so far
    /// included: the time a receiver served senders, without the waits before and between them.
    pub fn connected_for(&self) -> Duration {
        self.connected_time.lock().map_or(Duration::ZERO, |time| {
            time.ended
                + time
                    .current_since
                    .map_or(Duration::ZERO, |since| since.elapsed())
        })
    }

    /// The last peer's address.
    pub fn peer(&self) -> Option<String> {
        self.peer.lock().ok().and_then(|p| p.clone())
    }

    /// Counts a frame of `rows` rows that took `bytes` on the wire. Only the link's one frame
    /// mover calls it (its sender, or the consumer's inbox, each used through `&mut`), so these
    /// counters have one writer each and take [`add_sole`]'s plain add.
    #[inline]
    pub fn count_frame(&self, rows: usize, bytes: usize) {
        add_sole(&self.frames, 1);
        add_sole(&self.rows, rows as u64);
        if bytes > 0 {
            add_sole(&self.bytes, bytes as u64);
        }
    }

    /// Records one round trip.
    pub fn record_round_trip(&self, nanos: u64) {
        if let Ok(mut h) = self.round_trip.lock() {
            h.0.record(nanos);
            h.1.record(nanos);
        }
    }
}
