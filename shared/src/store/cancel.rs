//! Cancelling a campaign: one transaction moves the campaign (conditional on the status and
//! version it was read with), cancels its PENDING timers and writes the outbox event. A
//! concurrent move makes the transaction fail; the cancel then re-reads and tries again.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::client::{Store, key, n, s};
use super::{StoreError, keys};
use crate::Timestamp;
use crate::domain::state_machine::{self, IllegalTransition};
use crate::domain::{Campaign, CampaignId, CampaignStatus, LifecycleEvent, TimerStatus};

/// Reads and transactions tried before a cancel gives up on a campaign that keeps moving.
const CANCEL_ATTEMPTS: usize = 3;

/// Reason recorded on timers cancelled with their campaign.
pub const CANCELLED_WITH_CAMPAIGN: &str = "campaign cancelled";

/// A cancel that took effect.
#[derive(Debug, Clone)]
pub struct Cancelled {
    pub campaign: Campaign,
    pub event: LifecycleEvent,
}

/// Why a cancel did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("campaign not found")]
    NotFound,
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error("the campaign kept changing during the cancel; try again")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Store {
    /// Cancels campaign `id` at `now`.
    pub async fn cancel_campaign(
        &self,
        id: &CampaignId,
        now: Timestamp,
    ) -> Result<Cancelled, CancelError> {
        for _ in 0..CANCEL_ATTEMPTS {
            let partition = self.load_partition(id).await?;
            let campaign = partition.campaign.ok_or(CancelError::NotFound)?;
            let transition = state_machine::transition(campaign.status, CampaignStatus::Cancelled)?;
            let mut moved = campaign.clone();
            moved.status = CampaignStatus::Cancelled;
            moved.version += 1;
            moved.updated_at = now;
            let event = LifecycleEvent::for_move(
                transition.event,
                id,
                (campaign.status, moved.status),
                moved.version,
                now,
            );
            let mut writes = vec![self.move_campaign(&campaign, &moved)?];
            for timer in partition
                .timers
                .iter()
                .filter(|t| t.status == TimerStatus::Pending)
            {
                writes.push(
                    TransactWriteItem::builder()
                        .update(self.cancel_pending_timer(
                            id,
                            timer.kind,
                            None,
                            CANCELLED_WITH_CAMPAIGN,
                        )?)
                        .build(),
                );
            }
            writes.push(self.outbox_put(&event)?);
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
            {
                Ok(_) => {
                    return Ok(Cancelled {
                        campaign: moved,
                        event,
                    });
                }
                Err(SdkError::ServiceError(e))
                    if matches!(
                        e.err(),
                        TransactWriteItemsError::TransactionCanceledException(_)
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(StoreError::aws("TransactWriteItems", e).into()),
            }
        }
        Err(CancelError::Contended)
    }

    /// The campaign update of a read-modify-write move, conditional on status and version.
    fn move_campaign(
        &self,
        before: &Campaign,
        after: &Campaign,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(&before.id), keys::CAMPAIGN_SK)))
            .condition_expression("#status = :from AND #version = :version")
            .update_expression(
                "SET #status = :to, #statusPk = :statusPk, #version = :next, #updatedAt = :now",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#statusPk", keys::STATUS_PK)
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":from", s(before.status.as_str()))
            .expression_attribute_values(":version", n(before.version))
            .expression_attribute_values(":to", s(after.status.as_str()))
            .expression_attribute_values(":statusPk", s(keys::status_pk(after.status)))
            .expression_attribute_values(":next", n(after.version))
            .expression_attribute_values(":now", s(after.updated_at.to_rfc3339()))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
