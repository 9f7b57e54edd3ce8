//! One SQS event of the planning queue, message by message: a run is planned by the engine;
//! a failed port call redelivers the message after the queue's visibility timeout; a message
//! that does not parse, or whose run cannot be planned (it does not exist, its list cannot be
//! read as a list), goes straight to the DLQ with its error attributes and never takes the
//! other messages down.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_adapters::delivery::queue_messages::{
    DeadLetters, QueueMessage, batch_response, dead_letter_or_retry, queue_messages,
};
use lifecycle_delivery::planner::ports::{ListRanges, PlanQueues, PlanStore};
use lifecycle_delivery::planner::{PlanResult, Planner, Settings};
use lifecycle_domain::delivery::PlanJob;
use lifecycle_domain::{Clock, Timestamp};

/// Handles the messages of one SQS event.
pub struct PlanMessages<'a, P, Q, C> {
    pub ports: &'a P,
    pub queue: &'a Q,
    pub clock: &'a C,
    pub settings: Settings,
}

impl<P, Q, C> PlanMessages<'_, P, Q, C>
where
    P: PlanStore + ListRanges + PlanQueues,
    Q: DeadLetters,
    C: Clock,
{
    /// Plans every message's run, cutting nothing after `stop_at`; the response lists the
    /// messages to redeliver.
    pub async fn run(&self, event: SqsEvent, stop_at: Option<Timestamp>) -> SqsBatchResponse {
        let mut failed = Vec::new();
        for QueueMessage {
            id: message_id,
            body,
            ..
        } in queue_messages(event.records, &mut failed)
        {
            let job = match PlanJob::parse(&body) {
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
            let planner = Planner {
                ports: self.ports,
                clock: self.clock,
                settings: self.settings,
            };
            match planner.plan(&job, stop_at).await {
                PlanResult::Planned | PlanResult::Continued | PlanResult::Superseded => {}
                PlanResult::Retry(reason) => {
                    tracing::warn!(
                        campaign = %job.campaign_id,
                        run = %job.run_id,
                        reason,
                        "run not planned now; redelivered later"
                    );
                    failed.push(message_id);
                }
                PlanResult::Unplannable(reason) => {
                    if !self.dead_letter(&message_id, &body, &reason).await {
                        failed.push(message_id);
                    }
                }
            }
        }
        batch_response(failed)
    }

    /// Dead-letters a message no retry can plan; `false` if it must be retried instead.
    async fn dead_letter(&self, message_id: &str, body: &str, problem: &str) -> bool {
        dead_letter_or_retry(self.queue, message_id, body, problem, self.clock.now()).await
    }
}
