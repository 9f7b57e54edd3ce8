//! Heartbeat records: one item per function (`PK = HEARTBEAT`, `SK = <function>`) holding when
//! an instance of it last ran. The write is conditional on the stored beat being older than
//! the interval, so many warm instances cost at most one successful write a minute.

use serde::{Deserialize, Serialize};

use super::client::{Store, n, s};
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
        output
            .items()
            .iter()
            .cloned()
            .map(|item| Ok(items::from_item::<HeartbeatRecord>(item)?))
            .collect()
    }
}
