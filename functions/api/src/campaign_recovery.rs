//! `POST /campaigns/recover`: finds campaigns that should be progressing and are not, and
//! re-arms them. It walks SCHEDULED, RUNNING and REWARD_CLAIM campaigns through ByStatus (no
//! Scan), at most `limit` per call (`nextToken` continues the walk), reads each one's
//! partition (one Query by its key: campaign, timers — the RUN_CLOSE among them — and runs
//! with when each last moved), and lets [`assess`] decide: lost lifecycle timers and the lost
//! RUN_CLOSE of an open run window are written again
//! ([`Store::rearm_timers`](lifecycle_adapters::store::Store::rearm_timers), one transaction
//! per campaign), a broken chain of occurrences is repaired as the sweeper repairs it, and
//! stalled runs are handed to the sweeper's `stalled_runs` step (one invocation per call).
//! Every write is conditional on what was read, so a second call, a retry or a concurrent
//! change repairs nothing twice. `dryRun` writes nothing and answers what would be done.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use lifecycle_adapters::services::Services;
use lifecycle_domain::campaign_recovery::{Assessment, Repair, RunAsRead, assess};
use lifecycle_domain::recovery::SweepStep;
use lifecycle_domain::{Campaign, CampaignStatus, Timer, Timestamp};
use serde::{Deserialize, Serialize};

use crate::ApiError;
use crate::paging::{ListingTokens, PageRequest};
use crate::sweeps::run_sweep;

type App = State<Arc<Services>>;

/// The statuses a timer moves a campaign out of: the ones recovery walks.
const WALKED: [CampaignStatus; 3] = [
    CampaignStatus::Scheduled,
    CampaignStatus::Running,
    CampaignStatus::RewardClaim,
];

/// The body of `POST /campaigns/recover` (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RecoverBody {
    dry_run: Option<bool>,
    limit: Option<serde_json::Value>,
    next_token: Option<String>,
}

/// A campaign re-armed (or, in a dry run, that would be).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Recovered {
    id: String,
    name: String,
    status: CampaignStatus,
    /// What was (or would be) done, one line per repair.
    actions: Vec<String>,
}

/// A campaign left as it is, and why.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Skipped {
    id: String,
    name: String,
    reason: String,
}

/// The campaigns of one call, by outcome.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Details {
    recovered: Vec<Recovered>,
    skipped: Vec<Skipped>,
}

/// Body of `POST /campaigns/recover`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecoverAnswer {
    /// Whether every repair attempted was made.
    success: bool,
    dry_run: bool,
    recovered: usize,
    skipped: usize,
    details: Details,
    /// Where the walk goes on, when campaigns are left to examine.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// One campaign's repairs as made (or planned).
struct Outcome {
    campaign: Campaign,
    actions: Vec<String>,
    /// Its stalled runs wait for the sweeper's step.
    needs_sweep: bool,
    /// Why a repair was not made.
    failure: Option<String>,
}

/// `POST /campaigns/recover` with `{"dryRun"?, "limit"?, "nextToken"?}`.
pub(crate) async fn recover(State(app): App, body: Bytes) -> Result<Json<RecoverAnswer>, ApiError> {
    let body: RecoverBody = if body.iter().all(u8::is_ascii_whitespace) {
        RecoverBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            ApiError::bad_body(format!(
                "expected {{\"dryRun\"?: bool, \"limit\"?: 1-100, \"nextToken\"?: string}}: {error}"
            ))
        })?
    };
    let dry_run = body.dry_run.unwrap_or(false);
    let tokens = ListingTokens::of(&app, "/campaigns/recover".to_owned()).await?;
    let mut fields = BTreeMap::new();
    let limit = body.limit.as_ref().map(|limit| match limit {
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    });
    let page = PageRequest::parse(
        limit.as_deref(),
        body.next_token.as_deref(),
        &tokens,
        &mut fields,
    );
    if !fields.is_empty() {
        return Err(ApiError::invalid_fields(fields));
    }
    let walked = app
        .store
        .walk_campaigns(&WALKED, page.limit, page.start.as_ref())
        .await
        .map_err(|e| ApiError::store(&e))?;
    let now = Timestamp::now();
    let stall_ms = i64::from(app.config.sweep.run_stall_secs) * 1000;
    let mut skipped = Vec::new();
    let mut outcomes = Vec::new();
    for listed in walked.campaigns {
        let partition = app
            .store
            .load_partition(&listed.id)
            .await
            .map_err(|e| ApiError::store(&e))?;
        let Some(campaign) = partition.campaign else {
            skipped.push(skip(&listed, "deleted while the walk read it".into()));
            continue;
        };
        let runs: Vec<RunAsRead<'_>> = partition
            .runs
            .iter()
            .map(|run| RunAsRead {
                run,
                moved_at: partition.runs_moved_at.get(&run.run_id).copied(),
            })
            .collect();
        match assess(&campaign, &partition.timers, &runs, now, stall_ms) {
            Assessment::Skip(reason) => skipped.push(skip(&campaign, reason)),
            Assessment::Repair(repairs) => {
                outcomes.push(repair(&app, campaign, repairs, dry_run, now).await);
            }
        }
    }
    let sweep_needed = !dry_run
        && outcomes
            .iter()
            .any(|o| o.needs_sweep && o.failure.is_none());
    if sweep_needed
        && let Err(error) = run_sweep(&app, false, Some(&[SweepStep::StalledRuns])).await
    {
        for outcome in outcomes.iter_mut().filter(|o| o.needs_sweep) {
            outcome.failure.get_or_insert_with(|| {
                format!(
                    "its stalled runs could not be handed to the sweeper ({}); retry",
                    error.code
                )
            });
        }
    }
    let mut details = Details {
        skipped,
        ..Details::default()
    };
    let mut success = true;
    for outcome in outcomes {
        match outcome.failure {
            Some(reason) => {
                success = false;
                details.skipped.push(skip(&outcome.campaign, reason));
            }
            None => details.recovered.push(Recovered {
                id: outcome.campaign.id.to_string(),
                name: outcome.campaign.name,
                status: outcome.campaign.status,
                actions: outcome.actions,
            }),
        }
    }
    if !dry_run && !details.recovered.is_empty() {
        tracing::info!(
            recovered = ?details.recovered.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            "campaigns recovered by hand"
        );
    }
    Ok(Json(RecoverAnswer {
        success,
        dry_run,
        recovered: details.recovered.len(),
        skipped: details.skipped.len(),
        details,
        next_token: walked.next.map(|t| tokens.seal(t.as_str())),
    }))
}

fn skip(campaign: &Campaign, reason: String) -> Skipped {
    Skipped {
        id: campaign.id.to_string(),
        name: campaign.name.clone(),
        reason,
    }
}

/// Makes `campaign`'s `repairs` (unless `dry_run`): its lost timers (lifecycle and RUN_CLOSE)
/// in one conditional transaction, then its series; its stalled runs are marked for the
/// sweeper.
async fn repair(
    app: &Services,
    campaign: Campaign,
    repairs: Vec<Repair>,
    dry_run: bool,
    now: Timestamp,
) -> Outcome {
    let actions: Vec<String> = repairs
        .iter()
        .map(|r| {
            if dry_run {
                format!("would: {}", r.describe())
            } else {
                r.describe()
            }
        })
        .collect();
    let needs_sweep = repairs
        .iter()
        .any(|r| matches!(r, Repair::StalledRun { .. }));
    let mut outcome = Outcome {
        campaign,
        actions,
        needs_sweep,
        failure: None,
    };
    if dry_run {
        return outcome;
    }
    let mut rearm = Vec::new();
    let mut open_windows = Vec::new();
    for repair in &repairs {
        match repair {
            Repair::Rearm { timer, replaces } => {
                rearm.push((Timer::clone(timer), replaces.as_deref().cloned()));
            }
            Repair::RearmRunClose {
                run_id,
                closes_at,
                timer,
                replaces,
            } => {
                rearm.push((Timer::clone(timer), replaces.as_deref().cloned()));
                open_windows.push((run_id.clone(), *closes_at));
            }
            Repair::RepairSeries { .. } | Repair::StalledRun { .. } => {}
        }
    }
    let changed = "it changed while it was read; call again".to_owned();
    if !rearm.is_empty() {
        match app
            .store
            .rearm_timers(&outcome.campaign, &rearm, &open_windows)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                outcome.failure = Some(changed);
                return outcome;
            }
            Err(error) => {
                outcome.failure = Some(write_failed(&outcome.campaign, &error));
                return outcome;
            }
        }
    }
    for repair in &repairs {
        if let Repair::RepairSeries { lost } = repair {
            match app
                .store
                .repair_series(&outcome.campaign, lost.as_deref(), now)
                .await
            {
                Ok(true) => {}
                Ok(false) => outcome.failure = Some(changed.clone()),
                Err(error) => outcome.failure = Some(write_failed(&outcome.campaign, &error)),
            }
        }
    }
    outcome
}

/// The reason answered for a write that failed (the error itself is logged).
fn write_failed(campaign: &Campaign, error: &lifecycle_adapters::store::StoreError) -> String {
    tracing::error!(campaign = %campaign.id, error = %error, "campaign recovery write failed");
    "a write failed; it is safe to call again".to_owned()
}
