//! The timer executor: fires the timers of a batch of timers-queue messages.
//!
//! Each timer waits out the sub-second rest until its due millisecond (timers delivered more
//! than `EXECUTOR_MAX_EARLY_WAIT_MS` early go back on the queue), then is applied with one
//! DynamoDB transaction ([`lifecycle_adapters::store::Store::apply_timer`]). The events of the whole batch
//! are published together and cleared from the outbox. A message is reported as a batch item
//! failure — and so redelivered, then dead-lettered — when it is malformed, one of its timers
//! failed or is early for its campaign, or one of its events was not published; everything
//! else in the batch completes. While the DynamoDB circuit breaker is open, messages are not
//! worked on: they go back on the queue with a delay (visibility change) until it closes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_adapters::relay::publish_and_clear;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{ApplyOutcome, StoreError};
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer_messages::{TimerMessage, plan_messages};
use lifecycle_domain::{DueTimer, LifecycleEvent};
use lifecycle_resilience::{self as resilience, Backoff, Dependency};
use lifecycle_telemetry::metrics::{self, Metric, Unit};

/// When a breaker refused a timer without saying until when, it comes back after this.
const REFUSED_RETRY_MS: i64 = 5_000;
/// Backoff of messages whose timer is early for its campaign.
const EARLY_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

/// What handling one timer came to.
enum Handled {
    Applied(ApplyOutcome),
    /// Delivered too early to wait for in this invocation (or its deadline is too close).
    TooEarly,
}

/// Start no timer whose due time is closer than this to the invocation's deadline.
pub const DEADLINE_MARGIN_MS: i64 = 3_000;

/// The executor's handler, called alike by its Lambda `main` and the local runtime: handles
/// one SQS batch of an invocation that must end by `deadline`.
pub async fn handle(services: &Services, event: SqsEvent, deadline: Timestamp) -> SqsBatchResponse {
    let stop_at = deadline.plus_millis(-DEADLINE_MARGIN_MS);
    handle_batch_until(services, event, Some(stop_at)).await
}

/// Handles one SQS batch with no deadline (tests); see [`handle_batch_until`].
pub async fn handle_batch(services: &Services, event: SqsEvent) -> SqsBatchResponse {
    handle_batch_until(services, event, None).await
}

/// Handles one SQS batch; the response lists the messages to redeliver. A timer whose wait
/// would end after `stop_at` (the invocation's deadline minus a margin) is not started: it
/// goes back on the queue like one delivered too early, so the invocation never dies holding
/// work.
pub async fn handle_batch_until(
    services: &Services,
    event: SqsEvent,
    stop_at: Option<Timestamp>,
) -> SqsBatchResponse {
    services
        .begin_invocation("timer-executor", Timestamp::now())
        .await;
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut refused: BTreeSet<String> = BTreeSet::new();
    let mut early: BTreeSet<String> = BTreeSet::new();
    let mut receives: BTreeMap<String, u32> = BTreeMap::new();
    let mut receipts: BTreeMap<String, String> = BTreeMap::new();
    let mut work: Vec<(String, DueTimer)> = Vec::new();
    let open_until = match services.resilience.breaker(Dependency::DynamoDb) {
        Some(breaker) => breaker.refusing_until(Timestamp::now()).await,
        None => None,
    };
    for record in event.records {
        let Some(message_id) = record.message_id else {
            tracing::error!(
                code = "MESSAGE_WITHOUT_ID",
                "SQS record without a message id"
            );
            continue;
        };
        if let Some(handle) = record.receipt_handle {
            receipts.insert(message_id.clone(), handle);
        }
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|count| count.parse().ok())
            .unwrap_or(1);
        receives.insert(message_id.clone(), receive_count);
        if open_until.is_some() {
            refused.insert(message_id);
            continue;
        }
        match TimerMessage::parse(record.body.as_deref().unwrap_or_default()) {
            Ok(message) => {
                work.extend(message.timers.into_iter().map(|t| (message_id.clone(), t)));
            }
            Err(error) => {
                let body = record.body.as_deref().unwrap_or_default();
                if !dead_letter_bad_input(services, &message_id, body, &error.to_string()).await {
                    failed.insert(message_id);
                }
            }
        }
    }

    let applied = AtomicUsize::new(0);
    let results = futures_util::future::join_all(
        work.iter()
            .map(|(_, timer)| handle_timer(services, timer, stop_at, &applied)),
    )
    .await;

    let mut events: Vec<LifecycleEvent> = Vec::new();
    let mut message_of_event: BTreeMap<String, String> = BTreeMap::new();
    let mut requeue: Vec<(String, DueTimer)> = Vec::new();
    for ((message_id, timer), result) in work.into_iter().zip(results) {
        match result {
            Ok(Handled::Applied(ApplyOutcome::Applied(event))) => {
                log_fired(&timer, &event);
                message_of_event.insert(event.event_id.clone(), message_id);
                events.push(event);
            }
            Ok(Handled::Applied(ApplyOutcome::AlreadyDone { unpublished })) => {
                tracing::info!(timer = %timer.timer_id, "timer no longer PENDING (fired or cancelled before); no-op");
                if let Some(event) = unpublished {
                    message_of_event.insert(event.event_id.clone(), message_id);
                    events.push(event);
                }
            }
            Ok(Handled::Applied(ApplyOutcome::Obsolete { reason })) => {
                tracing::info!(timer = %timer.timer_id, reason, "timer CANCELLED: campaign state no longer fits");
            }
            Ok(Handled::Applied(ApplyOutcome::Early { reason })) => {
                tracing::warn!(timer = %timer.timer_id, reason, "timer early for its campaign; retried after a backoff");
                early.insert(message_id);
            }
            Ok(Handled::TooEarly) => requeue.push((message_id, timer)),
            Err(error) => {
                let class = error.class();
                tracing::error!(
                    timer = %timer.timer_id,
                    code = class.code,
                    category = ?class.category,
                    severity = ?class.severity,
                    retryable = class.retryable,
                    error = %error,
                    "timer not applied; retried later"
                );
                if class == resilience::CIRCUIT_OPEN {
                    refused.insert(message_id);
                } else {
                    failed.insert(message_id);
                }
            }
        }
    }

    if !requeue.is_empty() {
        let timers: Vec<DueTimer> = requeue.iter().map(|(_, t)| t.clone()).collect();
        if let Err(error) = services
            .timers
            .send(&plan_messages(&timers, Timestamp::now()))
            .await
        {
            tracing::error!(error = %error, "early timers not re-queued; their messages are retried");
            failed.extend(requeue.into_iter().map(|(id, _)| id));
        }
    }

    emit_metrics(services, &events);
    let report = publish_and_clear(&services.events, &services.store, &events).await;
    for (event_id, _) in &report.failed {
        if let Some(message_id) = message_of_event.get(event_id) {
            failed.insert(message_id.clone());
        }
    }

    put_back_refused(services, &refused, &receipts, open_until).await;
    early.retain(|id| !failed.contains(id) && !refused.contains(id));
    retry_early(services, &early, &receipts, &receives).await;
    failed.extend(early);
    services.end_invocation().await;
    failed.extend(refused);
    let mut response = SqsBatchResponse::default();
    for message_id in failed {
        response.add_failure(message_id);
    }
    response
}

/// Malformed input: no retry can fix it, so it goes straight to the DLQ with its error
/// attributes (`errorCode` `BAD_TIMER_MESSAGE`, …) and the message completes. Returns `false`
/// if that was not possible (no DLQ configured, or the send failed): the message is then
/// retried and dead-lettered by the queue's redrive policy.
async fn dead_letter_bad_input(
    services: &Services,
    message_id: &str,
    body: &str,
    problem: &str,
) -> bool {
    let class = resilience::BAD_INPUT;
    tracing::error!(
        message_id,
        code = class.code,
        category = ?class.category,
        severity = ?class.severity,
        retryable = class.retryable,
        error = problem,
        "malformed timer message"
    );
    let Some(dlq_url) = services.config.timers_dlq_url.as_deref() else {
        return false;
    };
    let attributes =
        lifecycle_adapters::aws::redrive::error_attributes(&class, problem, Timestamp::now());
    match services.timers.dead_letter(dlq_url, body, attributes).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(message_id, error = %error, "not dead-lettered now; the queue's redrive policy will");
            false
        }
    }
}

/// Messages with a timer that is early for its campaign (its predecessor has not fired yet,
/// usually because that one is being retried) come back after a capped exponential backoff
/// with full jitter on their receive count — 1 s + up to 1, 2, 4 … 30 s — instead of the
/// queue's 180 s visibility timeout.
async fn retry_early(
    services: &Services,
    early: &BTreeSet<String>,
    receipts: &BTreeMap<String, String>,
    receives: &BTreeMap<String, u32>,
) {
    let delays: Vec<(String, i32)> = early
        .iter()
        .filter_map(|id| {
            let retry = receives.get(id).copied().unwrap_or(1).saturating_sub(1);
            let seconds = 1 + EARLY_BACKOFF.delay(retry).as_secs() as i32;
            Some((receipts.get(id)?.clone(), seconds))
        })
        .collect();
    if delays.is_empty() {
        return;
    }
    if let Err(error) = services.timers.delay_redelivery(&delays).await {
        tracing::warn!(error = %error, "visibility not changed; the messages come back after the queue's visibility timeout");
    }
}

/// The fallback of an open DynamoDB breaker: the refused messages stay on the queue,
/// invisible until the breaker lets calls through again (plus jitter, so instances do not
/// return together) — not retried at once, and not moved towards the DLQ faster than one
/// receive per open period. If a message still reaches its `maxReceiveCount`, its timers are
/// PENDING in the table and the sweeper fires them.
async fn put_back_refused(
    services: &Services,
    refused: &BTreeSet<String>,
    receipts: &BTreeMap<String, String>,
    open_until: Option<Timestamp>,
) {
    if refused.is_empty() {
        return;
    }
    let now = Timestamp::now();
    let until = open_until.unwrap_or(now.plus_millis(REFUSED_RETRY_MS));
    let seconds = (until.millis_since(now).max(0) + lifecycle_domain::jitter::millis(5_000) as i64)
        / 1000
        + 1;
    let delays: Vec<(String, i32)> = refused
        .iter()
        .filter_map(|id| Some((receipts.get(id)?.clone(), seconds as i32)))
        .collect();
    tracing::warn!(
        messages = refused.len(),
        back_in_s = seconds,
        code = resilience::CIRCUIT_OPEN.code,
        "DynamoDB circuit breaker open: messages put back on the queue"
    );
    if let Err(error) = services.timers.delay_redelivery(&delays).await {
        tracing::warn!(error = %error, "visibility not changed; the messages come back after the queue's visibility timeout");
    }
}

/// Lag (dueAt → commit) of the timers this batch fired, and their count, as EMF metrics.
fn emit_metrics(services: &Services, fired: &[LifecycleEvent]) {
    let lags: Vec<f64> = fired
        .iter()
        .filter_map(|e| e.due_at.map(|due| e.fired_at.millis_since(due) as f64))
        .collect();
    metrics::emit(
        services.config.log_format,
        "timer-executor",
        &[],
        &[
            Metric {
                name: "TimerLagMs",
                unit: Unit::Milliseconds,
                values: lags,
            },
            Metric::one("TimersFired", Unit::Count, fired.len() as f64),
        ],
    );
}

/// Waits for `timer`'s due millisecond and applies it; `applied` counts the batch's commits.
async fn handle_timer(
    services: &Services,
    timer: &DueTimer,
    stop_at: Option<Timestamp>,
    applied: &AtomicUsize,
) -> Result<Handled, StoreError> {
    let wait = timer.due_at.millis_since(Timestamp::now());
    let past_deadline = stop_at.is_some_and(|stop| timer.due_at > stop);
    if wait > i64::from(services.config.executor_max_early_wait_ms) || past_deadline {
        return Ok(Handled::TooEarly);
    }
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
    if applied.load(Ordering::SeqCst) > 0 {
        lifecycle_adapters::crash::point("executor.mid_batch");
    }
    let outcome = services.store.apply_timer(timer, Timestamp::now()).await?;
    if matches!(outcome, ApplyOutcome::Applied(_)) {
        applied.fetch_add(1, Ordering::SeqCst);
        lifecycle_adapters::crash::point("executor.after_transaction");
    }
    Ok(Handled::Applied(outcome))
}

/// One readable line per fired timer.
fn log_fired(timer: &DueTimer, event: &LifecycleEvent) {
    tracing::info!(
        campaign = %event.campaign_id,
        timer = %timer.kind,
        from = %event.from,
        to = %event.to,
        lag_ms = event.fired_at.millis_since(timer.due_at),
        "{} {} -> {}",
        event.event_type.as_str(),
        event.from,
        event.to,
    );
}
