//! `POST /recovery/trigger` and `GET /recovery/sweeps` against the emulator: the API invokes
//! the sweeper through Lambda's Invoke API (the local runtime's, started on 127.0.0.1:0, as
//! `AWS_ENDPOINT_URL_LAMBDA` points the API's Lambda client at it), answers its report and
//! lists the stored reports newest first, page by page. A failing sweep is a 502 with a code
//! and no internals; bad steps are a 400 naming the valid ones; the API's Invoke and the
//! sweeper's own calls are allowed by their policies (checked when the stack drops).

use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, api_of};
use serde_json::{Value, json};

async fn trigger(
    stack: &TestStack,
    services: &lifecycle_adapters::services::Services,
    body: &str,
) -> (StatusCode, Value) {
    api_of(
        services,
        &stack.api_lists(),
        Method::POST,
        "/recovery/trigger",
        Some(body),
    )
    .await
}

#[tokio::test]
async fn a_triggered_sweep_runs_as_the_sweeper_and_its_report_is_listed() {
    let stack = TestStack::new().await;
    let endpoint = stack.serve_lambda_api().await;
    let api = stack.api_services_invoking(&endpoint);

    let (status, report) =
        trigger(&stack, &api, r#"{"steps":["stuck_timers"],"dryRun":true}"#).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dryRun"], true, "{report:#}");
    assert_eq!(report["success"], true, "{report:#}");
    let steps: Vec<&Value> = report["steps"].as_array().unwrap().iter().collect();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0]["step"], "stuck_timers");
    let first = report["runId"].as_str().unwrap().to_owned();

    let (status, report) = trigger(&stack, &api, "").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dryRun"], false);
    assert_eq!(
        report["steps"].as_array().unwrap().len(),
        lifecycle_domain::recovery::SweepStep::ALL.len(),
        "every step"
    );
    let second = report["runId"].as_str().unwrap().to_owned();

    // Newest first, one per page, until the token runs out.
    let mut listed = Vec::new();
    let mut path = "/recovery/sweeps?limit=1".to_owned();
    loop {
        let (status, page) = stack.api(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let sweeps = page["sweeps"].as_array().unwrap();
        assert!(sweeps.len() <= 1, "{page}");
        listed.extend(
            sweeps
                .iter()
                .map(|s| s["runId"].as_str().unwrap().to_owned()),
        );
        match page["nextToken"].as_str() {
            Some(token) => path = format!("/recovery/sweeps?limit=1&nextToken={token}"),
            None => break,
        }
    }
    assert_eq!(listed, vec![second, first], "newest first");

    let (status, answer) = stack
        .api(Method::GET, "/recovery/sweeps?limit=21", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["error"]["fields"]["limit"].is_string());
}

#[tokio::test]
async fn bad_steps_are_refused_and_a_failing_sweeper_is_a_502_without_internals() {
    let stack = TestStack::new().await;
    let endpoint = stack.serve_lambda_api().await;
    let api = stack.api_services_invoking(&endpoint);

    for body in [
        json!({"steps": ["missed"]}),
        json!({"steps": []}),
        json!({"steps": "outbox"}),
    ] {
        let (status, answer) = trigger(&stack, &api, &body.to_string()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let message = answer["error"]["fields"]["steps"].as_str().unwrap();
        assert!(
            message.contains("missed_timers") && message.contains("broken_series"),
            "{message}"
        );
    }
    let (status, answer) = trigger(&stack, &api, r#"{"dry_run":true}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], "INVALID_BODY");

    // An unknown function: Lambda's ResourceNotFoundException (the API's policy would deny
    // the call on AWS, so it runs on unrecorded clients).
    let mut config = stack.api_services.config.clone();
    config.lambda_endpoint = Some(endpoint.clone());
    config.sweeper_function = Some("NoSuchFunction".into());
    let unknown = lifecycle_adapters::services::Services::new(
        config,
        &stack.setup,
        lifecycle_adapters::aws::RequestCounter::new(),
    );
    let (status, answer) = trigger(&stack, &unknown, "{}").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert_eq!(answer["error"]["code"], "SWEEPER_UNAVAILABLE");
    assert!(!answer.to_string().contains("NoSuchFunction"), "{answer}");

    // A sweeper that fails (a deployment whose table it cannot reach: it cannot take its
    // lease): Lambda's function error, answered as 502 SWEEP_FAILED without its text. Its
    // calls go to another table, so they run on unrecorded clients.
    let specs = stack
        .specs
        .iter()
        .filter(|spec| spec.logical_id == "SweeperFunction")
        .map(|spec| {
            let mut spec = spec.clone();
            spec.environment
                .insert("TABLE_NAME".into(), "no-such-table".into());
            (spec, stack.setup.clone())
        })
        .collect();
    let router = local_stack::lambda_api::router(&stack.stack.name, specs);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let failing = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let api = stack.api_services_invoking(&failing);
    let (status, answer) = trigger(&stack, &api, r#"{"steps":["outbox"]}"#).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{answer}");
    assert_eq!(answer["error"]["code"], "SWEEP_FAILED");
    let text = answer.to_string();
    assert!(
        !text.contains("no-such-table") && !text.contains("arn:"),
        "{text}"
    );
}
