//! Records of the shared circuit breakers: per dependency one state record, changed only by
//! transitions conditional on its version (exactly one instance wins each), failure counters
//! per time bucket kept with atomic `ADD`, and probe tokens taken by conditional decrement.
//! These calls go straight to DynamoDB (no retries, no breaker): a breaker that cannot be
//! read falls back to its dependency's fail mode.

use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem};
use serde::{Deserialize, Serialize};

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, AlertItem, Entity, RECORD_RETENTION_MS};
use super::{StoreError, keys};
use lifecycle_domain::Alert;
use lifecycle_domain::Timestamp;
use lifecycle_resilience::{BoxFuture, BreakerRecord, BreakerStore, StoreFailure, WindowCounts};

#[derive(Debug, Serialize, Deserialize)]
struct BreakerItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: Entity,
    #[serde(flatten)]
    record: BreakerRecord,
}

impl Store {
    /// The breaker record of `dependency` (strongly consistent), `None` if it never tripped.
    pub async fn breaker_record(
        &self,
        dependency: &str,
    ) -> Result<Option<BreakerRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::breaker_pk(dependency),
                keys::BREAKER_STATE_SK,
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        match output.item {
            Some(item) => Ok(Some(items::from_item::<BreakerItem>(item)?.record)),
            None => Ok(None),
        }
    }

    /// Adds `counts` to the bucket starting at `bucket_start` (atomic `ADD`; the bucket expires
    /// with the retention of `expires_at`).
    pub async fn add_breaker_counts(
        &self,
        dependency: &str,
        bucket_start: i64,
        counts: WindowCounts,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::breaker_pk(dependency),
                keys::breaker_window_sk(bucket_start),
            )))
            .update_expression(
                "ADD calls :calls, failures :failures SET entity = :entity, expiresAt = :expires",
            )
            .expression_attribute_values(":calls", n(counts.calls))
            .expression_attribute_values(":failures", n(counts.failures))
            .expression_attribute_values(":entity", s("BreakerWindow"))
            .expression_attribute_values(":expires", n(expires_at.epoch_seconds()))
            .send()
            .await
            .map_err(|e| StoreError::aws("UpdateItem", e))?;
        Ok(())
    }

    /// Sums the buckets of `dependency` from `first_bucket` to `last_bucket` (one Query of a
    /// few items).
    pub async fn breaker_window(
        &self,
        dependency: &str,
        first_bucket: i64,
        last_bucket: i64,
    ) -> Result<WindowCounts, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(keys::breaker_pk(dependency)))
            .expression_attribute_values(":first", s(keys::breaker_window_sk(first_bucket)))
            .expression_attribute_values(":last", s(keys::breaker_window_sk(last_bucket)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        let number = |item: &items::Item, name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Ok(output
            .items()
            .iter()
            .fold(WindowCounts::default(), |sum, item| WindowCounts {
                calls: sum.calls + number(item, "calls"),
                failures: sum.failures + number(item, "failures"),
            }))
    }

    /// Replaces the breaker record `expected` (by its version; version 0 = not stored yet)
    /// with `next`, and stores `alert` for publishing, in one transaction. `false` if another
    /// instance moved the breaker first.
    pub async fn transition_breaker(
        &self,
        expected: &BreakerRecord,
        next: &BreakerRecord,
        alert: &Alert,
    ) -> Result<bool, StoreError> {
        let item = items::to_item(&BreakerItem {
            pk: keys::breaker_pk(&next.dependency),
            sk: keys::BREAKER_STATE_SK.into(),
            entity: Entity::Breaker,
            record: next.clone(),
        })?;
        let record = if expected.version == 0 {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
        } else {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("#version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", n(expected.version))
        };
        let alert = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&AlertItem::new(alert))?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK);
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(record.build()?).build())
            .transact_items(TransactWriteItem::builder().put(alert.build()?).build())
            .send()
            .await;
        condition_met("TransactWriteItems", result)
    }

    /// Takes one probe token of the HALF_OPEN record at `version`; `false` if none is left
    /// (or the breaker moved on).
    pub async fn take_probe(&self, dependency: &str, version: u64) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::breaker_pk(dependency),
                keys::BREAKER_STATE_SK,
            )))
            .condition_expression(
                "#version = :version AND #state = :halfOpen AND probeTokens > :zero",
            )
            .update_expression("SET probeTokens = probeTokens - :one")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":version", n(version))
            .expression_attribute_values(":halfOpen", s("HALF_OPEN"))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        condition_met("UpdateItem", result)
    }

    /// Counts one successful probe of the HALF_OPEN record at `version`; returns the
    /// successes so far, `None` if the breaker moved on.
    pub async fn add_probe_success(
        &self,
        dependency: &str,
        version: u64,
    ) -> Result<Option<u32>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::breaker_pk(dependency),
                keys::BREAKER_STATE_SK,
            )))
            .condition_expression("#version = :version AND #state = :halfOpen")
            .update_expression("ADD probeSuccesses :one")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":version", n(version))
            .expression_attribute_values(":halfOpen", s("HALF_OPEN"))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(output
                .attributes()
                .and_then(|a| a.get("probeSuccesses"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())),
            Err(error) => condition_met("UpdateItem", Err::<(), _>(error)).map(|_| None),
        }
    }
}

/// The resilience layer's port, over the unguarded store.
impl BreakerStore for Store {
    fn breaker_record<'a>(
        &'a self,
        dependency: &'a str,
    ) -> BoxFuture<'a, Result<Option<BreakerRecord>, StoreFailure>> {
        Box::pin(async move { Ok(Store::breaker_record(self, dependency).await?) })
    }

    fn add_breaker_counts<'a>(
        &'a self,
        dependency: &'a str,
        bucket_start: i64,
        counts: WindowCounts,
    ) -> BoxFuture<'a, Result<(), StoreFailure>> {
        Box::pin(async move {
            let expires_at = window_expiry(bucket_start);
            Ok(
                Store::add_breaker_counts(self, dependency, bucket_start, counts, expires_at)
                    .await?,
            )
        })
    }

    fn breaker_window<'a>(
        &'a self,
        dependency: &'a str,
        first_bucket: i64,
        last_bucket: i64,
    ) -> BoxFuture<'a, Result<WindowCounts, StoreFailure>> {
        Box::pin(async move {
            Ok(Store::breaker_window(self, dependency, first_bucket, last_bucket).await?)
        })
    }

    fn transition_breaker<'a>(
        &'a self,
        expected: &'a BreakerRecord,
        next: &'a BreakerRecord,
        alert: &'a Alert,
    ) -> BoxFuture<'a, Result<bool, StoreFailure>> {
        Box::pin(async move { Ok(Store::transition_breaker(self, expected, next, alert).await?) })
    }

    fn take_probe<'a>(
        &'a self,
        dependency: &'a str,
        version: u64,
    ) -> BoxFuture<'a, Result<bool, StoreFailure>> {
        Box::pin(async move { Ok(Store::take_probe(self, dependency, version).await?) })
    }

    fn add_probe_success<'a>(
        &'a self,
        dependency: &'a str,
        version: u64,
    ) -> BoxFuture<'a, Result<Option<u32>, StoreFailure>> {
        Box::pin(async move { Ok(Store::add_probe_success(self, dependency, version).await?) })
    }
}

/// When the counters of a bucket starting at `bucket_start` may be deleted by the TTL.
fn window_expiry(bucket_start: i64) -> Timestamp {
    Timestamp::from_millis(bucket_start).plus_millis(RECORD_RETENTION_MS.min(86_400_000))
}
