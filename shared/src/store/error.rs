//! Errors of the store, with the AWS error code kept for classification and logs.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::AwsError;
use crate::resilience::{self, ErrorClass};

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
    /// Wraps an SDK error of `operation`, keeping its error code.
    pub fn aws<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        StoreError::Aws(AwsError::from_sdk(operation, &error))
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

/// The result of a conditional write: `true` if it was applied, `false` if its condition
/// failed (`ConditionalCheckFailedException`, or a transaction cancelled by a failed
/// condition); any other error is returned.
pub(super) fn condition_met<T, E>(
    operation: &'static str,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error) => {
            let error = AwsError::from_sdk(operation, &error);
            if error.class() == resilience::CONDITION_FAILED {
                Ok(false)
            } else {
                Err(StoreError::Aws(error))
            }
        }
    }
}
