//! Lambda entry point of the timer executor (SQS trigger with `ReportBatchItemFailures`).
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;

/// Start no timer whose due time is closer than this to the Lambda deadline.
const DEADLINE_MARGIN_MS: i64 = 3_000;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::from_env().await?;
    lifecycle_telemetry::logging::init(services.config.log_format);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let services = &services;
        async move {
            let deadline = Timestamp::from_millis(event.context.deadline as i64);
            let stop_at = Some(deadline.plus_millis(-DEADLINE_MARGIN_MS));
            Ok::<_, Error>(
                timer_executor::handle_batch_until(services, event.payload, stop_at).await,
            )
        }
    }))
    .await
}
