//! The sender's ports ([`lifecycle_delivery::sender::ports`]) over AWS: runs, batches and the
//! ledger in DynamoDB, list ranges in S3, email through SES v2, signed webhooks, the send rate
//! shared by every instance (a DynamoDB token bucket per channel, drawn [`TOKENS_PER_TAKE`]
//! tokens at a time by one refill per instance and channel), and the deliveries queue. The
//! run events its writes put in the outbox (each `RecipientDelivery` of the event channel,
//! `CampaignRunCompleted`) are published when a batch is recorded or its run completed, ten
//! to a request; what fails to publish stays in the outbox for the sweeper. After a recorded batch, a `CampaignRunProgress` with the run's
//! counts is published straight to the bus, at most every [`PROGRESS_EVERY`] per run and
//! instance (informational: a lost one is superseded by the next or by the completion).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lifecycle_adapters::aws::{AwsClients, TimerQueue};
use lifecycle_adapters::config::ConfigError;
use lifecycle_adapters::delivery::queue_messages::{DeadLetters, send_to_dlq};
use lifecycle_adapters::delivery::{
    DeliveryConfig, Email, EmailSender, RecipientLists, SigningSecrets, WebhookCall, WebhookClient,
    WebhookSettings,
};
use lifecycle_adapters::relay::publish_and_clear;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::started_runs::queue_released_run;
use lifecycle_adapters::store::{BatchKey, LedgerRun, StoreError, keys};
use lifecycle_delivery::sender::ports::{
    Ledger, Lists, PortError, Provider, RunPlan, Runs, SendGate,
};
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::batch_state::{BatchRecorded, Lease};
use lifecycle_domain::delivery::ledger_write::{Claim, LedgerWrite, WriteOutcome};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::run_record::RunRecord;
use lifecycle_domain::delivery::send_rate::{Bucket, Grant, SendRate};
use lifecycle_domain::delivery::{
    BatchJob, Channel, Counts, LedgerEntry, Progress, RecipientList, RenderedMessage, RunEvent,
    RunStatus,
};
use lifecycle_domain::stored_event::StoredEvent;

use crate::messages::DeliveriesQueue;

/// Tokens an instance takes from the shared bucket at once (one write per this many sends).
pub const TOKENS_PER_TAKE: u32 = 10;
/// Taken tokens not used within this time are dropped, so that no instance sends later, in
/// a burst, what the shared rate gave out earlier.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(1);
/// The least time between two `CampaignRunProgress` events of a run from one instance.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The email rate when neither `EMAIL_SEND_RATE` nor SES's `GetAccount` gives one (SES's
/// sandbox rate).
pub const FALLBACK_EMAIL_RATE: f64 = 1.0;

/// Tokens this instance holds for one channel, and the bucket as it last saw it.
#[derive(Debug, Default)]
struct TokenPool {
    tokens: u32,
    taken_at: Option<Instant>,
    seen: Option<Bucket>,
}

/// What the sender function runs on.
pub struct SenderServices {
    /// The store, the bus and the resilience layer.
    pub services: Services,
    /// The delivery settings.
    pub config: DeliveryConfig,
    lists: RecipientLists,
    email: EmailSender,
    webhooks: WebhookClient,
    deliveries: TimerQueue,
    email_rate: SendRate,
    webhook_rate: SendRate,
    pools: Mutex<HashMap<Channel, TokenPool>>,
    /// One refill of a channel's pool at a time per instance: concurrent batches that find
    /// the pool empty wait for the one refill instead of racing for the bucket item (each
    /// lost race is a refused conditional write and another try).
    email_refill: tokio::sync::Mutex<()>,
    webhook_refill: tokio::sync::Mutex<()>,
    /// Run events written to the outbox and not yet published.
    written_events: Mutex<Vec<StoredEvent>>,
    /// When this instance last published each run's progress.
    progress_published: Mutex<HashMap<(String, String), Instant>>,
}

impl SenderServices {
    /// Builds the sender over `clients`; the email rate is `config`'s, else SES's
    /// `MaxSendRate` (one `GetAccount`), else [`FALLBACK_EMAIL_RATE`].
    pub async fn new(
        services: Services,
        config: DeliveryConfig,
        clients: &AwsClients,
    ) -> Result<Self, ConfigError> {
        let delivery = &clients.delivery;
        let resilience = services.resilience.clone();
        let secrets = SigningSecrets::new(
            delivery.ssm.clone(),
            delivery.secretsmanager.clone(),
            resilience.clone(),
        );
        let webhooks = WebhookClient::new(
            WebhookSettings {
                timeout: config.webhook_timeout,
                ..WebhookSettings::default()
            },
            secrets,
        );
        let email = EmailSender::new(delivery.sesv2.clone());
        let email_rate = match config.email_send_rate {
            Some(rate) => rate as f64,
            None => email.max_send_rate().await.unwrap_or_else(|error| {
                tracing::warn!(
                    error,
                    rate = FALLBACK_EMAIL_RATE,
                    "SES sending rate unknown; using the fallback (set EMAIL_SEND_RATE)"
                );
                FALLBACK_EMAIL_RATE
            }),
        };
        Ok(Self {
            lists: RecipientLists::new(delivery.s3.clone(), resilience.clone()),
            email,
            webhooks,
            deliveries: TimerQueue::new(clients.sqs.clone(), &config.deliveries_queue_url)
                .with_resilience(resilience),
            email_rate: SendRate::per_second(email_rate),
            webhook_rate: SendRate::per_second(config.webhook_send_rate as f64),
            pools: Mutex::default(),
            email_refill: tokio::sync::Mutex::default(),
            webhook_refill: tokio::sync::Mutex::default(),
            written_events: Mutex::default(),
            progress_published: Mutex::default(),
            services,
            config,
        })
    }

    /// Reads the configuration from the environment and loads the AWS clients (cold start).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let delivery = DeliveryConfig::from_env()?;
        let (services, clients) = Services::from_env_with_clients().await?;
        Self::new(services, delivery, &clients).await
    }

    async fn run(&self, job: &BatchJob) -> Result<Option<RunRecord>, PortError> {
        self.services
            .store
            .get_run(&job.campaign_id, &job.run_id)
            .await
            .map_err(port)
    }

    async fn existing_run(&self, job: &BatchJob) -> Result<RunRecord, PortError> {
        self.run(job)
            .await?
            .ok_or_else(|| PortError(format!("run {} of {} is gone", job.run_id, job.campaign_id)))
    }

    /// Publishes the run events written so far and clears them from the outbox.
    async fn publish_written(&self) {
        let events = std::mem::take(&mut *self.written_events.lock().expect("written events"));
        if events.is_empty() {
            return;
        }
        let report = publish_and_clear(&self.services, &self.services, &events).await;
        if !report.failed.is_empty() {
            tracing::warn!(
                failed = report.failed.len(),
                "run events not published now; they stay in the outbox for the sweeper"
            );
        }
    }

    /// Publishes the run's progress unless this instance did less than [`PROGRESS_EVERY`] ago.
    async fn publish_progress(&self, job: &BatchJob, progress: &Progress, now: Timestamp) {
        let run = (job.campaign_id.to_string(), job.run_id.to_string());
        {
            let mut published = self.progress_published.lock().expect("progress times");
            if published
                .get(&run)
                .is_some_and(|at| at.elapsed() < PROGRESS_EVERY)
            {
                return;
            }
            published.insert(run, Instant::now());
        }
        let event = RunEvent::progress(&job.campaign_id, &job.run_id, progress, now);
        let report = self.services.events.publish(&[event]).await;
        if !report.failed.is_empty() {
            tracing::warn!(run = %job.run_id, "run progress not published (the next one supersedes it)");
        }
    }

    fn rate(&self, channel: Channel) -> SendRate {
        match channel {
            Channel::Email => self.email_rate,
            Channel::Webhook | Channel::Event => self.webhook_rate,
        }
    }

    /// The lock that lets one batch at a time refill `channel`'s pool.
    fn refill_lock(&self, channel: Channel) -> &tokio::sync::Mutex<()> {
        match channel {
            Channel::Email => &self.email_refill,
            Channel::Webhook | Channel::Event => &self.webhook_refill,
        }
    }

    /// Takes one of this instance's tokens for `channel`, if it holds a fresh one.
    fn take_pooled(&self, channel: Channel) -> bool {
        let mut pools = self.pools.lock().expect("token pools");
        let pool = pools.entry(channel).or_default();
        let fresh = pool
            .taken_at
            .is_some_and(|at| at.elapsed() < TOKEN_LIFETIME);
        if fresh && pool.tokens > 0 {
            pool.tokens -= 1;
            true
        } else {
            false
        }
    }
}

fn port(error: StoreError) -> PortError {
    PortError(error.to_string())
}

fn key(job: &BatchJob) -> BatchKey<'_> {
    BatchKey {
        campaign: &job.campaign_id,
        run: &job.run_id,
        batch: &job.batch,
    }
}

impl Runs for SenderServices {
    async fn load_run(&self, job: &BatchJob) -> Result<Option<RunPlan>, PortError> {
        Ok(self.run(job).await?.map(|run| RunPlan {
            status: run.status,
            message: run.message,
            list: run.list,
            csv_header: run.csv_header,
            on_ambiguous: run.on_ambiguous,
            closes_at: run.closes_at,
        }))
    }

    async fn run_status(&self, job: &BatchJob) -> Result<RunStatus, PortError> {
        Ok(self.existing_run(job).await?.status)
    }

    async fn run_progress(&self, job: &BatchJob) -> Result<Progress, PortError> {
        Ok(self.existing_run(job).await?.progress())
    }

    async fn lease_batch(
        &self,
        job: &BatchJob,
        token: &str,
        until: Timestamp,
    ) -> Result<Lease, PortError> {
        self.services
            .store
            .lease_batch(key(job), token, until, Timestamp::now())
            .await
            .map_err(port)
    }

    async fn release_batch(
        &self,
        job: &BatchJob,
        token: &str,
        now: Timestamp,
    ) -> Result<(), PortError> {
        self.services
            .store
            .release_batch(key(job), token, now)
            .await
            .map(|_| ())
            .map_err(port)
    }

    async fn record_batch(
        &self,
        job: &BatchJob,
        token: &str,
        counts: Counts,
        now: Timestamp,
    ) -> Result<BatchRecorded, PortError> {
        let recorded = self
            .services
            .store
            .record_batch(key(job), token, counts, now)
            .await
            .map_err(port)?;
        if matches!(recorded, BatchRecorded::Recorded(_)) {
            lifecycle_adapters::crash::point("sender.after_progress");
        }
        self.publish_written().await;
        if let BatchRecorded::Recorded(progress) = &recorded {
            self.publish_progress(job, progress, now).await;
        }
        Ok(recorded)
    }

    async fn complete_run(
        &self,
        job: &BatchJob,
        progress: Progress,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        let completed = self
            .services
            .store
            .complete_run(&job.campaign_id, &job.run_id, progress, now)
            .await
            .map_err(port)?;
        if completed.is_some() {
            let event = RunEvent::completed(&job.campaign_id, &job.run_id, &progress, now);
            self.written_events
                .lock()
                .expect("written events")
                .push(StoredEvent::run(&job.campaign_id, &event, now));
        }
        self.publish_written().await;
        let done = completed.is_some();
        if let Some(completed) = completed {
            queue_released_run(&self.services, &job.campaign_id, completed, now).await;
        }
        Ok(done)
    }

    fn batch_recorded(
        &self,
        _job: &BatchJob,
        channel: Channel,
        counts: Counts,
        progress: Progress,
    ) {
        crate::emit_batch_metrics(self.services.config.log_format, channel, counts, progress);
    }
}

impl Ledger for SenderServices {
    async fn entries(
        &self,
        job: &BatchJob,
        ids: &[String],
    ) -> Result<HashMap<String, LedgerEntry>, PortError> {
        self.services
            .store
            .ledger_entries(&job.campaign_id, &job.run_id, ids)
            .await
            .map_err(port)
    }

    async fn write(&self, job: &BatchJob, write: &LedgerWrite) -> Result<WriteOutcome, PortError> {
        let now = Timestamp::now();
        let run = LedgerRun {
            campaign: &job.campaign_id,
            run: &job.run_id,
            now,
        };
        let outcome = self
            .services
            .store
            .ledger_write(run, write)
            .await
            .map_err(port)?;
        if outcome == WriteOutcome::Written && write.claim.is_some() {
            lifecycle_adapters::crash::point("sender.after_claim");
        }
        // Written or Taken: the settlement (and its event) is in the store.
        if outcome != WriteOutcome::LeaseLost
            && let Some(event) = write.settle.as_ref().and_then(|s| s.event.as_ref())
        {
            self.written_events
                .lock()
                .expect("written events")
                .push(StoredEvent::run(&job.campaign_id, event, now));
        }
        Ok(outcome)
    }

    async fn release(&self, job: &BatchJob, claim: &Claim) -> Result<(), PortError> {
        self.services
            .store
            .ledger_release(&job.campaign_id, &job.run_id, claim)
            .await
            .map_err(port)
    }
}

impl Lists for SenderServices {
    async fn read_range(
        &self,
        list: &RecipientList,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>, PortError> {
        self.lists
            .read_range(list, start, end)
            .await
            .map_err(|error| PortError(error.to_string()))
    }
}

impl Provider for SenderServices {
    async fn send(&self, message: &RenderedMessage, delivery_id: &str) -> SendOutcome {
        let outcome = match message {
            RenderedMessage::Email {
                from,
                to,
                subject,
                text,
                html,
            } => {
                self.email
                    .send(Email {
                        from,
                        to: std::slice::from_ref(to),
                        subject,
                        text: text.as_deref(),
                        html: html.as_deref(),
                    })
                    .await
            }
            RenderedMessage::Webhook {
                url,
                body,
                secret_ref,
            } => {
                let call = WebhookCall {
                    url,
                    body,
                    secret_ref,
                    webhook_id: delivery_id,
                };
                self.webhooks.post(call, Timestamp::now()).await
            }
            // The event channel's delivery is its ledger write; it has no provider call.
            RenderedMessage::Event { .. } => return SendOutcome::Delivered,
        };
        if outcome == SendOutcome::Delivered {
            lifecycle_adapters::crash::point("sender.after_provider");
        }
        outcome
    }
}

impl SendGate for SenderServices {
    async fn acquire(&self, channel: Channel) -> Result<(), PortError> {
        if channel == Channel::Event {
            return Ok(());
        }
        if self.take_pooled(channel) {
            return Ok(());
        }
        let _refilling = self.refill_lock(channel).lock().await;
        loop {
            // A batch that refilled while this one waited for the lock left tokens.
            if self.take_pooled(channel) {
                return Ok(());
            }
            let seen = self
                .pools
                .lock()
                .expect("token pools")
                .get(&channel)
                .and_then(|pool| pool.seen);
            let (grant, stored) = self
                .services
                .store
                .take_send_tokens(
                    &keys::send_rate_sk(channel),
                    self.rate(channel),
                    TOKENS_PER_TAKE,
                    seen,
                    Timestamp::now(),
                )
                .await
                .map_err(port)?;
            let wait = {
                let mut pools = self.pools.lock().expect("token pools");
                let pool = pools.entry(channel).or_default();
                pool.seen = stored;
                match grant {
                    Grant::Take { granted, .. } => {
                        // One of the granted tokens is this send's; the rest join what the
                        // pool still holds (a concurrent batch may have refilled it
                        // meanwhile: replacing its tokens would throw granted ones away).
                        let fresh = pool
                            .taken_at
                            .is_some_and(|at| at.elapsed() < TOKEN_LIFETIME);
                        let kept = if fresh { pool.tokens } else { 0 };
                        pool.tokens = kept + granted.saturating_sub(1);
                        pool.taken_at = Some(Instant::now());
                        return Ok(());
                    }
                    Grant::Wait { wait_ms } => wait_ms,
                }
            };
            tokio::time::sleep(Duration::from_millis(wait.max(1))).await;
        }
    }

    async fn pause(&self, millis: u64) {
        tokio::time::sleep(Duration::from_millis(millis)).await;
    }
}

impl DeadLetters for SenderServices {
    async fn dead_letter(&self, body: &str, problem: &str, now: Timestamp) -> Result<bool, String> {
        let dlq_url = self.config.deliveries_dlq_url.as_deref();
        send_to_dlq(&self.deliveries, dlq_url, body, problem, now).await
    }
}

impl DeliveriesQueue for SenderServices {
    async fn delay_redelivery(&self, receipt: &str, seconds: i32) -> Result<(), String> {
        self.deliveries
            .delay_redelivery(&[(receipt.to_owned(), seconds)])
            .await
            .map_err(|error| error.to_string())
    }
}
