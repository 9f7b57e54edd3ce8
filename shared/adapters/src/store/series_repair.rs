//! The sweeper's watch on the chain of occurrences. A recurring campaign is listed in ByDue
//! (`SERIES#<shard>`) by its next occurrence, moved on by every step of its series, unlisted
//! while paused or once the series is over. A listing well past its time means the occurrence
//! went unhandled: if the series' OCCURRENCE timer is lost (FAILED, cancelled, deleted), it is
//! written again PENDING at that occurrence — conditional on the timer and the series as read
//! — and firing it applies the series' misfire policy to what was missed.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};

use super::client::{Store, key, s};
use super::error::condition_met;
use super::items::{self, TimerItem};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::delivery::RunId;
use lifecycle_domain::{Campaign, Timer, TimerEffect, TimerId, TimerKind, TimerStatus, Timestamp};

impl Store {
    /// Writes `campaign`'s OCCURRENCE timer again, PENDING at its next occurrence, over the
    /// lost `timer` as read (`None`: there is none), conditional on the campaign's status and
    /// series as read; `false` if the timer or the series changed meanwhile.
    pub async fn repair_series(
        &self,
        campaign: &Campaign,
        timer: Option<&Timer>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let Some(next) = campaign.series_progress.next_occurrence else {
            return Ok(false);
        };
        let repaired = Timer {
            timer_id: TimerId::new(&campaign.id, TimerKind::Occurrence),
            campaign_id: campaign.id.clone(),
            kind: TimerKind::Occurrence,
            status: TimerStatus::Pending,
            due_at: next,
            effect: TimerEffect::Occur,
            run_id: Some(RunId::for_occurrence(next)),
            attempts: 0,
            last_error: timer.map(|lost| {
                format!(
                    "repaired by the sweeper at {now}: the timer was {}",
                    lost.status.as_str()
                )
            }),
            fired_at: None,
            cancel_reason: None,
            queued_at_creation: false,
            next_deadline: None,
            lease_owner: None,
            lease_expires_at: None,
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&TimerItem::new(
                &repaired,
                self.due_shards,
            ))?));
        let put = match timer {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Some(lost) => put
                .condition_expression("#status = :read AND #dueAt = :readDue")
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#dueAt", "dueAt")
                .expression_attribute_values(":read", s(lost.status.as_str()))
                .expression_attribute_values(":readDue", s(lost.due_at.to_rfc3339())),
        };
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(&campaign.id),
                keys::CAMPAIGN_SK,
            )))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#paused", "paused")
            .expression_attribute_values(":read", s(campaign.status.as_str()))
            .expression_attribute_values(":true", AttributeValue::Bool(true));
        let (check, version_guard) =
            series_version_guard_check(check, campaign.series_progress.series_version);
        let check = check
            .condition_expression(format!(
                "#status = :read AND NOT #paused = :true AND {version_guard}"
            ))
            .build()?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put.build()?).build())
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .send_with(&self.resilience)
            .await;
        condition_met("TransactWriteItems", result)
    }

    /// Takes `campaign` out of the series watch (it is no longer RUNNING or SCHEDULED, so
    /// no occurrence of it will run); conditional on the status read.
    pub async fn unlist_series(&self, campaign: &Campaign) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(&campaign.id),
                keys::CAMPAIGN_SK,
            )))
            .update_expression("REMOVE #duePk, #dueSk")
            .condition_expression("#status = :read")
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":read", s(campaign.status.as_str()))
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }
}

/// The series-version condition of `super::occurrences::series_version_guard`, for a
/// condition check.
fn series_version_guard_check(
    check: aws_sdk_dynamodb::types::builders::ConditionCheckBuilder,
    version: u64,
) -> (
    aws_sdk_dynamodb::types::builders::ConditionCheckBuilder,
    &'static str,
) {
    let check = check.expression_attribute_names("#seriesVersion", "seriesVersion");
    if version == 0 {
        (check, "attribute_not_exists(#seriesVersion)")
    } else {
        (
            check.expression_attribute_values(":seriesVersion", super::client::n(version)),
            "#seriesVersion = :seriesVersion",
        )
    }
}
