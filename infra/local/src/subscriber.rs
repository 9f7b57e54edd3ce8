//! A subscriber of the bus: drains an SQS queue the rule delivers to, handing each message
//! body to a callback and deleting it, as a downstream consumer would. The benchmark and the
//! crash suite follow the service through it (a deep moto queue would also slow every
//! delivery to it).

use std::time::Duration;

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;

/// Receives from `url` forever (abort the task to stop), calling `on_body` for every message.
pub async fn drain(sqs: aws_sdk_sqs::Client, url: String, mut on_body: impl FnMut(&str)) {
    loop {
        let Ok(output) = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
        else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let mut entries = Vec::new();
        for (i, message) in output.messages().iter().enumerate() {
            if let Some(body) = message.body() {
                on_body(body);
            }
            if let Some(handle) = message.receipt_handle()
                && let Ok(entry) = DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
            {
                entries.push(entry);
            }
        }
        if !entries.is_empty() {
            let _ = sqs
                .delete_message_batch()
                .queue_url(&url)
                .set_entries(Some(entries))
                .send()
                .await;
        }
    }
}
