//! The one retry layer of the service: every AWS request goes through [`Resilience::call`],
//! which asks the dependency's circuit breaker, sends, classifies a failure, and retries a
//! retryable one after a capped, fully jittered backoff while the process's retry budget has
//! tokens. The SDK's own retries are off (`RetryConfig::disabled()` in `aws::clients`), so a
//! request is never retried at two layers. Above this layer, work is redelivered by SQS or
//! recovered by the sweeper, never retried in a loop.

use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::Resilience;
use super::backoff::Backoff;
use super::breaker::{Admission, CircuitOpen, Dependency};
use super::classification::{ErrorClass, TIMEOUT};
use crate::Timestamp;
use crate::aws::AwsError;

/// How often and how patiently one request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retries).
    pub max_attempts: u32,
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    /// Three attempts, waits up to 50 ms, 100 ms (cap 2 s): a throttled or dropped request
    /// gets two quick chances before the caller's own recovery (redelivery, sweeper) takes over.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: Backoff::new(Duration::from_millis(50), Duration::from_secs(2)),
        }
    }
}

impl Resilience {
    /// Sends one AWS request through the breaker of `dependency`, retrying retryable failures
    /// per the policy and the budget. `send` builds and sends the request anew for each
    /// attempt. A call the breaker refuses fails with a construction failure wrapping
    /// [`CircuitOpen`] (code `CIRCUIT_OPEN` once turned into an [`AwsError`]).
    pub async fn call<T, E, F, Fut>(
        &self,
        dependency: Dependency,
        operation: &'static str,
        mut send: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let admission = self.admit(dependency).await;
            if let Admission::Refused { until } = admission {
                self.stats.breaker_refusal();
                return Err(SdkError::construction_failure(CircuitOpen {
                    dependency,
                    until,
                }));
            }
            self.stats.attempt();
            let result = send().await;
            let error = match result {
                Ok(output) => {
                    self.budget.refund();
                    self.record(dependency, &admission, None).await;
                    return Ok(output);
                }
                Err(error) => error,
            };
            let failure = AwsError::from_sdk(operation, &error);
            let (class, pattern) = self.classify_matching(&failure);
            self.stats.failure(class.code);
            self.record(dependency, &admission, Some(&class)).await;
            if !self.should_retry(&class, attempt) {
                if let Some(pattern) = &pattern {
                    self.on_final_failure(pattern, &failure, &class);
                }
                return Err(error);
            }
            self.stats.retry();
            let wait = self.policy.backoff.delay(attempt - 1);
            tracing::debug!(
                operation,
                code = class.code,
                attempt,
                wait_ms = wait.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(wait).await;
        }
    }

    fn should_retry(&self, class: &ErrorClass, attempt: u32) -> bool {
        if !class.retryable || attempt >= self.policy.max_attempts {
            return false;
        }
        if self.budget.try_take(class.code == TIMEOUT.code) {
            true
        } else {
            self.stats.budget_refusal();
            false
        }
    }

    async fn admit(&self, dependency: Dependency) -> Admission {
        match self.breaker(dependency) {
            Some(breaker) => breaker.admit(Timestamp::now()).await,
            None => Admission::Allowed,
        }
    }

    async fn record(
        &self,
        dependency: Dependency,
        admission: &Admission,
        failure: Option<&ErrorClass>,
    ) {
        if let Some(breaker) = self.breaker(dependency) {
            breaker.record(admission, failure, Timestamp::now()).await;
        }
    }
}
