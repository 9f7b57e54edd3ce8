//! Step `orphans`: overdue PENDING timers whose campaign item is gone (deleted by hand or by
//! a bad migration) are cancelled. An orphan is found once it is overdue; before that it
//! harms nothing (the executor cancels it too, finding no campaign).

use lifecycle_domain::recovery::StepReport;

use super::read_shards;
use crate::Sweep;
use crate::ports::SweepPorts;

/// Why an orphan is cancelled.
pub const ORPHAN_REASON: &str = "orphan: campaign not found";

/// Runs the step of `sweep`, filling `report`.
pub async fn run<P: SweepPorts>(sweep: &Sweep<'_, P>, report: &mut StepReport) {
    let store = sweep.ports;
    let config = &sweep.config;
    let until = sweep.now.plus_millis(-i64::from(config.grace_secs) * 1000);
    let (timers, errors) = read_shards(sweep, |shard| {
        store.overdue_timers(shard, until, config.batch_limit)
    })
    .await;
    report.errors.extend(errors);
    for timer in timers {
        if sweep.out_of_time() {
            report.count("deferred");
            continue;
        }
        match store.get_campaign(&timer.campaign_id).await {
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(error) => {
                report.errors.push(format!("{}: {error}", timer.timer_id));
                continue;
            }
        }
        report.count("found");
        if sweep.dry_run {
            report.action(format!("would cancel orphan {}", timer.timer_id));
            continue;
        }
        match store
            .cancel_pending_timer(
                &timer.campaign_id,
                timer.kind,
                Some(timer.due_at),
                ORPHAN_REASON,
            )
            .await
        {
            Ok(true) => {
                report.count("cancelled");
                report.action(format!("{} CANCELLED: {ORPHAN_REASON}", timer.timer_id));
            }
            Ok(false) => report.count("changed_meanwhile"),
            Err(error) => report.errors.push(format!("{}: {error}", timer.timer_id)),
        }
    }
}
