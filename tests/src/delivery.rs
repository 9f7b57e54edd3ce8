//! Helpers of the bulk-delivery tests: the emulator's record of sent email, the Standard
//! Webhooks check a receiver makes, and storing lists and signing secrets on the emulator.

use axum::http::HeaderMap;
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use lifecycle_domain::delivery::{ListFormat, RecipientList};
use local_stack::aws_env;

use crate::TestStack;

/// A `whsec_` signing secret of 32 bytes.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The email the emulator recorded as sent (its `ses.Message` objects: source, destinations,
/// subject, body). The dump covers every service, and moto fails it now and then when another
/// test writes meanwhile (an HTTP 500): it is read again.
pub async fn sent_email() -> Vec<serde_json::Value> {
    let url = format!("{}/moto-api/data.json", aws_env::endpoint());
    let mut last_problem = String::new();
    for _ in 0..20 {
        let response = reqwest::get(&url).await.expect("the emulator answers");
        let status = response.status();
        match response.json::<serde_json::Value>().await {
            Ok(data) if status.is_success() => {
                return data["ses"]["Message"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            Ok(_) => last_problem = format!("HTTP {status}"),
            Err(error) => last_problem = format!("HTTP {status}: {error}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto-api/data.json kept failing: {last_problem}");
}

/// How many recorded emails went to `address`.
pub async fn emails_to(address: &str) -> usize {
    sent_email()
        .await
        .iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|to| to == address)
        })
        .count()
}

/// What a receiver checks of a webhook request: its `webhook-id`, and whether its signature
/// is `key`'s and its timestamp recent.
pub fn checked_webhook(key: &SigningKey, headers: &HeaderMap, body: &[u8]) -> (String, bool) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let valid = key.verify(
        &id,
        header("webhook-timestamp").parse().unwrap_or(0),
        body,
        &header("webhook-signature"),
        Timestamp::now().millis() / 1000,
    );
    (id, valid)
}

impl TestStack {
    /// Stores `body` as the JSON Lines list `key` of the stack's lists bucket.
    pub async fn upload_list(&self, key: &str, body: &str) -> RecipientList {
        let bucket = self
            .stack
            .reference("ListsBucket")
            .expect("ListsBucket provisioned")
            .to_owned();
        self.setup
            .delivery
            .s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
        RecipientList {
            bucket,
            key: key.into(),
            format: ListFormat::JsonLines,
        }
    }

    /// Stores `value` as the SSM `SecureString` parameter `name`.
    pub async fn put_secret_parameter(&self, name: &str, value: &str) {
        self.setup
            .delivery
            .ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
}
