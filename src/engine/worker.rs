//! The producer and consumer loops. Between batches each worker looks at the shared settings
//! (pinning, batch, rate, codec, prefetch, pause, reset) and applies what changed; within a batch
//! it only moves rows.

use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::time::{Duration, Instant};

use crate::metrics::LatencyHistogram;
use crate::metrics::integrity::{Integrity, InterleavedCheck, SequenceCheck, SessionCheck};
use crate::ring::WaitStrategy;
use crate::row::Row;
use crate::source::Source;
use crate::topology::pin::{current_cpu, pin_current_thread};
use crate::transport::session::SessionEvent;

use super::control::{Control, NO_CPU, ThreadSlot};
use super::ends::{ReadEnd, WriteEnd};

/// How often a consumer merges its latency samples into the shared histograms.
const PUBLISH_EVERY: Duration = Duration::from_millis(10);

/// Bits of a row's sequence number that say which producer wrote it (MPMC).
pub(crate) const PRODUCER_SHIFT: u32 = 48;

/// The longest a consumer sleeps on its source before looking at its controls again.
const PARK_AT_MOST: Duration = Duration::from_millis(20);

/// Waiting when there is nothing to do, per the side's strategy.
struct Idle {
    strategy: WaitStrategy,
    spins: u32,
}

impl Idle {
    fn new(strategy: WaitStrategy) -> Self {
        Idle { strategy, spins: 0 }
    }

    fn wait(&mut self) {
        self.wait_or_park(|_| false);
    }

    /// As [`Idle::wait`], past a spin-park budget first offering `park` the chance to sleep
    /// until the other side makes progress (a shared-memory ring's futex); a brief sleep when it
    /// cannot.
    fn wait_or_park(&mut self, park: impl FnOnce(Duration) -> bool) {
        self.spins = self.spins.saturating_add(1);
        if let WaitStrategy::SpinPark { spins } = self.strategy
            && self.spins > spins
            && park(PARK_AT_MOST)
        {
            return;
        }
        match self.strategy {
            WaitStrategy::BusySpin => std::hint::spin_loop(),
            WaitStrategy::SpinYield { spins } if self.spins > spins => std::thread::yield_now(),
            // A polling loop has nothing to be woken by: past the spin budget it sleeps briefly.
            WaitStrategy::SpinPark { spins } if self.spins > spins => {
                std::thread::sleep(Duration::from_micros(50));
            }
            _ => std::hint::spin_loop(),
        }
    }

    fn reset(&mut self) {
        self.spins = 0;
    }
}

/// Moves the thread when the handle asked for another CPU, and records where it runs.
fn follow_pinning(slot: &ThreadSlot, pinned_to: &mut usize) {
    let want = slot.want_cpu.load(Acquire);
    if want == *pinned_to || want == NO_CPU {
        return;
    }
    *pinned_to = want;
    match pin_current_thread(want) {
        Ok(()) => {
            if let Ok(mut e) = slot.last_error.lock() {
                *e = None;
            }
        }
        Err(err) => {
            if let Ok(mut e) = slot.last_error.lock() {
                *e = Some(err.to_string());
            }
        }
    }
    if let Ok(cpu) = current_cpu() {
        slot.cpu.store(cpu, Relaxed);
    }
}

/// The setting's new value when it differs from `seen` (which is updated).
fn changed(setting: &std::sync::atomic::AtomicUsize, seen: &mut usize) -> Option<usize> {
    let now = setting.load(Relaxed);
    (now != *seen).then(|| {
        *seen = now;
        now
    })
}

/// What a producer needs.
pub(crate) struct ProducerJob {
    pub(crate) slot: Arc<ThreadSlot>,
    pub(crate) control: Arc<Control>,
    pub(crate) sink: WriteEnd,
    pub(crate) values: Source,
    pub(crate) index: u64,
    pub(crate) wait: WaitStrategy,
}

pub(crate) fn produce(mut job: ProducerJob) {
    let ProducerJob { slot, control, .. } = &job;
    let (slot, control) = (slot.clone(), control.clone());
    let mut pinned_to = NO_CPU;
    follow_pinning(&slot, &mut pinned_to);
    slot.open_counters();
    let mut idle = Idle::new(job.wait);
    let mut pending: Vec<Row> = Vec::new();
    let mut offset = 0;
    let mut seq = 0u64;
    let tag = job.index << PRODUCER_SHIFT;
    // The rate schedule: row `n` after `schedule_start` is due at `schedule_start + n / rate`.
    let mut schedule_start = control.now_ns();
    let mut scheduled = 0u64;
    let mut rate = control.rate.load(Relaxed);
    let mut prefetch = usize::MAX;
    let mut last_publish = Instant::now();

    while !control.stop.load(Relaxed) {
        follow_pinning(&slot, &mut pinned_to);
        if let Some(distance) = changed(&control.prefetch, &mut prefetch) {
            job.sink.set_prefetch(distance);
        }
        let new_rate = control.rate.load(Relaxed);
        if new_rate != rate {
            rate = new_rate;
            schedule_start = control.now_ns();
            scheduled = 0;
        }
        if offset == pending.len() {
            if control.paused.load(Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                schedule_start = control.now_ns();
                scheduled = 0;
                continue;
            }
            let batch = control.batch.load(Relaxed).max(1);
            let now = control.now_ns();
            let n = if rate == 0 {
                batch
            } else {
                let due = (u128::from(now - schedule_start) * u128::from(rate) / 1_000_000_000)
                    as u64
                    + 1;
                (due.saturating_sub(scheduled) as usize).min(batch)
            };
            if n == 0 {
                idle.wait();
                continue;
            }
            pending.clear();
            pending.resize(n, Row::default());
            job.values.fill_values(&mut pending);
            for (i, row) in pending.iter_mut().enumerate() {
                row.seq = tag | (seq + i as u64);
                row.stamp_ns = if rate == 0 {
                    now
                } else {
                    schedule_start
                        + ((scheduled + i as u64) as u128 * 1_000_000_000 / u128::from(rate)) as u64
                };
            }
            seq += n as u64;
            scheduled += n as u64;
            offset = 0;
        }
        let written = job
            .sink
            .offer(&pending[offset..], control.codec(), &slot.codec);
        if written == 0 {
            if job.sink.is_abandoned() {
                break;
            }
            idle.wait();
            continue;
        }
        idle.reset();
        offset += written;
        slot.rows.fetch_add(written as u64, Relaxed);
        if last_publish.elapsed() >= PUBLISH_EVERY {
            last_publish = Instant::now();
            slot.publish_endpoint(job.sink.endpoint_stats());
        }
    }
    job.sink.finish();
    slot.publish_endpoint(job.sink.endpoint_stats());
    slot.finished.store(true, Relaxed);
    // Dropping the sink tells consumers nothing more is coming.
}

/// How a consumer checks sequence numbers.
pub(crate) enum Check {
    /// One producer, every row: consecutive numbers.
    Consecutive(SequenceCheck),
    /// Several producers sharing the rows: per producer, increasing.
    Interleaved(InterleavedCheck),
    /// Senders on another host, one session after another.
    Sessions(SessionCheck),
}

impl Check {
    fn integrity(&self) -> Integrity {
        match self {
            Check::Consecutive(check) => check.integrity(),
            Check::Interleaved(check) => check.integrity(),
            Check::Sessions(check) => check.integrity(),
        }
    }
}

/// What a consumer needs.
pub(crate) struct ConsumerJob {
    pub(crate) slot: Arc<ThreadSlot>,
    pub(crate) control: Arc<Control>,
    pub(crate) source: ReadEnd,
    pub(crate) check: Check,
    pub(crate) wait: WaitStrategy,
}

pub(crate) fn consume(mut job: ConsumerJob) {
    let slot = job.slot.clone();
    let control = job.control.clone();
    let mut pinned_to = NO_CPU;
    follow_pinning(&slot, &mut pinned_to);
    slot.open_counters();
    let mut idle = Idle::new(job.wait);
    let mut rows: Vec<Row> = Vec::new();
    let mut local = LatencyHistogram::new();
    let mut last_publish = Instant::now();
    let mut reset_seen = control.reset_epoch.load(Relaxed);
    let mut prefetch = usize::MAX;

    loop {
        follow_pinning(&slot, &mut pinned_to);
        if let Some(distance) = changed(&control.prefetch, &mut prefetch) {
            job.source.set_prefetch(distance);
        }
        let reset = control.reset_epoch.load(Relaxed);
        if reset != reset_seen {
            reset_seen = reset;
            local.reset();
            if let Ok(mut shared) = slot.latency.lock() {
                shared.interval.reset();
                shared.total.reset();
            }
        }
        rows.clear();
        let batch = control.batch.load(Relaxed).max(1);
        let n = job.source.take(batch, &mut rows, &slot.codec);
        if let Some(event) = job.source.take_event() {
            if let Check::Sessions(check) = &mut job.check {
                match event {
                    SessionEvent::Start {
                        run_id, next_seq, ..
                    } => check.start(run_id, next_seq),
                    SessionEvent::End { rows_sent, .. } => check.end(rows_sent),
                }
            }
            continue;
        }
        if n == 0 {
            if job.source.is_drained() {
                break;
            }
            idle.wait_or_park(|at_most| job.source.park(at_most));
        } else {
            idle.reset();
            let now = control.now_ns();
            let timed = job.source.same_clock();
            for row in &rows {
                if timed {
                    local.record(now.saturating_sub(row.stamp_ns));
                }
                match &mut job.check {
                    Check::Consecutive(check) => check.observe(row.seq),
                    Check::Interleaved(check) => check.observe(
                        (row.seq >> PRODUCER_SHIFT) as usize,
                        row.seq & ((1 << PRODUCER_SHIFT) - 1),
                    ),
                    Check::Sessions(check) => check.observe(row.seq),
                }
            }
            slot.rows.fetch_add(n as u64, Relaxed);
        }
        if last_publish.elapsed() >= PUBLISH_EVERY && publish(&slot, &mut local, false) {
            last_publish = Instant::now();
            slot.publish_endpoint(job.source.endpoint_stats());
            slot.publish_integrity(job.check.integrity());
        }
    }
    publish(&slot, &mut local, true);
    slot.publish_endpoint(job.source.endpoint_stats());
    slot.publish_integrity(job.check.integrity());
    slot.finished.store(true, Relaxed);
}

/// Merges local samples into the shared histograms; without `wait`, only if the lock is free.
fn publish(slot: &ThreadSlot, local: &mut LatencyHistogram, wait: bool) -> bool {
    let guard = if wait {
        slot.latency.lock().ok()
    } else {
        slot.latency.try_lock().ok()
    };
    match guard {
        Some(mut shared) => {
            shared.interval.merge(local);
            shared.total.merge(local);
            local.reset();
            true
        }
        None => false,
    }
}
