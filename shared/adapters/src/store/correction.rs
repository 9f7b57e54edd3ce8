//! The sweeper's state correction: campaigns whose status disagrees with the clock are found
//! through the ByStatus index (sorted by when each status is due to end) and moved with the
//! same conditional move as cancel, plus the lifecycle event (outbox) and an audit record, in
//! one transaction. A correction that starts a campaign may also start its delivery run in
//! that transaction, with the same write as a START timer (run SCHEDULED → PLANNING and its
//! `CampaignRunStarted` in the outbox); the caller queues the run for planning after the
//! commit (the sweeper re-queues a run whose planning never began).

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use lifecycle_resilience::CallError;

use super::client::{Store, s};
use super::items::{self, AuditItem, CampaignItem};
use super::timer_apply::run_started_event;
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::RunId;
use lifecycle_domain::state_machine::Transition;
use lifecycle_domain::{AuditRecord, Campaign, CampaignStatus, LifecycleEvent, StoredEvent};

/// A committed state correction.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    /// The campaign as moved.
    pub campaign: Campaign,
    /// The move's lifecycle event (in the outbox until published).
    pub event: LifecycleEvent,
    /// The `CampaignRunStarted` of the delivery run the move started (in the outbox until
    /// published), if it started one.
    pub run_started: Option<StoredEvent>,
}

impl Store {
    /// Campaigns in `status` due to leave it at or before `until`, soonest first, at most
    /// `limit` (one Query of the ByStatus index; eventually consistent).
    pub async fn overdue_campaigns(
        &self,
        status: CampaignStatus,
        until: Timestamp,
        limit: i32,
    ) -> Result<Vec<Campaign>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::BY_STATUS_INDEX)
            .key_condition_expression("#spk = :spk AND #ssk <= :until")
            .expression_attribute_names("#spk", keys::STATUS_PK)
            .expression_attribute_names("#ssk", keys::STATUS_SK)
            .expression_attribute_values(":spk", s(keys::status_pk(status)))
            .expression_attribute_values(":until", s(keys::due_sk_after(until)))
            .limit(limit)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        output
            .items()
            .iter()
            .cloned()
            .map(|item| Ok(items::from_item::<CampaignItem>(item)?.campaign))
            .collect()
    }

    /// Moves `campaign` along `transition` at `now` on behalf of `actor`, with its event and
    /// an audit record, starting delivery run `start_run` too if given (it must be
    /// SCHEDULED: anything else is an error and nothing is written). `None` if the campaign
    /// changed since it was read.
    pub async fn correct_campaign(
        &self,
        campaign: &Campaign,
        transition: Transition,
        actor: &str,
        now: Timestamp,
        start_run: Option<&RunId>,
    ) -> Result<Option<Correction>, StoreError> {
        let (moved, event) = campaign
            .apply(transition, now)
            .map_err(|illegal| StoreError::Corrupt(format!("state correction: {illegal}")))?;
        let record = AuditRecord {
            action: "STATE_CORRECTION".into(),
            from: transition.from,
            to: transition.to,
            reason: format!(
                "{} is past its scheduled time; the timer did not move it",
                transition.from
            ),
            actor: actor.to_owned(),
            at: now,
        };
        let audit = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&AuditItem::new(
                &campaign.id,
                &record,
            ))?))
            .build()?;
        let mut writes = vec![
            self.move_campaign(campaign, &moved)?,
            self.outbox_put(&StoredEvent::from(&event))?,
            TransactWriteItem::builder().put(audit).build(),
        ];
        if let Some(run) = start_run {
            writes.extend(self.start_run(&campaign.id, run, now)?);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .send_with(&self.resilience)
            .await;
        let error = match result {
            Ok(_) => {
                let run_started = start_run.map(|run| run_started_event(&campaign.id, run, now));
                return Ok(Some(Correction {
                    campaign: moved,
                    event,
                    run_started,
                }));
            }
            Err(error) => error,
        };
        let CallError::Failed(SdkError::ServiceError(service)) = &error else {
            return Err(StoreError::aws("TransactWriteItems", error));
        };
        let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err() else {
            return Err(StoreError::aws("TransactWriteItems", error));
        };
        // Items: the move, its event, the audit record, then the run's update and event. A
        // campaign that changed meanwhile (its START fired, say) explains a run that moved.
        let refused = |index: usize| {
            cancelled
                .cancellation_reasons()
                .get(index)
                .and_then(|reason| reason.code())
                == Some("ConditionalCheckFailed")
        };
        match start_run {
            Some(run) if !refused(0) && refused(3) => Err(StoreError::Corrupt(format!(
                "state correction: run {run} of {} is not SCHEDULED",
                campaign.id
            ))),
            _ => Ok(None),
        }
    }
}
