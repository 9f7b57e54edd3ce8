//! The one error of every port of the delivery engine: the call failed, the work is retried
//! later (its message is redelivered).

/// A port call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PortError(pub String);
