//! Test alerts (`AlertTestRequested`, from `POST /recovery/test`): the notification of kind
//! `TEST` is sent through the one channel the request names, with that channel's real sender
//! and the configuration in force — no noise control, no stored state, no breaker (a test
//! says whether the channel works now), one attempt whose outcome is logged. A redelivered
//! request sends again, with the same notification id (the webhook's `webhook-id`).

use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::{TEST_ALERT_DETAIL_TYPE, TestAlertRequest};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use serde_json::Value;

use crate::ports::{AlertPorts, PortError};

/// The test request `body` carries: `None` if it is no test request, else the request or
/// why its detail does not parse.
pub fn test_request_of(body: &str) -> Option<Result<TestAlertRequest, String>> {
    let event: Value = serde_json::from_str(body).ok()?;
    if event.get("detail-type").and_then(Value::as_str) != Some(TEST_ALERT_DETAIL_TYPE) {
        return None;
    }
    let detail = event.get("detail").cloned().unwrap_or(Value::Null);
    Some(
        serde_json::from_value(detail)
            .map_err(|error| format!("not a test alert request: {error}")),
    )
}

/// What became of a test alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// The channel has no destination in the configuration in force; nothing was sent.
    NotConfigured,
    /// Sent once, with the channel's answer.
    Sent(SendOutcome),
}

/// Sends `request`'s notification through its channel at `now`; fails only when the
/// configuration could not be read (the message is then redelivered).
pub async fn send_test<P: AlertPorts>(
    ports: &P,
    request: &TestAlertRequest,
    now: Timestamp,
) -> Result<TestOutcome, PortError> {
    let config = ports.config().await?;
    let channel = request.channel;
    if !config.configured(channel) {
        tracing::warn!(
            test_id = request.test_id,
            channel = channel.as_str(),
            "test alert not sent: the channel is not configured"
        );
        return Ok(TestOutcome::NotConfigured);
    }
    let notification = request.notification();
    let outcome = ports.send(channel, &config, &notification, now).await;
    if outcome == SendOutcome::Delivered {
        tracing::info!(
            test_id = request.test_id,
            channel = channel.as_str(),
            notification = notification.notification_id,
            "test alert sent"
        );
    } else {
        tracing::warn!(
            test_id = request.test_id,
            channel = channel.as_str(),
            notification = notification.notification_id,
            outcome = ?outcome,
            "test alert not delivered (not retried)"
        );
    }
    Ok(TestOutcome::Sent(outcome))
}
