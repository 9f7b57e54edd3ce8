//! Lambda entry point of the HTTP API (API Gateway HTTP API → lambda_http → axum router).
#![recursion_limit = "256"]

use lambda_http::Error;
use shared::services::Services;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let services = Services::from_env().await?;
    shared::telemetry::init(services.config.log_format);
    lambda_http::run(api::router(services)).await
}
