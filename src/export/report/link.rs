//! The link a run sent over or received from: one row of the report's overview, so that a
//! receiver's rate beside its time is read over the time a sender was connected, and a sender's
//! round trips are there to see.

use crate::export::svg::escape;
use crate::metrics::human::{format_ns, format_rate};
use crate::metrics::snapshot::{LatencyNs, LinkRole, TransportSnapshot};
use crate::topology::model::format_bytes;
use crate::words::counted;

/// The overview's `link` row for `link`, over a run of `elapsed_s` (the summary's figures, or a
/// run's that did not finish as of its last interval).
pub(super) fn link_row(link: &TransportSnapshot, elapsed_s: f64) -> String {
    let end = match link.role {
        LinkRole::Sender => format!("{} sender to {}", link.kind, link.address),
        LinkRole::Receiver => format!("{} receiver on {}", link.kind, link.address),
    };
    let mut parts = vec![end];
    // A sender's peer is the address it sent to.
    if let Some(peer) = link.peer.as_ref().filter(|peer| **peer != link.address) {
        parts.push(format!("peer {peer}"));
    }
    let count = |n: u64, noun: &str| counted(usize::try_from(n).unwrap_or(usize::MAX), noun);
    parts.push(format!(
        "{}, {}, {} refused, {} dropped",
        count(link.sessions, "session"),
        count(link.reconnects, "reconnect"),
        link.refused,
        link.dropped
    ));
    if let Some(connected_s) = link.connected_s {
        // A receiver's rates are over the time it was served, where it was (as its summary
        // takes them); never served, over all of its time.
        let over = match link.role {
            LinkRole::Receiver if connected_s > 0.0 => ": its rows/s are over this time",
            LinkRole::Receiver => ": no sender connected",
            LinkRole::Sender => "",
        };
        parts.push(format!(
            "connected {connected_s:.1} s of {elapsed_s:.1} s{over}"
        ));
    }
    parts.push(format!(
        "{} frames, {} on the wire",
        link.frames,
        format_bytes(link.bytes)
    ));
    match link.role {
        LinkRole::Sender => {
            parts.push(match &link.round_trip_ns {
                Some(l) => format!("round trip {}", percentiles(l)),
                None => "round trip n/a: no credit echoed a stamp".to_owned(),
            });
            if let Some(stalls) = link.credit_stalls {
                parts.push(format!("{stalls} credit stalls"));
            }
            if let (Some(mbps), Some(waits)) = (link.link_mbps, link.cap_waits) {
                parts.push(format!(
                    "capped at {} Mbit/s ({waits} waits)",
                    format_rate(mbps)
                ));
            }
        }
        LinkRole::Receiver => parts.push(match (&link.one_way_ns, &link.one_way_unavailable) {
            (Some(l), _) => format!("one-way {}", percentiles(l)),
            (None, Some(why)) => format!("one-way n/a: {why}"),
            (None, None) => "one-way n/a".to_owned(),
        }),
    }
    let mut row = format!("<tr><th>link</th><td>{}", escape(&parts.join("; ")));
    if let Some(error) = &link.last_error {
        row.push_str(&format!(
            "; <span class=\"bad\">last error: {}</span>",
            escape(error)
        ));
    }
    row.push_str("</td></tr>");
    row
}

fn percentiles(latency: &LatencyNs) -> String {
    format!(
        "p50 {}, p99 {}, max {} ({} timed)",
        format_ns(latency.p50),
        format_ns(latency.p99),
        format_ns(latency.max),
        latency.count
    )
}
