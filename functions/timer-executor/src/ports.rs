//! What the executor needs from the outside world, as small traits: the timer store, the
//! timers queue and the planning queue (owned here), and the bus and outbox of the relay
//! ([`lifecycle_adapters::relay::Publish`], [`lifecycle_adapters::relay::Outbox`]).
//! [`Services`] implements them over DynamoDB, SQS and EventBridge; the unit tests implement
//! them in memory.

use std::future::Future;

use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{ApplyOutcome, StoreError};
use lifecycle_domain::delivery::PlanJob;
use lifecycle_domain::timer_messages::OutgoingMessage;
use lifecycle_domain::{CampaignId, DueTimer, TimerStatus, Timestamp};
use lifecycle_resilience::{AwsError, Dependency, ErrorClass};

/// Where timers are fired.
pub trait TimerStore: Sync {
    /// Fires PENDING `timer` at `fired_at`, exactly once however often it is called.
    fn apply_timer(
        &self,
        timer: &DueTimer,
        fired_at: Timestamp,
    ) -> impl Future<Output = Result<ApplyOutcome, StoreError>> + Send;

    /// The PENDING timers of `campaign`, in due order.
    fn pending_timers(
        &self,
        campaign: &CampaignId,
    ) -> impl Future<Output = Result<Vec<DueTimer>, StoreError>> + Send;

    /// Until when the store's circuit breaker refuses calls, or `None` if it lets them
    /// through.
    fn refusing_until(&self, now: Timestamp) -> impl Future<Output = Option<Timestamp>> + Send;
}

/// The timers queue and its dead-letter queue.
pub trait TimersQueue: Sync {
    /// Sends `messages` (early timers going back with their delay).
    fn send(
        &self,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;

    /// Puts a message no retry can fix straight into the DLQ with its error attributes;
    /// `false` if there is no DLQ to put it in.
    fn dead_letter(
        &self,
        body: &str,
        class: &ErrorClass,
        problem: &str,
        failed_at: Timestamp,
    ) -> impl Future<Output = Result<bool, AwsError>> + Send;

    /// Makes each received message (by receipt handle) visible again after its seconds.
    fn delay_redelivery(
        &self,
        delays: &[(String, i32)],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

/// The planning queue, where a START that began a delivery run queues it.
pub trait RunPlanning: Sync {
    /// Queues `jobs` for the planner; `false` if this stack has no planning queue.
    fn queue_runs(&self, jobs: &[PlanJob]) -> impl Future<Output = Result<bool, AwsError>> + Send;
}

impl RunPlanning for Services {
    async fn queue_runs(&self, jobs: &[PlanJob]) -> Result<bool, AwsError> {
        let Some(planning) = &self.planning else {
            return Ok(false);
        };
        let bodies: Vec<String> = jobs.iter().map(PlanJob::to_body).collect();
        planning.send_bodies(&bodies).await?;
        Ok(true)
    }
}

impl TimerStore for Services {
    async fn apply_timer(
        &self,
        timer: &DueTimer,
        fired_at: Timestamp,
    ) -> Result<ApplyOutcome, StoreError> {
        self.store.apply_timer(timer, fired_at).await
    }

    async fn pending_timers(&self, campaign: &CampaignId) -> Result<Vec<DueTimer>, StoreError> {
        let mut timers = self.store.load_partition(campaign).await?.timers;
        timers.retain(|t| t.status == TimerStatus::Pending);
        timers.sort_by_key(|t| t.due_at);
        Ok(timers.iter().map(DueTimer::from).collect())
    }

    async fn refusing_until(&self, now: Timestamp) -> Option<Timestamp> {
        let breaker = self.resilience.breaker(Dependency::DynamoDb)?;
        breaker.refusing_until(now).await
    }
}

impl TimersQueue for Services {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), AwsError> {
        self.timers.send(messages).await
    }

    async fn dead_letter(
        &self,
        body: &str,
        class: &ErrorClass,
        problem: &str,
        failed_at: Timestamp,
    ) -> Result<bool, AwsError> {
        let Some(dlq_url) = self.config.timers_dlq_url.as_deref() else {
            return Ok(false);
        };
        let attributes =
            lifecycle_adapters::aws::redrive::error_attributes(class, problem, failed_at);
        self.timers.dead_letter(dlq_url, body, attributes).await?;
        Ok(true)
    }

    async fn delay_redelivery(&self, delays: &[(String, i32)]) -> Result<(), AwsError> {
        self.timers.delay_redelivery(delays).await
    }
}
