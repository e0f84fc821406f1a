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
use crate::ring::window::{self, WindowError, WindowPositions, WindowWriter, max_payload};
use crate::ring::{RingConfig, WaitStrategy};
use crate::topology::{AllocationReport, BindingOutcome, NumaAlloc, PageBacking, PageLocation};
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

/// What the consumer reads from, which the session thread opens and closes sessions in under
/// the writer's lock: the window of records ([`WindowWriter`]: frames, messages; its consumer
/// takes the lock too), or the window of item slots ([`super::items::ItemStream`]: its receiver
/// takes no lock, and the session thread waits out its take as it closes a session).
pub(super) trait Stream: Send + std::fmt::Debug + Sized + 'static {
    /// Where what the consumer may read ends: a session starts, or ends, here.
    fn published(&self) -> u64;
    /// The consumer's head: a new sender may write up to a window past it.
    fn head(&self) -> u64;
    /// Readies the file for a new sender, while no sender writes (none is let in yet).
    fn before_sender(&self, segment: &Segment);
    /// Returns once the consumer can no longer be reading the session just closed as open
    /// (called right after it is closed, before its last word is taken). A stream the consumer
    /// reads only under the writer's lock has nothing to wait for.
    fn after_close(&self) {}
    /// Takes all the sender has published, as its last word (its session ends).
    ///
    /// # Errors
    /// What the stream refused of it (the sender is then dropped).
    fn take_last(shared: &Shared<Self>, stream: &mut Self) -> Result<(), WindowError>;
}

impl Stream for WindowWriter {
    fn published(&self) -> u64 {
        WindowWriter::published(self)
    }

    fn head(&self) -> u64 {
        WindowWriter::head(self)
    }

    fn before_sender(&self, _: &Segment) {}

    fn take_last(shared: &Shared<Self>, writer: &mut Self) -> Result<(), WindowError> {
        shared.publish(writer, shared.segment.sender_tail())
    }
}

/// What the session thread and the consumer share: the stream they open and close sessions
/// in, and the consumer's credit path.
#[derive(Debug)]
pub(super) struct Shared<S> {
    pub(super) segment: Arc<Segment>,
    /// What the consumer reads from; `None` once the listener stopped.
    pub(super) writer: Mutex<Option<S>>,
    /// Whether a producer's tails are taken now (a session is open).
    pub(super) open: AtomicBool,
    /// Why the consumer dropped the producer, for the session thread to end its session.
    abort: Mutex<Option<String>>,
    /// The link's counters (bytes published here, for a window of records).
    stats: Arc<LinkStats>,
    /// Sessions the consumer has started (credits carry it).
    consumer_session: AtomicU64,
    /// A window of records' published tail, as the writer last set it, for the feed's look
    /// without the lock (a stream of items keeps its own, [`super::items`]).
    published: AtomicU64,
    /// The sequence the consumer's last credit ended on ([`Segment::write_credit`]): written
    /// only by the consumer, which alone credits.
    credit_seq: AtomicU64,
}

/// The consumer's inbox with the shared-memory feed and credit path called directly (inline),
/// not through `dyn`: what a program's own receiver ([`super::messages`]) reads through.
pub(super) type ShmInbox = Inbox<Shared<WindowWriter>, Shared<WindowWriter>>;

impl TailFeed for Shared<WindowWriter> {
    #[inline]
    fn feed(&self) -> Result<(), WindowError> {
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

    #[inline]
    fn sender_tail(&self) -> Option<u64> {
        Some(self.segment.sender_tail())
    }

    fn park(&self, published: u64, at_most: Duration) -> bool {
        self.sleep_unless_tail_moved(published, at_most);
        true
    }
}

impl<S: Stream> Shared<S> {
    /// Sleeps on the file's futex until the sender publishes a tail other than `published`, or
    /// a session starts or ends, at most `at_most`: the consumer's side of the sleeping
    /// protocol, whatever the window holds (the sender publishes its tail after items too).
    pub(super) fn sleep_unless_tail_moved(&self, published: u64, at_most: Duration) {
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
    }

    /// Wakes a consumer sleeping on the ring (a session started or ended).
    fn nudge(&self) {
        let s = &self.segment;
        s.u32_at(layout::WAKE).fetch_add(1, Release);
        s.wake(layout::WAKE);
    }
}

impl Shared<WindowWriter> {
    /// Runs `take` with the window's writer if a session is open and the lock is free (looked
    /// at again under it: the session thread opens and closes sessions under it); `Ok` without
    /// running it otherwise.
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

    /// Publishes `tail` into the window (which checks it) if it moved, and counts its bytes.
    /// Under the writer's lock (the caller's): the window's one writer.
    ///
    /// # Errors
    /// The tail the window refused.
    #[inline]
    fn publish(&self, writer: &mut WindowWriter, tail: u64) -> Result<(), WindowError> {
        if tail != writer.published() {
            let added = writer.publish(tail)?;
            self.published.store(tail, Release);
            add_sole(&self.stats.bytes, added);
        }
        Ok(())
    }
}

impl<S: Stream> CreditPath for Shared<S> {
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
    /// The ring file, for a receiver's look at the sender's tail without a call through its
    /// inbox ([`ShmListener::sender_tail`]).
    segment: Arc<Segment>,
    /// How the window was placed when the ring was made ([`create_ring`]), if it was.
    placed: Option<AllocationReport>,
    /// The consumer's window positions, held weakly, once its inbox is made: with the file's
    /// tail, the ring's fill ([`LinkListener::unread_bytes`]).
    window: Option<WindowPositions>,
}

impl ShmListener {
    /// The sender's published tail, as the file says now: one load, for a receiver of records
    /// to ask [`Inbox::is_quiet_at`] before a whole poll.
    #[inline]
    pub fn sender_tail(&self) -> u64 {
        self.segment.sender_tail()
    }

    /// The ring file's mapping, held weakly: for a watcher that must not keep it mapped.
    pub(super) fn segment_weak(&self) -> std::sync::Weak<Segment> {
        Arc::downgrade(&self.segment)
    }

    /// Where the ring's window is: how it was placed when the ring was made (bound to a node,
    /// pages faulted in by the receiver) or, for a ring made without a placement, that no node
    /// was asked for (its pages land where they are first written: a sender writes them
    /// first); with the nodes its pages are on now, as the kernel says.
    pub fn window_memory(&self) -> AllocationReport {
        let cells = self.segment.window_cells();
        let placed = self.placed.clone().unwrap_or_else(|| AllocationReport {
            requested_bytes: cells.len(),
            mapped_bytes: cells.len(),
            pages: PageBacking::Normal {
                page_bytes: crate::topology::mmap::page_size(),
            },
            binding: BindingOutcome::NotRequested,
            located_on: PageLocation::Nodes { nodes: Vec::new() },
        });
        AllocationReport {
            located_on: crate::topology::memory::locate(cells),
            ..placed
        }
    }
}

impl LinkListener for ShmListener {
    fn local_addr(&self) -> String {
        self.path.display().to_string()
    }

    fn memory(&self) -> Option<AllocationReport> {
        Some(self.window_memory())
    }

    /// The sender's tail as the file says (bounded as a watcher bounds it: the file is the
    /// sender's to write) past the consumer's head: the consumer fetches the tail itself only
    /// when it has read all it had, so the window's own tail would read nothing unread.
    fn unread_bytes(&self) -> Option<u64> {
        let (head, taken) = self.window.as_ref()?.read()?;
        Some(super::watch::sender_tail(&self.segment, head, taken) - head)
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

/// Makes the ring file `config.address` (a name) with a window of `capacity` bytes of records,
/// placed as `placement` places memory if given (bound to its node, faulted in now, before any
/// producer is let in), and answers producers; the consumer reads through the returned
/// [`Inbox`].
///
/// # Errors
/// A bad name, a private directory that is not, a ring a live receiver holds, or what the OS
/// refused.
pub fn listen(
    config: ListenConfig,
    capacity: usize,
    stats: Arc<LinkStats>,
    placement: Option<&NumaAlloc>,
) -> Result<(ShmListener, Inbox), LinkError> {
    let (listener, inbox) = listen_direct(config, capacity, stats, placement)?;
    Ok((listener, inbox.into_dyn()))
}

/// [`listen`], the inbox calling this backend's feed and credit path directly.
pub(super) fn listen_direct(
    config: ListenConfig,
    capacity: usize,
    stats: Arc<LinkStats>,
    placement: Option<&NumaAlloc>,
) -> Result<(ShmListener, ShmInbox), LinkError> {
    let ring = create_ring(&config, capacity, 0, placement)?;
    let ring_config = RingConfig {
        alloc: Arc::new(WindowMemory::new(ring.segment.clone())),
        producer_wait: WaitStrategy::BusySpin,
        consumer_wait: WaitStrategy::BusySpin,
    };
    let (mut writer, reader) = window::channel_with(capacity, ring_config)?;
    // The producer writes this memory from another process at any time: the reader copies each
    // payload out before looking at it, as for a NIC.
    let _ = writer.device_memory();
    let (mut listener, shared, sessions) = answer_producers(config, ring, writer, &stats)?;
    let inbox = Inbox::with_feed(reader, sessions, shared.clone(), stats, shared);
    listener.window = Some(inbox.window_positions());
    Ok((listener, inbox))
}

/// A ring file just made, before anyone answers its senders.
pub(super) struct NewRing {
    path: PathBuf,
    segment: Arc<Segment>,
    /// How its window was placed, if a placement was asked for.
    placed: Option<AllocationReport>,
}

/// Makes the ring file for `config.address`: a window of `capacity` bytes of records
/// (`item_bytes` 0) or of fixed-size items of `item_bytes`, placed as `placement` places memory
/// (bound to its node, pages faulted in now by the calling thread), if given. The window is
/// placed before any sender can be let in to write it: a strict binding of pages already on
/// another node would fail.
///
/// # Errors
/// As [`listen`].
pub(super) fn create_ring(
    config: &ListenConfig,
    capacity: usize,
    item_bytes: usize,
    placement: Option<&NumaAlloc>,
) -> Result<NewRing, LinkError> {
    let path = ring_path(&config.address).map_err(|reason| LinkError::Listen {
        address: config.address.clone(),
        reason,
    })?;
    let segment = Arc::new(Segment::create(&path, capacity, item_bytes)?);
    let placed = placement.map(|alloc| alloc.place_area(segment.window_cells()));
    Ok(NewRing {
        path,
        segment,
        placed,
    })
}

/// What a consumer reads a ring file through: the listener (the file and its session thread),
/// what it shares with the session thread, and the session boundaries.
pub(super) type Answering<S> = (ShmListener, Arc<Shared<S>>, Arc<SessionLog>);

/// Starts the session thread that answers producers' hellos on the ring file `ring`, opening
/// and closing their sessions in `stream`, the consumer's.
///
/// # Errors
/// The thread could not start.
pub(super) fn answer_producers<S: Stream>(
    config: ListenConfig,
    ring: NewRing,
    stream: S,
    stats: &Arc<LinkStats>,
) -> Result<Answering<S>, LinkError> {
    let NewRing {
        path,
        segment,
        placed,
    } = ring;
    let config_address = path.display().to_string();
    let shared = Arc::new(Shared {
        segment: segment.clone(),
        writer: Mutex::new(Some(stream)),
        open: AtomicBool::new(false),
        abort: Mutex::new(None),
        stats: stats.clone(),
        consumer_session: AtomicU64::new(0),
        published: AtomicU64::new(0),
        credit_seq: AtomicU64::new(0),
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
    Ok((
        ShmListener {
            path,
            stop,
            thread: Some(thread),
            segment,
            placed,
            window: None,
        },
        shared,
        sessions,
    ))
}

/// How a session ended.
enum End {
    Bye(u64),
    Died(u64),
    Dropped(String),
    Stopped,
}

struct Sessions<'a, S> {
    shared: &'a Shared<S>,
    sessions: &'a SessionLog,
    stats: &'a LinkStats,
    stop: &'a AtomicBool,
    token: Option<&'a str>,
    sender_lock: PathBuf,
}

impl<S: Stream> Sessions<'_, S> {
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
            writer.before_sender(s);
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
        self.stats.connect(format!("pid {pid}"));
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
        writer.after_close();
        let mut end = end;
        if !matches!(end, End::Dropped(_))
            && let Err(e) = S::take_last(self.shared, writer)
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
        self.stats.disconnect();
    }
}
