//! Relaying committed events (and alerts) from the outbox to the bus: publish, then delete what the bus
//! accepted. Whatever fails stays in the outbox and is published again later (at least once on
//! the bus, deduplicated by consumers on `eventId`).

use std::collections::BTreeSet;

use crate::aws::{EventPublisher, PublishReport};
use crate::domain::{Alert, LifecycleEvent};
use crate::store::Store;

/// Publishes `events` (duplicates by id removed) and clears the published ones from the
/// outbox. A failed clear is logged, not returned: the event is on the bus either way.
pub async fn publish_and_clear(
    publisher: &EventPublisher,
    store: &Store,
    events: &[LifecycleEvent],
) -> PublishReport {
    let mut seen = BTreeSet::new();
    let unique: Vec<LifecycleEvent> = events
        .iter()
        .filter(|event| seen.insert(event.event_id.clone()))
        .cloned()
        .collect();
    if unique.is_empty() {
        return PublishReport::default();
    }
    let report = publisher.publish(&unique).await;
    for (event_id, error) in &report.failed {
        tracing::warn!(event_id, error = %error, "event not published; it stays in the outbox");
    }
    let published: Vec<LifecycleEvent> = unique
        .into_iter()
        .filter(|event| report.published.contains(&event.event_id))
        .collect();
    if let Err(error) = store.clear_outbox(&published).await {
        tracing::warn!(error = %error, "outbox not cleared; the events will be published again");
    }
    report
}

/// Publishes `alerts` and takes the published ones out of the due index; returns how many
/// the bus accepted. The rest are published again by the sweeper's outbox step.
pub async fn publish_alerts(publisher: &EventPublisher, store: &Store, alerts: &[Alert]) -> usize {
    if alerts.is_empty() {
        return 0;
    }
    let report = publisher.publish(alerts).await;
    for (alert_id, error) in &report.failed {
        tracing::warn!(alert_id, error = %error, "alert not published; it is published again later");
    }
    let published: Vec<Alert> = alerts
        .iter()
        .filter(|alert| report.published.contains(&alert.alert_id))
        .cloned()
        .collect();
    if let Err(error) = store.mark_alerts_published(&published).await {
        tracing::warn!(error = %error, "alerts not marked published; they are published again");
    }
    published.len()
}
