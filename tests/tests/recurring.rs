//! Recurring campaigns against the emulator: a seconds-level series on the local runtime runs
//! each occurrence once, on its second, until `maxRuns`; the preview; bad schedules; pause and
//! resume; the misfire policies after the timers were not fired for several occurrences; an
//! occurrence while the previous run still delivers (skipped, or buffered and started by that
//! run's completion).

use std::collections::BTreeSet;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, sqs_event};
use lifecycle_adapters::services::Services;
use lifecycle_domain::delivery::RunId;
use lifecycle_domain::{CampaignId, DueTimer, TimerKind, TimerStatus, Timestamp};
use serde_json::{Value, json};

const EXECUTOR: &str = "TimerExecutorFunction";

/// A recurring campaign started `started_ms_ago` with `schedule`, sending an event to three
/// members at every run.
fn recurring(schedule: Value, started_ms_ago: i64) -> String {
    let now = Timestamp::now();
    let recipients: Vec<Value> = (0..3)
        .map(|n| json!({"id": format!("m{n}"), "address": format!("member-{n}")}))
        .collect();
    json!({
        "name": "Digest",
        "startAt": now.plus_millis(-started_ms_ago).to_rfc3339(),
        "endAt": now.plus_millis(3_600_000).to_rfc3339(),
        "delivery": {"channel": "event", "recipients": recipients},
        "schedule": schedule,
    })
    .to_string()
}

async fn create(stack: &TestStack, body: &str) -> String {
    let (status, created) = stack.api(Method::POST, "/campaigns", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

/// The campaign's runs, oldest first.
async fn list_runs(stack: &TestStack, id: &str) -> Vec<Value> {
    let (status, page) = stack
        .api(
            Method::GET,
            &format!("/campaigns/{id}/runs?limit=100"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut runs = page["runs"].as_array().unwrap().clone();
    runs.reverse();
    runs
}

/// Polls the runs until `done` holds for them (or `patience` runs out); returns them.
async fn runs_until(
    stack: &TestStack,
    id: &str,
    patience: Duration,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let runs = list_runs(stack, id).await;
        if done(&runs) || tokio::time::Instant::now() >= deadline {
            return runs;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn statuses(runs: &[Value]) -> Vec<&str> {
    runs.iter()
        .map(|run| run["status"].as_str().unwrap_or_default())
        .collect()
}

fn at(value: &Value) -> Timestamp {
    Timestamp::parse_rfc3339(value.as_str().expect("a time")).expect("RFC 3339")
}

/// The executor's services with occurrences missed when more than `grace_secs` late.
fn executor(stack: &TestStack, grace_secs: u32) -> Services {
    stack.function_services_with(EXECUTOR, |config| {
        config.occurrence_grace_secs = grace_secs;
    })
}

/// Fires `timers` through the executor as one SQS message.
async fn fire(services: &Services, timers: Vec<DueTimer>) {
    let response = timer_executor::handle_batch(services, sqs_event(&[("m1", timers)])).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
}

async fn due_timer(stack: &TestStack, id: &str, kind: TimerKind) -> DueTimer {
    DueTimer::from(&stack.timer(&CampaignId::new(id), kind).await)
}

/// Sleeps until `at` (at once if it is past).
async fn sleep_until(at: Timestamp) {
    let wait = at.millis_since(Timestamp::now()).max(0);
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
}

/// Sleeps until the wall clock is `offset_ms` into a `period_ms` cycle (so a test does not
/// fire right at an occurrence, where the grace period would decide by milliseconds).
async fn into_cycle(period_ms: i64, offset_ms: i64) {
    let now = Timestamp::now().millis();
    let wait = (offset_ms - now.rem_euclid(period_ms)).rem_euclid(period_ms);
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_series_every_two_seconds_runs_each_occurrence_once_on_its_second_until_max_runs() {
    let stack = TestStack::new().await;
    let local = stack.run_locally(Duration::from_secs(2)).await;
    let body = recurring(json!({"cron": "*/2 * * * * *", "maxRuns": 4}), 500);
    let created_at = Timestamp::now();
    let id = create(&stack, &body).await;

    let (status, preview) = stack
        .api(
            Method::GET,
            &format!("/campaigns/{id}/schedule?next=3"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let next = preview["next"].as_array().unwrap();
    assert!(next.len() <= 3 && !next.is_empty(), "{preview}");
    for entry in next {
        assert_eq!(at(&entry["utc"]).millis() % 2_000, 0, "{entry}");
        assert!(
            entry["local"].as_str().unwrap().ends_with("+00:00"),
            "{entry}"
        );
    }

    // Each occurrence runs, or is skipped when the run before it still delivers (a slow
    // machine may take more than the 2 s between them): either way it ends.
    let ended = |runs: &[Value]| {
        runs.len() == 4
            && runs
                .iter()
                .all(|r| r["status"] == "COMPLETED" || r["status"] == "SKIPPED_OVERLAP")
    };
    let runs = runs_until(&stack, &id, Duration::from_secs(45), ended).await;
    assert!(ended(&runs), "{runs:#?}");
    assert_eq!(
        runs[0]["status"], "COMPLETED",
        "the first has nothing before it"
    );
    let scheduled: Vec<Timestamp> = runs.iter().map(|r| at(&r["scheduledAt"])).collect();
    assert!(
        scheduled[0] >= created_at.plus_millis(-2_000),
        "{scheduled:?}"
    );
    for (run, due) in runs.iter().zip(&scheduled) {
        assert_eq!(due.millis() % 2_000, 0, "on an even second: {run}");
        assert_eq!(run["runId"], RunId::for_occurrence(*due).as_str());
        if run["status"] == "COMPLETED" {
            // Never early; how close to its second is measured by `make bench`, not asserted.
            assert!(
                at(&run["startedAt"]) >= *due,
                "not before its second: {run}"
            );
            assert_eq!(
                (&run["total"], &run["sent"]),
                (&json!(3), &json!(3)),
                "{run}"
            );
        } else {
            assert_eq!(
                (&run["total"], &run["sent"]),
                (&json!(0), &json!(0)),
                "{run}"
            );
            assert!(run.get("startedAt").is_none(), "{run}");
        }
    }
    for pair in scheduled.windows(2) {
        assert_eq!(
            pair[1].millis_since(pair[0]),
            2_000,
            "consecutive occurrences"
        );
    }
    let timer = stack
        .timer(&CampaignId::new(&id), TimerKind::Occurrence)
        .await;
    assert_eq!(
        timer.status,
        TimerStatus::Completed,
        "maxRuns reached: the series is over"
    );
    let (_, campaign) = stack
        .api(Method::GET, &format!("/campaigns/{id}"), None)
        .await;
    assert_eq!(campaign["series"]["occurrences"], 4, "{campaign}");
    assert!(campaign["series"].get("activeRun").is_none(), "{campaign}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        list_runs(&stack, &id).await.len(),
        4,
        "no run after the last"
    );

    local.stop().await;
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_bad_schedule_is_refused_naming_each_field() {
    let stack = TestStack::new().await;
    let body = recurring(
        json!({"cron": "61 * * * *", "timezone": "Mars/Olympus", "maxRuns": 0}),
        0,
    );
    let (status, answer) = stack.api(Method::POST, "/campaigns", Some(&body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let fields = &answer["error"]["fields"];
    for field in ["schedule.cron", "schedule.timezone", "schedule.maxRuns"] {
        assert!(fields[field].is_string(), "{field}: {answer}");
    }
    let mut without_delivery: Value =
        serde_json::from_str(&recurring(json!({"cron": "0 9 * * MON"}), 0)).unwrap();
    without_delivery.as_object_mut().unwrap().remove("delivery");
    let (status, answer) = stack
        .api(
            Method::POST,
            "/campaigns",
            Some(&without_delivery.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["error"]["fields"]["schedule"].is_string(),
        "{answer}"
    );

    let one_off = json!({
        "name": "Once", "startAt": Timestamp::now().plus_millis(60_000).to_rfc3339(),
        "endAt": Timestamp::now().plus_millis(120_000).to_rfc3339(),
    });
    let id = create(&stack, &one_off.to_string()).await;
    for path in ["schedule", "pause", "resume"] {
        let method = if path == "schedule" {
            Method::GET
        } else {
            Method::POST
        };
        let (status, answer) = stack
            .api(method, &format!("/campaigns/{id}/{path}"), None)
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
        assert_eq!(answer["error"]["code"], "NOT_RECURRING");
    }
    let (status, _) = stack
        .api(Method::GET, "/campaigns/nope/schedule", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn after_the_timers_stopped_for_several_occurrences_each_misfire_policy_holds() {
    let stack = TestStack::new().await;
    let services = executor(&stack, 1);
    // Every 10 s since 62 s ago: six occurrences went by while nothing fired them (fired
    // mid-cycle, 5 s from the next).
    into_cycle(10_000, 5_000).await;
    let mut ids = Vec::new();
    for misfire in [
        json!({"misfire": "fireOnceNow"}),
        json!({"misfire": "skip"}),
        json!({"misfire": "fireAll", "maxCatchUp": 2, "overlap": "bufferOne"}),
    ] {
        let mut schedule = json!({"cron": "*/10 * * * * *"});
        schedule
            .as_object_mut()
            .unwrap()
            .extend(misfire.as_object().unwrap().clone());
        ids.push(create(&stack, &recurring(schedule, 62_000)).await);
    }
    let fired_at = Timestamp::now();
    for id in &ids {
        let start = due_timer(&stack, id, TimerKind::StartCampaign).await;
        let occurrence = due_timer(&stack, id, TimerKind::Occurrence).await;
        fire(&services, vec![start, occurrence]).await;
    }
    let expected_due: Vec<Timestamp> = {
        let first = fired_at.plus_millis(-62_000).millis().div_euclid(10_000) * 10_000 + 10_000;
        (0..)
            .map(|n| Timestamp::from_millis(first + n * 10_000))
            .take_while(|due| *due <= fired_at)
            .collect()
    };
    assert!(expected_due.len() >= 6, "{expected_due:?}");

    let once = list_runs(&stack, &ids[0]).await;
    let due: Vec<Timestamp> = once.iter().map(|r| at(&r["scheduledAt"])).collect();
    assert_eq!(due, expected_due, "every occurrence recorded once");
    let last = once.len() - 1;
    assert_eq!(statuses(&once[..last]), vec!["MISSED"; last], "{once:#?}");
    assert_eq!(
        once[last]["status"], "PLANNING",
        "one catch-up run, the latest: {once:#?}"
    );
    assert!(
        once[last]["lateMs"].as_i64().unwrap() > 1_000,
        "marked late"
    );

    let skipped = list_runs(&stack, &ids[1]).await;
    assert_eq!(skipped.len(), expected_due.len());
    assert!(
        skipped.iter().all(|r| r["status"] == "MISSED"),
        "{skipped:#?}"
    );

    let all = list_runs(&stack, &ids[2]).await;
    let n = all.len();
    assert_eq!(n, expected_due.len());
    assert_eq!(statuses(&all[..n - 2]), vec!["MISSED"; n - 2], "{all:#?}");
    assert_eq!(
        statuses(&all[n - 2..]),
        ["PLANNING", "BUFFERED"],
        "the latest two run, the second waiting for the first: {all:#?}"
    );

    for id in &ids {
        let timer = stack
            .timer(&CampaignId::new(id), TimerKind::Occurrence)
            .await;
        assert_eq!(timer.status, TimerStatus::Pending);
        assert!(timer.due_at > fired_at, "moved past now: {timer:?}");
        assert_eq!(timer.due_at.millis() % 10_000, 0);
        assert_eq!(timer.run_id, Some(RunId::for_occurrence(timer.due_at)));
        assert_eq!(
            timer.attempts, 0,
            "attempts count the tries of the occurrence it is due at"
        );
    }
    let events = stack.lifecycle_events(40, Duration::from_secs(10)).await;
    let missed: BTreeSet<String> = events
        .iter()
        .filter(|e| {
            e["detail-type"] == "CampaignRunMissed" && e["detail"]["campaignId"] == ids[1].as_str()
        })
        .map(|e| e["detail"]["runId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        missed.len(),
        expected_due.len(),
        "a CampaignRunMissed per missed occurrence: {missed:?} {skipped:#?}"
    );
    stack.assert_iam_allowed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_occurrence_while_the_previous_run_delivers_is_skipped_or_buffered_until_it_completes() {
    let stack = TestStack::new().await;
    let services = executor(&stack, 60);
    into_cycle(2_000, 300).await;
    let skip = create(&stack, &recurring(json!({"cron": "*/2 * * * * *"}), 0)).await;
    let buffer = create(
        &stack,
        &recurring(json!({"cron": "*/2 * * * * *", "overlap": "bufferOne"}), 0),
    )
    .await;
    // The first occurrence starts its run; nothing plans it, so it is still delivering at the
    // next two occurrences.
    for round in 0..3 {
        for id in [&skip, &buffer] {
            let mut timers = vec![due_timer(&stack, id, TimerKind::Occurrence).await];
            if round == 0 {
                timers.insert(0, due_timer(&stack, id, TimerKind::StartCampaign).await);
            }
            sleep_until(timers.last().unwrap().due_at).await;
            fire(&services, timers).await;
        }
    }
    assert_eq!(
        statuses(&list_runs(&stack, &skip).await),
        ["PLANNING", "SKIPPED_OVERLAP", "SKIPPED_OVERLAP"]
    );
    assert_eq!(
        statuses(&list_runs(&stack, &buffer).await),
        ["PLANNING", "BUFFERED", "SKIPPED_OVERLAP"],
        "one waits at most"
    );

    // Pause both, let the delivery run: the buffered run starts when the first completes.
    for id in [&skip, &buffer] {
        let (status, paused) = stack
            .api(Method::POST, &format!("/campaigns/{id}/pause"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{paused}");
        assert_eq!(paused["series"]["paused"], true);
        let (status, again) = stack
            .api(Method::POST, &format!("/campaigns/{id}/pause"), None)
            .await;
        assert_eq!(
            (status, &again["series"]["paused"]),
            (StatusCode::OK, &json!(true)),
            "idempotent"
        );
        let timer = stack
            .timer(&CampaignId::new(id), TimerKind::Occurrence)
            .await;
        assert_eq!(timer.status, TimerStatus::Paused);
    }
    let local = stack.run_locally(Duration::from_secs(2)).await;
    let buffered = runs_until(&stack, &buffer, Duration::from_secs(30), |runs| {
        statuses(runs) == ["COMPLETED", "COMPLETED", "SKIPPED_OVERLAP"]
    })
    .await;
    assert_eq!(
        statuses(&buffered),
        ["COMPLETED", "COMPLETED", "SKIPPED_OVERLAP"],
        "{buffered:#?}"
    );
    assert!(
        buffered[1]["lateMs"].as_i64().unwrap() > 1_000,
        "started late, when the first completed"
    );
    let skipped = runs_until(&stack, &skip, Duration::from_secs(10), |runs| {
        runs[0]["status"] == "COMPLETED"
    })
    .await;
    assert_eq!(
        statuses(&skipped),
        ["COMPLETED", "SKIPPED_OVERLAP", "SKIPPED_OVERLAP"]
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        list_runs(&stack, &skip).await.len(),
        3,
        "paused: no occurrence handled"
    );

    // Resume: the series goes on (the occurrences missed while paused were within the
    // grace period: one runs, the others overlap it or were handled in order).
    let (status, resumed) = stack
        .api(Method::POST, &format!("/campaigns/{skip}/resume"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["series"]["paused"], false);
    let after = runs_until(&stack, &skip, Duration::from_secs(30), |runs| {
        runs.len() > 4
            && runs.iter().any(|r| {
                r["status"] == "COMPLETED" && at(&r["scheduledAt"]) > at(&resumed["updatedAt"])
            })
    })
    .await;
    let due: Vec<Timestamp> = after.iter().map(|r| at(&r["scheduledAt"])).collect();
    for pair in due.windows(2) {
        assert_eq!(
            pair[1].millis_since(pair[0]),
            2_000,
            "no occurrence lost or doubled: {after:#?}"
        );
    }
    local.stop().await;
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_series_whose_timer_was_lost_is_repaired_by_the_sweeper_and_goes_on() {
    let stack = TestStack::new().await;
    let services = executor(&stack, 60);
    into_cycle(2_000, 300).await;
    let id = create(&stack, &recurring(json!({"cron": "*/2 * * * * *"}), 0)).await;
    let first = due_timer(&stack, &id, TimerKind::Occurrence).await;
    let start = due_timer(&stack, &id, TimerKind::StartCampaign).await;
    sleep_until(first.due_at).await;
    fire(&services, vec![start, first.clone()]).await;
    // The timer is lost (deleted by hand, a bad migration): nothing would ever fire again.
    stack
        .setup
        .dynamodb
        .delete_item()
        .table_name(&stack.services.config.table_name)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CAMPAIGN#{id}")),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("TIMER#OCCURRENCE".into()),
        )
        .send()
        .await
        .expect("timer deleted");

    let sweeper = stack.function_services("SweeperFunction");
    let in_three_minutes = Timestamp::now().plus_millis(180_000);
    let report = sweeper::sweep(
        &sweeper,
        &sweeper::SweepRequest {
            dry_run: false,
            steps: Some(vec![lifecycle_domain::recovery::SweepStep::BrokenSeries]),
        },
        in_three_minutes,
        None,
    )
    .await;
    assert_eq!(report.totals.series_repaired, 1, "{report:#?}");
    assert!(
        report.steps[0].actions[0].contains("missing"),
        "{report:#?}"
    );
    let repaired = stack
        .timer(&CampaignId::new(&id), TimerKind::Occurrence)
        .await;
    let second = first.due_at.plus_millis(2_000);
    assert_eq!(
        (repaired.status, repaired.due_at, repaired.run_id.clone()),
        (
            TimerStatus::Pending,
            second,
            Some(RunId::for_occurrence(second))
        )
    );

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    fire(&services, vec![DueTimer::from(&repaired)]).await;
    let runs = list_runs(&stack, &id).await;
    assert!(runs.len() >= 2, "{runs:#?}");
    let due: Vec<Timestamp> = runs.iter().map(|r| at(&r["scheduledAt"])).collect();
    assert_eq!(due[0], first.due_at);
    for pair in due.windows(2) {
        assert_eq!(
            pair[1].millis_since(pair[0]),
            2_000,
            "none lost or doubled: {runs:#?}"
        );
    }
    let after = stack
        .timer(&CampaignId::new(&id), TimerKind::Occurrence)
        .await;
    assert!(
        after.due_at > Timestamp::now().plus_millis(-2_000),
        "the chain goes on: {after:?}"
    );
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn occurrences_left_when_the_campaign_closed_are_recorded_missed_and_the_series_ends() {
    let stack = TestStack::new().await;
    let services = executor(&stack, 60);
    into_cycle(1_000, 200).await;
    let now = Timestamp::now();
    let end = Timestamp::from_millis((now.millis() / 1_000 + 4) * 1_000);
    let recipients = json!([{"id": "m0", "address": "member-0"}]);
    let body = json!({
        "name": "Short series", "startAt": now.to_rfc3339(), "endAt": end.to_rfc3339(),
        "delivery": {"channel": "event", "recipients": recipients},
        "schedule": {"cron": "* * * * * *"},
    });
    let id = create(&stack, &body.to_string()).await;
    let first = due_timer(&stack, &id, TimerKind::Occurrence).await;
    let start = due_timer(&stack, &id, TimerKind::StartCampaign).await;
    sleep_until(first.due_at).await;
    fire(&services, vec![start, first.clone()]).await;
    // The executor handling the next occurrences died; the campaign closes first.
    sleep_until(end.plus_millis(300)).await;
    fire(
        &services,
        vec![due_timer(&stack, &id, TimerKind::CloseCampaign).await],
    )
    .await;
    fire(
        &services,
        vec![due_timer(&stack, &id, TimerKind::Occurrence).await],
    )
    .await;

    let runs = list_runs(&stack, &id).await;
    let due: Vec<Timestamp> = runs.iter().map(|r| at(&r["scheduledAt"])).collect();
    let expected: Vec<Timestamp> = (0..)
        .map(|n| first.due_at.plus_millis(n * 1_000))
        .take_while(|at| *at < end)
        .collect();
    assert_eq!(
        due, expected,
        "every occurrence before the close, once: {runs:#?}"
    );
    assert!(
        runs[1..].iter().all(|r| r["status"] == "MISSED"),
        "the campaign closed before they could run: {runs:#?}"
    );
    let timer = stack
        .timer(&CampaignId::new(&id), TimerKind::Occurrence)
        .await;
    assert_eq!(timer.status, TimerStatus::Completed, "the series is over");
    let (_, campaign) = stack
        .api(Method::GET, &format!("/campaigns/{id}"), None)
        .await;
    assert_eq!(campaign["status"], "CLOSED");
    assert_eq!(campaign["series"]["occurrences"], expected.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_series_stops_and_its_runs_complete() {
    let stack = TestStack::new().await;
    let services = executor(&stack, 60);
    into_cycle(2_000, 300).await;
    let id = create(
        &stack,
        &recurring(json!({"cron": "*/2 * * * * *", "overlap": "bufferOne"}), 0),
    )
    .await;
    for round in 0..2 {
        let mut timers = vec![due_timer(&stack, &id, TimerKind::Occurrence).await];
        if round == 0 {
            timers.insert(0, due_timer(&stack, &id, TimerKind::StartCampaign).await);
        }
        sleep_until(timers.last().unwrap().due_at).await;
        fire(&services, timers).await;
    }
    assert_eq!(
        statuses(&list_runs(&stack, &id).await),
        ["PLANNING", "BUFFERED"]
    );
    let (status, cancelled) = stack
        .api(Method::POST, &format!("/campaigns/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let timer = stack
        .timer(&CampaignId::new(&id), TimerKind::Occurrence)
        .await;
    assert_eq!(timer.status, TimerStatus::Cancelled, "the chain stops");
    let local = stack.run_locally(Duration::from_secs(2)).await;
    let runs = runs_until(&stack, &id, Duration::from_secs(30), |runs| {
        runs.iter().all(|r| r["completedAt"].is_string())
    })
    .await;
    assert_eq!(statuses(&runs), ["CANCELLED", "CANCELLED"], "{runs:#?}");
    assert!(
        runs.iter().all(|r| r["completedAt"].is_string()),
        "both complete: {runs:#?}"
    );
    local.stop().await;
    stack.assert_iam_allowed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_run_window_closes_after_run_duration_and_holds_its_series_until_then() {
    let stack = TestStack::new().await;
    let local = stack.run_locally(Duration::from_secs(2)).await;
    into_cycle(2_000, 300).await;
    let schedule = json!({
        "cron": "*/2 * * * * *", "runDuration": "PT3S", "overlap": "bufferOne", "maxRuns": 3,
    });
    let id = create(&stack, &recurring(schedule, 0)).await;
    let over = |runs: &[Value]| {
        runs.len() == 3
            && runs.iter().all(|r| {
                r["status"] == "SKIPPED_OVERLAP"
                    || (r["status"] == "COMPLETED" && r["closedAt"].is_string())
            })
    };
    let runs = runs_until(&stack, &id, Duration::from_secs(60), over).await;
    assert!(over(&runs), "{runs:#?}");
    let ran: Vec<&Value> = runs.iter().filter(|r| r["status"] == "COMPLETED").collect();
    // The second occurrence came while the first run's window was open (3 s > 2 s): it was
    // buffered and started by that window's close. The third was buffered behind it, or
    // skipped if the second had not started yet.
    assert!(ran.len() >= 2, "{runs:#?}");
    for run in &ran {
        let started = at(&run["startedAt"]);
        assert_eq!(
            at(&run["closesAt"]),
            started.plus_millis(3_000),
            "a window lasts runDuration from the run's start: {run}"
        );
        assert!(at(&run["closedAt"]) >= at(&run["closesAt"]), "{run}");
        assert_eq!(
            run["sent"].as_u64().unwrap() + run["expired"].as_u64().unwrap(),
            3,
            "every member sent, or counted expired after the close: {run}"
        );
    }
    for pair in ran.windows(2) {
        assert!(
            at(&pair[1]["startedAt"]) >= at(&pair[0]["closedAt"]),
            "a run starts once the window before it closed: {pair:#?}"
        );
    }
    let timer = stack
        .timer(&CampaignId::new(&id), TimerKind::RunClose)
        .await;
    assert_eq!(timer.status, TimerStatus::Completed, "{timer:?}");
    assert_eq!(
        timer.run_id.as_ref().map(RunId::as_str),
        ran.last().unwrap()["runId"].as_str()
    );
    let (_, campaign) = stack
        .api(Method::GET, &format!("/campaigns/{id}"), None)
        .await;
    assert!(
        campaign["series"].get("activeRun").is_none(),
        "the last window closed: the series is free: {campaign}"
    );
    let closed: Vec<Value> = stack
        .lifecycle_events(20, Duration::from_secs(5))
        .await
        .into_iter()
        .filter(|event| event["detail-type"] == "CampaignRunClosed")
        .collect();
    assert_eq!(
        closed.len(),
        ran.len(),
        "one close announced per run: {closed:#?}"
    );
    local.stop().await;
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_window_closing_mid_delivery_stops_it_and_its_completion_starts_the_next_run() {
    let stack = TestStack::new().await;
    let services = executor(&stack, 60);
    into_cycle(2_000, 300).await;
    let schedule = json!({"cron": "*/2 * * * * *", "runDuration": "PT1S", "overlap": "bufferOne"});
    let id = create(&stack, &recurring(schedule, 0)).await;
    let campaign_id = CampaignId::new(&id);
    let first = due_timer(&stack, &id, TimerKind::Occurrence).await;
    let start = due_timer(&stack, &id, TimerKind::StartCampaign).await;
    sleep_until(first.due_at).await;
    fire(&services, vec![start, first.clone()]).await;
    let close = due_timer(&stack, &id, TimerKind::RunClose).await;
    assert_eq!(close.run_id, first.run_id, "armed for the run started");
    let second = due_timer(&stack, &id, TimerKind::Occurrence).await;
    sleep_until(second.due_at).await;
    fire(&services, vec![second.clone()]).await;
    assert_eq!(
        statuses(&list_runs(&stack, &id).await),
        ["PLANNING", "BUFFERED"],
        "the first run's window is open: the second occurrence waits"
    );

    // The window closes before any recipient was sent: announced, but the run still
    // delivers, so it keeps its series.
    fire(&services, vec![close.clone()]).await;
    let runs = list_runs(&stack, &id).await;
    assert!(runs[0]["closedAt"].is_string(), "{runs:#?}");
    assert_eq!(statuses(&runs), ["PLANNING", "BUFFERED"]);
    let series = stack.campaign(&campaign_id).await.series_progress;
    assert_eq!(series.active_run, first.run_id);
    let closed = stack.timer(&campaign_id, TimerKind::RunClose).await;
    assert_eq!(closed.status, TimerStatus::Completed);

    // Its delivery finds the window closed: nothing is sent, every member counted expired;
    // its completion releases the series and starts the buffered run with its own window.
    let batches = stack.start_and_plan().await;
    assert_eq!(batches.len(), 1);
    let sender = stack.delivery_sender().await;
    let response = delivery_sender::handle_until(
        &sender,
        integration_tests::delivery::one_message(&batches[0]),
        None,
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    let runs = list_runs(&stack, &id).await;
    assert_eq!(statuses(&runs), ["COMPLETED", "PLANNING"], "{runs:#?}");
    assert_eq!(
        (&runs[0]["sent"], &runs[0]["expired"]),
        (&json!(0), &json!(3)),
        "{runs:#?}"
    );
    let started = at(&runs[1]["startedAt"]);
    assert!(started >= at(&runs[0]["closedAt"]), "{runs:#?}");
    assert_eq!(at(&runs[1]["closesAt"]), started.plus_millis(1_000));
    let series = stack.campaign(&campaign_id).await.series_progress;
    assert_eq!(series.active_run, second.run_id);
    let rearmed = stack.timer(&campaign_id, TimerKind::RunClose).await;
    assert_eq!(
        (rearmed.status, rearmed.run_id, rearmed.due_at),
        (
            TimerStatus::Pending,
            second.run_id.clone(),
            started.plus_millis(1_000)
        ),
        "the RUN_CLOSE timer armed again for the run started"
    );
    stack.assert_iam_allowed();
}
