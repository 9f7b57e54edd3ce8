//! The resilience layer against the emulator, with faults injected into real responses:
//! retries per policy, ambiguous writes (the response lost after the write applied) that
//! still fire each timer once, and the executor's fallback while the DynamoDB breaker is open.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use integration_tests::{TestStack, due, failed_ids, raw_record, sqs_event};
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer_messages::TimerMessage;
use lifecycle_domain::{CampaignId, CampaignStatus, TimerKind, TimerStatus};
use lifecycle_resilience::{Dependency, SERVER_ERROR};

const EXECUTOR: &str = "TimerExecutorFunction";

#[tokio::test]
async fn throttled_requests_are_retried_per_policy_then_the_message_fails() {
    let stack = TestStack::new().await;
    let (services, injector) = stack.function_services_with_faults(
        EXECUTOR,
        "DynamoDB.TransactWriteItems=1:throttle",
        |_| {},
    );
    let (campaign, timers) = stack.store_campaign(-500, 60_000, None, None).await;
    stack.requests.reset();

    let response = timer_executor::handle_batch(
        &services,
        sqs_event(&[("m1", vec![due(&timers, TimerKind::StartCampaign)])]),
    )
    .await;

    assert_eq!(failed_ids(&response), ["m1"]);
    assert_eq!(stack.requests.count("DynamoDB", "TransactWriteItems"), 3);
    assert_eq!(injector.total(), 3);
    let stats = services.resilience.stats();
    assert_eq!(stats.retries, 2);
    assert_eq!((stats.retried_calls, stats.retry_successes), (1, 0));
    assert_eq!(stats.failures_by_code.get("AWS_THROTTLED"), Some(&3));
    assert_eq!(
        stack
            .timer(&campaign.id, TimerKind::StartCampaign)
            .await
            .status,
        TimerStatus::Pending
    );
}

#[tokio::test]
async fn lost_responses_never_fire_a_timer_twice() {
    let stack = TestStack::new().await;
    // A third of the transactions apply but their answer is lost: the retry meets its own
    // write. (Breakers off: at this rate the DynamoDB breaker may rightly open.)
    let (services, injector) = stack.function_services_with_faults(
        EXECUTOR,
        "DynamoDB.TransactWriteItems=0.33:timeout",
        |config| config.circuit_breakers = false,
    );
    let mut pending = Vec::new();
    for _ in 0..12 {
        let (campaign, timers) = stack.store_campaign(-500, 60_000, None, None).await;
        pending.push((
            campaign.id.as_str().to_owned(),
            due(&timers, TimerKind::StartCampaign),
        ));
    }
    let ids: Vec<String> = pending.iter().map(|(id, _)| id.clone()).collect();
    for _round in 0..20 {
        if pending.is_empty() {
            break;
        }
        let messages: Vec<(&str, Vec<_>)> = pending
            .iter()
            .map(|(id, timer)| (id.as_str(), vec![timer.clone()]))
            .collect();
        let response = timer_executor::handle_batch(&services, sqs_event(&messages)).await;
        let failed: Vec<String> = failed_ids(&response)
            .into_iter()
            .map(str::to_owned)
            .collect();
        pending.retain(|(id, _)| failed.contains(id));
    }
    assert!(
        pending.is_empty(),
        "still failing after 20 deliveries: {pending:?}"
    );
    assert!(injector.total() > 0);
    assert!(
        services
            .resilience
            .stats()
            .failures_by_code
            .get("AWS_TIMEOUT")
            .copied()
            .unwrap_or(0)
            > 0
    );

    let events = stack.lifecycle_events(12, Duration::from_secs(10)).await;
    for id in &ids {
        let campaign = stack.campaign(&CampaignId::new(id.as_str())).await;
        assert_eq!(campaign.status, CampaignStatus::Running);
        assert_eq!(campaign.version, 2, "{id} moved once");
        let started: std::collections::BTreeSet<&str> = events
            .iter()
            .filter(|e| e["detail"]["campaignId"] == id.as_str())
            .filter_map(|e| e["detail"]["eventId"].as_str())
            .collect();
        assert_eq!(started.len(), 1, "{id}: one transition, one event id");
    }
}

#[tokio::test]
async fn an_open_dynamodb_breaker_puts_messages_back_with_a_delay() {
    let stack = TestStack::new().await;
    let (_, timers) = stack.store_campaign(-500, 60_000, None, None).await;
    let executor = stack.function_services(EXECUTOR);
    let breaker = executor
        .resilience
        .breaker(Dependency::DynamoDb)
        .expect("breakers on");
    for _ in 0..20 {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker
            .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
            .await;
        // Added to the shared window now, not after the failure flush interval.
        breaker.flush(Timestamp::now()).await;
    }
    assert!(
        breaker.refusing_until(Timestamp::now()).await.is_some(),
        "breaker open"
    );

    // A real message, received, so its receipt handle can be used.
    let url = stack.queue_url("TimersQueue");
    let body = TimerMessage {
        timers: vec![due(&timers, TimerKind::StartCampaign)],
    }
    .to_body();
    stack
        .setup
        .sqs
        .send_message()
        .queue_url(&url)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    let received = stack
        .setup
        .sqs
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(1)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let message = received.messages().first().expect("message received");
    let mut record = raw_record(message.message_id().unwrap(), &body);
    record.receipt_handle = message.receipt_handle().map(str::to_owned);
    let mut event = SqsEvent::default();
    event.records = vec![record];
    stack.requests.reset();

    let response = timer_executor::handle_batch(&executor, event).await;

    assert_eq!(failed_ids(&response), [message.message_id().unwrap()]);
    assert_eq!(
        stack.requests.count("DynamoDB", "TransactWriteItems"),
        0,
        "no work tried"
    );
    assert_eq!(
        stack.requests.count("SQS", "ChangeMessageVisibilityBatch"),
        1
    );
    // The message's 1 s visibility was extended to the breaker's open time (30 s).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = stack
        .setup
        .sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert!(again.messages().is_empty(), "still invisible");

    breaker.reset(Timestamp::now()).await.unwrap();
    assert_eq!(breaker.refusing_until(Timestamp::now()).await, None);
}
