//! The command line's arguments (clap): every subcommand and option, with its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ringtop::codec::CodecId;
use ringtop::engine::probe::ProbeConfig;
use ringtop::profile::rules;
use ringtop::topology::c2c::C2cConfig;
use ringtop::topology::cpulist;

/// Watch and tune a lock-free ring on this machine.
#[derive(Debug, Parser)]
#[command(name = "ringtop", version, about)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Option<Command>,
    /// The dashboard's profile file (default: the built-in `default`).
    #[arg(long, value_name = "FILE")]
    pub(super) profile: Option<PathBuf>,
    /// A built-in profile for the dashboard (see `ringtop profile list`).
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub(super) builtin: Option<String>,
    #[command(flatten)]
    pub(super) metrics: MetricsArgs,
    #[command(flatten)]
    pub(super) settings: SettingArgs,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Measure SPSC throughput, one-way latency and round trips (spsc and relay) on two pinned threads.
    Probe(ProbeArgs),
    /// Show the machine as hwloc sees it: NUMA nodes, packages, caches, cores, CPUs.
    Topo(TopoArgs),
    /// Measure the round trip of a cache line between every pair of CPUs.
    C2c(C2cArgs),
    /// Try the codecs on a CSV file's numeric columns: ratio, speed, bit-exact round trip.
    Codec(CodecArgs),
    /// List, show and check tuning profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Run a profile's workload: the dashboard, or `--headless` JSON lines.
    Run(RunArgs),
    /// Hold a ring that senders on other hosts (or processes) write into, and consume it.
    Serve(ServeArgs),
    /// Print the JSON Schemas of headless output lines and stdin commands.
    Schema,
    /// Check whether this host is fit to measure on, for the CPUs a profile will use: each check
    /// ok / warn / fail / n/a, with the evidence and the fix.
    Doctor(DoctorArgs),
    /// Write one self-contained HTML report of a `run --headless` output (or of `attach
    /// --headless`), with SVG plots.
    Report(ReportCommandArgs),
    /// Compare two `run --headless` outputs (or two of `attach --headless`): per-thread
    /// throughput and latency (a sender's: its link's round trip; and a framed run's codec
    /// ratio), the change, the noise, and exit code 1 when B regressed.
    Compare(CompareArgs),
    /// Search ring settings for a goal within a budget and write the best as a profile, with
    /// the evidence (baseline against best, the confidence, host, date) in its header.
    Tune(TuneArgs),
    /// Run a grid of short runs over profile settings (`--set workload.rate=100k..10M`): p50
    /// and p99 (a sender's: its link's round trip) against throughput, each curve's knee marked.
    Sweep(SweepArgs),
    /// Watch the rings of another running program that publishes them (`ringtop::monitor`).
    ///
    /// Programs publish in $RINGTOP_DIR, else /dev/shm/ringtop-<uid>; `--list` shows them and
    /// removes what programs that died left there.
    Attach(AttachArgs),
}

#[derive(Debug, Args, Clone)]
pub(super) struct ReportCommandArgs {
    /// The run's JSON lines, or an attachment's (may be left out with `--sweep`: a report of the
    /// sweep alone).
    #[arg(required_unless_present = "sweep")]
    pub(super) run: Option<PathBuf>,
    /// Where to write the HTML.
    #[arg(short, long, value_name = "FILE")]
    pub(super) output: PathBuf,
    /// A core-to-core map (`ringtop c2c --json > map.json`) to include as a heatmap.
    #[arg(long, value_name = "FILE")]
    pub(super) c2c: Option<PathBuf>,
    /// The run's HdrHistogram interval log (`run --hlog`), to plot every percentile.
    #[arg(long, value_name = "FILE", requires = "run")]
    pub(super) hlog: Option<PathBuf>,
    /// A sweep (`ringtop sweep --json > sweep.json`) to plot: latency against throughput, the
    /// knees marked.
    #[arg(long, value_name = "FILE")]
    pub(super) sweep: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub(super) struct CompareArgs {
    /// The baseline's JSON lines (a run's, or an attachment's).
    pub(super) a: PathBuf,
    /// The output to judge against it (of the same kind).
    pub(super) b: PathBuf,
    /// One JSON object instead of the table.
    #[arg(long)]
    pub(super) json: bool,
    /// How much worse B may be on any figure before it counts as a regression (`5%`, `0.05`);
    /// a change within twice the runs' own noise never counts.
    #[arg(long, default_value = "10%", value_parser = parse_fraction)]
    pub(super) max_regression: f64,
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(percent) => (percent, 100.0),
        None => (text, 1.0),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a percentage (`5%`) or a fraction (`0.05`)"))?;
    let fraction = value / scale;
    if !(0.0..=10.0).contains(&fraction) {
        return Err(format!("{text:?}: between 0 % and 1000 %"));
    }
    Ok(fraction)
}

#[derive(Debug, Args, Clone)]
pub(super) struct AttachArgs {
    /// The program: its pid, or the name it published under (default: the one program that
    /// publishes rings, when there is one).
    pub(super) target: Option<String>,
    /// List the programs that publish rings, and remove the segments of those that died.
    #[arg(long, conflicts_with = "target")]
    pub(super) list: bool,
    /// With `--list`: one JSON object instead of the table.
    #[arg(long, requires = "list", conflicts_with = "target")]
    pub(super) json: bool,
    /// JSON lines on stdout instead of the dashboard.
    #[arg(long)]
    pub(super) headless: bool,
    /// Wait up to this long (`10s`) for the program to publish its rings, for a program a
    /// script has just started; default: it must be publishing already.
    #[arg(long, value_parser = parse_duration, conflicts_with = "list")]
    pub(super) wait: Option<std::time::Duration>,
    /// Stop after this long (`10s`, `2m`); default: until the program ends, or Ctrl-C.
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true)]
    pub(super) duration: Option<std::time::Duration>,
    /// Time between lines (default 1s, and never shorter than the program's own update
    /// interval).
    #[arg(long, value_parser = parse_interval, allow_hyphen_values = true)]
    pub(super) interval: Option<std::time::Duration>,
    #[command(flatten)]
    pub(super) metrics: MetricsArgs,
}

#[derive(Debug, Args, Clone)]
pub(super) struct DoctorArgs {
    /// The profile whose CPUs to check (default: the built-in `default`).
    #[arg(long, value_name = "FILE")]
    pub(super) profile: Option<PathBuf>,
    /// A built-in profile by name instead of a file.
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub(super) builtin: Option<String>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) settings: SettingArgs,
}

#[derive(Debug, Args, Clone)]
pub(super) struct RunArgs {
    /// JSON lines on stdout and commands on stdin instead of the dashboard.
    #[arg(long)]
    pub(super) headless: bool,
    /// The profile file (default: the built-in `default`).
    #[arg(long, value_name = "FILE")]
    pub(super) profile: Option<PathBuf>,
    /// A built-in profile by name instead of a file (see `ringtop profile list`).
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub(super) builtin: Option<String>,
    /// With `--headless`: sample every worker's stack while the run lasts (perf `cpu-clock`,
    /// no PMU needed) and draw them as a flamegraph SVG in FILE when it ends.
    #[arg(long, value_name = "FILE", requires = "headless")]
    pub(super) flamegraph: Option<PathBuf>,
    #[command(flatten)]
    pub(super) report: ReportArgs,
    /// Send to a ring at this address (`ringtop serve`) instead of the profile's
    /// `transport.connect`.
    #[arg(long, value_name = "HOST:PORT")]
    pub(super) connect: Option<String>,
    /// Write into the shared-memory ring NAME that `ringtop serve --shm NAME` holds on this host.
    #[arg(long, value_name = "NAME", conflicts_with = "connect")]
    pub(super) shm: Option<String>,
    #[command(flatten)]
    pub(super) token: TokenArgs,
    #[command(flatten)]
    pub(super) settings: SettingArgs,
}

/// Profile keys set on the command line, for `run` and `serve`.
#[derive(Debug, Args, Clone, Default)]
pub(super) struct SettingArgs {
    /// Set a profile key for this run, as the profile file would (`workload.rate=500k`,
    /// `ring.capacity=8192`, `pinning.consumers=2+3`); repeat for more keys.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub(super) set: Vec<String>,
}

/// The link's shared secret, for `run` and `serve`.
#[derive(Debug, Args, Clone, Default)]
pub(super) struct TokenArgs {
    /// The link's shared secret (default: the profile's `transport.token`, else `RINGTOP_TOKEN`;
    /// required to listen beyond loopback). Every user can read it in the process list: prefer
    /// --token-file or RINGTOP_TOKEN.
    #[arg(long, value_name = "TOKEN", conflicts_with = "token_file")]
    pub(super) token: Option<String>,
    /// Read the shared secret from the first line of FILE, which other users must not be able
    /// to read (`chmod 600`).
    #[arg(long, value_name = "FILE")]
    pub(super) token_file: Option<PathBuf>,
}

impl TokenArgs {
    /// The option that gives the secret on this command line, if one does.
    pub(super) fn given_by(&self) -> Option<&'static str> {
        match (&self.token, &self.token_file) {
            (Some(_), _) => Some("--token"),
            (None, Some(_)) => Some("--token-file"),
            (None, None) => None,
        }
    }

    /// The token given on the command line, if any.
    ///
    /// # Errors
    /// The file cannot be read, others can read it, or the token is empty or too long.
    pub(super) fn resolve(&self) -> Result<Option<String>, ringtop::transport::LinkError> {
        match (&self.token, &self.token_file) {
            (Some(token), _) => Ok(Some(token.clone())),
            (None, Some(path)) => ringtop::transport::read_token_file(path).map(Some),
            (None, None) => Ok(None),
        }
    }
}

/// How long a run lasts and what it reports, for `run` and `serve`.
#[derive(Debug, Args, Clone, Default)]
pub(super) struct ReportArgs {
    /// Stop after this long (`10s`, `2m`); default: the profile's duration (`run`), else until
    /// Ctrl-C.
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true)]
    pub(super) duration: Option<std::time::Duration>,
    /// Time between snapshots; default: the profile's report interval.
    #[arg(long, value_parser = parse_interval, allow_hyphen_values = true)]
    pub(super) interval: Option<std::time::Duration>,
    /// Write an HdrHistogram interval log (V2, DEFLATE), one tag per consumer; default: the
    /// profile's `report.hlog` (`run`).
    #[arg(long, value_name = "FILE")]
    pub(super) hlog: Option<PathBuf>,
    #[command(flatten)]
    pub(super) metrics: MetricsArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub(super) struct MetricsArgs {
    /// Serve Prometheus metrics (OpenMetrics text) at http://ADDR/metrics while it runs
    /// (`127.0.0.1:9464`; port 0 picks a free one, printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub(super) metrics_listen: Option<String>,
    /// With `--metrics-listen`, headless: after the end, keep serving until a scrape has read
    /// the final figures, at most this long (`5s`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "metrics_listen")]
    pub(super) metrics_linger: Option<std::time::Duration>,
}

#[derive(Debug, Args, Clone)]
pub(super) struct ServeArgs {
    /// Where senders connect.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7471")]
    pub(super) listen: String,
    /// Hold a shared-memory ring called NAME instead (a file in $RINGTOP_DIR, else
    /// /dev/shm/ringtop-<uid>) that producers on this host write into.
    #[arg(long, value_name = "NAME", conflicts_with = "listen")]
    pub(super) shm: Option<String>,
    #[command(flatten)]
    pub(super) token: TokenArgs,
    /// JSON lines on stdout instead of the dashboard.
    #[arg(long)]
    pub(super) headless: bool,
    /// The ring's settings (capacity, pinning, NUMA, wait) from this profile (default: the
    /// built-in `remote-tcp`).
    #[arg(long, value_name = "FILE")]
    pub(super) profile: Option<PathBuf>,
    /// A built-in profile's ring settings instead of a file.
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub(super) builtin: Option<String>,
    #[command(flatten)]
    pub(super) report: ReportArgs,
    /// Headless: stop once the first sender has finished and left.
    #[arg(long, requires = "headless")]
    pub(super) once: bool,
    #[command(flatten)]
    pub(super) settings: SettingArgs,
}

#[derive(Debug, Subcommand)]
pub(super) enum ProfileCommand {
    /// The built-in profiles and what each is for.
    List,
    /// Print a built-in profile's TOML (a starting point for your own).
    Show {
        /// A built-in profile name (see `ringtop profile list`).
        name: String,
    },
    /// Check a profile file against its format and this machine.
    Check {
        /// The profile file.
        file: PathBuf,
    },
}

#[derive(Debug, Args, Clone)]
pub(super) struct CodecArgs {
    /// The CSV files (a header line is optional; every numeric or date column is measured);
    /// each is measured on its own (`--input assets/*.csv`).
    #[arg(long, value_name = "FILE.csv", num_args = 1.., required = true)]
    pub(super) input: Vec<PathBuf>,
    /// A codec name, or `all`.
    #[arg(long, default_value = "all", value_parser = parse_codecs)]
    pub(super) codec: CodecChoice,
    /// Rows per frame.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub(super) frame_rows: u32,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub(super) json: bool,
}

/// The codecs `--codec` chose.
#[derive(Debug, Clone)]
pub(super) struct CodecChoice(pub(super) Vec<CodecId>);

pub(super) fn parse_codecs(text: &str) -> Result<CodecChoice, ringtop::codec::CodecError> {
    if text == "all" {
        Ok(CodecChoice(CodecId::ALL.to_vec()))
    } else {
        text.parse().map(|c| CodecChoice(vec![c]))
    }
}

#[derive(Debug, Args, Clone)]
pub(super) struct TopoArgs {
    /// Print the topology as JSON instead of a tree.
    #[arg(long)]
    pub(super) json: bool,
    /// Describe a synthetic machine instead of this one (e.g. "pack:2 numa:1 core:4 pu:2").
    #[arg(long, value_name = "DESC", conflicts_with = "xml")]
    pub(super) synthetic: Option<String>,
    /// Load a machine exported with `lstopo-no-graphics --of xml` instead of this one.
    #[arg(long, value_name = "FILE")]
    pub(super) xml: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub(super) struct C2cArgs {
    /// Print the map as JSON instead of a table.
    #[arg(long)]
    pub(super) json: bool,
    /// CPUs to map, as a list like `0-3,8` (default: every allowed CPU).
    #[arg(long, value_name = "LIST", value_parser = parse_cpus)]
    pub(super) cpus: Option<CpuList>,
    /// Timed samples per pair (more: steadier medians, longer run).
    #[arg(long, default_value_t = C2cConfig::default().samples)]
    pub(super) samples: usize,
    /// Round trips per timed sample.
    #[arg(long, default_value_t = C2cConfig::default().round_trips_per_sample)]
    pub(super) round_trips: usize,
}

#[derive(Debug, Args, Clone)]
pub(super) struct ProbeArgs {
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub(super) json: bool,
    /// Rows moved in the throughput phase.
    #[arg(long, default_value_t = ProbeConfig::default().items)]
    pub(super) items: u64,
    /// Ring capacity in rows (a power of two).
    #[arg(long, default_value_t = ProbeConfig::default().capacity)]
    pub(super) capacity: usize,
    /// Most rows per batch in the throughput phase (1 to the capacity; a batch takes what is free).
    #[arg(long, default_value_t = ProbeConfig::default().batch)]
    pub(super) batch: usize,
    /// Send rate (rows/s) of the one-way latency phase.
    #[arg(long, default_value_t = ProbeConfig::default().rate)]
    pub(super) rate: u64,
    /// Rows sent in the one-way latency phase.
    #[arg(long, default_value_t = ProbeConfig::default().latency_samples)]
    pub(super) latency_samples: u64,
    /// Ping-pong round trips.
    #[arg(long, default_value_t = ProbeConfig::default().round_trips)]
    pub(super) round_trips: u64,
    /// CPU of the producer thread (default: first allowed CPU).
    #[arg(long)]
    pub(super) producer_cpu: Option<usize>,
    /// CPU of the consumer thread (default: next allowed CPU).
    #[arg(long)]
    pub(super) consumer_cpu: Option<usize>,
    /// NUMA node for the ring's memory (default: the consumer's node).
    #[arg(long, value_name = "NODE")]
    pub(super) memory_node: Option<usize>,
    /// Ask for 2 MiB pages for the ring (the report says what was granted).
    #[arg(long)]
    pub(super) huge_pages: bool,
}

impl ProbeArgs {
    pub(super) fn config(&self) -> ProbeConfig {
        ProbeConfig {
            items: self.items,
            capacity: self.capacity,
            batch: self.batch,
            rate: self.rate,
            latency_samples: self.latency_samples,
            round_trips: self.round_trips,
            producer_cpu: self.producer_cpu,
            consumer_cpu: self.consumer_cpu,
            memory_node: self.memory_node,
            huge_pages: self.huge_pages,
        }
    }
}

/// A CPU list argument (`0-3,8`), one value to clap.
#[derive(Debug, Clone)]
pub(super) struct CpuList(pub(super) Vec<usize>);

pub(super) fn parse_cpus(text: &str) -> Result<CpuList, cpulist::CpuListError> {
    cpulist::parse_cpu_list(text).map(CpuList)
}

/// `--duration`: a humantime duration the profile rules accept.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration = rules::parse_time(text)?;
    rules::check_duration(duration).map_err(|e| e.to_string())?;
    Ok(duration)
}

/// `--interval`: a humantime duration the profile rules accept.
fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let interval = rules::parse_time(text)?;
    rules::check_interval(interval).map_err(|e| e.to_string())?;
    Ok(interval)
}

/// What `tune` optimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum GoalArg {
    /// The lowest p99 (p50 breaks ties) at the given rate, with no loss.
    Latency,
    /// The most rows per second (p99 reported).
    Throughput,
}

#[derive(Debug, Args, Clone)]
pub(super) struct TuneArgs {
    /// What to optimise (default: latency when the base profile paces its producer, throughput
    /// when it runs flat out; a throughput search of a paced base is refused, as every candidate
    /// that keeps the pace delivers the same).
    #[arg(long, value_enum)]
    pub(super) goal: Option<GoalArg>,
    /// Rows per second the producer offers (`500k`, `2M`; default: the base profile's rate). A
    /// latency candidate that cannot keep 95 % of it is out.
    #[arg(long, value_name = "ROWS_PER_S", value_parser = parse_count)]
    pub(super) rate: Option<u64>,
    /// How long the whole search may take (every trial, start and stop included; the
    /// core-to-core map before it is extra).
    #[arg(long, value_parser = parse_duration, default_value = "2m")]
    pub(super) budget: std::time::Duration,
    /// The base profile file (default: the built-in `low-latency` for a latency goal or a
    /// `--rate`, else `throughput`).
    #[arg(long, value_name = "FILE")]
    pub(super) profile: Option<PathBuf>,
    /// A built-in base profile by name instead of a file.
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub(super) builtin: Option<String>,
    /// Where to write the best profile.
    #[arg(short, long, value_name = "FILE")]
    pub(super) output: PathBuf,
    /// Print the whole search (every trial) as one JSON document on stdout.
    #[arg(long)]
    pub(super) json: bool,
    /// A core-to-core map saved by `ringtop c2c --json` to rank CPU pairs by, instead of
    /// measuring one first.
    #[arg(long, value_name = "FILE")]
    pub(super) c2c: Option<PathBuf>,
    /// Let the two spinning threads share a core's SMT siblings.
    #[arg(long)]
    pub(super) allow_smt: bool,
    /// The confidence (sign test over interleaved pairs) the best must beat the base with to
    /// be written instead of it.
    #[arg(long, default_value_t = 0.95, value_parser = parse_confidence)]
    pub(super) confidence: f64,
    /// Seed of the candidate sampling and the trial order.
    #[arg(long, default_value_t = 1)]
    pub(super) seed: u64,
    /// For a framed base: the least codec ratio a candidate may show (`10`, `10x`); a trial that
    /// compresses less counts as lost, so speed is not bought with the workload's compression.
    /// Default: the base profile's `[codec] min_ratio`, if it has one.
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio)]
    pub(super) min_ratio: Option<f64>,
}

#[derive(Debug, Args, Clone)]
pub(super) struct SweepArgs {
    /// A profile key and its values: `workload.batch=1,8,64`, or a range stepped 1-2-5
    /// (`workload.rate=100k..10M`); a `[pinning]` key one CPU a point, `+` between threads'
    /// (`pinning.consumers=1,2`, `2+3,4+5`). Repeat for a grid; the last one is each curve's x
    /// axis (a swept `workload.rate` is, wherever it was given).
    #[arg(long = "set", value_name = "KEY=VALUES", required = true)]
    pub(super) set: Vec<String>,
    /// The base profile file (default: the built-in `default`).
    #[arg(long, value_name = "FILE")]
    pub(super) profile: Option<PathBuf>,
    /// A built-in base profile by name instead of a file.
    #[arg(long, value_name = "NAME", conflicts_with = "profile")]
    pub(super) builtin: Option<String>,
    /// Measured window of each point (after a 100 ms warm-up).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub(super) trial: std::time::Duration,
    /// Print the sweep as one JSON document instead of the table.
    #[arg(long)]
    pub(super) json: bool,
}

/// A count with an optional k, M or G multiplier.
fn parse_count(text: &str) -> Result<u64, String> {
    ringtop::metrics::human::parse_count(text)
        .ok_or_else(|| format!("expected a whole number like 500000, 500k or 2M; got {text:?}"))
}

/// A confidence strictly between one half and one.
fn parse_ratio(text: &str) -> Result<f64, String> {
    ringtop::profile::codec_ratio(text)
        .ok_or_else(|| format!("expected {}; got {text:?}", ringtop::profile::CODEC_RATIO))
}

fn parse_confidence(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|c| (0.5..1.0).contains(c))
        .ok_or_else(|| format!("expected a confidence between 0.5 and 1 (like 0.95); got {text:?}"))
}
