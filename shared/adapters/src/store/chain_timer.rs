//! A campaign's chain timers: the one OCCURRENCE timer of a series and its one RUN_CLOSE
//! timer, each moved on by the transaction that handles it (to the next occurrence, to the
//! window of the run that starts next) rather than replaced, so the chain cannot break.
//! A chain timer due within the direct-send window when it moves is marked
//! `queuedAtCreation` and handed back for sending: the dispatcher's watermark may already be
//! past its time (if the send is lost, the dispatcher's catch-up sends it once overdue).
//! The write of a fired timer is here too ([`Store::fired_timer`]): any other timer simply
//! becomes COMPLETED, as a chain timer does once its chain is over.

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use lifecycle_domain::delivery::RunId;
use lifecycle_domain::{CampaignId, DueTimer, Timer, TimerKind, TimerStatus, Timestamp};

use super::client::{Store, key, n, s};
use super::items::{self, TimerItem};
use super::timer_apply::{effect_guard, run_guard};
use super::timer_writes::Claim;
use super::{StoreError, keys};
use crate::aws::SendWith;

/// Where a chain timer goes next: due `at`, firing for `run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ChainNext {
    pub at: Timestamp,
    pub run: RunId,
}

impl Store {
    /// `campaign`'s chain timer of `kind` (OCCURRENCE or RUN_CLOSE), if it exists.
    pub async fn chain_timer(
        &self,
        campaign: &CampaignId,
        kind: TimerKind,
    ) -> Result<Option<Timer>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(campaign), keys::timer_sk(kind))))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        output
            .item
            .map(|item| Ok(items::from_item::<TimerItem>(item)?.timer))
            .transpose()
    }

    /// Whether a timer due at `next` is handed to the queue by whoever moves it there at `now`.
    pub(super) fn sends_directly(&self, next: Timestamp, now: Timestamp) -> bool {
        next.millis_since(now) <= self.occurrence_timing().direct_send_ms
    }

    /// `timer` as fired: due at the message's time with the message's run and held under
    /// `claim` (PENDING, or leased by us) → COMPLETED and out of the due index, one more
    /// attempt counted — or, for a chain timer with a `next`, moved on to it (PENDING with its
    /// run, in the due index, marked queued when it is sent directly; `attempts` from none: it
    /// counts the tries of the firing the timer is due for, else a long series would fail at
    /// its first expired lease).
    pub(super) fn fired_timer(
        &self,
        timer: &DueTimer,
        claim: Claim<'_>,
        next: Option<&ChainNext>,
        now: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut values = vec![
            (":due", s(timer.due_at.to_rfc3339())),
            (":fired", s(now.to_rfc3339())),
        ];
        let expression = match next {
            Some(next) => {
                values.extend([
                    (":pending", s(TimerStatus::Pending.as_str())),
                    (":next", s(next.at.to_rfc3339())),
                    (":nextRun", s(next.run.as_str())),
                    (
                        ":duePk",
                        s(keys::timer_due_pk(keys::timer_shard(
                            &timer.timer_id,
                            self.due_shards,
                        ))),
                    ),
                    (":dueSk", s(keys::due_sk(next.at, timer.timer_id.as_str()))),
                    (":none", n(0)),
                ]);
                let moved = "SET #status = :pending, #dueAt = :next, #runId = :nextRun, \
                             #duePk = :duePk, #dueSk = :dueSk, #firedAt = :fired, \
                             #attempts = :none";
                if self.sends_directly(next.at, now) {
                    values.push((":sent", AttributeValue::Bool(true)));
                    format!("{moved}, #queued = :sent REMOVE #leaseOwner, #leaseExpiresAt")
                } else {
                    format!("{moved} REMOVE #leaseOwner, #leaseExpiresAt, #queued")
                }
            }
            None => {
                values.push((":completed", s(TimerStatus::Completed.as_str())));
                values.push((":one", n(1)));
                "SET #status = :completed, #firedAt = :fired ADD #attempts :one \
                 REMOVE #duePk, #dueSk, #leaseOwner, #leaseExpiresAt, #queued"
                    .to_owned()
            }
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(&timer.campaign_id),
                keys::timer_sk(timer.kind),
            )))
            .update_expression(expression)
            .expression_attribute_names("#dueAt", "dueAt")
            .expression_attribute_names("#firedAt", "firedAt")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_names("#leaseOwner", "leaseOwner")
            .expression_attribute_names("#leaseExpiresAt", "leaseExpiresAt")
            .expression_attribute_names("#queued", "queuedAtCreation")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in values {
            update = update.expression_attribute_values(name, value);
        }
        let (update, claimed) = claim.guard(update);
        let (update, same_effect) = effect_guard(update, timer.effect);
        let (update, same_run) = run_guard(update, timer.run_id.as_ref());
        let update = update
            .condition_expression(format!(
                "{claimed} AND #dueAt = :due AND {same_effect} AND {same_run}"
            ))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The write that arms `campaign`'s RUN_CLOSE timer for `next` (a run just started,
    /// whose window closes at `next.at`), over the timer of the series' previous window:
    /// conditional on that one being neither PENDING nor RUNNING (a window still open holds
    /// its series, so no run can start before it closed). Also the timer to send now when
    /// it is due within the direct-send window.
    pub(super) fn arm_run_close(
        &self,
        campaign: &CampaignId,
        next: &ChainNext,
        now: Timestamp,
    ) -> Result<(TransactWriteItem, Option<DueTimer>), StoreError> {
        let timer = Timer {
            queued_at_creation: self.sends_directly(next.at, now),
            ..Timer::run_close(campaign, next.run.clone(), next.at)
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&TimerItem::new(
                &timer,
                self.due_shards,
            ))?))
            .condition_expression(
                "attribute_not_exists(#pk) OR NOT (#status IN (:pending, :running))",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(TimerStatus::Pending.as_str()))
            .expression_attribute_values(":running", s(TimerStatus::Running.as_str()))
            .build()?;
        let send = timer.queued_at_creation.then(|| DueTimer::from(&timer));
        Ok((TransactWriteItem::builder().put(put).build(), send))
    }
}
