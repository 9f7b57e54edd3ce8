//! The planner's ports ([`lifecycle_delivery::planner::ports`]) over AWS: the run's planning
//! state in DynamoDB, list ranges in S3, batches to the deliveries queue and continuations to
//! the planning queue.

use lifecycle_adapters::aws::{AwsClients, TimerQueue};
use lifecycle_adapters::config::ConfigError;
use lifecycle_adapters::delivery::queue_messages::{DeadLetters, send_to_dlq};
use lifecycle_adapters::delivery::{DeliveryConfig, RecipientLists};
use lifecycle_adapters::relay::publish_and_clear;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::started_runs::queue_released_run;
use lifecycle_adapters::store::StoreError;
use lifecycle_delivery::planner::ports::{
    Committed, ListRanges, PlanQueues, PlanState, PlanStore, PortError,
};
use lifecycle_domain::delivery::batch_plan::PlanCommit;
use lifecycle_domain::delivery::recipient::CsvHeader;
use lifecycle_domain::delivery::{
    BatchJob, PlanCursor, PlanJob, Progress, RecipientList, RunEvent,
};
use lifecycle_domain::{StoredEvent, Timestamp};

/// What the planner function runs on.
pub struct PlannerServices {
    /// The store, the bus and the resilience layer.
    pub services: Services,
    /// The delivery settings.
    pub config: DeliveryConfig,
    lists: RecipientLists,
    deliveries: TimerQueue,
    planning: TimerQueue,
}

impl PlannerServices {
    /// Builds the planner over `clients`; `PLANNING_QUEUE_URL` is required.
    pub fn new(
        services: Services,
        config: DeliveryConfig,
        clients: &AwsClients,
    ) -> Result<Self, ConfigError> {
        let planning = services.planning.clone().ok_or(ConfigError {
            variable: "PLANNING_QUEUE_URL",
            problem: "is required".into(),
        })?;
        let resilience = services.resilience.clone();
        Ok(Self {
            lists: RecipientLists::new(clients.delivery.s3.clone(), resilience.clone()),
            deliveries: TimerQueue::new(clients.sqs.clone(), &config.deliveries_queue_url)
                .with_resilience(resilience.clone()),
            planning,
            services,
            config,
        })
    }

    /// Reads the configuration from the environment and loads the AWS clients (cold start).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let delivery = DeliveryConfig::from_env()?;
        let (services, clients) = Services::from_env_with_clients().await?;
        Self::new(services, delivery, &clients)
    }
}

fn port(error: StoreError) -> PortError {
    PortError(error.to_string())
}

impl PlanStore for PlannerServices {
    async fn load(&self, job: &PlanJob) -> Result<Option<PlanState>, PortError> {
        let run = self
            .services
            .store
            .get_run(&job.campaign_id, &job.run_id)
            .await
            .map_err(port)?;
        Ok(run.map(|run| PlanState {
            status: run.status,
            progress: run.progress(),
            list: run.list,
            cursor: run.cursor,
            last_group: run.last_group,
            csv_header: run.csv_header,
            planned: run.planned,
        }))
    }

    async fn save_header(
        &self,
        job: &PlanJob,
        header: &CsvHeader,
        cursor: PlanCursor,
    ) -> Result<bool, PortError> {
        self.services
            .store
            .save_csv_header(&job.campaign_id, &job.run_id, header, cursor)
            .await
            .map_err(port)
    }

    async fn commit(
        &self,
        job: &PlanJob,
        expected: PlanCursor,
        commit: &PlanCommit,
    ) -> Result<Committed, PortError> {
        let saved = self
            .services
            .store
            .commit_plan(
                &job.campaign_id,
                &job.run_id,
                expected,
                commit,
                Timestamp::now(),
            )
            .await
            .map_err(port)?;
        if saved.is_some() && !commit.last {
            lifecycle_adapters::crash::point("planner.mid_list");
        }
        Ok(saved.map_or(Committed::Conflict, Committed::Saved))
    }

    /// Completes the run and publishes its `CampaignRunCompleted` at once (if that fails,
    /// the outbox relay publishes it later); a series' buffered run its completion started
    /// is announced and queued for planning.
    async fn complete_run(
        &self,
        job: &PlanJob,
        progress: Progress,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let completed = self
            .services
            .store
            .complete_run(&job.campaign_id, &job.run_id, progress, now)
            .await
            .map_err(port)?;
        let Some(completed) = completed else {
            return Ok(false);
        };
        let event = RunEvent::completed(&job.campaign_id, &job.run_id, &progress, now);
        let stored = StoredEvent::run(&job.campaign_id, &event, now);
        publish_and_clear(&self.services, &self.services, &[stored]).await;
        queue_released_run(&self.services, &job.campaign_id, completed, now).await;
        Ok(true)
    }
}

impl ListRanges for PlannerServices {
    async fn read_chunk(
        &self,
        list: &RecipientList,
        offset: u64,
        max: u64,
    ) -> Result<Vec<u8>, PortError> {
        self.lists
            .read_range(list, offset, offset.saturating_add(max))
            .await
            .map_err(|error| PortError(error.to_string()))
    }
}

impl PlanQueues for PlannerServices {
    async fn send_batches(&self, jobs: &[BatchJob]) -> Result<(), PortError> {
        let bodies: Vec<String> = jobs.iter().map(BatchJob::to_body).collect();
        self.deliveries
            .send_bodies(&bodies)
            .await
            .map_err(|error| PortError(error.to_string()))
    }

    async fn continue_plan(&self, job: &PlanJob) -> Result<(), PortError> {
        self.planning
            .send_bodies(&[job.to_body()])
            .await
            .map_err(|error| PortError(error.to_string()))
    }
}

impl DeadLetters for PlannerServices {
    async fn dead_letter(&self, body: &str, problem: &str, now: Timestamp) -> Result<bool, String> {
        let dlq_url = self.config.planning_dlq_url.as_deref();
        send_to_dlq(&self.planning, dlq_url, body, problem, now).await
    }
}
