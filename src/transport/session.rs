//! The records a receiver writes into its window between sessions, so the consumer sees in the
//! stream itself where one sender's rows end and the next one's begin.

/// Record kind of an encoded frame.
pub const FRAME: u32 = 0;
/// Record kind of a session start.
pub const START: u32 = 1;
/// Record kind of a session end.
pub const END: u32 = 2;

/// A session boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A sender connected.
    Start {
        /// Its run (the same across its reconnects).
        run_id: u64,
        /// The sequence number its first row will carry.
        next_seq: u64,
        /// Whether it stamps rows on this host's clock (one-way latency is meaningful).
        same_clock: bool,
        /// Its address.
        peer: String,
    },
    /// The sender left.
    End {
        /// Rows it said it sent in the whole run (a clean goodbye), or `None` (the link broke).
        rows_sent: Option<u64>,
        /// Why the session ended.
        reason: String,
    },
}

impl SessionEvent {
    /// The record's kind and payload.
    pub fn encode(&self) -> (u32, Vec<u8>) {
        let mut out = Vec::new();
        match self {
            SessionEvent::Start {
                run_id,
                next_seq,
                same_clock,
                peer,
            } => {
                out.extend_from_slice(&run_id.to_le_bytes());
                out.extend_from_slice(&next_seq.to_le_bytes());
                out.push(u8::from(*same_clock));
                out.extend_from_slice(peer.as_bytes());
                (START, out)
            }
            SessionEvent::End { rows_sent, reason } => {
                out.extend_from_slice(&rows_sent.unwrap_or(u64::MAX).to_le_bytes());
                out.extend_from_slice(reason.as_bytes());
                (END, out)
            }
        }
    }

    /// Reads a marker back; `None` for a kind that is not a marker or a payload too short.
    pub fn decode(kind: u32, payload: &[u8]) -> Option<SessionEvent> {
        let u64_at = |at: usize| {
            payload
                .get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        };
        match kind {
            START => Some(SessionEvent::Start {
                run_id: u64_at(0)?,
                next_seq: u64_at(8)?,
                same_clock: *payload.get(16)? == 1,
                peer: String::from_utf8_lossy(payload.get(17..)?).into_owned(),
            }),
            END => {
                let rows = u64_at(0)?;
                Some(SessionEvent::End {
                    rows_sent: (rows != u64::MAX).then_some(rows),
                    reason: String::from_utf8_lossy(payload.get(8..)?).into_owned(),
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_read_back() {
        for event in [
            SessionEvent::Start {
                run_id: 3,
                next_seq: 9,
                same_clock: true,
                peer: "127.0.0.1:5000".into(),
            },
            SessionEvent::End {
                rows_sent: Some(10),
                reason: "finished".into(),
            },
            SessionEvent::End {
                rows_sent: None,
                reason: "peer closed the connection".into(),
            },
        ] {
            let (kind, payload) = event.encode();
            assert_eq!(SessionEvent::decode(kind, &payload), Some(event));
        }
        assert_eq!(SessionEvent::decode(START, &[1, 2]), None);
        assert_eq!(SessionEvent::decode(FRAME, &[]), None);
    }
}
