//! The sweeper's handler, called alike by its Lambda `main`, the local runtime and
//! `make invoke`: reads the invocation's event strictly, sweeps until shortly before the
//! deadline, and fails the invocation when the sweep had errors (so the Errors alarm sees it).

use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery::RecoveryReport;

use crate::{LEASE_HELD, SweepRequest, sweep};

/// Stop taking on work this long before the invocation's deadline.
pub const DEADLINE_MARGIN_MS: i64 = 5_000;

/// An invocation that did not sweep cleanly.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The event was neither a schedule's nor a valid manual request; nothing ran.
    #[error("{0}")]
    BadRequest(String),
    /// The sweep ran and reported errors (the report is stored and logged too).
    #[error("sweep {} finished with errors: {}", .0.run_id, .0.errors.join("; "))]
    Failed(Box<RecoveryReport>),
}

/// Handles one invocation with `event` that must end by `deadline`.
pub async fn handle(
    services: &Services,
    event: &serde_json::Value,
    deadline: Timestamp,
) -> Result<RecoveryReport, SweepError> {
    let request = SweepRequest::from_event(event).map_err(|error| {
        tracing::error!(code = "BAD_INPUT", error, "sweep request refused");
        SweepError::BadRequest(error)
    })?;
    let stop_at = deadline.plus_millis(-DEADLINE_MARGIN_MS);
    let report = sweep(services, &request, Timestamp::now(), Some(stop_at)).await;
    if report.success || report.errors == [LEASE_HELD] {
        Ok(report)
    } else {
        Err(SweepError::Failed(Box::new(report)))
    }
}
