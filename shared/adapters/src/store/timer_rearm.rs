//! Re-arming a campaign's lost timers (`POST /campaigns/recover`): each missing or dead
//! (CANCELLED, FAILED) timer of a move still ahead is written again PENDING at its planned
//! time, and a lost RUN_CLOSE for the run whose window is open, in one transaction
//! conditional on every timer as read (absent, or in the status and at the due time read), on
//! the campaign's status and version as read and, for a RUN_CLOSE, on its run's window being
//! still open, closing when read. A retry after a lost answer, a second recovery or a
//! concurrent change fails a condition and writes nothing, so a timer is never armed twice.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, TimerItem};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::delivery::RunId;
use lifecycle_domain::{Campaign, Timer, Timestamp};

impl Store {
    /// Writes each `(timer, replaced)` of `campaign`: `timer` PENDING over `replaced` as read
    /// (`None`: there is none), conditional on the campaign's status and version as read and
    /// on each `(run, closes_at)` of `open_windows` having its window still open, closing at
    /// `closes_at`. `false` (nothing written) if any of them changed meanwhile.
    pub async fn rearm_timers(
        &self,
        campaign: &Campaign,
        timers: &[(Timer, Option<Timer>)],
        open_windows: &[(RunId, Timestamp)],
    ) -> Result<bool, StoreError> {
        let mut request = self.client.transact_write_items();
        for (timer, replaced) in timers {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(items::to_item(&TimerItem::new(
                    timer,
                    self.due_shards,
                ))?));
            let put = match replaced {
                None => put
                    .condition_expression("attribute_not_exists(#pk)")
                    .expression_attribute_names("#pk", keys::PK),
                Some(read) => put
                    .condition_expression("#status = :read AND #dueAt = :readDue")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#dueAt", "dueAt")
                    .expression_attribute_values(":read", s(read.status.as_str()))
                    .expression_attribute_values(":readDue", s(read.due_at.to_rfc3339())),
            };
            request =
                request.transact_items(TransactWriteItem::builder().put(put.build()?).build());
        }
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(&campaign.id),
                keys::CAMPAIGN_SK,
            )))
            .condition_expression("#status = :status AND #version = :version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":status", s(campaign.status.as_str()))
            .expression_attribute_values(":version", n(campaign.version))
            .build()?;
        for (run, closes_at) in open_windows {
            let window = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    keys::campaign_pk(&campaign.id),
                    keys::run_sk(run),
                )))
                .condition_expression("#closesAt = :closesAt AND attribute_not_exists(#closedAt)")
                .expression_attribute_names("#closesAt", "closesAt")
                .expression_attribute_names("#closedAt", "closedAt")
                .expression_attribute_values(":closesAt", s(closes_at.to_rfc3339()))
                .build()?;
            request = request
                .transact_items(TransactWriteItem::builder().condition_check(window).build());
        }
        let result = request
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .send_with(&self.resilience)
            .await;
        condition_met("TransactWriteItems", result)
    }
}
