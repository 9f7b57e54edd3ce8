//! Errors of the store, with the AWS error code kept for classification and logs.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB answered with an error, or could not be reached.
    #[error("DynamoDB {operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
    },
    /// An item did not map to or from its type.
    #[error("item mapping failed: {0}")]
    Mapping(#[from] serde_dynamo::Error),
    /// A request could not be built (a bug, not a runtime condition).
    #[error("request could not be built: {0}")]
    Build(#[from] aws_sdk_dynamodb::error::BuildError),
    /// Stored data is not what the code expects.
    #[error("corrupt item: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Wraps an SDK error of `operation`, keeping its error code.
    pub fn aws<E, R>(operation: &'static str, error: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let code = error.code().unwrap_or(match &error {
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            _ => "Unknown",
        });
        let message = error
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| aws_sdk_dynamodb::error::DisplayErrorContext(&error).to_string());
        StoreError::Aws {
            operation,
            code: code.to_owned(),
            message,
        }
    }
}
