//! An AWS call that failed, reduced to what logs and callers need: the operation, the AWS
//! error code (or the transport failure kind) and the message.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// A failed AWS request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {code}: {message}")]
pub struct AwsError {
    /// The API operation, e.g. `TransactWriteItems`.
    pub operation: &'static str,
    /// The AWS error code (`ThrottlingException`, …) or `Timeout` / `DispatchFailure` /
    /// `ResponseError` when no response was parsed.
    pub code: String,
    pub message: String,
}

impl AwsError {
    /// Keeps the code and message of an SDK error of `operation`.
    pub fn from_sdk<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug,
    {
        let code = error.code().unwrap_or(match &error {
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            _ => "Unknown",
        });
        let message = error
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| DisplayErrorContext(&error).to_string());
        Self {
            operation,
            code: code.to_owned(),
            message,
        }
    }

    /// An error reported for one entry of a batch call.
    pub fn batch_entry(operation: &'static str, code: Option<&str>, message: Option<&str>) -> Self {
        Self {
            operation,
            code: code.unwrap_or("Unknown").to_owned(),
            message: message.unwrap_or("batch entry failed").to_owned(),
        }
    }
}
