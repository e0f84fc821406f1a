//! Warnings with a stable identity: each snapshot words its warnings with that interval's figures
//! ("ran 34 % …"), and the summary keeps one tally per kind and thread, with how often and when.

use std::time::Duration;

use crate::metrics::snapshot::{Snapshot, WarningTally};

/// One warning of one interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// What it is about, the same from one interval to the next (`cpu-share consumer-0`).
    pub key: String,
    /// What the operator reads.
    pub text: String,
}

/// The kind of warning for a producer short of the rate it offers.
pub const BEHIND_SCHEDULE: &str = "behind-schedule";

impl Warning {
    /// What kind of warning it is (`cpu-share`, `behind-schedule`, …).
    pub fn kind(&self) -> &str {
        self.key.split_once(' ').map_or(&self.key, |(kind, _)| kind)
    }

    /// What it is about: a thread, a link's address, the workload.
    pub fn subject(&self) -> &str {
        self.key.split_once(' ').map_or("", |(_, subject)| subject)
    }

    /// Whether this warning is of kind `kind`.
    pub fn is(&self, kind: &str) -> bool {
        self.kind() == kind
    }

    /// A warning about `subject` of kind `kind`.
    pub(crate) fn new(kind: &str, subject: &str, text: String) -> Self {
        Warning {
            key: format!("{kind} {subject}"),
            text,
        }
    }
}

/// Every warning the intervals of a run carried, in the order they first appeared.
#[derive(Debug, Clone, Default)]
pub(crate) struct WarningLog {
    seen: Vec<(String, WarningTally)>,
    /// The keys of the latest interval's warnings.
    latest: Vec<String>,
}

impl WarningLog {
    /// Counts the warnings of an interval that ended `at` into the run.
    pub(crate) fn add(&mut self, warnings: &[Warning], at: Duration) {
        self.latest = warnings.iter().map(|w| w.key.clone()).collect();
        let at = at.as_secs_f64();
        for warning in warnings {
            match self.seen.iter_mut().find(|(key, _)| *key == warning.key) {
                Some((_, tally)) => {
                    tally.warning.clone_from(&warning.text);
                    tally.count += 1;
                    tally.last_s = at;
                }
                None => self.seen.push((
                    warning.key.clone(),
                    WarningTally {
                        warning: warning.text.clone(),
                        count: 1,
                        first_s: at,
                        last_s: at,
                    },
                )),
            }
        }
    }

    /// Counts a snapshot's warnings into the run, each by what it is about where the snapshot
    /// says so (`warning_keys`), else by its wording (output from before the keys); whether it
    /// said so.
    pub(crate) fn add_snapshot(&mut self, snapshot: &Snapshot) -> bool {
        self.add_lines(
            &snapshot.warnings,
            &snapshot.warning_keys,
            snapshot.elapsed_s,
        )
    }

    /// Counts the warnings of an output line (`warnings` and their `keys`, as a run's snapshot
    /// or an attachment's program line gives them) that ended `elapsed_s` into the run; whether
    /// they were keyed (output from before lines carried keys is tallied by wording).
    pub(crate) fn add_lines(&mut self, texts: &[String], keys: &[String], elapsed_s: f64) -> bool {
        let keyed = keys.len() == texts.len();
        let warnings: Vec<Warning> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| Warning {
                key: if keyed { keys[i].clone() } else { text.clone() },
                text: text.clone(),
            })
            .collect();
        self.add(&warnings, Duration::from_secs_f64(elapsed_s.max(0.0)));
        keyed
    }

    /// One tally per kind and subject.
    pub(crate) fn tallies(&self) -> Vec<WarningTally> {
        self.seen.iter().map(|(_, tally)| tally.clone()).collect()
    }

    /// Whether any warning was carried only by earlier intervals: [`WarningLog::earlier`] is
    /// not empty, asked without building it (the dashboard asks every frame).
    pub(crate) fn has_earlier(&self) -> bool {
        self.earlier_tallies().next().is_some()
    }

    /// The tallies of warnings the latest interval did not carry: what an operator who looks
    /// now would otherwise not know had happened.
    pub(crate) fn earlier(&self) -> Vec<WarningTally> {
        self.earlier_tallies().cloned().collect()
    }

    fn earlier_tallies(&self) -> impl Iterator<Item = &WarningTally> {
        self.seen
            .iter()
            .filter(|(key, _)| !self.latest.contains(key))
            .map(|(_, tally)| tally)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_tallied_by_what_it_is_about_not_its_wording() {
        let mut log = WarningLog::default();
        let share = |percent: u32| {
            Warning::new(
                "cpu-share",
                "consumer-0",
                format!("consumer-0 ran {percent} %"),
            )
        };
        let shared = Warning::new("shared-cpu", "producer-0", "producer-0 shares CPU 1".into());
        log.add(&[share(34)], Duration::from_secs(1));
        log.add(&[share(50), shared.clone()], Duration::from_secs(2));
        log.add(&[share(12)], Duration::from_secs(5));
        let tallies = log.tallies();
        assert_eq!(tallies.len(), 2);
        assert_eq!(
            tallies[0],
            WarningTally {
                warning: "consumer-0 ran 12 %".into(),
                count: 3,
                first_s: 1.0,
                last_s: 5.0,
            }
        );
        assert_eq!((tallies[1].count, tallies[1].first_s), (1, 2.0));
        // The CPU shared at 2 s only is earlier; the share, still warned of, is not.
        assert_eq!(log.earlier(), vec![tallies[1].clone()]);
        log.add(&[], Duration::from_secs(6));
        assert_eq!(log.earlier(), tallies);
    }

    #[test]
    fn a_warning_knows_its_kind_and_subject() {
        let behind = Warning::new(BEHIND_SCHEDULE, "producer-0", "producer-0 sent …".into());
        assert_eq!(
            (behind.kind(), behind.subject()),
            ("behind-schedule", "producer-0")
        );
        assert!(behind.is(BEHIND_SCHEDULE) && !behind.is("behind"));
        let link = Warning::new(
            "link-down",
            "[::1]:7471",
            "link to [::1]:7471 is down".into(),
        );
        assert_eq!((link.kind(), link.subject()), ("link-down", "[::1]:7471"));
    }
}
