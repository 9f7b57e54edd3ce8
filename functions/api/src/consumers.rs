//! Operator routes of the SQS consumers (docs/recovery.md, "Consumers"): each consumer's
//! pause record and event source mapping, and an admin's pause or resume of one. The work is
//! the adapters' [`ConsumerControl`](lifecycle_adapters::consumer_control::ConsumerControl):
//! the record first (conditional), then the mapping; both only when they change something,
//! so a repeated pause or resume answers the consumer's state and writes nothing.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use lifecycle_adapters::consumer_control::{ConsumerError, ConsumerView};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::consumers::Consumer;
use serde_json::{Value, json};

use crate::ApiError;

type App = State<Arc<Services>>;

/// `GET /recovery/consumers`: every consumer this stack can pause, with its record and its
/// mapping's state.
pub(crate) async fn list(State(app): App) -> Result<Json<Value>, ApiError> {
    let now = Timestamp::now();
    let mut consumers = Vec::new();
    for consumer in app.consumers.configured() {
        let view = app
            .consumers
            .view(consumer, now)
            .await
            .map_err(|error| failed(consumer.name(), &error))?;
        consumers.push(view_json(&view));
    }
    Ok(Json(json!({ "consumers": consumers })))
}

/// `POST /recovery/consumers/{name}/pause`: the consumer's mapping disabled, recorded as the
/// operator's pause (also over a breaker's pause, which the sweeper then leaves alone).
pub(crate) async fn pause(
    State(app): App,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set(&app, &name, true).await
}

/// `POST /recovery/consumers/{name}/resume`: the consumer's mapping enabled, recorded as the
/// operator's resume.
pub(crate) async fn resume(
    State(app): App,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    set(&app, &name, false).await
}

async fn set(app: &Services, name: &str, paused: bool) -> Result<Json<Value>, ApiError> {
    let consumer = known(app, name)?;
    let (view, changed) = app
        .consumers
        .operator_set(consumer, paused, Timestamp::now())
        .await
        .map_err(|error| failed(name, &error))?;
    if changed {
        tracing::warn!(
            consumer = name,
            paused,
            version = view.record.version,
            mapping = view.mapping.state,
            "consumer {} by an operator",
            if paused { "paused" } else { "resumed" }
        );
    }
    let mut body = view_json(&view);
    body["changed"] = json!(changed);
    Ok(Json(body))
}

/// The consumer `name`, if this stack can pause it.
fn known(app: &Services, name: &str) -> Result<Consumer, ApiError> {
    let configured = app.consumers.configured();
    Consumer::parse(name)
        .filter(|consumer| configured.contains(consumer))
        .ok_or_else(|| {
            let names: Vec<&str> = configured.iter().map(|c| c.name()).collect();
            ApiError::consumer_not_found(name, &names)
        })
}

/// A consumer's view as the API shows it.
fn view_json(view: &ConsumerView) -> Value {
    let record = &view.record;
    let recorded = record.version > 0;
    json!({
        "name": view.consumer.name(),
        "dependency": view.consumer.dependency(),
        "paused": record.paused,
        "by": recorded.then(|| record.by.as_string()),
        "at": recorded.then_some(record.at),
        "version": record.version,
        "mapping": {
            "state": view.mapping.state,
            "reason": view.mapping.reason,
        },
    })
}

/// The answer to a failed read or change of consumer `name` (logged; no internals shown).
fn failed(name: &str, error: &ConsumerError) -> ApiError {
    match error {
        ConsumerError::Store(error) => ApiError::store(error),
        ConsumerError::Concurrent => {
            ApiError::concurrent_change("the consumer kept changing concurrently; retry")
        }
        ConsumerError::NotConfigured(_) | ConsumerError::Mapping(_) => {
            tracing::error!(consumer = name, error = %error, "consumer's event source mapping not reached");
            ApiError::dependency_unavailable()
        }
    }
}
