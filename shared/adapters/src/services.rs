//! Everything a function needs, built once per cold start: configuration, store, timers
//! queue, event publisher and the request counter attached to their clients.

use crate::retry_counts::RetryCounts;
use std::sync::Arc;

use lifecycle_domain::SystemClock;
use lifecycle_resilience::{
    AlertSink, BreakerConfig, BreakerStore, Breakers, BudgetConfig, CircuitBreaker, Dependency,
    Resilience, ResilienceStats, RetryPolicy,
};

use crate::aws::{AwsClients, EventPublisher, Redrive, RequestCounter, TimerQueue};
use crate::config::{Config, ConfigError};
use crate::heartbeat::Heartbeats;
use crate::relay::AlertRelay;
use crate::runtime::{RUNTIME_CONFIG_REFRESH, RuntimeCache};
use crate::runtime_config::{RuntimeConfig, RuntimeSettings};
use crate::store::{OccurrenceTiming, PageTokenKeys, Store, StoreError};

/// How often each instance reloads the operators' failure patterns.
pub const PATTERN_REFRESH: std::time::Duration = std::time::Duration::from_secs(300);

/// The service's dependencies; cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    pub config: Config,
    pub store: Store,
    pub timers: TimerQueue,
    /// The planning queue, when `PLANNING_QUEUE_URL` is set.
    pub planning: Option<TimerQueue>,
    /// The deliveries queue, when `DELIVERIES_QUEUE_URL` is set.
    pub deliveries: Option<TimerQueue>,
    pub events: EventPublisher,
    /// Lists and redrives the messages of the dead-letter queues (`config.dead_letter_queues`).
    pub redrive: Redrive,
    /// Requests sent by the clients above, per operation.
    pub requests: RequestCounter,
    /// This process's heartbeats.
    pub heartbeats: Heartbeats,
    /// Retries, breakers and error classification of every AWS request above.
    pub resilience: Resilience,
    /// A breaker per dependency over the shared records, built whether or not
    /// `CIRCUIT_BREAKERS` guards this function's requests with them: the API (which runs with
    /// `CIRCUIT_BREAKERS=off`) reads and resets the records through these.
    shared_breakers: Arc<Breakers>,
    /// When this process last added its retry counts to the recovery log.
    pub retry_counts: RetryCounts,
    /// The key signing the API's page tokens, read once per instance.
    pub page_token_keys: PageTokenKeys,
    /// The runtime configuration in force (misfire settings, breaker thresholds), read
    /// every [`RUNTIME_CONFIG_REFRESH`].
    pub runtime: RuntimeCache,
    /// The sweeper, invoked synchronously, when `SWEEPER_FUNCTION_NAME` is set (the API).
    #[cfg(feature = "invoke")]
    pub sweeper: Option<crate::aws::FunctionInvoker>,
    /// Pauses and resumes the SQS consumers of `config.consumer_mappings` (the API and the
    /// sweeper), through the same Lambda client and endpoint as `sweeper`.
    #[cfg(feature = "invoke")]
    pub consumers: crate::consumer_control::ConsumerControl,
    /// The oldest-message ages of queues, from CloudWatch (the API's DLQ listing).
    #[cfg(feature = "queue-ages")]
    pub queue_ages: crate::aws::QueueAges,
}

impl Services {
    /// Builds the services over existing clients.
    pub fn new(config: Config, clients: &AwsClients, requests: RequestCounter) -> Self {
        Self::counted_in(config, clients, requests, ResilienceStats::default())
    }

    /// Like [`Services::new`], with the resilience counters in `stats` (shared by all
    /// functions of a local run).
    pub fn counted_in(
        config: Config,
        clients: &AwsClients,
        requests: RequestCounter,
        stats: ResilienceStats,
    ) -> Self {
        let unguarded = Store::new(
            clients.dynamodb.clone(),
            &config.table_name,
            config.due_shards,
        )
        .with_occurrence_timing(OccurrenceTiming {
            grace_ms: i64::from(config.occurrence_grace_secs) * 1000,
            direct_send_ms: config.direct_send_window_millis(),
        })
        .with_recovery_retention_days(config.recovery_retention_days);
        let alerts = AlertSink::new(
            Arc::new(AlertRelay {
                store: unguarded.clone(),
                publisher: Some(EventPublisher::new(
                    clients.eventbridge.clone(),
                    &config.event_bus_name,
                )),
            }),
            Arc::new(SystemClock),
        );
        let breaker_store: Arc<dyn BreakerStore> = Arc::new(unguarded.clone());
        let all_breakers = Dependency::ALL.map(|dependency| {
            CircuitBreaker::new(
                dependency,
                BreakerConfig::standard(dependency.fail_mode()),
                breaker_store.clone(),
                alerts.clone(),
                config.log_format,
            )
        });
        let shared_breakers = Arc::new(Breakers::new(all_breakers.clone()));
        let breakers = config.circuit_breakers.then(|| Breakers::new(all_breakers));
        let policy = RetryPolicy {
            max_attempts: config.retry_max_attempts,
            ..RetryPolicy::default()
        };
        let resilience =
            Resilience::new(policy, BudgetConfig::default(), breakers, stats).with_alerts(alerts);
        // The pause records go straight to DynamoDB (store/consumers.rs says why).
        #[cfg(feature = "invoke")]
        let consumers = crate::consumer_control::ConsumerControl::new(
            unguarded.clone(),
            config.consumer_mappings.clone(),
            crate::aws::EventSourceMappings::new(
                &clients.lambda,
                config.lambda_endpoint.as_deref(),
            ),
        );
        Self {
            store: unguarded.with_resilience(resilience.clone()),
            timers: TimerQueue::new(clients.sqs.clone(), &config.timers_queue_url)
                .with_resilience(resilience.clone()),
            planning: config.planning_queue_url.as_ref().map(|url| {
                TimerQueue::new(clients.sqs.clone(), url).with_resilience(resilience.clone())
            }),
            deliveries: config.deliveries_queue_url.as_ref().map(|url| {
                TimerQueue::new(clients.sqs.clone(), url).with_resilience(resilience.clone())
            }),
            events: EventPublisher::new(clients.eventbridge.clone(), &config.event_bus_name)
                .with_resilience(resilience.clone()),
            redrive: Redrive::new(clients.sqs.clone(), resilience.clone()),
            heartbeats: Heartbeats::new(config.log_format),
            retry_counts: RetryCounts::default(),
            page_token_keys: PageTokenKeys::default(),
            runtime: RuntimeCache::new(RuntimeSettings::defaults(&config)),
            #[cfg(feature = "invoke")]
            sweeper: config.sweeper_function.as_deref().map(|function| {
                crate::aws::FunctionInvoker::new(
                    &clients.lambda,
                    function,
                    config.lambda_endpoint.as_deref(),
                )
            }),
            #[cfg(feature = "invoke")]
            consumers,
            #[cfg(feature = "queue-ages")]
            queue_ages: clients.queue_ages.clone(),
            resilience,
            shared_breakers,
            config,
            requests,
        }
    }

    /// The breaker of `dependency` over its shared record, to read or reset it, whether or
    /// not this function's own requests are guarded by breakers.
    pub fn shared_breaker(&self, dependency: Dependency) -> Option<&CircuitBreaker> {
        self.shared_breakers.get(dependency)
    }

    /// The sweeper's settings with the runtime configuration's misfire window and grace.
    pub fn sweep_config(&self) -> crate::config::SweepConfig {
        self.runtime.current().settings.sweep(&self.config.sweep)
    }

    /// Reads the stored runtime configuration now and applies it (today's values when none
    /// is stored; a stored one that no longer validates is logged and the last one kept).
    pub async fn reload_runtime_config(&self) -> Result<RuntimeConfig, StoreError> {
        let stored = match self.store.runtime_config().await {
            Ok(stored) => stored,
            Err(error) => {
                self.runtime.read(None);
                return Err(error);
            }
        };
        let config = match stored {
            None => RuntimeConfig {
                version: 0,
                updated_at: None,
                settings: RuntimeSettings::defaults(&self.config),
            },
            Some(stored) => match stored.settings {
                Ok(settings) => RuntimeConfig {
                    version: stored.version,
                    updated_at: stored.updated_at,
                    settings,
                },
                Err(invalid) => {
                    tracing::error!(
                        code = "RUNTIME_CONFIG_INVALID",
                        config_version = stored.version,
                        error = %invalid,
                        "the stored runtime configuration is invalid; the last one stays in use"
                    );
                    self.runtime.read(None);
                    return Ok(self.runtime.current());
                }
            },
        };
        self.apply_runtime_config(&config);
        self.runtime.read(Some(config.clone()));
        Ok(config)
    }

    /// Applies `config` to the shared breakers and the store's occurrence grace.
    fn apply_runtime_config(&self, config: &RuntimeConfig) {
        if config == &self.runtime.current() {
            return;
        }
        for dependency in Dependency::ALL {
            if let Some(breaker) = self.shared_breakers.get(dependency) {
                breaker.set_config(config.settings.breaker(dependency), config.version);
            }
        }
        self.store
            .set_occurrence_grace(i64::from(config.settings.misfire.occurrence_grace_secs) * 1000);
        tracing::info!(
            config_version = config.version,
            "runtime configuration applied"
        );
    }

    /// What every invocation of `function` starts with: its heartbeat (at most one write a
    /// minute), every [`RUNTIME_CONFIG_REFRESH`] the runtime configuration (one GetItem) and,
    /// every [`PATTERN_REFRESH`], the operators' failure patterns (one Query).
    pub async fn begin_invocation(&self, function: &'static str, now: lifecycle_domain::Timestamp) {
        self.heartbeats.beat(&self.store, function, now).await;
        if self.runtime.stale(RUNTIME_CONFIG_REFRESH)
            && let Err(error) = self.reload_runtime_config().await
        {
            tracing::warn!(error = %error, "runtime configuration not read; the last one stays in use");
        }
        if self.resilience.patterns_stale(PATTERN_REFRESH) {
            match self.store.patterns().await {
                Ok(patterns) => self.resilience.set_operator_patterns(patterns),
                Err(error) => {
                    tracing::warn!(error = %error, "failure patterns not loaded; the last ones (or the defaults) stay in use")
                }
            }
        }
    }

    /// What every invocation ends with: the alerts of failure patterns matched during it are
    /// raised (none in the usual case: no request), and at most once a minute the calls it
    /// retried are added to the recovery log's counters (none: no request).
    pub async fn end_invocation(&self) {
        self.resilience.raise_pending_alerts().await;
        self.retry_counts
            .flush(
                &self.store,
                self.resilience.counters(),
                lifecycle_domain::Timestamp::now(),
            )
            .await;
    }

    /// Reads the configuration from the environment and loads the AWS clients (what each
    /// Lambda `main` does at cold start).
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::from_env_with_clients().await?.0)
    }

    /// [`Services::from_env`], also returning the clients (for functions that build more
    /// adapters over them, like the delivery functions).
    pub async fn from_env_with_clients() -> Result<(Self, AwsClients), ConfigError> {
        let config = Config::from_env()?;
        let requests = RequestCounter::new();
        let clients = AwsClients::from_env(&requests).await?;
        Ok((Self::new(config, &clients, requests), clients))
    }
}
