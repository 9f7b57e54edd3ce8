//! The HTTP API: an axum router served by `lambda_http` on AWS and by the local runtime on
//! 127.0.0.1:3000. Times are RFC 3339; errors are `{"error":{"code","message","fields"}}`.
//! Campaigns and timers are answered as response types (`views`), never as stored.
//!
//! | route | does |
//! |---|---|
//! | `POST /campaigns` | validates, stores the campaign, its timers and (with a `delivery`) its list and SCHEDULED run — none for a recurring campaign (`schedule`), whose occurrences each start one (201) |
//! | `GET /campaigns/{id}` | the campaign, with its latest runs when it delivers (404 if unknown) |
//! | `GET /campaigns/{id}/runs?limit=…&nextToken=…` | the campaign's runs and their counts, newest first |
//! | `GET /campaigns/{id}/runs/{runId}/recipients?status=failed\|unconfirmed` | a run's recipients in that outcome, with reasons |
//! | `GET /campaigns?status=…&limit=…&nextToken=…` | campaigns in a status, next to move first |
//! | `POST /campaigns/{id}/cancel` | cancels (409 if it is already terminal) |
//! | `GET /campaigns/{id}/schedule?next=N` | a recurring campaign's next N occurrences in UTC and local time, with DST notes (409 `NOT_RECURRING` without a schedule) |
//! | `POST /campaigns/{id}/pause`, `/resume` | pauses or resumes its series (idempotent; resuming applies the misfire policy to what was missed) |
//! | `GET /campaigns/{id}/timers` | the campaign's timers |
//! | `POST /campaigns/recover` | re-arms campaigns that should be progressing and are not (`dryRun`, `limit`, `nextToken`; docs/recovery.md) |
//! | `GET /health` | health of every component (503 if unhealthy) |
//! | `GET /recovery/patterns` | operators' and built-in failure patterns |
//! | `POST /recovery/patterns` | adds a pattern (409 `PATTERN_EXISTS` for a taken id, 409 `PATTERN_LIMIT_REACHED` beyond 50) |
//! | `DELETE /recovery/patterns/{id}` | deletes an operator's pattern (204; 404 if none) |
//! | `GET /recovery/circuit-breakers` | each dependency's shared breaker: state, trips, recovery rate |
//! | `POST /recovery/circuit-breakers/{dependency}/reset` | forces a breaker CLOSED (a CLOSED one is left alone) |
//! | `GET /recovery/events?since&category&severity&campaignId&limit&nextToken` | the recovery log, newest first (docs/recovery.md) |
//! | `POST /recovery/events/{id}/resolve` | marks an entry resolved by `resolvedBy` (idempotent; 404 `EVENT_NOT_FOUND`) |
//! | `GET /recovery/statistics?window=1h\|24h\|7d` | errors, retries, breaker trips, recoveries and MTTR of the window |
//! | `GET /recovery/report` | each dependency's health, the last sweeps and recommendations (7 days) |
//! | `GET /recovery/sweeps?limit&nextToken` | the stored sweep reports, newest first |
//! | `POST /recovery/trigger` | runs a sweep as the sweeper (`steps`, `dryRun`) and answers its report (502 `SWEEP_FAILED`) |
//! | `GET /recovery/dlq` | every dead-letter queue by name with its source queue and depth |
//! | `GET /recovery/dlq/{queue}/messages?limit=` | peeks at a DLQ's messages and their error attributes (each receive count grows by one) |
//! | `POST /recovery/dlq/{queue}/redrive` | moves selected messages (`messageIds`, `errorCode`, `limit`; `dryRun`) back to the source queue (404 `DLQ_NOT_FOUND`) |
//! | `GET /recovery/consumers` | each SQS consumer (`executor`, `sender`, `fanout`, `planner`): its pause record and its event source mapping's state |
//! | `POST /recovery/consumers/{name}/pause` | disables the consumer's mapping, recorded as the operator's pause (idempotent; 404 `CONSUMER_NOT_FOUND`) |
//! | `POST /recovery/consumers/{name}/resume` | enables it again, recorded as the operator's resume (idempotent; 404 `CONSUMER_NOT_FOUND`) |
//! | `GET /recovery/configuration` | the runtime configuration in force (misfire settings, breaker thresholds, alert routing) and its version |
//! | `PUT /recovery/configuration` | replaces it, conditional on the `version` read (409 `CONCURRENT_CHANGE`); idempotent; every instance applies it within 60 s |
//! | `POST /recovery/test` | by `kind`: a test alert through one channel (202; 409 `ALERT_CHANNEL_NOT_CONFIGURED`), a failure pattern's dry run, a dependency probe |
//! | `GET /openapi.json` | the OpenAPI document of every route (`functions/api/openapi.json`) |
//!
//! The router is built from [`routes`]' table, which the OpenAPI document lists exactly.
//! Every route but `GET /health` is authorized by API Gateway (IAM, SigV4-signed requests)
//! before the function runs; each route's [`Access`] level (`x-access` in the document) is
//! granted by template.yaml's `OperatorAccessPolicy` or `AdminAccessPolicy`.
//! Every POST, PUT and DELETE route takes an optional `Idempotency-Key` header ([`idempotency`]:
//! a retry with the same key and request gets the stored answer, with `Idempotent-Replayed:
//! true`); every `nextToken` the listing routes hand out is signed (HMAC-SHA256) and checked
//! on return (400 on `nextToken` for a token this service did not give for that listing).

mod caller;
mod campaign_recovery;
mod campaigns;
mod configuration;
mod consumers;
mod delivery_views;
mod dlq;
mod error;
mod health;
mod idempotency;
mod lists;
mod paging;
mod recovery;
mod resilience;
mod routes;
mod runs;
mod series;
mod sweeps;
mod test_actions;
mod views;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::{Extension, Router};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;

pub use error::ApiError;
pub use idempotency::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED};
pub use lists::ListBucket;
pub use routes::{Access, OPENAPI, routes};

/// The router over `services`, storing and checking recipient lists in `lists`.
pub fn router(services: Services, lists: ListBucket) -> Router {
    let services = Arc::new(services);
    let router = routes::table().into_iter().fold(
        Router::new(),
        |router, (_method, path, _access, handler)| router.route(path, handler),
    );
    router
        .route_layer(middleware::from_fn_with_state(
            services.clone(),
            idempotency::idempotent,
        ))
        .fallback(error::not_found_route)
        .layer(Extension(lists))
        .layer(middleware::from_fn_with_state(
            services.clone(),
            begin_invocation,
        ))
        .with_state(services)
}

/// Wraps each request like every invocation: heartbeat (at most once a minute per
/// instance) and failure patterns (reloaded every 5 minutes) before, pending alerts after.
async fn begin_invocation(
    State(services): State<Arc<Services>>,
    request: Request,
    next: Next,
) -> Response {
    services.begin_invocation("api", Timestamp::now()).await;
    let response = next.run(request).await;
    services.end_invocation().await;
    response
}
