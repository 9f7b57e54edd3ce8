//! Cancelling a campaign: one transaction moves the campaign (conditional on the status and
//! version it was read with), cancels its PENDING timers and its runs not yet over, and
//! writes the outbox event. A concurrent move makes the transaction fail; the cancel then
//! re-reads and tries again. A cancelled run sends nothing more (its senders count the rest
//! `cancelled`); one with nothing left in flight is completed at once.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use lifecycle_resilience::CallError;

use super::StoreError;
use super::client::Store;
use super::timer_writes::Claim;
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::{RunRecord, RunStatus};
use lifecycle_domain::state_machine::{self, IllegalTransition};
use lifecycle_domain::{
    Campaign, CampaignId, CampaignStatus, LifecycleEvent, StoredEvent, TimerStatus,
};

/// Reads and transactions tried before a cancel gives up on a campaign that keeps moving.
const CANCEL_ATTEMPTS: usize = 3;

/// Reason recorded on timers cancelled with their campaign.
pub(super) const CANCELLED_WITH_CAMPAIGN: &str = "campaign cancelled";

/// A cancel that took effect.
#[derive(Debug, Clone)]
pub struct Cancelled {
    pub campaign: Campaign,
    pub event: LifecycleEvent,
    /// `CampaignRunCompleted` of the runs the cancel completed (in the outbox).
    pub run_events: Vec<StoredEvent>,
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
            let (moved, event) = campaign.apply(transition, now)?;
            let mut writes = vec![self.move_campaign(&campaign, &moved)?];
            for timer in partition
                .timers
                .iter()
                .filter(|t| t.status == TimerStatus::Pending)
            {
                writes.push(
                    TransactWriteItem::builder()
                        .update(self.cancel_timer(
                            id,
                            timer.kind,
                            None,
                            Claim::Pending,
                            CANCELLED_WITH_CAMPAIGN,
                        )?)
                        .build(),
                );
            }
            let stopping: Vec<&RunRecord> = partition
                .runs
                .iter()
                .filter(|run| !run.status.is_terminal())
                .collect();
            for run in &stopping {
                writes.push(self.cancel_run(run, now)?);
            }
            writes.push(self.outbox_put(&StoredEvent::from(&event))?);
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send_with(&self.resilience)
                .await
            {
                Ok(_) => {
                    let mut run_events = Vec::new();
                    for run in stopping.iter().filter(|r| r.status != RunStatus::Scheduled) {
                        // A cancelled campaign's series is over: its completions start nothing.
                        let completed = self.complete_if_done(id, &run.run_id, now).await?;
                        run_events.extend(completed.map(|(event, _)| event));
                    }
                    return Ok(Cancelled {
                        campaign: moved,
                        event,
                        run_events,
                    });
                }
                Err(CallError::Failed(SdkError::ServiceError(e)))
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
}
