//! Lambda entry point of the sweeper (EventBridge schedule every 5 minutes, or invoked by
//! hand with `{"dryRun": true, "steps": ["missed_timers"]}`); returns the recovery report.
// The future of `main` nests the AWS SDK's request futures deeply enough that computing its
// layout exceeds rustc's default query depth (128): "queries overflow the depth limit!".
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::from_env().await?;
    lifecycle_telemetry::logging::init(services.config.log_format);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let services = &services;
        async move {
            let deadline = Timestamp::from_millis(event.context.deadline as i64);
            let report = sweeper::handle(services, &event.payload, deadline).await?;
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
