//! `POST /recovery/test` through the API router against the emulator: a test alert through
//! the real path (the bus, the alerts rule, the alerts queue, the fan-out) to a real Slack
//! and webhook receiver, a channel that is not configured refused; a failure pattern's dry
//! run (given or stored) that stores nothing; and probes of each dependency, a failing one
//! answered with its stable code only.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use axum::http::{Method, StatusCode};
use integration_tests::alerts::{SharedReceiver, receiver};
use integration_tests::delivery::SECRET;
use integration_tests::{TestStack, api_of};
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use serde_json::{Value, json};

async fn test(stack: &TestStack, body: Value) -> (StatusCode, Value) {
    stack
        .api(Method::POST, "/recovery/test", Some(&body.to_string()))
        .await
}

/// Waits up to 20 s for `count` messages on the alerts queue (the bus rule's target) and
/// takes them, as the fan-out's SQS trigger would.
async fn alerts_queued(stack: &TestStack, count: usize) -> SqsEvent {
    let url = stack.queue_url("AlertsQueue");
    let mut records = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while records.len() < count && tokio::time::Instant::now() < deadline {
        let output = stack
            .setup
            .sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            records.push(json!({"messageId": message.message_id(), "body": message.body()}));
            stack
                .setup
                .sqs
                .delete_message()
                .queue_url(&url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(records.len(), count, "alerts queued");
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn received(receiver: &SharedReceiver) -> Vec<integration_tests::alerts::Received> {
    receiver.lock().unwrap().received.clone()
}

#[tokio::test]
async fn a_test_alert_reaches_the_one_channel_through_the_fan_out_and_an_unconfigured_one_is_refused()
 {
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
    let (_, current) = stack
        .api(Method::GET, "/recovery/configuration", None)
        .await;
    let mut configuration = current.clone();
    for member in ["version", "updatedAt", "source", "refreshSeconds", "alerts"] {
        configuration.as_object_mut().unwrap().remove(member);
    }
    configuration["version"] = json!(0);
    configuration["alerts"] = json!({
        "slack": {"webhookUrl": format!("ssm:/{name}/alerts/slack-url")},
        "webhook": {"url": webhook_url, "signingSecret": format!("ssm:/{name}/alerts/webhook")},
    });
    let (status, body) = stack
        .api(
            Method::PUT,
            "/recovery/configuration",
            Some(&configuration.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["alerts"]["configuredChannels"],
        json!(["SLACK", "WEBHOOK"])
    );

    let (status, queued) = test(&stack, json!({"kind": "alert", "channel": "webhook"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["channel"], "WEBHOOK");
    let (status, slack_queued) = test(&stack, json!({"kind": "alert", "channel": "slack"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{slack_queued}");
    let (status, refused) = test(&stack, json!({"kind": "alert", "channel": "sns"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "ALERT_CHANNEL_NOT_CONFIGURED");
    let (status, refused) = test(&stack, json!({"kind": "alert", "channel": "fax"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(refused["error"]["fields"]["channel"].is_string());

    let fanout = stack.alert_fanout(&[("ALERT_CONFIG_REFRESH_SECONDS", "0")]);
    let response = alert_fanout::handle_queue(&fanout, alerts_queued(&stack, 2).await).await;
    assert!(response.batch_item_failures.is_empty());

    let hooks = received(&webhook);
    assert_eq!(hooks.len(), 1, "the webhook once: {hooks:?}");
    assert!(hooks[0].signed);
    assert_eq!(
        hooks[0].webhook_id,
        queued["notificationId"].as_str().unwrap()
    );
    assert_eq!(hooks[0].body["kind"], "TEST");
    assert_eq!(hooks[0].body["subject"], "WEBHOOK");
    let messages = received(&slack);
    assert_eq!(messages.len(), 1, "Slack once: {messages:?}");
    assert!(
        messages[0].body["text"]
            .as_str()
            .unwrap()
            .contains("TEST SLACK")
    );
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn without_a_stored_configuration_a_test_alert_is_checked_against_the_environment() {
    let stack = TestStack::new().await;
    let (_, current) = stack
        .api(Method::GET, "/recovery/configuration", None)
        .await;
    assert_eq!(current["source"], "defaults", "{current}");
    // The template gives the API the fan-out's ALERT_*: the alarm topic, no email sender.
    let (status, queued) = test(&stack, json!({"kind": "alert", "channel": "sns"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert_eq!(queued["configuration"], "environment");
    let (status, refused) = test(&stack, json!({"kind": "alert", "channel": "email"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "ALERT_CHANNEL_NOT_CONFIGURED");
    alerts_queued(&stack, 1).await;
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_pattern_dry_run_classifies_a_sample_error_and_stores_nothing() {
    let stack = TestStack::new().await;
    let stored = json!({"id": "quota", "pattern": "(?i)quota exceeded",
        "category": "RESOURCE_EXHAUSTION", "severity": "HIGH", "actions": ["RETRY", "ALERT"]});
    let (status, _) = stack
        .api(
            Method::POST,
            "/recovery/patterns",
            Some(&stored.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let sample = json!({"code": "LimitExceededException", "message": "Quota exceeded for sends"});
    let (status, answer) = test(
        &stack,
        json!({"kind": "pattern", "patternId": "quota", "error": sample}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["matchedPattern"], "quota");
    assert_eq!(answer["testedPatternMatched"], true);
    assert_eq!(answer["category"], "RESOURCE_EXHAUSTION");
    assert_eq!(answer["severity"], "HIGH");
    assert_eq!(answer["actions"], json!(["RETRY", "ALERT"]));

    // A given pattern goes ahead of the stored ones; it is not stored.
    let given = json!({"id": "sends", "pattern": "(?i)for sends", "category": "PERMANENT",
        "severity": "LOW", "actions": ["DEAD_LETTER"]});
    let (status, answer) = test(
        &stack,
        json!({"kind": "pattern", "pattern": given, "error": sample}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["matchedPattern"], "sends");
    assert_eq!(answer["retryable"], false);
    let (_, patterns) = stack.api(Method::GET, "/recovery/patterns", None).await;
    let ids: Vec<&str> = patterns["custom"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["id"].as_str())
        .collect();
    assert_eq!(ids, ["quota"], "the dry run stored nothing");

    let (status, answer) = test(
        &stack,
        json!({"kind": "pattern", "patternId": "nope", "error": sample}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = test(
        &stack,
        json!({"kind": "pattern", "pattern": {"id": "x", "pattern": "(", "category": "TRANSIENT",
            "severity": "LOW"}, "error": {"message": "m"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let fields = answer["error"]["fields"].as_object().unwrap();
    assert!(fields.contains_key("error.code") && fields.contains_key("pattern.pattern"));
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_probe_reads_each_dependency_once_and_a_failure_shows_its_code_only() {
    let stack = TestStack::new().await;
    for dependency in ["dynamodb", "sqs", "eventbridge"] {
        let (status, answer) =
            test(&stack, json!({"kind": "probe", "dependency": dependency})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["ok"], true, "{answer}");
        assert!(answer["latencyMs"].is_u64());
    }
    let (status, answer) = test(&stack, json!({"kind": "probe", "dependency": "lambda"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");

    let (api, _faults) =
        stack.function_services_with_faults("ApiFunction", "SQS.GetQueueAttributes=1:500", |_| {});
    let before = stack.requests.count("SQS", "GetQueueAttributes");
    let (status, answer) = api_of(
        &api,
        &stack.api_lists(),
        Method::POST,
        "/recovery/test",
        Some(&json!({"kind": "probe", "dependency": "sqs"}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["ok"], false);
    assert_eq!(answer["errorCode"], "AWS_SERVER_ERROR");
    let text = answer.to_string();
    assert!(
        !text.contains("arn:") && !text.contains("injected"),
        "{text}"
    );
    assert_eq!(
        stack.requests.count("SQS", "GetQueueAttributes") - before,
        1,
        "one attempt"
    );
    stack.assert_iam_allowed();
}
