//! How a provider's answer to one send is counted: delivered, refused for good, throttled
//! (retry later, never counted as sent) or failed for now (retry).

use crate::Timestamp;

/// What one send attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted by the provider.
    Delivered,
    /// Refused for good: the recipient is `failed` with this reason.
    Rejected(String),
    /// The provider asks us to slow down; retry after `retry_after_ms` if it said.
    Throttled {
        /// The provider's `Retry-After`, in milliseconds.
        retry_after_ms: Option<u64>,
    },
    /// Not accepted, for a reason that may pass (5xx, connection refused): retry with backoff.
    Transient(String),
    /// No answer (a timeout after the request left): the provider may have accepted it. The
    /// recipient is ambiguous and its run's policy decides whether to send again.
    Unknown(String),
}

/// Classifies a webhook's HTTP status: 2xx delivered; 429, 503 throttled (with
/// `Retry-After`); 408, 425, other 5xx transient; 410 and other 4xx rejected; 1xx/3xx rejected
/// (redirects are not followed: a signed body must not go elsewhere).
pub fn classify_http(status: u16, retry_after: Option<&str>, now: Timestamp) -> SendOutcome {
    match status {
        200..=299 => SendOutcome::Delivered,
        429 | 503 => SendOutcome::Throttled {
            retry_after_ms: retry_after.and_then(|value| parse_retry_after(value, now)),
        },
        408 | 425 | 500..=599 => SendOutcome::Transient(format!("HTTP {status}")),
        410 => SendOutcome::Rejected("HTTP 410: the endpoint is gone".into()),
        _ => SendOutcome::Rejected(format!("HTTP {status}")),
    }
}

/// Reads `Retry-After`: delay seconds, or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds.saturating_mul(1000));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let millis = date.timestamp_millis() - now.millis();
    Some(u64::try_from(millis).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap()
    }

    #[test]
    fn classifies_statuses() {
        assert_eq!(classify_http(200, None, now()), SendOutcome::Delivered);
        assert_eq!(classify_http(204, None, now()), SendOutcome::Delivered);
        assert_eq!(
            classify_http(429, Some("3"), now()),
            SendOutcome::Throttled {
                retry_after_ms: Some(3000)
            }
        );
        assert_eq!(
            classify_http(503, None, now()),
            SendOutcome::Throttled {
                retry_after_ms: None
            }
        );
        for transient in [408, 425, 500, 502, 504, 599] {
            assert!(
                matches!(
                    classify_http(transient, None, now()),
                    SendOutcome::Transient(_)
                ),
                "{transient}"
            );
        }
        for rejected in [100, 301, 400, 401, 404, 413, 422] {
            assert_eq!(
                classify_http(rejected, None, now()),
                SendOutcome::Rejected(format!("HTTP {rejected}"))
            );
        }
        assert_eq!(
            classify_http(410, None, now()),
            SendOutcome::Rejected("HTTP 410: the endpoint is gone".into())
        );
    }

    #[test]
    fn reads_retry_after_as_seconds_or_a_date() {
        assert_eq!(parse_retry_after(" 120 ", now()), Some(120_000));
        assert_eq!(
            parse_retry_after("Wed, 02 Dec 2026 09:00:30 GMT", now()),
            Some(30_000)
        );
        assert_eq!(
            parse_retry_after("Wed, 02 Dec 2026 08:59:00 GMT", now()),
            Some(0)
        );
        assert_eq!(parse_retry_after("soon", now()), None);
        assert_eq!(parse_retry_after("-5", now()), None);
    }
}
