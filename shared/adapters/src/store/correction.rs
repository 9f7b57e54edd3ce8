//! The sweeper's state correction: campaigns whose status disagrees with the clock are found
//! through the ByStatus index (sorted by when each status is due to end) and moved with the
//! same conditional move as cancel, plus the lifecycle event (outbox) and an audit record, in
//! one transaction.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use lifecycle_resilience::CallError;

use super::client::{Store, s};
use super::items::{self, AuditItem, CampaignItem};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::state_machine::Transition;
use lifecycle_domain::{AuditRecord, Campaign, CampaignStatus, LifecycleEvent, StoredEvent};

impl Store {
    /// Campaigns in `status` due to leave it at or before `until`, soonest first, at most
    /// `limit` (one Query of the ByStatus index; eventually consistent).
    pub async fn overdue_campaigns(
        &self,
        status: CampaignStatus,
        until: Timestamp,
        limit: i32,
    ) -> Result<Vec<Campaign>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::BY_STATUS_INDEX)
            .key_condition_expression("#spk = :spk AND #ssk <= :until")
            .expression_attribute_names("#spk", keys::STATUS_PK)
            .expression_attribute_names("#ssk", keys::STATUS_SK)
            .expression_attribute_values(":spk", s(keys::status_pk(status)))
            .expression_attribute_values(":until", s(keys::due_sk_after(until)))
            .limit(limit)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        output
            .items()
            .iter()
            .cloned()
            .map(|item| Ok(items::from_item::<CampaignItem>(item)?.campaign))
            .collect()
    }

    /// Moves `campaign` along `transition` at `now` on behalf of `actor`, with its event and
    /// an audit record. `None` if the campaign changed since it was read.
    pub async fn correct_campaign(
        &self,
        campaign: &Campaign,
        transition: Transition,
        actor: &str,
        now: Timestamp,
    ) -> Result<Option<(Campaign, LifecycleEvent)>, StoreError> {
        let (moved, event) = campaign
            .apply(transition, now)
            .map_err(|illegal| StoreError::Corrupt(format!("state correction: {illegal}")))?;
        let record = AuditRecord {
            action: "STATE_CORRECTION".into(),
            from: transition.from,
            to: transition.to,
            reason: format!(
                "{} is past its scheduled time; the timer did not move it",
                transition.from
            ),
            actor: actor.to_owned(),
            at: now,
        };
        let audit = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&AuditItem::new(
                &campaign.id,
                &record,
            ))?))
            .build()?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.move_campaign(campaign, &moved)?)
            .transact_items(self.outbox_put(&StoredEvent::from(&event))?)
            .transact_items(TransactWriteItem::builder().put(audit).build())
            .send_with(&self.resilience)
            .await;
        match result {
            Ok(_) => Ok(Some((moved, event))),
            Err(CallError::Failed(SdkError::ServiceError(e)))
                if e.err().is_transaction_canceled_exception() =>
            {
                Ok(None)
            }
            Err(e) => Err(StoreError::aws("TransactWriteItems", e)),
        }
    }
}
