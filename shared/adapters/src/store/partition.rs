//! Reading a campaign's whole partition (campaign, timers, unpublished events, audit records,
//! runs with when each last moved) with one Query.

use std::collections::BTreeMap;

use super::client::{Store, s};
use super::items::{self, AuditItem, CampaignItem, Entity, Item, OutboxItem, RunItem, TimerItem};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::delivery::{RunId, RunRecord};
use lifecycle_domain::{AuditRecord, Campaign, CampaignId, StoredEvent, Timer, Timestamp};

/// Everything stored under one campaign id.
#[derive(Debug, Clone, Default)]
pub struct CampaignPartition {
    pub campaign: Option<Campaign>,
    pub timers: Vec<Timer>,
    pub outbox: Vec<StoredEvent>,
    /// Oldest first.
    pub audit: Vec<AuditRecord>,
    /// The campaign's delivery runs, oldest first.
    pub runs: Vec<RunRecord>,
    /// When each run still listed in ByStatus last moved (its `statusSk` time: its last step,
    /// or the last hold of a sweeper's repair); an ended run is not listed.
    pub runs_moved_at: BTreeMap<RunId, Timestamp>,
}

impl Store {
    /// Reads the partition of `id` (strongly consistent).
    pub async fn load_partition(&self, id: &CampaignId) -> Result<CampaignPartition, StoreError> {
        let mut partition = CampaignPartition::default();
        let mut start_key: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":pk", s(keys::campaign_pk(id)))
                .consistent_read(true)
                .set_exclusive_start_key(start_key.take())
                .send_with(&self.resilience)
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            for item in output.items().iter().cloned() {
                partition.add(item)?;
            }
            match output.last_evaluated_key() {
                Some(key) => start_key = Some(key.clone()),
                None => break,
            }
        }
        partition.timers.sort_by_key(|t| t.due_at);
        Ok(partition)
    }
}

impl CampaignPartition {
    fn add(&mut self, item: Item) -> Result<(), StoreError> {
        let entity = item
            .get("entity")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| StoreError::Corrupt("item without entity".into()))?;
        let entity: Entity = serde_json::from_value(serde_json::Value::String(entity.clone()))
            .map_err(|_| StoreError::Corrupt(format!("unknown entity {entity}")))?;
        match entity {
            Entity::Campaign => {
                self.campaign = Some(items::from_item::<CampaignItem>(item)?.campaign);
            }
            Entity::Timer => self.timers.push(items::from_item::<TimerItem>(item)?.timer),
            Entity::Outbox => self
                .outbox
                .push(items::from_item::<OutboxItem>(item)?.event),
            Entity::Audit => self.audit.push(items::from_item::<AuditItem>(item)?.record),
            Entity::Run => {
                let item = items::from_item::<RunItem>(item)?;
                if let Some(moved_at) = item.status_sk.as_deref().and_then(keys::due_of_sk) {
                    self.runs_moved_at.insert(item.run.run_id.clone(), moved_at);
                }
                self.runs.push(item.run);
            }
            Entity::Alert
            | Entity::Report
            | Entity::Breaker
            | Entity::BreakerWindow
            | Entity::Pattern
            | Entity::PatternSet
            | Entity::Ledger
            | Entity::AlertState
            | Entity::Settings
            | Entity::RecoveryEvent
            | Entity::RecoveryStats
            | Entity::Consumer => {
                return Err(StoreError::Corrupt(format!(
                    "{entity:?} item in a campaign partition"
                )));
            }
        }
        Ok(())
    }
}
