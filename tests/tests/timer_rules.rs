//! Timers whose campaign does not fit: obsolete ones are cancelled with a reason, early ones
//! are retried, malformed messages go to the DLQ alone.

use std::time::Duration;

use integration_tests::{TestStack, due, events_of, failed_ids, raw_record, sqs_event};
use lifecycle_adapters::aws::Redrive;
use lifecycle_adapters::store::ApplyOutcome;
use lifecycle_domain::Timestamp;
use lifecycle_domain::{CampaignStatus, TimerKind, TimerStatus};
use lifecycle_resilience::Resilience;

const EXECUTOR: &str = "TimerExecutorFunction";

#[tokio::test]
async fn a_timer_for_a_later_step_is_early_and_applies_after_its_predecessor() {
    let stack = TestStack::new().await;
    // START due only a moment ago: its own delivery may still be on the way, so the CLOSE does
    // not catch it up (that takes an overdue START: see the catch-up test).
    let (campaign, timers) = stack.store_campaign(-1_000, -500, None, None).await;
    let store = &stack.services.store;
    let close = due(&timers, TimerKind::CloseCampaign);

    let early = store.apply_timer(&close, Timestamp::now()).await.unwrap();
    assert!(matches!(early, ApplyOutcome::Early { .. }), "{early:?}");
    let response = timer_executor::handle_batch(
        &stack.function_services(EXECUTOR),
        sqs_event(&[("close", vec![close.clone()])]),
    )
    .await;
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "early → redelivered later"
    );

    let start = store
        .apply_timer(&due(&timers, TimerKind::StartCampaign), Timestamp::now())
        .await
        .unwrap();
    assert!(matches!(start, ApplyOutcome::Applied(_)));
    let closed = store.apply_timer(&close, Timestamp::now()).await.unwrap();
    assert!(matches!(closed, ApplyOutcome::Applied(_)), "{closed:?}");
    let stored = stack.campaign(&campaign.id).await;
    assert_eq!((stored.status, stored.version), (CampaignStatus::Closed, 3));
}

#[tokio::test]
async fn a_timer_whose_campaign_moved_past_it_is_cancelled_with_a_reason() {
    let stack = TestStack::new().await;
    let (campaign, timers) = stack
        .store_campaign(-4_000, -3_000, Some(-1_000), Some(-2_000))
        .await;
    let store = &stack.services.store;
    for kind in [
        TimerKind::StartCampaign,
        TimerKind::CloseCampaign,
        TimerKind::ExpireCampaign,
    ] {
        let outcome = store
            .apply_timer(&due(&timers, kind), Timestamp::now())
            .await
            .unwrap();
        assert!(
            matches!(outcome, ApplyOutcome::Applied(_)),
            "{kind}: {outcome:?}"
        );
    }
    let reminder = due(&timers, TimerKind::RewardReminder);
    let outcome = store
        .apply_timer(&reminder, Timestamp::now())
        .await
        .unwrap();
    let ApplyOutcome::Obsolete { reason } = outcome else {
        panic!("expected obsolete, got {outcome:?}");
    };
    assert!(reason.contains("EXPIRED"), "{reason}");

    let partition = store.load_partition(&campaign.id).await.unwrap();
    let stored = partition
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::RewardReminder)
        .unwrap();
    assert_eq!(stored.status, TimerStatus::Cancelled);
    assert_eq!(stored.cancel_reason.as_deref(), Some(reason.as_str()));
    let again = store
        .apply_timer(&reminder, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(again, ApplyOutcome::AlreadyDone { unpublished: None });
}

#[tokio::test]
async fn a_reminder_fires_during_the_claim_window_with_the_status_it_saw() {
    let stack = TestStack::new().await;
    let (campaign, timers) = stack
        .store_campaign(-4_000, -3_000, Some(60_000), Some(-1_000))
        .await;
    let store = &stack.services.store;
    for kind in [TimerKind::StartCampaign, TimerKind::CloseCampaign] {
        store
            .apply_timer(&due(&timers, kind), Timestamp::now())
            .await
            .unwrap();
    }
    let outcome = store
        .apply_timer(&due(&timers, TimerKind::RewardReminder), Timestamp::now())
        .await
        .unwrap();
    let ApplyOutcome::Applied(event) = outcome else {
        panic!("expected applied, got {outcome:?}");
    };
    assert_eq!(
        (event.from, event.to),
        (CampaignStatus::RewardClaim, CampaignStatus::RewardClaim)
    );
    let stored = stack.campaign(&campaign.id).await;
    assert_eq!(stored.version, 3, "a reminder moves nothing");
}

#[tokio::test]
async fn a_malformed_message_goes_to_the_dlq_at_once_and_the_rest_of_the_batch_completes() {
    let stack = TestStack::new().await;
    let (campaign, timers) = stack.store_campaign(-1_000, 60_000, None, None).await;
    let mut event = sqs_event(&[("good", vec![due(&timers, TimerKind::StartCampaign)])]);
    event
        .records
        .push(raw_record("bad", "{\"timers\": \"nope\"}"));
    let response = timer_executor::handle_batch(&stack.function_services(EXECUTOR), event).await;
    assert!(
        failed_ids(&response).is_empty(),
        "dead-lettered, not retried"
    );
    let stored = stack.campaign(&campaign.id).await;
    assert_eq!(stored.status, CampaignStatus::Running);
    let events = stack.lifecycle_events(1, Duration::from_secs(3)).await;
    assert_eq!(events_of(&events, &campaign.id, "CampaignStarted").len(), 1);

    let letters = Redrive::new(stack.setup.sqs.clone(), Resilience::passthrough())
        .list(&stack.queue_url("TimersDeadLetterQueue"), 10)
        .await
        .expect("DLQ listed");
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0].body, "{\"timers\": \"nope\"}");
    assert_eq!(letters[0].attributes["errorCode"], "BAD_TIMER_MESSAGE");
    assert_eq!(letters[0].attributes["errorCategory"], "BusinessLogic");
    assert!(
        !letters[0].attributes["errorMessage"].is_empty(),
        "{letters:?}"
    );
}

#[tokio::test]
async fn without_a_dlq_a_malformed_message_fails_alone() {
    let stack = TestStack::new().await;
    let services = stack.function_services_with(EXECUTOR, |config| config.timers_dlq_url = None);
    let (_, timers) = stack.store_campaign(-1_000, 60_000, None, None).await;
    let mut event = sqs_event(&[("good", vec![due(&timers, TimerKind::StartCampaign)])]);
    event.records.push(raw_record("bad", "not json"));
    let response = timer_executor::handle_batch(&services, event).await;
    assert_eq!(failed_ids(&response), vec!["bad"]);
}

#[tokio::test]
async fn a_timer_due_after_the_invocation_deadline_goes_back_on_the_queue() {
    let stack = TestStack::new().await;
    let (campaign, timers) = stack.store_campaign(3_000, 60_000, None, None).await;
    let stop_at = Timestamp::now().plus_millis(1_000);
    let response = timer_executor::handle_batch_until(
        &stack.function_services(EXECUTOR),
        sqs_event(&[("m", vec![due(&timers, TimerKind::StartCampaign)])]),
        Some(stop_at),
    )
    .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "requeued, not failed"
    );
    assert_eq!(
        stack.campaign(&campaign.id).await.status,
        CampaignStatus::Scheduled
    );
    assert_eq!(
        stack.delayed_messages("TimersQueue").await,
        1,
        "sent back with its delay"
    );
}

/// The transaction checks the stored timer's effect instead of trusting the message: a
/// CLOSE that claims to move to CLOSED, when the stored CLOSE moves to REWARD_CLAIM, applies
/// nothing and is reported as a mismatch.
#[tokio::test]
async fn a_timer_whose_effect_differs_from_the_stored_one_applies_nothing() {
    let stack = TestStack::new().await;
    let (campaign, timers) = stack
        .store_campaign(-3_000, -1_000, Some(60_000), None)
        .await;
    let store = &stack.services.store;
    store
        .apply_timer(&due(&timers, TimerKind::StartCampaign), Timestamp::now())
        .await
        .unwrap();
    let mut forged = due(&timers, TimerKind::CloseCampaign);
    forged.effect = lifecycle_domain::TimerEffect::Move {
        from: CampaignStatus::Running,
        to: CampaignStatus::Closed,
    };
    let outcome = store.apply_timer(&forged, Timestamp::now()).await.unwrap();
    assert!(
        matches!(outcome, ApplyOutcome::Mismatch { .. }),
        "{outcome:?}"
    );
    let stored = stack.campaign(&campaign.id).await;
    assert_eq!(
        (stored.status, stored.version),
        (CampaignStatus::Running, 2)
    );
    let timer = stack.timer(&campaign.id, TimerKind::CloseCampaign).await;
    assert_eq!(
        timer.status,
        TimerStatus::Pending,
        "the real timer still fires"
    );
}

#[tokio::test]
async fn a_timer_catches_up_an_earlier_one_overdue_beyond_an_on_time_delivery() {
    let stack = TestStack::new().await;
    // START was due a minute ago and never fired (its message died with an executor, or its
    // direct send was lost); CLOSE arrives on time.
    let (campaign, timers) = stack.store_campaign(-60_000, -200, None, None).await;
    let executor = stack.function_services(EXECUTOR);
    let close = due(&timers, TimerKind::CloseCampaign);
    let response =
        timer_executor::handle_batch(&executor, sqs_event(&[("close", vec![close])])).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");

    let stored = stack.campaign(&campaign.id).await;
    assert_eq!((stored.status, stored.version), (CampaignStatus::Closed, 3));
    for kind in [TimerKind::StartCampaign, TimerKind::CloseCampaign] {
        let timer = stack.timer(&campaign.id, kind).await;
        assert_eq!((timer.status, timer.attempts), (TimerStatus::Completed, 1));
    }
    let events = stack.lifecycle_events(2, Duration::from_secs(5)).await;
    assert_eq!(events_of(&events, &campaign.id, "CampaignStarted").len(), 1);
    assert_eq!(events_of(&events, &campaign.id, "CampaignClosed").len(), 1);

    // The START's own message, redelivered later, is a harmless duplicate.
    let start = due(&timers, TimerKind::StartCampaign);
    let again = timer_executor::handle_batch(&executor, sqs_event(&[("start", vec![start])])).await;
    assert!(failed_ids(&again).is_empty(), "{again:?}");
    assert_eq!(stack.campaign(&campaign.id).await.version, 3);
}
