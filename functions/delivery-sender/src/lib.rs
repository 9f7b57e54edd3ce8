//! The delivery sender: sends the batches of the deliveries queue with the delivery engine
//! ([`lifecycle_delivery::sender`]). [`messages`] turns an SQS batch into engine calls and
//! their answers into the partial-batch response (a message that can never be sent goes to
//! the DLQ at once); [`ports`] implements the engine's ports over AWS. [`handle`] is the
//! Lambda handler, called alike by `main.rs` and the local runtime. Each batch an attempt
//! records is one EMF line ([`emit_batch_metrics`]).

pub mod messages;
pub mod ports;
#[cfg(test)]
mod tests;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_delivery::sender::Settings;
use lifecycle_domain::delivery::{Channel, Counts, Progress};
use lifecycle_domain::{SystemClock, Timestamp};
use lifecycle_telemetry::LogFormat;
use lifecycle_telemetry::catalogue::{
    DELIVERIES_FAILED, DELIVERIES_SENT, DELIVERIES_UNCONFIRMED, RECIPIENTS_SETTLED,
    RUN_RECIPIENTS_PENDING,
};
use lifecycle_telemetry::metrics::{self, Metric};

use crate::messages::BatchMessages;
use crate::ports::SenderServices;

/// Start no recipient closer than this to the invocation's deadline: time for the provider
/// call in flight (the webhook timeout at most), its settlement and the batch's record.
pub const DEADLINE_MARGIN_MS: i64 = 15_000;

/// The sender's handler: sends the batches of one SQS event in an invocation that must end by
/// `deadline`.
pub async fn handle(
    sender: &SenderServices,
    event: SqsEvent,
    deadline: Timestamp,
) -> SqsBatchResponse {
    handle_until(
        sender,
        event,
        Some(deadline.plus_millis(-DEADLINE_MARGIN_MS)),
    )
    .await
}

/// Sends the batches of one SQS event, starting no recipient after `stop_at` (none: no
/// deadline, for tests); heartbeat and failure patterns first, pattern alerts last.
pub async fn handle_until(
    sender: &SenderServices,
    event: SqsEvent,
    stop_at: Option<Timestamp>,
) -> SqsBatchResponse {
    sender
        .services
        .begin_invocation("delivery-sender", Timestamp::now())
        .await;
    let messages = BatchMessages {
        ports: sender,
        queue: sender,
        clock: &SystemClock,
        settings: Settings::default(),
    };
    let response = messages.run(event, stop_at).await;
    sender.services.end_invocation().await;
    response
}

/// A recorded batch as one EMF line with dimension `Channel`: its recipients sent, failed and
/// unconfirmed, every row it settled, and the rows of its run still pending.
pub fn emit_batch_metrics(format: LogFormat, channel: Channel, counts: Counts, progress: Progress) {
    metrics::emit(
        format,
        "delivery-sender",
        &[("Channel", channel.as_str())],
        &batch_metrics(counts, progress),
    );
}

fn batch_metrics(counts: Counts, progress: Progress) -> [Metric; 5] {
    let count = |value: u64| value as f64;
    [
        Metric::one(&DELIVERIES_SENT, count(counts.sent)),
        Metric::one(&DELIVERIES_FAILED, count(counts.failed)),
        Metric::one(&DELIVERIES_UNCONFIRMED, count(counts.unconfirmed)),
        Metric::one(&RECIPIENTS_SETTLED, count(counts.settled())),
        Metric::one(&RUN_RECIPIENTS_PENDING, count(progress.pending())),
    ]
}
