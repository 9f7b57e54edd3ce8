//! Unit tests of the executor's batch logic through in-memory ports ([`fakes`]): due,
//! duplicate, early, obsolete and too-early timers, an open breaker, malformed and
//! mismatching messages, records without ids and unpublished events, and a timer catching
//! its campaign up.

mod fakes;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lifecycle_domain::timer_messages::TimerMessage;
use lifecycle_domain::{
    CampaignId, CampaignStatus, DueTimer, ManualClock, TimerEffect, TimerId, TimerKind,
    TimerStatus, Timestamp,
};
use lifecycle_telemetry::LogFormat;

use self::fakes::{Dlq, FakePorts};
use crate::batch::{Executor, Settings};

const NOW: i64 = 1_800_000_000_000;
const CATCH_UP_AFTER_MS: i64 = 4_000;

fn now() -> Timestamp {
    Timestamp::from_millis(NOW)
}

fn timer(campaign: &str, kind: TimerKind, due: Timestamp) -> DueTimer {
    use CampaignStatus::{Closed, Expired, RewardClaim, Running, Scheduled};
    let campaign_id = CampaignId::new(campaign);
    let effect = match kind {
        TimerKind::StartCampaign => TimerEffect::Move {
            from: Scheduled,
            to: Running,
        },
        TimerKind::CloseCampaign => TimerEffect::Move {
            from: Running,
            to: Closed,
        },
        TimerKind::ExpireCampaign => TimerEffect::Move {
            from: RewardClaim,
            to: Expired,
        },
        TimerKind::RewardReminder => TimerEffect::Remind,
        TimerKind::Occurrence => TimerEffect::Occur,
        TimerKind::RunClose => TimerEffect::CloseRun,
    };
    DueTimer {
        timer_id: TimerId::new(&campaign_id, kind),
        campaign_id,
        kind,
        due_at: due,
        effect,
        run_id: None,
        next_deadline: None,
    }
}

fn record(id: &str, body: String) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.to_owned());
    record.receipt_handle = Some(format!("receipt-{id}"));
    record.body = Some(body);
    record
        .attributes
        .insert("ApproximateReceiveCount".into(), "1".into());
    record
}

fn message(id: &str, timers: &[&DueTimer]) -> SqsMessage {
    let body = TimerMessage {
        timers: timers.iter().map(|t| (*t).clone()).collect(),
    }
    .to_body();
    record(id, body)
}

fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

async fn run(ports: &FakePorts, records: Vec<SqsMessage>) -> SqsBatchResponse {
    let clock = ManualClock::at(now());
    let executor = Executor {
        ports,
        clock: &clock,
        settings: Settings {
            max_early_wait_ms: 5_000,
            catch_up_after_ms: CATCH_UP_AFTER_MS,
            log_format: LogFormat::Text,
        },
    };
    executor.run(event(records), None).await
}

fn failures(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn a_due_timer_fires_once_and_its_event_is_published_and_cleared() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    let response = run(&ports, vec![message("m1", &[&start])]).await;
    assert!(failures(&response).is_empty());
    let world = ports.world();
    assert_eq!(
        world.campaigns[&CampaignId::new("c1")],
        CampaignStatus::Running
    );
    assert_eq!(world.published.len(), 1);
    let start_event = lifecycle_domain::LifecycleEvent::for_timer(
        lifecycle_domain::EventType::CampaignStarted,
        &start.timer_id,
        &start.campaign_id,
        (CampaignStatus::Scheduled, CampaignStatus::Running),
        start.due_at,
        now(),
    );
    assert_eq!(world.published, [start_event.event_id]);
    assert!(world.outbox.is_empty(), "published events leave the outbox");
}

#[tokio::test]
async fn a_start_that_begins_a_run_publishes_its_start_and_queues_it_for_planning_once() {
    use lifecycle_domain::delivery::{PlanJob, RunEvent, RunId};
    let ports = FakePorts::default();
    let mut start = timer("c1", TimerKind::StartCampaign, now());
    let run_id = RunId::for_occurrence(now());
    start.run_id = Some(run_id.clone());
    let plain = timer("c2", TimerKind::StartCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    ports.with_campaign("c2", CampaignStatus::Scheduled, &[&plain]);
    let response = run(&ports, vec![message("m1", &[&start, &plain])]).await;
    assert!(failures(&response).is_empty());
    let again = run(&ports, vec![message("m2", &[&start])]).await;
    assert!(failures(&again).is_empty());
    let world = ports.world();
    let job = PlanJob {
        campaign_id: CampaignId::new("c1"),
        run_id: run_id.clone(),
    };
    assert_eq!(world.planned_runs, [job], "one run, queued once");
    let started = RunEvent::started(&CampaignId::new("c1"), &run_id, now());
    assert_eq!(world.published.len(), 3, "two starts and one run start");
    assert_eq!(world.published.last(), Some(&started.event_id));
}

#[tokio::test]
async fn an_occurrence_queues_its_run_and_publishes_its_start() {
    use lifecycle_domain::delivery::{PlanJob, RunEvent, RunId};
    let ports = FakePorts::default();
    let mut occurrence = timer("c1", TimerKind::Occurrence, now());
    let run_id = RunId::for_occurrence(now());
    occurrence.run_id = Some(run_id.clone());
    ports.with_campaign("c1", CampaignStatus::Running, &[&occurrence]);
    let response = run(&ports, vec![message("m1", &[&occurrence])]).await;
    assert!(failures(&response).is_empty());
    let world = ports.world();
    assert_eq!(
        world.planned_runs,
        [PlanJob {
            campaign_id: CampaignId::new("c1"),
            run_id: run_id.clone()
        }]
    );
    let started = RunEvent::started(&CampaignId::new("c1"), &run_id, now());
    assert_eq!(world.published, [started.event_id]);
    assert!(world.sent.is_empty(), "not behind: nothing re-queued");
}

#[tokio::test]
async fn an_occurrence_due_with_its_campaigns_start_fires_the_start_first() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now());
    let mut occurrence = timer("c1", TimerKind::Occurrence, now());
    occurrence.run_id = Some(lifecycle_domain::delivery::RunId::for_occurrence(now()));
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start, &occurrence]);
    let response = run(&ports, vec![message("m1", &[&occurrence])]).await;
    assert!(
        failures(&response).is_empty(),
        "not left early for a backoff"
    );
    let world = ports.world();
    assert_eq!(
        world.campaigns[&CampaignId::new("c1")],
        CampaignStatus::Running
    );
    assert_eq!(world.planned_runs.len(), 1, "the occurrence's run started");
}

#[tokio::test]
async fn an_occurrence_hands_its_next_occurrence_to_the_queue() {
    let ports = FakePorts::default();
    let mut occurrence = timer("c1", TimerKind::Occurrence, now().plus_millis(-600_000));
    occurrence.run_id = Some(lifecycle_domain::delivery::RunId::for_occurrence(
        occurrence.due_at,
    ));
    ports.with_campaign("c1", CampaignStatus::Running, &[&occurrence]);
    ports.world().occurrence_next_in = Some(60_000);
    let response = run(&ports, vec![message("m1", &[&occurrence])]).await;
    assert!(failures(&response).is_empty());
    let world = ports.world();
    assert_eq!(world.sent.len(), 1);
    let requeued = &world.sent[0].message.timers;
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0].due_at, occurrence.due_at.plus_millis(60_000));
}

#[tokio::test]
async fn an_occurrence_starting_a_run_with_a_short_window_sends_its_close() {
    let ports = FakePorts::default();
    let mut occurrence = timer("c1", TimerKind::Occurrence, now());
    occurrence.run_id = Some(lifecycle_domain::delivery::RunId::for_occurrence(now()));
    ports.with_campaign("c1", CampaignStatus::Running, &[&occurrence]);
    ports.world().window_ms = Some(30_000);
    let response = run(&ports, vec![message("m1", &[&occurrence])]).await;
    assert!(failures(&response).is_empty());
    let world = ports.world();
    let sent: Vec<&DueTimer> = world.sent.iter().flat_map(|m| &m.message.timers).collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind, TimerKind::RunClose);
    assert_eq!(sent[0].run_id, occurrence.run_id);
    assert_eq!(sent[0].due_at, now().plus_millis(30_000));
}

#[tokio::test]
async fn a_run_close_publishes_its_event_and_starts_the_buffered_run() {
    use lifecycle_domain::delivery::{PlanJob, RunEvent, RunId};
    let ports = FakePorts::default();
    let closing = RunId::for_occurrence(now().plus_millis(-60_000));
    let buffered = RunId::for_occurrence(now().plus_millis(-30_000));
    let mut close = timer("c1", TimerKind::RunClose, now());
    close.run_id = Some(closing.clone());
    ports.with_campaign("c1", CampaignStatus::Running, &[&close]);
    ports.world().buffered_run = Some(buffered.clone());
    ports.world().window_ms = Some(45_000);
    let response = run(&ports, vec![message("m1", &[&close])]).await;
    assert!(failures(&response).is_empty());
    let world = ports.world();
    let campaign = CampaignId::new("c1");
    assert_eq!(
        world.published,
        [
            RunEvent::closed(&campaign, &closing, now(), now()).event_id,
            RunEvent::started(&campaign, &buffered, now()).event_id,
        ]
    );
    assert_eq!(
        world.planned_runs,
        [PlanJob {
            campaign_id: campaign,
            run_id: buffered.clone()
        }]
    );
    let sent: Vec<&DueTimer> = world.sent.iter().flat_map(|m| &m.message.timers).collect();
    assert_eq!(sent.len(), 1, "the buffered run's close, due soon");
    assert_eq!(sent[0].run_id, Some(buffered));
    assert_eq!(sent[0].due_at, now().plus_millis(45_000));
}

#[tokio::test]
async fn a_run_close_of_a_cancelled_campaign_is_obsolete_and_sends_nothing() {
    let ports = FakePorts::default();
    let mut close = timer("c1", TimerKind::RunClose, now());
    close.run_id = Some(lifecycle_domain::delivery::RunId::for_occurrence(now()));
    ports.with_campaign("c1", CampaignStatus::Cancelled, &[&close]);
    ports.world().buffered_run = Some(lifecycle_domain::delivery::RunId::for_occurrence(now()));
    let response = run(&ports, vec![message("m1", &[&close])]).await;
    assert!(failures(&response).is_empty());
    let world = ports.world();
    assert!(world.published.is_empty());
    assert!(world.planned_runs.is_empty());
    assert!(world.sent.is_empty());
}

#[tokio::test]
async fn a_start_redelivered_after_a_crash_before_publishing_queues_its_run_then() {
    use lifecycle_domain::delivery::RunId;
    let ports = FakePorts::default();
    let mut start = timer("c1", TimerKind::StartCampaign, now());
    start.run_id = Some(RunId::for_occurrence(now()));
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    // The first executor commits, but its event is refused and its run's planning message
    // is lost (as if it died right after the commit).
    ports.world().planning = Dlq::Failing;
    let event_id = lifecycle_domain::LifecycleEvent::for_timer(
        lifecycle_domain::EventType::CampaignStarted,
        &start.timer_id,
        &start.campaign_id,
        (CampaignStatus::Scheduled, CampaignStatus::Running),
        start.due_at,
        now(),
    )
    .event_id;
    ports.world().refused_events.insert(event_id);
    let first = run(&ports, vec![message("m1", &[&start])]).await;
    assert_eq!(failures(&first), ["m1"]);
    assert!(ports.world().planned_runs.is_empty());
    {
        let mut world = ports.world();
        world.refused_events.clear();
        world.planning = Dlq::Accepting;
    }
    let again = run(&ports, vec![message("m1", &[&start])]).await;
    assert!(failures(&again).is_empty());
    assert_eq!(
        ports.world().planned_runs.len(),
        1,
        "queued by the redelivery"
    );
    let third = run(&ports, vec![message("m1", &[&start])]).await;
    assert!(failures(&third).is_empty());
    assert_eq!(
        ports.world().planned_runs.len(),
        1,
        "a published start queues nothing"
    );
}

#[tokio::test]
async fn a_run_not_queued_for_planning_leaves_the_message_done_for_the_sweeper() {
    for planning in [Dlq::Failing, Dlq::Missing] {
        let ports = FakePorts::default();
        ports.world().planning = planning;
        let mut start = timer("c1", TimerKind::StartCampaign, now());
        start.run_id = Some(lifecycle_domain::delivery::RunId::for_occurrence(now()));
        ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
        let response = run(&ports, vec![message("m1", &[&start])]).await;
        assert!(
            failures(&response).is_empty(),
            "{planning:?}: the timer fired"
        );
        let world = ports.world();
        assert!(world.planned_runs.is_empty());
        assert_eq!(
            world.campaigns[&CampaignId::new("c1")],
            CampaignStatus::Running
        );
    }
}

#[tokio::test]
async fn a_duplicate_delivery_changes_nothing_and_publishes_nothing_new() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    // The same timer twice in one batch, then once more in the next.
    let first = run(
        &ports,
        vec![message("m1", &[&start]), message("m2", &[&start])],
    )
    .await;
    let second = run(&ports, vec![message("m3", &[&start])]).await;
    assert!(failures(&first).is_empty() && failures(&second).is_empty());
    let world = ports.world();
    assert_eq!(world.applies.len(), 3, "every delivery is tried");
    assert_eq!(world.published.len(), 1, "one move, one event");
    assert_eq!(
        world.campaigns[&CampaignId::new("c1")],
        CampaignStatus::Running
    );
}

#[tokio::test]
async fn an_unpublished_event_of_an_earlier_delivery_is_published_on_the_duplicate() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    let event_id = lifecycle_domain::LifecycleEvent::for_timer(
        lifecycle_domain::EventType::CampaignStarted,
        &start.timer_id,
        &start.campaign_id,
        (CampaignStatus::Scheduled, CampaignStatus::Running),
        start.due_at,
        now(),
    )
    .event_id;
    ports.world().refused_events.insert(event_id.clone());
    let first = run(&ports, vec![message("m1", &[&start])]).await;
    assert_eq!(
        failures(&first),
        ["m1"],
        "an unpublished event fails its message"
    );
    assert!(ports.world().outbox.contains_key(&event_id));

    ports.world().refused_events.clear();
    let again = run(&ports, vec![message("m1", &[&start])]).await;
    assert!(failures(&again).is_empty());
    let world = ports.world();
    assert_eq!(world.published.len(), 1);
    assert!(world.outbox.is_empty());
}

#[tokio::test]
async fn a_timer_early_for_its_campaign_comes_back_after_a_backoff() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now());
    let close = timer("c1", TimerKind::CloseCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start, &close]);
    let response = run(&ports, vec![message("m1", &[&close])]).await;
    assert_eq!(failures(&response), ["m1"]);
    let world = ports.world();
    assert_eq!(world.timers[&close.timer_id].status, TimerStatus::Pending);
    assert_eq!(world.delays.len(), 1);
    let (receipt, seconds) = &world.delays[0];
    assert_eq!(receipt, "receipt-m1");
    assert!(
        (1..=2).contains(seconds),
        "first retry after 1-2 s, got {seconds}"
    );
    assert!(world.published.is_empty());
}

#[tokio::test]
async fn an_obsolete_timer_is_cancelled_and_its_message_completes() {
    let ports = FakePorts::default();
    let close = timer("c1", TimerKind::CloseCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Cancelled, &[&close]);
    let response = run(&ports, vec![message("m1", &[&close])]).await;
    assert!(failures(&response).is_empty());
    let world = ports.world();
    assert_eq!(world.timers[&close.timer_id].status, TimerStatus::Cancelled);
    assert!(world.published.is_empty() && world.delays.is_empty());
}

#[tokio::test]
async fn a_timer_delivered_too_early_goes_back_on_the_queue_with_its_delay() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now().plus_millis(60_000));
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    let response = run(&ports, vec![message("m1", &[&start])]).await;
    assert!(
        failures(&response).is_empty(),
        "the requeued copy carries it"
    );
    let world = ports.world();
    assert!(world.applies.is_empty());
    assert_eq!(world.sent.len(), 1);
    assert_eq!(world.sent[0].delay_seconds(now()), 59);
    assert_eq!(world.sent[0].message.timers, vec![start.clone()]);
}

#[tokio::test]
async fn an_open_breaker_puts_every_message_back_until_it_closes() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    ports.world().breaker_open_until = Some(now().plus_millis(20_000));
    let response = run(
        &ports,
        vec![message("m1", &[&start]), record("m2", "garbage".into())],
    )
    .await;
    assert_eq!(failures(&response), ["m1", "m2"]);
    let world = ports.world();
    assert!(
        world.applies.is_empty(),
        "no work while the breaker is open"
    );
    assert!(world.dead_letters.is_empty());
    assert_eq!(world.delays.len(), 2);
    for (_, seconds) in &world.delays {
        assert!(
            (21..=26).contains(seconds),
            "back after the open period plus jitter: {seconds}"
        );
    }
}

#[tokio::test]
async fn a_refused_timer_mid_batch_is_put_back_and_a_failed_one_retried() {
    let ports = FakePorts::default();
    let a = timer("a", TimerKind::StartCampaign, now());
    let b = timer("b", TimerKind::StartCampaign, now());
    ports
        .with_campaign("a", CampaignStatus::Scheduled, &[&a])
        .with_campaign("b", CampaignStatus::Scheduled, &[&b]);
    ports
        .world()
        .failing_applies
        .insert(a.timer_id.clone(), "CircuitOpen");
    ports
        .world()
        .failing_applies
        .insert(b.timer_id.clone(), "InternalServerError");
    let response = run(&ports, vec![message("m1", &[&a]), message("m2", &[&b])]).await;
    let mut failed = failures(&response);
    failed.sort();
    assert_eq!(failed, ["m1", "m2"]);
    let world = ports.world();
    let delayed: Vec<&str> = world.delays.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        delayed,
        ["receipt-m1"],
        "only the refused message gets a delay"
    );
}

#[tokio::test]
async fn a_malformed_message_goes_to_the_dlq_and_the_rest_of_the_batch_succeeds() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    let forged = DueTimer {
        effect: TimerEffect::Move {
            from: CampaignStatus::Expired,
            to: CampaignStatus::Running,
        },
        ..timer("c2", TimerKind::StartCampaign, now())
    };
    let forged_body = format!(r#"{{"timers":[{}]}}"#, serde_json_of(&forged));
    let response = run(
        &ports,
        vec![
            record("bad", forged_body.clone()),
            message("good", &[&start]),
            record("junk", "{not json".into()),
        ],
    )
    .await;
    assert!(
        failures(&response).is_empty(),
        "dead-lettered messages complete"
    );
    let world = ports.world();
    assert_eq!(
        world.campaigns[&CampaignId::new("c1")],
        CampaignStatus::Running
    );
    assert_eq!(world.dead_letters.len(), 2);
    assert_eq!(world.dead_letters[0].body, forged_body);
    assert_eq!(
        world.dead_letters[0].code,
        lifecycle_resilience::BAD_INPUT.code
    );
    assert!(world.dead_letters[0].problem.contains("cannot have effect"));
    assert!(
        world.dead_letters[1]
            .problem
            .contains("not a timer message")
    );
    assert_eq!(
        world.applies,
        vec![start.timer_id.clone()],
        "the forged timer never reached the store"
    );
}

#[tokio::test]
async fn a_malformed_message_that_cannot_be_dead_lettered_is_retried_alone() {
    for dlq in [Dlq::Failing, Dlq::Missing] {
        let ports = FakePorts::default();
        let start = timer("c1", TimerKind::StartCampaign, now());
        ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
        ports.world().dlq = dlq;
        let response = run(
            &ports,
            vec![record("bad", "[]".into()), message("good", &[&start])],
        )
        .await;
        assert_eq!(failures(&response), ["bad"], "{dlq:?}");
        assert_eq!(ports.world().published.len(), 1);
    }
}

#[tokio::test]
async fn a_message_whose_timer_differs_from_the_stored_one_is_dead_lettered() {
    let ports = FakePorts::default();
    let close = timer("c1", TimerKind::CloseCampaign, now());
    let stored = DueTimer {
        effect: TimerEffect::Move {
            from: CampaignStatus::Running,
            to: CampaignStatus::RewardClaim,
        },
        ..close.clone()
    };
    ports.with_campaign("c1", CampaignStatus::Running, &[&stored]);
    let response = run(&ports, vec![message("m1", &[&close])]).await;
    assert!(failures(&response).is_empty());
    let world = ports.world();
    assert_eq!(
        world.campaigns[&CampaignId::new("c1")],
        CampaignStatus::Running
    );
    assert_eq!(world.dead_letters.len(), 1);
    assert!(world.dead_letters[0].problem.contains("stored timer"));
}

#[tokio::test]
async fn a_record_without_an_id_fails_the_whole_batch_instead_of_counting_as_done() {
    let ports = FakePorts::default();
    let start = timer("c1", TimerKind::StartCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start]);
    let mut nameless = message("x", &[&start]);
    nameless.message_id = None;
    let response = run(&ports, vec![nameless, message("m1", &[&start])]).await;
    assert!(
        failures(&response).contains(&""),
        "an empty identifier makes Lambda retry the batch: {:?}",
        failures(&response)
    );
}

fn serde_json_of(timer: &DueTimer) -> String {
    let body = TimerMessage {
        timers: vec![timer.clone()],
    }
    .to_body();
    let inner = body
        .strip_prefix(r#"{"timers":["#)
        .and_then(|rest| rest.strip_suffix("]}"))
        .expect("a one-timer body");
    inner.to_owned()
}

/// A SCHEDULED campaign whose START died with an executor a minute ago and whose CLOSE is
/// due now.
fn start_missed_a_minute_ago(ports: &FakePorts) -> (DueTimer, DueTimer) {
    let start = timer("c1", TimerKind::StartCampaign, now().plus_millis(-60_000));
    let close = timer("c1", TimerKind::CloseCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start, &close]);
    (start, close)
}

#[tokio::test]
async fn an_early_timer_fires_its_campaigns_overdue_earlier_timer_first_then_itself() {
    let ports = FakePorts::default();
    let (start, close) = start_missed_a_minute_ago(&ports);
    let response = run(&ports, vec![message("m1", &[&close])]).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    let world = ports.world();
    assert_eq!(
        world.applies,
        [
            close.timer_id.clone(),
            start.timer_id.clone(),
            close.timer_id.clone()
        ],
        "early, then the catch-up in due order, then itself"
    );
    assert_eq!(
        world.campaigns[&CampaignId::new("c1")],
        CampaignStatus::Closed
    );
    for id in [&start.timer_id, &close.timer_id] {
        assert_eq!(world.timers[id].status, TimerStatus::Completed);
    }
    assert_eq!(world.published.len(), 2, "both events published");
    assert!(world.outbox.is_empty() && world.delays.is_empty());
}

#[tokio::test]
async fn an_earlier_timer_late_by_less_than_the_executors_timeout_is_left_to_its_own_delivery() {
    let ports = FakePorts::default();
    let start = timer(
        "c1",
        TimerKind::StartCampaign,
        now().plus_millis(-CATCH_UP_AFTER_MS),
    );
    let close = timer("c1", TimerKind::CloseCampaign, now());
    ports.with_campaign("c1", CampaignStatus::Scheduled, &[&start, &close]);
    let response = run(&ports, vec![message("m1", &[&close])]).await;
    assert_eq!(
        failures(&response),
        ["m1"],
        "early: retried after a backoff"
    );
    let world = ports.world();
    assert_eq!(world.timers[&start.timer_id].status, TimerStatus::Pending);
    assert_eq!(world.applies.len(), 1, "only the early attempt");
}

#[tokio::test]
async fn a_catch_up_that_cannot_read_or_fire_the_earlier_timer_leaves_the_timer_early() {
    for failing_read in [true, false] {
        let ports = FakePorts::default();
        let (start, close) = start_missed_a_minute_ago(&ports);
        if failing_read {
            ports.world().failing_reads.insert(CampaignId::new("c1"));
        } else {
            ports
                .world()
                .failing_applies
                .insert(start.timer_id.clone(), "InternalServerError");
        }
        let response = run(&ports, vec![message("m1", &[&close])]).await;
        assert_eq!(failures(&response), ["m1"], "failing read: {failing_read}");
        let world = ports.world();
        assert_eq!(world.delays.len(), 1, "back after its backoff");
        for id in [&start.timer_id, &close.timer_id] {
            assert_eq!(world.timers[id].status, TimerStatus::Pending);
        }
        assert!(world.published.is_empty());
    }
}

#[tokio::test]
async fn a_caught_up_event_the_bus_refused_fails_the_message_that_fired_it() {
    let ports = FakePorts::default();
    let (start, close) = start_missed_a_minute_ago(&ports);
    let start_event = lifecycle_domain::LifecycleEvent::for_timer(
        lifecycle_domain::EventType::CampaignStarted,
        &start.timer_id,
        &start.campaign_id,
        (CampaignStatus::Scheduled, CampaignStatus::Running),
        start.due_at,
        now(),
    );
    ports
        .world()
        .refused_events
        .insert(start_event.event_id.clone());
    let response = run(&ports, vec![message("m1", &[&close])]).await;
    assert_eq!(failures(&response), ["m1"], "redelivered to publish it");
    let world = ports.world();
    assert!(world.outbox.contains_key(&start_event.event_id));
    assert_eq!(
        world.campaigns[&CampaignId::new("c1")],
        CampaignStatus::Closed
    );
}
