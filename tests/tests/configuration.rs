//! The runtime configuration through the API router against the emulator: read, replaced
//! conditionally on its version (a stale one refused, a repeat changing nothing), refused
//! field by field, and in force in a function's services after their reload — a breaker
//! opening after the new number of failures, a sweep applying the new misfire window.

use axum::http::{Method, StatusCode};
use integration_tests::TestStack;
use lifecycle_domain::recovery::SweepStep;
use lifecycle_domain::{TimerKind, TimerStatus, Timestamp};
use lifecycle_resilience::{Admission, CircuitState, Dependency, SERVER_ERROR};
use serde_json::{Value, json};
use sweeper::{SweepRequest, sweep};

const MINUTE: i64 = 60_000;

/// A full configuration: the built-in thresholds but for SQS (opens after 3 failures in a
/// row), and a misfire window of 5 minutes.
fn configuration(version: u64) -> Value {
    json!({
        "version": version,
        "misfire": {"windowSeconds": 300, "graceSeconds": 60, "occurrenceGraceSeconds": 30},
        "breakers": {
            "default": {"failureRatePercent": 50, "minimumCalls": 20, "openSeconds": 30,
                        "maxOpenSeconds": 300, "halfOpenProbes": 3},
            "dependencies": {"sqs": {"failureRatePercent": 100, "minimumCalls": 3,
                "openSeconds": 30, "maxOpenSeconds": 300, "halfOpenProbes": 1}},
        },
    })
}

async fn put(stack: &TestStack, body: &Value) -> (StatusCode, Value) {
    stack
        .api(
            Method::PUT,
            "/recovery/configuration",
            Some(&body.to_string()),
        )
        .await
}

#[tokio::test]
async fn a_configuration_is_replaced_on_its_version_once_and_refused_field_by_field() {
    let stack = TestStack::new().await;
    let (status, before) = stack
        .api(Method::GET, "/recovery/configuration", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(
        (&before["version"], &before["source"]),
        (&json!(0), &json!("defaults"))
    );
    assert_eq!(
        before["misfire"]["windowSeconds"], 3600,
        "the environment's"
    );
    assert_eq!(
        before["breakers"]["default"]["minimumCalls"], 20,
        "built in"
    );
    assert_eq!(before["alerts"]["source"], "environment");

    let (status, changed) = put(&stack, &configuration(0)).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["version"], &changed["source"]),
        (&json!(1), &json!("stored"))
    );
    let (_, read) = stack
        .api(Method::GET, "/recovery/configuration", None)
        .await;
    assert_eq!(read, changed);
    assert_eq!(read["breakers"]["dependencies"]["sqs"]["minimumCalls"], 3);

    // The same body again (a client retrying): the same state, no new version.
    let (status, again) = put(&stack, &configuration(0)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["version"], 1);

    // Another change from the version read before: refused.
    let mut stale = configuration(0);
    stale["misfire"]["windowSeconds"] = json!(600);
    let (status, refused) = put(&stack, &stale).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "CONCURRENT_CHANGE");
    stale["version"] = json!(1);
    let (status, changed) = put(&stack, &stale).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(
        (&changed["version"], &changed["misfire"]["windowSeconds"]),
        (&json!(2), &json!(600))
    );

    let mut bad = configuration(2);
    bad["misfire"]["graceSeconds"] = json!(601);
    bad["breakers"]["default"]["minimumCalls"] = json!(0);
    bad["breakers"]["dependencies"]["mysql"] = json!({});
    bad["alerts"] = json!({"routing": {"HIGH": ["PIGEON"]}});
    let (status, refused) = put(&stack, &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"]["code"], "VALIDATION_FAILED");
    let fields = refused["error"]["fields"].as_object().unwrap();
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "alerts.routing.HIGH[0]",
            "breakers.default.minimumCalls",
            "breakers.dependencies.mysql",
            "misfire.graceSeconds"
        ]
    );
    assert_eq!(
        fields["misfire.graceSeconds"],
        "must be at most windowSeconds (300)"
    );
    let (status, _) = stack
        .api(Method::PUT, "/recovery/configuration", Some("{"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, read) = stack
        .api(Method::GET, "/recovery/configuration", None)
        .await;
    assert_eq!(read["version"], 2, "nothing refused was stored");
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_function_reloads_the_breaker_thresholds_and_opens_after_the_new_number_of_failures() {
    let stack = TestStack::new().await;
    let (status, body) = put(&stack, &configuration(0)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let executor = stack.function_services("TimerExecutorFunction");
    executor
        .begin_invocation("timer-executor", Timestamp::now())
        .await;
    assert_eq!(executor.runtime.current().version, 1);
    let now = Timestamp::now();
    for dependency in [Dependency::Sqs, Dependency::S3] {
        let breaker = executor.shared_breaker(dependency).unwrap();
        assert_eq!(breaker.config_version(), 1);
        for _ in 0..3 {
            breaker
                .record(&Admission::Allowed, Some(&SERVER_ERROR), now)
                .await;
        }
        breaker.flush(now).await;
    }
    let sqs = executor.shared_breaker(Dependency::Sqs).unwrap();
    assert_eq!(sqs.refresh(now).await.unwrap().state, CircuitState::Open);
    let s3 = executor.shared_breaker(Dependency::S3).unwrap();
    assert_eq!(
        s3.refresh(now).await.unwrap().state,
        CircuitState::Closed,
        "3 of the default 20 calls"
    );
    stack.assert_iam_allowed();
}

#[tokio::test]
async fn a_sweep_applies_the_reloaded_misfire_window() {
    let stack = TestStack::new().await;
    // Started 9 minutes ago: within the default hour's window, beyond the new 5 minutes.
    let (campaign, _) = stack
        .store_campaign(-9 * MINUTE, 60 * MINUTE, None, None)
        .await;
    let (status, body) = put(&stack, &configuration(0)).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let services = stack.function_services("SweeperFunction");
    let report = sweep(
        &services,
        &SweepRequest {
            dry_run: false,
            steps: Some(vec![SweepStep::MissedTimers]),
        },
        Timestamp::now(),
        None,
    )
    .await;
    assert!(report.success, "{report:#?}");
    assert_eq!(services.sweep_config().misfire_window_secs, 300);
    let missed = report
        .steps
        .iter()
        .find(|s| s.step == SweepStep::MissedTimers)
        .unwrap();
    assert_eq!(missed.get("cancelled"), 1, "{missed:#?}");
    assert!(
        missed
            .actions
            .iter()
            .any(|a| a.contains("beyond the misfire window of 300 s")),
        "{missed:#?}"
    );
    let start = stack.timer(&campaign.id, TimerKind::StartCampaign).await;
    assert_eq!(start.status, TimerStatus::Cancelled);
    stack.assert_iam_allowed();
}
