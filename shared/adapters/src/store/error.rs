//! Errors of the store, with the AWS error code kept for classification and logs.

use lifecycle_resilience::{self as resilience, AwsError, ErrorClass, StoreFailure};

use crate::aws::Describe;

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB answered with an error, or could not be reached.
    #[error("DynamoDB {0}")]
    Aws(#[from] AwsError),
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
    /// Wraps a failed request of `operation`, keeping its error code.
    pub fn aws(operation: &'static str, error: impl Describe) -> Self {
        StoreError::Aws(error.describe(operation))
    }

    /// The error's classification (stable code, category, severity, retryable).
    pub fn class(&self) -> ErrorClass {
        match self {
            StoreError::Aws(error) => error.class(),
            StoreError::Mapping(_) | StoreError::Corrupt(_) => resilience::DATA_CORRUPT,
            StoreError::Build(_) => resilience::INTERNAL_BUG,
        }
    }
}

impl From<StoreError> for StoreFailure {
    fn from(error: StoreError) -> Self {
        StoreFailure {
            class: error.class(),
            message: error.to_string(),
        }
    }
}

/// The result of a conditional write: `true` if it was applied, `false` if its condition
/// failed (`ConditionalCheckFailedException`, or a transaction cancelled by a failed
/// condition); any other error is returned.
pub(super) fn condition_met<T, E: Describe>(
    operation: &'static str,
    result: Result<T, E>,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(error) => {
            let error = error.describe(operation);
            if error.class() == resilience::CONDITION_FAILED {
                Ok(false)
            } else {
                Err(StoreError::Aws(error))
            }
        }
    }
}
