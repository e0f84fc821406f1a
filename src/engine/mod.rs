//! Running workloads on pinned threads, steering them while they run, and measuring them.
//!
//! - [`Engine::start`] turns a checked [`crate::profile::TuningProfile`] into running threads
//!   (`producer-0`, `consumer-0`, …) around a ring placed on the chosen NUMA node.
//! - [`EngineHandle`]: [`snapshot`](EngineHandle::snapshot) each interval,
//!   [`send`](EngineHandle::send) a [`Command`], [`stop`](EngineHandle::stop) for the
//!   [`Summary`](crate::metrics::snapshot::Summary).
//! - [`probe`]: the short SPSC measurement `ringtop probe` runs.

mod command;
mod control;
mod ends;
pub mod probe;
mod run;
mod worker;

pub use command::{Command, CommandError};
pub use run::{Engine, EngineError, EngineHandle};
