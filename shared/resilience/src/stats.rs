//! Counters of what the resilience layer did in this process: attempts, retries, retries the
//! budget refused, calls a circuit breaker refused. The local runtime and the chaos run print
//! them; Lambda functions emit them as EMF metrics, and add the retried calls to the
//! recovery log's hourly counters (the retry success rate of `GET /recovery/statistics`).

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
    retried_calls: AtomicU64,
    retry_successes: AtomicU64,
    /// Retried calls and successes not yet taken by [`ResilienceStats::take_retry_counts`].
    untaken_retried: AtomicU64,
    untaken_successes: AtomicU64,
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
    /// Calls that were retried (ended in success or not).
    pub retried_calls: u64,
    /// Retried calls that ended in success.
    pub retry_successes: u64,
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

    /// A call that needed `attempts` attempts ended, in success or not.
    pub(super) fn call_ended(&self, attempts: u32, succeeded: bool) {
        if attempts > 1 {
            self.inner.retried_calls.fetch_add(1, Ordering::Relaxed);
            self.inner.untaken_retried.fetch_add(1, Ordering::Relaxed);
            if succeeded {
                self.inner.retry_successes.fetch_add(1, Ordering::Relaxed);
                self.inner.untaken_successes.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The retried calls and retry successes since the last take, taken (whoever shares these
    /// counters takes each once); give them back with [`ResilienceStats::untake_retry_counts`]
    /// if they could not be stored.
    pub fn take_retry_counts(&self) -> (u64, u64) {
        (
            self.inner.untaken_retried.swap(0, Ordering::Relaxed),
            self.inner.untaken_successes.swap(0, Ordering::Relaxed),
        )
    }

    /// Gives back counts [`ResilienceStats::take_retry_counts`] took.
    pub fn untake_retry_counts(&self, (retried, successes): (u64, u64)) {
        self.inner
            .untaken_retried
            .fetch_add(retried, Ordering::Relaxed);
        self.inner
            .untaken_successes
            .fetch_add(successes, Ordering::Relaxed);
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
            retried_calls: self.inner.retried_calls.load(Ordering::Relaxed),
            retry_successes: self.inner.retry_successes.load(Ordering::Relaxed),
            failures_by_code: self
                .inner
                .failures_by_code
                .lock()
                .expect("stats lock")
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_retried_calls_count_and_each_is_taken_once() {
        let stats = ResilienceStats::default();
        stats.call_ended(1, true);
        stats.call_ended(2, true);
        stats.call_ended(3, false);
        let snapshot = stats.snapshot();
        assert_eq!((snapshot.retried_calls, snapshot.retry_successes), (2, 1));
        let shared = stats.clone();
        assert_eq!(shared.take_retry_counts(), (2, 1));
        assert_eq!(
            stats.take_retry_counts(),
            (0, 0),
            "taken once across clones"
        );
        stats.untake_retry_counts((2, 1));
        stats.call_ended(2, true);
        assert_eq!(stats.take_retry_counts(), (3, 2));
        assert_eq!(stats.snapshot().retried_calls, 3, "the totals stay");
    }
}
