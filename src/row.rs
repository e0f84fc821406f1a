//! [`Row`]: the record every ringtop workload carries.

/// One sample of a time series, sized and aligned to exactly one 64-byte cache line so a slot
/// never straddles two lines and two rows never share one.
///
/// `seq` lets the consumer prove nothing was lost, duplicated or reordered; `stamp_ns` is when the
/// row was (or was scheduled to be) sent, for latency; `values` are the series' columns.
#[repr(C, align(64))]
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Row {
    /// Sequence number assigned by the producer, consecutive per producer.
    pub seq: u64,
    /// Send (or scheduled send) time in nanoseconds on the process's monotonic clock.
    pub stamp_ns: u64,
    /// Up to six numeric columns.
    pub values: [f64; 6],
}

const _: () = assert!(std::mem::size_of::<Row>() == 64);
const _: () = assert!(std::mem::align_of::<Row>() == 64);

impl Row {
    /// Number of value columns.
    pub const COLUMNS: usize = 6;

    /// A row with the given sequence number and stamp and zeroed values.
    pub const fn new(seq: u64, stamp_ns: u64) -> Self {
        Self {
            seq,
            stamp_ns,
            values: [0.0; 6],
        }
    }
}
