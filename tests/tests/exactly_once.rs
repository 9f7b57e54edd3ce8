//! Exactly-once effects of the timer path under concurrency and duplicate delivery.

use std::time::Duration;

use integration_tests::{TestStack, due, events_of, sqs_event};
use lifecycle_adapters::store::ApplyOutcome;
use lifecycle_domain::Timestamp;
use lifecycle_domain::{CampaignStatus, TimerKind, TimerStatus};

const EXECUTOR: &str = "TimerExecutorFunction";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_executors_on_one_timer_make_one_transition() {
    let stack = TestStack::new().await;
    let (campaign, timers) = stack.store_campaign(-1_000, 60_000, None, None).await;
    let start = due(&timers, TimerKind::StartCampaign);
    let executor = stack.function_services(EXECUTOR);

    let outcomes = futures_util::future::join_all(
        (0..16).map(|_| executor.store.apply_timer(&start, Timestamp::now())),
    )
    .await;
    let applied: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(ApplyOutcome::Applied(_))))
        .collect();
    assert_eq!(applied.len(), 1, "outcomes: {outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Ok(ApplyOutcome::Applied(_) | ApplyOutcome::AlreadyDone { .. })
        )),
        "every other executor sees a no-op: {outcomes:?}"
    );

    let stored = stack.campaign(&campaign.id).await;
    assert_eq!(stored.status, CampaignStatus::Running);
    assert_eq!(stored.version, 2, "one move, one version increment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_batches_publish_one_event() {
    let stack = TestStack::new().await;
    let (campaign, timers) = stack.store_campaign(-1_000, 60_000, None, None).await;
    let start = due(&timers, TimerKind::StartCampaign);

    let executor = stack.function_services(EXECUTOR);
    let responses = futures_util::future::join_all((0..16).map(|i| {
        let event = sqs_event(&[(&format!("m{i}"), vec![start.clone()])]);
        timer_executor::handle_batch(&executor, event)
    }))
    .await;
    // Executors that lost the race may hand back the still-unpublished outbox event; what
    // matters is that the transition happened once and one eventId reached the bus.
    assert!(responses.iter().all(|r| r.batch_item_failures.is_empty()));

    let events = stack.lifecycle_events(1, Duration::from_secs(5)).await;
    let started = events_of(&events, &campaign.id, "CampaignStarted");
    assert!(!started.is_empty(), "the event reached the bus: {events:?}");
    let ids: std::collections::BTreeSet<_> = started
        .iter()
        .map(|e| e["detail"]["eventId"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one event identity, however often relayed");
    let stored = stack.campaign(&campaign.id).await;
    assert_eq!(
        (stored.status, stored.version),
        (CampaignStatus::Running, 2)
    );
    let partition = stack
        .services
        .store
        .load_partition(&campaign.id)
        .await
        .unwrap();
    assert!(
        partition.outbox.is_empty(),
        "the outbox is cleared once published"
    );
}

#[tokio::test]
async fn the_same_message_delivered_twice_has_one_effect() {
    let stack = TestStack::new().await;
    let (campaign, timers) = stack.store_campaign(-1_000, 60_000, None, None).await;
    let message = sqs_event(&[("same-message", vec![due(&timers, TimerKind::StartCampaign)])]);

    let executor = stack.function_services(EXECUTOR);
    let first = timer_executor::handle_batch(&executor, message.clone()).await;
    let second = timer_executor::handle_batch(&executor, message).await;
    assert!(first.batch_item_failures.is_empty());
    assert!(
        second.batch_item_failures.is_empty(),
        "a duplicate is a success, not a retry"
    );

    let stored = stack.campaign(&campaign.id).await;
    assert_eq!(
        (stored.status, stored.version),
        (CampaignStatus::Running, 2)
    );
    let events = stack.lifecycle_events(1, Duration::from_secs(3)).await;
    assert_eq!(events_of(&events, &campaign.id, "CampaignStarted").len(), 1);
    let partition = stack
        .services
        .store
        .load_partition(&campaign.id)
        .await
        .unwrap();
    let start = partition
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::StartCampaign)
        .unwrap();
    assert_eq!((start.status, start.attempts), (TimerStatus::Completed, 1));
}

#[tokio::test]
async fn firing_a_timer_costs_one_transaction_and_no_scan() {
    let stack = TestStack::new().await;
    // The timer path alone: the breakers' own reads (at most one GetItem a second per
    // dependency and instance, docs/resilience.md) are left out.
    let services = stack.function_services_with(EXECUTOR, |config| config.circuit_breakers = false);
    let (_, timers) = stack.store_campaign(-1_000, 60_000, None, None).await;
    // A warm instance: its heartbeat (one PutItem a minute) is written and the failure
    // patterns (one Query every 5 minutes) are loaded.
    services
        .begin_invocation("timer-executor", Timestamp::now())
        .await;
    stack.requests.reset();
    let response = timer_executor::handle_batch(
        &services,
        sqs_event(&[("m", vec![due(&timers, TimerKind::StartCampaign)])]),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    let counts = stack.requests.snapshot();
    assert_eq!(
        stack.requests.count("DynamoDB", "TransactWriteItems"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        stack.requests.count("EventBridge", "PutEvents"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        stack.requests.count("DynamoDB", "BatchWriteItem"),
        1,
        "{counts:?}"
    );
    assert_eq!(stack.requests.count("DynamoDB", "Scan"), 0);
    assert_eq!(counts.values().sum::<u64>(), 3, "{counts:?}");
}
