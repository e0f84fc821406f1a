//! The stats segment's layout, version 1: every offset and size the writer and the reader use,
//! in one place. `docs/monitor-format.md` documents the same layout for other readers.
//!
//! ```text
//! header            HEADER_BYTES at 0
//! metadata records  max_rings × METADATA_BYTES at METADATA_OFFSET
//! value records     max_rings × VALUE_BYTES at values_offset(max_rings)
//! ```
//! Integers are the host's byte order (the segment never leaves the host); every offset is from
//! the start of the file; nothing in the file is a pointer.

/// The first eight bytes of every segment.
pub const MAGIC: [u8; 8] = *b"RTSTATS\0";
/// The layout this module describes; stored last, with release order, once the header is whole.
pub const VERSION: u32 = 1;
/// File names of published segments end with this.
pub const EXTENSION: &str = "ringtop";

/// Bytes of the header.
pub const HEADER_BYTES: usize = 256;
/// Bytes of one ring's metadata record.
pub const METADATA_BYTES: usize = 512;
/// Where the metadata records start.
pub const METADATA_OFFSET: usize = HEADER_BYTES;
/// Bytes of an endpoint's counters block that are used.
pub const CELL_BYTES: usize = 48;
/// Within a counters block: the endpoint's position when it was dropped.
pub const CELL_FINAL_POSITION: usize = 32;
/// Within a counters block: 1 once `CELL_FINAL_POSITION` holds the last position.
pub const CELL_ENDED: usize = 40;
/// Within a consumer's counters block, on the block's second line: the sum of the latencies its
/// recorder recorded, nanoseconds (written by the recorder, not the endpoint).
pub const CELL_LATENCY_SUM: usize = 64;
/// Consumers a monitored ring may have.
pub const MAX_CONSUMERS: usize = 8;
/// Rings one program may register.
pub const MAX_RINGS: usize = 32;
/// Bytes of a name (program or ring), UTF-8, NUL-padded.
pub const NAME_BYTES: usize = 64;
/// Bytes of one cache-line-padded block in a value record.
pub const BLOCK: usize = 128;

/// Header fields (byte offsets).
pub mod header {
    /// `[u8; 8]`: [`super::MAGIC`].
    pub const MAGIC: usize = 0;
    /// `u32`: [`super::VERSION`], written last; 0 while the writer sets the segment up.
    pub const VERSION: usize = 8;
    /// `u32`: [`super::HEADER_BYTES`].
    pub const HEADER_BYTES: usize = 12;
    /// `u32`: the writing process.
    pub const PID: usize = 16;
    /// `u32`: ring records in the file.
    pub const MAX_RINGS: usize = 20;
    /// `u64`: when the program published, Unix nanoseconds.
    pub const STARTED_UNIX_NS: usize = 24;
    /// `u64`: the writer's last update, Unix nanoseconds (the heartbeat).
    pub const HEARTBEAT_UNIX_NS: usize = 32;
    /// `u64`: nanoseconds between the writer's updates.
    pub const INTERVAL_NS: usize = 40;
    /// `u64`: [`super::METADATA_OFFSET`].
    pub const METADATA_OFFSET: usize = 48;
    /// `u64`: [`super::METADATA_BYTES`].
    pub const METADATA_BYTES: usize = 56;
    /// `u64`: [`super::values_offset`].
    pub const VALUES_OFFSET: usize = 64;
    /// `u64`: [`super::VALUE_BYTES`].
    pub const VALUE_BYTES: usize = 72;
    /// `u64`: [`super::file_bytes`].
    pub const FILE_BYTES: usize = 80;
    /// `u32`: [`super::ProgramState`].
    pub const STATE: usize = 88;
    /// `u32`: [`super::MAX_CONSUMERS`].
    pub const MAX_CONSUMERS: usize = 92;
    /// `u32`: [`super::BUCKETS`].
    pub const BUCKETS: usize = 96;
    /// `[u8; 64]`: the program's name.
    pub const NAME: usize = 128;
}

/// Metadata record fields (byte offsets within the record).
pub mod metadata {
    /// `u32`: [`super::RingState`], written last with release order.
    pub const STATE: usize = 0;
    /// `u32`: [`super::RingKind`].
    pub const KIND: usize = 4;
    /// `u64`: slots.
    pub const CAPACITY: usize = 8;
    /// `u64`: bytes per item.
    pub const ITEM_BYTES: usize = 16;
    /// `u32`: consumers, 1 to [`super::MAX_CONSUMERS`].
    pub const CONSUMERS: usize = 24;
    /// `u32`: a bit per consumer whose latency the program records.
    pub const STAMPED: usize = 28;
    /// `u64`: when the ring was registered, Unix nanoseconds.
    pub const REGISTERED_UNIX_NS: usize = 32;
    /// `u64`: the address of the ring's slots in the program (0: not said).
    pub const MEMORY_ADDRESS: usize = 40;
    /// `u64`: the bytes of the ring's slots, padding included (0: not said).
    pub const MEMORY_BYTES: usize = 48;
    /// `[u8; 64]`: the ring's name.
    pub const NAME: usize = 64;
    /// `u64`: for a ring between processes, the device of the file it lives in (`st_dev`).
    pub const FILE_DEVICE: usize = 128;
    /// `u64`: for a ring between processes, the inode of the file it lives in (`st_ino`; 0: a
    /// ring inside the program, or not said). The two ends of one shared-memory ring, registered
    /// by two programs, carry the same device and inode.
    pub const FILE_INODE: usize = 136;
}

/// Value record fields (byte offsets within the record). Each block sits on its own
/// [`BLOCK`] so that no two writers share a cache line pair.
pub mod value {
    /// `u64`: the positions' sequence lock: odd while the writer updates them.
    pub const SEQUENCE: usize = 0;
    /// `u64`: when the positions were read, Unix nanoseconds.
    pub const SAMPLED_UNIX_NS: usize = 8;
    /// `u64`: the producer's tail (items pushed).
    pub const TAIL: usize = 16;
    /// `[u64; MAX_CONSUMERS]`: each consumer's head (items popped).
    pub const HEADS: usize = 24;
    /// The producer's counters block (an `EndpointCell`, each field a `u64`: index reloads,
    /// stalls, chase back-offs, thread id, final position, ended).
    pub const PRODUCER: usize = super::BLOCK;
    /// Consumer `i`'s counters block.
    pub const fn consumer(i: usize) -> usize {
        2 * super::BLOCK + i * super::BLOCK
    }
    /// Consumer `i`'s latency histogram: [`super::BUCKETS`] `u64` counts.
    pub const fn histogram(i: usize) -> usize {
        consumer(super::MAX_CONSUMERS) + i * super::HISTOGRAM_BYTES
    }
}

/// Linear sub-buckets per power of two: a bucket is at most 1/16 (6.25 %) of its value wide.
pub const SUB_BUCKETS: usize = 16;
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// Powers of two covered: values below 2^40 ns (about 18 minutes); larger ones land in the last
/// bucket.
const TOP_POWER: u32 = 40;
/// Buckets in one latency histogram.
pub const BUCKETS: usize = (TOP_POWER - SUB_BITS + 1) as usize * SUB_BUCKETS;
/// Bytes of one latency histogram.
pub const HISTOGRAM_BYTES: usize = BUCKETS * 8;
/// Bytes of one value record.
pub const VALUE_BYTES: usize = value::histogram(MAX_CONSUMERS);

const _: () = assert!(HISTOGRAM_BYTES.is_multiple_of(BLOCK));
const _: () = assert!(CELL_BYTES == std::mem::size_of::<crate::ring::watch::EndpointCell>());
const _: () = assert!(value::HEADS + MAX_CONSUMERS * 8 <= BLOCK);
const _: () = assert!(metadata::NAME + NAME_BYTES <= METADATA_BYTES);
const _: () = assert!(metadata::MEMORY_BYTES + 8 <= metadata::NAME);
const _: () = assert!(metadata::NAME + NAME_BYTES <= metadata::FILE_DEVICE);
const _: () = assert!(metadata::FILE_INODE + 8 <= METADATA_BYTES);
const _: () = assert!(header::NAME + NAME_BYTES <= HEADER_BYTES);

/// Where the value records start in a file of `max_rings` rings (block-aligned).
pub const fn values_offset(max_rings: usize) -> usize {
    (METADATA_OFFSET + max_rings * METADATA_BYTES).next_multiple_of(BLOCK)
}

/// Bytes of a file of `max_rings` rings.
pub const fn file_bytes(max_rings: usize) -> usize {
    values_offset(max_rings) + max_rings * VALUE_BYTES
}

/// Where ring `index`'s metadata record starts.
pub const fn metadata_at(index: usize) -> usize {
    METADATA_OFFSET + index * METADATA_BYTES
}

/// Where ring `index`'s value record starts in a file of `max_rings` rings.
pub const fn value_at(max_rings: usize, index: usize) -> usize {
    values_offset(max_rings) + index * VALUE_BYTES
}

/// The histogram bucket of a latency of `ns` nanoseconds: exact below 16 ns, then 16 linear
/// buckets per power of two.
pub const fn bucket_of(ns: u64) -> usize {
    if ns < SUB_BUCKETS as u64 {
        return ns as usize;
    }
    let power = 63 - ns.leading_zeros();
    if power >= TOP_POWER {
        return BUCKETS - 1;
    }
    let sub = (ns >> (power - SUB_BITS)) as usize & (SUB_BUCKETS - 1);
    (power - SUB_BITS + 1) as usize * SUB_BUCKETS + sub
}

/// The largest latency that lands in `bucket` (what a percentile in that bucket reports, as
/// HdrHistogram reports the highest equivalent value).
pub const fn bucket_high(bucket: usize) -> u64 {
    if bucket < SUB_BUCKETS {
        return bucket as u64;
    }
    let power = (bucket / SUB_BUCKETS) as u32 + SUB_BITS - 1;
    let sub = (bucket % SUB_BUCKETS) as u64;
    ((SUB_BUCKETS as u64 + sub + 1) << (power - SUB_BITS)) - 1
}

/// Whether the whole program is running or has stopped publishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramState {
    /// Publishing.
    Running = 1,
    /// The program dropped its registry: it has stopped publishing (and is about to exit).
    Closed = 2,
}

/// One ring record's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingState {
    /// Never used.
    Free = 0,
    /// A live ring.
    Live = 1,
    /// Both endpoints were dropped; the figures are final.
    Closed = 2,
}

/// Which ring a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingKind {
    /// `ring::spsc`.
    Spsc = 1,
    /// `ring::relay`.
    Relay = 2,
    /// `ring::broadcast`.
    Broadcast = 3,
    /// A shared-memory ring of fixed-size items (`transport::shm::items`), registered by its
    /// receiver: its sender is another process, whose counters this program cannot see.
    ShmItems = 4,
    /// A shared-memory ring of byte messages (`transport::shm::messages`), registered by its
    /// receiver: counted in bytes of records (headers and padding included), its sender another
    /// process.
    ShmMessages = 5,
    /// As [`RingKind::ShmItems`], registered by its sender: its receiver is another process,
    /// and its head is the one the receiver last credited. Shown as `shm-items`.
    ShmItemsSender = 6,
    /// As [`RingKind::ShmMessages`], registered by its sender. Shown as `shm-messages`.
    ShmMessagesSender = 7,
    /// `ring::mpmc`: its positions are those producers and consumers have claimed; its sides are
    /// every thread holding an end, with no one thread to show.
    Mpmc = 8,
    /// `ring::frames`: counted in bytes of records (headers, padding to 8 and padding records
    /// included), as its positions are.
    Frames = 9,
}

impl RingKind {
    /// The kind from its code.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(Self::Spsc),
            2 => Some(Self::Relay),
            3 => Some(Self::Broadcast),
            4 => Some(Self::ShmItems),
            5 => Some(Self::ShmMessages),
            6 => Some(Self::ShmItemsSender),
            7 => Some(Self::ShmMessagesSender),
            8 => Some(Self::Mpmc),
            9 => Some(Self::Frames),
            _ => None,
        }
    }

    /// The kind from its watch's name for it ([`crate::ring::watch::RingWatch::kind`]): a
    /// shared-memory ring's sender names its end (`shm-items-sender`), which [`RingKind::name`]
    /// shows as the ring's kind.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "spsc" => Some(Self::Spsc),
            "relay" => Some(Self::Relay),
            "broadcast" => Some(Self::Broadcast),
            "shm-items" => Some(Self::ShmItems),
            "shm-messages" => Some(Self::ShmMessages),
            "shm-items-sender" => Some(Self::ShmItemsSender),
            "shm-messages-sender" => Some(Self::ShmMessagesSender),
            "mpmc" => Some(Self::Mpmc),
            "frames" => Some(Self::Frames),
            _ => None,
        }
    }

    /// Its name, as profiles and snapshots spell it: the ring's kind, whichever end registered
    /// it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Spsc => "spsc",
            Self::Relay => "relay",
            Self::Broadcast => "broadcast",
            Self::ShmItems | Self::ShmItemsSender => "shm-items",
            Self::ShmMessages | Self::ShmMessagesSender => "shm-messages",
            Self::Mpmc => "mpmc",
            Self::Frames => "frames",
        }
    }

    /// Why this kind's producer is not in the program that registered the ring (its thread, CPU
    /// and counters are another process's), or `None` where it is.
    pub fn producer_elsewhere(self) -> Option<&'static str> {
        match self {
            Self::ShmItems | Self::ShmMessages => {
                Some("the producer is another process (the ring's sender)")
            }
            _ => None,
        }
    }

    /// Why this kind's consumers are not in the program that registered the ring, or `None`
    /// where they are.
    pub fn consumers_elsewhere(self) -> Option<&'static str> {
        match self {
            Self::ShmItemsSender | Self::ShmMessagesSender => {
                Some("the consumer is another process (the ring's receiver)")
            }
            _ => None,
        }
    }

    /// Why the thread of this kind's producer (`producer`) or of its consumers is not shown:
    /// another process's ([`RingKind::producer_elsewhere`], [`RingKind::consumers_elsewhere`]),
    /// or every thread holding an end (an MPMC ring); `None` where it is shown.
    pub fn why_no_thread(self, producer: bool) -> Option<&'static str> {
        match (self, producer) {
            (Self::Mpmc, true) => Some(
                "an mpmc ring is pushed by every thread holding a Sender: no one thread to show",
            ),
            (Self::Mpmc, false) => Some(
                "an mpmc ring is popped by every thread holding a Receiver: no one thread to show",
            ),
            (_, true) => self.producer_elsewhere(),
            (_, false) => self.consumers_elsewhere(),
        }
    }

    /// The kind the other end of this ring registers as, for a ring between processes whose two
    /// ends two programs may register (a receiver's `shm-items` and a sender's, say); `None`
    /// for a ring inside one program.
    pub fn other_end(self) -> Option<RingKind> {
        match self {
            Self::ShmItems => Some(Self::ShmItemsSender),
            Self::ShmItemsSender => Some(Self::ShmItems),
            Self::ShmMessages => Some(Self::ShmMessagesSender),
            Self::ShmMessagesSender => Some(Self::ShmMessages),
            _ => None,
        }
    }

    /// Whether its endpoints count index reloads, stalls and chase back-offs
    /// ([`crate::ring::EndpointStats`]): the spsc, relay, broadcast and frame rings do; an MPMC
    /// ring's ends and a shared-memory ring's keep no such counts.
    pub fn counts_endpoints(self) -> bool {
        matches!(
            self,
            Self::Spsc | Self::Relay | Self::Broadcast | Self::Frames
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_whose_high_end_is_at_least_it_and_within_a_sixteenth() {
        let mut values: Vec<u64> = (0..5000).collect();
        values.extend((0..40).flat_map(|p| [(1u64 << p) - 1, 1 << p, (1 << p) + 1]));
        values.extend([123_456_789, 987_654_321_012, (1 << 40) - 1]);
        for ns in values {
            let bucket = bucket_of(ns);
            assert!(bucket < BUCKETS, "{ns}");
            let high = bucket_high(bucket);
            assert!(high >= ns, "{ns} in bucket {bucket} up to {high}");
            assert!(
                (high - ns) as f64 <= ns as f64 / 16.0,
                "{ns}: bucket up to {high} is too wide"
            );
            if bucket > 0 {
                assert!(bucket_high(bucket - 1) < ns, "{ns}: belongs lower");
            }
        }
    }

    #[test]
    fn values_beyond_the_top_land_in_the_last_bucket() {
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of(1 << 41), BUCKETS - 1);
    }

    #[test]
    fn a_ring_registered_by_its_sender_shows_as_its_kind_with_the_receiver_elsewhere() {
        let kinds: Vec<RingKind> = (0..16).filter_map(RingKind::from_code).collect();
        assert_eq!(kinds.len(), 9);
        for kind in kinds {
            assert_eq!(RingKind::from_code(kind as u32), Some(kind));
            // Never both ends elsewhere: a program holds at least one.
            assert!(kind.producer_elsewhere().is_none() || kind.consumers_elsewhere().is_none());
        }
        for (watch, code, shown) in [
            ("shm-items-sender", 6, "shm-items"),
            ("shm-messages-sender", 7, "shm-messages"),
        ] {
            let kind = RingKind::from_name(watch).unwrap();
            assert_eq!((kind as u32, kind.name()), (code, shown));
            assert!(kind.producer_elsewhere().is_none(), "{watch}");
            assert!(kind.consumers_elsewhere().unwrap().contains("receiver"));
            assert!(!kind.counts_endpoints());
        }
        // The other end of a ring between processes holds the end this one lacks.
        for kind in (0..16).filter_map(RingKind::from_code) {
            let Some(other) = kind.other_end() else {
                assert!(kind.why_no_thread(true).is_none() || kind == RingKind::Mpmc);
                continue;
            };
            assert_eq!(other.other_end(), Some(kind));
            assert_eq!(other.name(), kind.name());
            assert_eq!(
                other.producer_elsewhere().is_none(),
                kind.producer_elsewhere().is_some()
            );
        }
    }

    #[test]
    fn the_records_are_block_aligned() {
        assert_eq!(values_offset(MAX_RINGS) % BLOCK, 0);
        assert_eq!(VALUE_BYTES % BLOCK, 0);
        assert_eq!(file_bytes(2), values_offset(2) + 2 * VALUE_BYTES);
    }
}
