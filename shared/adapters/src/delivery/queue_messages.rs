//! What the delivery functions share in handling their SQS messages: a message that no retry
//! can fix goes straight to its DLQ with its error attributes (`BAD_DELIVERY_MESSAGE`), and the
//! partial-batch response names the messages to redeliver.

use std::future::Future;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use lifecycle_domain::Timestamp;
use lifecycle_resilience::BAD_DELIVERY_INPUT;

use crate::aws::TimerQueue;
use crate::aws::redrive::error_attributes;

/// Where a function's unprocessable messages go.
pub trait DeadLetters: Sync {
    /// Sends `body` to the DLQ with `problem` as its error attributes; `false` if there is no
    /// DLQ (the queue's redrive policy then dead-letters it after its retries).
    fn dead_letter(
        &self,
        body: &str,
        problem: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, String>> + Send;
}

/// One received message: its id, body and receipt handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub id: String,
    pub body: String,
    pub receipt: Option<String>,
}

/// The records of an SQS event as messages. A record without a message id cannot be named in
/// a partial-batch response: it is logged and an empty id is added to `failed`, which fails
/// the whole event (as Lambda does).
pub fn queue_messages(records: Vec<SqsMessage>, failed: &mut Vec<String>) -> Vec<QueueMessage> {
    let mut messages = Vec::with_capacity(records.len());
    for record in records {
        match record.message_id.filter(|id| !id.is_empty()) {
            Some(id) => messages.push(QueueMessage {
                id,
                body: record.body.unwrap_or_default(),
                receipt: record.receipt_handle,
            }),
            None => {
                tracing::error!(
                    code = "MESSAGE_WITHOUT_ID",
                    "SQS record without a message id: the whole event is retried"
                );
                failed.push(String::new());
            }
        }
    }
    messages
}

/// Dead-letters a message no retry can handle (logged with its code); `false` if that was not
/// possible now and the message must be retried instead.
pub async fn dead_letter_or_retry(
    queue: &impl DeadLetters,
    message_id: &str,
    body: &str,
    problem: &str,
    now: Timestamp,
) -> bool {
    tracing::error!(
        message_id,
        code = BAD_DELIVERY_INPUT.code,
        error = problem,
        "queue message cannot be handled"
    );
    match queue.dead_letter(body, problem, now).await {
        Ok(sent) => sent,
        Err(error) => {
            tracing::warn!(
                message_id,
                error,
                "not dead-lettered now; the queue's redrive policy will"
            );
            false
        }
    }
}

/// Sends `body` to `dlq_url` through `queue` with the `BAD_DELIVERY_MESSAGE` attributes;
/// `Ok(false)` without a DLQ.
pub async fn send_to_dlq(
    queue: &TimerQueue,
    dlq_url: Option<&str>,
    body: &str,
    problem: &str,
    now: Timestamp,
) -> Result<bool, String> {
    let Some(dlq_url) = dlq_url else {
        return Ok(false);
    };
    let attributes = error_attributes(&BAD_DELIVERY_INPUT, problem, now);
    queue
        .dead_letter(dlq_url, body, attributes)
        .await
        .map_err(|error| error.to_string())?;
    Ok(true)
}

/// The partial-batch response redelivering `failed` (message ids; an empty id fails the
/// whole event, as Lambda does).
pub fn batch_response(failed: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|item_identifier| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = item_identifier;
            failure
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_without_an_id_fail_the_whole_event() {
        let record = |id: Option<&str>| {
            let mut record = SqsMessage::default();
            record.message_id = id.map(str::to_owned);
            record.body = Some("b".into());
            record.receipt_handle = Some("r".into());
            record
        };
        let mut failed = Vec::new();
        let messages = queue_messages(
            vec![record(Some("m1")), record(None), record(Some(""))],
            &mut failed,
        );
        assert_eq!(
            messages,
            [QueueMessage {
                id: "m1".into(),
                body: "b".into(),
                receipt: Some("r".into()),
            }]
        );
        assert_eq!(failed, ["", ""]);
    }

    #[test]
    fn the_response_names_each_failed_message() {
        let response = batch_response(vec!["a".into(), String::new()]);
        let ids: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["a", ""]);
        assert!(batch_response(Vec::new()).batch_item_failures.is_empty());
    }
}
