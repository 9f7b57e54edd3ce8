//! Publishing to an SNS topic, one attempt per call, its answer classified as a
//! [`SendOutcome`]. SNS takes no idempotency token on a standard topic: a call whose answer
//! is lost after the request left may have been published (`Unknown`). The message carries
//! `notificationId`, `severity`, `notice` and `kind` as message attributes, for subscription
//! filter policies and for subscribers that deduplicate.

use aws_sdk_sns::types::MessageAttributeValue;
use lifecycle_domain::alerting::Notification;
use lifecycle_domain::delivery::provider_response::SendOutcome;

use crate::aws::Describe;

/// SNS's longest `Subject`.
const MAX_SUBJECT: usize = 100;

/// Publishes notifications; cheap to clone.
#[derive(Debug, Clone)]
pub struct SnsPublisher {
    sns: aws_sdk_sns::Client,
}

impl SnsPublisher {
    /// Publishes with `sns` (whose SDK retries are off: one attempt per call).
    pub fn new(sns: aws_sdk_sns::Client) -> Self {
        Self { sns }
    }

    /// Publishes `notification` to `topic_arn` (one `Publish`).
    pub async fn publish(&self, topic_arn: &str, notification: &Notification) -> SendOutcome {
        let attribute = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .expect("data type is set")
        };
        let result = self
            .sns
            .publish()
            .topic_arn(topic_arn)
            .subject(subject(&notification.headline()))
            .message(notification.json().to_string())
            .message_attributes("notificationId", attribute(&notification.notification_id))
            .message_attributes("severity", attribute(notification.severity.as_str()))
            .message_attributes("notice", attribute(notification.notice.as_str()))
            .message_attributes("kind", attribute(notification.kind.as_str()))
            .send()
            .await;
        let error = match result {
            Ok(_) => return SendOutcome::Delivered,
            Err(error) => error.describe("Publish"),
        };
        let reason = format!("{}: {}", error.code, error.message);
        match error.code.as_str() {
            "Throttled" | "ThrottlingException" | "Throttling" => SendOutcome::Throttled {
                retry_after_ms: None,
            },
            "Timeout" | "ResponseError" | "DispatchFailure" => SendOutcome::Unknown(reason),
            "ConstructionFailure" | "KMSThrottling" | "KMSDisabled" => {
                SendOutcome::Transient(reason)
            }
            _ => match error.status {
                Some(status) if status >= 500 => SendOutcome::Transient(reason),
                // NotFound, AuthorizationError, InvalidParameter, …: an operator fixes it.
                _ => SendOutcome::Rejected(reason),
            },
        }
    }
}

/// `text` as an SNS subject: printable ASCII, one line, at most [`MAX_SUBJECT`] characters.
fn subject(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_graphic() { c } else { ' ' })
        .take(MAX_SUBJECT)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_one_ascii_line_of_at_most_100_characters() {
        assert_eq!(subject("[CRITICAL] a\nb — c"), "[CRITICAL] a b   c");
        assert_eq!(subject(&"x".repeat(150)).len(), 100);
    }
}
