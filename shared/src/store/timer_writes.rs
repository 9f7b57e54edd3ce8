//! Conditional updates of timer items shared by the cancel and fire paths.

use aws_sdk_dynamodb::types::Update;

use super::client::{Store, key, s};
use super::{StoreError, keys};
use crate::Timestamp;
use crate::domain::{CampaignId, TimerKind, TimerStatus};

impl Store {
    /// PENDING → CANCELLED with `reason`, leaving the due index. Conditional on the timer
    /// still being PENDING (and, when given, still due at `due_at`).
    pub(super) fn cancel_pending_timer(
        &self,
        campaign_id: &CampaignId,
        kind: TimerKind,
        due_at: Option<Timestamp>,
        reason: &str,
    ) -> Result<Update, StoreError> {
        let mut condition = "#status = :pending".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(campaign_id),
                keys::timer_sk(kind),
            )))
            .update_expression(
                "SET #status = :cancelled, #cancelReason = :reason REMOVE #duePk, #dueSk",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#cancelReason", "cancelReason")
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_values(":pending", s(TimerStatus::Pending.as_str()))
            .expression_attribute_values(":cancelled", s(TimerStatus::Cancelled.as_str()))
            .expression_attribute_values(":reason", s(reason));
        if let Some(due_at) = due_at {
            condition.push_str(" AND #dueAt = :due");
            update = update
                .expression_attribute_names("#dueAt", "dueAt")
                .expression_attribute_values(":due", s(due_at.to_rfc3339()));
        }
        Ok(update.condition_expression(condition).build()?)
    }
}
