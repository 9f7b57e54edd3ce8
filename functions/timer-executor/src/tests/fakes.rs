//! In-memory ports for the executor's unit tests: a store that fires timers by the same
//! domain rules as the real one (exactly once, early or obsolete by
//! `lifecycle_domain::firing`), a timers queue and a bus that record what they were asked to
//! do, each able to fail on demand.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use lifecycle_adapters::aws::PublishReport;
use lifecycle_adapters::store::{ApplyOutcome, OccurrenceApplied, RunClosed, StoreError};
use lifecycle_domain::delivery::{PlanJob, RunEvent, RunId};
use lifecycle_domain::firing::{NotFitting, not_fitting};
use lifecycle_domain::timer_messages::OutgoingMessage;
use lifecycle_domain::{
    CampaignId, CampaignStatus, DueTimer, LifecycleEvent, StoredEvent, TimerEffect, TimerId,
    TimerKind, TimerStatus, Timestamp,
};
use lifecycle_resilience::{AwsError, ErrorClass};

use lifecycle_adapters::relay::{Outbox, Publish};
use lifecycle_domain::Alert;
use lifecycle_domain::Outboxed;
use lifecycle_domain::event::BusEvent;

use crate::ports::{RunPlanning, TimerStore, TimersQueue};

/// A stored timer: its status and effect, and the timer as planned.
#[derive(Debug, Clone)]
pub(crate) struct StoredTimer {
    pub(crate) status: TimerStatus,
    pub(crate) effect: TimerEffect,
    pub(crate) planned: DueTimer,
}

/// A message put into the DLQ.
#[derive(Debug, Clone)]
pub(crate) struct DeadLetter {
    pub(crate) body: String,
    pub(crate) code: &'static str,
    pub(crate) problem: String,
}

/// Everything the fakes hold and record.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) campaigns: BTreeMap<CampaignId, CampaignStatus>,
    pub(crate) timers: BTreeMap<TimerId, StoredTimer>,
    pub(crate) outbox: BTreeMap<String, LifecycleEvent>,
    /// Every apply call, by timer id.
    pub(crate) applies: Vec<TimerId>,
    /// Ids of the events the bus accepted, in order.
    pub(crate) published: Vec<String>,
    pub(crate) sent: Vec<OutgoingMessage>,
    pub(crate) dead_letters: Vec<DeadLetter>,
    /// Visibility changes: (receipt handle, seconds).
    pub(crate) delays: Vec<(String, i32)>,
    /// The store's breaker refuses until then.
    pub(crate) breaker_open_until: Option<Timestamp>,
    /// Reads of these campaigns' timers fail.
    pub(crate) failing_reads: BTreeSet<CampaignId>,
    /// Applies of these timers fail with this error code.
    pub(crate) failing_applies: BTreeMap<TimerId, &'static str>,
    /// The bus refuses these event ids.
    pub(crate) refused_events: BTreeSet<String>,
    /// Whether the timers DLQ exists / accepts messages.
    pub(crate) dlq: Dlq,
    /// Runs queued for planning, in order.
    pub(crate) planned_runs: Vec<PlanJob>,
    /// An OCCURRENCE fired moves its timer this far on (ms) and hands it back to be sent.
    pub(crate) occurrence_next_in: Option<i64>,
    /// An OCCURRENCE fired arms the started run's RUN_CLOSE this far on (ms), to be sent.
    pub(crate) window_ms: Option<i64>,
    /// A RUN_CLOSE fired releases its series to this buffered run, whose window it moves to.
    pub(crate) buffered_run: Option<RunId>,
    /// Whether the planning queue exists / accepts messages.
    pub(crate) planning: Dlq,
}

/// The state of the timers DLQ (or of the planning queue).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dlq {
    #[default]
    Accepting,
    Failing,
    Missing,
}

/// The executor's ports in memory.
#[derive(Debug, Default)]
pub(crate) struct FakePorts(pub(crate) Mutex<World>);

impl FakePorts {
    /// A campaign in `status` with `timers` PENDING.
    pub(crate) fn with_campaign(
        &self,
        id: &str,
        status: CampaignStatus,
        timers: &[&DueTimer],
    ) -> &Self {
        let mut world = self.world();
        world.campaigns.insert(CampaignId::new(id), status);
        for timer in timers {
            world.timers.insert(
                timer.timer_id.clone(),
                StoredTimer {
                    status: TimerStatus::Pending,
                    effect: timer.effect,
                    planned: (*timer).clone(),
                },
            );
        }
        drop(world);
        self
    }

    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().expect("fake lock")
    }
}

/// Completes PENDING `timer` if its campaign (now `status`) `fits`; else what the store
/// answers: already done, or not fitting.
fn take_pending(
    world: &mut World,
    timer: &DueTimer,
    status: Option<CampaignStatus>,
    fits: bool,
) -> Result<(), ApplyOutcome> {
    let stored = world.timers.get_mut(&timer.timer_id).expect("stored");
    if stored.status != TimerStatus::Pending {
        return Err(ApplyOutcome::AlreadyDone { unpublished: None });
    }
    if !fits {
        return Err(match not_fitting(timer.kind, timer.effect, status) {
            NotFitting::Early { reason } => ApplyOutcome::Early { reason },
            NotFitting::Obsolete { reason } => ApplyOutcome::Obsolete { reason },
        });
    }
    stored.status = TimerStatus::Completed;
    Ok(())
}

/// An OCCURRENCE fired in the fake store: while its campaign is RUNNING and the timer
/// PENDING, it starts the occurrence's run (its `CampaignRunStarted` in the outcome) and the
/// timer is done (or moved on by `occurrence_next_in`, to be sent).
fn occur(
    world: &mut World,
    timer: &DueTimer,
    status: Option<CampaignStatus>,
    fired_at: Timestamp,
) -> ApplyOutcome {
    if let Err(outcome) = take_pending(
        world,
        timer,
        status,
        status == Some(CampaignStatus::Running),
    ) {
        return outcome;
    }
    let run = timer.run_id.clone().expect("an occurrence carries its run");
    let started = RunEvent::started(&timer.campaign_id, &run, fired_at);
    let send_next = world.occurrence_next_in.map(|ms| DueTimer {
        due_at: timer.due_at.plus_millis(ms),
        run_id: Some(RunId::for_occurrence(timer.due_at.plus_millis(ms))),
        ..timer.clone()
    });
    let send_close = world.window_ms.map(|ms| DueTimer {
        timer_id: lifecycle_domain::TimerId::new(&timer.campaign_id, TimerKind::RunClose),
        kind: TimerKind::RunClose,
        effect: TimerEffect::CloseRun,
        due_at: fired_at.plus_millis(ms),
        run_id: Some(run.clone()),
        ..timer.clone()
    });
    ApplyOutcome::Occurred(Box::new(OccurrenceApplied {
        events: vec![StoredEvent::run(&timer.campaign_id, &started, fired_at)],
        started: vec![run],
        handled: 1,
        send_next,
        send_close,
    }))
}

/// A RUN_CLOSE fired in the fake store: while its campaign fits and the timer is PENDING, it
/// closes its run (`CampaignRunClosed` in the outcome) and, with a `buffered_run`, starts
/// that run and moves on to its window (`window_ms` after now, to be sent).
fn close_run(
    world: &mut World,
    timer: &DueTimer,
    status: Option<CampaignStatus>,
    fired_at: Timestamp,
) -> ApplyOutcome {
    let fits = status.is_some_and(|status| timer.effect.fits(status));
    if let Err(outcome) = take_pending(world, timer, status, fits) {
        return outcome;
    }
    let run = timer.run_id.clone().expect("a run close carries its run");
    let closed = RunEvent::closed(&timer.campaign_id, &run, timer.due_at, fired_at);
    let mut events = vec![StoredEvent::run(&timer.campaign_id, &closed, fired_at)];
    let started = world.buffered_run.take();
    if let Some(next) = &started {
        let event = RunEvent::started(&timer.campaign_id, next, fired_at);
        events.push(StoredEvent::run(&timer.campaign_id, &event, fired_at));
    }
    let send_next = started
        .as_ref()
        .zip(world.window_ms)
        .map(|(next, ms)| DueTimer {
            due_at: fired_at.plus_millis(ms),
            run_id: Some(next.clone()),
            ..timer.clone()
        });
    ApplyOutcome::RunClosed(Box::new(RunClosed {
        events,
        started,
        send_next,
    }))
}

fn aws_error(operation: &'static str, code: &str) -> AwsError {
    AwsError {
        operation,
        code: code.to_owned(),
        message: "injected by the test".to_owned(),
        status: Some(500),
    }
}

impl TimerStore for FakePorts {
    async fn apply_timer(
        &self,
        timer: &DueTimer,
        fired_at: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        let mut world = self.world();
        world.applies.push(timer.timer_id.clone());
        if let Some(code) = world.failing_applies.get(&timer.timer_id) {
            return Err(StoreError::Aws(aws_error("TransactWriteItems", code)));
        }
        let status = world.campaigns.get(&timer.campaign_id).copied();
        let Some(stored) = world.timers.get(&timer.timer_id).cloned() else {
            return Ok(ApplyOutcome::AlreadyDone { unpublished: None });
        };
        if stored.effect != timer.effect {
            return Ok(ApplyOutcome::Mismatch {
                reason: "effect differs from the stored timer".into(),
            });
        }
        let status_before = status.unwrap_or(CampaignStatus::Cancelled);
        let (event_type, from, to) = match timer.effect.event(status_before) {
            Ok(Some(event)) => event,
            Ok(None) if timer.effect == TimerEffect::CloseRun => {
                return Ok(close_run(&mut world, timer, status, fired_at));
            }
            Ok(None) => return Ok(occur(&mut world, timer, status, fired_at)),
            Err(illegal) => {
                return Ok(ApplyOutcome::Mismatch {
                    reason: illegal.to_string(),
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
        if stored.status != TimerStatus::Pending {
            let unpublished = world.outbox.get(&event.event_id).cloned();
            return Ok(ApplyOutcome::AlreadyDone { unpublished });
        }
        if status.is_none_or(|s| !timer.effect.fits(s)) {
            return Ok(match not_fitting(timer.kind, timer.effect, status) {
                NotFitting::Early { reason } => ApplyOutcome::Early { reason },
                NotFitting::Obsolete { reason } => {
                    world
                        .timers
                        .get_mut(&timer.timer_id)
                        .expect("stored")
                        .status = TimerStatus::Cancelled;
                    ApplyOutcome::Obsolete { reason }
                }
            });
        }
        world
            .timers
            .get_mut(&timer.timer_id)
            .expect("stored")
            .status = TimerStatus::Completed;
        world.campaigns.insert(timer.campaign_id.clone(), to);
        world.outbox.insert(event.event_id.clone(), event.clone());
        Ok(ApplyOutcome::Applied(event))
    }

    async fn pending_timers(&self, campaign: &CampaignId) -> Result<Vec<DueTimer>, StoreError> {
        let world = self.world();
        if world.failing_reads.contains(campaign) {
            return Err(StoreError::Aws(aws_error("Query", "InternalServerError")));
        }
        let mut pending: Vec<DueTimer> = world
            .timers
            .values()
            .filter(|t| t.planned.campaign_id == *campaign && t.status == TimerStatus::Pending)
            .map(|t| t.planned.clone())
            .collect();
        pending.sort_by_key(|t| t.due_at);
        Ok(pending)
    }

    async fn refusing_until(&self, now: Timestamp) -> Option<Timestamp> {
        self.world().breaker_open_until.filter(|until| *until > now)
    }
}

impl RunPlanning for FakePorts {
    async fn queue_runs(&self, jobs: &[PlanJob]) -> Result<bool, AwsError> {
        let mut world = self.world();
        match world.planning {
            Dlq::Accepting => {
                world.planned_runs.extend(jobs.iter().cloned());
                Ok(true)
            }
            Dlq::Failing => Err(aws_error("SendMessageBatch", "InternalError")),
            Dlq::Missing => Ok(false),
        }
    }
}

impl TimersQueue for FakePorts {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), AwsError> {
        self.world().sent.extend(messages.iter().cloned());
        Ok(())
    }

    async fn dead_letter(
        &self,
        body: &str,
        class: &ErrorClass,
        problem: &str,
        _failed_at: Timestamp,
    ) -> Result<bool, AwsError> {
        let mut world = self.world();
        match world.dlq {
            Dlq::Missing => Ok(false),
            Dlq::Failing => Err(aws_error("SendMessage", "InternalError")),
            Dlq::Accepting => {
                world.dead_letters.push(DeadLetter {
                    body: body.to_owned(),
                    code: class.code,
                    problem: problem.to_owned(),
                });
                Ok(true)
            }
        }
    }

    async fn delay_redelivery(&self, delays: &[(String, i32)]) -> Result<(), AwsError> {
        self.world().delays.extend(delays.iter().cloned());
        Ok(())
    }
}

impl Outbox for FakePorts {
    async fn clear_outbox<E: Outboxed + Sync>(&self, events: &[E]) -> Result<(), StoreError> {
        let mut world = self.world();
        for event in events {
            world.outbox.remove(event.event_id());
        }
        Ok(())
    }

    async fn mark_alerts_published(&self, _alerts: &[Alert]) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Publish for FakePorts {
    async fn publish<E: BusEvent + Sync>(&self, events: &[E]) -> PublishReport {
        let mut world = self.world();
        let mut report = PublishReport::default();
        for event in events {
            let id = event.event_id().to_owned();
            if world.refused_events.contains(&id) {
                report
                    .failed
                    .push((id, aws_error("PutEvents", "InternalFailure")));
            } else {
                world.published.push(id.clone());
                report.published.push(id);
            }
        }
        report
    }
}
