//! One recovery-log entry: a classified failure (a FAILED timer, a run's permanent delivery
//! failures, a breaker opening, a matched failure pattern, a stalled dispatcher) or a
//! recovery (a breaker closing, the dispatcher back, what a sweep repaired), kept for the
//! retention setting and resolvable by an operator.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::alert::Severity;
use crate::event::stable_id;

/// What an entry is about; the log is queryable by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventCategory {
    /// A timer set FAILED after its leases expired too often.
    TimerFailure,
    /// A delivery run completed with recipients that failed for good.
    DeliveryFailure,
    /// A dependency's circuit breaker moved (opened, probing, closed).
    CircuitBreaker,
    /// An error matched a failure pattern that raises an alert.
    FailurePattern,
    /// The timer dispatcher stopped, or beats again.
    Dispatcher,
    /// What a sweep repaired (stuck and missed timers, campaign states, runs, series).
    Recovery,
}

impl EventCategory {
    /// Every category.
    pub const ALL: [EventCategory; 6] = [
        EventCategory::TimerFailure,
        EventCategory::DeliveryFailure,
        EventCategory::CircuitBreaker,
        EventCategory::FailurePattern,
        EventCategory::Dispatcher,
        EventCategory::Recovery,
    ];

    /// The wire name, e.g. `TIMER_FAILURE`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventCategory::TimerFailure => "TIMER_FAILURE",
            EventCategory::DeliveryFailure => "DELIVERY_FAILURE",
            EventCategory::CircuitBreaker => "CIRCUIT_BREAKER",
            EventCategory::FailurePattern => "FAILURE_PATTERN",
            EventCategory::Dispatcher => "DISPATCHER",
            EventCategory::Recovery => "RECOVERY",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Who marked an entry resolved, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolution {
    /// The operator (free text until the API authenticates callers).
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// Why, or what was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One entry of the recovery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryEvent {
    /// `<millis, 13 digits>-<stable id of its source>`: time-ordered, and the same source
    /// (an alert, a sweep's step) always gives the same id, so recording twice stores once.
    pub id: String,
    /// When it happened.
    pub at: Timestamp,
    /// What it is about.
    pub category: EventCategory,
    /// How urgent.
    pub severity: Severity,
    /// A failure: counted in the error statistics (a recovery is not).
    pub failure: bool,
    /// A stable code, e.g. `TIMER_FAILED`, `CIRCUIT_OPENED`, `AWS_THROTTLED`.
    pub code: String,
    /// A sentence for the operator, sanitised ([`crate::recovery_log::sanitize`]).
    pub message: String,
    /// The function or dependency it concerns.
    pub component: String,
    /// The campaign it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// The timer it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_id: Option<String>,
    /// The run it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Set once an operator marked it resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
}

/// The id of the entry of `source` (an alert id, `sweep/<runId>/<step>`) at `at`.
pub fn event_id(at: Timestamp, source: &str) -> String {
    format!("{:013}-{}", at.millis().max(0), stable_id(source))
}

/// When the entry with id `id` happened (its id's prefix); `None` if `id` is not an entry id.
pub fn event_time(id: &str) -> Option<Timestamp> {
    let (millis, rest) = id.split_once('-')?;
    if millis.len() != 13 || rest.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    millis.parse().ok().map(Timestamp::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_stable_and_give_back_their_time() {
        let at = Timestamp::from_millis(1_764_800_000_123);
        let id = event_id(at, "alert-1");
        assert_eq!(id, event_id(at, "alert-1"));
        assert_ne!(id, event_id(at, "alert-2"));
        assert!(id.starts_with("1764800000123-"), "{id}");
        assert!(event_id(Timestamp::from_millis(999), "x") < id);
        assert_eq!(event_time(&id), Some(at));
    }

    #[test]
    fn anything_else_is_not_an_entry_id() {
        for id in [
            "",
            "abc",
            "1764800000123",
            "1764800000123-",
            "176480000012-x",
            "17648000001x3-x",
        ] {
            assert_eq!(event_time(id), None, "{id}");
        }
    }

    #[test]
    fn categories_round_trip_their_wire_names() {
        for category in EventCategory::ALL {
            assert_eq!(EventCategory::parse(category.as_str()), Some(category));
            let json = serde_json::to_value(category).unwrap();
            assert_eq!(json, category.as_str());
        }
        assert_eq!(EventCategory::parse("timer_failure"), None);
    }
}
