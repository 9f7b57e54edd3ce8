//! Lambda entry point of the timer dispatcher (EventBridge schedule, every minute).
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::from_env().await?;
    lifecycle_telemetry::logging::init(services.config.log_format);
    lambda_runtime::run(service_fn(|_event: LambdaEvent<serde_json::Value>| {
        let services = &services;
        async move {
            let report = timer_dispatcher::dispatch(services, Timestamp::now()).await?;
            report.into_result().map_err(Error::from)
        }
    }))
    .await
}
