//! Step `stalled_runs`: delivery runs that stopped moving — no plan commit and no batch
//! recorded for `RUN_STALL_SECONDS` — are set going again. Every repair is a repeat the
//! functions already tolerate, so a run that was only slow loses nothing:
//!
//! - a SCHEDULED run past its start by more than the misfire window (plus the grace and the
//!   stall time) whose campaign has left SCHEDULED without it (the START was missed for good
//!   and the state correction moved the campaign on) or is gone is cancelled with the reason:
//!   its START can no longer fire;
//! - a PLANNING run (its planner died, or its START's planning message was lost) is queued
//!   for planning again: the planner resumes at its durable cursor and queues its last
//!   committed group again;
//! - a SENDING or CANCELLED run whose counts say every recipient is settled is completed
//!   (conditional: one `CampaignRunCompleted`, published here);
//! - otherwise its last planned group (whose messages may have died with the planner that
//!   made the run SENDING) and its batches whose lease expired unrecorded (their sender
//!   died, their message may be dead-lettered) are queued again for the sender, which sends
//!   a batch once however often it is queued.
//!
//! Before it queues a run's work again, the step holds the run (a conditional write on the
//! run not having moved since it was found stalled): a run is repaired once per stall period
//! however many sweeps see it, and two sweeps never both queue it. Without the hold, a run
//! whose senders are behind would get another copy of its batches on every sweep until it
//! moved, and the copies would bury the senders.
//!
//! The hold still leaves one copy per stall period, and when the senders are merely behind
//! every waiting run looks stalled, so the copies would grow faster than the senders take
//! them. Before it queues a SENDING or CANCELLED run's batches again, the step therefore asks
//! whether the deliveries queue is behind: messages visible in it that no sender has taken
//! (in-flight and delayed ones do not count; read once per step, when the first run has
//! batches to queue; no deliveries queue is not behind). If it is, the run's batches are most
//! likely waiting there: the run is neither held nor queued (`queue_behind`). The backstop:
//! a run that last moved more than `BACKSTOP_STALL_PERIODS` stall periods ago is repaired
//! anyway, so a message lost while the queue never drains is still queued again (at most
//! once per that many periods, the hold moving the run's time on). A failed read counts as
//! not behind (reported as an error): the sender tolerates copies, a lost batch stays lost.

use std::collections::BTreeMap;

use lifecycle_adapters::config::SweepConfig;
use lifecycle_adapters::relay::publish_and_clear;
use lifecycle_adapters::store::StalledRun;
use lifecycle_domain::delivery::{BatchJob, PlanJob, PlannedBatch, RunRecord, RunStatus};
use lifecycle_domain::recovery::StepReport;
use lifecycle_domain::{CampaignStatus, StoredEvent, Timestamp};

use crate::Sweep;
use crate::ports::SweepPorts;

/// The statuses of runs that can stall, in repair order.
const REPAIRED: [RunStatus; 4] = [
    RunStatus::Scheduled,
    RunStatus::Planning,
    RunStatus::Sending,
    RunStatus::Cancelled,
];

/// How many stall periods a SENDING or CANCELLED run waits for a backlog on the deliveries
/// queue before its batches are queued again anyway (the backstop for a lost message while
/// the queue never drains).
const BACKSTOP_STALL_PERIODS: i64 = 5;

/// Runs the step of `sweep`, filling `report`.
pub async fn run<P: SweepPorts>(sweep: &Sweep<'_, P>, report: &mut StepReport) {
    let config = &sweep.config;
    let stall_ms = stall_ms(config);
    let mut backlog = Backlog::default();
    let mut completions = Vec::new();
    for status in REPAIRED {
        // A SCHEDULED run is listed by its start: its START may still fire until the misfire
        // window (after the grace) has passed.
        let waited_ms = if status == RunStatus::Scheduled {
            stall_ms + i64::from(config.misfire_window_secs + config.grace_secs) * 1000
        } else {
            stall_ms
        };
        let before = sweep.now.plus_millis(-waited_ms);
        let runs = match sweep
            .ports
            .stalled_runs(status, before, config.batch_limit)
            .await
        {
            Ok(runs) => runs,
            Err(error) => {
                report
                    .errors
                    .push(format!("{} runs: {error}", status.as_str()));
                continue;
            }
        };
        for stalled in runs {
            if sweep.out_of_time() {
                report.count("deferred");
                continue;
            }
            report.count("found");
            if let Some(event) = repair(sweep, &stalled, before, &mut backlog, report).await {
                completions.push(event);
            }
        }
    }
    if !completions.is_empty() {
        let published = publish_and_clear(sweep.ports, sweep.ports, &completions).await;
        report
            .counts
            .insert("events_published".into(), published.published.len() as u64);
    }
}

/// `RUN_STALL_SECONDS` in milliseconds.
fn stall_ms(config: &SweepConfig) -> i64 {
    i64::from(config.run_stall_secs) * 1000
}

/// Sets one stalled run (found stalled by `before`) going again; the `CampaignRunCompleted`
/// of a run it completed.
async fn repair<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    stalled: &StalledRun,
    before: Timestamp,
    backlog: &mut Backlog,
    report: &mut StepReport,
) -> Option<StoredEvent> {
    let run = &stalled.run;
    let name = format!("run {}/{}", run.campaign_id, run.run_id);
    if run.status == RunStatus::Scheduled {
        cancel_unstarted(sweep, run, &name, report).await;
        return None;
    }
    let job = PlanJob {
        campaign_id: run.campaign_id.clone(),
        run_id: run.run_id.clone(),
    };
    if run.status == RunStatus::Planning {
        if sweep.dry_run {
            report.action(format!("would queue {name} for planning again"));
            return None;
        }
        if !hold(sweep, run, before, &name, report).await {
            return None;
        }
        match sweep.ports.queue_plans(std::slice::from_ref(&job)).await {
            Ok(true) => {
                report.count("replanned");
                report.action(format!("{name} queued for planning again"));
            }
            Ok(false) => report
                .errors
                .push(format!("{name}: no planning queue (PLANNING_QUEUE_URL)")),
            Err(error) => report.errors.push(format!("{name}: {error}")),
        }
        return None;
    }
    if run.progress().is_done() {
        if sweep.dry_run {
            report.action(format!("would complete {name}"));
            return None;
        }
        return match sweep
            .ports
            .complete_run_if_done(&run.campaign_id, &run.run_id, sweep.clock.now())
            .await
        {
            Ok(Some(event)) => {
                report.count("completed");
                report.action(format!("{name} completed: every recipient settled"));
                Some(event)
            }
            Ok(None) => {
                report.count("changed_meanwhile");
                None
            }
            Err(error) => {
                report.errors.push(format!("{name}: {error}"));
                None
            }
        };
    }
    resend(sweep, stalled, before, backlog, &name, report).await;
    None
}

/// Queues the last group and the expired batches of a SENDING or CANCELLED run (found stalled
/// by `before`) again, unless the deliveries queue is behind and the run is within the
/// backstop.
async fn resend<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    stalled: &StalledRun,
    before: Timestamp,
    backlog: &mut Backlog,
    name: &str,
    report: &mut StepReport,
) {
    let run = &stalled.run;
    let expired = match sweep
        .ports
        .expired_batches(&run.campaign_id, &run.run_id, sweep.clock.now())
        .await
    {
        Ok(expired) => expired,
        Err(error) => {
            report.errors.push(format!("{name}: {error}"));
            return;
        }
    };
    let batches = unfinished(&run.last_group, expired);
    if batches.is_empty() {
        report.count("waiting");
        return;
    }
    let backstop = sweep
        .now
        .plus_millis(-BACKSTOP_STALL_PERIODS * stall_ms(&sweep.config));
    if stalled.moved_at >= backstop && backlog.is_behind(sweep.ports, report).await {
        report.count("queue_behind");
        return;
    }
    if sweep.dry_run {
        report.action(format!(
            "would queue {} batches of {name} again",
            batches.len()
        ));
        return;
    }
    if !hold(sweep, run, before, name, report).await {
        return;
    }
    let jobs: Vec<BatchJob> = batches
        .into_iter()
        .map(|batch| BatchJob {
            campaign_id: run.campaign_id.clone(),
            run_id: run.run_id.clone(),
            batch,
        })
        .collect();
    match sweep.ports.queue_batches(&jobs).await {
        Ok(true) => {
            report.count("resent");
            *report.counts.entry("batches_queued".into()).or_default() += jobs.len() as u64;
            report.action(format!("{name}: {} batches queued again", jobs.len()));
        }
        Ok(false) => report.errors.push(format!(
            "{name}: no deliveries queue (DELIVERIES_QUEUE_URL)"
        )),
        Err(error) => report.errors.push(format!("{name}: {error}")),
    }
}

/// Whether the deliveries queue is behind (messages visible that no sender has taken), read
/// once per step when the first run has batches to queue again.
#[derive(Debug, Default)]
struct Backlog {
    behind: Option<bool>,
}

impl Backlog {
    /// The answer of the step's one read; a failed read (reported) counts as not behind.
    async fn is_behind<P: SweepPorts>(&mut self, ports: &P, report: &mut StepReport) -> bool {
        if let Some(behind) = self.behind {
            return behind;
        }
        let behind = match ports.deliveries_backlog().await {
            Ok(waiting) => waiting.is_some_and(|count| count > 0),
            Err(error) => {
                report.errors.push(format!(
                    "deliveries queue depth: {error} (stalled runs queued as if it were not behind)"
                ));
                false
            }
        };
        self.behind = Some(behind);
        behind
    }
}

/// Holds `run` for its repair: `false` (counted) if it moved meanwhile or another sweep
/// holds it.
async fn hold<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    run: &RunRecord,
    before: Timestamp,
    name: &str,
    report: &mut StepReport,
) -> bool {
    // Held as of the sweep's time, the time the stall was measured against.
    match sweep.ports.hold_stalled_run(run, before, sweep.now).await {
        Ok(true) => true,
        Ok(false) => {
            report.count("changed_meanwhile");
            false
        }
        Err(error) => {
            report.errors.push(format!("{name}: {error}"));
            false
        }
    }
}

/// Cancels a SCHEDULED run whose campaign left SCHEDULED without it (or is gone).
async fn cancel_unstarted<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    run: &RunRecord,
    name: &str,
    report: &mut StepReport,
) {
    let reason = match sweep.ports.get_campaign(&run.campaign_id).await {
        Ok(Some(campaign)) if campaign.status == CampaignStatus::Scheduled => {
            // Its START is still to fire (the missed-timer step's work).
            report.count("waiting");
            return;
        }
        Ok(Some(campaign)) => format!(
            "its START never fired: the campaign moved on to {}",
            campaign.status
        ),
        Ok(None) => "its START never fired: the campaign is gone".to_owned(),
        Err(error) => {
            report.errors.push(format!("{name}: {error}"));
            return;
        }
    };
    if sweep.dry_run {
        report.action(format!("would cancel {name}: {reason}"));
        return;
    }
    match sweep
        .ports
        .cancel_unstarted_run(&run.campaign_id, &run.run_id, &reason, sweep.clock.now())
        .await
    {
        Ok(true) => {
            report.count("cancelled");
            report.action(format!("{name} CANCELLED: {reason}"));
        }
        Ok(false) => report.count("changed_meanwhile"),
        Err(error) => report.errors.push(format!("{name}: {error}")),
    }
}

/// The last group and the expired batches, each batch once, by sequence number.
fn unfinished(last_group: &[PlannedBatch], expired: Vec<PlannedBatch>) -> Vec<PlannedBatch> {
    let mut by_seq = BTreeMap::new();
    for batch in last_group.iter().copied().chain(expired) {
        by_seq.entry(batch.seq).or_insert(batch);
    }
    by_seq.into_values().collect()
}
