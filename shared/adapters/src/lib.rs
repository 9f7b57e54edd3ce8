//! The AWS adapters of campaign-lifecycle: the DynamoDB store, the timers queue, the
//! lifecycle event publisher, DLQ redrive, request counting, the implementations of the
//! resilience layer's ports, heartbeats, the outbox relay, the alert channels, and the services wiring every
//! Lambda function starts from (with its configuration from the environment).

pub mod alert_defaults;
#[cfg(feature = "alerts")]
pub mod alerting;
pub mod aws;
pub mod config;
#[cfg(feature = "invoke")]
pub mod consumer_control;
pub mod consumer_mappings;
pub mod crash;
pub mod dead_letter_queues;
#[cfg(feature = "lists")]
pub mod delivery;
pub mod heartbeat;
pub mod relay;
pub mod retry_counts;
pub mod runtime;
pub mod runtime_config;
pub mod services;
pub mod started_runs;
pub mod store;
