//! A run started outside the executor — a recurring campaign's buffered run, started by the
//! completion of the run before it — announced and queued for planning by whoever completed
//! that run (the planner, a sender or the sweeper), and its window's RUN_CLOSE timer handed
//! to the timers queue when it closes soon.

use lifecycle_domain::delivery::{PlanJob, RunEvent, RunId};
use lifecycle_domain::timer_messages::plan_messages;
use lifecycle_domain::{CampaignId, StoredEvent, Timestamp};

use crate::relay::publish_and_clear;
use crate::services::Services;
use crate::store::RunCompleted;

/// What a completion started: its buffered run queued (see [`queue_started_run`]) and that
/// run's RUN_CLOSE timer sent. Failures are logged, not raised: the dispatcher's catch-up
/// sends a timer whose direct send was lost.
pub async fn queue_released_run(
    services: &Services,
    campaign: &CampaignId,
    completed: RunCompleted,
    at: Timestamp,
) {
    if let Some(run) = completed.started_next {
        queue_started_run(services, campaign, run, at).await;
    }
    if let Some(close) = completed.send_close
        && let Err(error) = services
            .timers
            .send(&plan_messages(std::slice::from_ref(&close)))
            .await
    {
        tracing::warn!(campaign = %campaign, error = %error, "run window's close not sent now; the dispatcher sends it when it is due");
    }
}

/// Publishes `run`'s `CampaignRunStarted` (written to the outbox by the completion that
/// started it at `at`) and queues the run for planning. Failures are logged, not raised: the
/// outbox relay publishes the event later and the sweeper queues a PLANNING run whose
/// planning never began.
pub async fn queue_started_run(
    services: &Services,
    campaign: &CampaignId,
    run: RunId,
    at: Timestamp,
) {
    let started = StoredEvent::run(campaign, &RunEvent::started(campaign, &run, at), at);
    publish_and_clear(services, services, &[started]).await;
    let job = PlanJob {
        campaign_id: campaign.clone(),
        run_id: run,
    };
    let Some(planning) = &services.planning else {
        tracing::error!(campaign = %campaign, run = %job.run_id, code = "NO_PLANNING_QUEUE", "buffered run started but PLANNING_QUEUE_URL is not set: the sweeper queues it");
        return;
    };
    match planning.send_bodies(&[job.to_body()]).await {
        Ok(()) => {
            tracing::info!(campaign = %campaign, run = %job.run_id, "buffered run of the series started: queued for planning")
        }
        Err(error) => {
            tracing::warn!(campaign = %campaign, run = %job.run_id, error = %error, "buffered run not queued now; the sweeper queues it")
        }
    }
}
