//! The dispatcher hands due and soon-due timers to the queue once, grouped and delayed.

use integration_tests::TestStack;
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer_messages::TimerMessage;
use lifecycle_domain::{CampaignId, DueTimer, TimerKind};
use lifecycle_resilience::{Dependency, SERVER_ERROR};

#[tokio::test]
async fn dispatches_due_timers_once_and_advances_the_watermarks() {
    let stack = TestStack::new().await;
    // Starts due now (within the look-ahead), ends far beyond it.
    let mut campaigns = Vec::new();
    for _ in 0..5 {
        campaigns.push(stack.store_campaign(-500, 3_600_000, None, None).await.0);
    }
    let dispatcher = stack.function_services("TimerDispatcherFunction");
    // A warm instance: its failure patterns (one Query every 5 minutes) are loaded.
    dispatcher
        .begin_invocation("timer-dispatcher", Timestamp::now())
        .await;
    stack.requests.reset();
    let report = timer_dispatcher::dispatch(&dispatcher, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(report.timers_sent, 5, "{report:?}");
    assert!(report.watermarks_saved && report.errors.is_empty());
    assert_eq!(
        stack.requests.count("DynamoDB", "Query"),
        u64::from(stack.services.store.due_shards())
    );
    assert_eq!(stack.requests.count("DynamoDB", "Scan"), 0);

    let mut sent: Vec<String> = queued_timers(&stack)
        .await
        .into_iter()
        .inspect(|t| assert_eq!(t.kind, TimerKind::StartCampaign))
        .map(|t| t.campaign_id.as_str().to_owned())
        .collect();
    sent.sort();
    let mut expected: Vec<String> = campaigns.iter().map(|c| c.id.as_str().to_owned()).collect();
    expected.sort();
    assert_eq!(sent, expected);

    let again = timer_dispatcher::dispatch(&dispatcher, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(again.timers_sent, 0, "the watermarks moved past them");
    let watermarks = stack.services.store.load_watermarks().await.unwrap();
    assert_eq!(watermarks.version, 2);
}

#[tokio::test]
async fn leaves_out_timers_the_api_queued_at_creation() {
    let stack = TestStack::new().await;
    let now = Timestamp::now();
    let body = serde_json::json!({
        "name": "Flash sale",
        "startAt": now.plus_millis(20_000).to_rfc3339(),
        "endAt": now.plus_millis(3_600_000).to_rfc3339(),
    })
    .to_string();
    let (status, created) = stack
        .api(axum::http::Method::POST, "/campaigns", Some(&body))
        .await;
    assert_eq!(status, axum::http::StatusCode::CREATED, "{created}");
    // The mark is stored, not answered by the API.
    let id = CampaignId::new(created["id"].as_str().unwrap());
    let mut queued = Vec::new();
    for kind in [TimerKind::StartCampaign, TimerKind::CloseCampaign] {
        queued.push((kind, stack.timer(&id, kind).await.queued_at_creation));
    }
    assert_eq!(
        queued,
        [
            (TimerKind::StartCampaign, true),
            (TimerKind::CloseCampaign, false)
        ]
    );

    let dispatcher = stack.function_services("TimerDispatcherFunction");
    let report = timer_dispatcher::dispatch(&dispatcher, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        (report.timers_sent, report.queued_at_creation),
        (0, 1),
        "{report:?}"
    );
    assert_eq!(
        stack.delayed_messages("TimersQueue").await,
        1,
        "only the API's message is on the queue"
    );
}

/// The due index never ends a limited read inside a millisecond: more timers due in one
/// millisecond than the limit are read whole, so the next read can start after it.
#[tokio::test]
async fn a_limited_due_read_never_ends_inside_a_millisecond() {
    use lifecycle_domain::timer_plan::plan_timers;
    use lifecycle_domain::{Campaign, CampaignId, CampaignStatus};

    let stack = TestStack::new().await;
    let one_shard =
        stack.function_services_with("TimerDispatcherFunction", |config| config.due_shards = 1);
    let store = &one_shard.store;
    let now = Timestamp::now();
    let start = now.plus_millis(10_000);
    let create = |start_at: Timestamp| {
        let campaign = Campaign {
            id: CampaignId::generate(),
            name: "same millisecond".into(),
            status: CampaignStatus::Scheduled,
            start_at,
            end_at: now.plus_millis(3_600_000),
            claim_until: None,
            reward_reminder_at: None,
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let timers = plan_timers(&campaign);
        async move { store.create_campaign(&campaign, &timers).await.unwrap() }
    };
    create(start.plus_millis(-1)).await;
    for _ in 0..3 {
        create(start).await;
    }
    create(start.plus_millis(1)).await;

    let after = now;
    let until = now.plus_millis(60_000);
    let first = store.due_timers(0, after, until, 2).await.unwrap();
    assert!(first.truncated);
    assert_eq!(
        first.timers.len(),
        4,
        "the limit, then the rest of its millisecond"
    );
    assert_eq!(first.last_read_due, Some(start));
    let rest = store.due_timers(0, start, until, 2).await.unwrap();
    assert_eq!(rest.timers.len(), 1);
    assert_eq!(rest.timers[0].timer.due_at, start.plus_millis(1));
}

/// Alerts a dispatcher raises go to the bus from its own clients (so its policy must allow
/// `events:PutEvents`): here its SQS breaker opens.
#[tokio::test]
async fn a_dispatcher_publishes_its_breaker_alert_itself() {
    let stack = TestStack::new().await;
    let dispatcher = stack.function_services("TimerDispatcherFunction");
    let breaker = dispatcher.resilience.breaker(Dependency::Sqs).unwrap();
    for _ in 0..20 {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker
            .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
            .await;
        // Added to the shared window now, not after the failure flush interval.
        breaker.flush(Timestamp::now()).await;
    }
    assert!(breaker.refusing_until(Timestamp::now()).await.is_some());
    // The invocation ends: the alerts noted during it are published.
    dispatcher.end_invocation().await;
    let events = stack
        .lifecycle_events(1, std::time::Duration::from_secs(10))
        .await;
    assert!(
        events
            .iter()
            .any(|e| e["detail"]["kind"] == "CIRCUIT_STATE_CHANGED"
                && e["detail"]["subject"] == "sqs"),
        "{events:#?}"
    );
    let calls = &stack.calls.snapshot()["TimerDispatcherFunction"];
    assert!(
        calls.iter().any(|c| c.operation == "PutEvents"),
        "{calls:#?}"
    );
}

/// PENDING timers past due by more than `DISPATCH_CATCH_UP_AFTER_SECONDS` (and less than the
/// span after it) are sent again every tick, even those the API queued at creation.
#[tokio::test]
async fn sends_missed_timers_again_even_those_queued_at_creation() {
    use lifecycle_domain::timer_plan::plan_timers;
    use lifecycle_domain::{Campaign, CampaignStatus};

    let stack = TestStack::new().await;
    let dispatcher = stack.function_services("TimerDispatcherFunction");
    let store = &stack.services.store;
    // START timers the API queued at creation, due 60 s ago (missed: the direct send was
    // lost), 10 s ago (its message may still be in flight) and 300 s ago (the sweeper's).
    let mut missed = None;
    for due_in_ms in [-60_000, -10_000, -300_000] {
        let now = Timestamp::now();
        let campaign = Campaign {
            id: CampaignId::generate(),
            name: "queued at creation".into(),
            status: CampaignStatus::Scheduled,
            start_at: now.plus_millis(due_in_ms),
            end_at: now.plus_millis(3_600_000),
            claim_until: None,
            reward_reminder_at: None,
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let mut timers = plan_timers(&campaign);
        timers[0].queued_at_creation = true;
        store.create_campaign(&campaign, &timers).await.unwrap();
        if due_in_ms == -60_000 {
            missed = Some(campaign.id);
        }
    }

    for tick in 0..2 {
        let report = timer_dispatcher::dispatch(&dispatcher, Timestamp::now())
            .await
            .unwrap();
        assert_eq!(
            (report.timers_sent, report.timers_caught_up),
            (1, 1),
            "tick {tick}: {report:?}"
        );
    }
    let sent: Vec<String> = queued_timers(&stack)
        .await
        .into_iter()
        .map(|t| t.campaign_id.as_str().to_owned())
        .collect();
    let missed = missed.unwrap();
    assert_eq!(
        sent,
        [missed.as_str(), missed.as_str()],
        "sent once per tick while missed"
    );
}

/// The timers of up to 10 messages received from the timers queue.
async fn queued_timers(stack: &TestStack) -> Vec<DueTimer> {
    let output = stack
        .setup
        .sqs
        .receive_message()
        .queue_url(stack.queue_url("TimersQueue"))
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    output
        .messages()
        .iter()
        .flat_map(|m| TimerMessage::parse(m.body().unwrap()).unwrap().timers)
        .collect()
}
