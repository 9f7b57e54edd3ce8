//! The `Idempotency-Key` header of every POST, PUT and DELETE route. Without it a request
//! runs as it always did. With it, the key, scoped to its caller (the signing principal,
//! [`crate::caller`]: two callers' keys never meet), (1–255 printable ASCII characters) is claimed for
//! the request's fingerprint (SHA-256 of method, path with query and body); the handler
//! runs; its answer is stored for 24 hours and replayed, with `Idempotent-Replayed: true`,
//! to a retry of the same request. The same key on another request answers 422
//! `IDEMPOTENCY_KEY_REUSED`; while the first is still running, 409 `IDEMPOTENCY_KEY_IN_USE`.
//! A 5xx is not stored: the claim is released so a retry runs again. A crash between the
//! handler's write and the stored answer leaves the claim to expire after the lease (the
//! function's timeout), then a retry runs the handler again — which is why every handler's
//! write is conditional (README, "Idempotency-Key").

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{CallerKey, IdempotencyClaim, StoredResponse, request_fingerprint};
use lifecycle_domain::Timestamp;

use crate::ApiError;
use crate::caller::caller_of;

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header a replayed answer carries.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// Longest key, in characters.
const MAX_KEY_CHARS: usize = 255;
/// Largest request body read (the handlers' JSON limit, axum's default).
const MAX_REQUEST_BYTES: usize = 2 * 1024 * 1024;
/// Largest answer stored (a DynamoDB item holds 400 KB); a larger one is answered but not
/// stored, and its claim is released.
const MAX_STORED_BYTES: usize = 350 * 1024;

/// Runs a POST, PUT or DELETE with an `Idempotency-Key` at most once per key (see the
/// module); other requests pass through.
pub(crate) async fn idempotent(
    State(services): State<Arc<Services>>,
    request: Request,
    next: Next,
) -> Response {
    let changes = [Method::POST, Method::PUT, Method::DELETE].contains(request.method());
    let Some(header) = request.headers().get(IDEMPOTENCY_KEY).filter(|_| changes) else {
        return next.run(request).await;
    };
    let key = match valid_key(header) {
        Ok(key) => CallerKey::new(&caller_of(request.extensions()), &key),
        Err(problem) => return ApiError::field("Idempotency-Key", problem).into_response(),
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return ApiError::bad_body("the body could not be read (at most 2 MiB)").into_response();
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let fingerprint = request_fingerprint(parts.method.as_str(), path, &body);
    let lease_ms = i64::from(services.config.idempotency_lease_secs) * 1000;
    let claim = services
        .store
        .claim_idempotency_key(&key, &fingerprint, Timestamp::now(), lease_ms)
        .await;
    let token = match claim {
        Ok(IdempotencyClaim::Claimed { token }) => token,
        Ok(IdempotencyClaim::Replay(stored)) => return replay(stored),
        Ok(IdempotencyClaim::Mismatch) => {
            return ApiError::idempotency_key_reused().into_response();
        }
        Ok(IdempotencyClaim::InProgress) => {
            return ApiError::idempotency_key_in_use().into_response();
        }
        Err(error) => return ApiError::store(&error).into_response(),
    };
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(error = %error, "the answer's body could not be read");
            release(&services, &key, &token).await;
            return ApiError::dependency_unavailable().into_response();
        }
    };
    if parts.status.is_server_error() || body.len() > MAX_STORED_BYTES {
        release(&services, &key, &token).await;
    } else {
        let stored = StoredResponse {
            status: parts.status.as_u16(),
            content_type: parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.to_vec(),
        };
        match services
            .store
            .complete_idempotency_key(&key, &token, &stored)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "an Idempotency-Key claim was taken over before its answer was stored"
            ),
            // The answer stands; the claim expires with its lease and a retry runs again.
            Err(error) => tracing::warn!(error = %error, "an idempotent answer was not stored"),
        }
    }
    Response::from_parts(parts, Body::from(body))
}

/// The key, or what is wrong with it.
fn valid_key(header: &HeaderValue) -> Result<String, String> {
    let problem = || format!("must be 1 to {MAX_KEY_CHARS} printable ASCII characters");
    let text = header.to_str().map_err(|_| problem())?;
    let printable = text.bytes().all(|b| (0x20..=0x7e).contains(&b));
    if text.is_empty() || text.len() > MAX_KEY_CHARS || !printable {
        return Err(problem());
    }
    Ok(text.to_owned())
}

/// The stored answer, as it was, marked as a replay.
fn replay(stored: StoredResponse) -> Response {
    let mut response = Response::new(Body::from(Bytes::from(stored.body)));
    *response.status_mut() = axum::http::StatusCode::from_u16(stored.status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    if let Some(value) = stored
        .content_type
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    response
}

/// Releases the claim so a retry runs the request again (a failed release expires with the
/// lease).
async fn release(services: &Services, key: &CallerKey, token: &str) {
    if let Err(error) = services.store.release_idempotency_key(key, token).await {
        tracing::warn!(error = %error, "an Idempotency-Key claim was not released; it expires with its lease");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_255_printable_ascii_characters() {
        for good in ["a", "order-42 retry", &"k".repeat(255), "~!@#$%^&*()"] {
            assert_eq!(
                valid_key(&HeaderValue::from_str(good).unwrap()).as_deref(),
                Ok(good)
            );
        }
        let too_long = "k".repeat(256);
        for bad in [
            HeaderValue::from_static(""),
            HeaderValue::from_str(&too_long).unwrap(),
            HeaderValue::from_bytes(b"tab\there").unwrap(),
            HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
        ] {
            assert!(valid_key(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_replay_is_the_stored_answer_marked_as_such() {
        let response = replay(StoredResponse {
            status: 201,
            content_type: Some("application/json".into()),
            body: b"{\"id\":\"x\"}".to_vec(),
        });
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()[IDEMPOTENT_REPLAYED], "true");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }
}
