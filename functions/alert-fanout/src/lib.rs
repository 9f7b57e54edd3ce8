//! The alert fan-out: turns the alerts raised on the lifecycle bus into notifications on
//! the channels their severity is routed to — email (SES), Slack, a signed webhook, an SNS
//! topic — once per decision however many instances see them, with reminders while a cause
//! keeps firing, a resolved notice when it clears, and per-channel retries behind the
//! channel's breaker. [`messages`] handles the alerts queue (an EventBridge rule sends
//! `AlertRaised` and `CampaignRunCompleted` there), [`decide`] the noise-control decision,
//! [`send`] the channels, [`check`] the periodic check the schedule invokes, [`test_alert`]
//! the operators' test alerts (`AlertTestRequested`); [`ports`] is
//! what they need, [`services`] its AWS implementation. [`handle`] is the Lambda handler,
//! called alike by `main.rs` and the local runtime.

pub mod check;
pub mod decide;
pub mod messages;
pub mod ports;
pub mod send;
pub mod services;
pub mod test_alert;
#[cfg(test)]
mod tests;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_domain::{SystemClock, Timestamp};
use lifecycle_telemetry::catalogue::{ALERTS_NOT_DELIVERED, ALERTS_SENT};
use lifecycle_telemetry::metrics::{self, Metric};
use serde_json::Value;

use crate::check::CheckReport;
use crate::send::SendReport;
use crate::services::FanoutServices;

/// The function's name in heartbeats, logs and metrics.
pub const FUNCTION: &str = "alert-fanout";

/// The handler: an SQS event (the alerts queue) is handled message by message and answered
/// with the partial-batch response; anything else (the schedule's event) runs the periodic
/// check and answers its report.
pub async fn handle(fanout: &FanoutServices, payload: Value) -> Result<Value, String> {
    if payload.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(payload)
            .map_err(|error| format!("not an SQS event: {error}"))?;
        let response = handle_queue(fanout, event).await;
        serde_json::to_value(response).map_err(|error| error.to_string())
    } else {
        let report = handle_check(fanout).await;
        serde_json::to_value(report).map_err(|error| error.to_string())
    }
}

/// Handles one SQS event of the alerts queue.
pub async fn handle_queue(fanout: &FanoutServices, event: SqsEvent) -> SqsBatchResponse {
    fanout
        .services
        .begin_invocation(FUNCTION, Timestamp::now())
        .await;
    let (response, sends) = messages::handle_messages(fanout, &SystemClock, event).await;
    emit_metrics(fanout, &sends);
    fanout.services.end_invocation().await;
    response
}

/// Runs the periodic check.
pub async fn handle_check(fanout: &FanoutServices) -> CheckReport {
    fanout
        .services
        .begin_invocation(FUNCTION, Timestamp::now())
        .await;
    let report = check::check(fanout, &SystemClock).await;
    emit_metrics(fanout, &report.sends);
    let summary = serde_json::json!(report);
    if report.errors.is_empty() && report.states == 0 {
        tracing::debug!(report = %summary, "alert check finished: nothing due");
    } else if report.errors.is_empty() {
        tracing::info!(report = %summary, "alert check finished");
    } else {
        tracing::warn!(report = %summary, "alert check finished with errors");
    }
    fanout.services.end_invocation().await;
    report
}

/// `AlertsSent` and `AlertsNotDelivered` per channel (first sends and retries alike).
fn emit_metrics(fanout: &FanoutServices, sends: &SendReport) {
    for (channel, (sent, failed)) in sends.per_channel() {
        metrics::emit(
            fanout.services.config.log_format,
            FUNCTION,
            &[("Channel", channel.as_str())],
            &[
                Metric::one(&ALERTS_SENT, sent as f64),
                Metric::one(&ALERTS_NOT_DELIVERED, failed as f64),
            ],
        );
    }
}
