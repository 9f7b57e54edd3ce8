//! Slack incoming webhooks: one JSON `POST` to the webhook's URL (a secret), at most one
//! message a second per webhook across every instance (Slack's documented rate; a shared
//! token bucket in the store), its answer classified like a webhook's (`429` with
//! `Retry-After` is a throttle). Redirects are not followed.

use std::time::Duration;

use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::secret_ref::SecretRef;
use lifecycle_domain::delivery::send_rate::{Bucket, Grant, SendRate};
use serde_json::Value;

use crate::delivery::{OutboundHttp, SigningSecrets, classify_response};
use crate::store::{Store, keys};

/// Slack's rate for one incoming webhook: one message a second.
pub const SLACK_MESSAGES_PER_SECOND: f64 = 1.0;
/// The longest a message waits for its turn before the try gives up as throttled.
const MAX_RATE_WAIT: Duration = Duration::from_secs(5);

/// Posts Slack messages; cheap to clone (the rate state is shared).
#[derive(Debug, Clone)]
pub struct SlackClient {
    http: OutboundHttp,
    secrets: SigningSecrets,
    store: Store,
    /// The bucket as this instance last saw it (one write per message when it is current).
    seen: std::sync::Arc<tokio::sync::Mutex<Option<Bucket>>>,
}

impl SlackClient {
    /// A client posting with `http`, reading webhook URLs from `secrets` and pacing through
    /// the bucket in `store`.
    pub fn new(http: OutboundHttp, secrets: SigningSecrets, store: Store) -> Self {
        Self {
            http,
            secrets,
            store,
            seen: std::sync::Arc::default(),
        }
    }

    /// Posts `message` to the webhook whose URL `url_secret` holds.
    pub async fn post(&self, url_secret: &SecretRef, message: &Value) -> SendOutcome {
        let url = match self.secrets.text(url_secret).await {
            Ok(url) if url.starts_with("https://") || url.starts_with("http://") => url,
            Ok(_) => {
                return SendOutcome::Rejected(format!(
                    "the Slack webhook URL in {url_secret} is not an http(s) URL"
                ));
            }
            Err(error) if error.is_transient() => return SendOutcome::Transient(error.to_string()),
            Err(error) => return SendOutcome::Rejected(error.to_string()),
        };
        let http = match self.http.client() {
            Ok(http) => http,
            // Nothing was sent.
            Err(problem) => return SendOutcome::Transient(problem),
        };
        if let Err(outcome) = self.wait_for_turn().await {
            return outcome;
        }
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .body(message.to_string())
            .send()
            .await;
        match response {
            Ok(response) => classify_response(&response, Timestamp::now()),
            Err(error) if error.is_connect() => {
                SendOutcome::Transient("connection to Slack failed".to_owned())
            }
            // The request may have arrived (the URL is a credential: never in the text).
            Err(error) if error.is_timeout() => SendOutcome::Unknown("Slack timed out".to_owned()),
            Err(_) => SendOutcome::Unknown("the Slack call failed after it was sent".to_owned()),
        }
    }

    /// Takes this message's token from the shared bucket, waiting up to [`MAX_RATE_WAIT`].
    async fn wait_for_turn(&self) -> Result<(), SendOutcome> {
        let rate = SendRate::per_second(SLACK_MESSAGES_PER_SECOND);
        let started = tokio::time::Instant::now();
        let mut seen = self.seen.lock().await;
        loop {
            let taken = self
                .store
                .take_send_tokens(keys::ALERT_SLACK_RATE_SK, rate, 1, *seen, Timestamp::now())
                .await;
            let (grant, stored) = match taken {
                Ok(taken) => taken,
                Err(error) => return Err(SendOutcome::Transient(error.to_string())),
            };
            *seen = stored;
            let wait = match grant {
                Grant::Take { .. } => return Ok(()),
                Grant::Wait { wait_ms } => Duration::from_millis(wait_ms.max(1)),
            };
            if started.elapsed() + wait > MAX_RATE_WAIT {
                return Err(SendOutcome::Throttled {
                    retry_after_ms: Some(wait.as_millis() as u64),
                });
            }
            tokio::time::sleep(wait).await;
        }
    }
}
