//! Step `missed_timers`: PENDING timers past due by more than the grace (the dispatcher was
//! down, a direct send was lost, a message went to the DLQ…) are handled in due order with
//! the misfire rules ([`MisfirePolicy`]): fired late — claimed under a lease first, so a
//! concurrent executor backs off and a crash here leaves a lease the next sweep takes back —
//! or cancelled with the reason. Timers whose campaign is gone are left to the orphans step.
//! A late START that began a delivery run queues the run for planning.

use lifecycle_adapters::relay::publish_and_clear;
use lifecycle_adapters::store::ApplyOutcome;
use lifecycle_domain::delivery::{PlanJob, RunId};
use lifecycle_domain::recovery::StepReport;
use lifecycle_domain::{CampaignId, DueTimer, MisfirePolicy, MissedTimer};

use super::{RECOVERED_PREFIX, read_shards};
use crate::Sweep;
use crate::ports::SweepPorts;

/// Runs the step of `sweep`, filling `report`.
pub async fn run<P: SweepPorts>(sweep: &Sweep<'_, P>, report: &mut StepReport) {
    let store = sweep.ports;
    let config = &sweep.config;
    let policy = MisfirePolicy {
        grace_ms: i64::from(config.grace_secs) * 1000,
        window_ms: i64::from(config.misfire_window_secs) * 1000,
    };
    let until = sweep.now.plus_millis(-policy.grace_ms);
    let (mut timers, errors) = read_shards(sweep, |shard| {
        store.overdue_timers(shard, until, config.batch_limit)
    })
    .await;
    report.errors.extend(errors);
    // Due order across shards: a campaign's START is handled before its CLOSE.
    timers.sort_by(|a, b| (a.due_at, &a.timer_id).cmp(&(b.due_at, &b.timer_id)));

    let mut events = Vec::new();
    let mut run_events = Vec::new();
    for timer in timers {
        report.count("found");
        if sweep.out_of_time() {
            report.count("deferred");
            continue;
        }
        let campaign = match store.get_campaign(&timer.campaign_id).await {
            Ok(campaign) => campaign,
            Err(error) => {
                report.errors.push(format!("{}: {error}", timer.timer_id));
                continue;
            }
        };
        if campaign.is_none() {
            report.count("orphans");
            continue;
        }
        let late_s = sweep.now.millis_since(timer.due_at) / 1000;
        match policy.decide(&timer, campaign.as_ref(), sweep.now) {
            MissedTimer::Wait { reason } => {
                report.count("waiting");
                report.action(format!("{} waits: {reason}", timer.timer_id));
            }
            MissedTimer::Cancel { reason } if sweep.dry_run => {
                report.action(format!("would cancel {}: {reason}", timer.timer_id));
            }
            MissedTimer::Fire if sweep.dry_run => {
                report.action(format!("would fire {} ({late_s} s late)", timer.timer_id));
            }
            MissedTimer::Cancel { reason } => {
                match store
                    .cancel_pending_timer(
                        &timer.campaign_id,
                        timer.kind,
                        Some(timer.due_at),
                        &reason,
                    )
                    .await
                {
                    Ok(true) => {
                        report.count("cancelled");
                        report.action(format!("{} CANCELLED: {reason}", timer.timer_id));
                    }
                    Ok(false) => report.count("changed_meanwhile"),
                    Err(error) => report.errors.push(format!("{}: {error}", timer.timer_id)),
                }
            }
            MissedTimer::Fire => {
                let expires_at = sweep.now.plus_millis(i64::from(config.lease_secs) * 1000);
                match store.claim_timer(&timer, &sweep.run_id, expires_at).await {
                    Ok(true) => lifecycle_adapters::crash::point("sweeper.after_claim"),
                    Ok(false) => {
                        report.count("changed_meanwhile");
                        continue;
                    }
                    Err(error) => {
                        report.errors.push(format!("{}: {error}", timer.timer_id));
                        continue;
                    }
                }
                match store
                    .fire_leased_timer(&DueTimer::from(&timer), &sweep.run_id, sweep.clock.now())
                    .await
                {
                    Ok(ApplyOutcome::Applied(event)) => {
                        if let Some(run_id) = &timer.run_id {
                            queue_started_run(store, &timer.campaign_id, run_id, report).await;
                        }
                        report.count("fired");
                        report.count(&format!("{RECOVERED_PREFIX}{}", timer.kind));
                        report.action(format!(
                            "{} fired {late_s} s late: {} → {}",
                            timer.timer_id, event.from, event.to
                        ));
                        events.push(event);
                    }
                    Ok(ApplyOutcome::Occurred(applied)) => {
                        for run_id in &applied.started {
                            queue_started_run(store, &timer.campaign_id, run_id, report).await;
                        }
                        report.count("fired");
                        report.count(&format!("{RECOVERED_PREFIX}{}", timer.kind));
                        report.action(format!(
                            "{} fired {late_s} s late: {} occurrence(s) handled, {} run(s) started",
                            timer.timer_id,
                            applied.handled,
                            applied.started.len(),
                        ));
                        if let Some(next) = &applied.send_next
                            && let Err(error) = store.queue_timers(std::slice::from_ref(next)).await
                        {
                            // Marked queued but not sent: the dispatcher's catch-up sends it.
                            report.errors.push(format!(
                                "{}: next occurrence not queued: {error}",
                                timer.timer_id
                            ));
                        }
                        run_events.extend(applied.events);
                    }
                    Ok(ApplyOutcome::RunClosed(closed)) => {
                        if let Some(run_id) = &closed.started {
                            queue_started_run(store, &timer.campaign_id, run_id, report).await;
                        }
                        report.count("fired");
                        report.count(&format!("{RECOVERED_PREFIX}{}", timer.kind));
                        report.action(format!(
                            "{} fired {late_s} s late: the window of run {} closed",
                            timer.timer_id,
                            timer.run_id.as_ref().map_or("?", |run| run.as_str()),
                        ));
                        if let Some(next) = &closed.send_next
                            && let Err(error) = store.queue_timers(std::slice::from_ref(next)).await
                        {
                            // Marked queued but not sent: the dispatcher's catch-up sends it.
                            report.errors.push(format!(
                                "{}: next run's close not queued: {error}",
                                timer.timer_id
                            ));
                        }
                        run_events.extend(closed.events);
                    }
                    Ok(ApplyOutcome::Obsolete { reason }) => {
                        report.count("cancelled");
                        report.action(format!("{} CANCELLED: {reason}", timer.timer_id));
                    }
                    Ok(ApplyOutcome::AlreadyDone { .. }) => report.count("changed_meanwhile"),
                    Ok(ApplyOutcome::Early { reason }) => {
                        // Left under our lease: the stuck-timer step takes it back.
                        report.count("waiting");
                        report.action(format!("{} waits: {reason}", timer.timer_id));
                    }
                    Ok(ApplyOutcome::Mismatch { reason }) => {
                        // The sweeper fires the stored timer itself: this means corrupt data.
                        report.errors.push(format!("{}: {reason}", timer.timer_id));
                    }
                    Err(error) => report.errors.push(format!("{}: {error}", timer.timer_id)),
                }
            }
        }
    }
    let mut published = 0;
    if !events.is_empty() {
        published += publish_and_clear(store, store, &events)
            .await
            .published
            .len();
    }
    if !run_events.is_empty() {
        published += publish_and_clear(store, store, &run_events)
            .await
            .published
            .len();
    }
    if published > 0 {
        report
            .counts
            .insert("events_published".into(), published as u64);
    }
}

/// Queues the delivery run a late START began for planning (if that fails, the stalled-runs
/// step queues it once it has waited `RUN_STALL_SECONDS`).
async fn queue_started_run<P: SweepPorts>(
    store: &P,
    campaign_id: &CampaignId,
    run_id: &RunId,
    report: &mut StepReport,
) {
    let job = PlanJob {
        campaign_id: campaign_id.clone(),
        run_id: run_id.clone(),
    };
    match store.queue_plans(&[job]).await {
        Ok(true) => report.count("runs_started"),
        Ok(false) | Err(_) => report.count("runs_left_to_stalled_step"),
    }
}
