//! What the sweeper needs from the outside world: its store operations ([`SweepStore`], owned
//! here), and the bus and outbox of the relay ([`lifecycle_adapters::relay::Publish`],
//! [`lifecycle_adapters::relay::Outbox`]). [`Services`] implements them over DynamoDB and
//! EventBridge; the unit tests implement them in memory.

use std::collections::BTreeMap;
use std::future::Future;

use lifecycle_adapters::consumer_control::ConsumerControl;
use lifecycle_adapters::relay::{Outbox, Publish};
use lifecycle_adapters::services::Services;
use lifecycle_adapters::started_runs::queue_released_run;
use lifecycle_adapters::store::{
    ApplyOutcome, Claim, Correction, HeartbeatRecord, StalledRun, StoreError, TakenBack, Watermarks,
};
use lifecycle_domain::delivery::{BatchJob, PlanJob, PlannedBatch, RunId, RunRecord, RunStatus};
use lifecycle_domain::recovery::RecoveryReport;
use lifecycle_domain::{
    Alert, Campaign, CampaignId, CampaignStatus, DueTimer, StoredEvent, Timer, TimerKind,
    Timestamp, Transition,
};
use lifecycle_resilience::AwsError;

/// Stall markers: function → the last sign of life of the outage it was found stalled in.
pub type StallMarkers = BTreeMap<String, Timestamp>;

/// The store operations of the sweeper (every write conditional, as in the store).
pub trait SweepStore: Sync {
    /// How many shards the due index has.
    fn due_shards(&self) -> u16;

    /// The SQS consumers' pause records and mappings (none by default: the step then has
    /// nothing to do).
    fn consumer_control(&self) -> Option<&ConsumerControl> {
        None
    }

    /// RUNNING timers of `shard` whose lease ran out at or before `now`, at most `limit`.
    fn expired_leases(
        &self,
        shard: u16,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Timer>, StoreError>> + Send;

    /// Takes back RUNNING `timer` whose lease (as read) expired.
    fn take_back_timer(
        &self,
        timer: &Timer,
        now: Timestamp,
        max_attempts: u32,
    ) -> impl Future<Output = Result<TakenBack, StoreError>> + Send;

    /// PENDING timers of `shard` due at or before `until`, at most `limit`.
    fn overdue_timers(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Timer>, StoreError>> + Send;

    /// The campaign (strongly consistent), `None` if it does not exist.
    fn get_campaign(
        &self,
        id: &CampaignId,
    ) -> impl Future<Output = Result<Option<Campaign>, StoreError>> + Send;

    /// Cancels `campaign_id`'s PENDING timer of `kind` (due at `due_at`, if given) with
    /// `reason`; `false` if it was not PENDING (any more).
    fn cancel_pending_timer(
        &self,
        campaign_id: &CampaignId,
        kind: TimerKind,
        due_at: Option<Timestamp>,
        reason: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Claims PENDING `timer` under a lease of `owner` until `expires_at`.
    fn claim_timer(
        &self,
        timer: &Timer,
        owner: &str,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Fires `timer`, held under the lease of `owner`, at `fired_at`.
    fn fire_leased_timer(
        &self,
        timer: &DueTimer,
        owner: &str,
        fired_at: Timestamp,
    ) -> impl Future<Output = Result<ApplyOutcome, StoreError>> + Send;

    /// Campaigns in `status` due to leave it at or before `until`, at most `limit`.
    fn overdue_campaigns(
        &self,
        status: CampaignStatus,
        until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Campaign>, StoreError>> + Send;

    /// Moves `campaign` along `transition` with its event and an audit record, starting its
    /// SCHEDULED delivery run `start_run` if given; `None` if it changed since it was read.
    fn correct_campaign(
        &self,
        campaign: &Campaign,
        transition: Transition,
        actor: &str,
        now: Timestamp,
        start_run: Option<&RunId>,
    ) -> impl Future<Output = Result<Option<Correction>, StoreError>> + Send;

    /// Outbox events of `shard` committed at or before `until`, at most `limit`.
    fn stale_outbox(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;

    /// Alerts raised at or before `until` and not published, at most `limit`.
    fn unpublished_alerts(
        &self,
        until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Alert>, StoreError>> + Send;

    /// Takes or renews the sweep lease for `owner` until `expires_at`; `false` if another
    /// sweep holds it.
    fn claim_sweep(
        &self,
        owner: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives the sweep lease of `owner` up.
    fn release_sweep(&self, owner: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores the recovery report.
    fn save_report(
        &self,
        report: &RecoveryReport,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The dispatcher's watermarks (their save time is its pulse).
    fn load_watermarks(&self) -> impl Future<Output = Result<Watermarks, StoreError>> + Send;

    /// Every function's heartbeat, and the stall markers (function → the last sign of life of
    /// the outage it was found stalled in), read together.
    fn heartbeats_and_stalls(
        &self,
    ) -> impl Future<Output = Result<(Vec<HeartbeatRecord>, StallMarkers), StoreError>> + Send;

    /// Marks `function` stalled since `last_seen` (idempotent; a newer outage replaces it).
    fn record_stall(
        &self,
        function: &str,
        last_seen: Timestamp,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes `function`'s stall marker if it still holds `last_seen`; `false` if it is gone
    /// or marks another outage.
    fn clear_stall(
        &self,
        function: &str,
        last_seen: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores `alert` once per id: `true` if new.
    fn raise_alert(&self, alert: &Alert) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Up to `limit` delivery runs in `status` that last moved before `before`, each with
    /// when it last moved (or was last held).
    fn stalled_runs(
        &self,
        status: RunStatus,
        before: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<StalledRun>, StoreError>> + Send;

    /// Holds a run found stalled by `before` for its repair at `now`: `false` if it moved
    /// meanwhile or another sweep holds it. A held run is not stalled again for a stall period.
    fn hold_stalled_run(
        &self,
        run: &RunRecord,
        before: Timestamp,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The batches of a run whose lease ran out by `now` before they were recorded.
    fn expired_batches(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Vec<PlannedBatch>, StoreError>> + Send;

    /// Cancels a SCHEDULED run whose START can no longer fire, with `reason`; `false` if it
    /// was not SCHEDULED.
    fn cancel_unstarted_run(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        reason: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Completes the run if every recipient is settled: its `CampaignRunCompleted`, or `None`.
    /// A series' buffered run its completion started is queued, and its window's close
    /// sent, before it returns.
    fn complete_run_if_done(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<StoredEvent>, StoreError>> + Send;

    /// Recurring campaigns of `shard` whose next occurrence is at or before `until`, at most
    /// `limit`.
    fn stalled_series(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Campaign>, StoreError>> + Send;

    /// The campaign's OCCURRENCE timer, if it exists (consistent).
    fn occurrence_timer(
        &self,
        campaign: &CampaignId,
    ) -> impl Future<Output = Result<Option<Timer>, StoreError>> + Send;

    /// Writes the series' OCCURRENCE timer again at its next occurrence over the lost `timer`
    /// as read; `false` if the timer or the series changed meanwhile.
    fn repair_series(
        &self,
        campaign: &Campaign,
        timer: Option<&Timer>,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes a campaign no longer SCHEDULED or RUNNING out of the series watch.
    fn unlist_series(
        &self,
        campaign: &Campaign,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The delivery queues the sweeper puts stalled runs' work back on.
pub trait RunQueues: Sync {
    /// Messages waiting in the deliveries queue that no sender has taken yet (in-flight and
    /// delayed ones not counted); `None` if this stack has no deliveries queue.
    fn deliveries_backlog(&self) -> impl Future<Output = Result<Option<u64>, AwsError>> + Send;

    /// Queues runs for planning; `false` if this stack has no planning queue.
    fn queue_plans(&self, jobs: &[PlanJob]) -> impl Future<Output = Result<bool, AwsError>> + Send;

    /// Queues batches for the sender; `false` if this stack has no deliveries queue.
    fn queue_batches(
        &self,
        jobs: &[BatchJob],
    ) -> impl Future<Output = Result<bool, AwsError>> + Send;

    /// Hands `timers` to the timers queue, each delayed to its due second (a series' next
    /// occurrence after a missed one this sweep fired).
    fn queue_timers(
        &self,
        timers: &[DueTimer],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

impl RunQueues for Services {
    async fn deliveries_backlog(&self) -> Result<Option<u64>, AwsError> {
        let Some(deliveries) = &self.deliveries else {
            return Ok(None);
        };
        Ok(Some(deliveries.depth(deliveries.url()).await?.visible))
    }

    async fn queue_plans(&self, jobs: &[PlanJob]) -> Result<bool, AwsError> {
        let Some(planning) = &self.planning else {
            return Ok(false);
        };
        let bodies: Vec<String> = jobs.iter().map(PlanJob::to_body).collect();
        planning.send_bodies(&bodies).await?;
        Ok(true)
    }

    async fn queue_batches(&self, jobs: &[BatchJob]) -> Result<bool, AwsError> {
        let Some(deliveries) = &self.deliveries else {
            return Ok(false);
        };
        let bodies: Vec<String> = jobs.iter().map(BatchJob::to_body).collect();
        deliveries.send_bodies(&bodies).await?;
        Ok(true)
    }

    async fn queue_timers(&self, timers: &[DueTimer]) -> Result<(), AwsError> {
        self.timers
            .send(&lifecycle_domain::timer_messages::plan_messages(timers))
            .await
    }
}

impl SweepStore for Services {
    fn due_shards(&self) -> u16 {
        self.store.due_shards()
    }

    fn consumer_control(&self) -> Option<&ConsumerControl> {
        Some(&self.consumers)
    }

    async fn expired_leases(
        &self,
        shard: u16,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        self.store.expired_leases(shard, now, limit).await
    }

    async fn take_back_timer(
        &self,
        timer: &Timer,
        now: Timestamp,
        max_attempts: u32,
    ) -> Result<TakenBack, StoreError> {
        self.store.take_back_timer(timer, now, max_attempts).await
    }

    async fn overdue_timers(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        self.store.overdue_timers(shard, until, limit).await
    }

    async fn get_campaign(&self, id: &CampaignId) -> Result<Option<Campaign>, StoreError> {
        self.store.get_campaign(id).await
    }

    async fn cancel_pending_timer(
        &self,
        campaign_id: &CampaignId,
        kind: TimerKind,
        due_at: Option<Timestamp>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        self.store
            .cancel_timer_now(campaign_id, kind, due_at, Claim::Pending, reason)
            .await
    }

    async fn claim_timer(
        &self,
        timer: &Timer,
        owner: &str,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.store.claim_timer(timer, owner, expires_at).await
    }

    async fn fire_leased_timer(
        &self,
        timer: &DueTimer,
        owner: &str,
        fired_at: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        self.store
            .apply_claimed_timer(timer, Claim::Lease { owner }, fired_at)
            .await
    }

    async fn overdue_campaigns(
        &self,
        status: CampaignStatus,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Campaign>, StoreError> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        self.store.overdue_campaigns(status, until, limit).await
    }

    async fn correct_campaign(
        &self,
        campaign: &Campaign,
        transition: Transition,
        actor: &str,
        now: Timestamp,
        start_run: Option<&RunId>,
    ) -> Result<Option<Correction>, StoreError> {
        self.store
            .correct_campaign(campaign, transition, actor, now, start_run)
            .await
    }

    async fn stale_outbox(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        self.store.stale_outbox(shard, until, limit).await
    }

    async fn unpublished_alerts(
        &self,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Alert>, StoreError> {
        self.store.unpublished_alerts(until, limit).await
    }

    async fn claim_sweep(
        &self,
        owner: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.store.claim_sweep(owner, now, expires_at).await
    }

    async fn release_sweep(&self, owner: &str) -> Result<(), StoreError> {
        self.store.release_sweep(owner).await
    }

    async fn save_report(&self, report: &RecoveryReport) -> Result<(), StoreError> {
        self.store.save_report(report).await
    }

    async fn load_watermarks(&self) -> Result<Watermarks, StoreError> {
        self.store.load_watermarks().await
    }

    async fn heartbeats_and_stalls(
        &self,
    ) -> Result<(Vec<HeartbeatRecord>, StallMarkers), StoreError> {
        self.store.heartbeats_and_stalls().await
    }

    async fn record_stall(&self, function: &str, last_seen: Timestamp) -> Result<(), StoreError> {
        self.store.record_stall(function, last_seen).await
    }

    async fn clear_stall(&self, function: &str, last_seen: Timestamp) -> Result<bool, StoreError> {
        self.store.clear_stall(function, last_seen).await
    }

    async fn raise_alert(&self, alert: &Alert) -> Result<bool, StoreError> {
        self.store.raise_alert(alert).await
    }

    async fn stalled_runs(
        &self,
        status: RunStatus,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<StalledRun>, StoreError> {
        self.store.stalled_runs(status, before, limit).await
    }

    async fn hold_stalled_run(
        &self,
        run: &RunRecord,
        before: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.store.hold_stalled_run(run, before, now).await
    }

    async fn expired_batches(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        now: Timestamp,
    ) -> Result<Vec<PlannedBatch>, StoreError> {
        self.store.expired_batches(campaign, run, now).await
    }

    async fn cancel_unstarted_run(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        reason: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.store
            .cancel_unstarted_run(campaign, run, reason, now)
            .await
    }

    async fn complete_run_if_done(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        now: Timestamp,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let Some((event, completed)) = self.store.complete_if_done(campaign, run, now).await?
        else {
            return Ok(None);
        };
        // A series' buffered run it started: announced, queued, its window's close sent.
        queue_released_run(self, campaign, completed, now).await;
        Ok(Some(event))
    }

    async fn stalled_series(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Campaign>, StoreError> {
        self.store.stalled_series(shard, until, limit).await
    }

    async fn occurrence_timer(&self, campaign: &CampaignId) -> Result<Option<Timer>, StoreError> {
        self.store
            .chain_timer(campaign, lifecycle_domain::TimerKind::Occurrence)
            .await
    }

    async fn repair_series(
        &self,
        campaign: &Campaign,
        timer: Option<&Timer>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.store.repair_series(campaign, timer, now).await
    }

    async fn unlist_series(&self, campaign: &Campaign) -> Result<bool, StoreError> {
        self.store.unlist_series(campaign).await
    }
}

/// Everything a sweep works through: its store operations, the bus and the outbox.
pub trait SweepPorts: SweepStore + RunQueues + Publish + Outbox {}

impl<P: SweepStore + RunQueues + Publish + Outbox> SweepPorts for P {}
