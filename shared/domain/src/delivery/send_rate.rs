//! The shared send rate: a token bucket held in one store item, from which every sender takes
//! grants with a conditional write, so the rate holds across all concurrent senders.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A token bucket's state as stored: the tokens left at `updated_at`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    /// Tokens left at `updated_at` (fractional: refills are continuous).
    pub tokens: f64,
    /// When `tokens` was computed.
    pub updated_at: Timestamp,
}

/// The outcome of asking for tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Grant {
    /// `granted` tokens (at least one, at most asked) are taken; store `bucket`.
    Take {
        /// Tokens taken: the number of sends allowed now.
        granted: u32,
        /// The state to store (conditionally on the state read).
        bucket: Bucket,
    },
    /// Empty: ask again after `wait_ms`.
    Wait {
        /// Milliseconds until one token is there.
        wait_ms: u64,
    },
}

/// A rate of `per_second` sends, with bursts of up to `burst` (at least one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendRate {
    /// Sustained sends per second (SES: the account's `MaxSendRate`).
    pub per_second: f64,
    /// Most tokens the bucket holds.
    pub burst: f64,
}

impl SendRate {
    /// A rate whose burst is one second's worth (SES counts per second).
    pub fn per_second(per_second: f64) -> Self {
        Self {
            per_second,
            burst: per_second.max(1.0),
        }
    }

    /// Takes up to `wanted` tokens from `bucket` (a new bucket starts full) at `now`.
    pub fn take(&self, bucket: Option<Bucket>, wanted: u32, now: Timestamp) -> Grant {
        let tokens = bucket.map_or(self.burst, |bucket| {
            let elapsed = now.millis_since(bucket.updated_at).max(0) as f64 / 1000.0;
            (bucket.tokens + elapsed * self.per_second).min(self.burst)
        });
        if tokens < 1.0 {
            let missing = 1.0 - tokens;
            let wait_ms = if self.per_second > 0.0 {
                (missing / self.per_second * 1000.0).ceil() as u64
            } else {
                1000
            };
            return Grant::Wait {
                wait_ms: wait_ms.max(1),
            };
        }
        let granted = (tokens.floor() as u32).min(wanted.max(1));
        Grant::Take {
            granted,
            bucket: Bucket {
                tokens: tokens - f64::from(granted),
                updated_at: now,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(millis: i64) -> Timestamp {
        Timestamp::from_millis(1_000_000 + millis)
    }

    fn granted(grant: Grant) -> (u32, f64) {
        match grant {
            Grant::Take { granted, bucket } => (granted, bucket.tokens),
            Grant::Wait { wait_ms } => panic!("waited {wait_ms} ms"),
        }
    }

    #[test]
    fn a_new_bucket_allows_one_seconds_burst() {
        let rate = SendRate::per_second(14.0);
        assert_eq!(granted(rate.take(None, 50, at(0))), (14, 0.0));
        assert_eq!(granted(rate.take(None, 5, at(0))), (5, 9.0));
    }

    #[test]
    fn an_empty_bucket_says_how_long_to_wait_and_refills_with_time() {
        let rate = SendRate::per_second(10.0);
        let empty = Bucket {
            tokens: 0.0,
            updated_at: at(0),
        };
        assert_eq!(
            rate.take(Some(empty), 5, at(0)),
            Grant::Wait { wait_ms: 100 }
        );
        assert_eq!(
            rate.take(Some(empty), 5, at(50)),
            Grant::Wait { wait_ms: 50 }
        );
        assert_eq!(granted(rate.take(Some(empty), 5, at(100))).0, 1);
        assert_eq!(granted(rate.take(Some(empty), 50, at(350))), (3, 0.5));
        assert_eq!(
            granted(rate.take(Some(empty), 50, at(60_000))).0,
            10,
            "capped at the burst"
        );
    }

    #[test]
    fn over_time_grants_never_exceed_the_rate() {
        let rate = SendRate::per_second(7.0);
        let mut bucket = None;
        let mut sent = 0u64;
        for tick in 0..1000 {
            if let Grant::Take {
                granted,
                bucket: next,
            } = rate.take(bucket, 3, at(tick * 10))
            {
                sent += u64::from(granted);
                bucket = Some(next);
            }
        }
        // 10 s at 7/s plus the first second's burst.
        assert!(sent <= 7 * 10 + 7, "{sent}");
        assert!(sent >= 7 * 10, "{sent}");
    }

    #[test]
    fn a_clock_behind_the_bucket_neither_refills_nor_fails() {
        let rate = SendRate::per_second(2.0);
        let bucket = Bucket {
            tokens: 1.5,
            updated_at: at(1000),
        };
        assert_eq!(granted(rate.take(Some(bucket), 5, at(0))), (1, 0.5));
        let zero = SendRate::per_second(0.0);
        let empty = Bucket {
            tokens: 0.0,
            updated_at: at(0),
        };
        assert_eq!(
            zero.take(Some(empty), 1, at(10)),
            Grant::Wait { wait_ms: 1000 }
        );
    }
}
