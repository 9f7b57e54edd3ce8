//! The SDK clients every function uses, built once per cold start from the standard AWS
//! configuration chain (`AWS_ENDPOINT_URL` points them at a local emulator) with the request
//! counter attached — and, in builds with the `testing` feature, the fault injector when
//! `FAULT_INJECTION` is set, and a call recorder where a harness asks for one. The SDK's own
//! retries are off: requests are retried by the resilience layer only (`docs/resilience.md`).

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;

use super::RequestCounter;
#[cfg(feature = "testing")]
use super::call_recorder::CallRecorder;
#[cfg(feature = "testing")]
use super::fault_injection::FaultInjector;
use crate::config::ConfigError;

/// DynamoDB, SQS and EventBridge clients sharing one configuration (and, with the `delivery`
/// feature, the clients of bulk deliveries; with the `alerts` feature, SNS; with the `invoke`
/// feature, Lambda; with `queue-ages`, CloudWatch's queue ages).
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    /// S3 (the `lists` feature); SES v2, SSM and Secrets Manager (`delivery`).
    #[cfg(feature = "lists")]
    pub delivery: DeliveryClients,
    /// SNS, the alert fan-out's topic channel.
    #[cfg(feature = "alerts")]
    pub sns: aws_sdk_sns::Client,
    /// Lambda, to invoke another function of the stack (the API runs the sweeper).
    #[cfg(feature = "invoke")]
    pub lambda: aws_sdk_lambda::Client,
    /// CloudWatch's oldest-message ages of queues (the API's DLQ listing).
    #[cfg(feature = "queue-ages")]
    pub queue_ages: super::QueueAges,
}

/// The clients only bulk deliveries use: recipient lists in S3 (the `lists` feature); email
/// through SES v2, webhook signing secrets in SSM Parameter Store or Secrets Manager
/// (`delivery`).
#[cfg(feature = "lists")]
#[derive(Debug, Clone)]
pub struct DeliveryClients {
    pub s3: aws_sdk_s3::Client,
    #[cfg(feature = "delivery")]
    pub sesv2: aws_sdk_sesv2::Client,
    #[cfg(feature = "delivery")]
    pub ssm: aws_sdk_ssm::Client,
    #[cfg(feature = "delivery")]
    pub secretsmanager: aws_sdk_secretsmanager::Client,
}

impl AwsClients {
    /// Loads the environment's AWS configuration and builds the clients (with the fault
    /// injector of `FAULT_INJECTION` when built with the `testing` feature).
    pub async fn from_env(counter: &RequestCounter) -> Result<Self, ConfigError> {
        let sdk_config = aws_config::defaults(BehaviorVersion::latest()).load().await;
        #[cfg(feature = "testing")]
        {
            let injector = FaultInjector::from_env().map_err(|error| ConfigError {
                variable: super::fault_injection::FAULT_INJECTION_VARIABLE,
                problem: error.to_string(),
            })?;
            if injector.is_some() {
                tracing::warn!(
                    "FAULT_INJECTION is set: AWS responses will be turned into failures"
                );
            }
            Ok(Self::with_faults(&sdk_config, counter, injector.as_ref()))
        }
        #[cfg(not(feature = "testing"))]
        Ok(Self::from_sdk_config(&sdk_config, counter))
    }

    /// Builds the clients from a loaded configuration, with SDK retries off and `counter`
    /// counting their requests.
    pub fn from_sdk_config(sdk_config: &aws_config::SdkConfig, counter: &RequestCounter) -> Self {
        Self::with_interceptors(
            sdk_config,
            &[SharedInterceptor::new(counter.clone())],
            #[cfg(feature = "queue-ages")]
            super::QueueAges::new(sdk_config, counter),
        )
    }

    /// [`AwsClients::from_sdk_config`], with `injector`'s faults on every request.
    #[cfg(feature = "testing")]
    pub fn with_faults(
        sdk_config: &aws_config::SdkConfig,
        counter: &RequestCounter,
        injector: Option<&FaultInjector>,
    ) -> Self {
        Self::instrumented(sdk_config, counter, injector, None)
    }

    /// [`AwsClients::with_faults`], with `recorder` recording every distinct call the clients
    /// make (for the IAM check). The recorder reads each request before the injector spoils it.
    #[cfg(feature = "testing")]
    pub fn instrumented(
        sdk_config: &aws_config::SdkConfig,
        counter: &RequestCounter,
        injector: Option<&FaultInjector>,
        recorder: Option<&CallRecorder>,
    ) -> Self {
        let mut interceptors = vec![SharedInterceptor::new(counter.clone())];
        interceptors.extend(recorder.map(|r| SharedInterceptor::new(r.clone())));
        interceptors.extend(injector.map(|i| SharedInterceptor::new(i.clone())));
        Self::with_interceptors(
            sdk_config,
            &interceptors,
            #[cfg(feature = "queue-ages")]
            super::QueueAges::new(sdk_config, counter).recorded_by(recorder),
        )
    }

    fn with_interceptors(
        sdk_config: &aws_config::SdkConfig,
        interceptors: &[SharedInterceptor],
        #[cfg(feature = "queue-ages")] queue_ages: super::QueueAges,
    ) -> Self {
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled());
        let mut sqs =
            aws_sdk_sqs::config::Builder::from(sdk_config).retry_config(RetryConfig::disabled());
        let mut eventbridge = aws_sdk_eventbridge::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled());
        #[cfg(feature = "alerts")]
        let mut sns =
            aws_sdk_sns::config::Builder::from(sdk_config).retry_config(RetryConfig::disabled());
        #[cfg(feature = "invoke")]
        let mut lambda =
            aws_sdk_lambda::config::Builder::from(sdk_config).retry_config(RetryConfig::disabled());
        for interceptor in interceptors {
            dynamodb.push_interceptor(interceptor.clone());
            sqs.push_interceptor(interceptor.clone());
            eventbridge.push_interceptor(interceptor.clone());
            #[cfg(feature = "alerts")]
            sns.push_interceptor(interceptor.clone());
            #[cfg(feature = "invoke")]
            lambda.push_interceptor(interceptor.clone());
        }
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            eventbridge: aws_sdk_eventbridge::Client::from_conf(eventbridge.build()),
            #[cfg(feature = "lists")]
            delivery: DeliveryClients::with_interceptors(sdk_config, interceptors),
            #[cfg(feature = "alerts")]
            sns: aws_sdk_sns::Client::from_conf(sns.build()),
            #[cfg(feature = "invoke")]
            lambda: aws_sdk_lambda::Client::from_conf(lambda.build()),
            #[cfg(feature = "queue-ages")]
            queue_ages,
        }
    }
}

#[cfg(feature = "lists")]
impl DeliveryClients {
    fn with_interceptors(
        sdk_config: &aws_config::SdkConfig,
        interceptors: &[SharedInterceptor],
    ) -> Self {
        // Path-style addressing (`endpoint/bucket/key`) when an endpoint is configured (a local
        // emulator); virtual-hosted style on AWS.
        let path_style = sdk_config.endpoint_url().is_some();
        let mut s3 = aws_sdk_s3::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled())
            .force_path_style(path_style);
        #[cfg(feature = "delivery")]
        let mut sesv2 =
            aws_sdk_sesv2::config::Builder::from(sdk_config).retry_config(RetryConfig::disabled());
        #[cfg(feature = "delivery")]
        let mut ssm =
            aws_sdk_ssm::config::Builder::from(sdk_config).retry_config(RetryConfig::disabled());
        #[cfg(feature = "delivery")]
        let mut secretsmanager = aws_sdk_secretsmanager::config::Builder::from(sdk_config)
            .retry_config(RetryConfig::disabled());
        for interceptor in interceptors {
            s3.push_interceptor(interceptor.clone());
            #[cfg(feature = "delivery")]
            {
                sesv2.push_interceptor(interceptor.clone());
                ssm.push_interceptor(interceptor.clone());
                secretsmanager.push_interceptor(interceptor.clone());
            }
        }
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            #[cfg(feature = "delivery")]
            sesv2: aws_sdk_sesv2::Client::from_conf(sesv2.build()),
            #[cfg(feature = "delivery")]
            ssm: aws_sdk_ssm::Client::from_conf(ssm.build()),
            #[cfg(feature = "delivery")]
            secretsmanager: aws_sdk_secretsmanager::Client::from_conf(secretsmanager.build()),
        }
    }
}
