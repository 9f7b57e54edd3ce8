//! The HTTP API against the local stack: status codes, error bodies, listing, cancel.

use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, api_of};
use lifecycle_domain::{CampaignId, TimerKind, Timestamp};
use serde_json::json;

fn body(start_in_s: i64, end_in_s: i64) -> String {
    let now = Timestamp::now();
    json!({
        "name": "Spring sale",
        "startAt": now.plus_millis(start_in_s * 1000).to_rfc3339(),
        "endAt": now.plus_millis(end_in_s * 1000).to_rfc3339(),
    })
    .to_string()
}

#[tokio::test]
async fn creates_reads_lists_and_cancels_a_campaign() {
    let stack = TestStack::new().await;
    let (status, created) = stack
        .api(Method::POST, "/campaigns", Some(&body(3600, 7200)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "SCHEDULED");
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, read) = stack
        .api(Method::GET, &format!("/campaigns/{id}"), None)
        .await;
    assert_eq!((status, &read), (StatusCode::OK, &created));
    let (_, timers) = stack
        .api(Method::GET, &format!("/campaigns/{id}/timers"), None)
        .await;
    let kinds: Vec<_> = timers["timers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![json!("START_CAMPAIGN"), json!("CLOSE_CAMPAIGN")]
    );
    let (status, listed) = stack
        .api(Method::GET, "/campaigns?status=SCHEDULED&limit=10", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        listed["campaigns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str())
    );

    let (status, cancelled) = stack
        .api(Method::POST, &format!("/campaigns/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(
        (cancelled["status"].clone(), cancelled["version"].clone()),
        (json!("CANCELLED"), json!(2))
    );
    let (_, timers) = stack
        .api(Method::GET, &format!("/campaigns/{id}/timers"), None)
        .await;
    assert!(
        timers["timers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "CANCELLED")
    );

    let (status, again) = stack
        .api(Method::POST, &format!("/campaigns/{id}/cancel"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(again["error"]["code"], "ILLEGAL_TRANSITION");
    let events = stack
        .lifecycle_events(1, std::time::Duration::from_secs(3))
        .await;
    assert!(events.iter().any(
        |e| e["detail-type"] == "CampaignCancelled" && e["detail"]["campaignId"] == id.as_str()
    ));
}

#[tokio::test]
async fn timers_are_listed_without_the_engine_internals() {
    let stack = TestStack::new().await;
    // Starts within the direct-send window: its START timer is marked `queuedAtCreation`.
    let (status, created) = stack
        .api(Method::POST, "/campaigns", Some(&body(30, 7200)))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = CampaignId::new(created["id"].as_str().unwrap());
    let start = stack.timer(&id, TimerKind::StartCampaign).await;
    assert!(start.queued_at_creation && start.next_deadline.is_some());
    // The CLOSE timer leased by a worker, then taken back: lease fields and lease text stored.
    let close = stack.timer(&id, TimerKind::CloseCampaign).await;
    let store = &stack.services.store;
    let expires = Timestamp::now().plus_millis(60_000);
    assert!(
        store
            .claim_timer(&close, "sweep-owner-4711", expires)
            .await
            .unwrap()
    );
    let leased = stack.timer(&id, TimerKind::CloseCampaign).await;
    assert!(leased.lease_owner.is_some() && leased.lease_expires_at.is_some());
    let (status, listed) = stack
        .api(Method::GET, &format!("/campaigns/{id}/timers"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    store
        .take_back_timer(&leased, Timestamp::now(), 5)
        .await
        .unwrap();
    assert!(
        stack
            .timer(&id, TimerKind::CloseCampaign)
            .await
            .last_error
            .is_some()
    );
    let (_, after) = stack
        .api(Method::GET, &format!("/campaigns/{id}/timers"), None)
        .await;

    for body in [&listed, &after] {
        let timers = body["timers"].as_array().unwrap();
        assert_eq!(timers.len(), 2, "{body}");
        for timer in timers {
            for internal in [
                "leaseOwner",
                "leaseExpiresAt",
                "queuedAtCreation",
                "nextDeadline",
                "lastError",
            ] {
                assert!(timer.get(internal).is_none(), "{internal} in {timer}");
            }
            assert!(timer["timerId"].is_string() && timer["dueAt"].is_string());
        }
        assert!(!body.to_string().contains("sweep-owner-4711"), "{body}");
    }
    assert_eq!(listed["timers"][1]["status"], "RUNNING");
    assert_eq!(after["timers"][1]["attempts"], 1);
}

#[tokio::test]
async fn bad_input_gets_400_with_field_messages() {
    let stack = TestStack::new().await;
    let (status, error) = stack
        .api(Method::POST, "/campaigns", Some(&body(7200, 3600)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"]["code"], "VALIDATION_FAILED");
    assert!(error["error"]["fields"]["endAt"].is_string(), "{error}");

    let (status, error) = stack
        .api(Method::POST, "/campaigns", Some("{not json"))
        .await;
    assert_eq!(
        (status, error["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("INVALID_BODY"))
    );

    let (status, error) = stack.api(Method::GET, "/campaigns?limit=0", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error"]["fields"]["status"].is_string()
            && error["error"]["fields"]["limit"].is_string(),
        "{error}"
    );
    let (status, error) = stack
        .api(
            Method::GET,
            "/campaigns?status=RUNNING&nextToken=%21%21",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error["error"]["fields"]["nextToken"].is_string(), "{error}");
}

#[tokio::test]
async fn a_name_of_control_characters_gets_400_on_name() {
    let stack = TestStack::new().await;
    let mut request: serde_json::Value = serde_json::from_str(&body(3600, 7200)).unwrap();
    request["name"] = json!("\u{0}\u{0}");
    let (status, error) = stack
        .api(Method::POST, "/campaigns", Some(&request.to_string()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(error["error"]["code"], "VALIDATION_FAILED");
    let fields = error["error"]["fields"].as_object().unwrap();
    assert_eq!(fields.keys().collect::<Vec<_>>(), ["name"], "{error}");
    assert!(
        fields["name"]
            .as_str()
            .unwrap()
            .contains("control characters")
    );
}

#[tokio::test]
async fn unknown_ids_and_routes_get_404() {
    let stack = TestStack::new().await;
    for path in ["/campaigns/nope", "/campaigns/nope/timers", "/nowhere"] {
        let (status, error) = stack.api(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(error["error"]["code"].is_string(), "{path}: {error}");
    }
    let (status, _) = stack
        .api(Method::POST, "/campaigns/nope/cancel", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_reports_every_component_without_secrets() {
    let stack = TestStack::new().await;
    let component = |report: &serde_json::Value, name: &str| {
        report["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .clone()
    };

    // Nothing has run yet: the scheduled functions are unknown, so degraded.
    let (status, report) = stack.api(Method::GET, "/health", None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["status"], "degraded", "{report}");
    for name in [
        "dynamodb",
        "timersQueue",
        "timersDeadLetterQueue",
        "eventBus",
    ] {
        assert_eq!(component(&report, name)["status"], "healthy", "{report}");
    }
    assert_eq!(component(&report, "dispatcher")["status"], "degraded");
    let text = report.to_string();
    assert!(!text.contains("http") && !text.contains("arn:"), "{text}");

    // After a dispatcher tick and a sweep, all is healthy.
    let dispatcher = stack.function_services("TimerDispatcherFunction");
    timer_dispatcher::dispatch(&dispatcher, Timestamp::now())
        .await
        .unwrap();
    sweeper::sweep(
        &stack.function_services("SweeperFunction"),
        &sweeper::SweepRequest::default(),
        Timestamp::now(),
        None,
    )
    .await;
    let (status, report) = stack.api(Method::GET, "/health", None).await;
    assert_eq!(
        (status, &report["status"]),
        (StatusCode::OK, &json!("healthy")),
        "{report}"
    );
    assert!(component(&report, "dispatcher")["detail"]["lastSeenAgeSeconds"].is_number());

    // A dead letter degrades the service.
    stack
        .setup
        .sqs
        .send_message()
        .queue_url(stack.queue_url("TimersDeadLetterQueue"))
        .message_body("{}")
        .send()
        .await
        .unwrap();
    let (_, report) = stack.api(Method::GET, "/health", None).await;
    let dead = component(&report, "timersDeadLetterQueue");
    assert_eq!(
        (&dead["status"], &dead["detail"]["visible"]),
        (&json!("degraded"), &json!(1))
    );
    assert_eq!(report["status"], "degraded");
}

#[tokio::test]
async fn failed_health_checks_answer_error_codes_never_error_text() {
    let stack = TestStack::new().await;
    let (services, injector) =
        stack.function_services_with_faults("ApiFunction", "*=1.0:mixed", |_| {});
    let (status, report) =
        api_of(&services, &stack.api_lists(), Method::GET, "/health", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{report}");
    assert!(injector.total() > 0);
    let codes = [
        "AWS_THROTTLED",
        "AWS_SERVER_ERROR",
        "AWS_TIMEOUT",
        "CIRCUIT_OPEN",
        "TIMEOUT",
    ];
    for component in report["components"].as_array().unwrap() {
        assert_eq!(component["status"], "unhealthy", "{component}");
        let code = component["errorCode"].as_str().unwrap_or_default();
        assert!(codes.contains(&code), "{component}");
        assert!(component.get("error").is_none(), "{component}");
    }
    let text = report.to_string();
    for leak in ["injected", "failed", "Exception", "arn:", "http", "request"] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[tokio::test]
async fn the_openapi_document_is_served_and_names_every_route_of_the_router() {
    let stack = TestStack::new().await;
    let (status, document) = stack.api(Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    for (method, path, _access) in api::routes() {
        let method = method.as_str().to_lowercase();
        assert!(
            document["paths"][path][&method]["summary"].is_string(),
            "{method} {path} is not in the served document"
        );
    }
}
