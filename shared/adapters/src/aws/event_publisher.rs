//! Publishes bus events (lifecycle events, alerts) to the EventBridge bus with `PutEvents`,
//! ten entries a request.
//! Each event reports its own outcome: a failed entry stays in the outbox for a later retry.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use lifecycle_resilience::AwsError;

use super::Describe;
use crate::aws::SendWith;
use lifecycle_domain::event::{BusEvent, EVENT_SOURCE};
use lifecycle_resilience::Resilience;

/// Entries per `PutEvents` request (the EventBridge maximum).
const BATCH_ENTRIES: usize = 10;

/// What happened to each event of a publish.
#[derive(Debug, Default)]
pub struct PublishReport {
    /// Event ids the bus accepted.
    pub published: Vec<String>,
    /// Event ids that were not published, with the reason.
    pub failed: Vec<(String, AwsError)>,
}

/// Publisher of bus events to one bus.
#[derive(Debug, Clone)]
pub struct EventPublisher {
    resilience: Resilience,
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventPublisher {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self {
            resilience: Resilience::passthrough(),
            client,
            bus_name: bus_name.into(),
        }
    }

    /// This publisher with its requests sent through `resilience`.
    pub fn with_resilience(self, resilience: Resilience) -> Self {
        Self { resilience, ..self }
    }

    /// Checks that the bus exists and answers (`DescribeEventBus`).
    pub async fn describe_bus(&self) -> Result<(), AwsError> {
        self.client
            .describe_event_bus()
            .name(&self.bus_name)
            .send_with(&self.resilience)
            .await
            .map(|_| ())
            .map_err(|e| e.describe("DescribeEventBus"))
    }

    /// Publishes `events`; never fails as a whole — see [`PublishReport::failed`].
    pub async fn publish<E: BusEvent>(&self, events: &[E]) -> PublishReport {
        let mut report = PublishReport::default();
        for chunk in events.chunks(BATCH_ENTRIES) {
            let entries = chunk
                .iter()
                .map(|event| {
                    PutEventsRequestEntry::builder()
                        .source(EVENT_SOURCE)
                        .detail_type(event.detail_type())
                        .detail(event.detail_json())
                        .event_bus_name(&self.bus_name)
                        .build()
                })
                .collect::<Vec<_>>();
            match self
                .client
                .put_events()
                .set_entries(Some(entries))
                .send_with(&self.resilience)
                .await
            {
                Ok(output) => {
                    for (event, result) in chunk.iter().zip(output.entries()) {
                        match result.error_code() {
                            None => report.published.push(event.event_id().to_owned()),
                            Some(code) => report.failed.push((
                                event.event_id().to_owned(),
                                AwsError::batch_entry(
                                    "PutEvents",
                                    Some(code),
                                    result.error_message(),
                                ),
                            )),
                        }
                    }
                    // An answer with fewer entries than sent leaves the rest unconfirmed.
                    for event in chunk.iter().skip(output.entries().len()) {
                        report.failed.push((
                            event.event_id().to_owned(),
                            AwsError::batch_entry("PutEvents", None, Some("no result entry")),
                        ));
                    }
                }
                Err(error) => {
                    let error = error.describe("PutEvents");
                    for event in chunk {
                        report
                            .failed
                            .push((event.event_id().to_owned(), error.clone()));
                    }
                }
            }
        }
        report
    }
}
