//! The one retry layer of the service: every AWS request goes through [`Resilience::call`],
//! which asks the dependency's circuit breaker, sends, classifies a failure, and retries a
//! retryable one after a capped, fully jittered backoff while the process's retry budget has
//! tokens. The SDK's own retries are off (`RetryConfig::disabled()` in `aws::clients`), so a
//! request is never retried at two layers. Above this layer, work is redelivered by SQS or
//! recovered by the sweeper, never retried in a loop.
//!
//! The layer knows no SDK: the caller says how to describe its error type as an
//! [`AwsError`], and gets either its own error back or the breaker's refusal
//! ([`CallError`]).

use std::future::Future;
use std::time::Duration;

use crate::Resilience;
use crate::backoff::Backoff;
use crate::breaker::{Admission, CircuitOpen, Dependency};
use crate::classification::{ErrorClass, TIMEOUT};
use crate::failure::AwsError;

/// Why a call through the layer failed.
#[derive(Debug)]
pub enum CallError<E> {
    /// The dependency's circuit breaker refused the call; nothing was sent.
    Refused(CircuitOpen),
    /// The last attempt failed with `E` (not retryable, out of attempts or out of budget).
    Failed(E),
}

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
    /// attempt; `describe` turns its error into an [`AwsError`] of `operation` for
    /// classification. A call the breaker refuses fails with [`CallError::Refused`].
    pub async fn call<T, E, F, Fut>(
        &self,
        dependency: Dependency,
        operation: &'static str,
        mut send: F,
        describe: impl Fn(&E) -> AwsError,
    ) -> Result<T, CallError<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let admission = self.admit(dependency).await;
            if let Admission::Refused { until } = admission {
                self.stats.breaker_refusal();
                return Err(CallError::Refused(CircuitOpen { dependency, until }));
            }
            self.stats.attempt();
            let result = send().await;
            let error = match result {
                Ok(output) => {
                    self.stats.call_ended(attempt, true);
                    self.budget.refund();
                    self.record(dependency, &admission, None).await;
                    return Ok(output);
                }
                Err(error) => error,
            };
            let failure = describe(&error);
            let (class, pattern) = self.classify_matching(&failure);
            self.stats.failure(class.code);
            self.record(dependency, &admission, Some(&class)).await;
            if !self.should_retry(&class, attempt) {
                self.stats.call_ended(attempt, false);
                if let Some(pattern) = &pattern {
                    self.on_final_failure(pattern, &failure, &class);
                }
                return Err(CallError::Failed(error));
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
            Some(breaker) => breaker.admit(self.clock.now()).await,
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
            breaker.record(admission, failure, self.clock.now()).await;
        }
    }
}
