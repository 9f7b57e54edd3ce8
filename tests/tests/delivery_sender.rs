//! The delivery sender function against the emulator, as `DeliverySenderFunction` (its
//! template environment and IAM policy): a batch of an email run is sent through SES once per
//! recipient (a repeated id once, counted as a duplicate), the run completes with its counts,
//! a redelivered message sends nothing again, and a malformed message goes to the DLQ; a
//! webhook batch is signed with the secret from SSM, and a gone endpoint is a failed
//! recipient.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use integration_tests::TestStack;
use integration_tests::delivery::{SECRET, emails_by_address, webhook_receiver};
use lifecycle_domain::delivery::batch_plan::PlanCommit;
use lifecycle_domain::delivery::message::{EmailMessage, WebhookMessage};
use lifecycle_domain::delivery::secret_ref::SecretRef;
use lifecycle_domain::delivery::template::{PayloadTemplate, Template};
use lifecycle_domain::delivery::webhook_signature::{SigningKey, webhook_id};
use lifecycle_domain::delivery::{
    AmbiguousPolicy, BatchJob, Message, PlanCursor, PlannedBatch, RunId, RunRecord, RunStatus,
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
async fn an_email_batch_is_sent_once_per_recipient_and_completes_its_run() {
    let stack = TestStack::new().await;
    let delivery = &stack.setup.delivery;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let from = format!("offers@{tag}.example.com");
    delivery
        .sesv2
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let address = |n: u32| format!("r{n}-{tag}@example.org");
    let rows = [
        format!(
            r#"{{"id":"r1","address":"{}","vars":{{"name":"Ann"}}}}"#,
            address(1)
        ),
        format!(
            r#"{{"id":"r2","address":"{}","vars":{{"name":"Bo"}}}}"#,
            address(2)
        ),
        format!(
            r#"{{"id":"r3","address":"{}","vars":{{"name":"Cy"}}}}"#,
            address(3)
        ),
        format!(
            r#"{{"id":"r2","address":"{}","vars":{{"name":"Bo"}}}}"#,
            address(2)
        ),
    ];
    let body = rows.join("\n") + "\n";
    let list = stack
        .upload_list(&format!("inline/{tag}/recipients.jsonl"), &body)
        .await;

    let now = Timestamp::now();
    let run = RunRecord::start(
        CampaignId::generate(),
        RunId::for_occurrence(now),
        Message::Email(EmailMessage {
            from: from.clone(),
            subject: Template::parse("Hi {{name}}").unwrap(),
            text: Some(Template::parse("Hello {{name}}").unwrap()),
            html: None,
        }),
        list,
        AmbiguousPolicy::Skip,
        now,
    );
    let store = &stack.services.store;
    let job = plan_one_batch(&stack, &run, body.len() as u64, 4, now).await;

    let sender = stack.delivery_sender().await;
    let response = delivery_sender::handle_until(&sender, event("m1", &job.to_body()), None).await;
    assert!(response.batch_item_failures.is_empty());
    let emails = emails_by_address().await;
    for n in 1..=3 {
        assert_eq!(emails.get(&address(n)), Some(&1), "recipient r{n}");
    }
    let stored = store
        .get_run(&run.campaign_id, &run.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, RunStatus::Completed);
    assert_eq!(stored.counts.sent, 3);
    assert_eq!(stored.counts.duplicates, 1);
    assert!(stored.completed_at.is_some());

    // The same message again (SQS delivers at least once): nothing is sent twice.
    let again = delivery_sender::handle_until(&sender, event("m1", &job.to_body()), None).await;
    assert!(again.batch_item_failures.is_empty());
    let emails = emails_by_address().await;
    for n in 1..=3 {
        assert_eq!(
            emails.get(&address(n)),
            Some(&1),
            "recipient r{n} after a redelivery"
        );
    }

    // A malformed message goes to the DLQ at once, and completes.
    let bad = delivery_sender::handle_until(&sender, event("m2", "{\"batch\":1}"), None).await;
    assert!(bad.batch_item_failures.is_empty());
    let dlq = stack.queue_url("DeliveriesDeadLetterQueue");
    let received = stack
        .setup
        .sqs
        .receive_message()
        .queue_url(&dlq)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let messages = received.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].body.as_deref(), Some("{\"batch\":1}"));
    let code = messages[0]
        .message_attributes
        .as_ref()
        .and_then(|attributes| attributes.get("errorCode"))
        .and_then(|value| value.string_value.clone());
    assert_eq!(code.as_deref(), Some("BAD_DELIVERY_MESSAGE"));
}

#[tokio::test]
async fn a_webhook_batch_is_signed_and_a_gone_endpoint_is_a_failed_recipient() {
    let stack = TestStack::new().await;
    // Where the template lets the sender read signing secrets: /<stack name>/webhooks/…
    let parameter = format!("/{}/webhooks/partner", stack.stack.name);
    stack.put_secret_parameter(&parameter, SECRET).await;
    let (base, seen) = webhook_receiver(SigningKey::parse(SECRET).unwrap()).await;
    let body = format!(
        "{{\"id\":\"a\",\"address\":\"{base}/ok\",\"vars\":{{\"name\":\"A\"}}}}\n{{\"id\":\"b\",\"address\":\"{base}/gone\",\"vars\":{{\"name\":\"B\"}}}}\n"
    );
    let list = stack.upload_list("hooks.jsonl", &body).await;
    let now = Timestamp::now();
    let run = RunRecord::start(
        CampaignId::generate(),
        RunId::for_occurrence(now),
        Message::Webhook(WebhookMessage {
            payload: PayloadTemplate::parse(serde_json::json!({"hello": "{{name}}"})).unwrap(),
            secret_ref: SecretRef::Parameter(parameter),
        }),
        list,
        AmbiguousPolicy::Resend,
        now,
    );
    let job = plan_one_batch(&stack, &run, body.len() as u64, 2, now).await;

    let sender = stack.delivery_sender().await;
    let response = delivery_sender::handle_until(&sender, event("m1", &job.to_body()), None).await;
    assert!(response.batch_item_failures.is_empty());
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|(_, _, valid)| *valid), "{seen:?}");
    assert_eq!(
        seen[0].1,
        webhook_id(&run.campaign_id, &run.run_id, "a"),
        "the webhook-id is stable per (run, recipient)"
    );
    let stored = stack
        .services
        .store
        .get_run(&run.campaign_id, &run.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, RunStatus::Completed);
    assert_eq!((stored.counts.sent, stored.counts.failed), (1, 1));
}

/// Stores `run` and commits its whole list (`bytes` long, `rows` recipients) as one batch.
async fn plan_one_batch(
    stack: &TestStack,
    run: &RunRecord,
    bytes: u64,
    rows: u32,
    now: Timestamp,
) -> BatchJob {
    let store = &stack.services.store;
    assert!(store.create_run(run, now).await.unwrap());
    let batch = PlannedBatch {
        seq: 0,
        first_row: 0,
        rows,
        start_byte: 0,
        end_byte: bytes,
    };
    let commit = PlanCommit {
        cursor: PlanCursor {
            byte_offset: bytes,
            next_row: u64::from(rows),
            next_batch: 1,
        },
        group: vec![batch],
        last: true,
    };
    store
        .commit_plan(
            &run.campaign_id,
            &run.run_id,
            PlanCursor::default(),
            &commit,
            now,
        )
        .await
        .unwrap()
        .expect("the plan is committed");
    BatchJob {
        campaign_id: run.campaign_id.clone(),
        run_id: run.run_id.clone(),
        batch,
    }
}
