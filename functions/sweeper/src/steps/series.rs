//! Step `broken_series`: a recurring campaign is listed in the due index by its next
//! occurrence, moved on by every step of its series. One listed more than the grace period
//! past it went unhandled. If its OCCURRENCE timer is still PENDING (or leased), it is merely
//! late and the missed-timer step fires it; if the timer is lost — FAILED after too many
//! expired leases, cancelled, completed while occurrences are left, or deleted — it is written
//! again PENDING at that occurrence (conditional on the timer and the series as read), and
//! firing it applies the series' misfire policy to what was missed. A closed campaign whose
//! occurrences before its close were not all handled is repaired alike (firing the timer
//! records them missed: the close-out); any other campaign no longer SCHEDULED or RUNNING is
//! taken off the list; a SCHEDULED one waits for its START (the state correction's).

use lifecycle_domain::recovery::StepReport;
use lifecycle_domain::{CampaignStatus, TimerStatus};

use super::read_shards;
use crate::Sweep;
use crate::ports::SweepPorts;

/// Runs the step of `sweep`, filling `report`.
pub async fn run<P: SweepPorts>(sweep: &Sweep<'_, P>, report: &mut StepReport) {
    let store = sweep.ports;
    let config = &sweep.config;
    let until = sweep.now.plus_millis(-i64::from(config.grace_secs) * 1000);
    let (campaigns, errors) = read_shards(sweep, |shard| {
        store.stalled_series(shard, until, config.batch_limit)
    })
    .await;
    report.errors.extend(errors);
    for campaign in campaigns {
        if sweep.out_of_time() {
            report.count("deferred");
            continue;
        }
        match campaign.status {
            CampaignStatus::Scheduled => {
                report.count("waiting_for_start");
                continue;
            }
            CampaignStatus::Running if !campaign.series_progress.paused => {}
            // Closed with occurrences before its close still unhandled: the timer's close-out
            // records them.
            CampaignStatus::Closed | CampaignStatus::RewardClaim | CampaignStatus::Expired
                if !campaign.series_progress.paused
                    && campaign
                        .series_progress
                        .next_occurrence
                        .is_some_and(|next| next < campaign.end_at) => {}
            _ => {
                if sweep.dry_run {
                    report.action(format!(
                        "would unlist {} ({})",
                        campaign.id, campaign.status
                    ));
                    continue;
                }
                match store.unlist_series(&campaign).await {
                    Ok(true) => report.count("unlisted"),
                    Ok(false) => report.count("changed_meanwhile"),
                    Err(error) => report.errors.push(format!("{}: {error}", campaign.id)),
                }
                continue;
            }
        }
        let timer = match store.occurrence_timer(&campaign.id).await {
            Ok(timer) => timer,
            Err(error) => {
                report.errors.push(format!("{}: {error}", campaign.id));
                continue;
            }
        };
        let lost = match &timer {
            Some(timer) if matches!(timer.status, TimerStatus::Pending | TimerStatus::Running) => {
                report.count("late");
                continue;
            }
            Some(timer) => timer.status.as_str(),
            None => "missing",
        };
        report.count("found");
        let next = campaign
            .series_progress
            .next_occurrence
            .map_or_else(|| "?".to_owned(), |at| at.to_rfc3339());
        if sweep.dry_run {
            report.action(format!(
                "would repair {}: OCCURRENCE timer {lost}, written again at {next}",
                campaign.id
            ));
            continue;
        }
        match store
            .repair_series(&campaign, timer.as_ref(), sweep.clock.now())
            .await
        {
            Ok(true) => {
                report.count("repaired");
                report.action(format!(
                    "{}: OCCURRENCE timer {lost}, written again at {next}",
                    campaign.id
                ));
            }
            Ok(false) => report.count("changed_meanwhile"),
            Err(error) => report.errors.push(format!("{}: {error}", campaign.id)),
        }
    }
}
