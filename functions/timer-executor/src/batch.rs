//! One SQS batch of timers-queue messages, worked through the executor's ports.
//!
//! Each timer waits out the sub-second rest until its due millisecond (timers delivered more
//! than `max_early_wait_ms` early, or due after the invocation's stop time, go back on the
//! queue), then is applied with one store transaction. The events of the whole batch are
//! published together and cleared from the outbox. A message is reported as a batch item
//! failure — redelivered, then dead-lettered — when one of its timers failed or is early for
//! its campaign, or one of its events was not published; everything else in the batch
//! completes. A malformed message, or one whose timer does not match the stored timer, goes
//! straight to the DLQ and never takes the batch down. While the store's circuit breaker is
//! open, messages are not worked on: they go back with a delay until it closes.
//!
//! A START that begins a delivery run starts the run in its transaction; after the batch's
//! events are out, the executor publishes each started run's `CampaignRunStarted` and queues
//! the run for the planner (if either is lost, the sweeper republishes the event and
//! re-queues a run whose planning never began).
//!
//! A timer early for its campaign because an earlier timer of the campaign is PENDING and
//! overdue by more than an on-time delivery takes (the executor's timeout) catches its
//! campaign up: the earlier timers are fired first, in due order, with the same transaction,
//! then the timer itself. So a campaign whose START died with an executor still closes on
//! time, instead of waiting for that message's redelivery. A recurring campaign's OCCURRENCE
//! due with (or just after) its START fires that START at once, so its first run is on time.
//!
//! An OCCURRENCE handles its series' occurrences due (the store's one transaction per step):
//! the runs it started are queued for planning and its run events published like a START's,
//! and the timer at its next occurrence, when that is due soon, is sent back to the queue.

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lifecycle_adapters::store::{ApplyOutcome, StoreError};
use lifecycle_domain::delivery::{PlanJob, RunEvent};
use lifecycle_domain::timer_messages::{TimerMessage, plan_messages};
use lifecycle_domain::{Clock, DueTimer, LifecycleEvent, StoredEvent, Timestamp};
use lifecycle_resilience::{self as resilience, Backoff};
use lifecycle_telemetry::LogFormat;
use lifecycle_telemetry::catalogue::{TIMER_LAG_MS, TIMERS_FIRED};
use lifecycle_telemetry::metrics::{self, Metric};

use lifecycle_adapters::relay::{Outbox, Publish, publish_and_clear};

use crate::ports::{RunPlanning, TimerStore, TimersQueue};

/// When a breaker refused a timer without saying until when, it comes back after this.
const REFUSED_RETRY_MS: i64 = 5_000;
/// Backoff of messages whose timer is early for its campaign.
const EARLY_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));

/// The executor's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Timers delivered more than this early go back on the queue instead of being waited for.
    pub max_early_wait_ms: i64,
    /// An earlier PENDING timer of a campaign overdue by more than this is not being fired by
    /// anyone: a later timer of the campaign fires it first (the executor's timeout).
    pub catch_up_after_ms: i64,
    /// Where metric lines go.
    pub log_format: LogFormat,
}

/// The executor over its ports: `P` is the store, the queue, the bus and the outbox.
pub struct Executor<'a, P> {
    /// The store, timers queue and bus.
    pub ports: &'a P,
    /// The time the executor goes by.
    pub clock: &'a dyn Clock,
    /// Its settings.
    pub settings: Settings,
}

/// What handling one timer came to.
enum Handled {
    Applied(ApplyOutcome),
    /// Delivered too early to wait for in this invocation (or due after its stop time).
    TooEarly,
}

/// The delivery runs begun by the STARTs and OCCURRENCEs a batch fired, to queue for
/// planning, and the run events their transactions wrote to the outbox, to publish.
#[derive(Default)]
struct RunWork {
    jobs: Vec<PlanJob>,
    events: Vec<StoredEvent>,
}

type StartedRuns = Mutex<RunWork>;

/// The messages of a batch, sorted by what happens to them.
#[derive(Default)]
struct Sorting {
    failed: BTreeSet<String>,
    refused: BTreeSet<String>,
    early: BTreeSet<String>,
    receives: BTreeMap<String, u32>,
    receipts: BTreeMap<String, String>,
    bodies: BTreeMap<String, String>,
}

impl<P: TimerStore + TimersQueue + RunPlanning + Publish + Outbox> Executor<'_, P> {
    /// Handles one SQS batch; the response lists the messages to redeliver. No timer due
    /// after `stop_at` is started.
    pub async fn run(&self, event: SqsEvent, stop_at: Option<Timestamp>) -> SqsBatchResponse {
        let mut sorting = Sorting::default();
        let mut work: Vec<(String, DueTimer)> = Vec::new();
        let open_until = self.ports.refusing_until(self.clock.now()).await;
        let mut unidentified = false;
        for record in event.records {
            let Some(message_id) = record.message_id.filter(|id| !id.is_empty()) else {
                tracing::error!(
                    code = "MESSAGE_WITHOUT_ID",
                    "SQS record without a message id: the whole batch is retried"
                );
                unidentified = true;
                continue;
            };
            if let Some(handle) = record.receipt_handle {
                sorting.receipts.insert(message_id.clone(), handle);
            }
            let receive_count = record
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|count| count.parse().ok())
                .unwrap_or(1);
            sorting.receives.insert(message_id.clone(), receive_count);
            if open_until.is_some() {
                sorting.refused.insert(message_id);
                continue;
            }
            let body = record.body.unwrap_or_default();
            match TimerMessage::parse(&body) {
                Ok(message) => {
                    work.extend(message.timers.into_iter().map(|t| (message_id.clone(), t)));
                    sorting.bodies.insert(message_id, body);
                }
                Err(error) => {
                    if !self
                        .dead_letter(&message_id, &body, &error.to_string())
                        .await
                    {
                        sorting.failed.insert(message_id);
                    }
                }
            }
        }

        let applied = AtomicUsize::new(0);
        let started = StartedRuns::default();
        let results = futures_util::future::join_all(
            work.iter()
                .map(|(_, timer)| self.handle_timer(timer, stop_at, &applied, &started)),
        )
        .await;
        let (events, message_of_event) = self.sort_results(work, results, &mut sorting).await;

        emit_metrics(self.settings.log_format, &events);
        let report = publish_and_clear(self.ports, self.ports, &events).await;
        for (event_id, _) in &report.failed {
            if let Some(message_id) = message_of_event.get(event_id) {
                sorting.failed.insert(message_id.clone());
            }
        }
        self.start_runs(
            started
                .into_inner()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
        .await;

        self.put_back_refused(&sorting, open_until).await;
        let Sorting {
            mut failed,
            refused,
            mut early,
            ..
        } = sorting;
        early.retain(|id| !failed.contains(id) && !refused.contains(id));
        self.retry_early(&early, &sorting.receipts, &sorting.receives)
            .await;
        failed.extend(early);
        failed.extend(refused);
        let mut response = SqsBatchResponse::default();
        if unidentified {
            // Lambda retries the whole batch when an identifier is empty: the one way to
            // keep a record it cannot name from being deleted as done.
            response.add_failure(String::new());
        }
        for message_id in failed {
            response.add_failure(message_id);
        }
        response
    }

    /// Sorts each timer's result into events to publish and messages to fail, requeue or
    /// dead-letter; returns the events and the message each came from.
    async fn sort_results(
        &self,
        work: Vec<(String, DueTimer)>,
        results: Vec<(Vec<LifecycleEvent>, Result<Handled, StoreError>)>,
        sorting: &mut Sorting,
    ) -> (Vec<LifecycleEvent>, BTreeMap<String, String>) {
        let mut events: Vec<LifecycleEvent> = Vec::new();
        let mut message_of_event: BTreeMap<String, String> = BTreeMap::new();
        let mut requeue: Vec<(String, DueTimer)> = Vec::new();
        let mut mismatched: BTreeMap<String, String> = BTreeMap::new();
        for ((message_id, timer), (earlier, result)) in work.into_iter().zip(results) {
            // Earlier timers of the campaign this one caught up: their events go with its
            // message.
            for event in earlier {
                log_fired(&event, Some(&timer));
                message_of_event.insert(event.event_id.clone(), message_id.clone());
                events.push(event);
            }
            match result {
                Ok(Handled::Applied(ApplyOutcome::Applied(event))) => {
                    log_fired(&event, None);
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
                    sorting.early.insert(message_id);
                }
                Ok(Handled::Applied(ApplyOutcome::Mismatch { reason })) => {
                    mismatched.insert(message_id, reason);
                }
                Ok(Handled::Applied(ApplyOutcome::Occurred(applied))) => {
                    tracing::info!(
                        timer = %timer.timer_id,
                        handled = applied.handled,
                        started = applied.started.len(),
                        next_due = ?applied.send_next.as_ref().map(|next| next.due_at),
                        "occurrences of the series handled"
                    );
                    // The next occurrence soon (or still behind now): sent like an early timer;
                    // so is the RUN_CLOSE of a run started, when its window is short.
                    if let Some(next) = applied.send_next {
                        requeue.push((message_id.clone(), next));
                    }
                    if let Some(close) = applied.send_close {
                        requeue.push((message_id, close));
                    }
                }
                Ok(Handled::Applied(ApplyOutcome::RunClosed(closed))) => {
                    tracing::info!(
                        timer = %timer.timer_id,
                        run = ?timer.run_id,
                        started = ?closed.started,
                        "run window closed"
                    );
                    if let Some(next) = closed.send_next {
                        requeue.push((message_id, next));
                    }
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
                        sorting.refused.insert(message_id);
                    } else {
                        sorting.failed.insert(message_id);
                    }
                }
            }
        }
        for (message_id, reason) in mismatched {
            let body = sorting.bodies.get(&message_id).cloned().unwrap_or_default();
            if !self.dead_letter(&message_id, &body, &reason).await {
                sorting.failed.insert(message_id);
            }
        }
        if !requeue.is_empty() {
            let timers: Vec<DueTimer> = requeue.iter().map(|(_, t)| t.clone()).collect();
            if let Err(error) = self.ports.send(&plan_messages(&timers)).await {
                tracing::error!(error = %error, "early timers not re-queued; their messages are retried");
                sorting.failed.extend(requeue.into_iter().map(|(id, _)| id));
            }
        }
        (events, message_of_event)
    }

    /// Publishes the run events the batch's STARTs and OCCURRENCEs wrote (`CampaignRunStarted`
    /// of each run begun, `CampaignRunMissed`/`Skipped` of occurrences not run; their outbox
    /// records are cleared) and queues the runs begun for planning. Failures are logged: the
    /// sweeper republishes the events and re-queues a run whose planning never began.
    async fn start_runs(&self, work: RunWork) {
        let RunWork { jobs, events } = work;
        if !events.is_empty() {
            let report = publish_and_clear(self.ports, self.ports, &events).await;
            if !report.failed.is_empty() {
                tracing::warn!(
                    unpublished = report.failed.len(),
                    "run events not published now; the outbox relay publishes them later"
                );
            }
        }
        if jobs.is_empty() {
            return;
        }
        match self.ports.queue_runs(&jobs).await {
            Ok(true) => {
                for job in &jobs {
                    tracing::info!(campaign = %job.campaign_id, run = %job.run_id, "delivery run started: queued for planning");
                }
            }
            Ok(false) => tracing::error!(
                runs = jobs.len(),
                code = "NO_PLANNING_QUEUE",
                "delivery runs started but PLANNING_QUEUE_URL is not set: nothing plans them"
            ),
            Err(error) => tracing::error!(
                runs = jobs.len(),
                error = %error,
                "delivery runs not queued for planning now; the sweeper re-queues them"
            ),
        }
    }

    /// Waits for `timer`'s due millisecond and applies it; `applied` counts the batch's
    /// commits, `started` collects the delivery runs begun. Also returns the events of the
    /// earlier timers of its campaign it caught up.
    async fn handle_timer(
        &self,
        timer: &DueTimer,
        stop_at: Option<Timestamp>,
        applied: &AtomicUsize,
        started: &StartedRuns,
    ) -> (Vec<LifecycleEvent>, Result<Handled, StoreError>) {
        let wait = timer.due_at.millis_since(self.clock.now());
        let past_deadline = stop_at.is_some_and(|stop| timer.due_at > stop);
        if wait > self.settings.max_early_wait_ms || past_deadline {
            return (Vec::new(), Ok(Handled::TooEarly));
        }
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
        if applied.load(Ordering::SeqCst) > 0 {
            lifecycle_adapters::crash::point("executor.mid_batch");
        }
        let mut outcome = match self.apply(timer, started).await {
            Ok(outcome) => outcome,
            Err(error) => return (Vec::new(), Err(error)),
        };
        let mut earlier = Vec::new();
        if matches!(outcome, ApplyOutcome::Early { .. }) {
            let (events, retried) = self.catch_up(timer, stop_at, started).await;
            earlier = events;
            if let Some(retried) = retried {
                outcome = retried;
            }
        }
        if matches!(
            outcome,
            ApplyOutcome::Applied(_) | ApplyOutcome::Occurred(_) | ApplyOutcome::RunClosed(_)
        ) {
            applied.fetch_add(1, Ordering::SeqCst);
            lifecycle_adapters::crash::point("executor.after_transaction");
        }
        (earlier, Ok(Handled::Applied(outcome)))
    }

    /// Fires `timer` now; a START that began a delivery run adds the run to `started`. So
    /// does a START fired before whose event is still in the outbox: the executor that fired
    /// it died before publishing, so most likely before queuing its run too (a run queued
    /// twice is planned once).
    async fn apply(
        &self,
        timer: &DueTimer,
        started: &StartedRuns,
    ) -> Result<ApplyOutcome, StoreError> {
        let fired_at = self.clock.now();
        let outcome = self.ports.apply_timer(timer, fired_at).await?;
        if let ApplyOutcome::Occurred(applied) = &outcome {
            let mut work = started
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work.events.extend(applied.events.iter().cloned());
            work.jobs.extend(applied.started.iter().map(|run| PlanJob {
                campaign_id: timer.campaign_id.clone(),
                run_id: run.clone(),
            }));
            if applied.handled == 0 {
                // Handled before by an executor that died before queuing its run: announce
                // and queue it now.
                for run in &applied.started {
                    let event = RunEvent::started(&timer.campaign_id, run, fired_at);
                    work.events
                        .push(StoredEvent::run(&timer.campaign_id, &event, fired_at));
                }
            }
            return Ok(outcome);
        }
        if let ApplyOutcome::RunClosed(closed) = &outcome {
            let mut work = started
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work.events.extend(closed.events.iter().cloned());
            work.jobs.extend(closed.started.iter().map(|run| PlanJob {
                campaign_id: timer.campaign_id.clone(),
                run_id: run.clone(),
            }));
            return Ok(outcome);
        }
        let begun = match &outcome {
            ApplyOutcome::Applied(event)
            | ApplyOutcome::AlreadyDone {
                unpublished: Some(event),
            } => Some(event),
            _ => None,
        };
        if let (Some(event), Some(run_id)) = (begun, &timer.run_id) {
            let job = PlanJob {
                campaign_id: timer.campaign_id.clone(),
                run_id: run_id.clone(),
            };
            let started_event = RunEvent::started(&job.campaign_id, &job.run_id, event.fired_at);
            let mut work = started
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work.events.push(StoredEvent::run(
                &job.campaign_id,
                &started_event,
                event.fired_at,
            ));
            work.jobs.push(job);
        }
        Ok(outcome)
    }

    /// `timer` is early for its campaign. If earlier timers of the campaign are PENDING and
    /// overdue by more than `catch_up_after_ms`, nobody is firing them now: their message
    /// died with an executor (it comes back only after the queue's visibility timeout) or
    /// their direct send was lost. Fires them here, in due order, each with the usual
    /// transaction (so racing their own delivery or the sweeper applies nothing twice), then
    /// `timer` again. Returns the events of the earlier timers and the new outcome of `timer`
    /// (`None`: nothing to catch up, or an earlier timer could not be fired: `timer` stays
    /// early and is retried after its backoff). Errors are logged, never raised: the timer
    /// is simply retried. An OCCURRENCE does not wait for its campaign's START at all: any
    /// PENDING timer of the campaign due at or before it and due now is fired first, and the
    /// occurrence is tried again even when there was none left (its START just committed).
    async fn catch_up(
        &self,
        timer: &DueTimer,
        stop_at: Option<Timestamp>,
        started: &StartedRuns,
    ) -> (Vec<LifecycleEvent>, Option<ApplyOutcome>) {
        let mut events = Vec::new();
        let pending = match self.ports.pending_timers(&timer.campaign_id).await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(timer = %timer.timer_id, error = %error, "campaign not read; the early timer is retried later");
                return (events, None);
            }
        };
        let now = self.clock.now();
        // An occurrence due with its campaign's START (the series starts with the campaign)
        // does not wait for that START's own message: it fires it first.
        let occurrence = timer.effect == lifecycle_domain::TimerEffect::Occur;
        let overdue: Vec<&DueTimer> = pending
            .iter()
            .filter(|t| {
                let earlier = t.due_at < timer.due_at || (occurrence && t.due_at == timer.due_at);
                let abandoned = now.millis_since(t.due_at) > self.settings.catch_up_after_ms
                    || (occurrence && t.due_at <= now);
                t.kind != timer.kind && earlier && abandoned
            })
            .collect();
        if overdue.is_empty() && !occurrence {
            return (events, None);
        }
        // An occurrence finding nothing to catch up raced its START, which committed between
        // the two reads: it is tried again below.
        for earlier in &overdue {
            if stop_at.is_some_and(|stop| self.clock.now() >= stop) {
                return (events, None);
            }
            match self.apply(earlier, started).await {
                Ok(ApplyOutcome::Applied(event)) => events.push(event),
                Ok(ApplyOutcome::AlreadyDone { unpublished }) => events.extend(unpublished),
                Ok(ApplyOutcome::Occurred(_) | ApplyOutcome::RunClosed(_)) => {}
                Ok(ApplyOutcome::Obsolete { reason }) => {
                    tracing::info!(timer = %earlier.timer_id, reason, "earlier timer CANCELLED while catching up");
                }
                Ok(ApplyOutcome::Early { reason } | ApplyOutcome::Mismatch { reason }) => {
                    tracing::info!(timer = %earlier.timer_id, reason, "earlier timer cannot be caught up now");
                    return (events, None);
                }
                Err(error) => {
                    tracing::warn!(timer = %earlier.timer_id, error = %error, "earlier timer not caught up; retried later");
                    return (events, None);
                }
            }
        }
        tracing::info!(
            timer = %timer.timer_id,
            caught_up = overdue.len(),
            "campaign caught up: overdue earlier timers fired first"
        );
        match self.apply(timer, started).await {
            Ok(outcome) => (events, Some(outcome)),
            Err(error) => {
                tracing::warn!(timer = %timer.timer_id, error = %error, "timer not applied after catching up; retried later");
                (events, None)
            }
        }
    }

    /// Malformed input: no retry can fix it, so it goes straight to the DLQ with its error
    /// attributes (`errorCode` `BAD_TIMER_MESSAGE`, …) and the message completes. Returns `false` if
    /// that was not possible (no DLQ, or the send failed): the message is then retried and
    /// dead-lettered by the queue's redrive policy.
    async fn dead_letter(&self, message_id: &str, body: &str, problem: &str) -> bool {
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
        match self
            .ports
            .dead_letter(body, &class, problem, self.clock.now())
            .await
        {
            Ok(sent) => sent,
            Err(error) => {
                tracing::warn!(message_id, error = %error, "not dead-lettered now; the queue's redrive policy will");
                false
            }
        }
    }

    /// Messages with a timer that is early for its campaign (its predecessor has not fired
    /// yet, usually because that one is being retried, and no catch-up could fire it) come back after a capped exponential
    /// backoff with full jitter on their receive count — 1 s + up to 1, 2, 4 … 30 s —
    /// instead of the queue's visibility timeout.
    async fn retry_early(
        &self,
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
        if let Err(error) = self.ports.delay_redelivery(&delays).await {
            tracing::warn!(error = %error, "visibility not changed; the messages come back after the queue's visibility timeout");
        }
    }

    /// The fallback of an open store breaker: the refused messages stay on the queue,
    /// invisible until the breaker lets calls through again (plus jitter, so instances do
    /// not return together) — not retried at once, and not moved towards the DLQ faster than
    /// one receive per open period. If a message still reaches its `maxReceiveCount`, its
    /// timers are PENDING in the table and the sweeper fires them.
    async fn put_back_refused(&self, sorting: &Sorting, open_until: Option<Timestamp>) {
        if sorting.refused.is_empty() {
            return;
        }
        let now = self.clock.now();
        let until = open_until.unwrap_or(now.plus_millis(REFUSED_RETRY_MS));
        let seconds = (until.millis_since(now).max(0)
            + lifecycle_domain::jitter::millis(5_000) as i64)
            / 1000
            + 1;
        let delays: Vec<(String, i32)> = sorting
            .refused
            .iter()
            .filter_map(|id| Some((sorting.receipts.get(id)?.clone(), seconds as i32)))
            .collect();
        tracing::warn!(
            messages = sorting.refused.len(),
            back_in_s = seconds,
            code = resilience::CIRCUIT_OPEN.code,
            "DynamoDB circuit breaker open: messages put back on the queue"
        );
        if let Err(error) = self.ports.delay_redelivery(&delays).await {
            tracing::warn!(error = %error, "visibility not changed; the messages come back after the queue's visibility timeout");
        }
    }
}

/// Lag (dueAt → commit) of the timers this batch fired, and their count, as EMF metrics.
fn emit_metrics(format: LogFormat, fired: &[LifecycleEvent]) {
    let lags: Vec<f64> = fired
        .iter()
        .filter_map(|e| e.due_at.map(|due| e.fired_at.millis_since(due) as f64))
        .collect();
    metrics::emit(
        format,
        "timer-executor",
        &[],
        &[
            Metric {
                def: &TIMER_LAG_MS,
                values: lags,
            },
            Metric::one(&TIMERS_FIRED, fired.len() as f64),
        ],
    );
}

/// One readable line per fired timer; `caught_up_by` names the later timer that fired it
/// while catching its campaign up.
fn log_fired(event: &LifecycleEvent, caught_up_by: Option<&DueTimer>) {
    tracing::info!(
        campaign = %event.campaign_id,
        from = %event.from,
        to = %event.to,
        lag_ms = event.due_at.map(|due| event.fired_at.millis_since(due)),
        caught_up_by = caught_up_by.map(|by| by.kind.to_string()),
        "{} {} -> {}{}",
        event.event_type.as_str(),
        event.from,
        event.to,
        if caught_up_by.is_some() { " (caught up)" } else { "" },
    );
}
