//! The delivery planner and sender functions together against the emulator, as
//! `DeliveryPlannerFunction` and `DeliverySenderFunction` (template environments and IAM
//! policies): a run's stored list is planned into batches on the deliveries queue, a second
//! planning message plans nothing twice, and sending every batch completes the run with each
//! recipient counted once and its events published.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use integration_tests::TestStack;
use lifecycle_domain::delivery::message::EventMessage;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, BatchJob, Message, PlanJob, RunId, RunRecord, RunStatus,
};
use lifecycle_domain::{CampaignId, Timestamp};

fn event(id: &str, body: &str) -> SqsEvent {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.into());
    record.body = Some(body.into());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    event
}

#[tokio::test]
async fn a_stored_list_is_planned_into_batches_once_and_sent_to_completion() {
    let stack = TestStack::new().await;
    let rows: Vec<String> = (0..120)
        .map(|n| format!(r#"{{"id":"r{n}","address":"member-{n}"}}"#))
        .collect();
    let body = rows.join("\n") + "\n";
    let list = stack.upload_list("lists/members.jsonl", &body).await;
    let now = Timestamp::now();
    let run = RunRecord::start(
        CampaignId::generate(),
        RunId::for_occurrence(now),
        Message::Event(EventMessage { detail: None }),
        list,
        AmbiguousPolicy::Resend,
        now,
    );
    let store = &stack.services.store;
    assert!(store.create_run(&run, now).await.unwrap());
    let plan = PlanJob {
        campaign_id: run.campaign_id.clone(),
        run_id: run.run_id.clone(),
    };

    let planner = stack.delivery_planner();
    let planned =
        delivery_planner::handle_until(&planner, event("p1", &plan.to_body()), None).await;
    assert!(planned.batch_item_failures.is_empty());
    let stored = store
        .get_run(&run.campaign_id, &run.run_id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.planned);
    assert_eq!(stored.total, 120);
    assert_eq!(stored.status, RunStatus::Sending);
    let batches: Vec<BatchJob> = stack
        .drain("DeliveriesQueue")
        .await
        .iter()
        .map(|body| BatchJob::parse(body).unwrap())
        .collect();
    let mut rows: Vec<u32> = batches.iter().map(|job| job.batch.rows).collect();
    rows.sort_unstable();
    assert_eq!(rows, [20, 50, 50]);

    // The planning message again: nothing new is cut; the last group is queued again
    // (harmless: a batch is sent once).
    let again = delivery_planner::handle_until(&planner, event("p1", &plan.to_body()), None).await;
    assert!(again.batch_item_failures.is_empty());
    let requeued = stack.drain("DeliveriesQueue").await;
    assert!(requeued.len() <= batches.len(), "{requeued:?}");
    assert_eq!(
        store
            .get_run(&run.campaign_id, &run.run_id)
            .await
            .unwrap()
            .unwrap()
            .total,
        120
    );

    let sender = stack.delivery_sender().await;
    for (n, job) in batches.iter().chain(batches.iter()).enumerate() {
        let response =
            delivery_sender::handle_until(&sender, event(&format!("b{n}"), &job.to_body()), None)
                .await;
        assert!(response.batch_item_failures.is_empty());
    }
    let done = store
        .get_run(&run.campaign_id, &run.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, RunStatus::Completed);
    assert_eq!(done.counts.sent, 120);
    assert_eq!(done.counts.duplicates, 0);

    // The sender published each recipient's delivery and the completion itself, once each
    // (the bus delivers at least once; consumers dedupe on the event id).
    let events = stack.lifecycle_events(121, Duration::from_secs(10)).await;
    let ids_of = |detail_type: &str| {
        events
            .iter()
            .filter(|e| e["detail-type"] == detail_type)
            .map(|e| e["detail"]["eventId"].to_string())
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(ids_of("RecipientDelivery").len(), 120);
    assert_eq!(ids_of("CampaignRunCompleted").len(), 1);
    // Progress after the first recorded batch, then at most every 5 s (three batches are
    // recorded, so one event, or more on a slow machine).
    let progress: Vec<_> = events
        .iter()
        .filter(|e| e["detail-type"] == "CampaignRunProgress")
        .collect();
    assert!((1..=3).contains(&progress.len()), "{progress:?}");
    assert_eq!(progress[0]["detail"]["runId"], run.run_id.to_string());
}
