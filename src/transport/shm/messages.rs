//! Shared-memory rings for a program's own messages: one process creates a ring by name and
//! receives, another opens it and sends byte messages of any length up to the largest it
//! announced ([`MessageSender`], [`MessageReceiver`]); fixed-size items have rings of their
//! own ([`super::items`]). The same file, checks, liveness and futex as `ringtop serve --shm`,
//! without rows or codecs.
//!
//! Every call that waits takes a timeout; `Duration::MAX` waits without end. A wait reads no
//! clock when what it waits for is already there.
//!
//! ```no_run
//! use std::time::Duration;
//! use ringtop::ring::WaitStrategy;
//! use ringtop::transport::shm::messages::{MessageReceiver, MessageSender, Received};
//!
//! // In one process:
//! let mut rx = MessageReceiver::create("orders", 1 << 20, WaitStrategy::spin_park())?;
//! // In another:
//! let mut tx = MessageSender::open("orders", 256)?;
//! tx.send(b"buy 100 @ 12.5", Duration::from_secs(1))?;
//! // Back in the first:
//! let mut message = Vec::new();
//! while rx.recv(&mut message, Duration::from_secs(1)) != Received::Message {}
//! assert_eq!(message, b"buy 100 @ 12.5");
//! # Ok::<(), ringtop::transport::LinkError>(())
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ring::WaitStrategy;
use crate::ring::watch::{RingWatch, StatsCell};
use crate::topology::{AllocationReport, NumaAlloc};
use crate::transport::inbox::Polled;
use crate::transport::session::SessionEvent;
use crate::transport::{FrameLink, LinkError, LinkStats, ListenConfig, SendOutcome, SenderConfig};

use super::watch::{HeldEnd, MessageWatch, WatchedCells};
use super::{ShmInbox, ShmListener, ShmSender, listen_direct};

/// What a receive found (of a message, or of items: [`super::items`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A message, now in the caller's buffer.
    Message,
    /// Nothing within the time given.
    Nothing,
    /// A sender connected (its process id).
    SenderConnected(String),
    /// The sender left: how many messages it said it sent (`None`: it died or was dropped), and
    /// why.
    SenderLeft {
        /// Messages the sender said it sent, on a clean goodbye.
        sent: Option<u64>,
        /// Why it left.
        reason: String,
    },
    /// The sender wrote something that is not a message; it was dropped and what it wrote after
    /// is discarded.
    SenderDropped(String),
}

impl Received {
    /// What a receiver reports of a session boundary it reached.
    pub(super) fn of(event: SessionEvent) -> Received {
        match event {
            SessionEvent::Start { peer, .. } => Received::SenderConnected(peer),
            SessionEvent::End { rows_sent, reason } => Received::SenderLeft {
                sent: rows_sent,
                reason,
            },
        }
    }
}

/// The receiving end: owns the ring file while it lives (removed when dropped).
#[derive(Debug)]
pub struct MessageReceiver {
    listener: ShmListener,
    inbox: ShmInbox,
    wait: WaitStrategy,
    /// Where a monitor watches this ring from ([`MessageReceiver::publish_to`]), if one does.
    watched: Option<WatchedCells>,
}

impl MessageReceiver {
    /// Creates the ring `name` (a file in the per-user ringtop directory) with a window of
    /// `window_bytes` (a power of two, 4 KiB to 1 GiB), waiting for messages with `wait`
    /// (`spin_park` sleeps on a futex in the file: an idle receiver costs nothing).
    ///
    /// The window's pages are the file's, placed where they are first written (by a sender):
    /// [`MessageReceiver::create_on`] places them on a NUMA node instead.
    ///
    /// # Errors
    /// A bad name or size, a directory that is not private, a live receiver holding the name.
    pub fn create(name: &str, window_bytes: usize, wait: WaitStrategy) -> Result<Self, LinkError> {
        Self::make(name, window_bytes, wait, None)
    }

    /// As [`MessageReceiver::create`], the window placed as `placement` places memory before
    /// any sender is let in: bound to its node (or the node of its CPU: typically the
    /// receiver's, which reads every message) and its pages faulted in now, by the calling
    /// thread. [`MessageReceiver::memory`] says whether the binding took and where the pages
    /// are.
    ///
    /// # Errors
    /// As [`MessageReceiver::create`]. A binding the OS refuses is no error: the report says so.
    pub fn create_on(
        name: &str,
        window_bytes: usize,
        wait: WaitStrategy,
        placement: &NumaAlloc,
    ) -> Result<Self, LinkError> {
        Self::make(name, window_bytes, wait, Some(placement))
    }

    fn make(
        name: &str,
        window_bytes: usize,
        wait: WaitStrategy,
        placement: Option<&NumaAlloc>,
    ) -> Result<Self, LinkError> {
        let (listener, inbox) = listen_direct(
            ListenConfig::open(name),
            window_bytes,
            Arc::new(LinkStats::default()),
            placement,
        )?;
        Ok(MessageReceiver {
            listener,
            inbox,
            wait,
            watched: None,
        })
    }

    /// The ring file's path.
    pub fn path(&self) -> String {
        crate::transport::LinkListener::local_addr(&self.listener)
    }

    /// Where the ring's window is: the placement asked for, whether its binding took, and the
    /// NUMA nodes its pages are on now (asked of the kernel at each call).
    pub fn memory(&self) -> AllocationReport {
        self.listener.window_memory()
    }

    /// This ring's positions for a watcher, held weakly: the receiver's head and the sender's
    /// published tail, in bytes of records (messages vary in size; a record is an 8-byte header
    /// and the message padded to 8 bytes). Register it with `receiver.monitor(&registry, name)`
    /// ([`crate::monitor::Monitor`]).
    pub fn watch(&self) -> Arc<dyn RingWatch> {
        self.message_watch()
    }

    fn message_watch(&self) -> Arc<MessageWatch> {
        MessageWatch::new(self.listener.segment_weak(), self.inbox.window_positions())
    }

    /// Writes into `consumer` (this end's cell in a monitor: [`crate::monitor::RingCells`])
    /// which thread reads the ring, at once and at each sender's arrival, and into both cells
    /// the positions when the receiver is dropped. The sender's cell holds nothing else: its
    /// counters are another process's.
    pub fn publish_to(&mut self, producer: StatsCell, consumer: StatsCell) {
        self.watched = Some(WatchedCells::new(producer, consumer, HeldEnd::Receiver));
    }

    /// Takes the next message into `out` (or a sender's arrival or departure) without waiting.
    pub fn try_recv(&mut self, out: &mut Vec<u8>) -> Received {
        Self::message(self.try_take(|inbox| inbox.poll_message(out)))
    }

    /// As [`MessageReceiver::try_recv`], waiting up to `timeout` with the receiver's strategy.
    pub fn recv(&mut self, out: &mut Vec<u8>, timeout: Duration) -> Received {
        Self::message(self.take(timeout, |inbox| inbox.poll_message(out)))
    }

    /// A take's result as a receive of one message.
    fn message(taken: Result<usize, Received>) -> Received {
        taken.map_or_else(|other| other, |_| Received::Message)
    }

    /// Whether a take would find nothing now: the sender's tail has not moved past what was
    /// read, nothing is left unread and no boundary is due. A few loads and no call: the common
    /// look of a polling loop, inline in the caller's.
    #[inline(always)]
    fn is_quiet(&self) -> bool {
        self.inbox.is_quiet_at(self.listener.sender_tail())
    }

    /// What one `poll` of the inbox found: how many messages it took, or anything else (never
    /// [`Received::Message`]). The common case is a count alone, with no enum of strings to
    /// build, move and drop on the way back.
    #[inline]
    fn try_take(&mut self, poll: impl FnOnce(&mut ShmInbox) -> Polled) -> Result<usize, Received> {
        if self.is_quiet() {
            return Err(Received::Nothing);
        }
        Err(match poll(&mut self.inbox) {
            Polled::Frame(taken) => return Ok(taken),
            Polled::Nothing => Received::Nothing,
            Polled::Dropped(reason) => Received::SenderDropped(reason),
            Polled::Event(event) => self.event(event),
        })
    }

    /// A session boundary, as the caller sees it: a sender's arrival says again which thread
    /// reads the ring, for a watcher.
    #[cold]
    fn event(&self, event: SessionEvent) -> Received {
        if let (SessionEvent::Start { .. }, Some(watched)) = (&event, &self.watched) {
            watched.end_is_here();
        }
        Received::of(event)
    }

    /// Polls with `poll` until it finds something or `timeout` passes, waiting between polls
    /// with the receiver's strategy.
    fn take(
        &mut self,
        timeout: Duration,
        mut poll: impl FnMut(&mut ShmInbox) -> Polled,
    ) -> Result<usize, Received> {
        let wait = self.wait;
        receive_within(
            self,
            wait,
            timeout,
            |receiver| receiver.try_take(&mut poll),
            |receiver, at_most| receiver.inbox.park(at_most),
        )
    }
}

impl Drop for MessageReceiver {
    fn drop(&mut self) {
        if let Some(watched) = &self.watched
            && let Some((head, tail)) = self.message_watch().read()
        {
            watched.ended(head, tail);
        }
    }
}

/// Tries `attempt` on `receiver` until it finds something or `timeout` passes, waiting between
/// tries with `wait`: spinning, then yielding, or sleeping on the ring's futex with `park` (at
/// most the time it is given; `false` when it cannot). The clock is read only once a try has
/// found nothing.
pub(super) fn receive_within<R, T>(
    receiver: &mut R,
    wait: WaitStrategy,
    timeout: Duration,
    mut attempt: impl FnMut(&mut R) -> Result<T, Received>,
    park: impl Fn(&R, Duration) -> bool,
) -> Result<T, Received> {
    let mut deadline = Deadline::after(timeout);
    let mut spins = 0u32;
    loop {
        let got = attempt(receiver);
        if !matches!(got, Err(Received::Nothing)) {
            return got;
        }
        let Some(left) = deadline.left(Instant::now()) else {
            return got;
        };
        spins = spins.saturating_add(1);
        match wait {
            WaitStrategy::SpinPark { spins: budget } if spins > budget => {
                if !park(receiver, left.min(Duration::from_millis(20))) {
                    std::thread::yield_now();
                }
            }
            WaitStrategy::SpinYield { spins: budget } if spins > budget => {
                std::thread::yield_now();
            }
            _ => std::hint::spin_loop(),
        }
    }
}

/// The sending end: holds the ring's sender lock while it lives (one sender at a time).
#[derive(Debug)]
pub struct MessageSender {
    sender: ShmSender,
}

impl MessageSender {
    /// Opens the ring `name` that a [`MessageReceiver`] (in any process of this user) created,
    /// announcing messages of up to `max_message` bytes.
    ///
    /// # Errors
    /// No such ring, a file that is not one, a dead receiver, another sender, a window too small
    /// for `max_message`.
    pub fn open(name: &str, max_message: usize) -> Result<Self, LinkError> {
        let (config, stats) = sender_config(name, max_message.max(1));
        Ok(MessageSender {
            sender: ShmSender::connect(config, stats)?,
        })
    }

    /// Sends `message` if the ring has room now: `Ok(false)` when it is full.
    ///
    /// # Errors
    /// A message longer than announced, or a link that is gone (the receiver died or dropped
    /// this sender).
    pub fn try_send(&mut self, message: &[u8]) -> Result<bool, LinkError> {
        if message.len() > self.sender.max_frame() {
            return Err(LinkError::Protocol(format!(
                "a message of {} bytes; this sender announced at most {}",
                message.len(),
                self.sender.max_frame()
            )));
        }
        let outcome = self.sender.send_message(message, 1);
        Ok(bytes_sent(outcome, &self.sender)? > 0)
    }

    /// Sends `message`, waiting up to `timeout` for room (spinning, then yielding).
    ///
    /// # Errors
    /// As [`MessageSender::try_send`], or [`LinkError::Idle`] when no room came in time.
    pub fn send(&mut self, message: &[u8], timeout: Duration) -> Result<(), LinkError> {
        wait_for_room(timeout, || self.try_send(message))
    }

    /// Messages the receiver has read so far.
    pub fn acknowledged(&mut self) -> u64 {
        self.sender.acknowledged()
    }

    /// This ring's positions for a watcher, from the sending end, in bytes of records (as
    /// [`MessageReceiver::watch`]): the tail this sender publishes (exact) and the head its
    /// receiver last credited (at least every quarter window, and whenever it has read
    /// everything). Register it with `sender.monitor(&registry, name)`
    /// ([`crate::monitor::Monitor`]).
    ///
    /// # Errors
    /// The ring file's header cannot be mapped a second time (for the watch, which must not
    /// keep this sender's mapping alive).
    pub fn watch(&mut self) -> std::io::Result<Arc<dyn RingWatch>> {
        Ok(self.sender.watch("shm-messages-sender", 1)?)
    }

    /// Writes into `producer` (this end's cell in a monitor: [`crate::monitor::RingCells`])
    /// which thread sends, at once and whenever the sender looks at its receiver's lock (every
    /// 4,096 sends, and once a millisecond while the ring is full), and into both cells the
    /// positions when the sender is dropped. The receiver's cell holds nothing else.
    pub fn publish_to(&mut self, producer: StatsCell, consumer: StatsCell) {
        self.sender.publish_to(producer, consumer);
    }

    /// Says goodbye with the count sent and waits up to `wait` for the receiver to read them
    /// all; the count it read.
    pub fn finish(mut self, wait: Duration) -> u64 {
        self.sender.finish(wait)
    }
}

/// How a library sender opens ring `name` for messages (items) of up to (exactly) `max` bytes.
pub(super) fn sender_config(name: &str, max: usize) -> (SenderConfig, Arc<LinkStats>) {
    let config = SenderConfig {
        address: name.to_owned(),
        token: None,
        max_frame: max,
        link_mbps: None,
        connect_timeout: Duration::from_secs(3),
    };
    (config, Arc::new(LinkStats::default()))
}

/// The bytes a send wrote into the ring: 0 when it had no room.
#[inline]
pub(super) fn bytes_sent(outcome: SendOutcome, sender: &ShmSender) -> Result<usize, LinkError> {
    match outcome {
        SendOutcome::Sent(bytes) => Ok(bytes),
        SendOutcome::NoCredit | SendOutcome::Capped => Ok(0),
        SendOutcome::LinkDown | SendOutcome::NotEncoded => Err(LinkError::Protocol(format!(
            "the ring is gone: {}",
            sender
                .down_reason()
                .unwrap_or("its receiver died or dropped this sender")
        ))),
    }
}

/// Calls `attempt` until it says it is done, up to `timeout` (spinning, then yielding between
/// calls).
pub(super) fn wait_for_room(
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<bool, LinkError>,
) -> Result<(), LinkError> {
    let mut deadline = Deadline::after(timeout);
    let mut spins = 0u32;
    while !attempt()? {
        if deadline.left(Instant::now()).is_none() {
            return Err(LinkError::Idle(timeout));
        }
        spins += 1;
        if spins > 128 {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    Ok(())
}

/// The end of a wait of some timeout, set by the first try that finds nothing: a send with room
/// or a receive with something there reads no clock. A timeout past what the clock can count
/// (`Duration::MAX`, say) never ends.
struct Deadline {
    timeout: Duration,
    /// Once set: the end, `None` for never.
    end: Option<Option<Instant>>,
}

impl Deadline {
    fn after(timeout: Duration) -> Self {
        Deadline { timeout, end: None }
    }

    /// What is left of the wait at `now` (`Duration::MAX` for a wait without end); `None` once
    /// it is over. The first call sets the end.
    fn left(&mut self, now: Instant) -> Option<Duration> {
        let end = *self
            .end
            .get_or_insert_with(|| crate::clock::deadline(now, self.timeout));
        crate::clock::ahead(end, now).then(|| end.map_or(Duration::MAX, |end| end - now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::LinkListener;

    /// A receiver's fill is what its sender published past its consumer's head, record by
    /// record (an 8-byte header and the message padded to 8 bytes), though the consumer fetches
    /// the sender's tail only once it has read all it had.
    #[test]
    fn the_fill_is_what_the_sender_published_past_the_consumers_head() {
        let name = format!("fill-{}", std::process::id());
        let mut receiver = MessageReceiver::create(&name, 4096, WaitStrategy::BusySpin).unwrap();
        let mut sender = MessageSender::open(&name, 64).unwrap();
        let mut out = Vec::new();
        let second = Duration::from_secs(1);
        assert!(matches!(
            receiver.recv(&mut out, second),
            Received::SenderConnected(_)
        ));
        assert_eq!(receiver.listener.unread_bytes(), Some(0));
        for message in [&b"twenty-four bytes, each."[..], b"seven..", b"eight..."] {
            sender.send(message, second).unwrap();
        }
        assert_eq!(receiver.listener.unread_bytes(), Some(32 + 16 + 16));
        for left in [32, 16, 0] {
            assert_eq!(receiver.recv(&mut out, second), Received::Message);
            assert_eq!(receiver.listener.unread_bytes(), Some(left));
        }
        sender.finish(second);
        drop(receiver);
    }
}
