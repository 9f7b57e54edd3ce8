//! DLQ redrive against the emulator: list with error attributes, dry run, selection and
//! limit, moved messages processed, a redrive whose sends all fail leaves every message in
//! the DLQ, and a redrive that dies half-way loses nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use integration_tests::{TestStack, due, failed_ids, raw_record};
use lifecycle_adapters::aws::{Redrive, RedriveRequest};
use lifecycle_domain::timer_messages::TimerMessage;
use lifecycle_domain::{CampaignStatus, TimerKind};
use lifecycle_resilience::Resilience;

/// Puts `bodies` into the queue `url` (as SQS's redrive policy would after maxReceiveCount).
async fn put(stack: &TestStack, url: &str, bodies: &[String]) {
    for body in bodies {
        stack
            .setup
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
}

/// Every message body in `url`, received and deleted (each copy counted).
async fn drain(stack: &TestStack, url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let output = stack
            .setup
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if output.messages().is_empty() {
            return bodies;
        }
        for message in output.messages() {
            bodies.push(message.body().unwrap_or_default().to_owned());
            stack
                .setup
                .sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

fn redrive(stack: &TestStack) -> Redrive {
    let mut redrive = Redrive::new(stack.setup.sqs.clone(), Resilience::passthrough());
    redrive.in_flight_visibility = Duration::from_secs(2);
    redrive
}

#[tokio::test]
async fn dead_letters_are_listed_moved_back_selectively_and_processed() {
    let stack = TestStack::new().await;
    let dlq = stack.queue_url("TimersDeadLetterQueue");
    let source = stack.queue_url("TimersQueue");
    let mut campaigns = Vec::new();
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let (campaign, timers) = stack.store_campaign(-1_000, 60_000, None, None).await;
        bodies.push(
            TimerMessage {
                timers: vec![due(&timers, TimerKind::StartCampaign)],
            }
            .to_body(),
        );
        campaigns.push(campaign);
    }
    put(&stack, &dlq, &bodies).await;
    let redrive = redrive(&stack);

    let letters = redrive.list(&dlq, 10).await.unwrap();
    assert_eq!(letters.len(), 3);
    assert!(
        letters
            .iter()
            .all(|l| l.receive_count >= 1 && l.sent_at.is_some())
    );

    let dry = redrive
        .redrive(
            &dlq,
            &source,
            &RedriveRequest {
                message_ids: None,
                limit: 100,
                dry_run: true,
            },
        )
        .await
        .unwrap();
    assert_eq!((dry.moved.len(), dry.examined), (3, 3));
    assert_eq!(
        redrive.list(&dlq, 10).await.unwrap().len(),
        3,
        "a dry run moves nothing"
    );

    let chosen: BTreeSet<String> = [letters[1].message_id.clone()].into();
    let one = redrive
        .redrive(
            &dlq,
            &source,
            &RedriveRequest {
                message_ids: Some(chosen.clone()),
                limit: 100,
                dry_run: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(one.moved, Vec::from_iter(chosen));
    let limited = redrive
        .redrive(
            &dlq,
            &source,
            &RedriveRequest {
                message_ids: None,
                limit: 1,
                dry_run: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(limited.moved.len(), 1);
    let rest = redrive
        .redrive(
            &dlq,
            &source,
            &RedriveRequest {
                message_ids: None,
                limit: 100,
                dry_run: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.moved.len(), 1);
    assert!(redrive.list(&dlq, 10).await.unwrap().is_empty());

    // The executor processes the moved messages.
    let received = stack
        .setup
        .sqs
        .receive_message()
        .queue_url(&source)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 3);
    assert!(received.messages().iter().all(|m| {
        m.message_attributes()
            .is_some_and(|a| a.contains_key("redrivenFrom"))
    }));
    let mut event = SqsEvent::default();
    event.records = received
        .messages()
        .iter()
        .map(|m| raw_record(m.message_id().unwrap(), m.body().unwrap()))
        .collect();
    let executor = stack.function_services("TimerExecutorFunction");
    let response = timer_executor::handle_batch(&executor, event).await;
    assert!(failed_ids(&response).is_empty());
    for campaign in &campaigns {
        assert_eq!(
            stack.campaign(&campaign.id).await.status,
            CampaignStatus::Running
        );
    }
}

#[tokio::test]
async fn a_redrive_that_dies_half_way_loses_no_message() {
    let stack = TestStack::new().await;
    let dlq = stack.queue_url("TimersDeadLetterQueue");
    let source = stack.queue_url("LifecycleEventsQueue");
    let bodies: Vec<String> = (0..25).map(|i| format!("{{\"message\":{i}}}")).collect();
    put(&stack, &dlq, &bodies).await;
    let all = RedriveRequest {
        message_ids: None,
        limit: 1_000,
        dry_run: false,
    };

    // 1. Dies between send and delete: the copies are in the source queue, every delete fails.
    let (clients, _) = stack.clients_with_faults("SQS.DeleteMessageBatch=1:500");
    let mut broken = Redrive::new(clients.sqs, Resilience::passthrough());
    broken.in_flight_visibility = Duration::from_secs(2);
    let report = broken.redrive(&dlq, &source, &all).await.unwrap();
    assert!(report.moved.is_empty());
    assert_eq!(report.failed.len(), 25, "copied, not deleted");

    // 2. Killed at a random moment (the task is dropped mid-flight).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let killed = {
        let redrive = redrive(&stack);
        let (dlq, source, all) = (dlq.clone(), source.clone(), all.clone());
        tokio::spawn(async move { redrive.redrive(&dlq, &source, &all).await })
    };
    tokio::time::sleep(Duration::from_millis(40)).await;
    killed.abort();
    let _ = killed.await;

    // 3. A full redrive after the in-flight messages reappear.
    tokio::time::sleep(Duration::from_secs(3)).await;
    redrive(&stack).redrive(&dlq, &source, &all).await.unwrap();
    assert!(
        redrive(&stack).list(&dlq, 100).await.unwrap().is_empty(),
        "DLQ empty"
    );

    let arrived: BTreeSet<String> = drain(&stack, &source).await.into_iter().collect();
    let expected: BTreeSet<String> = bodies.into_iter().collect();
    assert_eq!(
        arrived, expected,
        "every message reached the source queue at least once"
    );
}

#[tokio::test]
async fn a_redrive_whose_sends_fail_leaves_every_message_in_the_dlq() {
    let stack = TestStack::new().await;
    let dlq = stack.queue_url("TimersDeadLetterQueue");
    let source = stack.queue_url("LifecycleEventsQueue");
    // More than one receive batch.
    let bodies: Vec<String> = (0..15).map(|i| format!("{{\"message\":{i}}}")).collect();
    put(&stack, &dlq, &bodies).await;
    let all = RedriveRequest {
        message_ids: None,
        limit: 1_000,
        dry_run: false,
    };

    // Every copy is refused by the source queue (the request is spoiled, nothing is sent).
    let (clients, _) = stack.clients_with_faults("SQS.SendMessageBatch=1.0:500");
    let mut broken = Redrive::new(clients.sqs, Resilience::passthrough());
    broken.in_flight_visibility = Duration::from_secs(2);
    let report = broken.redrive(&dlq, &source, &all).await.unwrap();
    assert!(report.moved.is_empty(), "{report:?}");
    assert_eq!(report.failed.len(), 15, "{report:?}");
    assert!(
        report
            .failed
            .iter()
            .all(|(_, reason)| reason.contains("SendMessageBatch")),
        "{report:?}"
    );

    // None lost: all 15 are still in the DLQ (listing waits out no visibility timeout: the
    // redrive released what it kept), and nothing reached the source queue.
    let left: BTreeSet<String> = redrive(&stack)
        .list(&dlq, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|letter| letter.body)
        .collect();
    let expected: BTreeSet<String> = bodies.iter().cloned().collect();
    assert_eq!(left, expected, "every message is still in the DLQ");
    assert!(drain(&stack, &source).await.is_empty());

    // Once sends work again, a redrive moves them all.
    let report = redrive(&stack).redrive(&dlq, &source, &all).await.unwrap();
    assert_eq!(report.moved.len(), 15, "{report:?}");
    let arrived: BTreeSet<String> = drain(&stack, &source).await.into_iter().collect();
    assert_eq!(arrived, expected);
}
