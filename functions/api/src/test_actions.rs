//! `POST /recovery/test`: an admin's test actions, by `kind`:
//!
//! - `alert`: a test alert through one channel, the real way — an `AlertTestRequested`
//!   event on the bus, which the alerts rule queues for the fan-out, which sends a `TEST`
//!   notification through that channel only (202 with what was queued; 409
//!   `ALERT_CHANNEL_NOT_CONFIGURED` when the configuration in force has no such channel: the
//!   stored one, else the `ALERT_*` environment the API shares with the fan-out);
//! - `pattern`: a dry run of the classification of a sample error with a failure pattern
//!   (given, or stored/built-in by `patternId`) ahead of the patterns in force; nothing is
//!   stored;
//! - `probe`: one cheap read of a dependency through the API's clients — one attempt, no
//!   breaker — answered with `ok`, the error's stable code and the latency; never its text.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::{AlertChannel, TestAlertRequest};
use lifecycle_domain::validation::FieldErrors;
use lifecycle_resilience::{
    AwsError, ErrorClass, FailurePattern, PatternSet, Resilience, classify_with, default_patterns,
};
use serde_json::{Value, json};

use crate::ApiError;

type App = State<Arc<Services>>;

/// The dependencies a probe reads, and what it reads.
const PROBES: [(&str, &str); 3] = [
    ("dynamodb", "GetItem of the runtime configuration"),
    ("sqs", "GetQueueAttributes of the timers queue"),
    ("eventbridge", "DescribeEventBus of the lifecycle bus"),
];

/// The pattern a dry run tests.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tested {
    /// Given in the request (validated, not stored).
    Given(FailurePattern),
    /// A stored or built-in one, by id.
    Id(String),
}

/// A test action, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TestAction {
    Alert(AlertChannel),
    Pattern { tested: Tested, error: AwsError },
    Probe(&'static str),
}

impl TestAction {
    /// Reads a request body, every problem by its field.
    pub(crate) fn from_json(body: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let action = match body.get("kind").and_then(Value::as_str) {
            Some("alert") => alert(body, &mut errors),
            Some("pattern") => pattern(body, &mut errors),
            Some("probe") => probe(body, &mut errors),
            _ => {
                errors.add("kind", "must be one of alert, pattern, probe");
                None
            }
        };
        match action {
            Some(action) if errors.is_empty() => Ok(action),
            _ => Err(errors),
        }
    }
}

fn alert(body: &Value, errors: &mut FieldErrors) -> Option<TestAction> {
    let channel = body
        .get("channel")
        .and_then(Value::as_str)
        .and_then(|name| AlertChannel::parse(&name.to_uppercase()));
    if channel.is_none() {
        errors.add("channel", "must be one of email, slack, webhook, sns");
    }
    channel.map(TestAction::Alert)
}

fn pattern(body: &Value, errors: &mut FieldErrors) -> Option<TestAction> {
    let tested = match (body.get("pattern"), body.get("patternId")) {
        (Some(given), None) => match serde_json::from_value::<FailurePattern>(given.clone()) {
            Ok(given) => match given.validate() {
                Ok(()) => Some(Tested::Given(given)),
                Err(found) => {
                    for problem in found {
                        errors.add(format!("pattern.{}", problem.field), problem.message);
                    }
                    None
                }
            },
            Err(error) => {
                errors.add("pattern", format!("is not a failure pattern: {error}"));
                None
            }
        },
        (None, Some(Value::String(id))) if !id.is_empty() => Some(Tested::Id(id.clone())),
        (None, Some(_)) => {
            errors.add("patternId", "must be a pattern id");
            None
        }
        _ => {
            errors.add("pattern", "give either pattern or patternId");
            None
        }
    };
    let sample = body.get("error");
    let code = sample
        .and_then(|e| e.get("code"))
        .and_then(Value::as_str)
        .filter(|code| !code.is_empty() && code.len() <= 256);
    if code.is_none() {
        errors.add("error.code", "is required: 1 to 256 characters");
    }
    let message = match sample.and_then(|e| e.get("message")) {
        None => Some(""),
        Some(Value::String(message)) if message.len() <= 4096 => Some(message.as_str()),
        Some(_) => {
            errors.add("error.message", "must be text of at most 4096 characters");
            None
        }
    };
    let status = match sample.and_then(|e| e.get("status")) {
        None | Some(Value::Null) => Some(None),
        Some(value) => match value.as_u64() {
            Some(status) if (100..=599).contains(&status) => Some(Some(status as u16)),
            _ => {
                errors.add("error.status", "must be an HTTP status from 100 to 599");
                None
            }
        },
    };
    Some(TestAction::Pattern {
        tested: tested?,
        error: AwsError {
            operation: "Test",
            code: code?.to_owned(),
            message: message?.to_owned(),
            status: status?,
        },
    })
}

fn probe(body: &Value, errors: &mut FieldErrors) -> Option<TestAction> {
    let name = body.get("dependency").and_then(Value::as_str);
    let found = PROBES
        .iter()
        .find(|(dependency, _)| Some(*dependency) == name)
        .map(|(dependency, _)| *dependency);
    if found.is_none() {
        errors.add(
            "dependency",
            format!(
                "must be one of {}",
                PROBES.map(|(dependency, _)| dependency).join(", ")
            ),
        );
    }
    found.map(TestAction::Probe)
}

/// The dry run's answer: the class `error` gets with `tested` ahead of `stored` (the
/// operators' patterns other than a given one of the same id) and the built-in ones.
pub(crate) fn dry_run(
    tested: &FailurePattern,
    stored: &[FailurePattern],
    error: &AwsError,
) -> Value {
    let patterns =
        std::iter::once(tested.clone()).chain(stored.iter().filter(|p| p.id != tested.id).cloned());
    let (class, matched) = classify_with(&PatternSet::with_defaults(patterns), error);
    answer(&class, matched.as_ref(), &tested.id)
}

/// The dry run's answer for a pattern in force, matched in its usual order.
fn dry_run_in_force(stored: &[FailurePattern], id: &str, error: &AwsError) -> Value {
    let (class, matched) = classify_with(&PatternSet::with_defaults(stored.to_vec()), error);
    answer(&class, matched.as_ref(), id)
}

fn answer(class: &ErrorClass, matched: Option<&FailurePattern>, tested: &str) -> Value {
    json!({
        "kind": "pattern",
        "class": class.code,
        "category": class.category,
        "severity": class.severity,
        "retryable": class.retryable,
        "recoverable": class.recoverable,
        "actions": matched.map_or(&[][..], |p| &p.actions[..]),
        "matchedPattern": matched.map(|p| p.id.as_str()),
        "testedPatternMatched": matched.is_some_and(|p| p.id == tested),
        "fixedClass": class.is_fixed(),
    })
}

/// `POST /recovery/test`.
pub(crate) async fn run_test(
    State(app): App,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    match TestAction::from_json(&body)? {
        TestAction::Alert(channel) => test_alert(&app, channel).await,
        TestAction::Pattern { tested, error } => {
            let stored = app
                .store
                .patterns()
                .await
                .map_err(|e| ApiError::store(&e))?;
            let answer = match tested {
                Tested::Given(pattern) => dry_run(&pattern, &stored, &error),
                Tested::Id(id) => {
                    let known = stored.iter().any(|p| p.id == id)
                        || default_patterns().iter().any(|p| p.id == id);
                    if !known {
                        return Err(ApiError::pattern_not_found(&id));
                    }
                    dry_run_in_force(&stored, &id, &error)
                }
            };
            Ok((StatusCode::OK, Json(answer)))
        }
        TestAction::Probe(dependency) => {
            Ok((StatusCode::OK, Json(run_probe(&app, dependency).await)))
        }
    }
}

/// Queues a test alert for `channel` on the bus (the fan-out's way in).
async fn test_alert(
    app: &Services,
    channel: AlertChannel,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let checked = match app
        .store
        .alert_config()
        .await
        .map_err(|e| ApiError::store(&e))?
    {
        Some(Ok(config)) if config.configured(channel) => "stored",
        Some(Ok(_)) => return Err(ApiError::alert_channel_not_configured(channel.as_str())),
        Some(Err(_)) => return Err(ApiError::alert_config_invalid()),
        None if app.config.alert_defaults.configured(channel) => "environment",
        None => return Err(ApiError::alert_channel_not_configured(channel.as_str())),
    };
    let request = TestAlertRequest {
        test_id: uuid::Uuid::new_v4().to_string(),
        channel,
        requested_at: Timestamp::now(),
    };
    let report = app.events.publish(std::slice::from_ref(&request)).await;
    if let Some((_, error)) = report.failed.first() {
        tracing::error!(code = error.class().code, error = %error, "test alert not published");
        return Err(ApiError::dependency_unavailable());
    }
    tracing::info!(
        test_id = request.test_id,
        channel = channel.as_str(),
        "test alert queued"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "kind": "alert",
            "testId": request.test_id,
            "channel": channel.as_str(),
            "notificationId": request.notification().notification_id,
            "requestedAt": request.requested_at,
            "configuration": checked,
        })),
    ))
}

/// One read of `dependency`, one attempt, no breaker.
async fn run_probe(app: &Services, dependency: &'static str) -> Value {
    let once = Resilience::passthrough();
    let started = Instant::now();
    let outcome: Result<(), ErrorClass> = match dependency {
        "dynamodb" => app
            .store
            .clone()
            .with_resilience(once)
            .runtime_config()
            .await
            .map(drop)
            .map_err(|error| log_probe(dependency, error.class(), &error)),
        "sqs" => {
            let queue = app.timers.clone().with_resilience(once);
            queue
                .depth(queue.url())
                .await
                .map(drop)
                .map_err(|error| log_probe(dependency, error.class(), &error))
        }
        _ => app
            .events
            .clone()
            .with_resilience(once)
            .describe_bus()
            .await
            .map_err(|error| log_probe(dependency, error.class(), &error)),
    };
    let latency_ms = started.elapsed().as_millis() as u64;
    let read = PROBES
        .iter()
        .find(|(name, _)| *name == dependency)
        .map_or("", |(_, read)| read);
    match outcome {
        Ok(()) => json!({"kind": "probe", "dependency": dependency, "call": read, "ok": true,
            "latencyMs": latency_ms}),
        Err(class) => json!({"kind": "probe", "dependency": dependency, "call": read, "ok": false,
            "errorCode": class.code, "latencyMs": latency_ms}),
    }
}

/// Logs a failed probe's error (its text stays in the log) and returns its class.
fn log_probe(dependency: &str, class: ErrorClass, error: &dyn std::fmt::Display) -> ErrorClass {
    tracing::warn!(dependency, code = class.code, error = %error, "probe failed");
    class
}

#[cfg(test)]
mod tests {
    use lifecycle_resilience::{ErrorCategory, ErrorSeverity, RecoveryAction};

    use super::*;

    fn sample(code: &str, message: &str) -> AwsError {
        AwsError {
            operation: "Test",
            code: code.into(),
            message: message.into(),
            status: None,
        }
    }

    fn quota() -> FailurePattern {
        FailurePattern {
            id: "quota".into(),
            pattern: "(?i)quota exceeded".into(),
            category: ErrorCategory::ResourceExhaustion,
            severity: ErrorSeverity::High,
            actions: vec![RecoveryAction::Retry, RecoveryAction::Alert],
            cooldown_ms: 0,
        }
    }

    #[test]
    fn reads_each_kind_and_names_bad_fields() {
        assert_eq!(
            TestAction::from_json(&json!({"kind": "alert", "channel": "webhook"})).unwrap(),
            TestAction::Alert(AlertChannel::Webhook)
        );
        assert_eq!(
            TestAction::from_json(&json!({"kind": "probe", "dependency": "sqs"})).unwrap(),
            TestAction::Probe("sqs")
        );
        let errors = TestAction::from_json(&json!({"kind": "alert", "channel": "fax"}))
            .unwrap_err()
            .0;
        assert!(errors.contains_key("channel"));
        let errors = TestAction::from_json(&json!({"kind": "probe", "dependency": "lambda"}))
            .unwrap_err()
            .0;
        assert_eq!(
            errors["dependency"],
            "must be one of dynamodb, sqs, eventbridge"
        );
        let errors = TestAction::from_json(&json!({"kind": "nope"}))
            .unwrap_err()
            .0;
        assert!(errors.contains_key("kind"));
        let errors = TestAction::from_json(&json!({"kind": "pattern",
            "pattern": {"id": "x", "pattern": "(", "category": "TRANSIENT", "severity": "LOW"},
            "error": {"status": 42}}))
        .unwrap_err()
        .0;
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["error.code", "error.status", "pattern.pattern"]);
    }

    #[test]
    fn a_dry_run_answers_the_class_and_the_pattern_that_matched() {
        let answer = dry_run(
            &quota(),
            &[],
            &sample("LimitExceeded", "Quota exceeded for x"),
        );
        assert_eq!(answer["matchedPattern"], "quota");
        assert_eq!(answer["testedPatternMatched"], true);
        assert_eq!(answer["category"], "RESOURCE_EXHAUSTION");
        assert_eq!(answer["severity"], "HIGH");
        assert_eq!(answer["retryable"], true);
        assert_eq!(answer["actions"], json!(["RETRY", "ALERT"]));

        let answer = dry_run(&quota(), &[], &sample("ThrottlingException", "slow down"));
        assert_eq!(answer["testedPatternMatched"], false);
        assert_eq!(answer["class"], "AWS_THROTTLED");

        let answer = dry_run(
            &quota(),
            &[],
            &sample("ConditionalCheckFailedException", "quota exceeded"),
        );
        assert_eq!(
            answer["matchedPattern"],
            Value::Null,
            "a fixed class is never matched"
        );
        assert_eq!(answer["fixedClass"], true);
    }

    #[test]
    fn a_given_pattern_goes_ahead_of_a_stored_one_of_the_same_id() {
        let mut stored = quota();
        stored.severity = ErrorSeverity::Low;
        let answer = dry_run(&quota(), &[stored.clone()], &sample("X", "quota exceeded"));
        assert_eq!(answer["severity"], "HIGH");
        let answer = dry_run_in_force(&[stored], "quota", &sample("X", "quota exceeded"));
        assert_eq!(answer["severity"], "LOW");
    }
}
