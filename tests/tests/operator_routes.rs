//! Operator routes of the resilience layer through the API router: failure patterns (stored,
//! duplicate ids refused, matched on every classified error) and circuit breakers (listed,
//! reset by hand).

use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, due, failed_ids, sqs_event};
use lifecycle_domain::TimerKind;
use lifecycle_domain::Timestamp;
use lifecycle_resilience::{AwsError, Dependency, MAX_OPERATOR_PATTERNS, SERVER_ERROR};
use serde_json::json;

const EXECUTOR: &str = "TimerExecutorFunction";

#[tokio::test]
async fn failure_patterns_are_stored_refused_twice_and_change_classification() {
    let stack = TestStack::new().await;
    let pattern = json!({
        "id": "no-retry-on-injected",
        "pattern": "(?i)injected fault",
        "category": "EXTERNAL_DEPENDENCY",
        "severity": "HIGH",
        "actions": ["DEAD_LETTER"],
        "cooldownMs": 60000
    });
    let (status, body) = stack
        .api(
            Method::POST,
            "/recovery/patterns",
            Some(&pattern.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = stack
        .api(
            Method::POST,
            "/recovery/patterns",
            Some(&pattern.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "PATTERN_EXISTS");
    let mut builtin = pattern.clone();
    builtin["id"] = json!("aws-throttling");
    let (status, body) = stack
        .api(
            Method::POST,
            "/recovery/patterns",
            Some(&builtin.to_string()),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("PATTERN_EXISTS"))
    );
    let bad = json!({"id": "Bad Id", "pattern": "(", "category": "TRANSIENT", "severity": "LOW"});
    let (status, body) = stack
        .api(Method::POST, "/recovery/patterns", Some(&bad.to_string()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["fields"]["id"].is_string() && body["error"]["fields"]["pattern"].is_string(),
        "{body}"
    );

    let (status, body) = stack.api(Method::GET, "/recovery/patterns", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["custom"].as_array().unwrap().len(), 1);
    assert_eq!(body["custom"][0]["id"], "no-retry-on-injected");
    assert!(body["defaults"].as_array().unwrap().len() >= 5);

    // A function that loads the patterns no longer retries what the pattern dead-letters.
    let (services, _) = stack.function_services_with_faults(
        EXECUTOR,
        "DynamoDB.TransactWriteItems=1:throttle",
        |_| {},
    );
    services
        .begin_invocation("timer-executor", Timestamp::now())
        .await;
    let (_, timers) = stack.store_campaign(-500, 60_000, None, None).await;
    stack.requests.reset();
    let response = timer_executor::handle_batch(
        &services,
        sqs_event(&[("m", vec![due(&timers, TimerKind::StartCampaign)])]),
    )
    .await;
    assert_eq!(failed_ids(&response), ["m"]);
    assert_eq!(
        stack.requests.count("DynamoDB", "TransactWriteItems"),
        1,
        "not retried"
    );
}

fn pattern(id: &str) -> String {
    json!({
        "id": id,
        "pattern": format!("(?i){id}"),
        "category": "TRANSIENT",
        "severity": "LOW",
    })
    .to_string()
}

#[tokio::test]
async fn at_most_fifty_failure_patterns_are_stored_even_when_created_at_once() {
    let stack = TestStack::new().await;
    for i in 0..MAX_OPERATOR_PATTERNS - 5 {
        let (status, body) = stack
            .api(
                Method::POST,
                "/recovery/patterns",
                Some(&pattern(&format!("p{i:02}"))),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Ten creates race for the last five places.
    let racing = (0..10).map(|i| {
        let body = pattern(&format!("race-{i}"));
        let stack = &stack;
        async move {
            stack
                .api(Method::POST, "/recovery/patterns", Some(&body))
                .await
        }
    });
    let answers = futures_util::future::join_all(racing).await;
    let created = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::CREATED)
        .count();
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        let code = body["error"]["code"].as_str().unwrap();
        assert!(
            ["PATTERN_LIMIT_REACHED", "CONCURRENT_CHANGE"].contains(&code),
            "{body}"
        );
    }
    let stored = stack.services.store.patterns().await.unwrap().len();
    assert_eq!(stored, MAX_OPERATOR_PATTERNS - 5 + created);
    assert!(stored <= MAX_OPERATOR_PATTERNS, "{stored}");

    // Filled up: one more is refused until one is deleted.
    for i in stored..MAX_OPERATOR_PATTERNS {
        let (status, _) = stack
            .api(
                Method::POST,
                "/recovery/patterns",
                Some(&pattern(&format!("fill-{i}"))),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, body) = stack
        .api(
            Method::POST,
            "/recovery/patterns",
            Some(&pattern("one-too-many")),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("PATTERN_LIMIT_REACHED")),
        "{body}"
    );
    let (status, _) = stack
        .api(Method::DELETE, "/recovery/patterns/p00", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = stack
        .api(
            Method::POST,
            "/recovery/patterns",
            Some(&pattern("one-too-many")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, listed) = stack.api(Method::GET, "/recovery/patterns", None).await;
    assert_eq!(
        listed["custom"].as_array().unwrap().len(),
        MAX_OPERATOR_PATTERNS
    );
}

#[tokio::test]
async fn a_deleted_pattern_is_gone_at_once_and_deleting_it_again_is_404() {
    let stack = TestStack::new().await;
    let throttled = AwsError {
        operation: "Query",
        code: "ThrottlingException".into(),
        message: "Rate exceeded".into(),
        status: Some(400),
    };
    let no_retry = json!({
        "id": "no-retry-on-throttle",
        "pattern": "ThrottlingException",
        "category": "PERMANENT",
        "severity": "HIGH",
        "actions": ["DEAD_LETTER"],
    });
    let (status, _) = stack
        .api(
            Method::POST,
            "/recovery/patterns",
            Some(&no_retry.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(!stack.api_services.resilience.classify(&throttled).retryable);

    let (status, body) = stack
        .api(
            Method::DELETE,
            "/recovery/patterns/no-retry-on-throttle",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert!(stack.api_services.resilience.classify(&throttled).retryable);
    let (_, listed) = stack.api(Method::GET, "/recovery/patterns", None).await;
    assert_eq!(listed["custom"], json!([]));

    let (status, body) = stack
        .api(
            Method::DELETE,
            "/recovery/patterns/no-retry-on-throttle",
            None,
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("PATTERN_NOT_FOUND"))
    );
    let (status, body) = stack
        .api(Method::DELETE, "/recovery/patterns/aws-throttling", None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::CONFLICT, json!("PATTERN_BUILT_IN"))
    );
}

#[tokio::test]
async fn breakers_are_listed_and_reset_by_an_operator() {
    let stack = TestStack::new().await;
    let (status, body) = stack
        .api(Method::GET, "/recovery/circuit-breakers", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let states: Vec<_> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["dependency"].clone(), b["state"].clone()))
        .collect();
    let all_closed: Vec<_> = Dependency::ALL
        .iter()
        .map(|d| (json!(d.as_str()), json!("CLOSED")))
        .collect();
    assert_eq!(states, all_closed);
    assert_eq!(
        states.len(),
        10,
        "dynamodb, sqs, eventbridge, s3, ssm, secretsmanager and the four alert channels"
    );

    // An executor's SQS requests fail until its breaker opens.
    let executor = stack.function_services(EXECUTOR);
    let breaker = executor.resilience.breaker(Dependency::Sqs).unwrap();
    for _ in 0..20 {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker
            .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
            .await;
        // Added to the shared window now, not after the failure flush interval.
        breaker.flush(Timestamp::now()).await;
    }
    let (_, body) = stack
        .api(Method::GET, "/recovery/circuit-breakers", None)
        .await;
    let sqs = body
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["dependency"] == "sqs")
        .unwrap()
        .clone();
    assert_eq!(
        (sqs["state"].clone(), sqs["trips"].clone()),
        (json!("OPEN"), json!(1))
    );

    let (status, body) = stack
        .api(Method::POST, "/recovery/circuit-breakers/sqs/reset", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["state"].clone(), body["reason"].clone()),
        (json!("CLOSED"), json!("manual reset"))
    );
    let (status, body) = stack
        .api(Method::POST, "/recovery/circuit-breakers/redis/reset", None)
        .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("BREAKER_NOT_FOUND"))
    );
}

#[tokio::test]
async fn resetting_a_closed_breaker_writes_nothing_and_alerts_nobody() {
    let stack = TestStack::new().await;
    let breaker_of = |body: &serde_json::Value, name: &str| {
        body.as_array()
            .unwrap()
            .iter()
            .find(|b| b["dependency"] == name)
            .unwrap()
            .clone()
    };

    // A breaker that never tripped: nothing is stored by a reset.
    stack.requests.reset();
    let (status, body) = stack
        .api(
            Method::POST,
            "/recovery/circuit-breakers/dynamodb/reset",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["state"], &body["version"], &body["reason"]),
        (&json!("CLOSED"), &json!(0), &json!("never tripped"))
    );
    assert_eq!(stack.requests.count("DynamoDB", "TransactWriteItems"), 0);

    // Tripped and reset once: a second reset keeps the record as it is.
    let breaker = stack.api_services.shared_breaker(Dependency::Sqs).unwrap();
    for _ in 0..20 {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker
            .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
            .await;
        breaker.flush(Timestamp::now()).await;
    }
    let (_, reset) = stack
        .api(Method::POST, "/recovery/circuit-breakers/sqs/reset", None)
        .await;
    assert_eq!(
        (&reset["state"], &reset["version"]),
        (&json!("CLOSED"), &json!(2))
    );
    stack.requests.reset();
    let (status, again) = stack
        .api(Method::POST, "/recovery/circuit-breakers/sqs/reset", None)
        .await;
    assert_eq!((status, &again), (StatusCode::OK, &reset));
    assert_eq!(stack.requests.count("DynamoDB", "TransactWriteItems"), 0);
    let (_, listed) = stack
        .api(Method::GET, "/recovery/circuit-breakers", None)
        .await;
    assert_eq!(breaker_of(&listed, "sqs")["version"], 2);
    assert_eq!(breaker_of(&listed, "dynamodb")["version"], 0);

    // On the bus: the trip and the one real reset, nothing else.
    let events = stack
        .lifecycle_events(3, std::time::Duration::from_secs(3))
        .await;
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e["detail"]["kind"] == "CIRCUIT_STATE_CHANGED")
        .map(|e| e["detail"]["subject"].clone())
        .collect();
    assert_eq!(changes, [json!("sqs"), json!("sqs")], "{events:#?}");
}

#[tokio::test]
async fn an_alerting_pattern_raises_one_alert_per_cooldown_on_the_bus() {
    let stack = TestStack::new().await;
    let pattern = json!({
        "id": "injected-500",
        "pattern": "InternalServerError: injected fault",
        "category": "EXTERNAL_DEPENDENCY",
        "severity": "CRITICAL",
        "actions": ["ALERT"],
        "cooldownMs": 600000
    });
    let (status, _) = stack
        .api(
            Method::POST,
            "/recovery/patterns",
            Some(&pattern.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (services, _) =
        stack.function_services_with_faults(EXECUTOR, "DynamoDB.TransactWriteItems=1:500", |_| {});
    let (_, timers) = stack.store_campaign(-500, 60_000, None, None).await;
    for message in ["m1", "m2"] {
        let response = timer_executor::handle_batch(
            &services,
            sqs_event(&[(message, vec![due(&timers, TimerKind::StartCampaign)])]),
        )
        .await;
        assert_eq!(failed_ids(&response), [message]);
    }
    let events = stack
        .lifecycle_events(1, std::time::Duration::from_secs(5))
        .await;
    let alerts: Vec<_> = events
        .iter()
        .filter(|e| e["detail"]["kind"] == "FAILURE_PATTERN_MATCHED")
        .collect();
    assert_eq!(alerts.len(), 1, "one per cooldown: {events:#?}");
    assert_eq!(alerts[0]["detail"]["subject"], "injected-500");
    assert_eq!(alerts[0]["detail"]["errorCode"], "AWS_SERVER_ERROR");
}
