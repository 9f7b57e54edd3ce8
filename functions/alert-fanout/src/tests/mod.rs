//! The fan-out over fakes: routing, noise control across deliveries and checks, a failing
//! channel retried alone and in order, breakers, lost races, and bad messages.

mod fakes;

use aws_lambda_events::event::sqs::SqsEvent;
use lifecycle_domain::alerting::AlertChannel::{Email, Slack, Sns, Webhook};
use lifecycle_domain::alerting::retry::{CLAIM_MS, FIRST_RETRY_MS};
use lifecycle_domain::alerting::{AlertChannel, AlertConfig};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::{Alert, Clock, ManualClock, Timestamp};
use serde_json::json;

use crate::check::check;
use crate::decide::{AlertOutcome, on_alert};
use crate::messages::handle_messages;
use fakes::{FakePorts, clock};

const MINUTE: i64 = 60_000;

fn breaker(to: &str, version: u64, at: Timestamp) -> Alert {
    let from = if to == "CLOSED" { "OPEN" } else { "CLOSED" };
    Alert::circuit_changed("sqs", (from, to), version, ("failures", None), None, at)
}

fn pattern(window: i64, at: Timestamp) -> Alert {
    Alert::pattern_matched("throttling", window, "AWS_THROTTLED", "throttled", at)
}

fn event(bodies: &[String]) -> SqsEvent {
    let records: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"messageId": format!("m{i}"), "body": body}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn bus_event(detail_type: &str, detail: serde_json::Value) -> String {
    json!({"version": "0", "id": "e1", "source": "campaign-lifecycle",
        "detail-type": detail_type, "detail": detail})
    .to_string()
}

fn alert_message(alert: &Alert) -> String {
    bus_event("AlertRaised", serde_json::to_value(alert).unwrap())
}

async fn notify(ports: &FakePorts, clock: &ManualClock, alert: &Alert) -> AlertOutcome {
    on_alert(ports, clock, alert).await.unwrap()
}

#[tokio::test]
async fn each_severity_goes_to_its_routed_channels_and_low_is_logged_only() {
    let ports = FakePorts::new();
    let clock = clock();
    let now = clock.now();
    notify(&ports, &clock, &breaker("OPEN", 1, now)).await;
    notify(&ports, &clock, &pattern(1, now)).await;
    let low = Alert::circuit_changed("s3", ("OPEN", "HALF_OPEN"), 1, ("probe", None), None, now);
    assert!(matches!(
        notify(&ports, &clock, &low).await,
        AlertOutcome::Notified { .. }
    ));
    let channels = |subject: &str| -> Vec<AlertChannel> {
        let mut sent: Vec<AlertChannel> = ports
            .lock()
            .sent
            .iter()
            .filter(|s| s.notification.subject == subject)
            .map(|s| s.channel)
            .collect();
        sent.sort();
        sent
    };
    assert_eq!(channels("sqs"), [Email, Slack, Webhook, Sns], "CRITICAL");
    assert_eq!(channels("throttling"), [Slack, Webhook], "HIGH");
    assert_eq!(channels("s3"), [], "LOW: logged only");
    let state = ports.lock();
    assert!(
        state.states.values().all(|s| s.pending.is_empty()),
        "every send settled"
    );
}

#[tokio::test]
async fn a_routed_channel_without_a_destination_is_skipped() {
    let mut config = AlertConfig::from_json(&json!({
        "slack": {"webhookUrl": "ssm:/t/slack"},
    }))
    .unwrap();
    config.noise.repeat_ms = 60 * MINUTE;
    let ports = FakePorts::with_config(config);
    let clock = clock();
    notify(&ports, &clock, &breaker("OPEN", 1, clock.now())).await;
    assert_eq!(ports.notices(Slack), ["FIRING"]);
    assert_eq!(
        ports.lock().sent.len(),
        1,
        "email, webhook and SNS have no destination"
    );
}

#[tokio::test]
async fn an_alert_is_notified_once_its_repeats_counted_and_its_resolution_announced() {
    let ports = FakePorts::new();
    let clock = clock();
    let first = breaker("OPEN", 1, clock.now());
    assert!(matches!(
        notify(&ports, &clock, &first).await,
        AlertOutcome::Notified { .. }
    ));
    assert_eq!(
        notify(&ports, &clock, &first).await,
        AlertOutcome::Unchanged,
        "a redelivery"
    );
    clock.advance(MINUTE);
    assert_eq!(
        notify(&ports, &clock, &breaker("OPEN", 2, clock.now())).await,
        AlertOutcome::Counted
    );
    assert_eq!(ports.notices(Slack), ["FIRING"]);
    clock.advance(MINUTE);
    notify(&ports, &clock, &breaker("CLOSED", 3, clock.now())).await;
    for channel in [Email, Slack, Webhook, Sns] {
        assert_eq!(
            ports.notices(channel),
            ["FIRING", "RESOLVED"],
            "{channel:?}"
        );
    }
    let resolved = ports.lock().sent.last().unwrap().notification.clone();
    assert_eq!(resolved.repeats, 1, "the counted repeat is reported");
}

#[tokio::test]
async fn the_check_sends_a_reminder_while_it_fires_then_nothing_once_resolved() {
    let ports = FakePorts::new();
    let clock = clock();
    let cause = breaker("OPEN", 1, clock.now()).dedup_key();
    notify(&ports, &clock, &breaker("OPEN", 1, clock.now())).await;
    clock.advance(CLAIM_MS);
    let report = check(&ports, &clock).await;
    assert_eq!((report.states, report.notices), (1, 0), "{report:?}");
    assert_eq!(
        ports.stored(&cause).check_at,
        Some(Timestamp::from_millis(1_800_000_000_000 + 4 * 60 * MINUTE)),
        "rescheduled to the reminder"
    );
    clock.advance(4 * 60 * MINUTE);
    let report = check(&ports, &clock).await;
    assert_eq!((report.notices, report.delivered), (1, 4), "{report:?}");
    assert_eq!(ports.notices(Webhook), ["FIRING", "REMINDER"]);
    notify(&ports, &clock, &breaker("CLOSED", 2, clock.now())).await;
    clock.advance(CLAIM_MS);
    check(&ports, &clock).await;
    assert_eq!(ports.stored(&cause).check_at, None, "out of the due index");
    clock.advance(8 * 60 * MINUTE);
    assert_eq!(check(&ports, &clock).await.states, 0);
    assert_eq!(ports.notices(Webhook), ["FIRING", "REMINDER", "RESOLVED"]);
}

#[tokio::test]
async fn a_failing_channel_is_retried_alone_with_backoff_and_nothing_is_lost() {
    let ports = FakePorts::new();
    let clock = clock();
    ports.answer(
        Slack,
        [
            SendOutcome::Transient("503".into()),
            SendOutcome::Throttled {
                retry_after_ms: Some(300_000),
            },
        ],
    );
    let alert = breaker("OPEN", 1, clock.now());
    let cause = alert.dedup_key();
    notify(&ports, &clock, &alert).await;
    for channel in [Email, Webhook, Sns] {
        assert_eq!(ports.notices(channel), ["FIRING"], "not held back");
    }
    let stored = ports.stored(&cause);
    let slack = stored.pending.values().next().unwrap().clone();
    assert_eq!(stored.pending.len(), 1);
    assert_eq!((slack.channel, slack.attempts), (Slack, 1));
    assert_eq!(slack.retry_at, clock.now().plus_millis(FIRST_RETRY_MS));
    assert_eq!(slack.last_error.as_deref(), Some("503"));
    assert_eq!(
        stored.check_at,
        Some(slack.retry_at),
        "the check looks then"
    );

    clock.advance(FIRST_RETRY_MS - 1);
    assert_eq!(check(&ports, &clock).await.states, 0, "not yet");
    clock.advance(1);
    let report = check(&ports, &clock).await;
    assert_eq!((report.delivered, report.deferred), (0, 1), "throttled");
    assert_eq!(
        report.sends.per_channel().get(&Slack),
        Some(&(0, 1)),
        "a failed retry counts for the metrics"
    );
    let slack = ports
        .stored(&cause)
        .pending
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(slack.attempts, 2);
    assert_eq!(
        slack.retry_at,
        clock.now().plus_millis(300_000),
        "Retry-After is longer than the backoff"
    );
    clock.advance(300_000);
    let report = check(&ports, &clock).await;
    assert_eq!(report.delivered, 1);
    assert!(ports.stored(&cause).pending.is_empty());
    assert_eq!(ports.notices(Slack), ["FIRING", "FIRING", "FIRING"]);
    let ids: Vec<String> = ports
        .lock()
        .sent
        .iter()
        .filter(|s| s.channel == Slack)
        .map(|s| s.notification.notification_id.clone())
        .collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every try is the same notification"
    );
    let recorded = ports
        .lock()
        .recorded
        .iter()
        .filter(|r| r.0 == Slack)
        .count();
    assert_eq!(recorded, 3, "each try counts for the breaker");
}

#[tokio::test]
async fn a_resolved_notice_never_overtakes_its_firing_on_a_failing_channel() {
    let ports = FakePorts::new();
    let clock = clock();
    ports.answer(Slack, [SendOutcome::Transient("down".into())]);
    notify(&ports, &clock, &breaker("OPEN", 1, clock.now())).await;
    clock.advance(10_000);
    notify(&ports, &clock, &breaker("CLOSED", 2, clock.now())).await;
    assert_eq!(
        ports.notices(Slack),
        ["FIRING"],
        "RESOLVED waits for FIRING"
    );
    assert_eq!(ports.notices(Email), ["FIRING", "RESOLVED"]);
    clock.advance(FIRST_RETRY_MS);
    let report = check(&ports, &clock).await;
    assert_eq!(
        report.delivered, 1,
        "FIRING is due; RESOLVED is still claimed"
    );
    clock.advance(CLAIM_MS);
    check(&ports, &clock).await;
    assert_eq!(ports.notices(Slack), ["FIRING", "FIRING", "RESOLVED"]);
    let cause = breaker("OPEN", 1, clock.now()).dedup_key();
    assert!(ports.stored(&cause).pending.is_empty());
}

#[tokio::test]
async fn a_later_notification_whose_try_has_come_still_waits_for_an_earlier_one() {
    let ports = FakePorts::new();
    let clock = clock();
    ports.answer(
        Slack,
        [SendOutcome::Throttled {
            retry_after_ms: Some(10 * MINUTE as u64),
        }],
    );
    notify(&ports, &clock, &breaker("OPEN", 1, clock.now())).await;
    notify(&ports, &clock, &breaker("CLOSED", 2, clock.now())).await;
    clock.advance(CLAIM_MS + 1);
    check(&ports, &clock).await;
    assert_eq!(
        ports.notices(Slack),
        ["FIRING"],
        "RESOLVED's claim ran out, but FIRING is not due yet"
    );
    clock.advance(10 * MINUTE);
    check(&ports, &clock).await;
    assert_eq!(ports.notices(Slack), ["FIRING", "FIRING", "RESOLVED"]);
}

#[tokio::test]
async fn an_open_breaker_holds_its_channel_without_a_try() {
    let ports = FakePorts::new();
    let clock = clock();
    let until = clock.now().plus_millis(5 * MINUTE);
    ports.lock().open_breakers.insert(Sns, until);
    let alert = breaker("OPEN", 1, clock.now());
    notify(&ports, &clock, &alert).await;
    assert_eq!(ports.notices(Sns), Vec::<&str>::new());
    let pending = ports.stored(&alert.dedup_key()).pending;
    let sns = pending.values().next().unwrap();
    assert_eq!((sns.channel, sns.attempts, sns.retry_at), (Sns, 0, until));
    assert!(sns.last_error.as_deref().unwrap().contains("breaker"));
    clock.set(until);
    check(&ports, &clock).await;
    assert_eq!(ports.notices(Sns), ["FIRING"]);
}

#[tokio::test]
async fn an_instance_that_loses_the_race_decides_again_and_nothing_is_sent_twice() {
    let ports = FakePorts::new();
    let clock = clock();
    notify(&ports, &clock, &breaker("OPEN", 1, clock.now())).await;
    ports.lock().lose_next_decisions = 1;
    clock.advance(MINUTE);
    let repeat = breaker("OPEN", 2, clock.now());
    assert_eq!(notify(&ports, &clock, &repeat).await, AlertOutcome::Counted);
    assert_eq!(ports.notices(Slack), ["FIRING"]);
    ports.lock().lose_next_decisions = 5;
    let error = on_alert(&ports, &clock, &breaker("OPEN", 3, clock.now()))
        .await
        .unwrap_err();
    assert!(error.contains("5 decisions"), "{error}");
}

#[tokio::test]
async fn what_a_crash_left_unsent_is_sent_by_the_check_after_the_claim() {
    let ports = FakePorts::new();
    let clock = clock();
    let alert = breaker("OPEN", 1, clock.now());
    // An instance stored the decision and crashed before sending.
    let decision = lifecycle_domain::alerting::AlertState::on_alert(
        None,
        &alert,
        clock.now(),
        ports.config.noise,
    )
    .unwrap();
    use crate::ports::AlertPorts;
    ports
        .store_decision(
            None,
            &decision,
            &[Slack, Sns],
            ports.config.noise,
            clock.now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        notify(&ports, &clock, &alert).await,
        AlertOutcome::Unchanged,
        "the redelivered alert sends nothing"
    );
    clock.advance(CLAIM_MS - 1);
    assert_eq!(check(&ports, &clock).await.delivered, 0, "still claimed");
    clock.advance(1);
    assert_eq!(check(&ports, &clock).await.delivered, 2);
    assert_eq!(ports.notices(Slack), ["FIRING"]);
}

#[tokio::test]
async fn a_one_off_event_sums_its_repeats_and_goes_quiet() {
    let ports = FakePorts::new();
    let clock = clock();
    notify(&ports, &clock, &pattern(1, clock.now())).await;
    clock.advance(MINUTE);
    notify(&ports, &clock, &pattern(2, clock.now())).await;
    clock.advance(4 * 60 * MINUTE);
    let report = check(&ports, &clock).await;
    assert_eq!(report.notices, 1);
    let reminder = ports.lock().sent.last().unwrap().notification.clone();
    assert_eq!(
        (reminder.notice.as_str(), reminder.repeats),
        ("REMINDER", 1)
    );
    clock.advance(4 * 60 * MINUTE);
    let report = check(&ports, &clock).await;
    assert_eq!((report.quieted, report.notices), (1, 0));
    let cause = pattern(1, clock.now()).dedup_key();
    assert_eq!(ports.stored(&cause).check_at, None);
}

#[tokio::test]
async fn bad_messages_go_to_the_dlq_and_a_failing_store_hands_the_message_back() {
    let ports = FakePorts::new();
    let clock = clock();
    let good = alert_message(&breaker("OPEN", 1, clock.now()));
    let not_json = "{".to_owned();
    let not_alert = bus_event("AlertRaised", json!({"kind": "NOPE"}));
    let other = bus_event("CampaignCreated", json!({}));
    let (response, sends) =
        handle_messages(&ports, &clock, event(&[not_json, good, not_alert, other])).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sends.delivered.len(), 4, "the good one went everywhere");
    let problems: Vec<String> = ports
        .lock()
        .dead_letters
        .iter()
        .map(|d| d.1.clone())
        .collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("not JSON"));
    assert!(problems[1].starts_with("not an alert"));
    assert!(problems[2].contains("CampaignCreated"));

    ports.lock().store_down = true;
    let (response, _) = handle_messages(
        &ports,
        &clock,
        event(&[alert_message(&breaker("OPEN", 2, clock.now()))]),
    )
    .await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["m0"]);
}

#[tokio::test]
async fn a_run_completed_with_failures_is_a_medium_alert_and_a_clean_run_is_not() {
    let ports = FakePorts::new();
    let clock = clock();
    let completed = |failed: u64| {
        bus_event(
            "CampaignRunCompleted",
            json!({"campaignId": "c1", "runId": "r1", "total": 5, "sent": 5 - failed,
                "failed": failed, "completedAt": clock.now()}),
        )
    };
    let (response, _) = handle_messages(&ports, &clock, event(&[completed(0), completed(2)])).await;
    assert!(response.batch_item_failures.is_empty());
    let sent = ports.lock().sent.clone();
    assert_eq!(
        sent.len(),
        1,
        "MEDIUM: Slack only; the clean run is no news"
    );
    assert_eq!(sent[0].channel, Slack);
    assert_eq!(sent[0].notification.subject, "c1/r1");
    assert!(ports.lock().dead_letters.is_empty());
}

#[tokio::test]
async fn every_alert_is_filed_in_the_recovery_log_once_even_when_redelivered() {
    use lifecycle_domain::recovery_log::{Counter, EventCategory};

    let ports = FakePorts::new();
    let clock = clock();
    let opened = alert_message(&breaker("OPEN", 1, clock.now()));
    let closed = alert_message(&breaker("CLOSED", 2, clock.now()));
    handle_messages(&ports, &clock, event(&[opened.clone(), closed])).await;
    handle_messages(&ports, &clock, event(&[opened])).await;
    let state = ports.lock();
    let mut codes: Vec<&str> = state.filed.values().map(|e| e.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["CIRCUIT_CLOSED", "CIRCUIT_OPENED"]);
    assert!(
        state
            .filed
            .values()
            .all(|e| e.category == EventCategory::CircuitBreaker && e.component == "sqs")
    );
    assert_eq!(
        state.counts.get(&Counter::Outages("sqs".into())),
        1,
        "the redelivery adds nothing"
    );
    assert_eq!(state.counts.get(&Counter::Recoveries("sqs".into())), 1);
}

#[tokio::test]
async fn a_test_alert_goes_to_its_one_channel_once_and_an_unconfigured_one_sends_nothing() {
    use lifecycle_domain::alerting::{TEST_ALERT_DETAIL_TYPE, TestAlertRequest};
    let ports = FakePorts::new();
    let clock = clock();
    let request = |test_id: &str, channel: AlertChannel| {
        let request = TestAlertRequest {
            test_id: test_id.into(),
            channel,
            requested_at: clock.now(),
        };
        bus_event(
            TEST_ALERT_DETAIL_TYPE,
            serde_json::to_value(request).unwrap(),
        )
    };
    ports.answer(Webhook, [SendOutcome::Transient("503".into())]);
    let bad = bus_event(TEST_ALERT_DETAIL_TYPE, json!({"channel": "PIGEON"}));
    let (response, _) = handle_messages(
        &ports,
        &clock,
        event(&[request("t1", Slack), request("t2", Webhook), bad]),
    )
    .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "a failed test is not retried"
    );
    let sent = ports.lock().sent.clone();
    let channels: Vec<AlertChannel> = sent.iter().map(|s| s.channel).collect();
    assert_eq!(channels, [Slack, Webhook]);
    assert!(sent.iter().all(|s| s.notification.kind.as_str() == "TEST"));
    assert!(
        ports.lock().states.is_empty(),
        "no state is stored for a test"
    );
    assert!(
        ports.lock().filed.is_empty(),
        "nor filed in the recovery log"
    );
    assert_eq!(ports.lock().dead_letters.len(), 1, "the bad request");

    let unconfigured = FakePorts::with_config(AlertConfig::default());
    let (response, _) =
        handle_messages(&unconfigured, &clock, event(&[request("t3", Email)])).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(unconfigured.lock().sent.is_empty());
}
