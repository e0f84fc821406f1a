//! The receiving side: `ringtop serve --shm NAME` makes the ring file, answers one producer's
//! hello at a time, lets the consumer publish the producer's tails itself (checked), writes
//! credit back into the file, and notices a producer that leaves or dies.

use std::path::PathBuf;
use std::sync::atomic::{
    AtomicBool, AtomicU64, Ordering::Acquire, Ordering::Relaxed, Ordering::Release,
    Ordering::SeqCst,
};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::same_clock;
use crate::ring::window::{self, WindowError, WindowWriter, max_payload};
use crate::ring::{RingConfig, WaitStrategy};
use crate::transport::inbox::{CreditPath, Inbox, TailFeed};
use crate::transport::session::{SessionEvent, SessionLog};
use crate::transport::stats::add_sole;
use crate::transport::wire::Hello;
use crate::transport::{LinkError, LinkListener, LinkStats, ListenConfig, refusal, token_refusal};

use super::layout::{self, bye, hello, welcome};
use super::locks::{is_locked, ring_path, sender_lock_path};
use super::mapping::{Segment, WindowMemory};

/// How often the session thread looks for a hello, a goodbye or a dead producer.
const WATCH: Duration = Duration::from_millis(2);

/// What the session thread and the consumer share: the consumer's feed and credit path.
#[derive(Debug)]
pub(super) struct Shared {
    segment: Arc<Segment>,
    /// The window's writing end; `None` once the listener stopped.
    writer: Mutex<Option<WindowWriter>>,
    /// Whether a producer's tails are taken now (a session is open).
    open: AtomicBool,
    /// Why the consumer dropped the producer, for the session thread to end its session.
    abort: Mutex<Option<String>>,
    /// The link's counters (bytes published here).
    stats: Arc<LinkStats>,
    /// Sessions the consumer has started (credits carry it).
    consumer_session: AtomicU64,
    /// The window's published tail, as the writer last set it (read without the lock).
    published: AtomicU64,
    /// The sequence the consumer's last credit ended on ([`Segment::write_credit`]): written
    /// only by the consumer, which alone credits.
    credit_seq: AtomicU64,
    /// The window's item slot ([`layout::slot_bytes`]): its items are published by their
    /// stamps; 0 for a window of records, published by the tail.
    slot: usize,
}

/// The consumer's inbox with the shared-memory feed and credit path called directly (inline),
/// not through `dyn`: what a program's own receiver ([`super::messages`]) reads through.
pub(super) type ShmInbox = Inbox<Shared, Shared>;

impl TailFeed for Shared {
    #[inline]
    fn feed(&self) -> Result<(), WindowError> {
        if self.slot > 0 {
            return self.feed_slots(usize::MAX);
        }
        if !self.open.load(Acquire) {
            return Ok(());
        }
        // The common case, without a lock: the tail has not moved since it was published.
        let published = self.published.load(Acquire);
        if self.segment.sender_tail() == published {
            return Ok(());
        }
        // New bytes from `published` on, read right after this: their first line travels while
        // the tail is checked and published. Never earlier (say, on every empty poll): a line
        // the sender is still writing would be taken from it, once a poll.
        self.segment.prefetch_window(published);
        self.with_open_writer(|writer| self.publish(writer, self.segment.sender_tail()))
    }

    /// A window of items: the full slots from the published tail on, at most `wanted` (a
    /// consumer taking one item reads one stamp, never the next slot's line while the sender
    /// may be writing it), read from their stamps; the tail's word is not looked at.
    #[inline]
    fn feed_slots(&self, wanted: usize) -> Result<(), WindowError> {
        if self.slot == 0 {
            return self.feed();
        }
        // The common case, without a lock: the next slot is not full (its line is the one the
        // item is then read from).
        if !self.open.load(Acquire)
            || !self
                .segment
                .is_stamped(self.published.load(Acquire), self.slot)
        {
            return Ok(());
        }
        self.with_open_writer(|writer| self.take_stamped(writer, wanted as u64))
    }

    #[inline]
    fn sender_tail(&self) -> Option<u64> {
        Some(next_tail(
            &self.segment,
            self.slot,
            self.published.load(Acquire),
        ))
    }

    fn park(&self, published: u64, at_most: Duration) -> bool {
        let s = &self.segment;
        let wake = s.u32_at(layout::WAKE).load(Acquire);
        // Sticky: from the first sleep on, the sender pays the fence that pairs with this one.
        // A tail it published while it had not yet seen the flag can leave this first sleep
        // waiting out `at_most`; never a later one.
        s.u32_at(layout::CONSUMER_MAY_SLEEP).store(1, SeqCst);
        s.u32_at(layout::CONSUMER_SLEEPS).store(1, SeqCst);
        // Pairs with the sender's fence between its tail and its look at this flag: either it
        // sees the flag and wakes this futex, or this sees its tail.
        std::sync::atomic::fence(SeqCst);
        // No session: sleep until one starts (the session thread wakes this).
        let news = self.open.load(Acquire) && s.u64_at(layout::TAIL).load(SeqCst) != published;
        if !news {
            s.wait(layout::WAKE, wake, at_most);
        }
        s.u32_at(layout::CONSUMER_SLEEPS).store(0, Relaxed);
        true
    }
}

/// Where the sender has published to, as one look at the file finds it from `from` (what the
/// consumer has read up to): for a window of items (`slot` bytes each), one slot further when
/// the next slot's stamp says it is full; for a window of records, the tail's word.
#[inline]
fn next_tail(segment: &Segment, slot: usize, from: u64) -> u64 {
    if slot == 0 {
        segment.sender_tail()
    } else if segment.is_stamped(from, slot) {
        from + slot as u64
    } else {
        from
    }
}

impl Shared {
    /// Publishes into the window the full slots from its tail on, at most `most`, and never
    /// past the room the reader has released: the slots' stamps are all the sender's word on
    /// them. Under the writer's lock (the caller's).
    ///
    /// # Errors
    /// The window refused the tail (never, for slots counted this way: it checks again).
    #[inline]
    fn take_stamped(&self, writer: &mut WindowWriter, most: u64) -> Result<(), WindowError> {
        let published = writer.published();
        // A shift: slots are a power of two (`layout::slot_bytes`).
        let room =
            (writer.head() + writer.capacity() as u64 - published) >> self.slot.trailing_zeros();
        let tail = self
            .segment
            .stamped_tail(published, self.slot, most.min(room));
        self.publish(writer, tail)
    }

    /// Publishes `tail` into the window (which checks it) if it moved, and counts its bytes.
    /// Under the writer's lock (the caller's): the window's one writer.
    ///
    /// # Errors
    /// The tail the window refused.
    #[inline]
    fn publish(&self, writer: &mut WindowWriter, tail: u64) -> Result<(), WindowError> {
        let published = writer.published();
        if tail != published {
            writer.publish(tail)?;
            self.published.store(tail, Release);
            add_sole(&self.stats.bytes, tail - published);
        }
        Ok(())
    }

    /// Takes into the window all the sender has published, as its last word: the full slots
    /// (a ring of items) or its tail. Under the writer's lock (the caller's).
    ///
    /// # Errors
    /// The tail the window refused.
    fn take_last(&self, writer: &mut WindowWriter) -> Result<(), WindowError> {
        if self.slot > 0 {
            self.take_stamped(writer, u64::MAX)
        } else {
            self.publish(writer, self.segment.sender_tail())
        }
    }

    /// Runs `take` with the window's writer if a session is open and the lock is free (looked
    /// at again under it: the session thread opens and closes sessions, and clears stamps,
    /// under it); `Ok` without running it otherwise.
    #[inline]
    fn with_open_writer(
        &self,
        take: impl FnOnce(&mut WindowWriter) -> Result<(), WindowError>,
    ) -> Result<(), WindowError> {
        let Ok(mut writer) = self.writer.try_lock() else {
            return Ok(());
        };
        match writer.as_mut() {
            Some(writer) if self.open.load(Acquire) => take(writer),
            _ => Ok(()),
        }
    }

    /// Wakes a consumer sleeping on the ring (a session started or ended).
    fn nudge(&self) {
        let s = &self.segment;
        s.u32_at(layout::WAKE).fetch_add(1, Release);
        s.wake(layout::WAKE);
    }
}

impl CreditPath for Shared {
    #[inline]
    fn send(&self, head: u64, echo_stamp: u64, rows: u64) {
        let session = self.consumer_session.load(Relaxed);
        let previous = self.credit_seq.load(Relaxed);
        let seq = self
            .segment
            .write_credit(previous, head, echo_stamp, rows, session);
        self.credit_seq.store(seq, Relaxed);
    }

    fn session_started(&self) {
        self.consumer_session.fetch_add(1, Relaxed);
    }

    fn abort(&self, reason: String) {
        self.open.store(false, Release);
        if let Ok(mut abort) = self.abort.lock() {
            *abort = Some(reason);
        }
    }
}

/// A running shared-memory listener: the ring file and its session thread.
#[derive(Debug)]
pub struct ShmListener {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    /// The ring file, for a receiver's look at the sender's tail without a call through the
    /// inbox's feed ([`ShmListener::sender_tail`]).
    segment: Arc<Segment>,
    /// The window's item slot; 0 for records.
    slot: usize,
}

impl ShmListener {
    /// Where the sender has published to, as the file says now, for a receiver that has read
    /// up to `head`: one load (the next slot's stamp, or the tail), for it to ask
    /// [`Inbox::is_quiet_at`] before a whole poll.
    #[inline]
    pub fn sender_tail(&self, head: u64) -> u64 {
        next_tail(&self.segment, self.slot, head)
    }
}

impl LinkListener for ShmListener {
    fn local_addr(&self) -> String {
        self.path.display().to_string()
    }

    fn stop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ShmListener {
    fn drop(&mut self) {
        LinkListener::stop(self);
    }
}

/// Makes the ring file `config.address` (a name) with a window of `capacity` bytes and answers
/// producers; the consumer reads through the returned [`Inbox`]. The window holds records
/// (`item_bytes` 0: frames, messages) or fixed-size items of `item_bytes` in slots of their own
/// ([`layout::slot_bytes`], read with [`Inbox::poll_items`]); only a sender announcing that size
/// is accepted.
///
/// # Errors
/// A bad name, a private directory that is not, a ring a live receiver holds, or what the OS
/// refused.
pub fn listen(
    config: ListenConfig,
    capacity: usize,
    item_bytes: usize,
    stats: Arc<LinkStats>,
) -> Result<(ShmListener, Inbox), LinkError> {
    let (listener, inbox) = listen_direct(config, capacity, item_bytes, stats)?;
    Ok((listener, inbox.into_dyn()))
}

/// [`listen`], the inbox calling this backend's feed and credit path directly.
pub(super) fn listen_direct(
    config: ListenConfig,
    capacity: usize,
    item_bytes: usize,
    stats: Arc<LinkStats>,
) -> Result<(ShmListener, ShmInbox), LinkError> {
    let path = ring_path(&config.address).map_err(|reason| LinkError::Listen {
        address: config.address.clone(),
        reason,
    })?;
    let segment = Arc::new(Segment::create(&path, capacity, item_bytes)?);
    let config_address = path.display().to_string();
    let ring_config = RingConfig {
        alloc: Arc::new(WindowMemory::new(segment.clone())),
        producer_wait: WaitStrategy::BusySpin,
        consumer_wait: WaitStrategy::BusySpin,
    };
    let (mut writer, reader) = window::channel_with(capacity, ring_config)?;
    // The producer writes this memory from another process at any time: the reader copies each
    // payload out before looking at it, as for a NIC.
    let _ = writer.device_memory();
    let slot = if item_bytes > 0 {
        layout::slot_bytes(item_bytes)
    } else {
        0
    };
    if slot > 0 {
        writer.set_slot(slot)?;
    }
    let shared = Arc::new(Shared {
        segment,
        writer: Mutex::new(Some(writer)),
        open: AtomicBool::new(false),
        abort: Mutex::new(None),
        stats: stats.clone(),
        consumer_session: AtomicU64::new(0),
        published: AtomicU64::new(0),
        credit_seq: AtomicU64::new(0),
        slot,
    });
    let sessions = Arc::new(SessionLog::default());
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (shared, sessions, stats, stop, path) = (
            shared.clone(),
            sessions.clone(),
            stats.clone(),
            stop.clone(),
            path.clone(),
        );
        std::thread::Builder::new()
            .name("link-accept".into())
            .spawn(move || {
                let sessions = Sessions {
                    shared: &shared,
                    sessions: &sessions,
                    stats: &stats,
                    stop: &stop,
                    token: config.token.as_deref(),
                    sender_lock: sender_lock_path(&path),
                };
                sessions.run();
                if let Ok(mut writer) = shared.writer.lock() {
                    *writer = None;
                }
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(sender_lock_path(&path));
            })
            .map_err(|e| LinkError::Listen {
                address: config_address.clone(),
                reason: e.to_string(),
            })?
    };
    let segment = shared.segment.clone();
    let inbox = Inbox::with_feed(reader, sessions, shared.clone(), stats, shared);
    Ok((
        ShmListener {
            path,
            stop,
            thread: Some(thread),
            segment,
            slot,
        },
        inbox,
    ))
}

/// How a session ended.
enum End {
    Bye(u64),
    Died(u64),
    Dropped(String),
    Stopped,
}

struct Sessions<'a> {
    shared: &'a Shared,
    sessions: &'a SessionLog,
    stats: &'a LinkStats,
    stop: &'a AtomicBool,
    token: Option<&'a str>,
    sender_lock: PathBuf,
}

impl Sessions<'_> {
    fn segment(&self) -> &Segment {
        &self.shared.segment
    }

    fn run(&self) {
        // The file is new (zeroed) when this thread starts: a hello written before it ran is
        // answered too.
        let mut answered = 0;
        while !self.stop.load(Relaxed) {
            let seq = self.segment().u64_at(hello::SEQ).load(Acquire);
            if seq == answered {
                std::thread::sleep(WATCH);
                continue;
            }
            answered = seq;
            let (hello, pid) = self.read_hello();
            if !is_locked(&self.sender_lock) {
                // A hello from a process that does not hold the sender lock: not a producer
                // this side can watch.
                self.refuse(seq, "say hello while holding the sender lock".into());
                continue;
            }
            let items = self.segment().item_bytes();
            let refused = if items == 0 {
                refusal(self.token, &hello, self.segment().capacity())
            } else {
                // A ring of items takes exactly its item, whatever a record could hold.
                token_refusal(self.token, &hello).or_else(|| {
                    (hello.max_frame as usize != items).then(|| {
                        format!(
                            "this ring holds items of {items} bytes; the sender announced {}",
                            hello.max_frame
                        )
                    })
                })
            };
            if let Some(reason) = refused {
                self.refuse(seq, reason);
                continue;
            }
            let end = self.serve(seq, &hello, pid);
            self.close(end, pid);
        }
    }

    fn read_hello(&self) -> (Hello, u64) {
        let s = self.segment();
        let text = |len_at: usize, at: usize, room: usize| {
            let len = s.u64_at(len_at).load(Acquire) as usize;
            String::from_utf8_lossy(&s.read_field(at, len, room)).into_owned()
        };
        let hello = Hello {
            run_id: s.u64_at(hello::RUN_ID).load(Acquire),
            next_seq: s.u64_at(hello::NEXT_SEQ).load(Acquire),
            max_frame: u32::try_from(s.u64_at(hello::MAX_FRAME).load(Acquire)).unwrap_or(u32::MAX),
            token: text(hello::TOKEN_LEN, hello::TOKEN, hello::TOKEN_BYTES),
            boot_id: text(hello::BOOT_ID_LEN, hello::BOOT_ID, hello::BOOT_ID_BYTES),
        };
        (hello, s.u64_at(hello::PID).load(Acquire))
    }

    fn refuse(&self, seq: u64, reason: String) {
        self.stats
            .count_refusal(format!("refused a shared-memory producer: {reason}"));
        let s = self.segment();
        let bytes = reason.as_bytes();
        let len = bytes.len().min(welcome::REASON_BYTES);
        s.write_field(welcome::REASON, &bytes[..len]);
        s.u64_at(welcome::REASON_LEN).store(len as u64, Relaxed);
        s.u64_at(welcome::STATUS).store(layout::REFUSED, Relaxed);
        s.u64_at(welcome::SEQ).store(seq, Release);
    }

    /// Opens a session for the producer that said `hello`, then watches it until it leaves.
    fn serve(&self, seq: u64, hello: &Hello, pid: u64) -> End {
        let s = self.segment();
        let session = self.stats.sessions.load(Relaxed) + 1;
        let (start, head) = {
            let Ok(writer) = self.shared.writer.lock() else {
                return End::Stopped;
            };
            let Some(writer) = writer.as_ref() else {
                return End::Stopped;
            };
            let start = writer.published();
            s.u64_at(layout::TAIL).store(start, Release);
            if self.shared.slot > 0 {
                // This sender writes nothing before its welcome, and no other holds the lock:
                // no stamp an earlier sender left (say, a dropped one) passes for this one's.
                s.clear_stamps(self.shared.slot);
            }
            if let Ok(mut abort) = self.shared.abort.lock() {
                *abort = None;
            }
            self.sessions.record(
                start,
                SessionEvent::Start {
                    run_id: hello.run_id,
                    next_seq: hello.next_seq,
                    same_clock: same_clock(&hello.boot_id),
                    peer: format!("pid {pid}"),
                },
            );
            self.shared.open.store(true, Release);
            (start, writer.head())
        };
        self.shared.nudge();
        s.u64_at(welcome::START).store(start, Relaxed);
        s.u64_at(welcome::HEAD).store(head, Relaxed);
        s.u64_at(welcome::SESSION).store(session, Relaxed);
        let largest = match s.item_bytes() {
            0 => max_payload(s.capacity()),
            items => items,
        };
        s.u64_at(welcome::MAX_PAYLOAD)
            .store(largest as u64, Relaxed);
        s.u64_at(welcome::REASON_LEN).store(0, Relaxed);
        s.u64_at(welcome::STATUS).store(layout::ACCEPTED, Relaxed);
        let byes = s.u64_at(bye::SEQ).load(Acquire);
        s.u64_at(welcome::SEQ).store(seq, Release);
        self.stats.sessions.fetch_add(1, Relaxed);
        self.stats.set_peer(Some(format!("pid {pid}")));
        loop {
            if self.stop.load(Relaxed) {
                return End::Stopped;
            }
            if let Some(reason) = self.shared.abort.lock().ok().and_then(|mut a| a.take()) {
                return End::Dropped(reason);
            }
            let said_bye = || {
                (s.u64_at(bye::SEQ).load(Acquire) != byes)
                    .then(|| s.u64_at(bye::ROWS).load(Acquire))
            };
            if let Some(rows) = said_bye() {
                return End::Bye(rows);
            }
            // Gone: its lock released, or a new hello (only the lock's holder says hello, so
            // the lock changed hands between two looks). A goodbye written just before it
            // left still counts.
            if !is_locked(&self.sender_lock) || s.u64_at(hello::SEQ).load(Acquire) != seq {
                return said_bye().map_or(End::Died(pid), End::Bye);
            }
            std::thread::sleep(WATCH);
        }
    }

    /// Ends the session: the producer's last tail is taken (unless it was dropped for what it
    /// wrote), and the end is recorded where the window's stream stops.
    fn close(&self, end: End, pid: u64) {
        let Ok(mut writer) = self.shared.writer.lock() else {
            return;
        };
        self.shared.open.store(false, Release);
        let Some(writer) = writer.as_mut() else {
            return;
        };
        let mut end = end;
        if !matches!(end, End::Dropped(_))
            && let Err(e) = self.shared.take_last(writer)
        {
            end = End::Dropped(e.to_string());
        }
        let (rows_sent, reason) = match end {
            End::Bye(rows) => (Some(rows), "sender finished".to_owned()),
            End::Died(pid) => {
                let reason = format!(
                    "the producer (pid {pid}) died without a goodbye (its lock was released); \
                     every frame it published before is kept"
                );
                self.stats.count_drop(reason.clone());
                (None, reason)
            }
            End::Dropped(reason) => {
                self.stats.count_drop(format!(
                    "shared-memory producer (pid {pid}): {reason}; dropped"
                ));
                (None, reason)
            }
            End::Stopped => (None, "the receiver stopped".to_owned()),
        };
        self.sessions
            .record(writer.published(), SessionEvent::End { rows_sent, reason });
        self.stats.connected.store(false, Relaxed);
    }
}
