//! The timer executor: fires the timers of a batch of timers-queue messages exactly once.
//! The batch logic ([`batch`]) runs against the executor's ports ([`ports`]): the store,
//! the timers queue and the bus, implemented by [`Services`] on AWS and in memory in the
//! unit tests. [`handle`] is the Lambda handler, called alike by `main.rs` and the local
//! runtime.

pub mod batch;
pub mod ports;
#[cfg(test)]
mod tests;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_adapters::services::Services;
use lifecycle_domain::{SystemClock, Timestamp};

use crate::batch::{Executor, Settings};

/// Start no timer whose due time is closer than this to the invocation's deadline: time for
/// its transaction (retries included), a catch-up, publishing and clearing the outbox — tens
/// of milliseconds on AWS. With `EXECUTOR_MAX_EARLY_WAIT_MS` (2 s) it makes the function's
/// 4 s `Timeout` in template.yaml (and the timers queue's 24 s visibility timeout, 6 × that).
pub const DEADLINE_MARGIN_MS: i64 = 2_000;

/// The executor's handler: handles one SQS batch of an invocation that must end by
/// `deadline`.
pub async fn handle(services: &Services, event: SqsEvent, deadline: Timestamp) -> SqsBatchResponse {
    let stop_at = deadline.plus_millis(-DEADLINE_MARGIN_MS);
    handle_batch_until(services, event, Some(stop_at)).await
}

/// Handles one SQS batch with no deadline (tests); see [`handle_batch_until`].
pub async fn handle_batch(services: &Services, event: SqsEvent) -> SqsBatchResponse {
    handle_batch_until(services, event, None).await
}

/// Handles one SQS batch, starting no timer due after `stop_at`: the invocation's wiring
/// around [`Executor::run`] (heartbeat and failure patterns first, pattern alerts last).
pub async fn handle_batch_until(
    services: &Services,
    event: SqsEvent,
    stop_at: Option<Timestamp>,
) -> SqsBatchResponse {
    services
        .begin_invocation("timer-executor", Timestamp::now())
        .await;
    let executor = Executor {
        ports: services,
        clock: &SystemClock,
        settings: Settings {
            max_early_wait_ms: i64::from(services.config.executor_max_early_wait_ms),
            // An on-time delivery is over within the executor's timeout.
            catch_up_after_ms: i64::from(services.config.executor_max_early_wait_ms)
                + DEADLINE_MARGIN_MS,
            log_format: services.config.log_format,
        },
    };
    let response = executor.run(event, stop_at).await;
    services.end_invocation().await;
    response
}
