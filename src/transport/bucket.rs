//! A token bucket that caps the bytes a sender puts on the link, to emulate a slower network on
//! loopback and measure what compression buys there.

use std::time::Instant;

/// Bytes per second, with a burst allowance; a send may overdraw, and the debt is paid before the
/// next one (so the long-run rate is exact whatever the frame sizes).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    bytes_per_s: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A cap of `megabits_per_s` (10⁶ bits), allowing bursts of `burst_bytes`.
    pub fn new(megabits_per_s: f64, burst_bytes: usize) -> Self {
        let bytes_per_s = megabits_per_s * 1e6 / 8.0;
        TokenBucket {
            bytes_per_s,
            burst: burst_bytes as f64,
            tokens: burst_bytes as f64,
            last: Instant::now(),
        }
    }

    /// Whether a send may go now.
    pub fn ready(&mut self) -> bool {
        self.ready_at(Instant::now())
    }

    fn ready_at(&mut self, now: Instant) -> bool {
        let gained = now.duration_since(self.last).as_secs_f64() * self.bytes_per_s;
        self.last = now;
        self.tokens = (self.tokens + gained).min(self.burst);
        self.tokens >= 0.0
    }

    /// Pays for bytes sent.
    pub fn spend(&mut self, bytes: usize) {
        self.tokens -= bytes as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_long_run_rate_is_the_cap() {
        // 8 Mbit/s = 1 MB/s: over one simulated second, about 1 MB goes out in 10 kB sends.
        let mut bucket = TokenBucket::new(8.0, 10_000);
        let start = Instant::now();
        let mut sent = 0;
        for ms in 0..=1000u64 {
            let now = start + Duration::from_millis(ms);
            while bucket.ready_at(now) {
                bucket.spend(10_000);
                sent += 10_000;
            }
        }
        assert!((1_000_000..=1_020_000).contains(&sent), "{sent}");
    }
}
