//! The TCP backend: RDMA's one-sided ring protocol carried in messages. The sender computes
//! every offset itself and sends `write(offset, bytes)` then `tail`; the receiver applies them
//! to its [window](crate::ring::window) after checking them, and returns credit (its head) as
//! the consumer frees space.
//!
//! - [`receive`]: the listening side: accepts one sender at a time, refuses strangers; the
//!   session's messages are applied by `pump`, from the consumer or the session thread.
//! - [`send`]: the connecting side: lays frames out in the remote window, waits for credit,
//!   reconnects after a broken link.

mod pump;
pub mod receive;
pub mod send;

pub use crate::transport::SendOutcome;
pub use crate::transport::inbox::{Inbox, Polled};
pub use receive::{Listener, listen};
pub use send::RemoteSender;

use std::time::Duration;

/// How often a blocked read wakes up to look at the stop flag.
pub(crate) const TICK: Duration = Duration::from_millis(50);
