//! The alert fan-out's configuration: the routing by severity, the noise-control intervals and
//! each channel's destination — an email's sender and recipients, the Slack incoming
//! webhook's URL (a secret: where it is stored), the signed webhook's URL and signing secret,
//! the SNS topic. Operators write it as JSON (stored in DynamoDB); it is validated here, every
//! problem named by its field. A channel left out is not configured: alerts routed to it are
//! logged, not sent.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::noise::NoiseSettings;
use super::routing::{AlertChannel, Routing};
use crate::delivery::secret_ref::SecretRef;
use crate::validation::FieldErrors;

/// Email through SES: from a verified identity to a list of addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailDestination {
    /// The verified SES identity it is sent from.
    pub from: String,
    /// The addresses it goes to (one email to all of them).
    pub to: Vec<String>,
}

/// A Slack incoming webhook; its URL is a credential, so only where it is stored is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlackDestination {
    /// The secret holding the webhook's URL.
    pub webhook_url: SecretRef,
}

/// A webhook signed per Standard Webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDestination {
    /// Where it is posted (`https://`, or `http://` for a local receiver).
    pub url: String,
    /// The secret it is signed with (`whsec_…`).
    pub signing_secret: SecretRef,
}

/// An SNS topic (PagerDuty, Opsgenie, email subscriptions).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SnsDestination {
    /// The topic's ARN.
    pub topic_arn: String,
}

/// Everything the fan-out needs to route and send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertConfig {
    /// The channels of each severity.
    pub routing: Routing,
    /// The cooldown and repeat intervals.
    pub noise: NoiseSettings,
    /// Email, if configured.
    pub email: Option<EmailDestination>,
    /// Slack, if configured.
    pub slack: Option<SlackDestination>,
    /// The signed webhook, if configured.
    pub webhook: Option<WebhookDestination>,
    /// The SNS topic, if configured.
    pub sns: Option<SnsDestination>,
}

/// The longest `cooldownSeconds` / `repeatSeconds` (a week).
const MAX_INTERVAL_SECONDS: u64 = 7 * 24 * 3600;
/// The most email recipients of one alert (SES's limit per message is 50).
const MAX_EMAIL_RECIPIENTS: usize = 50;

impl AlertConfig {
    /// Whether `channel` has a destination.
    pub fn configured(&self, channel: AlertChannel) -> bool {
        match channel {
            AlertChannel::Email => self.email.is_some(),
            AlertChannel::Slack => self.slack.is_some(),
            AlertChannel::Webhook => self.webhook.is_some(),
            AlertChannel::Sns => self.sns.is_some(),
        }
    }

    /// The configuration as an operator writes it:
    /// `{"routing": {…}, "cooldownSeconds": 300, "repeatSeconds": 14400, "email": {"from", "to"},
    /// "slack": {"webhookUrl": "ssm:…"}, "webhook": {"url", "signingSecret"}, "sns":
    /// {"topicArn"}}`; every member is optional (the routing and intervals default). All
    /// problems are reported at once, by field (`email.to[1]`).
    pub fn from_json(value: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let Some(object) = value.as_object() else {
            errors.add("", "must be an object");
            return Err(errors);
        };
        let mut config = Self::default();
        for (name, member) in object {
            match name.as_str() {
                "routing" => match Routing::from_json(member) {
                    Ok(routing) => config.routing = routing,
                    Err(found) => errors.0.extend(found.0),
                },
                "cooldownSeconds" => {
                    if let Some(ms) = interval_ms(member, name, &mut errors) {
                        config.noise.cooldown_ms = ms;
                    }
                }
                "repeatSeconds" => {
                    if let Some(ms) = interval_ms(member, name, &mut errors) {
                        config.noise.repeat_ms = ms;
                    }
                }
                "email" => config.email = email(member, &mut errors),
                "slack" => {
                    config.slack = secret(member, "slack", "webhookUrl", &mut errors)
                        .map(|webhook_url| SlackDestination { webhook_url });
                }
                "webhook" => config.webhook = webhook(member, &mut errors),
                "sns" => {
                    config.sns = text(member, "sns", "topicArn", &mut errors).and_then(|arn| {
                        if is_topic_arn(&arn) {
                            Some(SnsDestination { topic_arn: arn })
                        } else {
                            errors.add("sns.topicArn", "must be an SNS topic ARN (arn:aws:sns:…)");
                            None
                        }
                    });
                }
                _ => errors.add(name.clone(), "is not a setting of the alert configuration"),
            }
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(errors)
        }
    }

    /// The configuration as [`AlertConfig::from_json`] reads it back.
    pub fn to_json(&self) -> Value {
        let mut object = serde_json::Map::new();
        object.insert("routing".into(), serde_json::json!(self.routing));
        object.insert(
            "cooldownSeconds".into(),
            (self.noise.cooldown_ms / 1000).into(),
        );
        object.insert("repeatSeconds".into(), (self.noise.repeat_ms / 1000).into());
        let mut member = |name: &str, value: Option<Value>| {
            if let Some(value) = value {
                object.insert(name.into(), value);
            }
        };
        member("email", self.email.as_ref().map(|e| serde_json::json!(e)));
        member("slack", self.slack.as_ref().map(|s| serde_json::json!(s)));
        member(
            "webhook",
            self.webhook.as_ref().map(|w| serde_json::json!(w)),
        );
        member("sns", self.sns.as_ref().map(|s| serde_json::json!(s)));
        Value::Object(object)
    }
}

fn interval_ms(value: &Value, field: &str, errors: &mut FieldErrors) -> Option<i64> {
    match value.as_u64() {
        Some(seconds) if (1..=MAX_INTERVAL_SECONDS).contains(&seconds) => {
            Some(seconds as i64 * 1000)
        }
        _ => {
            errors.add(
                field,
                format!("must be a whole number of seconds from 1 to {MAX_INTERVAL_SECONDS}"),
            );
            None
        }
    }
}

/// `value[member]` as a non-empty string, or an error on `<parent>.<member>`.
fn text(value: &Value, parent: &str, member: &str, errors: &mut FieldErrors) -> Option<String> {
    if !value.is_object() {
        errors.add(parent, "must be an object");
        return None;
    }
    match value.get(member).and_then(Value::as_str) {
        Some(text) if !text.trim().is_empty() => Some(text.to_owned()),
        _ => {
            errors.add(format!("{parent}.{member}"), "is required (a string)");
            None
        }
    }
}

fn secret(
    value: &Value,
    parent: &str,
    member: &str,
    errors: &mut FieldErrors,
) -> Option<SecretRef> {
    let text = text(value, parent, member, errors)?;
    SecretRef::parse(&text)
        .map_err(|problem| errors.add(format!("{parent}.{member}"), problem))
        .ok()
}

fn email(value: &Value, errors: &mut FieldErrors) -> Option<EmailDestination> {
    let from = text(value, "email", "from", errors);
    if from.as_deref().is_some_and(|from| !is_address(from)) {
        errors.add("email.from", "must be an email address");
    }
    let to = match value.get("to").and_then(Value::as_array) {
        Some(list) if !list.is_empty() && list.len() <= MAX_EMAIL_RECIPIENTS => {
            let mut to = Vec::new();
            for (index, address) in list.iter().enumerate() {
                match address.as_str().filter(|a| is_address(a)) {
                    Some(address) => to.push(address.to_owned()),
                    None => errors.add(format!("email.to[{index}]"), "must be an email address"),
                }
            }
            Some(to)
        }
        _ if value.is_object() => {
            errors.add(
                "email.to",
                format!("must list 1 to {MAX_EMAIL_RECIPIENTS} email addresses"),
            );
            None
        }
        _ => None,
    };
    Some(EmailDestination {
        from: from?,
        to: to?,
    })
    .filter(|e| is_address(&e.from))
}

fn webhook(value: &Value, errors: &mut FieldErrors) -> Option<WebhookDestination> {
    let url = text(value, "webhook", "url", errors);
    if url
        .as_deref()
        .is_some_and(|url| !(url.starts_with("https://") || url.starts_with("http://")))
    {
        errors.add("webhook.url", "must be an http(s):// URL");
    }
    let signing_secret = secret(value, "webhook", "signingSecret", errors);
    Some(WebhookDestination {
        url: url.filter(|url| url.starts_with("http"))?,
        signing_secret: signing_secret?,
    })
}

/// A plausible address: something, `@`, a domain with a dot, no spaces.
fn is_address(text: &str) -> bool {
    match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !text.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

fn is_topic_arn(text: &str) -> bool {
    let parts: Vec<&str> = text.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "sns"
        && parts[1..].iter().all(|part| !part.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::alert::Severity;

    fn full() -> Value {
        json!({
            "routing": {"CRITICAL": ["EMAIL", "SNS"], "HIGH": ["WEBHOOK"]},
            "cooldownSeconds": 60,
            "repeatSeconds": 3600,
            "email": {"from": "alerts@example.com", "to": ["ops@example.com", "oncall@example.org"]},
            "slack": {"webhookUrl": "ssm:/cl/alerts/slack-url"},
            "webhook": {"url": "https://hooks.example.com/alerts", "signingSecret": "secretsmanager:cl/alerts"},
            "sns": {"topicArn": "arn:aws:sns:eu-west-1:123456789012:alerts"}
        })
    }

    #[test]
    fn a_full_configuration_reads_every_member_and_writes_back_the_same() {
        let config = AlertConfig::from_json(&full()).unwrap();
        assert_eq!(
            config
                .routing
                .channels(Severity::Critical)
                .collect::<Vec<_>>(),
            [AlertChannel::Email, AlertChannel::Sns]
        );
        assert_eq!(config.routing.channels(Severity::Medium).count(), 0);
        assert_eq!(
            config.noise,
            NoiseSettings {
                cooldown_ms: 60_000,
                repeat_ms: 3_600_000
            }
        );
        assert_eq!(config.email.as_ref().unwrap().to.len(), 2);
        assert_eq!(
            config.slack.as_ref().unwrap().webhook_url,
            SecretRef::Parameter("/cl/alerts/slack-url".into())
        );
        assert_eq!(
            config.webhook.as_ref().unwrap().url,
            "https://hooks.example.com/alerts"
        );
        assert_eq!(
            config.sns.as_ref().unwrap().topic_arn,
            "arn:aws:sns:eu-west-1:123456789012:alerts"
        );
        assert!(AlertChannel::ALL.iter().all(|&c| config.configured(c)));
        assert_eq!(AlertConfig::from_json(&config.to_json()).unwrap(), config);
    }

    #[test]
    fn an_empty_configuration_is_the_default_routing_with_no_channel() {
        let config = AlertConfig::from_json(&json!({})).unwrap();
        assert_eq!(config, AlertConfig::default());
        assert!(AlertChannel::ALL.iter().all(|&c| !config.configured(c)));
        assert_eq!(config.noise, NoiseSettings::default());
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let errors = AlertConfig::from_json(&json!({
            "routing": {"HIGH": ["PAGER"]},
            "cooldownSeconds": 0,
            "repeatSeconds": "4h",
            "email": {"from": "not an address", "to": ["ok@example.com", "nope"]},
            "slack": {"webhookUrl": "https://hooks.slack.com/services/T/B/X"},
            "webhook": {"url": "ftp://x", "signingSecret": "ssm:/cl/w"},
            "sns": {"topicArn": "arn:aws:sqs:eu-west-1:1:q"},
            "pagerduty": {}
        }))
        .unwrap_err();
        let fields: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "cooldownSeconds",
                "email.from",
                "email.to[1]",
                "pagerduty",
                "repeatSeconds",
                "routing.HIGH[0]",
                "slack.webhookUrl",
                "sns.topicArn",
                "webhook.url",
            ]
        );
    }

    #[test]
    fn required_members_and_shapes_are_checked() {
        let errors = AlertConfig::from_json(&json!({
            "email": {"from": "a@example.com", "to": []},
            "slack": "ssm:/x",
            "webhook": {"url": "https://x.example.com"},
            "sns": {}
        }))
        .unwrap_err();
        let fields: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            ["email.to", "slack", "sns.topicArn", "webhook.signingSecret"]
        );
        assert!(AlertConfig::from_json(&json!([])).is_err());
        let not_an_object = AlertConfig::from_json(&json!({"email": "ops@example.com"}));
        let fields: Vec<String> = not_an_object.unwrap_err().0.into_keys().collect();
        assert_eq!(fields, ["email"], "one problem, on the member itself");
        let too_many: Vec<String> = (0..51).map(|i| format!("u{i}@example.com")).collect();
        assert!(
            AlertConfig::from_json(&json!({"email": {"from": "a@example.com", "to": too_many}}))
                .is_err()
        );
    }

    #[test]
    fn addresses_and_arns_are_recognised() {
        for good in ["a@example.com", "first.last+tag@sub.example.org"] {
            assert!(is_address(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "@example.com",
            "a@example",
            "a@.com",
            "a@com.",
            "a b@x.com",
            "a@b@c.com",
        ] {
            assert!(!is_address(bad), "{bad}");
        }
        assert!(is_topic_arn("arn:aws:sns:us-east-1:123456789012:t"));
        assert!(!is_topic_arn("arn:aws:sns:us-east-1:123456789012"));
        assert!(!is_topic_arn("arn:aws:sns::123456789012:t"));
        assert!(!is_topic_arn("arx:aws:sns:us-east-1:123456789012:t"));
    }

    #[test]
    fn intervals_are_bounded() {
        assert!(AlertConfig::from_json(&json!({"repeatSeconds": 604_800})).is_ok());
        assert!(AlertConfig::from_json(&json!({"repeatSeconds": 604_801})).is_err());
        assert!(AlertConfig::from_json(&json!({"cooldownSeconds": 1})).is_ok());
        assert!(AlertConfig::from_json(&json!({"cooldownSeconds": -1})).is_err());
    }
}
