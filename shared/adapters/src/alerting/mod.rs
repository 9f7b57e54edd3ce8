//! The alert fan-out's channels (the `alerts` feature): email through SES v2, a Slack incoming
//! webhook, a signed webhook (Standard Webhooks, the delivery webhooks' code) and an SNS
//! topic. Like the delivery adapters, each makes exactly one attempt per call and says what
//! it came to; trying again is the fan-out's decision. [`FanoutSettings`] reads the
//! fan-out's environment.

mod channels;
mod settings;
mod slack;
mod sns;

pub use channels::AlertChannels;
pub use settings::FanoutSettings;
pub use slack::{SLACK_MESSAGES_PER_SECOND, SlackClient};
pub use sns::SnsPublisher;
