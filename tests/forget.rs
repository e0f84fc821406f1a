//! Forgetting a guard (`std::mem::forget` on a chunk, a claim, a record) may leak, and must never
//! hand an item out twice or drop it twice. One test per guard type of `ringtop::ring`, each
//! forgetting the guard half-way and then counting every item that comes out and every drop.
#![cfg(not(loom))]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ringtop::ring::{broadcast, frames, spsc};

/// An item that records its drops by id, so a second drop of one item shows.
#[derive(Debug)]
struct Counted {
    id: u64,
    drops: Arc<Mutex<HashMap<u64, usize>>>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        *self.drops.lock().unwrap().entry(self.id).or_default() += 1;
    }
}

fn counted(id: u64, drops: &Arc<Mutex<HashMap<u64, usize>>>) -> Counted {
    Counted {
        id,
        drops: drops.clone(),
    }
}

/// Every item dropped at most once; returns how many were dropped.
fn at_most_once(drops: &Arc<Mutex<HashMap<u64, usize>>>) -> usize {
    let drops = drops.lock().unwrap();
    for (id, n) in drops.iter() {
        assert_eq!(*n, 1, "item {id} dropped {n} times");
    }
    drops.len()
}

#[test]
fn a_forgotten_spsc_read_chunk_never_hands_out_or_drops_an_item_twice() {
    let drops = Arc::new(Mutex::new(HashMap::new()));
    let (mut tx, mut rx) = spsc::channel::<Counted>(8).unwrap();
    for id in 0..6 {
        tx.try_push(counted(id, &drops)).unwrap();
    }
    let mut chunk = rx.read_chunk(4);
    let first = chunk.pop().unwrap();
    let second = chunk.pop().unwrap();
    std::mem::forget(chunk);
    assert_eq!((first.id, second.id), (0, 1));
    // The next reads start after what was moved out, not at it.
    let mut seen = vec![first.id, second.id];
    while let Some(item) = rx.try_pop() {
        seen.push(item.id);
    }
    assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
    drop((first, second));
    // Items left in the ring when both ends go are dropped once, and only those.
    tx.try_push(counted(6, &drops)).unwrap();
    let mut chunk = rx.read_chunk(1);
    let last = chunk.pop().unwrap();
    std::mem::forget(chunk);
    drop((tx, rx));
    assert_eq!(
        at_most_once(&drops),
        6,
        "6 items dropped once; item 6 still held"
    );
    drop(last);
    assert_eq!(at_most_once(&drops), 7);
}

#[test]
fn a_forgotten_spsc_write_chunk_leaks_what_it_wrote_and_publishes_nothing() {
    let drops = Arc::new(Mutex::new(HashMap::new()));
    let (mut tx, mut rx) = spsc::channel::<Counted>(8).unwrap();
    let mut chunk = tx.write_chunk(4);
    chunk.push(counted(0, &drops)).unwrap();
    chunk.push(counted(1, &drops)).unwrap();
    std::mem::forget(chunk);
    assert!(rx.try_pop().is_none(), "nothing was published");
    // The slots are written over; the forgotten items leak, none is dropped twice.
    tx.try_push(counted(2, &drops)).unwrap();
    assert_eq!(rx.try_pop().map(|c| c.id), Some(2));
    drop((tx, rx));
    assert_eq!(at_most_once(&drops), 1);
}

#[test]
fn a_forgotten_broadcast_read_chunk_never_hands_out_an_item_twice() {
    let (mut tx, mut rxs) = broadcast::channel::<u64>(8, 1).unwrap();
    let mut rx = rxs.pop().unwrap();
    for v in 0..6 {
        tx.try_push(v).unwrap();
    }
    let mut chunk = rx.read_chunk(4);
    let got = [chunk.pop(), chunk.pop()];
    std::mem::forget(chunk);
    let mut seen: Vec<u64> = got.into_iter().flatten().collect();
    while let Some(v) = rx.try_pop() {
        seen.push(v);
    }
    assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
    // What the consumer read is released to the producer on the next release.
    for v in 6..14 {
        tx.try_push(v).unwrap();
    }
    assert!(tx.try_push(14).is_err(), "eight slots");
}

#[test]
fn a_forgotten_broadcast_write_chunk_publishes_nothing() {
    let (mut tx, mut rxs) = broadcast::channel::<u64>(8, 1).unwrap();
    let mut rx = rxs.pop().unwrap();
    let mut chunk = tx.write_chunk(4);
    chunk.push(7).unwrap();
    std::mem::forget(chunk);
    assert_eq!(rx.try_pop(), None);
    tx.try_push(8).unwrap();
    assert_eq!(rx.try_pop(), Some(8));
}

/// `FrameWriter` and `FrameReader` have no `Drop`: forgetting one is the same as letting it go
/// out of scope, which is what this checks.
#[test]
fn an_abandoned_frame_writer_publishes_nothing_and_an_abandoned_reader_leaves_its_record() {
    let (mut tx, mut rx) = frames::channel(256).unwrap();
    {
        let mut writer = tx.try_claim(5).unwrap().unwrap();
        writer.as_mut_slice().copy_from_slice(b"ghost");
    }
    assert!(
        rx.try_read().is_none(),
        "an uncommitted record is never read"
    );
    let mut writer = tx.try_claim(4).unwrap().unwrap();
    writer.as_mut_slice().copy_from_slice(b"real");
    writer.commit();
    // A reader let go without `release` leaves the record to be read again (its documented
    // peek): the same record, whole, and released once.
    {
        let reader = rx.try_read().unwrap();
        assert_eq!(reader.as_slice(), b"real");
    }
    let reader = rx.try_read().unwrap();
    assert_eq!(reader.as_slice(), b"real");
    reader.release();
    assert!(rx.try_read().is_none());
}
