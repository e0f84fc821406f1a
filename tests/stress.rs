//! Long-running correctness checks on real threads: every sequence number, every byte, every drop.
//!
//! Sized to finish in seconds in release mode. Seeds are fixed (override with RINGTOP_SEED) so a
//! failure reproduces.
#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use ringtop::Row;
use ringtop::ring::{
    RingConfig, RingError, WaitStrategy, broadcast, frames, mpmc, relay, spsc, window,
};

fn seed() -> u64 {
    std::env::var("RINGTOP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_0001)
}

const SPSC_ITEMS: u64 = 10_000_000;

#[test]
fn spsc_ten_million_items_random_batches_every_sequence_checked() {
    let (mut tx, mut rx) = spsc::channel::<u64>(1024).unwrap();
    let producer = thread::spawn(move || {
        let mut rng = SmallRng::seed_from_u64(seed());
        let mut next = 0u64;
        while next < SPSC_ITEMS {
            if rng.random_bool(0.5) {
                if tx.try_push(next).is_ok() {
                    next += 1;
                }
            } else {
                let want = rng.random_range(1..=300).min((SPSC_ITEMS - next) as usize);
                let mut chunk = tx.write_chunk(want);
                let base = next;
                chunk.fill_with(|i| base + i as u64);
                next += chunk.commit() as u64;
            }
        }
        tx.stats()
    });
    let mut rng = SmallRng::seed_from_u64(seed() ^ 1);
    let mut expected = 0u64;
    while expected < SPSC_ITEMS {
        match rng.random_range(0..3) {
            0 => {
                if let Some(v) = rx.try_pop() {
                    assert_eq!(v, expected, "item out of sequence");
                    expected += 1;
                }
            }
            1 => {
                let chunk = rx.read_chunk(rng.random_range(1..=300));
                let (a, b) = chunk.as_slices();
                for &v in a.iter().chain(b) {
                    assert_eq!(v, expected, "item out of sequence (slices)");
                    expected += 1;
                }
                chunk.release();
            }
            _ => {
                let mut chunk = rx.read_chunk(rng.random_range(1..=300));
                // Move out only part of the chunk; the rest must be read again next time.
                let take = rng.random_range(0..=chunk.len());
                for _ in 0..take {
                    assert_eq!(chunk.pop(), Some(expected));
                    expected += 1;
                }
            }
        }
    }
    let stats = producer.join().unwrap();
    assert_eq!(rx.try_pop(), None, "nothing beyond the last item");
    assert!(rx.is_abandoned());
    assert!(stats.index_reloads > 0);
}

#[test]
fn spsc_rows_through_parking_waits_arrive_in_order() {
    let config = RingConfig {
        producer_wait: WaitStrategy::spin_park(),
        consumer_wait: WaitStrategy::SpinPark { spins: 1 },
        ..RingConfig::default()
    };
    let (mut tx, mut rx) = spsc::channel_with::<Row>(64, config).unwrap();
    const N: u64 = 500_000;
    let producer = thread::spawn(move || {
        for seq in 0..N {
            tx.push(Row::new(seq, seq * 3)).unwrap();
        }
    });
    let mut expected = 0;
    while let Some(row) = rx.pop() {
        assert_eq!((row.seq, row.stamp_ns), (expected, expected * 3));
        expected += 1;
    }
    assert_eq!(expected, N);
    producer.join().unwrap();
}

#[test]
fn spsc_spin_yield_waits_arrive_in_order() {
    let config = RingConfig {
        producer_wait: WaitStrategy::spin_yield(),
        consumer_wait: WaitStrategy::spin_yield(),
        ..RingConfig::default()
    };
    let (mut tx, mut rx) = spsc::channel_with::<u64>(16, config).unwrap();
    let producer = thread::spawn(move || (0..300_000u64).try_for_each(|i| tx.push(i)));
    let got: Vec<u64> = std::iter::from_fn(|| rx.pop()).collect();
    assert!(got.iter().copied().eq(0..300_000));
    producer.join().unwrap().unwrap();
}

#[test]
fn relay_ten_million_items_in_bursts_and_pauses_every_sequence_checked() {
    // A small ring so the producer laps it constantly and stale stamps are everywhere; random
    // bursts and pauses on both sides so the consumer meets full, empty and half-full rings.
    let (mut tx, mut rx) = relay::channel::<u64>(64).unwrap();
    let producer = thread::spawn(move || {
        let mut rng = SmallRng::seed_from_u64(seed() ^ 2);
        let mut next = 0u64;
        while next < SPSC_ITEMS {
            let burst = rng.random_range(1..=200).min(SPSC_ITEMS - next);
            let end = next + burst;
            while next < end {
                if tx.try_push(next).is_ok() {
                    next += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
            for _ in 0..rng.random_range(0..50) {
                std::hint::spin_loop();
            }
        }
        tx.stats()
    });
    let mut rng = SmallRng::seed_from_u64(seed() ^ 3);
    let mut expected = 0u64;
    while expected < SPSC_ITEMS {
        if let Some(v) = rx.try_pop() {
            assert_eq!(v, expected, "item out of sequence");
            expected += 1;
            if rng.random_ratio(1, 1000) {
                for _ in 0..rng.random_range(0..2000) {
                    std::hint::spin_loop();
                }
            }
        }
    }
    let stats = producer.join().unwrap();
    assert_eq!(rx.try_pop(), None, "nothing beyond the last item");
    assert!(rx.is_abandoned() && rx.is_empty());
    assert!(
        stats.index_reloads > 0,
        "the producer never found the ring full"
    );
}

#[test]
fn relay_rows_through_parking_waits_arrive_in_order() {
    let config = RingConfig {
        producer_wait: WaitStrategy::spin_park(),
        consumer_wait: WaitStrategy::SpinPark { spins: 1 },
        ..RingConfig::default()
    };
    let (mut tx, mut rx) = relay::channel_with::<Row>(16, config).unwrap();
    const N: u64 = 300_000;
    let producer = thread::spawn(move || {
        for seq in 0..N {
            tx.push(Row::new(seq, seq * 3)).unwrap();
        }
    });
    let mut expected = 0;
    while let Some(row) = rx.pop() {
        assert_eq!((row.seq, row.stamp_ns), (expected, expected * 3));
        expected += 1;
    }
    assert_eq!(expected, N);
    producer.join().unwrap();
}

#[test]
fn relay_ping_pong_over_two_rings_returns_every_item() {
    // The pattern the ring is built for: one item in flight, bounced back and forth. The waits
    // yield so the test keeps moving when other tests' threads outnumber the cores.
    let config = || RingConfig {
        producer_wait: WaitStrategy::spin_yield(),
        consumer_wait: WaitStrategy::spin_yield(),
        ..RingConfig::default()
    };
    let (mut ping_tx, mut ping_rx) = relay::channel_with::<u64>(4, config()).unwrap();
    let (mut pong_tx, mut pong_rx) = relay::channel_with::<u64>(4, config()).unwrap();
    const TRIPS: u64 = 200_000;
    let echo = thread::spawn(move || {
        while let Some(v) = ping_rx.pop() {
            pong_tx.push(v + 1).unwrap();
        }
    });
    for i in 0..TRIPS {
        ping_tx.push(i * 2).unwrap();
        assert_eq!(pong_rx.pop(), Some(i * 2 + 1));
    }
    drop(ping_tx);
    echo.join().unwrap();
    assert_eq!(pong_rx.pop(), None);
}

#[test]
fn broadcast_two_consumers_each_see_all_items_in_order() {
    const N: u64 = 3_000_000;
    let (mut tx, rxs) = broadcast::channel::<u64>(512, 2).unwrap();
    let consumers: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(k, mut rx)| {
            thread::spawn(move || {
                let mut rng = SmallRng::seed_from_u64(seed() + k as u64);
                let mut expected = 0u64;
                while expected < N {
                    if rng.random_bool(0.5) {
                        if let Some(v) = rx.try_pop() {
                            assert_eq!(v, expected);
                            expected += 1;
                        }
                    } else {
                        let chunk = rx.read_chunk(rng.random_range(1..=128));
                        let (a, b) = chunk.as_slices();
                        for &v in a.iter().chain(b) {
                            assert_eq!(v, expected);
                            expected += 1;
                        }
                        chunk.release();
                    }
                }
                expected
            })
        })
        .collect();
    let mut rng = SmallRng::seed_from_u64(seed());
    let mut next = 0u64;
    while next < N {
        let mut chunk = tx.write_chunk(rng.random_range(1..=200).min((N - next) as usize));
        let base = next;
        chunk.fill_with(|i| base + i as u64);
        next += chunk.commit() as u64;
    }
    for c in consumers {
        assert_eq!(c.join().unwrap(), N);
    }
    assert!(tx.is_abandoned());
}

#[test]
fn mpmc_two_by_two_every_item_exactly_once() {
    const PER_PRODUCER: u64 = 1_000_000;
    let (tx, rx) = mpmc::channel::<u64>(256).unwrap();
    let producers: Vec<_> = (0..2u64)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut rng = SmallRng::seed_from_u64(seed() + p);
                let mut next = 0;
                let mut pending = Vec::new();
                while next < PER_PRODUCER || !pending.is_empty() {
                    if pending.is_empty() {
                        let n = rng.random_range(1..=32).min(PER_PRODUCER - next);
                        pending.extend((next..next + n).map(|i| (p << 32) | i));
                        next += n;
                    }
                    if rng.random_bool(0.5) {
                        tx.push_batch(&mut pending);
                    } else {
                        let v = pending.remove(0);
                        if let Err(v) = tx.try_push(v) {
                            pending.insert(0, v);
                        }
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2u64)
        .map(|c| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut rng = SmallRng::seed_from_u64(seed() ^ (c + 7));
                let mut got = Vec::new();
                let mut last = [None::<u64>; 2];
                loop {
                    let before = got.len();
                    if rng.random_bool(0.5) {
                        rx.pop_batch(&mut got, rng.random_range(1..=32));
                    } else if let Some(v) = rx.try_pop() {
                        got.push(v);
                    }
                    for &v in &got[before..] {
                        let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
                        // One consumer sees each producer's items in increasing order.
                        assert!(
                            last[p].is_none_or(|l| l < i),
                            "reordered: {l:?} then {i}",
                            l = last[p]
                        );
                        last[p] = Some(i);
                    }
                    if got.len() == before && rx.is_abandoned() && rx.is_empty() {
                        break;
                    }
                }
                got
            })
        })
        .collect();
    drop(rx);
    for p in producers {
        p.join().unwrap();
    }
    let mut seen = vec![0u8; 2 * PER_PRODUCER as usize];
    for c in consumers {
        for v in c.join().unwrap() {
            let (p, i) = ((v >> 32) as usize, (v & 0xffff_ffff) as usize);
            seen[p * PER_PRODUCER as usize + i] += 1;
        }
    }
    let lost = seen.iter().filter(|&&n| n == 0).count();
    let duplicated = seen.iter().filter(|&&n| n > 1).count();
    assert_eq!((lost, duplicated), (0, 0));
}

/// Deterministic payload bytes for record `seq` of `len` bytes.
fn payload(seq: u64, len: usize) -> impl Iterator<Item = u8> {
    let mut x = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len).map(move |_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    })
}

#[test]
fn frames_random_lengths_keep_every_byte() {
    const RECORDS: u64 = 400_000;
    let (mut tx, mut rx) = frames::channel(4096).unwrap();
    assert_eq!(
        tx.try_claim(4096).err(),
        Some(RingError::RecordTooLarge {
            len: 4096,
            max: 4088
        })
    );
    let producer = thread::spawn(move || {
        let mut rng = SmallRng::seed_from_u64(seed());
        let mut seq = 0u64;
        while seq < RECORDS {
            let claimed = rng.random_range(8..=700);
            // Sometimes commit fewer bytes than claimed, as an encoder with an upper bound does.
            let len = if rng.random_bool(0.3) {
                rng.random_range(8..=claimed)
            } else {
                claimed
            };
            let Some(mut w) = tx.try_claim(claimed).unwrap() else {
                continue;
            };
            let buf = w.as_mut_slice();
            buf[..8].copy_from_slice(&seq.to_le_bytes());
            for (dst, b) in buf[8..len].iter_mut().zip(payload(seq, len - 8)) {
                *dst = b;
            }
            w.commit_len(len);
            seq += 1;
        }
    });
    let mut seq = 0u64;
    let mut bytes = 0usize;
    while seq < RECORDS {
        let Some(r) = rx.try_read() else {
            continue;
        };
        let data = r.as_slice();
        assert_eq!(u64::from_le_bytes(data[..8].try_into().unwrap()), seq);
        assert!(
            data[8..].iter().copied().eq(payload(seq, data.len() - 8)),
            "record {seq} corrupted"
        );
        bytes += data.len();
        r.release();
        seq += 1;
    }
    producer.join().unwrap();
    assert!(rx.try_read().is_none());
    assert!(bytes > RECORDS as usize * 8);
}

#[test]
fn window_records_placed_by_the_writer_keep_every_byte() {
    // The writer lays records out itself, as a remote sender does, and every write goes through
    // the window's checks; the reader checks every record's number and bytes across many wraps.
    const RECORDS: u64 = 300_000;
    const CAPACITY: usize = 4096;
    let (mut writer, mut reader) = window::channel(CAPACITY).unwrap();
    let producer = thread::spawn(move || {
        let mut rng = SmallRng::seed_from_u64(seed());
        let mut seq = 0u64;
        while seq < RECORDS {
            let len = rng.random_range(8..=window::max_payload(CAPACITY));
            let Some(spot) =
                window::place(CAPACITY, writer.head(), writer.published(), len).unwrap()
            else {
                std::hint::spin_loop();
                continue;
            };
            if let Some((offset, padding)) = spot.padding {
                writer
                    .free_slice(offset as u64, window::HEADER)
                    .unwrap()
                    .copy_from_slice(&window::record_header(padding, window::PADDING));
            }
            let mut record = vec![0u8; window::footprint(len)];
            record[..window::HEADER].copy_from_slice(&window::record_header(len as u32, 3));
            record[8..16].copy_from_slice(&seq.to_le_bytes());
            for (dst, b) in record[16..8 + len].iter_mut().zip(payload(seq, len - 8)) {
                *dst = b;
            }
            writer
                .free_slice(spot.offset as u64, record.len())
                .unwrap()
                .copy_from_slice(&record);
            writer.publish(spot.end).unwrap();
            seq += 1;
        }
    });
    let mut seq = 0u64;
    while seq < RECORDS {
        let Some(record) = reader.try_read().unwrap() else {
            std::hint::spin_loop();
            continue;
        };
        assert_eq!(record.kind(), 3);
        let data = record.payload();
        assert_eq!(u64::from_le_bytes(data[..8].try_into().unwrap()), seq);
        assert!(
            data[8..].iter().copied().eq(payload(seq, data.len() - 8)),
            "record {seq} corrupted"
        );
        record.release();
        seq += 1;
    }
    producer.join().unwrap();
    assert!(reader.try_read().unwrap().is_none());
    assert!(reader.is_abandoned());
}

#[test]
fn item_ring_sent_and_read_in_random_batches_by_senders_in_turn_keeps_every_item() {
    // The shared-memory item ring: 40-byte items (64-byte slots) in a 4 KiB window, sent by
    // three senders in turn, each in bursts of 1 to 100 (`try_send` alone or `try_send_many`),
    // read in batches of 1 to 37 (`try_recv` alone or `try_recv_many`); every item's number and
    // bytes checked across many wraps, and each sender's items between its start and its end.
    use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItem, ReceivedItems};
    use ringtop::transport::shm::messages::Received;
    use std::time::Duration;
    const SENDERS: u64 = 3;
    const ITEMS_EACH: u64 = 200_000;
    type Item = [u64; 5];
    let item = |seq: u64| -> Item {
        let mut words = [seq; 5];
        for (k, word) in words.iter_mut().enumerate().skip(1) {
            let bytes: Vec<u8> = payload(seq + k as u64, 8).collect();
            *word = u64::from_ne_bytes(bytes.try_into().unwrap());
        }
        words
    };
    let name = format!("stress-items-{}", std::process::id());
    let mut receiver = ItemReceiver::<Item>::create(&name, 64, WaitStrategy::BusySpin).unwrap();
    let producer = thread::spawn(move || {
        let mut rng = SmallRng::seed_from_u64(seed());
        for sender_number in 0..SENDERS {
            let mut sender = ItemSender::<Item>::open(&name).unwrap();
            let first = sender_number * ITEMS_EACH;
            let mut seq = first;
            while seq < first + ITEMS_EACH {
                let burst = rng.random_range(1..=100u64).min(first + ITEMS_EACH - seq);
                let sent = if burst == 1 {
                    u64::from(sender.try_send(&item(seq)).unwrap())
                } else {
                    let items: Vec<Item> = (seq..seq + burst).map(item).collect();
                    sender.try_send_many(&items).unwrap() as u64
                };
                if sent == 0 {
                    thread::yield_now();
                }
                seq += sent;
            }
            assert_eq!(sender.finish(Duration::from_secs(10)), ITEMS_EACH);
        }
    });
    let mut rng = SmallRng::seed_from_u64(seed() ^ 1);
    let mut out = [[0u64; 5]; 37];
    let (mut seq, mut starts, mut ends) = (0u64, 0u64, 0u64);
    let take = |got: &[Item], seq: &mut u64, starts: u64| {
        for one in got {
            assert!(*one == item(*seq), "item {seq} corrupted or out of order");
            assert_eq!(
                starts,
                *seq / ITEMS_EACH + 1,
                "item {seq} outside its session"
            );
            *seq += 1;
        }
    };
    while ends < SENDERS {
        let other = if rng.random_bool(0.5) {
            match receiver.try_recv() {
                ReceivedItem::Item(one) => {
                    take(&[one], &mut seq, starts);
                    continue;
                }
                ReceivedItem::Other(other) => other,
            }
        } else {
            let room = rng.random_range(1..=37usize);
            match receiver.try_recv_many(&mut out[..room]) {
                ReceivedItems::Items(read) => {
                    take(&out[..read], &mut seq, starts);
                    continue;
                }
                ReceivedItems::Other(other) => other,
            }
        };
        match other {
            Received::Nothing => thread::yield_now(),
            Received::SenderConnected(_) => {
                assert_eq!(
                    seq,
                    starts * ITEMS_EACH,
                    "a start in the middle of a sender"
                );
                starts += 1;
            }
            Received::SenderLeft { sent, .. } => {
                assert_eq!(
                    sent,
                    Some(ITEMS_EACH),
                    "sender {ends} left without its goodbye"
                );
                assert_eq!(
                    seq,
                    starts * ITEMS_EACH,
                    "an end before the sender's last item"
                );
                ends += 1;
            }
            other => panic!("after item {seq}: {other:?}"),
        }
    }
    producer.join().unwrap();
    assert_eq!(seq, SENDERS * ITEMS_EACH);
}

#[test]
fn item_ring_senders_leaving_while_the_receiver_reads_keep_every_item_in_their_own_session() {
    // Each sender sends a random number of items and leaves at once, without waiting for its
    // credit (dropped: its lock released), while the receiver reads on: the session thread
    // closes the session, takes the sender's last stamped slots and opens the next sender's
    // while the receiver is taking slots into the same stream. Every item of every sender must
    // come, in order, between its own start and end, and none of the next sender's before.
    use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItem, ReceivedItems};
    use ringtop::transport::shm::messages::Received;
    use std::sync::mpsc;
    const SENDERS: u64 = 16;
    /// Item numbers of sender `k` start at `k * SPAN`.
    const SPAN: u64 = 1 << 32;
    type Item = [u64; 3];
    let name = format!("stress-items-leaving-{}", std::process::id());
    let mut receiver = ItemReceiver::<Item>::create(&name, 64, WaitStrategy::BusySpin).unwrap();
    let (counts, sent_by) = mpsc::channel::<u64>();
    let producer = thread::spawn(move || {
        let mut rng = SmallRng::seed_from_u64(seed() ^ 2);
        for k in 0..SENDERS {
            let mut sender = ItemSender::<Item>::open(&name).unwrap();
            // Often less than a window (128 slots), sent at once while the receiver may sleep.
            let count = if rng.random_bool(0.5) {
                rng.random_range(1..300u64)
            } else {
                rng.random_range(1..20_000u64)
            };
            let mut i = 0;
            while i < count {
                let burst = rng.random_range(1..=40u64).min(count - i);
                let items: Vec<Item> = (i..i + burst).map(|j| [k * SPAN + j, k, j]).collect();
                match sender.try_send_many(&items).unwrap() {
                    0 => thread::yield_now(),
                    sent => i += sent as u64,
                }
            }
            counts.send(count).unwrap();
            drop(sender);
        }
    });
    let mut rng = SmallRng::seed_from_u64(seed() ^ 3);
    let mut out = [[0u64; 3]; 29];
    // The session under way (`None` between sessions) and the items read in it.
    let (mut session, mut ended, mut read) = (None::<u64>, 0u64, 0u64);
    let check = |got: &[Item], session: Option<u64>, read: &mut u64| {
        let k = session.expect("an item outside every session");
        for one in got {
            assert_eq!(
                *one,
                [k * SPAN + *read, k, *read],
                "sender {k}'s item {read}"
            );
            *read += 1;
        }
    };
    while ended < SENDERS {
        // Now and then the receiver falls behind a full window, so that sessions close while
        // it is still taking their slots.
        if rng.random_ratio(1, 40) {
            thread::sleep(std::time::Duration::from_micros(
                rng.random_range(100..5000),
            ));
        }
        let other = if rng.random_bool(0.3) {
            match receiver.try_recv() {
                ReceivedItem::Item(one) => {
                    check(&[one], session, &mut read);
                    continue;
                }
                ReceivedItem::Other(other) => other,
            }
        } else {
            let room = rng.random_range(1..=29usize);
            match receiver.try_recv_many(&mut out[..room]) {
                ReceivedItems::Items(got) => {
                    check(&out[..got], session, &mut read);
                    continue;
                }
                ReceivedItems::Other(other) => other,
            }
        };
        match other {
            Received::Nothing => thread::yield_now(),
            Received::SenderConnected(_) => {
                assert_eq!(session, None, "a start inside a session");
                session = Some(ended);
                read = 0;
            }
            Received::SenderLeft { .. } => {
                let k = session.take().expect("an end outside every session");
                let sent = sent_by.recv().unwrap();
                assert_eq!(read, sent, "sender {k} sent {sent} items, {read} came");
                ended += 1;
            }
            other => panic!("sender {session:?}, after item {read}: {other:?}"),
        }
    }
    producer.join().unwrap();
}

/// A value that counts how often it is dropped.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn drop_counting_items_are_never_leaked_nor_dropped_twice() {
    let drops = Arc::new(AtomicUsize::new(0));
    let mut created = 0usize;
    let mut rng = SmallRng::seed_from_u64(seed());
    for _ in 0..200 {
        let (mut tx, mut rx) = spsc::channel::<Counted>(16).unwrap();
        let (mtx, mrx) = mpmc::channel::<Counted>(16).unwrap();
        let (mut rtx, mut rrx) = relay::channel::<Counted>(8).unwrap();
        for _ in 0..rng.random_range(0..40) {
            created += 3;
            let _ = tx.try_push(Counted(drops.clone()));
            let _ = mtx.try_push(Counted(drops.clone()));
            let _ = rtx.try_push(Counted(drops.clone()));
            if rng.random_bool(0.3) {
                drop(rx.try_pop());
                drop(mrx.try_pop());
                drop(rrx.try_pop());
            }
            if rng.random_bool(0.2) {
                let mut chunk = tx.write_chunk(3);
                for _ in 0..rng.random_range(0..=chunk.len()) {
                    created += 1;
                    let _ = chunk.push(Counted(drops.clone()));
                }
                if rng.random_bool(0.5) {
                    chunk.commit();
                }
            }
            if rng.random_bool(0.2) {
                let mut chunk = rx.read_chunk(4);
                drop(chunk.pop());
                if rng.random_bool(0.5) {
                    chunk.release();
                }
            }
        }
        drop((tx, rx, mtx, mrx, rtx, rrx));
    }
    assert_eq!(drops.load(Ordering::Relaxed), created);
}

#[test]
fn bad_capacities_are_refused_with_the_reason() {
    assert_eq!(
        spsc::channel::<u64>(1000).err(),
        Some(RingError::CapacityNotPowerOfTwo {
            requested: 1000,
            below: 512,
            above: 1024
        })
    );
    assert!(matches!(
        mpmc::channel::<u64>(0),
        Err(RingError::CapacityTooSmall { .. })
    ));
    assert_eq!(
        broadcast::channel::<u64>(8, 0).err(),
        Some(RingError::NoConsumers)
    );
    // Refused before anything is allocated: a consumer count past the cap once meant a
    // capacity-overflow panic (or an abort on a failed allocation).
    for consumers in [broadcast::MAX_CONSUMERS + 1, usize::MAX] {
        assert_eq!(
            broadcast::channel::<u64>(8, consumers).err(),
            Some(RingError::TooManyConsumers {
                requested: consumers,
                max: broadcast::MAX_CONSUMERS
            })
        );
    }
    assert!(broadcast::channel::<u64>(8, broadcast::MAX_CONSUMERS).is_ok());
    assert!(matches!(
        frames::channel(8),
        Err(RingError::CapacityTooSmall { min: 16, .. })
    ));
    let msg = spsc::channel::<u64>(1000).err().unwrap().to_string();
    assert_eq!(
        msg,
        "capacity 1000 is not a power of two (nearest: 512 or 1024)"
    );
}

#[test]
fn frames_blocking_claim_and_read_with_parking_deliver_every_record() {
    let config = RingConfig {
        producer_wait: WaitStrategy::SpinPark { spins: 4 },
        consumer_wait: WaitStrategy::SpinPark { spins: 4 },
        ..RingConfig::default()
    };
    let (mut tx, mut rx) = frames::channel_with(256, config).unwrap();
    const RECORDS: u64 = 50_000;
    let producer = thread::spawn(move || {
        for seq in 0..RECORDS {
            // Lengths 8..=120 wrap the 256-byte ring every few records.
            let len = 8 + (seq as usize * 37) % 113;
            let mut w = tx.claim(len).unwrap().expect("consumer alive");
            let buf = w.as_mut_slice();
            buf[..8].copy_from_slice(&seq.to_le_bytes());
            for (dst, b) in buf[8..].iter_mut().zip(payload(seq, len - 8)) {
                *dst = b;
            }
            w.commit();
        }
    });
    let mut seq = 0;
    while let Some(r) = rx.read() {
        let data = r.as_slice();
        assert_eq!(u64::from_le_bytes(data[..8].try_into().unwrap()), seq);
        assert_eq!(data.len(), 8 + (seq as usize * 37) % 113);
        assert!(data[8..].iter().copied().eq(payload(seq, data.len() - 8)));
        r.release();
        seq += 1;
    }
    assert_eq!(seq, RECORDS);
    producer.join().unwrap();
}
