//! The checks TOML cannot express: what this machine and the rings can honour.

use super::locate::Step;
use super::rules::{
    RING_PORT, RingShape, check_address, check_batch, check_duration, check_interval,
    check_link_timeout, check_prefetch, check_shm_name, check_thread_count, check_token,
};
use super::{
    CpuSetting, NumaSetting, PROFILE_VERSION, RingKind, SourceSetting, TransportKind, TuningProfile,
};
use crate::codec::max_frame_len;
use crate::ring::check_capacity;
use crate::row::Row;
use crate::topology;

/// A setting that cannot be honoured, and where it is.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) path: Vec<Step>,
    pub(crate) message: String,
}

/// A profile of a version this build does not read: said before anything else in it, since
/// nothing else can be trusted to mean what it says (a newer version's keys are unknown here).
pub(crate) fn other_version(version: impl std::fmt::Display) -> Problem {
    problem(
        &[Key("version")],
        format!("profile version {version} is not supported (expected {PROFILE_VERSION})"),
    )
}

fn problem(path: &[Step], message: String) -> Problem {
    Problem {
        path: path.to_vec(),
        message,
    }
}

use Step::{Index, Key};

/// The first problem with `profile`, if any.
pub(crate) fn check(profile: &TuningProfile) -> Result<(), Problem> {
    check_all(profile).into_iter().next().map_or(Ok(()), Err)
}

/// One group of settings' check: its first problem.
type CheckGroup = fn(&TuningProfile) -> Result<(), Problem>;

/// Every problem with `profile` that can be found in one pass: each group of settings (the ring
/// and workload, the link, the data source, the times, the machine) is checked on its own, so
/// one mistake does not hide another. A version this build does not read is the only problem
/// reported then, since nothing else in the file can be trusted to mean what it says.
pub(crate) fn check_all(profile: &TuningProfile) -> Vec<Problem> {
    if profile.version != PROFILE_VERSION {
        return vec![other_version(profile.version)];
    }
    let groups: [CheckGroup; 5] = [
        check_ring_and_workload,
        check_transport,
        check_source,
        check_times,
        check_machine,
    ];
    groups
        .iter()
        .filter_map(|group| group(profile).err())
        .collect()
}

/// The ring, its threads, batch, prefetch and codec.
fn check_ring_and_workload(profile: &TuningProfile) -> Result<(), Problem> {
    let ring = &profile.ring;
    let work = &profile.workload;
    check_capacity::<Row>(ring.capacity)
        .map_err(|e| problem(&[Key("ring"), Key("capacity")], e.to_string()))?;
    for (side, count) in [("producers", work.producers), ("consumers", work.consumers)] {
        check_thread_count(side, count)
            .map_err(|e| problem(&[Key("workload"), Key(side)], e.to_string()))?;
    }
    if ring.kind != RingKind::Mpmc && work.producers != 1 {
        return Err(problem(
            &[Key("workload"), Key("producers")],
            format!(
                "a {} ring has exactly one producer; use kind = \"mpmc\" for more",
                ring.kind.name()
            ),
        ));
    }
    if matches!(ring.kind, RingKind::Spsc | RingKind::Relay) && work.consumers != 1 {
        return Err(problem(
            &[Key("workload"), Key("consumers")],
            format!(
                "kind = \"{}\" has exactly one consumer; use kind = \"broadcast\" or \"mpmc\" for more",
                ring.kind.name()
            ),
        ));
    }
    let shape = RingShape::of(profile);
    let row_ring = RingShape {
        framed: false,
        ..shape
    };
    check_batch(row_ring, work.batch)
        .map_err(|e| problem(&[Key("workload"), Key("batch")], e.to_string()))?;
    check_prefetch(shape, profile.prefetch.distance)
        .map_err(|e| problem(&[Key("prefetch"), Key("distance")], e.to_string()))?;
    if let Some(codec) = &profile.codec
        && ring.kind != RingKind::Spsc
    {
        return Err(problem(
            &[Key("codec")],
            format!(
                "codec {} needs kind = \"spsc\" (frames travel one producer to one consumer)",
                codec.name
            ),
        ));
    }
    if shape.framed {
        let path: &[Step] = match &profile.codec {
            Some(codec) if codec.rows_per_frame.is_some() => &[Key("codec"), Key("rows_per_frame")],
            _ => &[Key("workload"), Key("batch")],
        };
        check_batch(shape, profile.effective_batch()).map_err(|e| problem(path, e.to_string()))?;
    }
    Ok(())
}

/// A CSV source can be read.
fn check_source(profile: &TuningProfile) -> Result<(), Problem> {
    if let SourceSetting::Csv(path) = &profile.workload.source {
        crate::source::csv::load(path)
            .map_err(|e| problem(&[Key("workload"), Key("source")], e.to_string()))?;
    }
    Ok(())
}

/// The run's duration and the report interval.
fn check_times(profile: &TuningProfile) -> Result<(), Problem> {
    if let Some(duration) = profile.workload.duration {
        check_duration(duration.0)
            .map_err(|e| problem(&[Key("workload"), Key("duration")], e.to_string()))?;
    }
    check_interval(profile.report.interval.0)
        .map_err(|e| problem(&[Key("report"), Key("interval")], e.to_string()))
}

/// A `[transport]` names one end, and that end can run the ring it describes.
fn check_transport(profile: &TuningProfile) -> Result<(), Problem> {
    let Some(transport) = &profile.transport else {
        return Ok(());
    };
    let at = |key: &'static str| [Key("transport"), Key(key)];
    let local = transport.kind == TransportKind::Local;
    let shm = transport.kind == TransportKind::Shm;
    if transport.name.is_some() && !shm {
        return Err(problem(
            &at("name"),
            format!(
                "name is the ring of kind = \"shm\"; a {} transport takes connect or listen",
                transport.kind.name()
            ),
        ));
    }
    let connect = transport.connect.as_ref().or(transport.name.as_ref());
    if transport.connect.is_some() && transport.name.is_some() {
        return Err(problem(
            &at("name"),
            "give either name or connect, not both".into(),
        ));
    }
    match (connect, &transport.listen) {
        (Some(_), Some(_)) => {
            return Err(problem(
                &at("listen"),
                "give either connect (this side produces) or listen (this side consumes), not both"
                    .into(),
            ));
        }
        (None, None) if shm => {
            return Err(problem(
                &at("kind"),
                "a shm transport needs name = \"RING\" (the producer writes into it; \
                 `ringtop serve --shm RING` holds it)"
                    .into(),
            ));
        }
        (None, None) if !local => {
            return Err(problem(
                &at("kind"),
                format!(
                    "a {} transport needs connect = \"host:port\" (producer side) or listen = \"host:port\" (consumer side)",
                    transport.kind.name()
                ),
            ));
        }
        (Some(_), None) | (None, Some(_)) if local => {
            return Err(problem(
                &at("kind"),
                "kind = \"local\" takes no address; use kind = \"tcp\"".into(),
            ));
        }
        _ => {}
    }
    if shm {
        let (key, ring) = match (&transport.name, &transport.connect, &transport.listen) {
            (Some(name), _, _) => ("name", name),
            (None, Some(connect), _) => ("connect", connect),
            (None, None, Some(listen)) => ("listen", listen),
            (None, None, None) => unreachable!("checked above"),
        };
        check_shm_name(ring).map_err(|e| problem(&at(key), e.to_string()))?;
    }
    if !shm && !local {
        let (key, address, listening) = match (&transport.connect, &transport.listen) {
            (Some(connect), _) => ("connect", connect, false),
            (None, Some(listen)) => ("listen", listen, true),
            (None, None) => unreachable!("checked above"),
        };
        check_address(address, listening, RING_PORT)
            .map_err(|e| problem(&at(key), e.to_string()))?;
    }
    if transport.kind == TransportKind::Rdma && !cfg!(feature = "rdma") {
        return Err(problem(
            &at("kind"),
            "this build has no RDMA support (build with --features rdma); use kind = \"tcp\""
                .into(),
        ));
    }
    if local {
        return Ok(());
    }
    if profile.ring.kind != RingKind::Spsc {
        return Err(problem(
            &[Key("ring"), Key("kind")],
            "a remote ring is spsc: one producer on one host, one consumer on the other".into(),
        ));
    }
    for (key, timeout) in [
        ("idle_timeout", transport.idle_timeout.0),
        ("handshake_timeout", transport.handshake_timeout.0),
    ] {
        check_link_timeout(key, timeout).map_err(|e| problem(&at(key), e.to_string()))?;
    }
    if let Some(token) = &transport.token {
        check_token(token).map_err(|e| problem(&at("token"), e.to_string()))?;
    }
    if transport
        .link_mbps
        .is_some_and(|m| !(m > 0.0 && m.is_finite()))
    {
        return Err(problem(
            &at("link_mbps"),
            "link_mbps must be a positive number of Mbit/s".into(),
        ));
    }
    let window = profile.ring.capacity * std::mem::size_of::<Row>();
    let largest = crate::ring::window::max_payload(window);
    if let Some(bytes) = transport.max_frame_bytes {
        let smallest = max_frame_len(1);
        if bytes < smallest || bytes > largest {
            return Err(problem(
                &at("max_frame_bytes"),
                format!(
                    "max_frame_bytes must be between {smallest} (one row) and {largest} (half the {window}-byte ring)"
                ),
            ));
        }
    }
    Ok(())
}

/// CPUs and nodes against this host.
fn check_machine(profile: &TuningProfile) -> Result<(), Problem> {
    let host = topology::host().map_err(|e| problem(&[], e.to_string()))?;
    // Each side: its key in `[pinning]`, one of its threads, its CPUs, how many threads it has.
    let sides = [
        (
            "producers",
            "producer",
            &profile.pinning.producers,
            profile.workload.producers,
        ),
        (
            "consumers",
            "consumer",
            &profile.pinning.consumers,
            profile.workload.consumers,
        ),
    ];
    for (side, role, cpus, threads) in sides {
        if cpus.len() > threads {
            return Err(problem(
                &[Key("pinning"), Key(side)],
                format!(
                    "{} given for {} (workload.{side} = {threads}; one CPU a thread)",
                    crate::words::counted(cpus.len(), "CPU"),
                    crate::words::counted(threads, role)
                ),
            ));
        }
        for (i, cpu) in cpus.iter().enumerate() {
            if let CpuSetting::Cpu(cpu) = cpu {
                host.check_cpu(*cpu)
                    .map_err(|e| problem(&[Key("pinning"), Key(side), Index(i)], e.to_string()))?;
            }
        }
    }
    if let NumaSetting::Node(node) = profile.ring.numa_node {
        host.check_node(node)
            .map_err(|e| problem(&[Key("ring"), Key("numa_node")], e.to_string()))?;
    }
    // Every ring's slot holds at least a row: a ring past the host's memory can never be built
    // (said here, at the file's line, rather than by the allocator when the run starts).
    let at_least = profile.ring.row_bytes();
    let memory = host.total_memory_bytes();
    if memory > 0 && at_least > memory {
        return Err(problem(
            &[Key("ring"), Key("capacity")],
            format!(
                "capacity {} needs at least {} of ring memory (a {}-byte row a slot); this host \
                 has {}",
                profile.ring.capacity,
                topology::model::format_bytes(at_least),
                std::mem::size_of::<Row>(),
                topology::model::format_bytes(memory)
            ),
        ));
    }
    Ok(())
}
