//! Pausing and resuming a recurring campaign's series, each one transaction conditional on
//! the series as read. Pause: the campaign `paused`, its OCCURRENCE timer PENDING → PAUSED
//! (out of the due index, so nothing fires it). Resume: `paused` cleared, the timer PAUSED →
//! PENDING at the occurrence it stopped at; when that is in the past, firing it applies the
//! series' misfire policy to the occurrences missed while paused. A resumed timer due within
//! the direct-send window is handed back to be sent to the timers queue at once (marked
//! queued: the dispatcher's watermark may be past it). Both are idempotent: pausing a paused
//! series (or resuming a running one) changes nothing and answers the campaign.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::client::{Store, key, n, s};
use super::items::series_due_keys;
use super::occurrences::series_version_guard;
use super::timer_apply::{cancellation_reasons, failed_condition};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::{
    Campaign, CampaignId, CampaignStatus, DueTimer, Timer, TimerKind, TimerStatus, Timestamp,
};

/// Reads and transactions tried before giving up on a series that keeps changing.
const ATTEMPTS: usize = 3;

/// Why a pause or resume did not take effect.
#[derive(Debug, thiserror::Error)]
pub enum SeriesControlError {
    #[error("campaign not found")]
    NotFound,
    #[error("the campaign has no recurring schedule")]
    NotRecurring,
    #[error(
        "the campaign is {0}: only a SCHEDULED or RUNNING campaign's series can be paused or resumed"
    )]
    NotActive(CampaignStatus),
    #[error("the series is over: it has no occurrence left")]
    SeriesOver,
    #[error("the series kept changing; try again")]
    Contended,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A pause or resume that holds.
#[derive(Debug, Clone)]
pub struct SeriesControl {
    /// The campaign as it now stands.
    pub campaign: Campaign,
    /// The resumed timer, to send to the timers queue now (due within the direct-send
    /// window); if that send is lost, the dispatcher's catch-up sends it once overdue.
    pub send_now: Option<DueTimer>,
}

impl Store {
    /// Pauses campaign `id`'s series at `now`.
    pub async fn pause_series(
        &self,
        id: &CampaignId,
        now: Timestamp,
    ) -> Result<SeriesControl, SeriesControlError> {
        self.control_series(id, true, now).await
    }

    /// Resumes campaign `id`'s series at `now`.
    pub async fn resume_series(
        &self,
        id: &CampaignId,
        now: Timestamp,
    ) -> Result<SeriesControl, SeriesControlError> {
        self.control_series(id, false, now).await
    }

    async fn control_series(
        &self,
        id: &CampaignId,
        pause: bool,
        now: Timestamp,
    ) -> Result<SeriesControl, SeriesControlError> {
        for _ in 0..ATTEMPTS {
            let mut campaign = self
                .get_campaign(id)
                .await?
                .ok_or(SeriesControlError::NotFound)?;
            if campaign.schedule.is_none() {
                return Err(SeriesControlError::NotRecurring);
            }
            if !matches!(
                campaign.status,
                CampaignStatus::Scheduled | CampaignStatus::Running
            ) {
                return Err(SeriesControlError::NotActive(campaign.status));
            }
            if campaign.series_progress.paused == pause {
                return Ok(SeriesControl {
                    campaign,
                    send_now: None,
                });
            }
            let timer = self
                .chain_timer(id, TimerKind::Occurrence)
                .await?
                .ok_or(SeriesControlError::SeriesOver)?;
            let (from, to) = if pause {
                (TimerStatus::Pending, TimerStatus::Paused)
            } else {
                (TimerStatus::Paused, TimerStatus::Pending)
            };
            if timer.status != from {
                if matches!(
                    timer.status,
                    TimerStatus::Completed | TimerStatus::Cancelled
                ) {
                    return Err(SeriesControlError::SeriesOver);
                }
                continue;
            }
            let send_now = (!pause
                && timer.due_at.millis_since(now) <= self.occurrence_timing().direct_send_ms)
                .then(|| DueTimer::from(&timer));
            let writes = vec![
                self.set_paused(&campaign, pause, timer.due_at, now)?,
                self.move_paused_timer(&timer, to, send_now.is_some())?,
            ];
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send_with(&self.resilience)
                .await
            {
                Ok(_) => {
                    campaign.series_progress.paused = pause;
                    campaign.series_progress.series_version += 1;
                    campaign.updated_at = now;
                    return Ok(SeriesControl { campaign, send_now });
                }
                Err(error) => {
                    let Some(reasons) = cancellation_reasons(&error) else {
                        return Err(StoreError::aws("TransactWriteItems", error).into());
                    };
                    if !reasons.iter().any(|r| failed_condition(Some(r))) {
                        return Err(StoreError::aws("TransactWriteItems", error).into());
                    }
                }
            }
        }
        Err(SeriesControlError::Contended)
    }

    /// The campaign's `paused` set or cleared, conditional on the series as read.
    /// A resumed series is listed again in ByDue at `resumes_at` (its timer's due time).
    fn set_paused(
        &self,
        read: &Campaign,
        pause: bool,
        resumes_at: Timestamp,
        now: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(&read.id), keys::CAMPAIGN_SK)))
            .update_expression(if pause {
                "SET #paused = :true, #seriesVersion = :nextVersion, #updatedAt = :now \
                 REMOVE #duePk, #dueSk"
            } else {
                "SET #seriesVersion = :nextVersion, #updatedAt = :now, #duePk = :seriesPk, \
                 #dueSk = :seriesSk REMOVE #paused"
            })
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#paused", "paused")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":scheduled", s(CampaignStatus::Scheduled.as_str()))
            .expression_attribute_values(":running", s(CampaignStatus::Running.as_str()))
            .expression_attribute_values(":nextVersion", n(read.series_progress.series_version + 1))
            .expression_attribute_values(":now", s(now.to_rfc3339()));
        let update = if pause {
            update.expression_attribute_values(":true", AttributeValue::Bool(true))
        } else {
            let (due_pk, due_sk) = series_due_keys(&read.id, resumes_at, self.due_shards);
            update
                .expression_attribute_values(":seriesPk", s(due_pk))
                .expression_attribute_values(":seriesSk", s(due_sk))
        };
        let (update, version_guard) =
            series_version_guard(update, read.series_progress.series_version);
        let update = update
            .condition_expression(format!(
                "#status IN (:scheduled, :running) AND {version_guard}"
            ))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The OCCURRENCE timer as read → `to` (PENDING ↔ PAUSED), in the due index only while
    /// PENDING (marked `queued` when it is sent at once), conditional on its status and due
    /// time as read.
    fn move_paused_timer(
        &self,
        timer: &Timer,
        to: TimerStatus,
        queued: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(&timer.campaign_id),
                keys::timer_sk(timer.kind),
            )))
            .condition_expression("#status = :from AND #dueAt = :due")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#dueAt", "dueAt")
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_names("#queued", "queuedAtCreation")
            .expression_attribute_values(":from", s(timer.status.as_str()))
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":due", s(timer.due_at.to_rfc3339()));
        let update = if to == TimerStatus::Pending {
            update
                .update_expression(
                    "SET #status = :to, #duePk = :duePk, #dueSk = :dueSk, #queued = :queued",
                )
                .expression_attribute_values(":queued", AttributeValue::Bool(queued))
                .expression_attribute_values(
                    ":duePk",
                    s(keys::timer_due_pk(keys::timer_shard(
                        &timer.timer_id,
                        self.due_shards,
                    ))),
                )
                .expression_attribute_values(
                    ":dueSk",
                    s(keys::due_sk(timer.due_at, timer.timer_id.as_str())),
                )
        } else {
            update.update_expression("SET #status = :to REMOVE #duePk, #dueSk, #queued")
        };
        Ok(TransactWriteItem::builder().update(update.build()?).build())
    }
}
