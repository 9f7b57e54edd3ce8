//! What the sweeper reads and writes to repair delivery runs: runs of a status that have not
//! moved since a time (ByStatus `RUNS#<STATUS>`, sorted by when each last moved or was last
//! repaired; each listed with that time), the hold a repair takes on a run before queuing its
//! work again (so a run is repaired once per stall period however many sweeps see it), and
//! the batches of a run whose lease expired before they were recorded (one Query of the run's
//! batch partition; a batch keeps its plan from its first lease).

use aws_sdk_dynamodb::types::AttributeValue;
use lifecycle_domain::delivery::{PlannedBatch, RunId, RunRecord, RunStatus};
use lifecycle_domain::{CampaignId, Timestamp};

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, Item, RunItem};
use super::{StoreError, keys};
use crate::aws::SendWith;

/// A run found stalled, with when it last moved (or was last held for a repair): the time of
/// its ByStatus sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StalledRun {
    /// The run as listed.
    pub run: RunRecord,
    /// When it last moved or was last held.
    pub moved_at: Timestamp,
}

impl Store {
    /// Up to `limit` runs in `status` that last moved before `before`, oldest first.
    pub async fn stalled_runs(
        &self,
        status: RunStatus,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<StalledRun>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::BY_STATUS_INDEX)
            .key_condition_expression("#spk = :spk AND #ssk < :before")
            .expression_attribute_names("#spk", keys::STATUS_PK)
            .expression_attribute_names("#ssk", keys::STATUS_SK)
            .expression_attribute_values(":spk", s(keys::run_status_pk(status)))
            .expression_attribute_values(":before", stalled_before(before))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        let mut runs = Vec::new();
        for item in output.items().iter().cloned() {
            let item = items::from_item::<RunItem>(item)?;
            let moved_at = item
                .status_sk
                .as_deref()
                .and_then(keys::due_of_sk)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("run {} without a statusSk time", item.sk))
                })?;
            runs.push(StalledRun {
                run: item.run,
                moved_at,
            });
        }
        Ok(runs)
    }

    /// Holds a stalled run for its repair: moves its ByStatus sort key to `now` and stamps
    /// `repairedAt`, on condition that it is still in `status` and has not moved since
    /// `before` (the time it was found stalled by). `false` if it moved meanwhile or another
    /// sweep holds it: that sweep, or the run itself, is the repair. A held run is found
    /// stalled again only after another stall period.
    pub async fn hold_stalled_run(
        &self,
        run: &RunRecord,
        before: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (campaign, id) = (&run.campaign_id, &run.run_id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(campaign), keys::run_sk(id))))
            .update_expression("SET #ssk = :held, #repairedAt = :now")
            .condition_expression("#status = :status AND #ssk < :before")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ssk", keys::STATUS_SK)
            .expression_attribute_names("#repairedAt", "repairedAt")
            .expression_attribute_values(":status", s(run.status.as_str()))
            .expression_attribute_values(":before", stalled_before(before))
            .expression_attribute_values(":held", s(keys::run_status_sk(now, campaign, id)))
            .expression_attribute_values(":now", n(now.millis()))
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// The batches of `run` leased before, not recorded, whose lease ran out by `now`.
    pub async fn expired_batches(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        now: Timestamp,
    ) -> Result<Vec<PlannedBatch>, StoreError> {
        let mut batches = Vec::new();
        let mut start_key: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .filter_expression("attribute_not_exists(#done) AND #until <= :now")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#done", "doneAt")
                .expression_attribute_names("#until", "leaseUntil")
                .expression_attribute_values(":pk", s(keys::run_batches_pk(campaign, run)))
                .expression_attribute_values(":now", n(now.millis()))
                .consistent_read(true)
                .set_exclusive_start_key(start_key.take())
                .send_with(&self.resilience)
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            for item in output.items() {
                if let Some(AttributeValue::M(batch)) = item.get("batch") {
                    batches.push(serde_dynamo::from_item(batch.clone())?);
                }
            }
            match output.last_evaluated_key() {
                Some(key) => start_key = Some(key.clone()),
                None => return Ok(batches),
            }
        }
    }
}

/// The ByStatus sort key every run that last moved before `before` sorts below.
fn stalled_before(before: Timestamp) -> AttributeValue {
    s(format!("{:013}", before.millis().max(0)))
}
