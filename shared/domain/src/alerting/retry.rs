//! When a notification that a channel did not take is tried again. The instance that decided
//! a notification sends it at once; every later try is the periodic check's, which first
//! claims the notification (a conditional write on its `retryAt`) so that two checks never
//! send it both. A try is given [`CLAIM_MS`] — longer than any channel call — before another
//! may take over; failures back off exponentially, or as long as the channel asked
//! (`Retry-After`), whichever is longer.

/// How long a send owns a notification before another try may take it over: longer than a
/// channel call's timeout (10 s) with room for a slow store.
pub const CLAIM_MS: i64 = 120_000;

/// The first retry's delay; it doubles with each failed attempt.
pub const FIRST_RETRY_MS: i64 = 30_000;

/// The longest delay between two tries.
pub const MAX_RETRY_MS: i64 = 30 * 60_000;

/// The delay before trying again after `attempts` failed attempts (1 after the first), at
/// least `retry_after_ms` when the channel asked for it.
pub fn retry_delay_ms(attempts: u32, retry_after_ms: Option<i64>) -> i64 {
    let doublings = attempts.saturating_sub(1).min(16);
    let backoff = (FIRST_RETRY_MS << doublings).min(MAX_RETRY_MS);
    backoff.max(retry_after_ms.unwrap_or(0).min(MAX_RETRY_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let delays: Vec<i64> = (1..=8).map(|a| retry_delay_ms(a, None)).collect();
        assert_eq!(
            delays,
            [
                30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000
            ]
        );
        assert_eq!(retry_delay_ms(0, None), FIRST_RETRY_MS);
        assert_eq!(retry_delay_ms(u32::MAX, None), MAX_RETRY_MS);
    }

    #[test]
    fn a_channels_retry_after_is_honoured_within_the_cap() {
        assert_eq!(retry_delay_ms(1, Some(90_000)), 90_000);
        assert_eq!(retry_delay_ms(3, Some(1_000)), 120_000, "backoff is longer");
        assert_eq!(retry_delay_ms(1, Some(86_400_000)), MAX_RETRY_MS);
    }
}
