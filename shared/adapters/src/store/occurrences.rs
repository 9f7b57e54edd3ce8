//! Firing a recurring campaign's OCCURRENCE timer: one read of the campaign (its series and
//! progress), the step decided by the core ([`occurrence_step::step`]), one transaction:
//!
//! 1. the timer, PENDING (or leased by us) at exactly the message's `dueAt` and run, moves
//!    on to the next occurrence — or COMPLETED when the series is over — so the next timer is
//!    written by the transaction that handles this occurrence and the chain cannot break;
//! 2. the campaign, conditional on the status read (RUNNING; or closed, for the close-out that
//!    records the occurrences left before its close `MISSED`), not paused and the
//!    `seriesVersion` read (so a concurrent completion or pause makes the transaction fail and
//!    the step is decided again), gets its new progress (`occurrences`, `activeRun`,
//!    `bufferedRun`, `nextOccurrence` and its `SERIES#` listing);
//! 3. for a run started in a series with `runDuration`, the series' RUN_CLOSE timer armed at
//!    the end of its window;
//! 4. one run record per occurrence handled, each `attribute_not_exists` (started:
//!    PLANNING, with its `closesAt`; buffered: BUFFERED; missed or skipped: terminal), with
//!    its event in the outbox (`CampaignRunStarted`, `CampaignRunMissed`,
//!    `CampaignRunSkipped`).
//!
//! A timer left behind now (an outage longer than one step handles) is stepped again, up to
//! [`STEPS_PER_CALL`] times; what is still behind after that is handed back for re-queuing.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use lifecycle_domain::delivery::{RunEvent, RunEventType, RunId, RunRecord, RunStatus};
use lifecycle_domain::recurrence::occurrence_step::{self, HandledSlot, SlotOutcome};
use lifecycle_domain::recurrence::{OccurrenceStep, SeriesProgress};
use lifecycle_domain::{Campaign, CampaignStatus, DueTimer, StoredEvent, Timestamp};

use super::chain_timer::ChainNext;
use super::client::{Store, key, n, s};
use super::items::{self, RunItem, series_due_keys};
use super::timer_apply::{ApplyOutcome, cancellation_reasons, failed_condition};
use super::timer_writes::Claim;
use super::{StoreError, keys};
use crate::aws::SendWith;

/// Steps one call takes at most before handing a timer still behind back to the caller.
pub const STEPS_PER_CALL: usize = 10;
/// Reads and transactions tried when the series keeps changing under a step.
const CONTENDED_ATTEMPTS: usize = 3;

/// What firing an OCCURRENCE did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OccurrenceApplied {
    /// The run events written to the outbox, to publish.
    pub events: Vec<StoredEvent>,
    /// The runs started, to queue for planning.
    pub started: Vec<RunId>,
    /// Occurrences handled.
    pub handled: usize,
    /// The timer at its next occurrence when that is due within the direct-send window
    /// (or still behind now): hand it to the timers queue. It is stored marked
    /// `queuedAtCreation`, so the dispatcher leaves it; if the send is lost, the
    /// dispatcher's catch-up sends it once it is overdue.
    pub send_next: Option<DueTimer>,
    /// The RUN_CLOSE timer armed for the run started, when its window closes within the
    /// direct-send window: hand it to the timers queue too.
    pub send_close: Option<DueTimer>,
}

impl Store {
    /// Fires OCCURRENCE `timer` held under `claim` at `now`: handles the occurrences due.
    pub(super) async fn apply_occurrence(
        &self,
        timer: &DueTimer,
        claim: Claim<'_>,
        now: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        let mut applied = OccurrenceApplied::default();
        let mut timer = timer.clone();
        let mut claim = claim;
        for _ in 0..STEPS_PER_CALL {
            match self.occurrence_step(&timer, claim, now).await? {
                StepResult::Done(outcome) if applied.handled == 0 => return Ok(outcome),
                StepResult::Done(_) => break,
                StepResult::Applied {
                    step,
                    events,
                    send_close,
                } => {
                    applied.handled += step.slots.len();
                    if send_close.is_some() {
                        applied.send_close = send_close;
                    }
                    applied.events.extend(events);
                    applied.started.extend(
                        step.slots
                            .iter()
                            .filter(|slot| slot.outcome == SlotOutcome::Start)
                            .map(|slot| slot.run_id.clone()),
                    );
                    let behind = step.behind(now);
                    applied.send_next = step
                        .next_due
                        .filter(|next| self.sends_directly(*next, now))
                        .map(|next| DueTimer {
                            due_at: next,
                            run_id: Some(RunId::for_occurrence(next)),
                            ..timer.clone()
                        });
                    match (&applied.send_next, behind) {
                        (Some(next), true) => {
                            timer = next.clone();
                            // The first step released any lease: the timer is PENDING now.
                            claim = Claim::Pending;
                        }
                        _ => break,
                    }
                }
            }
        }
        Ok(ApplyOutcome::Occurred(Box::new(applied)))
    }

    /// One step: read, decide, commit.
    async fn occurrence_step(
        &self,
        timer: &DueTimer,
        claim: Claim<'_>,
        now: Timestamp,
    ) -> Result<StepResult, StoreError> {
        for _ in 0..CONTENDED_ATTEMPTS {
            let campaign = match self.get_campaign(&timer.campaign_id).await? {
                Some(campaign)
                    if campaign.status == CampaignStatus::Running || closed(&campaign) =>
                {
                    campaign
                }
                other => {
                    let outcome = self
                        .not_fitting(timer, claim, other.map(|c| c.status))
                        .await?;
                    return Ok(StepResult::Done(outcome));
                }
            };
            if campaign.series_progress.paused {
                // Pausing moved the timer out of PENDING: this message is stale.
                return Ok(StepResult::Done(ApplyOutcome::AlreadyDone {
                    unpublished: None,
                }));
            }
            let (Some(series), Some(delivery)) = (&campaign.schedule, &campaign.delivery) else {
                return Ok(StepResult::Done(ApplyOutcome::Mismatch {
                    reason: format!(
                        "{} fires a series its campaign does not have",
                        timer.timer_id
                    ),
                }));
            };
            let cron = match series.cron_schedule() {
                Ok(cron) => cron,
                Err(reason) => return Ok(StepResult::Done(ApplyOutcome::Mismatch { reason })),
            };
            let step = if closed(&campaign) {
                occurrence_step::close_out(
                    series,
                    &cron,
                    &campaign.series_progress,
                    timer.due_at,
                    campaign.end_at.min(now),
                )
            } else {
                occurrence_step::step(
                    series,
                    &cron,
                    &campaign.series_progress,
                    timer.due_at,
                    now,
                    self.occurrence_timing().grace_ms,
                )
            };
            let next = step.next_due.map(|at| ChainNext {
                at,
                run: RunId::for_occurrence(at),
            });
            let mut writes = vec![
                self.fired_timer(timer, claim, next.as_ref(), now)?,
                self.advance_series(&campaign, &step.progress, now)?,
            ];
            // What the step records is dated no earlier than the campaign it read (`now` was
            // taken before the read: a run released meanwhile closed its window before it).
            let at = now.max(campaign.updated_at);
            // At most one run starts per step: the run started holds the series.
            let closes_at = series.run_closes_at(at, campaign.end_at);
            let mut send_close = None;
            if let Some(started) = step.slots.iter().find(|s| s.outcome == SlotOutcome::Start)
                && let Some(closes_at) = closes_at
            {
                let window = ChainNext {
                    at: closes_at,
                    run: started.run_id.clone(),
                };
                let (arm, send) = self.arm_run_close(&campaign.id, &window, at)?;
                writes.push(arm);
                send_close = send;
            }
            let armed = writes.len() == 3;
            let mut events = Vec::new();
            for slot in &step.slots {
                let mut record = slot_record(&campaign, delivery, slot, at);
                if slot.outcome == SlotOutcome::Start {
                    record.closes_at = closes_at;
                }
                writes.push(self.put_new(items::to_item(&RunItem::new(&record, at))?)?);
                if let Some(event) = slot_event(&campaign, slot, at) {
                    writes.push(self.outbox_put(&event)?);
                    events.push(event);
                }
            }
            let error = match self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send_with(&self.resilience)
                .await
            {
                Ok(_) => {
                    return Ok(StepResult::Applied {
                        step,
                        events,
                        send_close,
                    });
                }
                Err(error) => error,
            };
            let Some(reasons) = cancellation_reasons(&error) else {
                return Err(StoreError::aws("TransactWriteItems", error));
            };
            if failed_condition(reasons.first()) {
                return Ok(StepResult::Done(
                    self.occurrence_handled_before(timer).await?,
                ));
            }
            if failed_condition(reasons.get(1)) {
                continue;
            }
            if armed && failed_condition(reasons.get(2)) {
                return Ok(StepResult::Done(ApplyOutcome::Mismatch {
                    reason: format!(
                        "the RUN_CLOSE timer of {} is still open for an earlier run",
                        timer.campaign_id
                    ),
                }));
            }
            return Ok(StepResult::Done(ApplyOutcome::Mismatch {
                reason: format!(
                    "a run record of {} already exists for an occurrence not handled yet",
                    timer.campaign_id
                ),
            }));
        }
        Ok(StepResult::Done(ApplyOutcome::Early {
            reason: "the series kept changing during the occurrence; retried".into(),
        }))
    }

    /// The timer moved on before this message: handled already. If the run it started still
    /// has its `CampaignRunStarted` in the outbox, whoever handled it most likely died before
    /// publishing and queuing it: hand both back (a run queued twice is planned once).
    async fn occurrence_handled_before(
        &self,
        timer: &DueTimer,
    ) -> Result<ApplyOutcome, StoreError> {
        let Some(run) = &timer.run_id else {
            return Ok(ApplyOutcome::AlreadyDone { unpublished: None });
        };
        let started = StoredEvent::run(
            &timer.campaign_id,
            &RunEvent::started(&timer.campaign_id, run, timer.due_at),
            timer.due_at,
        );
        if !self
            .outbox_holds(&timer.campaign_id, &started.event_id)
            .await?
        {
            return Ok(ApplyOutcome::AlreadyDone { unpublished: None });
        }
        Ok(ApplyOutcome::Occurred(Box::new(OccurrenceApplied {
            events: Vec::new(),
            started: vec![run.clone()],
            handled: 0,
            send_next: None,
            send_close: None,
        })))
    }

    /// The campaign's series progress `read` → `progress`, conditional on the campaign still
    /// in its status as read (RUNNING, or closed for a close-out), not paused, at the series
    /// version read.
    fn advance_series(
        &self,
        read: &Campaign,
        progress: &SeriesProgress,
        now: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut set = vec![
            "#occurrences = :occurrences",
            "#seriesVersion = :nextVersion",
            "#updatedAt = :now",
        ];
        let mut remove = Vec::new();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(&read.id), keys::CAMPAIGN_SK)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#paused", "paused")
            .expression_attribute_names("#occurrences", "occurrences")
            .expression_attribute_names("#seriesVersion", "seriesVersion")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_names("#activeRun", "activeRun")
            .expression_attribute_names("#bufferedRun", "bufferedRun")
            .expression_attribute_values(":read", s(read.status.as_str()))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":occurrences", n(progress.occurrences))
            .expression_attribute_values(":nextVersion", n(progress.series_version))
            .expression_attribute_values(":now", s(now.to_rfc3339()));
        let update = set_or_remove(
            update,
            (&mut set, &mut remove),
            ("#activeRun", ":activeRun", "#activeRun = :activeRun"),
            progress.active_run.as_ref(),
        );
        let update = set_or_remove(
            update,
            (&mut set, &mut remove),
            (
                "#bufferedRun",
                ":bufferedRun",
                "#bufferedRun = :bufferedRun",
            ),
            progress.buffered_run.as_ref(),
        );
        // Listed in ByDue by the next occurrence (the sweeper's watch on the chain), or
        // unlisted once the series is over.
        let update = update
            .expression_attribute_names("#nextOccurrence", "nextOccurrence")
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK);
        let update = match progress.next_occurrence {
            Some(next) => {
                let (due_pk, due_sk) = series_due_keys(&read.id, next, self.due_shards);
                set.extend([
                    "#nextOccurrence = :nextOccurrence",
                    "#duePk = :seriesPk",
                    "#dueSk = :seriesSk",
                ]);
                update
                    .expression_attribute_values(":nextOccurrence", s(next.to_rfc3339()))
                    .expression_attribute_values(":seriesPk", s(due_pk))
                    .expression_attribute_values(":seriesSk", s(due_sk))
            }
            None => {
                remove.extend(["#nextOccurrence", "#duePk", "#dueSk"]);
                update
            }
        };
        let mut expression = format!("SET {}", set.join(", "));
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let (update, version_guard) =
            series_version_guard(update, read.series_progress.series_version);
        let update = update
            .update_expression(expression)
            .condition_expression(format!(
                "#status = :read AND NOT #paused = :true AND {version_guard}"
            ))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// Adds the `assignment` of `run` to `value`, or `REMOVE name` for none.
fn set_or_remove<'a>(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    (set, remove): (&mut Vec<&'a str>, &mut Vec<&'a str>),
    (name, value, assignment): (&'a str, &'a str, &'a str),
    run: Option<&RunId>,
) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
    match run {
        Some(run) => {
            set.push(assignment);
            update.expression_attribute_values(value, s(run.as_str()))
        }
        None => {
            remove.push(name);
            update
        }
    }
}

/// The condition that the campaign's series is at `version` (never stepped: no attribute).
pub(super) fn series_version_guard(
    update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    version: u64,
) -> (
    aws_sdk_dynamodb::types::builders::UpdateBuilder,
    &'static str,
) {
    let update = update.expression_attribute_names("#seriesVersion", "seriesVersion");
    if version == 0 {
        (update, "attribute_not_exists(#seriesVersion)")
    } else {
        (
            update.expression_attribute_values(":seriesVersion", n(version)),
            "#seriesVersion = :seriesVersion",
        )
    }
}

/// Whether `campaign` closed (its CLOSE fired, possibly before its OCCURRENCE timer handled
/// the occurrences due before it): what is left of its series is closed out.
fn closed(campaign: &Campaign) -> bool {
    matches!(
        campaign.status,
        CampaignStatus::Closed | CampaignStatus::RewardClaim | CampaignStatus::Expired
    )
}

/// One step's result.
enum StepResult {
    /// Committed.
    Applied {
        step: OccurrenceStep,
        events: Vec<StoredEvent>,
        send_close: Option<DueTimer>,
    },
    /// Nothing committed by this step; this is what the timer comes to.
    Done(ApplyOutcome),
}

/// The run record of a handled occurrence.
fn slot_record(
    campaign: &Campaign,
    delivery: &lifecycle_domain::delivery::CampaignDelivery,
    slot: &HandledSlot,
    now: Timestamp,
) -> RunRecord {
    let scheduled = delivery.scheduled_run(&campaign.id, slot.at);
    match slot.outcome {
        SlotOutcome::Start => RunRecord {
            status: RunStatus::Planning,
            started_at: Some(now),
            ..scheduled
        },
        SlotOutcome::Buffer => RunRecord {
            status: RunStatus::Buffered,
            ..scheduled
        },
        SlotOutcome::Missed | SlotOutcome::SkippedOverlap => RunRecord {
            status: if slot.outcome == SlotOutcome::Missed {
                RunStatus::Missed
            } else {
                RunStatus::SkippedOverlap
            },
            planned: true,
            completed_at: Some(now),
            ..scheduled
        },
    }
}

/// The event of a handled occurrence (a buffered one announces itself when it starts).
fn slot_event(campaign: &Campaign, slot: &HandledSlot, now: Timestamp) -> Option<StoredEvent> {
    let event = match slot.outcome {
        SlotOutcome::Start => RunEvent::started(&campaign.id, &slot.run_id, now),
        SlotOutcome::Missed => RunEvent::not_run(
            RunEventType::CampaignRunMissed,
            &campaign.id,
            &slot.run_id,
            slot.at,
            now,
        ),
        SlotOutcome::SkippedOverlap => RunEvent::not_run(
            RunEventType::CampaignRunSkipped,
            &campaign.id,
            &slot.run_id,
            slot.at,
            now,
        ),
        SlotOutcome::Buffer => return None,
    };
    Some(StoredEvent::run(&campaign.id, &event, now))
}
