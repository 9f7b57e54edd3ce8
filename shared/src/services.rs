//! Everything a function needs, built once per cold start: configuration, store, timers
//! queue, event publisher and the request counter attached to their clients.

use crate::aws::{AwsClients, EventPublisher, RequestCounter, TimerQueue};
use crate::config::{Config, ConfigError};
use crate::heartbeat::Heartbeats;
use crate::store::Store;

/// The service's dependencies; cheap to clone.
#[derive(Debug, Clone)]
pub struct Services {
    pub config: Config,
    pub store: Store,
    pub timers: TimerQueue,
    pub events: EventPublisher,
    /// Requests sent by the clients above, per operation.
    pub requests: RequestCounter,
    /// This process's heartbeats.
    pub heartbeats: Heartbeats,
}

impl Services {
    /// Builds the services over existing clients.
    pub fn new(config: Config, clients: &AwsClients, requests: RequestCounter) -> Self {
        Self {
            store: Store::new(
                clients.dynamodb.clone(),
                &config.table_name,
                config.due_shards,
            ),
            timers: TimerQueue::new(clients.sqs.clone(), &config.timers_queue_url),
            events: EventPublisher::new(clients.eventbridge.clone(), &config.event_bus_name),
            heartbeats: Heartbeats::new(config.log_format),
            config,
            requests,
        }
    }

    /// Reads the configuration from the environment and loads the AWS clients (what each
    /// Lambda `main` does at cold start).
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let requests = RequestCounter::new();
        let clients = AwsClients::from_env(&requests).await;
        Ok(Self::new(config, &clients, requests))
    }
}
