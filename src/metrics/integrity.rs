//! Proof that nothing was lost, duplicated or reordered: every consumer checks every sequence
//! number it receives.

use serde::{Deserialize, Serialize};

/// Sequence-number checks over every row a consumer saw. All three must be 0.
#[derive(
    Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema,
)]
pub struct Integrity {
    /// Rows expected but never seen.
    pub lost: u64,
    /// Rows seen more than once.
    pub duplicated: u64,
    /// Rows seen out of order.
    pub reordered: u64,
}

impl Integrity {
    /// Whether every row arrived exactly once, in order.
    pub fn is_clean(&self) -> bool {
        *self == Self::default()
    }

    /// Adds all three counts of `other`.
    pub fn add(&mut self, other: &Integrity) {
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
    }
}

/// Checks one producer's consecutive sequence numbers (0, 1, 2, …) as they arrive.
#[derive(Debug, Default, Clone)]
pub struct SequenceCheck {
    expected: u64,
    integrity: Integrity,
}

impl SequenceCheck {
    /// Checks the next sequence number: a jump counts the skipped rows as lost and the jump as a
    /// reordering; a number already passed counts as a duplicate.
    #[inline]
    pub fn observe(&mut self, seq: u64) {
        use std::cmp::Ordering::*;
        match seq.cmp(&self.expected) {
            Equal => self.expected += 1,
            Greater => {
                self.integrity.lost += seq - self.expected;
                self.integrity.reordered += 1;
                self.expected = seq + 1;
            }
            Less => self.integrity.duplicated += 1,
        }
    }

    /// A check whose first expected number is `first` (a stream that does not start at 0).
    pub fn starting_at(first: u64) -> Self {
        SequenceCheck {
            expected: first,
            integrity: Integrity::default(),
        }
    }

    /// The sender says its next row is `next`: rows between the expected one and `next` were
    /// lost on the way (a broken link), and are counted so.
    pub fn skip_to(&mut self, next: u64) {
        if next > self.expected {
            self.integrity.lost += next - self.expected;
            self.expected = next;
        }
    }

    /// The sequence number expected next (= rows seen in order so far).
    pub fn expected(&self) -> u64 {
        self.expected
    }

    /// What was found so far.
    pub fn integrity(&self) -> Integrity {
        self.integrity
    }

    /// The verdict once `total` rows were sent: any never seen are lost.
    pub fn finish(mut self, total: u64) -> Integrity {
        if self.expected < total {
            self.integrity.lost += total - self.expected;
        }
        self.integrity
    }
}

/// For a remote ring, whose senders come and go: each run's rows are consecutive from the
/// number its first connection announced; a reconnect of the same run that announces a later
/// number counts the rows in between as lost, and a clean goodbye with the run's row count
/// counts any never seen as lost.
#[derive(Debug, Default, Clone)]
pub struct SessionCheck {
    run: Option<u64>,
    check: SequenceCheck,
    finished_runs: Integrity,
}

impl SessionCheck {
    /// A sender connected: run `run_id`, first row `next_seq`.
    pub fn start(&mut self, run_id: u64, next_seq: u64) {
        if self.run == Some(run_id) {
            self.check.skip_to(next_seq);
        } else {
            if self.run.is_some() {
                self.finished_runs.add(&self.check.integrity());
            }
            self.run = Some(run_id);
            self.check = SequenceCheck::starting_at(next_seq);
        }
    }

    /// The sender said goodbye after `rows_sent` rows in its run (`None`: the link broke, and
    /// what it sent is learnt only if it comes back).
    pub fn end(&mut self, rows_sent: Option<u64>) {
        if let Some(total) = rows_sent {
            self.check.skip_to(total);
        }
    }

    /// Checks the next row's sequence number.
    #[inline]
    pub fn observe(&mut self, seq: u64) {
        self.check.observe(seq);
    }

    /// What was found so far, over every run.
    pub fn integrity(&self) -> Integrity {
        let mut total = self.finished_runs;
        total.add(&self.check.integrity());
        total
    }
}

/// For many producers sharing a ring (MPMC), each row taken by one of several consumers: each
/// consumer sees each producer's rows in increasing order, with gaps where other consumers took
/// rows. A number not above the last one seen from that producer is a duplicate.
#[derive(Debug, Default, Clone)]
pub struct InterleavedCheck {
    last: Vec<Option<u64>>,
    integrity: Integrity,
}

impl InterleavedCheck {
    /// A check for `producers` producers.
    pub fn new(producers: usize) -> Self {
        InterleavedCheck {
            last: vec![None; producers],
            integrity: Integrity::default(),
        }
    }

    /// Checks `seq` from `producer`.
    #[inline]
    pub fn observe(&mut self, producer: usize, seq: u64) {
        match self.last.get_mut(producer) {
            Some(last) => {
                if last.is_some_and(|l| seq <= l) {
                    self.integrity.duplicated += 1;
                } else {
                    *last = Some(seq);
                }
            }
            None => self.integrity.reordered += 1,
        }
    }

    /// What was found so far (losses are known only from totals, at the end).
    pub fn integrity(&self) -> Integrity {
        self.integrity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_repeats_and_jumps_are_counted() {
        let mut check = SequenceCheck::default();
        for seq in [0, 1, 2, 5, 5, 6] {
            check.observe(seq);
        }
        let i = check.finish(9);
        assert_eq!(i.lost, 2 + 2);
        assert_eq!(i.duplicated, 1);
        assert_eq!(i.reordered, 1);

        let mut clean = SequenceCheck::default();
        (0..100).for_each(|s| clean.observe(s));
        assert!(clean.finish(100).is_clean());
    }

    #[test]
    fn interleaved_rows_may_skip_but_never_repeat() {
        let mut check = InterleavedCheck::new(2);
        for (p, s) in [(0, 0), (1, 0), (0, 3), (1, 7), (0, 9)] {
            check.observe(p, s);
        }
        assert!(check.integrity().is_clean());
        check.observe(0, 9);
        check.observe(1, 2);
        assert_eq!(check.integrity().duplicated, 2);
    }
}
