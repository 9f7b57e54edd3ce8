//! `campaignctl consumers …`, `config …` and `test …`: pausing consumers, the runtime
//! configuration, and test actions.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{ConfigCommand, ConsumerCommand, TestCommand};
use crate::client::ApiClient;
use crate::commands::campaigns::segment;
use crate::commands::files;
use crate::exit::CliError;
use crate::output::{Column, Output};

const CONSUMER_COLUMNS: &[Column] = &[
    ("CONSUMER", "/name"),
    ("PAUSED", "/paused"),
    ("BY", "/by"),
    ("SINCE", "/at"),
    ("MAPPING", "/mapping/state"),
    ("NEEDS", "/dependency"),
];

/// Runs a consumers command.
pub async fn consumers(
    client: &ApiClient,
    out: Output,
    command: ConsumerCommand,
) -> Result<(), CliError> {
    let (name, action) = match command {
        ConsumerCommand::List => {
            let answer = client.get("/recovery/consumers", &[]).await?.body;
            let rows = answer["consumers"].as_array().cloned().unwrap_or_default();
            out.table(&answer, &rows, CONSUMER_COLUMNS, None);
            return Ok(());
        }
        ConsumerCommand::Pause { name } => (name, "pause"),
        ConsumerCommand::Resume { name } => (name, "resume"),
    };
    let path = format!("/recovery/consumers/{}/{action}", segment(&name));
    let state = client.change(Method::POST, &path, None).await?.body;
    let paused = state["paused"] == json!(true);
    out.note(
        &format!("{name}: {}", if paused { "paused" } else { "consuming" }),
        &state,
    );
    Ok(())
}

/// Runs a config command.
pub async fn config(
    client: &ApiClient,
    out: Output,
    command: ConfigCommand,
) -> Result<(), CliError> {
    let answer = match command {
        ConfigCommand::Get => client.get("/recovery/configuration", &[]).await?.body,
        ConfigCommand::Set { file } => {
            let body = files::read_body(&file)?;
            client
                .change(Method::PUT, "/recovery/configuration", Some(&body))
                .await?
                .body
        }
    };
    out.record(&answer);
    Ok(())
}

/// Runs a test command.
pub async fn test(client: &ApiClient, out: Output, command: TestCommand) -> Result<(), CliError> {
    let body = test_body(command)?;
    let answer = client
        .change(Method::POST, "/recovery/test", Some(&body))
        .await?
        .body;
    out.record(&answer);
    Ok(())
}

/// The `POST /recovery/test` body of `command`.
fn test_body(command: TestCommand) -> Result<Value, CliError> {
    Ok(match command {
        TestCommand::Alert { channel } => json!({ "kind": "alert", "channel": channel }),
        TestCommand::Probe { dependency } => json!({ "kind": "probe", "dependency": dependency }),
        TestCommand::Pattern {
            code,
            message,
            status,
            pattern_id,
            file,
        } => {
            let mut error = json!({ "code": code, "message": message });
            if let Some(status) = status {
                error["status"] = json!(status);
            }
            let mut body = json!({ "kind": "pattern", "error": error });
            if let Some(id) = pattern_id {
                body["patternId"] = json!(id);
            }
            if let Some(file) = file {
                body["pattern"] = files::read_body(&file)?;
            }
            body
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_bodies_carry_their_kind_and_only_the_given_fields() {
        assert_eq!(
            test_body(TestCommand::Alert {
                channel: "slack".into()
            })
            .unwrap(),
            json!({"kind": "alert", "channel": "slack"})
        );
        assert_eq!(
            test_body(TestCommand::Probe {
                dependency: "sqs".into()
            })
            .unwrap(),
            json!({"kind": "probe", "dependency": "sqs"})
        );
        assert_eq!(
            test_body(TestCommand::Pattern {
                code: "ThrottlingException".into(),
                message: "slow down".into(),
                status: Some(400),
                pattern_id: Some("aws-throttling".into()),
                file: None,
            })
            .unwrap(),
            json!({"kind": "pattern", "patternId": "aws-throttling",
                   "error": {"code": "ThrottlingException", "message": "slow down", "status": 400}})
        );
    }
}
