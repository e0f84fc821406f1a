//! The producer and consumer loops. Between batches each worker looks at the shared settings
//! (pinning, batch, rate, codec, prefetch, pause, reset) and applies what changed; within a batch
//! it only moves rows.

use std::sync::Arc;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Duration;

use crate::metrics::LatencyHistogram;
use crate::metrics::integrity::{Integrity, InterleavedCheck, SequenceCheck, SessionCheck};
use crate::ring::WaitStrategy;
use crate::row::Row;
use crate::source::Source;
use crate::topology::pin::{current_cpu, pin_current_thread};
use crate::transport::session::SessionEvent;

use super::control::{Control, NO_CPU, SharedLatency, ThreadSlot};
use super::cut::{CutFollower, RowsAtCut, in_hand_at};
use super::ends::{ReadEnd, WriteEnd};

/// How often a consumer merges its latency samples into the shared histograms between two
/// interval cuts (`super::cut`), so that a cut finds few to merge and the run's totals stay
/// current.
const PUBLISH_EVERY: Duration = Duration::from_millis(10);

/// Looks at the ring alone that a busy-spinning consumer makes while it waits for rows, before
/// it turns its loop again (its controls, its samples' publishing): ~2.3 µs of spin hints on the
/// AMD development VM, so a change of the controls still lands within microseconds. A row is
/// noticed within one look and one hint and taken at once, where a whole turn of the loop
/// between two looks (the controls, the ring end's dispatch, an empty take, the schedule) came
/// between; the `low-latency` profile's one-way p50 fell 25–30 ns (docs/performance.md, "The
/// engine's one-way latency").
const SPIN_LOOKS_PER_TURN: u32 = 64;

/// Empty looks of a busy-spinning consumer between two looks at the clock for
/// [`PUBLISH_EVERY`]: one that read the clock on every look would take that much longer to see
/// the next row. A consumer that yields, sleeps or parks when idle looks on every poll (its polls
/// are far apart, and a thousand of them could take many seconds).
const IDLE_LOOKS_PER_CLOCK_READ: u32 = 1024;

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

/// When a worker publishes what it keeps locally (a consumer its samples and counters, a
/// producer its ring end's counters): every [`PUBLISH_EVERY`], judged by the clock read it makes
/// anyway when rows move (to time or pace them), and while idle (a consumer finding no rows, a
/// producer a full ring) by one clock read every `idle_polls_per_read` idle turns of its loop
/// (busy-spinning: every [`IDLE_LOOKS_PER_CLOCK_READ`] looks, so that its wait reads no clock).
struct PublishSchedule {
    last_ns: u64,
    idle_polls: u32,
    idle_polls_per_read: u32,
}

impl PublishSchedule {
    /// The schedule of a worker waiting with `wait` that makes up to `looks_per_turn` looks at
    /// its ring in each idle turn of its loop.
    fn new(now_ns: u64, wait: WaitStrategy, looks_per_turn: u32) -> Self {
        PublishSchedule {
            last_ns: now_ns,
            idle_polls: 0,
            idle_polls_per_read: if wait == WaitStrategy::BusySpin {
                (IDLE_LOOKS_PER_CLOCK_READ / looks_per_turn.max(1)).max(1)
            } else {
                1
            },
        }
    }

    /// Whether to publish now: `arrived_ns` is when the turn's rows were timed, `None` for an
    /// idle turn (then `clock` is read only every `idle_polls_per_read` of those).
    fn due(&mut self, arrived_ns: Option<u64>, clock: impl FnOnce() -> u64) -> bool {
        let now = match arrived_ns {
            Some(now) => now,
            None => {
                self.idle_polls = self.idle_polls.wrapping_add(1);
                if !self.idle_polls.is_multiple_of(self.idle_polls_per_read) {
                    return false;
                }
                clock()
            }
        };
        if now.saturating_sub(self.last_ns) < PUBLISH_EVERY.as_nanos() as u64 {
            return false;
        }
        self.last_ns = now;
        true
    }
}

/// The longest gap before the next paced row that a busy-spinning producer waits out on the
/// clock alone (no control checks, no spin hint): it sees the row due within one clock read,
/// where a full turn of its loop would add that turn to the row's one-way latency.
const SHORT_GAP_NS: u64 = 20_000;

/// A producer's rate schedule: row `k` after `start_ns` is due at `start_ns + k / rate`, and is
/// stamped with that time (so a row's one-way latency includes how late it was sent).
struct Pace {
    rate: u64,
    start_ns: u64,
    scheduled: u64,
}

impl Pace {
    fn new(rate: u64, now_ns: u64) -> Self {
        Pace {
            rate,
            start_ns: now_ns,
            scheduled: 0,
        }
    }

    /// Starts the schedule again from `now_ns` (a new rate, or the end of a pause).
    fn restart(&mut self, rate: u64, now_ns: u64) {
        *self = Pace::new(rate, now_ns);
    }

    /// Rows due at `now_ns` and not yet scheduled, at most `batch` (`batch` when unpaced).
    fn due(&self, now_ns: u64, batch: usize) -> usize {
        if self.rate == 0 {
            return batch;
        }
        let elapsed = u128::from(now_ns.saturating_sub(self.start_ns));
        let due = (elapsed * u128::from(self.rate) / 1_000_000_000) as u64 + 1;
        (due.saturating_sub(self.scheduled) as usize).min(batch)
    }

    /// When the next row falls due (`None` when unpaced).
    fn next_due_ns(&self) -> Option<u64> {
        (self.rate > 0).then(|| {
            let offset =
                (u128::from(self.scheduled) * 1_000_000_000).div_ceil(u128::from(self.rate));
            self.start_ns.saturating_add(offset as u64)
        })
    }

    /// The stamp of the `i`-th of the rows being scheduled now, read at `now_ns`.
    fn stamp(&self, i: usize, now_ns: u64) -> u64 {
        if self.rate == 0 {
            return now_ns;
        }
        let k = u128::from(self.scheduled + i as u64);
        self.start_ns + (k * 1_000_000_000 / u128::from(self.rate)) as u64
    }

    /// `n` more rows were scheduled.
    fn advance(&mut self, n: usize) {
        self.scheduled += n as u64;
    }
}

/// Records each row's latency at `now`: one histogram update for each run of rows with the same
/// stamp (a flat-out producer stamps a batch with one clock read), each row still counted once.
fn record_latencies(histogram: &mut LatencyHistogram, now: u64, rows: &[Row]) {
    for run in rows.chunk_by(|a, b| a.stamp_ns == b.stamp_ns) {
        histogram.record_n(now.saturating_sub(run[0].stamp_ns), run.len() as u64);
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
    let mut pace = Pace::new(control.rate.load(Relaxed), control.now_ns());
    let busy = job.wait == WaitStrategy::BusySpin;
    let mut prefetch = usize::MAX;
    // The endpoint's counters are published on the clock the pacing reads anyway (`now` of the
    // latest batch), so a producer that writes reads no clock of its own for them; one stuck on
    // a full ring publishes too, on the schedule an idle consumer keeps, so the stall it is in
    // shows while it lasts.
    let mut now = pace.start_ns;
    let mut schedule = PublishSchedule::new(now, job.wait, 1);

    while !control.stop.load(Relaxed) {
        follow_pinning(&slot, &mut pinned_to);
        if let Some(distance) = changed(&control.prefetch, &mut prefetch) {
            job.sink.set_prefetch(distance);
        }
        let rate = control.rate.load(Relaxed);
        if rate != pace.rate {
            pace.restart(rate, control.now_ns());
        }
        if offset == pending.len() {
            if control.paused.load(Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                pace.restart(rate, control.now_ns());
                continue;
            }
            let batch = control.batch.load(Relaxed).max(1);
            now = control.now_ns();
            let mut n = pace.due(now, batch);
            // The next row falls due soon: a busy-spinning producer makes it now and then waits
            // out the gap on the clock alone, so that its one-way latency starts with the
            // hand-off, not with a turn of this loop and the making of the row.
            let mut due_at = None;
            if n == 0
                && busy
                && let Some(next) = pace.next_due_ns()
                && next.saturating_sub(now) <= SHORT_GAP_NS
            {
                n = 1;
                due_at = Some(next);
            }
            if n == 0 {
                idle.wait();
                continue;
            }
            pending.clear();
            pending.resize(n, Row::default());
            job.values.fill_values(&mut pending);
            for (i, row) in pending.iter_mut().enumerate() {
                row.seq = tag | (seq + i as u64);
                row.stamp_ns = pace.stamp(i, now);
            }
            seq += n as u64;
            pace.advance(n);
            offset = 0;
            if let Some(next) = due_at {
                while now < next {
                    now = control.now_ns();
                }
            }
        }
        let written = job
            .sink
            .offer(&pending[offset..], control.codec(), &slot.codec);
        if written == 0 {
            if job.sink.is_abandoned() {
                break;
            }
            if schedule.due(None, || control.now_ns()) {
                slot.publish_endpoint(job.sink.endpoint_counters());
            }
            idle.wait();
            continue;
        }
        idle.reset();
        offset += written;
        slot.rows.fetch_add(written as u64, Relaxed);
        if schedule.due(Some(now), || now) {
            slot.publish_endpoint(job.sink.endpoint_counters());
        }
    }
    job.sink.finish();
    slot.publish_endpoint(job.sink.endpoint_counters());
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
    let busy = job.wait == WaitStrategy::BusySpin;
    let mut rows: Vec<Row> = Vec::new();
    let mut local = LatencyHistogram::new();
    // Busy-spinning on a local ring: between turns, looks at the ring alone.
    let spins = busy && job.source.can_spin();
    let looks_per_turn = if spins { SPIN_LOOKS_PER_TURN } else { 1 };
    let mut schedule = PublishSchedule::new(control.now_ns(), job.wait, looks_per_turn);
    let mut reset_seen = control.reset_epoch.load(Relaxed);
    let mut prefetch = usize::MAX;
    let mut cuts = CutFollower::new();

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
        if spins {
            job.source.spin_until_ready(SPIN_LOOKS_PER_TURN);
        }
        // The cut as it stood before the take: whether these rows leave the ring before a cut
        // or after it (below).
        let cut_before_take = control.cut.load(Relaxed);
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
        let mut arrived_ns = None;
        let announced;
        if n == 0 {
            if job.source.is_drained() {
                break;
            }
            announced = control.cut.load(SeqCst);
            if cuts.due(announced, None) {
                cross(&slot, &mut local, &mut cuts, announced, 0, &job);
            }
            if !spins {
                idle.wait_or_park(|at_most| {
                    // Asleep holding nothing, so that a reading can cross a cut for it.
                    if !cuts.holding(announced) && !local.is_empty() {
                        publish(&slot, &mut local, true);
                    }
                    cuts.sleep(&slot.cut, announced, slot.rows.load(Relaxed));
                    let woke = job.source.park(at_most);
                    cuts.wake(&slot.cut);
                    woke
                });
            }
        } else {
            idle.reset();
            let now = control.now_ns();
            arrived_ns = Some(now);
            // After the clock read: nothing between taking the rows and timing them.
            announced = control.cut.load(SeqCst);
            if cuts.due(announced, arrived_ns) {
                // Before these rows' samples: they belong to the interval after the cut.
                let in_hand = in_hand_at(announced, cut_before_take, n as u64);
                cross(&slot, &mut local, &mut cuts, announced, in_hand, &job);
            }
            if job.source.same_clock() {
                record_latencies(&mut local, now, &rows);
            }
            for row in &rows {
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
        // Samples the lock was busy for wait in `local` for the next turn, and so do those after
        // a cut this consumer crossed until the reading has taken its interval.
        if !cuts.holding(announced)
            && schedule.due(arrived_ns, || control.now_ns())
            && publish(&slot, &mut local, false)
        {
            publish_counters(&slot, &job);
        }
    }
    publish_counters(&slot, &job);
    if let Ok(mut shared) = slot.latency.lock() {
        merge(&mut shared, &mut local);
        shared.complete = true;
    }
    slot.finished.store(true, Release);
}

/// Crosses the interval cut `cut` holding `in_hand` rows taken but not yet timed: merges the
/// samples held (all of rows before the cut), publishes the counters, and marks the rows for the
/// reading waiting on it.
fn cross(
    slot: &ThreadSlot,
    local: &mut LatencyHistogram,
    cuts: &mut CutFollower,
    cut: u64,
    in_hand: u64,
    job: &ConsumerJob,
) {
    publish(slot, local, true);
    publish_counters(slot, job);
    let rows = slot.rows.load(Relaxed);
    cuts.cross(&slot.cut, cut, RowsAtCut { rows, in_hand });
}

/// Publishes the consumer's ring-end counters and what its sequence check found.
fn publish_counters(slot: &ThreadSlot, job: &ConsumerJob) {
    slot.publish_endpoint(job.source.endpoint_counters());
    slot.publish_integrity(job.check.integrity());
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
            merge(&mut shared, local);
            true
        }
        None => false,
    }
}

/// Moves every local sample into the shared interval and total histograms.
fn merge(shared: &mut SharedLatency, local: &mut LatencyHistogram) {
    shared.interval.merge(local);
    shared.total.merge(local);
    local.reset();
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// Runs of one stamp are one update each, yet every row counts once with its own latency,
    /// a stamp seen again after another included.
    #[test]
    fn each_row_is_timed_once_whatever_runs_its_stamps_make() {
        let rows: Vec<Row> = [10, 10, 10, 40, 40, 10, 99]
            .iter()
            .map(|&stamp_ns| Row {
                stamp_ns,
                ..Row::default()
            })
            .collect();
        let mut histogram = LatencyHistogram::new();
        record_latencies(&mut histogram, 100, &rows);
        let mut one_by_one = LatencyHistogram::new();
        for row in &rows {
            one_by_one.record(100 - row.stamp_ns);
        }
        assert_eq!(histogram.summary(), one_by_one.summary());
        let summary = histogram.summary();
        assert_eq!(
            (
                summary.count,
                summary.min_ns,
                summary.p50_ns,
                summary.max_ns
            ),
            (7, 1, 90, 90)
        );
    }

    #[test]
    fn an_idle_consumer_reads_the_clock_once_per_thousand_looks_and_publishes_on_time() {
        let every = PUBLISH_EVERY.as_nanos() as u64;
        let mut schedule = PublishSchedule::new(1_000, WaitStrategy::BusySpin, 1);
        let reads = Cell::new(0);
        let clock = |now: u64| {
            reads.set(reads.get() + 1);
            now
        };
        for _ in 1..IDLE_LOOKS_PER_CLOCK_READ {
            assert!(!schedule.due(None, || clock(1_000 + every)));
        }
        assert_eq!(reads.get(), 0, "empty polls do not read the clock");
        assert!(schedule.due(None, || clock(1_000 + every)));
        assert_eq!(reads.get(), 1);

        // Rows bring their own arrival time: due once PUBLISH_EVERY has passed since the last.
        let last = 1_000 + every;
        assert!(!schedule.due(Some(last + every - 1), || clock(0)));
        assert!(schedule.due(Some(last + every), || clock(0)));
        assert_eq!(reads.get(), 1, "polls with rows use their arrival time");

        // One that looks at its ring 64 times a turn: a clock read every 16 empty turns, the
        // same 1024 looks.
        let mut schedule = PublishSchedule::new(1_000, WaitStrategy::BusySpin, 64);
        reads.set(0);
        for _ in 1..16 {
            assert!(!schedule.due(None, || clock(1_000 + every)));
        }
        assert_eq!(reads.get(), 0);
        assert!(schedule.due(None, || clock(1_000 + every)));
        assert_eq!(reads.get(), 1);
    }

    #[test]
    fn a_paced_row_falls_due_at_its_stamp_and_not_a_nanosecond_before() {
        // 300,000 rows/s: 3,333.3 ns apart, so the due times need rounding up.
        let mut pace = Pace::new(300_000, 1_000);
        assert_eq!(pace.due(1_000, 8), 1, "the first row is due at once");
        assert_eq!(pace.stamp(0, 1_000), 1_000);
        pace.advance(1);
        for k in 1..50u64 {
            let next = pace.next_due_ns().unwrap();
            assert_eq!(pace.due(next - 1, 8), 0, "row {k} is not due before {next}");
            assert_eq!(pace.due(next, 8), 1, "row {k} is due at {next}");
            let stamp = pace.stamp(0, next);
            assert!(
                stamp <= next && next - stamp <= 1,
                "row {k}: stamp {stamp}, due {next}"
            );
            pace.advance(1);
        }
        assert_eq!(pace.due(1_000 + 1_000_000_000, usize::MAX), 300_001 - 50);
        let unpaced = Pace::new(0, 5);
        assert_eq!((unpaced.due(7, 64), unpaced.next_due_ns()), (64, None));
        assert_eq!(
            unpaced.stamp(3, 7),
            7,
            "an unpaced row is stamped when it is made"
        );
    }

    #[test]
    fn a_consumer_that_sleeps_when_idle_looks_at_the_clock_on_every_empty_poll() {
        let every = PUBLISH_EVERY.as_nanos() as u64;
        let mut schedule = PublishSchedule::new(0, WaitStrategy::SpinPark { spins: 100 }, 1);
        assert!(!schedule.due(None, || every - 1));
        assert!(
            schedule.due(None, || every),
            "a parked consumer's samples are published on time"
        );
    }
}
