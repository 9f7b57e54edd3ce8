//! What `make local` gives the alert fan-out beyond the template: email from the verified
//! local sender to `LOCAL_ALERT_EMAIL_TO` (default `ops@example.com`; read back from the
//! emulator), and — when the developer names them — a signed webhook (`ALERT_WEBHOOK_URL`,
//! signed with the local secret stored under the stack's alerts path unless
//! `ALERT_WEBHOOK_SECRET` names another) and a Slack webhook (`ALERT_SLACK_WEBHOOK_URL`, a
//! plain URL stored as the SSM parameter the fan-out reads). `ALERT_ROUTING`,
//! `ALERT_COOLDOWN_SECONDS` and `ALERT_REPEAT_SECONDS` pass through.

use std::collections::BTreeMap;

use lifecycle_adapters::aws::AwsClients;

use crate::local_delivery::LOCAL_WEBHOOK_SECRET;

/// Every variable of the developer's environment [`local_alert_environment`] reads.
pub const LOCAL_ALERT_VARIABLES: [&str; 7] = [
    "LOCAL_ALERT_EMAIL_TO",
    "ALERT_WEBHOOK_URL",
    "ALERT_SLACK_WEBHOOK_URL",
    "ALERT_ROUTING",
    "ALERT_COOLDOWN_SECONDS",
    "ALERT_REPEAT_SECONDS",
    "ALERT_WEBHOOK_SECRET",
];

/// Variables passed through to the fan-out as they are.
const PASSED_THROUGH: [&str; 4] = [
    "ALERT_ROUTING",
    "ALERT_COOLDOWN_SECONDS",
    "ALERT_REPEAT_SECONDS",
    "ALERT_WEBHOOK_SECRET",
];

/// The fan-out's local environment overrides, storing the secrets they name; `lookup` reads
/// the developer's environment.
pub async fn local_alert_environment(
    clients: &AwsClients,
    stack_name: &str,
    sender: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, String> {
    let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let mut environment = BTreeMap::from([
        ("ALERT_EMAIL_FROM".to_owned(), sender.to_owned()),
        (
            "ALERT_EMAIL_TO".to_owned(),
            set("LOCAL_ALERT_EMAIL_TO").unwrap_or_else(|| "ops@example.com".to_owned()),
        ),
    ]);
    for name in PASSED_THROUGH {
        if let Some(value) = set(name) {
            environment.insert(name.to_owned(), value);
        }
    }
    if let Some(url) = set("ALERT_WEBHOOK_URL") {
        environment.insert("ALERT_WEBHOOK_URL".to_owned(), url);
        if !environment.contains_key("ALERT_WEBHOOK_SECRET") {
            let parameter = format!("/{stack_name}/alerts/webhook");
            put_secret(clients, &parameter, LOCAL_WEBHOOK_SECRET).await?;
            environment.insert(
                "ALERT_WEBHOOK_SECRET".to_owned(),
                format!("ssm:{parameter}"),
            );
        }
    }
    if let Some(url) = set("ALERT_SLACK_WEBHOOK_URL") {
        let parameter = format!("/{stack_name}/alerts/slack-url");
        put_secret(clients, &parameter, &url).await?;
        environment.insert(
            "ALERT_SLACK_WEBHOOK_URL_SECRET".to_owned(),
            format!("ssm:{parameter}"),
        );
    }
    Ok(environment)
}

async fn put_secret(clients: &AwsClients, parameter: &str, value: &str) -> Result<(), String> {
    clients
        .delivery
        .ssm
        .put_parameter()
        .name(parameter)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|error| {
            format!(
                "SSM parameter {parameter}: {}",
                aws_sdk_ssm::error::DisplayErrorContext(error)
            )
        })
}
