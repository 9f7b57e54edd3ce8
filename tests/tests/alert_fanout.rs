//! The alert fan-out against the emulator with real channels: email through SES (read back
//! from the emulator), Slack and an operator's webhook as real local HTTP receivers (the
//! webhook's Standard Webhooks signature verified), SNS into an SQS subscription. Routing by
//! severity, one notification however many instances see an alert, the reminder and the
//! resolved notice, and a failing channel that holds back no other and loses nothing.

use aws_lambda_events::event::sqs::SqsEvent;
use integration_tests::TestStack;
use integration_tests::alerts::{FANOUT, SharedReceiver, receiver};
use integration_tests::delivery::{SECRET, sent_email};
use lifecycle_adapters::store::Store;
use lifecycle_domain::alerting::AlertConfig;
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use lifecycle_domain::{Alert, ManualClock, Timestamp};
use serde_json::{Value, json};

/// A stack with every channel pointed at a receiver, and the fan-out's environment for it.
struct Channels {
    stack: TestStack,
    slack: SharedReceiver,
    webhook: SharedReceiver,
    sns_queue: String,
    from: String,
    overrides: Vec<(String, String)>,
}

impl Channels {
    async fn new() -> Self {
        let stack = TestStack::new().await;
        let name = stack.stack.name.clone();
        let (slack_url, slack) = receiver(None).await;
        let (webhook_url, webhook) = receiver(Some(SigningKey::parse(SECRET).unwrap())).await;
        stack
            .put_secret_parameter(&format!("/{name}/alerts/slack-url"), &slack_url)
            .await;
        stack
            .put_secret_parameter(&format!("/{name}/alerts/webhook"), SECRET)
            .await;
        let from = format!("alerts@{name}.example.com");
        stack.verify_sender(&from).await;
        let queue = stack
            .setup
            .sqs
            .create_queue()
            .queue_name(format!("{name}-alert-subscriber"))
            .send()
            .await
            .unwrap();
        let sns_queue = queue.queue_url.unwrap();
        let arn = stack
            .setup
            .sqs
            .get_queue_attributes()
            .queue_url(&sns_queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let topic = stack.stack.reference("AlertTopic").unwrap().to_owned();
        stack
            .setup
            .sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await
            .unwrap();
        let overrides = vec![
            ("ALERT_EMAIL_FROM".into(), from.clone()),
            ("ALERT_EMAIL_TO".into(), format!("ops@{name}.example.org")),
            (
                "ALERT_SLACK_WEBHOOK_URL_SECRET".into(),
                format!("ssm:/{name}/alerts/slack-url"),
            ),
            ("ALERT_WEBHOOK_URL".into(), webhook_url),
            (
                "ALERT_WEBHOOK_SECRET".into(),
                format!("ssm:/{name}/alerts/webhook"),
            ),
            ("ALERT_CONFIG_REFRESH_SECONDS".into(), "0".into()),
        ];
        Self {
            stack,
            slack,
            webhook,
            sns_queue,
            from,
            overrides,
        }
    }

    fn fanout(&self) -> alert_fanout::services::FanoutServices {
        let overrides: Vec<(&str, &str)> = self
            .overrides
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.stack.alert_fanout(&overrides)
    }

    /// The notices each receiver got, in order.
    fn slack_notices(&self) -> Vec<String> {
        notices(&self.slack, |body| {
            body["text"].as_str().unwrap_or_default().to_owned()
        })
    }

    fn webhook_notices(&self) -> Vec<String> {
        notices(&self.webhook, |body| {
            body["notice"].as_str().unwrap_or_default().to_owned()
        })
    }

    /// Emails sent from this stack's sender: their subjects.
    async fn email_subjects(&self) -> Vec<String> {
        sent_email()
            .await
            .iter()
            .filter(|m| m["source"] == self.from.as_str())
            .map(|m| m["subject"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// SNS messages that reached the subscribed queue: (notice, notificationId attribute).
    async fn sns_messages(&self) -> Vec<(String, String)> {
        let mut found = Vec::new();
        loop {
            let output = self
                .stack
                .setup
                .sqs
                .receive_message()
                .queue_url(&self.sns_queue)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            if output.messages().is_empty() {
                return found;
            }
            for message in output.messages() {
                let envelope: Value =
                    serde_json::from_str(message.body().unwrap_or_default()).unwrap();
                let inner: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
                let attribute = envelope["MessageAttributes"]["notificationId"]["Value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                found.push((inner["notice"].as_str().unwrap().to_owned(), attribute));
                self.stack
                    .setup
                    .sqs
                    .delete_message()
                    .queue_url(&self.sns_queue)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

fn notices(receiver: &SharedReceiver, notice: impl Fn(&Value) -> String) -> Vec<String> {
    receiver
        .lock()
        .unwrap()
        .received
        .iter()
        .map(|r| notice(&r.body))
        .collect()
}

fn breaker(to: &str, version: u64) -> Alert {
    let from = if to == "CLOSED" { "OPEN" } else { "CLOSED" };
    Alert::circuit_changed(
        "sqs",
        (from, to),
        version,
        ("5 failures", None),
        None,
        Timestamp::now(),
    )
}

fn alert_event(alerts: &[&Alert]) -> SqsEvent {
    let records: Vec<Value> = alerts
        .iter()
        .enumerate()
        .map(|(i, alert)| {
            let body = json!({"version": "0", "source": "campaign-lifecycle",
                "detail-type": "AlertRaised", "detail": alert});
            json!({"messageId": format!("m{i}"), "body": body.to_string()})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn a_critical_alert_reaches_every_channel_and_its_resolution_follows() {
    let channels = Channels::new().await;
    let fanout = channels.fanout();
    let opened = breaker("OPEN", 1);
    let response = alert_fanout::handle_queue(&fanout, alert_event(&[&opened])).await;
    assert!(response.batch_item_failures.is_empty());

    assert_eq!(
        channels.email_subjects().await,
        ["campaign-lifecycle: [CRITICAL] CIRCUIT_STATE_CHANGED sqs"]
    );
    assert_eq!(
        channels.slack_notices(),
        ["[CRITICAL] CIRCUIT_STATE_CHANGED sqs"]
    );
    let hooks = channels.webhook.lock().unwrap().received.clone();
    assert_eq!(hooks.len(), 1);
    assert!(hooks[0].signed, "Standard Webhooks signature verified");
    assert_eq!(hooks[0].body["notice"], "FIRING");
    assert_eq!(
        hooks[0].webhook_id, hooks[0].body["notificationId"],
        "the webhook-id is the notification's stable id"
    );
    let sns = channels.sns_messages().await;
    assert_eq!(sns.len(), 1);
    assert_eq!(sns[0].0, "FIRING");
    assert_eq!(sns[0].1, hooks[0].webhook_id);

    let closed = breaker("CLOSED", 2);
    alert_fanout::handle_queue(&fanout, alert_event(&[&closed])).await;
    assert_eq!(
        channels.email_subjects().await[1],
        "campaign-lifecycle: RESOLVED [CRITICAL] CIRCUIT_STATE_CHANGED sqs"
    );
    assert_eq!(channels.webhook_notices(), ["FIRING", "RESOLVED"]);
    assert_eq!(channels.slack_notices().len(), 2);
    assert_eq!(channels.sns_messages().await[0].0, "RESOLVED");
    let state = channels
        .stack
        .services
        .store
        .alert_state(&opened.dedup_key())
        .await
        .unwrap()
        .unwrap();
    assert!(state.pending.is_empty(), "every channel settled");
    channels.stack.assert_iam_allowed();
}

#[tokio::test]
async fn each_severity_goes_only_to_its_channels() {
    let channels = Channels::new().await;
    let fanout = channels.fanout();
    let high = Alert::pattern_matched(
        "throttling",
        1,
        "AWS_THROTTLED",
        "throttled",
        Timestamp::now(),
    );
    let low = Alert::circuit_changed(
        "s3",
        ("OPEN", "HALF_OPEN"),
        1,
        ("probe", None),
        None,
        Timestamp::now(),
    );
    alert_fanout::handle_queue(&fanout, alert_event(&[&high, &low])).await;
    assert_eq!(
        channels.slack_notices(),
        ["[HIGH] FAILURE_PATTERN_MATCHED throttling"]
    );
    assert_eq!(channels.webhook_notices(), ["FIRING"]);
    assert!(channels.email_subjects().await.is_empty(), "HIGH: no email");
    assert!(channels.sns_messages().await.is_empty(), "HIGH: no SNS");
    channels.stack.assert_iam_allowed();
}

#[tokio::test]
async fn two_instances_seeing_the_same_cause_notify_it_once() {
    let channels = Channels::new().await;
    let (one, two) = (channels.fanout(), channels.fanout());
    let first = breaker("OPEN", 1);
    let repeat = breaker("OPEN", 2);
    // Both instances get both alerts (a redelivery, and a repeat of the same cause) at once.
    let (a, b) = tokio::join!(
        alert_fanout::handle_queue(&one, alert_event(&[&first, &repeat])),
        alert_fanout::handle_queue(&two, alert_event(&[&repeat, &first])),
    );
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    assert_eq!(channels.webhook_notices(), ["FIRING"]);
    assert_eq!(channels.slack_notices().len(), 1);
    assert_eq!(channels.email_subjects().await.len(), 1);
    assert_eq!(channels.sns_messages().await.len(), 1);
    let state = channels
        .stack
        .services
        .store
        .alert_state(&first.dedup_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.state.repeats, 1, "the other alert was counted");
    channels.stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_failing_channel_holds_back_no_other_loses_nothing_and_a_reminder_follows() {
    let channels = Channels::new().await;
    // The stored configuration replaces the environment's: a one-second repeat interval.
    let store: &Store = &channels.stack.services.store;
    let mut config = AlertConfig::from_json(&json!({"repeatSeconds": 1})).unwrap();
    let defaults = channels.fanout().settings.default_config;
    config.email = defaults.email;
    config.slack = defaults.slack;
    config.webhook = defaults.webhook;
    config.sns = defaults.sns;
    store
        .put_alert_config(&config, Timestamp::now())
        .await
        .unwrap();
    channels.slack.lock().unwrap().answers = vec![503, 429];
    let fanout = channels.fanout();
    let clock = ManualClock::at(Timestamp::now());
    let opened = breaker("OPEN", 1);
    let (response, _) =
        alert_fanout::messages::handle_messages(&fanout, &clock, alert_event(&[&opened])).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "kept in the store, not the queue"
    );
    assert_eq!(channels.webhook_notices(), ["FIRING"], "not held back");
    assert_eq!(channels.email_subjects().await.len(), 1);
    assert_eq!(
        channels.slack.lock().unwrap().received.len(),
        1,
        "tried once, 503"
    );
    let state = store
        .alert_state(&opened.dedup_key())
        .await
        .unwrap()
        .unwrap();
    let slack = state.pending.values().next().unwrap();
    assert_eq!((slack.attempts, state.pending.len()), (1, 1));

    // The periodic check, 31 s later: the retry (429 again), then the reminder is due too.
    clock.advance(31_000);
    let report = alert_fanout::check::check(&fanout, &clock).await;
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(channels.slack.lock().unwrap().received.len(), 2);
    // The reminder went to the healthy channels; Slack's waits behind its failed FIRING.
    assert_eq!(channels.webhook_notices(), ["FIRING", "REMINDER"]);
    clock.advance(15 * 60_000);
    let report = alert_fanout::check::check(&fanout, &clock).await;
    assert!(report.errors.is_empty(), "{report:?}");
    // Another reminder is due by now (a one-second interval): every channel gets it, Slack
    // after its FIRING (delivered on the third try) and its first reminder, in order.
    assert_eq!(
        channels.webhook_notices(),
        ["FIRING", "REMINDER", "REMINDER"]
    );
    let firing = "[CRITICAL] CIRCUIT_STATE_CHANGED sqs";
    let reminder = "REMINDER [CRITICAL] CIRCUIT_STATE_CHANGED sqs";
    assert_eq!(
        channels.slack_notices(),
        [firing, firing, firing, reminder, reminder]
    );
    let state = store
        .alert_state(&opened.dedup_key())
        .await
        .unwrap()
        .unwrap();
    assert!(state.pending.is_empty(), "{:?}", state.pending);
    channels.stack.assert_iam_allowed();
    assert!(
        channels.stack.calls.snapshot().contains_key(FANOUT),
        "the fan-out's calls were checked"
    );
}

/// Notices of `DISPATCHER_STALLED` the webhook received.
fn stall_notices(channels: &Channels) -> Vec<String> {
    channels
        .webhook
        .lock()
        .unwrap()
        .received
        .iter()
        .filter(|r| r.body["kind"] == "DISPATCHER_STALLED")
        .map(|r| r.body["notice"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Waits up to 60 s for the webhook to have received `expected` stall notices.
async fn wait_for_stall_notices(channels: &Channels, expected: &[&str]) {
    for _ in 0..120 {
        if stall_notices(channels) == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("expected {expected:?}, got {:?}", stall_notices(channels));
}

/// The dispatcher's heartbeat as if it last ran at `at`.
async fn dispatcher_beat(channels: &Channels, at: Timestamp) {
    let beat = lifecycle_adapters::store::HeartbeatRecord {
        function: "timer-dispatcher".into(),
        instance: "test".into(),
        last_seen: at,
        version: "test".into(),
    };
    let stored = channels
        .stack
        .services
        .store
        .record_heartbeat(&beat, 60_000)
        .await
        .unwrap();
    assert!(stored);
}

#[tokio::test]
async fn a_stopped_dispatcher_is_one_alert_and_its_return_one_resolved_notice_end_to_end() {
    let mut channels = Channels::new().await;
    // The whole path on the local runtime: the sweeper sees the stall and raises the alert,
    // the bus rule routes it to the alerts queue, the fan-out notifies the webhook.
    let overrides = channels.overrides.clone();
    channels
        .stack
        .specs
        .retain(|spec| spec.logical_id != "TimerDispatcherFunction");
    for spec in &mut channels.stack.specs {
        spec.environment.extend(overrides.iter().cloned());
    }
    dispatcher_beat(&channels, Timestamp::now().plus_millis(-10 * 60_000)).await;
    let run = channels
        .stack
        .run_locally(std::time::Duration::from_millis(500))
        .await;
    wait_for_stall_notices(&channels, &["FIRING"]).await;

    // It beats again: the next sweep resolves the outage, the fan-out says so once.
    dispatcher_beat(&channels, Timestamp::now()).await;
    wait_for_stall_notices(&channels, &["FIRING", "RESOLVED"]).await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    run.stop().await;
    assert_eq!(
        stall_notices(&channels),
        ["FIRING", "RESOLVED"],
        "once each"
    );
    let hooks = channels.webhook.lock().unwrap().received.clone();
    assert!(hooks.iter().all(|h| h.signed));
    channels.stack.assert_iam_allowed();
}
