//! Step `outbox`: events (of campaigns, runs and deliveries) and alerts committed but never cleared (the publisher died
//! between commit and publish, or the bus refused them) are published again once older than
//! `OUTBOX_REPUBLISH_AFTER_SECONDS`. Consumers dedupe by `eventId`.

use lifecycle_adapters::relay::{publish_alerts, publish_and_clear};
use lifecycle_domain::recovery::StepReport;

use super::read_shards;
use crate::Sweep;
use crate::ports::SweepPorts;

/// Runs the step of `sweep`, filling `report`.
pub async fn run<P: SweepPorts>(sweep: &Sweep<'_, P>, report: &mut StepReport) {
    let store = sweep.ports;
    let config = &sweep.config;
    let until = sweep
        .now
        .plus_millis(-i64::from(config.outbox_republish_after_secs) * 1000);
    let (events, errors) = read_shards(sweep, |shard| {
        store.stale_outbox(shard, until, config.batch_limit)
    })
    .await;
    report.errors.extend(errors);
    let alerts = match store.unpublished_alerts(until, config.batch_limit).await {
        Ok(alerts) => alerts,
        Err(error) => {
            report.errors.push(format!("alerts: {error}"));
            Vec::new()
        }
    };
    for event in &events {
        report.count("found");
        report.action(format!(
            "{}event {} ({} of {})",
            if sweep.dry_run {
                "would republish "
            } else {
                ""
            },
            event.event_id,
            event.detail_type,
            event.campaign_id
        ));
    }
    for alert in &alerts {
        report.count("alerts_found");
        report.action(format!(
            "{}alert {} ({:?})",
            if sweep.dry_run {
                "would republish "
            } else {
                ""
            },
            alert.alert_id,
            alert.kind
        ));
    }
    if sweep.dry_run {
        return;
    }
    if !events.is_empty() {
        let published = publish_and_clear(store, store, &events).await;
        report
            .counts
            .insert("published".into(), published.published.len() as u64);
        report.errors.extend(
            published
                .failed
                .iter()
                .map(|(id, error)| format!("event {id}: {error}")),
        );
    }
    if !alerts.is_empty() {
        let published = publish_alerts(store, store, &alerts).await;
        report
            .counts
            .insert("alerts_published".into(), published as u64);
    }
}
