//! The delivery functions' settings from the environment, validated at cold start (each
//! problem names its variable): the deliveries queue, both delivery DLQs, the send
//! rates and the webhook timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{ConfigError, number, required};

/// What the delivery functions read from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryConfig {
    /// `DELIVERIES_QUEUE_URL` (required): batches for the sender.
    pub deliveries_queue_url: String,
    /// `DELIVERIES_DLQ_URL`: where a malformed batch message goes at once.
    pub deliveries_dlq_url: Option<String>,
    /// `PLANNING_DLQ_URL`: where a malformed planning message goes at once.
    pub planning_dlq_url: Option<String>,
    /// `EMAIL_SEND_RATE` (sends a second, 1–10000): the email rate shared by every sender.
    /// Unset: the SES account's `MaxSendRate` (one `GetAccount` at cold start).
    pub email_send_rate: Option<u64>,
    /// `WEBHOOK_SEND_RATE` (default 50, 1–10000): the webhook rate shared by every sender.
    pub webhook_send_rate: u64,
    /// `WEBHOOK_TIMEOUT_MS` (default 10000, 100–60000): one webhook call, after which the
    /// delivery is ambiguous.
    pub webhook_timeout: Duration,
}

impl DeliveryConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables from a map (the local runtime's template environment).
    pub fn from_map(vars: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Reads variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let email_send_rate = match set("EMAIL_SEND_RATE") {
            None => None,
            Some(_) => Some(number(&lookup, "EMAIL_SEND_RATE", 1, 1, 10_000)?),
        };
        Ok(Self {
            deliveries_queue_url: required(&lookup, "DELIVERIES_QUEUE_URL")?,
            deliveries_dlq_url: set("DELIVERIES_DLQ_URL").map(|url| url.trim().to_owned()),
            planning_dlq_url: set("PLANNING_DLQ_URL").map(|url| url.trim().to_owned()),
            email_send_rate,
            webhook_send_rate: number(&lookup, "WEBHOOK_SEND_RATE", 50, 1, 10_000)?,
            webhook_timeout: Duration::from_millis(number(
                &lookup,
                "WEBHOOK_TIMEOUT_MS",
                10_000,
                100,
                60_000,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<DeliveryConfig, ConfigError> {
        let map = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        DeliveryConfig::from_map(&map)
    }

    #[test]
    fn defaults_and_overrides() {
        let defaults = config(&[("DELIVERIES_QUEUE_URL", " q ")]).unwrap();
        assert_eq!(
            defaults,
            DeliveryConfig {
                deliveries_queue_url: "q".into(),
                deliveries_dlq_url: None,
                planning_dlq_url: None,
                email_send_rate: None,
                webhook_send_rate: 50,
                webhook_timeout: Duration::from_secs(10),
            }
        );
        let set = config(&[
            ("DELIVERIES_QUEUE_URL", "q"),
            ("DELIVERIES_DLQ_URL", "d"),
            ("PLANNING_DLQ_URL", " pd "),
            ("EMAIL_SEND_RATE", "14"),
            ("WEBHOOK_SEND_RATE", "10000"),
            ("WEBHOOK_TIMEOUT_MS", "100"),
        ])
        .unwrap();
        assert_eq!(set.deliveries_dlq_url.as_deref(), Some("d"));
        assert_eq!(set.planning_dlq_url.as_deref(), Some("pd"));
        assert_eq!(set.email_send_rate, Some(14));
        assert_eq!(set.webhook_send_rate, 10_000);
        assert_eq!(set.webhook_timeout, Duration::from_millis(100));
    }

    #[test]
    fn each_problem_names_its_variable() {
        assert_eq!(config(&[]).unwrap_err().variable, "DELIVERIES_QUEUE_URL");
        for (variable, bad) in [
            ("EMAIL_SEND_RATE", "0"),
            ("EMAIL_SEND_RATE", "fast"),
            ("WEBHOOK_SEND_RATE", "10001"),
            ("WEBHOOK_TIMEOUT_MS", "99"),
            ("WEBHOOK_TIMEOUT_MS", "60001"),
        ] {
            let error = config(&[("DELIVERIES_QUEUE_URL", "q"), (variable, bad)]).unwrap_err();
            assert_eq!(error.variable, variable, "{bad}");
        }
    }
}
