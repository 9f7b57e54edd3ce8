//! One SQS event of the deliveries queue, message by message: a batch job is sent by the
//! engine under a fresh lease token; an unfinished batch comes back after the delay the
//! engine asks for; a message that does not parse, or whose run does not exist, goes straight
//! to the DLQ with its error attributes and never takes the other messages down.

use std::future::Future;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_adapters::delivery::queue_messages::{
    DeadLetters, QueueMessage, batch_response, dead_letter_or_retry, queue_messages,
};
use lifecycle_delivery::sender::ports::{Ledger, Lists, Provider, Runs, SendGate};
use lifecycle_delivery::sender::{BatchResult, Sender, Settings};
use lifecycle_domain::delivery::BatchJob;
use lifecycle_domain::{Clock, Timestamp};

/// The deliveries queue, as the handler needs it: its DLQ, and delaying a redelivery.
pub trait DeliveriesQueue: DeadLetters {
    /// Makes the message with `receipt` visible again in `seconds`.
    fn delay_redelivery(
        &self,
        receipt: &str,
        seconds: i32,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// Handles the messages of one SQS event.
pub struct BatchMessages<'a, P, Q, C> {
    pub ports: &'a P,
    pub queue: &'a Q,
    pub clock: &'a C,
    pub settings: Settings,
}

impl<P, Q, C> BatchMessages<'_, P, Q, C>
where
    P: Runs + Ledger + Lists + Provider + SendGate,
    Q: DeliveriesQueue,
    C: Clock,
{
    /// Sends every message's batch, starting no recipient after `stop_at`; the response lists
    /// the messages to redeliver.
    pub async fn run(&self, event: SqsEvent, stop_at: Option<Timestamp>) -> SqsBatchResponse {
        let mut failed = Vec::new();
        for QueueMessage {
            id: message_id,
            body,
            receipt,
        } in queue_messages(event.records, &mut failed)
        {
            let job = match BatchJob::parse(&body) {
                Ok(job) => job,
                Err(error) => {
                    if !self
                        .dead_letter(&message_id, &body, &error.to_string())
                        .await
                    {
                        failed.push(message_id);
                    }
                    continue;
                }
            };
            let token = uuid::Uuid::new_v4().simple().to_string();
            let sender = Sender {
                ports: self.ports,
                clock: self.clock,
                settings: self.settings,
            };
            match sender.send(&job, &token, stop_at).await {
                BatchResult::Sent(counts) => tracing::info!(
                    campaign = %job.campaign_id,
                    run = %job.run_id,
                    batch = job.batch.seq,
                    sent = counts.sent,
                    failed = counts.failed,
                    "batch sent"
                ),
                BatchResult::Retry { after_ms, reason } => {
                    tracing::warn!(
                        campaign = %job.campaign_id,
                        run = %job.run_id,
                        batch = job.batch.seq,
                        after_ms,
                        reason,
                        "batch not finished; redelivered later"
                    );
                    if let Some(receipt) = receipt.as_deref() {
                        let seconds = i32::try_from(after_ms.div_ceil(1000))
                            .unwrap_or(MAX_VISIBILITY_SECONDS)
                            .clamp(0, MAX_VISIBILITY_SECONDS);
                        if let Err(error) = self.queue.delay_redelivery(receipt, seconds).await {
                            tracing::warn!(
                                error,
                                "redelivery delay not set; the queue's visibility timeout applies"
                            );
                        }
                    }
                    failed.push(message_id);
                }
                BatchResult::Unsendable(reason) => {
                    if !self.dead_letter(&message_id, &body, &reason).await {
                        failed.push(message_id);
                    }
                }
            }
        }
        batch_response(failed)
    }

    /// Dead-letters a message no retry can send; `false` if it must be retried instead.
    async fn dead_letter(&self, message_id: &str, body: &str, problem: &str) -> bool {
        dead_letter_or_retry(self.queue, message_id, body, problem, self.clock.now()).await
    }
}

/// SQS's longest visibility timeout (12 hours).
const MAX_VISIBILITY_SECONDS: i32 = 43_200;
