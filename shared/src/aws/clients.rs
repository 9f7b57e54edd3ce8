//! The SDK clients every function uses, built once per cold start from the standard AWS
//! configuration chain (`AWS_ENDPOINT_URL` points them at a local emulator) with the request
//! counter attached.

use aws_config::BehaviorVersion;

use super::RequestCounter;

/// DynamoDB, SQS and EventBridge clients sharing one configuration.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
}

impl AwsClients {
    /// Loads the environment's AWS configuration and builds the clients.
    pub async fn from_env(counter: &RequestCounter) -> Self {
        let sdk_config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Self::from_sdk_config(&sdk_config, counter)
    }

    /// Builds the clients from a loaded configuration.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, counter: &RequestCounter) -> Self {
        let dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk_config)
            .interceptor(counter.clone())
            .build();
        let sqs = aws_sdk_sqs::config::Builder::from(sdk_config)
            .interceptor(counter.clone())
            .build();
        let eventbridge = aws_sdk_eventbridge::config::Builder::from(sdk_config)
            .interceptor(counter.clone())
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            eventbridge: aws_sdk_eventbridge::Client::from_conf(eventbridge),
        }
    }
}
