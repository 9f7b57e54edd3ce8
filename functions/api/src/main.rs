//! Lambda entry point of the HTTP API (API Gateway HTTP API → lambda_http → axum router).
#![recursion_limit = "256"]

use lambda_http::Error;
use lifecycle_adapters::services::Services;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::from_env().await?;
    lifecycle_telemetry::logging::init(services.config.log_format);
    lambda_http::run(api::router(services)).await
}
