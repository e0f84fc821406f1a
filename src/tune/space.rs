//! What `tune` may change, and the candidates it tries: CPU pairs ranked by the core-to-core
//! map, the memory node, the ring kind, a capacity sized against the caches, batch, prefetch
//! distance, wait strategies and, for framed workloads, the codec chosen by the data.

use std::fmt;

use serde::Serialize;

use crate::codec::CodecId;
use crate::profile::{CodecSection, CpuSetting, NumaSetting, RingKind, TuningProfile, WaitSetting};
use crate::topology::c2c::C2cReport;
use crate::topology::model::CacheKind;
use crate::topology::{CpuRelation, Topology};
use crate::words::counted;

/// One point of the search: every setting `tune` changes, in a profile's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Setting {
    /// The producer's CPU.
    pub producer_cpu: usize,
    /// The consumer's CPU.
    pub consumer_cpu: usize,
    /// The ring's NUMA node, where the machine has more than one.
    pub memory_node: Option<usize>,
    /// The ring kind.
    pub kind: RingKind,
    /// Slots, in rows.
    pub capacity: usize,
    /// Rows per batch (per frame when framed).
    pub batch: usize,
    /// Prefetch distance in slots; 0 is off.
    pub prefetch: usize,
    /// How the producer waits.
    pub producer_wait: WaitSetting,
    /// How the consumer waits.
    pub consumer_wait: WaitSetting,
    /// The codec of a framed workload.
    pub codec: Option<CodecId>,
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cpus {}->{}",
            self.kind.name(),
            self.producer_cpu,
            self.consumer_cpu
        )?;
        if let Some(node) = self.memory_node {
            write!(f, " node {node}")?;
        }
        write!(f, " cap {} batch {}", self.capacity, self.batch)?;
        if self.prefetch > 0 {
            write!(f, " prefetch {}", self.prefetch)?;
        }
        if let Some(codec) = self.codec {
            write!(f, " codec {}", codec.name())?;
        }
        write!(
            f,
            " wait {}/{}",
            wait_name(self.producer_wait),
            wait_name(self.consumer_wait)
        )
    }
}

fn wait_name(wait: WaitSetting) -> &'static str {
    match wait {
        WaitSetting::BusySpin => "spin",
        WaitSetting::SpinYield => "yield",
        WaitSetting::SpinPark => "park",
    }
}

/// A candidate: its setting (none for the baseline, which runs the base profile exactly as
/// given) and the checked profile that runs it.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Its index in the search.
    pub id: usize,
    /// What differs from the base; `None` for the baseline.
    pub setting: Option<Setting>,
    /// The profile a trial runs.
    pub profile: TuningProfile,
}

impl Candidate {
    /// How tables and progress name it.
    pub fn label(&self) -> String {
        self.setting.as_ref().map_or_else(
            || "baseline (the base profile)".to_owned(),
            ToString::to_string,
        )
    }
}

/// Why a base profile cannot be tuned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpaceError {
    /// More than one producer or consumer.
    #[error(
        "tune searches one producer and one consumer; this profile has {} and {}",
        counted(*.producers, "producer"),
        counted(*.consumers, "consumer")
    )]
    Threads {
        /// Producers in the base.
        producers: usize,
        /// Consumers in the base.
        consumers: usize,
    },
    /// A remote ring: one end of a link is not a setting of this host alone.
    #[error("tune runs local workloads; this profile sends to or serves a remote ring")]
    Remote,
    /// Too few CPUs for a pair (or only SMT siblings, not allowed).
    #[error("{0}")]
    NoPair(String),
}

/// What the candidates are drawn from.
#[derive(Debug, Clone)]
pub struct SpaceInputs<'a> {
    /// The profile every candidate starts from; the baseline.
    pub base: &'a TuningProfile,
    /// This host.
    pub topology: &'a Topology,
    /// The core-to-core map of the CPUs tune may use.
    pub c2c: &'a C2cReport,
    /// Whether SMT siblings may carry the two spinning threads.
    pub allow_smt: bool,
    /// Whether the goal is latency (small batches) rather than throughput (large ones).
    pub latency: bool,
    /// Codecs the workload's data favours (framed workloads; the base's codec is always in).
    pub codecs: Vec<CodecId>,
}

/// CPU pairs tune tries at most (the fastest by the core-to-core map, each in both directions).
const PAIRS: usize = 3;

/// Whether `base` can be tuned at all (one producer and one consumer, a local ring): asked
/// before anything is stopped for a search that could not start.
///
/// # Errors
/// [`SpaceError::Threads`] or [`SpaceError::Remote`].
pub fn check_base(base: &TuningProfile) -> Result<(), SpaceError> {
    if base.workload.producers != 1 || base.workload.consumers != 1 {
        return Err(SpaceError::Threads {
            producers: base.workload.producers,
            consumers: base.workload.consumers,
        });
    }
    if base.transport.is_some() && base.link_end() != crate::profile::LinkEndSetting::Local {
        return Err(SpaceError::Remote);
    }
    Ok(())
}

/// The baseline (id 0) and every valid candidate, in a fixed order.
///
/// # Errors
/// [`SpaceError`] when the base cannot be tuned.
pub fn candidates(inputs: &SpaceInputs<'_>) -> Result<Vec<Candidate>, SpaceError> {
    let base = inputs.base;
    check_base(base)?;
    let pairs = cpu_pairs(inputs)?;
    let framed = base.codec.is_some();
    let kinds: Vec<RingKind> = match base.ring.kind {
        RingKind::Spsc | RingKind::Relay if !framed => vec![RingKind::Spsc, RingKind::Relay],
        kind => vec![kind],
    };
    let waits = wait_pairs(inputs.latency);
    let codecs: Vec<Option<CodecId>> = match &base.codec {
        None => vec![None],
        Some(section) => {
            let mut list = vec![Some(section.name)];
            for &codec in &inputs.codecs {
                if !list.contains(&Some(codec)) {
                    list.push(Some(codec));
                }
            }
            list
        }
    };
    let mut out = vec![Candidate {
        id: 0,
        setting: None,
        profile: base.clone(),
    }];
    for &(producer_cpu, consumer_cpu) in &pairs {
        for memory_node in memory_nodes(inputs.topology, producer_cpu, consumer_cpu) {
            for &kind in &kinds {
                for capacity in capacities(inputs, consumer_cpu) {
                    for batch in batches(kind, inputs.latency, capacity, base) {
                        for prefetch in prefetches(kind, framed, batch, capacity) {
                            for &(producer_wait, consumer_wait) in &waits {
                                for &codec in &codecs {
                                    let setting = Setting {
                                        producer_cpu,
                                        consumer_cpu,
                                        memory_node,
                                        kind,
                                        capacity,
                                        batch,
                                        prefetch,
                                        producer_wait,
                                        consumer_wait,
                                        codec,
                                    };
                                    let profile = apply(base, &setting);
                                    if profile.validate("tune").is_ok() {
                                        out.push(Candidate {
                                            id: out.len(),
                                            setting: Some(setting),
                                            profile,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `base` with `setting` applied (unchecked: [`TuningProfile::validate`] says whether it runs).
pub fn apply(base: &TuningProfile, setting: &Setting) -> TuningProfile {
    let mut profile = base.clone();
    profile.pinning.producers = vec![CpuSetting::Cpu(setting.producer_cpu)];
    profile.pinning.consumers = vec![CpuSetting::Cpu(setting.consumer_cpu)];
    if let Some(node) = setting.memory_node {
        profile.ring.numa_node = NumaSetting::Node(node);
    }
    profile.ring.kind = setting.kind;
    profile.ring.capacity = setting.capacity;
    profile.workload.batch = setting.batch;
    profile.prefetch.distance = setting.prefetch;
    profile.wait.producer = setting.producer_wait;
    profile.wait.consumer = setting.consumer_wait;
    let floor = base.codec.as_ref().and_then(|codec| codec.min_ratio);
    profile.codec = setting.codec.map(|name| CodecSection {
        name,
        rows_per_frame: None,
        min_ratio: floor,
    });
    profile
}

/// The fastest pairs of the map, each in both directions; SMT siblings only when allowed.
fn cpu_pairs(inputs: &SpaceInputs<'_>) -> Result<Vec<(usize, usize)>, SpaceError> {
    let mut pairs: Vec<_> = inputs
        .c2c
        .pairs()
        .into_iter()
        .filter(|p| {
            inputs.allow_smt || inputs.topology.relation(p.a, p.b) != Some(CpuRelation::SameCore)
        })
        .collect();
    if pairs.is_empty() {
        let smt = if inputs.allow_smt {
            ""
        } else {
            " (SMT siblings of one core are left out for two spinning threads: --allow-smt \
             tries them)"
        };
        return Err(SpaceError::NoPair(format!(
            "the core-to-core map has no pair of CPUs to put the producer and the consumer on{smt}"
        )));
    }
    pairs.sort_by(|x, y| x.rtt_ns.total_cmp(&y.rtt_ns));
    Ok(pairs
        .iter()
        .take(PAIRS)
        .flat_map(|p| [(p.a, p.b), (p.b, p.a)])
        .collect())
}

/// The consumer's node and the producer's, where the machine has more than one node.
fn memory_nodes(topology: &Topology, producer: usize, consumer: usize) -> Vec<Option<usize>> {
    if topology.numa_nodes.len() < 2 {
        return vec![None];
    }
    let mut nodes = Vec::new();
    for cpu in [consumer, producer] {
        let node = topology.node_of_cpu(cpu);
        if !nodes.contains(&node) {
            nodes.push(node);
        }
    }
    nodes
}

/// The base's capacity and, for each data cache the consumer sees, the largest power of two
/// whose rows fill at most half of it (the rest is for everything else the threads touch).
fn capacities(inputs: &SpaceInputs<'_>, consumer_cpu: usize) -> Vec<usize> {
    let row = std::mem::size_of::<crate::row::Row>() as u64;
    let mut list = vec![inputs.base.ring.capacity];
    for cache in &inputs.topology.caches {
        if cache.kind == CacheKind::Instruction
            || cache.size_bytes == 0
            || !cache.cpus.contains(&consumer_cpu)
        {
            continue;
        }
        let rows = (cache.size_bytes / 2 / row).max(64);
        let capacity = 1usize << (63 - rows.leading_zeros());
        if !list.contains(&capacity) {
            list.push(capacity);
        }
    }
    list.sort_unstable();
    list
}

/// Batches to try: small for latency, large for throughput, and the base's; none above half
/// the ring. A relay ring hands rows over one at a time: its batch is only how many a producer
/// writes between rate checks, so it keeps the base's.
fn batches(kind: RingKind, latency: bool, capacity: usize, base: &TuningProfile) -> Vec<usize> {
    if kind == RingKind::Relay {
        return vec![base.workload.batch.min(capacity)];
    }
    let grid: &[usize] = if latency {
        &[1, 4, 16]
    } else {
        &[16, 64, 256, 1024]
    };
    let mut list: Vec<usize> = grid
        .iter()
        .copied()
        .filter(|&b| b <= capacity / 2)
        .collect();
    if base.workload.batch <= capacity && !list.contains(&base.workload.batch) {
        list.push(base.workload.batch);
    }
    list.sort_unstable();
    list
}

/// Prefetch distances: off, and two distances ahead where a batch path prefetches.
fn prefetches(kind: RingKind, framed: bool, batch: usize, capacity: usize) -> Vec<usize> {
    if framed || batch < 2 || !matches!(kind, RingKind::Spsc | RingKind::Broadcast) {
        return vec![0];
    }
    [0, 4, 16].into_iter().filter(|&d| d < capacity).collect()
}

/// Both threads spinning (the lowest latency while each has a CPU of its own) and, for
/// throughput, a consumer that yields when the ring is empty (kinder to a shared machine).
fn wait_pairs(latency: bool) -> Vec<(WaitSetting, WaitSetting)> {
    let spin = (WaitSetting::BusySpin, WaitSetting::BusySpin);
    if latency {
        vec![spin]
    } else {
        vec![spin, (WaitSetting::BusySpin, WaitSetting::SpinYield)]
    }
}
