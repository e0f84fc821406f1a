//! `ringtop sweep`: a grid of short runs over one or more profile settings (`--set
//! workload.rate=100k..10M --set workload.batch=1,8,64`), p50/p99 against throughput, and the
//! knee of each curve: the most throughput before p99 leaves its floor.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

use crate::metrics::human::parse_count;
use crate::profile::overrides::{
    SECRET_KEY, Setting, split_key, unused_by_a_sender, value_for, value_of, with_settings,
};
use crate::profile::{LinkEndSetting, TuningProfile};

use super::search::{TrialOutcome, Trials};
use super::space::Candidate;
use super::span::LatencySpan;
use crate::metrics::latency::P99_SAMPLES;

/// How far above a curve's lowest p99 a point may be and still count as before the knee.
pub const KNEE_P99_FACTOR: f64 = 2.0;

/// One swept setting: a profile key and the values it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// `section.key`, as in a profile (`workload.rate`).
    pub key: String,
    /// The values, in order.
    pub values: Vec<toml::Value>,
}

/// Why a `--set` cannot be swept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--set {text}: {reason}")]
pub struct AxisError {
    /// What was given.
    pub text: String,
    /// What is wrong and what would do.
    pub reason: String,
}

impl Axis {
    /// Reads `KEY=V1,V2,…` or `KEY=LOW..HIGH` (numbers may end in k, M or G; a range steps
    /// through 1, 2, 5 × 10ⁿ, both ends included).
    ///
    /// # Errors
    /// [`AxisError`] saying what is wrong.
    pub fn parse(text: &str) -> Result<Axis, AxisError> {
        let error = |reason: &str| AxisError {
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        let (key, values) = split_key(text, "KEY=VALUES, e.g. workload.batch=1,8,64")
            .map_err(|reason| error(&reason))?;
        if key == SECRET_KEY {
            // One secret for every point, never an axis: a sweep prints each axis's values.
            if values.is_empty() || values.contains(',') || values.contains("..") {
                return Err(AxisError {
                    text: format!("{key}=(hidden)"),
                    reason: "the link's shared secret takes one value, for every point: it is \
                             never swept, nor printed"
                        .into(),
                });
            }
            return Ok(Axis {
                key: key.to_owned(),
                values: vec![value_for(key, values)],
            });
        }
        let parsed = match values.split_once("..") {
            Some((low, high)) => range(low, high).map_err(|reason| error(&reason))?,
            None => list(values).map_err(|reason| error(&reason))?,
        };
        Ok(Axis {
            key: key.to_owned(),
            values: parsed,
        })
    }
}

/// `LOW..HIGH` stepped 1-2-5, or why not.
fn range(low: &str, high: &str) -> Result<Vec<toml::Value>, String> {
    if high.contains(',') || low.contains(',') {
        return Err("a range or a list of values, not both (100k..1M, or 1,8,64)".into());
    }
    let end = |text: &str, which: &str| {
        parse_count(text).ok_or_else(|| {
            format!(
                "the range's {which} end `{}` is not a whole number below 10^18 (k, M or G may \
                 follow: 100k..10M)",
                text.trim()
            )
        })
    };
    let (low, high) = (end(low, "low")?, end(high, "high")?);
    if low == 0 || low > high {
        return Err(format!(
            "a range is LOW..HIGH with 0 < LOW <= HIGH, not {low}..{high} (100k..10M)"
        ));
    }
    Ok(series(low, high)
        .into_iter()
        .map(|v| toml::Value::Integer(v as i64))
        .collect())
}

/// `V1,V2,…`: whole numbers (k, M, G), other numbers, `true`/`false` or words, each once.
fn list(values: &str) -> Result<Vec<toml::Value>, String> {
    if values.is_empty() {
        return Err("no values".into());
    }
    let mut parsed: Vec<toml::Value> = Vec::new();
    for (i, v) in values.split(',').map(str::trim).enumerate() {
        if v.is_empty() {
            return Err(format!(
                "value {} is empty (two commas in a row, or one at an end)",
                i + 1
            ));
        }
        let value = value_of(v);
        if parsed.contains(&value) {
            return Err(format!("`{v}` is listed twice: each value runs once"));
        }
        parsed.push(value);
    }
    Ok(parsed)
}

/// `low`, `high` and every 1, 2, 5 × 10ⁿ between them.
fn series(low: u64, high: u64) -> Vec<u64> {
    let mut out = vec![low];
    let mut decade = 1u64;
    while decade <= high {
        for step in [1, 2, 5] {
            let v = decade.saturating_mul(step);
            if v > low && v < high {
                out.push(v);
            }
        }
        decade = decade.saturating_mul(10);
    }
    if high != low {
        out.push(high);
    }
    out
}

/// One point of the grid.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Point {
    /// Each axis's key and the value it had here: `[key, value]` pairs, the value as the
    /// profile's TOML has it (a number, a string, a list of CPUs).
    #[schemars(with = "Vec<(String, serde_json::Value)>")]
    pub settings: Vec<Setting>,
    /// What the run gave.
    pub outcome: TrialOutcome,
    /// Whether this point is its curve's knee.
    pub knee: bool,
}

/// The whole sweep.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SweepRecord {
    /// The measured window of every point, s.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub trial_s: f64,
    /// Every point run, in grid order (the first axis varies slowest).
    pub points: Vec<Point>,
    /// Points in the grid: more than `points` when the sweep was interrupted.
    pub planned: usize,
    /// The settings every point shares: the axes given one value (a link's address, say), which
    /// the table and the report say once rather than as a column. Empty where the sweep was
    /// interrupted (the grid's other values did not run).
    #[schemars(with = "Vec<(String, serde_json::Value)>")]
    pub shared: Vec<Setting>,
    /// Stopped from outside (Ctrl-C) before every point ran; the points run are whole.
    pub interrupted: bool,
    /// What the points' `p50_ns` and `p99_ns` time: `one_way`, or a link's sender's
    /// `round_trip` (it times no row itself).
    pub latency_span: LatencySpan,
    /// How the knee is chosen.
    pub knee_rule: String,
    /// Why no point is a knee, where none is ([`why_no_knee`]); `null` where one is.
    pub no_knee: Option<String>,
}

/// Why no point of `points` (their knees marked) is a knee, where none is (`None` where one
/// is): every point failed, none delivered every row, none that did timed a row, or (else) none
/// timed the [`P99_SAMPLES`] rows a p99 needs.
pub fn why_no_knee(points: &[Point]) -> Option<String> {
    if points.iter().any(|p| p.knee) {
        return None;
    }
    let ran: Vec<&TrialOutcome> = points
        .iter()
        .map(|p| &p.outcome)
        .filter(|o| o.failure.is_none())
        .collect();
    let clean: Vec<&&TrialOutcome> = ran.iter().filter(|o| o.ran_clean()).collect();
    Some(if ran.is_empty() {
        "every point failed (its row says why)".to_owned()
    } else if clean.is_empty() {
        "no point delivered every row once and in order".to_owned()
    } else if clean.iter().all(|o| o.p99_ns.is_none()) {
        "no point without loss timed a row (a slow rate times none in a short --trial)".to_owned()
    } else {
        format!(
            "no point without loss timed {P99_SAMPLES} rows or more; a slower rate needs a \
             longer --trial"
        )
    })
}

/// What `ringtop sweep --json` prints: the record, named.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SweepDocument<'a> {
    /// What this document is.
    pub kind: SweepKind,
    /// The sweep.
    pub sweep: &'a SweepRecord,
}

/// The `kind` of a [`SweepDocument`]: `"sweep"`.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SweepKind {
    /// A sweep.
    Sweep,
}

impl<'a> SweepDocument<'a> {
    /// `record` as `sweep --json` prints it.
    pub fn of(record: &'a SweepRecord) -> Self {
        SweepDocument {
            kind: SweepKind::Sweep,
            sweep: record,
        }
    }
}

/// One grid point before it runs: its settings, and the checked profile that runs it.
#[derive(Debug, Clone)]
pub struct GridPoint {
    /// Each axis's key and value here.
    pub settings: Vec<Setting>,
    /// The base with those settings.
    pub profile: TuningProfile,
}

/// Why the sweep could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SweepError {
    /// A grid point's profile is not valid.
    #[error("{0}")]
    Point(String),
    /// No axes.
    #[error("nothing to sweep: give at least one --set KEY=VALUES")]
    NoAxes,
    /// Two `--set`s for one key: the later would silently replace the earlier's values.
    #[error("{0} is swept by two --set options: give it once, with all its values ({0}=1,2,3)")]
    SweptTwice(String),
    /// A point that holds a link's receiving end: what it consumes is what its sender sends,
    /// which no trial here starts, so each point would only time its wait.
    #[error(
        "this profile receives on {0}: sweep runs each point's workload, and a receiver consumes \
         only what its sender sends; sweep the sender's settings instead (a profile with \
         transport.connect, while `ringtop serve` holds the ring)"
    )]
    Receives(String),
    /// A key a sender takes and does nothing with (the ring's, a consumer's), swept where a
    /// point sends: every such point would run the same.
    #[error("--set {key}: {why}")]
    NotTheSenders {
        /// The key.
        key: String,
        /// Whose it is instead ([`unused_by_a_sender`]).
        why: &'static str,
    },
}

/// `axes` with a swept `workload.rate` (more than one value) moved last: a curve runs along the
/// last axis, and its knee, how far the rate can go before the tail leaves its floor, means that
/// only where the rate is what varies along it, whatever order the `--set`s were given in.
fn rate_last(mut axes: Vec<&Axis>) -> Vec<&Axis> {
    if let Some(i) = axes
        .iter()
        .position(|axis| axis.key == RATE_KEY && axis.values.len() > 1)
    {
        let rate = axes.remove(i);
        axes.push(rate);
    }
    axes
}

/// The producers' offered rate, the axis a curve runs along where it is swept.
const RATE_KEY: &str = "workload.rate";

/// Every grid point's profile, each checked, with its settings. The link's secret
/// (`transport.token`, one value) goes into every point's profile and into no point's settings,
/// so no table, document or report of the sweep holds it.
///
/// # Errors
/// [`SweepError::Point`] naming the first point that is not a valid profile and why.
pub fn grid(base: &TuningProfile, axes: &[Axis]) -> Result<Vec<GridPoint>, SweepError> {
    let (secrets, axes): (Vec<&Axis>, Vec<&Axis>) =
        axes.iter().partition(|axis| axis.key == SECRET_KEY);
    let secrets: Vec<Setting> = secrets
        .iter()
        .flat_map(|axis| axis.values.iter().map(|v| (axis.key.clone(), v.clone())))
        .collect();
    let base = &with_settings(base, &secrets).map_err(SweepError::Point)?;
    if axes.is_empty() {
        return Err(SweepError::NoAxes);
    }
    let axes = rate_last(axes);
    if let Some((_, again)) = axes
        .iter()
        .enumerate()
        .find(|(i, axis)| axes[..*i].iter().any(|earlier| earlier.key == axis.key))
    {
        return Err(SweepError::SweptTwice(again.key.clone()));
    }
    let mut points: Vec<Vec<Setting>> = vec![Vec::new()];
    for axis in axes {
        points = points
            .into_iter()
            .flat_map(|prefix| {
                axis.values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push((axis.key.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    points
        .into_iter()
        .map(|settings| {
            let profile = with_settings(base, &settings).map_err(SweepError::Point)?;
            match profile.link_end() {
                LinkEndSetting::Receive(_, at) => return Err(SweepError::Receives(at)),
                LinkEndSetting::Send(..) => {
                    if let Some((key, why)) = settings
                        .iter()
                        .find_map(|(key, _)| Some((key, unused_by_a_sender(key)?)))
                    {
                        return Err(SweepError::NotTheSenders {
                            key: key.clone(),
                            why,
                        });
                    }
                }
                LinkEndSetting::Local => {}
            }
            Ok(GridPoint { settings, profile })
        })
        .collect()
}

/// Runs every point of `grid` for `trial` with `trials`, calling `progress` with the index of
/// each point before it runs, and marks the knees. Once `stop` is set (Ctrl-C) no further point
/// runs, and the one running when it was set is left out if it was cut short.
pub fn sweep(
    grid: Vec<GridPoint>,
    trials: &mut dyn Trials,
    trial: Duration,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(usize, usize),
) -> SweepRecord {
    let planned = grid.len();
    // Every point sends, or none does: its link end is the base profile's.
    let latency_span = grid
        .first()
        .map_or(LatencySpan::OneWay, |point| LatencySpan::of(&point.profile));
    let mut points: Vec<Point> = Vec::with_capacity(planned);
    for (i, GridPoint { settings, profile }) in grid.into_iter().enumerate() {
        if stop.load(Relaxed) {
            break;
        }
        progress(i, planned);
        let candidate = Candidate {
            id: i,
            setting: None,
            profile,
        };
        let outcome = trials.run(&candidate, trial);
        if stop.load(Relaxed) && outcome.failure.is_some() {
            break;
        }
        points.push(Point {
            settings,
            outcome,
            knee: false,
        });
    }
    mark_knees(&mut points);
    let interrupted = points.len() < planned;
    SweepRecord {
        no_knee: why_no_knee(&points),
        trial_s: trial.as_secs_f64(),
        shared: if interrupted {
            Vec::new()
        } else {
            shared_settings(&points)
        },
        interrupted,
        planned,
        points,
        latency_span,
        knee_rule: knee_rule(latency_span),
    }
}

/// The settings of `points` that every one of them has, in axis order.
fn shared_settings(points: &[Point]) -> Vec<Setting> {
    let Some(first) = points.first() else {
        return Vec::new();
    };
    first
        .settings
        .iter()
        .filter(|setting| points.iter().all(|p| p.settings.contains(setting)))
        .cloned()
        .collect()
}

/// How [`mark_knees`] chooses, in words, for points whose latency is `span`'s.
fn knee_rule(span: LatencySpan) -> String {
    let (clean, p99) = match span {
        LatencySpan::OneWay => ("without loss", "p99"),
        LatencySpan::RoundTrip => (
            "that ran to their end (a sender's rows are checked at its receiver)",
            "round-trip p99",
        ),
    };
    format!(
        "per curve (points sharing every setting but the last, a swept rate put last): the most \
         rows/s among the \
         points {clean}, {P99_SAMPLES} rows timed or more, whose {p99} is within \
         {KNEE_P99_FACTOR}x the curve's lowest"
    )
}

/// Marks each curve's knee: the points that share every setting but the last axis (a swept rate,
/// [`grid`] puts it last) form a curve; its knee is the most rows/s among clean points whose p99 stays within
/// [`KNEE_P99_FACTOR`] of the curve's lowest p99. A point whose p99 stands on fewer than
/// [`P99_SAMPLES`] rows (a slow rate, a short window) is neither the floor nor the knee: its p99
/// is only its slowest row; nor is one that timed no row at all. A curve without such a point has
/// no knee.
pub fn mark_knees(points: &mut [Point]) {
    let curve_of =
        |p: &Point| -> Vec<Setting> { p.settings[..p.settings.len().saturating_sub(1)].to_vec() };
    let mut curves: Vec<Vec<Setting>> = Vec::new();
    for p in points.iter() {
        let c = curve_of(p);
        if !curves.contains(&c) {
            curves.push(c);
        }
    }
    for curve in curves {
        let members: Vec<usize> = (0..points.len())
            .filter(|&i| curve_of(&points[i]) == curve)
            .filter(|&i| points[i].outcome.ran_clean())
            .filter(|&i| points[i].outcome.p99_ns.is_some() && !points[i].outcome.p99_is_thin())
            .collect();
        let floor = members
            .iter()
            .filter_map(|&i| points[i].outcome.p99_ns)
            .min();
        let knee = members
            .iter()
            .copied()
            .filter(|&i| match (points[i].outcome.p99_ns, floor) {
                (Some(p99), Some(floor)) => p99 as f64 <= KNEE_P99_FACTOR * floor as f64,
                _ => false,
            })
            .max_by(|&a, &b| {
                let rows_per_s = |i: usize| points[i].outcome.rows_per_s.unwrap_or_default();
                rows_per_s(a).total_cmp(&rows_per_s(b))
            });
        if let Some(i) = knee {
            points[i].knee = true;
        }
    }
}

#[cfg(test)]
mod tests;
