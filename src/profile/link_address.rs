//! Where a profile's link goes, set from the command line (`run --connect`/`--shm`, `serve
//! --listen`/`--shm`) instead of its `[transport]` keys: one home for what each option replaces
//! and what it keeps.

use super::{TransportKind, TransportSection};

impl TransportKind {
    /// The kind that reaches a network address: RDMA stays RDMA, anything else (TCP, or a local
    /// or shared-memory ring, which has no address) is TCP.
    pub fn over_network(self) -> TransportKind {
        match self {
            TransportKind::Rdma => TransportKind::Rdma,
            TransportKind::Local | TransportKind::Tcp | TransportKind::Shm => TransportKind::Tcp,
        }
    }
}

impl TransportSection {
    /// Sends to the receiver at `address` (`run --connect`), over the section's network kind
    /// (an `rdma` profile stays RDMA).
    pub fn send_to(&mut self, address: &str) {
        self.kind = self.kind.over_network();
        self.connect = Some(address.to_owned());
        self.listen = None;
        self.name = None;
    }

    /// Writes into the shared-memory ring `name` that a receiver on this host holds (`run
    /// --shm`).
    pub fn send_into_shm(&mut self, name: &str) {
        self.kind = TransportKind::Shm;
        self.name = Some(name.to_owned());
        self.connect = None;
        self.listen = None;
    }

    /// Accepts senders at `address` (`serve --listen`), over the section's network kind.
    pub fn listen_at(&mut self, address: &str) {
        self.kind = self.kind.over_network();
        self.listen = Some(address.to_owned());
        self.connect = None;
        self.name = None;
    }

    /// Holds the shared-memory ring `name` that senders on this host write into (`serve
    /// --shm`).
    pub fn hold_shm(&mut self, name: &str) {
        self.kind = TransportKind::Shm;
        self.listen = Some(name.to_owned());
        self.connect = None;
        self.name = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_keeps_a_network_kind_and_replaces_every_other_place() {
        let mut rdma = TransportSection::tcp();
        rdma.kind = TransportKind::Rdma;
        rdma.name = Some("ring".into());
        rdma.send_to("10.0.0.2:7471");
        assert_eq!(rdma.kind, TransportKind::Rdma);
        assert_eq!(
            (rdma.connect.as_deref(), rdma.listen, rdma.name),
            (Some("10.0.0.2:7471"), None, None)
        );
        let mut shm = TransportSection::tcp();
        shm.send_into_shm("quotes");
        assert_eq!(shm.kind, TransportKind::Shm);
        shm.listen_at("0.0.0.0:7471");
        assert_eq!(shm.kind, TransportKind::Tcp);
        assert_eq!(
            (
                shm.listen.as_deref(),
                shm.connect.as_deref(),
                shm.name.as_deref()
            ),
            (Some("0.0.0.0:7471"), None, None)
        );
        shm.hold_shm("quotes");
        assert_eq!(
            (shm.kind, shm.listen.as_deref(), shm.connect.as_deref()),
            (TransportKind::Shm, Some("quotes"), None)
        );
        let mut local = TransportSection::tcp();
        local.kind = TransportKind::Local;
        local.send_to("127.0.0.1:1");
        assert_eq!(local.kind, TransportKind::Tcp);
    }
}
