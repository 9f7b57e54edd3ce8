//! `GET /recovery/configuration` and `PUT /recovery/configuration`: the runtime configuration
//! (misfire window and graces, circuit-breaker thresholds; `lifecycle_adapters::
//! runtime_config`) and the alert fan-out's configuration (routing, intervals, channels;
//! docs/alerts.md), which a PUT may replace in the same transaction. A PUT is conditional on
//! the `version` the caller read (409 `CONCURRENT_CHANGE` for another), validated with a
//! message per field, and idempotent: a body that changes nothing writes nothing and keeps
//! the version. Every instance applies a change within `RUNTIME_CONFIG_REFRESH` (60 s);
//! this one at once.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use lifecycle_adapters::runtime::RUNTIME_CONFIG_REFRESH;
use lifecycle_adapters::runtime_config::RuntimeSettings;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{InvalidAlertConfig, StoredRuntimeConfig};
use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::{AlertChannel, AlertConfig};
use lifecycle_domain::validation::FieldErrors;
use serde_json::{Value, json};

use crate::ApiError;

type App = State<Arc<Services>>;

/// A `PUT /recovery/configuration` body, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConfigurationChange {
    /// The version the caller read (0: none was stored).
    pub version: u64,
    pub settings: RuntimeSettings,
    /// The fan-out's configuration, when the body replaces it.
    pub alerts: Option<AlertConfig>,
}

impl ConfigurationChange {
    /// Reads `{"version", "misfire", "breakers", "alerts"?}`, every problem by its field
    /// (`misfire.graceSeconds`, `alerts.routing.HIGH[0]`).
    pub(crate) fn from_json(body: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let Some(object) = body.as_object() else {
            errors.add("", "must be an object");
            return Err(errors);
        };
        let version = match object.get("version") {
            None => {
                errors.add(
                    "version",
                    "is required: the version you read (0 if none is stored)",
                );
                None
            }
            Some(value) => {
                let version = value.as_u64();
                if version.is_none() {
                    errors.add("version", "must be a whole number of at least 0");
                }
                version
            }
        };
        let alerts = match object.get("alerts") {
            None => None,
            Some(value) => match AlertConfig::from_json(value) {
                Ok(alerts) => Some(alerts),
                Err(found) => {
                    for (field, message) in found.0 {
                        errors.add(prefixed("alerts", &field), message);
                    }
                    None
                }
            },
        };
        let mut rest = object.clone();
        rest.remove("version");
        rest.remove("alerts");
        let settings = match RuntimeSettings::from_json(&Value::Object(rest)) {
            Ok(settings) => Some(settings),
            Err(found) => {
                errors.0.extend(found.0);
                None
            }
        };
        match (version, settings) {
            (Some(version), Some(settings)) if errors.is_empty() => Ok(Self {
                version,
                settings,
                alerts,
            }),
            _ => Err(errors),
        }
    }
}

fn prefixed(path: &str, field: &str) -> String {
    if field.is_empty() {
        path.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

/// What is stored now: the runtime configuration and the fan-out's.
struct Current {
    runtime: Option<StoredRuntimeConfig>,
    alerts: Option<Result<AlertConfig, InvalidAlertConfig>>,
}

async fn read(app: &Services) -> Result<Current, ApiError> {
    Ok(Current {
        runtime: app
            .store
            .runtime_config()
            .await
            .map_err(|e| ApiError::store(&e))?,
        alerts: app
            .store
            .alert_config()
            .await
            .map_err(|e| ApiError::store(&e))?,
    })
}

/// `GET /recovery/configuration`: the configuration in force, its version and where it
/// comes from.
pub(crate) async fn get_configuration(State(app): App) -> Result<Json<Value>, ApiError> {
    let current = read(&app).await?;
    Ok(Json(view(&app, &current)))
}

/// `PUT /recovery/configuration`: replaces the configuration if `version` is the stored one.
pub(crate) async fn put_configuration(
    State(app): App,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let change = ConfigurationChange::from_json(&body)?;
    let current = read(&app).await?;
    let stored_version = current.runtime.as_ref().map_or(0, |stored| stored.version);
    let settings_in_force = match &current.runtime {
        None => Some(RuntimeSettings::defaults(&app.config)),
        Some(stored) => stored.settings.clone().ok(),
    };
    let alerts_unchanged = change
        .alerts
        .as_ref()
        .is_none_or(|alerts| matches!(&current.alerts, Some(Ok(stored)) if stored == alerts));
    if settings_in_force.as_ref() == Some(&change.settings) && alerts_unchanged {
        return Ok(Json(view(&app, &current)));
    }
    if change.version != stored_version
        || !app
            .store
            .put_runtime_config(
                stored_version,
                &change.settings,
                change.alerts.as_ref(),
                Timestamp::now(),
            )
            .await
            .map_err(|e| ApiError::store(&e))?
    {
        return Err(ApiError::concurrent_change(&format!(
            "the configuration changed since version {} was read; read it again and apply \
             your change to it",
            change.version
        )));
    }
    tracing::warn!(
        config_version = stored_version + 1,
        alerts = change.alerts.is_some(),
        "runtime configuration changed by an operator"
    );
    if let Err(error) = app.reload_runtime_config().await {
        tracing::warn!(
            code = error.class().code,
            error = %error,
            "runtime configuration not reloaded; this instance picks the change up within 60 s"
        );
    }
    let current = read(&app).await?;
    Ok(Json(view(&app, &current)))
}

/// The answer of both routes.
fn view(app: &Services, current: &Current) -> Value {
    let defaults = RuntimeSettings::defaults(&app.config);
    let (source, settings, problems) = match &current.runtime {
        None => ("defaults", defaults, None),
        Some(stored) => match &stored.settings {
            Ok(settings) => ("stored", settings.clone(), None),
            Err(invalid) => ("invalid", defaults, Some(invalid.0.clone())),
        },
    };
    let mut answer = settings.to_json();
    answer["version"] = json!(current.runtime.as_ref().map_or(0, |stored| stored.version));
    answer["updatedAt"] = json!(
        current
            .runtime
            .as_ref()
            .and_then(|stored| stored.updated_at)
    );
    answer["source"] = json!(source);
    if let Some(problems) = problems {
        answer["problems"] = json!(problems);
    }
    answer["alerts"] = match &current.alerts {
        None => json!({"source": "environment"}),
        Some(Err(invalid)) => json!({"source": "invalid", "problems": invalid.0.0}),
        Some(Ok(alerts)) => {
            let configured: Vec<&str> = AlertChannel::ALL
                .into_iter()
                .filter(|channel| alerts.configured(*channel))
                .map(AlertChannel::as_str)
                .collect();
            json!({
                "source": "stored",
                "routing": alerts.routing,
                "cooldownSeconds": alerts.noise.cooldown_ms / 1000,
                "repeatSeconds": alerts.noise.repeat_ms / 1000,
                "configuredChannels": configured,
            })
        }
    };
    answer["refreshSeconds"] = json!(RUNTIME_CONFIG_REFRESH.as_secs());
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> Value {
        json!({
            "version": 2,
            "misfire": {"windowSeconds": 3600, "graceSeconds": 120, "occurrenceGraceSeconds": 60},
            "breakers": {"default": {"failureRatePercent": 50, "minimumCalls": 20,
                "openSeconds": 30, "maxOpenSeconds": 300, "halfOpenProbes": 3}},
        })
    }

    #[test]
    fn reads_the_version_the_settings_and_the_alerts() {
        let change = ConfigurationChange::from_json(&body()).unwrap();
        assert_eq!(change.version, 2);
        assert_eq!(change.settings.misfire.grace_secs, 120);
        assert_eq!(change.alerts, None);
        let mut with_alerts = body();
        with_alerts["alerts"] = json!({"routing": {"CRITICAL": ["SNS"]}});
        let change = ConfigurationChange::from_json(&with_alerts).unwrap();
        assert!(change.alerts.is_some());
    }

    #[test]
    fn names_every_bad_field_including_the_alerts_and_the_version() {
        let mut bad = body();
        bad["version"] = json!(-1);
        bad["misfire"]["windowSeconds"] = json!(10);
        bad["alerts"] = json!({"routing": {"HIGH": ["PIGEON"]}, "nope": 1});
        let errors = ConfigurationChange::from_json(&bad).unwrap_err().0;
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "alerts.nope",
                "alerts.routing.HIGH[0]",
                "misfire.windowSeconds",
                "version"
            ]
        );
        let errors = ConfigurationChange::from_json(&json!({})).unwrap_err().0;
        assert!(errors.contains_key("version") && errors.contains_key("misfire"));
        assert!(ConfigurationChange::from_json(&json!("x")).is_err());
    }
}
