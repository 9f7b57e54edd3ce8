//! Resilience: error classification, failure patterns, the one retry layer (capped
//! exponential backoff with full jitter, a token-bucket retry budget), circuit breakers
//! shared by every instance through one record per dependency, and counters of all of it.
//! Design and tuning: `docs/resilience.md`.
//!
//! The crate knows no AWS SDK and no table: it reaches the breaker records and the alert
//! outbox through the traits in [`ports`], which the adapters crate implements.

mod alert_sink;
mod backoff;
mod breaker;
mod breaker_state;
mod classification;
mod failure;
mod patterns;
pub mod ports;
mod retry;
mod retry_budget;
mod stats;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub use alert_sink::AlertSink;
pub use backoff::Backoff;
pub use breaker::{Admission, CircuitBreaker, CircuitOpen, Dependency};
pub use breaker_state::{BreakerConfig, BreakerRecord, CircuitState, Decision, FailMode, decide};
pub use classification::*;
pub use failure::AwsError;
pub use patterns::{
    FailurePattern, MAX_COMPILED_BYTES, MAX_OPERATOR_PATTERNS, PatternFieldError, PatternSet,
    RecoveryAction, default_patterns,
};
pub use ports::{AlertOutbox, BoxFuture, BreakerStore, StoreFailure, WindowCounts};
pub use retry::{CallError, RetryPolicy};
pub use retry_budget::{BudgetConfig, RetryBudget};
pub use stats::{ResilienceStats, StatsSnapshot};

use lifecycle_domain::{Clock, SystemClock};

/// The breakers of a process, one per dependency.
#[derive(Debug, Default)]
pub struct Breakers(BTreeMap<Dependency, CircuitBreaker>);

impl Breakers {
    pub fn new(breakers: impl IntoIterator<Item = CircuitBreaker>) -> Self {
        Self(breakers.into_iter().map(|b| (b.dependency(), b)).collect())
    }

    pub fn get(&self, dependency: Dependency) -> Option<&CircuitBreaker> {
        self.0.get(&dependency)
    }
}

/// Classifies `error` against `patterns` (no I/O: what [`Resilience::classify`] does with
/// the patterns in force, and what `POST /recovery/test` dry-runs): its code and status,
/// then the first matching pattern, which sets the category and severity and may force or
/// forbid retries. A fixed class ([`ErrorClass::is_fixed`]) is never matched. Returns the
/// class and the pattern that matched.
pub fn classify_with(
    patterns: &PatternSet,
    error: &AwsError,
) -> (ErrorClass, Option<FailurePattern>) {
    let mut class = error.class();
    if class.is_fixed() {
        return (class, None);
    }
    let pattern = patterns.find(&error.code, &error.message).cloned();
    if let Some(pattern) = &pattern {
        class.category = pattern.category;
        class.severity = pattern.severity;
        if pattern.actions.contains(&RecoveryAction::Retry) {
            class.retryable = true;
        }
        if pattern.actions.contains(&RecoveryAction::DeadLetter) {
            class.retryable = false;
        }
    }
    (class, pattern)
}

/// Retry policy, budget, breakers and patterns of one process; cheap to clone (clones share
/// the budget, the breakers and the counters).
#[derive(Debug, Clone)]
pub struct Resilience {
    policy: RetryPolicy,
    budget: RetryBudget,
    stats: ResilienceStats,
    patterns: Arc<RwLock<PatternSet>>,
    /// When the operators' patterns were last loaded (`None`: never).
    patterns_loaded: Arc<Mutex<Option<Instant>>>,
    breakers: Option<Arc<Breakers>>,
    /// Where alerts of matched failure patterns go (`None`: nowhere, e.g. tools).
    alerts: Option<Arc<AlertSink>>,
    /// The time breakers decide by.
    clock: Arc<dyn Clock>,
}

impl Resilience {
    /// Retries per `policy` within a budget of `budget`, guarded by `breakers`, counted in
    /// `stats` (which may be shared with other instances, e.g. all functions of a local run).
    pub fn new(
        policy: RetryPolicy,
        budget: BudgetConfig,
        breakers: Option<Breakers>,
        stats: ResilienceStats,
    ) -> Self {
        Self {
            policy,
            budget: RetryBudget::new(budget),
            stats,
            patterns: Arc::new(RwLock::new(PatternSet::with_defaults([]))),
            patterns_loaded: Arc::new(Mutex::new(None)),
            breakers: breakers.map(Arc::new),
            alerts: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// This layer with its breakers deciding by `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    /// This layer with alerts of matched failure patterns raised into `alerts`.
    pub fn with_alerts(self, alerts: AlertSink) -> Self {
        Self {
            alerts: Some(Arc::new(alerts)),
            ..self
        }
    }

    /// One attempt per call, no breaker: for the breakers' own records and for tools.
    pub fn passthrough() -> Self {
        Self::new(
            RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
            BudgetConfig::default(),
            None,
            ResilienceStats::default(),
        )
    }

    /// Classifies `error`: its code and status, then the first matching failure pattern,
    /// which may set the category and severity and force or forbid retries. A fixed class
    /// ([`ErrorClass::is_fixed`]: failed conditions, refused input, open circuits) is never
    /// matched against the patterns.
    pub fn classify(&self, error: &AwsError) -> ErrorClass {
        self.classify_matching(error).0
    }

    /// [`Resilience::classify`], with the pattern that matched.
    fn classify_matching(&self, error: &AwsError) -> (ErrorClass, Option<FailurePattern>) {
        classify_with(&self.patterns.read().expect("patterns lock"), error)
    }

    /// Runs the recovery actions of `pattern`, which matched a failed request's `error` that
    /// is not retried again: an `ALERT` action notes an alert (within its cooldown), raised
    /// by [`Resilience::raise_pending_alerts`].
    fn on_final_failure(&self, pattern: &FailurePattern, error: &AwsError, class: &ErrorClass) {
        if let Some(alerts) = &self.alerts {
            alerts.pattern_matched(pattern, class, error);
        }
    }

    /// Raises the alerts of matched failure patterns noted so far.
    pub async fn raise_pending_alerts(&self) {
        if let Some(alerts) = &self.alerts {
            alerts.raise_pending().await;
        }
    }

    /// Uses the operators' `patterns` (matched before the defaults) from now on.
    pub fn set_operator_patterns(&self, patterns: Vec<FailurePattern>) {
        *self.patterns.write().expect("patterns lock") = PatternSet::with_defaults(patterns);
        *self.patterns_loaded.lock().expect("patterns lock") = Some(Instant::now());
    }

    /// Whether the operators' patterns were never loaded or were loaded longer than
    /// `max_age` ago.
    pub fn patterns_stale(&self, max_age: Duration) -> bool {
        self.patterns_loaded
            .lock()
            .expect("patterns lock")
            .is_none_or(|at| at.elapsed() >= max_age)
    }

    /// The breaker of `dependency`, if breakers are on.
    pub fn breaker(&self, dependency: Dependency) -> Option<&CircuitBreaker> {
        self.breakers.as_ref().and_then(|b| b.get(dependency))
    }

    /// What this process's resilience layer did so far.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// The shared counters themselves (to take the retry counts for the recovery log).
    pub fn counters(&self) -> &ResilienceStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: &str, message: &str, status: Option<u16>) -> AwsError {
        AwsError {
            operation: "Op",
            code: code.into(),
            message: message.into(),
            status,
        }
    }

    /// Matches everything, and would make it count against the breaker and be retried.
    fn match_all(actions: Vec<RecoveryAction>) -> FailurePattern {
        FailurePattern {
            id: "everything".into(),
            pattern: ".".into(),
            category: ErrorCategory::Transient,
            severity: ErrorSeverity::Low,
            actions,
            cooldown_ms: 0,
        }
    }

    #[test]
    fn patterns_never_change_failed_conditions_refused_input_or_open_circuits() {
        let open = CircuitOpen {
            dependency: Dependency::DynamoDb,
            until: None,
        };
        let fixed = [
            error(
                "ConditionalCheckFailedException",
                "The conditional request failed",
                Some(400),
            ),
            error(
                "TransactionCanceledException",
                "Transaction cancelled [ConditionalCheckFailed, None]",
                Some(400),
            ),
            error(
                "ValidationException",
                "One or more parameter values were invalid",
                Some(400),
            ),
            AwsError::refused("Query", &open),
        ];
        for actions in [
            vec![RecoveryAction::Retry, RecoveryAction::Alert],
            vec![RecoveryAction::DeadLetter],
        ] {
            let resilience = Resilience::passthrough();
            resilience.set_operator_patterns(vec![match_all(actions)]);
            for error in &fixed {
                let (class, pattern) = resilience.classify_matching(error);
                assert_eq!(class, error.class(), "{error}");
                assert!(pattern.is_none(), "{error}");
            }
            // Other classes still follow the pattern.
            let (class, pattern) =
                resilience.classify_matching(&error("AccessDeniedException", "no", Some(400)));
            assert_eq!(pattern.unwrap().id, "everything");
            assert_eq!(class.category, ErrorCategory::Transient);
        }
    }
}
