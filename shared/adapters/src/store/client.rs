//! The store handle: a DynamoDB client, the table name and the due-index shard count.

use std::sync::{Arc, RwLock};

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::Item;
use super::keys;
use lifecycle_domain::recurrence::occurrence_step;
use lifecycle_resilience::Resilience;

/// Operations on the campaign table; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) table: String,
    pub(super) due_shards: u16,
    /// How occurrences of a series are handled in time; shared by the store's clones, so
    /// a reloaded runtime configuration reaches each of them ([`Store::set_occurrence_grace`]).
    occurrence_timing: Arc<RwLock<OccurrenceTiming>>,
    /// Breaker, classification and retries of every request (the breaker records excepted).
    pub(super) resilience: Resilience,
    /// How long recovery-log entries are kept (DynamoDB TTL).
    pub(super) recovery_retention_ms: i64,
}

impl Store {
    /// A store whose requests are sent once, unguarded (the breakers' own store, tools); see
    /// [`Store::with_resilience`].
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        due_shards: u16,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            due_shards,
            occurrence_timing: Arc::default(),
            resilience: Resilience::passthrough(),
            recovery_retention_ms: super::items::RECORD_RETENTION_MS,
        }
    }

    /// This store keeping recovery-log entries for `days` (default 30).
    pub fn with_recovery_retention_days(self, days: u32) -> Self {
        Self {
            recovery_retention_ms: i64::from(days) * 86_400_000,
            ..self
        }
    }

    /// This store with its requests sent through `resilience`.
    pub fn with_resilience(self, resilience: Resilience) -> Self {
        Self { resilience, ..self }
    }

    /// This store with occurrences of a series handled with `timing`.
    pub fn with_occurrence_timing(self, timing: OccurrenceTiming) -> Self {
        Self {
            occurrence_timing: Arc::new(RwLock::new(timing)),
            ..self
        }
    }

    /// How occurrences of a series are handled in time now.
    pub(super) fn occurrence_timing(&self) -> OccurrenceTiming {
        *self.occurrence_timing.read().expect("occurrence timing")
    }

    /// Sets the occurrence grace of this store and of every clone of it (the runtime
    /// configuration's `misfire.occurrenceGraceSeconds`).
    pub fn set_occurrence_grace(&self, grace_ms: i64) {
        self.occurrence_timing
            .write()
            .expect("occurrence timing")
            .grace_ms = grace_ms;
    }

    /// Shards of the due index.
    pub fn due_shards(&self) -> u16 {
        self.due_shards
    }
}

/// How occurrences of a recurring campaign are handled in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OccurrenceTiming {
    /// An occurrence started no later than this after its time runs whatever the misfire
    /// policy (`OCCURRENCE_GRACE_SECONDS`).
    pub grace_ms: i64,
    /// A series' next occurrence due within this is handed to the timers queue by whoever
    /// moved the timer to it, as the API does for a new campaign's timers: the dispatcher's
    /// watermark may already be past it.
    pub direct_send_ms: i64,
}

impl Default for OccurrenceTiming {
    fn default() -> Self {
        Self {
            grace_ms: occurrence_step::DEFAULT_GRACE_MS,
            direct_send_ms: 95_000,
        }
    }
}

/// A primary key.
pub(super) fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    Item::from([
        (keys::PK.to_owned(), AttributeValue::S(pk.into())),
        (keys::SK.to_owned(), AttributeValue::S(sk.into())),
    ])
}

/// A string attribute value.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A number attribute value.
pub(super) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
