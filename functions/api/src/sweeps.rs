//! Sweep routes: the stored sweep reports (`GET /recovery/sweeps`) and a sweep run on
//! demand (`POST /recovery/trigger`). A sweep runs as the sweeper function — its role, its
//! lease, its timeout — invoked synchronously through Lambda's Invoke API, so the API holds
//! no repair permissions of its own (docs/recovery.md). Reports are answered with their
//! error and action lines sanitised as the recovery log's messages are (no ARNs, no URLs).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use lifecycle_adapters::aws::InvokeError;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery::{RecoveryReport, SweepStep};
use lifecycle_domain::recovery_log::sanitize::sanitize_message;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ApiError;
use crate::paging::{ListingTokens, PageRequest};

type App = State<Arc<Services>>;

/// Reports per page when `limit` is not given, and at most (a report holds up to 100 lines
/// per step, so a page stays far below Lambda's 6 MB answer).
const DEFAULT_SWEEPS: i32 = 10;
const MAX_SWEEPS: i32 = 20;

/// Query string of `GET /recovery/sweeps`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SweepsQuery {
    limit: Option<String>,
    next_token: Option<String>,
}

/// Body of `GET /recovery/sweeps`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SweepList {
    sweeps: Vec<RecoveryReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `GET /recovery/sweeps?limit=…&nextToken=…`: the stored sweep reports, newest first.
pub(crate) async fn list(
    State(app): App,
    query: Result<Query<SweepsQuery>, QueryRejection>,
) -> Result<Json<SweepList>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let tokens = ListingTokens::of(&app, "/recovery/sweeps".to_owned()).await?;
    let mut fields = BTreeMap::new();
    let page = PageRequest::parse(
        query.limit.as_deref(),
        query.next_token.as_deref(),
        &tokens,
        &mut fields,
    );
    let limit = match query.limit {
        None => DEFAULT_SWEEPS,
        Some(_) if page.limit > MAX_SWEEPS => {
            fields.insert(
                "limit".into(),
                format!("must be an integer from 1 to {MAX_SWEEPS}"),
            );
            MAX_SWEEPS
        }
        Some(_) => page.limit,
    };
    if !fields.is_empty() {
        return Err(ApiError::invalid_fields(fields));
    }
    let result = app
        .store
        .list_reports(Timestamp::now(), limit, page.start.as_ref())
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(SweepList {
        sweeps: result.reports.into_iter().map(public).collect(),
        next_token: result.next.map(|t| tokens.seal(t.as_str())),
    }))
}

/// The body of `POST /recovery/trigger` (all optional: a full, real sweep).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TriggerBody {
    dry_run: Option<bool>,
    steps: Option<Value>,
}

/// `POST /recovery/trigger` with `{"steps"?: [...], "dryRun"?: bool}`: runs a sweep as the
/// sweeper and answers its report. 400 for an unknown step, 502 when the sweep fails.
pub(crate) async fn trigger(
    State(app): App,
    body: Bytes,
) -> Result<Json<RecoveryReport>, ApiError> {
    let body: TriggerBody = if body.iter().all(u8::is_ascii_whitespace) {
        TriggerBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            ApiError::bad_body(format!(
                "expected {{\"steps\"?: [step names], \"dryRun\"?: bool}}: {error}"
            ))
        })?
    };
    let steps = body.steps.map(parse_steps).transpose()?;
    let report = run_sweep(&app, body.dry_run.unwrap_or(false), steps.as_deref()).await?;
    Ok(Json(public(report)))
}

/// The steps a `steps` value names: a non-empty list of step names.
fn parse_steps(value: Value) -> Result<Vec<SweepStep>, ApiError> {
    let problem = || {
        ApiError::field(
            "steps",
            format!(
                "must be a non-empty list of step names, each one of {}",
                step_names().join(", ")
            ),
        )
    };
    let steps: Vec<SweepStep> = serde_json::from_value(value).map_err(|_| problem())?;
    if steps.is_empty() {
        return Err(problem());
    }
    Ok(steps)
}

/// Every step's wire name, in run order.
fn step_names() -> Vec<String> {
    SweepStep::ALL
        .iter()
        .filter_map(|step| serde_json::to_value(step).ok()?.as_str().map(str::to_owned))
        .collect()
}

/// Runs a sweep of `steps` (all when `None`) as the sweeper and returns its report.
pub(crate) async fn run_sweep(
    app: &Services,
    dry_run: bool,
    steps: Option<&[SweepStep]>,
) -> Result<RecoveryReport, ApiError> {
    let Some(sweeper) = &app.sweeper else {
        tracing::error!(
            code = "SWEEPER_NOT_CONFIGURED",
            "SWEEPER_FUNCTION_NAME is not set: no sweep can be run"
        );
        return Err(ApiError::sweeper_unavailable());
    };
    let mut request = json!({ "dryRun": dry_run });
    if let Some(steps) = steps {
        request["steps"] = json!(steps);
    }
    let answer = sweeper.invoke(&request).await.map_err(|error| {
        tracing::error!(
            code = invoke_code(&error),
            function = sweeper.function(),
            error = %error,
            "sweeper invocation failed"
        );
        match error {
            InvokeError::FunctionFailed { .. } => ApiError::sweep_failed(),
            InvokeError::NotFound | InvokeError::Unavailable(_) | InvokeError::BadAnswer(_) => {
                ApiError::sweeper_unavailable()
            }
        }
    })?;
    let report: RecoveryReport = serde_json::from_value(answer).map_err(|error| {
        tracing::error!(code = "SWEEPER_BAD_ANSWER", error = %error, "the sweeper's answer is not a report");
        ApiError::sweeper_unavailable()
    })?;
    tracing::info!(
        run = report.run_id,
        dry_run,
        success = report.success,
        "sweep run on demand"
    );
    Ok(report)
}

/// `report` as answered: its free text (errors, actions, crash evidence) sanitised.
fn public(mut report: RecoveryReport) -> RecoveryReport {
    let clean = |lines: &mut Vec<String>| {
        for line in lines.iter_mut() {
            *line = sanitize_message(line);
        }
    };
    clean(&mut report.errors);
    for step in &mut report.steps {
        clean(&mut step.errors);
        clean(&mut step.actions);
    }
    report.crash_evidence = report.crash_evidence.as_deref().map(sanitize_message);
    report
}

/// The log code of a failed invocation.
fn invoke_code(error: &InvokeError) -> &'static str {
    match error {
        InvokeError::FunctionFailed { .. } => "SWEEP_FAILED",
        InvokeError::NotFound => "SWEEPER_NOT_FOUND",
        InvokeError::Unavailable(_) => "SWEEPER_UNREACHABLE",
        InvokeError::BadAnswer(_) => "SWEEPER_BAD_ANSWER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_step_names_and_bad_ones_name_the_valid_ones() {
        assert_eq!(
            parse_steps(json!(["missed_timers", "broken_series"])).unwrap(),
            vec![SweepStep::MissedTimers, SweepStep::BrokenSeries]
        );
        for bad in [json!(["missed"]), json!([]), json!("outbox"), json!([1])] {
            let error = parse_steps(bad.clone()).unwrap_err();
            assert_eq!(error.code, "VALIDATION_FAILED", "{bad}");
            let message = &error.fields["steps"];
            assert!(
                message.contains("stuck_timers") && message.contains("stalled_runs"),
                "{message}"
            );
        }
        assert_eq!(step_names().len(), SweepStep::ALL.len());
    }

    #[test]
    fn answered_reports_show_no_arns_or_urls() {
        let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t";
        let mut report: RecoveryReport = serde_json::from_value(json!({
            "runId": "r", "startedAt": "2026-01-01T00:00:00Z",
            "finishedAt": "2026-01-01T00:00:01Z", "dryRun": false, "wasCrash": true,
            "dispatcherRecovered": false, "crashEvidence": format!("watermarks of {arn}"),
            "steps": [], "totals": lifecycle_domain::recovery::RecoveryTotals::default(),
            "errors": [format!("outbox: denied on {arn}")],
            "success": false
        }))
        .expect("a report");
        let mut step = lifecycle_domain::recovery::StepReport::new(SweepStep::Outbox);
        step.errors.push(format!("c1: {arn}: AccessDenied"));
        step.actions
            .push("posted to https://hooks.example/T0K3N".into());
        report.steps.push(step);
        let text = serde_json::to_string(&public(report)).unwrap();
        assert!(
            !text.contains("arn:aws") && !text.contains("T0K3N"),
            "{text}"
        );
        assert!(text.contains("<arn>") && text.contains("<url>"), "{text}");
    }
}
