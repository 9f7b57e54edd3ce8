//! Creating, reading and listing campaigns.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::client::{Store, key, s};
use super::error::condition_met;
use super::items::{self, CampaignItem, Item, TimerItem};
use super::{PageToken, StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::{Campaign, CampaignId, CampaignStatus, Timer};

/// One page of a campaign listing.
#[derive(Debug, Clone)]
pub struct CampaignPage {
    pub campaigns: Vec<Campaign>,
    /// Present when more campaigns follow.
    pub next: Option<PageToken>,
}

impl Store {
    /// Writes a new campaign, its timers and (if it delivers) its SCHEDULED run in one
    /// transaction. Ids are fresh UUIDs, so if the id exists the campaign is this call's own
    /// earlier attempt, whose answer was lost (a retried timeout): the existing campaign is
    /// checked to be the same and the create succeeds. A different campaign under the id is an error (`ConditionalCheckFailed`).
    pub async fn create_campaign(
        &self,
        campaign: &Campaign,
        timers: &[Timer],
    ) -> Result<(), StoreError> {
        let mut writes = vec![self.put_new(items::to_item(&CampaignItem::new(
            campaign,
            self.due_shards,
        ))?)?];
        for timer in timers {
            writes.push(self.put_new(items::to_item(&TimerItem::new(timer, self.due_shards))?)?);
        }
        if let Some(run) = campaign.scheduled_run() {
            writes.push(self.put_new(items::to_item(&items::RunItem::new(
                &run,
                campaign.created_at,
            ))?)?);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send_with(&self.resilience)
            .await;
        if condition_met("TransactWriteItems", result)? {
            return Ok(());
        }
        match self.get_campaign(&campaign.id).await? {
            Some(stored)
                if stored.created_at == campaign.created_at && stored.name == campaign.name =>
            {
                tracing::info!(campaign = %campaign.id, "campaign was stored by an attempt whose answer was lost");
                Ok(())
            }
            _ => Err(StoreError::Corrupt(format!(
                "campaign id {} is taken by another campaign",
                campaign.id
            ))),
        }
    }

    /// A put of `item`, conditional on no item with its key.
    pub(super) fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The campaign `id`, if it exists (strongly consistent).
    pub async fn get_campaign(&self, id: &CampaignId) -> Result<Option<Campaign>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(id), keys::CAMPAIGN_SK)))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        match output.item {
            Some(item) => Ok(Some(items::from_item::<CampaignItem>(item)?.campaign)),
            None => Ok(None),
        }
    }

    /// Campaigns in `status`, `limit` per page: for SCHEDULED, RUNNING and REWARD_CLAIM the
    /// next to move first (by start, end, claim end); for the others the latest to enter it
    /// first. The index is eventually consistent: a move made a moment ago may not show yet.
    pub async fn list_campaigns(
        &self,
        status: CampaignStatus,
        limit: i32,
        page: Option<&PageToken>,
    ) -> Result<CampaignPage, StoreError> {
        let start_key = page
            .map(|token| token.to_key())
            .transpose()
            .map_err(|_| StoreError::Corrupt("page token".into()))?;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::BY_STATUS_INDEX)
            .key_condition_expression("#spk = :spk")
            .expression_attribute_names("#spk", keys::STATUS_PK)
            .expression_attribute_values(":spk", s(keys::status_pk(status)))
            .scan_index_forward(status.awaits_schedule())
            .limit(limit)
            .set_exclusive_start_key(start_key)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        let campaigns = output
            .items()
            .iter()
            .cloned()
            .map(|item| items::from_item::<CampaignItem>(item).map(|i| i.campaign))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CampaignPage {
            campaigns,
            next: output.last_evaluated_key().and_then(PageToken::from_key),
        })
    }
}
