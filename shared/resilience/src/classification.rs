//! Error classification: every error the service meets — AWS service errors, transport
//! failures, HTTP statuses of outbound calls, bad input, corrupt data — maps to one
//! [`ErrorClass`]: a stable code, a category, a severity and whether retrying or recovering
//! can help. Retries, the circuit breakers, logs and alerts all read the class, never the raw
//! error text.

use serde::{Deserialize, Serialize};

/// What kind of failure it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCategory {
    /// Goes away by itself: timeouts, dropped connections, transaction conflicts.
    Transient,
    /// The same request fails the same way every time.
    Permanent,
    /// A setting or a resource is missing or wrong.
    Configuration,
    /// A rule of the service said no (a condition failed, input was invalid).
    BusinessLogic,
    /// A dependency answered with a server error or is refused by its circuit breaker.
    ExternalDependency,
    /// Throttling, quotas, size limits.
    ResourceExhaustion,
    /// Credentials or permissions.
    Security,
    /// Stored data is not what the code expects.
    DataCorruption,
}

/// How urgent it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorSeverity {
    Low,
    Medium,
    High,
    Critical,
}

impl ErrorCategory {
    /// The category's usual severity.
    pub fn default_severity(self) -> ErrorSeverity {
        match self {
            Self::ResourceExhaustion | Self::DataCorruption => ErrorSeverity::Critical,
            Self::Security | Self::Permanent | Self::Configuration => ErrorSeverity::High,
            Self::ExternalDependency | Self::BusinessLogic => ErrorSeverity::Medium,
            Self::Transient => ErrorSeverity::Low,
        }
    }

    /// Whether the failure says the dependency is unhealthy (counted by its circuit breaker).
    pub fn counts_against_dependency(self) -> bool {
        matches!(
            self,
            Self::Transient | Self::ExternalDependency | Self::ResourceExhaustion
        )
    }
}

/// The classification of one error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorClass {
    /// Stable code, e.g. `AWS_THROTTLED`; dashboards and alert rules key on it.
    pub code: &'static str,
    pub category: ErrorCategory,
    pub severity: ErrorSeverity,
    /// Retrying the same request soon may succeed.
    pub retryable: bool,
    /// The work can still succeed later (after a fix or a wait); false means an operator must
    /// look at it.
    pub recoverable: bool,
}

impl ErrorClass {
    const fn new(
        code: &'static str,
        category: ErrorCategory,
        severity: ErrorSeverity,
        retryable: bool,
        recoverable: bool,
    ) -> Self {
        Self {
            code,
            category,
            severity,
            retryable,
            recoverable,
        }
    }
}

impl ErrorClass {
    /// Whether the class is decided by the service alone, so no failure pattern may change
    /// it: a failed condition (another writer won, business as usual), input AWS or the
    /// service refused, and a call refused by a circuit breaker. A pattern that counted these
    /// against a dependency or retried them could trip a breaker on a healthy dependency.
    pub fn is_fixed(&self) -> bool {
        FIXED.iter().any(|fixed| fixed.code == self.code)
    }
}

use ErrorCategory as C;
use ErrorSeverity as S;

pub const THROTTLED: ErrorClass = ErrorClass::new(
    "AWS_THROTTLED",
    C::ResourceExhaustion,
    S::Medium,
    true,
    true,
);
pub const TRANSACTION_CONFLICT: ErrorClass =
    ErrorClass::new("AWS_TRANSACTION_CONFLICT", C::Transient, S::Low, true, true);
pub const CONDITION_FAILED: ErrorClass = ErrorClass::new(
    "AWS_CONDITION_FAILED",
    C::BusinessLogic,
    S::Low,
    false,
    true,
);
pub const SERVER_ERROR: ErrorClass = ErrorClass::new(
    "AWS_SERVER_ERROR",
    C::ExternalDependency,
    S::Medium,
    true,
    true,
);
pub const TIMEOUT: ErrorClass = ErrorClass::new("AWS_TIMEOUT", C::Transient, S::Low, true, true);
pub const CONNECTION: ErrorClass =
    ErrorClass::new("AWS_CONNECTION", C::Transient, S::Low, true, true);
pub const ACCESS_DENIED: ErrorClass =
    ErrorClass::new("AWS_ACCESS_DENIED", C::Security, S::High, false, false);
pub const RESOURCE_NOT_FOUND: ErrorClass = ErrorClass::new(
    "AWS_RESOURCE_NOT_FOUND",
    C::Configuration,
    S::High,
    false,
    true,
);
pub const REQUEST_INVALID: ErrorClass =
    ErrorClass::new("AWS_REQUEST_INVALID", C::Permanent, S::High, false, false);
pub const LIMIT_EXCEEDED: ErrorClass = ErrorClass::new(
    "AWS_LIMIT_EXCEEDED",
    C::ResourceExhaustion,
    S::High,
    false,
    true,
);
pub const CIRCUIT_OPEN: ErrorClass = ErrorClass::new(
    "CIRCUIT_OPEN",
    C::ExternalDependency,
    S::Medium,
    false,
    true,
);
pub const VALIDATION_FAILED: ErrorClass =
    ErrorClass::new("VALIDATION_FAILED", C::BusinessLogic, S::Low, false, false);
/// A queue message the service cannot read: dead-lettered at once, never retried.
pub const BAD_INPUT: ErrorClass = ErrorClass::new(
    "BAD_TIMER_MESSAGE",
    C::BusinessLogic,
    S::Medium,
    false,
    false,
);
/// A deliveries-queue message the sender cannot read, or whose run does not exist:
/// dead-lettered at once, never retried.
pub const BAD_DELIVERY_INPUT: ErrorClass = ErrorClass::new(
    "BAD_DELIVERY_MESSAGE",
    C::BusinessLogic,
    S::Medium,
    false,
    false,
);
pub const DATA_CORRUPT: ErrorClass =
    ErrorClass::new("DATA_CORRUPT", C::DataCorruption, S::Critical, false, false);
pub const INTERNAL_BUG: ErrorClass =
    ErrorClass::new("INTERNAL_BUG", C::Permanent, S::High, false, false);
pub const UNKNOWN: ErrorClass = ErrorClass::new("UNKNOWN", C::Permanent, S::Medium, false, true);

/// The classes failure patterns never change ([`ErrorClass::is_fixed`]).
const FIXED: [ErrorClass; 6] = [
    CONDITION_FAILED,
    REQUEST_INVALID,
    VALIDATION_FAILED,
    BAD_INPUT,
    BAD_DELIVERY_INPUT,
    CIRCUIT_OPEN,
];

/// How a failed AWS request looked: what [`classify_aws`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsErrorShape<'a> {
    /// The AWS error code (`ThrottlingException`, …) or, when no response was parsed, the
    /// transport failure: `Timeout`, `DispatchFailure`, `ResponseError`, `ConstructionFailure`.
    pub code: &'a str,
    /// The HTTP status of the response, if there was one.
    pub status: Option<u16>,
    pub message: &'a str,
}

/// Classifies a failed AWS request.
pub fn classify_aws(shape: AwsErrorShape<'_>) -> ErrorClass {
    match shape.code {
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "ProvisionedThroughputExceededException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "SlowDown"
        | "KMSThrottlingException" => THROTTLED,
        "TransactionConflictException" | "TransactionInProgressException" => TRANSACTION_CONFLICT,
        "TransactionCanceledException" => classify_cancellation(shape.message),
        "ConditionalCheckFailedException" => CONDITION_FAILED,
        "InternalServerError"
        | "InternalServerException"
        | "InternalFailure"
        | "InternalError"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "ServiceUnavailableError" => SERVER_ERROR,
        "Timeout" | "RequestTimeout" | "RequestTimeoutException" => TIMEOUT,
        "DispatchFailure" | "ResponseError" => CONNECTION,
        "AccessDeniedException"
        | "AccessDenied"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "MissingAuthenticationToken"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature"
        | "KMSAccessDeniedException" => ACCESS_DENIED,
        "ResourceNotFoundException"
        | "AWS.SimpleQueueService.NonExistentQueue"
        | "QueueDoesNotExist"
        | "NonExistentQueue" => RESOURCE_NOT_FOUND,
        "ValidationException"
        | "SerializationException"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "InvalidParameterValueException"
        | "MissingParameter"
        | "InvalidAction"
        | "InvalidMessageContents"
        | "InvalidAttributeValue"
        | "BatchEntryIdsNotDistinct"
        | "AWS.SimpleQueueService.BatchEntryIdsNotDistinct" => REQUEST_INVALID,
        "ItemCollectionSizeLimitExceededException"
        | "LimitExceededException"
        | "BatchRequestTooLong"
        | "AWS.SimpleQueueService.BatchRequestTooLong"
        | "OverLimit"
        | "RequestEntityTooLarge" => LIMIT_EXCEEDED,
        "ConstructionFailure" => INTERNAL_BUG,
        _ => shape.status.map_or(UNKNOWN, classify_http_status),
    }
}

/// Classifies an HTTP status answered by an outbound call (or an AWS error whose code is
/// unknown). Success statuses classify as [`UNKNOWN`]; callers ask only about failures.
pub fn classify_http_status(status: u16) -> ErrorClass {
    match status {
        429 => THROTTLED,
        401 | 403 => ACCESS_DENIED,
        404 => RESOURCE_NOT_FOUND,
        408 => TIMEOUT,
        409 => CONDITION_FAILED,
        413 => LIMIT_EXCEEDED,
        400..=499 => REQUEST_INVALID,
        500..=599 => SERVER_ERROR,
        _ => UNKNOWN,
    }
}

/// A `TransactionCanceledException` names one reason per action, in its message:
/// `Transaction cancelled, please refer cancellation reasons for specific reasons
/// [ConditionalCheckFailed, None]`. A failed condition decides (the business said no); a
/// conflict or throttle alone is worth retrying.
fn classify_cancellation(message: &str) -> ErrorClass {
    let reasons = message
        .rsplit_once('[')
        .map(|(_, rest)| rest.trim_end_matches(']'))
        .unwrap_or("");
    let has = |reason: &str| reasons.split(',').any(|r| r.trim() == reason);
    if has("ConditionalCheckFailed") {
        CONDITION_FAILED
    } else if has("ValidationError") {
        REQUEST_INVALID
    } else if has("ItemCollectionSizeLimitExceeded") {
        LIMIT_EXCEEDED
    } else if has("ThrottlingError") || has("ProvisionedThroughputExceeded") {
        THROTTLED
    } else {
        TRANSACTION_CONFLICT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(code: &str, status: Option<u16>, message: &str) -> ErrorClass {
        classify_aws(AwsErrorShape {
            code,
            status,
            message,
        })
    }

    #[test]
    fn aws_error_codes_map_to_their_class() {
        let table: &[(&str, Option<u16>, &str, ErrorClass)] = &[
            ("ThrottlingException", Some(400), "Rate exceeded", THROTTLED),
            (
                "ProvisionedThroughputExceededException",
                Some(400),
                "The level of configured provisioned throughput for the table was exceeded",
                THROTTLED,
            ),
            ("RequestLimitExceeded", Some(400), "", THROTTLED),
            (
                "ConditionalCheckFailedException",
                Some(400),
                "The conditional request failed",
                CONDITION_FAILED,
            ),
            (
                "TransactionConflictException",
                Some(400),
                "",
                TRANSACTION_CONFLICT,
            ),
            (
                "InternalServerError",
                Some(500),
                "Internal server error",
                SERVER_ERROR,
            ),
            ("ServiceUnavailable", Some(503), "", SERVER_ERROR),
            (
                "Timeout",
                None,
                "operation timeout (all attempts including retries)",
                TIMEOUT,
            ),
            (
                "DispatchFailure",
                None,
                "io error: connection refused",
                CONNECTION,
            ),
            ("ResponseError", Some(200), "unexpected EOF", CONNECTION),
            (
                "AccessDeniedException",
                Some(400),
                "not authorized",
                ACCESS_DENIED,
            ),
            ("UnrecognizedClientException", Some(400), "", ACCESS_DENIED),
            (
                "ResourceNotFoundException",
                Some(400),
                "Requested resource not found",
                RESOURCE_NOT_FOUND,
            ),
            (
                "AWS.SimpleQueueService.NonExistentQueue",
                Some(400),
                "",
                RESOURCE_NOT_FOUND,
            ),
            ("QueueDoesNotExist", Some(400), "", RESOURCE_NOT_FOUND),
            (
                "ValidationException",
                Some(400),
                "One or more parameter values were invalid",
                REQUEST_INVALID,
            ),
            (
                "ItemCollectionSizeLimitExceededException",
                Some(400),
                "",
                LIMIT_EXCEEDED,
            ),
            ("ConstructionFailure", None, "missing field", INTERNAL_BUG),
            ("SomethingNew", Some(503), "", SERVER_ERROR),
            ("SomethingNew", Some(429), "", THROTTLED),
            ("SomethingNew", Some(403), "", ACCESS_DENIED),
            ("SomethingNew", None, "", UNKNOWN),
        ];
        for (code, status, message, expected) in table {
            assert_eq!(&aws(code, *status, message), expected, "{code} {status:?}");
        }
    }

    #[test]
    fn cancelled_transactions_are_classified_by_their_reasons() {
        let prefix =
            "Transaction cancelled, please refer cancellation reasons for specific reasons";
        let table = [
            ("[ConditionalCheckFailed, None]", CONDITION_FAILED),
            ("[None, TransactionConflict]", TRANSACTION_CONFLICT),
            ("[ThrottlingError, None]", THROTTLED),
            ("[None, ValidationError]", REQUEST_INVALID),
            (
                "[TransactionConflict, ConditionalCheckFailed]",
                CONDITION_FAILED,
            ),
            ("[ItemCollectionSizeLimitExceeded]", LIMIT_EXCEEDED),
        ];
        for (reasons, expected) in table {
            let message = format!("{prefix} {reasons}");
            assert_eq!(
                aws("TransactionCanceledException", Some(400), &message),
                expected,
                "{reasons}"
            );
        }
    }

    #[test]
    fn outbound_http_statuses() {
        let table = [
            (429, THROTTLED),
            (401, ACCESS_DENIED),
            (403, ACCESS_DENIED),
            (404, RESOURCE_NOT_FOUND),
            (422, REQUEST_INVALID),
            (500, SERVER_ERROR),
            (502, SERVER_ERROR),
            (504, SERVER_ERROR),
        ];
        for (status, expected) in table {
            assert_eq!(classify_http_status(status), expected, "{status}");
        }
    }

    #[test]
    fn only_transient_failures_are_retryable_and_count_against_a_dependency() {
        for class in [
            THROTTLED,
            TRANSACTION_CONFLICT,
            SERVER_ERROR,
            TIMEOUT,
            CONNECTION,
        ] {
            assert!(class.retryable, "{}", class.code);
            assert!(class.category.counts_against_dependency(), "{}", class.code);
        }
        for class in [
            CONDITION_FAILED,
            ACCESS_DENIED,
            RESOURCE_NOT_FOUND,
            REQUEST_INVALID,
            VALIDATION_FAILED,
            DATA_CORRUPT,
            CIRCUIT_OPEN,
        ] {
            assert!(!class.retryable, "{}", class.code);
        }
        assert!(!CONDITION_FAILED.category.counts_against_dependency());
    }
}
