//! Running workloads on pinned threads, steering them while they run, and measuring them.
//!
//! - [`Engine::start`] turns a checked [`crate::profile::TuningProfile`] into running threads
//!   (`producer-0`, `consumer-0`, …) around a ring placed on the chosen NUMA node (`start`, with
//!   the remote ends in `link`).
//! - [`EngineHandle`]: [`interval`](EngineHandle::interval) or
//!   [`snapshot`](EngineHandle::snapshot) each interval, [`send`](EngineHandle::send) a
//!   [`Command`], [`stop`](EngineHandle::stop) for the
//!   [`Summary`](crate::metrics::snapshot::Summary) (`handle`).
//! - Each interval the handle takes a `reading` of what the workers published, and `measure`
//!   turns two readings into figures: a pure function, tested on hand-made readings. A reading
//!   ends its interval at a `cut`: one instant for each consumer's rows and latency samples.
//! - [`probe`]: the short SPSC measurement `ringtop probe` runs.

mod command;
mod control;
mod cut;
mod ends;
mod handle;
mod link;
mod measure;
pub mod probe;
mod reading;
mod start;
mod warnings;
mod worker;

pub use command::{Command, CommandError};
pub use handle::EngineHandle;
pub use measure::{ConsumerLatency, Interval};
pub use start::{Engine, EngineError, doctor_plan};
pub(crate) use start::{panic_message, row_source};
pub(crate) use warnings::WarningLog;
pub use warnings::{BEHIND_SCHEDULE, Warning};
