//! `POST /campaigns/recover` against the emulator: a campaign whose timers were deleted behind
//! its back is re-armed once (a second call skips it as healthy), a dry run changes nothing,
//! a healthy campaign is skipped with its reason, a recurring campaign whose chain of
//! occurrences is broken is repaired, a lost RUN_CLOSE of an open run window is re-armed at
//! the window's close (due now once that passed, and firing it closes the window; the write
//! is refused once the window closed), a run that stopped moving is handed to the sweeper's
//! `stalled_runs` step, which queues its planning again (once: a second call finds it moved),
//! the walk pages with `nextToken`, and every call the API and the sweeper made is allowed by
//! its policy (checked when the stack drops).

use std::time::Duration;

use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, api_of, sqs_event};
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::keys;
use lifecycle_domain::delivery::{PlanJob, RunId, RunRecord};
use lifecycle_domain::{CampaignId, DueTimer, Timer, TimerKind, TimerStatus, Timestamp};
use serde_json::{Value, json};

const HOUR: i64 = 3_600_000;

async fn create(stack: &TestStack, body: Value) -> String {
    let (status, created) = stack
        .api(Method::POST, "/campaigns", Some(&body.to_string()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

fn one_off(name: &str) -> Value {
    let now = Timestamp::now();
    json!({
        "name": name,
        "startAt": now.plus_millis(HOUR).to_rfc3339(),
        "endAt": now.plus_millis(2 * HOUR).to_rfc3339(),
        "claimUntil": now.plus_millis(3 * HOUR).to_rfc3339(),
    })
}

/// Deletes timer `kind` of `id` directly, as an operator's mistake or a bug might.
async fn delete_timer(stack: &TestStack, id: &str, kind: TimerKind) {
    stack
        .setup
        .dynamodb
        .delete_item()
        .table_name(&stack.services.config.table_name)
        .key(
            keys::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::campaign_pk(&CampaignId::new(id))),
        )
        .key(
            keys::SK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::timer_sk(kind)),
        )
        .send()
        .await
        .expect("timer deleted");
}

async fn timers(stack: &TestStack, id: &str) -> Vec<Timer> {
    stack
        .services
        .store
        .load_partition(&CampaignId::new(id))
        .await
        .expect("partition")
        .timers
}

async fn recover(stack: &TestStack, body: Value) -> Value {
    let (status, answer) = stack
        .api(Method::POST, "/campaigns/recover", Some(&body.to_string()))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// [`recover`] served by the API's `services` (e.g. ones that can invoke the sweeper).
async fn recover_on(stack: &TestStack, services: &Services, body: Value) -> Value {
    let (status, answer) = api_of(
        services,
        &stack.api_lists(),
        Method::POST,
        "/campaigns/recover",
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

/// The actions answered for campaign `id` among the recovered ones.
fn actions(answer: &Value, id: &str) -> Vec<String> {
    answer["details"]["recovered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} recovered: {answer:#}"))["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// Fires `timers` through the executor (as `TimerExecutorFunction`) as one SQS message.
async fn fire(stack: &TestStack, timers: Vec<DueTimer>) {
    let executor = stack.function_services("TimerExecutorFunction");
    let response = timer_executor::handle_batch(&executor, sqs_event(&[("m1", timers)])).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
}

/// The stored timer of `kind` of campaign `id`, if there is one.
async fn timer_of(stack: &TestStack, id: &str, kind: TimerKind) -> Option<Timer> {
    timers(stack, id).await.into_iter().find(|t| t.kind == kind)
}

/// The stored run `run` of campaign `id`.
async fn run_of(stack: &TestStack, id: &str, run: &RunId) -> RunRecord {
    stack
        .services
        .store
        .get_run(&CampaignId::new(id), run)
        .await
        .expect("run read")
        .expect("the run exists")
}

/// Sleeps until `at` (at once if it is past).
async fn sleep_until(at: Timestamp) {
    let wait = at.millis_since(Timestamp::now()).max(0);
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
}

fn ids(answer: &Value, outcome: &str) -> Vec<String> {
    answer["details"][outcome]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

fn reason<'a>(answer: &'a Value, id: &str) -> &'a str {
    answer["details"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["reason"].as_str())
        .unwrap_or_else(|| panic!("{id} skipped: {answer:#}"))
}

#[tokio::test]
async fn deleted_timers_are_rearmed_once_and_a_dry_run_changes_nothing() {
    let stack = TestStack::new().await;
    let broken = create(&stack, one_off("Broken")).await;
    let healthy = create(&stack, one_off("Healthy")).await;
    let planned = timers(&stack, &broken).await;
    assert_eq!(planned.len(), 3, "START, CLOSE, EXPIRE");
    for timer in &planned {
        delete_timer(&stack, &broken, timer.kind).await;
    }
    assert!(timers(&stack, &broken).await.is_empty());

    let dry = recover(&stack, json!({"dryRun": true})).await;
    assert_eq!(dry["dryRun"], true);
    assert_eq!(ids(&dry, "recovered"), vec![broken.clone()], "{dry:#}");
    let actions = dry["details"]["recovered"][0]["actions"]
        .as_array()
        .unwrap();
    assert_eq!(actions.len(), 3, "{dry:#}");
    assert!(actions[0].as_str().unwrap().starts_with("would: "));
    assert!(
        timers(&stack, &broken).await.is_empty(),
        "a dry run writes nothing"
    );
    assert!(reason(&dry, &healthy).starts_with("healthy"), "{dry:#}");

    let answer = recover(&stack, json!({})).await;
    assert_eq!(answer["success"], true, "{answer:#}");
    assert_eq!(
        (answer["recovered"].clone(), answer["skipped"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(answer["details"]["recovered"][0]["name"], "Broken");
    assert_eq!(answer["details"]["recovered"][0]["status"], "SCHEDULED");
    let rearmed = timers(&stack, &broken).await;
    assert_eq!(rearmed.len(), 3, "each timer exists again, once");
    for (timer, before) in rearmed.iter().zip(&planned) {
        assert_eq!(timer.kind, before.kind);
        assert_eq!(timer.status, TimerStatus::Pending);
        assert_eq!(timer.due_at, before.due_at, "at its planned time");
    }
    // Back in the due index, where the dispatcher finds it.
    let start = rearmed
        .iter()
        .find(|t| t.kind == TimerKind::StartCampaign)
        .unwrap();
    let shard = keys::shard_of(start.timer_id.as_str(), stack.services.config.due_shards);
    let due = stack
        .services
        .store
        .due_timers(shard, start.due_at.plus_millis(-1), start.due_at, 100)
        .await
        .expect("due index");
    assert!(
        due.timers
            .iter()
            .any(|t| t.timer.timer_id == start.timer_id && !t.queued_at_creation),
        "{due:?}"
    );

    let again = recover(&stack, json!({})).await;
    assert_eq!(again["recovered"], 0, "{again:#}");
    assert!(reason(&again, &broken).starts_with("healthy"), "{again:#}");
    assert_eq!(timers(&stack, &broken).await.len(), 3);
}

#[tokio::test]
async fn a_broken_chain_of_occurrences_is_repaired() {
    let stack = TestStack::new().await;
    let now = Timestamp::now();
    let id = create(
        &stack,
        json!({
            "name": "Digest",
            "startAt": now.plus_millis(HOUR).to_rfc3339(),
            "endAt": now.plus_millis(72 * HOUR).to_rfc3339(),
            "delivery": {"channel": "event", "recipients": [{"id": "m1", "address": "member-1"}]},
            "schedule": {"cron": "0 9 * * *"},
        }),
    )
    .await;
    let campaign = stack.campaign(&CampaignId::new(&id)).await;
    let next = campaign
        .series_progress
        .next_occurrence
        .expect("an occurrence ahead");
    delete_timer(&stack, &id, TimerKind::Occurrence).await;

    let answer = recover(&stack, json!({})).await;
    assert_eq!(ids(&answer, "recovered"), vec![id.clone()], "{answer:#}");
    let actions = answer["details"]["recovered"][0]["actions"].to_string();
    assert!(actions.contains("OCCURRENCE timer missing"), "{actions}");
    let occurrence = timers(&stack, &id)
        .await
        .into_iter()
        .find(|t| t.kind == TimerKind::Occurrence)
        .expect("written again");
    assert_eq!(
        (occurrence.status, occurrence.due_at),
        (TimerStatus::Pending, next)
    );

    let again = recover(&stack, json!({})).await;
    assert_eq!(again["recovered"], 0, "{again:#}");
    assert!(reason(&again, &id).starts_with("healthy"), "{again:#}");
}

#[tokio::test]
async fn the_walk_pages_with_next_token_and_refuses_bad_input() {
    let stack = TestStack::new().await;
    let first = create(&stack, one_off("First")).await;
    let second = create(&stack, one_off("Second")).await;
    let page = recover(&stack, json!({"limit": 1, "dryRun": true})).await;
    let token = page["nextToken"].as_str().expect("more to walk").to_owned();
    let mut seen = ids(&page, "skipped");
    let mut token = Some(token);
    while let Some(next) = token {
        let page = recover(
            &stack,
            json!({"limit": 1, "dryRun": true, "nextToken": next}),
        )
        .await;
        seen.extend(ids(&page, "skipped"));
        token = page["nextToken"].as_str().map(str::to_owned);
    }
    seen.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(seen, expected, "each campaign examined once");

    for (body, field) in [
        (json!({"limit": 0}), "limit"),
        (json!({"limit": "ten"}), "limit"),
        (json!({"nextToken": "forged"}), "nextToken"),
    ] {
        let (status, answer) = stack
            .api(Method::POST, "/campaigns/recover", Some(&body.to_string()))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(answer["error"]["fields"][field].is_string(), "{answer}");
    }
    let (status, answer) = stack
        .api(
            Method::POST,
            "/campaigns/recover",
            Some(r#"{"dry_run":true}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], "INVALID_BODY");
}

/// A series every two seconds with a window of `run_duration`, started now, sending an event
/// to one member at every run.
fn windowed_series(name: &str, run_duration: &str) -> Value {
    let now = Timestamp::now();
    json!({
        "name": name,
        "startAt": now.to_rfc3339(),
        "endAt": now.plus_millis(HOUR).to_rfc3339(),
        "delivery": {"channel": "event", "recipients": [{"id": "m1", "address": "member-1"}]},
        "schedule": {"cron": "*/2 * * * * *", "runDuration": run_duration},
    })
}

/// Starts the first run of series `id` (fires its START and first OCCURRENCE when due): its
/// RUN_CLOSE, armed for that run.
async fn start_first_run(stack: &TestStack, id: &str) -> Timer {
    let start = timer_of(stack, id, TimerKind::StartCampaign)
        .await
        .expect("START");
    let first = timer_of(stack, id, TimerKind::Occurrence)
        .await
        .expect("OCCURRENCE");
    sleep_until(first.due_at).await;
    fire(stack, vec![DueTimer::from(&start), DueTimer::from(&first)]).await;
    let close = timer_of(stack, id, TimerKind::RunClose)
        .await
        .expect("armed by the run's start");
    assert_eq!(
        (close.status, &close.run_id),
        (TimerStatus::Pending, &first.run_id),
        "{close:?}"
    );
    close
}

#[tokio::test]
async fn a_lost_run_close_is_rearmed_at_the_window_close_or_due_now_once_it_passed() {
    let stack = TestStack::new().await;
    let long = create(&stack, windowed_series("Long window", "PT30M")).await;
    let short = create(&stack, windowed_series("Short window", "PT1S")).await;
    let long_close = start_first_run(&stack, &long).await;
    let short_close = start_first_run(&stack, &short).await;
    let long_run = long_close.run_id.clone().expect("names its run");
    let short_run = short_close.run_id.clone().expect("names its run");
    assert_eq!(
        run_of(&stack, &long, &long_run).await.closes_at,
        Some(long_close.due_at),
        "due at the window's close"
    );
    delete_timer(&stack, &long, TimerKind::RunClose).await;
    delete_timer(&stack, &short, TimerKind::RunClose).await;
    sleep_until(short_close.due_at.plus_millis(100)).await;

    let dry = recover(&stack, json!({"dryRun": true})).await;
    let mut recovered = ids(&dry, "recovered");
    recovered.sort();
    let mut expected = vec![long.clone(), short.clone()];
    expected.sort();
    assert_eq!(recovered, expected, "{dry:#}");
    let at = long_close.due_at;
    assert_eq!(
        actions(&dry, &long),
        vec![format!(
            "would: run {long_run}'s window (closing at {at}): RUN_CLOSE timer missing, re-armed at {at}"
        )]
    );
    assert!(
        timer_of(&stack, &long, TimerKind::RunClose).await.is_none()
            && timer_of(&stack, &short, TimerKind::RunClose)
                .await
                .is_none(),
        "a dry run writes nothing"
    );

    let called_at = Timestamp::now();
    let answer = recover(&stack, json!({})).await;
    let answered_at = Timestamp::now();
    assert_eq!(answer["success"], true, "{answer:#}");
    assert_eq!(
        actions(&answer, &long),
        vec![format!(
            "run {long_run}'s window (closing at {at}): RUN_CLOSE timer missing, re-armed at {at}"
        )]
    );
    let rearmed = timer_of(&stack, &long, TimerKind::RunClose)
        .await
        .expect("written again");
    assert_eq!(
        (rearmed.status, rearmed.due_at, &rearmed.run_id),
        (TimerStatus::Pending, at, &Some(long_run.clone())),
        "PENDING for its run at the window's close"
    );
    let shard = keys::shard_of(rearmed.timer_id.as_str(), stack.services.config.due_shards);
    let due = stack
        .services
        .store
        .due_timers(shard, at.plus_millis(-1), at, 100)
        .await
        .expect("due index");
    assert!(
        due.timers
            .iter()
            .any(|t| t.timer.timer_id == rearmed.timer_id),
        "back in the due index: {due:?}"
    );

    // The short window's close passed: re-armed due now, and firing it closes the window.
    let short_actions = actions(&answer, &short);
    assert!(
        short_actions.len() == 1
            && short_actions[0].contains(&format!(
                "run {short_run}'s window (closing at {})",
                short_close.due_at
            ))
            && short_actions[0].ends_with("its close time passed"),
        "{short_actions:?}"
    );
    let now_due = timer_of(&stack, &short, TimerKind::RunClose)
        .await
        .expect("written again");
    assert_eq!(
        (now_due.status, &now_due.run_id),
        (TimerStatus::Pending, &Some(short_run.clone()))
    );
    assert!(
        called_at <= now_due.due_at && now_due.due_at <= answered_at,
        "due when recovery ran, not at the passed close: {now_due:?}"
    );
    fire(&stack, vec![DueTimer::from(&now_due)]).await;
    let closed = run_of(&stack, &short, &short_run).await;
    assert!(closed.closed_at.is_some(), "the window closed: {closed:?}");
    let fired = timer_of(&stack, &short, TimerKind::RunClose)
        .await
        .expect("kept");
    assert_eq!(fired.status, TimerStatus::Completed);

    // A re-arm over a window that closed meanwhile is refused whole.
    let campaign = stack.campaign(&CampaignId::new(&short)).await;
    let refused = stack
        .services
        .store
        .rearm_timers(
            &campaign,
            &[(now_due.clone(), Some(fired.clone()))],
            &[(short_run.clone(), short_close.due_at)],
        )
        .await
        .expect("store answers");
    assert!(!refused, "its window is closed");
    assert_eq!(
        timer_of(&stack, &short, TimerKind::RunClose).await,
        Some(fired),
        "nothing written"
    );

    let again = recover(&stack, json!({})).await;
    assert_eq!(again["recovered"], 0, "{again:#}");
    assert!(reason(&again, &long).starts_with("healthy"), "{again:#}");
    assert!(reason(&again, &short).starts_with("healthy"), "{again:#}");
}

#[tokio::test]
async fn a_run_that_stopped_moving_is_handed_to_the_sweeper_which_queues_it_again() {
    let stack = TestStack::new().await;
    let endpoint = stack.serve_lambda_api().await;
    let api = stack.api_services_invoking(&endpoint);
    let now = Timestamp::now();
    let id = create(
        &stack,
        json!({
            "name": "Newsletter",
            "startAt": now.plus_millis(-1_000).to_rfc3339(),
            "endAt": now.plus_millis(HOUR).to_rfc3339(),
            "delivery": {"channel": "event", "recipients": [{"id": "m1", "address": "member-1"}]},
        }),
    )
    .await;
    let start = timer_of(&stack, &id, TimerKind::StartCampaign)
        .await
        .expect("START");
    let run = start.run_id.clone().expect("a START that begins a run");
    fire(&stack, vec![DueTimer::from(&start)]).await;
    let job = PlanJob {
        campaign_id: CampaignId::new(&id),
        run_id: run.clone(),
    };
    let plans = |bodies: Vec<String>| -> Vec<PlanJob> {
        bodies
            .iter()
            .map(|body| PlanJob::parse(body).expect("a plan job"))
            .collect()
    };
    assert_eq!(
        plans(stack.drain("PlanningQueue").await),
        vec![job.clone()],
        "queued by its START; taken by a planner that then died"
    );
    // Its planner died ten minutes ago: the run has not moved since.
    let stalled_since = Timestamp::from_millis(Timestamp::now().millis() - 10 * 60_000);
    stack
        .setup
        .dynamodb
        .update_item()
        .table_name(&stack.services.config.table_name)
        .key(
            keys::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::campaign_pk(&job.campaign_id)),
        )
        .key(
            keys::SK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::run_sk(&run)),
        )
        .update_expression("SET #ssk = :since")
        .expression_attribute_names("#ssk", keys::STATUS_SK)
        .expression_attribute_values(
            ":since",
            aws_sdk_dynamodb::types::AttributeValue::S(keys::run_status_sk(
                stalled_since,
                &job.campaign_id,
                &run,
            )),
        )
        .send()
        .await
        .expect("run backdated");
    let moved_at = || async {
        stack
            .services
            .store
            .load_partition(&job.campaign_id)
            .await
            .expect("partition")
            .runs_moved_at
            .get(&run)
            .copied()
    };
    assert_eq!(moved_at().await, Some(stalled_since));
    let detail = format!(
        "run {run} PLANNING without progress since {stalled_since}, handed to the sweeper's stalled_runs step"
    );

    let dry = recover_on(&stack, &api, json!({"dryRun": true})).await;
    assert_eq!(ids(&dry, "recovered"), vec![id.clone()], "{dry:#}");
    assert_eq!(actions(&dry, &id), vec![format!("would: {detail}")]);
    assert!(
        stack.drain("PlanningQueue").await.is_empty(),
        "a dry run queues nothing"
    );
    assert_eq!(moved_at().await, Some(stalled_since), "nor holds the run");

    let called_at = Timestamp::now();
    let answer = recover_on(&stack, &api, json!({})).await;
    assert_eq!(answer["success"], true, "{answer:#}");
    assert_eq!(ids(&answer, "recovered"), vec![id.clone()], "{answer:#}");
    assert_eq!(actions(&answer, &id), vec![detail]);
    assert_eq!(
        plans(stack.drain("PlanningQueue").await),
        vec![job.clone()],
        "the sweeper's stalled_runs step queued its planning again"
    );
    assert!(
        moved_at().await.is_some_and(|held| held >= called_at),
        "held by the sweeper for its repair"
    );

    let again = recover_on(&stack, &api, json!({})).await;
    assert_eq!(again["recovered"], 0, "{again:#}");
    assert!(reason(&again, &id).starts_with("healthy"), "{again:#}");
    assert!(
        stack.drain("PlanningQueue").await.is_empty(),
        "repaired once"
    );
}
