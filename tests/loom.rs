//! Loom models of every ring: each test explores the interleavings of its threads (bounded
//! preemptions, tiny capacities) and checks that no item is lost, duplicated, reordered, raced on
//! or dropped twice.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release --test loom`.
//!
//! One file on purpose (over 600 lines): it is one test binary, built with `--cfg loom` into its own
//! target directory, and every model shares the helpers at the top.
#![cfg(loom)]

use std::sync::atomic::{AtomicUsize, Ordering};

use loom::thread;
use ringtop::ring::{RingConfig, WaitStrategy, broadcast, frames, mpmc, relay, spsc, window};

/// Runs `f` under loom with a preemption bound (override with LOOM_MAX_PREEMPTIONS).
fn model(f: impl Fn() + Sync + Send + 'static) {
    model_bounded(3, f);
}

/// As [`model`] with an explicit preemption bound, for models with three threads.
fn model_bounded(preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    // Retry loops make long paths; the default of 1,000 branches is too short for three threads.
    builder.max_branches = builder.max_branches.max(100_000);
    builder.check(f);
}

/// Both sides park at once when they cannot progress: blocked threads are not scheduled, which
/// keeps models small, and every wake-up path is exercised.
fn parking() -> RingConfig {
    RingConfig {
        producer_wait: WaitStrategy::SpinPark { spins: 0 },
        consumer_wait: WaitStrategy::SpinPark { spins: 0 },
        ..RingConfig::default()
    }
}

/// Retries `try_push` until it succeeds, yielding to the model in between.
fn push_spsc<T>(tx: &mut spsc::Producer<T>, mut v: T) {
    loop {
        match tx.try_push(v) {
            Ok(()) => return,
            Err(back) => v = back,
        }
        thread::yield_now();
    }
}

fn pop_spsc<T>(rx: &mut spsc::Consumer<T>) -> T {
    loop {
        if let Some(v) = rx.try_pop() {
            return v;
        }
        thread::yield_now();
    }
}

#[test]
fn spsc_push_pop_across_the_wrap() {
    model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(2).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..3 {
                push_spsc(&mut tx, i);
            }
        });
        for i in 0..3 {
            assert_eq!(pop_spsc(&mut rx), i);
        }
        producer.join().unwrap();
        assert_eq!(rx.try_pop(), None);
    });
}

#[test]
fn spsc_batch_commit_and_release() {
    model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(4).unwrap();
        let producer = thread::spawn(move || {
            let mut next = 0;
            while next < 6 {
                let mut chunk = tx.write_chunk(3);
                let base = next;
                chunk.fill_with(|i| base + i);
                next += chunk.commit();
                thread::yield_now();
            }
        });
        let mut expected = 0;
        while expected < 6 {
            let mut chunk = rx.read_chunk(4);
            while let Some(v) = chunk.pop() {
                assert_eq!(v, expected);
                expected += 1;
            }
            chunk.release();
            thread::yield_now();
        }
        producer.join().unwrap();
    });
}

#[test]
fn spsc_abandoned_producer_leaves_its_items_readable() {
    model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(2).unwrap();
        let producer = thread::spawn(move || {
            push_spsc(&mut tx, 1);
            push_spsc(&mut tx, 2);
        });
        let mut got = Vec::new();
        loop {
            let abandoned = rx.is_abandoned();
            while let Some(v) = rx.try_pop() {
                got.push(v);
            }
            if abandoned {
                break;
            }
            thread::yield_now();
        }
        assert_eq!(got, [1, 2]);
        producer.join().unwrap();
    });
}

#[test]
fn spsc_abandoned_consumer_is_seen_by_the_producer() {
    model(|| {
        let (mut tx, rx) = spsc::channel::<usize>(2).unwrap();
        let consumer = thread::spawn(move || drop(rx));
        while !tx.is_abandoned() {
            thread::yield_now();
        }
        // Pushing into an abandoned ring is refused by the blocking call once full.
        let _ = tx.try_push(1);
        let _ = tx.try_push(2);
        assert_eq!(tx.push(3), Err(3));
        consumer.join().unwrap();
    });
}

/// Counts its drops in a shared counter.
struct Counted(std::sync::Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn spsc_leftover_items_are_dropped_exactly_once() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = spsc::channel::<Counted>(2).unwrap();
        let d = drops.clone();
        let producer = thread::spawn(move || {
            for _ in 0..2 {
                push_spsc(&mut tx, Counted(d.clone()));
            }
            // An uncommitted chunk drops what was written into it.
            let mut chunk = tx.write_chunk(2);
            let _ = chunk.push(Counted(d.clone()));
        });
        let first = rx.try_pop();
        drop(first);
        producer.join().unwrap();
        drop(rx);
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

#[test]
fn spsc_spin_then_park_never_loses_a_wakeup() {
    model(|| {
        let config = parking();
        let (mut tx, mut rx) = spsc::channel_with::<usize>(2, config).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..3 {
                tx.push(i).unwrap();
            }
        });
        for i in 0..3 {
            assert_eq!(rx.pop(), Some(i));
        }
        assert_eq!(rx.pop(), None);
        producer.join().unwrap();
    });
}

#[test]
fn spsc_producer_parked_on_a_full_ring_is_woken_for_every_slot() {
    // Six items through four slots: the producer parks on a full ring at least once and must be
    // woken by the consumer's releases; the consumer parks on an empty one.
    model(|| {
        let config = parking();
        let (mut tx, mut rx) = spsc::channel_with::<usize>(4, config).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..6 {
                tx.push(i).unwrap();
            }
        });
        for i in 0..6 {
            assert_eq!(rx.pop(), Some(i));
        }
        assert_eq!(rx.pop(), None);
        producer.join().unwrap();
    });
}

/// Retries a relay `try_push` until it succeeds, yielding to the model in between.
fn push_relay<T>(tx: &mut relay::Producer<T>, mut v: T) {
    loop {
        match tx.try_push(v) {
            Ok(()) => return,
            Err(back) => v = back,
        }
        thread::yield_now();
    }
}

fn pop_relay<T>(rx: &mut relay::Consumer<T>) -> T {
    loop {
        if let Some(v) = rx.try_pop() {
            return v;
        }
        thread::yield_now();
    }
}

#[test]
fn relay_push_pop_across_the_wrap_reads_items_by_their_stamps() {
    // Five items through two slots: every slot is stamped in three laps, so a stale stamp that
    // read as full, or an item read before its write, would show here.
    model(|| {
        let (mut tx, mut rx) = relay::channel::<usize>(2).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..5 {
                push_relay(&mut tx, i);
            }
        });
        for i in 0..5 {
            assert_eq!(pop_relay(&mut rx), i);
        }
        producer.join().unwrap();
        assert_eq!(rx.try_pop(), None);
        assert!(rx.is_empty());
        assert_eq!(rx.len(), 0);
    });
}

#[test]
fn relay_len_never_runs_behind_the_head() {
    model(|| {
        let (mut tx, mut rx) = relay::channel::<usize>(2).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..3 {
                push_relay(&mut tx, i);
            }
        });
        for i in 0..3 {
            assert_eq!(pop_relay(&mut rx), i);
            assert!(rx.len() <= 2, "len {} after a pop", rx.len());
        }
        producer.join().unwrap();
    });
}

#[test]
fn relay_abandoned_producer_leaves_its_items_readable() {
    model(|| {
        let (mut tx, mut rx) = relay::channel::<usize>(2).unwrap();
        let producer = thread::spawn(move || {
            push_relay(&mut tx, 1);
            push_relay(&mut tx, 2);
        });
        let mut got = Vec::new();
        loop {
            let abandoned = rx.is_abandoned();
            while let Some(v) = rx.try_pop() {
                got.push(v);
            }
            if abandoned {
                break;
            }
            thread::yield_now();
        }
        assert_eq!(got, [1, 2]);
        producer.join().unwrap();
    });
}

#[test]
fn relay_abandoned_consumer_is_seen_by_the_producer() {
    model(|| {
        let (mut tx, rx) = relay::channel::<usize>(2).unwrap();
        let consumer = thread::spawn(move || drop(rx));
        while !tx.is_abandoned() {
            thread::yield_now();
        }
        let _ = tx.try_push(1);
        let _ = tx.try_push(2);
        assert_eq!(tx.push(3), Err(3));
        consumer.join().unwrap();
    });
}

#[test]
fn relay_leftover_items_are_dropped_exactly_once() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (mut tx, mut rx) = relay::channel::<Counted>(2).unwrap();
        let d = drops.clone();
        let producer = thread::spawn(move || {
            for _ in 0..3 {
                push_relay(&mut tx, Counted(d.clone()));
            }
        });
        let first = pop_relay(&mut rx);
        drop(first);
        let second = rx.try_pop();
        drop(second);
        producer.join().unwrap();
        drop(rx);
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    });
}

#[test]
fn relay_spin_then_park_never_loses_a_wakeup() {
    // Four items through two slots with both sides parking: the consumer sleeps on an empty
    // slot, the producer on a full ring, and each must be woken.
    model(|| {
        let (mut tx, mut rx) = relay::channel_with::<usize>(2, parking()).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..4 {
                tx.push(i).unwrap();
            }
        });
        for i in 0..4 {
            assert_eq!(rx.pop(), Some(i));
        }
        assert_eq!(rx.pop(), None);
        producer.join().unwrap();
    });
}

#[test]
fn broadcast_every_consumer_sees_every_item_in_order() {
    // Parking waits keep the three-thread model small: a blocked thread is not scheduled, where a
    // spinning one would be at every step. They also check that no consumer misses a wake-up.
    model_bounded(2, || {
        let config = parking();
        let (mut tx, rxs) = broadcast::channel_with::<usize>(2, 2, config).unwrap();
        let consumers: Vec<_> = rxs
            .into_iter()
            .map(|mut rx| {
                thread::spawn(move || {
                    for i in 0..3 {
                        assert_eq!(rx.pop(), Some(i));
                    }
                    assert_eq!(rx.pop(), None);
                })
            })
            .collect();
        for i in 0..3 {
            tx.push(i).unwrap();
        }
        drop(tx);
        for c in consumers {
            c.join().unwrap();
        }
    });
}

#[test]
fn broadcast_batch_and_detached_consumer() {
    model(|| {
        let (mut tx, mut rxs) = broadcast::channel::<usize>(2, 2).unwrap();
        let gone = rxs.pop().unwrap();
        let mut rx = rxs.pop().unwrap();
        let consumer = thread::spawn(move || {
            // Detaching races with the producer's scan of the cursors.
            drop(gone);
            let mut expected = 0;
            while expected < 4 {
                let mut chunk = rx.read_chunk(2);
                while let Some(v) = chunk.pop() {
                    assert_eq!(v, expected);
                    expected += 1;
                }
                chunk.release();
                thread::yield_now();
            }
        });
        let mut next = 0;
        while next < 4 {
            let mut chunk = tx.write_chunk(2);
            let base = next;
            chunk.fill_with(|i| base + i);
            next += chunk.commit();
            thread::yield_now();
        }
        consumer.join().unwrap();
        assert!(tx.is_abandoned());
    });
}

/// The batch paths the engine runs: `fill_with` writes straight runs of slots (`fill_runs`) and
/// `append_to` reads the chunk's two halves, both across the end of the slot array.
#[test]
fn spsc_fill_runs_and_append_to_across_the_wrap() {
    model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(4).unwrap();
        let producer = thread::spawn(move || {
            let mut next = 0;
            while next < 6 {
                let mut chunk = tx.write_chunk((6 - next).min(3));
                let base = next;
                chunk.fill_with(|i| base + i);
                next += chunk.commit();
                thread::yield_now();
            }
        });
        let mut out = Vec::new();
        while out.len() < 6 {
            let chunk = rx.read_chunk(3);
            chunk.append_to(&mut out);
            chunk.release();
            thread::yield_now();
        }
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        producer.join().unwrap();
    });
}

/// Slice copies across the wrap: every item once, in order (under loom the copies go slot by
/// slot, so the model checks the claim and release they share with the chunk calls).
#[test]
fn spsc_push_slice_and_pop_slice_across_the_wrap() {
    model(|| {
        let (mut tx, mut rx) = spsc::channel::<usize>(4).unwrap();
        let producer = thread::spawn(move || {
            let items = [0, 1, 2, 3, 4, 5];
            let mut next = 0;
            while next < items.len() {
                next += tx.push_slice(&items[next..(next + 3).min(items.len())]);
                thread::yield_now();
            }
        });
        let mut out = [usize::MAX; 6];
        let mut got = 0;
        while got < 6 {
            got += rx.pop_slice(&mut out[got..(got + 3).min(6)]);
            thread::yield_now();
        }
        assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        producer.join().unwrap();
    });
}

/// As `spsc_fill_runs_and_append_to_across_the_wrap`, for a broadcast ring: the runs and the two
/// halves a consumer copies.
#[test]
fn broadcast_fill_runs_and_append_to_across_the_wrap() {
    model(|| {
        let (mut tx, mut rxs) = broadcast::channel::<usize>(4, 1).unwrap();
        let mut rx = rxs.pop().unwrap();
        let consumer = thread::spawn(move || {
            let mut out = Vec::new();
            while out.len() < 6 {
                let chunk = rx.read_chunk(3);
                chunk.append_to(&mut out);
                chunk.release();
                thread::yield_now();
            }
            assert_eq!(out, [0, 1, 2, 3, 4, 5]);
        });
        let mut next = 0;
        while next < 6 {
            let mut chunk = tx.write_chunk((6 - next).min(3));
            let base = next;
            chunk.fill_with(|i| base + i);
            next += chunk.commit();
            thread::yield_now();
        }
        consumer.join().unwrap();
    });
}

#[test]
fn mpmc_two_by_two_takes_each_item_exactly_once() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(2).unwrap();
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    let mut v = p;
                    while let Err(back) = tx.try_push(v) {
                        v = back;
                        thread::yield_now();
                    }
                })
            })
            .collect();
        drop(tx);
        let rx2 = rx.clone();
        let other = thread::spawn(move || rx2.try_pop());
        let mut seen = Vec::new();
        for p in producers {
            p.join().unwrap();
        }
        seen.extend(other.join().unwrap());
        while let Some(v) = rx.try_pop() {
            seen.push(v);
        }
        seen.sort_unstable();
        assert_eq!(seen, [0, 1]);
        assert!(rx.is_abandoned());
    });
}

#[test]
fn mpmc_batches_across_the_wrap_keep_order_per_batch() {
    model(|| {
        let (tx, rx) = mpmc::channel::<usize>(2).unwrap();
        let producer = thread::spawn(move || {
            let mut items = vec![0, 1, 2];
            while !items.is_empty() {
                tx.push_batch(&mut items);
                thread::yield_now();
            }
        });
        let mut out = Vec::new();
        while out.len() < 3 {
            rx.pop_batch(&mut out, 2);
            thread::yield_now();
        }
        assert_eq!(out, [0, 1, 2]);
        producer.join().unwrap();
    });
}

#[test]
fn mpmc_leftover_items_are_dropped_exactly_once() {
    model(|| {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpmc::channel::<Counted>(2).unwrap();
        let d = drops.clone();
        let tx2 = tx.clone();
        let producer = thread::spawn(move || {
            let _ = tx2.try_push(Counted(d.clone()));
            let _ = tx2.try_push(Counted(d));
        });
        let taken = rx.try_pop();
        producer.join().unwrap();
        drop(taken);
        drop((tx, rx));
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    });
}

#[test]
fn frames_records_wrap_with_padding_and_keep_their_bytes() {
    model(|| {
        let (mut tx, mut rx) = frames::channel(32).unwrap();
        let lens = [5usize, 12, 3];
        let producer = thread::spawn(move || {
            for (n, &len) in lens.iter().enumerate() {
                loop {
                    if let Some(mut w) = tx.try_claim(len).unwrap() {
                        for (i, b) in w.as_mut_slice().iter_mut().enumerate() {
                            *b = (n * 16 + i) as u8;
                        }
                        w.commit();
                        break;
                    }
                    thread::yield_now();
                }
            }
        });
        let mut buf = Vec::new();
        for (n, &len) in lens.iter().enumerate() {
            loop {
                if let Some(r) = rx.try_read() {
                    r.copy_into(&mut buf);
                    r.release();
                    break;
                }
                thread::yield_now();
            }
            let expected: Vec<u8> = (0..len).map(|i| (n * 16 + i) as u8).collect();
            assert_eq!(buf, expected);
        }
        producer.join().unwrap();
    });
}

#[test]
fn window_records_placed_by_the_writer_wrap_with_padding_and_keep_their_bytes() {
    // The writer lays records out itself, as a remote sender does: the third needs a padding
    // record and the space the first one freed.
    model(|| {
        let (mut writer, mut reader) = window::channel(64).unwrap();
        let lens = [12usize, 20, 4];
        let producer = thread::spawn(move || {
            for (n, &len) in lens.iter().enumerate() {
                let payload: Vec<u8> = (0..len).map(|i| (n * 16 + i) as u8).collect();
                loop {
                    let spot = window::place(64, writer.head(), writer.published(), len).unwrap();
                    if let Some(spot) = spot {
                        if let Some((offset, padding)) = spot.padding {
                            let header = window::record_header(padding, window::PADDING);
                            writer.write_at(offset as u64, &header).unwrap();
                        }
                        let record = window::encode_record(n as u32, &payload);
                        writer.write_at(spot.offset as u64, &record).unwrap();
                        writer.publish(spot.end).unwrap();
                        break;
                    }
                    thread::yield_now();
                }
            }
        });
        for (n, &len) in lens.iter().enumerate() {
            loop {
                if let Some(record) = reader.try_read().unwrap() {
                    assert_eq!(record.kind(), n as u32);
                    let expected: Vec<u8> = (0..len).map(|i| (n * 16 + i) as u8).collect();
                    assert_eq!(record.payload(), &expected[..]);
                    record.release();
                    break;
                }
                thread::yield_now();
            }
        }
        producer.join().unwrap();
        assert!(reader.try_read().unwrap().is_none());
    });
}

#[test]
fn frames_blocking_claim_and_read_end_exactly_after_the_last_record() {
    model(|| {
        let config = parking();
        let (mut tx, mut rx) = frames::channel_with(32, config).unwrap();
        // 5 bytes fit at offset 0; 12 (24 with header) need the lap's padding first.
        let lens = [5usize, 12];
        let producer = thread::spawn(move || {
            for (n, &len) in lens.iter().enumerate() {
                let mut w = tx.claim(len).unwrap().expect("consumer alive");
                w.as_mut_slice().fill(n as u8 + 1);
                w.commit();
            }
        });
        let mut got = Vec::new();
        let mut buf = Vec::new();
        while let Some(r) = rx.read() {
            r.copy_into(&mut buf);
            r.release();
            got.push(buf.clone());
        }
        assert_eq!(got, [vec![1u8; 5], vec![2u8; 12]]);
        producer.join().unwrap();
    });
}

#[test]
fn mpmc_receiver_sees_every_item_then_the_end_when_the_last_sender_leaves() {
    model(|| {
        let config = parking();
        let (tx, rx) = mpmc::channel_with::<usize>(2, config).unwrap();
        let producer = thread::spawn(move || {
            for i in 0..3 {
                tx.push(i).unwrap();
            }
            // Dropping the only sender ends the stream.
        });
        for i in 0..3 {
            assert_eq!(rx.pop(), Some(i));
        }
        assert_eq!(rx.pop(), None);
        assert!(rx.is_abandoned());
        producer.join().unwrap();
    });
}

/// The hand-over of a shared-memory item ring's stream between its receiver (the hot side, which
/// takes slots into the stream while a session is open) and its session thread (the cold side,
/// which closes a session, takes the sender's last slots and opens the next): each owns where
/// the stream ends in turn, with no lock. `open` is the session open (its number, 0 closed).
#[test]
fn visits_that_saw_a_session_open_are_waited_out_before_the_next_one() {
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicU64;
    use ringtop::ring::visits::Visits;
    use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

    model(|| {
        let (visits, mut visitor) = Visits::new();
        let open = Arc::new(AtomicU64::new(1));
        let published = Arc::new(AtomicU64::new(0));
        let receiver = {
            let (open, published) = (open.clone(), published.clone());
            thread::spawn(move || {
                // Takes one slot a visit while a session is open; counts its takes in the
                // second session.
                let mut second = 0;
                for _ in 0..2 {
                    visitor.visit(|| {
                        let session = open.load(Acquire);
                        if session != 0 {
                            let end = published.load(Acquire);
                            published.store(end + 1, Release);
                            second += u64::from(session == 2);
                        }
                    });
                }
                second
            })
        };
        // The session thread closes the first session, waits out the receiver, and owns the
        // stream's end: it moves it on (the sender's last slot) and opens the second session.
        open.store(0, Release);
        visits.wait_out();
        let closed_at = published.load(Acquire);
        published.store(closed_at + 10, Relaxed);
        open.store(2, Release);
        let second = receiver.join().unwrap();
        // No take of the first session came after the close's look, and every take of the
        // second started from the end the session thread left.
        assert_eq!(published.load(Acquire), closed_at + 10 + second);
    });
}
