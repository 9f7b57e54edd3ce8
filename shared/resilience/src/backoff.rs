//! Capped exponential backoff with full jitter: the wait before retry `n` is uniform in
//! `0..=min(cap, base · 2ⁿ)`, so competing callers spread out instead of retrying in lockstep
//! (AWS Builders' Library, "Timeouts, retries and backoff with jitter").

use std::time::Duration;

/// Backoff bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's wait.
    pub base: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The ceiling of the wait before retry `retry` (0 for the first retry).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A random wait before retry `retry`: uniform in `0..=ceiling(retry)`.
    pub fn delay(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry).as_millis() as u64;
        Duration::from_millis(lifecycle_domain::jitter::millis(ceiling))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(25), Duration::from_secs(1));
        let ceilings: Vec<u128> = (0..8).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [25, 50, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn delays_stay_within_their_ceiling_and_use_the_whole_range() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        for retry in 0..10 {
            let ceiling = backoff.ceiling(retry);
            let delays: Vec<Duration> = (0..400).map(|_| backoff.delay(retry)).collect();
            assert!(delays.iter().all(|d| *d <= ceiling), "retry {retry}");
            // Full jitter: the waits spread over the range, both halves are used.
            assert!(delays.iter().any(|d| *d < ceiling / 2), "retry {retry}");
            assert!(delays.iter().any(|d| *d > ceiling / 2), "retry {retry}");
        }
    }
}
