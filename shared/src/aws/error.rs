//! An AWS call that failed, reduced to what logs and callers need: the operation, the AWS
//! error code (or the transport failure kind), the HTTP status and the message — and its
//! [`ErrorClass`].

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::fault_injection::InjectedTimeout;
use crate::resilience::{AwsErrorShape, CIRCUIT_OPEN, CircuitOpen, ErrorClass, classify_aws};

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
    pub message: String,
    /// The HTTP status of the response, when there was one.
    pub status: Option<u16>,
}

impl AwsError {
    /// Keeps the code, status and message of an SDK error of `operation`.
    pub fn from_sdk<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if let SdkError::ConstructionFailure(_) = error
            && let Some(open) = std::error::Error::source(error)
                .and_then(|source| source.downcast_ref::<CircuitOpen>())
        {
            return Self {
                operation,
                code: "CircuitOpen".into(),
                message: open.to_string(),
                status: None,
            };
        }
        let code = error.code().unwrap_or(match error {
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::ResponseError(_) if caused_by::<InjectedTimeout>(error) => "Timeout",
            SdkError::DispatchFailure(failure) if failure.is_timeout() => "Timeout",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            _ => "Unknown",
        });
        let message = error
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| DisplayErrorContext(error).to_string());
        Self {
            operation,
            code: code.to_owned(),
            message,
            status: error.raw_response().map(|r| r.status().as_u16()),
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
        if self.code == "CircuitOpen" {
            return CIRCUIT_OPEN;
        }
        classify_aws(AwsErrorShape {
            code: &self.code,
            status: self.status,
            message: &self.message,
        })
    }
}

/// Whether an error of type `T` is in `error`'s source chain.
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<T>() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    use aws_sdk_dynamodb::types::CancellationReason;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ProvisionedThroughputExceededException,
        TransactionCanceledException,
    };
    use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;
    use crate::resilience::{self, ErrorClass};

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty())
    }

    fn service<E>(error: E, status: u16) -> SdkError<E, HttpResponse> {
        SdkError::service_error(error, response(status))
    }

    fn generic_put(code: &str, message: &str) -> PutItemError {
        PutItemError::generic(ErrorMetadata::builder().code(code).message(message).build())
    }

    fn class_of<E>(error: SdkError<E, HttpResponse>) -> (String, ErrorClass)
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let error = AwsError::from_sdk("Op", &error);
        (error.code.clone(), error.class())
    }

    /// Real SDK error values, as the SDK builds them from responses, through `from_sdk`.
    #[test]
    fn real_sdk_error_shapes_are_classified() {
        let throughput = ProvisionedThroughputExceededException::builder()
            .message("The level of configured provisioned throughput for the table was exceeded")
            .meta(
                ErrorMetadata::builder()
                    .code("ProvisionedThroughputExceededException")
                    .build(),
            )
            .build();
        let condition = ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .meta(
                ErrorMetadata::builder()
                    .code("ConditionalCheckFailedException")
                    .build(),
            )
            .build();
        let cancelled = TransactionCanceledException::builder()
            .message("Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]")
            .set_cancellation_reasons(Some(vec![
                CancellationReason::builder().code("None").build(),
                CancellationReason::builder().code("TransactionConflict").build(),
            ]))
            .meta(ErrorMetadata::builder().code("TransactionCanceledException").build())
            .build();
        let sqs_throttle = SendMessageBatchError::generic(
            ErrorMetadata::builder()
                .code("ThrottlingException")
                .message("Rate exceeded")
                .build(),
        );
        let cases: Vec<(String, ErrorClass, &str)> = vec![
            {
                let (code, class) = class_of(service(
                    PutItemError::ProvisionedThroughputExceededException(throughput),
                    400,
                ));
                (code, class, "AWS_THROTTLED")
            },
            {
                let (code, class) = class_of(service(
                    PutItemError::ConditionalCheckFailedException(condition),
                    400,
                ));
                (code, class, "AWS_CONDITION_FAILED")
            },
            {
                let (code, class) = class_of(service(
                    TransactWriteItemsError::TransactionCanceledException(cancelled),
                    400,
                ));
                (code, class, "AWS_TRANSACTION_CONFLICT")
            },
            {
                let (code, class) = class_of(service(sqs_throttle, 400));
                (code, class, "AWS_THROTTLED")
            },
            {
                let (code, class) =
                    class_of(service(generic_put("InternalServerError", "boom"), 500));
                (code, class, "AWS_SERVER_ERROR")
            },
            {
                let (code, class) = class_of(service(generic_put("Whatever", "bad gateway"), 502));
                (code, class, "AWS_SERVER_ERROR")
            },
            {
                let (code, class) = class_of(
                    SdkError::<PutItemError, HttpResponse>::timeout_error("slow"),
                );
                (code, class, "AWS_TIMEOUT")
            },
            {
                let (code, class) =
                    class_of(SdkError::<PutItemError, HttpResponse>::dispatch_failure(
                        ConnectorError::io("connection refused".into()),
                    ));
                (code, class, "AWS_CONNECTION")
            },
            {
                let (code, class) =
                    class_of(SdkError::<PutItemError, HttpResponse>::dispatch_failure(
                        ConnectorError::timeout("read timed out".into()),
                    ));
                (code, class, "AWS_TIMEOUT")
            },
            {
                let (code, class) = class_of(service(
                    generic_put("AccessDeniedException", "not authorized"),
                    400,
                ));
                (code, class, "AWS_ACCESS_DENIED")
            },
            {
                let (code, class) = class_of(
                    SdkError::<PutItemError, HttpResponse>::construction_failure(
                        resilience::CircuitOpen::for_tests(),
                    ),
                );
                (code, class, "CIRCUIT_OPEN")
            },
        ];
        for (code, class, expected) in cases {
            assert_eq!(class.code, expected, "SDK code {code}");
        }
    }
}
