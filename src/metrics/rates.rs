//! A thread's ring counters as rates over one interval. A snapshot counts stalls, reloads and
//! chase back-offs since the start (as Prometheus counters do); the dashboards (`run`'s and
//! `attach`'s) and the report show what they were in each interval, by the one rule here.

use super::snapshot::{EndpointCounters, ThreadSnapshot, thread_index};

/// A thread's ring counters per second over one interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EndpointRates {
    /// Stalls (ring found full by a producer, empty by a consumer) per second.
    pub stalls_per_s: f64,
    /// Index reloads that found the other side moved, per second.
    pub reloads_per_s: f64,
    /// Chase back-offs per second; `None` where no chase is looked for.
    pub chase_backoffs_per_s: Option<f64>,
}

impl EndpointRates {
    /// The rates between `before` (the previous snapshot's counts, `None` in the run's first
    /// interval, whose counts start at 0 with it) and `now`, `interval_s` apart. `None` when the
    /// counts went back (they never do within one run) or the interval is empty.
    pub fn between(
        before: Option<EndpointCounters>,
        now: EndpointCounters,
        interval_s: f64,
    ) -> Option<Self> {
        let before = before.unwrap_or(EndpointCounters {
            chase_backoffs: now.chase_backoffs.map(|_| 0),
            ..EndpointCounters::default()
        });
        if interval_s <= 0.0 {
            return None;
        }
        let rate = |then: u64, now: u64| Some(now.checked_sub(then)? as f64 / interval_s);
        Some(EndpointRates {
            stalls_per_s: rate(before.stalls, now.stalls)?,
            reloads_per_s: rate(before.index_reloads, now.index_reloads)?,
            chase_backoffs_per_s: match (before.chase_backoffs, now.chase_backoffs) {
                (Some(then), Some(now)) => Some(rate(then, now)?),
                _ => None,
            },
        })
    }
}

/// Each of `now`'s threads' rates over the `interval_s` since `previous` (the same run's or
/// program's threads one interval before; `None`: `now` is a run's first interval, whose counts
/// start at 0 with it), in `now`'s order. `None` for a ring that keeps no counters, and for a
/// thread `previous` does not have: it has counted since a start the caller did not see.
pub fn endpoint_rates(
    previous: Option<&[ThreadSnapshot]>,
    now: &[ThreadSnapshot],
    interval_s: f64,
) -> Vec<Option<EndpointRates>> {
    now.iter()
        .enumerate()
        .map(|(i, thread)| {
            let before = match previous {
                None => None,
                Some(previous) => {
                    Some(previous[thread_index(previous, &thread.name, i)?].endpoint?)
                }
            };
            EndpointRates::between(before, thread.endpoint?, interval_s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(stalls: u64, reloads: u64, chases: Option<u64>) -> EndpointCounters {
        EndpointCounters {
            index_reloads: reloads,
            stalls,
            chase_backoffs: chases,
        }
    }

    #[test]
    fn rates_are_the_change_over_the_interval() {
        let rates = EndpointRates::between(
            Some(counts(100, 1_000, Some(4))),
            counts(150, 3_000, Some(10)),
            0.5,
        )
        .unwrap();
        assert_eq!(rates.stalls_per_s, 100.0);
        assert_eq!(rates.reloads_per_s, 4_000.0);
        assert_eq!(rates.chase_backoffs_per_s, Some(12.0));
    }

    #[test]
    fn the_first_interval_counts_from_zero() {
        let rates = EndpointRates::between(None, counts(7, 9, None), 1.0).unwrap();
        assert_eq!((rates.stalls_per_s, rates.reloads_per_s), (7.0, 9.0));
        assert_eq!(rates.chase_backoffs_per_s, None);
    }

    #[test]
    fn counts_that_went_back_or_an_empty_interval_give_no_rate() {
        assert_eq!(
            EndpointRates::between(Some(counts(5, 5, None)), counts(4, 6, None), 1.0),
            None
        );
        assert_eq!(EndpointRates::between(None, counts(1, 1, None), 0.0), None);
    }
}
