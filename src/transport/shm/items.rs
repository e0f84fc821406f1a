//! Shared-memory rings of fixed-size items of a plain-old-data type, for a program's own data:
//! one process creates a ring by name and receives ([`ItemReceiver`]), another opens it and
//! sends ([`ItemSender`]). Each item lies alone in a slot after an 8-byte stamp that publishes
//! it, the two rounded up to a power of two: an item of up to 56 bytes and its stamp are one
//! cache line, which is all a hand-off moves. The same file, checks, liveness and futex as
//! the message rings ([`super::messages`]).
//!
//! The receiver reads the slots itself, not through a window of records: it sees the next
//! slot's stamp, takes that slot into its stream, copies the item out and credits it. Its
//! session thread opens and closes senders' sessions in the same stream (so a session's end
//! falls exactly after the last item its sender stamped): while a session is open the receiver
//! alone moves the stream's end on, and once the session thread has closed it and waited out
//! the receiver's take under way ([`Visits`]), the session thread alone does. A take costs the
//! receiver two plain stores, no lock.
//!
//! ```no_run
//! use std::time::Duration;
//! use ringtop::ring::WaitStrategy;
//! use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItem};
//!
//! // In one process:
//! let mut rx = ItemReceiver::<[u64; 4]>::create("quotes", 1024, WaitStrategy::spin_park())?;
//! // In another:
//! let mut tx = ItemSender::<[u64; 4]>::open("quotes")?;
//! tx.send(&[1, 2, 3, 4], Duration::from_secs(1))?;
//! // Back in the first:
//! loop {
//!     if let ReceivedItem::Item(quote) = rx.recv(Duration::from_secs(1)) {
//!         assert_eq!(quote, [1, 2, 3, 4]);
//!         break;
//!     }
//! }
//! # Ok::<(), ringtop::transport::LinkError>(())
//! ```

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Release};
use std::time::Duration;

/// What an item type must be: plain old data (no pointers, no padding, every bit pattern a valid
/// value), so an item is its bytes and any bytes a peer writes are an item. Derive both with
/// `#[derive(Clone, Copy, Pod, Zeroable)] #[repr(C)]`.
pub use bytemuck::{Pod, Zeroable};

use crate::ring::WaitStrategy;
use crate::ring::visits::{Visitor, Visits};
use crate::ring::watch::{RingWatch, StatsCell};
use crate::ring::window::WindowError;
use crate::topology::{AllocationReport, NumaAlloc};
use crate::transport::inbox::CreditPath;
use crate::transport::session::{SessionEvent, SessionLog};
use crate::transport::{LinkError, LinkStats, ListenConfig};

use super::mapping::Segment;
use super::messages::{Received, bytes_sent, receive_within, sender_config, wait_for_room};
use super::receive::{Shared, Stream, answer_producers, create_ring};
use super::watch::{self, HeldEnd, WatchedCells};
use super::{ShmListener, ShmSender, layout};

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
    /// Anything but an item, as [`super::messages::MessageReceiver::recv`] reports it (never
    /// [`Received::Message`]).
    Other(Received),
}

/// What a receive of several items found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReceivedItems {
    /// This many items, at the start of the caller's slice (at least one).
    Items(usize),
    /// Anything but items, as [`super::messages::MessageReceiver::recv`] reports it (never
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
    /// The ring file and its session thread (stopped, and the file removed, when dropped).
    listener: ShmListener,
    shared: Arc<Shared<ItemStream>>,
    sessions: Arc<SessionLog>,
    /// The next slot's position: everything before it is read.
    head: u64,
    /// The stream's end and this head, as the session thread sees them.
    ends: Arc<StreamEnds>,
    /// This receiver's takes into the stream, which the session thread waits out when it
    /// closes a session.
    visitor: Visitor,
    /// How far the stream was taken when last looked at: the slots before it are read without
    /// looking at their stamps again.
    published: u64,
    /// Items read in the current sender's session (credits carry the count).
    session_rows: u64,
    /// The head the last credit carried.
    last_credit: u64,
    /// A quarter of the window: a batch that leaves slots unread credits at least this often.
    credit_every: u64,
    wait: WaitStrategy,
    /// Where a monitor watches this ring from ([`ItemReceiver::publish_to`]), if one does.
    watched: Option<WatchedCells>,
    _items: PhantomData<T>,
}

/// The slot a `T` takes in the window, known when the code is compiled ([`layout::slot_bytes`]).
struct Slot<T>(PhantomData<T>);

impl<T> Slot<T> {
    const BYTES: usize = layout::slot_bytes(size_of::<T>());
    /// Slots are a power of two: a count of them is a shift.
    const SHIFT: u32 = Self::BYTES.trailing_zeros();
}

impl<T: Pod> ItemReceiver<T> {
    /// Creates the ring `name` with room for about `capacity` items (the window is `capacity`
    /// slots, at least two, rounded up to a power of two, at least 4 KiB; a slot is the item's
    /// size and 8 bytes of stamp, rounded up to a power of two).
    ///
    /// The window's pages are the file's, placed where they are first written (by a sender):
    /// [`ItemReceiver::create_on`] places them on a NUMA node instead.
    ///
    /// # Errors
    /// As [`super::messages::MessageReceiver::create`]; a zero-sized `T`; a capacity whose
    /// window would pass the largest (1 GiB), which is refused rather than made smaller.
    pub fn create(name: &str, capacity: usize, wait: WaitStrategy) -> Result<Self, LinkError> {
        Self::make(name, capacity, wait, None)
    }

    /// As [`ItemReceiver::create`], the window placed as `placement` places memory before any
    /// sender is let in: bound to its node (or the node of its CPU: typically the receiver's,
    /// which reads every slot) and its pages faulted in now, by the calling thread.
    /// [`ItemReceiver::memory`] says whether the binding took and where the pages are.
    ///
    /// # Errors
    /// As [`ItemReceiver::create`]. A binding the OS refuses is no error: the report says so.
    pub fn create_on(
        name: &str,
        capacity: usize,
        wait: WaitStrategy,
        placement: &NumaAlloc,
    ) -> Result<Self, LinkError> {
        Self::make(name, capacity, wait, Some(placement))
    }

    fn make(
        name: &str,
        capacity: usize,
        wait: WaitStrategy,
        placement: Option<&NumaAlloc>,
    ) -> Result<Self, LinkError> {
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
        let config = ListenConfig::open(name);
        let ring = create_ring(&config, window, size_of::<T>(), placement)?;
        let ends = Arc::new(StreamEnds::default());
        let (visits, visitor) = Visits::new();
        let stream = ItemStream {
            slot: Slot::<T>::BYTES,
            ends: ends.clone(),
            visits,
        };
        let stats = Arc::new(LinkStats::default());
        let (listener, shared, sessions) = answer_producers(config, ring, stream, &stats)?;
        Ok(ItemReceiver {
            listener,
            shared,
            sessions,
            head: 0,
            ends,
            visitor,
            published: 0,
            session_rows: 0,
            last_credit: 0,
            credit_every: (window / 4) as u64,
            wait,
            watched: None,
            _items: PhantomData,
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
    /// published tail, in items (see [`crate::ring::watch`]). Register it with
    /// `receiver.monitor(&registry, name)` ([`crate::monitor::Monitor`]).
    pub fn watch(&self) -> Arc<dyn RingWatch> {
        watch::ItemWatch::new(&self.shared, &self.ends, size_of::<T>(), Slot::<T>::BYTES)
    }

    /// Writes into `consumer` (this end's cell in a monitor: [`crate::monitor::RingCells`])
    /// which thread reads the ring, at once and at each sender's arrival, and into both cells
    /// the positions when the receiver is dropped. The sender's cell holds nothing else: its
    /// counters are another process's.
    pub fn publish_to(&mut self, producer: StatsCell, consumer: StatsCell) {
        self.watched = Some(WatchedCells::new(producer, consumer, HeldEnd::Receiver));
    }

    /// The next item (or a sender's arrival or departure) without waiting. A look that finds
    /// nothing is a few loads inline in the caller's loop, with no call: a receiver polling in a
    /// loop sees the next item that much sooner.
    #[inline(always)]
    pub fn try_recv(&mut self) -> ReceivedItem<T> {
        if self.is_quiet() {
            return ReceivedItem::Other(Received::Nothing);
        }
        let mut item = T::zeroed();
        match self.take(std::slice::from_mut(&mut item)) {
            Ok(_) => ReceivedItem::Item(item),
            Err(other) => ReceivedItem::Other(other),
        }
    }

    /// As [`ItemReceiver::try_recv`], waiting up to `timeout` with the receiver's strategy.
    pub fn recv(&mut self, timeout: Duration) -> ReceivedItem<T> {
        let mut item = T::zeroed();
        match self.recv_many(std::slice::from_mut(&mut item), timeout) {
            ReceivedItems::Items(_) => ReceivedItem::Item(item),
            ReceivedItems::Other(other) => ReceivedItem::Other(other),
        }
    }

    /// As many of the next items as `out` holds and the sender has published, into the start
    /// of `out`, without waiting (or a sender's arrival or departure, which is never in the
    /// middle of a batch): one look at each slot's stamp and one credit for them all.
    pub fn try_recv_many(&mut self, out: &mut [T]) -> ReceivedItems {
        Self::items(self.try_take(out))
    }

    /// As [`ItemReceiver::try_recv_many`], waiting up to `timeout` for at least one item with
    /// the receiver's strategy.
    pub fn recv_many(&mut self, out: &mut [T], timeout: Duration) -> ReceivedItems {
        let wait = self.wait;
        Self::items(receive_within(
            self,
            wait,
            timeout,
            |receiver| receiver.try_take(out),
            Self::park,
        ))
    }

    fn items(taken: Result<usize, Received>) -> ReceivedItems {
        taken.map_or_else(ReceivedItems::Other, ReceivedItems::Items)
    }

    /// Whether a take would find nothing now: everything taken is read, the next slot's stamp
    /// does not say it is full, and no session boundary is recorded. A few loads and no call:
    /// the common look of a polling loop, inline in the caller's. A boundary not yet due still
    /// makes the look fail: the session thread records one after taking a leaving sender's last
    /// items into the stream (past what this receiver last learnt, their stamps perhaps cleared
    /// since for the next sender), and a take learns of them from the stream's end it loads.
    #[inline(always)]
    fn is_quiet(&self) -> bool {
        self.head == self.published
            && !self.shared.segment.is_stamped(self.head, Slot::<T>::BYTES)
            && self.sessions.next_at() == u64::MAX
    }

    /// [`ItemReceiver::take`] unless a look finds nothing.
    #[inline]
    fn try_take(&mut self, out: &mut [T]) -> Result<usize, Received> {
        if self.is_quiet() {
            return Err(Received::Nothing);
        }
        self.take(out)
    }

    /// Takes what there is: the boundary the head reached, or as many of the next items as
    /// `out` holds (taking full slots into the stream first when everything taken is read),
    /// never past the next boundary; how many items, or anything else (never
    /// [`Received::Message`]). Credits the sender once everything taken is read, and every
    /// quarter window.
    #[inline]
    fn take(&mut self, out: &mut [T]) -> Result<usize, Received> {
        if self.head == self.published {
            self.take_stamped(out.len());
        }
        // The boundaries are looked at after the stream: one recorded at a position the head
        // has reached comes before any item past it.
        if let Some(event) = self.sessions.due(self.head) {
            return Err(self.begin(event));
        }
        let until = self.published.min(self.sessions.next_at());
        let ready = until.saturating_sub(self.head) >> Slot::<T>::SHIFT;
        let count = out.len().min(usize::try_from(ready).unwrap_or(usize::MAX));
        if count == 0 {
            return Err(Received::Nothing);
        }
        for item in &mut out[..count] {
            self.shared
                .segment
                .read_item(self.head, bytemuck::bytes_of_mut(item));
            self.head += Slot::<T>::BYTES as u64;
        }
        // After the copies: the session thread lets a new sender write up to a window past it.
        self.ends.head.store(self.head, Release);
        self.session_rows += count as u64;
        if self.head == self.published || self.head - self.last_credit >= self.credit_every {
            self.last_credit = self.head;
            self.shared.send(self.head, 0, self.session_rows);
        }
        Ok(count)
    }

    /// Takes into the stream the full slots from its end on, at most `wanted`, while a session
    /// is open, and learns where the stream ends (the session thread may have taken a sender's
    /// last items and closed its session). A visit the session thread waits out when it closes
    /// a session: after that, only it moves the stream's end, until it opens the next.
    #[inline]
    fn take_stamped(&mut self, wanted: usize) {
        let (shared, ends, head) = (&*self.shared, &*self.ends, self.head);
        self.published = self.visitor.visit(|| {
            let from = ends.published.load(Acquire);
            if !shared.open.load(Acquire) {
                return from;
            }
            let room = room_from(&shared.segment, Slot::<T>::BYTES, from, head);
            let to = shared.segment.stamped_tail_to_read(
                from,
                Slot::<T>::BYTES,
                size_of::<T>(),
                room.min(wanted as u64),
            );
            if to != from {
                ends.published.store(to, Release);
            }
            to
        });
    }

    /// Takes a session boundary the head reached: a new sender's credits are its session's,
    /// counted from zero ([`CreditPath::begin_session`]).
    #[cold]
    fn begin(&mut self, event: SessionEvent) -> Received {
        if let SessionEvent::Start { .. } = &event {
            if let Some(watched) = &self.watched {
                watched.end_is_here();
            }
            self.session_rows = 0;
            self.last_credit = self.head;
            self.shared.begin_session(self.head);
        }
        Received::of(event)
    }

    /// Sleeps on the ring's futex until the sender publishes or a session starts or ends, at
    /// most `at_most`; `false` (no sleep) while anything is there to take.
    fn park(&self, at_most: Duration) -> bool {
        if self.head != self.published || !self.sessions.is_empty() {
            return false;
        }
        self.shared.sleep_unless_tail_moved(self.head, at_most);
        true
    }
}

impl<T: Pod> Drop for ItemReceiver<T> {
    fn drop(&mut self) {
        if let Some(watched) = &self.watched {
            let (head, tail) = watch::stream_positions(&self.shared, &self.ends);
            watched.ended(head >> Slot::<T>::SHIFT, tail >> Slot::<T>::SHIFT);
        }
    }
}

/// How many slots of `slot` bytes from a stream's end `from` on the receiver at `head` has
/// released: the most that may be taken into the stream. The slots' stamps are all the
/// sender's word on which of them are full.
#[inline(always)]
fn room_from(segment: &Segment, slot: usize, from: u64, head: u64) -> u64 {
    (head + segment.capacity() as u64 - from) >> slot.trailing_zeros()
}

/// Where a stream of items ends and where its receiver has read to, as the receiver and the
/// session thread share them. The receiver alone writes them, but for the stream's end while
/// no session is open (the session thread's, once it has waited out the receiver's takes).
#[derive(Debug, Default)]
pub(super) struct StreamEnds {
    /// The end of the slots taken: the receiver reads up to here, and a session starts or ends
    /// here.
    pub(super) published: AtomicU64,
    /// The receiver's head, as it stores it after each read.
    pub(super) head: AtomicU64,
}

/// The window of item slots as the session thread sees it: how far the receiver may read
/// (slots taken while a session was open, from their stamps), and where it has read to.
#[derive(Debug)]
pub(super) struct ItemStream {
    /// A slot's bytes ([`layout::slot_bytes`]).
    slot: usize,
    ends: Arc<StreamEnds>,
    /// The receiver's takes into the stream, waited out when a session closes.
    visits: Arc<Visits>,
}

impl Stream for ItemStream {
    fn published(&self) -> u64 {
        self.ends.published.load(Acquire)
    }

    fn head(&self) -> u64 {
        self.ends.head.load(Acquire)
    }

    fn after_close(&self) {
        // The receiver may be taking slots into the stream under the session just closed: once
        // that take is over, none follows until the next session opens.
        self.visits.wait_out();
    }

    fn before_sender(&self, segment: &Segment) {
        // This sender writes nothing before its welcome, and no other holds the lock: no stamp
        // an earlier sender left (say, a dropped one) passes for this one's. The receiver reads
        // the slots already taken without looking at their stamps.
        segment.clear_stamps(self.slot);
    }

    fn take_last(shared: &Shared<Self>, stream: &mut Self) -> Result<(), WindowError> {
        let ends = &stream.ends;
        let from = ends.published.load(Acquire);
        let head = ends.head.load(Acquire);
        let room = room_from(&shared.segment, stream.slot, from, head);
        let end = shared.segment.stamped_tail(from, stream.slot, room);
        ends.published.store(end, Release);
        Ok(())
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
    /// As [`super::messages::MessageSender::open`]; a ring of messages, or of items of another
    /// size (the error
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
    #[inline]
    pub fn try_send(&mut self, item: &T) -> Result<bool, LinkError> {
        let outcome = self
            .sender
            .send_item(bytemuck::bytes_of(item), Slot::<T>::BYTES);
        Ok(bytes_sent(outcome, &self.sender)? > 0)
    }

    /// Sends `item`, waiting up to `timeout` for room.
    ///
    /// # Errors
    /// As [`ItemSender::try_send`], or [`LinkError::Idle`] when no room came in time.
    pub fn send(&mut self, item: &T, timeout: Duration) -> Result<(), LinkError> {
        wait_for_room(timeout, || self.try_send(item))
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

    /// This ring's positions for a watcher, from the sending end, in items: the tail this
    /// sender publishes (exact) and the head its receiver last credited (at least every quarter
    /// window, and whenever it has read everything). Register it with
    /// `sender.monitor(&registry, name)` ([`crate::monitor::Monitor`]).
    ///
    /// # Errors
    /// The ring file's header cannot be mapped a second time (for the watch, which must not
    /// keep this sender's mapping alive).
    pub fn watch(&mut self) -> std::io::Result<Arc<dyn RingWatch>> {
        Ok(self.sender.watch("shm-items-sender", size_of::<T>())?)
    }

    /// Writes into `producer` (this end's cell in a monitor: [`crate::monitor::RingCells`])
    /// which thread sends, at once and whenever the sender looks at its receiver's lock (every
    /// 4,096 sends, and once a millisecond while the ring is full), and into both cells the
    /// positions when the sender is dropped. The receiver's cell holds nothing else: its
    /// counters are another process's.
    pub fn publish_to(&mut self, producer: StatsCell, consumer: StatsCell) {
        self.sender.publish_to(producer, consumer);
    }

    /// Says goodbye with the count sent and waits up to `wait` for the receiver to read them
    /// all; the count it read.
    pub fn finish(mut self, wait: Duration) -> u64 {
        self.sender.finish(wait)
    }
}

#[cfg(test)]
mod tests;
