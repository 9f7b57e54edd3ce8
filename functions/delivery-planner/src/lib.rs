//! The delivery planner: plans the runs of the planning queue with the delivery engine
//! ([`lifecycle_delivery::planner`]): their lists are read in ranges from a durable cursor and
//! cut into batches, which go to the deliveries queue. [`messages`] turns an SQS batch into
//! engine calls and their answers into the partial-batch response; [`ports`] implements the
//! engine's ports over AWS. [`handle`] is the Lambda handler, called alike by `main.rs` and the
//! local runtime.

pub mod messages;
pub mod ports;
#[cfg(test)]
mod tests;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_delivery::planner::Settings;
use lifecycle_domain::{SystemClock, Timestamp};

use crate::messages::PlanMessages;
use crate::ports::PlannerServices;

/// Cut no more batches closer than this to the invocation's deadline: time for the commit in
/// hand, queueing its batches and queueing the run again.
pub const DEADLINE_MARGIN_MS: i64 = 10_000;

/// The planner's handler: plans the runs of one SQS event in an invocation that must end by
/// `deadline`.
pub async fn handle(
    planner: &PlannerServices,
    event: SqsEvent,
    deadline: Timestamp,
) -> SqsBatchResponse {
    handle_until(
        planner,
        event,
        Some(deadline.plus_millis(-DEADLINE_MARGIN_MS)),
    )
    .await
}

/// Plans the runs of one SQS event, cutting nothing after `stop_at` (none: no deadline, for
/// tests); heartbeat and failure patterns first, pattern alerts last.
pub async fn handle_until(
    planner: &PlannerServices,
    event: SqsEvent,
    stop_at: Option<Timestamp>,
) -> SqsBatchResponse {
    planner
        .services
        .begin_invocation("delivery-planner", Timestamp::now())
        .await;
    let messages = PlanMessages {
        ports: planner,
        queue: planner,
        clock: &SystemClock,
        settings: Settings::default(),
    };
    let response = messages.run(event, stop_at).await;
    planner.services.end_invocation().await;
    response
}
