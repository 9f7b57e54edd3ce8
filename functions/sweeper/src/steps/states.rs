//! Step `campaign_states`: campaigns whose status disagrees with the clock (SCHEDULED past
//! `startAt`, RUNNING past `endAt`, REWARD_CLAIM past `claimUntil`, each by more than the
//! grace) are found with one ByStatus range Query per status and moved along the schedule by
//! the conditional move, each move with its event and an audit record. The PENDING timer
//! that should have made the move is then cancelled as superseded.
//!
//! A START made this way within the misfire window (the window a missed START timer still
//! fires in) does what the START would have done: the campaign's delivery run starts in the
//! move's transaction and is queued for planning after it (a run whose planning message is
//! lost is queued again by the `stalled_runs` step). Beyond the window the run is not sent:
//! the `stalled_runs` step cancels it, as it cancels the run of a START cancelled as missed.

use lifecycle_adapters::relay::publish_and_clear;
use lifecycle_domain::delivery::PlanJob;
use lifecycle_domain::recovery::StepReport;
use lifecycle_domain::{CampaignStatus, StoredEvent, TimerKind};

use crate::Sweep;
use crate::ports::SweepPorts;

/// Statuses the schedule moves a campaign out of.
const SCHEDULED_STATUSES: [CampaignStatus; 3] = [
    CampaignStatus::Scheduled,
    CampaignStatus::Running,
    CampaignStatus::RewardClaim,
];

/// Runs the step of `sweep`, filling `report`.
pub async fn run<P: SweepPorts>(sweep: &Sweep<'_, P>, report: &mut StepReport) {
    let store = sweep.ports;
    let config = &sweep.config;
    let grace_ms = i64::from(config.grace_secs) * 1000;
    let window_ms = i64::from(config.misfire_window_secs) * 1000;
    let until = sweep.now.plus_millis(-grace_ms);
    let mut events = Vec::new();
    let mut started = Vec::new();
    for status in SCHEDULED_STATUSES {
        let campaigns = match store
            .overdue_campaigns(status, until, config.batch_limit)
            .await
        {
            Ok(campaigns) => campaigns,
            Err(error) => {
                report.errors.push(format!("{status}: {error}"));
                continue;
            }
        };
        for listed in campaigns {
            report.count("found");
            if sweep.out_of_time() {
                report.count("deferred");
                continue;
            }
            // The index is eventually consistent: decide on a consistent read.
            let mut campaign = match store.get_campaign(&listed.id).await {
                Ok(Some(campaign)) => campaign,
                Ok(None) => continue,
                Err(error) => {
                    report.errors.push(format!("{}: {error}", listed.id));
                    continue;
                }
            };
            let moves = campaign.overdue_moves(sweep.now, grace_ms);
            if moves.is_empty() {
                report.count("already_fine");
                continue;
            }
            if sweep.dry_run {
                let path: Vec<&str> = std::iter::once(campaign.status.as_str())
                    .chain(moves.iter().map(|m| m.to.as_str()))
                    .collect();
                let run = moves
                    .iter()
                    .find_map(|m| campaign.run_started_by_correction(*m, sweep.now, window_ms))
                    .map(|run| format!(", starting run {run}"))
                    .unwrap_or_default();
                report.action(format!(
                    "would move {}: {}{run}",
                    campaign.id,
                    path.join(" → ")
                ));
                continue;
            }
            let mut corrected = false;
            for transition in moves {
                let start_run =
                    campaign.run_started_by_correction(transition, sweep.now, window_ms);
                match store
                    .correct_campaign(
                        &campaign,
                        transition,
                        &sweep.actor(),
                        sweep.now,
                        start_run.as_ref(),
                    )
                    .await
                {
                    Ok(Some(correction)) => {
                        let (moved, event) = (correction.campaign, correction.event);
                        corrected = true;
                        report.count("moves");
                        report.action(format!(
                            "{} {} → {} (state correction)",
                            campaign.id, transition.from, transition.to
                        ));
                        tracing::info!(
                            campaign = %campaign.id,
                            from = %transition.from,
                            to = %transition.to,
                            "{} {} -> {} (state correction)",
                            event.event_type.as_str(),
                            transition.from,
                            transition.to
                        );
                        events.push(StoredEvent::from(&event));
                        if let (Some(run_id), Some(run_event)) = (start_run, correction.run_started)
                        {
                            report.count("runs_started");
                            report.action(format!("run {}/{run_id} started", campaign.id));
                            events.push(run_event);
                            started.push(PlanJob {
                                campaign_id: campaign.id.clone(),
                                run_id,
                            });
                        }
                        supersede_timer(sweep, report, &campaign.id, transition.from).await;
                        campaign = moved;
                    }
                    Ok(None) => {
                        report.count("changed_meanwhile");
                        break;
                    }
                    Err(error) => {
                        report.errors.push(format!("{}: {error}", campaign.id));
                        break;
                    }
                }
            }
            if corrected {
                report.count("corrected");
            }
        }
    }
    if !events.is_empty() {
        let published = publish_and_clear(store, store, &events).await;
        report
            .counts
            .insert("events_published".into(), published.published.len() as u64);
    }
    queue_started_runs(sweep, report, &started).await;
}

/// Queues the runs the corrections started for planning; a failure is reported (the
/// `stalled_runs` step queues a run whose planning never began).
async fn queue_started_runs<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    report: &mut StepReport,
    started: &[PlanJob],
) {
    if started.is_empty() {
        return;
    }
    match sweep.ports.queue_plans(started).await {
        Ok(true) => {
            report
                .counts
                .insert("runs_queued".into(), started.len() as u64);
        }
        Ok(false) => report.errors.push(format!(
            "{} started runs: no planning queue (PLANNING_QUEUE_URL)",
            started.len()
        )),
        Err(error) => report.errors.push(format!(
            "{} started runs not queued: {error}",
            started.len()
        )),
    }
}

/// Cancels the PENDING timer whose move the correction just made (if it is still PENDING).
async fn supersede_timer<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    report: &mut StepReport,
    campaign_id: &lifecycle_domain::CampaignId,
    from: CampaignStatus,
) {
    let kind = match from {
        CampaignStatus::Scheduled => TimerKind::StartCampaign,
        CampaignStatus::Running => TimerKind::CloseCampaign,
        _ => TimerKind::ExpireCampaign,
    };
    let reason = format!("superseded: the state correction moved the campaign out of {from}");
    match sweep
        .ports
        .cancel_pending_timer(campaign_id, kind, None, &reason)
        .await
    {
        Ok(true) => report.count("timers_superseded"),
        Ok(false) => {}
        Err(error) => report.errors.push(format!("{campaign_id}:{kind}: {error}")),
    }
}
