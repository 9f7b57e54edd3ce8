//! Dispatcher watermarks: per shard, the due time up to which every PENDING timer has been
//! handed to the queue. One item, replaced conditionally on its version, so two dispatchers
//! running at once cannot move a watermark backwards or skip a bucket.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::client::{Store, key, n};
use super::error::condition_met;
use super::items;
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;

/// Every shard's watermark (epoch millis, exclusive lower bound of the next read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watermarks {
    pub shards: BTreeMap<u16, Timestamp>,
    /// Version read; 0 when no watermark was ever saved.
    pub version: u64,
    /// When a dispatcher tick last saved them (`None`: never): the dispatcher's pulse.
    pub saved_at: Option<Timestamp>,
}

impl Watermarks {
    /// The watermark of `shard` (the epoch when none was saved yet).
    pub fn of(&self, shard: u16) -> Timestamp {
        self.shards
            .get(&shard)
            .copied()
            .unwrap_or(Timestamp::from_millis(0))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct WatermarksItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    /// Shard number (3 digits) → epoch millis.
    shards: BTreeMap<String, i64>,
    version: u64,
    #[serde(rename = "updatedAt")]
    updated_at: Timestamp,
}

impl Store {
    /// Reads the watermarks (strongly consistent).
    pub async fn load_watermarks(&self) -> Result<Watermarks, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::DISPATCHER_PK, keys::WATERMARKS_SK)))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        let Some(item) = output.item else {
            return Ok(Watermarks::default());
        };
        let item: WatermarksItem = items::from_item(item)?;
        let shards = item
            .shards
            .into_iter()
            .map(|(shard, millis)| {
                shard
                    .parse::<u16>()
                    .map(|shard| (shard, Timestamp::from_millis(millis)))
                    .map_err(|_| StoreError::Corrupt(format!("watermark shard {shard}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Watermarks {
            shards,
            version: item.version,
            saved_at: Some(item.updated_at),
        })
    }

    /// Saves `next` if nobody saved since `next.version` was read; `false` when another
    /// dispatcher won (its watermarks stand; the timers both sent are harmless duplicates).
    pub async fn save_watermarks(
        &self,
        next: &Watermarks,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let item = WatermarksItem {
            pk: keys::DISPATCHER_PK.to_owned(),
            sk: keys::WATERMARKS_SK.to_owned(),
            shards: next
                .shards
                .iter()
                .map(|(shard, at)| (format!("{shard:03}"), at.millis()))
                .collect(),
            version: next.version + 1,
            updated_at: now,
        };
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&item)?));
        put = if next.version == 0 {
            put.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
        } else {
            put.condition_expression("#version = :read")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":read", n(next.version))
        };
        condition_met("PutItem", put.send_with(&self.resilience).await)
    }
}
