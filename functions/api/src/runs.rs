//! Run routes: a campaign's delivery runs with their counts, and the recipients of a run in
//! one outcome, paged.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use lifecycle_adapters::services::Services;
use lifecycle_domain::CampaignId;
use lifecycle_domain::delivery::{LedgerStatus, RunId};
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::delivery_views::{RecipientView, RunView};
use crate::paging::{ListingTokens, PageRequest};

type App = State<Arc<Services>>;

/// The outcomes `?status=` lists (the ledger indexes these; sent recipients are counted).
const LISTED: [(&str, LedgerStatus); 2] = [
    ("failed", LedgerStatus::Failed),
    ("unconfirmed", LedgerStatus::Unconfirmed),
];

/// Query string of the listing routes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunsQuery {
    status: Option<String>,
    limit: Option<String>,
    next_token: Option<String>,
}

/// Body of `GET /campaigns/{id}/runs`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunList {
    runs: Vec<RunView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Body of `GET /campaigns/{id}/runs/{runId}/recipients`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecipientList {
    recipients: Vec<RecipientView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `GET /campaigns/{id}/runs?limit=…&nextToken=…`: newest first (404 for an unknown
/// campaign).
pub(crate) async fn list(
    State(app): App,
    Path(id): Path<String>,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> Result<Json<RunList>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let mut fields = BTreeMap::new();
    let tokens = ListingTokens::of(&app, format!("/campaigns/{id}/runs")).await?;
    let page = PageRequest::parse(
        query.limit.as_deref(),
        query.next_token.as_deref(),
        &tokens,
        &mut fields,
    );
    if !fields.is_empty() {
        return Err(ApiError::invalid_fields(fields));
    }
    let campaign = known_campaign(&app, &id).await?;
    let result = app
        .store
        .list_runs(&campaign, page.limit, page.start.as_ref())
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(RunList {
        runs: result.runs.iter().map(RunView::from).collect(),
        next_token: result.next.map(|t| tokens.seal(t.as_str())),
    }))
}

/// `GET /campaigns/{id}/runs/{runId}/recipients?status=failed|unconfirmed&limit=…&nextToken=…`:
/// by recipient id, with the provider's reason for each failure.
pub(crate) async fn recipients(
    State(app): App,
    Path((id, run_id)): Path<(String, String)>,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> Result<Json<RecipientList>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_body(rejection.body_text()))?;
    let mut fields = BTreeMap::new();
    let names = LISTED.map(|(name, _)| name).join(", ");
    let status = match query.status.as_deref() {
        None => {
            fields.insert("status".into(), format!("is required (one of {names})"));
            None
        }
        Some(text) => LISTED
            .iter()
            .find(|(name, _)| *name == text)
            .map(|(_, status)| *status)
            .or_else(|| {
                fields.insert("status".into(), format!("must be one of {names}"));
                None
            }),
    };
    let scope = format!(
        "/campaigns/{id}/runs/{run_id}/recipients?status={}",
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
    let campaign = known_campaign(&app, &id).await?;
    let run = RunId::new(&run_id);
    let exists = run.is_well_formed()
        && app
            .store
            .get_run(&campaign, &run)
            .await
            .map_err(|e| ApiError::store(&e))?
            .is_some();
    if !exists {
        return Err(ApiError::run_not_found(&id, &run_id));
    }
    let result = app
        .store
        .list_recipients(&campaign, &run, status, page.limit, page.start.as_ref())
        .await
        .map_err(|e| ApiError::store(&e))?;
    Ok(Json(RecipientList {
        recipients: result.recipients.into_iter().map(Into::into).collect(),
        next_token: result.next.map(|t| tokens.seal(t.as_str())),
    }))
}

/// The campaign `id`, or 404.
async fn known_campaign(app: &Services, id: &str) -> Result<CampaignId, ApiError> {
    let campaign = CampaignId::new(id);
    let found = campaign.is_well_formed()
        && app
            .store
            .get_campaign(&campaign)
            .await
            .map_err(|e| ApiError::store(&e))?
            .is_some();
    if found {
        Ok(campaign)
    } else {
        Err(ApiError::campaign_not_found(id))
    }
}
