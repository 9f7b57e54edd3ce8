//! API errors and their JSON body: `{"error":{"code","message","fields"}}`.

use std::collections::BTreeMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lifecycle_adapters::store::{CancelError, SeriesControlError, StoreError};
use lifecycle_domain::{FieldErrors, IllegalTransition};
use lifecycle_resilience::{self as resilience, ErrorCategory, ErrorClass, StoreFailure};
use serde_json::json;

/// An error answer of the API.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: BTreeMap<String, String>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: BTreeMap::new(),
        }
    }

    /// 400 with one message per invalid field.
    pub fn invalid_fields(fields: BTreeMap<String, String>) -> Self {
        Self {
            fields,
            ..Self::new(
                StatusCode::BAD_REQUEST,
                "VALIDATION_FAILED",
                "the request has invalid fields",
            )
        }
    }

    /// 400 with one invalid field.
    pub fn field(field: &str, problem: impl Into<String>) -> Self {
        Self::invalid_fields(BTreeMap::from([(field.to_owned(), problem.into())]))
    }

    /// 503 when a dependency other than the store fails (logged by the caller).
    pub fn dependency_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "DEPENDENCY_UNAVAILABLE",
            "a dependency is failing; retry later",
        )
    }

    /// 404 for an unknown run of a known campaign.
    pub fn run_not_found(campaign: &str, run: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "RUN_NOT_FOUND",
            format!("campaign {campaign} has no run {run}"),
        )
    }

    /// 400 for a body that is not the expected JSON.
    pub fn bad_body(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_BODY", detail)
    }

    /// 409 for a series route on a campaign without a schedule.
    pub fn not_recurring(id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "NOT_RECURRING",
            format!("campaign {id} has no recurring schedule"),
        )
    }

    /// 404 for an unknown campaign.
    pub fn campaign_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "CAMPAIGN_NOT_FOUND",
            format!("campaign {id} does not exist"),
        )
    }

    /// 409 for a failure pattern whose id is taken.
    pub fn pattern_exists(id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "PATTERN_EXISTS",
            format!("a failure pattern with id {id} exists"),
        )
    }

    /// 409 when the operators' failure patterns are at their limit.
    pub fn pattern_limit_reached() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "PATTERN_LIMIT_REACHED",
            format!(
                "at most {} failure patterns may be stored; delete one first",
                resilience::MAX_OPERATOR_PATTERNS
            ),
        )
    }

    /// 404 for an unknown failure pattern.
    pub fn pattern_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "PATTERN_NOT_FOUND",
            format!("no failure pattern with id {id:?}"),
        )
    }

    /// 409 for a built-in failure pattern, which cannot be deleted.
    pub fn pattern_built_in(id: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "PATTERN_BUILT_IN",
            format!("{id} is a built-in failure pattern and cannot be deleted"),
        )
    }

    /// 404 for an unknown recovery-log entry.
    pub fn event_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "EVENT_NOT_FOUND",
            format!("no recovery-log entry with id {id:?}"),
        )
    }

    /// 502 when the sweeper ran and failed (its report, if any, is stored; its error text
    /// is logged, not answered).
    pub fn sweep_failed() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "SWEEP_FAILED",
            "the sweep failed; its report, if it got that far, is listed by GET /recovery/sweeps",
        )
    }

    /// 502 when the sweeper could not be invoked or answered nothing usable (logged).
    pub fn sweeper_unavailable() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "SWEEPER_UNAVAILABLE",
            "the sweeper could not be run; retry later",
        )
    }

    /// 409 for a change that kept colliding with concurrent ones; retrying may succeed.
    pub fn concurrent_change(message: &str) -> Self {
        Self::new(StatusCode::CONFLICT, "CONCURRENT_CHANGE", message)
    }

    /// 422 for an `Idempotency-Key` already used by a different request.
    pub fn idempotency_key_reused() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used for a different request (method, path or body)",
        )
    }

    /// 409 while the request holding an `Idempotency-Key` has not finished.
    pub fn idempotency_key_in_use() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "IDEMPOTENCY_KEY_IN_USE",
            "a request with this Idempotency-Key is still in progress; retry later",
        )
    }

    /// 404 for a dead-letter queue the API does not know (`known`: the ones it does).
    pub fn dlq_not_found(name: &str, known: &[&str]) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "DLQ_NOT_FOUND",
            format!(
                "no dead-letter queue named {name:?} (known: {})",
                known.join(", ")
            ),
        )
    }

    /// 404 for a consumer the API cannot pause (`known`: the ones it can).
    pub fn consumer_not_found(name: &str, known: &[&str]) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "CONSUMER_NOT_FOUND",
            format!("no consumer named {name:?} (known: {})", known.join(", ")),
        )
    }

    /// 409 for a test alert through a channel the stored alert configuration lacks.
    pub fn alert_channel_not_configured(channel: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ALERT_CHANNEL_NOT_CONFIGURED",
            format!("the alert configuration has no {channel} channel; configure it first"),
        )
    }

    /// 409 for a test alert while the stored alert configuration does not validate.
    pub fn alert_config_invalid() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ALERT_CONFIG_INVALID",
            "the stored alert configuration is invalid; replace it first",
        )
    }

    /// 404 for a dependency without a breaker.
    pub fn breaker_not_found(dependency: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "BREAKER_NOT_FOUND",
            format!("no circuit breaker for {dependency:?}"),
        )
    }

    /// 503 or 500 for a store failure, by its classification (logged with its code,
    /// category and severity; the body carries no internals).
    pub fn store(error: &StoreError) -> Self {
        Self::classified(error.class(), error)
    }

    /// A failed request of the breaker store (a breaker reset).
    pub fn breaker_store(error: &StoreFailure) -> Self {
        Self::classified(error.class.clone(), error)
    }

    fn classified(class: ErrorClass, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(
            code = class.code,
            category = ?class.category,
            severity = ?class.severity,
            retryable = class.retryable,
            error = %error,
            "store request failed"
        );
        if class == resilience::CIRCUIT_OPEN {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "DEPENDENCY_UNAVAILABLE",
                "a dependency is failing; retry later",
            )
        } else if class.category == ErrorCategory::ResourceExhaustion && class.retryable {
            Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "THROTTLED",
                "the service is busy; retry with backoff",
            )
        } else {
            Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "the request failed; it is safe to retry",
            )
        }
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::invalid_fields(errors.0)
    }
}

impl From<IllegalTransition> for ApiError {
    fn from(error: IllegalTransition) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ILLEGAL_TRANSITION",
            error.to_string(),
        )
    }
}

impl From<CancelError> for ApiError {
    fn from(error: CancelError) -> Self {
        match error {
            CancelError::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "CAMPAIGN_NOT_FOUND",
                "campaign does not exist",
            ),
            CancelError::Illegal(illegal) => illegal.into(),
            CancelError::Contended => Self::concurrent_change(&error.to_string()),
            CancelError::Store(store) => Self::store(&store),
        }
    }
}

impl From<SeriesControlError> for ApiError {
    fn from(error: SeriesControlError) -> Self {
        let message = error.to_string();
        match error {
            SeriesControlError::NotFound => Self::new(
                StatusCode::NOT_FOUND,
                "CAMPAIGN_NOT_FOUND",
                "campaign does not exist",
            ),
            SeriesControlError::NotRecurring => {
                Self::new(StatusCode::CONFLICT, "NOT_RECURRING", message)
            }
            SeriesControlError::NotActive(_) => {
                Self::new(StatusCode::CONFLICT, "SERIES_NOT_ACTIVE", message)
            }
            SeriesControlError::SeriesOver => {
                Self::new(StatusCode::CONFLICT, "SERIES_OVER", message)
            }
            SeriesControlError::Contended => Self::concurrent_change(&message),
            SeriesControlError::Store(store) => Self::store(&store),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "fields": self.fields,
            }
        });
        (self.status, Json(body)).into_response()
    }
}

/// JSON 404 for routes that do not exist.
pub(crate) async fn not_found_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such route")
}
