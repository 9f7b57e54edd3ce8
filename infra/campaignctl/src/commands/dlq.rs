//! `campaignctl dlq …`: dead-letter queues listed, peeked and redriven (in chunks, with a
//! progress bar).

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::DlqCommand;
use crate::client::ApiClient;
use crate::commands::campaigns::segment;
use crate::exit::CliError;
use crate::output::{Column, Output};
use crate::progress;

const QUEUE_COLUMNS: &[Column] = &[
    ("QUEUE", "/name"),
    ("SOURCE", "/sourceQueue"),
    ("VISIBLE", "/visible"),
    ("IN FLIGHT", "/inFlight"),
    ("DELAYED", "/delayed"),
    ("OLDEST (S)", "/oldestMessageAgeSeconds"),
];
const MESSAGE_COLUMNS: &[Column] = &[
    ("MESSAGE", "/messageId"),
    ("RECEIVES", "/receiveCount"),
    ("SENT", "/sentAt"),
    ("ERROR", "/errorCode"),
    ("FAILED AT", "/failedAt"),
    ("BODY", "/body"),
];
/// Messages moved per redrive request, so the bar moves and each request stays short.
const REDRIVE_CHUNK: u64 = 10;

/// Runs `command`.
pub async fn run(client: &ApiClient, out: Output, command: DlqCommand) -> Result<(), CliError> {
    match command {
        DlqCommand::List => {
            let answer = client.get("/recovery/dlq", &[]).await?.body;
            let rows = answer["queues"].as_array().cloned().unwrap_or_default();
            out.table(&answer, &rows, QUEUE_COLUMNS, None);
        }
        DlqCommand::Peek { queue, limit } => {
            let path = format!("/recovery/dlq/{}/messages", segment(&queue));
            let query = vec![("limit", limit.map(|l| l.to_string()).unwrap_or_default())];
            let answer = client.get(&path, &query).await?.body;
            let rows = answer["messages"].as_array().cloned().unwrap_or_default();
            out.table(&answer, &rows, MESSAGE_COLUMNS, None);
        }
        DlqCommand::Redrive {
            queue,
            ids,
            error_code,
            limit,
            dry_run,
        } => redrive(client, out, &queue, ids, error_code, limit, dry_run).await?,
    }
    Ok(())
}

/// Redrives in chunks until `limit` moved or nothing selected is left; a dry run or a
/// selection by ids is one request.
async fn redrive(
    client: &ApiClient,
    out: Output,
    queue: &str,
    ids: Vec<String>,
    error_code: Option<String>,
    limit: Option<u32>,
    dry_run: bool,
) -> Result<(), CliError> {
    let path = format!("/recovery/dlq/{}/redrive", segment(queue));
    let mut selection = json!({ "dryRun": dry_run });
    if !ids.is_empty() {
        selection["messageIds"] = Value::from(ids.clone());
    }
    if let Some(code) = &error_code {
        selection["errorCode"] = json!(code);
    }
    if dry_run || !ids.is_empty() {
        if let Some(limit) = limit {
            selection["limit"] = json!(limit);
        }
        let answer = client
            .change(Method::POST, &path, Some(&selection))
            .await?
            .body;
        let verb = if dry_run { "would move" } else { "moved" };
        let count = if dry_run {
            &answer["selected"]
        } else {
            &answer["moved"]
        };
        return finish(
            out,
            &answer,
            &format!("{verb} {count} message(s) from {queue}"),
        );
    }
    let wanted = match limit {
        Some(limit) => u64::from(limit),
        None => depth(client, queue).await?,
    };
    let bar = progress::bar(out, wanted, "messages moved");
    let (mut moved, mut failed) = (0_u64, 0_u64);
    let mut moved_ids = Vec::new();
    while moved < wanted {
        selection["limit"] = json!((wanted - moved).min(REDRIVE_CHUNK));
        let answer = client
            .change(Method::POST, &path, Some(&selection))
            .await?
            .body;
        let moved_now = answer["moved"].as_u64().unwrap_or(0);
        failed += answer["failed"].as_u64().unwrap_or(0);
        moved_ids.extend(answer["messageIds"].as_array().cloned().unwrap_or_default());
        moved += moved_now;
        bar.set_position(moved.min(wanted));
        if moved_now == 0 {
            break;
        }
    }
    bar.finish_and_clear();
    let summary = json!({ "moved": moved, "failed": failed, "messageIds": moved_ids });
    finish(
        out,
        &summary,
        &format!("moved {moved} message(s) from {queue}, {failed} failed"),
    )?;
    if failed > 0 {
        return Err(CliError::FunctionFailed(format!(
            "{failed} message(s) could not be moved; they are still in {queue}"
        )));
    }
    Ok(())
}

/// The visible messages of `queue`.
async fn depth(client: &ApiClient, queue: &str) -> Result<u64, CliError> {
    let answer = client.get("/recovery/dlq", &[]).await?.body;
    answer["queues"]
        .as_array()
        .and_then(|queues| queues.iter().find(|q| q["name"] == json!(queue)))
        .map(|q| q["visible"].as_u64().unwrap_or(0))
        .ok_or_else(|| CliError::Api {
            status: 404,
            code: "QUEUE_NOT_FOUND".into(),
            message: format!("no dead-letter queue {queue}"),
            fields: vec![],
        })
}

fn finish(out: Output, answer: &Value, text: &str) -> Result<(), CliError> {
    out.note(text, answer);
    Ok(())
}
