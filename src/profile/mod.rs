//! Tuning profiles: a workload and how to run it, as TOML a person edits and ringtop saves.
//!
//! - [`TuningProfile`]: the settings, section by section, with the defaults a missing key takes.
//! - [`load`] / [`parse`]: TOML in, checked; every error names the file, line and column and what
//!   was expected.
//! - [`TuningProfile::to_toml`]: TOML out (what the dashboard's "save" writes).
//! - [`builtin`]: the profiles shipped in `profiles/`, compiled into the binary.

pub mod builtin;
mod check;
mod files;
mod link_address;
mod locate;
pub(crate) mod numbers;
mod one_of;
pub mod overrides;
mod placement;
pub mod rules;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use files::{check_file, load};
pub use numbers::{CODEC_RATIO, codec_ratio};
pub use placement::{AutoWord, CpuSetting, NumaSetting, NumaWord};

use crate::codec::CodecId;
use crate::ring::WaitStrategy;

/// The profile format this build reads and writes.
pub const PROFILE_VERSION: u32 = 1;

/// A complete workload description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TuningProfile {
    /// Format version; must be [`PROFILE_VERSION`].
    #[serde(deserialize_with = "numbers::whole")]
    pub version: u32,
    /// What the profile is for, in a sentence.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The ring.
    pub ring: RingSection,
    /// What runs on it (every key has a default, so the section may be left out).
    #[serde(default)]
    pub workload: WorkloadSection,
    /// Where each thread runs.
    #[serde(default)]
    pub pinning: PinningSection,
    /// Frame codec; absent: rows travel as they are, without frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codec: Option<CodecSection>,
    /// Prefetching in the batch paths.
    #[serde(default)]
    pub prefetch: PrefetchSection,
    /// How blocked threads wait.
    #[serde(default)]
    pub wait: WaitSection,
    /// Reporting.
    #[serde(default)]
    pub report: ReportSection,
    /// Where the consumer is: here (absent), or across a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportSection>,
}

/// How frames reach the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// The consumer is in this process (the same as no `[transport]` section).
    Local,
    /// Over TCP, with RDMA's one-sided protocol (`write(offset, bytes)`, tail, credit).
    Tcp,
    /// RDMA verbs (builds with `--features rdma`).
    Rdma,
    /// Shared memory between two processes of this host (`name` is the ring).
    Shm,
}

impl TransportKind {
    /// The name used in profiles and snapshots.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Local => "local",
            TransportKind::Tcp => "tcp",
            TransportKind::Rdma => "rdma",
            TransportKind::Shm => "shm",
        }
    }
}

/// `[transport]`: the ring on another host (or process). A profile with `connect` runs the
/// producer and writes into the remote ring; one with `listen` (what `ringtop serve` builds) holds
/// the ring and runs the consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportSection {
    /// `local`, `tcp`, `rdma` or `shm`.
    #[serde(deserialize_with = "one_of::word")]
    pub kind: TransportKind,
    /// The receiver's `host:port` (producer side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
    /// The address to accept senders on (consumer side).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// `kind = "shm"`: the ring's name (a file in the per-user ringtop directory) this side
    /// writes into; `ringtop serve --shm NAME` holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Shared secret both ends must present; `RINGTOP_TOKEN` from the environment when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The largest frame the sender writes, in bytes (default: a full frame of the batch).
    /// Batches that could encode larger are split.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numbers::some_whole"
    )]
    pub max_frame_bytes: Option<usize>,
    /// Caps the sender's bytes on the link (Mbit/s), to emulate a slower network.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numbers::some_mbps"
    )]
    pub link_mbps: Option<f64>,
    /// A connected sender silent this long is dropped by the receiver.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: DurationSetting,
    /// A new connection has this long from accept to present a valid hello; until then it holds
    /// no session, so a slow or silent peer delays nobody else.
    #[serde(default = "default_handshake_timeout")]
    pub handshake_timeout: DurationSetting,
}

/// How long a connected sender may stay silent unless a profile says otherwise (`idle_timeout`).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a new connection has to say hello unless a profile says otherwise
/// (`handshake_timeout`).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

fn default_idle_timeout() -> DurationSetting {
    DurationSetting(DEFAULT_IDLE_TIMEOUT)
}

fn default_handshake_timeout() -> DurationSetting {
    DurationSetting(DEFAULT_HANDSHAKE_TIMEOUT)
}

impl TransportSection {
    /// A TCP transport with no address yet and every other key at its default (what command-line
    /// options such as `serve --listen` fill in).
    pub fn tcp() -> Self {
        TransportSection {
            kind: TransportKind::Tcp,
            connect: None,
            listen: None,
            name: None,
            token: None,
            max_frame_bytes: None,
            link_mbps: None,
            idle_timeout: default_idle_timeout(),
            handshake_timeout: default_handshake_timeout(),
        }
    }
}

/// Which end of a link this profile runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEndSetting {
    /// Producer and consumer are both here.
    Local,
    /// The producer writes into a ring at this address.
    Send(TransportKind, String),
    /// The ring and consumer are here; senders connect to this address.
    Receive(TransportKind, String),
}

/// Which ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RingKind {
    /// One producer, one consumer.
    Spsc,
    /// One producer, one consumer, the consumer polling a stamp in each slot instead of the
    /// producer's index. With 64-byte rows the stamp needs a line of its own, so a hand-off
    /// moves two lines as with `spsc`: offered so the two designs can be compared live. No batch
    /// path, no prefetch, no codec.
    Relay,
    /// One producer, every consumer sees every row.
    Broadcast,
    /// Many producers, many consumers, each row taken once.
    Mpmc,
}

impl RingKind {
    /// The name used in profiles.
    pub fn name(self) -> &'static str {
        match self {
            RingKind::Spsc => "spsc",
            RingKind::Relay => "relay",
            RingKind::Broadcast => "broadcast",
            RingKind::Mpmc => "mpmc",
        }
    }
}

/// `[ring]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingSection {
    /// `spsc`, `relay`, `broadcast` or `mpmc`.
    #[serde(deserialize_with = "one_of::word")]
    pub kind: RingKind,
    /// Slots, in rows; a power of two. A framed ring gets `capacity × 64` bytes.
    #[serde(deserialize_with = "numbers::whole")]
    pub capacity: usize,
    /// `"local"` (default), `"any"`, or a node number.
    #[serde(default, skip_serializing_if = "is_default_numa")]
    pub numa_node: NumaSetting,
    /// Ask for 2 MiB pages.
    #[serde(default)]
    pub huge_pages: bool,
}

impl RingSection {
    /// The bytes of `capacity` 64-byte rows: a framed ring's window, and the least a ring of any
    /// kind with this capacity takes (saturating).
    pub fn row_bytes(&self) -> u64 {
        (self.capacity as u64).saturating_mul(std::mem::size_of::<crate::row::Row>() as u64)
    }
}

fn is_default_numa(setting: &NumaSetting) -> bool {
    *setting == NumaSetting::Default
}

/// Where rows come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum SourceSetting {
    /// Six prices with two decimals.
    RandomWalk,
    /// Six noisy sine waves.
    SineNoise,
    /// Counters and steps.
    Steps,
    /// A CSV file's numeric columns, looped.
    Csv(PathBuf),
}

impl TryFrom<String> for SourceSetting {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.as_str() {
            "random-walk" => Ok(SourceSetting::RandomWalk),
            "sine-noise" => Ok(SourceSetting::SineNoise),
            "steps" => Ok(SourceSetting::Steps),
            other => match other.strip_prefix("csv:") {
                Some(path) if !path.is_empty() => Ok(SourceSetting::Csv(PathBuf::from(path))),
                _ => Err(format!("unknown source {other:?}, expected {SOURCES}")),
            },
        }
    }
}

/// The sources there are, as a profile names them.
const SOURCES: &str = r#""random-walk", "sine-noise", "steps" or "csv:PATH""#;

impl<'de> Deserialize<'de> for SourceSetting {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, Visitor};

        struct Name;
        impl Visitor<'_> for Name {
            type Value = SourceSetting;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "a source in quotes: {SOURCES}")
            }

            fn visit_str<E: Error>(self, text: &str) -> Result<SourceSetting, E> {
                SourceSetting::try_from(text.to_owned()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Name)
    }
}

impl From<SourceSetting> for String {
    fn from(source: SourceSetting) -> String {
        match source {
            SourceSetting::RandomWalk => "random-walk".to_owned(),
            SourceSetting::SineNoise => "sine-noise".to_owned(),
            SourceSetting::Steps => "steps".to_owned(),
            SourceSetting::Csv(path) => format!("csv:{}", path.display()),
        }
    }
}

/// A duration written as text (`"10s"`, `"500ms"`, `"2m"`), as humantime reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct DurationSetting(pub Duration);

impl<'de> Deserialize<'de> for DurationSetting {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{Error, Visitor};

        struct Text;
        impl Visitor<'_> for Text {
            type Value = DurationSetting;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // A bare number is the likely slip (`interval = 1`): its unit is what is missing.
                f.write_str("a duration in quotes with its unit (\"1s\", \"500ms\", \"2m\")")
            }

            fn visit_str<E: Error>(self, text: &str) -> Result<DurationSetting, E> {
                rules::parse_time(text)
                    .map(DurationSetting)
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Text)
    }
}

impl From<DurationSetting> for String {
    fn from(d: DurationSetting) -> String {
        humantime::format_duration(d.0).to_string()
    }
}

/// `[workload]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSection {
    /// Producer threads (1 for `spsc` and `broadcast`).
    #[serde(default = "one", deserialize_with = "numbers::whole")]
    pub producers: usize,
    /// Consumer threads (1 for `spsc`).
    #[serde(default = "one", deserialize_with = "numbers::whole")]
    pub consumers: usize,
    /// Rows per second per producer; 0 runs flat out. Written as a number or in words (`"1M"`).
    #[serde(default, deserialize_with = "numbers::rows_per_s")]
    pub rate: u64,
    /// The most rows a producer writes (and a consumer reads) at once; a frame's rows when
    /// framed. A paced producer writes the rows due, up to this many.
    #[serde(default = "default_batch", deserialize_with = "numbers::whole")]
    pub batch: usize,
    /// `random-walk`, `sine-noise`, `steps` or `csv:PATH`.
    #[serde(default = "default_source")]
    pub source: SourceSetting,
    /// Seed of the generator.
    #[serde(default = "default_seed", deserialize_with = "numbers::whole")]
    pub seed: u64,
    /// How long a headless run lasts (`"10s"`); absent: until stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<DurationSetting>,
}

impl Default for WorkloadSection {
    fn default() -> Self {
        WorkloadSection {
            producers: one(),
            consumers: one(),
            rate: 0,
            batch: default_batch(),
            source: default_source(),
            seed: default_seed(),
            duration: None,
        }
    }
}

fn one() -> usize {
    1
}
fn default_batch() -> usize {
    64
}
fn default_source() -> SourceSetting {
    SourceSetting::RandomWalk
}
fn default_seed() -> u64 {
    42
}

/// `[pinning]`: one entry per thread, in order (`producer-0`, `producer-1`, …); threads without
/// an entry are placed automatically.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinningSection {
    /// CPUs of the producers.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "placement::cpu_list"
    )]
    pub producers: Vec<CpuSetting>,
    /// CPUs of the consumers.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "placement::cpu_list"
    )]
    pub consumers: Vec<CpuSetting>,
}

/// `[codec]`: rows travel in frames through a byte ring, encoded with this codec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodecSection {
    /// Codec name (one of [`CodecId::ALL`]'s names: `none`, `delta`, `lz4`, … `decimal-fast`).
    #[serde(deserialize_with = "one_of::word")]
    pub name: CodecId,
    /// Rows per frame (default: the workload's batch); the `batch` command changes it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numbers::some_whole"
    )]
    pub rows_per_frame: Option<usize>,
    /// The least codec ratio a tuning search from this profile may settle for (`10`, `"10x"`):
    /// `ringtop tune` (unless `--min-ratio` says otherwise) and the dashboard's `t` count a trial
    /// that compressed less as one that lost rows. Absent: no floor. Runs ignore it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "numbers::some_codec_ratio"
    )]
    pub min_ratio: Option<f64>,
}

/// `[prefetch]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefetchSection {
    /// Slots ahead to prefetch in batch paths; 0 is off.
    #[serde(default, deserialize_with = "numbers::whole")]
    pub distance: usize,
}

/// How one side waits.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WaitSetting {
    /// Spin (lowest latency, burns the core).
    #[default]
    BusySpin,
    /// Spin, then yield the time slice.
    SpinYield,
    /// Spin, then sleep until woken.
    SpinPark,
}

impl WaitSetting {
    /// The ring's strategy for this setting.
    pub fn strategy(self) -> WaitStrategy {
        match self {
            WaitSetting::BusySpin => WaitStrategy::BusySpin,
            WaitSetting::SpinYield => WaitStrategy::spin_yield(),
            WaitSetting::SpinPark => WaitStrategy::spin_park(),
        }
    }
}

/// `[wait]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitSection {
    /// Producers.
    #[serde(default, deserialize_with = "one_of::word")]
    pub producer: WaitSetting,
    /// Consumers.
    #[serde(default, deserialize_with = "one_of::word")]
    pub consumer: WaitSetting,
}

/// `[report]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// Time between snapshots.
    #[serde(default = "default_interval")]
    pub interval: DurationSetting,
    /// Where to write an HdrHistogram interval log, if anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hlog: Option<PathBuf>,
}

impl Default for ReportSection {
    fn default() -> Self {
        ReportSection {
            interval: default_interval(),
            hlog: None,
        }
    }
}

fn default_interval() -> DurationSetting {
    DurationSetting(Duration::from_secs(1))
}

/// A profile that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", position(*.line, *.column))]
pub struct ProfileError {
    /// The file (or `<builtin NAME>`).
    pub file: String,
    /// 1-based line, when the error has a place.
    pub line: Option<usize>,
    /// 1-based column.
    pub column: Option<usize>,
    /// What is wrong and what was expected.
    pub message: String,
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// A problem at its line and column in `text`.
pub(super) fn located(text: &str, file: &str, problem: check::Problem) -> ProfileError {
    let (line, column) = locate::span_of(text, &problem.path)
        .map_or((None, None), |start| locate::line_column(text, start));
    ProfileError {
        file: file.to_owned(),
        line,
        column,
        message: problem.message,
    }
}

/// The TOML read into a profile, unchecked.
pub(super) fn deserialize(text: &str, file: &str) -> Result<TuningProfile, ProfileError> {
    toml::from_str(text).map_err(|e| {
        // A file of another version fails here on the keys it has and this build lacks, or the
        // other way round: its version is what to say.
        if let Some(version) = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|table| table.get("version")?.as_integer())
            .filter(|&v| v != i64::from(PROFILE_VERSION))
        {
            return located(text, file, check::other_version(version));
        }
        let (line, column) = e
            .span()
            .map_or((None, None), |span| locate::line_column(text, span.start));
        ProfileError {
            file: file.to_owned(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })
}

/// Parses and checks profile text; `file` names it in errors.
///
/// # Errors
/// As [`load`].
pub fn parse(text: &str, file: &str) -> Result<TuningProfile, ProfileError> {
    let profile = deserialize(text, file)?;
    check::check(&profile).map_err(|problem| located(text, file, problem))?;
    Ok(profile)
}

impl TuningProfile {
    /// The profile as TOML, ready to save: [`parse`] reads it back to an equal profile.
    ///
    /// # Errors
    /// Only if a value cannot be written as TOML (not expected for a checked profile).
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        let mut text = String::new();
        if !self.description.is_empty() {
            for line in self.description.lines() {
                text.push_str(&format!("# {line}\n"));
            }
        }
        text.push_str(&toml::to_string(self)?);
        Ok(text)
    }

    /// Takes the link's token out, so that what is saved holds no secret (a saved profile is a
    /// file to share and commit); the token is then given with `--token-file` or
    /// `RINGTOP_TOKEN`. Returns whether there was one.
    pub fn forget_secrets(&mut self) -> bool {
        self.transport
            .as_mut()
            .and_then(|t| t.token.take())
            .is_some()
    }

    /// Says in the description how this profile was saved (`how`: "saved from the dashboard
    /// …", "saved from a headless run at 2.5 s"), in place of such a note an earlier save left:
    /// "DESCRIPTION (how)", or "Profile how" where there is no description of its own.
    pub fn mark_saved(&mut self, how: &str) {
        let own = match self.description.rfind(" (saved from ") {
            Some(cut) if self.description.ends_with(')') => &self.description[..cut],
            _ if self.description.starts_with("Profile saved from ") => "",
            _ => &self.description,
        };
        self.description = if own.is_empty() {
            format!("Profile {how}")
        } else {
            format!("{own} ({how})")
        };
    }

    /// The codec, when rows travel in frames.
    pub fn codec(&self) -> Option<CodecId> {
        self.codec.as_ref().map(|c| c.name)
    }

    /// Checks a profile changed after loading (by command-line options); `origin` names where
    /// it came from in the error.
    ///
    /// # Errors
    /// [`ProfileError`] without a line: the values came from the command line.
    pub fn validate(&self, origin: &str) -> Result<(), ProfileError> {
        check::check(self).map_err(|problem| ProfileError {
            file: origin.to_owned(),
            line: None,
            column: None,
            message: problem.message,
        })
    }

    /// Which end of a link this profile runs.
    pub fn link_end(&self) -> LinkEndSetting {
        match &self.transport {
            Some(t) if t.kind != TransportKind::Local => {
                match (t.connect.as_ref().or(t.name.as_ref()), &t.listen) {
                    (_, Some(listen)) => LinkEndSetting::Receive(t.kind, listen.clone()),
                    (Some(connect), None) => LinkEndSetting::Send(t.kind, connect.clone()),
                    (None, None) => LinkEndSetting::Local,
                }
            }
            _ => LinkEndSetting::Local,
        }
    }

    /// Whether rows travel in codec frames: a `[codec]` section, or a remote ring (always
    /// framed).
    pub fn is_framed(&self) -> bool {
        self.codec.is_some() || self.link_end() != LinkEndSetting::Local
    }

    /// Rows per batch as the workers use it: rows per frame in a framed run, else the batch.
    pub fn effective_batch(&self) -> usize {
        self.codec
            .as_ref()
            .and_then(|c| c.rows_per_frame)
            .unwrap_or(self.workload.batch)
    }
}

#[cfg(test)]
mod tests;
