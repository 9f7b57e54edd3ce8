//! The SDK clients every function uses, built once per cold start from the standard AWS
//! configuration chain (`AWS_ENDPOINT_URL` points them at a local emulator) with the request
//! counter attached — and the fault injector when `FAULT_INJECTION` is set. The SDK's own
//! retries are off: requests are retried by the resilience layer only (`docs/resilience.md`).

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;

use super::RequestCounter;
use super::fault_injection::{FaultInjector, FaultRuleError};

/// DynamoDB, SQS and EventBridge clients sharing one configuration.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
}

impl AwsClients {
    /// Loads the environment's AWS configuration (and `FAULT_INJECTION`) and builds the
    /// clients.
    pub async fn from_env(counter: &RequestCounter) -> Result<Self, FaultRuleError> {
        let injector = FaultInjector::from_env()?;
        if injector.is_some() {
            tracing::warn!("FAULT_INJECTION is set: AWS responses will be turned into failures");
        }
        let sdk_config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Ok(Self::from_sdk_config(
            &sdk_config,
            counter,
            injector.as_ref(),
        ))
    }

    /// Builds the clients from a loaded configuration, with SDK retries off.
    pub fn from_sdk_config(
        sdk_config: &aws_config::SdkConfig,
        counter: &RequestCounter,
        injector: Option<&FaultInjector>,
    ) -> Self {
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled())
            .interceptor(counter.clone());
        let mut sqs = aws_sdk_sqs::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled())
            .interceptor(counter.clone());
        let mut eventbridge = aws_sdk_eventbridge::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled())
            .interceptor(counter.clone());
        if let Some(injector) = injector {
            dynamodb = dynamodb.interceptor(injector.clone());
            sqs = sqs.interceptor(injector.clone());
            eventbridge = eventbridge.interceptor(injector.clone());
        }
        let (dynamodb, sqs, eventbridge) = (dynamodb.build(), sqs.build(), eventbridge.build());
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            sqs: aws_sdk_sqs::Client::from_conf(sqs),
            eventbridge: aws_sdk_eventbridge::Client::from_conf(eventbridge),
        }
    }
}
