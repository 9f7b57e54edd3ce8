//! The timers queue: sends planned [`OutgoingMessage`]s with `SendMessageBatch`, ten entries a
//! request, each with its own delay.

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, QueueAttributeName, SendMessageBatchRequestEntry,
};

use lifecycle_resilience::AwsError;

use super::Describe;
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer_messages::OutgoingMessage;
use lifecycle_resilience::Resilience;

/// Entries per `SendMessageBatch` request (the SQS maximum).
const BATCH_ENTRIES: usize = 10;

/// Approximate message counts of a queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueDepth {
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
}

/// Sender of timer messages.
#[derive(Debug, Clone)]
pub struct TimerQueue {
    resilience: Resilience,
    client: aws_sdk_sqs::Client,
    url: String,
}

impl TimerQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        Self {
            resilience: Resilience::passthrough(),
            client,
            url: url.into(),
        }
    }

    /// This queue with its requests sent through `resilience`.
    pub fn with_resilience(self, resilience: Resilience) -> Self {
        Self { resilience, ..self }
    }

    /// How many messages wait in the queue at `url` (this queue's client; e.g. its DLQ).
    pub async fn depth(&self, url: &str) -> Result<QueueDepth, AwsError> {
        let output = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send_with(&self.resilience)
            .await
            .map_err(|e| e.describe("GetQueueAttributes"))?;
        let count = |name: QueueAttributeName| {
            output
                .attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(QueueDepth {
            visible: count(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: count(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        })
    }

    /// The URL of this queue (the timers queue, or a delivery queue).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends every message, in order, each request's delays taken as it goes out (a tick
    /// sending many messages would otherwise deliver its last ones late by the time the
    /// requests before them took). Entries SQS refuses are retried once in the next request;
    /// if any still fails, the first failure is returned (the messages that went out stay
    /// sent — duplicates are harmless to the executor).
    pub async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), AwsError> {
        for chunk in messages.chunks(BATCH_ENTRIES) {
            let now = Timestamp::now();
            let entries: Vec<(i32, String)> = chunk
                .iter()
                .map(|message| (message.delay_seconds(now), message.message.to_body()))
                .collect();
            self.send_entries(&entries).await?;
        }
        Ok(())
    }

    /// Sends each body as a message without delay, like [`TimerQueue::send`] (used by the
    /// delivery queues, whose messages are not timers).
    pub async fn send_bodies(&self, bodies: &[String]) -> Result<(), AwsError> {
        let entries: Vec<(i32, String)> = bodies.iter().map(|body| (0, body.clone())).collect();
        self.send_entries(&entries).await
    }

    async fn send_entries(&self, entries: &[(i32, String)]) -> Result<(), AwsError> {
        for chunk in entries.chunks(BATCH_ENTRIES) {
            let mut pending: Vec<&(i32, String)> = chunk.iter().collect();
            for attempt in 0..2 {
                let failed = self.send_batch(&pending).await?;
                if failed.is_empty() {
                    break;
                }
                if attempt == 1 {
                    return Err(failed.into_iter().next().expect("non-empty").1);
                }
                pending = failed
                    .into_iter()
                    .map(|(index, _)| pending[index])
                    .collect();
            }
        }
        Ok(())
    }

    /// Puts `body` straight into the dead-letter queue at `dlq_url` with error `attributes`
    /// (input that no retry can fix: it is not redelivered first).
    pub async fn dead_letter(
        &self,
        dlq_url: &str,
        body: &str,
        attributes: std::collections::BTreeMap<String, aws_sdk_sqs::types::MessageAttributeValue>,
    ) -> Result<(), AwsError> {
        self.client
            .send_message()
            .queue_url(dlq_url)
            .message_body(body)
            .set_message_attributes(Some(attributes.into_iter().collect()))
            .send_with(&self.resilience)
            .await
            .map(|_| ())
            .map_err(|e| e.describe("SendMessage"))
    }

    /// Makes each received message (by receipt handle) visible again only after its
    /// seconds (0–43200): work refused or early now comes back later instead of spinning.
    /// Ten messages a request.
    pub async fn delay_redelivery(&self, delays: &[(String, i32)]) -> Result<(), AwsError> {
        for chunk in delays.chunks(BATCH_ENTRIES) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, (handle, seconds))| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout((*seconds).clamp(0, 43_200))
                        .build()
                        .map_err(|e| AwsError::construction("ChangeMessageVisibilityBatch", &e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .change_message_visibility_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send_with(&self.resilience)
                .await
                .map_err(|e| e.describe("ChangeMessageVisibilityBatch"))?;
            if let Some(entry) = output.failed().first() {
                return Err(AwsError::batch_entry(
                    "ChangeMessageVisibilityBatch",
                    Some(entry.code()),
                    entry.message(),
                ));
            }
        }
        Ok(())
    }

    /// One request; returns the entries that failed with their errors.
    async fn send_batch(
        &self,
        messages: &[&(i32, String)],
    ) -> Result<Vec<(usize, AwsError)>, AwsError> {
        let entries = messages
            .iter()
            .enumerate()
            .map(|(index, (delay_seconds, body))| {
                SendMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .message_body(body)
                    .delay_seconds(*delay_seconds)
                    .build()
                    .map_err(|e| AwsError::construction("SendMessageBatch", &e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send_with(&self.resilience)
            .await
            .map_err(|e| e.describe("SendMessageBatch"))?;
        let succeeded = output.successful().iter().map(|entry| entry.id());
        let failures = output.failed().iter().map(|entry| {
            (
                entry.id(),
                AwsError::batch_entry("SendMessageBatch", Some(entry.code()), entry.message()),
            )
        });
        Ok(unsent(messages.len(), succeeded, failures))
    }
}

/// The entries of a batch of `count` (ids `0..count`) that SQS did not report as sent, with
/// its error where it gave one. An entry it reported under an id that does not parse, or
/// did not report at all, counts as unsent: sending it again is harmless, losing it is not.
fn unsent<'a>(
    count: usize,
    succeeded: impl IntoIterator<Item = &'a str>,
    failures: impl IntoIterator<Item = (&'a str, AwsError)>,
) -> Vec<(usize, AwsError)> {
    let sent: std::collections::BTreeSet<usize> = succeeded
        .into_iter()
        .filter_map(|id| id.parse().ok())
        .collect();
    let mut errors: std::collections::BTreeMap<usize, AwsError> = failures
        .into_iter()
        .filter_map(|(id, error)| Some((id.parse().ok()?, error)))
        .collect();
    (0..count)
        .filter(|index| !sent.contains(index))
        .map(|index| {
            let error = errors.remove(&index).unwrap_or_else(|| {
                AwsError::batch_entry(
                    "SendMessageBatch",
                    Some("NotReported"),
                    Some("SQS reported the entry neither sent nor failed"),
                )
            });
            (index, error)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str) -> AwsError {
        AwsError::batch_entry("SendMessageBatch", Some(code), None)
    }

    #[test]
    fn entries_not_reported_as_sent_are_unsent() {
        let unsent = unsent(
            4,
            ["0", "2"],
            [("1", error("Throttled")), ("x", error("Garbled"))],
        );
        let indexes: Vec<usize> = unsent.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            indexes,
            [1, 3],
            "entry 3 was reported under an unreadable id"
        );
        assert_eq!(unsent[0].1.code, "Throttled");
        assert_eq!(unsent[1].1.code, "NotReported");
    }

    #[test]
    fn a_fully_sent_batch_has_nothing_unsent() {
        assert!(unsent(2, ["1", "0"], []).is_empty());
        assert_eq!(unsent(1, ["01x"], []).len(), 1);
    }
}
