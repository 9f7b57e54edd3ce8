//! Lambda entry point of the timer executor (SQS trigger with `ReportBatchItemFailures`).

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use shared::services::Services;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::from_env().await?;
    shared::telemetry::init(services.config.log_format);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let services = &services;
        async move { Ok::<_, Error>(timer_executor::handle_batch(services, event.payload).await) }
    }))
    .await
}
