//! Leases on timers. Multi-step work on a timer (the sweeper deciding on and firing a missed
//! one) first claims it PENDING → RUNNING under a lease: a concurrent executor then backs off,
//! and a worker that dies mid-way leaves a RUNNING timer listed by lease expiry in the due
//! index (`LEASE#<shard>`), which the sweeper takes back. Every write is conditional on the
//! exact lease it read, so two sweepers never both take back the same lease.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use lifecycle_resilience::CallError;

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, AlertItem};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer::after_expired_lease;
use lifecycle_domain::{Alert, Timer, TimerStatus};

/// What taking back an expired lease did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TakenBack {
    /// PENDING again, one more attempt counted: the missed-timer sweep fires it.
    Requeued,
    /// Out of attempts: FAILED, with this alert raised (in the same transaction).
    Failed(Box<Alert>),
    /// Someone else changed the timer first (finished, renewed or took it back).
    Gone,
}

impl Store {
    /// PENDING → RUNNING under `owner`'s lease until `expires_at`. `false` if the timer is no
    /// longer PENDING at its due time.
    pub async fn claim_timer(
        &self,
        timer: &Timer,
        owner: &str,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let shard = keys::timer_shard(&timer.timer_id, self.due_shards);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(timer_key(timer)))
            .condition_expression("#status = :pending AND #dueAt = :due")
            .update_expression(
                "SET #status = :running, #leaseOwner = :owner, #leaseExpiresAt = :expires, #duePk = :duePk, #dueSk = :dueSk",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#dueAt", "dueAt")
            .expression_attribute_names("#leaseOwner", "leaseOwner")
            .expression_attribute_names("#leaseExpiresAt", "leaseExpiresAt")
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_values(":pending", s(TimerStatus::Pending.as_str()))
            .expression_attribute_values(":due", s(timer.due_at.to_rfc3339()))
            .expression_attribute_values(":running", s(TimerStatus::Running.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":expires", s(expires_at.to_rfc3339()))
            .expression_attribute_values(":duePk", s(keys::lease_due_pk(shard)))
            .expression_attribute_values(
                ":dueSk",
                s(keys::due_sk(expires_at, timer.timer_id.as_str())),
            )
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// Takes back RUNNING `timer` whose lease (as read) expired: PENDING again with one more
    /// attempt, or FAILED with an alert once `max_attempts` are used up.
    pub async fn take_back_timer(
        &self,
        timer: &Timer,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<TakenBack, StoreError> {
        let (Some(owner), Some(expires_at)) = (&timer.lease_owner, timer.lease_expires_at) else {
            return Ok(TakenBack::Gone);
        };
        let attempts = timer.attempts + 1;
        let last_error = format!("lease of {owner} expired at {expires_at}");
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(timer_key(timer)))
            .condition_expression(
                "#status = :running AND #leaseOwner = :owner AND #leaseExpiresAt = :expires",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#leaseOwner", "leaseOwner")
            .expression_attribute_names("#leaseExpiresAt", "leaseExpiresAt")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_names("#lastError", "lastError")
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_values(":running", s(TimerStatus::Running.as_str()))
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":expires", s(expires_at.to_rfc3339()))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":error", s(&last_error));
        if after_expired_lease(timer.attempts, max_attempts) == TimerStatus::Pending {
            let shard = keys::timer_shard(&timer.timer_id, self.due_shards);
            let update = update
                .update_expression(
                    "SET #status = :pending, #lastError = :error, #duePk = :duePk, #dueSk = :dueSk ADD #attempts :one REMOVE #leaseOwner, #leaseExpiresAt",
                )
                .expression_attribute_values(":pending", s(TimerStatus::Pending.as_str()))
                .expression_attribute_values(":duePk", s(keys::timer_due_pk(shard)))
                .expression_attribute_values(
                    ":dueSk",
                    s(keys::due_sk(timer.due_at, timer.timer_id.as_str())),
                )
                .build()?;
            return Ok(if self.send_update(update).await? {
                TakenBack::Requeued
            } else {
                TakenBack::Gone
            });
        }
        let update = update
            .update_expression(
                "SET #status = :failed, #lastError = :error ADD #attempts :one REMOVE #duePk, #dueSk, #leaseOwner, #leaseExpiresAt",
            )
            .expression_attribute_values(":failed", s(TimerStatus::Failed.as_str()))
            .build()?;
        let alert = Alert::timer_failed(timer, attempts, now);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&AlertItem::new(&alert))?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send_with(&self.resilience)
            .await;
        match result {
            Ok(_) => Ok(TakenBack::Failed(Box::new(alert))),
            Err(CallError::Failed(SdkError::ServiceError(e)))
                if e.err().is_transaction_canceled_exception() =>
            {
                Ok(TakenBack::Gone)
            }
            Err(e) => Err(StoreError::aws("TransactWriteItems", e)),
        }
    }
}

fn timer_key(timer: &Timer) -> super::items::Item {
    key(
        keys::campaign_pk(&timer.campaign_id),
        keys::timer_sk(timer.kind),
    )
}
