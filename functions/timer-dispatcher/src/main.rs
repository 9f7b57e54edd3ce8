//! Lambda entry point of the timer dispatcher (EventBridge schedule, every minute).
// The future of `main` nests the AWS SDK's request futures deeply enough that computing its
// layout exceeds rustc's default query depth (128): "queries overflow the depth limit!".
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, service_fn};
use lifecycle_adapters::services::Services;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::from_env().await?;
    lifecycle_telemetry::logging::init(services.config.log_format);
    lambda_runtime::run(service_fn(|_event: LambdaEvent<serde_json::Value>| {
        let services = &services;
        async move {
            timer_dispatcher::handle(services)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}
