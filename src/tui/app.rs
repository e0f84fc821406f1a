//! The dashboard's state and what keys do to it. Pure: no terminal, no engine; a key turns into
//! an [`Effect`] the event loop carries out, so every behaviour is testable.

use std::collections::{BTreeMap, VecDeque};

use crate::engine::{Command, WarningLog};
use crate::metrics::rates::{EndpointRates, endpoint_rates};
use crate::metrics::snapshot::{Role, Snapshot, WarningTally};
use crate::profile::rules::RingShape;
use crate::profile::{LinkEndSetting, TuningProfile};
use crate::topology::Topology;
use crate::topology::c2c::C2cReport;
use crate::tui::scroll::Scroll;

mod keys;

/// Points kept in each history.
pub const HISTORY: usize = 120;

/// The pane that has focus (Tab cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    /// Topology and thread placement.
    Topology,
    /// Latency per consumer.
    Latency,
    /// Counters per thread.
    Counters,
    /// Codec and ratio.
    Compression,
}

impl Pane {
    const ORDER: [Pane; 4] = [
        Pane::Topology,
        Pane::Latency,
        Pane::Counters,
        Pane::Compression,
    ];

    fn next(self) -> Pane {
        let i = Self::ORDER.iter().position(|&p| p == self).unwrap_or(0);
        Self::ORDER[(i + 1) % Self::ORDER.len()]
    }
}

/// What the dashboard is showing on top of the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The panes.
    Normal,
    /// Every key.
    Help,
    /// Every warning of the latest snapshot, whole (the header has room for the first).
    Warnings,
    /// Choosing a CPU for the selected thread.
    CpuPicker {
        /// Index into the machine's PUs.
        cursor: usize,
    },
    /// Choosing a codec.
    CodecPicker {
        /// Index into [`crate::codec::CodecId::ALL`].
        cursor: usize,
    },
    /// Typing a name to save the current tuning as.
    Save {
        /// The name so far.
        name: String,
        /// The file exists; a second Enter overwrites it.
        confirm: bool,
    },
    /// `ringtop doctor` for the running profile's CPUs, line by line.
    HostCheck {
        /// The report's lines.
        lines: Vec<String>,
    },
    /// The search `t` started, live (it goes on when this is closed; `t` shows it again).
    Tune,
    /// Choosing a built-in profile to load.
    Load {
        /// Index into [`App::profiles`].
        cursor: usize,
    },
}

/// Something the event loop must do for a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Send a command to the engine.
    Send(Command),
    /// Save the current tuning under this name (`profiles/NAME.toml`); `overwrite` when
    /// confirmed.
    Save {
        /// Profile name.
        name: String,
        /// Replace an existing file.
        overwrite: bool,
    },
    /// Restart the workload with a built-in profile.
    Load(String),
    /// Measure the core-to-core map (in the background).
    MeasureC2c,
    /// Run `ringtop doctor` for the running profile's CPUs and show it.
    CheckHost,
    /// Start sampling every worker's stack, or, when sampling, draw the flamegraph.
    Flamegraph,
    /// Search the settings of the running profile (`ringtop tune`), or show the search running.
    Tune,
    /// Cancel the search running: the workload resumes as it was.
    CancelTune,
    /// Leave.
    Quit,
}

/// One line of feedback under the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The text.
    pub text: String,
    /// Whether it reports a failure.
    pub error: bool,
}

/// Everything the panes draw.
#[derive(Debug, Clone)]
pub struct App {
    /// The running profile's name.
    pub profile_name: String,
    /// The latest snapshot.
    pub snapshot: Option<Snapshot>,
    /// The machine.
    pub topology: Option<Topology>,
    /// The core-to-core map, once measured.
    pub c2c: Option<C2cReport>,
    /// Whether a core-to-core measurement is running.
    pub c2c_running: bool,
    /// p99 latency (ns) per consumer, oldest first.
    pub p99_history: BTreeMap<String, VecDeque<u64>>,
    /// Total rows/s per snapshot, oldest first, with the snapshot's elapsed seconds.
    pub throughput_history: VecDeque<(f64, f64)>,
    /// Codec ratio × 100 per snapshot.
    pub ratio_history: VecDeque<u64>,
    /// Index into the snapshot's threads.
    pub selected_thread: usize,
    /// Focused pane.
    pub focus: Pane,
    /// Whether the latency table shows each consumer's latency since the start or the last
    /// reset (`a` toggles), rather than over the last interval.
    pub latency_whole: bool,
    /// Overlay.
    pub mode: Mode,
    /// Last action's result.
    pub status: Option<Status>,
    /// Whether to use colour (`NO_COLOR` unset).
    pub color: bool,
    /// What the load list offers: built-in profile names, then saved files (`profiles/*.toml`
    /// in the working directory).
    pub profiles: Vec<String>,
    /// Current batch (rows; rows per frame when framed).
    pub batch: usize,
    /// Current prefetch distance.
    pub prefetch: usize,
    /// Rows per second each producer offers now (0: flat out).
    pub rate: u64,
    /// How many producers offer it.
    pub producers: usize,
    /// The running ring, which the batch, prefetch and codec keys check their setting against
    /// before sending it (the same rules the engine and the profile check apply).
    pub ring: RingShape,
    /// This process holds the receiving end of a link: what is sent (codec, pace, pausing) is
    /// the sender's to choose, so those keys say so instead of acting.
    pub receiving: bool,
    /// This process holds the sending end of a link: no consumer here reads or times its rows
    /// (the receiver's does), so the keys of their latency say so instead of acting.
    pub sending: bool,
    /// A search (`t`) can run on this workload: one producer and one consumer in this process.
    pub tunable: bool,
    /// The search `t` started, while it runs and after it ended.
    pub tune: Option<crate::tui::tune::TuneView>,
    /// Each of the snapshot's threads' ring counters as rates over its interval (the snapshot
    /// counts them since the start), in the snapshot's thread order; `None` where the ring
    /// keeps no counters.
    pub endpoint_rates: Vec<Option<EndpointRates>>,
    /// Where the text overlay open now (help, warnings, host check, search) is scrolled to.
    pub overlay_scroll: Scroll,
    /// Every warning the snapshots carried, for those the latest no longer does.
    pub(crate) warning_log: WarningLog,
    /// CPUs another process's pinned thread was busy on when the CPU picker opened (`p`), with
    /// whose: a thread pinned there would share the CPU with it.
    pub cpus_busy_elsewhere: BTreeMap<usize, Vec<crate::metrics::sched::OtherTask>>,
}

impl App {
    /// A dashboard for `profile` (called `profile_name`) with nothing measured yet.
    pub fn new(profile_name: &str, topology: Option<Topology>, profile: &TuningProfile) -> Self {
        App {
            profile_name: profile_name.to_owned(),
            snapshot: None,
            topology,
            c2c: None,
            c2c_running: false,
            p99_history: BTreeMap::new(),
            throughput_history: VecDeque::new(),
            ratio_history: VecDeque::new(),
            selected_thread: 0,
            focus: Pane::Latency,
            latency_whole: false,
            mode: Mode::Normal,
            overlay_scroll: Scroll::default(),
            status: None,
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            profiles: loadable_profiles(),
            batch: profile.effective_batch(),
            prefetch: profile.prefetch.distance,
            rate: profile.workload.rate,
            producers: profile.workload.producers,
            ring: RingShape::of(profile),
            receiving: matches!(profile.link_end(), LinkEndSetting::Receive(..)),
            sending: matches!(profile.link_end(), LinkEndSetting::Send(..)),
            tunable: crate::tune::check_base(profile).is_ok(),
            tune: None,
            endpoint_rates: Vec::new(),
            warning_log: WarningLog::default(),
            cpus_busy_elsewhere: BTreeMap::new(),
        }
    }

    /// Takes into the dashboard's own state what a command the engine applied changed: the
    /// batch, prefetch and pace it shows, and on a reset the p99 history it drew (the latency
    /// recorded so far is forgotten there too).
    pub fn applied(&mut self, command: &Command) {
        match command {
            Command::Batch { size } => self.batch = *size,
            Command::Prefetch { distance } => self.prefetch = *distance,
            Command::Rate { rows_per_s } => self.rate = *rows_per_s,
            Command::ResetHistograms => self.p99_history.clear(),
            Command::Repin { .. } | Command::Codec { .. } | Command::Pause | Command::Resume => {}
        }
    }

    /// The warnings earlier snapshots carried and the latest does not, each with how many
    /// snapshots carried it and when last.
    pub fn earlier_warnings(&self) -> Vec<WarningTally> {
        self.warning_log.earlier()
    }

    /// Whether earlier intervals carried warnings the last did not.
    pub fn has_earlier_warnings(&self) -> bool {
        self.warning_log.has_earlier()
    }

    /// Takes a new snapshot into the histories.
    pub fn update(&mut self, snapshot: Snapshot) {
        self.warning_log.add_snapshot(&snapshot);
        for thread in snapshot.threads.iter().filter(|t| t.role == Role::Consumer) {
            if let Some(latency) = thread.latency_ns {
                push(
                    self.p99_history.entry(thread.name.clone()).or_default(),
                    latency.p99,
                );
            }
        }
        push(
            &mut self.throughput_history,
            (snapshot.elapsed_s, snapshot.row_rate().rows_per_s),
        );
        if let Some(ratio) = snapshot.codec.as_ref().and_then(|c| c.ratio) {
            push(&mut self.ratio_history, (ratio * 100.0).round() as u64);
        }
        if self.selected_thread >= snapshot.threads.len() {
            self.selected_thread = 0;
        }
        self.endpoint_rates = endpoint_rates(
            self.snapshot.as_ref().map(|s| &s.threads[..]),
            &snapshot.threads,
            snapshot.interval_s,
        );
        self.snapshot = Some(snapshot);
    }

    /// Records an action's result for the status line.
    pub fn report(&mut self, text: impl Into<String>, error: bool) {
        self.status = Some(Status {
            text: text.into(),
            error,
        });
    }

    /// The selected thread's name.
    pub fn selected_name(&self) -> Option<&str> {
        self.snapshot
            .as_ref()?
            .threads
            .get(self.selected_thread)
            .map(|t| t.name.as_str())
    }

    fn thread_count(&self) -> usize {
        self.snapshot.as_ref().map_or(0, |s| s.threads.len())
    }

    /// Selects the thread drawn on row `row` of the latency or counters table (mouse clicks).
    pub fn select_thread(&mut self, index: usize) {
        if index < self.thread_count() {
            self.selected_thread = index;
        }
    }
}

/// Built-in names, then `profiles/*.toml` files in the working directory (sorted, the shipped
/// copies of built-ins left out), for `l`.
pub fn loadable_profiles() -> Vec<String> {
    let mut names: Vec<String> = crate::profile::builtin::BUILTIN
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .collect();
    let mut files: Vec<String> = std::fs::read_dir("profiles")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        // The shipped copies of the built-ins are listed once, by name.
        .filter(|path| {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let shipped = crate::profile::builtin::text(stem);
            shipped.is_none() || std::fs::read_to_string(path).ok().as_deref() != shipped
        })
        .map(|path| path.display().to_string())
        .collect();
    files.sort();
    names.extend(files);
    names
}

fn push<T>(history: &mut VecDeque<T>, value: T) {
    if history.len() == HISTORY {
        history.pop_front();
    }
    history.push_back(value);
}
