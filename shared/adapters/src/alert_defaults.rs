//! The alert configuration of the environment (`ALERT_*`): the channels' destinations,
//! routing and intervals the fan-out uses while no configuration is stored in DynamoDB
//! (operators' stored one replaces it as a whole). The fan-out sends by it; the API reads the
//! same variables (template.yaml gives both functions the same values) so that a test alert
//! through a channel neither configuration has is refused at once.
//!
//! | variable | meaning |
//! |---|---|
//! | `ALERT_EMAIL_FROM`, `ALERT_EMAIL_TO` | a verified SES identity; comma-separated addresses |
//! | `ALERT_SLACK_WEBHOOK_URL_SECRET` | `ssm:<name>` or `secretsmanager:<id>` holding the Slack webhook URL |
//! | `ALERT_WEBHOOK_URL`, `ALERT_WEBHOOK_SECRET` | the signed webhook's URL and its `whsec_` secret's reference |
//! | `ALERT_TOPIC_ARN` | the SNS topic |
//! | `ALERT_ROUTING` | JSON routing, e.g. `{"CRITICAL":["EMAIL","SLACK"]}` |
//! | `ALERT_COOLDOWN_SECONDS`, `ALERT_REPEAT_SECONDS` | noise control (defaults 300, 14400) |

use lifecycle_domain::alerting::AlertConfig;
use serde_json::{Map, Value, json};

use crate::config::ConfigError;

/// Which variable each configuration field comes from.
const FIELD_VARIABLES: [(&str, &str); 9] = [
    ("routing", "ALERT_ROUTING"),
    ("cooldownSeconds", "ALERT_COOLDOWN_SECONDS"),
    ("repeatSeconds", "ALERT_REPEAT_SECONDS"),
    ("email.from", "ALERT_EMAIL_FROM"),
    ("email", "ALERT_EMAIL_TO"),
    ("slack", "ALERT_SLACK_WEBHOOK_URL_SECRET"),
    ("webhook.url", "ALERT_WEBHOOK_URL"),
    ("webhook", "ALERT_WEBHOOK_SECRET"),
    ("sns", "ALERT_TOPIC_ARN"),
];

/// The configuration the `ALERT_*` variables read through `lookup` describe (none set: the
/// default routing and no channel); a problem names the variable to fix.
pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<AlertConfig, ConfigError> {
    let set = |name: &str| {
        lookup(name)
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let mut config = Map::new();
    if let Some(routing) = set("ALERT_ROUTING") {
        let routing: Value = serde_json::from_str(&routing).map_err(|_| ConfigError {
            variable: "ALERT_ROUTING",
            problem: "must be a JSON object of severities to channel lists".into(),
        })?;
        config.insert("routing".into(), routing);
    }
    for (variable, field) in [
        ("ALERT_COOLDOWN_SECONDS", "cooldownSeconds"),
        ("ALERT_REPEAT_SECONDS", "repeatSeconds"),
    ] {
        if let Some(text) = set(variable) {
            let seconds = text.parse::<u64>().map_err(|_| ConfigError {
                variable,
                problem: format!("must be a whole number of seconds, not {text:?}"),
            })?;
            config.insert(field.into(), json!(seconds));
        }
    }
    match (set("ALERT_EMAIL_FROM"), set("ALERT_EMAIL_TO")) {
        (None, None) => {}
        (from, to) => {
            let to: Vec<String> = to
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
            config.insert("email".into(), json!({"from": from, "to": to}));
        }
    }
    if let Some(secret) = set("ALERT_SLACK_WEBHOOK_URL_SECRET") {
        config.insert("slack".into(), json!({"webhookUrl": secret}));
    }
    match (set("ALERT_WEBHOOK_URL"), set("ALERT_WEBHOOK_SECRET")) {
        (None, None) => {}
        (url, secret) => {
            config.insert(
                "webhook".into(),
                json!({"url": url, "signingSecret": secret}),
            );
        }
    }
    if let Some(arn) = set("ALERT_TOPIC_ARN") {
        config.insert("sns".into(), json!({"topicArn": arn}));
    }
    AlertConfig::from_json(&Value::Object(config)).map_err(|errors| {
        let (field, problem) = errors.0.into_iter().next().unwrap_or_default();
        let variable = FIELD_VARIABLES
            .iter()
            .find(|(prefix, _)| field.starts_with(prefix))
            .map_or("ALERT_ROUTING", |(_, variable)| variable);
        ConfigError {
            variable,
            problem: format!("{field} {problem}"),
        }
    })
}
