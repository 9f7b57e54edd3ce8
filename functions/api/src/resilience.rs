//! Operator routes of the resilience layer: failure patterns (listed, added within their
//! limit, deleted) and the shared circuit breakers (state, recovery figures, manual reset).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::PatternCreate;
use lifecycle_domain::Timestamp;
use lifecycle_resilience::{BreakerRecord, Dependency, FailurePattern, default_patterns};
use serde_json::{Value, json};

use crate::ApiError;

type App = State<Arc<Services>>;

/// `GET /recovery/patterns`: the operators' patterns (matched first) and the built-in ones.
pub(crate) async fn list_patterns(State(app): App) -> Result<Json<Value>, ApiError> {
    let custom = app
        .store
        .patterns()
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(
        json!({ "custom": custom, "defaults": default_patterns() }),
    ))
}

/// `POST /recovery/patterns`: adds a pattern (409 `PATTERN_EXISTS` if its id is taken, by an
/// operator's pattern or a built-in one; 409 `PATTERN_LIMIT_REACHED` if
/// `MAX_OPERATOR_PATTERNS` are stored). Every function picks it up within 5 minutes; this
/// instance at once.
pub(crate) async fn create_pattern(
    State(app): App,
    body: Result<Json<FailurePattern>, JsonRejection>,
) -> Result<(StatusCode, Json<FailurePattern>), ApiError> {
    let Json(pattern) = body.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    pattern.validate().map_err(|errors| {
        ApiError::invalid_fields(
            errors
                .into_iter()
                .map(|e| (e.field.to_owned(), e.message))
                .collect(),
        )
    })?;
    if is_built_in(&pattern.id) {
        return Err(ApiError::pattern_exists(&pattern.id));
    }
    match app
        .store
        .create_pattern(&pattern)
        .await
        .map_err(|e| ApiError::store(&e))?
    {
        PatternCreate::Created => {}
        PatternCreate::Exists => return Err(ApiError::pattern_exists(&pattern.id)),
        PatternCreate::LimitReached => return Err(ApiError::pattern_limit_reached()),
        PatternCreate::Contended => {
            return Err(ApiError::concurrent_change(
                "failure patterns kept changing during the create; try again",
            ));
        }
    }
    tracing::info!(
        pattern = pattern.id,
        regex = pattern.pattern,
        "failure pattern added"
    );
    reload_patterns(&app).await;
    Ok((StatusCode::CREATED, Json(pattern)))
}

/// `DELETE /recovery/patterns/{id}`: deletes an operator's pattern (204). 404
/// `PATTERN_NOT_FOUND` if there is none (so a repeated delete changes nothing), 409
/// `PATTERN_BUILT_IN` for a built-in one. Every function drops it within 5 minutes; this
/// instance at once.
pub(crate) async fn delete_pattern(
    State(app): App,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if is_built_in(&id) {
        return Err(ApiError::pattern_built_in(&id));
    }
    if !app
        .store
        .delete_pattern(&id)
        .await
        .map_err(|e| ApiError::store(&e))?
    {
        return Err(ApiError::pattern_not_found(&id));
    }
    tracing::info!(pattern = id, "failure pattern deleted");
    reload_patterns(&app).await;
    Ok(StatusCode::NO_CONTENT)
}

fn is_built_in(id: &str) -> bool {
    default_patterns().iter().any(|p| p.id == id)
}

/// Makes this instance use the stored patterns now (the others reload on their schedule).
async fn reload_patterns(app: &Services) {
    match app.store.patterns().await {
        Ok(patterns) => app.resilience.set_operator_patterns(patterns),
        Err(error) => tracing::warn!(
            code = error.class().code,
            error = %error,
            "failure patterns not reloaded; this instance picks the change up within 5 minutes"
        ),
    }
}

/// `GET /recovery/circuit-breakers`: each dependency's shared breaker record.
pub(crate) async fn list_breakers(State(app): App) -> Result<Json<Vec<Value>>, ApiError> {
    let now = Timestamp::now();
    let mut breakers = Vec::new();
    for dependency in Dependency::ALL {
        let record = app
            .store
            .breaker_record(dependency.as_str())
            .await
            .map_err(|e| ApiError::store(&e))?
            .unwrap_or_else(|| BreakerRecord::closed(dependency.as_str(), now));
        breakers.push(breaker_view(&record));
    }
    Ok(Json(breakers))
}

/// `POST /recovery/circuit-breakers/{dependency}/reset`: forces an OPEN or HALF_OPEN breaker CLOSED
/// (the change is published like any other); a CLOSED breaker is answered as it is, with no
/// write and no alert.
pub(crate) async fn reset_breaker(
    State(app): App,
    Path(dependency): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let breaker = Dependency::parse(&dependency)
        .and_then(|d| app.shared_breaker(d))
        .ok_or_else(|| ApiError::breaker_not_found(&dependency))?;
    let record = breaker
        .reset(Timestamp::now())
        .await
        .map_err(|e| ApiError::breaker_store(&e))?;
    tracing::warn!(
        dependency,
        version = record.version,
        reason = record.reason,
        "circuit breaker reset requested by an operator"
    );
    Ok(Json(breaker_view(&record)))
}

/// A breaker record plus its recovery rate.
fn breaker_view(record: &BreakerRecord) -> Value {
    let mut view = serde_json::to_value(record).unwrap_or(Value::Null);
    view["recoveryRate"] = json!(record.recovery_rate());
    view
}
