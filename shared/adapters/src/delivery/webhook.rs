//! Signed webhooks: one HTTPS `POST` per recipient, signed per the Standard Webhooks
//! specification (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`), one
//! attempt per call, its answer classified as a [`SendOutcome`]. A resend carries the same
//! `webhook-id`, so a receiver that dedupes on it sees each delivery once. Redirects are not
//! followed (a signed body must not go elsewhere).

use std::time::Duration;

use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::provider_response::{SendOutcome, classify_http};
use lifecycle_domain::delivery::secret_ref::SecretRef;
use serde_json::Value;

use super::outbound_http::OutboundHttp;
use super::secrets::SigningSecrets;

/// Timeouts of webhook calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    /// The whole call, connection included; past it the delivery is ambiguous.
    pub timeout: Duration,
    /// Establishing the connection; past it nothing was sent.
    pub connect_timeout: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// One webhook call.
#[derive(Debug, Clone, Copy)]
pub struct WebhookCall<'a> {
    pub url: &'a str,
    pub body: &'a Value,
    pub secret_ref: &'a SecretRef,
    /// Stable per (run, recipient).
    pub webhook_id: &'a str,
}

/// Posts signed webhooks; cheap to clone.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: OutboundHttp,
    secrets: SigningSecrets,
}

impl WebhookClient {
    /// A client with `settings`' timeouts, signing with keys from `secrets`.
    pub fn new(settings: WebhookSettings, secrets: SigningSecrets) -> Self {
        Self::with_http(OutboundHttp::new(settings), secrets)
    }

    /// A client posting with `http` (shared with other senders: one client, built on the
    /// first post).
    pub fn with_http(http: OutboundHttp, secrets: SigningSecrets) -> Self {
        Self { http, secrets }
    }

    /// Signs and posts one webhook at `now` and says what it came to.
    pub async fn post(&self, call: WebhookCall<'_>, now: Timestamp) -> SendOutcome {
        let key = match self.secrets.key(call.secret_ref).await {
            Ok(key) => key,
            // Nothing was sent: retried, and the batch ends in the DLQ if it lasts.
            Err(error) => return SendOutcome::Transient(error.to_string()),
        };
        let http = match self.http.client() {
            Ok(http) => http,
            Err(problem) => return SendOutcome::Transient(problem),
        };
        let body = call.body.to_string().into_bytes();
        let timestamp = now.millis().div_euclid(1000);
        let signature = key.sign(call.webhook_id, timestamp, &body);
        let response = http
            .post(call.url)
            .header("content-type", "application/json")
            .header("webhook-id", call.webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) => classify_response(&response, now),
            // No connection: nothing was sent.
            Err(error) if error.is_connect() => {
                SendOutcome::Transient(format!("connection failed: {}", without_url(&error)))
            }
            // The request may have arrived: ambiguous.
            Err(error) => SendOutcome::Unknown(without_url(&error)),
        }
    }
}

/// What an HTTP answer at `now` came to: its status, with its `Retry-After` when it asks
/// to slow down (webhooks and Slack alike).
pub fn classify_response(response: &reqwest::Response, now: Timestamp) -> SendOutcome {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok());
    classify_http(response.status().as_u16(), retry_after, now)
}

/// The error's text without the URL (it may hold a token).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_request() {
        "request failed"
    } else if error.is_body() || error.is_decode() {
        "the answer could not be read"
    } else {
        "failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
