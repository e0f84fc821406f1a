//! The rules a setting that can change while a workload runs must meet: batch (rows per frame),
//! prefetch distance, codec. Each rule is written once here and called from every place a
//! setting comes in: the profile check at load (with the file, line and column), the engine's
//! live command check, and the dashboard's keys. A profile the engine would refuse is therefore
//! refused when it loads, and a key never offers what the engine would refuse.

use crate::codec::frame::MAX_FRAME_ROWS;
use std::time::Duration;

use crate::codec::{max_frame_len, max_rows_in};
use crate::ring::record::max_payload;
use crate::row::Row;

use super::{RingKind, TuningProfile};

/// What the rules look at: the ring a run uses, fixed when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingShape {
    /// The ring's kind.
    pub kind: RingKind,
    /// Slots (rows); a framed ring holds `capacity × 64` bytes.
    pub capacity: usize,
    /// Whether rows travel in codec frames (a `[codec]` section, or a remote ring).
    pub framed: bool,
}

impl RingShape {
    /// The ring `profile` describes.
    pub fn of(profile: &TuningProfile) -> Self {
        RingShape {
            kind: profile.ring.kind,
            capacity: profile.ring.capacity,
            framed: profile.is_framed(),
        }
    }

    /// Bytes in the ring when it carries frames.
    fn frame_ring_bytes(&self) -> usize {
        self.capacity * std::mem::size_of::<Row>()
    }
}

/// A setting the ring cannot take. The message says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// No threads on a side, or more than one process should start.
    #[error(
        "{side} must be between 1 and {MAX_THREADS_PER_SIDE} (each is a thread pinned to a CPU); \
         {count} asked for"
    )]
    ThreadCount {
        /// `producers` or `consumers`.
        side: &'static str,
        /// The count asked for.
        count: usize,
    },
    /// A batch of 0 rows, or more than the ring holds.
    #[error("batch must be between 1 and the ring's capacity ({capacity})")]
    BatchOutOfRange {
        /// The ring's capacity in rows.
        capacity: usize,
    },
    /// A frame of this many rows might not fit in half the frame ring (less a record header).
    #[error(
        "a frame of {rows} rows may need {bytes} bytes, more than half the {ring_bytes}-byte \
         frame ring holds in one record; use fewer rows per frame or raise the capacity"
    )]
    FrameTooLarge {
        /// Rows per frame asked for.
        rows: usize,
        /// The most bytes such a frame may take.
        bytes: usize,
        /// The frame ring's size.
        ring_bytes: usize,
    },
    /// The ring has no batch path to prefetch for.
    #[error("{reason}")]
    PrefetchNotApplicable {
        /// Why, and what to use instead.
        reason: &'static str,
    },
    /// A prefetch distance that reaches past the ring.
    #[error("prefetch distance must be below the ring's capacity ({capacity})")]
    PrefetchTooFar {
        /// The ring's capacity in rows.
        capacity: usize,
    },
    /// A duration of zero, or a duration or interval so long that adding it to a clock would
    /// overflow.
    #[error("{what} must be more than zero and at most {max}")]
    TimeOutOfRange {
        /// The key: `duration`, `interval`, `idle_timeout`, `handshake_timeout`.
        what: &'static str,
        /// The longest accepted, in words.
        max: &'static str,
    },
    /// A report interval so short that taking its snapshot would be a share of it.
    #[error(
        "interval must be at least {}ms: each snapshot reads every worker's counters and \
         scheduler figures and waits for each consumer to reach the interval's end, which \
         takes milliseconds where the workers fill every CPU",
        MIN_INTERVAL.as_millis()
    )]
    IntervalTooShort,
    /// A token longer than a handshake carries.
    #[error("a token is at most {MAX_TOKEN} bytes; this one is {len}")]
    TokenTooLong {
        /// The token's length in bytes.
        len: usize,
    },
    /// A codec switch on a ring that carries rows.
    #[error(
        "this run moves rows, not frames: add a [codec] section to the profile to switch codecs"
    )]
    NotFramed,
    /// A shared-memory ring name that is not a plain file name.
    #[error(
        "shared-memory ring name {name:?}: use 1 to {MAX_SHM_NAME} letters, digits, '.', '_' or \
         '-', not starting with '.'"
    )]
    ShmName {
        /// The name given.
        name: String,
    },
    /// A network address that is not `host:port`.
    #[error("address {address:?}: {reason}")]
    Address {
        /// The address given.
        address: String,
        /// What is wrong, and what would do.
        reason: String,
    },
}

/// Rows per batch (per frame when framed): at least 1, at most the capacity, and a frame that
/// fits in one record of the frame ring ([`max_payload`]: half the ring less a header, so a
/// frame and the wrap padding before it always fit).
///
/// # Errors
/// [`SettingError::BatchOutOfRange`] or [`SettingError::FrameTooLarge`].
pub fn check_batch(ring: RingShape, rows: usize) -> Result<(), SettingError> {
    let ring_bytes = ring.frame_ring_bytes();
    if ring.framed
        && rows > 0
        && (rows > MAX_FRAME_ROWS || max_frame_len(rows) > max_payload(ring_bytes))
    {
        return Err(SettingError::FrameTooLarge {
            rows,
            bytes: max_frame_len(rows),
            ring_bytes,
        });
    }
    if rows == 0 || rows > ring.capacity {
        return Err(SettingError::BatchOutOfRange {
            capacity: ring.capacity,
        });
    }
    Ok(())
}

/// The largest batch [`check_batch`] accepts on this ring.
pub fn largest_batch(ring: RingShape) -> usize {
    if ring.framed {
        max_rows_in(max_payload(ring.frame_ring_bytes())).min(ring.capacity)
    } else {
        ring.capacity
    }
}

/// A prefetch distance: 0 (off) on any ring; otherwise below the capacity, on a row ring whose
/// batch paths prefetch (spsc and broadcast).
///
/// # Errors
/// [`SettingError::PrefetchNotApplicable`] or [`SettingError::PrefetchTooFar`].
pub fn check_prefetch(ring: RingShape, distance: usize) -> Result<(), SettingError> {
    if distance == 0 {
        return Ok(());
    }
    let reason = if ring.framed {
        Some(
            "frames are written and read as whole records, with no slots to prefetch; set \
             distance = 0, or remove the [codec] section",
        )
    } else {
        match ring.kind {
            RingKind::Spsc | RingKind::Broadcast => None,
            RingKind::Relay => Some(
                "a relay ring hands rows over one at a time, with nothing to prefetch ahead of; \
                 set distance = 0 or use kind = \"spsc\"",
            ),
            RingKind::Mpmc => Some(
                "an mpmc ring's slots are claimed one at a time by whichever thread comes first, \
                 with no batch path to prefetch for; set distance = 0 or use kind = \"spsc\" or \
                 \"broadcast\"",
            ),
        }
    };
    if let Some(reason) = reason {
        return Err(SettingError::PrefetchNotApplicable { reason });
    }
    if distance >= ring.capacity {
        return Err(SettingError::PrefetchTooFar {
            capacity: ring.capacity,
        });
    }
    Ok(())
}

/// The longest run a duration may ask for (a hundred years): anything longer is a typo, and
/// adding it to a clock could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The longest time between two snapshots (a day).
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// The shortest time between two snapshots. Taking one reads every worker's perf counters and
/// scheduler figures (and `/proc` for the tasks that took their CPUs, where they waited) and
/// waits for each consumer to reach the interval's end (`engine::cut`): 1.9–5 ms a snapshot
/// (median) on the 2-vCPU development VM, where the reading thread shares a CPU with a worker, a
/// snapshot every 10 ms. At 100 ms that stays a few percent of the interval.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// How long a run lasts: more than zero, at most [`MAX_DURATION`].
///
/// # Errors
/// [`SettingError::TimeOutOfRange`].
pub fn check_duration(duration: Duration) -> Result<(), SettingError> {
    if duration.is_zero() || duration > MAX_DURATION {
        return Err(SettingError::TimeOutOfRange {
            what: "duration",
            max: "100 years",
        });
    }
    Ok(())
}

/// A length of time written as text (`"10s"`, `"500ms"`, `"2m"`), as profiles and the command
/// line both take it.
///
/// # Errors
/// What was wrong and what is expected, the same wherever it was written.
pub fn parse_time(text: &str) -> Result<Duration, String> {
    let write = "write a positive number and a unit, e.g. \"10s\", \"500ms\", \"2m\"";
    if text.trim_start().starts_with('-') {
        return Err(format!("bad duration {text:?}: it is negative; {write}"));
    }
    humantime::parse_duration(text).map_err(|e| format!("bad duration {text:?} ({e}); {write}"))
}

/// The time between snapshots: at least [`MIN_INTERVAL`], at most [`MAX_INTERVAL`].
///
/// # Errors
/// [`SettingError::IntervalTooShort`], [`SettingError::TimeOutOfRange`].
pub fn check_interval(interval: Duration) -> Result<(), SettingError> {
    if interval < MIN_INTERVAL {
        return Err(SettingError::IntervalTooShort);
    }
    if interval > MAX_INTERVAL {
        return Err(SettingError::TimeOutOfRange {
            what: "interval",
            max: "1 day",
        });
    }
    Ok(())
}

/// The most producers, or consumers, one workload runs: each is a thread pinned to a CPU, and
/// past this many a typo (`consumers = 100000`) would exhaust the process's threads before it
/// measured anything.
pub const MAX_THREADS_PER_SIDE: usize = 256;

/// A side's thread count: at least one, at most [`MAX_THREADS_PER_SIDE`].
///
/// # Errors
/// [`SettingError::ThreadCount`] naming the side.
pub fn check_thread_count(side: &'static str, count: usize) -> Result<(), SettingError> {
    if count == 0 || count > MAX_THREADS_PER_SIDE {
        return Err(SettingError::ThreadCount { side, count });
    }
    Ok(())
}

/// The longest a link may wait on a peer (`idle_timeout`, `handshake_timeout`).
pub const MAX_LINK_TIMEOUT: Duration = MAX_INTERVAL;

/// A link's patience with a peer: more than zero, at most [`MAX_LINK_TIMEOUT`] (a peer that may
/// stay silent longer is indistinguishable from a dead one).
///
/// # Errors
/// [`SettingError::TimeOutOfRange`] naming the key.
pub fn check_link_timeout(what: &'static str, timeout: Duration) -> Result<(), SettingError> {
    if timeout.is_zero() || timeout > MAX_LINK_TIMEOUT {
        return Err(SettingError::TimeOutOfRange { what, max: "1 day" });
    }
    Ok(())
}

/// The longest token a link's handshake carries, in bytes.
pub const MAX_TOKEN: usize = 256;

/// A link token fits the handshake: at most [`MAX_TOKEN`] bytes. A longer one would be cut on the
/// wire, and nobody could ever authenticate with it.
///
/// # Errors
/// [`SettingError::TokenTooLong`].
pub fn check_token(token: &str) -> Result<(), SettingError> {
    if token.len() > MAX_TOKEN {
        return Err(SettingError::TokenTooLong { len: token.len() });
    }
    Ok(())
}

/// The longest name of a shared-memory ring.
pub const MAX_SHM_NAME: usize = 64;

/// A shared-memory ring's name: a plain file name (letters, digits, `.`, `_`, `-`; not starting
/// with `.`), at most [`MAX_SHM_NAME`] bytes, so it names one file in the private directory and
/// nothing else.
///
/// # Errors
/// [`SettingError::ShmName`] saying what is wrong.
pub fn check_shm_name(name: &str) -> Result<(), SettingError> {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() || name.len() > MAX_SHM_NAME || !plain || name.starts_with('.') {
        return Err(SettingError::ShmName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// The port the ring's transport uses in examples and by default (`serve --listen`).
pub const RING_PORT: u16 = 7471;

/// The port the Prometheus endpoint uses in examples (`--metrics-listen`).
pub const METRICS_PORT: u16 = 9464;

/// A TCP or RDMA address, or the metrics endpoint's: `host:port` (a name, an IPv4 address, or
/// an IPv6 one in brackets) and a port number; port 0 only where this side listens (the system
/// picks a free one). Checked before anything binds or connects, so a typo is a usage error
/// naming the key, not a failure once the run has started. Whether the host resolves is for the
/// run to find out. `example_port` is the port the messages' examples show ([`RING_PORT`],
/// [`METRICS_PORT`]).
///
/// # Errors
/// [`SettingError::Address`] saying what is wrong.
pub fn check_address(
    address: &str,
    listening: bool,
    example_port: u16,
) -> Result<(), SettingError> {
    let fail = |reason: String| {
        Err(SettingError::Address {
            address: address.to_owned(),
            reason,
        })
    };
    let example = format!("127.0.0.1:{example_port}");
    let Some((host, port)) = address.rsplit_once(':') else {
        return fail(if listening {
            format!("expected host:port ({example}; port 0 picks a free one)")
        } else {
            format!("expected host:port ({example})")
        });
    };
    if host.is_empty() {
        return fail(format!("no host before the port ({example})"));
    }
    let bracketed = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
    if host.contains(':') && !bracketed {
        return fail(format!(
            "an IPv6 address goes in brackets: [::1]:{example_port}"
        ));
    }
    match port.parse::<u16>() {
        Err(_) => fail("the port is a number from 1 to 65535".into()),
        Ok(0) if !listening => {
            fail("port 0 only listens (the system picks one); connect to a real port".into())
        }
        Ok(_) => Ok(()),
    }
}

/// Switching codecs needs a ring that carries frames.
///
/// # Errors
/// [`SettingError::NotFramed`].
pub fn check_codec_switch(ring: RingShape) -> Result<(), SettingError> {
    if ring.framed {
        Ok(())
    } else {
        Err(SettingError::NotFramed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ring(kind: RingKind, framed: bool) -> RingShape {
        RingShape {
            kind,
            capacity: 1024,
            framed,
        }
    }

    #[test]
    fn a_batch_is_between_one_and_the_capacity_and_a_frame_fits_half_the_ring() {
        let rows = ring(RingKind::Spsc, false);
        assert_eq!(check_batch(rows, 1), Ok(()));
        assert_eq!(check_batch(rows, 1024), Ok(()));
        for bad in [0, 1025] {
            assert_eq!(
                check_batch(rows, bad),
                Err(SettingError::BatchOutOfRange { capacity: 1024 })
            );
        }
        let frames = ring(RingKind::Spsc, true);
        let largest = largest_batch(frames);
        assert!(max_frame_len(largest) <= 1024 * 64 / 2 - 8);
        assert!(max_frame_len(largest + 1) > 1024 * 64 / 2 - 8);
        assert_eq!(check_batch(frames, largest), Ok(()));
        assert!(matches!(
            check_batch(frames, largest + 1),
            Err(SettingError::FrameTooLarge {
                ring_bytes: 65_536,
                ..
            })
        ));
        assert_eq!(largest_batch(rows), 1024);
    }

    #[test]
    fn prefetch_applies_to_spsc_and_broadcast_rows_only_and_zero_is_always_off() {
        for kind in [
            RingKind::Spsc,
            RingKind::Relay,
            RingKind::Broadcast,
            RingKind::Mpmc,
        ] {
            assert_eq!(check_prefetch(ring(kind, false), 0), Ok(()));
            assert_eq!(check_prefetch(ring(kind, true), 0), Ok(()));
        }
        for kind in [RingKind::Spsc, RingKind::Broadcast] {
            assert_eq!(check_prefetch(ring(kind, false), 8), Ok(()));
            assert_eq!(
                check_prefetch(ring(kind, false), 1024),
                Err(SettingError::PrefetchTooFar { capacity: 1024 })
            );
        }
        for shape in [
            ring(RingKind::Relay, false),
            ring(RingKind::Mpmc, false),
            ring(RingKind::Spsc, true),
        ] {
            assert!(matches!(
                check_prefetch(shape, 4),
                Err(SettingError::PrefetchNotApplicable { .. })
            ));
        }
    }

    #[test]
    fn durations_and_intervals_are_positive_and_bounded() {
        assert!(check_duration(Duration::from_secs(10)).is_ok());
        assert!(check_duration(MAX_DURATION).is_ok());
        assert!(check_duration(Duration::ZERO).is_err());
        assert!(check_duration(MAX_DURATION + Duration::from_secs(1)).is_err());
        assert!(check_interval(Duration::from_millis(250)).is_ok());
        assert!(check_interval(MIN_INTERVAL).is_ok());
        for short in [Duration::ZERO, Duration::from_nanos(1), MIN_INTERVAL / 2] {
            assert!(matches!(
                check_interval(short),
                Err(SettingError::IntervalTooShort)
            ));
        }
        assert!(check_interval(MAX_INTERVAL + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_token_longer_than_a_handshake_carries_is_refused() {
        assert!(check_token(&"k".repeat(MAX_TOKEN)).is_ok());
        let err = check_token(&"k".repeat(MAX_TOKEN + 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a token is at most 256 bytes; this one is 257"
        );
    }

    #[test]
    fn only_a_framed_ring_switches_codecs() {
        assert_eq!(check_codec_switch(ring(RingKind::Spsc, true)), Ok(()));
        assert_eq!(
            check_codec_switch(ring(RingKind::Spsc, false)),
            Err(SettingError::NotFramed)
        );
    }
}
