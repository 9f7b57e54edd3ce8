//! Shared library of campaign-lifecycle: the domain (campaigns, timers, the state machine,
//! lifecycle events — no AWS types), the DynamoDB store, the AWS adapters (timers queue, event
//! bus, request counting), the timer paths every function runs, and the configuration every
//! Lambda function reads from its environment.

pub mod aws;
pub mod config;
pub mod crash;
pub mod domain;
pub mod heartbeat;
pub mod jitter;
pub mod metrics;
pub mod relay;
pub mod resilience;
pub mod services;
pub mod store;
pub mod telemetry;
pub mod timer_messages;
pub mod timestamp;

pub use timestamp::Timestamp;
