//! End to end on the local runtime: the API sends short-notice timers straight to the queue,
//! the SQS poller runs the executor, and the campaign starts and closes on its own with its
//! events on the subscriber queue.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use integration_tests::TestStack;
use lifecycle_domain::Timestamp;
use lifecycle_domain::{CampaignId, CampaignStatus};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_short_notice_campaign_starts_and_closes_on_its_own() {
    let stack = TestStack::new().await;
    // Each function's calls (the executor's event source polling included) are recorded
    // with the ones the API makes in `stack.api`, for the IAM check.
    let local = stack.run_locally(Duration::from_secs(2)).await;

    let now = Timestamp::now();
    let body = json!({
        "name": "flash sale",
        "startAt": now.plus_millis(2_000).to_rfc3339(),
        "endAt": now.plus_millis(4_000).to_rfc3339(),
    });
    let (status, created) = stack
        .api(Method::POST, "/campaigns", Some(&body.to_string()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = CampaignId::new(created["id"].as_str().unwrap());

    let mut status = CampaignStatus::Scheduled;
    for _ in 0..100 {
        status = stack.campaign(&id).await.status;
        if status == CampaignStatus::Closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, CampaignStatus::Closed);

    let events = stack.lifecycle_events(2, Duration::from_secs(5)).await;
    // The bus is at-least-once (the dispatcher may hand over a timer the API already sent,
    // and a racing duplicate republishes the outbox record): dedupe by eventId as consumers do.
    let unique: std::collections::BTreeMap<String, String> = events
        .iter()
        .filter(|e| e["detail"]["campaignId"] == id.as_str())
        .map(|e| {
            (
                e["detail"]["eventId"].as_str().unwrap().to_owned(),
                e["detail-type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut types: Vec<_> = unique.into_values().collect();
    types.sort();
    assert_eq!(types, vec!["CampaignClosed", "CampaignStarted"]);

    local.stop().await;

    // Every function ran and made AWS calls, and every call is allowed by its policy.
    let calls = stack.calls.snapshot();
    for function in stack.iam.policies.keys() {
        assert!(
            calls.get(function).is_some_and(|c| !c.is_empty()),
            "{function} made no AWS call: the IAM check did not cover it ({calls:#?})"
        );
    }
    let executor = &calls["TimerExecutorFunction"];
    for polling in ["ReceiveMessage", "DeleteMessageBatch"] {
        assert!(
            executor.iter().any(|c| c.operation == polling),
            "the event source's {polling} is recorded as the executor's: {executor:#?}"
        );
    }
    stack.assert_iam_allowed();
}
