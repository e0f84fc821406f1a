//! The one error type every ring constructor and claim returns.

use thiserror::Error;

/// Why a ring could not be built, or a record could not be claimed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RingError {
    /// Capacities must be powers of two so a position maps to a slot with one AND instead of a
    /// division. The ring never rounds silently: the caller picks one of the two neighbours.
    #[error("capacity {requested} is not a power of two (nearest: {below} or {above})")]
    CapacityNotPowerOfTwo {
        /// What was asked for.
        requested: usize,
        /// The power of two just below.
        below: usize,
        /// The power of two just above.
        above: usize,
    },
    /// The capacity is below what this ring needs to work.
    #[error("capacity {requested} is too small: this ring needs at least {min}")]
    CapacityTooSmall {
        /// What was asked for.
        requested: usize,
        /// The smallest capacity accepted.
        min: usize,
    },
    /// The ring would not fit in the address space (or overflow its position arithmetic).
    #[error("capacity {requested} is too large: at most {max} for this element type")]
    CapacityTooLarge {
        /// What was asked for.
        requested: usize,
        /// The largest capacity accepted.
        max: usize,
    },
    /// A broadcast ring was asked for zero consumers.
    #[error("a broadcast ring needs at least one consumer")]
    NoConsumers,
    /// A broadcast ring was asked for more consumers than its producer can follow: it reads
    /// every consumer's cursor (a cache line each) to find free slots.
    #[error("a broadcast ring takes at most {max} consumers; {requested} asked for")]
    TooManyConsumers {
        /// What was asked for.
        requested: usize,
        /// The most accepted ([`crate::ring::broadcast::MAX_CONSUMERS`]).
        max: usize,
    },
    /// The allocation hook returned no memory.
    #[error("could not allocate {bytes} bytes of ring memory ({allocator})")]
    AllocationFailed {
        /// Size of the failed request.
        bytes: usize,
        /// Which allocator was asked.
        allocator: String,
    },
    /// A frame record larger than the ring can ever hold.
    #[error("record of {len} bytes can never fit: this ring takes records of at most {max} bytes")]
    RecordTooLarge {
        /// The requested payload length.
        len: usize,
        /// The largest payload this ring accepts.
        max: usize,
    },
}
