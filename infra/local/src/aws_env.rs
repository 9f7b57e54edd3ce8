//! AWS configuration for the local endpoint: `AWS_ENDPOINT_URL` (default
//! `http://127.0.0.1:4566`), `AWS_REGION` (default `us-east-1`) and dummy credentials unless
//! real ones are set. Nothing here is used on AWS.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

/// Default local endpoint (moto_server started by `infra/emulator.sh`).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4566";

/// The endpoint in use.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
}

/// The region in use.
pub fn region() -> String {
    std::env::var("AWS_REGION")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "us-east-1".to_owned())
}

/// Loads the SDK configuration for the local endpoint.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new(region()));
    if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
        loader = loader.credentials_provider(Credentials::new("test", "test", None, None, "local"));
    }
    loader.load().await
}
