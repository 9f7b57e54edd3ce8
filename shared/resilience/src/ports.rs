//! What the resilience layer needs from the outside, as traits it owns: where the shared
//! breaker records live ([`BreakerStore`]) and where alerts go ([`AlertOutbox`]). The adapters
//! crate implements both over DynamoDB and EventBridge; tests use in-memory fakes.

use std::future::Future;
use std::pin::Pin;

use lifecycle_domain::Alert;

use crate::breaker_state::BreakerRecord;
use crate::classification::ErrorClass;

/// A boxed, sendable future (the traits here are used as trait objects).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A store request failed: its classification and its message (for logs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StoreFailure {
    pub class: ErrorClass,
    pub message: String,
}

/// Calls and failures counted in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WindowCounts {
    pub calls: u64,
    pub failures: u64,
}

/// The shared breaker records: per dependency one state record (changed only by transitions
/// conditional on its version), counters per time bucket, and probe tokens. Requests here
/// are sent once, unguarded: a breaker that cannot read its record uses its fail mode.
pub trait BreakerStore: Send + Sync + std::fmt::Debug {
    /// The record of `dependency` (strongly consistent); `None` if it never tripped.
    fn breaker_record<'a>(
        &'a self,
        dependency: &'a str,
    ) -> BoxFuture<'a, Result<Option<BreakerRecord>, StoreFailure>>;

    /// Adds `counts` to the bucket starting at `bucket_start` (atomically).
    fn add_breaker_counts<'a>(
        &'a self,
        dependency: &'a str,
        bucket_start: i64,
        counts: WindowCounts,
    ) -> BoxFuture<'a, Result<(), StoreFailure>>;

    /// The counts of the buckets from `first_bucket` to `last_bucket`, inclusive.
    fn breaker_window<'a>(
        &'a self,
        dependency: &'a str,
        first_bucket: i64,
        last_bucket: i64,
    ) -> BoxFuture<'a, Result<WindowCounts, StoreFailure>>;

    /// Replaces `expected` by `next` if the record is still at `expected`'s version, storing
    /// `alert` in the alert outbox in the same transaction; `false` if another instance
    /// moved it first.
    fn transition_breaker<'a>(
        &'a self,
        expected: &'a BreakerRecord,
        next: &'a BreakerRecord,
        alert: &'a Alert,
    ) -> BoxFuture<'a, Result<bool, StoreFailure>>;

    /// Takes one HALF_OPEN probe of the record at `version`; `false` if none is left.
    fn take_probe<'a>(
        &'a self,
        dependency: &'a str,
        version: u64,
    ) -> BoxFuture<'a, Result<bool, StoreFailure>>;

    /// Counts one successful probe of the record at `version`: the successes so far, or
    /// `None` if the record moved on.
    fn add_probe_success<'a>(
        &'a self,
        dependency: &'a str,
        version: u64,
    ) -> BoxFuture<'a, Result<Option<u32>, StoreFailure>>;
}

/// Where alerts go: stored in the alert outbox first (so they survive a bus outage), then
/// published. Both unguarded, so raising an alert never waits on a breaker or a retry.
pub trait AlertOutbox: Send + Sync + std::fmt::Debug {
    /// Stores `alert` once per id: `true` if it is new, `false` if it was there already.
    fn store_alert<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<bool, StoreFailure>>;

    /// Publishes stored `alerts` and clears them from the outbox (what fails stays for the
    /// sweeper's outbox step).
    fn publish_alerts<'a>(&'a self, alerts: &'a [Alert]) -> BoxFuture<'a, ()>;
}
