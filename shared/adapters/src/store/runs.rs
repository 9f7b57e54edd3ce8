//! Runs and their batches. A run lives in its campaign's partition (`RUN#<runId>`), listed in
//! ByStatus while it is not over (for the sweeper); its batches live in their run's own
//! partition (`BATCH#<seq>`). Every change is conditional: the plan cursor moves only from
//! where it was read, a batch is leased by one sender at a time and recorded once (its counts
//! added to the run in the same transaction), a run completes once.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use lifecycle_domain::delivery::batch_plan::{PlanCommit, PlannedBatch};
use lifecycle_domain::delivery::batch_state::{BatchRecorded, Lease};
use lifecycle_domain::delivery::recipient::CsvHeader;
use lifecycle_domain::delivery::{
    Counts, PlanCursor, Progress, RunEvent, RunId, RunRecord, RunStatus,
};
use lifecycle_domain::{Campaign, CampaignId, DueTimer, StoredEvent, Timestamp};
use lifecycle_resilience::CallError;

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, Item, RunItem};
use super::{StoreError, keys};
use crate::aws::SendWith;

/// Tries of a completion whose series keeps moving under it.
const RELEASE_ATTEMPTS: usize = 3;

/// A run completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCompleted {
    /// The buffered run of the series its completion started (PLANNING now): queue it for
    /// planning (if that is lost, the sweeper queues it).
    pub started_next: Option<RunId>,
    /// That run's RUN_CLOSE timer, when its window closes within the direct-send window:
    /// hand it to the timers queue (if that is lost, the dispatcher's catch-up sends it).
    pub send_close: Option<DueTimer>,
}

/// The series a completing run holds, as read.
#[derive(Debug, Clone, Copy)]
struct SeriesHolder<'a> {
    read: &'a Campaign,
    /// The run's window is still open: the completion does not release the series.
    window_open: bool,
    /// When its window closed, if it has.
    closed_at: Option<Timestamp>,
}

/// A batch of a run.
#[derive(Debug, Clone, Copy)]
pub struct BatchKey<'a> {
    /// The campaign.
    pub campaign: &'a CampaignId,
    /// The run.
    pub run: &'a RunId,
    /// The batch as planned (its sequence number keys it).
    pub batch: &'a PlannedBatch,
}

impl Store {
    /// Creates `run` with its `CampaignRunStarted` event, once: `false` if it exists.
    pub async fn create_run(&self, run: &RunRecord, now: Timestamp) -> Result<bool, StoreError> {
        let started_at = run.started_at.unwrap_or(run.scheduled_at);
        let started = RunEvent::started(&run.campaign_id, &run.run_id, started_at);
        let writes = vec![
            self.put_new(items::to_item(&RunItem::new(run, now))?)?,
            self.outbox_put(&StoredEvent::run(&run.campaign_id, &started, now))?,
        ];
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send_with(&self.resilience)
            .await;
        condition_met("TransactWriteItems", result)
    }

    /// The run, if it exists (consistent).
    pub async fn get_run(
        &self,
        campaign: &CampaignId,
        run: &RunId,
    ) -> Result<Option<RunRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(campaign), keys::run_sk(run))))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        output
            .item
            .map(|item| Ok(items::from_item::<RunItem>(item)?.run))
            .transpose()
    }

    /// Saves a CSV list's header and the cursor after it, once, while the run is planning.
    pub async fn save_csv_header(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        header: &CsvHeader,
        cursor: PlanCursor,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(campaign), keys::run_sk(run))))
            .update_expression("SET #header = :header, #cursor = :cursor")
            .condition_expression("attribute_not_exists(#header) AND #status = :planning")
            .expression_attribute_names("#header", "csvHeader")
            .expression_attribute_names("#cursor", "cursor")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":header", map_of(header)?)
            .expression_attribute_values(":cursor", map_of(&cursor)?)
            .expression_attribute_values(":planning", status(RunStatus::Planning))
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// Saves a group of planned batches: the cursor after them, the group (to queue again
    /// after a crash), the rows added to the total, and for the last group the run planned
    /// and SENDING. Conditional on the cursor being `expected` and the run planning; `None`
    /// if not.
    pub async fn commit_plan(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        expected: PlanCursor,
        commit: &PlanCommit,
        now: Timestamp,
    ) -> Result<Option<Progress>, StoreError> {
        let (cursor, group, last) = (commit.cursor, &commit.group, commit.last);
        let mut set = "SET #cursor = :cursor, #lastGroup = :group, #updatedAt = :now, \
                       #statusPk = :statusPk, #statusSk = :statusSk"
            .to_owned();
        if last {
            set.push_str(", #planned = :true, #status = :sending");
        }
        let now_status = if last {
            RunStatus::Sending
        } else {
            RunStatus::Planning
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(campaign), keys::run_sk(run))))
            .update_expression(format!("{set} ADD #total :rows"))
            .condition_expression("#cursor = :expected AND #status = :planning")
            .expression_attribute_names("#cursor", "cursor")
            .expression_attribute_names("#lastGroup", "lastGroup")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#total", "total")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#statusPk", keys::STATUS_PK)
            .expression_attribute_names("#statusSk", keys::STATUS_SK)
            .expression_attribute_values(":statusPk", s(keys::run_status_pk(now_status)))
            .expression_attribute_values(":statusSk", s(keys::run_status_sk(now, campaign, run)))
            .expression_attribute_values(":cursor", map_of(&cursor)?)
            .expression_attribute_values(":expected", map_of(&expected)?)
            .expression_attribute_values(":group", list_of(group)?)
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":rows", n(commit.rows()))
            .expression_attribute_values(":planning", status(RunStatus::Planning))
            .return_values(ReturnValue::AllNew);
        if last {
            update = update
                .expression_attribute_names("#planned", "planned")
                .expression_attribute_values(":true", AttributeValue::Bool(true))
                .expression_attribute_values(":sending", status(RunStatus::Sending));
        }
        match update.send_with(&self.resilience).await {
            Ok(output) => {
                let item = output.attributes.unwrap_or_default();
                Ok(Some(items::from_item::<RunItem>(item)?.run.progress()))
            }
            Err(error) => match condition_met::<(), _>("UpdateItem", Err(error)) {
                Ok(_) => Ok(None),
                Err(error) => Err(error),
            },
        }
    }

    /// Takes batch `batch`'s lease for `token` until `until`, unless it is done or another
    /// lease runs past `now`. The batch's plan is kept with it, so the sweeper can queue a
    /// batch whose lease expired again.
    pub async fn lease_batch(
        &self,
        batch: BatchKey<'_>,
        token: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<Lease, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(batch_key(batch)))
            .update_expression(
                "SET #token = :token, #until = :until, #batch = if_not_exists(#batch, :batch) \
                 ADD #leases :one",
            )
            .condition_expression(
                "attribute_not_exists(#done) AND (attribute_not_exists(#until) OR #until <= :now)",
            )
            .expression_attribute_names("#token", "leaseToken")
            .expression_attribute_names("#until", "leaseUntil")
            .expression_attribute_names("#leases", "leases")
            .expression_attribute_names("#done", "doneAt")
            .expression_attribute_names("#batch", "batch")
            .expression_attribute_values(":batch", map_of(batch.batch)?)
            .expression_attribute_values(":token", s(token))
            .expression_attribute_values(":until", n(until.millis()))
            .expression_attribute_values(":now", n(now.millis()))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send_with(&self.resilience)
            .await;
        let error = match result {
            Ok(output) => {
                let before = output.attributes.unwrap_or_default();
                let resumed = number(&before, "leases").unwrap_or(0) > 0;
                return Ok(Lease::Taken { resumed });
            }
            Err(error) => error,
        };
        if let CallError::Failed(SdkError::ServiceError(service)) = &error
            && let UpdateItemError::ConditionalCheckFailedException(failed) = service.err()
        {
            let held = failed.item().cloned().unwrap_or_default();
            if held.contains_key("doneAt") {
                return Ok(Lease::Done);
            }
            let until = number(&held, "leaseUntil").unwrap_or(now.millis());
            return Ok(Lease::Held {
                until: Timestamp::from_millis(until),
            });
        }
        Err(StoreError::aws("UpdateItem", error))
    }

    /// Gives up `token`'s lease of a batch not done, as of `now` (the lease runs out at once:
    /// the next sender takes it straight away, and the sweeper sees it expired). `false` if
    /// the lease is no longer `token`'s or the batch is done.
    pub async fn release_batch(
        &self,
        batch: BatchKey<'_>,
        token: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(batch_key(batch)))
            .update_expression("SET #until = :now")
            .condition_expression("attribute_not_exists(#done) AND #token = :token")
            .expression_attribute_names("#until", "leaseUntil")
            .expression_attribute_names("#done", "doneAt")
            .expression_attribute_names("#token", "leaseToken")
            .expression_attribute_values(":now", n(now.millis()))
            .expression_attribute_values(":token", s(token))
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// Marks the batch done with its counts and adds them to the run's, in one transaction
    /// conditional on our lease and the batch not being done; then reads the run's progress.
    pub async fn record_batch(
        &self,
        batch: BatchKey<'_>,
        token: &str,
        counts: Counts,
        now: Timestamp,
    ) -> Result<BatchRecorded, StoreError> {
        let done = Update::builder()
            .table_name(&self.table)
            .set_key(Some(batch_key(batch)))
            .update_expression("SET #done = :now, #counts = :counts")
            .condition_expression("attribute_not_exists(#done) AND #token = :token")
            .expression_attribute_names("#done", "doneAt")
            .expression_attribute_names("#counts", "counts")
            .expression_attribute_names("#token", "leaseToken")
            .expression_attribute_values(":now", n(now.millis()))
            .expression_attribute_values(":counts", map_of(&counts)?)
            .expression_attribute_values(":token", s(token))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()?;
        let mut add = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(batch.campaign),
                keys::run_sk(batch.run),
            )))
            .expression_attribute_names("#counts", "counts")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#statusSk", keys::STATUS_SK)
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(
                ":statusSk",
                s(keys::run_status_sk(now, batch.campaign, batch.run)),
            );
        let mut parts = Vec::new();
        for (i, (name, value)) in counted(&counts).into_iter().enumerate() {
            parts.push(format!("#counts.#c{i} :c{i}"));
            add = add
                .expression_attribute_names(format!("#c{i}"), name)
                .expression_attribute_values(format!(":c{i}"), n(value));
        }
        let set = "SET #updatedAt = :now, #statusSk = :statusSk";
        let expression = if parts.is_empty() {
            set.to_owned()
        } else {
            format!("{set} ADD {}", parts.join(", "))
        };
        let writes = vec![
            TransactWriteItem::builder().update(done).build(),
            TransactWriteItem::builder()
                .update(add.update_expression(expression).build()?)
                .build(),
        ];
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send_with(&self.resilience)
            .await
        {
            Ok(_) => {
                let run = self
                    .get_run(batch.campaign, batch.run)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "run {} of {} vanished",
                            batch.run, batch.campaign
                        ))
                    })?;
                return Ok(BatchRecorded::Recorded(run.progress()));
            }
            Err(error) => error,
        };
        if let CallError::Failed(SdkError::ServiceError(service)) = &error
            && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
            && let Some(reason) = cancelled.cancellation_reasons().first()
            && reason.code() == Some("ConditionalCheckFailed")
        {
            let done = reason
                .item()
                .is_some_and(|item| item.contains_key("doneAt"));
            return Ok(if done {
                BatchRecorded::AlreadyDone
            } else {
                BatchRecorded::LeaseLost
            });
        }
        Err(StoreError::aws("TransactWriteItems", error))
    }

    /// Completes the run with its `CampaignRunCompleted` event, once: a SENDING run becomes
    /// COMPLETED; a CANCELLED one (whose senders counted the rest `cancelled`) stays
    /// CANCELLED and gets its `completedAt`. `None` if neither applied (already complete,
    /// still planning). The active run of a series releases it in the same transaction
    /// ([`Store::release_series`]: the series' buffered run starts) — unless the run's window
    /// is still open: its RUN_CLOSE releases the series then.
    pub async fn complete_run(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        progress: Progress,
        now: Timestamp,
    ) -> Result<Option<RunCompleted>, StoreError> {
        for _ in 0..RELEASE_ATTEMPTS {
            // A cancelled campaign's series is over (its buffered run was cancelled with it):
            // nothing to release.
            let series = self.get_campaign(campaign).await?.filter(|read| {
                read.series_progress.active_run.as_ref() == Some(run)
                    && read.status != lifecycle_domain::CampaignStatus::Cancelled
            });
            let holder = match &series {
                Some(read) => {
                    let record = self.get_run(campaign, run).await?;
                    Some(SeriesHolder {
                        read,
                        window_open: record.as_ref().is_some_and(RunRecord::window_open),
                        closed_at: record.and_then(|record| record.closed_at),
                    })
                }
                None => None,
            };
            if let Some(completed) = self
                .complete_run_once(campaign, run, progress, holder, now)
                .await?
            {
                return Ok(Some(completed));
            }
            if series.is_none() {
                return Ok(None);
            }
            // The series moved on between the read and the write (an occurrence, a pause),
            // or the run's window closed: read them again.
        }
        Ok(None)
    }

    /// One try of [`Store::complete_run`], with the campaign as read when the run holds its
    /// series.
    async fn complete_run_once(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        progress: Progress,
        holder: Option<SeriesHolder<'_>>,
        now: Timestamp,
    ) -> Result<Option<RunCompleted>, StoreError> {
        let completed = StoredEvent::run(
            campaign,
            &RunEvent::completed(campaign, run, &progress, now),
            now,
        );
        // A run whose window is open completes only while it is, and does not release.
        let window_open = holder.is_some_and(|holder| holder.window_open);
        // The release is never dated before the close it waited for (`now` was taken before
        // the run was read).
        let released_at = holder
            .and_then(|holder| holder.closed_at)
            .map_or(now, |closed| now.max(closed));
        let release = match holder {
            Some(holder) if !window_open => {
                Some(self.release_series(holder.read, run, released_at)?)
            }
            _ => None,
        };
        for from in [RunStatus::Sending, RunStatus::Cancelled] {
            let to = if from == RunStatus::Cancelled {
                RunStatus::Cancelled
            } else {
                RunStatus::Completed
            };
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::campaign_pk(campaign), keys::run_sk(run))))
                .update_expression(
                    "SET #status = :to, #completedAt = :at REMOVE #statusPk, #statusSk",
                )
                .expression_attribute_names("#status", "status")
                .expression_attribute_names("#completedAt", "completedAt")
                .expression_attribute_names("#statusPk", keys::STATUS_PK)
                .expression_attribute_names("#statusSk", keys::STATUS_SK)
                .expression_attribute_values(":to", status(to))
                .expression_attribute_values(":from", status(from))
                .expression_attribute_values(":at", s(now.to_rfc3339()));
            let update = if window_open {
                update
                    .condition_expression(
                        "#status = :from AND attribute_not_exists(#completedAt) \
                         AND attribute_not_exists(#closedAt)",
                    )
                    .expression_attribute_names("#closedAt", "closedAt")
            } else {
                update
                    .condition_expression("#status = :from AND attribute_not_exists(#completedAt)")
            }
            .build()?;
            let mut writes = vec![
                TransactWriteItem::builder().update(update).build(),
                self.outbox_put(&completed)?,
            ];
            let mut send_close = None;
            let mut started_next = None;
            if let Some(release) = &release {
                writes.extend(release.writes.iter().cloned());
                if let Some(window) = &release.window {
                    let (arm, send) = self.arm_run_close(campaign, window, released_at)?;
                    writes.push(arm);
                    send_close = send;
                }
                started_next = release.started.clone();
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send_with(&self.resilience)
                .await;
            if condition_met("TransactWriteItems", result)? {
                return Ok(Some(RunCompleted {
                    started_next,
                    send_close,
                }));
            }
        }
        Ok(None)
    }

    /// Completes the run if it is done (fully planned, every row settled) and not yet
    /// complete: its `CampaignRunCompleted` (now in the outbox) and what the completion
    /// started, or `None`.
    pub async fn complete_if_done(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        now: Timestamp,
    ) -> Result<Option<(StoredEvent, RunCompleted)>, StoreError> {
        let Some(record) = self.get_run(campaign, run).await? else {
            return Ok(None);
        };
        let progress = record.progress();
        if record.completed_at.is_some() || !progress.is_done() {
            return Ok(None);
        }
        let completed = self.complete_run(campaign, run, progress, now).await?;
        Ok(completed.map(|completed| {
            let event = RunEvent::completed(campaign, run, &progress, now);
            (StoredEvent::run(campaign, &event, now), completed)
        }))
    }

    /// Cancels a run still SCHEDULED whose START can no longer fire (its campaign moved on
    /// without it: the START was missed beyond the misfire window, or the campaign is gone):
    /// complete at once with `reason`, nothing sent. `false` if it was not SCHEDULED.
    pub async fn cancel_unstarted_run(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(campaign), keys::run_sk(run))))
            .update_expression(
                "SET #status = :cancelled, #planned = :true, #updatedAt = :now, \
                 #completedAt = :now, #reason = :reason REMOVE #statusPk, #statusSk",
            )
            .condition_expression("#status = :scheduled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#planned", "planned")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#completedAt", "completedAt")
            .expression_attribute_names("#reason", "cancelReason")
            .expression_attribute_names("#statusPk", keys::STATUS_PK)
            .expression_attribute_names("#statusSk", keys::STATUS_SK)
            .expression_attribute_values(":cancelled", status(RunStatus::Cancelled))
            .expression_attribute_values(":scheduled", status(RunStatus::Scheduled))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .expression_attribute_values(":reason", s(reason))
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// The write that cancels `run` within its campaign's cancel: conditional on the status
    /// it was read in; marked planned (a planner stops at its next commit). A run that never
    /// started is complete at once; one that did is listed among cancelled runs until its
    /// senders have counted the rest.
    pub(super) fn cancel_run(
        &self,
        run: &RunRecord,
        now: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let (campaign, id) = (&run.campaign_id, &run.run_id);
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(campaign), keys::run_sk(id))))
            .condition_expression("#status = :read")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#planned", "planned")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":read", status(run.status))
            .expression_attribute_values(":cancelled", status(RunStatus::Cancelled))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":now", s(now.to_rfc3339()));
        update = if run.status == RunStatus::Scheduled {
            update
                .update_expression(
                    "SET #status = :cancelled, #planned = :true, #updatedAt = :now, \
                     #completedAt = :now REMOVE #statusPk, #statusSk",
                )
                .expression_attribute_names("#completedAt", "completedAt")
                .expression_attribute_names("#statusPk", keys::STATUS_PK)
                .expression_attribute_names("#statusSk", keys::STATUS_SK)
        } else {
            update
                .update_expression(
                    "SET #status = :cancelled, #planned = :true, #updatedAt = :now, \
                     #statusPk = :statusPk, #statusSk = :statusSk",
                )
                .expression_attribute_names("#statusPk", keys::STATUS_PK)
                .expression_attribute_names("#statusSk", keys::STATUS_SK)
                .expression_attribute_values(
                    ":statusPk",
                    s(keys::run_status_pk(RunStatus::Cancelled)),
                )
                .expression_attribute_values(":statusSk", s(keys::run_status_sk(now, campaign, id)))
        };
        Ok(TransactWriteItem::builder().update(update.build()?).build())
    }
}

/// The nonzero counts, by attribute name.
fn counted(counts: &Counts) -> Vec<(&'static str, u64)> {
    [
        ("sent", counts.sent),
        ("failed", counts.failed),
        ("unconfirmed", counts.unconfirmed),
        ("resent", counts.resent),
        ("duplicates", counts.duplicates),
        ("cancelled", counts.cancelled),
        ("expired", counts.expired),
    ]
    .into_iter()
    .filter(|(_, value)| *value > 0)
    .collect()
}

fn batch_key(batch: BatchKey<'_>) -> Item {
    key(
        keys::run_batches_pk(batch.campaign, batch.run),
        keys::batch_sk(batch.batch.seq),
    )
}

fn status(status: RunStatus) -> AttributeValue {
    s(status.as_str())
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// A value as a DynamoDB map attribute.
pub(super) fn map_of<T: serde::Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    Ok(AttributeValue::M(serde_dynamo::to_item(value)?))
}

/// Values as a DynamoDB list attribute.
fn list_of<T: serde::Serialize>(values: &[T]) -> Result<AttributeValue, StoreError> {
    Ok(serde_dynamo::to_attribute_value(values)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_count_of_a_batch_is_added_to_its_run() {
        let counts = Counts {
            sent: 1,
            failed: 2,
            unconfirmed: 3,
            resent: 4,
            duplicates: 5,
            cancelled: 6,
            expired: 7,
        };
        let stored = serde_json::to_value(counts).unwrap();
        let added: serde_json::Map<String, serde_json::Value> = counted(&counts)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value.into()))
            .collect();
        assert_eq!(serde_json::Value::Object(added), stored);
        assert!(counted(&Counts::default()).is_empty(), "nothing to add");
    }
}
