//! Deterministic data sources the workloads and benchmarks feed rows from: the same seed gives
//! the same rows on every machine and every run (PCG64, a fixed algorithm).
//!
//! - [`Source::random_walk`]: six prices in cents moving a few ticks at a time, printed with two
//!   decimals (what market data looks like).
//! - [`Source::sine_noise`]: six full-precision sensor signals, sine plus uniform noise.
//! - [`Source::steps`]: counters and step functions (what state and metrics look like).
//! - [`Source::replay`]: the numeric columns of a CSV file, looped ([`csv`]).

pub mod csv;

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::row::Row;

/// Which generator, for profiles and the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// [`Source::random_walk`].
    RandomWalk,
    /// [`Source::sine_noise`].
    SineNoise,
    /// [`Source::steps`].
    Steps,
}

impl SourceKind {
    /// Every built-in generator.
    pub const ALL: [SourceKind; 3] = [
        SourceKind::RandomWalk,
        SourceKind::SineNoise,
        SourceKind::Steps,
    ];

    /// The name in reports (`random-walk`, `sine-noise`, `steps`).
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::RandomWalk => "random-walk",
            SourceKind::SineNoise => "sine-noise",
            SourceKind::Steps => "steps",
        }
    }
}

/// A stream of row values.
#[derive(Debug, Clone)]
pub struct Source {
    kind: Kind,
    rng: Pcg64Mcg,
    produced: u64,
}

#[derive(Debug, Clone)]
enum Kind {
    RandomWalk { cents: [i64; Row::COLUMNS] },
    SineNoise,
    Steps { levels: [f64; Row::COLUMNS] },
    Replay { table: Arc<[[f64; Row::COLUMNS]]> },
}

impl Source {
    /// The built-in generator `kind`, seeded.
    pub fn new(kind: SourceKind, seed: u64) -> Self {
        match kind {
            SourceKind::RandomWalk => Self::random_walk(seed),
            SourceKind::SineNoise => Self::sine_noise(seed),
            SourceKind::Steps => Self::steps(seed),
        }
    }

    fn with(kind: Kind, seed: u64) -> Self {
        Source {
            kind,
            rng: Pcg64Mcg::seed_from_u64(seed),
            produced: 0,
        }
    }

    /// Six prices starting between 100.00 and 225.00, each moving -3..=3 cents a row.
    pub fn random_walk(seed: u64) -> Self {
        Self::with(
            Kind::RandomWalk {
                cents: std::array::from_fn(|c| 10_000 + 2_500 * c as i64),
            },
            seed,
        )
    }

    /// Six sine waves of different periods and amplitudes, plus ±5 % uniform noise, at full
    /// double precision.
    pub fn sine_noise(seed: u64) -> Self {
        Self::with(Kind::SineNoise, seed)
    }

    /// A row counter, a level that jumps now and then, a slow counter, an alarm flag, a setting
    /// with one decimal, and a column that stays zero.
    pub fn steps(seed: u64) -> Self {
        Self::with(
            Kind::Steps {
                levels: [0.0, 50.0, 0.0, 0.0, 20.5, 0.0],
            },
            seed,
        )
    }

    /// Replays `table` (rows of six values) from the start, looping.
    ///
    /// An empty table replays zeros.
    pub fn replay(table: Arc<[[f64; Row::COLUMNS]]>) -> Self {
        Self::with(Kind::Replay { table }, 0)
    }

    /// Fills the values of `rows` with the next values of the stream (sequence numbers and
    /// stamps are the producer's business and are left alone).
    pub fn fill_values(&mut self, rows: &mut [Row]) {
        for row in rows {
            let i = self.produced;
            self.produced += 1;
            row.values = match &mut self.kind {
                Kind::RandomWalk { cents } => {
                    for c in cents.iter_mut() {
                        *c += self.rng.random_range(-3..=3);
                    }
                    cents.map(|c| c as f64 / 100.0)
                }
                Kind::SineNoise => std::array::from_fn(|c| {
                    let amplitude = 10.0 * (c + 1) as f64;
                    let period = 50.0 * (c + 1) as f64;
                    let phase = std::f64::consts::TAU * i as f64 / period;
                    amplitude * (phase.sin() + self.rng.random_range(-0.05..0.05))
                }),
                Kind::Steps { levels } => {
                    levels[0] = i as f64;
                    if self.rng.random_ratio(1, 200) {
                        levels[1] = f64::from(self.rng.random_range(0..100u32));
                    }
                    if i.is_multiple_of(10) {
                        levels[2] += f64::from(self.rng.random_range(0..4u32));
                    }
                    if self.rng.random_ratio(1, 1000) {
                        levels[3] = 1.0 - levels[3];
                    }
                    if self.rng.random_ratio(1, 50) {
                        levels[4] = f64::from(self.rng.random_range(150..300u32)) / 10.0;
                    }
                    *levels
                }
                Kind::Replay { table } => {
                    if table.is_empty() {
                        [0.0; Row::COLUMNS]
                    } else {
                        table[(i % table.len() as u64) as usize]
                    }
                }
            };
        }
    }

    /// `n` rows with sequence numbers from `first_seq` and stamps `period_ns` apart from
    /// `first_stamp_ns` (as a rate-limited producer stamps them), values from this source.
    pub fn rows(
        &mut self,
        n: usize,
        first_seq: u64,
        first_stamp_ns: u64,
        period_ns: u64,
    ) -> Vec<Row> {
        let mut rows: Vec<Row> = (0..n as u64)
            .map(|i| Row::new(first_seq + i, first_stamp_ns + i * period_ns))
            .collect();
        self.fill_values(&mut rows);
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        for kind in SourceKind::ALL {
            let a = Source::new(kind, 7).rows(500, 0, 0, 1000);
            let b = Source::new(kind, 7).rows(500, 0, 0, 1000);
            assert_eq!(a, b, "{}", kind.name());
            let c = Source::new(kind, 8).rows(500, 0, 0, 1000);
            assert_ne!(a, c, "{}", kind.name());
        }
    }

    #[test]
    fn the_random_walk_prints_with_two_decimals() {
        let rows = Source::random_walk(1).rows(1000, 0, 0, 1);
        for row in rows {
            for v in row.values {
                let text = format!("{v}");
                let decimals = text.split_once('.').map_or(0, |(_, f)| f.len());
                assert!(decimals <= 2, "{text}");
                assert_eq!(text.parse::<f64>().unwrap().to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn replay_loops_over_its_table() {
        let table: Arc<[[f64; 6]]> = vec![[1.0; 6], [2.0; 6]].into();
        let rows = Source::replay(table).rows(5, 10, 0, 1);
        let firsts: Vec<f64> = rows.iter().map(|r| r.values[0]).collect();
        assert_eq!(firsts, [1.0, 2.0, 1.0, 2.0, 1.0]);
        assert_eq!(rows[4].seq, 14);
    }
}
