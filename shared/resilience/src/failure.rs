//! A failed call to AWS, reduced to what logs, classification and callers need: the
//! operation, the AWS error code (or the transport failure kind), the HTTP status and the
//! message. The adapters crate builds it from SDK errors; nothing here knows the SDK.

use crate::breaker::CircuitOpen;
use crate::classification::{AwsErrorShape, CIRCUIT_OPEN, ErrorClass, classify_aws};

/// The error code of a call the circuit breaker refused.
const CIRCUIT_OPEN_CODE: &str = "CircuitOpen";

/// A failed AWS request. Displayed with its stable code first, so every log line and report
/// error carries the classification: `[AWS_THROTTLED] Query failed: ThrottlingException: …`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{}] {operation} failed: {code}: {message}", self.class().code)]
pub struct AwsError {
    /// The API operation, e.g. `TransactWriteItems`.
    pub operation: &'static str,
    /// The AWS error code (`ThrottlingException`, …), `Timeout` / `DispatchFailure` /
    /// `ResponseError` when no response was parsed, or `CircuitOpen` when the dependency's
    /// circuit breaker refused the call.
    pub code: String,
    /// The error message.
    pub message: String,
    /// The HTTP status of the response, when there was one.
    pub status: Option<u16>,
}

impl AwsError {
    /// A call to `operation` that the breaker refused.
    pub fn refused(operation: &'static str, open: &CircuitOpen) -> Self {
        Self {
            operation,
            code: CIRCUIT_OPEN_CODE.to_owned(),
            message: open.to_string(),
            status: None,
        }
    }

    /// A request that could not be built (a bug, not a runtime condition).
    pub fn construction(operation: &'static str, error: &dyn std::error::Error) -> Self {
        Self {
            operation,
            code: "ConstructionFailure".to_owned(),
            message: error.to_string(),
            status: None,
        }
    }

    /// An error reported for one entry of a batch call.
    pub fn batch_entry(operation: &'static str, code: Option<&str>, message: Option<&str>) -> Self {
        Self {
            operation,
            code: code.unwrap_or("Unknown").to_owned(),
            message: message.unwrap_or("batch entry failed").to_owned(),
            status: None,
        }
    }

    /// The error's classification by code and status (failure patterns aside; see
    /// `Resilience::classify`).
    pub fn class(&self) -> ErrorClass {
        if self.code == CIRCUIT_OPEN_CODE {
            return CIRCUIT_OPEN;
        }
        classify_aws(AwsErrorShape {
            code: &self.code,
            status: self.status,
            message: &self.message,
        })
    }
}
