//! Lambda entry point of the alert fan-out (the alerts queue's SQS trigger with
//! `ReportBatchItemFailures`, and a schedule for the periodic check).
// The future of `main` nests the AWS SDK's request futures deeply (see timer-executor).
#![recursion_limit = "256"]

use alert_fanout::services::FanoutServices;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let fanout = FanoutServices::from_env().await?;
    lifecycle_telemetry::logging::init(fanout.services.config.log_format);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let fanout = &fanout;
        async move {
            alert_fanout::handle(fanout, event.payload)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
