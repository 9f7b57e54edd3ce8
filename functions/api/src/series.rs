//! Routes of a recurring campaign's series: the preview of its next occurrences, pause and
//! resume.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use lifecycle_domain::recurrence::{PreviewEntry, preview, preview::MAX_PREVIEW};
use lifecycle_domain::timer_messages::plan_messages;
use lifecycle_domain::{CampaignId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::campaigns::App;
use crate::views::CampaignView;

/// Occurrences previewed when `next` is not given.
const DEFAULT_PREVIEW: usize = 10;

/// Query string of `GET /campaigns/{id}/schedule`.
#[derive(Debug, Deserialize)]
pub(crate) struct PreviewQuery {
    next: Option<String>,
}

/// Body of `GET /campaigns/{id}/schedule`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SchedulePreview {
    cron: String,
    timezone: String,
    paused: bool,
    /// Occurrences handled so far (run, missed or skipped).
    occurrences: u64,
    /// The next occurrences after now, inside the series' bounds and its runs left.
    next: Vec<PreviewEntry>,
}

/// `GET /campaigns/{id}/schedule?next=N`: the next N (1–100, default 10) occurrences.
pub(crate) async fn preview_schedule(
    State(app): App,
    Path(id): Path<String>,
    query: Result<Query<PreviewQuery>, QueryRejection>,
) -> Result<Json<SchedulePreview>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let count = match query.next.as_deref().map(str::parse::<usize>) {
        None => DEFAULT_PREVIEW,
        Some(Ok(count)) if (1..=MAX_PREVIEW).contains(&count) => count,
        Some(_) => {
            return Err(ApiError::field(
                "next",
                format!("must be a whole number from 1 to {MAX_PREVIEW}"),
            ));
        }
    };
    let campaign = app
        .store
        .get_campaign(&CampaignId::new(&id))
        .await
        .map_err(|e| ApiError::store(&e))?
        .ok_or_else(|| ApiError::campaign_not_found(&id))?;
    let Some(series) = &campaign.schedule else {
        return Err(ApiError::not_recurring(&id));
    };
    let cron = series.cron_schedule().map_err(|reason| {
        tracing::error!(campaign = %id, reason, code = "DATA_CORRUPT", "stored schedule does not parse");
        ApiError::store(&lifecycle_adapters::store::StoreError::Corrupt(reason))
    })?;
    let progress = &campaign.series_progress;
    let next = preview(
        series,
        &cron,
        Timestamp::now(),
        count,
        progress.runs_left(series.max_runs),
    );
    Ok(Json(SchedulePreview {
        cron: series.cron.clone(),
        timezone: series.timezone.clone(),
        paused: progress.paused,
        occurrences: progress.occurrences,
        next,
    }))
}

/// `POST /campaigns/{id}/pause`: no occurrence runs until resumed (idempotent).
pub(crate) async fn pause(
    State(app): App,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let paused = app
        .store
        .pause_series(&CampaignId::new(&id), Timestamp::now())
        .await?;
    tracing::info!(campaign = %id, "series paused");
    Ok(Json(paused.campaign.into()))
}

/// `POST /campaigns/{id}/resume`: the series goes on; the occurrences missed while paused
/// are decided by its misfire policy when its timer fires (idempotent).
pub(crate) async fn resume(
    State(app): App,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let resumed = app
        .store
        .resume_series(&CampaignId::new(&id), Timestamp::now())
        .await?;
    tracing::info!(campaign = %id, "series resumed");
    if let Some(timer) = &resumed.send_now
        && let Err(error) = app
            .timers
            .send(&plan_messages(std::slice::from_ref(timer)))
            .await
    {
        tracing::error!(campaign = %id, error = %error, "resumed timer not queued; the dispatcher's catch-up sends it");
    }
    Ok(Json(resumed.campaign.into()))
}
