//! Bulk deliveries end to end against the emulator, from `POST /campaigns` on: the API stores
//! an inline list (or checks a stored one) and the campaign's SCHEDULED run; its START begins
//! the run and queues it for planning; planner and sender send each recipient once; the run's
//! counts and recipients are read back through the API and its events reach the bus. Also:
//! a campaign cancelled mid-run or before its start, throttling that delays but never loses or
//! doubles, the sweeper repairing a run and starting one with a late START it made itself,
//! and a 400 naming every bad delivery field.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use integration_tests::TestStack;
use integration_tests::delivery::{SECRET, emails_by_address, one_message, webhook_receiver};
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use lifecycle_domain::recovery::SweepStep;
use lifecycle_domain::{CampaignId, CampaignStatus, TimerKind, Timestamp};
use serde_json::{Value, json};

/// A campaign body starting now (its START is sent to the timers queue at once).
fn campaign(delivery: Value) -> String {
    let now = Timestamp::now();
    json!({
        "name": "Spring sale",
        "startAt": now.plus_millis(-1_000).to_rfc3339(),
        "endAt": now.plus_millis(3_600_000).to_rfc3339(),
        "delivery": delivery,
    })
    .to_string()
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Creates a campaign through the API from `body`; its id.
async fn create(stack: &TestStack, body: &str) -> String {
    let (status, created) = stack.api(Method::POST, "/campaigns", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// An event-channel delivery to `count` members.
fn to_members(count: usize) -> Value {
    let recipients: Vec<Value> = (0..count)
        .map(|n| json!({"id": format!("r{n}"), "address": format!("member-{n}")}))
        .collect();
    json!({"channel": "event", "recipients": recipients})
}

/// Polls `GET /campaigns/{id}` until its latest run is `status`; returns the run.
async fn run_in(stack: &TestStack, id: &str, status: &str, patience: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let (code, campaign) = stack
            .api(Method::GET, &format!("/campaigns/{id}"), None)
            .await;
        assert_eq!(code, StatusCode::OK, "{campaign}");
        let run = campaign["runs"][0].clone();
        if run["status"] == status || tokio::time::Instant::now() >= deadline {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Event ids seen on the bus for `campaign`, by detail-type (consumers dedupe on eventId).
async fn run_events(stack: &TestStack, campaign: &str, expected: usize) -> BTreeMap<String, usize> {
    let events = stack
        .lifecycle_events(expected, Duration::from_secs(10))
        .await;
    let unique: BTreeMap<String, String> = events
        .iter()
        .filter(|e| e["detail"]["campaignId"] == campaign)
        .map(|e| {
            (
                e["detail"]["eventId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e["detail-type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut counts = BTreeMap::new();
    for detail_type in unique.into_values() {
        *counts.entry(detail_type).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_email_campaign_sends_each_recipient_once_on_the_local_runtime() {
    let stack = TestStack::new().await;
    let from = format!("offers@{}.example.com", unique("shop"));
    stack.verify_sender(&from).await;
    let local = stack.run_locally(Duration::from_secs(2)).await;

    let domain = unique("people");
    let mut recipients: Vec<Value> = (0..60)
        .map(|n| json!({"id": format!("r{n}"), "address": format!("p{n}@{domain}.example.org"), "vars": {"name": format!("P{n}")}}))
        .collect();
    // A repeated id: sent once, counted as a duplicate.
    recipients.push(json!({"id": "r7", "address": format!("again@{domain}.example.org"), "vars": {"name": "Again"}}));
    let body = campaign(json!({
        "channel": "email", "from": from, "subject": "Hi {{name}}",
        "text": "Hello {{name}}, spring is here.", "recipients": recipients,
    }));
    let (status, created) = stack.api(Method::POST, "/campaigns", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["delivery"]["channel"], "email");
    assert_eq!(
        created["delivery"]["recipientsUri"],
        format!(
            "s3://{}/inline/{id}.jsonl",
            stack.stack.reference("ListsBucket").unwrap()
        )
    );

    let run = run_in(&stack, &id, "COMPLETED", Duration::from_secs(60)).await;
    assert_eq!(run["status"], "COMPLETED", "{run}");
    let counts = (
        &run["total"],
        &run["sent"],
        &run["failed"],
        &run["pending"],
        &run["duplicates"],
        &run["ambiguous"],
    );
    assert_eq!(
        counts,
        (
            &json!(61),
            &json!(60),
            &json!(0),
            &json!(0),
            &json!(1),
            &json!(0)
        ),
        "{run}"
    );
    assert!(run["startedAt"].is_string() && run["completedAt"].is_string());
    let emails = emails_by_address().await;
    for n in 0..60 {
        let address = format!("p{n}@{domain}.example.org");
        assert_eq!(emails.get(&address), Some(&1), "{address}");
    }
    assert_eq!(emails.get(&format!("again@{domain}.example.org")), None);

    let (status, runs) = stack
        .api(Method::GET, &format!("/campaigns/{id}/runs"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1);
    assert_eq!(runs["runs"][0]["runId"], run["runId"]);

    let events = run_events(&stack, &id, 3).await;
    assert_eq!(events.get("CampaignRunStarted"), Some(&1), "{events:?}");
    assert_eq!(events.get("CampaignRunCompleted"), Some(&1), "{events:?}");

    local.stop().await;
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_webhook_campaign_signs_each_call_and_lists_its_failed_recipient() {
    let stack = TestStack::new().await;
    let parameter = format!("/{}/webhooks/partner", stack.stack.name);
    stack.put_secret_parameter(&parameter, SECRET).await;
    let (base, seen) = webhook_receiver(SigningKey::parse(SECRET).unwrap()).await;
    let mut recipients: Vec<Value> = (0..3)
        .map(|n| json!({"id": format!("m{n}"), "address": format!("{base}/ok"), "vars": {"member": format!("M{n}")}}))
        .collect();
    recipients
        .push(json!({"id": "gone", "address": format!("{base}/gone"), "vars": {"member": "G"}}));
    let body = campaign(json!({
        "channel": "webhook", "payload": {"member": "{{member}}", "offer": "spring"},
        "secretRef": format!("ssm:{parameter}"), "recipients": recipients,
    }));
    let id = create(&stack, &body).await;

    let batches = stack.start_and_plan().await;
    assert_eq!(batches.len(), 1, "{batches:?}");
    let sender = stack.delivery_sender().await;
    let response = delivery_sender::handle_until(&sender, one_message(&batches[0]), None).await;
    assert!(response.batch_item_failures.is_empty());

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen.iter().all(|(_, _, valid)| *valid), "{seen:?}");
    let run = run_in(&stack, &id, "COMPLETED", Duration::from_secs(5)).await;
    assert_eq!(
        (&run["sent"], &run["failed"]),
        (&json!(3), &json!(1)),
        "{run}"
    );
    let run_id = run["runId"].as_str().unwrap();

    let (status, failed) = stack
        .api(
            Method::GET,
            &format!("/campaigns/{id}/runs/{run_id}/recipients?status=failed"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    let listed = failed["recipients"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{failed}");
    assert_eq!(listed[0]["recipientId"], "gone");
    assert_eq!(listed[0]["status"], "FAILED");
    assert!(
        listed[0]["reason"].as_str().unwrap().contains("410"),
        "{failed}"
    );

    for (path, expected) in [
        (
            format!("/campaigns/{id}/runs/{run_id}/recipients"),
            "status",
        ),
        (
            format!("/campaigns/{id}/runs/{run_id}/recipients?status=sent"),
            "status",
        ),
        (
            format!("/campaigns/{id}/runs/{run_id}/recipients?status=failed&limit=0"),
            "limit",
        ),
    ] {
        let (status, error) = stack.api(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {error}");
        assert!(error["error"]["fields"][expected].is_string(), "{error}");
    }
    let (status, _) = stack
        .api(
            Method::GET,
            &format!("/campaigns/{id}/runs/20990101T000000000Z/recipients?status=failed"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn cancelling_mid_run_counts_the_unsent_cancelled_and_completes_the_run_once() {
    let stack = TestStack::new().await;
    let id = create(&stack, &campaign(to_members(120))).await;

    let batches = stack.start_and_plan().await;
    assert_eq!(batches.len(), 3, "120 recipients in batches of 50");
    let sender = stack.delivery_sender().await;
    let first = delivery_sender::handle_until(&sender, one_message(&batches[0]), None).await;
    assert!(first.batch_item_failures.is_empty());

    let (status, cancelled) = stack
        .api(Method::POST, &format!("/campaigns/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let run = run_in(&stack, &id, "CANCELLED", Duration::from_secs(1)).await;
    assert_eq!(run["status"], "CANCELLED");
    assert!(
        run["completedAt"].is_null(),
        "two batches are still queued: {run}"
    );

    for batch in &batches[1..] {
        let response = delivery_sender::handle_until(&sender, one_message(batch), None).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let run = run_in(&stack, &id, "CANCELLED", Duration::from_secs(1)).await;
    let sent = run["sent"].as_u64().unwrap();
    assert!(
        sent >= 50,
        "the first batch was sent before the cancel: {run}"
    );
    assert_eq!(run["cancelled"].as_u64().unwrap(), 120 - sent, "{run}");
    assert_eq!(run["pending"], 0);
    assert!(run["completedAt"].is_string(), "{run}");

    let events = run_events(&stack, &id, 4).await;
    assert_eq!(events.get("CampaignRunCompleted"), Some(&1), "{events:?}");
    assert_eq!(
        events.get("RecipientDelivery").copied().unwrap_or(0) as u64,
        sent,
        "{events:?}"
    );
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_campaign_cancelled_before_its_start_never_sends() {
    let stack = TestStack::new().await;
    let now = Timestamp::now();
    let body = json!({
        "name": "later",
        "startAt": now.plus_millis(3_600_000).to_rfc3339(),
        "endAt": now.plus_millis(7_200_000).to_rfc3339(),
        "delivery": {"channel": "event", "recipients": [{"id": "r1", "address": "m1"}]},
    })
    .to_string();
    let id = create(&stack, &body).await;
    let run = run_in(&stack, &id, "SCHEDULED", Duration::from_secs(1)).await;
    assert_eq!(run["status"], "SCHEDULED");
    assert!(run["startedAt"].is_null());
    let (status, _) = stack
        .api(Method::POST, &format!("/campaigns/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let run = run_in(&stack, &id, "CANCELLED", Duration::from_secs(1)).await;
    assert_eq!(run["status"], "CANCELLED");
    assert!(run["completedAt"].is_string() && run["startedAt"].is_null());
    assert!(stack.drain("PlanningQueue").await.is_empty());
}

#[tokio::test]
async fn provider_throttling_delays_sends_but_never_loses_or_doubles_one() {
    let stack = TestStack::new().await;
    let from = format!("offers@{}.example.com", unique("shop"));
    stack.verify_sender(&from).await;
    let domain = unique("busy");
    let recipients: Vec<Value> = (0..40)
        .map(|n| json!({"id": format!("r{n}"), "address": format!("p{n}@{domain}.example.org")}))
        .collect();
    let body = campaign(json!({
        "channel": "email", "from": from, "subject": "Hi", "text": "Hello",
        "recipients": recipients,
    }));
    let id = create(&stack, &body).await;
    let batches = stack.start_and_plan().await;
    assert_eq!(batches.len(), 1);

    // SES answers "Maximum sending rate exceeded" to a third of the sends.
    let (sender, injector) = stack
        .delivery_sender_with_faults("SESv2.SendEmail=0.33:throttle")
        .await;
    let response = delivery_sender::handle_until(&sender, one_message(&batches[0]), None).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(injector.total() > 0, "throttles were injected");
    let run = run_in(&stack, &id, "COMPLETED", Duration::from_secs(5)).await;
    assert_eq!(
        (&run["sent"], &run["ambiguous"]),
        (&json!(40), &json!(0)),
        "{run}"
    );
    let emails = emails_by_address().await;
    for n in 0..40 {
        let address = format!("p{n}@{domain}.example.org");
        assert_eq!(emails.get(&address), Some(&1), "{address}");
    }
}

#[tokio::test]
async fn the_sweeper_sets_a_run_going_again_after_its_planning_and_its_last_batch_were_lost() {
    let stack = TestStack::new().await;
    let id = create(&stack, &campaign(to_members(120))).await;
    let executor = stack.function_services("TimerExecutorFunction");
    for body in stack.drain("TimersQueue").await {
        timer_executor::handle_batch(&executor, one_message(&body)).await;
    }
    // The planning message dies: the run sits in PLANNING.
    assert_eq!(stack.drain("PlanningQueue").await.len(), 1);
    let sweeper = stack.function_services("SweeperFunction");
    let request = sweeper::SweepRequest {
        dry_run: false,
        steps: Some(vec![SweepStep::StalledRuns]),
    };
    // An hour later, as far as the stall threshold is concerned.
    let later = || Timestamp::now().plus_millis(3_600_000);
    let report = sweeper::sweep(&sweeper, &request, later(), None).await;
    assert!(report.success, "{report:#?}");
    assert_eq!(report.totals.runs_repaired, 1);
    let again = sweeper::sweep(&sweeper, &request, later(), None).await;
    assert_eq!(
        again.totals.runs_repaired, 0,
        "a repaired run is held for a stall period: {again:#?}"
    );
    let planner = stack.delivery_planner();
    for body in stack.drain("PlanningQueue").await {
        delivery_planner::handle_until(&planner, one_message(&body), None).await;
    }
    let batches = stack.drain("DeliveriesQueue").await;
    assert_eq!(batches.len(), 3);
    // Two batches are sent; the last one's message is lost.
    let sender = stack.delivery_sender().await;
    for batch in &batches[..2] {
        delivery_sender::handle_until(&sender, one_message(batch), None).await;
    }
    let run = run_in(&stack, &id, "SENDING", Duration::from_secs(1)).await;
    assert_eq!(run["pending"], 20, "{run}");

    // The senders are behind: a message waits in the deliveries queue (a copy of a sent
    // batch). Two stall periods on, within the backstop, the run is left to the backlog: not
    // held, no copy queued.
    stack
        .setup
        .sqs
        .send_message()
        .queue_url(stack.queue_url("DeliveriesQueue"))
        .message_body(&batches[0])
        .send()
        .await
        .unwrap();
    let stall_ms = i64::from(sweeper.config.sweep.run_stall_secs) * 1000;
    let soon = || Timestamp::now().plus_millis(2 * stall_ms);
    let report = sweeper::sweep(&sweeper, &request, soon(), None).await;
    assert!(report.success, "{report:#?}");
    let step = report
        .steps
        .iter()
        .find(|s| s.step == SweepStep::StalledRuns);
    assert_eq!(step.unwrap().get("queue_behind"), 1, "{report:#?}");
    assert_eq!(report.totals.runs_repaired, 0);
    assert_eq!(stack.drain("DeliveriesQueue").await, [batches[0].clone()]);

    // The queue drained: the lost batch is queued again.
    let report = sweeper::sweep(&sweeper, &request, soon(), None).await;
    assert!(report.success, "{report:#?}");
    assert_eq!(report.totals.runs_repaired, 1, "{report:#?}");
    let requeued = stack.drain("DeliveriesQueue").await;
    assert!(!requeued.is_empty());
    for batch in &requeued {
        delivery_sender::handle_until(&sender, one_message(batch), None).await;
    }
    let run = run_in(&stack, &id, "COMPLETED", Duration::from_secs(1)).await;
    assert_eq!(
        (&run["status"], &run["sent"]),
        (&json!("COMPLETED"), &json!(120)),
        "{run}"
    );
    let events = run_events(&stack, &id, 122).await;
    assert_eq!(events.get("RecipientDelivery"), Some(&120), "{events:?}");
    assert_eq!(events.get("CampaignRunCompleted"), Some(&1), "{events:?}");
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_start_made_by_the_state_correction_starts_the_run_and_everyone_is_sent_to() {
    let stack = TestStack::new().await;
    let id = create(&stack, &campaign(to_members(60))).await;
    // The executor that took the START died holding its lease: its message is gone and the
    // missed-timer step cannot fire the leased timer yet.
    assert_eq!(stack.drain("TimersQueue").await.len(), 1);
    let campaign_id = CampaignId::new(&id);
    let start = stack.timer(&campaign_id, TimerKind::StartCampaign).await;
    let lease_until = Timestamp::now().plus_millis(3_600_000);
    assert!(
        stack
            .services
            .store
            .claim_timer(&start, "dead-executor", lease_until)
            .await
            .unwrap()
    );
    // Two minutes on, past the grace: the state correction starts the campaign and its run.
    let sweeper = stack.function_services("SweeperFunction");
    let request = sweeper::SweepRequest {
        dry_run: false,
        steps: Some(vec![SweepStep::CampaignStates]),
    };
    let later = Timestamp::now().plus_millis(120_000);
    let report = sweeper::sweep(&sweeper, &request, later, None).await;
    assert!(report.success, "{report:#?}");
    let states = report
        .steps
        .iter()
        .find(|s| s.step == SweepStep::CampaignStates)
        .expect("step ran");
    assert_eq!(
        (states.get("runs_started"), states.get("runs_queued")),
        (1, 1),
        "{states:#?}"
    );
    let run = run_in(&stack, &id, "PLANNING", Duration::from_secs(1)).await;
    assert_eq!(run["startedAt"], json!(later.to_rfc3339()), "{run}");
    let scheduled = Timestamp::parse_rfc3339(run["scheduledAt"].as_str().unwrap()).unwrap();
    assert_eq!(
        run["lateMs"],
        json!(later.millis_since(scheduled)),
        "started two minutes after its time: {run}"
    );
    assert_eq!(
        stack.campaign(&campaign_id).await.status,
        CampaignStatus::Running
    );

    let planner = stack.delivery_planner();
    let plans = stack.drain("PlanningQueue").await;
    assert_eq!(plans.len(), 1, "queued once: {plans:?}");
    delivery_planner::handle_until(&planner, one_message(&plans[0]), None).await;
    let sender = stack.delivery_sender().await;
    for batch in stack.drain("DeliveriesQueue").await {
        delivery_sender::handle_until(&sender, one_message(&batch), None).await;
    }
    let run = run_in(&stack, &id, "COMPLETED", Duration::from_secs(1)).await;
    assert_eq!(
        (&run["status"], &run["sent"]),
        (&json!("COMPLETED"), &json!(60)),
        "{run}"
    );
    let events = run_events(&stack, &id, 63).await;
    assert_eq!(events.get("CampaignStarted"), Some(&1), "{events:?}");
    assert_eq!(events.get("CampaignRunStarted"), Some(&1), "{events:?}");
    assert_eq!(events.get("RecipientDelivery"), Some(&60), "{events:?}");
    assert_eq!(events.get("CampaignRunCompleted"), Some(&1), "{events:?}");
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_correction_starts_only_a_scheduled_run_and_a_campaign_moved_meanwhile_is_no_error() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let id = CampaignId::new(&create(&stack, &campaign(to_members(3))).await);
    let read = stack.campaign(&id).await;
    let later = Timestamp::now().plus_millis(120_000);
    let start = read.overdue_moves(later, 30_000)[0];
    let run = read.scheduled_run().expect("a run").run_id;

    // A run that is not SCHEDULED while its campaign is: an error, nothing written.
    assert!(
        store
            .cancel_unstarted_run(&id, &run, "by the test", later)
            .await
            .unwrap()
    );
    let refused = store
        .correct_campaign(&read, start, "sweeper/test", later, Some(&run))
        .await;
    assert!(
        matches!(&refused, Err(error) if error.to_string().contains("is not SCHEDULED")),
        "{refused:?}"
    );
    let unchanged = stack.campaign(&id).await;
    assert_eq!((unchanged.status, unchanged.version), (read.status, 1));

    // The campaign was cancelled since it was read: changed meanwhile, whatever its run says.
    let (status, _) = stack
        .api(Method::POST, &format!("/campaigns/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let outcome = store
        .correct_campaign(&read, start, "sweeper/test", later, Some(&run))
        .await;
    assert!(matches!(outcome, Ok(None)), "{outcome:?}");
}

#[tokio::test]
async fn every_bad_delivery_field_is_named_and_nothing_is_created() {
    let stack = TestStack::new().await;
    let bucket = stack.stack.reference("ListsBucket").unwrap().to_owned();
    stack.upload_list("empty.jsonl", "").await;
    let cases = [
        (
            json!({"channel": "fax", "recipients": [{"id": "a", "address": "b"}]}),
            vec!["delivery.channel"],
        ),
        (
            json!({"channel": "email", "from": "nobody", "subject": "Hi", "text": "x",
                   "recipients": [{"id": "a", "address": "not-an-address"}]}),
            vec!["delivery.from", "delivery.recipients[0].address"],
        ),
        (
            json!({"channel": "email", "from": "offers@example.com", "subject": "Hi {{name}}",
                   "recipients": [{"id": "a", "address": "a@example.com", "vars": {}}]}),
            vec!["delivery.recipients[0].vars", "delivery.text"],
        ),
        (
            json!({"channel": "webhook", "payload": [1], "secretRef": "vault:x",
                   "recipients": [{"id": "a", "address": "http://example.com/hook"}]}),
            vec![
                "delivery.payload",
                "delivery.secretRef",
                "delivery.recipients[0].address",
            ],
        ),
        (
            json!({"channel": "event", "recipientsUri": "s3://someone-elses-bucket/list.jsonl"}),
            vec!["delivery.recipientsUri"],
        ),
        (
            json!({"channel": "event", "recipientsUri": format!("s3://{bucket}/missing.jsonl")}),
            vec!["delivery.recipientsUri"],
        ),
        (
            json!({"channel": "event", "recipientsUri": format!("s3://{bucket}/empty.jsonl")}),
            vec!["delivery.recipientsUri"],
        ),
        (
            json!({"channel": "event", "recipients": []}),
            vec!["delivery.recipients"],
        ),
        (
            json!({"channel": "event", "onAmbiguous": "maybe", "recipients": [{"id": "#1", "address": "m"}]}),
            vec!["delivery.onAmbiguous", "delivery.recipients[0].id"],
        ),
    ];
    for (delivery, mut fields) in cases {
        fields.sort_unstable();
        let (status, error) = stack
            .api(
                Method::POST,
                "/campaigns",
                Some(&campaign(delivery.clone())),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{delivery}: {error}");
        let named: Vec<&str> = error["error"]["fields"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(named, fields, "{delivery}: {error}");
        assert!(!error.to_string().contains("arn:"), "{error}");
    }
    assert!(
        stack.drain("TimersQueue").await.is_empty(),
        "no campaign started"
    );
}
