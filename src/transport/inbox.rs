//! The consumer's view of a window a remote sender writes into: frames to decode, the receiver's
//! session boundaries, and credit back to the sender through whichever backend carries it.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use crate::ring::window::{WindowError, WindowReader, WindowRecord};
use crate::transport::LinkStats;
use crate::transport::session::{FRAME, SessionEvent, SessionLog};

/// How credit gets back to the sender: a message on the TCP connection, an RDMA write into the
/// sender's memory.
pub trait CreditPath: Send + Sync + fmt::Debug {
    /// Sends a credit: the consumer's `head` (everything before it may be overwritten), the
    /// stamp of the last row read (`echo_stamp`, 0 for none) and the rows read in this session.
    /// Best effort: a link that is gone is noticed by its session.
    fn send(&self, head: u64, echo_stamp: u64, rows: u64);
    /// Ends the current sender's connection because of what it wrote.
    fn abort(&self, reason: String);
    /// The consumer reached a new session's start: credits from now on are that session's
    /// (a path shared by every session tags them so).
    fn session_started(&self) {}

    /// The consumer reached a new session's start with its head at `head`:
    /// [`CreditPath::session_started`], then a first credit saying where the head is. The new
    /// sender may have started from an older head (the previous sender's records still being
    /// read), and would otherwise wait for room that is already free.
    fn begin_session(&self, head: u64) {
        self.session_started();
        self.send(head, 0, 0);
    }
}

/// Where a tail comes from when the consumer fetches it itself, finding its window empty, so
/// that no thread sits between the sender and the reader: the shared-memory backend's sender
/// publishes its tail in memory both processes map, which the consumer checks and publishes (no
/// thread wakes on a hand-off: only cache lines move); the TCP backend's consumer applies the
/// writes and tails its socket holds.
pub trait TailFeed: Send + Sync + fmt::Debug {
    /// Publishes the sender's latest tail into the window, if it moved; why not, when the tail
    /// is one the window refuses (the sender is then dropped). A feed may instead hand such an
    /// error to its session to end (TCP does) and return `Ok`.
    ///
    /// # Errors
    /// The refused tail, as [`WindowError`].
    fn feed(&self) -> Result<(), WindowError>;

    /// The tail the sender last published, as it stands where this feed reads it, unchecked,
    /// when it is one word to load: a consumer compares it with what it has read to skip a
    /// poll that would find nothing (the inbox's quiet check, first in every poll). `None` (the
    /// default) where there is no such word (TCP's tails arrive in the socket's bytes).
    fn sender_tail(&self) -> Option<u64> {
        None
    }

    /// Sleeps until the sender publishes past `published` (or a session starts or ends), at
    /// most `at_most`; `false` when this feed cannot sleep.
    fn park(&self, published: u64, at_most: std::time::Duration) -> bool {
        let _ = (published, at_most);
        false
    }
}

/// What the consumer found in the window.
#[derive(Debug)]
pub enum Polled {
    /// Nothing published.
    Nothing,
    /// A frame was handed to the decoder: rows decoded.
    Frame(usize),
    /// A session started or ended here in the stream.
    Event(SessionEvent),
    /// The sender wrote something that is not a frame; its connection is being dropped and
    /// everything it publishes until its session ends is discarded.
    Dropped(String),
}

/// The consumer's view of the window: frames to decode, session boundaries, and credit back to the
/// sender. Its credit path and feed are `dyn` (any backend) unless a backend names its own
/// types: then both calls, on the path of every message, are direct and inline (the
/// shared-memory message ring's receiver does).
#[derive(Debug)]
pub struct Inbox<C: CreditPath + ?Sized = dyn CreditPath, F: TailFeed + ?Sized = dyn TailFeed> {
    reader: WindowReader,
    sessions: Arc<SessionLog>,
    credits: Arc<C>,
    stats: Arc<LinkStats>,
    credit_every: u64,
    last_credit: u64,
    session_rows: u64,
    last_stamp: u64,
    same_clock: bool,
    /// The current sender was dropped: what it publishes until its session's end is not read.
    discarding: bool,
    /// Where tails come from when the consumer fetches them itself.
    feed: Option<Arc<F>>,
}

impl<C: CreditPath + ?Sized, F: TailFeed + ?Sized> Inbox<C, F> {
    /// The consumer's side of `reader`, with the boundaries the receiver records in `sessions`,
    /// returning credit through `credits` every quarter of the window (and whenever it has read
    /// everything).
    pub fn new(
        reader: WindowReader,
        sessions: Arc<SessionLog>,
        credits: Arc<C>,
        stats: Arc<LinkStats>,
    ) -> Self {
        let capacity = reader.capacity();
        Inbox {
            reader,
            sessions,
            credits,
            stats,
            credit_every: (capacity / 4) as u64,
            last_credit: 0,
            session_rows: 0,
            last_stamp: 0,
            same_clock: false,
            discarding: false,
            feed: None,
        }
    }

    /// As [`Inbox::new`], the consumer fetching tails from `feed` whenever its window is empty.
    pub fn with_feed(
        reader: WindowReader,
        sessions: Arc<SessionLog>,
        credits: Arc<C>,
        stats: Arc<LinkStats>,
        feed: Arc<F>,
    ) -> Self {
        Inbox {
            feed: Some(feed),
            ..Self::new(reader, sessions, credits, stats)
        }
    }

    /// Takes the next session boundary if the head has reached it, else reads one record. A
    /// frame goes to `decode`, which returns the rows it decoded and the stamp of the last one,
    /// or why the bytes are not a frame. Any other record kind is the peer's protocol error.
    ///
    /// The order is what keeps sessions apart: the tail is loaded first and the boundaries looked
    /// at second, and only records published as of that load are read. A boundary is recorded
    /// at the tail published when it happens, so any record past it was published after it was
    /// recorded, and is read only after a later load, by which time the boundary is due.
    pub fn poll(&mut self, decode: impl FnOnce(&[u8]) -> Result<(usize, u64), String>) -> Polled {
        if self.is_quiet() {
            return Polled::Nothing;
        }
        self.poll_record(|record| decode(record.payload()))
    }

    /// As [`Inbox::poll`] for a ring of messages: the next record's bytes go into `out` (handed
    /// over where they were already copied out of the window, not copied twice), one row each.
    /// It does not ask [`Inbox::is_quiet_at`] itself: its caller, a shared-memory receiver,
    /// has just asked it with the tail it loaded (the answer would be the same, a few loads and
    /// a call later, on the path of every message).
    pub fn poll_message(&mut self, out: &mut Vec<u8>) -> Polled {
        self.poll_record(|record| {
            record.payload_into(out);
            Ok((1, 0))
        })
    }

    /// Whether a poll would find nothing: the feed's sender tail is what the consumer has read
    /// up to, everything published is read, and no session boundary is due (looked at after
    /// the tail was loaded, as a poll does). A few loads where a poll of an empty window runs
    /// ~140 instructions, asked first by every poll: a consumer spinning on an empty window
    /// looks again, and sees what arrives, that much sooner.
    #[inline]
    fn is_quiet(&self) -> bool {
        self.feed
            .as_ref()
            .and_then(|feed| feed.sender_tail())
            .is_some_and(|tail| self.is_quiet_at(tail))
    }

    /// The window's positions for a watcher in another thread, held weakly.
    pub fn window_positions(&self) -> crate::ring::window::WindowPositions {
        self.reader.positions()
    }

    /// Whether a poll would find nothing, given the sender's `tail` (loaded first): it is the
    /// head, everything published is read, and no session boundary is due. For a caller that
    /// loads the tail without the feed (a shared-memory receiver, from its ring file): the poll
    /// loop of a receiver waiting for its next message then runs a few loads and no call, and
    /// sees the tail move that much sooner.
    #[inline]
    pub fn is_quiet_at(&self, tail: u64) -> bool {
        let head = self.reader.head();
        tail == head && !self.discarding && self.reader.is_empty() && !self.sessions.is_due(head)
    }

    /// [`Inbox::poll`], `take` given the record itself.
    fn poll_record(
        &mut self,
        take: impl FnOnce(&mut WindowRecord<'_>) -> Result<(usize, u64), String>,
    ) -> Polled {
        if let Some(polled) = self.before_read() {
            return polled;
        }
        let mut record = match self.reader.try_read_known() {
            Ok(Some(record)) => record,
            Ok(None) => return Polled::Nothing,
            Err(e) => return self.drop_sender(e),
        };
        let (kind, position) = (record.kind(), record.position());
        if kind != FRAME {
            record.release();
            return self.drop_sender(WindowError::BadRecord {
                position,
                reason: format!(
                    "record kind {kind} is not a frame (a sender writes frames only; the receiver \
                     marks sessions)"
                ),
            });
        }
        let decoded = take(&mut record);
        record.release();
        match decoded {
            Ok((rows, stamp)) => self.taken(rows, stamp),
            Err(reason) => self.drop_sender(WindowError::BadRecord {
                position,
                reason: format!("frame does not decode: {reason}"),
            }),
        }
    }

    /// Everything a poll does before it reads: the feed when the window is empty, then a
    /// session boundary if the head reached it, then what a dropped sender published is
    /// discarded. `None`: read what is known.
    #[inline]
    fn before_read(&mut self) -> Option<Polled> {
        if !self.discarding
            && let Some(feed) = &self.feed
            && self.reader.is_empty()
        {
            if let Err(e) = feed.feed() {
                return Some(self.drop_sender(e));
            }
            // The common empty poll ends here: still nothing published (the tail loaded first),
            // and no boundary due (looked at second).
            if self.reader.is_empty() && !self.sessions.is_due(self.reader.head()) {
                return Some(Polled::Nothing);
            }
        }
        self.reader.refresh();
        if let Some(event) = self.sessions.due(self.reader.head()) {
            return Some(self.begin(event));
        }
        if self.discarding {
            return Some(self.discard());
        }
        None
    }

    /// Takes a session boundary the head reached.
    #[cold]
    fn begin(&mut self, event: SessionEvent) -> Polled {
        match &event {
            SessionEvent::Start { same_clock, .. } => {
                self.same_clock = *same_clock;
                self.stats.same_clock.store(*same_clock, Relaxed);
                self.session_rows = 0;
                self.last_credit = self.reader.head();
                self.credits.begin_session(self.last_credit);
            }
            SessionEvent::End { .. } => self.discarding = false,
        }
        Polled::Event(event)
    }

    /// Gives back unread what a dropped sender published.
    #[cold]
    fn discard(&mut self) -> Polled {
        self.reader.discard_known();
        Polled::Nothing
    }

    /// Counts `rows` taken (the last stamped `stamp`) and credits the sender when due.
    #[inline]
    fn taken(&mut self, rows: usize, stamp: u64) -> Polled {
        self.session_rows += rows as u64;
        self.last_stamp = stamp;
        // The credit first: the sender may be waiting on it; the counters are not.
        self.maybe_credit();
        self.stats.count_frame(rows, 0);
        Polled::Frame(rows)
    }

    #[inline]
    fn maybe_credit(&mut self) {
        let head = self.reader.head();
        if head - self.last_credit >= self.credit_every || self.reader.is_empty() {
            self.last_credit = head;
            self.credits.send(head, self.last_stamp, self.session_rows);
        }
    }

    fn drop_sender(&mut self, error: WindowError) -> Polled {
        let reason = error.to_string();
        self.credits.abort(reason.clone());
        self.reader.discard_known();
        self.discarding = true;
        Polled::Dropped(reason)
    }

    /// Sleeps until there may be something to read, at most `at_most`, where the feed can be
    /// woken (never while a session boundary is due or records are waiting).
    pub fn park(&self, at_most: std::time::Duration) -> bool {
        match &self.feed {
            Some(feed)
                if !self.discarding && self.reader.is_empty() && self.sessions.is_empty() =>
            {
                feed.park(self.reader.published(), at_most)
            }
            _ => false,
        }
    }

    /// Whether the current sender stamps rows on this host's clock.
    pub fn same_clock(&self) -> bool {
        self.same_clock
    }

    /// Whether the listener is gone and everything it published and recorded was read.
    pub fn is_drained(&self) -> bool {
        self.reader.is_abandoned() && self.reader.is_empty() && self.sessions.is_empty()
    }
}

impl<C: CreditPath + 'static, F: TailFeed + 'static> Inbox<C, F> {
    /// The same inbox behind `dyn` calls: for a caller that holds any backend's inbox (the
    /// engine's remote reader).
    pub fn into_dyn(self) -> Inbox {
        Inbox {
            reader: self.reader,
            sessions: self.sessions,
            credits: self.credits,
            stats: self.stats,
            credit_every: self.credit_every,
            last_credit: self.last_credit,
            session_rows: self.session_rows,
            last_stamp: self.last_stamp,
            same_clock: self.same_clock,
            discarding: self.discarding,
            feed: self.feed.map(|feed| feed as Arc<dyn TailFeed>),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::ring::window::{self, WindowWriter, footprint, record_header};

    #[derive(Debug)]
    struct NoCredit;

    impl CreditPath for NoCredit {
        fn send(&self, _: u64, _: u64, _: u64) {}
        fn abort(&self, _: String) {}
    }

    /// A sender that connects at the worst moment: while the consumer polls, the receiver
    /// records the session's start at the published tail and the sender's first frame is
    /// published right after it.
    #[derive(Debug)]
    struct ConnectsMidPoll {
        writer: Mutex<WindowWriter>,
        sessions: Arc<SessionLog>,
    }

    impl TailFeed for ConnectsMidPoll {
        fn feed(&self) -> Result<(), WindowError> {
            let mut writer = self.writer.lock().unwrap();
            let at = writer.published();
            if at > 0 {
                return Ok(());
            }
            self.sessions.record(
                at,
                SessionEvent::Start {
                    run_id: 1,
                    next_seq: 0,
                    same_clock: true,
                    peer: "test".into(),
                },
            );
            let mut record = record_header(8, FRAME).to_vec();
            record.extend_from_slice(&[7; 8]);
            writer.write_at(at, &record)?;
            writer.publish(at + footprint(8) as u64).map(drop)
        }
    }

    #[test]
    fn a_session_that_starts_during_a_poll_is_taken_before_its_first_frame() {
        let (writer, reader) = window::channel(1024).unwrap();
        let sessions = Arc::new(SessionLog::default());
        let feed = Arc::new(ConnectsMidPoll {
            writer: Mutex::new(writer),
            sessions: sessions.clone(),
        });
        let mut inbox = Inbox::with_feed(
            reader,
            sessions,
            Arc::new(NoCredit),
            Arc::new(LinkStats::default()),
            feed,
        );
        let mut polled = Vec::new();
        for _ in 0..3 {
            polled.push(inbox.poll(|frame| Ok((frame.len(), 0))));
        }
        assert!(
            matches!(
                polled.as_slice(),
                [
                    Polled::Event(SessionEvent::Start { .. }),
                    Polled::Frame(8),
                    Polled::Nothing
                ]
            ),
            "the start comes before the frame published after it: {polled:?}"
        );
    }
}
