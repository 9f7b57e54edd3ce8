//! SDK errors described as the resilience layer's [`AwsError`]: the operation, the AWS error
//! code (or the transport failure kind), the HTTP status and the message.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use lifecycle_resilience::{AwsError, CallError};

#[cfg(feature = "testing")]
use super::fault_injection::InjectedTimeout;

/// A request sent through the resilience layer failed: refused by a breaker, or an SDK error.
pub type RequestError<E> = CallError<SdkError<E, HttpResponse>>;

/// An SDK failure described as an [`AwsError`]: its code, status and message.
pub trait Describe {
    /// The failure as an [`AwsError`] of `operation`.
    fn describe(&self, operation: &'static str) -> AwsError;
}

impl<E> Describe for SdkError<E, HttpResponse>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn describe(&self, operation: &'static str) -> AwsError {
        let code = self.code().unwrap_or(match self {
            SdkError::TimeoutError(_) => "Timeout",
            #[cfg(feature = "testing")]
            SdkError::ResponseError(_) if caused_by::<InjectedTimeout>(self) => "Timeout",
            SdkError::DispatchFailure(failure) if failure.is_timeout() => "Timeout",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            SdkError::ResponseError(_) => "ResponseError",
            SdkError::ConstructionFailure(_) => "ConstructionFailure",
            _ => "Unknown",
        });
        let message = self
            .message()
            .map(str::to_owned)
            .unwrap_or_else(|| DisplayErrorContext(self).to_string());
        AwsError {
            operation,
            code: code.to_owned(),
            message,
            status: self.raw_response().map(|r| r.status().as_u16()),
        }
    }
}

impl<E> Describe for RequestError<E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn describe(&self, operation: &'static str) -> AwsError {
        match self {
            CallError::Refused(open) => AwsError::refused(operation, open),
            CallError::Failed(error) => error.describe(operation),
        }
    }
}

#[cfg(feature = "testing")]
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
    use lifecycle_resilience::{CircuitOpen, Dependency, ErrorClass};

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
        let error = error.describe("Op");
        (error.code.clone(), error.class())
    }

    /// Real SDK error values, as the SDK builds them from responses, through `describe`.
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
                let refused = RequestError::<PutItemError>::Refused(CircuitOpen {
                    dependency: Dependency::DynamoDb,
                    until: None,
                })
                .describe("Op");
                (refused.code.clone(), refused.class(), "CIRCUIT_OPEN")
            },
        ];
        for (code, class, expected) in cases {
            assert_eq!(class.code, expected, "SDK code {code}");
        }
    }
}
