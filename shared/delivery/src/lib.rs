//! The delivery engine of bulk deliveries: the planner, which cuts a run's recipient list into
//! batches at a durable cursor ([`planner`]), and the sender, which sends a batch so that a
//! crash at any line loses no recipient and sends none twice outside one provider call
//! ([`sender`]). Both run against small port traits, implemented in memory by their unit tests
//! (with a crash planted at every call) and, for the Lambda functions that will call them, by
//! the AWS adapters. No I/O here: the rules come from `lifecycle-domain`.

pub mod planner;
mod port_error;
pub mod sender;

pub use port_error::PortError;
