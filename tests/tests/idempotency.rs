//! The `Idempotency-Key` header against the emulator: a retry gets the stored answer (and
//! creates nothing more), a reused key or one still running is refused, a 5xx is not stored,
//! and a claim whose holder crashed runs again after its lease. Keys are each caller's own:
//! another principal's same key runs its own request. Requests carry their signer in the
//! request context as API Gateway's IAM authorization gives it.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use integration_tests::TestStack;
use lambda_http::RequestExt;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{CallerKey, IdempotencyClaim, request_fingerprint};
use lifecycle_domain::Timestamp;
use local_stack::api_auth::signed_by;
use serde_json::{Value, json};
use tower::ServiceExt;

const API: &str = "ApiFunction";
/// The principal most requests are signed by.
const ALICE: &str = "arn:aws:sts::123456789012:assumed-role/Operators/alice";
const BOB: &str = "arn:aws:sts::123456789012:assumed-role/Operators/bob";

/// Sends a request signed by [`ALICE`] with an optional `Idempotency-Key` to the API router
/// over `services`.
async fn send(
    stack: &TestStack,
    services: &Services,
    method: Method,
    path: &str,
    body: &str,
    key: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    send_as(ALICE, stack, services, method, path, body, key).await
}

/// [`send`], signed by `principal`.
async fn send_as(
    principal: &str,
    stack: &TestStack,
    services: &Services,
    method: Method,
    path: &str,
    body: &str,
    key: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(key) = key {
        request = request.header(api::IDEMPOTENCY_KEY, key);
    }
    let request = request
        .body(Body::from(body.to_owned()))
        .unwrap()
        .with_request_context(signed_by(principal.to_owned()));
    let response = api::router(services.clone(), stack.api_lists())
        .oneshot(request)
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (parts.status, parts.headers, json)
}

fn campaign_body(name: &str) -> String {
    let start = Timestamp::now().plus_millis(3_600_000);
    json!({
        "name": name,
        "startAt": start.to_rfc3339(),
        "endAt": start.plus_millis(3_600_000).to_rfc3339(),
    })
    .to_string()
}

async fn scheduled_campaigns(stack: &TestStack) -> usize {
    let (status, _, body) = send(
        stack,
        &stack.api_services,
        Method::GET,
        "/campaigns?status=SCHEDULED&limit=100",
        "",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["campaigns"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_retry_gets_the_stored_answer_and_creates_nothing_more() {
    let stack = TestStack::new().await;
    let api = &stack.api_services;
    let body = campaign_body("Spring sale");
    let (status, headers, first) = send(
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &body,
        Some("order-1"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert!(headers.get(api::IDEMPOTENT_REPLAYED).is_none());

    // Another instance (a retry landing elsewhere) answers from the stored record.
    let other = stack.function_services(API);
    let (status, headers, again) = send(
        &stack,
        &other,
        Method::POST,
        "/campaigns",
        &body,
        Some("order-1"),
    )
    .await;
    assert_eq!((status, &again), (StatusCode::CREATED, &first));
    assert_eq!(headers[api::IDEMPOTENT_REPLAYED], "true");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(scheduled_campaigns(&stack).await, 1);

    // The same key on another body, or another path: refused, nothing created.
    let (status, _, error) = send(
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &campaign_body("Summer sale"),
        Some("order-1"),
    )
    .await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("IDEMPOTENCY_KEY_REUSED")
        )
    );
    let id = first["id"].as_str().unwrap();
    let (status, _, _) = send(
        &stack,
        api,
        Method::POST,
        &format!("/campaigns/{id}/cancel"),
        "",
        Some("order-1"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(scheduled_campaigns(&stack).await, 1);

    // A 4xx answer is stored too: the retry of a second cancel replays its 409.
    let cancel = format!("/campaigns/{id}/cancel");
    let (status, _, _) = send(&stack, api, Method::POST, &cancel, "", Some("cancel-1")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, refused) = send(&stack, api, Method::POST, &cancel, "", Some("cancel-2")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, headers, replayed) =
        send(&stack, api, Method::POST, &cancel, "", Some("cancel-2")).await;
    assert_eq!((status, &replayed), (StatusCode::CONFLICT, &refused));
    assert_eq!(headers[api::IDEMPOTENT_REPLAYED], "true");

    // The record expires after 24 hours (the table's TTL attribute).
    let item = stack
        .setup
        .dynamodb
        .get_item()
        .table_name(&stack.services.config.table_name)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(
                CallerKey::new(ALICE, "order-1").item_key().into(),
            ),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("IDEMPOTENCY".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .expect("the record");
    let expires: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
    let in_a_day = Timestamp::now().plus_millis(24 * 3_600_000).epoch_seconds();
    assert!((in_a_day - 120..=in_a_day).contains(&expires), "{expires}");
}

#[tokio::test]
async fn each_caller_has_keys_of_its_own() {
    let stack = TestStack::new().await;
    let api = &stack.api_services;
    let (alice_body, bob_body) = (campaign_body("Alice's sale"), campaign_body("Bob's sale"));
    let (status, _, alices) = send_as(
        ALICE,
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &alice_body,
        Some("retry-1"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{alices}");
    // Bob's same key on another body is not a reuse of Alice's, nor a replay of her answer.
    let (status, headers, bobs) = send_as(
        BOB,
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &bob_body,
        Some("retry-1"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bobs}");
    assert!(headers.get(api::IDEMPOTENT_REPLAYED).is_none());
    assert_ne!(alices["id"], bobs["id"]);
    // Nor on the same body: Bob's request runs (and creates his campaign).
    let (status, headers, bobs_copy) = send_as(
        BOB,
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &alice_body,
        Some("retry-2"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{bobs_copy}");
    assert!(headers.get(api::IDEMPOTENT_REPLAYED).is_none());
    // Each caller's retry replays its own answer.
    for (principal, body, first) in [(ALICE, &alice_body, &alices), (BOB, &bob_body, &bobs)] {
        let (status, headers, again) = send_as(
            principal,
            &stack,
            api,
            Method::POST,
            "/campaigns",
            body,
            Some("retry-1"),
        )
        .await;
        assert_eq!((status, &again["id"]), (StatusCode::CREATED, &first["id"]));
        assert_eq!(headers[api::IDEMPOTENT_REPLAYED], "true");
    }
    assert_eq!(scheduled_campaigns(&stack).await, 3);
}

#[tokio::test]
async fn a_key_still_running_is_refused_and_one_whose_holder_crashed_runs_again() {
    let stack = TestStack::new().await;
    let api = &stack.api_services;
    let body = campaign_body("Spring sale");
    let fingerprint = request_fingerprint("POST", "/campaigns", body.as_bytes());

    // Another instance holds the key and is still within its lease.
    let claim = api
        .store
        .claim_idempotency_key(
            &CallerKey::new(ALICE, "running"),
            &fingerprint,
            Timestamp::now(),
            30_000,
        )
        .await
        .unwrap();
    assert!(
        matches!(claim, IdempotencyClaim::Claimed { .. }),
        "{claim:?}"
    );
    let (status, _, error) = send(
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &body,
        Some("running"),
    )
    .await;
    assert_eq!(
        (status, &error["error"]["code"]),
        (StatusCode::CONFLICT, &json!("IDEMPOTENCY_KEY_IN_USE"))
    );
    assert_eq!(scheduled_campaigns(&stack).await, 0);

    // A holder that crashed after the handler's write, before storing the answer: its
    // lease ran out, so the retry runs the handler again (whose writes are conditional).
    let start = Timestamp::now().plus_millis(-60_000);
    api.store
        .claim_idempotency_key(
            &CallerKey::new(ALICE, "crashed"),
            &fingerprint,
            start,
            30_000,
        )
        .await
        .unwrap();
    let (status, _, created) = send(
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &body,
        Some("crashed"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, headers, replayed) = send(
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &body,
        Some("crashed"),
    )
    .await;
    assert_eq!((status, &replayed), (StatusCode::CREATED, &created));
    assert_eq!(headers[api::IDEMPOTENT_REPLAYED], "true");

    // An expired claim of another request is not taken over: that key is someone else's.
    let other = request_fingerprint("POST", "/campaigns", b"{}");
    api.store
        .claim_idempotency_key(&CallerKey::new(ALICE, "theirs"), &other, start, 30_000)
        .await
        .unwrap();
    let (status, _, _) = send(
        &stack,
        api,
        Method::POST,
        "/campaigns",
        &body,
        Some("theirs"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_5xx_is_not_stored_so_the_retry_runs_again() {
    let stack = TestStack::new().await;
    let (failing, _faults) =
        stack.function_services_with_faults(API, "DynamoDB.TransactWriteItems=1.0:500", |_| {});
    let body = campaign_body("Spring sale");
    let (status, _, error) = send(
        &stack,
        &failing,
        Method::POST,
        "/campaigns",
        &body,
        Some("flaky"),
    )
    .await;
    assert!(status.is_server_error(), "{status} {error}");

    let (status, headers, created) = send(
        &stack,
        &stack.api_services,
        Method::POST,
        "/campaigns",
        &body,
        Some("flaky"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert!(headers.get(api::IDEMPOTENT_REPLAYED).is_none());
    assert_eq!(scheduled_campaigns(&stack).await, 1);
}

#[tokio::test]
async fn bad_keys_are_refused_and_reads_and_keyless_requests_pass_through() {
    let stack = TestStack::new().await;
    let api = &stack.api_services;
    let body = campaign_body("Spring sale");
    for bad in ["", &"k".repeat(256)] {
        let (status, _, error) =
            send(&stack, api, Method::POST, "/campaigns", &body, Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert!(
            error["error"]["fields"]["Idempotency-Key"].is_string(),
            "{error}"
        );
    }
    assert_eq!(scheduled_campaigns(&stack).await, 0);

    // Without a key, the same request twice creates two campaigns, as it always did.
    for _ in 0..2 {
        let (status, _, _) = send(&stack, api, Method::POST, "/campaigns", &body, None).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    assert_eq!(scheduled_campaigns(&stack).await, 2);

    // A GET ignores the header (even an invalid one).
    let (status, headers, _) = send(
        &stack,
        api,
        Method::GET,
        "/campaigns?status=SCHEDULED",
        "",
        Some(""),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get(api::IDEMPOTENT_REPLAYED).is_none());
}
