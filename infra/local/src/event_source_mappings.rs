//! The SQS event source mappings of the local runtime, as Lambda's API shows and switches
//! them: `GET /2015-03-31/event-source-mappings/{UUID}` (GetEventSourceMapping), `PUT` of the
//! same path with `{"Enabled": bool}` (UpdateEventSourceMapping) and `GET
//! /2015-03-31/event-source-mappings/?FunctionName=&EventSourceArn=`
//! (ListEventSourceMappings), served beside the Invoke API on `LOCAL_LAMBDA_ADDR`. A
//! mapping's UUID is derived from its SAM logical id (`<FunctionLogicalId><EventName>`) and
//! the stack, so `!Ref` of it in template.yaml resolves to the same UUID everywhere
//! ([`local_uuid`]). The runtime's pollers of a disabled mapping stop receiving (the batch in
//! hand finishes) until it is enabled again. The state is the runtime's, in memory: a
//! restart enables every mapping again (on AWS the state persists; the sweeper's
//! `consumers` step disables a paused consumer's mapping again).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::template::LOCAL_ACCOUNT;

/// The UUID of the mapping `<function><event>` of stack `stack_name` (a name-based UUID).
pub fn local_uuid(stack_name: &str, function: &str, event: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("local-event-source-mapping:{stack_name}/{function}{event}").as_bytes(),
    )
    .to_string()
}

/// One mapping: what Lambda reports about it and the switch its pollers watch.
#[derive(Debug)]
struct Mapping {
    function_arn: String,
    queue_arn: String,
    batch_size: i32,
    report_batch_item_failures: bool,
    enabled: watch::Sender<bool>,
    /// Seconds since the epoch of the last change (Lambda's `LastModified`).
    last_modified: f64,
}

/// Every mapping the runtime drives, by UUID; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct EventSourceMappings {
    mappings: Arc<Mutex<BTreeMap<String, Mapping>>>,
}

/// What a mapping is registered with (from the template).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingSpec {
    pub uuid: String,
    pub function_arn: String,
    pub queue_arn: String,
    pub batch_size: i32,
    pub report_batch_item_failures: bool,
}

impl EventSourceMappings {
    /// Registers `spec` (enabled) unless it is already, and returns the receiver its pollers
    /// watch: `true` while enabled.
    pub fn register(&self, spec: MappingSpec) -> watch::Receiver<bool> {
        let mut mappings = self.mappings.lock().unwrap_or_else(|e| e.into_inner());
        mappings
            .entry(spec.uuid)
            .or_insert_with(|| Mapping {
                function_arn: spec.function_arn,
                queue_arn: spec.queue_arn,
                batch_size: spec.batch_size,
                report_batch_item_failures: spec.report_batch_item_failures,
                enabled: watch::channel(true).0,
                last_modified: now_seconds(),
            })
            .enabled
            .subscribe()
    }

    /// Enables or disables mapping `uuid`; `None` if there is none.
    pub fn set_enabled(&self, uuid: &str, enabled: bool) -> Option<Value> {
        let mut mappings = self.mappings.lock().unwrap_or_else(|e| e.into_inner());
        let mapping = mappings.get_mut(uuid)?;
        if *mapping.enabled.borrow() != enabled {
            mapping.enabled.send_replace(enabled);
            mapping.last_modified = now_seconds();
        }
        Some(configuration(uuid, mapping))
    }

    /// Lambda's configuration document of mapping `uuid`.
    pub fn get(&self, uuid: &str) -> Option<Value> {
        let mappings = self.mappings.lock().unwrap_or_else(|e| e.into_inner());
        mappings.get(uuid).map(|m| configuration(uuid, m))
    }

    /// The mappings of `function` (a name or ARN, matched by its end) and `queue_arn`, each
    /// when given.
    fn list(&self, function: Option<&str>, queue_arn: Option<&str>) -> Vec<Value> {
        let mappings = self.mappings.lock().unwrap_or_else(|e| e.into_inner());
        mappings
            .iter()
            .filter(|(_, m)| {
                function.is_none_or(|f| {
                    m.function_arn == f || m.function_arn.ends_with(&format!(":{f}"))
                }) && queue_arn.is_none_or(|q| m.queue_arn == q)
            })
            .map(|(uuid, m)| configuration(uuid, m))
            .collect()
    }
}

fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

/// `EventSourceMappingConfiguration` as Lambda's REST API answers it.
fn configuration(uuid: &str, mapping: &Mapping) -> Value {
    let enabled = *mapping.enabled.borrow();
    let mut document = json!({
        "UUID": uuid,
        "EventSourceArn": mapping.queue_arn,
        "FunctionArn": mapping.function_arn,
        "BatchSize": mapping.batch_size,
        "MaximumBatchingWindowInSeconds": 0,
        "LastModified": mapping.last_modified,
        "State": if enabled { "Enabled" } else { "Disabled" },
        "StateTransitionReason": "User action",
    });
    if mapping.report_batch_item_failures {
        document["FunctionResponseTypes"] = json!(["ReportBatchItemFailures"]);
    }
    document
}

/// The function ARN of `function` (a logical id) of stack `stack_name`, as provisioning
/// names it.
pub fn function_arn(region: &str, stack_name: &str, function: &str) -> String {
    format!("arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{stack_name}-{function}")
}

/// The three routes of the mappings, over `mappings`.
pub fn router(mappings: EventSourceMappings) -> Router {
    Router::new()
        .route("/2015-03-31/event-source-mappings/", get(list))
        .route("/2015-03-31/event-source-mappings", get(list))
        .route(
            "/2015-03-31/event-source-mappings/{uuid}",
            get(get_mapping).put(update),
        )
        .with_state(mappings)
}

async fn get_mapping(
    State(mappings): State<EventSourceMappings>,
    Path(uuid): Path<String>,
) -> Response {
    match mappings.get(&uuid) {
        Some(document) => (StatusCode::OK, axum::Json(document)).into_response(),
        None => not_found(&uuid),
    }
}

async fn update(
    State(mappings): State<EventSourceMappings>,
    Path(uuid): Path<String>,
    body: Bytes,
) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return lambda_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                &format!("Could not parse request body into json: {error}"),
            );
        }
    };
    let Some(document) = (match request.get("Enabled") {
        Some(Value::Bool(enabled)) => mappings.set_enabled(&uuid, *enabled),
        // Only `Enabled` changes locally; the rest of the mapping is the template's.
        _ => mappings.get(&uuid),
    }) else {
        return not_found(&uuid);
    };
    (StatusCode::ACCEPTED, axum::Json(document)).into_response()
}

async fn list(
    State(mappings): State<EventSourceMappings>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let listed = mappings.list(
        query.get("FunctionName").map(String::as_str),
        query.get("EventSourceArn").map(String::as_str),
    );
    (
        StatusCode::OK,
        axum::Json(json!({ "EventSourceMappings": listed })),
    )
        .into_response()
}

fn not_found(uuid: &str) -> Response {
    lambda_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        &format!("The resource you requested does not exist. (UUID {uuid})"),
    )
}

/// An error in Lambda's shape (`x-amzn-ErrorType` and a body with `Type` and `message`).
fn lambda_error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"Type": "User", "message": message})),
    )
        .into_response();
    response
        .headers_mut()
        .insert("x-amzn-ErrorType", HeaderValue::from_static(error_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(uuid: &str) -> MappingSpec {
        MappingSpec {
            uuid: uuid.into(),
            function_arn: function_arn("us-east-1", "s", "TimerExecutorFunction"),
            queue_arn: "arn:aws:sqs:us-east-1:123456789012:s-TimersQueue".into(),
            batch_size: 10,
            report_batch_item_failures: true,
        }
    }

    #[test]
    fn uuids_are_stable_per_stack_and_mapping() {
        let uuid = local_uuid("s", "TimerExecutorFunction", "TimersQueueMessages");
        assert_eq!(
            uuid,
            local_uuid("s", "TimerExecutorFunction", "TimersQueueMessages")
        );
        assert_ne!(
            uuid,
            local_uuid("t", "TimerExecutorFunction", "TimersQueueMessages")
        );
        assert!(uuid::Uuid::parse_str(&uuid).is_ok());
    }

    #[test]
    fn switching_a_mapping_reaches_its_pollers_and_its_document() {
        let mappings = EventSourceMappings::default();
        let enabled = mappings.register(spec("u"));
        assert!(*enabled.borrow());
        assert_eq!(mappings.get("u").unwrap()["State"], "Enabled");
        let document = mappings.set_enabled("u", false).unwrap();
        assert_eq!(document["State"], "Disabled");
        assert_eq!(
            document["FunctionResponseTypes"][0],
            "ReportBatchItemFailures"
        );
        assert!(!*enabled.borrow());
        // Registering again (another poller) keeps the state.
        assert!(!*mappings.register(spec("u")).borrow());
        assert!(mappings.set_enabled("missing", true).is_none());
        assert_eq!(
            mappings.list(Some("s-TimerExecutorFunction"), None).len(),
            1
        );
        assert_eq!(mappings.list(None, Some("arn:other")).len(), 0);
    }
}
