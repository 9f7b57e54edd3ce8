//! The AWS and HTTP adapters of bulk deliveries (the `delivery` feature): recipient lists in
//! S3, email through SES v2, signed webhooks over HTTPS, and the webhook signing secrets in
//! SSM Parameter Store or Secrets Manager. Each provider adapter makes exactly one attempt per
//! call and says what it came to ([`SendOutcome`](lifecycle_domain::delivery::provider_response::SendOutcome)):
//! retrying a send is the delivery engine's decision, never the transport's, because a blind
//! retry of an accepted send is a duplicate.

mod config;
mod email;
pub mod queue_messages;
mod recipient_lists;
mod secrets;
mod webhook;

pub use config::DeliveryConfig;
pub use email::{Email, EmailSender};
pub use recipient_lists::{ListError, RecipientLists};
pub use secrets::{SECRET_CACHE, SecretError, SigningSecrets};
pub use webhook::{WebhookCall, WebhookClient, WebhookSettings, classify_response};
