//! Model-based tests: every ring's whole single-threaded API, chunks included, driven by random
//! operation sequences and checked after each step against a `VecDeque` that does the same thing
//! the obvious way. Small capacities make every sequence wrap the ring many times, so the batch
//! fast paths (`fill_with`'s straight runs, `as_slices`' two halves) are exercised across the end
//! of the slot array. Concurrency is the loom models' and the stress tests' job; this is the
//! sequential contract those proofs rely on.
#![cfg(not(loom))]

use std::collections::VecDeque;

use proptest::prelude::*;
use ringtop::ring::{PrefetchDistance, broadcast, frames, mpmc, record, relay, spsc};

/// What to do with a chunk once it is filled or read.
#[derive(Debug, Clone, Copy)]
enum Finish {
    /// Commit or release it.
    Keep,
    /// Drop it.
    Drop,
}

#[derive(Debug, Clone)]
enum Op {
    Push,
    Pop,
    /// Claim up to `max` slots, write `write` of them (one by one or with `fill_with`), then
    /// finish.
    Write {
        max: usize,
        write: usize,
        fill: bool,
        finish: Finish,
    },
    /// Take up to `max` items, move `take` of them out, then finish.
    Read {
        max: usize,
        take: usize,
        finish: Finish,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let finish = prop_oneof![Just(Finish::Keep), Just(Finish::Drop)];
    prop_oneof![
        3 => Just(Op::Push),
        3 => Just(Op::Pop),
        2 => (0..12usize, 0..12usize, any::<bool>(), finish.clone())
            .prop_map(|(max, write, fill, finish)| Op::Write { max, write, fill, finish }),
        2 => (0..12usize, 0..12usize, finish)
            .prop_map(|(max, take, finish)| Op::Read { max, take, finish }),
    ]
}

fn capacity() -> impl Strategy<Value = usize> {
    prop_oneof![Just(2usize), Just(4), Just(8)]
}

/// Prefetch distances for the producer and the consumer: off, or a few slots ahead (past the
/// ring's end too, where the hints wrap).
fn prefetch() -> impl Strategy<Value = (usize, usize)> {
    let distance = || prop_oneof![Just(0usize), 1..12usize];
    (distance(), distance())
}

/// Items are strings, so a slot read twice or dropped twice would show (a double free aborts
/// the test; a duplicate breaks the comparison).
fn item(n: u64) -> String {
    format!("item-{n}")
}

/// Slice copies of `Copy` items, mixed with single pushes and pops.
#[derive(Debug, Clone)]
enum SliceOp {
    Push,
    Pop,
    PushSlice(usize),
    PopSlice(usize),
    /// The consumer's `len()`: a snapshot, which counts nothing.
    Len,
}

fn slice_op() -> impl Strategy<Value = SliceOp> {
    prop_oneof![
        Just(SliceOp::Push),
        Just(SliceOp::Pop),
        (0..12usize).prop_map(SliceOp::PushSlice),
        (0..12usize).prop_map(SliceOp::PopSlice),
        Just(SliceOp::Len),
    ]
}

/// What one end of an SPSC ring must count, kept the obvious way: the end re-reads the other
/// side's index only when its cached copy shows less than the call wants; a re-read that finds
/// the index moved is a reload (the cache takes it), one that finds it where it was is a stall,
/// counted once per position it is stuck at. `len()` is a snapshot and counts nothing.
#[derive(Debug, Default)]
struct IndexCacheModel {
    cached: usize,
    reloads: u64,
    stalls: u64,
    stalled_at: Option<usize>,
}

impl IndexCacheModel {
    /// A call whose cached view was `short` of what it wanted, the other side's index being
    /// `fresh`.
    fn look(&mut self, short: bool, fresh: usize) {
        if !short {
            return;
        }
        if fresh != self.cached {
            self.reloads += 1;
            self.cached = fresh;
        } else if self.stalled_at != Some(fresh) {
            self.stalls += 1;
            self.stalled_at = Some(fresh);
        }
    }

    fn counts(&self) -> (u64, u64) {
        (self.reloads, self.stalls)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn spsc_slices_behave_as_a_bounded_fifo(
        capacity in capacity(),
        prefetch in prefetch(),
        ops in prop::collection::vec(slice_op(), 1..200),
    ) {
        let (mut tx, mut rx) = spsc::channel::<u64>(capacity).unwrap();
        // With a distance, `push_slice` fills item by item and `pop_slice` copies a step at a
        // time, each hinting ahead; without, each copies in one or two `memcpy`s.
        tx.set_prefetch_distance(PrefetchDistance(prefetch.0));
        rx.set_prefetch_distance(PrefetchDistance(prefetch.1));
        let mut model: VecDeque<u64> = VecDeque::new();
        let mut next = 0u64;
        for op in ops {
            match op {
                SliceOp::Push => {
                    let fits = model.len() < capacity;
                    prop_assert_eq!(tx.try_push(next).is_ok(), fits);
                    if fits {
                        model.push_back(next);
                        next += 1;
                    }
                }
                SliceOp::Pop => prop_assert_eq!(rx.try_pop(), model.pop_front()),
                SliceOp::Len => {}
                SliceOp::PushSlice(n) => {
                    let items: Vec<u64> = (next..next + n as u64).collect();
                    let pushed = tx.push_slice(&items);
                    prop_assert_eq!(pushed, n.min(capacity - model.len()));
                    model.extend(&items[..pushed]);
                    next += pushed as u64;
                }
                SliceOp::PopSlice(n) => {
                    let mut out = vec![u64::MAX; n];
                    let popped = rx.pop_slice(&mut out);
                    prop_assert_eq!(popped, n.min(model.len()));
                    let expected: Vec<u64> = model.drain(..popped).collect();
                    prop_assert_eq!(&out[..popped], &expected[..]);
                    prop_assert!(out[popped..].iter().all(|&v| v == u64::MAX), "nothing written past the count");
                }
            }
            prop_assert_eq!(tx.len(), model.len());
            prop_assert_eq!(rx.len(), model.len());
        }
    }

    /// The prefetching read paths copy a step (eight lines' worth: 64 `u64`s, 16 `String`s) at a
    /// time: batches of up to 200 through rings of 64 and 256 slots span several steps and the
    /// wrap. `u64`s go through `push_slice`/`pop_slice`, `String`s through `fill_with` and
    /// `append_to` (a double drop or a lost item shows as a wrong string).
    #[test]
    fn prefetching_batches_span_several_steps_and_stay_a_fifo(
        capacity in prop_oneof![Just(64usize), Just(256)],
        prefetch in prefetch(),
        ops in prop::collection::vec((any::<bool>(), 0..200usize), 1..100),
    ) {
        let (mut tx, mut rx) = spsc::channel::<u64>(capacity).unwrap();
        let (mut stx, mut srx) = spsc::channel::<String>(capacity).unwrap();
        tx.set_prefetch_distance(PrefetchDistance(prefetch.0));
        stx.set_prefetch_distance(PrefetchDistance(prefetch.0));
        rx.set_prefetch_distance(PrefetchDistance(prefetch.1));
        srx.set_prefetch_distance(PrefetchDistance(prefetch.1));
        let (mut model, mut next) = (VecDeque::new(), 0u64);
        for (pushing, n) in ops {
            if pushing {
                let items: Vec<u64> = (next..next + n as u64).collect();
                let pushed = tx.push_slice(&items);
                prop_assert_eq!(pushed, n.min(capacity - model.len()));
                let mut chunk = stx.write_chunk(n);
                prop_assert_eq!(chunk.len(), pushed);
                chunk.fill_with(|i| item(next + i as u64));
                prop_assert_eq!(chunk.commit(), pushed);
                model.extend(next..next + pushed as u64);
                next += pushed as u64;
            } else {
                let mut out = vec![u64::MAX; n];
                let popped = rx.pop_slice(&mut out);
                prop_assert_eq!(popped, n.min(model.len()));
                let expected: Vec<u64> = model.drain(..popped).collect();
                prop_assert_eq!(&out[..popped], &expected[..]);
                let chunk = srx.read_chunk(n);
                let mut strings = Vec::new();
                chunk.append_to(&mut strings);
                chunk.release();
                let expected: Vec<String> = expected.into_iter().map(item).collect();
                prop_assert_eq!(strings, expected);
            }
        }
    }

    #[test]
    fn spsc_ends_count_reloads_and_stall_episodes_as_their_stats_say(
        capacity in capacity(),
        ops in prop::collection::vec(slice_op(), 1..300),
    ) {
        let (mut tx, mut rx) = spsc::channel::<u64>(capacity).unwrap();
        // The producer caches the head, the consumer the tail; both start at 0.
        let (mut producer, mut consumer) = (IndexCacheModel::default(), IndexCacheModel::default());
        let (mut tail, mut head) = (0usize, 0usize);
        for op in ops {
            if let SliceOp::Len = op {
                prop_assert_eq!(rx.len(), tail - head);
                let c = rx.stats();
                prop_assert_eq!((c.index_reloads, c.stalls), consumer.counts(), "consumer after {:?}", op);
                continue;
            }
            let (pushing, wanted) = match op {
                SliceOp::Push => (true, 1),
                SliceOp::Pop => (false, 1),
                SliceOp::PushSlice(n) => (true, n),
                SliceOp::PopSlice(n) => (false, n),
                SliceOp::Len => unreachable!("looked at above"),
            };
            if pushing {
                producer.look(capacity - (tail - producer.cached) < wanted, head);
                let items: Vec<u64> = (0..wanted as u64).map(|i| (tail as u64) + i).collect();
                tail += match op {
                    SliceOp::Push => usize::from(tx.try_push(items[0]).is_ok()),
                    _ => tx.push_slice(&items),
                };
            } else {
                consumer.look(consumer.cached - head < wanted, tail);
                let mut out = vec![0u64; wanted];
                let popped = match op {
                    SliceOp::Pop => rx.try_pop().map_or(0, |v| { out[0] = v; 1 }),
                    _ => rx.pop_slice(&mut out),
                };
                prop_assert!(out[..popped].iter().copied().eq(head as u64..(head + popped) as u64));
                head += popped;
            }
            let (p, c) = (tx.stats(), rx.stats());
            prop_assert_eq!((p.index_reloads, p.stalls), producer.counts(), "producer after {:?}", op);
            prop_assert_eq!((c.index_reloads, c.stalls), consumer.counts(), "consumer after {:?}", op);
        }
    }

    /// A broadcast consumer keeps its producer index cache as an SPSC consumer does (one
    /// consumer, so its head is the producer's bound).
    #[test]
    fn broadcast_consumers_count_reloads_and_stall_episodes_as_their_stats_say(
        capacity in capacity(),
        ops in prop::collection::vec(slice_op(), 1..300),
    ) {
        let (mut tx, mut rxs) = broadcast::channel::<u64>(capacity, 1).unwrap();
        let rx = &mut rxs[0];
        let mut consumer = IndexCacheModel::default();
        let (mut tail, mut head) = (0usize, 0usize);
        for op in ops {
            match op {
                SliceOp::Push => tail += usize::from(tx.try_push(tail as u64).is_ok()),
                SliceOp::PushSlice(n) => {
                    let mut chunk = tx.write_chunk(n);
                    let first = tail as u64;
                    chunk.fill_with(|i| first + i as u64);
                    tail += chunk.commit();
                }
                SliceOp::Len => prop_assert_eq!(rx.len(), tail - head),
                SliceOp::Pop | SliceOp::PopSlice(_) => {
                    let wanted = if let SliceOp::PopSlice(n) = op { n } else { 1 };
                    consumer.look(consumer.cached - head < wanted, tail);
                    let mut out = Vec::new();
                    if wanted == 1 {
                        out.extend(rx.try_pop());
                    } else {
                        let chunk = rx.read_chunk(wanted);
                        chunk.append_to(&mut out);
                        chunk.release();
                    }
                    prop_assert!(out.iter().copied().eq(head as u64..(head + out.len()) as u64));
                    head += out.len();
                }
            }
            let c = rx.stats();
            prop_assert_eq!((c.index_reloads, c.stalls), consumer.counts(), "consumer after {:?}", op);
        }
    }

    #[test]
    fn spsc_behaves_as_a_bounded_fifo(
        capacity in capacity(),
        prefetch in prefetch(),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        let (mut tx, mut rx) = spsc::channel::<String>(capacity).unwrap();
        // With a distance, `fill_with` writes item by item and `append_to` copies a step (eight
        // lines' worth) at a time: a `String` is 24 bytes, so its steps straddle lines.
        tx.set_prefetch_distance(PrefetchDistance(prefetch.0));
        rx.set_prefetch_distance(PrefetchDistance(prefetch.1));
        let mut model: VecDeque<String> = VecDeque::new();
        let mut next = 0u64;
        for op in ops {
            match op {
                Op::Push => {
                    let v = item(next);
                    let result = tx.try_push(v.clone());
                    if model.len() < capacity {
                        prop_assert_eq!(result, Ok(()));
                        model.push_back(v);
                        next += 1;
                    } else {
                        prop_assert_eq!(result, Err(v));
                    }
                }
                Op::Pop => prop_assert_eq!(rx.try_pop(), model.pop_front()),
                Op::Write { max, write, fill, finish } => {
                    let mut chunk = tx.write_chunk(max);
                    prop_assert_eq!(chunk.len(), max.min(capacity - model.len()));
                    let claimed = chunk.len();
                    let mut written = Vec::new();
                    if fill {
                        let first = next;
                        chunk.fill_with(|i| item(first + i as u64));
                        written.extend((0..claimed as u64).map(|i| item(first + i)));
                    } else {
                        for i in 0..write {
                            let v = item(next + i as u64);
                            let result = chunk.push(v.clone());
                            if i < claimed {
                                prop_assert_eq!(result, Ok(()));
                                written.push(v);
                            } else {
                                prop_assert_eq!(result, Err(v));
                            }
                        }
                    }
                    prop_assert_eq!(chunk.remaining(), claimed - written.len());
                    match finish {
                        Finish::Keep => {
                            prop_assert_eq!(chunk.commit(), written.len());
                            next += written.len() as u64;
                            model.extend(written);
                        }
                        Finish::Drop => drop(chunk),
                    }
                }
                Op::Read { max, take, finish } => {
                    let mut chunk = rx.read_chunk(max);
                    let len = max.min(model.len());
                    prop_assert_eq!(chunk.len(), len);
                    let (a, b) = chunk.as_slices();
                    let seen: Vec<&String> = a.iter().chain(b).collect();
                    let expected: Vec<&String> = model.iter().take(len).collect();
                    prop_assert_eq!(seen, expected);
                    let taken = take.min(len);
                    for _ in 0..taken {
                        prop_assert_eq!(chunk.pop(), model.pop_front());
                    }
                    if take > len {
                        prop_assert_eq!(chunk.pop(), None);
                    }
                    let mut appended = vec![item(u64::MAX)];
                    chunk.append_to(&mut appended);
                    let rest: Vec<String> = model.iter().take(len - taken).cloned().collect();
                    prop_assert_eq!(&appended[1..], &rest[..], "appended after what `out` held");
                    let (a, b) = chunk.as_slices();
                    prop_assert_eq!(a.len() + b.len(), len - taken);
                    match finish {
                        Finish::Keep => {
                            chunk.release();
                            model.drain(..len - taken);
                        }
                        Finish::Drop => drop(chunk),
                    }
                }
            }
            prop_assert_eq!(tx.len(), model.len());
            prop_assert_eq!(rx.len(), model.len());
            prop_assert_eq!(rx.is_empty(), model.is_empty());
        }
    }

    #[test]
    fn relay_behaves_as_a_bounded_fifo(capacity in capacity(), ops in prop::collection::vec(op(), 1..200)) {
        let (mut tx, mut rx) = relay::channel::<String>(capacity).unwrap();
        let mut model: VecDeque<String> = VecDeque::new();
        let mut next = 0u64;
        for op in ops {
            match op {
                // The relay ring has no chunks: a write is a run of pushes, a read of pops.
                Op::Push | Op::Write { .. } => {
                    let count = match op { Op::Write { write, .. } => write, _ => 1 };
                    for _ in 0..count {
                        let v = item(next);
                        let result = tx.try_push(v.clone());
                        if model.len() < capacity {
                            prop_assert_eq!(result, Ok(()));
                            model.push_back(v);
                            next += 1;
                        } else {
                            prop_assert_eq!(result, Err(v));
                        }
                    }
                }
                Op::Pop | Op::Read { .. } => {
                    let count = match op { Op::Read { take, .. } => take, _ => 1 };
                    for _ in 0..count {
                        prop_assert_eq!(rx.try_pop(), model.pop_front());
                    }
                }
            }
            prop_assert_eq!(tx.len(), model.len());
            prop_assert_eq!(rx.len(), model.len());
            prop_assert_eq!(rx.is_empty(), model.is_empty());
        }
    }

    #[test]
    fn broadcast_gives_every_consumer_every_item_in_order(
        capacity in capacity(),
        consumers in 1..4usize,
        prefetch in prefetch(),
        ops in prop::collection::vec((op(), 0..4usize), 1..200),
    ) {
        let (mut tx, mut rxs) = broadcast::channel::<u64>(capacity, consumers).unwrap();
        tx.set_prefetch_distance(PrefetchDistance(prefetch.0));
        for rx in &mut rxs {
            rx.set_prefetch_distance(PrefetchDistance(prefetch.1));
        }
        // One queue per consumer; the producer is bounded by the slowest.
        let mut models: Vec<VecDeque<u64>> = vec![VecDeque::new(); consumers];
        let mut next = 0u64;
        let fullest = |models: &Vec<VecDeque<u64>>| models.iter().map(VecDeque::len).max().unwrap_or(0);
        for (op, who) in ops {
            let who = who % consumers;
            match op {
                Op::Push => {
                    let result = tx.try_push(next);
                    if fullest(&models) < capacity {
                        prop_assert_eq!(result, Ok(()));
                        models.iter_mut().for_each(|m| m.push_back(next));
                        next += 1;
                    } else {
                        prop_assert_eq!(result, Err(next));
                    }
                }
                Op::Pop => prop_assert_eq!(rxs[who].try_pop(), models[who].pop_front()),
                Op::Write { max, write, fill, finish } => {
                    let mut chunk = tx.write_chunk(max);
                    prop_assert_eq!(chunk.len(), max.min(capacity - fullest(&models)));
                    let claimed = chunk.len();
                    let first = next;
                    let written = if fill {
                        chunk.fill_with(|i| first + i as u64);
                        claimed
                    } else {
                        for i in 0..write {
                            let result = chunk.push(first + i as u64);
                            prop_assert_eq!(result.is_ok(), i < claimed);
                        }
                        write.min(claimed)
                    };
                    match finish {
                        Finish::Keep => {
                            prop_assert_eq!(chunk.commit(), written);
                            for m in &mut models {
                                m.extend(first..first + written as u64);
                            }
                            next += written as u64;
                        }
                        // Left uncommitted: nothing is published.
                        Finish::Drop => {
                            let _ = chunk;
                        }
                    }
                }
                Op::Read { max, take, finish } => {
                    let model = &mut models[who];
                    let mut chunk = rxs[who].read_chunk(max);
                    let len = max.min(model.len());
                    prop_assert_eq!(chunk.len(), len);
                    let (a, b) = chunk.as_slices();
                    let seen: Vec<u64> = a.iter().chain(b).copied().collect();
                    let expected: Vec<u64> = model.iter().take(len).copied().collect();
                    prop_assert_eq!(seen, expected);
                    let taken = take.min(len);
                    for _ in 0..taken {
                        prop_assert_eq!(chunk.pop(), model.pop_front());
                    }
                    let mut appended = vec![u64::MAX];
                    chunk.append_to(&mut appended);
                    let rest: Vec<u64> = model.iter().take(len - taken).copied().collect();
                    prop_assert_eq!(&appended[1..], &rest[..], "appended after what `out` held");
                    match finish {
                        Finish::Keep => {
                            chunk.release();
                            model.drain(..len - taken);
                        }
                        Finish::Drop => drop(chunk),
                    }
                }
            }
            prop_assert_eq!(tx.len(), fullest(&models));
            for (rx, model) in rxs.iter().zip(&models) {
                prop_assert_eq!(rx.len(), model.len());
                prop_assert_eq!(rx.is_empty(), model.is_empty());
            }
        }
    }

    #[test]
    fn mpmc_behaves_as_a_bounded_fifo_from_any_clone(
        capacity in capacity(),
        ops in prop::collection::vec((op(), any::<bool>()), 1..200),
    ) {
        let (tx, rx) = mpmc::channel::<String>(capacity).unwrap();
        let (tx2, rx2) = (tx.clone(), rx.clone());
        let mut model: VecDeque<String> = VecDeque::new();
        let mut next = 0u64;
        for (op, clone) in ops {
            let (tx, rx) = if clone { (&tx2, &rx2) } else { (&tx, &rx) };
            match op {
                Op::Push => {
                    let v = item(next);
                    let result = tx.try_push(v.clone());
                    if model.len() < capacity {
                        prop_assert_eq!(result, Ok(()));
                        model.push_back(v);
                        next += 1;
                    } else {
                        prop_assert_eq!(result, Err(v));
                    }
                }
                Op::Pop => prop_assert_eq!(rx.try_pop(), model.pop_front()),
                Op::Write { write, .. } => {
                    let mut batch: Vec<String> = (0..write as u64).map(|i| item(next + i)).collect();
                    let offered = batch.clone();
                    let moved = tx.push_batch(&mut batch);
                    prop_assert_eq!(moved, write.min(capacity - model.len()));
                    prop_assert_eq!(&batch[..], &offered[moved..], "the rest stays, in order");
                    model.extend(offered.into_iter().take(moved));
                    next += moved as u64;
                }
                Op::Read { max, .. } => {
                    let mut out = vec![item(u64::MAX)];
                    let moved = rx.pop_batch(&mut out, max);
                    prop_assert_eq!(moved, max.min(model.len()));
                    prop_assert_eq!(out.len(), moved + 1, "appended after what was there");
                    for got in out.drain(1..) {
                        prop_assert_eq!(Some(got), model.pop_front());
                    }
                }
            }
            prop_assert_eq!(tx.len(), model.len());
            prop_assert_eq!(rx.is_empty(), model.is_empty());
        }
    }

    #[test]
    fn frames_come_out_as_they_went_in(
        capacity in prop_oneof![Just(64usize), Just(128), Just(256)],
        ops in prop::collection::vec((op(), 0..40usize, any::<bool>()), 1..200),
    ) {
        let (mut tx, mut rx) = frames::channel(capacity).unwrap();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut next = 0u8;
        for (op, len, shorter) in ops {
            match op {
                Op::Push | Op::Write { .. } => {
                    let len = len.min(tx.max_record());
                    let payload: Vec<u8> = (0..len).map(|i| next.wrapping_add(i as u8)).collect();
                    let finish = match op { Op::Write { finish, .. } => finish, _ => Finish::Keep };
                    match tx.try_claim(len).unwrap() {
                        Some(mut writer) => {
                            prop_assert_eq!(writer.len(), len);
                            writer.as_mut_slice().copy_from_slice(&payload);
                            match finish {
                                Finish::Keep if shorter => {
                                    writer.commit_len(len / 2);
                                    model.push_back(payload[..len / 2].to_vec());
                                }
                                Finish::Keep => {
                                    writer.commit();
                                    model.push_back(payload);
                                }
                                // Not committed: nothing is published.
                                Finish::Drop => {
                                    let _ = writer;
                                }
                            }
                            next = next.wrapping_add(1);
                        }
                        // Only a ring holding records can be too full for one, once the consumer
                        // has skipped any padding the producer left: then any record of at most
                        // `max_payload` fits.
                        None if model.is_empty() => {
                            prop_assert!(rx.try_read().is_none());
                            if len <= record::max_payload(capacity) {
                                prop_assert!(tx.try_claim(len).unwrap().is_some(), "an empty ring refused {len} bytes");
                            }
                        }
                        None => {}
                    }
                }
                Op::Pop | Op::Read { .. } => {
                    let keep = !matches!(op, Op::Read { finish: Finish::Drop, .. });
                    match rx.try_read() {
                        Some(reader) => {
                            let expected = model.front().cloned();
                            prop_assert_eq!(Some(reader.as_slice().to_vec()), expected.clone());
                            let mut copy = vec![0xAA; 3];
                            reader.copy_into(&mut copy);
                            prop_assert_eq!(Some(copy), expected);
                            if keep {
                                reader.release();
                                model.pop_front();
                            }
                        }
                        None => prop_assert!(model.is_empty()),
                    }
                }
            }
            prop_assert_eq!(rx.is_empty(), model.is_empty());
        }
    }
}

/// What a test of the shared-memory item ring does next.
#[derive(Debug, Clone)]
enum ItemOp {
    /// Send up to this many items at once (as many as the sender has room for as credited).
    Send(usize),
    /// Receive up to this many items at once (or the session boundary that comes first).
    Receive(usize),
    /// The sender says goodbye and another opens the ring.
    NextSender,
}

fn item_op() -> impl Strategy<Value = ItemOp> {
    prop_oneof![
        4 => (1..80usize).prop_map(ItemOp::Send),
        4 => (1..40usize).prop_map(ItemOp::Receive),
        1 => Just(ItemOp::NextSender),
    ]
}

/// What the item ring's receiver should hand out next, in order.
#[derive(Debug, Clone, PartialEq)]
enum ItemExpected {
    Start,
    Item(u64),
    End(u64),
}

/// Item `n` of the item ring's model: its number, then words made from it.
fn model_item(n: u64) -> [u64; 7] {
    std::array::from_fn(|k| match k {
        0 => n,
        k => n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k as u64,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The shared-memory item ring with both ends in this thread (56-byte items in a window of
    /// 64 slots, so sequences wrap it): what the receiver hands out is exactly what the senders
    /// sent, once and in order, each sender's items between its start and its end (with the
    /// count it said it sent), and nothing is reported missing while something is due. A send
    /// takes no more than asked, and a receive no more than the room given.
    #[test]
    fn the_item_ring_hands_out_exactly_what_was_sent_each_sender_between_its_boundaries(
        ops in prop::collection::vec(item_op(), 1..60),
    ) {
        use ringtop::ring::WaitStrategy;
        use ringtop::transport::shm::items::{ItemReceiver, ItemSender, ReceivedItems};
        use ringtop::transport::shm::messages::Received;
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::time::Duration;
        static CASE: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "model-items-{}-{}",
            std::process::id(),
            CASE.fetch_add(1, Ordering::Relaxed)
        );
        let mut receiver =
            ItemReceiver::<[u64; 7]>::create(&name, 64, WaitStrategy::BusySpin).unwrap();
        let mut sender = ItemSender::<[u64; 7]>::open(&name).unwrap();
        let mut expected = VecDeque::from([ItemExpected::Start]);
        let (mut next, mut sent_by_this) = (0u64, 0u64);
        let mut out = [[0u64; 7]; 40];
        let mut receive = |room: usize, expected: &mut VecDeque<ItemExpected>| {
            let got = match receiver.try_recv_many(&mut out[..room]) {
                ReceivedItems::Items(read) => {
                    prop_assert!(read >= 1 && read <= room, "{} items for room {}", read, room);
                    for item in &out[..read] {
                        prop_assert_eq!(*item, model_item(item[0]), "item {} intact", item[0]);
                    }
                    out[..read].iter().map(|item| ItemExpected::Item(item[0])).collect()
                }
                ReceivedItems::Other(Received::SenderConnected(_)) => vec![ItemExpected::Start],
                ReceivedItems::Other(Received::SenderLeft { sent, .. }) => {
                    vec![ItemExpected::End(sent.expect("a goodbye"))]
                }
                ReceivedItems::Other(Received::Nothing) => {
                    prop_assert!(expected.is_empty(), "nothing, while due: {:?}", expected);
                    return Ok(false);
                }
                ReceivedItems::Other(other) => {
                    return Err(TestCaseError::fail(format!("{other:?}")));
                }
            };
            for one in got {
                prop_assert_eq!(expected.pop_front(), Some(one));
            }
            Ok(true)
        };
        for op in ops {
            match op {
                ItemOp::Send(wanted) => {
                    let items: Vec<[u64; 7]> = (next..next + wanted as u64).map(model_item).collect();
                    let sent = sender.try_send_many(&items).unwrap();
                    prop_assert!(sent <= wanted);
                    expected.extend((next..next + sent as u64).map(ItemExpected::Item));
                    next += sent as u64;
                    sent_by_this += sent as u64;
                }
                ItemOp::Receive(room) => {
                    receive(room, &mut expected)?;
                }
                ItemOp::NextSender => {
                    sender.finish(Duration::ZERO);
                    expected.push_back(ItemExpected::End(sent_by_this));
                    sender = ItemSender::<[u64; 7]>::open(&name).unwrap();
                    expected.push_back(ItemExpected::Start);
                    sent_by_this = 0;
                }
            }
        }
        while receive(40, &mut expected)? {}
        prop_assert!(expected.is_empty(), "never handed out: {:?}", expected);
    }
}

/// "Everything" is a fair batch size: `pop_batch` grows `out` by at most the ring's capacity, not by
/// `max`.
#[test]
fn an_mpmc_pop_batch_of_everything_reserves_no_more_than_the_ring_holds() {
    let (tx, rx) = mpmc::channel::<u64>(8).unwrap();
    for v in 0..3 {
        tx.try_push(v).unwrap();
    }
    let mut out = Vec::new();
    assert_eq!(rx.pop_batch(&mut out, usize::MAX), 3);
    assert_eq!(out, [0, 1, 2]);
    assert!(out.capacity() <= 8, "reserved {}", out.capacity());
}
