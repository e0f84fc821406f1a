//! Rings between processes of one host: the window in a shared file.
//!
//! `ringtop serve --shm NAME` makes `NAME.ring` in the per-user ringtop directory
//! (`/dev/shm/ringtop-<uid>/`, or `$RINGTOP_DIR`; directory 0700, file 0600) and holds it; a
//! producer in another process (`ringtop run` with `[transport] kind = "shm"`, `name = "NAME"`)
//! maps it and writes frames straight into its window, as RDMA writes into a remote one. The
//! protocol is the remote ring's: the sender places records by the window arithmetic, publishes
//! its tail, and reads credit back; here all three live in the file (`layout`).
//!
//! - The receiver never trusts the file: every tail is checked by the window before it is
//!   published ([`crate::ring::window::WindowWriter::publish`]), every record header by the
//!   reader, payloads are copied out before they are decoded, and a producer that writes what
//!   the window refuses is dropped while the consumer goes on.
//! - Liveness is by locks the kernel drops however a process ends: the receiver holds its ring
//!   file's, a producer the `NAME.ring.sender` file's. A producer killed with SIGKILL is noticed
//!   within milliseconds; every frame it published before is consumed, and the session's end
//!   says it died. The next producer takes the lock and starts a new session.
//! - The consumer publishes the producer's tail itself when its window is empty
//!   ([`crate::transport::inbox::TailFeed`]): no thread between the two, so a hand-off moves
//!   the tail's cache line and the record's (one after the other), and the credit's line back.

pub mod items;
pub mod layout;
pub mod locks;
pub mod mapping;
pub mod messages;
mod receive;
mod send;
mod watch;

use receive::{ShmInbox, listen_direct};
pub use receive::{ShmListener, listen};
pub use send::ShmSender;

// The hello carries every token the profile rules accept.
const _: () = assert!(layout::hello::TOKEN_BYTES >= crate::profile::rules::MAX_TOKEN);
