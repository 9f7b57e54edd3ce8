//! The AWS and HTTP adapters of bulk deliveries: recipient lists in S3 (the `lists` feature,
//! all the API needs), and with the `delivery` feature email through SES v2, signed webhooks
//! over HTTPS, and the webhook signing secrets in SSM Parameter Store or Secrets Manager. Each
//! provider adapter makes exactly one attempt per call and says what it came to
//! ([`SendOutcome`](lifecycle_domain::delivery::provider_response::SendOutcome)):
//! retrying a send is the delivery engine's decision, never the transport's, because a blind
//! retry of an accepted send is a duplicate.

#[cfg(feature = "delivery")]
mod config;
#[cfg(feature = "delivery")]
mod email;
#[cfg(feature = "delivery")]
mod outbound_http;
#[cfg(feature = "delivery")]
pub mod queue_messages;
mod recipient_lists;
#[cfg(feature = "delivery")]
mod secrets;
#[cfg(feature = "delivery")]
mod webhook;

#[cfg(feature = "delivery")]
pub use config::DeliveryConfig;
#[cfg(feature = "delivery")]
pub use email::{Email, EmailSender};
#[cfg(feature = "delivery")]
pub use outbound_http::OutboundHttp;
pub use recipient_lists::{ListError, RecipientLists};
#[cfg(feature = "delivery")]
pub use secrets::{SECRET_CACHE, SecretError, SigningSecrets};
#[cfg(feature = "delivery")]
pub use webhook::{WebhookCall, WebhookClient, WebhookSettings, classify_response};
