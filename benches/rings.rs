//! Side-by-side ring benchmarks: ringtop against the crates users would otherwise pick, in one run,
//! rounds interleaved, threads pinned to two distinct CPUs; each contender's median over rounds,
//! and each comparison as the median of per-round ratios with their spread. An untimed pass of
//! every case runs first, so that the first round is not the machine warming up.
//!
//! One file on purpose (about 1 200 lines): every contender of every case runs in each round, so
//! the per-round ratios compare runs that saw the same machine state; the cases are the bulk, each
//! a few lines per crate API.
//!
//! `cargo bench --bench rings -- [--json] [--quick] [--only pingpong,spsc_u64] [--slices N]`
//!
//! A round runs every case ten times in turn (`--slices`), each with a tenth of the items or
//! round trips, and a case's figure for the round is the median of its ten: contenders that
//! ran whole, one after another, saw the VM change state between them often enough that
//! rtrb's ping-pong against itself spread 0.84–1.94 per round (two runs); in slices, 0.85–1.18
//! (six runs).
//!
//! `--single-thread CASE [--items N]` runs one case's push and pop on one thread and exits, for
//! counting instructions under callgrind: `scripts/instructions.sh` runs them all.
//!
//! - `spsc_u64`: 64-bit items, one push / pop per item (Mitems/s).
//! - `spsc_batch`: the same through each crate's batch API, chunks of 256 (Mitems/s);
//!   `ringtop_slice` copies through `push_slice`/`pop_slice` as ringbuf's case does. The chunk
//!   consumers (ringtop's and rtrb's) read a chunk's two slices one after the other, each in a
//!   plain loop: iterating them as one `chain` tests which half it is in at every item, three
//!   times the instructions of the check itself, and made the consumer the bottleneck of both.
//!   `spsc_batch_*_vs_best_peer` compares with the faster of rtrb and ringbuf in each round.
//! - `spsc_row`: 64-byte `Row` items, one push / pop per item (Mitems/s). `ringtop_read_chunk`
//!   pushes one at a time as well but reads every row ready in one `read_chunk`, in place, as
//!   the disruptor's poller reads every published event in one batch: the like-for-like
//!   `spsc_row_read_chunk_vs_disruptor`.
//! - `pingpong`: one item bounced over two rings, round trip (ns); `floor` bounces a cache line
//!   between the same two CPUs with two bare atomics, the physical limit. Every contender polls
//!   the way the floor does: check, then a spin-loop hint (`pause`), which on x86 also makes the
//!   floor itself faster than a bare loop. `ringtop` is the index ring (`spsc`),
//!   `ringtop_relay` the stamped-slot ring (`relay`) built for this pattern. `spin_hint_ns` in
//!   the JSON is one hint's length on the producer's CPU: an item is noticed up to one hint
//!   late, so where a hint is as long as a hand-off, round trips move in steps of it.
//! - `ringtop_monitored` in `spsc_u64`, `spsc_batch` and `pingpong`: the same ring published for
//!   `ringtop attach` (`monitor`), its sampler thread running; `*_monitored_vs_unmonitored` is
//!   the cost (for `pingpong`, a round-trip ratio: lower is better).
//! - `ringtop_no_chase_backoff` in `spsc_u64`, `spsc_batch` and `pingpong`: the same ring with
//!   the consumer's chase back-off off (`Consumer::set_chase_backoff(0)`), against rtrb: the
//!   back-off waits a number of spin-loop hints, whose length differs between CPUs by up to an
//!   order of magnitude.
//! - `rtrb_before` in `pingpong`: rtrb run a second time in each round, before ringtop (`rtrb`
//!   runs after it). `pingpong_rtrb_vs_rtrb_before` compares one ring with itself: its spread is
//!   the noise of a per-round ratio in that run, against which `pingpong_vs_rtrb`'s is read.
//! - `mpmc_1p1c`: the MPMC ring with one producer and one consumer (Mitems/s).
//!
//! Every consumer checks every value it receives, for every crate, so a faster wrong answer is
//! impossible.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use ringtop::Row;
use ringtop::monitor::{self, Monitor};
use ringtop::ring::{CachePadded, mpmc, relay, spsc};
use ringtop::topology::pin::{allowed_cpus, pin_current_thread};

const CAPACITY: usize = 4096;
/// Slices a round's share of every case is run in, interleaved (see `main`).
const SLICES: u64 = 10;
const BATCH: usize = 256;
/// Ring size for ping-pong. Only one item is ever in flight; a size of 64 keeps every crate's
/// slot array on its own cache lines, so no crate gains from the allocator happening to put both
/// rings' slots on one line (which a capacity of 2 allows for crates with unaligned buffers).
const PINGPONG_CAPACITY: usize = 64;

#[derive(Clone, Copy)]
struct Setup {
    items: u64,
    round_trips: u64,
    producer_cpu: usize,
    consumer_cpu: usize,
}

/// Runs a producer and a consumer on their CPUs; returns Mitems/s measured by the consumer from
/// the common start until its last item.
fn transfer<P: Send, C: Send>(
    setup: Setup,
    ends: (P, C),
    produce: impl FnOnce(P, u64) + Send,
    consume: impl FnOnce(C, u64) + Send,
) -> f64 {
    let (p, c) = ends;
    let barrier = Barrier::new(2);
    let n = setup.items;
    thread::scope(|s| {
        let b = &barrier;
        s.spawn(move || {
            pin_current_thread(setup.producer_cpu).expect("pin producer");
            b.wait();
            produce(p, n);
        });
        let consumer = s.spawn(move || {
            pin_current_thread(setup.consumer_cpu).expect("pin consumer");
            b.wait();
            let start = Instant::now();
            consume(c, n);
            start.elapsed()
        });
        let elapsed = consumer.join().expect("consumer");
        n as f64 / elapsed.as_secs_f64() / 1e6
    })
}

#[inline(always)]
fn check(got: u64, expected: u64) {
    assert_eq!(got, expected, "ring delivered an item out of sequence");
}

// ---- spsc_u64 / spsc_row: one item per call -------------------------------------------------

/// An item type the per-item benches move: `u64` or `Row`.
trait Item: Copy + Send + Sync + Default + 'static {
    fn make(i: u64) -> Self;
    fn seq(&self) -> u64;
}

impl Item for u64 {
    #[inline(always)]
    fn make(i: u64) -> Self {
        i
    }
    #[inline(always)]
    fn seq(&self) -> u64 {
        *self
    }
}

impl Item for Row {
    #[inline(always)]
    fn make(i: u64) -> Self {
        Row::new(i, i)
    }
    #[inline(always)]
    fn seq(&self) -> u64 {
        self.seq
    }
}

fn ringtop_spsc<T: Item>(s: Setup) -> f64 {
    ringtop_spsc_on(s, spsc::channel::<T>(CAPACITY).unwrap())
}

/// `spsc_u64` with the consumer's chase back-off off: whether the back-off, tuned where a
/// spin-loop hint is short, costs a machine where it is long.
fn ringtop_spsc_no_chase_backoff(s: Setup) -> f64 {
    let (tx, mut rx) = spsc::channel::<u64>(CAPACITY).unwrap();
    rx.set_chase_backoff(0);
    ringtop_spsc_on(s, (tx, rx))
}

/// A registry publishing into a private directory of its own (made by `publish_with`, mode
/// 0700, inside a temporary one), for the monitored cases: the segment goes when the registry is
/// dropped, the directories when the other half is.
fn bench_registry() -> (monitor::Registry, tempfile::TempDir) {
    let scratch = tempfile::Builder::new()
        .prefix("ringtop-bench-")
        .tempdir()
        .expect("a temporary directory");
    let dir = scratch.path().join("monitor");
    let registry =
        monitor::publish_with(&dir, "rings-bench", monitor::DEFAULT_INTERVAL).expect("publish");
    (registry, scratch)
}

/// `spsc_u64` on a ring published for `ringtop attach`: the cost of being watched.
fn ringtop_spsc_monitored(s: Setup) -> f64 {
    let (registry, _dir) = bench_registry();
    let ends = spsc::channel::<u64>(CAPACITY)
        .unwrap()
        .monitor(&registry, "bench")
        .unwrap();
    ringtop_spsc_on(s, ends)
}

fn ringtop_spsc_on<T: Item>(s: Setup, ends: (spsc::Producer<T>, spsc::Consumer<T>)) -> f64 {
    transfer(s, ends, push_each, |mut rx, n| {
        let mut i = 0;
        while i < n {
            if let Some(v) = rx.try_pop() {
                check(v.seq(), i);
                i += 1;
            }
        }
    })
}

/// Pushes items 0..n one at a time into ringtop's SPSC ring, spinning while it is full: the
/// producer of every per-item ringtop case.
fn push_each<T: Item>(mut tx: spsc::Producer<T>, n: u64) {
    for i in 0..n {
        let mut v = T::make(i);
        while let Err(back) = tx.try_push(v) {
            v = back;
            std::hint::spin_loop();
        }
    }
}

fn relay_spsc<T: Item>(s: Setup) -> f64 {
    transfer(
        s,
        relay::channel::<T>(CAPACITY).unwrap(),
        |mut tx, n| {
            for i in 0..n {
                let mut v = T::make(i);
                while let Err(back) = tx.try_push(v) {
                    v = back;
                    std::hint::spin_loop();
                }
            }
        },
        |mut rx, n| {
            let mut i = 0;
            while i < n {
                if let Some(v) = rx.try_pop() {
                    check(v.seq(), i);
                    i += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
        },
    )
}

fn rtrb_spsc<T: Item>(s: Setup) -> f64 {
    transfer(
        s,
        rtrb::RingBuffer::<T>::new(CAPACITY),
        |mut tx, n| {
            for i in 0..n {
                let mut v = T::make(i);
                while let Err(rtrb::PushError::Full(back)) = tx.push(v) {
                    v = back;
                    std::hint::spin_loop();
                }
            }
        },
        |mut rx, n| {
            let mut i = 0;
            while i < n {
                if let Ok(v) = rx.pop() {
                    check(v.seq(), i);
                    i += 1;
                }
            }
        },
    )
}

fn crossbeam_spsc<T: Item>(s: Setup) -> f64 {
    let q = Arc::new(crossbeam_queue::ArrayQueue::<T>::new(CAPACITY));
    transfer(
        s,
        (q.clone(), q),
        |tx, n| {
            for i in 0..n {
                let mut v = T::make(i);
                while let Err(back) = tx.push(v) {
                    v = back;
                    std::hint::spin_loop();
                }
            }
        },
        |rx, n| {
            let mut i = 0;
            while i < n {
                if let Some(v) = rx.pop() {
                    check(v.seq(), i);
                    i += 1;
                }
            }
        },
    )
}

fn ringbuf_spsc<T: Item>(s: Setup) -> f64 {
    use ringbuf::traits::{Consumer as _, Producer as _, Split as _};
    transfer(
        s,
        ringbuf::HeapRb::<T>::new(CAPACITY).split(),
        |mut tx, n| {
            for i in 0..n {
                let mut v = T::make(i);
                while let Err(back) = tx.try_push(v) {
                    v = back;
                    std::hint::spin_loop();
                }
            }
        },
        |mut rx, n| {
            let mut i = 0;
            while i < n {
                if let Some(v) = rx.try_pop() {
                    check(v.seq(), i);
                    i += 1;
                }
            }
        },
    )
}

/// Builds a single-producer disruptor with one event poller.
fn disruptor_pair<T: Item>() -> (
    disruptor::SingleProducer<T, disruptor::SingleConsumerBarrier>,
    disruptor::EventPoller<T, disruptor::SingleProducerBarrier>,
) {
    let builder = disruptor::build_single_producer(CAPACITY, T::default, disruptor::BusySpin);
    let (poller, builder) = builder.new_event_poller();
    (builder.build(), poller)
}

fn disruptor_consume<T: Item>(
    mut poller: disruptor::EventPoller<T, disruptor::SingleProducerBarrier>,
    n: u64,
) {
    let mut i = 0;
    while i < n {
        if let Ok(mut events) = poller.poll() {
            for e in &mut events {
                check(e.seq(), i);
                i += 1;
            }
        }
    }
}

fn disruptor_spsc<T: Item>(s: Setup) -> f64 {
    use disruptor::Producer as _;
    transfer(
        s,
        disruptor_pair::<T>(),
        |mut tx, n| {
            for i in 0..n {
                tx.publish(|e| *e = T::make(i));
            }
        },
        disruptor_consume,
    )
}

/// `spsc_row` with the consumer reading every row ready in one chunk, in place (the disruptor's
/// poller's way), the producer pushing one at a time.
fn ringtop_row_read_chunk(s: Setup) -> f64 {
    transfer(
        s,
        spsc::channel::<Row>(CAPACITY).unwrap(),
        push_each::<Row>,
        |rx, n| read_in_chunks(rx, n, CAPACITY),
    )
}

/// Reads `n` items in chunks of up to `max`, each item checked in place before the chunk is
/// released: ringtop's chunk consumer, for rows and for `u64`s alike.
#[inline(always)]
fn read_in_chunks<T: Item>(mut rx: spsc::Consumer<T>, n: u64, max: usize) {
    let mut i = 0;
    while i < n {
        let chunk = rx.read_chunk(max);
        let (a, b) = chunk.as_slices();
        for run in [a, b] {
            for item in run {
                check(item.seq(), i);
                i += 1;
            }
        }
        chunk.release();
    }
}

// ---- spsc_batch: each crate's batch API, chunks of 256 ----------------------------------------

fn ringtop_batch(s: Setup) -> f64 {
    ringtop_batch_on(s, spsc::channel::<u64>(CAPACITY).unwrap())
}

/// `spsc_batch` with the consumer's chase back-off off (see `ringtop_spsc_no_chase_backoff`).
fn ringtop_batch_no_chase_backoff(s: Setup) -> f64 {
    let (tx, mut rx) = spsc::channel::<u64>(CAPACITY).unwrap();
    rx.set_chase_backoff(0);
    ringtop_batch_on(s, (tx, rx))
}

/// `spsc_batch` on a ring published for `ringtop attach`.
fn ringtop_batch_monitored(s: Setup) -> f64 {
    let (registry, _dir) = bench_registry();
    let ends = spsc::channel::<u64>(CAPACITY)
        .unwrap()
        .monitor(&registry, "bench")
        .unwrap();
    ringtop_batch_on(s, ends)
}

fn ringtop_batch_on(s: Setup, ends: (spsc::Producer<u64>, spsc::Consumer<u64>)) -> f64 {
    transfer(
        s,
        ends,
        |mut tx, n| {
            let mut i = 0;
            while i < n {
                let mut chunk = tx.write_chunk(BATCH.min((n - i) as usize));
                let base = i;
                chunk.fill_with(|k| base + k as u64);
                i += chunk.commit() as u64;
            }
        },
        |rx, n| read_in_chunks(rx, n, BATCH),
    )
}

/// Chunks of [`BATCH`] items copied in from and out to the threads' own buffers, through a
/// crate's slice calls (`push` and `pop` return how many they copied): ringtop's and ringbuf's
/// cases run this same loop.
fn copy_through<P: Send, C: Send>(
    s: Setup,
    ends: (P, C),
    push: fn(&mut P, &[u64]) -> usize,
    pop: fn(&mut C, &mut [u64]) -> usize,
) -> f64 {
    transfer(
        s,
        ends,
        move |mut tx, n| {
            let mut buf = [0u64; BATCH];
            let mut i = 0;
            while i < n {
                let k = BATCH.min((n - i) as usize);
                for (j, slot) in buf[..k].iter_mut().enumerate() {
                    *slot = i + j as u64;
                }
                let mut sent = 0;
                while sent < k {
                    sent += push(&mut tx, &buf[sent..k]);
                }
                i += k as u64;
            }
        },
        move |mut rx, n| {
            let mut buf = [0u64; BATCH];
            let mut i = 0;
            while i < n {
                let k = pop(&mut rx, &mut buf);
                for &v in &buf[..k] {
                    check(v, i);
                    i += 1;
                }
            }
        },
    )
}

fn ringtop_slice(s: Setup) -> f64 {
    copy_through(
        s,
        spsc::channel::<u64>(CAPACITY).unwrap(),
        spsc::Producer::push_slice,
        spsc::Consumer::pop_slice,
    )
}

fn rtrb_batch(s: Setup) -> f64 {
    transfer(
        s,
        rtrb::RingBuffer::<u64>::new(CAPACITY),
        |mut tx, n| {
            let mut i = 0;
            while i < n {
                let k = tx.slots().min(BATCH).min((n - i) as usize);
                if k == 0 {
                    continue;
                }
                let chunk = tx.write_chunk_uninit(k).expect("slots were counted");
                i += chunk.fill_from_iter(i..) as u64;
            }
        },
        |mut rx, n| {
            let mut i = 0;
            while i < n {
                let k = rx.slots().min(BATCH);
                if k == 0 {
                    continue;
                }
                let chunk = rx.read_chunk(k).expect("slots were counted");
                let (a, b) = chunk.as_slices();
                for run in [a, b] {
                    for &v in run {
                        check(v, i);
                        i += 1;
                    }
                }
                chunk.commit_all();
            }
        },
    )
}

fn ringbuf_batch(s: Setup) -> f64 {
    use ringbuf::traits::{Consumer as _, Producer as _, Split as _};
    type Ends = (ringbuf::HeapProd<u64>, ringbuf::HeapCons<u64>);
    let push: fn(&mut ringbuf::HeapProd<u64>, &[u64]) -> usize = |tx, items| tx.push_slice(items);
    let pop: fn(&mut ringbuf::HeapCons<u64>, &mut [u64]) -> usize = |rx, out| rx.pop_slice(out);
    let ends: Ends = ringbuf::HeapRb::<u64>::new(CAPACITY).split();
    copy_through(s, ends, push, pop)
}

fn disruptor_batch(s: Setup) -> f64 {
    use disruptor::Producer as _;
    transfer(
        s,
        disruptor_pair::<u64>(),
        |mut tx, n| {
            let mut i = 0;
            while i < n {
                let k = BATCH.min((n - i) as usize);
                let base = i;
                tx.batch_publish(k, |iter| {
                    for (j, e) in iter.enumerate() {
                        *e = base + j as u64;
                    }
                });
                i += k as u64;
            }
        },
        disruptor_consume,
    )
}

// ---- mpmc ---------------------------------------------------------------------------------

fn ringtop_mpmc(s: Setup) -> f64 {
    transfer(
        s,
        mpmc::channel::<u64>(CAPACITY).unwrap(),
        |tx, n| {
            for i in 0..n {
                let mut v = i;
                while let Err(back) = tx.try_push(v) {
                    v = back;
                    std::hint::spin_loop();
                }
            }
        },
        |rx, n| {
            let mut i = 0;
            while i < n {
                if let Some(v) = rx.try_pop() {
                    check(v, i);
                    i += 1;
                }
            }
        },
    )
}

// ---- ping-pong ----------------------------------------------------------------------------

/// Runs `trips` round trips: the pinger on the producer CPU, the echo on the consumer CPU.
/// Returns mean ns per round trip.
fn round_trip<E: Send, P: Send>(
    setup: Setup,
    echo_side: E,
    ping_side: P,
    echo: impl FnOnce(E, u64) + Send,
    ping: impl FnOnce(P, u64) + Send,
) -> f64 {
    let barrier = Barrier::new(2);
    let trips = setup.round_trips;
    thread::scope(|s| {
        let b = &barrier;
        s.spawn(move || {
            pin_current_thread(setup.consumer_cpu).expect("pin echo");
            b.wait();
            echo(echo_side, trips);
        });
        let pinger = s.spawn(move || {
            pin_current_thread(setup.producer_cpu).expect("pin ping");
            b.wait();
            let start = Instant::now();
            ping(ping_side, trips);
            start.elapsed()
        });
        pinger.join().expect("pinger").as_nanos() as f64 / trips as f64
    })
}

fn ringtop_pingpong(s: Setup) -> f64 {
    ringtop_pingpong_on(
        s,
        spsc::channel::<u64>(PINGPONG_CAPACITY).unwrap(),
        spsc::channel::<u64>(PINGPONG_CAPACITY).unwrap(),
    )
}

/// `pingpong` on two rings published for `ringtop attach`: every round trip has a stall episode
/// on each side, so each publishes its counters once per trip.
fn ringtop_pingpong_monitored(s: Setup) -> f64 {
    let (registry, _dir) = bench_registry();
    let ping = spsc::channel::<u64>(PINGPONG_CAPACITY)
        .unwrap()
        .monitor(&registry, "ping")
        .unwrap();
    let pong = spsc::channel::<u64>(PINGPONG_CAPACITY)
        .unwrap()
        .monitor(&registry, "pong")
        .unwrap();
    ringtop_pingpong_on(s, ping, pong)
}

/// `pingpong` with both consumers' chase back-off off (see `ringtop_spsc_no_chase_backoff`).
fn ringtop_pingpong_no_chase_backoff(s: Setup) -> f64 {
    let (ping_tx, mut ping_rx) = spsc::channel::<u64>(PINGPONG_CAPACITY).unwrap();
    let (pong_tx, mut pong_rx) = spsc::channel::<u64>(PINGPONG_CAPACITY).unwrap();
    ping_rx.set_chase_backoff(0);
    pong_rx.set_chase_backoff(0);
    ringtop_pingpong_on(s, (ping_tx, ping_rx), (pong_tx, pong_rx))
}

type SpscEnds = (spsc::Producer<u64>, spsc::Consumer<u64>);

fn ringtop_pingpong_on(s: Setup, ping: SpscEnds, pong: SpscEnds) -> f64 {
    let ((ping_tx, ping_rx), (pong_tx, pong_rx)) = (ping, pong);
    round_trip(
        s,
        (ping_rx, pong_tx),
        (ping_tx, pong_rx),
        |(mut rx, mut tx), trips| {
            for _ in 0..trips {
                let v = loop {
                    if let Some(v) = rx.try_pop() {
                        break v;
                    }
                    std::hint::spin_loop();
                };
                while tx.try_push(v).is_err() {}
            }
        },
        |(mut tx, mut rx), trips| {
            for i in 0..trips {
                while tx.try_push(i).is_err() {}
                let v = loop {
                    if let Some(v) = rx.try_pop() {
                        break v;
                    }
                    std::hint::spin_loop();
                };
                check(v, i);
            }
        },
    )
}

fn relay_pingpong(s: Setup) -> f64 {
    let (ping_tx, ping_rx) = relay::channel::<u64>(PINGPONG_CAPACITY).unwrap();
    let (pong_tx, pong_rx) = relay::channel::<u64>(PINGPONG_CAPACITY).unwrap();
    round_trip(
        s,
        (ping_rx, pong_tx),
        (ping_tx, pong_rx),
        |(mut rx, mut tx), trips| {
            for _ in 0..trips {
                let v = loop {
                    if let Some(v) = rx.try_pop() {
                        break v;
                    }
                    std::hint::spin_loop();
                };
                while tx.try_push(v).is_err() {}
            }
        },
        |(mut tx, mut rx), trips| {
            for i in 0..trips {
                while tx.try_push(i).is_err() {}
                let v = loop {
                    if let Some(v) = rx.try_pop() {
                        break v;
                    }
                    std::hint::spin_loop();
                };
                check(v, i);
            }
        },
    )
}

fn rtrb_pingpong(s: Setup) -> f64 {
    let (ping_tx, ping_rx) = rtrb::RingBuffer::<u64>::new(PINGPONG_CAPACITY);
    let (pong_tx, pong_rx) = rtrb::RingBuffer::<u64>::new(PINGPONG_CAPACITY);
    round_trip(
        s,
        (ping_rx, pong_tx),
        (ping_tx, pong_rx),
        |(mut rx, mut tx), trips| {
            for _ in 0..trips {
                let v = loop {
                    if let Ok(v) = rx.pop() {
                        break v;
                    }
                    std::hint::spin_loop();
                };
                while tx.push(v).is_err() {}
            }
        },
        |(mut tx, mut rx), trips| {
            for i in 0..trips {
                while tx.push(i).is_err() {}
                let v = loop {
                    if let Ok(v) = rx.pop() {
                        break v;
                    }
                    std::hint::spin_loop();
                };
                check(v, i);
            }
        },
    )
}

/// Two padded atomics bounced between the CPUs: one cache-line transfer each way, no ring.
fn floor_pingpong(s: Setup) -> f64 {
    let lines = Arc::new((
        CachePadded::new(AtomicU64::new(u64::MAX)),
        CachePadded::new(AtomicU64::new(u64::MAX)),
    ));
    round_trip(
        s,
        lines.clone(),
        lines,
        |l, trips| {
            for i in 0..trips {
                while l.0.load(Ordering::Acquire) != i {
                    std::hint::spin_loop();
                }
                l.1.store(i, Ordering::Release);
            }
        },
        |l, trips| {
            for i in 0..trips {
                l.0.store(i, Ordering::Release);
                while l.1.load(Ordering::Acquire) != i {
                    std::hint::spin_loop();
                }
            }
        },
    )
}

/// How long one spin-loop hint (`pause` on x86) takes on `cpu`, in ns: the median of five
/// timings of a million hints on a thread pinned there. Every ping-pong contender polls with one
/// hint between looks, so it notices an item up to one hint late: where a hint is as long as a
/// hand-off (25-36 ns on the AMD development VM, where a round trip is 75-90 ns), a round trip's
/// figure moves by where the item lands in that wait, which a few ns of code before the first
/// look, or the loop's place in the binary, shifts.
fn spin_hint_ns(cpu: usize) -> f64 {
    const HINTS: u32 = 1_000_000;
    thread::scope(|s| {
        s.spawn(|| {
            pin_current_thread(cpu).expect("pin spin-hint timer");
            let timings: Vec<f64> = (0..5)
                .map(|_| {
                    let start = Instant::now();
                    for _ in 0..HINTS {
                        std::hint::spin_loop();
                    }
                    start.elapsed().as_nanos() as f64 / f64::from(HINTS)
                })
                .collect();
            median(&timings)
        })
        .join()
        .expect("spin-hint timer")
    })
}

// ---- single-threaded runs for instruction counts ------------------------------------------

/// Moves `n` items through one ring on one thread, in rounds of `BATCH` (push them, then pop
/// them), checking each: the work of a case without any cache-line transfer, for counting its
/// instructions under callgrind (`scripts/instructions.sh`). `baseline` builds nothing, so its
/// count is the process's own start-up, which the script subtracts. Returns `false` for an unknown
/// case.
fn single_thread(case: &str, n: u64) -> bool {
    use ringbuf::traits::{Consumer as _, Producer as _, Split as _};
    let rounds = n / BATCH as u64;
    match case {
        "baseline" => {}
        "spsc_u64/ringtop" => {
            let (mut tx, mut rx) = spsc::channel::<u64>(CAPACITY).unwrap();
            for r in 0..rounds {
                let base = r * BATCH as u64;
                (0..BATCH as u64).for_each(|k| tx.try_push(base + k).unwrap());
                (0..BATCH as u64).for_each(|k| check(rx.try_pop().unwrap(), base + k));
            }
        }
        "spsc_u64/ringtop_relay" => {
            let (mut tx, mut rx) = relay::channel::<u64>(CAPACITY).unwrap();
            for r in 0..rounds {
                let base = r * BATCH as u64;
                (0..BATCH as u64).for_each(|k| tx.try_push(base + k).unwrap());
                (0..BATCH as u64).for_each(|k| check(rx.try_pop().unwrap(), base + k));
            }
        }
        "spsc_u64/rtrb" => {
            let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
            for r in 0..rounds {
                let base = r * BATCH as u64;
                (0..BATCH as u64).for_each(|k| tx.push(base + k).unwrap());
                (0..BATCH as u64).for_each(|k| check(rx.pop().unwrap(), base + k));
            }
        }
        "spsc_u64/ringbuf" => {
            let (mut tx, mut rx) = ringbuf::HeapRb::<u64>::new(CAPACITY).split();
            for r in 0..rounds {
                let base = r * BATCH as u64;
                (0..BATCH as u64).for_each(|k| tx.try_push(base + k).unwrap());
                (0..BATCH as u64).for_each(|k| check(rx.try_pop().unwrap(), base + k));
            }
        }
        "spsc_u64/crossbeam" => {
            let q = crossbeam_queue::ArrayQueue::<u64>::new(CAPACITY);
            for r in 0..rounds {
                let base = r * BATCH as u64;
                (0..BATCH as u64).for_each(|k| q.push(base + k).unwrap());
                (0..BATCH as u64).for_each(|k| check(q.pop().unwrap(), base + k));
            }
        }
        "spsc_batch/ringtop" => {
            let (mut tx, mut rx) = spsc::channel::<u64>(CAPACITY).unwrap();
            for r in 0..rounds {
                let base = r * BATCH as u64;
                let mut chunk = tx.write_chunk(BATCH);
                chunk.fill_with(|k| base + k as u64);
                assert_eq!(chunk.commit(), BATCH);
                let chunk = rx.read_chunk(BATCH);
                let (a, b) = chunk.as_slices();
                let mut expected = base;
                for run in [a, b] {
                    for &v in run {
                        check(v, expected);
                        expected += 1;
                    }
                }
                chunk.release();
            }
        }
        "spsc_batch/rtrb" => {
            let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
            for r in 0..rounds {
                let base = r * BATCH as u64;
                let chunk = tx.write_chunk_uninit(BATCH).unwrap();
                assert_eq!(chunk.fill_from_iter(base..), BATCH);
                let chunk = rx.read_chunk(BATCH).unwrap();
                let (a, b) = chunk.as_slices();
                let mut expected = base;
                for run in [a, b] {
                    for &v in run {
                        check(v, expected);
                        expected += 1;
                    }
                }
                chunk.commit_all();
            }
        }
        "spsc_batch/ringbuf" => {
            let (mut tx, mut rx) = ringbuf::HeapRb::<u64>::new(CAPACITY).split();
            let mut buf = [0u64; BATCH];
            for r in 0..rounds {
                let base = r * BATCH as u64;
                for (k, slot) in buf.iter_mut().enumerate() {
                    *slot = base + k as u64;
                }
                assert_eq!(tx.push_slice(&buf), BATCH);
                assert_eq!(rx.pop_slice(&mut buf), BATCH);
                for (k, &v) in buf.iter().enumerate() {
                    check(v, base + k as u64);
                }
            }
        }
        _ => return false,
    }
    true
}

// ---- driver -------------------------------------------------------------------------------

struct Case {
    bench: &'static str,
    imp: &'static str,
    unit: &'static str,
    run: fn(Setup) -> f64,
    runs: Vec<f64>,
}

impl Case {
    fn new(
        bench: &'static str,
        imp: &'static str,
        unit: &'static str,
        run: fn(Setup) -> f64,
    ) -> Self {
        Self {
            bench,
            imp,
            unit,
            run,
            runs: Vec::new(),
        }
    }

    fn median(&self) -> f64 {
        median(&self.runs)
    }
}

fn cases() -> Vec<Case> {
    const T: &str = "Mitems/s";
    vec![
        Case::new("spsc_u64", "ringtop", T, ringtop_spsc::<u64>),
        Case::new("spsc_u64", "ringtop_monitored", T, ringtop_spsc_monitored),
        Case::new(
            "spsc_u64",
            "ringtop_no_chase_backoff",
            T,
            ringtop_spsc_no_chase_backoff,
        ),
        Case::new("spsc_u64", "ringtop_relay", T, relay_spsc::<u64>),
        Case::new("spsc_u64", "rtrb", T, rtrb_spsc::<u64>),
        Case::new("spsc_u64", "crossbeam", T, crossbeam_spsc::<u64>),
        Case::new("spsc_u64", "ringbuf", T, ringbuf_spsc::<u64>),
        Case::new("spsc_u64", "disruptor", T, disruptor_spsc::<u64>),
        Case::new("spsc_batch", "ringtop", T, ringtop_batch),
        Case::new(
            "spsc_batch",
            "ringtop_monitored",
            T,
            ringtop_batch_monitored,
        ),
        Case::new(
            "spsc_batch",
            "ringtop_no_chase_backoff",
            T,
            ringtop_batch_no_chase_backoff,
        ),
        Case::new("spsc_batch", "ringtop_slice", T, ringtop_slice),
        Case::new("spsc_batch", "rtrb", T, rtrb_batch),
        Case::new("spsc_batch", "ringbuf", T, ringbuf_batch),
        Case::new("spsc_batch", "disruptor", T, disruptor_batch),
        Case::new("spsc_row", "ringtop", T, ringtop_spsc::<Row>),
        Case::new("spsc_row", "rtrb", T, rtrb_spsc::<Row>),
        Case::new("spsc_row", "crossbeam", T, crossbeam_spsc::<Row>),
        Case::new("spsc_row", "ringbuf", T, ringbuf_spsc::<Row>),
        Case::new("spsc_row", "disruptor", T, disruptor_spsc::<Row>),
        Case::new("spsc_row", "ringtop_read_chunk", T, ringtop_row_read_chunk),
        // rtrb once before ringtop and once after it (`rtrb`): the two runs' ratio is what
        // identical rings show per round here, the scale for every per-round ratio of this case.
        Case::new("pingpong", "rtrb_before", "ns", rtrb_pingpong),
        Case::new("pingpong", "ringtop", "ns", ringtop_pingpong),
        Case::new(
            "pingpong",
            "ringtop_monitored",
            "ns",
            ringtop_pingpong_monitored,
        ),
        Case::new(
            "pingpong",
            "ringtop_no_chase_backoff",
            "ns",
            ringtop_pingpong_no_chase_backoff,
        ),
        Case::new("pingpong", "ringtop_relay", "ns", relay_pingpong),
        Case::new("pingpong", "rtrb", "ns", rtrb_pingpong),
        Case::new("pingpong", "floor", "ns", floor_pingpong),
        Case::new("mpmc_1p1c", "ringtop", T, ringtop_mpmc),
        Case::new("mpmc_1p1c", "crossbeam", T, crossbeam_spsc::<u64>),
    ]
}

fn runs_of<'a>(cases: &'a [Case], bench: &str, imp: &str) -> Option<&'a [f64]> {
    cases
        .iter()
        .find(|c| c.bench == bench && c.imp == imp)
        .map(|c| c.runs.as_slice())
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Ratios ringtop / peer for throughput (higher is better) and ringtop / floor for round trips
/// (lower is better, 1.0 is the physical limit): each round's ratio of the two contenders that
/// ran back to back in it, then the median of those and their spread, so a machine that changes
/// state between rounds moves both sides of each ratio together.
fn ratios(cases: &[Case]) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    let mut put = |name: String, a: Option<&[f64]>, b: Option<&[f64]>| {
        if let (Some(a), Some(b)) = (a, b) {
            let per_round: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
            if per_round.is_empty() {
                return;
            }
            let lowest = per_round.iter().copied().fold(f64::INFINITY, f64::min);
            let highest = per_round.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            out.insert(
                name,
                serde_json::json!({
                    "median": r3(median(&per_round)),
                    "min": r3(lowest),
                    "max": r3(highest),
                    "per_round": per_round.iter().map(|&r| r3(r)).collect::<Vec<_>>(),
                }),
            );
        }
    };
    for bench in ["spsc_u64", "spsc_batch", "spsc_row", "mpmc_1p1c"] {
        for peer in ["rtrb", "crossbeam", "ringbuf", "disruptor"] {
            put(
                format!("{bench}_vs_{peer}"),
                runs_of(cases, bench, "ringtop"),
                runs_of(cases, bench, peer),
            );
        }
    }
    for bench in ["spsc_u64", "spsc_batch", "pingpong"] {
        put(
            format!("{bench}_monitored_vs_unmonitored"),
            runs_of(cases, bench, "ringtop_monitored"),
            runs_of(cases, bench, "ringtop"),
        );
    }
    for peer in ["rtrb", "ringbuf"] {
        put(
            format!("spsc_batch_slice_vs_{peer}"),
            runs_of(cases, "spsc_batch", "ringtop_slice"),
            runs_of(cases, "spsc_batch", peer),
        );
    }
    // The batch goal's yardstick: in each round, the faster of rtrb's chunks and ringbuf's
    // slices, the two batch APIs a user would otherwise pick.
    let best_peer: Option<Vec<f64>> = match (
        runs_of(cases, "spsc_batch", "rtrb"),
        runs_of(cases, "spsc_batch", "ringbuf"),
    ) {
        (Some(a), Some(b)) => Some(a.iter().zip(b).map(|(x, y)| x.max(*y)).collect()),
        _ => None,
    };
    for (name, imp) in [("chunks", "ringtop"), ("slice", "ringtop_slice")] {
        put(
            format!("spsc_batch_{name}_vs_best_peer"),
            runs_of(cases, "spsc_batch", imp),
            best_peer.as_deref(),
        );
    }
    put(
        "spsc_row_read_chunk_vs_disruptor".into(),
        runs_of(cases, "spsc_row", "ringtop_read_chunk"),
        runs_of(cases, "spsc_row", "disruptor"),
    );
    let floor = runs_of(cases, "pingpong", "floor");
    put(
        "pingpong_vs_floor".into(),
        runs_of(cases, "pingpong", "ringtop"),
        floor,
    );
    put(
        "pingpong_relay_vs_floor".into(),
        runs_of(cases, "pingpong", "ringtop_relay"),
        floor,
    );
    put(
        "spsc_u64_relay_vs_rtrb".into(),
        runs_of(cases, "spsc_u64", "ringtop_relay"),
        runs_of(cases, "spsc_u64", "rtrb"),
    );
    put(
        "pingpong_rtrb_vs_floor".into(),
        runs_of(cases, "pingpong", "rtrb"),
        floor,
    );
    for bench in ["spsc_u64", "spsc_batch", "pingpong"] {
        put(
            format!("{bench}_no_chase_backoff_vs_rtrb"),
            runs_of(cases, bench, "ringtop_no_chase_backoff"),
            runs_of(cases, bench, "rtrb"),
        );
    }
    put(
        "pingpong_vs_rtrb".into(),
        runs_of(cases, "pingpong", "ringtop"),
        runs_of(cases, "pingpong", "rtrb"),
    );
    put(
        "pingpong_rtrb_vs_rtrb_before".into(),
        runs_of(cases, "pingpong", "rtrb"),
        runs_of(cases, "pingpong", "rtrb_before"),
    );
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    // `--single-thread CASE [--items N]`: one case on one thread, for callgrind.
    if let Some(case) = value_of("--single-thread") {
        let items = value_of("--items")
            .and_then(|n| n.parse().ok())
            .unwrap_or(2_000_000);
        if !single_thread(case, items) {
            eprintln!("rings bench: no single-thread case {case:?}");
            std::process::exit(2);
        }
        return;
    }
    let json = args.iter().any(|a| a == "--json");
    let quick = args.iter().any(|a| a == "--quick");
    let cpus = allowed_cpus();
    if cpus.len() < 2 {
        eprintln!("rings bench: needs two CPUs to pin to distinct cores; allowed: {cpus:?}");
        std::process::exit(2);
    }
    let setup = Setup {
        items: if quick { 2_000_000 } else { 10_000_000 },
        round_trips: if quick { 100_000 } else { 500_000 },
        producer_cpu: cpus[0],
        consumer_cpu: cpus[1],
    };
    let rounds = if quick { 3 } else { 15 };
    // `--only pingpong,spsc_u64`: run just these benches (for iterating on one of them).
    let only: Option<Vec<String>> =
        value_of("--only").map(|list| list.split(',').map(str::to_owned).collect());
    let mut cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|b| b == c.bench)))
        .collect();
    // One untimed pass of every case first: on the development VM the first round's first
    // contenders ran 1.5-2.3x slower than in any later round (ping-pong: ringtop 197-250 ns
    // against 99-125 after, in three runs), whatever they were, while the machine settled; the
    // first round's per-round ratios then measured the order of the cases, not the rings.
    for case in &cases {
        black_box((case.run)(setup));
    }
    // Each round runs every case `slices` times in turn, each time with that share of the items
    // (or round trips), and keeps the median of its slices: the contenders of a round then
    // interleave within tens of milliseconds, not a second or more, so that a change of the
    // VM's state in the middle of a round moves one slice of each, not all of one contender.
    let slices: u64 = value_of("--slices")
        .and_then(|n| n.parse().ok())
        .unwrap_or(SLICES)
        .max(1);
    let slice_setup = Setup {
        items: setup.items / slices,
        round_trips: setup.round_trips / slices,
        ..setup
    };
    for round in 0..rounds {
        let mut values: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
        for _ in 0..slices {
            for (case, v) in cases.iter().zip(&mut values) {
                v.push(black_box((case.run)(slice_setup)));
            }
        }
        for (case, v) in cases.iter_mut().zip(&values) {
            case.runs.push(median(v));
        }
        if !json {
            eprintln!("round {}/{rounds} done", round + 1);
        }
    }
    let results: Vec<_> = cases
        .iter()
        .map(|c| {
            serde_json::json!({
                "bench": c.bench,
                "impl": c.imp,
                "median": (c.median() * 100.0).round() / 100.0,
                "unit": c.unit,
                "runs": c.runs.iter().map(|r| (r * 100.0).round() / 100.0).collect::<Vec<_>>(),
            })
        })
        .collect();
    let ratios = ratios(&cases);
    let spin_hint = spin_hint_ns(setup.producer_cpu);
    if json {
        let doc = serde_json::json!({
            "suite": "rings",
            "quick": quick,
            "rounds": rounds,
            "slices": slices,
            "items": setup.items,
            "round_trips": setup.round_trips,
            "capacity": CAPACITY,
            "batch": BATCH,
            "producer_cpu": setup.producer_cpu,
            "consumer_cpu": setup.consumer_cpu,
            "spin_hint_ns": (spin_hint * 100.0).round() / 100.0,
            "results": results,
            "ratios": ratios,
        });
        println!("{doc}");
        return;
    }
    println!(
        "rings: {} items, {} round trips, {rounds} rounds, CPUs {} -> {}, a spin-loop hint \
         {spin_hint:.1} ns",
        setup.items, setup.round_trips, setup.producer_cpu, setup.consumer_cpu
    );
    for c in &cases {
        println!(
            "{:<12} {:<10} {:>10.2} {}",
            c.bench,
            c.imp,
            c.median(),
            c.unit
        );
    }
    for (k, v) in &ratios {
        println!(
            "{k:<28} median {} (rounds {}..{})",
            v["median"], v["min"], v["max"]
        );
    }
}
