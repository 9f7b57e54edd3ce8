//! `GET /health`: DynamoDB, the timers queue and its dead-letter queue, the bus, the
//! dispatcher's lag and every function's heartbeat age, each checked concurrently under its
//! own timeout. 200 when healthy or degraded, 503 when unhealthy. Public: it shows component
//! names, numbers and, for a failed check, the stable code of its error — never the error's
//! text (AWS messages name accounts, roles and tables; SDK errors carry request ids), which is
//! logged instead.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{HeartbeatRecord, StoreError};
use lifecycle_domain::Timestamp;
use lifecycle_domain::health::{
    CHECK_TIMEOUT_CODE, ComponentHealth, HealthReport, HealthStatus, dead_letter_status,
    scheduled_function_status,
};
use lifecycle_resilience::AwsError;
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

/// Why a check failed: the stable code it is answered with, and the error's text, which is
/// only logged.
#[derive(Debug, Clone)]
struct CheckFailure {
    code: &'static str,
    text: String,
}

impl From<StoreError> for CheckFailure {
    fn from(error: StoreError) -> Self {
        Self {
            code: error.class().code,
            text: error.to_string(),
        }
    }
}

impl From<AwsError> for CheckFailure {
    fn from(error: AwsError) -> Self {
        Self {
            code: error.class().code,
            text: error.to_string(),
        }
    }
}

/// The heartbeat records, read once per request by whichever check needs them first.
type Heartbeats = tokio::sync::OnceCell<Result<Vec<HeartbeatRecord>, CheckFailure>>;

async fn heartbeats<'a>(
    app: &Services,
    beats: &'a Heartbeats,
) -> Result<&'a [HeartbeatRecord], CheckFailure> {
    beats
        .get_or_init(|| async { Ok(app.store.heartbeats().await?) })
        .await
        .as_deref()
        .map_err(Clone::clone)
}

type Check<'a> = std::pin::Pin<Box<dyn Future<Output = ComponentHealth> + Send + 'a>>;

fn boxed<'a>(check: impl Future<Output = ComponentHealth> + Send + 'a) -> Check<'a> {
    Box::pin(check)
}

/// What a check found: its status and the numbers behind it.
type Finding = Result<(HealthStatus, Map<String, Value>), CheckFailure>;

/// Runs `probe` under the timeout and times it. A failure is answered with its code and
/// logged with its text.
async fn check(component: &'static str, probe: impl Future<Output = Finding>) -> ComponentHealth {
    let started = Timestamp::now();
    let result = tokio::time::timeout(CHECK_TIMEOUT, probe).await;
    let response_time_ms = Timestamp::now().millis_since(started);
    let (status, detail, failure) = match result {
        Ok(Ok((status, detail))) => (status, detail, None),
        Ok(Err(failure)) => (HealthStatus::Unhealthy, Map::new(), Some(failure)),
        Err(_) => (
            HealthStatus::Unhealthy,
            Map::new(),
            Some(CheckFailure {
                code: CHECK_TIMEOUT_CODE,
                text: format!("no answer within {} ms", CHECK_TIMEOUT.as_millis()),
            }),
        ),
    };
    if let Some(failure) = &failure {
        tracing::warn!(
            component,
            code = failure.code,
            response_time_ms,
            error = failure.text,
            "health check failed"
        );
    }
    ComponentHealth {
        component,
        status,
        response_time_ms,
        detail,
        error_code: failure.map(|f| f.code),
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
    let depth = app.timers.depth(app.timers.url()).await?;
    Ok((HealthStatus::Healthy, detail(json!(depth))))
}

async fn dead_letters(app: &Services) -> Finding {
    let Some(url) = &app.config.timers_dlq_url else {
        return Ok((HealthStatus::Degraded, detail(json!({"configured": false}))));
    };
    let depth = app.timers.depth(url).await?;
    Ok((dead_letter_status(depth.visible), detail(json!(depth))))
}

async fn event_bus(app: &Services) -> Finding {
    app.events.describe_bus().await?;
    Ok((HealthStatus::Healthy, Map::new()))
}

/// The dispatcher's pulse: its heartbeat and its watermarks' last save.
async fn dispatcher(app: &Services, beats: &Heartbeats) -> Finding {
    let watermarks = app.store.load_watermarks().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What AWS answers a role without permission: account, role and table in the text.
    fn access_denied() -> AwsError {
        AwsError {
            operation: "Query",
            code: "AccessDeniedException".into(),
            message: "User: arn:aws:sts::123456789012:assumed-role/campaign-api/fn is not \
                      authorized to perform: dynamodb:Query on resource: \
                      arn:aws:dynamodb:eu-west-1:123456789012:table/campaigns (request id \
                      7Q2V0J8K)"
                .into(),
            status: Some(400),
        }
    }

    #[tokio::test]
    async fn a_failed_check_answers_its_code_and_none_of_the_error_text() {
        let store_failure = check("dynamodb", async {
            Err(StoreError::from(access_denied()).into())
        })
        .await;
        let queue_failure = check("timersQueue", async { Err(access_denied().into()) }).await;
        for component in [store_failure, queue_failure] {
            let json = serde_json::to_value(&component).unwrap();
            assert_eq!(json["status"], "unhealthy");
            assert_eq!(json["errorCode"], "AWS_ACCESS_DENIED");
            let text = json.to_string();
            for secret in [
                "arn:",
                "123456789012",
                "campaign-api",
                "authorized",
                "7Q2V0J8K",
            ] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }
}
