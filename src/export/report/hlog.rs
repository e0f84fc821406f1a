//! Reading a run's HdrHistogram interval log (`run --hlog`) for the report: every consumer's
//! histograms merged over the run, and what cannot be read said in words.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

/// Each consumer's latency over the whole run, merged from an HdrHistogram interval log (V2, as
/// `run --hlog` writes it: one tag per consumer).
///
/// # Errors
/// What in the log cannot be read.
pub fn read_hlog(bytes: &[u8]) -> Result<BTreeMap<String, Histogram<u64>>, String> {
    use base64::Engine;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let mut merged: BTreeMap<String, Histogram<u64>> = BTreeMap::new();
    let mut deserializer = Deserializer::new();
    for entry in IntervalLogIterator::new(bytes) {
        let entry = entry.map_err(|e| {
            let hdrhistogram::serialization::interval_log::LogIteratorError::ParseError { offset } =
                e;
            let line = bytes[..offset.min(bytes.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            format!("not an HdrHistogram interval log: line {line} cannot be read as one")
        })?;
        let LogEntry::Interval(interval) = entry else {
            continue;
        };
        let tag = interval
            .tag()
            .map_or_else(|| "untagged".to_owned(), |t| t.as_str().to_owned());
        let encoded = base64::engine::general_purpose::STANDARD
            .decode(interval.encoded_histogram())
            .map_err(|e| format!("{tag}: a histogram that is not base64: {e}"))?;
        let histogram: Histogram<u64> = deserializer
            .deserialize(&mut encoded.as_slice())
            .map_err(|e| format!("{tag}: a histogram that cannot be decoded: {e}"))?;
        match merged.get_mut(&tag) {
            Some(total) => total
                .add(&histogram)
                .map_err(|e| format!("{tag}: histograms that do not add up: {e}"))?,
            None => {
                merged.insert(tag, histogram);
            }
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_not_a_log_is_said_with_its_line() {
        let err = read_hlog(b"#[StartTime: 1 (seconds since epoch)]\nhello\n").unwrap_err();
        assert_eq!(
            err,
            "not an HdrHistogram interval log: line 2 cannot be read as one"
        );
        let err =
            read_hlog(b"#[StartTime: 1 (seconds since epoch)]\n0.1,1.0,2.0,AAAA\n").unwrap_err();
        assert!(
            err.starts_with("untagged: a histogram that cannot be decoded: "),
            "{err}"
        );
        assert!(!err.contains("Error("), "{err}");
    }
}
