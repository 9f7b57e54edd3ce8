//! The handler's message handling through fakes: malformed messages and messages of runs that
//! do not exist go to the DLQ without touching the others; a run whose store fails is
//! redelivered; a planned run completes its message. (The engine itself is tested in
//! `lifecycle-delivery`, the AWS ports against the emulator in `tests/`.)

mod fakes;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lifecycle_delivery::planner::Settings;
use lifecycle_domain::delivery::{PlanJob, RunId};
use lifecycle_domain::{CampaignId, ManualClock, Timestamp};

use crate::messages::PlanMessages;
use fakes::{FakeDeadLetters, FakeRuns};

fn record(id: &str, body: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.into());
    record.body = Some(body.into());
    record
}

fn job(campaign: &str) -> String {
    PlanJob {
        campaign_id: CampaignId::new(campaign),
        run_id: RunId::new("20261202T090000000Z"),
    }
    .to_body()
}

async fn run(runs: &FakeRuns, dead: &FakeDeadLetters, records: Vec<SqsMessage>) -> Vec<String> {
    let clock = ManualClock::at(Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap());
    let messages = PlanMessages {
        ports: runs,
        queue: dead,
        clock: &clock,
        settings: Settings::default(),
    };
    let mut event = SqsEvent::default();
    event.records = records;
    messages
        .run(event, None)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

#[tokio::test]
async fn bad_messages_go_to_the_dlq_and_failures_are_redelivered() {
    let runs = FakeRuns::default();
    let dead = FakeDeadLetters::with_dlq();
    let failed = run(
        &runs,
        &dead,
        vec![
            record("m1", "[]"),
            record("m2", &job("c-missing")),
            record("m3", &job("c-broken")),
            record("m4", &job("c-planned")),
        ],
    )
    .await;
    assert_eq!(failed, ["m3"]);
    let dead = dead.dead_lettered();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(
        dead[0].1.contains("not a delivery planning message"),
        "{dead:?}"
    );
    assert_eq!(dead[1].0, job("c-missing"));
    assert_eq!(runs.loaded(), ["c-missing", "c-broken", "c-planned"]);
}

#[tokio::test]
async fn without_a_dlq_bad_messages_are_retried_until_the_redrive_policy_takes_them() {
    let runs = FakeRuns::default();
    let dead = FakeDeadLetters::without_dlq();
    let failed = run(
        &runs,
        &dead,
        vec![record("m1", "{}"), record("m2", &job("c-planned"))],
    )
    .await;
    assert_eq!(failed, ["m1"]);
    assert!(dead.dead_lettered().is_empty());
}

#[tokio::test]
async fn a_record_without_an_id_fails_the_whole_event() {
    let mut anonymous = record("x", "{}");
    anonymous.message_id = None;
    let failed = run(
        &FakeRuns::default(),
        &FakeDeadLetters::with_dlq(),
        vec![anonymous],
    )
    .await;
    assert_eq!(failed, [""]);
}
