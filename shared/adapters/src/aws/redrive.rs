//! Dead-letter queue redrive: list the messages of a DLQ with their error attributes, and
//! move selected ones (or all, up to a limit) back to their source queue. Works on AWS,
//! LocalStack and moto alike (receive → send → delete; moto has no `StartMessageMoveTask`).
//!
//! Crash safety: a message is deleted from the DLQ only after its copy was accepted by the
//! source queue. A redrive that dies in between leaves the message in the DLQ (it becomes
//! visible again after `in_flight_visibility`) and its copy in the source queue; the next
//! redrive sends it again. So a message is never lost, at worst delivered twice — and every
//! consumer of our queues has exactly-once effects.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use serde::Serialize;

use lifecycle_resilience::AwsError;

use super::{Describe, SendWith};
use lifecycle_domain::Timestamp;
use lifecycle_resilience::{ErrorClass, Resilience};

/// Message attributes the service sets on a message it dead-letters itself.
pub const ERROR_CODE_ATTRIBUTE: &str = "errorCode";
pub const ERROR_CATEGORY_ATTRIBUTE: &str = "errorCategory";
pub const ERROR_MESSAGE_ATTRIBUTE: &str = "errorMessage";
pub const FAILED_AT_ATTRIBUTE: &str = "failedAt";
/// Set on a redriven copy: the DLQ message id it came from.
pub const REDRIVEN_FROM_ATTRIBUTE: &str = "redrivenFrom";

/// One message waiting in a DLQ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    /// Deliveries so far (those that led it to the DLQ included).
    pub receive_count: u32,
    pub sent_at: Option<Timestamp>,
    /// String message attributes: the error attributes above when the service dead-lettered
    /// it itself; none when SQS moved it after `maxReceiveCount`.
    pub attributes: BTreeMap<String, String>,
}

/// What to move.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedriveRequest {
    /// Only these message ids; `None` moves every message.
    pub message_ids: Option<BTreeSet<String>>,
    /// Move at most this many.
    pub limit: usize,
    /// Report what would move; move nothing.
    pub dry_run: bool,
}

/// What a redrive did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedriveReport {
    pub dry_run: bool,
    /// Messages looked at.
    pub examined: usize,
    /// Moved back (or, in a dry run, that would be).
    pub moved: Vec<String>,
    /// Left in the DLQ because a step failed, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Lister and mover of one DLQ's messages.
#[derive(Debug, Clone)]
pub struct Redrive {
    client: aws_sdk_sqs::Client,
    resilience: Resilience,
    /// How long a received message stays hidden while it is being moved; after a crash it
    /// reappears in the DLQ this much later.
    pub in_flight_visibility: Duration,
}

/// Messages received per request (the SQS maximum).
const BATCH: i32 = 10;
/// Receive rounds that bring no message not seen before end a pass.
const IDLE_ROUNDS: usize = 2;

impl Redrive {
    pub fn new(client: aws_sdk_sqs::Client, resilience: Resilience) -> Self {
        Self {
            client,
            resilience,
            in_flight_visibility: Duration::from_secs(30),
        }
    }

    /// Up to `limit` messages of `dlq_url`; they are visible again right after.
    pub async fn list(&self, dlq_url: &str, limit: usize) -> Result<Vec<DeadLetter>, AwsError> {
        let mut listed: Vec<DeadLetter> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut idle = 0;
        // Received messages stay hidden until the pass ends, so each receive brings new ones
        // (released at once, the first ones would be received again and again).
        let mut handles: Vec<String> = Vec::new();
        while listed.len() < limit && idle < IDLE_ROUNDS {
            let messages = match self.receive(dlq_url).await {
                Ok(messages) => messages,
                Err(error) => {
                    self.release(dlq_url, &handles).await?;
                    return Err(error);
                }
            };
            handles.extend(
                messages
                    .iter()
                    .filter_map(|m| m.receipt_handle().map(str::to_owned)),
            );
            let before = listed.len();
            for message in &messages {
                let letter = dead_letter(message);
                if seen.insert(letter.message_id.clone()) && listed.len() < limit {
                    listed.push(letter);
                }
            }
            idle = if listed.len() == before { idle + 1 } else { 0 };
        }
        self.release(dlq_url, &handles).await?;
        Ok(listed)
    }

    /// Moves the messages `request` selects from `dlq_url` back to `source_url`.
    pub async fn redrive(
        &self,
        dlq_url: &str,
        source_url: &str,
        request: &RedriveRequest,
    ) -> Result<RedriveReport, AwsError> {
        let mut report = RedriveReport {
            dry_run: request.dry_run,
            ..RedriveReport::default()
        };
        let mut seen = BTreeSet::new();
        let mut idle = 0;
        // Messages left in the DLQ stay hidden until the pass ends, so each receive brings
        // new ones; then they are released together.
        let mut keep: Vec<String> = Vec::new();
        while report.moved.len() < request.limit && idle < IDLE_ROUNDS {
            let messages = self.receive(dlq_url).await?;
            let mut take: Vec<&Message> = Vec::new();
            let mut new_messages = 0;
            for message in &messages {
                let id = message.message_id().unwrap_or_default().to_owned();
                let handle = message.receipt_handle().unwrap_or_default().to_owned();
                if seen.insert(id.clone()) {
                    new_messages += 1;
                    report.examined += 1;
                } else {
                    keep.push(handle);
                    continue;
                }
                let selected = request
                    .message_ids
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&id));
                let room = report.moved.len() + take.len() < request.limit;
                if selected && room && !request.dry_run {
                    take.push(message);
                } else {
                    if selected && room {
                        report.moved.push(id);
                    }
                    keep.push(handle);
                }
            }
            idle = if new_messages == 0 { idle + 1 } else { 0 };
            if !take.is_empty() {
                let (moved, failed) = self.move_batch(dlq_url, source_url, &take).await;
                report.moved.extend(moved);
                for (id, handle, reason) in failed {
                    report.failed.push((id, reason));
                    keep.push(handle);
                }
            }
            if request
                .message_ids
                .as_ref()
                .is_some_and(|ids| ids.iter().all(|id| seen.contains(id)))
            {
                break;
            }
        }
        self.release(dlq_url, &keep).await?;
        Ok(report)
    }

    /// Sends copies of `messages` to the source queue, then deletes from the DLQ the ones
    /// whose copy was accepted. Returns the moved ids and the failures (id, handle, reason).
    async fn move_batch(
        &self,
        dlq_url: &str,
        source_url: &str,
        messages: &[&Message],
    ) -> (Vec<String>, Vec<(String, String, String)>) {
        let id_of = |m: &Message| m.message_id().unwrap_or_default().to_owned();
        let handle_of = |m: &Message| m.receipt_handle().unwrap_or_default().to_owned();
        let mut failed = Vec::new();
        let mut entries: Vec<SendMessageBatchRequestEntry> = Vec::new();
        for (index, message) in messages.iter().enumerate() {
            let mut attributes = message.message_attributes().cloned().unwrap_or_default();
            let entry = string_attribute(&id_of(message)).and_then(|from| {
                attributes.insert(REDRIVEN_FROM_ATTRIBUTE.into(), from);
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(message.body().unwrap_or_default())
                    .set_message_attributes(Some(attributes))
                    .build()
                    .ok()
            });
            match entry {
                Some(entry) => entries.push(entry),
                None => failed.push((
                    id_of(message),
                    handle_of(message),
                    "copy not buildable".into(),
                )),
            }
        }
        // Only a message whose copy was sent and accepted may be deleted.
        let sent_ids: BTreeSet<String> = entries.iter().map(|e| e.id().to_owned()).collect();
        if sent_ids.is_empty() {
            return (Vec::new(), failed);
        }
        let sent = self
            .client
            .send_message_batch()
            .queue_url(source_url)
            .set_entries(Some(entries))
            .send_with(&self.resilience)
            .await;
        let accepted: Vec<&Message> = match sent {
            Ok(output) => {
                // Only copies SQS reports as sent may leave the DLQ: an entry it refused,
                // or did not report under an id we gave, stays.
                let copied: BTreeSet<&str> = output.successful().iter().map(|s| s.id()).collect();
                let refused: BTreeMap<String, String> = output
                    .failed()
                    .iter()
                    .map(|f| (f.id().to_owned(), f.code().to_owned()))
                    .collect();
                messages
                    .iter()
                    .enumerate()
                    .filter(|(index, _)| sent_ids.contains(&index.to_string()))
                    .filter_map(|(index, message)| {
                        if copied.contains(index.to_string().as_str()) {
                            return Some(*message);
                        }
                        let code = refused
                            .get(&index.to_string())
                            .map_or("not reported", String::as_str);
                        failed.push((
                            id_of(message),
                            handle_of(message),
                            format!("send refused: {code}"),
                        ));
                        None
                    })
                    .collect()
            }
            Err(error) => {
                let error = error.describe("SendMessageBatch");
                for (index, message) in messages.iter().enumerate() {
                    if sent_ids.contains(&index.to_string()) {
                        failed.push((id_of(message), handle_of(message), error.to_string()));
                    }
                }
                return (Vec::new(), failed);
            }
        };
        let deletes: Vec<DeleteMessageBatchRequestEntry> = accepted
            .iter()
            .enumerate()
            .filter_map(|(index, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(handle_of(message))
                    .build()
                    .ok()
            })
            .collect();
        if deletes.is_empty() {
            return (Vec::new(), failed);
        }
        let deleted = self
            .client
            .delete_message_batch()
            .queue_url(dlq_url)
            .set_entries(Some(deletes))
            .send_with(&self.resilience)
            .await;
        let mut moved = Vec::new();
        match deleted {
            Ok(output) => {
                let deleted: BTreeSet<usize> = output
                    .successful()
                    .iter()
                    .filter_map(|s| s.id().parse().ok())
                    .collect();
                for (index, message) in accepted.iter().enumerate() {
                    if !deleted.contains(&index) {
                        // Its copy is in the source queue; it will be moved (again) later.
                        failed.push((
                            id_of(message),
                            handle_of(message),
                            "copied, not deleted".into(),
                        ));
                    } else {
                        moved.push(id_of(message));
                    }
                }
            }
            Err(error) => {
                let error = error.describe("DeleteMessageBatch");
                for message in accepted {
                    failed.push((
                        id_of(message),
                        handle_of(message),
                        format!("copied, not deleted: {error}"),
                    ));
                }
            }
        }
        (moved, failed)
    }

    async fn receive(&self, url: &str) -> Result<Vec<Message>, AwsError> {
        let output = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(BATCH)
            .visibility_timeout(self.in_flight_visibility.as_secs().max(1) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send_with(&self.resilience)
            .await
            .map_err(|e| e.describe("ReceiveMessage"))?;
        Ok(output.messages.unwrap_or_default())
    }

    /// Makes received messages visible again at once (best effort: if this fails they
    /// reappear after `in_flight_visibility`).
    async fn release(&self, url: &str, handles: &[String]) -> Result<(), AwsError> {
        for chunk in handles.chunks(BATCH as usize) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(index, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            if let Err(error) = self
                .client
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send_with(&self.resilience)
                .await
            {
                tracing::warn!(error = %error.describe("ChangeMessageVisibilityBatch"), "messages not released; they reappear after the visibility timeout");
            }
        }
        Ok(())
    }
}

/// The error attributes of a message the service dead-letters itself.
pub fn error_attributes(
    class: &ErrorClass,
    message: &str,
    failed_at: Timestamp,
) -> BTreeMap<String, MessageAttributeValue> {
    [
        (ERROR_CODE_ATTRIBUTE, class.code.to_owned()),
        (ERROR_CATEGORY_ATTRIBUTE, format!("{:?}", class.category)),
        (
            ERROR_MESSAGE_ATTRIBUTE,
            message.chars().take(1_000).collect(),
        ),
        (FAILED_AT_ATTRIBUTE, failed_at.to_rfc3339()),
    ]
    .into_iter()
    .filter_map(|(name, value)| Some((name.to_owned(), string_attribute(&value)?)))
    .collect()
}

fn string_attribute(value: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .ok()
}

fn dead_letter(message: &Message) -> DeadLetter {
    let system =
        |name: MessageSystemAttributeName| message.attributes().and_then(|a| a.get(&name)).cloned();
    DeadLetter {
        message_id: message.message_id().unwrap_or_default().to_owned(),
        body: message.body().unwrap_or_default().to_owned(),
        receive_count: system(MessageSystemAttributeName::ApproximateReceiveCount)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        sent_at: system(MessageSystemAttributeName::SentTimestamp)
            .and_then(|v| v.parse().ok())
            .map(Timestamp::from_millis),
        attributes: message
            .message_attributes()
            .map(|attributes| {
                attributes
                    .iter()
                    .filter_map(|(name, value)| {
                        Some((name.clone(), value.string_value()?.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}
