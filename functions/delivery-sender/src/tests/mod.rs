//! The handler's message handling through fakes: malformed messages and messages of runs that
//! do not exist go to the DLQ without touching the others; an unfinished batch is redelivered
//! after the engine's delay; a sent batch completes its message; a recorded batch's metric
//! line. (The engine itself is tested in `lifecycle-delivery`, the AWS ports against the
//! emulator in `tests/`.)

mod fakes;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use lifecycle_delivery::sender::Settings;
use lifecycle_domain::delivery::{BatchJob, PlannedBatch, RunId};
use lifecycle_domain::{CampaignId, ManualClock, Timestamp};

use crate::messages::BatchMessages;
use fakes::{FakeQueue, FakeRuns};

fn record(id: &str, body: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.into());
    record.receipt_handle = Some(format!("receipt-{id}"));
    record.body = Some(body.into());
    record
}

fn job(campaign: &str) -> BatchJob {
    BatchJob {
        campaign_id: CampaignId::new(campaign),
        run_id: RunId::new("20261202T090000000Z"),
        batch: PlannedBatch {
            seq: 0,
            first_row: 0,
            rows: 1,
            start_byte: 0,
            end_byte: 10,
        },
    }
}

fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

async fn run(runs: &FakeRuns, queue: &FakeQueue, records: Vec<SqsMessage>) -> Vec<String> {
    let clock = ManualClock::at(Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap());
    let messages = BatchMessages {
        ports: runs,
        queue,
        clock: &clock,
        settings: Settings::default(),
    };
    messages
        .run(event(records), None)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

#[tokio::test]
async fn bad_messages_go_to_the_dlq_and_the_others_are_sent() {
    let runs = FakeRuns::with_run("c-sent");
    let queue = FakeQueue::with_dlq();
    let failed = run(
        &runs,
        &queue,
        vec![
            record("m1", "not json"),
            record("m2", &job("c-missing").to_body()),
            record("m3", &job("c-sent").to_body()),
        ],
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    let dead = queue.dead_lettered();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert_eq!(dead[0].0, "not json");
    assert!(
        dead[0].1.contains("not a delivery batch message"),
        "{dead:?}"
    );
    assert_eq!(dead[1].0, job("c-missing").to_body());
    assert_eq!(runs.sent_batches(), vec!["c-sent".to_owned()]);
}

#[tokio::test]
async fn without_a_dlq_bad_messages_are_retried_until_the_redrive_policy_takes_them() {
    let runs = FakeRuns::with_run("c-sent");
    let queue = FakeQueue::without_dlq();
    let failed = run(
        &runs,
        &queue,
        vec![record("m1", "{}"), record("m2", &job("c-sent").to_body())],
    )
    .await;
    assert_eq!(failed, ["m1"]);
    assert!(queue.dead_lettered().is_empty());
}

#[tokio::test]
async fn an_unfinished_batch_comes_back_after_the_engine_s_delay() {
    let runs = FakeRuns::with_run("c-busy").lease_held();
    let queue = FakeQueue::with_dlq();
    let failed = run(&runs, &queue, vec![record("m1", &job("c-busy").to_body())]).await;
    assert_eq!(failed, ["m1"]);
    let delays = queue.delays();
    assert_eq!(delays.len(), 1, "{delays:?}");
    assert_eq!(delays[0].0, "receipt-m1");
    assert!(delays[0].1 >= 1, "{delays:?}");
}

#[tokio::test]
async fn a_record_without_an_id_fails_the_whole_event() {
    let runs = FakeRuns::with_run("c-sent");
    let queue = FakeQueue::with_dlq();
    let mut anonymous = record("x", "{}");
    anonymous.message_id = None;
    let failed = run(&runs, &queue, vec![anonymous]).await;
    assert_eq!(failed, [""]);
}

#[test]
fn a_recorded_batch_is_one_catalogued_line_per_channel() {
    use lifecycle_domain::delivery::{Channel, Counts, Progress};
    use lifecycle_telemetry::LogFormat;

    let counts = Counts {
        sent: 40,
        failed: 3,
        unconfirmed: 2,
        duplicates: 5,
        ..Counts::default()
    };
    let progress = Progress {
        total: 500,
        planned: true,
        counts: Counts {
            sent: 100,
            ..counts
        },
    };
    let values: Vec<(&str, Vec<f64>)> = crate::batch_metrics(counts, progress)
        .into_iter()
        .map(|m| (m.def.name, m.values))
        .collect();
    assert_eq!(
        values,
        [
            ("DeliveriesSent", vec![40.0]),
            ("DeliveriesFailed", vec![3.0]),
            ("DeliveriesUnconfirmed", vec![2.0]),
            ("RecipientsSettled", vec![50.0]),
            ("RunRecipientsPending", vec![390.0]),
        ]
    );
    // The catalogue's check (debug builds) accepts every channel's line.
    for channel in [Channel::Email, Channel::Webhook, Channel::Event] {
        crate::emit_batch_metrics(LogFormat::Text, channel, counts, progress);
    }
}
