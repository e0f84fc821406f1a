//! Where one sender's rows end and the next one's begin: session boundaries the receiver records
//! beside the window, never in it. The window holds only what the peer wrote, and a peer with the
//! token could write any record it likes there; a boundary (which resets the integrity check and
//! says whether one-way latency is meaningful) must come from the receiver alone. So each
//! boundary goes into a [`SessionLog`] with the window position where it falls, and the consumer
//! takes it when its head reaches that position.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Record kind of an encoded frame: the only kind a peer may write.
pub const FRAME: u32 = 0;

/// A session boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A sender connected.
    Start {
        /// Its run (the same across its reconnects).
        run_id: u64,
        /// The sequence number its first row will carry.
        next_seq: u64,
        /// Whether it stamps rows on this host's clock (one-way latency is meaningful).
        same_clock: bool,
        /// Its address.
        peer: String,
    },
    /// The sender left.
    End {
        /// Rows it said it sent in the whole run (a clean goodbye), or `None` (the link broke).
        rows_sent: Option<u64>,
        /// Why the session ended.
        reason: String,
    },
}

/// The receiver's boundaries, each at the window position where it falls, in order.
#[derive(Debug)]
pub struct SessionLog {
    events: Mutex<VecDeque<(u64, SessionEvent)>>,
    /// The position of the first boundary not yet taken (`u64::MAX`: none), so the consumer's
    /// every poll checks one atomic instead of taking the lock.
    next_at: AtomicU64,
}

impl Default for SessionLog {
    fn default() -> Self {
        SessionLog {
            events: Mutex::new(VecDeque::new()),
            next_at: AtomicU64::new(u64::MAX),
        }
    }
}

impl SessionLog {
    /// Records `event` at `position`: the window's published tail when it happened, so every
    /// record before it belongs to the earlier session and every record after to the later.
    pub fn record(&self, position: u64, event: SessionEvent) {
        if let Ok(mut events) = self.events.lock() {
            events.push_back((position, event));
            self.next_at.store(
                events.front().map_or(u64::MAX, |(at, _)| *at),
                Ordering::Release,
            );
        }
    }

    /// Whether a boundary is due at the consumer's `head` (one load: for every poll).
    #[inline]
    pub fn is_due(&self, head: u64) -> bool {
        self.next_at.load(Ordering::Acquire) <= head
    }

    /// Where the next boundary not yet taken falls (`u64::MAX`: none recorded): a consumer
    /// reading several records at once reads none at or past it before taking it.
    #[inline]
    pub fn next_at(&self) -> u64 {
        self.next_at.load(Ordering::Acquire)
    }

    /// The next boundary, once the consumer's `head` has reached it. Inline where it is called:
    /// on every poll but a session's first and last, it is one load.
    #[inline]
    pub fn due(&self, head: u64) -> Option<SessionEvent> {
        if !self.is_due(head) {
            return None;
        }
        self.take_due(head)
    }

    /// [`SessionLog::due`] once a boundary is due: takes it under the lock.
    fn take_due(&self, head: u64) -> Option<SessionEvent> {
        let mut events = self.events.lock().ok()?;
        let due = if events.front().is_some_and(|(at, _)| *at <= head) {
            events.pop_front().map(|(_, event)| event)
        } else {
            None
        };
        self.next_at.store(
            events.front().map_or(u64::MAX, |(at, _)| *at),
            Ordering::Release,
        );
        due
    }

    /// Whether every boundary has been taken.
    pub fn is_empty(&self) -> bool {
        self.events.lock().map_or(true, |e| e.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(reason: &str) -> SessionEvent {
        SessionEvent::End {
            rows_sent: None,
            reason: reason.into(),
        }
    }

    #[test]
    fn a_boundary_is_due_once_the_head_reaches_it_and_in_order() {
        let log = SessionLog::default();
        log.record(64, end("first"));
        log.record(64, end("second"));
        log.record(128, end("third"));
        assert_eq!(log.due(0), None, "records before it come first");
        assert_eq!(log.due(64), Some(end("first")));
        assert_eq!(log.due(64), Some(end("second")));
        assert_eq!(log.due(64), None);
        assert!(!log.is_empty());
        assert_eq!(
            log.due(200),
            Some(end("third")),
            "a discard may jump past it"
        );
        assert!(log.is_empty());
    }
}
