//! Relaying committed events (and alerts) from the outbox to the bus: publish, then delete what the bus
//! accepted. Whatever fails stays in the outbox and is published again later (at least once on
//! the bus, deduplicated by consumers on `eventId`). The relay works over two small traits,
//! [`Publish`] and [`Outbox`], implemented by [`EventPublisher`] and [`Store`] and by the
//! functions' in-memory fakes.

use std::collections::BTreeSet;
use std::future::Future;

use lifecycle_domain::event::BusEvent;
use lifecycle_domain::{Alert, Outboxed};
use lifecycle_resilience::{AlertOutbox, BoxFuture, StoreFailure};

use crate::aws::{EventPublisher, PublishReport};
use crate::store::{Store, StoreError};

/// Where events are published.
pub trait Publish: Sync {
    /// Publishes `events`; the report says which the bus accepted.
    fn publish<E: BusEvent + Sync>(
        &self,
        events: &[E],
    ) -> impl Future<Output = PublishReport> + Send;
}

/// The outbox published events and alerts are cleared from.
pub trait Outbox: Sync {
    /// Deletes published `events` from the outbox.
    fn clear_outbox<E: Outboxed + Sync>(
        &self,
        events: &[E],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes published `alerts` out of the due index.
    fn mark_alerts_published(
        &self,
        alerts: &[Alert],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl Publish for EventPublisher {
    async fn publish<E: BusEvent + Sync>(&self, events: &[E]) -> PublishReport {
        EventPublisher::publish(self, events).await
    }
}

impl Publish for crate::services::Services {
    async fn publish<E: BusEvent + Sync>(&self, events: &[E]) -> PublishReport {
        self.events.publish(events).await
    }
}

impl Outbox for crate::services::Services {
    async fn clear_outbox<E: Outboxed + Sync>(&self, events: &[E]) -> Result<(), StoreError> {
        self.store.clear_outbox(events).await
    }

    async fn mark_alerts_published(&self, alerts: &[Alert]) -> Result<(), StoreError> {
        self.store.mark_alerts_published(alerts).await
    }
}

impl Outbox for Store {
    async fn clear_outbox<E: Outboxed + Sync>(&self, events: &[E]) -> Result<(), StoreError> {
        Store::clear_outbox(self, events).await
    }

    async fn mark_alerts_published(&self, alerts: &[Alert]) -> Result<(), StoreError> {
        Store::mark_alerts_published(self, alerts).await
    }
}

/// Publishes `events` (duplicates by id removed) and clears the published ones from the
/// outbox. A failed clear is logged, not returned: the event is on the bus either way.
pub async fn publish_and_clear<E: Outboxed + Clone + Sync>(
    publisher: &impl Publish,
    store: &impl Outbox,
    events: &[E],
) -> PublishReport {
    let mut seen = BTreeSet::new();
    let unique: Vec<E> = events
        .iter()
        .filter(|event| seen.insert(event.event_id().to_owned()))
        .cloned()
        .collect();
    if unique.is_empty() {
        return PublishReport::default();
    }
    let report = publisher.publish(&unique).await;
    for (event_id, error) in &report.failed {
        tracing::warn!(event_id, error = %error, "event not published; it stays in the outbox");
    }
    let published: Vec<E> = unique
        .into_iter()
        .filter(|event| report.published.iter().any(|id| id == event.event_id()))
        .collect();
    if let Err(error) = store.clear_outbox(&published).await {
        tracing::warn!(error = %error, "outbox not cleared; the events will be published again");
    }
    report
}

/// Publishes `alerts` and takes the published ones out of the due index; returns how many
/// the bus accepted. The rest are published again by the sweeper's outbox step.
pub async fn publish_alerts(
    publisher: &impl Publish,
    store: &impl Outbox,
    alerts: &[Alert],
) -> usize {
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
