//! Alerts for operators, published on the bus with `detail-type` `AlertRaised` (the alert
//! fan-out routes them). Like lifecycle events they go through an outbox written with the
//! state change that raised them, and their id is stable, so a republished alert keeps it.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::event::{BusEvent, stable_id};
use crate::timer::Timer;

/// The `detail-type` of every alert.
pub const ALERT_DETAIL_TYPE: &str = "AlertRaised";

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertKind {
    /// A timer's lease expired too many times; it is FAILED and needs an operator.
    TimerFailed,
    /// The dispatcher stopped: no heartbeat or watermark save for longer than the threshold.
    DispatcherStalled,
    /// A dependency's shared circuit breaker changed state (opened, probing, closed).
    CircuitStateChanged,
    /// An error matched a failure pattern whose actions include an alert.
    FailurePatternMatched,
    /// A delivery run completed with recipients that failed for good.
    RunDeliveryFailures,
    /// A test of one channel an operator asked for (`POST /recovery/test`); never stored.
    Test,
}

impl AlertKind {
    /// The wire name, e.g. `TIMER_FAILED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertKind::TimerFailed => "TIMER_FAILED",
            AlertKind::DispatcherStalled => "DISPATCHER_STALLED",
            AlertKind::CircuitStateChanged => "CIRCUIT_STATE_CHANGED",
            AlertKind::FailurePatternMatched => "FAILURE_PATTERN_MATCHED",
            AlertKind::RunDeliveryFailures => "RUN_DELIVERY_FAILURES",
            AlertKind::Test => "TEST",
        }
    }

    /// Whether a condition of this kind clears and is announced cleared (a stalled
    /// dispatcher beats again, a breaker closes). The others are one-off events (a timer
    /// failed, a pattern matched): their repeats are summed up in a reminder, and they go
    /// quiet when no repeat came within the repeat interval.
    pub const fn resolves(self) -> bool {
        matches!(
            self,
            AlertKind::DispatcherStalled | AlertKind::CircuitStateChanged
        )
    }
}

/// Whether the condition behind an alert is still there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertStatus {
    /// It is (every alert raised before resolution existed).
    #[default]
    Firing,
    /// It cleared (a breaker closed): the fan-out sends a resolved notice where it notified.
    Resolved,
}

/// How urgent it is; the alert fan-out routes by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// For the record: a breaker probing its dependency again.
    Low,
    /// Worth a look (alerts stored before there were four levels said `WARNING`).
    #[serde(alias = "WARNING")]
    Medium,
    /// Needs an operator soon: a FAILED timer, a matched failure pattern.
    High,
    /// Needs an operator now: a stalled dispatcher, an open breaker.
    Critical,
}

impl Severity {
    /// Every level, least urgent first.
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The wire name, e.g. `CRITICAL`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// One alert: the `detail` published on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Stable id derived from what the alert is about, so a republished alert keeps it.
    pub alert_id: String,
    /// What went wrong.
    pub kind: AlertKind,
    /// How urgent it is.
    pub severity: Severity,
    /// What it is about (a timer id, a function name).
    pub subject: String,
    /// A sentence for the operator.
    pub message: String,
    /// When the alert was raised.
    pub raised_at: Timestamp,
    /// The stable code of the error behind the alert (`AWS_THROTTLED`, …), when one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Firing, or resolved.
    #[serde(default)]
    pub status: AlertStatus,
    /// What it is about, field by field (the recovery log files it by these).
    #[serde(default, skip_serializing_if = "AlertContext::is_empty")]
    pub context: AlertContext,
}

/// The structured subject of an alert: which campaign, run, timer or dependency, and for a
/// breaker's move or a recovery, the states and how long the outage lasted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertContext {
    /// The campaign it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
    /// The run it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The timer it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_id: Option<String>,
    /// The dependency (breaker) or function it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// A breaker's state before the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_state: Option<String>,
    /// A breaker's state after the move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_state: Option<String>,
    /// For a recovery: how long the outage lasted, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage_ms: Option<u64>,
}

impl AlertContext {
    /// Nothing is known beyond the subject (alerts stored before the context existed).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Alert {
    /// What the fan-out deduplicates on: the kind and the subject (`TIMER_FAILED/c1:START`),
    /// so every alert about the same cause, and its resolution, share one record.
    pub fn dedup_key(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.subject)
    }
}

impl Alert {
    /// `timer` was set FAILED after `attempts` expired leases.
    pub fn timer_failed(timer: &Timer, attempts: u32, raised_at: Timestamp) -> Self {
        let key = format!(
            "alert/timer-failed/{}/{}",
            timer.timer_id,
            timer.due_at.millis()
        );
        Self {
            alert_id: stable_id(&key),
            kind: AlertKind::TimerFailed,
            severity: Severity::High,
            subject: timer.timer_id.to_string(),
            message: format!(
                "timer {} ({} due {}) FAILED after {attempts} attempts whose leases expired",
                timer.timer_id, timer.kind, timer.due_at
            ),
            raised_at,
            error_code: None,
            status: AlertStatus::Firing,
            context: AlertContext {
                campaign_id: Some(timer.campaign_id.to_string()),
                timer_id: Some(timer.timer_id.to_string()),
                ..AlertContext::default()
            },
        }
    }
}

impl Alert {
    /// The dispatcher was last seen at `last_seen` (`age_s` ago). One alert per outage: the id
    /// depends on the last sign of life, so sweeps during the same outage raise it once.
    pub fn dispatcher_stalled(last_seen: Timestamp, age_s: i64, raised_at: Timestamp) -> Self {
        let key = format!("alert/dispatcher-stalled/{}", last_seen.millis());
        Self {
            alert_id: stable_id(&key),
            kind: AlertKind::DispatcherStalled,
            severity: Severity::Critical,
            subject: "timer-dispatcher".into(),
            message: format!(
                "the timer dispatcher was last seen {age_s} s ago ({last_seen}); timers are not being dispatched, the sweeper fires them late"
            ),
            raised_at,
            error_code: None,
            status: AlertStatus::Firing,
            context: AlertContext {
                component: Some("timer-dispatcher".into()),
                ..AlertContext::default()
            },
        }
    }

    /// The dispatcher beats again (last seen at `recovered_at`) after the outage whose last
    /// sign of life was `stalled_since`: resolves that outage's [`Alert::dispatcher_stalled`]
    /// (same kind and subject, so the same dedup key). One per outage: the id depends on
    /// `stalled_since`, so a sweep that retries after a crash raises the same alert.
    pub fn dispatcher_recovered(
        stalled_since: Timestamp,
        recovered_at: Timestamp,
        raised_at: Timestamp,
    ) -> Self {
        let key = format!("alert/dispatcher-recovered/{}", stalled_since.millis());
        Self {
            alert_id: stable_id(&key),
            kind: AlertKind::DispatcherStalled,
            severity: Severity::Critical,
            subject: "timer-dispatcher".into(),
            message: format!(
                "the timer dispatcher is running again (last seen {recovered_at}); it was silent for {} s after {stalled_since}",
                recovered_at.millis_since(stalled_since) / 1000
            ),
            raised_at,
            error_code: None,
            status: AlertStatus::Resolved,
            context: AlertContext {
                component: Some("timer-dispatcher".into()),
                outage_ms: u64::try_from(recovered_at.millis_since(stalled_since)).ok(),
                ..AlertContext::default()
            },
        }
    }
}

impl Alert {
    /// `dependency`'s breaker moved `from` → `to` (its record is now at `version`); one alert
    /// per transition. Opening is critical, probing is low; closing (medium) resolves it, and
    /// says how long the breaker was not closed (`outage_ms`).
    pub fn circuit_changed(
        dependency: &str,
        (from, to): (&str, &str),
        version: u64,
        (reason, outage_ms): (&str, Option<u64>),
        error_code: Option<&str>,
        raised_at: Timestamp,
    ) -> Self {
        Self {
            alert_id: stable_id(&format!("alert/circuit/{dependency}/{version}")),
            kind: AlertKind::CircuitStateChanged,
            severity: match to {
                "OPEN" => Severity::Critical,
                "HALF_OPEN" => Severity::Low,
                _ => Severity::Medium,
            },
            subject: dependency.into(),
            message: format!("circuit breaker of {dependency}: {from} -> {to} ({reason})"),
            raised_at,
            error_code: error_code.map(str::to_owned),
            status: if to == "CLOSED" {
                AlertStatus::Resolved
            } else {
                AlertStatus::Firing
            },
            context: AlertContext {
                component: Some(dependency.into()),
                from_state: Some(from.into()),
                to_state: Some(to.into()),
                outage_ms,
                ..AlertContext::default()
            },
        }
    }

    /// An error matched failure pattern `pattern_id`; one alert per pattern per cooldown
    /// window (`window` = its number since the epoch), whichever instance sees it.
    pub fn pattern_matched(
        pattern_id: &str,
        window: i64,
        error_code: &str,
        message: &str,
        raised_at: Timestamp,
    ) -> Self {
        Self {
            alert_id: stable_id(&format!("alert/pattern/{pattern_id}/{window}")),
            kind: AlertKind::FailurePatternMatched,
            severity: Severity::High,
            subject: pattern_id.into(),
            message: message.into(),
            raised_at,
            error_code: Some(error_code.into()),
            status: AlertStatus::Firing,
            context: AlertContext::default(),
        }
    }
}

impl BusEvent for Alert {
    fn event_id(&self) -> &str {
        &self.alert_id
    }

    fn detail_type(&self) -> &str {
        ALERT_DETAIL_TYPE
    }

    fn detail_json(&self) -> String {
        serde_json::to_string(self).expect("alerts are always serialisable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn circuit(to: &str) -> Alert {
        let at = Timestamp::from_millis(0);
        Alert::circuit_changed("sqs", ("CLOSED", to), 7, ("5 failures", None), None, at)
    }

    #[test]
    fn only_an_opening_breaker_is_critical() {
        assert_eq!(circuit("OPEN").severity, Severity::Critical);
        assert_eq!(circuit("HALF_OPEN").severity, Severity::Low);
        assert_eq!(circuit("CLOSED").severity, Severity::Medium);
    }

    #[test]
    fn a_closing_breaker_resolves_the_alert_its_opening_raised() {
        let (open, closed) = (circuit("OPEN"), circuit("CLOSED"));
        assert_eq!(open.status, AlertStatus::Firing);
        assert_eq!(circuit("HALF_OPEN").status, AlertStatus::Firing);
        assert_eq!(closed.status, AlertStatus::Resolved);
        assert_eq!(open.dedup_key(), "CIRCUIT_STATE_CHANGED/sqs");
        assert_eq!(closed.dedup_key(), open.dedup_key());
        let detail: serde_json::Value = serde_json::from_str(&closed.detail_json()).unwrap();
        assert_eq!(detail["status"], "RESOLVED");
        let mut old = detail.clone();
        old.as_object_mut().unwrap().remove("status");
        let read: Alert = serde_json::from_value(old).unwrap();
        assert_eq!(
            read.status,
            AlertStatus::Firing,
            "stored before resolution existed"
        );
    }

    #[test]
    fn a_recovered_dispatcher_resolves_its_outage_once() {
        let (since, back) = (
            Timestamp::from_millis(60_000),
            Timestamp::from_millis(660_000),
        );
        let stalled = Alert::dispatcher_stalled(since, 300, Timestamp::from_millis(360_000));
        let resolved = Alert::dispatcher_recovered(since, back, Timestamp::from_millis(700_000));
        assert_eq!(stalled.status, AlertStatus::Firing);
        assert_eq!(resolved.status, AlertStatus::Resolved);
        assert_eq!(resolved.dedup_key(), stalled.dedup_key());
        assert_eq!(resolved.dedup_key(), "DISPATCHER_STALLED/timer-dispatcher");
        assert_eq!(resolved.severity, Severity::Critical);
        assert_ne!(resolved.alert_id, stalled.alert_id);
        assert!(
            resolved.message.contains("silent for 600 s"),
            "{}",
            resolved.message
        );
        let retried = Alert::dispatcher_recovered(since, back.plus_millis(300_000), back);
        assert_eq!(retried.alert_id, resolved.alert_id, "one per outage");
        let next = Alert::dispatcher_recovered(back, back.plus_millis(600_000), back);
        assert_ne!(next.alert_id, resolved.alert_id, "another outage");
        let detail: serde_json::Value = serde_json::from_str(&resolved.detail_json()).unwrap();
        assert_eq!(detail["kind"], "DISPATCHER_STALLED");
        assert_eq!(detail["status"], "RESOLVED");
    }

    #[test]
    fn kinds_are_named_as_serde_writes_them() {
        for kind in [
            AlertKind::TimerFailed,
            AlertKind::DispatcherStalled,
            AlertKind::CircuitStateChanged,
            AlertKind::FailurePatternMatched,
            AlertKind::RunDeliveryFailures,
            AlertKind::Test,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn severities_read_their_wire_names_and_the_old_warning() {
        for severity in Severity::ALL {
            let json = serde_json::to_value(severity).unwrap();
            assert_eq!(json, severity.as_str());
            assert_eq!(Severity::parse(severity.as_str()), Some(severity));
        }
        let old: Severity = serde_json::from_value(serde_json::json!("WARNING")).unwrap();
        assert_eq!(old, Severity::Medium);
        assert_eq!(Severity::parse("WARNING"), None, "not written any more");
        assert!(Severity::Low < Severity::Critical);
    }

    #[test]
    fn is_published_as_alert_raised_with_its_own_id_and_fields() {
        let alert = Alert::pattern_matched(
            "throttle-storm",
            42,
            "AWS_THROTTLED",
            "throttled 20 times in a minute",
            Timestamp::from_millis(1_000),
        );
        assert_eq!(alert.event_id(), alert.alert_id);
        assert_eq!(alert.alert_id.len(), 36, "a UUID: {}", alert.alert_id);
        assert_eq!(alert.detail_type(), "AlertRaised");
        let detail: serde_json::Value = serde_json::from_str(&alert.detail_json()).unwrap();
        assert_eq!(detail["alertId"], alert.alert_id);
        assert_eq!(detail["kind"], "FAILURE_PATTERN_MATCHED");
        assert_eq!(detail["severity"], "HIGH");
        assert_eq!(detail["subject"], "throttle-storm");
        assert_eq!(detail["errorCode"], "AWS_THROTTLED");
        assert_eq!(detail["raisedAt"], "1970-01-01T00:00:01Z");
    }

    #[test]
    fn the_same_cause_keeps_its_id_and_another_gets_a_new_one() {
        let at = Timestamp::from_millis(0);
        let a = Alert::pattern_matched("p", 1, "E", "m", at);
        let again = Alert::pattern_matched("p", 1, "E", "other text", Timestamp::from_millis(9));
        let next_window = Alert::pattern_matched("p", 2, "E", "m", at);
        assert_eq!(a.alert_id, again.alert_id);
        assert_ne!(a.alert_id, next_window.alert_id);
    }
}
