//! One SQS event of the alerts queue, message by message. Each message is an EventBridge
//! event: an `AlertRaised` (its detail is the alert), a `CampaignRunCompleted` (an alert
//! when the run has failures) or an `AlertTestRequested` ([`crate::test_alert`]). A message that is neither, or does not parse, goes straight
//! to the DLQ with its error attributes and never takes the other messages down; a message
//! whose decision could not be stored (the store failed) is handed back for a retry. Each
//! alert is filed in the recovery log first (once per alert id, with its hour's counters).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_adapters::delivery::queue_messages::{
    DeadLetters, QueueMessage, batch_response, dead_letter_or_retry, queue_messages,
};
use lifecycle_domain::alert::ALERT_DETAIL_TYPE;
use lifecycle_domain::alerting::run_alert::run_failures_alert;
use lifecycle_domain::recovery_log::from_alert::record_of_alert;
use lifecycle_domain::{Alert, Clock};
use serde_json::Value;

use crate::decide::{AlertOutcome, on_alert};
use crate::ports::AlertPorts;
use crate::send::SendReport;
use crate::test_alert::{send_test, test_request_of};

/// The run event that can be an alert.
pub const RUN_COMPLETED_DETAIL_TYPE: &str = "CampaignRunCompleted";

/// The alert an event's body carries: `Ok(None)` for a completed run without failures.
pub fn alert_of(body: &str) -> Result<Option<Alert>, String> {
    let event: Value = serde_json::from_str(body).map_err(|error| format!("not JSON: {error}"))?;
    let detail = event
        .get("detail")
        .ok_or("not an EventBridge event (no detail)")?;
    match event.get("detail-type").and_then(Value::as_str) {
        Some(ALERT_DETAIL_TYPE) => serde_json::from_value(detail.clone())
            .map(Some)
            .map_err(|error| format!("not an alert: {error}")),
        Some(RUN_COMPLETED_DETAIL_TYPE) => run_failures_alert(detail),
        Some(other) => Err(format!("the fan-out does not take {other} events")),
        None => Err("not an EventBridge event (no detail-type)".to_owned()),
    }
}

/// Handles every message of `event`; the response lists those to redeliver. Returns the
/// sends' report too (for metrics).
pub async fn handle_messages<P: AlertPorts + DeadLetters, C: Clock>(
    ports: &P,
    clock: &C,
    event: SqsEvent,
) -> (SqsBatchResponse, SendReport) {
    let mut failed = Vec::new();
    let mut sends = SendReport::default();
    for QueueMessage { id, body, .. } in queue_messages(event.records, &mut failed) {
        match test_request_of(&body) {
            None => {}
            Some(Ok(request)) => {
                if let Err(error) = send_test(ports, &request, clock.now()).await {
                    tracing::warn!(
                        message_id = id,
                        error,
                        "test alert not sent; redelivered later"
                    );
                    failed.push(id);
                }
                continue;
            }
            Some(Err(problem)) => {
                if !dead_letter_or_retry(ports, &id, &body, &problem, clock.now()).await {
                    failed.push(id);
                }
                continue;
            }
        }
        let alert = match alert_of(&body) {
            Ok(Some(alert)) => alert,
            Ok(None) => continue,
            Err(problem) => {
                if !dead_letter_or_retry(ports, &id, &body, &problem, clock.now()).await {
                    failed.push(id);
                }
                continue;
            }
        };
        let (entry, counts) = record_of_alert(&alert);
        if let Err(error) = ports.file_recovery(&entry, &counts).await {
            tracing::warn!(
                message_id = id,
                alert = alert.alert_id,
                error,
                "alert not filed in the recovery log; redelivered later"
            );
            failed.push(id);
            continue;
        }
        match on_alert(ports, clock, &alert).await {
            Ok(AlertOutcome::Notified { report, .. }) => sends.merge(report),
            Ok(AlertOutcome::Counted | AlertOutcome::Unchanged) => {}
            Err(error) => {
                tracing::warn!(
                    message_id = id,
                    alert = alert.alert_id,
                    error,
                    "alert not decided; redelivered later"
                );
                failed.push(id);
            }
        }
    }
    (batch_response(failed), sends)
}
