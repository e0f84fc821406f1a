//! This process's end of a remote ring: the sender's connection, or the receiver's window and the
//! listener that writes senders' frames into it.

use std::sync::Arc;
use std::time::Duration;

use crate::codec::frame::MAX_FRAME_ROWS;
use crate::codec::{Decoder, max_frame_len};
use crate::metrics::snapshot::LinkRole;
use crate::profile::{TransportKind, TransportSection, TuningProfile};
use crate::ring::{RingConfig, window};
use crate::topology::NumaAlloc;
use crate::transport::tcp::RemoteSender;
use crate::transport::{
    FrameLink, LinkListener, LinkStats, ListenConfig, SenderConfig, resolve_token,
};

use super::ends::{ReadEnd, WriteEnd};
use super::measure::LinkShape;
use super::start::EngineError;

/// This process's end of a link.
#[derive(Debug)]
pub(crate) struct LinkEnd {
    /// Kind, role, address and cap: fixed for the run.
    pub(crate) shape: LinkShape,
    /// What the link's threads count.
    pub(crate) stats: Arc<LinkStats>,
    /// The receiver's accepting thread (stopped before the consumer drains).
    pub(crate) listener: Option<Box<dyn LinkListener>>,
}

/// The producer's end of a remote ring: connected, handshake done.
pub(crate) fn connect(
    profile: &TuningProfile,
    kind: TransportKind,
    address: &str,
) -> Result<(WriteEnd, LinkEnd), EngineError> {
    let transport = profile
        .transport
        .clone()
        .unwrap_or_else(TransportSection::tcp);
    let stats = Arc::new(LinkStats::default());
    let config = SenderConfig {
        address: address.to_owned(),
        token: resolve_token(transport.token.as_deref())?,
        max_frame: transport
            .max_frame_bytes
            .unwrap_or_else(|| max_frame_len(profile.effective_batch().min(MAX_FRAME_ROWS))),
        link_mbps: transport.link_mbps,
        connect_timeout: Duration::from_secs(3),
    };
    let sender: Box<dyn FrameLink> = match kind {
        TransportKind::Rdma => rdma_sender(config, stats.clone())?,
        TransportKind::Shm => Box::new(crate::transport::shm::ShmSender::connect(
            config,
            stats.clone(),
        )?),
        _ => Box::new(RemoteSender::connect(config, stats.clone())?),
    };
    Ok((
        WriteEnd::remote(sender),
        LinkEnd {
            shape: LinkShape {
                kind,
                role: LinkRole::Sender,
                address: address.to_owned(),
                link_mbps: transport.link_mbps,
            },
            stats,
            listener: None,
        },
    ))
}

/// The ring's end of a remote ring: the window (from `config`'s allocator, or for a
/// shared-memory ring in its file, placed as `alloc` places memory), and a listener writing
/// senders into it.
pub(crate) fn listen(
    profile: &TuningProfile,
    kind: TransportKind,
    address: &str,
    config: RingConfig,
    alloc: &NumaAlloc,
) -> Result<(ReadEnd, LinkEnd), EngineError> {
    let transport = profile
        .transport
        .clone()
        .unwrap_or_else(TransportSection::tcp);
    let window_bytes = profile.ring.row_bytes() as usize;
    let stats = Arc::new(LinkStats::default());
    let listen_config = ListenConfig {
        address: address.to_owned(),
        token: resolve_token(transport.token.as_deref())?,
        idle_timeout: transport.idle_timeout.0,
        handshake_timeout: transport.handshake_timeout.0,
    };
    let (listener, inbox): (Box<dyn LinkListener>, _) = match kind {
        // The window lives in the ring file both processes map: placed as the profile says
        // before a sender can have written it.
        TransportKind::Shm => {
            let (listener, inbox) = crate::transport::shm::listen(
                listen_config,
                window_bytes,
                stats.clone(),
                Some(alloc),
            )?;
            (Box::new(listener), inbox)
        }
        TransportKind::Rdma => {
            let (writer, reader) = window::channel_with(window_bytes, config)?;
            rdma_listener(listen_config, writer, reader, stats.clone())?
        }
        _ => {
            let (writer, reader) = window::channel_with(window_bytes, config)?;
            let (listener, inbox) =
                crate::transport::tcp::listen(listen_config, writer, reader, stats.clone())?;
            (Box::new(listener), inbox)
        }
    };
    Ok((
        ReadEnd::Remote(Box::new(inbox), Decoder::new(), None),
        LinkEnd {
            shape: LinkShape {
                kind,
                role: LinkRole::Receiver,
                address: listener.local_addr(),
                link_mbps: None,
            },
            stats,
            listener: Some(listener),
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
