//! The sweeper against the local stack: stuck leases, missed timers with the misfire rules,
//! state correction, outbox republish, dry runs, the run lease and stored reports.

use std::time::Duration;

use integration_tests::TestStack;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{ApplyOutcome, Claim};
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery::{RecoveryReport, SweepStep};
use lifecycle_domain::{CampaignStatus, DueTimer, TimerKind, TimerStatus};
use sweeper::{SweepRequest, sweep};

const MINUTE: i64 = 60_000;

/// The sweeper function's services on `stack`.
fn sweeper(stack: &TestStack) -> Services {
    stack.function_services("SweeperFunction")
}

async fn run(services: &Services, dry_run: bool, steps: Option<Vec<SweepStep>>) -> RecoveryReport {
    sweep(
        services,
        &SweepRequest { dry_run, steps },
        Timestamp::now(),
        None,
    )
    .await
}

fn step(report: &RecoveryReport, step: SweepStep) -> &lifecycle_domain::recovery::StepReport {
    report
        .steps
        .iter()
        .find(|s| s.step == step)
        .unwrap_or_else(|| panic!("{step:?} in {report:#?}"))
}

fn event_types(events: &[serde_json::Value]) -> Vec<String> {
    let mut types: Vec<String> = events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap_or_default().to_owned())
        .collect();
    types.sort();
    types
}

#[tokio::test]
async fn a_dispatcher_stopped_for_ten_minutes_is_caught_up_by_one_sweep() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    // The dispatcher's last tick was 11 minutes ago.
    let mut watermarks = store.load_watermarks().await.unwrap();
    watermarks
        .shards
        .insert(0, Timestamp::now().plus_millis(-11 * MINUTE));
    assert!(
        store
            .save_watermarks(&watermarks, Timestamp::now().plus_millis(-11 * MINUTE))
            .await
            .unwrap()
    );
    // Started 9 minutes ago, ends in an hour: START missed.
    let (started, _) = stack
        .store_campaign(-9 * MINUTE, 60 * MINUTE, None, None)
        .await;
    // Started 8 and ended 3 minutes ago: START and CLOSE missed, fired in due order.
    let (closed, _) = stack
        .store_campaign(-8 * MINUTE, -3 * MINUTE, None, None)
        .await;
    // Started 2 hours ago: beyond the one-hour misfire window, so START is cancelled and
    // the state correction moves the campaign instead.
    let (corrected, _) = stack
        .store_campaign(-120 * MINUTE, 60 * MINUTE, None, None)
        .await;
    // Due 30 s ago: within the grace, left to the normal path.
    let (recent, _) = stack.store_campaign(-30_000, 60 * MINUTE, None, None).await;

    let services = sweeper(&stack);
    let report = run(&services, false, None).await;
    assert!(report.success, "{report:#?}");
    assert!(report.was_crash, "{report:#?}");
    // "dispatcher last seen <n> s ago …": at least the 11 minutes set above (more when the
    // machine is slow between that write and the sweep).
    let evidence = report.crash_evidence.as_deref().unwrap_or_default();
    let seconds_ago: u64 = evidence
        .strip_prefix("dispatcher last seen ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{evidence}"));
    assert!((660..720).contains(&seconds_ago), "{evidence}");
    let missed = step(&report, SweepStep::MissedTimers);
    assert_eq!(
        (
            missed.get("found"),
            missed.get("fired"),
            missed.get("cancelled")
        ),
        (4, 3, 1),
        "{missed:#?}"
    );
    assert!(
        missed
            .actions
            .iter()
            .any(|a| a.contains("beyond the misfire window of 3600 s")),
        "{missed:#?}"
    );
    let states = step(&report, SweepStep::CampaignStates);
    assert_eq!(states.get("corrected"), 1, "{states:#?}");
    assert_eq!(report.totals.timers_recovered, 3);
    assert_eq!(report.totals.campaigns_fixed, 1);

    assert_eq!(
        stack.campaign(&started.id).await.status,
        CampaignStatus::Running
    );
    let closed_now = stack.campaign(&closed.id).await;
    assert_eq!(
        (closed_now.status, closed_now.version),
        (CampaignStatus::Closed, 3)
    );
    let corrected_now = stack.campaign(&corrected.id).await;
    assert_eq!(
        (corrected_now.status, corrected_now.version),
        (CampaignStatus::Running, 2)
    );
    assert_eq!(
        stack.campaign(&recent.id).await.status,
        CampaignStatus::Scheduled
    );

    let start = stack.timer(&corrected.id, TimerKind::StartCampaign).await;
    assert_eq!(start.status, TimerStatus::Cancelled);
    assert!(start.cancel_reason.unwrap().contains("misfire window"));
    let partition = store.load_partition(&corrected.id).await.unwrap();
    assert_eq!(partition.audit.len(), 1, "{partition:#?}");
    assert_eq!(partition.audit[0].action, "STATE_CORRECTION");
    assert_eq!(
        partition.audit[0].actor,
        format!("sweeper/{}", report.run_id)
    );
    for id in [&started.id, &closed.id, &corrected.id] {
        let partition = store.load_partition(id).await.unwrap();
        assert!(
            partition.outbox.is_empty(),
            "every event published and cleared"
        );
        for timer in partition
            .timers
            .iter()
            .filter(|t| t.due_at < Timestamp::now())
        {
            assert!(
                timer.status == TimerStatus::Completed
                    || (timer.status == TimerStatus::Cancelled && timer.cancel_reason.is_some()),
                "{timer:?}"
            );
        }
    }
    let events = stack.lifecycle_events(5, Duration::from_secs(10)).await;
    assert_eq!(
        event_types(&events),
        [
            "AlertRaised",
            "CampaignClosed",
            "CampaignStarted",
            "CampaignStarted",
            "CampaignStarted"
        ]
    );
    let alert = events
        .iter()
        .find(|e| e["detail-type"] == "AlertRaised")
        .unwrap();
    assert_eq!(alert["detail"]["kind"], "DISPATCHER_STALLED");

    let stored = store.recent_reports(Timestamp::now(), 5).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], report);

    let again = run(&services, false, None).await;
    assert_eq!(
        again.totals,
        Default::default(),
        "a second sweep finds nothing: {again:#?}"
    );
    assert!(again.was_crash, "the dispatcher is still stopped");
    let events = stack.lifecycle_events(0, Duration::from_secs(2)).await;
    assert!(events.is_empty(), "one stall alert per outage: {events:?}");
}

#[tokio::test]
async fn a_dry_run_reports_what_it_would_do_and_changes_nothing() {
    let stack = TestStack::new().await;
    let (campaign, _) = stack
        .store_campaign(-5 * MINUTE, 60 * MINUTE, None, None)
        .await;
    let report = run(&sweeper(&stack), true, None).await;
    assert!(report.dry_run && report.success, "{report:#?}");
    let missed = step(&report, SweepStep::MissedTimers);
    assert_eq!(missed.get("found"), 1);
    assert!(missed.actions[0].starts_with("would fire"), "{missed:#?}");
    let states = step(&report, SweepStep::CampaignStates);
    assert!(states.actions[0].contains("would move"), "{states:#?}");
    assert_eq!(
        stack.campaign(&campaign.id).await.status,
        CampaignStatus::Scheduled
    );
    assert_eq!(
        stack
            .timer(&campaign.id, TimerKind::StartCampaign)
            .await
            .status,
        TimerStatus::Pending
    );
}

/// The one action of a dry run's stuck-timer step ends with `outcome`.
fn assert_previews(preview: &RecoveryReport, outcome: &str) {
    let actions = &step(preview, SweepStep::StuckTimers).actions;
    assert!(
        actions.len() == 1 && actions[0].ends_with(outcome),
        "preview {actions:?} should end with {outcome}"
    );
}

#[tokio::test]
async fn expired_leases_go_back_to_pending_then_fail_with_an_alert() {
    let stack = TestStack::new().await;
    let services = stack.function_services_with("SweeperFunction", |c| c.sweep.max_attempts = 2);
    // The dead workers' claims are setup, not the sweeper's calls.
    let store = &stack.services.store;
    let (campaign, _) = stack
        .store_campaign(60 * MINUTE, 120 * MINUTE, None, None)
        .await;
    let only_stuck = Some(vec![SweepStep::StuckTimers]);

    // A worker claimed the timer and died: its lease ran out a second ago.
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    let expired = Timestamp::now().plus_millis(-1_000);
    assert!(
        store
            .claim_timer(&timer, "dead-worker", expired)
            .await
            .unwrap()
    );
    // The dry run's preview says what the real run then does.
    let preview = run(&services, true, only_stuck.clone()).await;
    assert_previews(&preview, "→ PENDING");
    let report = run(&services, false, only_stuck.clone()).await;
    assert_eq!(
        step(&report, SweepStep::StuckTimers).get("requeued"),
        1,
        "{report:#?}"
    );
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    assert_eq!((timer.status, timer.attempts), (TimerStatus::Pending, 1));
    assert!(timer.last_error.as_deref().unwrap().contains("dead-worker"));
    assert!(timer.lease_owner.is_none());

    // It happens again: out of attempts, FAILED with an alert on the bus.
    assert!(
        store
            .claim_timer(&timer, "dead-again", expired)
            .await
            .unwrap()
    );
    let preview = run(&services, true, only_stuck.clone()).await;
    assert_previews(&preview, "→ FAILED");
    let report = run(&services, false, only_stuck).await;
    let stuck = step(&report, SweepStep::StuckTimers);
    assert_eq!(
        (stuck.get("failed"), stuck.get("alerts_published")),
        (1, 1),
        "{stuck:#?}"
    );
    assert_eq!(report.totals.timers_failed, 1);
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    assert_eq!((timer.status, timer.attempts), (TimerStatus::Failed, 2));
    let events = stack.lifecycle_events(1, Duration::from_secs(10)).await;
    assert_eq!(event_types(&events), ["AlertRaised"]);
    assert_eq!(events[0]["detail"]["kind"], "TIMER_FAILED");
    assert_eq!(events[0]["detail"]["subject"], timer.timer_id.as_str());
    assert!(
        store
            .unpublished_alerts(Timestamp::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_executor_backs_off_from_a_leased_timer_and_the_holder_completes_it() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let (campaign, _) = stack.store_campaign(-1_000, 60 * MINUTE, None, None).await;
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    let until = Timestamp::now().plus_millis(MINUTE);
    assert!(store.claim_timer(&timer, "holder", until).await.unwrap());
    assert!(!store.claim_timer(&timer, "second", until).await.unwrap());

    let due = DueTimer::from(&timer);
    let outcome = store.apply_timer(&due, Timestamp::now()).await.unwrap();
    assert!(matches!(outcome, ApplyOutcome::Early { .. }), "{outcome:?}");
    let wrong = Claim::Lease { owner: "second" };
    let outcome = store
        .apply_claimed_timer(&due, wrong, Timestamp::now())
        .await
        .unwrap();
    assert!(matches!(outcome, ApplyOutcome::Early { .. }), "{outcome:?}");
    assert_eq!(
        stack.campaign(&campaign.id).await.status,
        CampaignStatus::Scheduled
    );

    let holder = Claim::Lease { owner: "holder" };
    let outcome = store
        .apply_claimed_timer(&due, holder, Timestamp::now())
        .await
        .unwrap();
    assert!(matches!(outcome, ApplyOutcome::Applied(_)), "{outcome:?}");
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    assert_eq!((timer.status, timer.attempts), (TimerStatus::Completed, 1));
    assert!(timer.lease_owner.is_none() && timer.lease_expires_at.is_none());
}

#[tokio::test]
async fn unpublished_outbox_events_are_published_again() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let (campaign, _) = stack.store_campaign(-1_000, 60 * MINUTE, None, None).await;
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    // The executor committed the move and died before publishing.
    let ApplyOutcome::Applied(event) = store
        .apply_timer(&DueTimer::from(&timer), Timestamp::now())
        .await
        .unwrap()
    else {
        panic!("applied");
    };
    let report = sweep(
        &sweeper(&stack),
        &SweepRequest {
            dry_run: false,
            steps: Some(vec![SweepStep::Outbox]),
        },
        Timestamp::now().plus_millis(2 * MINUTE),
        None,
    )
    .await;
    let outbox = step(&report, SweepStep::Outbox);
    assert_eq!(
        (outbox.get("found"), outbox.get("published")),
        (1, 1),
        "{outbox:#?}"
    );
    let events = stack.lifecycle_events(1, Duration::from_secs(10)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["detail"]["eventId"], event.event_id.as_str());
    assert!(
        store
            .load_partition(&campaign.id)
            .await
            .unwrap()
            .outbox
            .is_empty()
    );
}

#[tokio::test]
async fn overlapping_sweeps_are_refused_by_the_run_lease() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let now = Timestamp::now();
    assert!(
        store
            .claim_sweep("other", now, now.plus_millis(MINUTE))
            .await
            .unwrap()
    );
    let report = run(&sweeper(&stack), false, None).await;
    // Only `consumers`, which needs no lease, ran.
    let ran: Vec<SweepStep> = report.steps.iter().map(|s| s.step).collect();
    assert!(!report.success, "{report:#?}");
    assert_eq!(ran, [SweepStep::Consumers], "{report:#?}");
    assert!(report.errors[0].contains("sweep lease"), "{report:#?}");
    // A dead sweep's lease runs out by itself.
    let later = now.plus_millis(2 * MINUTE);
    assert!(
        store
            .claim_sweep("next", later, later.plus_millis(MINUTE))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn orphan_timers_are_cancelled() {
    let stack = TestStack::new().await;
    let (campaign, _) = stack
        .store_campaign(-5 * MINUTE, 60 * MINUTE, None, None)
        .await;
    stack
        .setup
        .dynamodb
        .delete_item()
        .table_name(&stack.services.config.table_name)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CAMPAIGN#{}", campaign.id)),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("CAMPAIGN".into()),
        )
        .send()
        .await
        .unwrap();
    let report = run(&sweeper(&stack), false, None).await;
    assert_eq!(step(&report, SweepStep::MissedTimers).get("orphans"), 1);
    let orphans = step(&report, SweepStep::Orphans);
    assert_eq!(orphans.get("cancelled"), 1, "{report:#?}");
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    assert_eq!(timer.status, TimerStatus::Cancelled);
    assert_eq!(
        timer.cancel_reason.as_deref(),
        Some(sweeper::steps::orphans::ORPHAN_REASON)
    );
}

/// The Lambda handler refuses a request with a typo instead of running a real sweep, and
/// fails the invocation when the sweep had errors (so the Errors alarm sees it).
#[tokio::test]
async fn handler_refuses_unknown_fields_and_fails_a_sweep_with_errors() {
    let stack = TestStack::new().await;
    let deadline = Timestamp::now().plus_millis(MINUTE);
    let typo = serde_json::json!({"dry_run": true});
    let services = sweeper(&stack);
    let refused = sweeper::handle(&services, &typo, deadline).await;
    assert!(
        matches!(&refused, Err(sweeper::SweepError::BadRequest(message)) if message.contains("dry_run")),
        "{refused:?}"
    );
    let reports = stack
        .services
        .store
        .recent_reports(Timestamp::now(), 10)
        .await
        .unwrap();
    assert!(
        reports.is_empty(),
        "nothing may run on a refused request: {reports:?}"
    );

    let dry = serde_json::json!({"dryRun": true});
    let report = sweeper::handle(&services, &dry, deadline).await.unwrap();
    assert!(report.dry_run && report.success);

    // Every Query fails: the steps report errors and the invocation fails.
    let (failing, _) =
        stack.function_services_with_faults("SweeperFunction", "DynamoDB.Query=1.0:500", |_| {});
    let failed = sweeper::handle(&failing, &dry, deadline).await;
    let Err(sweeper::SweepError::Failed(report)) = failed else {
        panic!("a sweep with errors must fail the invocation: {failed:?}");
    };
    assert!(!report.success && !report.errors.is_empty(), "{report:?}");
}

#[tokio::test]
async fn a_dispatcher_beating_again_resolves_its_stall_alert_once() {
    use lifecycle_adapters::store::HeartbeatRecord;

    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let stalled_since = Timestamp::from_millis(Timestamp::now().millis() - 10 * MINUTE);
    let watermarks = store.load_watermarks().await.unwrap();
    assert!(
        store
            .save_watermarks(&watermarks, stalled_since)
            .await
            .unwrap()
    );
    let services = sweeper(&stack);
    let no_steps = || Some(Vec::new());

    let stalled = run(&services, false, no_steps()).await;
    assert!(stalled.success && stalled.was_crash, "{stalled:#?}");
    assert!(!stalled.dispatcher_recovered);
    let events = stack.lifecycle_events(1, Duration::from_secs(10)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["kind"], "DISPATCHER_STALLED");
    assert_eq!(events[0]["detail"]["status"], "FIRING");
    let (beats, stalls) = store.heartbeats_and_stalls().await.unwrap();
    assert_eq!(
        stalls.get("timer-dispatcher"),
        Some(&stalled_since),
        "the outage is marked"
    );
    assert!(
        beats.iter().all(|b| !b.function.starts_with("STALL#")),
        "{beats:?}"
    );
    assert_eq!(
        store.heartbeats().await.unwrap(),
        beats,
        "heartbeat readers never see the marker"
    );

    // The dispatcher beats again.
    let back = Timestamp::now();
    let beat = HeartbeatRecord {
        function: "timer-dispatcher".into(),
        instance: "test".into(),
        last_seen: back,
        version: "test".into(),
    };
    assert!(store.record_heartbeat(&beat, 60_000).await.unwrap());
    let recovered = run(&services, false, no_steps()).await;
    assert!(recovered.success, "{recovered:#?}");
    assert!(
        recovered.dispatcher_recovered && !recovered.was_crash,
        "{recovered:#?}"
    );
    let events = stack.lifecycle_events(1, Duration::from_secs(10)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let detail = &events[0]["detail"];
    assert_eq!(events[0]["detail-type"], "AlertRaised");
    assert_eq!(detail["kind"], "DISPATCHER_STALLED");
    assert_eq!(detail["subject"], "timer-dispatcher");
    assert_eq!(detail["status"], "RESOLVED");
    assert_eq!(detail["severity"], "CRITICAL");
    let (_, stalls) = store.heartbeats_and_stalls().await.unwrap();
    assert!(stalls.is_empty(), "the marker is gone: {stalls:?}");
    let later = Timestamp::now().plus_millis(MINUTE);
    assert!(
        store
            .unpublished_alerts(later, 10)
            .await
            .unwrap()
            .is_empty(),
        "both alerts published from the outbox"
    );
    let stored = store.recent_reports(Timestamp::now(), 5).await.unwrap();
    assert!(stored.contains(&recovered), "{stored:#?}");

    let again = run(&services, false, no_steps()).await;
    assert!(again.success, "{again:#?}");
    assert!(
        !again.dispatcher_recovered && !again.was_crash,
        "{again:#?}"
    );
    let events = stack.lifecycle_events(0, Duration::from_secs(2)).await;
    assert!(events.is_empty(), "resolved once: {events:?}");
}

#[tokio::test]
async fn a_stall_marker_is_removed_only_for_the_outage_it_marks() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let (first, second) = (
        Timestamp::from_millis(1_800_000_000_000),
        Timestamp::from_millis(1_800_000_600_000),
    );
    store.record_stall("timer-dispatcher", first).await.unwrap();
    store.record_stall("timer-dispatcher", first).await.unwrap();
    store
        .record_stall("timer-dispatcher", second)
        .await
        .unwrap();
    assert!(
        !store.clear_stall("timer-dispatcher", first).await.unwrap(),
        "a newer outage's marker is kept"
    );
    let (_, stalls) = store.heartbeats_and_stalls().await.unwrap();
    assert_eq!(stalls.get("timer-dispatcher"), Some(&second));
    assert!(store.clear_stall("timer-dispatcher", second).await.unwrap());
    assert!(!store.clear_stall("timer-dispatcher", second).await.unwrap());
    assert!(store.heartbeats_and_stalls().await.unwrap().1.is_empty());
}
