//! Routing alerts to channels by severity. The default sends a CRITICAL alert everywhere
//! (email, Slack, webhook, SNS), a HIGH one to Slack and the webhook, a MEDIUM one to Slack,
//! and logs a LOW one only. Operators replace it with a configuration that names, per
//! severity, the channels to use (stored in DynamoDB, validated here).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alert::Severity;
use crate::validation::FieldErrors;

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertChannel {
    /// An email through SES.
    Email,
    /// A Slack incoming webhook.
    Slack,
    /// A signed webhook (Standard Webhooks).
    Webhook,
    /// An SNS topic (PagerDuty, Opsgenie, email subscriptions).
    Sns,
}

impl AlertChannel {
    /// Every channel.
    pub const ALL: [AlertChannel; 4] = [
        AlertChannel::Email,
        AlertChannel::Slack,
        AlertChannel::Webhook,
        AlertChannel::Sns,
    ];

    /// The wire name, e.g. `SLACK`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AlertChannel::Email => "EMAIL",
            AlertChannel::Slack => "SLACK",
            AlertChannel::Webhook => "WEBHOOK",
            AlertChannel::Sns => "SNS",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// The channels of each severity; a severity with none is logged only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Routing(BTreeMap<Severity, BTreeSet<AlertChannel>>);

impl Default for Routing {
    fn default() -> Self {
        use AlertChannel::{Email, Slack, Sns, Webhook};
        Self(BTreeMap::from([
            (
                Severity::Critical,
                BTreeSet::from([Email, Slack, Webhook, Sns]),
            ),
            (Severity::High, BTreeSet::from([Slack, Webhook])),
            (Severity::Medium, BTreeSet::from([Slack])),
        ]))
    }
}

impl Routing {
    /// The channels an alert of `severity` goes to (none: logged only).
    pub fn channels(&self, severity: Severity) -> impl Iterator<Item = AlertChannel> + '_ {
        self.0.get(&severity).into_iter().flatten().copied()
    }

    /// A routing as an operator writes it, `{"CRITICAL": ["EMAIL", "SNS"], "HIGH": [], …}`:
    /// every severity named maps to its channels (each once); a severity left out is logged
    /// only. Every problem is named under `routing.<SEVERITY>` (`routing.HIGH[1]` for one
    /// channel), all of them at once.
    pub fn from_json(value: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let Some(object) = value.as_object() else {
            errors.add(
                "routing",
                "must be an object of severities (LOW, MEDIUM, HIGH, CRITICAL) to channel lists",
            );
            return Err(errors);
        };
        let mut routing = BTreeMap::new();
        for (name, channels) in object {
            let field = format!("routing.{name}");
            let Some(severity) = Severity::parse(name) else {
                errors.add(field, "is not a severity: LOW, MEDIUM, HIGH or CRITICAL");
                continue;
            };
            let Some(list) = channels.as_array() else {
                errors.add(
                    field,
                    "must be a list of channels (EMAIL, SLACK, WEBHOOK, SNS)",
                );
                continue;
            };
            let mut chosen = BTreeSet::new();
            for (index, channel) in list.iter().enumerate() {
                match channel.as_str().and_then(AlertChannel::parse) {
                    Some(channel) if chosen.insert(channel) => {}
                    Some(_) => errors.add(format!("{field}[{index}]"), "is named twice"),
                    None => errors.add(
                        format!("{field}[{index}]"),
                        "is not a channel: EMAIL, SLACK, WEBHOOK or SNS",
                    ),
                }
            }
            routing.insert(severity, chosen);
        }
        if errors.is_empty() {
            Ok(Self(routing))
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use AlertChannel::{Email, Slack, Sns, Webhook};

    fn channels(routing: &Routing, severity: Severity) -> Vec<AlertChannel> {
        routing.channels(severity).collect()
    }

    #[test]
    fn by_default_the_more_urgent_the_more_channels() {
        let routing = Routing::default();
        assert_eq!(
            channels(&routing, Severity::Critical),
            [Email, Slack, Webhook, Sns]
        );
        assert_eq!(channels(&routing, Severity::High), [Slack, Webhook]);
        assert_eq!(channels(&routing, Severity::Medium), [Slack]);
        assert!(channels(&routing, Severity::Low).is_empty(), "log only");
    }

    #[test]
    fn an_operators_routing_replaces_the_default_and_reads_back() {
        let written = json!({"CRITICAL": ["SNS", "EMAIL"], "LOW": [], "MEDIUM": ["WEBHOOK"]});
        let routing = Routing::from_json(&written).unwrap();
        assert_eq!(channels(&routing, Severity::Critical), [Email, Sns]);
        assert_eq!(channels(&routing, Severity::Medium), [Webhook]);
        assert!(
            channels(&routing, Severity::High).is_empty(),
            "left out: log only"
        );
        assert!(channels(&routing, Severity::Low).is_empty());
        let stored = serde_json::to_value(&routing).unwrap();
        assert_eq!(
            stored,
            json!({"LOW": [], "MEDIUM": ["WEBHOOK"], "CRITICAL": ["EMAIL", "SNS"]})
        );
        assert_eq!(serde_json::from_value::<Routing>(stored).unwrap(), routing);
    }

    #[test]
    fn every_problem_is_named_by_its_field() {
        let errors = Routing::from_json(&json!({
            "URGENT": ["EMAIL"], "HIGH": "SLACK", "CRITICAL": ["EMAIL", "PAGER", "EMAIL"],
        }))
        .unwrap_err();
        let fields: Vec<&str> = errors.0.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "routing.CRITICAL[1]",
                "routing.CRITICAL[2]",
                "routing.HIGH",
                "routing.URGENT"
            ]
        );
        assert!(errors.0["routing.CRITICAL[2]"].contains("twice"));
        assert!(errors.0["routing.CRITICAL[1]"].contains("not a channel"));
        let not_an_object = Routing::from_json(&json!(["EMAIL"])).unwrap_err();
        assert!(not_an_object.0.contains_key("routing"));
    }

    #[test]
    fn channels_read_their_own_wire_names_only() {
        for channel in AlertChannel::ALL {
            assert_eq!(serde_json::to_value(channel).unwrap(), channel.as_str());
            assert_eq!(AlertChannel::parse(channel.as_str()), Some(channel));
        }
        assert_eq!(AlertChannel::parse("email"), None);
    }
}
