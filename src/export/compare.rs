//! `ringtop compare A.jsonl B.jsonl`: two headless runs (or two attachments to a program) side
//! by side, per thread (and for framed runs the ring's codec ratio), with the change, a noise
//! estimate from each output's own intervals, and a verdict a CI job can gate on.
//!
//! The noise of a whole-run figure is estimated from the spread of that figure over the run's
//! intervals: the standard error of their mean, s ÷ √n, relative to the mean. (Not a robust
//! estimator such as the MAD on purpose: these machines are bimodal, and a MAD can read zero on
//! intervals that alternate between two states.) Two runs' noises add in quadrature. B regresses
//! on a figure when it is worse than A by more than the threshold *and* by more than twice the
//! combined noise: a change the runs' own wobble could explain is reported, never failed.
//! A percentile either run timed too few rows for (under 100 for a p99, 1,000 for a p99.9) is
//! its slowest row, not a tail: it is shown, marked `thin`, and never called either.
//!
//! A link's sender times no row (they are timed where they are received): its latency is its
//! link's round trip, a row's stamp to the receiver's credit echoing it, judged as the figures of
//! `link`.

use std::path::Path;

use schemars::JsonSchema;
use serde::Serialize;

use crate::metrics::latency::Percentile;
use crate::metrics::snapshot::{
    LatencyNs, LinkRole, SCHEMA_VERSION, Snapshot, ThreadSnapshot, WarningTally,
};

mod attachment;
mod recorded;
mod table;

pub use attachment::{Attachment, NO_PROGRAM_SUMMARY, Watched};
pub use recorded::{AppliedCommand, CompareError, NO_SUMMARY, Recorded, Run, commands_in_words};
use recorded::{read_text, typed_lines};

/// The threshold when none is given: 10 %.
pub const DEFAULT_MAX_REGRESSION: f64 = 0.10;

/// Headless output as it was read, finished or not (what `report` takes): a run's or an
/// attachment's.
#[derive(Debug, Clone)]
pub enum Headless {
    /// A run's output.
    Run(Box<Recorded>),
    /// An attachment's output.
    Attachment(Box<Watched>),
}

impl Headless {
    /// Reads the JSON lines at `path`: an attachment's where its first line is `attach`, else a
    /// run's.
    ///
    /// # Errors
    /// As [`Recorded::read`] and [`Watched::parse`].
    pub fn read(path: &Path) -> Result<Headless, CompareError> {
        let name = path.display().to_string();
        Headless::parse(&name, &read_text(path)?)
    }

    /// Parses `text`, the JSON lines called `name`, as [`Headless::read`] does.
    ///
    /// # Errors
    /// As [`Headless::read`].
    pub fn parse(name: &str, text: &str) -> Result<Headless, CompareError> {
        let first = typed_lines(name, text).next();
        if first.is_some_and(|line| line.is_ok_and(|line| line.kind == "attach")) {
            Watched::parse(name, text).map(|watched| Headless::Attachment(Box::new(watched)))
        } else {
            Recorded::parse(name, text).map(|run| Headless::Run(Box::new(run)))
        }
    }
}

/// One output `compare` reads: a run's (`run --headless`) or a watched program's (`attach
/// --headless`). Two of a kind are compared, thread by thread.
#[derive(Debug, Clone)]
pub enum Compared {
    /// A finished run.
    Run(Box<Run>),
    /// A finished attachment to a program.
    Attachment(Box<Attachment>),
}

impl Compared {
    /// Reads the JSON lines at `path` as [`Headless::read`] does; a run or attachment must have
    /// finished.
    ///
    /// # Errors
    /// As [`Run::read`] and [`Attachment::read`].
    pub fn read(path: &Path) -> Result<Compared, CompareError> {
        Compared::of(Headless::read(path)?)
    }

    /// Parses `text`, the JSON lines called `name`, as [`Compared::read`] does.
    ///
    /// # Errors
    /// As [`Compared::read`].
    pub fn parse(name: &str, text: &str) -> Result<Compared, CompareError> {
        Compared::of(Headless::parse(name, text)?)
    }

    /// `output` as compared: only once it has finished.
    fn of(output: Headless) -> Result<Compared, CompareError> {
        Ok(match output {
            Headless::Run(run) => Compared::Run(Box::new(run.finished()?)),
            Headless::Attachment(watched) => Compared::Attachment(Box::new(watched.finished()?)),
        })
    }

    /// The file.
    pub fn path(&self) -> &str {
        match self {
            Compared::Run(run) => &run.path,
            Compared::Attachment(attachment) => &attachment.path,
        }
    }

    /// Whose output it is, in words.
    fn whose(&self) -> &'static str {
        match self {
            Compared::Run(_) => "`run --headless` output",
            Compared::Attachment(_) => "`attach --headless` output",
        }
    }

    /// Every thread over the whole output.
    fn whole_threads(&self) -> &[ThreadSnapshot] {
        match self {
            Compared::Run(run) => &run.summary.threads,
            Compared::Attachment(attachment) => &attachment.summary.threads,
        }
    }

    /// `thread`'s figures over the whole output: its rate, and its latency over the same span
    /// (a run's since its start; an attachment's since it began to watch, as its rates are, not
    /// since the program started).
    fn whole_figures(&self, thread: &ThreadSnapshot) -> ThreadFigures {
        let latency = match self {
            Compared::Run(_) => thread.latency_total_ns,
            Compared::Attachment(_) => thread.latency_ns,
        };
        ThreadFigures {
            rows_per_s: Some(thread.rows_per_s),
            latency,
        }
    }

    /// Thread `name`'s figures in each interval after the first (the warm-up), for the noise.
    fn interval_figures(&self, name: &str) -> Vec<ThreadFigures> {
        let threads: Vec<&[ThreadSnapshot]> = match self {
            Compared::Run(run) => run
                .snapshots
                .iter()
                .filter(served_throughout(&run.snapshots))
                .map(|s| &s.threads[..])
                .collect(),
            Compared::Attachment(attachment) => attachment
                .intervals
                .iter()
                .map(|s| &s.threads[..])
                .collect(),
        };
        threads
            .into_iter()
            .skip(1)
            .filter_map(|threads| threads.iter().find(|t| t.name == name))
            .map(|t| ThreadFigures {
                rows_per_s: Some(t.rows_per_s),
                latency: t.latency_ns,
            })
            .collect()
    }

    /// What it warned about while it ran, one tally per warning.
    fn warning_tallies(&self) -> &[WarningTally] {
        match self {
            Compared::Run(run) => &run.summary.warnings,
            Compared::Attachment(attachment) => {
                attachment.summary.warning_tallies.as_deref().unwrap_or(&[])
            }
        }
    }
}

/// The figures `compare` judges of one thread (or of a sender's link, which has no rate of its
/// own), over some span.
struct ThreadFigures {
    rows_per_s: Option<f64>,
    latency: Option<LatencyNs>,
}

/// A sender's round trips over its link as [`ThreadFigures`]: over the whole run, and in each
/// interval after the first (the warm-up). `None` for a run that is not a link's sender, or whose
/// credits echoed no stamp.
fn link_round_trips(run: &Run) -> Option<(ThreadFigures, Vec<ThreadFigures>)> {
    let link = run.summary.transport.as_ref()?;
    if link.role != LinkRole::Sender {
        return None;
    }
    let whole = ThreadFigures {
        rows_per_s: None,
        latency: Some(link.round_trip_ns?),
    };
    let intervals = run
        .snapshots
        .iter()
        .skip(1)
        .map(|s| ThreadFigures {
            rows_per_s: None,
            latency: s.transport.as_ref().and_then(|l| l.round_trip_ns),
        })
        .collect();
    Some((whole, intervals))
}

/// What a sender's round trips are called in [`Comparison::thread`].
const LINK: &str = "link";

/// Whether a snapshot's interval had a sender connected all through it, where the run is a
/// receiver's (`serve`): one waiting for its sender moves no rows, so its intervals' spread
/// would be of the waits, not of the link; its summary's rates are over the time served, and
/// its noise is of the intervals served. Every interval of any other run, and of a receiver's
/// from before it counted its connected time.
fn served_throughout(snapshots: &[Snapshot]) -> impl FnMut(&&Snapshot) -> bool + use<> {
    let receiver = snapshots.iter().any(|s| {
        s.transport
            .as_ref()
            .is_some_and(|l| l.role == LinkRole::Receiver && l.connected_s.is_some())
    });
    let mut served_before = 0.0;
    move |snapshot| {
        let served = snapshot
            .transport
            .as_ref()
            .and_then(|link| link.connected_s)
            .unwrap_or(0.0);
        let throughout = served - served_before >= SERVED_SHARE * snapshot.interval_s;
        served_before = served;
        !receiver || throughout
    }
}

/// The share of an interval a sender must have been connected for it to count as served all
/// through (the link's clock and the reading's are read a few microseconds apart).
const SERVED_SHARE: f64 = 0.99;

/// Which way is better for a figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Throughput.
    Higher,
    /// Latency.
    Lower,
}

/// One figure of one thread in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Comparison {
    /// The thread (`ring` for a figure of the ring's frames, `link` for a sender's round trips
    /// over its link: a row's stamp to the receiver's credit echoing it).
    pub thread: String,
    /// `rows_per_s`, `p50_ns`, `p99_ns`, `p999_ns`, or a framed run's `codec_ratio` (64-byte
    /// rows over frame bytes, whichever codecs coded them).
    pub figure: String,
    /// Which way is better.
    pub better: Better,
    /// Run A's whole-run figure.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub a: f64,
    /// Run B's.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub b: f64,
    /// (B − A) ÷ A.
    #[serde(serialize_with = "crate::metrics::figures::significant")]
    pub change: f64,
    /// The combined relative noise of the two figures (see the module docs); `null` when a run
    /// has fewer than four intervals (the first, the warm-up, is left out).
    #[serde(serialize_with = "crate::metrics::figures::significant_or_null")]
    pub noise: Option<f64>,
    /// B is worse than A by more than the threshold and twice the noise (the threshold alone
    /// where the noise is `null`).
    pub regression: bool,
    /// A is worse than B by as much: what `compare B A` would call a regression, so a change
    /// within the noise is called neither.
    pub improvement: bool,
    /// A or B timed fewer rows than the percentile needs (100 for a p99, 1,000 for a p99.9): its
    /// figure there is its slowest row, so the change is called neither regression nor
    /// improvement.
    pub thin: bool,
}

/// Both runs, figure by figure.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Run A's file.
    pub a: String,
    /// Run B's file.
    pub b: String,
    /// The regression threshold, as a fraction.
    pub max_regression: f64,
    /// Every figure of every thread both runs have.
    pub comparisons: Vec<Comparison>,
    /// What differs between the runs besides the figures (profile, host, threads).
    pub warnings: Vec<String>,
    /// Whether any figure regressed.
    pub regressed: bool,
}

type Pick = fn(&ThreadFigures) -> Option<f64>;

/// The figures compared, where each is in a thread's figures, and for a latency figure the
/// percentile it is (which may stand on too few rows timed to be more than the slowest).
const FIGURES: [(&str, Better, Pick, Option<Percentile>); 4] = [
    ("rows_per_s", Better::Higher, |t| t.rows_per_s, None),
    (
        "p50_ns",
        Better::Lower,
        |t| t.latency.map(|l| l.p50 as f64),
        Some(Percentile::P50),
    ),
    (
        "p99_ns",
        Better::Lower,
        |t| t.latency.map(|l| l.p99 as f64),
        Some(Percentile::P99),
    ),
    (
        "p999_ns",
        Better::Lower,
        |t| t.latency.map(|l| l.p999 as f64),
        Some(Percentile::P999),
    ),
];

/// Compares output B against output A with `max_regression` as the threshold (a fraction).
///
/// # Errors
/// [`CompareError::Mismatch`] when one is a run's output and the other an attachment's: their
/// threads are not the same threads.
pub fn compare(a: &Compared, b: &Compared, max_regression: f64) -> Result<Report, CompareError> {
    let mut warnings = match (a, b) {
        (Compared::Run(a), Compared::Run(b)) => recorded::differences(a, b),
        (Compared::Attachment(a), Compared::Attachment(b)) => a.differences(b),
        _ => {
            return Err(CompareError::Mismatch {
                reason: format!(
                    "{} is {} and {} is {}: compare two runs, or two attachments",
                    a.path(),
                    a.whose(),
                    b.path(),
                    b.whose()
                ),
            });
        }
    };
    warnings.extend(host_differences(a, b));
    warnings.extend(cpu_differences(a.whole_threads(), b.whole_threads()));
    let mut comparisons = Vec::new();
    for thread_a in a.whole_threads() {
        let Some(thread_b) = b.whole_threads().iter().find(|t| t.name == thread_a.name) else {
            warnings.push(format!("{} is only in {}", thread_a.name, a.path()));
            continue;
        };
        comparisons.extend(judge_figures(
            &thread_a.name,
            (&a.whole_figures(thread_a), &b.whole_figures(thread_b)),
            (
                &a.interval_figures(&thread_a.name),
                &b.interval_figures(&thread_a.name),
            ),
            max_regression,
        ));
    }
    if let (Compared::Run(a), Compared::Run(b)) = (a, b) {
        if let (Some((whole_a, intervals_a)), Some((whole_b, intervals_b))) =
            (link_round_trips(a), link_round_trips(b))
        {
            comparisons.extend(judge_figures(
                LINK,
                (&whole_a, &whole_b),
                (&intervals_a, &intervals_b),
                max_regression,
            ));
        }
        comparisons.extend(codec_ratio(a, b, max_regression));
    }
    for thread_b in b.whole_threads() {
        if !a.whole_threads().iter().any(|t| t.name == thread_b.name) {
            warnings.push(format!("{} is only in {}", thread_b.name, b.path()));
        }
    }
    // What an output warned about while it ran explains its figures (a producer behind its
    // rate, a thread kept from its CPU): said beside the comparison, with how many intervals.
    for output in [a, b] {
        for tally in output.warning_tallies() {
            warnings.push(format!(
                "{} warned in {} of its intervals: {}",
                output.path(),
                tally.count,
                tally.warning
            ));
        }
    }
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        a: a.path().to_owned(),
        b: b.path().to_owned(),
        max_regression,
        regressed: comparisons.iter().any(|c| c.regression),
        comparisons,
        warnings,
    })
}

/// Each of [`FIGURES`] that both outputs have of `subject` (a thread, or [`LINK`]), judged from
/// their whole-output figures and the noise of their intervals'.
fn judge_figures(
    subject: &str,
    (whole_a, whole_b): (&ThreadFigures, &ThreadFigures),
    (intervals_a, intervals_b): (&[ThreadFigures], &[ThreadFigures]),
    max_regression: f64,
) -> Vec<Comparison> {
    FIGURES
        .into_iter()
        .filter_map(|(figure, better, pick, percentile)| {
            let (value_a, value_b) = (pick(whole_a)?, pick(whole_b)?);
            let thin = |whole: &ThreadFigures| {
                percentile.is_some_and(|p| whole.latency.is_some_and(|l| p.is_thin(l.count)))
            };
            let spread =
                |intervals: &[ThreadFigures]| relative_noise(intervals.iter().filter_map(pick));
            let figures = Figures {
                thread: subject,
                figure,
                better,
                values: (value_a, value_b),
                noises: (spread(intervals_a), spread(intervals_b)),
                thin: thin(whole_a) || thin(whole_b),
            };
            judge(&figures, max_regression)
        })
        .collect()
}

/// The ring's frames: how well the codecs did, whichever ones coded them (framed runs only).
fn codec_ratio(a: &Run, b: &Run, max_regression: f64) -> Option<Comparison> {
    let ratio = |run: &Run| run.summary.codec.as_ref()?.ratio;
    let spread = |run: &Run| {
        relative_noise(
            run.snapshots
                .iter()
                .skip(1)
                .filter_map(|s| s.codec.as_ref()?.ratio),
        )
    };
    let figures = Figures {
        thread: "ring",
        figure: "codec_ratio",
        better: Better::Higher,
        values: (ratio(a)?, ratio(b)?),
        noises: (spread(a), spread(b)),
        thin: false,
    };
    judge(&figures, max_regression)
}

/// One figure of both runs, with each run's noise.
struct Figures<'a> {
    thread: &'a str,
    figure: &'a str,
    better: Better,
    /// A's and B's whole-run figures.
    values: (f64, f64),
    /// A's and B's relative noise ([`relative_noise`]).
    noises: (Option<f64>, Option<f64>),
    /// A percentile that A or B timed too few rows for ([`Comparison::thin`]).
    thin: bool,
}

/// B's figure against A's: the change, the combined noise, and whether B regressed or improved
/// beyond the threshold and twice the noise. `None` where A's figure is not positive (no change
/// can be said of it).
fn judge(figures: &Figures<'_>, max_regression: f64) -> Option<Comparison> {
    let (value_a, value_b) = figures.values;
    if value_a <= 0.0 {
        return None;
    }
    let noise = match figures.noises {
        (Some(x), Some(y)) => Some((x * x + y * y).sqrt()),
        _ => None,
    };
    // How much worse `to` is than `from`, as a fraction of `from`.
    let worse_than = |to: f64, from: f64| {
        let change = (to - from) / from;
        match figures.better {
            Better::Higher => -change,
            Better::Lower => change,
        }
    };
    let beyond = |by: f64| !figures.thin && by > max_regression && by > 2.0 * noise.unwrap_or(0.0);
    Some(Comparison {
        thread: figures.thread.to_owned(),
        figure: figures.figure.to_owned(),
        better: figures.better,
        a: value_a,
        b: value_b,
        change: (value_b - value_a) / value_a,
        noise,
        regression: beyond(worse_than(value_b, value_a)),
        improvement: value_b > 0.0 && beyond(worse_than(value_a, value_b)),
        thin: figures.thin,
    })
}

/// The relative standard error of a whole-run figure, from its `values` over the run's intervals
/// (the first left out by the caller: it includes the warm-up). `None` with fewer than three.
fn relative_noise(values: impl Iterator<Item = f64>) -> Option<f64> {
    let values: Vec<f64> = values.collect();
    if values.len() < 3 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return None;
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(variance.sqrt() / n.sqrt() / mean)
}

/// Threads of both outputs that ran on other CPUs: the same settings may place a thread
/// elsewhere ("auto" keeps off CPUs other programs hold; an attached program pins its own), and
/// where a thread ran decides its latency.
fn cpu_differences(a: &[ThreadSnapshot], b: &[ThreadSnapshot]) -> Option<String> {
    let cpu = |c: Option<usize>| c.map_or("n/a".to_owned(), |c| c.to_string());
    let moved: Vec<String> = a
        .iter()
        .filter_map(|thread| {
            let theirs = b.iter().find(|t| t.name == thread.name)?;
            (thread.cpu != theirs.cpu).then(|| {
                format!(
                    "{} on CPU {} vs {}",
                    thread.name,
                    cpu(thread.cpu),
                    cpu(theirs.cpu)
                )
            })
        })
        .collect();
    (!moved.is_empty()).then(|| format!("different CPUs: {}", moved.join("; ")))
}

/// What differs between the hosts the outputs were taken on.
fn host_differences(a: &Compared, b: &Compared) -> Vec<String> {
    let host = |output: &Compared| match output {
        Compared::Run(run) => run.start["host"].clone(),
        Compared::Attachment(attachment) => attachment.start["host"].clone(),
    };
    let (host_a, host_b) = (host(a), host(b));
    ["hostname", "cpu_model", "kernel", "clocksource"]
        .into_iter()
        .filter(|key| host_a[key] != host_b[key])
        .map(|key| format!("different hosts: {key} {} vs {}", host_a[key], host_b[key]))
        .collect()
}
