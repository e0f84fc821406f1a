//! Variable-length byte records on an SPSC ring: the unit codecs and transports move.
//!
//! A record is an 8-byte header (payload length, flags) followed by the payload, padded to a
//! multiple of 8 bytes so every header is aligned. A record never wraps: when it does not fit
//! before the end of the buffer, the producer publishes a *padding record* over the rest and
//! starts the record at offset 0. The largest payload is therefore `capacity - 8` bytes, and asking for
//! more is [`RingError::RecordTooLarge`] (a permanent error, unlike "full right now").
//!
//! The index protocol is the SPSC one ([`super::spsc`]): byte positions, cached copies of the
//! other side's index, Acquire/Release only.
//!
//! ```
//! let (mut tx, mut rx) = ringtop::ring::frames::channel(1024)?;
//! let mut w = tx.try_claim(5)?.expect("room");
//! w.as_mut_slice().copy_from_slice(b"hello");
//! w.commit();
//! let r = rx.try_read().expect("a record");
//! assert_eq!(r.as_slice(), b"hello");
//! r.release();
//! # Ok::<(), ringtop::ring::RingError>(())
//! ```

use std::marker::PhantomData;
use std::sync::atomic::Ordering::{Acquire, Release};

use super::buffer::{Buffer, check_capacity};
use super::pad::{CacheAligned, CachePadded};
use super::sides::Sides;
use super::sync::{Arc, AtomicUsize, UnsafeCell};
use super::{EndpointStats, EndpointTally, RingConfig, RingError, WaitStrategy, producer_room};

use super::record::{
    ALIGN as RECORD_ALIGN, HEADER as RECORD_HEADER, PADDING, footprint, header_word,
    split_header_word,
};

/// The kind of a frame record (every record that is not padding).
const FRAME: u32 = 0;

type Word = UnsafeCell<u64>;

struct Shared {
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    /// Liveness and parkers: rarely written, on a block of their own.
    sides: CachePadded<Sides>,
    /// Owns the memory the endpoints' `base` pointers point into (read through `base`; here
    /// only for its size and address, by a watcher).
    #[cfg_attr(
        loom,
        expect(dead_code, reason = "kept for ownership; accessed through `base`")
    )]
    words: Buffer<Word>,
}

/// A watcher's view of a frame ring, counted in bytes of records (headers, padding to 8 and
/// padding records included), as its positions are.
#[cfg(not(loom))]
impl super::watch::SharedPositions for Shared {
    const KIND: &'static str = "frames";
    fn capacity(&self) -> usize {
        self.words.len() * RECORD_ALIGN
    }
    fn item_bytes(&self) -> usize {
        1
    }
    fn consumers(&self) -> usize {
        1
    }
    fn positions(&self, heads: &mut [u64]) -> u64 {
        // The head first: the tail read after it is at least as new, so no lag reads negative.
        if let Some(head) = heads.first_mut() {
            *head = self.head.load(Acquire) as u64;
        }
        self.tail.load(Acquire) as u64
    }
    fn memory(&self) -> super::buffer::RingMemory {
        self.words.memory()
    }
}

super::watch::watch_endpoints!(impl[] FrameProducer, FrameConsumer);

// SAFETY: the word cells are touched only under the SPSC protocol: a byte is written by the
// producer only while it is free, and read by the consumer only after it is published (Release
// store of `tail`, Acquire load), so sharing `Shared` between the two threads is sound.
unsafe impl Sync for Shared {}
// SAFETY: as above; nothing in `Shared` is tied to a thread.
unsafe impl Send for Shared {}

/// Creates a frame ring of `capacity` bytes with the default config.
///
/// # Errors
/// `capacity` must be a power of two of at least 16 bytes.
pub fn channel(capacity: usize) -> Result<(FrameProducer, FrameConsumer), RingError> {
    channel_with(capacity, RingConfig::default())
}

/// Creates a frame ring with an explicit allocator and wait strategies.
///
/// # Errors
/// As [`channel`], plus [`RingError::AllocationFailed`].
pub fn channel_with(
    capacity: usize,
    config: RingConfig,
) -> Result<(FrameProducer, FrameConsumer), RingError> {
    let capacity = check_capacity::<u8>(capacity, 2 * RECORD_HEADER)?;
    let words = Buffer::new(capacity / RECORD_ALIGN, config.alloc, |_| {
        UnsafeCell::new(0)
    })?;
    let base = words.as_ptr();
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        sides: CachePadded::new(Sides::new()),
        words,
    });
    Ok((
        FrameProducer {
            _align: CacheAligned,
            shared: shared.clone(),
            base,
            mask: capacity - 1,
            tail: 0,
            cached_head: 0,
            wait: config.producer_wait,
            wake_consumer: config.consumer_wait.may_park(),
            counters: EndpointTally::default(),
        },
        FrameConsumer {
            _align: CacheAligned,
            shared,
            base,
            mask: capacity - 1,
            head: 0,
            cached_tail: 0,
            wait: config.consumer_wait,
            wake_producer: config.producer_wait.may_park(),
            counters: EndpointTally::default(),
        },
    ))
}

/// Byte-level access to the word array, shared by both ends.
#[derive(Clone, Copy)]
struct Words<'a> {
    base: *const Word,
    mask: usize,
    /// Borrowed from the endpoint whose `Arc<Shared>` keeps the words alive.
    _alive: PhantomData<&'a Shared>,
}

impl<'a> Words<'a> {
    #[inline(always)]
    fn word(self, byte_pos: usize) -> &'a Word {
        // SAFETY: `(byte_pos & mask) / 8` is below capacity / 8, the word count; the endpoint this
        // view borrows keeps the buffer alive for 'a.
        unsafe { &*self.base.add((byte_pos & self.mask) / RECORD_ALIGN) }
    }

    #[inline(always)]
    fn read_header(self, pos: usize) -> u64 {
        // SAFETY: callers only read headers of published records (after an Acquire of tail).
        self.word(pos).with(|p| unsafe { *p })
    }

    #[inline(always)]
    fn write_header(self, pos: usize, header: u64) {
        // SAFETY: callers only write headers in free space they own.
        self.word(pos).with_mut(|p| unsafe { *p = header });
    }

    /// Raw pointer to the byte at `pos`; the record layout guarantees `len` bytes from it are
    /// contiguous.
    #[cfg(not(loom))]
    #[inline(always)]
    fn bytes(self, pos: usize) -> *mut u8 {
        // SAFETY: in bounds by the mask; `Word` is `repr(transparent)` over `u64`.
        unsafe { self.base.cast::<u8>().cast_mut().add(pos & self.mask) }
    }
}

/// The writing end of a frame ring.
pub struct FrameProducer {
    /// Alone on its cache-line block: this side's private state never shares a line.
    _align: CacheAligned,
    shared: Arc<Shared>,
    base: *const Word,
    mask: usize,
    tail: usize,
    cached_head: usize,
    wait: WaitStrategy,
    wake_consumer: bool,
    counters: EndpointTally,
}

// SAFETY: the producer is the only writer of free bytes and of `tail`.
unsafe impl Send for FrameProducer {}

impl FrameProducer {
    /// Ring size in bytes.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// The largest payload a record may carry.
    pub fn max_record(&self) -> usize {
        (self.capacity() - RECORD_HEADER).min(u32::MAX as usize)
    }

    /// Bytes in use now (records, headers and padding), a snapshot.
    pub fn len_bytes(&self) -> usize {
        self.tail.wrapping_sub(self.shared.head.load(Acquire))
    }

    /// Whether the consumer has been dropped.
    pub fn is_abandoned(&self) -> bool {
        !self.shared.sides.consumer_alive()
    }

    /// This side's slow-path counters.
    pub fn stats(&self) -> EndpointStats {
        self.counters.stats()
    }

    fn words(&self) -> Words<'_> {
        Words {
            base: self.base,
            mask: self.mask,
            _alive: PhantomData,
        }
    }

    /// Free bytes, re-reading the consumer's head only if the cached copy shows fewer than
    /// `wanted`.
    fn free_bytes(&mut self, wanted: usize) -> usize {
        let shared = &self.shared;
        producer_room(
            self.mask + 1,
            self.tail,
            &mut self.cached_head,
            &mut self.counters,
            wanted,
            || shared.head.load(Acquire),
        )
    }

    fn publish(&mut self, tail: usize) {
        self.tail = tail;
        self.shared.tail.store(tail, Release);
        if self.wake_consumer {
            self.shared.sides.consumer_parker.notify();
        }
    }

    /// Bytes that must be free for the next step of claiming `len` bytes: the padding that ends
    /// the lap when the record does not fit before the end, otherwise the record itself.
    fn bytes_needed(&self, len: usize) -> usize {
        let need = footprint(len);
        let to_end = self.capacity() - (self.tail & self.mask);
        if need > to_end { to_end } else { need }
    }

    /// Claims room for a record of `len` payload bytes, to be written and then committed.
    ///
    /// `Ok(None)` means no room right now; retry after the consumer releases records. When the
    /// record does not fit before the end of the buffer, a padding record over the rest is
    /// published first (as soon as that much is free), and the record goes to the start.
    ///
    /// # Errors
    /// [`RingError::RecordTooLarge`] if `len` exceeds [`max_record`](Self::max_record): it would
    /// never fit.
    pub fn try_claim(&mut self, len: usize) -> Result<Option<FrameWriter<'_>>, RingError> {
        self.check_len(len)?;
        Ok(self.make_room(len).then(|| self.writer(len)))
    }

    /// Claims room for `len` bytes, waiting with this side's strategy while the ring is full.
    ///
    /// # Errors
    /// [`RingError::RecordTooLarge`] as for [`try_claim`](Self::try_claim). Returns `Ok(None)`
    /// only if the consumer is gone.
    pub fn claim(&mut self, len: usize) -> Result<Option<FrameWriter<'_>>, RingError> {
        self.check_len(len)?;
        loop {
            if self.make_room(len) {
                return Ok(Some(self.writer(len)));
            }
            if self.is_abandoned() {
                return Ok(None);
            }
            let shared = &*self.shared;
            let tail = self.tail;
            let need = self.bytes_needed(len);
            let capacity = self.capacity();
            self.wait.wait_until(&shared.sides.producer_parker, || {
                capacity - tail.wrapping_sub(shared.head.load(Acquire)) >= need
                    || !shared.sides.consumer_alive()
            });
        }
    }

    fn check_len(&self, len: usize) -> Result<(), RingError> {
        let max = self.max_record();
        if len > max {
            return Err(RingError::RecordTooLarge { len, max });
        }
        Ok(())
    }

    /// Whether a record of `len` bytes can be placed at the tail now. When it does not fit
    /// before the end of the buffer, publishes the padding record that ends the lap first (as
    /// soon as that much is free).
    fn make_room(&mut self, len: usize) -> bool {
        let need = footprint(len);
        let to_end = self.capacity() - (self.tail & self.mask);
        if need > to_end {
            if self.free_bytes(to_end) < to_end {
                return false;
            }
            self.words().write_header(
                self.tail,
                header_word((to_end - RECORD_HEADER) as u32, PADDING),
            );
            self.publish(self.tail.wrapping_add(to_end));
        }
        self.free_bytes(need) >= need
    }

    /// The writer for a record of `len` bytes at the tail; room was made by `make_room`.
    fn writer(&mut self, len: usize) -> FrameWriter<'_> {
        let start = self.tail;
        FrameWriter {
            producer: self,
            start,
            len,
            #[cfg(loom)]
            staged: vec![0; len],
        }
    }
}

impl Drop for FrameProducer {
    fn drop(&mut self) {
        self.counters.publish_final(self.tail);
        self.shared.sides.producer_leaves();
    }
}

/// Room for one record, claimed by [`FrameProducer::try_claim`]. Write the payload, then
/// [`commit`](Self::commit). Dropped without committing, it publishes nothing.
pub struct FrameWriter<'a> {
    producer: &'a mut FrameProducer,
    /// Position of the record header.
    start: usize,
    len: usize,
    /// Under loom, payload bytes are staged and copied word by word so the model tracks them.
    #[cfg(loom)]
    staged: Vec<u8>,
}

impl FrameWriter<'_> {
    /// Payload bytes claimed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the claim is for an empty record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The payload to fill, in place in ring memory (initially holding stale bytes).
    #[cfg(not(loom))]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let p = self
            .producer
            .words()
            .bytes(self.start.wrapping_add(RECORD_HEADER));
        // SAFETY: the `len` bytes after the header are contiguous (records never wrap), inside the
        // claimed free space that only this producer touches until it publishes.
        unsafe { std::slice::from_raw_parts_mut(p, self.len) }
    }

    /// The payload to fill (staged under loom).
    #[cfg(loom)]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.staged
    }

    /// Publishes the record with its full claimed length.
    pub fn commit(self) {
        let len = self.len;
        self.commit_len(len);
    }

    /// Publishes the record with only its first `len` bytes (an encoder that claimed an upper
    /// bound). `len` larger than the claim is clamped to it.
    pub fn commit_len(self, len: usize) {
        let len = len.min(self.len);
        let words = self.producer.words();
        #[cfg(loom)]
        for (i, byte) in self.staged[..len].iter().enumerate() {
            let pos = self.start.wrapping_add(RECORD_HEADER + i);
            // SAFETY: claimed free space only this producer touches; in bounds by the mask.
            words
                .word(pos)
                .with_mut(|p| unsafe { p.cast::<u8>().add(pos % RECORD_ALIGN).write(*byte) });
        }
        words.write_header(self.start, header_word(len as u32, FRAME));
        let new_tail = self.start.wrapping_add(footprint(len));
        self.producer.publish(new_tail);
    }
}

/// The reading end of a frame ring.
pub struct FrameConsumer {
    /// Alone on its cache-line block: this side's private state never shares a line.
    _align: CacheAligned,
    shared: Arc<Shared>,
    base: *const Word,
    mask: usize,
    head: usize,
    cached_tail: usize,
    wait: WaitStrategy,
    wake_producer: bool,
    counters: EndpointTally,
}

// SAFETY: the consumer is the only reader of published bytes and the only writer of `head`.
unsafe impl Send for FrameConsumer {}

impl FrameConsumer {
    /// Ring size in bytes.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// Whether no record is ready now. A padding record alone (the producer skipped the end of
    /// the buffer) is not a record.
    pub fn is_empty(&self) -> bool {
        let tail = self.shared.tail.load(Acquire);
        if tail == self.head {
            return true;
        }
        let (len, kind) = split_header_word(self.words().read_header(self.head));
        kind == PADDING && self.head.wrapping_add(RECORD_HEADER + len as usize) == tail
    }

    /// Whether the producer has been dropped (records it committed remain readable).
    pub fn is_abandoned(&self) -> bool {
        !self.shared.sides.producer_alive()
    }

    /// This side's slow-path counters.
    pub fn stats(&self) -> EndpointStats {
        self.counters.stats()
    }

    fn words(&self) -> Words<'_> {
        Words {
            base: self.base,
            mask: self.mask,
            _alive: PhantomData,
        }
    }

    fn release_to(&mut self, head: usize) {
        self.head = head;
        self.shared.head.store(head, Release);
        if self.wake_producer {
            self.shared.sides.producer_parker.notify();
        }
    }

    /// Whether a record (not padding) is at the head, skipping and releasing padding records.
    fn next_record_ready(&mut self) -> bool {
        loop {
            // `cached_tail == head` here, so "tail did not move" means "empty".
            if self.cached_tail == self.head {
                let tail = self.shared.tail.load(Acquire);
                if !self.counters.observe(&mut self.cached_tail, tail) {
                    return false;
                }
            }
            let (len, kind) = split_header_word(self.words().read_header(self.head));
            if kind != PADDING {
                return true;
            }
            // Skip to the start of the buffer, releasing the padding at once.
            let next = self.head.wrapping_add(RECORD_HEADER + len as usize);
            self.release_to(next);
        }
    }

    /// The record at the head; `next_record_ready` said there is one.
    fn reader(&mut self) -> FrameReader<'_> {
        let (len, _) = split_header_word(self.words().read_header(self.head));
        let start = self.head;
        FrameReader {
            consumer: self,
            start,
            len: len as usize,
        }
    }

    /// The oldest record, or `None` if none is ready. Release it when done.
    pub fn try_read(&mut self) -> Option<FrameReader<'_>> {
        self.next_record_ready().then(|| self.reader())
    }

    /// Waits for the next record; `None` once the producer is gone and every record is read.
    pub fn read(&mut self) -> Option<FrameReader<'_>> {
        loop {
            // Read liveness first: once the producer is seen gone, everything it committed is
            // visible, so finding no record after that is final.
            let abandoned = self.is_abandoned();
            if self.next_record_ready() {
                return Some(self.reader());
            }
            if abandoned {
                return None;
            }
            let shared = &*self.shared;
            let head = self.head;
            self.wait.wait_until(&shared.sides.consumer_parker, || {
                shared.tail.load(Acquire) != head || !shared.sides.producer_alive()
            });
        }
    }
}

impl Drop for FrameConsumer {
    fn drop(&mut self) {
        self.counters.publish_final(self.head);
        self.shared.sides.consumer_leaves();
    }
}

/// One record read by [`FrameConsumer::try_read`]. [`release`](Self::release) frees its space;
/// dropping it without releasing leaves it to be read again.
pub struct FrameReader<'a> {
    consumer: &'a mut FrameConsumer,
    start: usize,
    len: usize,
}

impl FrameReader<'_> {
    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The payload, in place in ring memory.
    #[cfg(not(loom))]
    pub fn as_slice(&self) -> &[u8] {
        let p = self
            .consumer
            .words()
            .bytes(self.start.wrapping_add(RECORD_HEADER));
        // SAFETY: a published record's payload is contiguous and not rewritten until released,
        // which consumes `self`.
        unsafe { std::slice::from_raw_parts(p, self.len) }
    }

    /// Copies the payload into `out` (replacing its contents).
    pub fn copy_into(&self, out: &mut Vec<u8>) {
        out.clear();
        #[cfg(not(loom))]
        out.extend_from_slice(self.as_slice());
        #[cfg(loom)]
        {
            let words = self.consumer.words();
            for i in 0..self.len {
                let pos = self.start.wrapping_add(RECORD_HEADER + i);
                // SAFETY: published payload byte, in bounds by the mask.
                let byte = words
                    .word(pos)
                    .with(|p| unsafe { p.cast::<u8>().add(pos % RECORD_ALIGN).read() });
                out.push(byte);
            }
        }
    }

    /// Frees the record's space for the producer.
    pub fn release(self) {
        let next = self.start.wrapping_add(footprint(self.len));
        self.consumer.release_to(next);
    }
}

impl std::fmt::Debug for FrameProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameProducer")
            .field("capacity", &self.capacity())
            .field("tail", &self.tail)
            .finish()
    }
}

impl std::fmt::Debug for FrameConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameConsumer")
            .field("capacity", &self.capacity())
            .field("head", &self.head)
            .finish()
    }
}
