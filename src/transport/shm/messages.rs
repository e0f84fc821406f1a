//! Shared-memory rings for a program's own messages: one process creates a ring by name and
//! receives, another opens it and sends byte messages of any length up to the largest it
//! announced ([`MessageSender`], [`MessageReceiver`]), or fixed-size items of a plain-old-data
//! type ([`ItemSender`], [`ItemReceiver`]: each item alone in a slot, published by its
//! stamp). The same file, checks, liveness and futex as `ringtop serve --shm`, without rows or
//! codecs.
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

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What an item type must be: plain old data (no pointers, no padding, every bit pattern a valid
/// value), so an item is its bytes and any bytes a peer writes are an item. Derive both with
/// `#[derive(Clone, Copy, Pod, Zeroable)] #[repr(C)]`.
pub use bytemuck::{Pod, Zeroable};

use crate::ring::WaitStrategy;
use crate::ring::window::SlotShape;
use crate::transport::inbox::Polled;
use crate::transport::session::SessionEvent;
use crate::transport::{FrameLink, LinkError, LinkStats, ListenConfig, SendOutcome, SenderConfig};

use super::{ShmInbox, ShmListener, ShmSender, layout, listen_direct};

/// What a receive found.
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

/// The receiving end: owns the ring file while it lives (removed when dropped).
#[derive(Debug)]
pub struct MessageReceiver {
    listener: ShmListener,
    inbox: ShmInbox,
    wait: WaitStrategy,
}

impl MessageReceiver {
    /// Creates the ring `name` (a file in the per-user ringtop directory) with a window of
    /// `window_bytes` (a power of two, 4 KiB to 1 GiB), waiting for messages with `wait`
    /// (`spin_park` sleeps on a futex in the file: an idle receiver costs nothing).
    ///
    /// # Errors
    /// A bad name or size, a directory that is not private, a live receiver holding the name.
    pub fn create(name: &str, window_bytes: usize, wait: WaitStrategy) -> Result<Self, LinkError> {
        Self::create_holding(name, window_bytes, 0, wait)
    }

    /// As [`MessageReceiver::create`], the window holding records (`item_bytes` 0) or
    /// fixed-size items of `item_bytes`.
    fn create_holding(
        name: &str,
        window_bytes: usize,
        item_bytes: usize,
        wait: WaitStrategy,
    ) -> Result<Self, LinkError> {
        let (listener, inbox) = listen_direct(
            ListenConfig::open(name),
            window_bytes,
            item_bytes,
            Arc::new(LinkStats::default()),
        )?;
        Ok(MessageReceiver {
            listener,
            inbox,
            wait,
        })
    }

    /// The ring file's path.
    pub fn path(&self) -> String {
        crate::transport::LinkListener::local_addr(&self.listener)
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

    /// Whether a take would find nothing now: the sender's word (the next slot's stamp, or the
    /// tail) has not moved past what was read, nothing is left unread and no boundary is due. A
    /// few loads and no call: the common look of a polling loop, inline in the caller's.
    #[inline(always)]
    fn is_quiet(&self) -> bool {
        let listener = &self.listener;
        self.inbox.is_quiet_at(|head| listener.sender_tail(head))
    }

    /// What one `poll` of the inbox found: how many messages (items) it took, or anything else
    /// (never [`Received::Message`]). The common case is a count alone, with no enum of
    /// strings to build, move and drop on the way back.
    #[inline]
    fn try_take(&mut self, poll: impl FnOnce(&mut ShmInbox) -> Polled) -> Result<usize, Received> {
        if self.is_quiet() {
            return Err(Received::Nothing);
        }
        self.take_news(poll)
    }

    /// [`MessageReceiver::try_take`] for a caller whose own quiet look just found news: the
    /// poll, without looking again.
    #[inline]
    fn take_news(&mut self, poll: impl FnOnce(&mut ShmInbox) -> Polled) -> Result<usize, Received> {
        Err(match poll(&mut self.inbox) {
            Polled::Frame(taken) => return Ok(taken),
            Polled::Nothing => Received::Nothing,
            Polled::Dropped(reason) => Received::SenderDropped(reason),
            Polled::Event(SessionEvent::Start { peer, .. }) => Received::SenderConnected(peer),
            Polled::Event(SessionEvent::End { rows_sent, reason }) => Received::SenderLeft {
                sent: rows_sent,
                reason,
            },
        })
    }

    /// Polls with `poll` until it finds something or `timeout` passes, waiting between polls
    /// with the receiver's strategy.
    fn take(
        &mut self,
        timeout: Duration,
        mut poll: impl FnMut(&mut ShmInbox) -> Polled,
    ) -> Result<usize, Received> {
        let mut deadline = Deadline::after(timeout);
        let mut spins = 0u32;
        loop {
            let got = self.try_take(&mut poll);
            if !matches!(got, Err(Received::Nothing)) {
                return got;
            }
            let Some(left) = deadline.left(Instant::now()) else {
                return got;
            };
            spins = spins.saturating_add(1);
            match self.wait {
                WaitStrategy::SpinPark { spins: budget } if spins > budget => {
                    if !self.inbox.park(left.min(Duration::from_millis(20))) {
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

    /// Says goodbye with the count sent and waits up to `wait` for the receiver to read them
    /// all; the count it read.
    pub fn finish(mut self, wait: Duration) -> u64 {
        self.sender.finish(wait)
    }
}

/// How a library sender opens ring `name` for messages (items) of up to (exactly) `max` bytes.
fn sender_config(name: &str, max: usize) -> (SenderConfig, Arc<LinkStats>) {
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
fn bytes_sent(outcome: SendOutcome, sender: &ShmSender) -> Result<usize, LinkError> {
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
fn wait_for_room(
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

/// A zero-sized item type: nothing to carry, and no way to tell items from an empty message.
fn refuse_empty<T>() -> Result<(), LinkError> {
    if size_of::<T>() == 0 {
        return Err(LinkError::Protocol(format!(
            "{} is zero-sized: a ring of such items carries nothing",
            std::any::type_name::<T>()
        )));
    }
    Ok(())
}

/// What a receive of an item found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedItem<T> {
    /// The next item.
    Item(T),
    /// Anything but an item, as [`MessageReceiver::recv`] reports it (never
    /// [`Received::Message`]).
    Other(Received),
}

/// What a receive of several items found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedItems {
    /// This many items, at the start of the caller's slice (at least one).
    Items(usize),
    /// Anything but items, as [`MessageReceiver::recv`] reports it (never
    /// [`Received::Message`]).
    Other(Received),
}

/// The receiving end of a ring of `T` items. The window holds items, not messages: each in a
/// slot after an 8-byte stamp that publishes it, the two rounded up to a power of two (an item
/// of up to 56 bytes and its stamp are one cache line, which is all a hand-off moves), and only
/// an [`ItemSender`] of a type of the same size is let in. Each item is copied out of the ring
/// word by word (no alignment is assumed of the ring's bytes).
#[derive(Debug)]
pub struct ItemReceiver<T: Pod> {
    ring: MessageReceiver,
    _items: PhantomData<T>,
}

/// The slot a `T` takes in the window, known when the code is compiled ([`layout::slot_bytes`]).
struct Slot<T>(PhantomData<T>);

impl<T> Slot<T> {
    const BYTES: usize = layout::slot_bytes(size_of::<T>());
    /// Where a `T` lies in its slot, for the reader.
    const SHAPE: SlotShape = SlotShape {
        slot: Self::BYTES,
        at: layout::slot::ITEM,
        item: size_of::<T>(),
    };
}

impl<T: Pod> ItemReceiver<T> {
    /// Creates the ring `name` with room for about `capacity` items (the window is `capacity`
    /// slots, at least two, rounded up to a power of two, at least 4 KiB; a slot is the item's
    /// size and 8 bytes of stamp, rounded up to a power of two).
    ///
    /// # Errors
    /// As [`MessageReceiver::create`]; a zero-sized `T`; a capacity whose window would pass the
    /// largest (1 GiB), which is refused rather than made smaller.
    pub fn create(name: &str, capacity: usize, wait: WaitStrategy) -> Result<Self, LinkError> {
        refuse_empty::<T>()?;
        let window = capacity
            .max(2)
            .checked_mul(Slot::<T>::BYTES)
            .and_then(usize::checked_next_power_of_two)
            .filter(|&bytes| bytes <= layout::MAX_WINDOW)
            .ok_or_else(|| LinkError::Listen {
                address: name.to_owned(),
                reason: format!(
                    "{capacity} items in {}-byte slots need more than the largest window ({} \
                     MiB)",
                    Slot::<T>::BYTES,
                    layout::MAX_WINDOW >> 20
                ),
            })?
            .max(layout::MIN_WINDOW);
        Ok(ItemReceiver {
            ring: MessageReceiver::create_holding(name, window, size_of::<T>(), wait)?,
            _items: PhantomData,
        })
    }

    /// The ring file's path.
    pub fn path(&self) -> String {
        self.ring.path()
    }

    /// The next item (or a sender's arrival or departure) without waiting. A look that finds
    /// nothing is a few loads inline in the caller's loop, with no call: a receiver polling in a
    /// loop sees the next item that much sooner.
    #[inline(always)]
    pub fn try_recv(&mut self) -> ReceivedItem<T> {
        if self.ring.is_quiet() {
            return ReceivedItem::Other(Received::Nothing);
        }
        Self::one(|item| Self::items(self.ring.take_news(Self::poll_into(item))))
    }

    /// As [`ItemReceiver::try_recv`], waiting up to `timeout` with the receiver's strategy.
    pub fn recv(&mut self, timeout: Duration) -> ReceivedItem<T> {
        Self::one(|item| self.recv_many(item, timeout))
    }

    /// A batch of one (`take` fills a one-item slice) as one item.
    fn one(take: impl FnOnce(&mut [T]) -> ReceivedItems) -> ReceivedItem<T> {
        let mut item = [T::zeroed()];
        match take(&mut item) {
            ReceivedItems::Items(_) => ReceivedItem::Item(item[0]),
            ReceivedItems::Other(other) => ReceivedItem::Other(other),
        }
    }

    /// As many of the next items as `out` holds and the sender has published, into the start
    /// of `out`, without waiting (or a sender's arrival or departure, which is never in the
    /// middle of a batch): one look at each slot's stamp and one credit for them all.
    pub fn try_recv_many(&mut self, out: &mut [T]) -> ReceivedItems {
        Self::items(self.ring.try_take(Self::poll_into(out)))
    }

    /// As [`ItemReceiver::try_recv_many`], waiting up to `timeout` for at least one item with
    /// the receiver's strategy.
    pub fn recv_many(&mut self, out: &mut [T], timeout: Duration) -> ReceivedItems {
        Self::items(self.ring.take(timeout, Self::poll_into(out)))
    }

    /// A poll of the inbox that takes as many items as `out` holds into it.
    #[inline]
    fn poll_into(out: &mut [T]) -> impl FnMut(&mut ShmInbox) -> Polled + '_ {
        move |inbox| inbox.poll_items(bytemuck::cast_slice_mut(&mut out[..]), Slot::<T>::SHAPE)
    }

    fn items(taken: Result<usize, Received>) -> ReceivedItems {
        taken.map_or_else(ReceivedItems::Other, ReceivedItems::Items)
    }
}

/// The sending end of a ring of `T` items: each item written straight into its slot in the
/// receiver's window.
#[derive(Debug)]
pub struct ItemSender<T: Pod> {
    sender: ShmSender,
    _items: PhantomData<T>,
}

impl<T: Pod> ItemSender<T> {
    /// Opens the ring `name` that an [`ItemReceiver`] of a type of the same size created.
    ///
    /// # Errors
    /// As [`MessageSender::open`]; a ring of messages, or of items of another size (the error
    /// says which); a zero-sized `T`.
    pub fn open(name: &str) -> Result<Self, LinkError> {
        refuse_empty::<T>()?;
        Ok(ItemSender {
            sender: {
                let (config, stats) = sender_config(name, size_of::<T>());
                ShmSender::connect_items(config, stats)?
            },
            _items: PhantomData,
        })
    }

    /// Sends `item` if the ring has room now: `Ok(false)` when it is full.
    ///
    /// # Errors
    /// The ring is gone (its receiver died or dropped this sender).
    pub fn try_send(&mut self, item: &T) -> Result<bool, LinkError> {
        Ok(self.try_send_many(std::slice::from_ref(item))? > 0)
    }

    /// Sends `item`, waiting up to `timeout` for room.
    ///
    /// # Errors
    /// As [`ItemSender::try_send`], or [`LinkError::Idle`] when no room came in time.
    pub fn send(&mut self, item: &T, timeout: Duration) -> Result<(), LinkError> {
        self.send_many(std::slice::from_ref(item), timeout)
    }

    /// Sends as many of `items`, in order, as the ring has room for now, published together
    /// (one tail for them all): how many (0 when it is full).
    ///
    /// # Errors
    /// As [`ItemSender::try_send`].
    pub fn try_send_many(&mut self, items: &[T]) -> Result<usize, LinkError> {
        if items.is_empty() {
            return Ok(0);
        }
        let outcome = self
            .sender
            .send_items_of(bytemuck::cast_slice(items), size_of::<T>());
        let wrote = bytes_sent(outcome, &self.sender)?;
        Ok(wrote / Slot::<T>::BYTES)
    }

    /// Sends all of `items`, in order, waiting up to `timeout` for room.
    ///
    /// # Errors
    /// As [`ItemSender::try_send`], or [`LinkError::Idle`] when room for all of them did not
    /// come in time (those sent by then stay sent).
    pub fn send_many(&mut self, items: &[T], timeout: Duration) -> Result<(), LinkError> {
        let mut sent = 0;
        wait_for_room(timeout, || {
            sent += self.try_send_many(&items[sent..])?;
            Ok(sent == items.len())
        })
    }

    /// Items the receiver has read so far.
    pub fn acknowledged(&mut self) -> u64 {
        self.sender.acknowledged()
    }

    /// Says goodbye with the count sent and waits up to `wait` for the receiver to read them
    /// all; the count it read.
    pub fn finish(mut self, wait: Duration) -> u64 {
        self.sender.finish(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_past_the_largest_window_is_refused_not_shrunk() {
        // Wrapped or saturated arithmetic once made any such capacity a 4 KiB window.
        for capacity in [usize::MAX, usize::MAX / 64, (layout::MAX_WINDOW / 64) + 1] {
            let err = ItemReceiver::<[u64; 8]>::create(
                "never-created",
                capacity,
                WaitStrategy::spin_park(),
            )
            .unwrap_err();
            assert!(
                err.to_string()
                    .contains("need more than the largest window (1024 MiB)"),
                "{capacity}: {err}"
            );
        }
    }

    #[test]
    fn zero_sized_items_are_refused_before_any_file_is_touched() {
        let err = ItemSender::<()>::open("never-created").unwrap_err();
        assert!(err.to_string().contains("zero-sized"), "{err}");
        let err = ItemReceiver::<[u8; 0]>::create("never-created", 16, WaitStrategy::spin_park())
            .unwrap_err();
        assert!(err.to_string().contains("zero-sized"), "{err}");
    }

    #[test]
    fn a_receive_with_nothing_to_take_waits_out_its_timeout() {
        let name = format!("empty-recv-{}", std::process::id());
        let mut receiver =
            ItemReceiver::<u64>::create(&name, 64, WaitStrategy::BusySpin).expect("create");
        let wait = Duration::from_millis(30);
        let start = Instant::now();
        assert_eq!(
            receiver.recv(wait),
            ReceivedItem::Other(Received::Nothing),
            "no sender, nothing to take"
        );
        assert!(
            start.elapsed() >= wait,
            "gave up after {:?} of {wait:?}",
            start.elapsed()
        );
        // A zero timeout is one look.
        assert_eq!(
            receiver.recv(Duration::ZERO),
            ReceivedItem::Other(Received::Nothing)
        );
    }

    #[test]
    fn waits_without_end_take_what_comes() {
        let name = format!("endless-{}", std::process::id());
        let mut receiver =
            ItemReceiver::<[u64; 8]>::create(&name, 64, WaitStrategy::spin_park()).expect("create");
        let mut sender = ItemSender::<[u64; 8]>::open(&name).expect("open");
        assert!(matches!(
            receiver.recv(Duration::MAX),
            ReceivedItem::Other(Received::SenderConnected(_))
        ));
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            for i in 0..66 {
                // The first waits for the receiver (asleep after it), the last for room.
                sender.send(&[i; 8], Duration::MAX).expect("sent");
            }
            sender
        });
        for i in 0..66 {
            // The first waits for the sender, asleep.
            assert_eq!(receiver.recv(Duration::MAX), ReceivedItem::Item([i; 8]));
            if i == 0 {
                // The sender fills the window's 64 slots and waits with the 66th.
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let sender = late.join().expect("the sender");
        assert_eq!(
            sender.finish(Duration::MAX),
            66,
            "every item read, and said so"
        );
    }

    #[test]
    fn a_send_into_a_full_window_gives_up_after_its_timeout() {
        let name = format!("full-send-{}", std::process::id());
        let _receiver =
            ItemReceiver::<[u64; 8]>::create(&name, 64, WaitStrategy::BusySpin).expect("create");
        let mut sender = ItemSender::<[u64; 8]>::open(&name).expect("open");
        for i in 0..64 {
            sender
                .send(&[i; 8], Duration::from_secs(1))
                .expect("room for the window's items");
        }
        let wait = Duration::from_millis(30);
        let start = Instant::now();
        let error = sender.send(&[64; 8], wait).expect_err("nobody reads");
        assert!(matches!(error, LinkError::Idle(_)), "{error}");
        assert!(
            start.elapsed() >= wait,
            "gave up after {:?} of {wait:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_sender_waiting_on_a_full_window_looks_at_the_receivers_lock_once_a_millisecond() {
        let name = format!("full-window-{}", std::process::id());
        let receiver =
            ItemReceiver::<[u64; 8]>::create(&name, 64, WaitStrategy::BusySpin).expect("create");
        let mut sender = ItemSender::<[u64; 8]>::open(&name).expect("open");
        let mut sent = 0u64;
        while sender.try_send(&[sent; 8]).expect("send") {
            sent += 1;
        }
        assert_eq!(sent, 64, "the window holds what it says");
        // Nobody reads: every try finds the window full.
        let before = sender.sender.lock_checks();
        let start = Instant::now();
        let mut tries = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            assert!(!sender.try_send(&[0; 8]).expect("the receiver is alive"));
            tries += 1;
        }
        let checks = sender.sender.lock_checks() - before;
        let allowed = start.elapsed().as_millis() as u64 + 1;
        assert!(
            tries > 2 * allowed && checks <= allowed,
            "{checks} looks at the lock in {tries} tries over {allowed} ms"
        );
        drop(receiver);
        // A receiver gone is still noticed while the window stays full.
        let start = Instant::now();
        let error = loop {
            match sender.try_send(&[0; 8]) {
                Ok(sent) => assert!(!sent, "room in a window nobody read"),
                Err(e) => break e.to_string(),
            }
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "still sending a second after the receiver went"
            );
        };
        assert!(error.contains("gone"), "{error}");
    }
}
