//! `GET /health`: DynamoDB, the timers queue and its dead-letter queue, the bus, the
//! dispatcher's lag and every function's heartbeat age, each checked concurrently under its
//! own timeout. 200 when healthy or degraded, 503 when unhealthy. Public: it shows component
//! names and numbers, never URLs or ARNs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::HeartbeatRecord;
use lifecycle_domain::Timestamp;
use lifecycle_domain::health::{
    ComponentHealth, HealthReport, HealthStatus, dead_letter_status, scheduled_function_status,
};
use serde_json::{Map, Value, json};

/// Each check's time limit.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// The dispatcher's schedule period (template.yaml: rate(1 minute)).
const DISPATCHER_PERIOD_S: i64 = 60;
/// The sweeper's schedule period (template.yaml: rate(5 minutes)).
const SWEEPER_PERIOD_S: i64 = 300;

/// `GET /health`.
pub(crate) async fn health(State(app): State<Arc<Services>>) -> (StatusCode, Json<HealthReport>) {
    let app = &*app;
    let beats = Heartbeats::default();
    let components = futures_util::future::join_all([
        boxed(check("dynamodb", dynamodb(app, &beats))),
        boxed(check("timersQueue", timers_queue(app))),
        boxed(check("timersDeadLetterQueue", dead_letters(app))),
        boxed(check("eventBus", event_bus(app))),
        boxed(check("dispatcher", dispatcher(app, &beats))),
        boxed(check("sweeper", sweeper(app, &beats))),
    ])
    .await;
    let report = HealthReport::of(components);
    let code = if report.status == HealthStatus::Unhealthy {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(report))
}

/// The heartbeat records, read once per request by whichever check needs them first.
type Heartbeats = tokio::sync::OnceCell<Result<Vec<HeartbeatRecord>, String>>;

async fn heartbeats<'a>(
    app: &Services,
    beats: &'a Heartbeats,
) -> Result<&'a [HeartbeatRecord], String> {
    beats
        .get_or_init(|| async { app.store.heartbeats().await.map_err(|e| e.to_string()) })
        .await
        .as_deref()
        .map_err(Clone::clone)
}

type Check<'a> = std::pin::Pin<Box<dyn Future<Output = ComponentHealth> + Send + 'a>>;

fn boxed<'a>(check: impl Future<Output = ComponentHealth> + Send + 'a) -> Check<'a> {
    Box::pin(check)
}

/// What a check found: its status and the numbers behind it.
type Finding = Result<(HealthStatus, Map<String, Value>), String>;

/// Runs `probe` under the timeout and times it.
async fn check(component: &'static str, probe: impl Future<Output = Finding>) -> ComponentHealth {
    let started = Timestamp::now();
    let result = tokio::time::timeout(CHECK_TIMEOUT, probe).await;
    let response_time_ms = Timestamp::now().millis_since(started);
    let (status, detail, error) = match result {
        Ok(Ok((status, detail))) => (status, detail, None),
        Ok(Err(error)) => (HealthStatus::Unhealthy, Map::new(), Some(error)),
        Err(_) => (
            HealthStatus::Unhealthy,
            Map::new(),
            Some(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
        ),
    };
    ComponentHealth {
        component,
        status,
        response_time_ms,
        detail,
        error,
    }
}

fn detail(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

async fn dynamodb(app: &Services, beats: &Heartbeats) -> Finding {
    let beats = heartbeats(app, beats).await?;
    Ok((
        HealthStatus::Healthy,
        detail(json!({"functionsSeen": beats.len()})),
    ))
}

async fn timers_queue(app: &Services) -> Finding {
    let depth = app
        .timers
        .depth(app.timers.url())
        .await
        .map_err(|e| e.to_string())?;
    Ok((HealthStatus::Healthy, detail(json!(depth))))
}

async fn dead_letters(app: &Services) -> Finding {
    let Some(url) = &app.config.timers_dlq_url else {
        return Ok((HealthStatus::Degraded, detail(json!({"configured": false}))));
    };
    let depth = app.timers.depth(url).await.map_err(|e| e.to_string())?;
    Ok((dead_letter_status(depth.visible), detail(json!(depth))))
}

async fn event_bus(app: &Services) -> Finding {
    app.events.describe_bus().await.map_err(|e| e.to_string())?;
    Ok((HealthStatus::Healthy, Map::new()))
}

/// The dispatcher's pulse: its heartbeat and its watermarks' last save.
async fn dispatcher(app: &Services, beats: &Heartbeats) -> Finding {
    let watermarks = app
        .store
        .load_watermarks()
        .await
        .map_err(|e| e.to_string())?;
    let heartbeat = last_seen(heartbeats(app, beats).await?, "timer-dispatcher");
    let seen = heartbeat.into_iter().chain(watermarks.saved_at).max();
    let age_s = seen.map(|at| Timestamp::now().millis_since(at) / 1000);
    let stall_s = i64::from(app.config.sweep.dispatcher_stall_secs);
    Ok((
        scheduled_function_status(age_s, DISPATCHER_PERIOD_S, stall_s),
        detail(json!({"lastSeenAgeSeconds": age_s, "stallThresholdSeconds": stall_s})),
    ))
}

async fn sweeper(app: &Services, beats: &Heartbeats) -> Finding {
    let age_s = last_seen(heartbeats(app, beats).await?, "sweeper")
        .map(|at| Timestamp::now().millis_since(at) / 1000);
    Ok((
        scheduled_function_status(age_s, SWEEPER_PERIOD_S, 3 * SWEEPER_PERIOD_S),
        detail(json!({"lastSeenAgeSeconds": age_s})),
    ))
}

/// When `function` last beat, if it ever did.
fn last_seen(beats: &[HeartbeatRecord], function: &str) -> Option<Timestamp> {
    beats
        .iter()
        .find(|b| b.function == function)
        .map(|b| b.last_seen)
}
