//! Conditional updates of timer items shared by the cancel, fire and recovery paths, and the
//! [`Claim`] that decides who may make them.

use aws_sdk_dynamodb::types::Update;

use super::client::{Store, key, s};
use super::error::condition_met;
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::{CampaignId, TimerKind, TimerStatus};

/// Who may finish a timer: anyone while it is PENDING (the condition is the lock), or only
/// the holder of its lease while it is RUNNING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim<'a> {
    Pending,
    Lease { owner: &'a str },
}

impl Claim<'_> {
    /// Adds this claim's condition (on `#status`, and `#leaseOwner` for a lease) to `update`.
    pub(super) fn guard(
        self,
        update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    ) -> (
        aws_sdk_dynamodb::types::builders::UpdateBuilder,
        &'static str,
    ) {
        match self {
            Claim::Pending => (
                update
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":claimed", s(TimerStatus::Pending.as_str())),
                "#status = :claimed",
            ),
            Claim::Lease { owner } => (
                update
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#leaseOwner", "leaseOwner")
                    .expression_attribute_values(":claimed", s(TimerStatus::Running.as_str()))
                    .expression_attribute_values(":owner", s(owner)),
                "#status = :claimed AND #leaseOwner = :owner",
            ),
        }
    }
}

impl Store {
    /// PENDING (or leased by the claim's owner) → CANCELLED with `reason`, leaving the due
    /// index; when given, also conditional on the timer still being due at `due_at`.
    pub(super) fn cancel_timer(
        &self,
        campaign_id: &CampaignId,
        kind: TimerKind,
        due_at: Option<Timestamp>,
        claim: Claim<'_>,
        reason: &str,
    ) -> Result<Update, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(campaign_id),
                keys::timer_sk(kind),
            )))
            .update_expression(
                "SET #status = :cancelled, #cancelReason = :reason REMOVE #duePk, #dueSk, #leaseOwner, #leaseExpiresAt",
            )
            .expression_attribute_names("#cancelReason", "cancelReason")
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_names("#leaseOwner", "leaseOwner")
            .expression_attribute_names("#leaseExpiresAt", "leaseExpiresAt")
            .expression_attribute_values(":cancelled", s(TimerStatus::Cancelled.as_str()))
            .expression_attribute_values(":reason", s(reason));
        let (mut update, claimed) = claim.guard(update);
        let mut condition = claimed.to_owned();
        if let Some(due_at) = due_at {
            condition.push_str(" AND #dueAt = :due");
            update = update
                .expression_attribute_names("#dueAt", "dueAt")
                .expression_attribute_values(":due", s(due_at.to_rfc3339()));
        }
        Ok(update.condition_expression(condition).build()?)
    }

    /// Cancels a timer now (see [`Store::cancel_timer`]); `false` if its condition failed
    /// (the timer was fired, cancelled or claimed first).
    pub async fn cancel_timer_now(
        &self,
        campaign_id: &CampaignId,
        kind: TimerKind,
        due_at: Option<Timestamp>,
        claim: Claim<'_>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let update = self.cancel_timer(campaign_id, kind, due_at, claim, reason)?;
        self.send_update(update).await
    }

    /// Sends a built `Update` on its own (outside a transaction); `false` if its condition
    /// failed.
    pub(super) async fn send_update(&self, update: Update) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(update.table_name())
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .set_condition_expression(update.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(update.expression_attribute_names().cloned())
            .set_expression_attribute_values(update.expression_attribute_values().cloned())
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }
}
