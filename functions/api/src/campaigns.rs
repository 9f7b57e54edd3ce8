//! Campaign routes.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use lifecycle_adapters::relay::publish_and_clear;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer_messages::plan_messages;
use lifecycle_domain::timer_plan::plan_timers;
use lifecycle_domain::{CampaignId, CampaignStatus, DueTimer, NewCampaign, Timer};
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::delivery_views::RunView;
use crate::lists::ListBucket;
use crate::paging::{ListingTokens, PageRequest};
use crate::views::{CampaignView, TimerView};

pub(crate) type App = State<Arc<Services>>;

/// Runs shown with a campaign (newest first; `GET /campaigns/{id}/runs` pages through all).
const RUNS_SHOWN: i32 = 10;

/// `POST /campaigns`: a campaign with a `delivery` has its list stored (inline) or checked
/// (`recipientsUri`) before the campaign, its timers and its SCHEDULED run are stored.
pub(crate) async fn create(
    State(app): App,
    Extension(lists): Extension<ListBucket>,
    body: Result<Json<NewCampaign>, JsonRejection>,
) -> Result<(StatusCode, Json<CampaignView>), ApiError> {
    let Json(request) = body.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let now = Timestamp::now();
    let mut validated = request.validate(now)?;
    let id = CampaignId::generate();
    let delivery = match validated.delivery.take() {
        Some(spec) => Some(lists.resolve(&id, spec).await?),
        None => None,
    };
    let campaign = validated.into_campaign(id, delivery, now);
    let mut timers = plan_timers(&campaign);
    let short_notice = mark_short_notice(&mut timers, now, &app);
    app.store
        .create_campaign(&campaign, &timers)
        .await
        .map_err(|e| ApiError::store(&e))?;
    tracing::info!(campaign = %campaign.id, name = campaign.name, start_at = %campaign.start_at, "campaign created (SCHEDULED)");
    lifecycle_adapters::crash::point("api.after_create");
    send_short_notice_timers(&app, &short_notice).await;
    Ok((StatusCode::CREATED, Json(campaign.into())))
}

/// Timers due before the dispatcher's look-ahead would surely reach them are sent to the
/// queue by the API, so they are not late by a whole tick. They are stored marked
/// `queuedAtCreation`, so the dispatcher does not send them a second time.
fn mark_short_notice(timers: &mut [Timer], now: Timestamp, app: &Services) -> Vec<DueTimer> {
    let horizon = now.plus_millis(app.config.direct_send_window_millis());
    timers
        .iter_mut()
        .filter(|t| t.due_at <= horizon)
        .map(|timer| {
            timer.queued_at_creation = true;
            DueTimer::from(&*timer)
        })
        .collect()
}

/// Sends the short-notice timers of a campaign just stored. If this fails (or the function
/// dies first) the campaign still exists and the timers stay PENDING in the due index, where
/// the sweeper's missed-timer step finds them. Logged as an error.
async fn send_short_notice_timers(app: &Services, soon: &[DueTimer]) {
    if soon.is_empty() {
        return;
    }
    if let Err(error) = app.timers.send(&plan_messages(soon)).await {
        tracing::error!(error = %error, "short-notice timers not queued; they stay PENDING until the missed-timer sweep");
    }
}

/// `GET /campaigns/{id}`: with its latest runs when it delivers.
pub(crate) async fn get(
    State(app): App,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let campaign_id = CampaignId::new(&id);
    let campaign = app
        .store
        .get_campaign(&campaign_id)
        .await
        .map_err(|e| ApiError::store(&e))?
        .ok_or_else(|| ApiError::campaign_not_found(&id))?;
    let delivers = campaign.delivery.is_some();
    let mut view = CampaignView::from(campaign);
    if delivers {
        let page = app
            .store
            .list_runs(&campaign_id, RUNS_SHOWN, None)
            .await
            .map_err(|e| ApiError::store(&e))?;
        view.runs = Some(page.runs.iter().map(RunView::from).collect());
    }
    Ok(Json(view))
}

/// Query string of `GET /campaigns`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListQuery {
    status: Option<String>,
    limit: Option<String>,
    next_token: Option<String>,
}

/// Body of `GET /campaigns`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CampaignList {
    campaigns: Vec<CampaignView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `GET /campaigns?status=…` — `status` is required (a listing across every status would
/// need a Scan).
pub(crate) async fn list(
    State(app): App,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<CampaignList>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let mut fields = BTreeMap::new();
    let statuses = CampaignStatus::ALL.map(|s| s.as_str()).join(", ");
    let status = match query.status.as_deref().map(CampaignStatus::parse) {
        Some(Some(status)) => Some(status),
        Some(None) => {
            fields.insert("status".into(), format!("must be one of {statuses}"));
            None
        }
        None => {
            fields.insert("status".into(), format!("is required (one of {statuses})"));
            None
        }
    };
    let scope = format!(
        "/campaigns?status={}",
        query.status.as_deref().unwrap_or_default()
    );
    let tokens = ListingTokens::of(&app, scope).await?;
    let page = PageRequest::parse(
        query.limit.as_deref(),
        query.next_token.as_deref(),
        &tokens,
        &mut fields,
    );
    let Some(status) = status.filter(|_| fields.is_empty()) else {
        return Err(ApiError::invalid_fields(fields));
    };
    let result = app
        .store
        .list_campaigns(status, page.limit, page.start.as_ref())
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(CampaignList {
        campaigns: result.campaigns.into_iter().map(Into::into).collect(),
        next_token: result.next.map(|t| tokens.seal(t.as_str())),
    }))
}

/// `POST /campaigns/{id}/cancel`: the campaign after the cancel.
pub(crate) async fn cancel(
    State(app): App,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, ApiError> {
    let cancelled = app
        .store
        .cancel_campaign(&CampaignId::new(&id), Timestamp::now())
        .await?;
    tracing::info!(campaign = %id, from = %cancelled.event.from, "CampaignCancelled {} -> CANCELLED", cancelled.event.from);
    publish_and_clear(
        &app.events,
        &app.store,
        std::slice::from_ref(&cancelled.event),
    )
    .await;
    if !cancelled.run_events.is_empty() {
        publish_and_clear(&app.events, &app.store, &cancelled.run_events).await;
    }
    Ok(Json(cancelled.campaign.into()))
}

/// Body of `GET /campaigns/{id}/timers`.
#[derive(Debug, Serialize)]
pub(crate) struct TimerList {
    timers: Vec<TimerView>,
}

/// `GET /campaigns/{id}/timers`.
pub(crate) async fn timers(
    State(app): App,
    Path(id): Path<String>,
) -> Result<Json<TimerList>, ApiError> {
    let partition = app
        .store
        .load_partition(&CampaignId::new(&id))
        .await
        .map_err(|e| ApiError::store(&e))?;
    if partition.campaign.is_none() {
        return Err(ApiError::campaign_not_found(&id));
    }
    Ok(Json(TimerList {
        timers: partition.timers.into_iter().map(Into::into).collect(),
    }))
}
