//! Counters of what the resilience layer did in this process: attempts, retries, retries the
//! budget refused, calls a circuit breaker refused. The local runtime and the chaos run print
//! them; Lambda functions emit them as EMF metrics.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Shared counters; clones share them.
#[derive(Debug, Clone, Default)]
pub struct ResilienceStats {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    attempts: AtomicU64,
    retries: AtomicU64,
    budget_refusals: AtomicU64,
    breaker_refusals: AtomicU64,
    failures_by_code: Mutex<BTreeMap<&'static str, u64>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    pub attempts: u64,
    pub retries: u64,
    pub budget_refusals: u64,
    pub breaker_refusals: u64,
    /// Failed attempts per stable error code.
    pub failures_by_code: BTreeMap<&'static str, u64>,
}

impl ResilienceStats {
    pub(super) fn attempt(&self) {
        self.inner.attempts.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn retry(&self) {
        self.inner.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn budget_refusal(&self) {
        self.inner.budget_refusals.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn breaker_refusal(&self) {
        self.inner.breaker_refusals.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn failure(&self, code: &'static str) {
        *self
            .inner
            .failures_by_code
            .lock()
            .expect("stats lock")
            .entry(code)
            .or_insert(0) += 1;
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            attempts: self.inner.attempts.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
            budget_refusals: self.inner.budget_refusals.load(Ordering::Relaxed),
            breaker_refusals: self.inner.breaker_refusals.load(Ordering::Relaxed),
            failures_by_code: self
                .inner
                .failures_by_code
                .lock()
                .expect("stats lock")
                .clone(),
        }
    }
}
