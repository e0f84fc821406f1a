//! A byte ring whose writer chooses where each byte goes: the memory a remote peer writes into.
//!
//! RDMA rings work one-sided: the producer on another host writes frames straight into the
//! consumer's ring memory at offsets it computes, then writes the new tail; the consumer reads
//! locally and hands back its head as credit. [`WindowWriter`] is that remote producer's local
//! agent (the transport's receive thread): it takes `write(offset, bytes)` and `publish(tail)` and
//! refuses, touching nothing, anything outside the part the reader released. [`WindowReader`]
//! reads records up to the published tail and checks every header: the peer wrote them.
//!
//! Records have [`super::record`]'s format (shared with the frame ring): an 8-byte header (length,
//! kind), the payload padded to 8 bytes, never wrapping, a padding record filling the buffer's end
//! when the next does not fit. [`place`] computes that layout from positions alone, so the remote
//! producer, which never sees this memory, lays records out the same way.
//!
//! ```
//! use ringtop::ring::window;
//! let (mut writer, mut reader) = window::channel(256)?;
//! let spot = window::place(256, writer.head(), writer.published(), 5)?.expect("room");
//! let bytes = window::encode_record(7, b"hello");
//! writer.free_slice(spot.offset as u64, bytes.len())?.copy_from_slice(&bytes);
//! writer.publish(spot.end)?;
//! let record = reader.try_read()?.expect("a record");
//! assert_eq!((record.kind(), record.payload()), (7, &b"hello"[..]));
//! record.release();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::sync::atomic::Ordering::{Acquire, Release};

use super::buffer::{Buffer, check_capacity};
use super::pad::CachePadded;
use super::sync::{Arc, AtomicBool, AtomicU64, UnsafeCell};
use super::{RingConfig, RingError};

type Word = UnsafeCell<u64>;

#[cfg(not(loom))]
use super::prefetch::LineHints;
use super::record::ring_offset;
pub use super::record::{
    ALIGN, CONSUMED, HEADER, PADDING, encode_record, footprint, max_payload, record_header,
};
pub use place::{Placement, place};

mod copy;
mod place;

/// Why a write, a publish or a record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// The ring itself could not be built.
    #[error(transparent)]
    Ring(#[from] RingError),
    /// A record larger than the ring can hold.
    #[error("a record of {len} bytes can never fit: at most {max} bytes in this window")]
    RecordTooLarge {
        /// Payload length asked for.
        len: usize,
        /// Largest payload accepted.
        max: usize,
    },
    /// A write reaching past the end of the ring memory.
    #[error("write of {len} bytes at offset {offset} is outside the {capacity}-byte window")]
    OutOfBounds {
        /// Where the write started.
        offset: u64,
        /// How long it was.
        len: u64,
        /// The window's size.
        capacity: usize,
    },
    /// A write into bytes the reader has not released (or that are already published).
    #[error(
        "write of {len} bytes at offset {offset} overlaps unread data (free: {free} bytes from offset {free_from})"
    )]
    NotFree {
        /// Where the write started.
        offset: u64,
        /// How long it was.
        len: u64,
        /// Where the free part starts.
        free_from: usize,
        /// How many bytes are free.
        free: usize,
    },
    /// A tail that is behind the published one, beyond what the reader released, or unaligned.
    #[error("tail {tail} refused: {reason}")]
    BadTail {
        /// The tail the peer sent.
        tail: u64,
        /// Why it cannot be published.
        reason: String,
    },
    /// A published record whose header does not describe a record.
    #[error("bad record at position {position}: {reason}")]
    BadRecord {
        /// Where the record starts.
        position: u64,
        /// What is wrong with it.
        reason: String,
    },
}

struct Shared {
    head: CachePadded<AtomicU64>,
    tail: CachePadded<AtomicU64>,
    writer_alive: AtomicBool,
    reader_alive: AtomicBool,
    /// The memory was handed out for a device to write ([`WindowWriter::device_memory`]): a
    /// peer's NIC may then write any of it at any time, so the reader copies payloads out word
    /// by word (volatile) instead of lending slices of it.
    device_written: AtomicBool,
    words: Buffer<Word>,
}

// SAFETY: the bytes are touched only under the SPSC protocol: the writer writes only bytes in
// the free part [tail, head + capacity) (checked against an Acquire load of `head`), the reader
// reads only bytes in [head, tail) after an Acquire load of `tail` that pairs with the writer's
// Release store; the two ranges never overlap.
unsafe impl Sync for Shared {}
// SAFETY: as above; nothing in `Shared` is tied to a thread.
unsafe impl Send for Shared {}

impl Shared {
    /// The memory as bytes, for slices of it (not under loom, which tracks words).
    #[cfg(not(loom))]
    fn base(&self) -> *mut u8 {
        // `Word` is `repr(transparent)` over `u64`.
        self.words.as_ptr().cast::<u8>().cast_mut()
    }

    fn word(&self, position: u64) -> &Word {
        &self.words[ring_offset(position, self.words.len() * ALIGN) / ALIGN]
    }
}

/// Creates a window of `capacity` bytes with the default config.
///
/// # Errors
/// `capacity` must be a power of two of at least 64 bytes.
pub fn channel(capacity: usize) -> Result<(WindowWriter, WindowReader), WindowError> {
    channel_with(capacity, RingConfig::default())
}

/// Creates a window whose memory comes from `config.alloc` (the wait strategies do not apply:
/// both ends only poll).
///
/// # Errors
/// As [`channel`], plus [`RingError::AllocationFailed`].
pub fn channel_with(
    capacity: usize,
    config: RingConfig,
) -> Result<(WindowWriter, WindowReader), WindowError> {
    let capacity = check_capacity::<u8>(capacity, 64)?;
    let words = Buffer::new(capacity / ALIGN, config.alloc, |_| Word::new(0))?;
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicU64::new(0)),
        tail: CachePadded::new(AtomicU64::new(0)),
        writer_alive: AtomicBool::new(true),
        reader_alive: AtomicBool::new(true),
        device_written: AtomicBool::new(false),
        words,
    });
    Ok((
        WindowWriter {
            shared: shared.clone(),
            capacity,
            published: 0,
        },
        WindowReader {
            shared,
            capacity,
            head: 0,
            cached_tail: 0,
            scratch: Vec::new(),
            #[cfg(not(loom))]
            read_ahead: LineHints::default(),
        },
    ))
}

/// The writing end: applies a peer's writes and tails after checking them.
pub struct WindowWriter {
    shared: Arc<Shared>,
    capacity: usize,
    published: u64,
}

impl std::fmt::Debug for WindowWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowWriter")
            .field("capacity", &self.capacity)
            .field("published", &self.published)
            .field("head", &self.head())
            .finish()
    }
}

impl WindowWriter {
    /// The window's size in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The reader's released position: everything before it may be overwritten.
    #[inline]
    pub fn head(&self) -> u64 {
        self.shared.head.load(Acquire)
    }

    /// The last published tail.
    pub fn published(&self) -> u64 {
        self.published
    }

    /// Whether the reader is gone.
    pub fn is_abandoned(&self) -> bool {
        !self.shared.reader_alive.load(Acquire)
    }

    /// Checks that the `len` bytes at `offset` lie in the free part of the window.
    fn check_free(&self, offset: u64, len: usize) -> Result<(), WindowError> {
        let capacity = self.capacity as u64;
        if offset >= capacity || len as u64 > capacity - offset {
            return Err(WindowError::OutOfBounds {
                offset,
                len: len as u64,
                capacity: self.capacity,
            });
        }
        let head = self.head();
        let free = capacity - (self.published - head);
        let free_from = ring_offset(self.published, self.capacity) as u64;
        let distance = ring_offset(offset + capacity - free_from, self.capacity) as u64;
        if distance + len as u64 > free {
            return Err(WindowError::NotFree {
                offset,
                len: len as u64,
                free_from: free_from as usize,
                free: free as usize,
            });
        }
        Ok(())
    }

    /// The `len` bytes at `offset`, to be filled, provided they all lie in the free part of the
    /// window (released by the reader, not yet published).
    ///
    /// # Errors
    /// [`WindowError::OutOfBounds`] past the end of the memory, [`WindowError::NotFree`] over
    /// unread or published bytes. Nothing is touched.
    #[cfg(not(loom))]
    pub fn free_slice(&mut self, offset: u64, len: usize) -> Result<&mut [u8], WindowError> {
        self.check_free(offset, len)?;
        // SAFETY: `offset + len <= capacity` (checked above), so the range is inside the buffer;
        // it lies in the free part, which the reader never reads until a later `publish`, and the
        // `&mut self` borrow keeps this the only writer's view of it.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.shared.base().add(offset as usize), len) })
    }

    /// Copies `bytes` to `offset`, provided they all land in the free part of the window.
    ///
    /// # Errors
    /// As [`WindowWriter::free_slice`].
    pub fn write_at(&mut self, offset: u64, bytes: &[u8]) -> Result<(), WindowError> {
        #[cfg(not(loom))]
        self.free_slice(offset, bytes.len())?.copy_from_slice(bytes);
        #[cfg(loom)]
        {
            self.check_free(offset, bytes.len())?;
            for (i, byte) in bytes.iter().enumerate() {
                let position = offset + i as u64;
                // SAFETY: free space only this writer touches (checked above); the byte is inside
                // its word.
                self.shared.word(position).with_mut(|p| unsafe {
                    p.cast::<u8>().add(position as usize % ALIGN).write(*byte)
                });
            }
        }
        Ok(())
    }

    /// Makes everything before `tail` readable: the bytes that adds (records, their headers and
    /// padding), what a receiver counts as moved on its link.
    ///
    /// # Errors
    /// [`WindowError::BadTail`] for a tail behind the published one, beyond what the reader
    /// released, or not a multiple of [`ALIGN`].
    #[inline]
    pub fn publish(&mut self, tail: u64) -> Result<u64, WindowError> {
        let bad = |reason: String| WindowError::BadTail { tail, reason };
        if tail < self.published {
            return Err(bad(format!("behind the published tail {}", self.published)));
        }
        if !tail.is_multiple_of(ALIGN as u64) {
            return Err(bad(format!("not a multiple of {ALIGN}")));
        }
        let head = self.head();
        if tail - head > self.capacity as u64 {
            return Err(bad(format!(
                "more than {} bytes ahead of the reader's head {head}",
                self.capacity
            )));
        }
        let added = tail - self.published;
        self.published = tail;
        self.shared.tail.store(tail, Release);
        Ok(added)
    }

    /// The window's memory, for registering it with an RDMA device. The device then places the
    /// peer's bytes without [`WindowWriter::free_slice`]'s checks (the device only keeps them
    /// inside the memory, and a hostile peer may write any of it at any time);
    /// [`WindowWriter::publish`] still checks every tail, the reader still checks every record
    /// header, and from this call on it copies each payload out with volatile reads before anyone
    /// looks at it, so a peer that writes where it should not garbles its own frames and is
    /// dropped, and no reference to memory a device may be writing is ever formed.
    #[cfg(not(loom))]
    pub fn device_memory(&mut self) -> (*mut u8, usize) {
        self.shared.device_written.store(true, Release);
        (self.shared.base(), self.capacity)
    }
}

impl Drop for WindowWriter {
    fn drop(&mut self) {
        self.shared.writer_alive.store(false, Release);
    }
}

/// The reading end: takes records in order and releases their bytes.
pub struct WindowReader {
    shared: Arc<Shared>,
    capacity: usize,
    head: u64,
    cached_tail: u64,
    /// Where payloads are copied to when a device writes the memory.
    scratch: Vec<u8>,
    /// How far the published records' lines were hinted ([`WindowReader::hint_ahead`]).
    #[cfg(not(loom))]
    read_ahead: LineHints,
}

/// A window's positions for a watcher in another thread ([`WindowReader::positions`]): the
/// reader's released head and the published tail, in bytes, held weakly (nothing once both
/// ends are gone).
#[cfg(not(loom))]
#[derive(Debug, Clone)]
pub struct WindowPositions(std::sync::Weak<Shared>);

#[cfg(not(loom))]
impl WindowPositions {
    /// The head, then the tail (so `tail - head` never reads negative); `None` once both ends
    /// are gone.
    pub fn read(&self) -> Option<(u64, u64)> {
        let shared = self.0.upgrade()?;
        let head = shared.head.load(Acquire);
        Some((head, shared.tail.load(Acquire)))
    }
}

impl std::fmt::Debug for WindowReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowReader")
            .field("capacity", &self.capacity)
            .field("head", &self.head)
            .finish()
    }
}

impl WindowReader {
    /// The window's size in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Everything before this position has been read and released.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The window's positions for a watcher in another thread, held weakly.
    #[cfg(not(loom))]
    pub fn positions(&self) -> WindowPositions {
        WindowPositions(Arc::downgrade(&self.shared))
    }

    /// The writer's published tail, as of now.
    #[inline]
    pub fn published(&self) -> u64 {
        self.shared.tail.load(Acquire)
    }

    /// Whether every published byte has been read.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.head == self.published()
    }

    /// Whether the writer is gone.
    pub fn is_abandoned(&self) -> bool {
        !self.shared.writer_alive.load(Acquire)
    }

    fn header_at(&self, position: u64) -> (u32, u32) {
        // SAFETY: `position` is 8-aligned and below the published tail (callers check), so its
        // word is published: the Acquire load of `tail` ordered the writer's stores before this.
        // Volatile: with a device writing the memory, the word may change under this read.
        let header = u64::from_le(
            self.shared
                .word(position)
                .with(|p| unsafe { p.read_volatile() }),
        );
        (header as u32, (header >> 32) as u32)
    }

    /// Marks the record at `start` released (its header becomes [`CONSUMED`]) and gives its
    /// bytes up to `end` back to the writer.
    fn consume(&mut self, start: u64, end: u64) {
        let consumed = u64::from_le_bytes(record_header(0, CONSUMED));
        // SAFETY: `start` is the 8-aligned head, a published word this reader has not released:
        // the writer does not touch it until the Release store of the head below.
        self.shared
            .word(start)
            .with_mut(|p| unsafe { p.write_volatile(consumed) });
        self.release_to(end);
    }

    /// The next record, skipping padding; `Ok(None)` when nothing is published.
    ///
    /// # Errors
    /// [`WindowError::BadRecord`] when the header at the head does not describe a record that
    /// fits in what was published (the peer wrote garbage). The head does not move; see
    /// [`WindowReader::discard_published`].
    pub fn try_read(&mut self) -> Result<Option<WindowRecord<'_>>, WindowError> {
        self.read_next(true)
    }

    /// Loads the writer's published tail if everything before the one loaded last was read.
    /// [`WindowReader::try_read_known`] then reads no further than it: a consumer that decides by
    /// position (a session boundary recorded beside the window) refreshes first and decides
    /// second, so that no record published after its decision is read before it.
    #[inline]
    pub fn refresh(&mut self) {
        if self.head == self.cached_tail {
            self.cached_tail = self.published();
        }
    }

    /// As [`WindowReader::try_read`], but only among the records published as of the last
    /// [`WindowReader::refresh`]; `Ok(None)` once those are read.
    ///
    /// # Errors
    /// As [`WindowReader::try_read`].
    pub fn try_read_known(&mut self) -> Result<Option<WindowRecord<'_>>, WindowError> {
        self.read_next(false)
    }

    /// Gives back, unread, everything published as of the last [`WindowReader::refresh`] (see
    /// [`WindowReader::discard_published`]). Returns the bytes dropped.
    pub fn discard_known(&mut self) -> u64 {
        let dropped = self.cached_tail - self.head;
        self.release_to(self.cached_tail);
        dropped
    }

    /// The next record, loading the published tail once the known ones are read, if `refresh`.
    fn read_next(&mut self, refresh: bool) -> Result<Option<WindowRecord<'_>>, WindowError> {
        loop {
            if self.head == self.cached_tail {
                if refresh {
                    self.cached_tail = self.published();
                }
                if self.head == self.cached_tail {
                    return Ok(None);
                }
            }
            #[cfg(not(loom))]
            self.hint_ahead(self.head);
            let available = self.cached_tail - self.head;
            let offset = ring_offset(self.head, self.capacity);
            let bad = |reason: String| WindowError::BadRecord {
                position: self.head,
                reason,
            };
            if available < HEADER as u64 {
                return Err(bad(format!("only {available} bytes published")));
            }
            let (len, kind) = self.header_at(self.head);
            let size = footprint(len as usize);
            if kind == CONSUMED {
                return Err(bad(
                    "a record already read: the tail was published over bytes not written since"
                        .into(),
                ));
            }
            if kind == PADDING {
                if offset + size != self.capacity {
                    return Err(bad(format!(
                        "padding of {len} bytes at offset {offset} does not end at the end of the buffer"
                    )));
                }
            } else if offset + size > self.capacity {
                return Err(bad(format!(
                    "record of {len} bytes at offset {offset} runs past the end of the buffer"
                )));
            }
            if size as u64 > available {
                return Err(bad(format!(
                    "record of {len} bytes but only {available} bytes published"
                )));
            }
            if kind == PADDING {
                self.consume(self.head, self.head + size as u64);
                continue;
            }
            let (start, end) = (self.head, self.head + size as u64);
            let payload = if cfg!(loom) || self.shared.device_written.load(Acquire) {
                let mut copy = std::mem::take(&mut self.scratch);
                self.copy_payload(start, len as usize, &mut copy);
                Payload::Copied(copy)
            } else {
                #[cfg(not(loom))]
                // SAFETY: `offset + size <= capacity` and the bytes are published (checked
                // above); only this process writes the memory (no device was given it), and the
                // writer does not write them until the head passes them, which needs this
                // reader's `&mut` (held by the record).
                let in_place = unsafe {
                    std::slice::from_raw_parts(
                        self.shared.base().add(offset + HEADER).cast_const(),
                        len as usize,
                    )
                };
                #[cfg(loom)]
                let in_place: &[u8] = &[];
                Payload::InPlace(in_place)
            };
            return Ok(Some(WindowRecord {
                reader: self,
                kind,
                payload,
                start,
                end,
            }));
        }
    }

    #[inline]
    fn release_to(&mut self, position: u64) {
        self.head = position;
        self.shared.head.store(position, Release);
    }

    /// Gives back everything published so far unread: after a bad record, the rest of what that
    /// peer wrote cannot be trusted. Returns the bytes dropped.
    pub fn discard_published(&mut self) -> u64 {
        let tail = self.published();
        let dropped = tail - self.head;
        self.cached_tail = tail;
        self.release_to(tail);
        dropped
    }
}

impl Drop for WindowReader {
    fn drop(&mut self) {
        self.shared.reader_alive.store(false, Release);
    }
}

/// A record being read; [`WindowRecord::release`] frees its bytes for the writer.
#[derive(Debug)]
pub struct WindowRecord<'a> {
    reader: &'a mut WindowReader,
    kind: u32,
    payload: Payload<'a>,
    start: u64,
    end: u64,
}

/// A record's bytes: lent from the window, or copied out of memory a device may be writing.
#[derive(Debug)]
enum Payload<'a> {
    InPlace(&'a [u8]),
    Copied(Vec<u8>),
}

impl WindowRecord<'_> {
    /// What the record is (the writer's kind number).
    pub fn kind(&self) -> u32 {
        self.kind
    }

    /// Where the record starts in the stream.
    pub fn position(&self) -> u64 {
        self.start
    }

    /// The record's bytes.
    pub fn payload(&self) -> &[u8] {
        match &self.payload {
            Payload::InPlace(bytes) => bytes,
            Payload::Copied(bytes) => bytes,
        }
    }

    /// Puts the record's bytes in `out`, replacing what it held: copied from the window, or,
    /// where they were copied out already (memory a device writes), handed over without a
    /// second copy (`out`'s old buffer then takes the next record's copy).
    pub fn payload_into(&mut self, out: &mut Vec<u8>) {
        match &mut self.payload {
            Payload::InPlace(bytes) => {
                out.clear();
                out.extend_from_slice(bytes);
            }
            Payload::Copied(bytes) => std::mem::swap(bytes, out),
        }
    }

    /// Frees the record's bytes (its header reads [`CONSUMED`] from now on).
    pub fn release(self) {
        let WindowRecord {
            reader,
            payload,
            start,
            end,
            ..
        } = self;
        if let Payload::Copied(scratch) = payload {
            reader.scratch = scratch;
        }
        reader.consume(start, end);
    }
}
#[cfg(all(test, not(loom)))]
mod tests;
