//! `POST /campaigns/recover` against the emulator: a campaign whose timers were deleted behind
//! its back is re-armed once (a second call skips it as healthy), a dry run changes nothing,
//! a healthy campaign is skipped with its reason, a recurring campaign whose chain of
//! occurrences is broken is repaired, the walk pages with `nextToken`, and every call the API
//! made is allowed by its policy (checked when the stack drops).

use axum::http::{Method, StatusCode};
use integration_tests::TestStack;
use lifecycle_adapters::store::keys;
use lifecycle_domain::{CampaignId, Timer, TimerKind, TimerStatus, Timestamp};
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
