//! The recovery log on the emulator: the fan-out files every alert once (a redelivery adds
//! nothing), the sweeper files what it repaired with its report; the entries are read by
//! time, category, severity and campaign, page by page, and resolved once; the statistics
//! and the report are computed from the hourly counters those writes added.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use axum::http::{Method, StatusCode};
use integration_tests::TestStack;
use lifecycle_domain::recovery::SweepStep;
use lifecycle_domain::recovery_log::{Counter, Counts};
use lifecycle_domain::{Alert, TimerKind, Timestamp};
use serde_json::{Value, json};
use sweeper::{SweepRequest, sweep};

const MINUTE: i64 = 60_000;

/// Bus events as the alerts queue delivers them.
fn queue_event(bodies: &[Value]) -> SqsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| json!({"messageId": format!("m{i}"), "body": body.to_string()}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn alert_body(alert: &Value) -> Value {
    json!({"version": "0", "source": "campaign-lifecycle", "detail-type": "AlertRaised",
        "detail": alert})
}

fn breaker(from: &str, to: &str, version: u64, outage_ms: Option<u64>) -> Value {
    json!(Alert::circuit_changed(
        "sqs",
        (from, to),
        version,
        ("5 failures", outage_ms),
        Some("AWS_SERVER_ERROR"),
        Timestamp::now().plus_millis(version as i64 * 10),
    ))
}

/// Every entry the route lists for `query`, following its pages.
async fn all_events(stack: &TestStack, query: &str) -> (Vec<Value>, usize) {
    let mut events = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(token) => format!("/recovery/events?{query}&nextToken={token}"),
            None => format!("/recovery/events?{query}"),
        };
        let (status, body) = stack.api(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        events.extend(body["events"].as_array().unwrap().iter().cloned());
        match body["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => return (events, pages),
        }
    }
}

fn codes(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn alerts_and_sweeps_are_filed_once_queried_resolved_and_counted() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let sweeper = stack.function_services_with("SweeperFunction", |c| c.sweep.max_attempts = 2);
    let only_stuck = SweepRequest {
        dry_run: false,
        steps: Some(vec![SweepStep::StuckTimers]),
    };
    let run_sweep = || sweep(&sweeper, &only_stuck, Timestamp::now(), None);

    // A worker died 30 s after its lease ran out: requeued; then again: FAILED, an alert.
    let (campaign, _) = stack
        .store_campaign(60 * MINUTE, 120 * MINUTE, None, None)
        .await;
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    let expired = Timestamp::now().plus_millis(-30_000);
    assert!(store.claim_timer(&timer, "dead", expired).await.unwrap());
    run_sweep().await;
    let timer = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    assert!(store.claim_timer(&timer, "dead", expired).await.unwrap());
    run_sweep().await;
    let bus = stack.lifecycle_events(1, Duration::from_secs(10)).await;
    assert_eq!(bus[0]["detail"]["kind"], "TIMER_FAILED");

    // The fan-out receives it, a breaker's outage and a run with failures; all redelivered.
    let run_completed = json!({"version": "0", "source": "campaign-lifecycle",
        "detail-type": "CampaignRunCompleted", "detail": {"campaignId": campaign.id.as_str(),
        "runId": "20261203T000000000Z", "total": 10, "sent": 7, "failed": 3,
        "completedAt": Timestamp::now()}});
    let bodies = vec![
        bus[0].clone(),
        alert_body(&breaker("CLOSED", "OPEN", 1, None)),
        alert_body(&breaker("OPEN", "HALF_OPEN", 2, None)),
        alert_body(&breaker("HALF_OPEN", "CLOSED", 3, Some(42_000))),
        run_completed,
    ];
    let fanout = stack.alert_fanout(&[]);
    for _delivery in 0..2 {
        let response = alert_fanout::handle_queue(&fanout, queue_event(&bodies)).await;
        assert!(response.batch_item_failures.is_empty());
    }

    // Everything, newest first, two at a time: 7 entries, each once, none skipped.
    let (everything, pages) = all_events(&stack, "limit=2").await;
    let mut sorted = codes(&everything);
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "CIRCUIT_CLOSED",
            "CIRCUIT_HALF_OPEN",
            "CIRCUIT_OPENED",
            "RUN_DELIVERY_FAILURES",
            "STUCK_TIMERS_RECOVERED",
            "STUCK_TIMERS_RECOVERED",
            "TIMER_FAILED",
        ]
    );
    assert!(pages >= 4, "{pages} pages of 2");
    let ids: Vec<&str> = everything
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let mut newest_first = ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);

    // By category, severity and campaign (each through its own key, one filter combined).
    let (breakers, _) = all_events(&stack, "category=CIRCUIT_BREAKER").await;
    assert_eq!(
        codes(&breakers),
        ["CIRCUIT_CLOSED", "CIRCUIT_HALF_OPEN", "CIRCUIT_OPENED"]
    );
    assert!(breakers.iter().all(|e| e["component"] == "sqs"));
    let (critical, _) = all_events(&stack, "severity=CRITICAL").await;
    assert_eq!(codes(&critical), ["CIRCUIT_OPENED"]);
    let (about_campaign, _) =
        all_events(&stack, &format!("campaignId={}", campaign.id.as_str())).await;
    let mut about = codes(&about_campaign);
    about.sort();
    assert_eq!(about, ["RUN_DELIVERY_FAILURES", "TIMER_FAILED"]);
    let (failed_timers, _) = all_events(
        &stack,
        &format!("campaignId={}&category=TIMER_FAILURE", campaign.id.as_str()),
    )
    .await;
    assert_eq!(failed_timers.len(), 1);
    assert_eq!(failed_timers[0]["timerId"], timer.timer_id.as_str());
    let since = Timestamp::now().plus_millis(MINUTE).to_rfc3339();
    let (future, _) = all_events(&stack, &format!("since={since}")).await;
    assert!(future.is_empty());

    // Resolved once: the first resolution stays.
    let id = failed_timers[0]["id"].as_str().unwrap();
    let path = format!("/recovery/events/{id}/resolve");
    let (status, body) = stack
        .api(
            Method::POST,
            &path,
            Some(r#"{"resolvedBy":"alice","note":"fired by hand"}"#),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["alreadyResolved"], false);
    assert_eq!(body["event"]["resolution"]["by"], "alice");
    let (status, body) = stack
        .api(Method::POST, &path, Some(r#"{"resolvedBy":"bob"}"#))
        .await;
    assert_eq!(
        (status, body["alreadyResolved"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(body["event"]["resolution"]["by"], "alice");
    assert_eq!(body["event"]["resolution"]["note"], "fired by hand");
    let (status, body) = stack.api(Method::POST, &path, Some("{}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["fields"]["resolvedBy"].is_string(), "{body}");
    let unknown = format!(
        "/recovery/events/{}-nope/resolve",
        Timestamp::now().millis()
    );
    let (status, body) = stack
        .api(Method::POST, &unknown, Some(r#"{"resolvedBy":"alice"}"#))
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("EVENT_NOT_FOUND"))
    );
    let (status, body) = stack
        .api(
            Method::GET,
            "/recovery/events?severity=URGENT&limit=0",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: BTreeSet<&str> = body["error"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, BTreeSet::from(["limit", "severity"]));

    // An instance's retry counts, flushed outside any entry.
    let mut retries = Counts::default();
    retries.add(Counter::RetriedCalls, 4);
    retries.add(Counter::RetrySuccesses, 3);
    store
        .add_recovery_counts(&retries, Timestamp::now())
        .await
        .unwrap();

    // The statistics: from the counters the same writes added, each once.
    let (status, stats) = stack
        .api(Method::GET, "/recovery/statistics?window=1h", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["errors"]["total"], 3, "{stats:#}");
    assert_eq!(stats["errors"]["byCategory"]["TIMER_FAILURE"], 1);
    assert_eq!(stats["errors"]["byCategory"]["CIRCUIT_BREAKER"], 1);
    assert_eq!(stats["errors"]["bySeverity"]["CRITICAL"], 1);
    assert_eq!(stats["breakerTrips"]["sqs"], 1);
    assert_eq!(stats["meanTimeToRecoveryMs"]["byComponent"]["sqs"], 42_000);
    let stuck_mttr = stats["meanTimeToRecoveryMs"]["stuckTimers"]
        .as_u64()
        .unwrap();
    assert!((30_000..90_000).contains(&stuck_mttr), "{stuck_mttr}");
    assert_eq!(stats["timersRecovered"]["byKind"]["START_CAMPAIGN"], 1);
    assert_eq!(stats["timersRecovered"]["stuck"], 1);
    assert_eq!(stats["recovery"]["actions"], 1);
    assert_eq!(stats["recovery"]["failures"], 1);
    assert_eq!(stats["sweeps"], 2);
    assert_eq!(stats["retries"]["retriedCalls"], 4);
    assert_eq!(stats["retries"]["successRate"], 0.75);
    let top: Vec<&str> = stats["topErrorCodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        top.iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from(["CIRCUIT_OPENED", "RUN_DELIVERY_FAILURES", "TIMER_FAILED"])
    );
    let (status, body) = stack
        .api(Method::GET, "/recovery/statistics?window=2h", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"]["fields"]["window"].is_string());

    // The report: sqs recovered from its one outage; the failed timer is a recommendation.
    let (status, report) = stack.api(Method::GET, "/recovery/report", None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let sqs = report["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["dependency"] == "sqs")
        .unwrap();
    assert_eq!(sqs["status"], "HEALTHY", "{sqs:#}");
    assert_eq!(
        (sqs["outages"].clone(), sqs["recoveries"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(sqs["averageDowntimeMs"], 42_000);
    assert_eq!(sqs["recentEvents"].as_array().unwrap().len(), 3);
    let advice: Vec<&str> = report["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(advice.contains(&"FAILED_TIMERS"), "{advice:?}");
    assert_eq!(report["lastSweeps"].as_array().unwrap().len(), 2);
    stack.assert_iam_allowed();
}
