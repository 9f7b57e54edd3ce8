//! Heartbeat records: one item per function (`PK = HEARTBEAT`, `SK = <function>`) holding when
//! an instance of it last ran. The write is conditional on the stored beat being older than
//! the interval, so many warm instances cost at most one successful write a minute.
//!
//! The same partition holds the sweeper's stall markers (`SK = STALL#<function>`): while a
//! function is found stalled, the last sign of life of that outage, so the sweep that finds it
//! beating again resolves the outage's alert. They come with the heartbeats' Query for free;
//! [`Store::heartbeats`] leaves them out.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::{StoreError, items, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;

/// A function's last heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatRecord {
    pub function: String,
    /// The instance (Lambda execution environment) that wrote it.
    pub instance: String,
    pub last_seen: Timestamp,
    /// The build that wrote it.
    pub version: String,
}

impl Store {
    /// Records that `function` ran at `now`, unless a beat younger than `interval_ms` is
    /// stored. `false` if the stored one was young enough.
    pub async fn record_heartbeat(
        &self,
        beat: &HeartbeatRecord,
        interval_ms: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::HEARTBEAT_PK))
            .item(keys::SK, s(&beat.function))
            .item("function", s(&beat.function))
            .item("instance", s(&beat.instance))
            .item("lastSeen", s(beat.last_seen.to_rfc3339()))
            .item("lastSeenMillis", n(beat.last_seen.millis()))
            .item("version", s(&beat.version))
            .condition_expression("attribute_not_exists(#pk) OR #seen <= :stale")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#seen", "lastSeenMillis")
            .expression_attribute_values(":stale", n(beat.last_seen.millis() - interval_ms))
            .send_with(&self.resilience)
            .await;
        condition_met("PutItem", result)
    }

    /// Every function's last heartbeat (one Query, strongly consistent).
    pub async fn heartbeats(&self) -> Result<Vec<HeartbeatRecord>, StoreError> {
        Ok(self.heartbeats_and_stalls().await?.0)
    }

    /// Every function's last heartbeat, and the stall markers (function → the last sign of
    /// life of its outage), from the same Query (strongly consistent).
    pub async fn heartbeats_and_stalls(
        &self,
    ) -> Result<(Vec<HeartbeatRecord>, BTreeMap<String, Timestamp>), StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(keys::HEARTBEAT_PK))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        let mut beats = Vec::new();
        let mut stalls = BTreeMap::new();
        for item in output.items() {
            let stall = match item.get(keys::SK) {
                Some(AttributeValue::S(sk)) => sk.strip_prefix(keys::STALL_SK_PREFIX),
                _ => None,
            };
            match stall {
                Some(function) => {
                    let marker = items::from_item::<StallItem>(item.clone())?;
                    stalls.insert(function.to_owned(), marker.last_seen);
                }
                None => beats.push(items::from_item::<HeartbeatRecord>(item.clone())?),
            }
        }
        Ok((beats, stalls))
    }

    /// Marks `function` stalled since `last_seen` (its last sign of life): an unconditional
    /// Put, so writing it again is harmless and a newer outage replaces an older one.
    pub async fn record_stall(
        &self,
        function: &str,
        last_seen: Timestamp,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::HEARTBEAT_PK))
            .item(keys::SK, s(keys::stall_sk(function)))
            .item("function", s(function))
            .item("lastSeen", s(last_seen.to_rfc3339()))
            .item("lastSeenMillis", n(last_seen.millis()))
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("PutItem", e))?;
        Ok(())
    }

    /// Removes `function`'s stall marker if it still holds `last_seen` (the one read):
    /// `false` if it is gone or marks another outage.
    pub async fn clear_stall(
        &self,
        function: &str,
        last_seen: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::HEARTBEAT_PK, keys::stall_sk(function))))
            .condition_expression("#seen = :seen")
            .expression_attribute_names("#seen", "lastSeenMillis")
            .expression_attribute_values(":seen", n(last_seen.millis()))
            .send_with(&self.resilience)
            .await;
        condition_met("DeleteItem", result)
    }
}

/// A stall marker as stored (its function is in the sort key).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StallItem {
    last_seen: Timestamp,
}
