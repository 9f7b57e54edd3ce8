//! `campaignctl campaigns …`: the campaign routes, and `wait`, which follows a run's counts
//! with a progress bar until it is over.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::CampaignCommand;
use crate::client::ApiClient;
use crate::commands::{files, paging};
use crate::exit::CliError;
use crate::output::{Column, Output};
use crate::progress;

const CAMPAIGN_COLUMNS: &[Column] = &[
    ("ID", "/id"),
    ("NAME", "/name"),
    ("STATUS", "/status"),
    ("START", "/startAt"),
    ("END", "/endAt"),
    ("VERSION", "/version"),
];
const RUN_COLUMNS: &[Column] = &[
    ("RUN", "/runId"),
    ("STATUS", "/status"),
    ("TOTAL", "/total"),
    ("SENT", "/sent"),
    ("FAILED", "/failed"),
    ("PENDING", "/pending"),
    ("UNCONFIRMED", "/unconfirmed"),
    ("SCHEDULED", "/scheduledAt"),
];
const TIMER_COLUMNS: &[Column] = &[
    ("TIMER", "/timerId"),
    ("KIND", "/kind"),
    ("STATUS", "/status"),
    ("DUE", "/dueAt"),
    ("ATTEMPTS", "/attempts"),
    ("RUN", "/runId"),
];
const RECIPIENT_COLUMNS: &[Column] = &[
    ("RECIPIENT", "/recipientId"),
    ("STATUS", "/status"),
    ("REASON", "/reason"),
    ("AMBIGUOUS", "/ambiguous"),
    ("SETTLED", "/settledAt"),
];
const OCCURRENCE_COLUMNS: &[Column] = &[("UTC", "/utc"), ("LOCAL", "/local"), ("NOTE", "/note")];
const RECOVERED_COLUMNS: &[Column] = &[("ID", "/id"), ("NAME", "/name"), ("STATUS", "/status")];
const SKIPPED_COLUMNS: &[Column] = &[("ID", "/id"), ("NAME", "/name"), ("REASON", "/reason")];

/// Run statuses after which nothing more happens to a run.
const TERMINAL_RUN_STATUSES: &[&str] = &["COMPLETED", "CANCELLED", "MISSED", "SKIPPED_OVERLAP"];
/// How often `wait` reads the run.
const WAIT_POLL: Duration = Duration::from_secs(2);

/// Runs `command`.
pub async fn run(
    client: &ApiClient,
    out: Output,
    command: CampaignCommand,
) -> Result<(), CliError> {
    match command {
        CampaignCommand::Create { file } => {
            let body = files::read_body(&file)?;
            let created = client
                .change(Method::POST, "/campaigns", Some(&body))
                .await?;
            out.record(&created.body);
        }
        CampaignCommand::Get { id } => {
            let campaign = client
                .get(&format!("/campaigns/{}", segment(&id)), &[])
                .await?
                .body;
            out.record(&campaign);
        }
        CampaignCommand::List { status, page } => {
            let (whole, rows) = paging::list(
                client,
                "/campaigns",
                vec![("status", status)],
                "campaigns",
                &page,
            )
            .await?;
            out.table(
                &whole,
                &rows,
                CAMPAIGN_COLUMNS,
                paging::footer(&whole).as_deref(),
            );
        }
        CampaignCommand::Cancel { id } => {
            let path = format!("/campaigns/{}/cancel", segment(&id));
            let campaign = client.change(Method::POST, &path, None).await?.body;
            out.note(
                &format!("{id}: {}", campaign["status"].as_str().unwrap_or("?")),
                &campaign,
            );
        }
        CampaignCommand::Timers { id } => {
            let path = format!("/campaigns/{}/timers", segment(&id));
            let answer = client.get(&path, &[]).await?.body;
            let rows = answer["timers"].as_array().cloned().unwrap_or_default();
            out.table(&answer, &rows, TIMER_COLUMNS, None);
        }
        CampaignCommand::Runs { id, page } => {
            let path = format!("/campaigns/{}/runs", segment(&id));
            let (whole, rows) = paging::list(client, &path, vec![], "runs", &page).await?;
            out.table(
                &whole,
                &rows,
                RUN_COLUMNS,
                paging::footer(&whole).as_deref(),
            );
        }
        CampaignCommand::Recipients {
            id,
            run_id,
            status,
            page,
        } => {
            let path = format!(
                "/campaigns/{}/runs/{}/recipients",
                segment(&id),
                segment(&run_id)
            );
            let (whole, rows) =
                paging::list(client, &path, vec![("status", status)], "recipients", &page).await?;
            out.table(
                &whole,
                &rows,
                RECIPIENT_COLUMNS,
                paging::footer(&whole).as_deref(),
            );
        }
        CampaignCommand::Schedule { id, next } => {
            let path = format!("/campaigns/{}/schedule", segment(&id));
            let preview = client.get(&path, &[("next", next.to_string())]).await?.body;
            let rows = preview["next"].as_array().cloned().unwrap_or_default();
            let header = format!(
                "{} ({}){}",
                preview["cron"].as_str().unwrap_or("?"),
                preview["timezone"].as_str().unwrap_or("?"),
                if preview["paused"] == json!(true) {
                    ", paused"
                } else {
                    ""
                }
            );
            if !out.json {
                println!("{header}");
            }
            out.table(&preview, &rows, OCCURRENCE_COLUMNS, None);
        }
        CampaignCommand::Pause { id } => series(client, out, &id, "pause").await?,
        CampaignCommand::Resume { id } => series(client, out, &id, "resume").await?,
        CampaignCommand::Wait { id, run, timeout } => {
            wait(
                client,
                out,
                &id,
                run.as_deref(),
                Duration::from_secs(timeout),
            )
            .await?;
        }
        CampaignCommand::Recover { dry_run, limit } => {
            let mut body = json!({ "dryRun": dry_run });
            if let Some(limit) = limit {
                body["limit"] = json!(limit);
            }
            let answer = client
                .change(Method::POST, "/campaigns/recover", Some(&body))
                .await?
                .body;
            if out.json {
                out.value(&answer);
            } else {
                let verb = if dry_run {
                    "would recover"
                } else {
                    "recovered"
                };
                println!(
                    "{verb} {}, skipped {}",
                    answer["recovered"], answer["skipped"]
                );
                let details = &answer["details"];
                for (title, key, columns) in [
                    ("recovered", "recovered", RECOVERED_COLUMNS),
                    ("skipped", "skipped", SKIPPED_COLUMNS),
                ] {
                    let rows = details[key].as_array().cloned().unwrap_or_default();
                    if !rows.is_empty() {
                        println!("\n{title}:");
                        out.table(&answer, &rows, columns, None);
                    }
                }
            }
        }
    }
    Ok(())
}

/// `pause` or `resume` of a recurring campaign's series.
async fn series(client: &ApiClient, out: Output, id: &str, action: &str) -> Result<(), CliError> {
    let path = format!("/campaigns/{}/{action}", segment(id));
    let campaign = client.change(Method::POST, &path, None).await?.body;
    let paused = campaign["series"]["paused"] == json!(true);
    out.note(
        &format!("{id}: series {}", if paused { "paused" } else { "running" }),
        &campaign,
    );
    Ok(())
}

/// Follows run `run_id` (the campaign's latest when `None`) until it is over, with a bar of
/// its settled recipients; fails with a service error after `timeout`.
async fn wait(
    client: &ApiClient,
    out: Output,
    id: &str,
    run_id: Option<&str>,
    timeout: Duration,
) -> Result<(), CliError> {
    let path = format!("/campaigns/{}/runs", segment(id));
    let started = Instant::now();
    let bar = progress::bar(out, 0, "recipients settled");
    loop {
        let runs = client.get(&path, &[("limit", "25".into())]).await?.body;
        let run = runs["runs"]
            .as_array()
            .and_then(|runs| {
                runs.iter()
                    .find(|run| run_id.is_none_or(|wanted| run["runId"] == json!(wanted)))
            })
            .cloned()
            .ok_or_else(|| match run_id {
                Some(wanted) => CliError::Input(format!("campaign {id} has no run {wanted}")),
                None => CliError::Input(format!("campaign {id} has no runs")),
            })?;
        let (settled, total) = settled_of(&run);
        bar.set_length(total);
        bar.set_position(settled);
        let status = run["status"].as_str().unwrap_or_default();
        if TERMINAL_RUN_STATUSES.contains(&status) {
            bar.finish_and_clear();
            out.record(&run);
            return Ok(());
        }
        if started.elapsed() >= timeout {
            bar.abandon();
            return Err(CliError::FunctionFailed(format!(
                "run {} still {status} after {} s",
                run["runId"].as_str().unwrap_or("?"),
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(WAIT_POLL).await;
    }
}

/// A run's settled recipients and its total (the total grows while it is being planned).
fn settled_of(run: &Value) -> (u64, u64) {
    let count = |key: &str| run[key].as_u64().unwrap_or(0);
    let settled = count("sent")
        + count("failed")
        + count("unconfirmed")
        + count("duplicates")
        + count("cancelled")
        + count("expired");
    (settled, count("total").max(settled))
}

/// `text` as one percent-encoded path segment.
pub fn segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(byte as char);
            }
            other => encoded.push_str(&format!("%{other:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("c-1_a.b~"), "c-1_a.b~");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
        assert_eq!(segment("é"), "%C3%A9");
    }

    #[test]
    fn settled_counts_every_final_outcome() {
        let run = json!({"total": 10, "sent": 3, "failed": 1, "unconfirmed": 1,
            "duplicates": 1, "cancelled": 1, "expired": 1, "pending": 2, "ambiguous": 5});
        assert_eq!(settled_of(&run), (8, 10));
        assert_eq!(settled_of(&json!({"total": 1, "sent": 2})), (2, 2));
    }
}
