//! Operator routes of the recovery log: the entries (by time, category, severity and
//! campaign; each resolvable), the statistics of a window and the recovery report — all read
//! from the log's entries and hourly counters, never by reading everything
//! (docs/recovery.md states what each costs).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::ResolveOutcome;
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery::RecoveryReport;
use lifecycle_domain::recovery_log::from_alert::DISPATCHER;
use lifecycle_domain::recovery_log::report::{dependency_health, overall, recommendations};
use lifecycle_domain::recovery_log::statistics::{Window, hours_of, statistics, window_counts};
use lifecycle_domain::recovery_log::{
    EventCategory, EventQuery, HourCounts, RecoveryEvent, Resolution,
};
use lifecycle_resilience::Dependency;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ApiError;
use crate::paging::ListingTokens;

type App = State<Arc<Services>>;
type Params = Result<Query<BTreeMap<String, String>>, QueryRejection>;

/// Longest `resolvedBy` and `note`, in characters.
const MAX_RESOLVED_BY: usize = 100;
const MAX_NOTE: usize = 500;
/// Entries of each category the report reads for its recent events (one Query each), and
/// keeps per component.
const REPORT_EVENTS: usize = 50;
const EVENTS_PER_DEPENDENCY: usize = 5;
/// Sweeps the report shows.
const REPORT_SWEEPS: i32 = 5;

fn params(query: Params) -> Result<BTreeMap<String, String>, ApiError> {
    query
        .map(|Query(params)| params)
        .map_err(|rejection| ApiError::bad_body(rejection.body_text()))
}

/// `GET /recovery/events?since&category&severity&campaignId&limit&nextToken`: entries,
/// newest first.
pub(crate) async fn list_events(State(app): App, query: Params) -> Result<Json<Value>, ApiError> {
    let now = Timestamp::now();
    let mut params = params(query)?;
    let tokens = ListingTokens::of(&app, "/recovery/events".into()).await?;
    // The signed token stands for the id of the last entry examined, which the query reads.
    let bad_token = match params.remove("nextToken").map(|t| tokens.open(&t)) {
        Some(Ok(before)) => {
            params.insert("nextToken".into(), before);
            None
        }
        Some(Err(invalid)) => Some(invalid.to_string()),
        None => None,
    };
    let query = match (EventQuery::from_params(&params, now), bad_token) {
        (Ok(query), None) => query,
        (Ok(_), Some(problem)) => return Err(ApiError::field("nextToken", problem)),
        (Err(errors), problem) => {
            let mut fields = errors.0;
            fields.extend(problem.map(|p| ("nextToken".to_owned(), p)));
            return Err(ApiError::invalid_fields(fields));
        }
    };
    let page = app
        .store
        .recovery_events(&query, now)
        .await
        .map_err(|e| ApiError::store(&e))?;
    let next_token = page.next_token.map(|id| tokens.seal(&id));
    Ok(Json(
        json!({ "events": page.events, "nextToken": next_token }),
    ))
}

/// The body of `POST /recovery/events/{id}/resolve`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ResolveBody {
    resolved_by: Option<String>,
    note: Option<String>,
}

/// `POST /recovery/events/{id}/resolve`: marks the entry resolved by `resolvedBy` (with an
/// optional `note`). Idempotent: an entry resolved before is answered with its first
/// resolution (`alreadyResolved: true`); 404 `EVENT_NOT_FOUND` for an unknown id.
pub(crate) async fn resolve_event(
    State(app): App,
    Path(id): Path<String>,
    body: Result<Json<ResolveBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let mut fields = BTreeMap::new();
    let by = body.resolved_by.unwrap_or_default().trim().to_owned();
    if by.is_empty() || by.chars().count() > MAX_RESOLVED_BY {
        fields.insert(
            "resolvedBy".to_owned(),
            format!("is required: who resolved it, 1 to {MAX_RESOLVED_BY} characters"),
        );
    }
    let note = body
        .note
        .map(|note| note.trim().to_owned())
        .filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE) {
        fields.insert(
            "note".to_owned(),
            format!("must be at most {MAX_NOTE} characters"),
        );
    }
    if !fields.is_empty() {
        return Err(ApiError::invalid_fields(fields));
    }
    let resolution = Resolution {
        by,
        at: Timestamp::now(),
        note,
    };
    let outcome = app
        .store
        .resolve_event(&id, &resolution)
        .await
        .map_err(|e| ApiError::store(&e))?;
    match outcome {
        ResolveOutcome::Resolved(event) => {
            tracing::info!(
                event = id,
                by = resolution.by,
                "recovery-log entry resolved"
            );
            Ok(Json(json!({ "event": event, "alreadyResolved": false })))
        }
        ResolveOutcome::AlreadyResolved(event) => {
            Ok(Json(json!({ "event": event, "alreadyResolved": true })))
        }
        ResolveOutcome::NotFound => Err(ApiError::event_not_found(&id)),
    }
}

/// The window a `window` parameter names (default 24h).
fn window(params: &BTreeMap<String, String>) -> Result<Window, ApiError> {
    match params.get("window") {
        None => Ok(Window::Day),
        Some(text) => {
            Window::parse(text).ok_or_else(|| ApiError::field("window", "must be 1h, 24h or 7d"))
        }
    }
}

/// The counters of `window`'s hours at `now` (one Query).
async fn read_window(
    app: &Services,
    window: Window,
    now: Timestamp,
) -> Result<Vec<HourCounts>, ApiError> {
    let (first, last) = hours_of(window, now);
    app.store
        .recovery_counts(first, last)
        .await
        .map_err(|e| ApiError::store(&e))
}

/// `GET /recovery/statistics?window=1h|24h|7d`: what failed and how it was recovered.
pub(crate) async fn get_statistics(
    State(app): App,
    query: Params,
) -> Result<Json<Value>, ApiError> {
    let window = window(&params(query)?)?;
    let now = Timestamp::now();
    let hours = read_window(&app, window, now).await?;
    Ok(Json(json!(statistics(window, now, &hours))))
}

/// `GET /recovery/report`: over the last 7 days, each dependency's health from its
/// recovery rate, its average downtime and recent breaker entries, the last sweeps, and
/// recommendations from the numbers. Four Queries: the counters, the newest breaker and
/// dispatcher entries, the last sweeps.
pub(crate) async fn get_report(State(app): App) -> Result<Json<Value>, ApiError> {
    let now = Timestamp::now();
    let window = Window::Week;
    let hours = read_window(&app, window, now).await?;
    let stats = statistics(window, now, &hours);
    let counts = window_counts(window, now, &hours);
    let mut components: Vec<&str> = Dependency::ALL.iter().map(|d| d.as_str()).collect();
    components.push(DISPATCHER);
    let health = dependency_health(&components, &counts);
    let advice = recommendations(&stats, &health);

    let mut recent = Vec::new();
    for category in [EventCategory::CircuitBreaker, EventCategory::Dispatcher] {
        let query = EventQuery {
            since: hours_of(window, now).0,
            category: Some(category),
            severity: None,
            campaign_id: None,
            limit: REPORT_EVENTS,
            before: None,
        };
        let page = app
            .store
            .recovery_events(&query, now)
            .await
            .map_err(|e| ApiError::store(&e))?;
        recent.extend(page.events);
    }
    let dependencies: Vec<Value> = health
        .iter()
        .map(|dependency| {
            let events: Vec<&RecoveryEvent> = recent
                .iter()
                .filter(|e| e.component == dependency.dependency)
                .take(EVENTS_PER_DEPENDENCY)
                .collect();
            let mut view = json!(dependency);
            view["recentEvents"] = json!(events);
            view
        })
        .collect();
    let sweeps: Vec<Value> = app
        .store
        .recent_reports(now, REPORT_SWEEPS)
        .await
        .map_err(|e| ApiError::store(&e))?
        .iter()
        .map(sweep_summary)
        .collect();
    Ok(Json(json!({
        "generatedAt": now,
        "window": window.as_str(),
        "overallStatus": overall(&health),
        "dependencies": dependencies,
        "lastSweeps": sweeps,
        "recommendations": advice,
        "statistics": stats,
    })))
}

/// A sweep as the report lists it (its action lines left out).
fn sweep_summary(report: &RecoveryReport) -> Value {
    json!({
        "runId": report.run_id,
        "startedAt": report.started_at,
        "finishedAt": report.finished_at,
        "success": report.success,
        "wasCrash": report.was_crash,
        "totals": report.totals,
        "errors": report.errors.len(),
    })
}
