//! The two ends of a one-producer, one-consumer ring: whether each is still there, and where each
//! sleeps when it waits for the other.

use std::sync::atomic::Ordering::{Acquire, Release};

use super::sync::AtomicBool;
use super::wait::Parker;

/// Liveness and parkers of both sides; rarely written, so rings keep it on its own padded block.
pub(crate) struct Sides {
    producer_alive: AtomicBool,
    consumer_alive: AtomicBool,
    /// Where a producer waiting for room sleeps.
    pub(crate) producer_parker: Parker,
    /// Where a consumer waiting for items sleeps.
    pub(crate) consumer_parker: Parker,
}

impl Sides {
    /// Both sides present, nobody asleep.
    pub(crate) fn new() -> Self {
        Self {
            producer_alive: AtomicBool::new(true),
            consumer_alive: AtomicBool::new(true),
            producer_parker: Parker::new(),
            consumer_parker: Parker::new(),
        }
    }

    /// Whether the producer is still there. Once this says no, everything it published before
    /// leaving is visible (Acquire).
    pub(crate) fn producer_alive(&self) -> bool {
        self.producer_alive.load(Acquire)
    }

    /// Whether the consumer is still there.
    pub(crate) fn consumer_alive(&self) -> bool {
        self.consumer_alive.load(Acquire)
    }

    /// The producer is gone: tells the consumer, and wakes it if it sleeps.
    pub(crate) fn producer_leaves(&self) {
        self.producer_alive.store(false, Release);
        self.consumer_parker.notify();
    }

    /// The consumer is gone: tells the producer, and wakes it if it sleeps.
    pub(crate) fn consumer_leaves(&self) {
        self.consumer_alive.store(false, Release);
        self.producer_parker.notify();
    }
}
