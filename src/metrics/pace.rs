//! Whether a paced producer keeps the rate it offers. A producer that cannot (the consumers
//! hold it back, or it cannot make rows that fast) falls further behind its schedule each
//! interval, and since a row's latency is timed from when it was due, every later row's latency
//! includes that wait: seconds, at a rate far beyond the machine. One rule for the run's warning,
//! the tuner's latency goal and the probe's paced phase.

use super::human::{format_ns, format_rate};

/// The least share of the offered rate a producer must send to count as keeping it. A paced
/// producer sends its rate to a few rows in 10,000 over an interval; 5 % short is 50 ms behind
/// after a second, more than the stalls a busy VM gives a thread now and then (10–15 ms seen
/// under CI), which it catches up from.
pub const RATE_KEPT: f64 = 0.95;

/// Rows an interval's count may be short by without meaning anything: the rows due around the
/// interval's two edges (a row due just before a reading may be sent just after it).
const EDGE_ROWS: f64 = 2.0;

/// How often each side of a ring waited for the other over an interval: stall episodes a
/// second (each wait counts once, however long).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waits {
    /// The producer found the ring full.
    pub full: f64,
    /// The consumers found it empty (all of them together).
    pub empty: f64,
}

/// Whether sending `sent_per_s` keeps an offered `offered_per_s` (0: none offered, kept).
pub fn keeps_rate(sent_per_s: f64, offered_per_s: f64) -> bool {
    sent_per_s >= RATE_KEPT * offered_per_s
}

/// The warning for producer `name`, which sent `sent_per_s` rows a second over an interval of
/// `seconds` while offering `rate` all along; `None` where it kept the rate (or offered none).
/// `waits`, where the ring counts them, says who set the pace: the side that waited for the
/// other more often is not the slow one.
pub fn behind_schedule_warning(
    name: &str,
    sent_per_s: f64,
    rate: u64,
    seconds: f64,
    waits: Option<Waits>,
) -> Option<String> {
    let offered = rate as f64;
    let short_rows = (offered - sent_per_s) * seconds;
    if rate == 0 || keeps_rate(sent_per_s, offered) || short_rows <= EDGE_ROWS {
        return None;
    }
    let share = 100.0 * sent_per_s / offered;
    let share = if share < 1.0 {
        "under 1 %".to_owned()
    } else {
        format!("{share:.0} %")
    };
    let pace = match waits {
        None => String::new(),
        Some(Waits { full, empty }) if empty >= full => format!(
            "; its consumers waited for it (they found the ring empty {} times a second, it \
             found it full {})",
            format_rate(empty),
            format_rate(full)
        ),
        Some(Waits { full, empty }) => format!(
            "; it waited for its consumers (it found the ring full {} times a second, they found \
             it empty {})",
            format_rate(full),
            format_rate(empty)
        ),
    };
    Some(format!(
        "{name} sent {} rows/s of the {} it offers ({share}): it fell {} further behind its \
         schedule in the interval, and latency, timed from when each row was due, includes the \
         wait{pace}",
        format_rate(sent_per_s),
        format_rate(offered),
        format_ns((short_rows / offered * 1e9) as u64),
    ))
}

/// The pace after `rate` going up the 1-2-5 steps (`1k`, `2k`, `5k`, `10k`, …): the least step
/// above it.
pub fn step_up(rate: u64) -> u64 {
    let mut decade: u64 = 1;
    loop {
        for step in [1, 2, 5] {
            let value = decade.saturating_mul(step);
            if value > rate || value == u64::MAX {
                return value;
            }
        }
        decade = decade.saturating_mul(10);
    }
}

/// The pace before `rate` going down the 1-2-5 steps: the greatest step below it; `None` at 1
/// row a second and under.
pub fn step_down(rate: u64) -> Option<u64> {
    let mut below = None;
    let mut value = 1;
    while value < rate {
        below = Some(value);
        value = step_up(value);
    }
    below
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_producer_short_of_its_rate_is_told_by_how_much() {
        let text = behind_schedule_warning("producer-0", 47.6e6, 100_000_000, 1.0, None).unwrap();
        assert!(
            text.starts_with(
                "producer-0 sent 47.6M rows/s of the 100M it offers (48 %): it fell 524ms further \
                 behind its schedule in the interval"
            ),
            "{text}"
        );
    }

    #[test]
    fn keeping_the_rate_or_offering_none_says_nothing() {
        assert_eq!(
            behind_schedule_warning("p", 999e3, 1_000_000, 1.0, None),
            None
        );
        assert_eq!(
            behind_schedule_warning("p", 950e3, 1_000_000, 1.0, None),
            None
        );
        assert_eq!(behind_schedule_warning("p", 5.0, 0, 1.0, None), None);
        assert!(behind_schedule_warning("p", 949e3, 1_000_000, 1.0, None).is_some());
        let far = behind_schedule_warning("p", 47e6, 1_000_000_000_000, 1.0, None).unwrap();
        assert!(far.contains("of the 1.00T it offers (under 1 %)"), "{far}");
    }

    #[test]
    fn the_side_that_waited_more_is_not_the_one_that_set_the_pace() {
        let held = Waits {
            full: 12_345.0,
            empty: 3.0,
        };
        let held = behind_schedule_warning("p", 600e3, 1_000_000, 1.0, Some(held)).unwrap();
        assert!(
            held.ends_with(
                "; it waited for its consumers (it found the ring full 12.3k times a second, they \
                 found it empty 3)"
            ),
            "{held}"
        );
        let slow = Waits {
            full: 8.0,
            empty: 1.2e6,
        };
        let slow = behind_schedule_warning("p", 600e3, 1_000_000, 0.5, Some(slow)).unwrap();
        assert!(
            slow.ends_with(
                "; its consumers waited for it (they found the ring empty 1.20M times a second, \
                 it found it full 8)"
            ),
            "{slow}"
        );
        let unknown = behind_schedule_warning("p", 600e3, 1_000_000, 1.0, None).unwrap();
        assert!(unknown.ends_with("includes the wait"), "{unknown}");
    }

    #[test]
    fn paces_step_through_one_two_five() {
        assert_eq!(step_up(1_000_000), 2_000_000);
        assert_eq!(step_up(2_000_000), 5_000_000);
        assert_eq!(step_up(5_000_000), 10_000_000);
        assert_eq!(step_up(3_000), 5_000);
        assert_eq!(step_up(0), 1);
        assert_eq!(step_down(1_000_000), Some(500_000));
        assert_eq!(step_down(23_400_000), Some(20_000_000));
        assert_eq!(step_down(2), Some(1));
        assert_eq!(step_down(1), None);
        assert_eq!(step_up(u64::MAX), u64::MAX);
    }

    #[test]
    fn a_slow_rate_is_not_behind_by_a_row_at_the_edges() {
        // Four rows a second over a quarter of a second: one row due, none or two sent.
        assert_eq!(behind_schedule_warning("p", 0.0, 4, 0.25, None), None);
        // Ten a second over a second: seven sent is three short.
        assert!(behind_schedule_warning("p", 7.0, 10, 1.0, None).is_some());
        assert_eq!(behind_schedule_warning("p", 8.0, 10, 1.0, None), None);
    }
}
