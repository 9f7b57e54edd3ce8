//! Everything a function needs, built once per cold start: configuration, store, timers
//! queue, event publisher and the request counter attached to their clients.

use crate::retry_counts::RetryCounts;
use std::sync::Arc;

use lifecycle_domain::SystemClock;
use lifecycle_resilience::{
    AlertSink, BreakerConfig, BreakerStore, Breakers, BudgetConfig, CircuitBreaker, Dependency,
    Resilience, ResilienceStats, RetryPolicy,
};

use crate::aws::{AwsClients, EventPublisher, RequestCounter, TimerQueue};
use crate::config::{Config, ConfigError};
use crate::heartbeat::Heartbeats;
use crate::relay::AlertRelay;
use crate::store::{OccurrenceTiming, Store};

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
    /// Requests sent by the clients above, per operation.
    pub requests: RequestCounter,
    /// This process's heartbeats.
    pub heartbeats: Heartbeats,
    /// Retries, breakers and error classification of every AWS request above.
    pub resilience: Resilience,
    /// When this process last added its retry counts to the recovery log.
    pub retry_counts: RetryCounts,
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
        let breakers = config.circuit_breakers.then(|| {
            Breakers::new(Dependency::ALL.map(|dependency| {
                CircuitBreaker::new(
                    dependency,
                    BreakerConfig::standard(dependency.fail_mode()),
                    breaker_store.clone(),
                    alerts.clone(),
                    config.log_format,
                )
            }))
        });
        let policy = RetryPolicy {
            max_attempts: config.retry_max_attempts,
            ..RetryPolicy::default()
        };
        let resilience =
            Resilience::new(policy, BudgetConfig::default(), breakers, stats).with_alerts(alerts);
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
            heartbeats: Heartbeats::new(config.log_format),
            retry_counts: RetryCounts::default(),
            resilience,
            config,
            requests,
        }
    }

    /// What every invocation of `function` starts with: its heartbeat (at most one write a
    /// minute) and, every [`PATTERN_REFRESH`], the operators' failure patterns (one Query).
    pub async fn begin_invocation(&self, function: &'static str, now: lifecycle_domain::Timestamp) {
        self.heartbeats.beat(&self.store, function, now).await;
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
