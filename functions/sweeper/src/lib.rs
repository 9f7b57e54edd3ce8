//! The sweeper: finds and repairs what the normal timer path left behind, in steps (a startup
//! recovery pass, run on a schedule instead of at startup, because a serverless service never
//! "starts"):
//!
//! 1. `stuck_timers` — RUNNING timers whose lease expired go back to PENDING, or FAILED with
//!    an alert once out of attempts ([`steps::stuck`]);
//! 2. `missed_timers` — PENDING timers past due by more than the grace are fired late or
//!    cancelled by the misfire rules ([`steps::missed`]);
//! 3. `campaign_states` — campaigns whose status disagrees with the clock are moved, with an
//!    audit record and their event ([`steps::states`]);
//! 4. `outbox` — events and alerts nobody cleared are published again ([`steps::outbox`]);
//! 5. `orphans` — overdue timers whose campaign is gone are cancelled ([`steps::orphans`]);
//! 6. `stalled_runs` — delivery runs that stopped moving are queued again (planning, or their
//!    unfinished batches unless the deliveries queue is behind) or completed ([`steps::runs`]);
//! 7. `broken_series` — recurring series whose occurrence timer is lost ([`steps::series`]);
//!
//! and first of all, without the lease (so that it also runs while an OPEN `dynamodb` breaker
//! refuses the lease), `consumers` — SQS consumers paused while their dependency's breaker is
//! OPEN, resumed once it passes calls again, never over an operator's pause
//! ([`steps::consumers`]).
//!
//! Every write is conditional, so a sweep that overlaps the executor, another sweep or its
//! own crash applies nothing twice; a run lease keeps scheduled sweeps from overlapping
//! anyway. The report is returned, logged and stored for 30 days.

mod handler;
pub mod ports;
#[cfg(test)]
mod step_tests;
pub mod steps;

use std::collections::BTreeMap;

use lifecycle_adapters::config::SweepConfig;
use lifecycle_adapters::relay::publish_alerts;
use lifecycle_adapters::services::Services;
use lifecycle_domain::recovery::{
    RecoveryReport, RecoveryTotals, STUCK_RECOVERY_MS, StepReport, SweepStep,
};
use lifecycle_domain::{Alert, Clock, SystemClock, Timestamp};
use lifecycle_telemetry::LogFormat;
use lifecycle_telemetry::catalogue::{
    CAMPAIGNS_FIXED, DISPATCHER_STALLED, EVENTS_REPUBLISHED, MetricDef, RECOVERY_DURATION_MS,
    RECOVERY_RUNS, RUNS_REPAIRED, SERIES_REPAIRED, STUCK_TIMER_RECOVERY_MS, TIMERS_CANCELLED,
    TIMERS_FAILED, TIMERS_RECOVERED,
};
use lifecycle_telemetry::metrics::{self, Metric};
use serde::Deserialize;

pub use handler::{DEADLINE_MARGIN_MS, SweepError, handle};

use crate::ports::SweepPorts;

/// What a manual invocation asks for; an EventBridge scheduled event means a full, real
/// sweep. Unknown fields are refused (a typo such as `dry_run` must not run a real sweep).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SweepRequest {
    /// Report what would be done; write nothing but the report.
    #[serde(default)]
    pub dry_run: bool,
    /// Steps to run (default: all), always in run order.
    #[serde(default)]
    pub steps: Option<Vec<SweepStep>>,
}

impl SweepRequest {
    /// Reads a request from an invocation payload: `{"dryRun": …, "steps": […]}`, or an
    /// EventBridge scheduled event (`"source": "aws.events"` with a `detail-type`: a full
    /// sweep). Unknown fields and step names fail with what is expected.
    pub fn from_event(payload: &serde_json::Value) -> Result<Self, String> {
        if payload.get("source").and_then(|s| s.as_str()) == Some("aws.events")
            && payload.get("detail-type").is_some()
        {
            return Ok(Self::default());
        }
        serde_json::from_value(payload.clone()).map_err(|e| {
            format!(
                "bad sweep request ({e}); expected {{\"dryRun\": bool, \"steps\": [{}]}}",
                SweepStep::ALL
                    .iter()
                    .map(|s| format!("{:?}", step_name(*s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    fn runs(&self, step: SweepStep) -> bool {
        self.steps
            .as_ref()
            .is_none_or(|steps| steps.contains(&step))
    }
}

/// The wire name of a step, e.g. `missed_timers`.
pub fn step_name(step: SweepStep) -> String {
    serde_json::to_value(step)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// One sweep's context, handed to every step: its ports, settings and clock.
pub struct Sweep<'a, P> {
    /// The store, bus and outbox the sweep works through.
    pub ports: &'a P,
    /// The sweep's settings.
    pub config: SweepConfig,
    /// The time the sweep goes by.
    pub clock: &'a dyn Clock,
    /// When the sweep started.
    pub now: Timestamp,
    /// Unique per sweep: the lease owner and the audit actor.
    pub run_id: String,
    pub dry_run: bool,
    /// Stop taking on items after this (the Lambda deadline minus a margin).
    pub stop_at: Option<Timestamp>,
}

impl<P: SweepPorts> Sweep<'_, P> {
    /// Whether the invocation is close to its deadline: stop taking on work.
    pub fn out_of_time(&self) -> bool {
        self.stop_at.is_some_and(|stop| self.clock.now() >= stop)
    }

    /// `sweeper/<runId>`: who made a change.
    pub fn actor(&self) -> String {
        format!("sweeper/{}", self.run_id)
    }
}

/// Runs the requested steps at `now` and returns the report (also logged and stored): the
/// invocation's wiring around [`run`] (heartbeat and failure patterns first, metrics and
/// pattern alerts last).
pub async fn sweep(
    services: &Services,
    request: &SweepRequest,
    now: Timestamp,
    stop_at: Option<Timestamp>,
) -> RecoveryReport {
    services.begin_invocation("sweeper", now).await;
    let config = services.sweep_config();
    tracing::info!(
        config_version = services.runtime.current().version,
        misfire_window_secs = config.misfire_window_secs,
        grace_secs = config.grace_secs,
        "sweep settings"
    );
    let sweep = Sweep {
        ports: services,
        config,
        clock: &SystemClock,
        now,
        run_id: uuid::Uuid::new_v4().to_string(),
        dry_run: request.dry_run,
        stop_at,
    };
    let report = run(&sweep, request).await;
    emit_metrics(services.config.log_format, &report);
    services.end_invocation().await;
    report
}

/// One sweep through its ports: takes the run lease, detects a dispatcher crash, runs the
/// requested steps (renewing the lease after each), stores and logs the report.
pub async fn run<P: SweepPorts>(sweep: &Sweep<'_, P>, request: &SweepRequest) -> RecoveryReport {
    let now = sweep.now;
    let mut report = RecoveryReport {
        run_id: sweep.run_id.clone(),
        started_at: now,
        finished_at: now,
        dry_run: request.dry_run,
        was_crash: false,
        dispatcher_recovered: false,
        crash_evidence: None,
        steps: Vec::new(),
        consumers: Vec::new(),
        totals: RecoveryTotals::default(),
        errors: Vec::new(),
        success: true,
    };
    // `consumers` runs first and needs no lease: its writes are conditional and go straight
    // to DynamoDB, so it pauses the consumers while an OPEN `dynamodb` breaker refuses the
    // lease and every other step.
    if request.runs(SweepStep::Consumers) {
        let started = sweep.clock.now();
        let mut step_report = StepReport::new(SweepStep::Consumers);
        report.consumers = steps::consumers::run(sweep, &mut step_report).await;
        step_report.duration_ms = sweep.clock.now().millis_since(started);
        report.steps.push(step_report);
    }
    let lease_secs = sweep.config.lease_secs;
    let leased = sweep.dry_run || hold_lease(sweep, lease_secs, &mut report.errors).await;
    if !leased {
        report.success = false;
        report.finished_at = sweep.clock.now();
        log_report(&report);
        return report;
    }

    detect_crash(sweep, &mut report).await;
    for step in SweepStep::ALL {
        if !request.runs(step) || step == SweepStep::Consumers {
            continue;
        }
        let started = sweep.clock.now();
        let mut step_report = StepReport::new(step);
        match step {
            SweepStep::StuckTimers => steps::stuck::run(sweep, &mut step_report).await,
            SweepStep::MissedTimers => steps::missed::run(sweep, &mut step_report).await,
            SweepStep::CampaignStates => steps::states::run(sweep, &mut step_report).await,
            SweepStep::Outbox => steps::outbox::run(sweep, &mut step_report).await,
            SweepStep::Orphans => steps::orphans::run(sweep, &mut step_report).await,
            SweepStep::StalledRuns => steps::runs::run(sweep, &mut step_report).await,
            SweepStep::BrokenSeries => steps::series::run(sweep, &mut step_report).await,
            SweepStep::Consumers => {} // Ran before the lease.
        }
        step_report.duration_ms = sweep.clock.now().millis_since(started);
        tracing::info!(
            step = step_name(step),
            duration_ms = step_report.duration_ms,
            counts = ?step_report.counts,
            errors = step_report.errors.len(),
            "sweep step {} done",
            step_name(step)
        );
        report.steps.push(step_report);
        lifecycle_adapters::crash::point("sweeper.between_steps");
        if !sweep.dry_run && !hold_lease(sweep, lease_secs, &mut report.errors).await {
            break;
        }
    }
    let lease_errors = std::mem::take(&mut report.errors);
    report.summarise();
    report.errors.splice(0..0, lease_errors);
    report.success = report.errors.is_empty();
    report.finished_at = sweep.clock.now();

    if let Err(error) = sweep.ports.save_report(&report).await {
        tracing::error!(error = %error, "recovery report not stored");
    }
    if !sweep.dry_run
        && let Err(error) = sweep.ports.release_sweep(&sweep.run_id).await
    {
        tracing::warn!(error = %error, "sweep lease not released; it runs out by itself");
    }
    log_report(&report);
    report
}

/// The report as CloudWatch metrics (EMF): runs, duration, outcomes, the stuck timers' mean
/// time to recovery, recovered timers by kind.
fn emit_metrics(format: LogFormat, report: &RecoveryReport) {
    let count = |def: &'static MetricDef, value: u64| Metric::one(def, value as f64);
    let outcome = if report.success { "success" } else { "failure" };
    metrics::emit(
        format,
        "sweeper",
        &[("Outcome", outcome)],
        &[count(&RECOVERY_RUNS, 1)],
    );
    metrics::emit(
        format,
        "sweeper",
        &[],
        &[
            Metric::one(
                &RECOVERY_DURATION_MS,
                report.finished_at.millis_since(report.started_at) as f64,
            ),
            count(&TIMERS_CANCELLED, report.totals.timers_cancelled),
            count(&TIMERS_FAILED, report.totals.timers_failed),
            count(&CAMPAIGNS_FIXED, report.totals.campaigns_fixed),
            count(&EVENTS_REPUBLISHED, report.totals.events_republished),
            count(&RUNS_REPAIRED, report.totals.runs_repaired),
            count(&SERIES_REPAIRED, report.totals.series_repaired),
            count(&DISPATCHER_STALLED, u64::from(report.was_crash)),
            Metric {
                def: &STUCK_TIMER_RECOVERY_MS,
                values: stuck_recovery_ms(report).into_iter().collect(),
            },
        ],
    );
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    for step in &report.steps {
        for (name, value) in &step.counts {
            if let Some(kind) = name.strip_prefix(steps::RECOVERED_PREFIX) {
                *by_kind.entry(kind).or_default() += value;
            }
        }
    }
    for (kind, value) in by_kind {
        metrics::emit(
            format,
            "sweeper",
            &[("TimerKind", kind)],
            &[count(&TIMERS_RECOVERED, value)],
        );
    }
}

/// The mean time from lease expiry to requeue of the stuck timers this sweep took back, if it
/// took any back.
fn stuck_recovery_ms(report: &RecoveryReport) -> Option<f64> {
    let stuck = report
        .steps
        .iter()
        .find(|step| step.step == SweepStep::StuckTimers)?;
    let requeued = stuck.get("requeued");
    (requeued > 0).then(|| stuck.get(STUCK_RECOVERY_MS) as f64 / requeued as f64)
}

/// The report error of a sweep that found the lease held by another (not a failure).
pub const LEASE_HELD: &str = "another sweep holds the sweep lease; stopped";

/// Takes or renews the sweep lease for `LEASE_SECONDS` (renewed after every step, so a sweep
/// that dies blocks the next one for at most that long); `false`, with the reason in
/// `errors`, if another sweep holds it.
async fn hold_lease<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    lease_secs: u32,
    errors: &mut Vec<String>,
) -> bool {
    let now = sweep.clock.now();
    let until = now.plus_millis(i64::from(lease_secs) * 1000);
    match sweep.ports.claim_sweep(&sweep.run_id, now, until).await {
        Ok(true) => true,
        Ok(false) => {
            errors.push(LEASE_HELD.into());
            false
        }
        Err(error) => {
            errors.push(format!("sweep lease: {error}"));
            false
        }
    }
}

/// The function whose stall the sweeper watches for.
const DISPATCHER: &str = "timer-dispatcher";

/// The dispatcher's pulse is its heartbeat and its watermarks' save time: both older than
/// the stall threshold means it stopped (crashed, throttled, disabled) and timers may have
/// been missed. Raises one `DispatcherStalled` alert per outage, and marks the outage (a stall
/// marker beside the heartbeats, holding its last sign of life) so that the first sweep that
/// finds the dispatcher beating again resolves it ([`resolve_stall`]).
async fn detect_crash<P: SweepPorts>(sweep: &Sweep<'_, P>, report: &mut RecoveryReport) {
    let store = sweep.ports;
    let stall_ms = i64::from(sweep.config.dispatcher_stall_secs) * 1000;
    let watermarks = store.load_watermarks().await;
    let heartbeats = store.heartbeats_and_stalls().await;
    let (watermarks, (heartbeats, stalls)) = match (watermarks, heartbeats) {
        (Ok(w), Ok(h)) => (w, h),
        (Err(error), _) | (_, Err(error)) => {
            report.errors.push(format!("crash detection: {error}"));
            return;
        }
    };
    let heartbeat = heartbeats
        .iter()
        .find(|h| h.function == DISPATCHER)
        .map(|h| h.last_seen);
    let Some(last_seen) = heartbeat.into_iter().chain(watermarks.saved_at).max() else {
        return; // Never ran yet (a fresh deployment): nothing to compare.
    };
    let marked = stalls.get(DISPATCHER).copied();
    let age_ms = sweep.now.millis_since(last_seen);
    if age_ms <= stall_ms {
        if let Some(stalled_since) = marked {
            resolve_stall(sweep, report, stalled_since, last_seen).await;
        }
        return;
    }
    report.was_crash = true;
    report.crash_evidence = Some(format!(
        "dispatcher last seen {} s ago at {last_seen} (heartbeat and watermarks; threshold {} s)",
        age_ms / 1000,
        stall_ms / 1000
    ));
    tracing::warn!(
        code = "DISPATCHER_STALLED",
        age_ms,
        "crash detected: the dispatcher stopped"
    );
    if sweep.dry_run {
        return;
    }
    // The marker first: a sweep that dies between the two leaves a marker without its alert,
    // which the next sweep completes (still stalled: the alert) or resolves (a resolution
    // nobody was notified of sends nothing). The other order could leave an alert that is
    // never resolved. Written only when missing or of an earlier outage.
    if marked != Some(last_seen)
        && let Err(error) = store.record_stall(DISPATCHER, last_seen).await
    {
        report.errors.push(format!("stall marker: {error}"));
    }
    let alert = Alert::dispatcher_stalled(last_seen, age_ms / 1000, sweep.now);
    match store.raise_alert(&alert).await {
        Ok(true) => {
            publish_alerts(store, store, std::slice::from_ref(&alert)).await;
        }
        Ok(false) => {} // Raised by an earlier sweep of this outage.
        Err(error) => report.errors.push(format!("stall alert: {error}")),
    }
}

/// The dispatcher beats again (last seen at `last_seen`) after the outage marked as stalled
/// since `stalled_since`: raises the outage's resolved `DispatcherStalled` alert, then
/// removes the marker (only if it still marks this outage). The alert's id comes from the
/// marker, so a sweep that dies in between raises the same one again, once.
async fn resolve_stall<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    report: &mut RecoveryReport,
    stalled_since: Timestamp,
    last_seen: Timestamp,
) {
    let store = sweep.ports;
    let silent_s = last_seen.millis_since(stalled_since) / 1000;
    report.dispatcher_recovered = true;
    report.crash_evidence = Some(format!(
        "dispatcher recovered: last seen {} s ago at {last_seen}, silent for {silent_s} s after {stalled_since}",
        sweep.now.millis_since(last_seen) / 1000,
    ));
    tracing::info!(
        code = "DISPATCHER_RECOVERED",
        silent_s,
        stalled_since = %stalled_since,
        "the dispatcher is running again"
    );
    if sweep.dry_run {
        return;
    }
    let alert = Alert::dispatcher_recovered(stalled_since, last_seen, sweep.now);
    match store.raise_alert(&alert).await {
        Ok(true) => {
            publish_alerts(store, store, std::slice::from_ref(&alert)).await;
        }
        // Raised by a sweep that died before removing the marker; the outbox step publishes
        // it if that sweep did not.
        Ok(false) => {}
        Err(error) => {
            report.errors.push(format!("recovery alert: {error}"));
            return; // The marker stays: the next sweep raises it.
        }
    }
    match store.clear_stall(DISPATCHER, stalled_since).await {
        Ok(true) => {}
        Ok(false) => tracing::info!("stall marker changed meanwhile; left alone"),
        Err(error) => report.errors.push(format!("stall marker: {error}")),
    }
}

fn log_report(report: &RecoveryReport) {
    tracing::info!(
        run_id = report.run_id,
        dry_run = report.dry_run,
        was_crash = report.was_crash,
        dispatcher_recovered = report.dispatcher_recovered,
        success = report.success,
        timers_recovered = report.totals.timers_recovered,
        timers_cancelled = report.totals.timers_cancelled,
        timers_failed = report.totals.timers_failed,
        campaigns_fixed = report.totals.campaigns_fixed,
        events_republished = report.totals.events_republished,
        runs_repaired = report.totals.runs_repaired,
        series_repaired = report.totals.series_repaired,
        errors = ?report.errors,
        "sweep finished in {} ms",
        report.finished_at.millis_since(report.started_at)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_manual_requests_and_treats_the_schedule_as_a_full_sweep() {
        let manual: serde_json::Value =
            serde_json::from_str(r#"{"dryRun": true, "steps": ["missed_timers", "outbox"]}"#)
                .unwrap();
        let request = SweepRequest::from_event(&manual).unwrap();
        assert!(request.dry_run);
        assert!(request.runs(SweepStep::MissedTimers) && !request.runs(SweepStep::StuckTimers));

        let scheduled: serde_json::Value = serde_json::from_str(
            r#"{"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}"#,
        )
        .unwrap();
        let request = SweepRequest::from_event(&scheduled).unwrap();
        assert_eq!(request, SweepRequest::default());
        assert!(SweepStep::ALL.iter().all(|s| request.runs(*s)));
    }

    #[test]
    fn unknown_fields_are_refused_so_a_typo_never_runs_a_real_sweep() {
        for text in [
            r#"{"dry_run": true}"#,
            r#"{"dryRun": true, "step": ["outbox"]}"#,
            r#"{"detail-type": "Scheduled Event", "dryRun": true}"#,
        ] {
            let payload: serde_json::Value = serde_json::from_str(text).unwrap();
            let error = SweepRequest::from_event(&payload).unwrap_err();
            assert!(error.contains("unknown field"), "{text}: {error}");
        }
        let empty = SweepRequest::from_event(&serde_json::json!({})).unwrap();
        assert_eq!(empty, SweepRequest::default());
    }

    #[test]
    fn unknown_steps_are_a_clear_error() {
        let bad: serde_json::Value = serde_json::from_str(r#"{"steps": ["everything"]}"#).unwrap();
        let error = SweepRequest::from_event(&bad).unwrap_err();
        assert!(error.contains("\"stuck_timers\""), "{error}");
    }

    #[test]
    fn the_stuck_timers_mean_time_to_recovery_is_emitted_only_when_some_were_taken_back() {
        let mut stuck = StepReport::new(SweepStep::StuckTimers);
        let mut report = RecoveryReport {
            run_id: "r".into(),
            started_at: Timestamp::from_millis(0),
            finished_at: Timestamp::from_millis(5),
            dry_run: false,
            was_crash: false,
            dispatcher_recovered: false,
            crash_evidence: None,
            steps: vec![stuck.clone()],
            consumers: Vec::new(),
            totals: RecoveryTotals::default(),
            errors: Vec::new(),
            success: true,
        };
        assert_eq!(stuck_recovery_ms(&report), None);
        stuck.count("requeued");
        stuck.count("requeued");
        stuck.add(STUCK_RECOVERY_MS, 9_000);
        stuck.count(&format!("{}START_CAMPAIGN", steps::RECOVERED_PREFIX));
        report.steps = vec![stuck];
        assert_eq!(stuck_recovery_ms(&report), Some(4_500.0));
        // Every line the report makes passes the catalogue's check (debug builds).
        emit_metrics(LogFormat::Text, &report);
    }
}
