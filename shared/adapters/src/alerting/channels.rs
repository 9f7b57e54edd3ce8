//! The four alert channels behind one call: [`AlertChannels::send`] sends a notification to
//! one channel's configured destination and says what it came to. A channel without a
//! destination refuses (the fan-out never routes to one, so this only happens when the
//! configuration changed under a pending notification).

use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::{AlertChannel, AlertConfig, Notification};
use lifecycle_domain::delivery::provider_response::SendOutcome;

use super::{SlackClient, SnsPublisher};
use crate::delivery::{Email, EmailSender, WebhookCall, WebhookClient};

/// The name alerts' emails say they come from.
const SERVICE: &str = "campaign-lifecycle";

/// Every channel's client; cheap to clone.
#[derive(Debug, Clone)]
pub struct AlertChannels {
    /// Email through SES.
    pub email: EmailSender,
    /// Slack incoming webhooks.
    pub slack: SlackClient,
    /// Signed webhooks.
    pub webhooks: WebhookClient,
    /// The SNS topic.
    pub sns: SnsPublisher,
}

impl AlertChannels {
    /// Sends `notification` through `channel` as `config` configures it (one attempt).
    pub async fn send(
        &self,
        channel: AlertChannel,
        config: &AlertConfig,
        notification: &Notification,
        now: Timestamp,
    ) -> SendOutcome {
        let not_configured = || {
            SendOutcome::Rejected(format!(
                "the {} channel is not configured",
                channel.as_str()
            ))
        };
        match channel {
            AlertChannel::Email => {
                let Some(email) = &config.email else {
                    return not_configured();
                };
                let (subject, text) = notification.email(SERVICE);
                self.email
                    .send(Email {
                        from: &email.from,
                        to: &email.to,
                        subject: &subject,
                        text: Some(&text),
                        html: None,
                    })
                    .await
            }
            AlertChannel::Slack => match &config.slack {
                Some(slack) => {
                    self.slack
                        .post(&slack.webhook_url, &notification.slack())
                        .await
                }
                None => not_configured(),
            },
            AlertChannel::Webhook => {
                let Some(webhook) = &config.webhook else {
                    return not_configured();
                };
                let body = notification.json();
                self.webhooks
                    .post(
                        WebhookCall {
                            url: &webhook.url,
                            body: &body,
                            secret_ref: &webhook.signing_secret,
                            webhook_id: &notification.notification_id,
                        },
                        now,
                    )
                    .await
            }
            AlertChannel::Sns => match &config.sns {
                Some(sns) => self.sns.publish(&sns.topic_arn, notification).await,
                None => not_configured(),
            },
        }
    }
}
