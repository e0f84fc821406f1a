//! Starting a workload from a profile, watching it, steering it, stopping it.

use std::sync::Arc;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::codec::frame::MAX_FRAME_ROWS;
use crate::codec::{CodecId, Decoder, Encoder, max_frame_len};
use crate::metrics::LatencyHistogram;
use crate::metrics::counters::CounterValues;
use crate::metrics::integrity::{Integrity, InterleavedCheck, SequenceCheck, SessionCheck};
use crate::metrics::snapshot::{
    CodecSnapshot, EndpointCounters, LatencyNs, LinkRole, RingSnapshot, Role, RunState,
    SCHEMA_VERSION, Snapshot, Summary, ThreadSnapshot, Totals, TransportSnapshot,
};
use crate::profile::{
    CpuSetting, LinkEndSetting, NumaSetting, NumaWord, RingKind, SourceSetting, TransportKind,
    TransportSection, TuningProfile,
};
use crate::ring::{RingConfig, RingError, broadcast, frames, mpmc, relay, spsc, window};
use crate::row::Row;
use crate::source::{Source as RowValues, SourceKind};
use crate::topology::pin::{PinError, allowed_cpus, check_cpu};
use crate::topology::{
    AllocationReport, MemoryPlacement, NodeChoice, NumaAlloc, PlacementError, Topology,
};
use crate::transport::tcp::{ListenConfig, RemoteSender, SenderConfig};
use crate::transport::{FrameLink, LinkError, LinkListener, LinkStats, resolve_token};

use super::command::{Command, CommandError};
use super::control::{Control, ThreadSlot};
use super::ends::{Sink, Source};
use super::worker::{Check, ConsumerJob, ProducerJob, consume, produce};

const ROW_BYTES: f64 = std::mem::size_of::<Row>() as f64;

/// Why a workload could not start.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A CPU cannot be used.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// The ring's memory cannot be placed as asked.
    #[error(transparent)]
    Placement(#[from] PlacementError),
    /// The ring cannot be built.
    #[error("ring: {0}")]
    Ring(#[from] RingError),
    /// The data source cannot be read.
    #[error("source: {0}")]
    Source(String),
    /// The link to the remote ring could not be set up.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The window a remote sender writes into could not be built.
    #[error("ring: {0}")]
    Window(#[from] window::WindowError),
    /// A worker thread could not be started.
    #[error("cannot start thread {name}: {reason}")]
    Spawn {
        /// The thread.
        name: String,
        /// What the OS said.
        reason: String,
    },
}

/// Starts workloads.
#[derive(Debug)]
pub struct Engine;

impl Engine {
    /// Allocates the ring on the chosen node, spawns the named, pinned workers and starts them.
    ///
    /// # Errors
    /// [`EngineError`] when the profile cannot run here (profiles from [`crate::profile::load`]
    /// are already checked, so this is rare).
    pub fn start(profile: TuningProfile) -> Result<EngineHandle, EngineError> {
        let host = crate::topology::host().ok();
        let work = &profile.workload;
        let end = profile.link_end();
        let (producer_cpus, consumer_cpus) = place_threads(&profile, thread_counts(&profile))?;
        let ring_side_cpu = consumer_cpus
            .first()
            .or(producer_cpus.first())
            .copied()
            .unwrap_or(0);
        let node = match profile.ring.numa_node {
            NumaSetting::Default | NumaSetting::Word(NumaWord::Local) => {
                NodeChoice::LocalTo(ring_side_cpu)
            }
            NumaSetting::Word(NumaWord::Any) => NodeChoice::Any,
            NumaSetting::Node(n) => NodeChoice::Node(n),
        };
        let alloc = Arc::new(NumaAlloc::new(MemoryPlacement {
            node,
            huge_pages: profile.ring.huge_pages,
        })?);
        let config = RingConfig {
            alloc: alloc.clone(),
            producer_wait: profile.wait.producer.strategy(),
            consumer_wait: profile.wait.consumer.strategy(),
        };
        let codec = profile.codec();
        let control = Arc::new(Control::new(
            profile.effective_batch(),
            work.rate,
            codec.unwrap_or(CodecId::None),
            profile.prefetch.distance,
        ));

        let (sinks, sources, link) = match &end {
            LinkEndSetting::Local => {
                let (sinks, sources) = build_ring(&profile, config)?;
                (sinks, sources, None)
            }
            LinkEndSetting::Send(kind, address) => {
                let (sink, link) = connect(&profile, *kind, address)?;
                (vec![sink], Vec::new(), Some(link))
            }
            LinkEndSetting::Receive(kind, address) => {
                let (source, link) = listen(&profile, *kind, address, config)?;
                (Vec::new(), vec![source], Some(link))
            }
        };
        let memory = alloc.reports().into_iter().next();
        let mut values = Vec::new();
        for p in 0..sinks.len() {
            values.push(row_values(&work.source, work.seed.wrapping_add(p as u64))?);
        }

        let mut slots = Vec::new();
        let mut threads = Vec::new();
        for (i, (sink, values)) in sinks.into_iter().zip(values).enumerate() {
            let slot = Arc::new(ThreadSlot::new(
                format!("producer-{i}"),
                Role::Producer,
                producer_cpus[i],
            ));
            let job = ProducerJob {
                slot: slot.clone(),
                control: control.clone(),
                sink,
                values,
                index: i as u64,
                wait: profile.wait.producer.strategy(),
            };
            threads.push(spawn(&slot.name, move || produce(job))?);
            slots.push(slot);
        }
        for (i, source) in sources.into_iter().enumerate() {
            let slot = Arc::new(ThreadSlot::new(
                format!("consumer-{i}"),
                Role::Consumer,
                consumer_cpus[i],
            ));
            let check = if link.is_some() {
                Check::Sessions(SessionCheck::default())
            } else if profile.ring.kind == RingKind::Mpmc {
                Check::Interleaved(InterleavedCheck::new(work.producers))
            } else {
                Check::Consecutive(SequenceCheck::default())
            };
            let job = ConsumerJob {
                slot: slot.clone(),
                control: control.clone(),
                source,
                check,
                wait: profile.wait.consumer.strategy(),
            };
            threads.push(spawn(&slot.name, move || consume(job))?);
            slots.push(slot);
        }

        Ok(EngineHandle {
            baseline: Baseline::zero(slots.len()),
            profile,
            control,
            slots,
            threads,
            alloc,
            host: host.cloned(),
            memory,
            interval_histograms: std::sync::Mutex::new(Vec::new()),
            link,
            stopped: false,
        })
    }
}

/// Producer and consumer threads this process runs: both ends locally, or one end of a link.
fn thread_counts(profile: &TuningProfile) -> (usize, usize) {
    match profile.link_end() {
        LinkEndSetting::Local => (profile.workload.producers, profile.workload.consumers),
        LinkEndSetting::Send(..) => (1, 0),
        LinkEndSetting::Receive(..) => (0, 1),
    }
}

/// The producer's end of a remote ring: connected, handshake done.
fn connect(
    profile: &TuningProfile,
    kind: TransportKind,
    address: &str,
) -> Result<(Sink, LinkEnd), EngineError> {
    let transport = profile
        .transport
        .clone()
        .unwrap_or_else(TransportSection::tcp);
    let stats = Arc::new(LinkStats::default());
    let config = SenderConfig {
        address: address.to_owned(),
        token: resolve_token(transport.token.as_deref()),
        max_frame: transport
            .max_frame_bytes
            .unwrap_or_else(|| max_frame_len(profile.effective_batch().min(MAX_FRAME_ROWS))),
        link_mbps: transport.link_mbps,
        connect_timeout: Duration::from_secs(3),
    };
    let sender: Box<dyn FrameLink> = match kind {
        TransportKind::Rdma => rdma_sender(config, stats.clone())?,
        _ => Box::new(RemoteSender::connect(config, stats.clone())?),
    };
    Ok((
        Sink::Remote(sender, Encoder::new()),
        LinkEnd {
            kind,
            role: LinkRole::Sender,
            address: address.to_owned(),
            stats,
            listener: None,
            link_mbps: transport.link_mbps,
        },
    ))
}

/// The ring's end of a remote ring: the window, and a listener writing senders into it.
fn listen(
    profile: &TuningProfile,
    kind: TransportKind,
    address: &str,
    config: RingConfig,
) -> Result<(Source, LinkEnd), EngineError> {
    let transport = profile
        .transport
        .clone()
        .unwrap_or_else(TransportSection::tcp);
    let (writer, reader) =
        window::channel_with(profile.ring.capacity * std::mem::size_of::<Row>(), config)?;
    let stats = Arc::new(LinkStats::default());
    let listen_config = ListenConfig {
        address: address.to_owned(),
        token: resolve_token(transport.token.as_deref()),
        idle_timeout: transport.idle_timeout.0,
        handshake_timeout: Duration::from_secs(3),
    };
    let (listener, inbox): (Box<dyn LinkListener>, _) = match kind {
        TransportKind::Rdma => rdma_listener(listen_config, writer, reader, stats.clone())?,
        _ => {
            let (listener, inbox) =
                crate::transport::tcp::listen(listen_config, writer, reader, stats.clone())?;
            (Box::new(listener), inbox)
        }
    };
    Ok((
        Source::Remote(Box::new(inbox), Decoder::new(), None),
        LinkEnd {
            kind,
            role: LinkRole::Receiver,
            address: listener.local_addr(),
            stats,
            listener: Some(listener),
            link_mbps: None,
        },
    ))
}

/// The verbs sender (feature `rdma`), or why there is none.
fn rdma_sender(
    config: SenderConfig,
    stats: Arc<LinkStats>,
) -> Result<Box<dyn FrameLink>, EngineError> {
    #[cfg(feature = "rdma")]
    {
        Ok(Box::new(crate::transport::verbs::VerbsSender::connect(
            config, stats,
        )?))
    }
    #[cfg(not(feature = "rdma"))]
    {
        let _ = (config, stats);
        Err(crate::transport::rdma_unavailable().into())
    }
}

/// The verbs listener (feature `rdma`), or why there is none.
fn rdma_listener(
    config: ListenConfig,
    writer: window::WindowWriter,
    reader: window::WindowReader,
    stats: Arc<LinkStats>,
) -> Result<(Box<dyn LinkListener>, crate::transport::inbox::Inbox), EngineError> {
    #[cfg(feature = "rdma")]
    {
        let (listener, inbox) = crate::transport::verbs::listen(config, writer, reader, stats)?;
        Ok((Box::new(listener), inbox))
    }
    #[cfg(not(feature = "rdma"))]
    {
        let _ = (config, writer, reader, stats);
        Err(crate::transport::rdma_unavailable().into())
    }
}

/// This process's end of a link.
#[derive(Debug)]
struct LinkEnd {
    kind: TransportKind,
    role: LinkRole,
    address: String,
    stats: Arc<LinkStats>,
    /// The receiver's accepting thread (stopped before the consumer drains).
    listener: Option<Box<dyn LinkListener>>,
    link_mbps: Option<f64>,
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, EngineError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .map_err(|e| EngineError::Spawn {
            name: name.to_owned(),
            reason: e.to_string(),
        })
}

/// CPUs for every thread: those the profile names (checked), then free allowed CPUs in order for
/// `"auto"`, reusing CPUs only when there are more threads than CPUs.
fn place_threads(
    profile: &TuningProfile,
    (producers, consumers): (usize, usize),
) -> Result<(Vec<usize>, Vec<usize>), EngineError> {
    let allowed = allowed_cpus();
    if allowed.is_empty() {
        return Err(PinError::Unavailable("no CPU is allowed".into()).into());
    }
    let fixed = |list: &[CpuSetting], i: usize| match list.get(i) {
        Some(CpuSetting::Cpu(c)) => Some(*c),
        _ => None,
    };
    let mut taken: Vec<usize> = Vec::new();
    for i in 0..producers {
        if let Some(c) = fixed(&profile.pinning.producers, i) {
            check_cpu(c)?;
            taken.push(c);
        }
    }
    for i in 0..consumers {
        if let Some(c) = fixed(&profile.pinning.consumers, i) {
            check_cpu(c)?;
            taken.push(c);
        }
    }
    let mut free = allowed
        .iter()
        .copied()
        .filter(|c| !taken.contains(c))
        .collect::<Vec<_>>()
        .into_iter();
    let mut cycle = allowed.iter().copied().cycle();
    let mut next = || {
        free.next()
            .unwrap_or_else(|| cycle.next().unwrap_or(allowed[0]))
    };
    let producer_cpus: Vec<usize> = (0..producers)
        .map(|i| fixed(&profile.pinning.producers, i).unwrap_or_else(&mut next))
        .collect();
    let consumer_cpus: Vec<usize> = (0..consumers)
        .map(|i| fixed(&profile.pinning.consumers, i).unwrap_or_else(&mut next))
        .collect();
    Ok((producer_cpus, consumer_cpus))
}

fn build_ring(
    profile: &TuningProfile,
    config: RingConfig,
) -> Result<(Vec<Sink>, Vec<Source>), EngineError> {
    let capacity = profile.ring.capacity;
    let work = &profile.workload;
    Ok(match (profile.ring.kind, profile.codec.is_some()) {
        (RingKind::Spsc, true) => {
            let (tx, rx) = frames::channel_with(capacity * std::mem::size_of::<Row>(), config)?;
            (
                vec![Sink::Frames(tx, Encoder::new())],
                vec![Source::Frames(rx, Decoder::new())],
            )
        }
        (RingKind::Spsc, false) => {
            let (tx, rx) = spsc::channel_with::<Row>(capacity, config)?;
            (vec![Sink::Spsc(tx)], vec![Source::Spsc(rx)])
        }
        (RingKind::Relay, _) => {
            let (tx, rx) = relay::channel_with::<Row>(capacity, config)?;
            (vec![Sink::Relay(tx)], vec![Source::Relay(rx)])
        }
        (RingKind::Broadcast, _) => {
            let (tx, rxs) = broadcast::channel_with::<Row>(capacity, work.consumers, config)?;
            (
                vec![Sink::Broadcast(tx)],
                rxs.into_iter().map(Source::Broadcast).collect(),
            )
        }
        (RingKind::Mpmc, _) => {
            let (tx, rx) = mpmc::channel_with::<Row>(capacity, config)?;
            let sinks = (0..work.producers)
                .map(|_| Sink::Mpmc(tx.clone(), Vec::new()))
                .collect();
            let sources = (0..work.consumers)
                .map(|_| Source::Mpmc(rx.clone()))
                .collect();
            (sinks, sources)
        }
    })
}

fn row_values(source: &SourceSetting, seed: u64) -> Result<RowValues, EngineError> {
    Ok(match source {
        SourceSetting::RandomWalk => RowValues::new(SourceKind::RandomWalk, seed),
        SourceSetting::SineNoise => RowValues::new(SourceKind::SineNoise, seed),
        SourceSetting::Steps => RowValues::new(SourceKind::Steps, seed),
        SourceSetting::Csv(path) => {
            let table =
                crate::source::csv::load(path).map_err(|e| EngineError::Source(e.to_string()))?;
            RowValues::replay(table.values.into())
        }
    })
}

/// Counters at the start of the current interval.
#[derive(Debug, Clone)]
struct Baseline {
    at: Duration,
    rows: Vec<u64>,
    codec: Vec<(u64, u64, u64)>,
    counters: Vec<Option<CounterValues>>,
    /// Link frames, bytes, and rows the receiver acknowledged.
    link: (u64, u64, u64),
}

impl Baseline {
    fn zero(threads: usize) -> Self {
        Baseline {
            at: Duration::ZERO,
            rows: vec![0; threads],
            codec: vec![(0, 0, 0); threads],
            counters: vec![None; threads],
            link: (0, 0, 0),
        }
    }
}

/// A running workload.
#[derive(Debug)]
pub struct EngineHandle {
    profile: TuningProfile,
    control: Arc<Control>,
    slots: Vec<Arc<ThreadSlot>>,
    threads: Vec<JoinHandle<()>>,
    alloc: Arc<NumaAlloc>,
    host: Option<Topology>,
    /// The ring's allocation as first placed (reported after the ring is gone, too).
    memory: Option<AllocationReport>,
    /// Each consumer's latency over the last snapshot's interval, for interval logs.
    interval_histograms: std::sync::Mutex<Vec<(String, LatencyHistogram)>>,
    /// The link, when the ring is remote.
    link: Option<LinkEnd>,
    baseline: Baseline,
    stopped: bool,
}

impl EngineHandle {
    /// The engine now; rates and interval latency cover the time since the previous call.
    pub fn snapshot(&mut self) -> Snapshot {
        let now = self.control.epoch.elapsed();
        let next = self.capture(now);
        let baseline = std::mem::replace(&mut self.baseline, next.clone());
        let (threads, ring, codec, totals, interval_s) = self.measure(&baseline, &next, true);
        let transport = self.transport(&baseline, &next, &threads, true);
        let warnings = self.live_warnings(&threads, &ring, transport.as_ref());
        Snapshot {
            schema_version: SCHEMA_VERSION,
            elapsed_s: now.as_secs_f64(),
            interval_s,
            state: if self.stopped {
                RunState::Stopped
            } else if self.control.paused.load(Relaxed) {
                RunState::Paused
            } else {
                RunState::Running
            },
            profile: self.profile.description.clone(),
            threads,
            ring,
            codec,
            totals,
            transport,
            warnings,
        }
    }

    /// The address this process accepts senders on, when it holds a remote ring.
    pub fn listen_address(&self) -> Option<String> {
        self.link
            .as_ref()
            .filter(|l| l.role == LinkRole::Receiver)
            .map(|l| l.address.clone())
    }

    /// Whether this process holds a remote ring, a sender has come and gone, and none is
    /// connected now (`serve --once` stops then).
    pub fn sender_left(&self) -> bool {
        self.link.as_ref().is_some_and(|l| {
            l.role == LinkRole::Receiver
                && l.stats.sessions.load(Relaxed) > 0
                && !l.stats.connected.load(Relaxed)
        })
    }

    /// Whether every worker has finished (producers stop only when told, so this is rare before
    /// [`EngineHandle::stop`]).
    pub fn is_finished(&self) -> bool {
        self.slots.iter().all(|s| s.finished.load(Relaxed))
    }

    /// The names of the worker threads, producers first.
    pub fn thread_names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.name.clone()).collect()
    }

    /// Applies a command between batches, or refuses it and changes nothing.
    ///
    /// # Errors
    /// [`CommandError`] for an unknown thread, an unavailable CPU, or a setting that does not
    /// apply to this run.
    pub fn send(&self, command: Command) -> Result<(), CommandError> {
        if self.stopped {
            return Err(CommandError::Stopped);
        }
        let capacity = self.profile.ring.capacity;
        let framed = self.is_framed();
        let receiver = self
            .link
            .as_ref()
            .is_some_and(|l| l.role == LinkRole::Receiver);
        match command {
            Command::Codec { .. } | Command::Rate { .. } | Command::Pause | Command::Resume
                if receiver =>
            {
                return Err(CommandError::Invalid(
                    "this process holds the ring; the sender chooses codec, rate and pausing: send the command to the sending process".into(),
                ));
            }
            Command::Repin { thread, cpu } => {
                let slot = self
                    .slots
                    .iter()
                    .find(|s| s.name == thread)
                    .ok_or_else(|| CommandError::NoSuchThread {
                        name: thread.clone(),
                        threads: self.thread_names().join(", "),
                    })?;
                check_cpu(cpu).map_err(|e| CommandError::Invalid(e.to_string()))?;
                slot.want_cpu.store(cpu, Release);
            }
            Command::Codec { name } => {
                if !framed {
                    return Err(CommandError::Invalid(
                        "this run moves rows, not frames: add a [codec] section to the profile to switch codecs".into(),
                    ));
                }
                self.control.codec.store(name as u8, Relaxed);
            }
            Command::Batch { size } => {
                if size == 0 || size > capacity {
                    return Err(CommandError::Invalid(format!(
                        "batch must be between 1 and {capacity}"
                    )));
                }
                let ring_bytes = capacity * std::mem::size_of::<Row>();
                if framed && (size > MAX_FRAME_ROWS || max_frame_len(size) > ring_bytes / 2) {
                    return Err(CommandError::Invalid(format!(
                        "a frame of {size} rows may need {} bytes, more than half the {ring_bytes}-byte ring",
                        max_frame_len(size)
                    )));
                }
                self.control.batch.store(size, Relaxed);
            }
            Command::Prefetch { distance } => {
                if framed || matches!(self.profile.ring.kind, RingKind::Mpmc | RingKind::Relay) {
                    return Err(CommandError::Invalid(
                        "prefetching applies to spsc and broadcast row rings only".into(),
                    ));
                }
                if distance >= capacity {
                    return Err(CommandError::Invalid(format!(
                        "prefetch distance must be below {capacity}"
                    )));
                }
                self.control.prefetch.store(distance, Relaxed);
            }
            Command::Rate { rows_per_s } => self.control.rate.store(rows_per_s, Relaxed),
            Command::Pause => self.control.paused.store(true, Relaxed),
            Command::Resume => self.control.paused.store(false, Relaxed),
            Command::ResetHistograms => {
                self.control.reset_epoch.fetch_add(1, Relaxed);
            }
        }
        Ok(())
    }

    /// The current settings as a profile (what "save" writes): batch, rate, codec, prefetch and
    /// every thread's CPU as they are now.
    pub fn current_profile(&self) -> TuningProfile {
        let mut profile = self.profile.clone();
        let batch = self.control.batch.load(Relaxed);
        match &mut profile.codec {
            Some(codec) => codec.rows_per_frame = Some(batch),
            None => profile.workload.batch = batch,
        }
        profile.workload.rate = self.control.rate.load(Relaxed);
        profile.prefetch.distance = self.control.prefetch.load(Relaxed);
        if let Some(codec) = &mut profile.codec {
            codec.name = self.control.codec();
        }
        let cpus = |role: Role| {
            self.slots
                .iter()
                .filter(|s| s.role == role)
                .map(|s| CpuSetting::Cpu(s.want_cpu.load(Relaxed)))
                .collect()
        };
        profile.pinning.producers = cpus(Role::Producer);
        profile.pinning.consumers = cpus(Role::Consumer);
        profile
    }

    /// Stops producers, lets consumers drain everything written, joins every thread and reports
    /// over the whole run.
    pub fn stop(mut self) -> Summary {
        self.control.stop.store(true, Relaxed);
        self.control.paused.store(false, Relaxed);
        if let Some(listener) = self.link.as_mut().and_then(|l| l.listener.as_mut()) {
            listener.stop();
        }
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
        self.stopped = true;
        let now = self.control.epoch.elapsed();
        let start = Baseline::zero(self.slots.len());
        let end = self.capture(now);
        let (threads, ring, codec, mut totals, _) = self.measure(&start, &end, false);
        let transport = self.transport(&start, &end, &threads, false);
        // Rows a consumer never saw once everything was drained are lost.
        let produced = totals.produced;
        let consumers: Vec<&ThreadSnapshot> = threads
            .iter()
            .filter(|t| t.role == Role::Consumer)
            .collect();
        let missing = match self.profile.ring.kind {
            RingKind::Mpmc => produced.saturating_sub(totals.consumed),
            _ => consumers
                .iter()
                .map(|c| produced.saturating_sub(c.rows))
                .sum(),
        };
        totals.lost += missing;
        let clean = totals.lost == 0 && totals.duplicated == 0 && totals.reordered == 0;
        Summary {
            schema_version: SCHEMA_VERSION,
            elapsed_s: now.as_secs_f64(),
            profile: self.profile.description.clone(),
            threads,
            ring,
            codec,
            totals,
            transport,
            integrity_ok: clean,
        }
    }

    fn capture(&self, at: Duration) -> Baseline {
        Baseline {
            at,
            rows: self.slots.iter().map(|s| s.rows.load(Relaxed)).collect(),
            codec: self
                .slots
                .iter()
                .map(|s| {
                    (
                        s.codec.rows.load(Relaxed),
                        s.codec.frame_bytes.load(Relaxed),
                        s.codec.nanos.load(Relaxed),
                    )
                })
                .collect(),
            counters: self.slots.iter().map(|s| s.read_counters()).collect(),
            link: self.link.as_ref().map_or((0, 0, 0), |l| {
                (
                    l.stats.frames.load(Relaxed),
                    l.stats.bytes.load(Relaxed),
                    l.stats.rows_acknowledged.load(Relaxed),
                )
            }),
        }
    }

    fn transport(
        &self,
        since: &Baseline,
        upto: &Baseline,
        threads: &[ThreadSnapshot],
        interval: bool,
    ) -> Option<TransportSnapshot> {
        let link = self.link.as_ref()?;
        let stats = &link.stats;
        let secs = (upto.at - since.at).as_secs_f64().max(1e-9);
        let sender = link.role == LinkRole::Sender;
        let round_trip = sender.then(|| {
            let mut h = stats.round_trip.lock().unwrap_or_else(|e| e.into_inner());
            let summary = if interval {
                let s = h.0.summary();
                h.0.reset();
                s
            } else {
                h.1.summary()
            };
            LatencyNs::from(summary)
        });
        let sessions = stats.sessions.load(Relaxed);
        let (one_way, unavailable) = if sender {
            (None, Some("measured by the receiver".to_owned()))
        } else if sessions == 0 {
            (None, Some("no sender has connected yet".to_owned()))
        } else if !stats.same_clock.load(Relaxed) {
            (
                None,
                Some(
                    "the sender runs on another host (its boot id differs): one-way times would \
                     compare two clocks; the sender reports round trips"
                        .to_owned(),
                ),
            )
        } else {
            let latency = threads
                .iter()
                .find(|t| t.role == Role::Consumer)
                .and_then(|t| t.latency_ns);
            (latency, None)
        };
        Some(TransportSnapshot {
            kind: link.kind.name().to_owned(),
            role: link.role,
            address: link.address.clone(),
            peer: stats.peer(),
            connected: stats.connected.load(Relaxed),
            frames: upto.link.0,
            bytes: upto.link.1,
            frames_per_s: upto.link.0.saturating_sub(since.link.0) as f64 / secs,
            mb_per_s: upto.link.1.saturating_sub(since.link.1) as f64 / secs / 1e6,
            rows_acknowledged: sender.then(|| stats.rows_acknowledged.load(Relaxed)),
            round_trip_ns: round_trip,
            one_way_ns: one_way,
            one_way_unavailable: unavailable,
            credit_stalls: stats.credit_stalls.load(Relaxed),
            cap_waits: stats.cap_waits.load(Relaxed),
            link_mbps: link.link_mbps,
            sessions,
            reconnects: stats.reconnects.load(Relaxed),
            refused: stats.refused.load(Relaxed),
            dropped: stats.dropped.load(Relaxed),
            last_error: stats.error(),
        })
    }

    fn measure(
        &self,
        since: &Baseline,
        upto: &Baseline,
        interval_latency: bool,
    ) -> (
        Vec<ThreadSnapshot>,
        RingSnapshot,
        Option<CodecSnapshot>,
        Totals,
        f64,
    ) {
        let secs = (upto.at - since.at).as_secs_f64().max(1e-9);
        let mut interval_histograms = Vec::new();
        let mut threads = Vec::new();
        let mut integrity = Integrity::default();
        let (mut produced, mut consumed) = (0u64, 0u64);
        let mut consumed_by = Vec::new();
        let mut codec = CodecTally::default();
        // Rows from a sender on another host carry its clock: no one-way latency here.
        let clockless = self.link.as_ref().is_some_and(|l| {
            l.role == LinkRole::Receiver
                && l.stats.sessions.load(Relaxed) > 0
                && !l.stats.same_clock.load(Relaxed)
        });
        for (i, slot) in self.slots.iter().enumerate() {
            let rows = upto.rows[i];
            let delta = rows.saturating_sub(since.rows[i]);
            let (latency, total) = if slot.role == Role::Consumer && !clockless {
                let mut shared = slot.latency.lock().unwrap_or_else(|e| e.into_inner());
                let interval = shared.interval.summary();
                if interval_latency {
                    let histogram = std::mem::take(&mut shared.interval);
                    interval_histograms.push((slot.name.clone(), histogram));
                }
                let total = shared.total.summary();
                (
                    Some(LatencyNs::from(if interval_latency {
                        interval
                    } else {
                        total
                    })),
                    Some(LatencyNs::from(total)),
                )
            } else {
                (None, None)
            };
            let (c_rows, c_bytes, c_nanos) = (
                slot.codec
                    .rows
                    .load(Relaxed)
                    .saturating_sub(since.codec[i].0),
                slot.codec
                    .frame_bytes
                    .load(Relaxed)
                    .saturating_sub(since.codec[i].1),
                slot.codec
                    .nanos
                    .load(Relaxed)
                    .saturating_sub(since.codec[i].2),
            );
            match slot.role {
                Role::Producer => {
                    produced += rows;
                    codec.encoded_rows += c_rows;
                    codec.encoded_bytes += c_bytes;
                    codec.encode_nanos += c_nanos;
                }
                Role::Consumer => {
                    consumed += rows;
                    consumed_by.push(rows);
                    integrity.add(&slot.integrity());
                    codec.decoded_rows += c_rows;
                    codec.decoded_bytes += c_bytes;
                    codec.decode_nanos += c_nanos;
                }
            }
            let cpu = slot.cpu();
            threads.push(ThreadSnapshot {
                name: slot.name.clone(),
                role: slot.role,
                cpu,
                node: cpu.and_then(|c| self.host.as_ref()?.node_of_cpu(c)),
                rows,
                rows_per_s: delta as f64 / secs,
                mb_per_s: delta as f64 * ROW_BYTES / secs / 1e6,
                latency_ns: latency,
                latency_total_ns: total,
                endpoint: *slot.endpoint.lock().unwrap_or_else(|e| e.into_inner()),
                counters: upto.counters[i]
                    .as_ref()
                    .map(|now| match &since.counters[i] {
                        Some(then) => now.since(then),
                        None => now.clone(),
                    }),
            });
        }
        let mut consumed_delta: u64 = threads
            .iter()
            .filter(|t| t.role == Role::Consumer)
            .map(|t| (t.rows_per_s * secs).round() as u64)
            .sum();
        // A sender's consumer is on the other host: what it acknowledged is what was consumed.
        if self
            .link
            .as_ref()
            .is_some_and(|l| l.role == LinkRole::Sender)
        {
            consumed = upto.link.2;
            consumed_delta = upto.link.2.saturating_sub(since.link.2);
        }
        let occupancy = match self.profile.ring.kind {
            RingKind::Broadcast => {
                produced.saturating_sub(consumed_by.iter().copied().min().unwrap_or(0))
            }
            _ => produced.saturating_sub(consumed),
        };
        let sum = |role: Role, f: fn(&EndpointCounters) -> u64| -> Option<u64> {
            threads
                .iter()
                .filter(|t| t.role == role)
                .map(|t| t.endpoint.as_ref().map(f))
                .sum()
        };
        let report = self
            .alloc
            .reports()
            .into_iter()
            .next()
            .or_else(|| self.memory.clone());
        let ring = RingSnapshot {
            kind: self.profile.ring.kind.name().to_owned(),
            capacity: self.profile.ring.capacity,
            framed: self.is_framed(),
            occupancy_rows: occupancy,
            memory: report.as_ref().map(|r| r.summary()),
            memory_nodes: report
                .as_ref()
                .and_then(|r| r.located_on.nodes().map(<[usize]>::to_vec))
                .unwrap_or_default(),
            producer_full_stalls: sum(Role::Producer, |e| e.stalls),
            consumer_empty_polls: sum(Role::Consumer, |e| e.stalls),
            producer_index_reloads: sum(Role::Producer, |e| e.index_reloads),
            consumer_index_reloads: sum(Role::Consumer, |e| e.index_reloads),
        };
        let codec = self
            .is_framed()
            .then(|| codec.snapshot(self.codec_in_use()));
        let totals = Totals {
            produced,
            consumed,
            lost: integrity.lost,
            duplicated: integrity.duplicated,
            reordered: integrity.reordered,
            rows_per_s: consumed_delta as f64 / secs,
            mb_per_s: consumed_delta as f64 * ROW_BYTES / secs / 1e6,
        };
        if interval_latency {
            *self
                .interval_histograms
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = interval_histograms;
        }
        (threads, ring, codec, totals, secs)
    }

    /// Whether rows travel in frames: a `[codec]` section, or a remote ring (always framed).
    fn is_framed(&self) -> bool {
        self.profile.codec.is_some() || self.link.is_some()
    }

    /// The codec frames use now: the setting, or on a receiver, what the last frame carried.
    fn codec_in_use(&self) -> CodecId {
        if self
            .link
            .as_ref()
            .is_some_and(|l| l.role == LinkRole::Receiver)
        {
            let decoded = self
                .slots
                .iter()
                .find(|s| s.codec.rows.load(Relaxed) > 0)
                .and_then(|s| CodecId::from_id(s.codec.last_codec.load(Relaxed)));
            if let Some(codec) = decoded {
                return codec;
            }
        }
        self.control.codec()
    }

    /// Each consumer's latency histogram over the interval the last
    /// [`snapshot`](Self::snapshot) covered (for HdrHistogram interval logs).
    pub fn interval_histograms(&self) -> Vec<(String, LatencyHistogram)> {
        self.interval_histograms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn live_warnings(
        &self,
        threads: &[ThreadSnapshot],
        ring: &RingSnapshot,
        transport: Option<&TransportSnapshot>,
    ) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(t) = transport
            && t.role == LinkRole::Sender
            && !t.connected
        {
            warnings.push(format!(
                "link to {} is down ({}); reconnecting",
                t.address,
                t.last_error.as_deref().unwrap_or("no reason given")
            ));
        }
        for (i, a) in threads.iter().enumerate() {
            let sharing: Vec<&str> = threads[i + 1..]
                .iter()
                .filter(|b| a.cpu.is_some() && b.cpu == a.cpu)
                .map(|b| b.name.as_str())
                .collect();
            if let (false, Some(cpu)) = (sharing.is_empty(), a.cpu) {
                warnings.push(format!(
                    "{} shares CPU {cpu} with {}: its numbers include time slicing",
                    a.name,
                    sharing.join(", ")
                ));
            }
        }
        for slot in &self.slots {
            if let Some(err) = slot.last_error.lock().ok().and_then(|e| e.clone()) {
                warnings.push(format!("{}: {err}", slot.name));
            }
            let corrupt = slot.codec.corrupt_frames.load(Relaxed);
            if corrupt > 0 {
                warnings.push(format!("{}: {corrupt} frames did not decode", slot.name));
            }
        }
        if let Some(host) = &self.host {
            for t in threads.iter().filter(|t| t.role == Role::Consumer) {
                if let Some(cpu) = t.cpu
                    && host.reads_remote_memory(cpu, &ring.memory_nodes) == Some(true)
                {
                    warnings.push(format!(
                        "{} on CPU {cpu} reads the ring from remote NUMA node(s) {:?}",
                        t.name, ring.memory_nodes
                    ));
                }
            }
        }
        warnings
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.control.stop.store(true, Relaxed);
        self.control.paused.store(false, Relaxed);
        if let Some(listener) = self.link.as_mut().and_then(|l| l.listener.as_mut()) {
            listener.stop();
        }
        for thread in std::mem::take(&mut self.threads) {
            let _ = thread.join();
        }
    }
}

#[derive(Debug, Default)]
struct CodecTally {
    encoded_rows: u64,
    encoded_bytes: u64,
    encode_nanos: u64,
    decoded_rows: u64,
    decoded_bytes: u64,
    decode_nanos: u64,
}

impl CodecTally {
    fn snapshot(&self, codec: CodecId) -> CodecSnapshot {
        // A receiver of a remote ring encodes nothing: its ratio is that of the frames it read.
        let (rows, encoded) = if self.encoded_rows > 0 || self.decoded_rows == 0 {
            (self.encoded_rows, self.encoded_bytes)
        } else {
            (self.decoded_rows, self.decoded_bytes)
        };
        let raw = rows * std::mem::size_of::<Row>() as u64;
        let per_row = |nanos: u64, rows: u64| (rows > 0).then(|| nanos as f64 / rows as f64);
        CodecSnapshot {
            name: codec.name().to_owned(),
            raw_bytes: raw,
            encoded_bytes: encoded,
            ratio: (encoded > 0).then(|| raw as f64 / encoded as f64),
            encode_ns_per_row: per_row(self.encode_nanos, self.encoded_rows),
            decode_ns_per_row: per_row(self.decode_nanos, self.decoded_rows),
        }
    }
}
