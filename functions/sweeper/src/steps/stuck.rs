//! Step `stuck_timers`: RUNNING timers whose lease expired (their worker died or timed out)
//! go back to PENDING with one more attempt — the missed-timer step then fires them — or,
//! out of attempts, to FAILED with an alert for operators. The time from each requeued
//! timer's lease expiry to its requeue is summed (`recovery_ms`): the stuck timers' mean
//! time to recovery in the recovery log.

use lifecycle_adapters::relay::publish_alerts;
use lifecycle_adapters::store::TakenBack;
use lifecycle_domain::recovery::{STUCK_RECOVERY_MS, StepReport};
use lifecycle_domain::timer::after_expired_lease;

use super::{RECOVERED_PREFIX, read_shards};
use crate::Sweep;
use crate::ports::SweepPorts;

/// Runs the step of `sweep`, filling `report`.
pub async fn run<P: SweepPorts>(sweep: &Sweep<'_, P>, report: &mut StepReport) {
    let store = sweep.ports;
    let config = &sweep.config;
    let (timers, errors) = read_shards(sweep, |shard| {
        store.expired_leases(shard, sweep.now, config.batch_limit)
    })
    .await;
    report.errors.extend(errors);
    let mut alerts = Vec::new();
    for timer in timers {
        report.count("found");
        if sweep.out_of_time() {
            report.count("deferred");
            continue;
        }
        let owner = timer.lease_owner.as_deref().unwrap_or("?");
        if sweep.dry_run {
            let next = after_expired_lease(timer.attempts, config.max_attempts).as_str();
            report.action(format!(
                "would take back {} (lease of {owner}) → {next}",
                timer.timer_id
            ));
            continue;
        }
        match store
            .take_back_timer(&timer, sweep.now, config.max_attempts)
            .await
        {
            Ok(TakenBack::Requeued) => {
                report.count("requeued");
                report.count(&format!("{RECOVERED_PREFIX}{}", timer.kind));
                let expired = timer.lease_expires_at.unwrap_or(sweep.now);
                report.add(
                    STUCK_RECOVERY_MS,
                    u64::try_from(sweep.now.millis_since(expired)).unwrap_or(0),
                );
                report.action(format!(
                    "{} → PENDING (lease of {owner} expired, attempt {})",
                    timer.timer_id,
                    timer.attempts + 1
                ));
            }
            Ok(TakenBack::Failed(alert)) => {
                report.count("failed");
                report.action(format!("{} → FAILED: {}", timer.timer_id, alert.message));
                tracing::error!(timer = %timer.timer_id, code = "TIMER_FAILED", "{}", alert.message);
                alerts.push(*alert);
            }
            Ok(TakenBack::Gone) => report.count("changed_meanwhile"),
            Err(error) => report.errors.push(format!("{}: {error}", timer.timer_id)),
        }
    }
    if !alerts.is_empty() {
        let published = publish_alerts(store, store, &alerts).await;
        report
            .counts
            .insert("alerts_published".into(), published as u64);
    }
}
