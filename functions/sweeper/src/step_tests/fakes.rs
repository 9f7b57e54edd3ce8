//! In-memory ports for the sweeper's unit tests: one due-index shard, campaigns and timers
//! changed by the same rules as the store (conditional on what was read; moves through
//! `Campaign::apply`; early or obsolete by `lifecycle_domain::firing`), an outbox, alerts, the
//! sweep lease, reports, a bus that records what it was given, and delivery queues that record
//! what was queued, with a deliveries backlog a test sets (or makes unreadable).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use lifecycle_adapters::aws::PublishReport;
use lifecycle_adapters::relay::{Outbox, Publish};
use lifecycle_adapters::store::{
    ApplyOutcome, Correction, HeartbeatRecord, StalledRun, StoreError, TakenBack, Watermarks,
};
use lifecycle_domain::delivery::{
    BatchJob, PlanJob, PlannedBatch, RunEvent, RunId, RunRecord, RunStatus,
};
use lifecycle_domain::event::BusEvent;
use lifecycle_domain::firing::{NotFitting, not_fitting};
use lifecycle_domain::recovery::RecoveryReport;
use lifecycle_domain::timer::after_expired_lease;
use lifecycle_domain::{
    Alert, Campaign, CampaignId, CampaignStatus, DueTimer, LifecycleEvent, Outboxed, StoredEvent,
    Timer, TimerEffect, TimerId, TimerKind, TimerStatus, Timestamp, Transition,
};
use lifecycle_resilience::AwsError;

use crate::ports::{RunQueues, StallMarkers, SweepStore};

/// Everything the fakes hold and record.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) campaigns: BTreeMap<CampaignId, Campaign>,
    pub(crate) timers: BTreeMap<TimerId, Timer>,
    /// Outbox events with the time they were committed.
    pub(crate) outbox: Vec<(LifecycleEvent, Timestamp)>,
    /// Alerts and whether they were published.
    pub(crate) alerts: Vec<(Alert, bool)>,
    /// Ids the bus accepted, in order.
    pub(crate) published: Vec<String>,
    pub(crate) reports: Vec<RecoveryReport>,
    pub(crate) sweep_lease: Option<(String, Timestamp)>,
    pub(crate) watermarks: Watermarks,
    pub(crate) heartbeats: Vec<HeartbeatRecord>,
    /// Stall markers: function → the last sign of life of its outage.
    pub(crate) stalls: StallMarkers,
    /// Raising an alert fails.
    pub(crate) failing_alerts: bool,
    /// Reads of the due index fail.
    pub(crate) failing_reads: bool,
    /// Writes that went through, by operation (the dry-run check).
    pub(crate) writes: Vec<&'static str>,
    /// Delivery runs and when each last moved.
    pub(crate) runs: Vec<(RunRecord, Timestamp)>,
    /// Batches whose lease expired unrecorded, by run.
    pub(crate) expired_batches: BTreeMap<RunId, Vec<PlannedBatch>>,
    /// Holds on stalled runs are refused (another sweep holds them, or they moved).
    pub(crate) hold_refused: bool,
    /// Runs queued for planning.
    pub(crate) queued_plans: Vec<PlanJob>,
    /// Batches queued for the sender.
    pub(crate) queued_batches: Vec<BatchJob>,
    /// Timers handed to the timers queue.
    pub(crate) queued_timers: Vec<DueTimer>,
    /// Recurring campaigns taken out of the series watch.
    pub(crate) unlisted_series: BTreeSet<CampaignId>,
    /// Messages visible in the deliveries queue that no sender has taken.
    pub(crate) deliveries_backlog: u64,
    /// Reads of the deliveries queue's depth fail.
    pub(crate) failing_backlog: bool,
    /// Reads of the deliveries queue's depth, failed ones included.
    pub(crate) backlog_reads: usize,
}

/// The sweeper's ports in memory.
#[derive(Debug, Default)]
pub(crate) struct FakePorts(pub(crate) Mutex<World>);

impl FakePorts {
    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0.lock().expect("fake lock")
    }
}

fn read_failure() -> StoreError {
    StoreError::Aws(AwsError {
        operation: "Query",
        code: "InternalServerError".into(),
        message: "injected by the test".into(),
        status: Some(500),
    })
}

impl SweepStore for FakePorts {
    fn due_shards(&self) -> u16 {
        1
    }

    async fn expired_leases(
        &self,
        _shard: u16,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        let world = self.world();
        if world.failing_reads {
            return Err(read_failure());
        }
        Ok(world
            .timers
            .values()
            .filter(|t| t.status == TimerStatus::Running)
            .filter(|t| t.lease_expires_at.is_some_and(|at| at <= now))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn take_back_timer(
        &self,
        timer: &Timer,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<TakenBack, StoreError> {
        let mut world = self.world();
        let Some(stored) = world.timers.get_mut(&timer.timer_id) else {
            return Ok(TakenBack::Gone);
        };
        if stored.status != TimerStatus::Running
            || stored.lease_owner != timer.lease_owner
            || stored.lease_expires_at != timer.lease_expires_at
        {
            return Ok(TakenBack::Gone);
        }
        let next = after_expired_lease(stored.attempts, max_attempts);
        stored.attempts += 1;
        stored.status = next;
        stored.lease_owner = None;
        stored.lease_expires_at = None;
        let attempts = stored.attempts;
        world.writes.push("take_back_timer");
        if next == TimerStatus::Failed {
            let alert = Alert::timer_failed(timer, attempts, now);
            world.alerts.push((alert.clone(), false));
            return Ok(TakenBack::Failed(Box::new(alert)));
        }
        Ok(TakenBack::Requeued)
    }

    async fn overdue_timers(
        &self,
        _shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        let world = self.world();
        if world.failing_reads {
            return Err(read_failure());
        }
        let mut timers: Vec<Timer> = world
            .timers
            .values()
            .filter(|t| t.status == TimerStatus::Pending && t.due_at <= until)
            .cloned()
            .collect();
        timers.sort_by_key(|t| t.due_at);
        timers.truncate(limit as usize);
        Ok(timers)
    }

    async fn get_campaign(&self, id: &CampaignId) -> Result<Option<Campaign>, StoreError> {
        Ok(self.world().campaigns.get(id).cloned())
    }

    async fn cancel_pending_timer(
        &self,
        campaign_id: &CampaignId,
        kind: TimerKind,
        due_at: Option<Timestamp>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let mut world = self.world();
        let id = TimerId::new(campaign_id, kind);
        let Some(timer) = world.timers.get_mut(&id) else {
            return Ok(false);
        };
        if timer.status != TimerStatus::Pending || due_at.is_some_and(|due| due != timer.due_at) {
            return Ok(false);
        }
        timer.status = TimerStatus::Cancelled;
        timer.cancel_reason = Some(reason.to_owned());
        world.writes.push("cancel_pending_timer");
        Ok(true)
    }

    async fn claim_timer(
        &self,
        timer: &Timer,
        owner: &str,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut world = self.world();
        let Some(stored) = world.timers.get_mut(&timer.timer_id) else {
            return Ok(false);
        };
        if stored.status != TimerStatus::Pending || stored.due_at != timer.due_at {
            return Ok(false);
        }
        stored.status = TimerStatus::Running;
        stored.lease_owner = Some(owner.to_owned());
        stored.lease_expires_at = Some(expires_at);
        world.writes.push("claim_timer");
        Ok(true)
    }

    async fn fire_leased_timer(
        &self,
        timer: &DueTimer,
        owner: &str,
        fired_at: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        let mut world = self.world();
        let held = world.timers.get(&timer.timer_id).is_some_and(|t| {
            t.status == TimerStatus::Running && t.lease_owner.as_deref() == Some(owner)
        });
        if !held {
            return Ok(ApplyOutcome::AlreadyDone { unpublished: None });
        }
        let status = world.campaigns.get(&timer.campaign_id).map(|c| c.status);
        if status.is_none_or(|s| !timer.effect.fits(s)) {
            return Ok(match not_fitting(timer.kind, timer.effect, status) {
                NotFitting::Early { reason } => ApplyOutcome::Early { reason },
                NotFitting::Obsolete { reason } => {
                    let stored = world.timers.get_mut(&timer.timer_id).expect("held");
                    stored.status = TimerStatus::Cancelled;
                    ApplyOutcome::Obsolete { reason }
                }
            });
        }
        let status = status.expect("fits");
        let (event_type, from, to) = timer
            .effect
            .event(status)
            .expect("a legal effect")
            .expect("the sweeper tests fire no occurrence");
        let event = LifecycleEvent::for_timer(
            event_type,
            &timer.timer_id,
            &timer.campaign_id,
            (from, to),
            timer.due_at,
            fired_at,
        );
        if let TimerEffect::Move { to, .. } = timer.effect {
            let campaign = world.campaigns.get_mut(&timer.campaign_id).expect("fits");
            campaign.status = to;
            campaign.version += 1;
        }
        let stored = world.timers.get_mut(&timer.timer_id).expect("held");
        stored.status = TimerStatus::Completed;
        stored.lease_owner = None;
        world.outbox.push((event.clone(), fired_at));
        world.writes.push("fire_leased_timer");
        Ok(ApplyOutcome::Applied(event))
    }

    async fn overdue_campaigns(
        &self,
        status: CampaignStatus,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Campaign>, StoreError> {
        Ok(self
            .world()
            .campaigns
            .values()
            .filter(|c| c.status == status)
            .filter(|c| c.scheduled_exit(status).is_some_and(|(_, at)| at <= until))
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn correct_campaign(
        &self,
        campaign: &Campaign,
        transition: Transition,
        _actor: &str,
        now: Timestamp,
        start_run: Option<&RunId>,
    ) -> Result<Option<Correction>, StoreError> {
        let mut world = self.world();
        let current = world.campaigns.get(&campaign.id);
        if current.is_none_or(|c| (c.status, c.version) != (campaign.status, campaign.version)) {
            return Ok(None);
        }
        let (moved, event) = campaign
            .apply(transition, now)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let run_started = match start_run {
            Some(run_id) => {
                let Some((run, moved_at)) = world.runs.iter_mut().find(|(r, _)| {
                    r.campaign_id == campaign.id
                        && &r.run_id == run_id
                        && r.status == RunStatus::Scheduled
                }) else {
                    return Err(StoreError::Corrupt(format!(
                        "run {run_id} is not SCHEDULED"
                    )));
                };
                run.status = RunStatus::Planning;
                run.started_at = Some(now);
                *moved_at = now;
                let started = RunEvent::started(&campaign.id, run_id, now);
                Some(StoredEvent::run(&campaign.id, &started, now))
            }
            None => None,
        };
        world.campaigns.insert(moved.id.clone(), moved.clone());
        world.outbox.push((event.clone(), now));
        world.writes.push("correct_campaign");
        Ok(Some(Correction {
            campaign: moved,
            event,
            run_started,
        }))
    }

    async fn stale_outbox(
        &self,
        _shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .world()
            .outbox
            .iter()
            .filter(|(_, at)| *at <= until)
            .take(limit as usize)
            .map(|(event, _)| StoredEvent::from(event))
            .collect())
    }

    async fn unpublished_alerts(
        &self,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Alert>, StoreError> {
        Ok(self
            .world()
            .alerts
            .iter()
            .filter(|(alert, published)| !published && alert.raised_at <= until)
            .take(limit as usize)
            .map(|(alert, _)| alert.clone())
            .collect())
    }

    async fn claim_sweep(
        &self,
        owner: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut world = self.world();
        let free = world
            .sweep_lease
            .as_ref()
            .is_none_or(|(holder, until)| holder == owner || *until <= now);
        if free {
            world.sweep_lease = Some((owner.to_owned(), expires_at));
        }
        Ok(free)
    }

    async fn release_sweep(&self, owner: &str) -> Result<(), StoreError> {
        let mut world = self.world();
        if world
            .sweep_lease
            .as_ref()
            .is_some_and(|(holder, _)| holder == owner)
        {
            world.sweep_lease = None;
        }
        Ok(())
    }

    async fn save_report(&self, report: &RecoveryReport) -> Result<(), StoreError> {
        self.world().reports.push(report.clone());
        Ok(())
    }

    async fn load_watermarks(&self) -> Result<Watermarks, StoreError> {
        Ok(self.world().watermarks.clone())
    }

    async fn heartbeats_and_stalls(
        &self,
    ) -> Result<(Vec<HeartbeatRecord>, StallMarkers), StoreError> {
        let world = self.world();
        Ok((world.heartbeats.clone(), world.stalls.clone()))
    }

    async fn record_stall(&self, function: &str, last_seen: Timestamp) -> Result<(), StoreError> {
        let mut world = self.world();
        world.stalls.insert(function.to_owned(), last_seen);
        world.writes.push("record_stall");
        Ok(())
    }

    async fn clear_stall(&self, function: &str, last_seen: Timestamp) -> Result<bool, StoreError> {
        let mut world = self.world();
        if world.stalls.get(function) != Some(&last_seen) {
            return Ok(false);
        }
        world.stalls.remove(function);
        world.writes.push("clear_stall");
        Ok(true)
    }

    async fn raise_alert(&self, alert: &Alert) -> Result<bool, StoreError> {
        let mut world = self.world();
        if world.failing_alerts {
            return Err(read_failure());
        }
        if world
            .alerts
            .iter()
            .any(|(a, _)| a.alert_id == alert.alert_id)
        {
            return Ok(false);
        }
        world.alerts.push((alert.clone(), false));
        world.writes.push("raise_alert");
        Ok(true)
    }

    async fn stalled_runs(
        &self,
        status: RunStatus,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<StalledRun>, StoreError> {
        let world = self.world();
        if world.failing_reads {
            return Err(read_failure());
        }
        Ok(world
            .runs
            .iter()
            .filter(|(run, moved)| {
                run.status == status && *moved < before && run.completed_at.is_none()
            })
            .take(limit as usize)
            .map(|(run, moved)| StalledRun {
                run: run.clone(),
                moved_at: *moved,
            })
            .collect())
    }

    async fn hold_stalled_run(
        &self,
        run: &RunRecord,
        before: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut world = self.world();
        if world.hold_refused {
            return Ok(false);
        }
        let Some((_, moved)) = world.runs.iter_mut().find(|(r, moved)| {
            r.campaign_id == run.campaign_id
                && r.run_id == run.run_id
                && r.status == run.status
                && *moved < before
        }) else {
            return Ok(false);
        };
        *moved = now;
        world.writes.push("hold_stalled_run");
        Ok(true)
    }

    async fn expired_batches(
        &self,
        _campaign: &CampaignId,
        run: &RunId,
        _now: Timestamp,
    ) -> Result<Vec<PlannedBatch>, StoreError> {
        Ok(self
            .world()
            .expired_batches
            .get(run)
            .cloned()
            .unwrap_or_default())
    }

    async fn cancel_unstarted_run(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut world = self.world();
        let Some((record, _)) = world.runs.iter_mut().find(|(r, _)| {
            &r.campaign_id == campaign && &r.run_id == run && r.status == RunStatus::Scheduled
        }) else {
            return Ok(false);
        };
        record.status = RunStatus::Cancelled;
        record.planned = true;
        record.completed_at = Some(now);
        record.cancel_reason = Some(reason.to_owned());
        world.writes.push("cancel_unstarted_run");
        Ok(true)
    }

    async fn complete_run_if_done(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        now: Timestamp,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let mut world = self.world();
        let Some((record, _)) = world
            .runs
            .iter_mut()
            .find(|(r, _)| &r.campaign_id == campaign && &r.run_id == run)
        else {
            return Ok(None);
        };
        let progress = record.progress();
        if record.completed_at.is_some() || !progress.is_done() {
            return Ok(None);
        }
        record.completed_at = Some(now);
        if record.status == RunStatus::Sending {
            record.status = RunStatus::Completed;
        }
        world.writes.push("complete_run");
        let event = RunEvent::completed(campaign, run, &progress, now);
        Ok(Some(StoredEvent::run(campaign, &event, now)))
    }

    async fn stalled_series(
        &self,
        _shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Campaign>, StoreError> {
        let world = self.world();
        if world.failing_reads {
            return Err(read_failure());
        }
        Ok(world
            .campaigns
            .values()
            .filter(|c| c.schedule.is_some() && !c.series_progress.paused)
            .filter(|c| !world.unlisted_series.contains(&c.id))
            .filter(|c| {
                c.series_progress
                    .next_occurrence
                    .is_some_and(|next| next <= until)
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn occurrence_timer(&self, campaign: &CampaignId) -> Result<Option<Timer>, StoreError> {
        let id = TimerId::new(campaign, TimerKind::Occurrence);
        Ok(self.world().timers.get(&id).cloned())
    }

    async fn repair_series(
        &self,
        campaign: &Campaign,
        timer: Option<&Timer>,
        _now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut world = self.world();
        let id = TimerId::new(&campaign.id, TimerKind::Occurrence);
        let stored = world.campaigns.get(&campaign.id);
        let series_as_read = stored.is_some_and(|c| {
            c.status == campaign.status
                && !c.series_progress.paused
                && c.series_progress.series_version == campaign.series_progress.series_version
        });
        let timer_as_read = match (world.timers.get(&id), timer) {
            (None, None) => true,
            (Some(now), Some(read)) => now.status == read.status && now.due_at == read.due_at,
            _ => false,
        };
        let Some(next) = campaign.series_progress.next_occurrence else {
            return Ok(false);
        };
        if !(series_as_read && timer_as_read) {
            return Ok(false);
        }
        world.writes.push("repair_series");
        world.timers.insert(
            id.clone(),
            Timer {
                timer_id: id,
                campaign_id: campaign.id.clone(),
                kind: TimerKind::Occurrence,
                status: TimerStatus::Pending,
                due_at: next,
                effect: TimerEffect::Occur,
                run_id: Some(RunId::for_occurrence(next)),
                attempts: 0,
                last_error: None,
                fired_at: None,
                cancel_reason: None,
                queued_at_creation: false,
                next_deadline: None,
                lease_owner: None,
                lease_expires_at: None,
            },
        );
        Ok(true)
    }

    async fn unlist_series(&self, campaign: &Campaign) -> Result<bool, StoreError> {
        let mut world = self.world();
        world.writes.push("unlist_series");
        world.unlisted_series.insert(campaign.id.clone());
        Ok(true)
    }
}

impl RunQueues for FakePorts {
    async fn deliveries_backlog(&self) -> Result<Option<u64>, AwsError> {
        let mut world = self.world();
        world.backlog_reads += 1;
        if world.failing_backlog {
            return Err(AwsError {
                operation: "GetQueueAttributes",
                code: "InternalError".into(),
                message: "injected by the test".into(),
                status: Some(500),
            });
        }
        Ok(Some(world.deliveries_backlog))
    }

    async fn queue_plans(&self, jobs: &[PlanJob]) -> Result<bool, AwsError> {
        self.world().queued_plans.extend(jobs.iter().cloned());
        Ok(true)
    }

    async fn queue_batches(&self, jobs: &[BatchJob]) -> Result<bool, AwsError> {
        self.world().queued_batches.extend(jobs.iter().cloned());
        Ok(true)
    }

    async fn queue_timers(&self, timers: &[DueTimer]) -> Result<(), AwsError> {
        self.world().queued_timers.extend(timers.iter().cloned());
        Ok(())
    }
}

impl Outbox for FakePorts {
    async fn clear_outbox<E: Outboxed + Sync>(&self, events: &[E]) -> Result<(), StoreError> {
        let ids: BTreeSet<&str> = events.iter().map(|e| e.event_id()).collect();
        self.world()
            .outbox
            .retain(|(event, _)| !ids.contains(event.event_id.as_str()));
        Ok(())
    }

    async fn mark_alerts_published(&self, alerts: &[Alert]) -> Result<(), StoreError> {
        let ids: BTreeSet<&str> = alerts.iter().map(|a| a.alert_id.as_str()).collect();
        for (alert, published) in &mut self.world().alerts {
            if ids.contains(alert.alert_id.as_str()) {
                *published = true;
            }
        }
        Ok(())
    }
}

impl Publish for FakePorts {
    async fn publish<E: BusEvent + Sync>(&self, events: &[E]) -> PublishReport {
        let mut world = self.world();
        let mut report = PublishReport::default();
        for event in events {
            world.published.push(event.event_id().to_owned());
            report.published.push(event.event_id().to_owned());
        }
        report
    }
}
