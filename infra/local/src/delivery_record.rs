//! What arrived where, as the integration tests and the crash suite count it: the emulator's
//! record of sent email (moto's `/moto-api/data.json`), and the check a webhook receiver makes
//! of a request (its `webhook-id`, and whether its Standard Webhooks signature is the stack's).

use std::collections::HashMap;
use std::time::Duration;

use axum::http::HeaderMap;
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use serde_json::Value;

use crate::aws_env;

/// The email the emulator recorded as sent (its `ses.Message` objects: source, destinations,
/// subject, body). The dump covers every service, and moto fails it now and then while others
/// write (an HTTP 500): it is read again, up to 20 times.
pub async fn sent_email() -> Result<Vec<Value>, String> {
    let url = format!("{}/moto-api/data.json", aws_env::endpoint());
    let mut last_problem = String::new();
    for _ in 0..20 {
        match reqwest::get(&url).await {
            Ok(response) => {
                let status = response.status();
                let data = response
                    .bytes()
                    .await
                    .map_err(|error| error.to_string())
                    .and_then(|body| {
                        serde_json::from_slice::<Value>(&body).map_err(|error| error.to_string())
                    });
                match data {
                    Ok(data) if status.is_success() => {
                        return Ok(data["ses"]["Message"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default());
                    }
                    Ok(_) => last_problem = format!("HTTP {status}"),
                    Err(error) => last_problem = format!("HTTP {status}: {error}"),
                }
            }
            Err(error) => last_problem = error.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("moto-api/data.json kept failing: {last_problem}"))
}

/// How many recorded emails went to each address (one read of the emulator's dump, which
/// grows with everything the emulator holds).
pub async fn emails_by_address() -> Result<HashMap<String, usize>, String> {
    Ok(count_by_address(&sent_email().await?))
}

/// Recorded emails per `To` address.
fn count_by_address(messages: &[Value]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in messages {
        for to in message["destinations"]["ToAddresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            *counts.entry(to.to_owned()).or_default() += 1;
        }
    }
    counts
}

/// What a receiver checks of a webhook request: its `webhook-id`, and whether its signature
/// is `key`'s and its timestamp recent.
pub fn checked_webhook(key: &SigningKey, headers: &HeaderMap, body: &[u8]) -> (String, bool) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn signed(key: &SigningKey, id: &str, body: &[u8]) -> HeaderMap {
        let now = Timestamp::now().millis() / 1000;
        let mut headers = HeaderMap::new();
        headers.insert("webhook-id", HeaderValue::from_str(id).unwrap());
        headers.insert("webhook-timestamp", HeaderValue::from(now));
        let signature = key.sign(id, now, body);
        headers.insert(
            "webhook-signature",
            HeaderValue::from_str(&signature).unwrap(),
        );
        headers
    }

    #[test]
    fn a_signed_request_checks_out_and_a_tampered_or_unsigned_one_does_not() {
        let key = SigningKey::parse(SECRET).unwrap();
        let headers = signed(&key, "msg_1", b"{\"a\":1}");
        assert_eq!(
            checked_webhook(&key, &headers, b"{\"a\":1}"),
            ("msg_1".to_owned(), true)
        );
        assert!(!checked_webhook(&key, &headers, b"{\"a\":2}").1);
        let other = SigningKey::parse("whsec_bG9jYWwtb25seS13ZWJob29rLXNlY3JldC0zMmI=").unwrap();
        assert!(!checked_webhook(&other, &headers, b"{\"a\":1}").1);
        assert_eq!(
            checked_webhook(&key, &HeaderMap::new(), b""),
            (String::new(), false)
        );
    }

    #[test]
    fn emails_are_counted_per_recipient_address() {
        let messages = [
            json!({"destinations": {"ToAddresses": ["a@x.org", "b@x.org"]}}),
            json!({"destinations": {"ToAddresses": ["a@x.org"]}}),
            json!({"destinations": {}}),
        ];
        let counts = count_by_address(&messages);
        assert_eq!((counts["a@x.org"], counts["b@x.org"]), (2, 1));
        assert_eq!(counts.len(), 2);
    }
}
