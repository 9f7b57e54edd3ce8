//! Lambda entry point of the HTTP API (API Gateway HTTP API → lambda_http → axum router).
// The future of `main` nests the AWS SDK's request futures deeply enough that computing its
// layout exceeds rustc's default query depth (128): "queries overflow the depth limit!".
#![recursion_limit = "256"]

use api::ListBucket;
use lambda_http::Error;
use lifecycle_adapters::services::Services;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (services, clients) = Services::from_env_with_clients().await?;
    lifecycle_telemetry::logging::init(services.config.log_format);
    let lists = ListBucket::from_env(&clients, services.resilience.clone())?;
    lambda_http::run(api::router(services, lists)).await
}
