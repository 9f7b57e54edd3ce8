//! Lambda entry point of the sweeper (EventBridge schedule every 5 minutes, or invoked by
//! hand with `{"dryRun": true, "steps": ["missed_timers"]}`); returns the recovery report.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use sweeper::{SweepRequest, sweep};

/// Stop taking on work this long before the Lambda deadline.
const DEADLINE_MARGIN_MS: i64 = 5_000;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::from_env().await?;
    lifecycle_telemetry::logging::init(services.config.log_format);
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let services = &services;
        async move {
            let request = SweepRequest::from_event(&event.payload)?;
            let deadline = Timestamp::from_millis(event.context.deadline as i64);
            let stop_at = deadline.plus_millis(-DEADLINE_MARGIN_MS);
            let report = sweep(services, &request, Timestamp::now(), Some(stop_at)).await;
            Ok::<_, Error>(serde_json::to_value(report)?)
        }
    }))
    .await
}
