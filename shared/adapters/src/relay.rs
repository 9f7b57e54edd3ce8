//! Relaying committed events (and alerts) from the outbox to the bus: publish, then delete what the bus
//! accepted. Whatever fails stays in the outbox and is published again later (at least once on
//! the bus, deduplicated by consumers on `eventId`).

use std::collections::BTreeSet;

use lifecycle_domain::{Alert, LifecycleEvent};
use lifecycle_resilience::{AlertOutbox, BoxFuture, StoreFailure};

use crate::aws::{EventPublisher, PublishReport};
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

/// The resilience layer's alert outbox: alerts stored in the table's alert outbox, then (if
/// a publisher is given) published at once; else the sweeper's outbox step publishes them.
#[derive(Debug, Clone)]
pub struct AlertRelay {
    /// Unguarded, so raising an alert never waits on a breaker or a retry.
    pub store: Store,
    pub publisher: Option<EventPublisher>,
}

impl AlertOutbox for AlertRelay {
    fn store_alert<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<bool, StoreFailure>> {
        Box::pin(async move { Ok(self.store.raise_alert(alert).await?) })
    }

    fn publish_alerts<'a>(&'a self, alerts: &'a [Alert]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Some(publisher) = &self.publisher {
                publish_alerts(publisher, &self.store, alerts).await;
            }
        })
    }
}
