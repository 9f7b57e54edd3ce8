//! Closing a run's window (a series with `runDuration`): firing the series' RUN_CLOSE timer.
//! One read of the run and one of its campaign, then one transaction:
//!
//! 1. the timer, PENDING (or leased by us) at the message's `dueAt` for the message's run →
//!    COMPLETED, or moved on to the window of the buffered run the release starts;
//! 2. the run's `closedAt`, conditional on its window not closed yet and on its delivery
//!    being over or not as read — a completion racing the close makes one of the two fail
//!    and try again, so exactly one of them releases the series;
//! 3. its `CampaignRunClosed` in the outbox;
//! 4. when its delivery is over and it still holds its series, the release
//!    ([`Store::release_series`]): `activeRun` cleared, or the buffered run started.
//!
//! A run still delivering when its window closes sends nothing more (its senders count the
//! rest `expired` from `closesAt` on); its completion releases the series.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use lifecycle_domain::delivery::{RunEvent, RunId, RunRecord};
use lifecycle_domain::{DueTimer, StoredEvent, TimerStatus, Timestamp};

use super::client::{Store, key, s};
use super::timer_apply::{ApplyOutcome, cancellation_reasons, failed_condition, run_started_event};
use super::timer_writes::Claim;
use super::{StoreError, keys};
use crate::aws::SendWith;

/// Reads and transactions tried when the run or its series keeps changing under a close.
const CONTENDED_ATTEMPTS: usize = 3;

/// What firing a RUN_CLOSE did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunClosed {
    /// The run events written to the outbox, to publish: `CampaignRunClosed`, and the
    /// `CampaignRunStarted` of the buffered run the release started.
    pub events: Vec<StoredEvent>,
    /// The buffered run started, to queue for planning.
    pub started: Option<RunId>,
    /// The timer moved on to the started run's window, when that closes within the
    /// direct-send window: hand it to the timers queue.
    pub send_next: Option<DueTimer>,
}

impl Store {
    /// Fires RUN_CLOSE `timer` held under `claim` at `now`: closes its run's window.
    pub(super) async fn apply_run_close(
        &self,
        timer: &DueTimer,
        claim: Claim<'_>,
        now: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        let Some(run_id) = &timer.run_id else {
            return Ok(ApplyOutcome::Mismatch {
                reason: format!("{} names no run to close", timer.timer_id),
            });
        };
        let campaign_id = &timer.campaign_id;
        for _ in 0..CONTENDED_ATTEMPTS {
            let Some(run) = self.get_run(campaign_id, run_id).await? else {
                return Ok(ApplyOutcome::Mismatch {
                    reason: format!(
                        "{} closes run {run_id}, which does not exist",
                        timer.timer_id
                    ),
                });
            };
            if run.closed_at.is_some() {
                // Closed by the transaction that also moved this timer on: a stale message.
                return Ok(ApplyOutcome::AlreadyDone { unpublished: None });
            }
            let campaign = match self.get_campaign(campaign_id).await? {
                Some(campaign) if timer.effect.fits(campaign.status) => campaign,
                other => {
                    return self
                        .not_fitting(timer, claim, other.map(|c| c.status))
                        .await;
                }
            };
            let holds_series = campaign.series_progress.active_run.as_ref() == Some(run_id);
            // The release is never dated before the completion it waited for (`now` was
            // taken before the run was read).
            let released_at = run.completed_at.map_or(now, |completed| now.max(completed));
            let release = if run.completed_at.is_some() && holds_series {
                Some(self.release_series(&campaign, run_id, released_at)?)
            } else {
                None
            };
            let next = release.as_ref().and_then(|release| release.window.clone());
            let closed = StoredEvent::run(
                campaign_id,
                &RunEvent::closed(
                    campaign_id,
                    run_id,
                    run.closes_at.unwrap_or(timer.due_at),
                    now,
                ),
                now,
            );
            let mut writes = vec![
                self.fired_timer(timer, claim, next.as_ref(), now)?,
                self.close_window(&run, now)?,
                self.outbox_put(&closed)?,
            ];
            let mut events = vec![closed];
            let mut started = None;
            if let Some(release) = release {
                writes.extend(release.writes);
                if let Some(run) = release.started {
                    events.push(run_started_event(campaign_id, &run, released_at));
                    started = Some(run);
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
                    let send_next =
                        next.filter(|next| self.sends_directly(next.at, now))
                            .map(|next| DueTimer {
                                due_at: next.at,
                                run_id: Some(next.run),
                                ..timer.clone()
                            });
                    return Ok(ApplyOutcome::RunClosed(Box::new(RunClosed {
                        events,
                        started,
                        send_next,
                    })));
                }
                Err(error) => error,
            };
            let Some(reasons) = cancellation_reasons(&error) else {
                return Err(StoreError::aws("TransactWriteItems", error));
            };
            if failed_condition(reasons.first()) {
                let leased = reasons[0]
                    .item()
                    .and_then(|item| item.get("status"))
                    .and_then(|status| status.as_s().ok())
                    .is_some_and(|status| status == TimerStatus::Running.as_str());
                return Ok(if leased {
                    ApplyOutcome::Early {
                        reason: "timer is RUNNING under another worker's lease".into(),
                    }
                } else {
                    ApplyOutcome::AlreadyDone { unpublished: None }
                });
            }
            if reasons.iter().any(|reason| failed_condition(Some(reason))) {
                // The run completed, or its series moved, between the reads and the write.
                continue;
            }
            return Err(StoreError::aws("TransactWriteItems", error));
        }
        Ok(ApplyOutcome::Early {
            reason: "the run kept changing during its close; retried".into(),
        })
    }

    /// `run`'s window closed at `now`: conditional on it not closed yet and its delivery over
    /// or not, as read.
    fn close_window(
        &self,
        run: &RunRecord,
        now: Timestamp,
    ) -> Result<TransactWriteItem, StoreError> {
        let delivered = if run.completed_at.is_some() {
            "attribute_exists(#completedAt)"
        } else {
            "attribute_not_exists(#completedAt)"
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(&run.campaign_id),
                keys::run_sk(&run.run_id),
            )))
            .update_expression("SET #closedAt = :now, #updatedAt = :now")
            .condition_expression(format!("attribute_not_exists(#closedAt) AND {delivered}"))
            .expression_attribute_names("#closedAt", "closedAt")
            .expression_attribute_names("#completedAt", "completedAt")
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":now", s(now.to_rfc3339()))
            .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
