//! What a trial's latency times: a row one way, or a sender's link's round trip.

use serde::Serialize;

/// What a trial's `p50_ns` and `p99_ns` time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LatencySpan {
    /// A row's stamp (when it was due) to the consumer taking it: a local ring's, a receiver's.
    OneWay,
    /// A row's stamp to the receiver's credit echoing it: a link's sender's, which times no row
    /// itself (its receiver does, one way).
    RoundTrip,
}

impl LatencySpan {
    /// What a trial of `profile` times: a sender its link's round trips, any other its rows one
    /// way.
    pub fn of(profile: &crate::profile::TuningProfile) -> LatencySpan {
        match profile.link_end() {
            crate::profile::LinkEndSetting::Send(..) => LatencySpan::RoundTrip,
            _ => LatencySpan::OneWay,
        }
    }

    /// In words, after "latency is": for tables and reports.
    pub fn words(self) -> &'static str {
        match self {
            LatencySpan::OneWay => "one-way, from each row's scheduled send time to its consumer",
            LatencySpan::RoundTrip => {
                "the link's round trip, from each row's scheduled send time to the receiver's \
                 credit echoing it (a sender times no row itself: its receiver times them one way)"
            }
        }
    }
}
