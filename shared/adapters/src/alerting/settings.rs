//! The fan-out's settings from the environment, validated at cold start (each problem names
//! its variable). The channels' destinations, routing and intervals given here are the
//! *default* alert configuration: a configuration stored in DynamoDB (by operators) replaces
//! it as a whole.
//!
//! | variable | meaning |
//! |---|---|
//! | `ALERTS_DLQ_URL` | where a message that is not an alert goes at once |
//! | `ALERT_*` destinations, routing, intervals | [`crate::alert_defaults`] |
//! | `ALERT_CONFIG_REFRESH_SECONDS` | how long an instance uses the configuration it read (default 60) |
//! | `WEBHOOK_TIMEOUT_MS` | one webhook or Slack call (default 10000) |

use std::time::Duration;

use lifecycle_domain::alerting::AlertConfig;

use crate::config::{ConfigError, number};

/// What the fan-out reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutSettings {
    /// `ALERTS_DLQ_URL`.
    pub dlq_url: Option<String>,
    /// The configuration used while none is stored.
    pub default_config: AlertConfig,
    /// `ALERT_CONFIG_REFRESH_SECONDS`.
    pub config_refresh: Duration,
    /// `WEBHOOK_TIMEOUT_MS`.
    pub http_timeout: Duration,
}

impl FanoutSettings {
    /// Reads variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let default_config = crate::alert_defaults::from_lookup(&lookup)?;
        Ok(Self {
            dlq_url: set("ALERTS_DLQ_URL"),
            default_config,
            config_refresh: Duration::from_secs(number(
                &lookup,
                "ALERT_CONFIG_REFRESH_SECONDS",
                60,
                0,
                3600,
            )?),
            http_timeout: Duration::from_millis(number(
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
    use std::collections::BTreeMap;

    use lifecycle_domain::Severity;
    use lifecycle_domain::alerting::AlertChannel;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<FanoutSettings, ConfigError> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        FanoutSettings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_set_is_the_default_routing_with_no_channel() {
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.default_config, AlertConfig::default());
        assert_eq!(defaults.dlq_url, None);
        assert_eq!(defaults.config_refresh, Duration::from_secs(60));
        assert_eq!(defaults.http_timeout, Duration::from_secs(10));
    }

    #[test]
    fn every_channel_and_setting_reads_from_its_variable() {
        let read = settings(&[
            ("ALERTS_DLQ_URL", " http://q/dlq "),
            ("ALERT_EMAIL_FROM", "alerts@example.com"),
            ("ALERT_EMAIL_TO", "a@example.com, b@example.com"),
            ("ALERT_SLACK_WEBHOOK_URL_SECRET", "ssm:/cl/slack"),
            ("ALERT_WEBHOOK_URL", "http://127.0.0.1:9000/alerts"),
            ("ALERT_WEBHOOK_SECRET", "ssm:/cl/alert-webhook"),
            (
                "ALERT_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            ("ALERT_ROUTING", r#"{"HIGH": ["WEBHOOK"]}"#),
            ("ALERT_COOLDOWN_SECONDS", "10"),
            ("ALERT_REPEAT_SECONDS", "20"),
            ("ALERT_CONFIG_REFRESH_SECONDS", "0"),
            ("WEBHOOK_TIMEOUT_MS", "2000"),
        ])
        .unwrap();
        let config = &read.default_config;
        assert_eq!(read.dlq_url.as_deref(), Some("http://q/dlq"));
        assert_eq!(
            config.email.as_ref().unwrap().to,
            ["a@example.com", "b@example.com"]
        );
        assert!(AlertChannel::ALL.iter().all(|&c| config.configured(c)));
        assert_eq!(
            config.routing.channels(Severity::High).collect::<Vec<_>>(),
            [AlertChannel::Webhook]
        );
        assert_eq!(
            (config.noise.cooldown_ms, config.noise.repeat_ms),
            (10_000, 20_000)
        );
        assert_eq!(read.config_refresh, Duration::ZERO);
        assert_eq!(read.http_timeout, Duration::from_secs(2));
    }

    #[test]
    fn a_problem_names_the_variable_to_fix() {
        let cases = [
            (vec![("ALERT_ROUTING", "nope")], "ALERT_ROUTING"),
            (
                vec![("ALERT_ROUTING", r#"{"HIGH": ["FAX"]}"#)],
                "ALERT_ROUTING",
            ),
            (
                vec![("ALERT_COOLDOWN_SECONDS", "5m")],
                "ALERT_COOLDOWN_SECONDS",
            ),
            (vec![("ALERT_REPEAT_SECONDS", "0")], "ALERT_REPEAT_SECONDS"),
            (
                vec![("ALERT_EMAIL_FROM", "alerts@example.com")],
                "ALERT_EMAIL_TO",
            ),
            (
                vec![("ALERT_EMAIL_TO", "a@example.com")],
                "ALERT_EMAIL_FROM",
            ),
            (
                vec![("ALERT_SLACK_WEBHOOK_URL_SECRET", "https://hooks")],
                "ALERT_SLACK_WEBHOOK_URL_SECRET",
            ),
            (
                vec![("ALERT_WEBHOOK_URL", "http://x.example.com")],
                "ALERT_WEBHOOK_SECRET",
            ),
            (
                vec![("ALERT_WEBHOOK_SECRET", "ssm:/x")],
                "ALERT_WEBHOOK_URL",
            ),
            (vec![("ALERT_TOPIC_ARN", "topic")], "ALERT_TOPIC_ARN"),
            (
                vec![("ALERT_CONFIG_REFRESH_SECONDS", "7200")],
                "ALERT_CONFIG_REFRESH_SECONDS",
            ),
        ];
        for (vars, variable) in cases {
            let error = settings(&vars).unwrap_err();
            assert_eq!(error.variable, variable, "{vars:?}: {error:?}");
        }
    }
}
