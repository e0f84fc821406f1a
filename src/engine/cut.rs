//! Interval cuts: one instant that ends an interval for a consumer's latency samples and for its
//! row count alike.
//!
//! A consumer records latency into a histogram of its own and merges it into the shared one now
//! and then (`worker`), while its row count moves at once. A reading that took both as they
//! stood would pair the rows consumed up to its instant with the samples merged by then, up to
//! 10 ms behind: an interval's latency would hold the end of the previous interval. So a reading
//! announces a cut ([`Control::cut`](super::control::Control)) and each running consumer, at its
//! next look, merges the samples it holds (those of every row that arrived before the cut), notes
//! its row count and says so ([`CutMark`]); the samples of rows after the cut stay with the
//! consumer until the reading has taken the interval and withdrawn the cut. A consumer asleep on
//! its source with nothing held is crossed by the reading on its behalf, so a reading waits only
//! for consumers that are awake, for a few microseconds.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::time::{Duration, Instant};

use crate::metrics::snapshot::Role;

use super::control::{Control, ThreadSlot};

/// "No cut announced" in [`Control::cut`](super::control::Control); a cut is a nonzero
/// `CLOCK_MONOTONIC` instant in nanoseconds.
pub(crate) const NO_CUT: u64 = 0;

/// Marks a [`CutMark`] whose consumer sleeps on its source holding no samples. Cuts are
/// nanoseconds since boot: they never reach this bit.
const PARKED: u64 = 1 << 63;

/// How long a reading waits for a consumer to cross its cut: longer than a consumer sleeps on its
/// source while it holds samples (20 ms), so only one descheduled that long, or stuck, misses it.
pub(crate) const CUT_WAIT_AT_MOST: Duration = Duration::from_millis(100);

/// Where one worker stood at a reading's cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AtCut {
    /// Not asked: a consumer already ended, or no cut was made.
    NotAsked,
    /// Its rows at the cut: a consumer that crossed it (its samples of those rows, and of no
    /// later ones, are merged), or a producer's count read as the cut was announced.
    Crossed(RowsAtCut),
    /// Did not cross it within [`CUT_WAIT_AT_MOST`]: its figures are taken as they stood.
    Late,
}

/// One worker's rows at a cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowsAtCut {
    /// Rows written, or consumed (taken and timed), before the cut.
    pub(crate) rows: u64,
    /// A consumer's rows taken out of the ring before it crossed the cut but timed after it:
    /// they are the next interval's rows, yet no longer fill the ring (a fill counted without
    /// them could exceed the ring's capacity by a batch).
    pub(crate) in_hand: u64,
}

impl RowsAtCut {
    /// `rows` counted, none in hand.
    pub(crate) fn counted(rows: u64) -> Self {
        RowsAtCut { rows, in_hand: 0 }
    }
}

/// Announces a cut now, counts the producers' rows at once, and waits until every running
/// consumer has crossed it (or ended, or [`CUT_WAIT_AT_MOST`] has passed): where each of `slots`
/// stood. Call [`withdraw`] once the interval's figures are taken.
pub(crate) fn announce(control: &Control, slots: &[Arc<ThreadSlot>]) -> Vec<AtCut> {
    // Readings are far apart on a nanosecond clock, so no two cuts are alike, and none is 0.
    // Sequentially consistent with the loads of the consumers' thread ids below, as a starting
    // consumer stores its id before it loads the cut: a consumer this reading takes for not
    // started sees the cut at its first look.
    let cut = control.now_ns().max(1);
    control.cut.store(cut, SeqCst);
    // Before the wait: rows written while it lasts belong to the next interval (counted with
    // them, the ring would seem to hold more than it can).
    let produced: Vec<Option<u64>> = slots
        .iter()
        .map(|slot| (slot.role == Role::Producer).then(|| slot.rows.load(Relaxed)))
        .collect();
    let deadline = Instant::now() + CUT_WAIT_AT_MOST;
    slots
        .iter()
        .zip(produced)
        .map(|(slot, produced)| match produced {
            Some(rows) => AtCut::Crossed(RowsAtCut::counted(rows)),
            None if slot.tid.load(SeqCst) != 0 => crossing(slot, cut, deadline),
            // Not started: it consumed nothing before the cut, and the rows it takes from now
            // on belong to the next interval with their samples (it crosses this cut at its
            // first look and holds them), however many it has taken by the time the reading
            // reads its slot.
            None => AtCut::Crossed(RowsAtCut::counted(0)),
        })
        .collect()
}

/// How long a reading spins on a consumer's mark before it sleeps between looks. A consumer
/// running on another CPU crosses within microseconds, where a reading that yielded at once to a
/// busy-spinning worker sharing its CPU waited out that worker's time slice: on the 2-vCPU
/// development VM (`default` profile, a reading every 10 ms) the wait's median was 3.9 ms
/// yielding first and 0.14 ms with this spin first.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(50);

/// Waits until the consumer in `slot` has crossed `cut` (or ended, or `deadline` has passed).
fn crossing(slot: &ThreadSlot, cut: u64, deadline: Instant) -> AtCut {
    let spin_until = Instant::now() + SPIN_BEFORE_SLEEP;
    loop {
        if let Some(rows) = slot.cut.rows_at(cut) {
            return AtCut::Crossed(rows);
        }
        // Ended: its last samples and rows are all in (`SharedLatency::complete`).
        if slot.finished.load(Acquire) {
            return AtCut::NotAsked;
        }
        let now = Instant::now();
        if now >= deadline {
            return AtCut::Late;
        }
        if now < spin_until {
            std::hint::spin_loop();
        } else {
            std::thread::sleep(Duration::from_micros(20));
        }
    }
}

/// How many of the `taken` rows a consumer is about to cross `announced` with count as in hand at
/// it ([`RowsAtCut::in_hand`]), given the cut it read before taking them (`cut_before_take`).
/// Taken before the announcement (the consumer read no cut, or an earlier one), they are out of
/// the ring at the cut though timed after it: all in hand. Taken after it, none: the producers'
/// rows were counted at the announcement, so neither these rows nor the refill of the slots they
/// freed are in that count; both belong to the next interval.
pub(crate) fn in_hand_at(announced: u64, cut_before_take: u64, taken: u64) -> u64 {
    if cut_before_take == announced {
        0
    } else {
        taken
    }
}

/// Withdraws the cut once its interval is taken: consumers merge their later samples again.
pub(crate) fn withdraw(control: &Control) {
    control.cut.store(NO_CUT, Relaxed);
}

/// Where one consumer stands with the cuts, shared with the readings: the last cut crossed (by the
/// consumer, or on its behalf while it slept), with [`PARKED`] while it sleeps holding nothing,
/// and its rows at that cut.
#[derive(Debug, Default)]
pub(crate) struct CutMark {
    state: AtomicU64,
    rows: AtomicU64,
    in_hand: AtomicU64,
}

impl CutMark {
    /// The reading's side: the consumer's rows at `cut` once it has crossed it, crossing it on
    /// the consumer's behalf if it sleeps holding nothing; `None` while it has neither.
    pub(crate) fn rows_at(&self, cut: u64) -> Option<RowsAtCut> {
        let state = self.state.load(Acquire);
        let crossed = state == cut
            || (state & PARKED != 0
                && self
                    .state
                    .compare_exchange(state, cut, AcqRel, Acquire)
                    .is_ok());
        // The consumer stored the counts before the state that says so (Release), and stores
        // none again until it crosses a later cut, which no reading announces before this one
        // is withdrawn.
        crossed.then(|| RowsAtCut {
            rows: self.rows.load(Relaxed),
            in_hand: self.in_hand.load(Relaxed),
        })
    }
}

/// The consumer's side of the cuts (one per consumer thread): which cut it crossed last.
#[derive(Debug)]
pub(crate) struct CutFollower {
    crossed: u64,
}

impl CutFollower {
    /// A consumer that has crossed no cut yet.
    pub(crate) fn new() -> Self {
        CutFollower { crossed: NO_CUT }
    }

    /// Whether to cross `announced` now: it is a cut this consumer has not crossed, and the rows
    /// in hand (`arrived_ns`: when they were timed; `None` when it has none) arrived at or after
    /// it, so their samples belong to the next interval.
    pub(crate) fn due(&self, announced: u64, arrived_ns: Option<u64>) -> bool {
        announced != NO_CUT
            && announced != self.crossed
            && arrived_ns.is_none_or(|arrived| arrived >= announced)
    }

    /// Whether the samples in hand must stay with the consumer: it crossed the announced cut and
    /// the reading has not yet withdrawn it.
    pub(crate) fn holding(&self, announced: u64) -> bool {
        announced != NO_CUT && announced == self.crossed
    }

    /// Says that the consumer crossed `cut` with `at_cut` rows, its samples of the rows before
    /// the cut merged (call after merging them).
    pub(crate) fn cross(&mut self, mark: &CutMark, cut: u64, at_cut: RowsAtCut) {
        mark.rows.store(at_cut.rows, Relaxed);
        mark.in_hand.store(at_cut.in_hand, Relaxed);
        mark.state.store(cut, Release);
        self.crossed = cut;
    }

    /// Before sleeping on the source holding no samples, with `rows` rows consumed: a reading
    /// may cross the next cut on the consumer's behalf while it sleeps. Not while the consumer
    /// holds `announced` (its count now is past that cut): a reading waits for it to wake.
    pub(crate) fn sleep(&self, mark: &CutMark, announced: u64, rows: u64) {
        if self.holding(announced) {
            return;
        }
        mark.rows.store(rows, Relaxed);
        mark.in_hand.store(0, Relaxed);
        mark.state.store(self.crossed | PARKED, Release);
    }

    /// On waking (after [`CutFollower::sleep`], marked or not): takes back the mark, learning the
    /// cut a reading crossed meanwhile, if one did.
    pub(crate) fn wake(&mut self, mark: &CutMark) {
        if let Err(crossed_for_it) =
            mark.state
                .compare_exchange(self.crossed | PARKED, self.crossed, Acquire, Acquire)
        {
            self.crossed = crossed_for_it;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::Relaxed;

    use super::*;
    use crate::codec::CodecId;
    use crate::engine::reading::ThreadReading;

    fn slot(name: &str, role: Role, started: bool) -> Arc<ThreadSlot> {
        let slot = ThreadSlot::new(name.into(), role, 0, false);
        if started {
            slot.tid.store(1, Relaxed);
        }
        Arc::new(slot)
    }

    #[test]
    fn a_reading_counts_producers_at_once_and_gives_up_on_a_consumer_that_never_looks() {
        let control = Control::new(1, 0, CodecId::None, 0);
        let producer = slot("producer-0", Role::Producer, true);
        producer.rows.store(5, Relaxed);
        let not_started = slot("consumer-0", Role::Consumer, false);
        let ended = slot("consumer-1", Role::Consumer, true);
        ended.finished.store(true, Release);
        let asleep = slot("consumer-2", Role::Consumer, true);
        CutFollower::new().sleep(&asleep.cut, NO_CUT, 9);
        let stuck = slot("consumer-3", Role::Consumer, true);
        let started = Instant::now();
        let at_cut = announce(
            &control,
            &[producer, not_started, ended, asleep.clone(), stuck],
        );
        let waited = started.elapsed();
        assert_eq!(
            at_cut,
            [
                AtCut::Crossed(RowsAtCut::counted(5)),
                AtCut::Crossed(RowsAtCut::counted(0)),
                AtCut::NotAsked,
                AtCut::Crossed(RowsAtCut::counted(9)),
                AtCut::Late
            ]
        );
        assert!(waited >= CUT_WAIT_AT_MOST, "{waited:?}");
        let cut = control.cut.load(Relaxed);
        assert_ne!(cut, NO_CUT, "announced until withdrawn");
        assert_eq!(asleep.cut.rows_at(cut), Some(RowsAtCut::counted(9)));
        withdraw(&control);
        assert_eq!(control.cut.load(Relaxed), NO_CUT);
    }

    #[test]
    fn a_consumer_that_starts_after_the_cut_counts_its_rows_in_the_next_interval() {
        let control = Control::new(1, 0, CodecId::None, 0);
        let late_starter = slot("consumer-0", Role::Consumer, false);
        let at_cut = announce(&control, std::slice::from_ref(&late_starter));
        // It starts now and takes rows before the reading reads it: their samples stay with it
        // (it crosses the cut at its first look), so they are not this interval's rows either.
        late_starter.tid.store(1, Relaxed);
        late_starter.rows.store(1_421, Relaxed);
        let reading = ThreadReading::take(&late_starter, at_cut[0]);
        assert_eq!(reading.rows, 0);
        assert_eq!(reading.latency.map(|l| l.interval.len()), Some(0));
        withdraw(&control);
    }

    #[test]
    fn a_cut_is_due_once_and_only_for_rows_that_arrived_at_or_after_it() {
        let mark = CutMark::default();
        let mut follower = CutFollower::new();
        assert!(!follower.due(NO_CUT, None), "no cut announced");
        assert!(
            !follower.due(100, Some(99)),
            "rows before the cut stay in its interval"
        );
        assert!(follower.due(100, Some(100)));
        assert!(follower.due(100, None), "an idle consumer crosses at once");
        assert_eq!(mark.rows_at(100), None, "not crossed yet");
        let at_cut = RowsAtCut {
            rows: 7,
            in_hand: 3,
        };
        follower.cross(&mark, 100, at_cut);
        assert_eq!(mark.rows_at(100), Some(at_cut), "with the rows it holds");
        assert!(!follower.due(100, None), "crossed once");
        assert!(
            follower.holding(100),
            "later samples wait for the withdrawal"
        );
        assert!(!follower.holding(NO_CUT), "withdrawn: the samples may go");
        assert!(follower.due(200, None), "the next cut");
        assert_eq!(mark.rows_at(200), None);
    }

    #[test]
    fn rows_taken_after_a_cut_was_announced_are_not_in_hand_at_it() {
        assert_eq!(in_hand_at(100, NO_CUT, 64), 64, "taken before any cut");
        assert_eq!(
            in_hand_at(100, 50, 64),
            64,
            "taken while an earlier cut stood"
        );
        assert_eq!(
            in_hand_at(100, 100, 64),
            0,
            "taken once this cut was announced"
        );
    }

    #[test]
    fn a_sleeping_consumer_is_crossed_on_its_behalf_and_learns_it_on_waking() {
        let mark = CutMark::default();
        let mut follower = CutFollower::new();
        follower.cross(
            &mark,
            50,
            RowsAtCut {
                rows: 10,
                in_hand: 8,
            },
        );
        follower.sleep(&mark, NO_CUT, 42);
        let asleep = Some(RowsAtCut::counted(42));
        assert_eq!(
            mark.rows_at(100),
            asleep,
            "crossed for it, at its count, none in hand"
        );
        assert_eq!(mark.rows_at(100), asleep, "asking again gives the same");
        follower.wake(&mark);
        assert!(follower.holding(100), "woken: it knows it crossed 100");
        assert!(!follower.due(100, None));

        // Woken before any reading came: the mark is its own again, no cut crossed for it.
        follower.sleep(&mark, 100, 50);
        assert_eq!(mark.rows_at(100), asleep, "holding 100: not marked again");
        follower.wake(&mark);
        assert!(follower.holding(100));
        follower.sleep(&mark, NO_CUT, 50);
        follower.wake(&mark);
        assert_eq!(mark.rows_at(200), None, "awake: the reading waits for it");
        assert!(follower.due(200, None));
    }
}
