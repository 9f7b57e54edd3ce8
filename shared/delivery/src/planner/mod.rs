//! The delivery planner: cuts a run's recipient list into batches and queues them for the
//! sender, resuming after a crash where the last saved cursor stopped (see [`plan_run`]). The
//! logic runs against the planner's ports ([`ports`]), implemented in memory by the unit
//! tests.

pub mod plan_run;
pub mod ports;
#[cfg(test)]
mod tests;

pub use plan_run::{PlanResult, Planner, Settings};
