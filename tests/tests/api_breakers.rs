//! API traffic and the shared circuit breakers against the emulator: API requests failing
//! against DynamoDB leave the shared breaker record and its failure window as they were
//! (they would open the breaker that stops the executor), an open breaker refuses none of
//! the API's requests, and the API still lists and resets the breakers.

use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, api_of};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_resilience::{CircuitState, Dependency, SERVER_ERROR, WindowCounts};
use serde_json::json;

const API: &str = "ApiFunction";
const EXECUTOR: &str = "TimerExecutorFunction";
/// Every DynamoDB Query of the faulted instance fails (the breakers' own counter writes,
/// UpdateItem, go through).
const DYNAMODB_DOWN: &str = "DynamoDB.Query=1:500";

/// The shared failure window of DynamoDB (every bucket).
async fn dynamodb_window(stack: &TestStack) -> WindowCounts {
    stack
        .services
        .store
        .breaker_window("dynamodb", 0, Timestamp::now().millis() + 3_600_000)
        .await
        .unwrap()
}

/// Sends `count` listings (a Query each) to the API over `services`; each fails.
async fn failing_requests(stack: &TestStack, services: &Services, count: usize) {
    for _ in 0..count {
        let path = "/campaigns?status=RUNNING";
        let (status, body) = api_of(services, &stack.api_lists(), Method::GET, path, None).await;
        assert!(status.is_server_error(), "{path}: {status} {body}");
    }
}

#[tokio::test]
async fn api_failures_leave_the_shared_breaker_alone() {
    let stack = TestStack::new().await;
    let (api, _faults) = stack.function_services_with_faults(API, DYNAMODB_DOWN, |_| {});
    assert!(
        !api.config.circuit_breakers,
        "CIRCUIT_BREAKERS=off in the template"
    );

    failing_requests(&stack, &api, 30).await;
    if let Some(breaker) = api.shared_breaker(Dependency::DynamoDb) {
        breaker.flush(Timestamp::now()).await;
    }
    assert_eq!(
        stack
            .services
            .store
            .breaker_record("dynamodb")
            .await
            .unwrap(),
        None
    );
    assert_eq!(dynamodb_window(&stack).await, WindowCounts::default());

    // The same requests through an instance guarded by the breakers (the executor's
    // setting) do count: what the API is kept out of.
    let (guarded, _faults) =
        stack.function_services_with_faults(API, DYNAMODB_DOWN, |c| c.circuit_breakers = true);
    failing_requests(&stack, &guarded, 2).await;
    guarded
        .resilience
        .breaker(Dependency::DynamoDb)
        .unwrap()
        .flush(Timestamp::now())
        .await;
    assert!(dynamodb_window(&stack).await.failures > 0);
}

#[tokio::test]
async fn an_open_breaker_refuses_no_api_request_and_the_api_still_resets_it() {
    let stack = TestStack::new().await;
    let executor = stack.function_services(EXECUTOR);
    let breaker = executor.resilience.breaker(Dependency::DynamoDb).unwrap();
    for _ in 0..20 {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker
            .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
            .await;
        breaker.flush(Timestamp::now()).await;
    }
    let record = stack
        .services
        .store
        .breaker_record("dynamodb")
        .await
        .unwrap();
    assert_eq!(record.map(|r| r.state), Some(CircuitState::Open));

    // The API reads and writes through it: its requests are not refused.
    let (status, body) = stack
        .api(Method::GET, "/campaigns?status=RUNNING", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let start = Timestamp::now().plus_millis(3_600_000);
    let campaign = json!({
        "name": "during an outage of the executor's breaker",
        "startAt": start.to_rfc3339(),
        "endAt": start.plus_millis(3_600_000).to_rfc3339(),
    });
    let (status, body) = stack
        .api(Method::POST, "/campaigns", Some(&campaign.to_string()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // The operators' routes still show and reset the shared record.
    let (status, body) = stack
        .api(Method::GET, "/recovery/circuit-breakers", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let dynamodb = body
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["dependency"] == "dynamodb")
        .unwrap();
    assert_eq!(dynamodb["state"], "OPEN");
    let (status, body) = stack
        .api(
            Method::POST,
            "/recovery/circuit-breakers/dynamodb/reset",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["state"], &body["reason"]),
        (&json!("CLOSED"), &json!("manual reset"))
    );
    let record = stack
        .services
        .store
        .breaker_record("dynamodb")
        .await
        .unwrap();
    assert_eq!(record.map(|r| r.state), Some(CircuitState::Closed));
}
