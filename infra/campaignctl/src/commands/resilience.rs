//! `campaignctl breakers …` and `campaignctl patterns …`: the shared circuit breakers and the
//! failure patterns.

use reqwest::Method;

use crate::cli::{BreakerCommand, PatternCommand};
use crate::client::ApiClient;
use crate::commands::campaigns::segment;
use crate::commands::files;
use crate::exit::CliError;
use crate::output::{Column, Output};

const BREAKER_COLUMNS: &[Column] = &[
    ("DEPENDENCY", "/dependency"),
    ("STATE", "/state"),
    ("TRIPS", "/trips"),
    ("RECOVERIES", "/recoveries"),
    ("RECOVERY RATE", "/recoveryRate"),
    ("OPEN UNTIL", "/openUntil"),
    ("REASON", "/reason"),
];
const PATTERN_COLUMNS: &[Column] = &[
    ("ID", "/id"),
    ("PATTERN", "/pattern"),
    ("CATEGORY", "/category"),
    ("SEVERITY", "/severity"),
    ("ACTIONS", "/actions"),
];

/// Runs a breakers command.
pub async fn breakers(
    client: &ApiClient,
    out: Output,
    command: BreakerCommand,
) -> Result<(), CliError> {
    match command {
        BreakerCommand::List => {
            let answer = client.get("/recovery/circuit-breakers", &[]).await?.body;
            let rows = answer.as_array().cloned().unwrap_or_default();
            out.table(&answer, &rows, BREAKER_COLUMNS, None);
        }
        BreakerCommand::Reset { dependency } => {
            let path = format!("/recovery/circuit-breakers/{}/reset", segment(&dependency));
            let record = client.change(Method::POST, &path, None).await?.body;
            out.note(
                &format!("{dependency}: {}", record["state"].as_str().unwrap_or("?")),
                &record,
            );
        }
    }
    Ok(())
}

/// Runs a patterns command.
pub async fn patterns(
    client: &ApiClient,
    out: Output,
    command: PatternCommand,
) -> Result<(), CliError> {
    match command {
        PatternCommand::List => {
            let answer = client.get("/recovery/patterns", &[]).await?.body;
            if out.json {
                out.value(&answer);
            } else {
                for (title, key) in [
                    ("operators' patterns", "custom"),
                    ("built-in patterns", "defaults"),
                ] {
                    println!("{title}:");
                    let rows = answer[key].as_array().cloned().unwrap_or_default();
                    out.table(&answer, &rows, PATTERN_COLUMNS, None);
                }
            }
        }
        PatternCommand::Add { file } => {
            let body = files::read_body(&file)?;
            let created = client
                .change(Method::POST, "/recovery/patterns", Some(&body))
                .await?
                .body;
            out.note(
                &format!("added {}", created["id"].as_str().unwrap_or("?")),
                &created,
            );
        }
        PatternCommand::Delete { id } => {
            let path = format!("/recovery/patterns/{}", segment(&id));
            let answer = client.change(Method::DELETE, &path, None).await?.body;
            out.note(&format!("deleted {id}"), &answer);
        }
    }
    Ok(())
}
