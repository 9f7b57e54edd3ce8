//! `campaignctl recovery …`: the recovery log, its statistics and report, the stored sweep
//! reports, and a sweep run now.

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::RecoveryCommand;
use crate::client::ApiClient;
use crate::commands::campaigns::segment;
use crate::commands::paging;
use crate::exit::CliError;
use crate::output::{Column, Output};

const EVENT_COLUMNS: &[Column] = &[
    ("ID", "/id"),
    ("AT", "/at"),
    ("CATEGORY", "/category"),
    ("SEVERITY", "/severity"),
    ("CODE", "/code"),
    ("CAMPAIGN", "/campaignId"),
    ("RESOLVED BY", "/resolution/by"),
    ("MESSAGE", "/message"),
];
const SWEEP_COLUMNS: &[Column] = &[
    ("RUN", "/runId"),
    ("STARTED", "/startedAt"),
    ("FINISHED", "/finishedAt"),
    ("DRY RUN", "/dryRun"),
    ("CRASH", "/wasCrash"),
    ("ERRORS", "/errors"),
];

/// Runs `command`.
pub async fn run(
    client: &ApiClient,
    out: Output,
    command: RecoveryCommand,
) -> Result<(), CliError> {
    match command {
        RecoveryCommand::Events {
            since,
            category,
            severity,
            campaign,
            page,
        } => {
            let query = vec![
                ("since", since.unwrap_or_default()),
                ("category", category.unwrap_or_default()),
                ("severity", severity.unwrap_or_default()),
                ("campaignId", campaign.unwrap_or_default()),
            ];
            let (whole, rows) =
                paging::list(client, "/recovery/events", query, "events", &page).await?;
            out.table(
                &whole,
                &rows,
                EVENT_COLUMNS,
                paging::footer(&whole).as_deref(),
            );
        }
        RecoveryCommand::Resolve { id, by, note } => {
            let mut body = json!({ "resolvedBy": by });
            if let Some(note) = note {
                body["note"] = json!(note);
            }
            let path = format!("/recovery/events/{}/resolve", segment(&id));
            let answer = client.change(Method::POST, &path, Some(&body)).await?.body;
            let text = if answer["alreadyResolved"] == json!(true) {
                format!(
                    "{id} was already resolved by {}",
                    answer["event"]["resolution"]["by"].as_str().unwrap_or("?")
                )
            } else {
                format!("{id} resolved")
            };
            out.note(&text, &answer);
        }
        RecoveryCommand::Statistics { window } => {
            let answer = client
                .get("/recovery/statistics", &[("window", window)])
                .await?
                .body;
            out.record(&answer);
        }
        RecoveryCommand::Report => {
            let answer = client.get("/recovery/report", &[]).await?.body;
            out.record(&answer);
        }
        RecoveryCommand::Sweeps { page } => {
            let (whole, rows) =
                paging::list(client, "/recovery/sweeps", vec![], "sweeps", &page).await?;
            out.table(
                &whole,
                &rows,
                SWEEP_COLUMNS,
                paging::footer(&whole).as_deref(),
            );
        }
        RecoveryCommand::Trigger { steps, dry_run } => {
            let mut body = json!({ "dryRun": dry_run });
            if !steps.is_empty() {
                body["steps"] = Value::from(steps);
            }
            let report = client
                .change(Method::POST, "/recovery/trigger", Some(&body))
                .await?
                .body;
            out.record(&report);
        }
    }
    Ok(())
}
