//! Lambda entry point of the delivery planner (SQS trigger with `ReportBatchItemFailures`).
// The future of `main` nests the AWS SDK's request futures deeply (see timer-executor).
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use delivery_planner::ports::PlannerServices;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use lifecycle_domain::Timestamp;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let planner = PlannerServices::from_env().await?;
    lifecycle_telemetry::logging::init(planner.services.config.log_format);
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let planner = &planner;
        async move {
            let deadline = Timestamp::from_millis(event.context.deadline as i64);
            Ok::<_, Error>(delivery_planner::handle(planner, event.payload, deadline).await)
        }
    }))
    .await
}
