//! Signed `nextToken`s against the emulator: every listing route refuses a crafted,
//! truncated, re-signed or borrowed token with 400 on `nextToken`; a valid token still pages,
//! on another instance too; the key is created once by whichever instance needs it first.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, api_of};
use lifecycle_adapters::store::{PAGE_TOKEN_KEY_BYTES, PageTokenKey};
use lifecycle_domain::Timestamp;
use serde_json::json;

const API: &str = "ApiFunction";

async fn create_campaigns(stack: &TestStack, count: usize) {
    let start = Timestamp::now().plus_millis(3_600_000);
    for i in 0..count {
        let body = json!({
            "name": format!("campaign {i}"),
            "startAt": start.to_rfc3339(),
            "endAt": start.plus_millis(3_600_000).to_rfc3339(),
        });
        let (status, body) = stack
            .api(Method::POST, "/campaigns", Some(&body.to_string()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

/// Flips one bit of the token's `i`-th character, keeping it URL-safe base64 or the dot.
fn flip(token: &str, i: usize) -> String {
    let mut bytes = token.as_bytes().to_vec();
    bytes[i] = match bytes[i] {
        b'.' => b'A',
        b'A' => b'B',
        _ => b'A',
    };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn a_valid_token_pages_on_any_instance_and_a_tampered_one_is_refused_everywhere() {
    let stack = TestStack::new().await;
    create_campaigns(&stack, 3).await;

    // Pages of one, each on a new instance (each reads the one stored key).
    let mut seen = BTreeSet::new();
    let mut token: Option<String> = None;
    for page in 0.. {
        assert!(page <= 3, "three campaigns, at most four pages");
        let instance = stack.function_services(API);
        let path = match &token {
            None => "/campaigns?status=SCHEDULED&limit=1".to_owned(),
            Some(token) => format!("/campaigns?status=SCHEDULED&limit=1&nextToken={token}"),
        };
        let (status, body) = api_of(&instance, &stack.api_lists(), Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for campaign in body["campaigns"].as_array().unwrap() {
            seen.insert(campaign["id"].as_str().unwrap().to_owned());
        }
        token = body["nextToken"].as_str().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 3);

    // One valid token, and what can be made of it.
    let (_, first) = stack
        .api(Method::GET, "/campaigns?status=SCHEDULED&limit=1", None)
        .await;
    let valid = first["nextToken"].as_str().unwrap().to_owned();
    let (payload, _) = valid.split_once('.').unwrap();
    let other_key = PageTokenKey::new(&[9; PAGE_TOKEN_KEY_BYTES]);
    let mut tampered = vec![
        payload.to_owned(),
        valid[..valid.len() - 1].to_owned(),
        other_key.sign("/campaigns?status=SCHEDULED", payload),
        "garbage".to_owned(),
    ];
    tampered.extend((0..valid.len()).step_by(7).map(|i| flip(&valid, i)));

    let listings = [
        "/campaigns?status=SCHEDULED&limit=1",
        "/campaigns?status=RUNNING",
        "/campaigns/no-such-campaign/runs?limit=5",
        "/campaigns/no-such-campaign/runs/20260101T000000000Z/recipients?status=failed",
        "/recovery/events?limit=5",
        "/recovery/sweeps?limit=5",
    ];
    for listing in listings {
        // A token of another listing is refused too (the first listing's own token aside).
        let candidates = tampered
            .iter()
            .chain((listing != listings[0]).then_some(&valid));
        for token in candidates {
            let (status, body) = stack
                .api(Method::GET, &format!("{listing}&nextToken={token}"), None)
                .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{listing} {token}: {body}");
            assert!(
                body["error"]["fields"]["nextToken"].is_string(),
                "{listing} {token}: {body}"
            );
        }
    }
}

#[tokio::test]
async fn the_recovery_log_pages_with_signed_tokens() {
    let stack = TestStack::new().await;
    let (status, body) = stack
        .api(Method::GET, "/recovery/events?limit=1", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The token of the log is the signed id of the last entry examined; a token this route
    // signed for an entry id pages past it.
    let key = stack
        .api_services
        .page_token_keys
        .get(&stack.api_services.store)
        .await
        .unwrap();
    let id = format!("{}-abc", Timestamp::now().millis());
    let signed = key.sign("/recovery/events", &id);
    let (status, body) = stack
        .api(
            Method::GET,
            &format!("/recovery/events?nextToken={signed}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let unsigned = format!("/recovery/events?nextToken={id}");
    let (status, body) = stack.api(Method::GET, &unsigned, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn instances_racing_for_the_first_key_all_end_up_with_one() {
    let stack = TestStack::new().await;
    let instances: Vec<_> = (0..8).map(|_| stack.function_services(API)).collect();
    let keys = futures_util::future::join_all(
        instances
            .iter()
            .map(|services| services.store.page_token_key()),
    )
    .await;
    let signatures: BTreeSet<String> = keys
        .into_iter()
        .map(|key| key.expect("a key").sign("scope", "payload"))
        .collect();
    assert_eq!(signatures.len(), 1, "{signatures:?}");
}
