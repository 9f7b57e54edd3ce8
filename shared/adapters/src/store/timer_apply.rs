//! Firing a timer: one TransactWriteItems, no read before it.
//!
//! 1. timer PENDING → COMPLETED, conditional on `status = PENDING AND dueAt = :due` and on
//!    the stored effect being the message's (a message is never trusted to say what a timer
//!    does), leaving the due index;
//! 2. the campaign move, conditional on `status = from` (the status graph is acyclic and each
//!    status a timer moves from — SCHEDULED, RUNNING, CLOSED/REWARD_CLAIM — is reached by one
//!    path, so `status = from` pins the version too — no ABA), or, for
//!    a reminder, a ConditionCheck that the campaign is still in the status the reminder read;
//! 3. the outbox event, `attribute_not_exists`;
//! 4. for a START that begins a delivery run (the timer carries its id, and the stored timer
//!    must carry the same): the run SCHEDULED → PLANNING, conditional on `status = SCHEDULED`,
//!    with its `CampaignRunStarted` event in the outbox. The caller queues the run for
//!    planning after the commit (the sweeper re-queues a run whose planning never began).
//!
//! If the transaction is cancelled, the cancellation reasons (with `ALL_OLD` images) say why
//! without another read: the timer was already handled (a duplicate delivery or a lost race —
//! its event is handed back for publishing if it is still in the outbox), or the campaign no
//! longer fits (the timer is CANCELLED with the reason), or it does not fit *yet* (its
//! predecessor has not fired — the caller retries later).

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    CancellationReason, ConditionCheck, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use lifecycle_resilience::CallError;

use super::client::{Store, key, n, s};
use super::occurrences::OccurrenceApplied;
use super::run_close::RunClosed;
use super::timer_writes::Claim;
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::{RunEvent, RunId, RunStatus};
use lifecycle_domain::firing::{NotFitting, not_fitting};
use lifecycle_domain::{
    CampaignId, CampaignStatus, DueTimer, LifecycleEvent, StoredEvent, TimerEffect, TimerStatus,
};

/// What firing a timer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// Committed now: the campaign moved (or the reminder was recorded) with this event.
    Applied(LifecycleEvent),
    /// Already handled earlier; `unpublished` is its event if it is still in the outbox.
    AlreadyDone { unpublished: Option<LifecycleEvent> },
    /// The campaign's state no longer fits: the timer is now CANCELLED with this reason.
    Obsolete { reason: String },
    /// The campaign has not reached the status this timer needs yet; try again later.
    Early { reason: String },
    /// The timer handed in does not match the stored one (a forged or corrupt message);
    /// nothing was applied and no retry can change that.
    Mismatch { reason: String },
    /// An OCCURRENCE handled the occurrences due (see [`Store::apply_occurrence`]).
    Occurred(Box<OccurrenceApplied>),
    /// A RUN_CLOSE closed its run's window (see [`Store::apply_run_close`]).
    RunClosed(Box<RunClosed>),
}

impl Store {
    /// Fires PENDING `timer` at `fired_at` — exactly once, however often it is called.
    pub async fn apply_timer(
        &self,
        timer: &DueTimer,
        fired_at: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        self.apply_claimed_timer(timer, Claim::Pending, fired_at)
            .await
    }

    /// Fires `timer` held under `claim` (PENDING, or RUNNING under our lease).
    pub async fn apply_claimed_timer(
        &self,
        timer: &DueTimer,
        claim: Claim<'_>,
        fired_at: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        {
            let status_before = match timer.effect {
                TimerEffect::Occur => {
                    return self.apply_occurrence(timer, claim, fired_at).await;
                }
                TimerEffect::CloseRun => {
                    return self.apply_run_close(timer, claim, fired_at).await;
                }
                TimerEffect::Move { from, .. } => from,
                TimerEffect::Remind => match self.get_campaign(&timer.campaign_id).await? {
                    Some(campaign) if timer.effect.fits(campaign.status) => campaign.status,
                    other => {
                        return self
                            .not_fitting(timer, claim, other.map(|c| c.status))
                            .await;
                    }
                },
            };
            let (event_type, from, to) = match timer.effect.event(status_before) {
                Ok(Some(event)) => event,
                Ok(None) => {
                    return Ok(ApplyOutcome::Mismatch {
                        reason: format!("{} has no lifecycle event", timer.timer_id),
                    });
                }
                Err(illegal) => {
                    return Ok(ApplyOutcome::Mismatch {
                        reason: format!("{}: {illegal}", timer.timer_id),
                    });
                }
            };
            let event = LifecycleEvent::for_timer(
                event_type,
                &timer.timer_id,
                &timer.campaign_id,
                (from, to),
                timer.due_at,
                fired_at,
            );
            let mut writes = vec![
                self.fired_timer(timer, claim, None, fired_at)?,
                self.campaign_write(timer, status_before, fired_at)?,
                self.outbox_put(&StoredEvent::from(&event))?,
            ];
            if let Some(run) = &timer.run_id {
                if !starts_a_run(timer.effect) {
                    return Ok(ApplyOutcome::Mismatch {
                        reason: format!(
                            "{} carries a run but does not start its campaign",
                            timer.timer_id
                        ),
                    });
                }
                writes.extend(self.start_run(&timer.campaign_id, run, fired_at)?);
            }
            let error = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send_with(&self.resilience)
                .await
            {
                Ok(_) => return Ok(ApplyOutcome::Applied(event)),
                Err(error) => error,
            };
            let Some(reasons) = cancellation_reasons(&error) else {
                return Err(StoreError::aws("TransactWriteItems", error));
            };
            if failed_condition(reasons.first()) {
                let stored = reasons[0].item();
                if let Some(stored) = stored
                    && !stored_timer_matches(stored, timer)
                {
                    return Ok(ApplyOutcome::Mismatch {
                        reason: format!(
                            "{} does not have the stored timer's effect",
                            timer.timer_id
                        ),
                    });
                }
                let status = stored.and_then(|item| item.get("status"));
                if status.and_then(|v| v.as_s().ok()).map(String::as_str)
                    == Some(TimerStatus::Running.as_str())
                {
                    return Ok(ApplyOutcome::Early {
                        reason: "timer is RUNNING under another worker's lease".into(),
                    });
                }
                return self.already_done(&event).await;
            }
            if failed_condition(reasons.get(1)) {
                let status = match reasons[1].item().and_then(|item| item.get("status")) {
                    Some(value) => value.as_s().ok().and_then(|s| CampaignStatus::parse(s)),
                    None => self
                        .get_campaign(&timer.campaign_id)
                        .await?
                        .map(|c| c.status),
                };
                return self.not_fitting(timer, claim, status).await;
            }
            if let Some(run) = &timer.run_id
                && failed_condition(reasons.get(3))
            {
                return Ok(ApplyOutcome::Mismatch {
                    reason: format!("run {run} of {} is not SCHEDULED", timer.campaign_id),
                });
            }
            // Conflicts and throttles were retried by the resilience layer already.
            Err(StoreError::aws("TransactWriteItems", error))
        }
    }

    /// The campaign move of a MOVE timer, or the status check of a reminder.
    fn campaign_write(
        &self,
        timer: &DueTimer,
        status_before: CampaignStatus,
        fired_at: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let campaign_key = key(keys::campaign_pk(&timer.campaign_id), keys::CAMPAIGN_SK);
        match timer.effect {
            TimerEffect::Move { from, to } => {
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(campaign_key))
                    .condition_expression("#status = :from")
                    .update_expression(
                        "SET #status = :to, #statusPk = :statusPk, #statusSk = :statusSk, #updatedAt = :now ADD #version :one",
                    )
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_names("#statusPk", keys::STATUS_PK)
                    .expression_attribute_names("#statusSk", keys::STATUS_SK)
                    .expression_attribute_values(
                        ":statusSk",
                        s(keys::status_sk(
                            timer.next_deadline.unwrap_or(fired_at),
                            &timer.campaign_id,
                        )),
                    )
                    .expression_attribute_names("#updatedAt", "updatedAt")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(":from", s(from.as_str()))
                    .expression_attribute_values(":to", s(to.as_str()))
                    .expression_attribute_values(":statusPk", s(keys::status_pk(to)))
                    .expression_attribute_values(":now", s(fired_at.to_rfc3339()))
                    .expression_attribute_values(":one", n(1))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()?;
                Ok(TransactWriteItem::builder().update(update).build())
            }
            // An occurrence or a run close never gets here (`apply_occurrence`,
            // `apply_run_close`); their check would be this one.
            TimerEffect::Remind | TimerEffect::Occur | TimerEffect::CloseRun => {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(campaign_key))
                    .condition_expression("#status = :seen")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":seen", s(status_before.as_str()))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()?;
                Ok(TransactWriteItem::builder().condition_check(check).build())
            }
        }
    }

    /// The run a START begins: SCHEDULED → PLANNING, listed among planning runs for the
    /// sweeper, with its `CampaignRunStarted` event.
    pub(super) fn start_run(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        fired_at: Timestamp,
    ) -> Result<[TransactWriteItem; 2], StoreError> {
        self.start_waiting_run(campaign, run, RunStatus::Scheduled, fired_at, None)
    }

    /// A run waiting in `from` (SCHEDULED for its START, BUFFERED for the series' run before
    /// it) → PLANNING at `fired_at` (its window closing at `closes_at`, if it has one), with
    /// its `CampaignRunStarted` event.
    pub(super) fn start_waiting_run(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        from: RunStatus,
        fired_at: Timestamp,
        closes_at: Option<Timestamp>,
    ) -> Result<[TransactWriteItem; 2], StoreError> {
        let set = "SET #status = :planning, #startedAt = :fired, #updatedAt = :fired, \
                   #statusPk = :statusPk, #statusSk = :statusSk";
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(campaign), keys::run_sk(run))));
        let update = match closes_at {
            Some(closes_at) => update
                .update_expression(format!("{set}, #closesAt = :closesAt"))
                .expression_attribute_names("#closesAt", "closesAt")
                .expression_attribute_values(":closesAt", s(closes_at.to_rfc3339())),
            None => update.update_expression(set),
        };
        let update = update
            .condition_expression("#status = :scheduled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#startedAt", "startedAt")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#statusPk", keys::STATUS_PK)
            .expression_attribute_names("#statusSk", keys::STATUS_SK)
            .expression_attribute_values(":planning", s(RunStatus::Planning.as_str()))
            .expression_attribute_values(":scheduled", s(from.as_str()))
            .expression_attribute_values(":fired", s(fired_at.to_rfc3339()))
            .expression_attribute_values(":statusPk", s(keys::run_status_pk(RunStatus::Planning)))
            .expression_attribute_values(
                ":statusSk",
                s(keys::run_status_sk(fired_at, campaign, run)),
            )
            .build()?;
        Ok([
            TransactWriteItem::builder().update(update).build(),
            self.outbox_put(&run_started_event(campaign, run, fired_at))?,
        ])
    }

    /// The timer was handled before: hand back its event if it was never cleared from the
    /// outbox (published or not, consumers dedupe by `eventId`).
    async fn already_done(&self, event: &LifecycleEvent) -> Result<ApplyOutcome, StoreError> {
        let held = self
            .outbox_holds(&event.campaign_id, &event.event_id)
            .await?;
        Ok(ApplyOutcome::AlreadyDone {
            unpublished: held.then(|| event.clone()),
        })
    }

    /// The campaign is not in the status the timer needs: early (retry) or obsolete (cancel).
    pub(super) async fn not_fitting(
        &self,
        timer: &DueTimer,
        claim: Claim<'_>,
        status: Option<CampaignStatus>,
    ) -> Result<ApplyOutcome, StoreError> {
        let reason = match not_fitting(timer.kind, timer.effect, status) {
            NotFitting::Early { reason } => return Ok(ApplyOutcome::Early { reason }),
            NotFitting::Obsolete { reason } => reason,
        };
        let cancelled = self
            .cancel_timer_now(
                &timer.campaign_id,
                timer.kind,
                Some(timer.due_at),
                claim,
                &reason,
            )
            .await?;
        Ok(if cancelled {
            ApplyOutcome::Obsolete { reason }
        } else {
            ApplyOutcome::AlreadyDone { unpublished: None }
        })
    }
}

/// The condition that the stored timer has `effect` (its `effect`, `from` and `to`).
pub(super) fn effect_guard(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    effect: TimerEffect,
) -> (
    aws_sdk_dynamodb::types::builders::UpdateBuilder,
    &'static str,
) {
    let update = update.expression_attribute_names("#effect", "effect");
    match effect {
        TimerEffect::Move { from, to } => (
            update
                .expression_attribute_names("#from", "from")
                .expression_attribute_names("#to", "to")
                .expression_attribute_values(":effect", s(MOVE_EFFECT))
                .expression_attribute_values(":effectFrom", s(from.as_str()))
                .expression_attribute_values(":effectTo", s(to.as_str())),
            "#effect = :effect AND #from = :effectFrom AND #to = :effectTo",
        ),
        TimerEffect::Remind => (
            update.expression_attribute_values(":effect", s(REMIND_EFFECT)),
            "#effect = :effect",
        ),
        TimerEffect::Occur => (
            update.expression_attribute_values(":effect", s(OCCUR_EFFECT)),
            "#effect = :effect",
        ),
        TimerEffect::CloseRun => (
            update.expression_attribute_values(":effect", s(CLOSE_RUN_EFFECT)),
            "#effect = :effect",
        ),
    }
}

/// The condition that the stored timer begins the same run as the message says (or none).
pub(super) fn run_guard<'a>(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    run: Option<&RunId>,
) -> (aws_sdk_dynamodb::types::builders::UpdateBuilder, &'a str) {
    let update = update.expression_attribute_names("#runId", "runId");
    match run {
        Some(run) => (
            update.expression_attribute_values(":runId", s(run.as_str())),
            "#runId = :runId",
        ),
        None => (update, "attribute_not_exists(#runId)"),
    }
}

/// The `CampaignRunStarted` of `run` started at `at`, as [`Store::start_run`] stores it.
pub(super) fn run_started_event(campaign: &CampaignId, run: &RunId, at: Timestamp) -> StoredEvent {
    StoredEvent::run(campaign, &RunEvent::started(campaign, run, at), at)
}

/// Whether firing a timer with `effect` starts its campaign (only such a timer begins a run).
fn starts_a_run(effect: TimerEffect) -> bool {
    matches!(
        effect,
        TimerEffect::Move {
            from: CampaignStatus::Scheduled,
            to: CampaignStatus::Running
        }
    )
}

/// How the effect is stored (the serde tag of [`TimerEffect`]).
const MOVE_EFFECT: &str = "MOVE";
const REMIND_EFFECT: &str = "REMIND";
const OCCUR_EFFECT: &str = "OCCUR";
const CLOSE_RUN_EFFECT: &str = "CLOSE_RUN";

/// Whether the stored timer `item` has `timer`'s effect and run.
fn stored_timer_matches(item: &super::items::Item, timer: &DueTimer) -> bool {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    };
    text("runId") == timer.run_id.as_ref().map(RunId::as_str)
        && match timer.effect {
            TimerEffect::Move { from, to } => {
                text("effect") == Some(MOVE_EFFECT)
                    && text("from") == Some(from.as_str())
                    && text("to") == Some(to.as_str())
            }
            TimerEffect::Remind => text("effect") == Some(REMIND_EFFECT),
            TimerEffect::Occur => text("effect") == Some(OCCUR_EFFECT),
            TimerEffect::CloseRun => text("effect") == Some(CLOSE_RUN_EFFECT),
        }
}

/// Whether a transaction's write was refused by its condition.
pub(super) fn failed_condition(reason: Option<&CancellationReason>) -> bool {
    reason.and_then(|r| r.code()) == Some("ConditionalCheckFailed")
}

/// Why a transaction was cancelled, write by write; `None` if it failed otherwise.
pub(super) fn cancellation_reasons(
    error: &CallError<SdkError<TransactWriteItemsError>>,
) -> Option<Vec<CancellationReason>> {
    match error {
        CallError::Failed(SdkError::ServiceError(service)) => match service.err() {
            TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                Some(cancelled.cancellation_reasons().to_vec())
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use lifecycle_domain::timer_plan::plan_timers;
    use lifecycle_domain::{Campaign, CampaignId};

    use super::*;
    use crate::store::items::{TimerItem, to_item};

    fn campaign() -> Campaign {
        Campaign {
            id: CampaignId::new("c1"),
            name: "n".into(),
            start_at: Timestamp::from_millis(10_000),
            end_at: Timestamp::from_millis(20_000),
            claim_until: Some(Timestamp::from_millis(30_000)),
            reward_reminder_at: Some(Timestamp::from_millis(25_000)),
            status: CampaignStatus::Scheduled,
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    /// The effect check reads the stored attributes the way the items write them.
    #[test]
    fn stored_effects_are_recognised_and_others_are_not() {
        let mut timers = plan_timers(&campaign());
        let start = timers[0].clone();
        for (kind, effect) in [
            (lifecycle_domain::TimerKind::Occurrence, TimerEffect::Occur),
            (lifecycle_domain::TimerKind::RunClose, TimerEffect::CloseRun),
        ] {
            timers.push(lifecycle_domain::Timer {
                kind,
                effect,
                run_id: None,
                ..start.clone()
            });
        }
        for timer in &timers {
            let item = to_item(&TimerItem::new(timer, 16)).unwrap();
            for other in &timers {
                assert_eq!(
                    stored_timer_matches(&item, &DueTimer::from(other)),
                    other.effect == timer.effect,
                    "{} vs {}",
                    timer.kind,
                    other.kind
                );
            }
        }
    }

    /// A START stored with a run matches only a message naming the same run.
    #[test]
    fn a_stored_run_must_match_the_message() {
        let mut timer = plan_timers(&campaign())[0].clone();
        let run = RunId::new("20261202T090000000Z");
        let mut message = DueTimer::from(&timer);
        timer.run_id = Some(run.clone());
        let with_run = to_item(&TimerItem::new(&timer, 16)).unwrap();
        assert!(
            !stored_timer_matches(&with_run, &message),
            "message without the run"
        );
        message.run_id = Some(run);
        assert!(stored_timer_matches(&with_run, &message));
        message.run_id = Some(RunId::new("20261202T090000001Z"));
        assert!(!stored_timer_matches(&with_run, &message), "another run");
        timer.run_id = None;
        let without_run = to_item(&TimerItem::new(&timer, 16)).unwrap();
        assert!(
            !stored_timer_matches(&without_run, &message),
            "a run not stored"
        );
        assert!(starts_a_run(message.effect));
        assert!(!starts_a_run(plan_timers(&campaign())[1].effect));
    }
}
