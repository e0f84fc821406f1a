//! A sender watched by a monitor: the watch it hands out, the cells it writes its thread and
//! last positions into.

use std::sync::Arc;

use crate::ring::watch::StatsCell;

use super::ShmSender;
use crate::transport::shm::watch::{HeldEnd, SenderEnd, SenderWatch, WatchedCells, unit_shift};

impl ShmSender {
    /// This ring's positions for a watcher, from this end: the tail it publishes and the head
    /// its receiver last credited, in items of `item_bytes` (a ring of items) or bytes of
    /// records ([`SenderWatch`]), named `kind` for the monitor.
    ///
    /// # Errors
    /// The file's header cannot be mapped a second time.
    pub(in crate::transport::shm) fn watch(
        &mut self,
        kind: &'static str,
        item_bytes: usize,
    ) -> std::io::Result<Arc<SenderWatch>> {
        let header = match &self.watched_header {
            Some(header) => header.clone(),
            None => self
                .watched_header
                .insert(Arc::new(self.segment.header_again()?))
                .clone(),
        };
        Ok(SenderWatch::new(SenderEnd {
            segment: &self.segment,
            header: &header,
            kind,
            slot: self.slot,
            item_bytes,
            sent: &self.stats,
            session: self.session,
            tail: self.tail,
            head: self.head,
        }))
    }

    /// Writes into `producer` (this end's cell in a monitor) which thread sends: at once, at
    /// the next send (a sender made on one thread is often handed to another to send from, at
    /// any rate: its first send looks at the receiver's lock), and whenever it looks at the
    /// lock after; and into both cells the positions when this sender is dropped.
    pub(in crate::transport::shm) fn publish_to(
        &mut self,
        producer: StatsCell,
        consumer: StatsCell,
    ) {
        self.watched = Some(WatchedCells::new(producer, consumer, HeldEnd::Sender));
        self.since_alive_check = super::ALIVE_EVERY;
    }
}

impl Drop for ShmSender {
    /// A watched sender leaves its last positions in its cells: its tail, and the receiver's
    /// head as credited by now.
    fn drop(&mut self) {
        if let Some(watched) = self.watched.take() {
            self.acknowledged();
            let shift = unit_shift(self.slot);
            watched.ended(self.head >> shift, self.tail >> shift);
        }
    }
}
