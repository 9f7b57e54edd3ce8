//! Shared library of campaign-lifecycle: the domain (campaigns, timers, the state machine,
//! lifecycle events — no AWS types), the DynamoDB store (keys and item mapping so far) and the
//! configuration every Lambda function reads from its environment.

pub mod config;
pub mod domain;
pub mod store;
pub mod telemetry;
pub mod timestamp;

pub use timestamp::Timestamp;
