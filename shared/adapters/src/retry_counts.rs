//! The retry counts of the recovery log: at the end of an invocation, at most once a
//! minute per process, the calls the resilience layer retried (and those a retry made
//! succeed) are added to the hour's counters — the retry success rate of
//! `GET /recovery/statistics`. One UpdateItem; a failed one gives the counts back for the
//! next flush, so a lost answer after the write was applied can count them twice (a bounded
//! over-count, documented in docs/recovery.md).

use std::sync::{Arc, Mutex};

use crate::store::Store;
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery_log::{Counter, Counts};
use lifecycle_resilience::ResilienceStats;

/// At most one flush per process in this interval.
pub const FLUSH_INTERVAL_MS: i64 = 60_000;

/// When this process last flushed; clones share it.
#[derive(Debug, Clone, Default)]
pub struct RetryCounts {
    last_flush: Arc<Mutex<Option<Timestamp>>>,
}

impl RetryCounts {
    /// Adds the retry counts taken from `stats` to `now`'s hour, unless this process did so
    /// within the interval or there is nothing to add.
    pub async fn flush(&self, store: &Store, stats: &ResilienceStats, now: Timestamp) {
        {
            let mut last = self.last_flush.lock().expect("retry counts lock");
            if last.is_some_and(|at| now.millis_since(at) < FLUSH_INTERVAL_MS) {
                return;
            }
            *last = Some(now);
        }
        let taken = stats.take_retry_counts();
        if taken == (0, 0) {
            return;
        }
        let mut counts = Counts::default();
        counts.add(Counter::RetriedCalls, taken.0);
        counts.add(Counter::RetrySuccesses, taken.1);
        if let Err(error) = store.add_recovery_counts(&counts, now).await {
            tracing::warn!(error = %error, "retry counts not stored; kept for the next flush");
            stats.untake_retry_counts(taken);
        }
    }
}
