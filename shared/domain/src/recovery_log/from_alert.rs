//! The recovery-log entry of an alert and what it adds to the counters: a FAILED timer, a
//! run's permanent delivery failures, a matched pattern, a breaker opening and a stalled
//! dispatcher are failures; a breaker probing, closing and the dispatcher beating again are
//! recoveries (an outage's end, with its length).

use crate::alert::{Alert, AlertKind, AlertStatus};
use crate::recovery_log::counters::{Counter, Counts};
use crate::recovery_log::entry::{EventCategory, RecoveryEvent, event_id};
use crate::recovery_log::sanitize::sanitize_message;

/// The component the dispatcher's outages are counted under.
pub const DISPATCHER: &str = "timer-dispatcher";

/// The entry `alert` is recorded as, and the counts it adds.
pub fn record_of_alert(alert: &Alert) -> (RecoveryEvent, Counts) {
    let context = &alert.context;
    let component = context
        .component
        .clone()
        .unwrap_or_else(|| default_component(alert.kind).to_owned());
    let (category, code, failure) = classify(alert);
    let event = RecoveryEvent {
        id: event_id(alert.raised_at, &alert.alert_id),
        at: alert.raised_at,
        category,
        severity: alert.severity,
        failure,
        code: code.clone(),
        message: sanitize_message(&alert.message),
        component: component.clone(),
        campaign_id: context.campaign_id.clone(),
        timer_id: context.timer_id.clone(),
        run_id: context.run_id.clone(),
        resolution: None,
    };
    let mut counts = Counts::default();
    if failure {
        counts.add(Counter::Errors(category, alert.severity), 1);
        counts.add(Counter::Code(code), 1);
    }
    match (
        alert.kind,
        context.from_state.as_deref(),
        context.to_state.as_deref(),
    ) {
        (AlertKind::CircuitStateChanged, _, Some("OPEN")) => {
            counts.add(Counter::Outages(component.clone()), 1);
        }
        (AlertKind::DispatcherStalled, _, _) if alert.status == AlertStatus::Firing => {
            counts.add(Counter::Outages(component.clone()), 1);
        }
        _ => {}
    }
    if let (AlertKind::CircuitStateChanged, Some("HALF_OPEN"), Some("OPEN")) = (
        alert.kind,
        context.from_state.as_deref(),
        context.to_state.as_deref(),
    ) {
        counts.add(Counter::FailedRecoveries(component.clone()), 1);
    }
    if alert.status == AlertStatus::Resolved {
        counts.add(Counter::Recoveries(component.clone()), 1);
        counts.add(
            Counter::DowntimeMs(component),
            context.outage_ms.unwrap_or(0),
        );
    }
    (event, counts)
}

/// The category, code and whether it is a failure.
fn classify(alert: &Alert) -> (EventCategory, String, bool) {
    let resolved = alert.status == AlertStatus::Resolved;
    match alert.kind {
        AlertKind::TimerFailed => (EventCategory::TimerFailure, "TIMER_FAILED".into(), true),
        // Never filed (a test notification is no alert); named for completeness.
        AlertKind::Test => (EventCategory::Recovery, "TEST".into(), false),
        AlertKind::RunDeliveryFailures => (
            EventCategory::DeliveryFailure,
            alert
                .error_code
                .clone()
                .unwrap_or_else(|| "RUN_DELIVERY_FAILURES".into()),
            true,
        ),
        AlertKind::FailurePatternMatched => (
            EventCategory::FailurePattern,
            alert
                .error_code
                .clone()
                .unwrap_or_else(|| "FAILURE_PATTERN_MATCHED".into()),
            true,
        ),
        AlertKind::DispatcherStalled if resolved => (
            EventCategory::Dispatcher,
            "DISPATCHER_RECOVERED".into(),
            false,
        ),
        AlertKind::DispatcherStalled => {
            (EventCategory::Dispatcher, "DISPATCHER_STALLED".into(), true)
        }
        AlertKind::CircuitStateChanged => {
            let to = alert.context.to_state.as_deref().unwrap_or("CHANGED");
            let code = match to {
                "OPEN" => "CIRCUIT_OPENED".to_owned(),
                "CLOSED" => "CIRCUIT_CLOSED".to_owned(),
                other => format!("CIRCUIT_{other}"),
            };
            (EventCategory::CircuitBreaker, code, to == "OPEN")
        }
    }
}

fn default_component(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::TimerFailed => "sweeper",
        AlertKind::DispatcherStalled => DISPATCHER,
        AlertKind::CircuitStateChanged => "circuit-breaker",
        AlertKind::FailurePatternMatched => "resilience",
        AlertKind::RunDeliveryFailures => "delivery",
        AlertKind::Test => "alert-fanout",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::alerting::run_alert::run_failures_alert;
    use crate::{
        CampaignId, Severity, Timer, TimerEffect, TimerId, TimerKind, TimerStatus, Timestamp,
    };

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + seconds * 1000)
    }

    fn breaker(from: &str, to: &str, outage: Option<u64>) -> Alert {
        Alert::circuit_changed("sqs", (from, to), 3, ("5 failures", outage), None, at(0))
    }

    #[test]
    fn a_failed_timer_is_a_failure_of_its_campaign_and_timer() {
        let campaign = CampaignId::new("spring");
        let timer = Timer {
            timer_id: TimerId::new(&campaign, TimerKind::StartCampaign),
            campaign_id: campaign,
            kind: TimerKind::StartCampaign,
            status: TimerStatus::Failed,
            due_at: at(0),
            effect: TimerEffect::Remind,
            run_id: None,
            attempts: 3,
            last_error: None,
            fired_at: None,
            cancel_reason: None,
            queued_at_creation: false,
            next_deadline: None,
            lease_owner: None,
            lease_expires_at: None,
        };
        let alert = Alert::timer_failed(&timer, 3, at(10));
        let (event, counts) = record_of_alert(&alert);
        assert_eq!(event.category, EventCategory::TimerFailure);
        assert_eq!(event.code, "TIMER_FAILED");
        assert!(event.failure);
        assert_eq!(event.campaign_id.as_deref(), Some("spring"));
        assert_eq!(event.timer_id.as_deref(), Some(timer.timer_id.as_str()));
        assert_eq!(event.at, at(10));
        assert_eq!(event.id, record_of_alert(&alert).0.id, "stable per alert");
        assert_eq!(
            counts.get(&Counter::Errors(
                EventCategory::TimerFailure,
                Severity::High
            )),
            1
        );
        assert_eq!(counts.get(&Counter::Code("TIMER_FAILED".into())), 1);
        assert_eq!(counts.iter().count(), 2);
    }

    #[test]
    fn a_breaker_opening_is_an_outage_and_its_closing_a_recovery_with_its_length() {
        let (opened, counts) = record_of_alert(&breaker("CLOSED", "OPEN", None));
        assert_eq!(
            (opened.category, opened.code.as_str()),
            (EventCategory::CircuitBreaker, "CIRCUIT_OPENED")
        );
        assert!(opened.failure);
        assert_eq!(opened.component, "sqs");
        assert_eq!(counts.get(&Counter::Outages("sqs".into())), 1);
        assert_eq!(counts.get(&Counter::Code("CIRCUIT_OPENED".into())), 1);

        let (probing, counts) = record_of_alert(&breaker("OPEN", "HALF_OPEN", None));
        assert_eq!(probing.code, "CIRCUIT_HALF_OPEN");
        assert!(!probing.failure);
        assert!(counts.is_empty(), "{counts:?}");

        let (_, counts) = record_of_alert(&breaker("HALF_OPEN", "OPEN", None));
        assert_eq!(counts.get(&Counter::FailedRecoveries("sqs".into())), 1);
        assert_eq!(counts.get(&Counter::Outages("sqs".into())), 1);

        let (closed, counts) = record_of_alert(&breaker("HALF_OPEN", "CLOSED", Some(42_000)));
        assert_eq!(closed.code, "CIRCUIT_CLOSED");
        assert!(!closed.failure);
        assert_eq!(counts.get(&Counter::Recoveries("sqs".into())), 1);
        assert_eq!(counts.get(&Counter::DowntimeMs("sqs".into())), 42_000);
        assert_eq!(counts.iter().count(), 2, "a recovery is not an error");
    }

    #[test]
    fn the_dispatcher_stalls_and_recovers() {
        let stalled = Alert::dispatcher_stalled(at(0), 300, at(300));
        let (event, counts) = record_of_alert(&stalled);
        assert_eq!(
            (event.category, event.code.as_str()),
            (EventCategory::Dispatcher, "DISPATCHER_STALLED")
        );
        assert_eq!(counts.get(&Counter::Outages(DISPATCHER.into())), 1);
        assert_eq!(
            counts.get(&Counter::Errors(
                EventCategory::Dispatcher,
                Severity::Critical
            )),
            1
        );
        let back = Alert::dispatcher_recovered(at(0), at(600), at(620));
        let (event, counts) = record_of_alert(&back);
        assert_eq!(event.code, "DISPATCHER_RECOVERED");
        assert!(!event.failure);
        assert_eq!(counts.get(&Counter::Recoveries(DISPATCHER.into())), 1);
        assert_eq!(counts.get(&Counter::DowntimeMs(DISPATCHER.into())), 600_000);
        assert_eq!(counts.get(&Counter::Outages(DISPATCHER.into())), 0);
    }

    #[test]
    fn a_pattern_is_filed_by_its_error_code_and_a_run_by_its_campaign() {
        let pattern = Alert::pattern_matched(
            "p1",
            7,
            "AWS_THROTTLED",
            "throttled on arn:aws:sqs:x",
            at(0),
        );
        let (event, counts) = record_of_alert(&pattern);
        assert_eq!(
            (event.category, event.code.as_str()),
            (EventCategory::FailurePattern, "AWS_THROTTLED")
        );
        assert_eq!(event.message, "throttled on <arn>");
        assert_eq!(event.component, "resilience");
        assert_eq!(counts.get(&Counter::Code("AWS_THROTTLED".into())), 1);

        let detail = json!({"campaignId": "c1", "runId": "r1", "failed": 2, "total": 5, "sent": 3,
            "completedAt": "2026-12-01T00:00:00Z"});
        let run = run_failures_alert(&detail).unwrap().unwrap();
        let (event, counts) = record_of_alert(&run);
        assert_eq!(event.category, EventCategory::DeliveryFailure);
        assert_eq!(event.code, "RUN_DELIVERY_FAILURES");
        assert_eq!(
            (event.campaign_id.as_deref(), event.run_id.as_deref()),
            (Some("c1"), Some("r1"))
        );
        assert_eq!(
            counts.get(&Counter::Errors(
                EventCategory::DeliveryFailure,
                Severity::Medium
            )),
            1
        );
    }
}
