//! The shared-memory ring's file, version 3: where every field is. One home for every offset;
//! `docs/remote.md` describes the same layout for other implementations.
//!
//! ```text
//! 0      header      magic, version (written last), sizes, the receiver's pid, and what the
//!                    window holds: records, or fixed-size items (their size)
//! 128    tail        the sender's published tail (its own 128-byte block)
//! 256    wake        a futex word the sender bumps after each tail, and whether the consumer
//!                    sleeps on it
//! 384    credit      a seqlock'ed (sequence, head, echoed stamp, rows, session) the consumer
//!                    writes
//! 512    hello       the sender's handshake: sequence, run id, next row, largest frame, pid,
//!                    token, boot id
//! 1024   welcome     the receiver's answer: sequence, status, start position, largest
//!                    payload, a refusal's reason, the consumer's head, the session's number
//! 1536   bye         the sender's goodbye: sequence, rows sent
//! 4096   window      `capacity` bytes of records (`crate::ring::window`), or of item slots
//!                    ([`slot_bytes`] each: a stamp, then the item), written by the sender at
//!                    offsets it computes, read by the receiver
//! ```
//!
//! A ring of records is published by its tail: the receiver reads up to the [`TAIL`] it loads.
//! A ring of items is published slot by slot: the sender writes an item, then its slot's
//! [`slot::STAMP`] ([`stamp`]: the position just past the slot, `Release`), and the receiver
//! learns that the next slot is full from that word alone, in the line it then reads the item
//! from (the relay ring's scheme, `crate::ring::relay`): a hand-off moves the slot's line, not
//! the tail's line and then the slot's. The sender still publishes [`TAIL`] after its items,
//! for a sleeping receiver's futex; the receiver takes no item on its strength.
//!
//! Offsets only, no pointers: each process maps the file where it likes. All words are
//! little-endian `u64`s (the futex words `u32`), read and written as atomics.

/// `RTSHMRG1`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"RTSHMRG1");
/// The layout version; written last, with Release, once everything else is in place. Version 2
/// added [`header::ITEM_BYTES`]; version 3 the stamp in each item slot ([`slot`]).
pub const VERSION: u32 = 3;
/// Bytes before the window.
pub const HEADER_BYTES: usize = 4096;
/// The smallest window.
pub const MIN_WINDOW: usize = 4096;
/// The largest window (1 GiB).
pub const MAX_WINDOW: usize = 1 << 30;
/// The file's extension.
pub const EXTENSION: &str = "ring";

/// Header fields.
pub mod header {
    /// [`super::MAGIC`].
    pub const MAGIC: usize = 0;
    /// [`super::VERSION`] (`u32`), written last.
    pub const VERSION: usize = 8;
    /// [`super::HEADER_BYTES`].
    pub const HEADER_BYTES: usize = 16;
    /// Window bytes: a power of two.
    pub const CAPACITY: usize = 24;
    /// The receiver's process id.
    pub const RECEIVER_PID: usize = 32;
    /// 0: the window holds records (frames, messages). Otherwise the size of the fixed-size
    /// items it holds, each alone in a slot of [`super::slot_bytes`] bytes after the slot's
    /// stamp (an item of up to 56 bytes and its stamp share one cache line), at least two slots
    /// a window.
    pub const ITEM_BYTES: usize = 40;
}

/// Where an item and its stamp lie in its slot.
pub mod slot {
    /// The stamp, a `u64`: [`super::stamp`] of the slot's position once its item is written
    /// (stored with `Release` after the item); anything else, and the slot is not yet full.
    pub const STAMP: usize = 0;
    /// The item's first byte; its last word padded with zeros.
    pub const ITEM: usize = 8;
}

/// The slot an item of `item_bytes` takes in the window: its stamp and the item, rounded up to a
/// power of two, so slots tile the power-of-two window and never wrap, and an item of up to 56
/// bytes shares one aligned cache line with its stamp (a 64-byte item takes a 128-byte slot,
/// two lines).
pub const fn slot_bytes(item_bytes: usize) -> usize {
    (slot::ITEM + item_bytes).next_power_of_two()
}

/// The stamp that says the slot at stream `position` (of `slot` bytes) holds its item: the
/// position just past it. Never 0 (a new file's stamps), and never the stamp a lap earlier or
/// later (positions grow; the window is a whole number of slots).
pub const fn stamp(position: u64, slot: usize) -> u64 {
    position.wrapping_add(slot as u64)
}

/// The sender's published tail.
pub const TAIL: usize = 128;
/// A `u32` the sender increments after publishing a tail while [`CONSUMER_SLEEPS`] is set, and
/// wakes the consumer's futex on.
pub const WAKE: usize = 256;
/// A `u32`: 1 while the consumer sleeps on [`WAKE`].
pub const CONSUMER_SLEEPS: usize = 260;
/// A `u32`: 1 once the consumer has slept on [`WAKE`] (it waits with `spin-park`); until then the
/// sender skips the fence that pairs with a sleeper, which a polling consumer never needs.
pub const CONSUMER_MAY_SLEEP: usize = 264;

/// The receiver's credit, a seqlock: odd sequence while it is being written.
pub mod credit {
    /// The sequence.
    pub const SEQ: usize = 384;
    /// The consumer's head: everything before it may be overwritten.
    pub const HEAD: usize = 392;
    /// The stamp of the last row read, echoed for the round trip.
    pub const ECHO: usize = 400;
    /// Rows read in this session.
    pub const ROWS: usize = 408;
    /// The session the credit belongs to (the count of sessions the consumer has started); a
    /// sender takes only its own session's credits.
    pub const SESSION: usize = 416;
}

/// The sender's hello.
pub mod hello {
    /// Bumped (Release) once the fields below are written.
    pub const SEQ: usize = 512;
    /// The run's id.
    pub const RUN_ID: usize = 520;
    /// The first row's sequence number.
    pub const NEXT_SEQ: usize = 528;
    /// The largest frame it writes.
    pub const MAX_FRAME: usize = 536;
    /// Its process id.
    pub const PID: usize = 544;
    /// Token length, then [`TOKEN_BYTES`] of token.
    pub const TOKEN_LEN: usize = 552;
    /// The token's bytes.
    pub const TOKEN: usize = 560;
    /// Room for the token.
    pub const TOKEN_BYTES: usize = 256;
    /// Boot id length, then [`BOOT_ID_BYTES`] of boot id.
    pub const BOOT_ID_LEN: usize = 816;
    /// The boot id's bytes.
    pub const BOOT_ID: usize = 824;
    /// Room for the boot id.
    pub const BOOT_ID_BYTES: usize = 64;
}

/// The receiver's answer.
pub mod welcome {
    /// Bumped (Release) once the fields below are written; equals the hello's sequence it
    /// answers.
    pub const SEQ: usize = 1024;
    /// [`super::ACCEPTED`] or [`super::REFUSED`].
    pub const STATUS: usize = 1032;
    /// The position the sender's first record goes to.
    pub const START: usize = 1040;
    /// The largest record payload the window takes.
    pub const MAX_PAYLOAD: usize = 1048;
    /// A refusal's reason: length, then bytes.
    pub const REASON_LEN: usize = 1056;
    /// The reason's bytes.
    pub const REASON: usize = 1064;
    /// Room for the reason.
    pub const REASON_BYTES: usize = 256;
    /// The consumer's head at the start: the sender may write up to `capacity` past it, not
    /// past `start` (the consumer may still be reading the previous producer's records).
    pub const HEAD: usize = 1320;
    /// The session's number: credits carry it.
    pub const SESSION: usize = 1328;
}

/// Welcome status: write from `start`.
pub const ACCEPTED: u64 = 1;
/// Welcome status: refused, see the reason.
pub const REFUSED: u64 = 2;

/// The sender's goodbye.
pub mod bye {
    /// Bumped (Release) once the rows are written.
    pub const SEQ: usize = 1536;
    /// Rows sent in the whole run.
    pub const ROWS: usize = 1544;
}
