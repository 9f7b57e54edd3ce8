//! The alert fan-out's part of the chaos run (`make chaos`). The fan-out's channels are
//! real and fail too: Slack and the webhook are [`FaultyReceiver`]s failing at the chaos rate
//! (`500`, Slack's `429` with `Retry-After`, an answer dropped after the request was taken),
//! email goes to SES on the emulator and SNS to an SQS queue subscribed to the topic — both
//! faulted by the child's `FAULT_INJECTION` like every AWS call. The run raises alerts of
//! every severity itself ([`RaisedAlerts`]) and, once the timers are done, waits for the
//! fan-out to deliver them with the faults on. [`check_alerts`] then runs a final phase with
//! every fault off (the alerts not decided yet handed to the fan-out again, the periodic check
//! with its clock moved to each pending retry) and checks what every channel received
//! ([`crate::alert_check`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alert_fanout::services::FanoutServices;
use aws_lambda_events::event::sqs::SqsEvent;
use lifecycle_adapters::alerting::FanoutSettings;
use lifecycle_adapters::aws::{AwsClients, RequestCounter};
use lifecycle_adapters::config::Config;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::StoredAlertState;
use lifecycle_domain::alerting::run_alert::run_failures_alert;
use lifecycle_domain::alerting::{AlertState, Notice, Routing};
use lifecycle_domain::{Alert, AlertStatus, ManualClock, Timestamp};
use serde_json::{Value, json};

use crate::Stack;
use crate::alert_check::{Deliveries, Expected, LostAnswers, UNSETTLED_SEND_LOG};
use crate::alert_receivers::{FaultyReceiver, ReceiverKind};
use crate::harness::Harness;
use crate::local_alerts::local_alert_environment;
use crate::local_delivery::{DEFAULT_LOCAL_SENDER, LOCAL_WEBHOOK_SECRET};

/// Fast-forwarded periodic checks of the final phase, at most.
const FINAL_CHECK_ROUNDS: usize = 30;
/// How far ahead the due index is read for states still to check (beyond any retry).
const DUE_HORIZON_MS: i64 = 24 * 3_600_000;
/// The email channel's call, as the fault injector names it (`SESv2.SendEmail`).
const SEND_EMAIL: &str = ".SendEmail";
/// The SNS channel's call (`SNS.Publish`).
const PUBLISH: &str = ".Publish";

/// What [`check_alerts`] needs of the finished run.
pub struct FinishedRun<'a> {
    pub channels: &'a AlertChannels,
    pub raised: &'a RaisedAlerts,
    /// Clients without faults.
    pub clients: &'a AwsClients,
    pub stack: &'a Stack,
    pub stack_name: &'a str,
    /// Services without faults (the harness's).
    pub services: &'a Services,
    /// Every event the bus subscriber queue got (the alerts among them).
    pub events: &'a BTreeMap<String, Value>,
    /// The child's resilience summary (its injected faults).
    pub resilience: &'a Value,
    /// The child's log.
    pub child_log: &'a Path,
}

/// What [`check_alerts`] found.
pub struct AlertOutcome {
    /// The report: alerts raised and on the bus, the final phase, per-channel numbers.
    pub report: Value,
    /// Every violation (printed already); empty if the alerts passed.
    pub problems: Vec<String>,
}

/// The final phase, then the check of every channel (each problem printed, then a line per
/// channel).
pub async fn check_alerts(run: FinishedRun<'_>) -> Result<AlertOutcome, String> {
    let FinishedRun {
        channels,
        raised,
        clients,
        stack,
        stack_name,
        services,
        events,
        resilience,
        child_log,
    } = run;
    let mut alerts = raised.all();
    alerts.extend(bus_alerts(events));
    let mut seen = BTreeSet::new();
    alerts.retain(|alert| seen.insert(alert.alert_id.clone()));
    let fanout = final_fanout(clients, stack, stack_name, channels).await?;
    let final_phase = final_alert_phase(&fanout, services, &alerts, channels).await?;
    let deliveries = channels.deliveries().await?;
    let states = alert_states(services, &alerts).await?;
    let mut problems = Vec::new();
    let mut expected = raised.expected();
    for (cause, state) in &states {
        let Some(state) = state else {
            problems.push(format!("ALERT NOT DECIDED: no state for {cause}"));
            continue;
        };
        expected.extend(last_notification(state));
        if !state.pending.is_empty() {
            problems.push(format!(
                "ALERT PENDING: {cause}: {:?}",
                state.pending.keys().collect::<Vec<_>>()
            ));
        }
    }
    problems.extend(
        undecided(&alerts, &states)
            .into_iter()
            .map(|alert| format!("ALERT NOT DECIDED: {}", describe(alert))),
    );
    let lost = lost_answers(resilience, child_log);
    let mut verdict = crate::alert_check::check(&Routing::default(), &deliveries, &expected, lost);
    for (channel, operation) in [("EMAIL", SEND_EMAIL), ("SNS", PUBLISH)] {
        verdict.report[channel]["faultsInjected"] = json!(sdk_faults(resilience, operation));
    }
    problems.extend(verdict.problems);
    for problem in &problems {
        println!("{problem}");
    }
    print_channels(&verdict.report);
    Ok(AlertOutcome {
        report: json!({
            "raisedByTheRun": raised.by_severity(),
            "onTheBus": bus_alert_counts(events),
            "finalPhase": final_phase,
            "channels": verdict.report,
            "problems": problems.len(),
        }),
        problems,
    })
}

/// The alert channels of the run: Slack and the webhook as [`FaultyReceiver`]s failing at the
/// chaos rate, email to an address of this run (read back from the emulator), and SNS into
/// an SQS queue subscribed to the topic, drained as it fills.
pub struct AlertChannels {
    slack: FaultyReceiver,
    webhook: FaultyReceiver,
    email_to: String,
    sns: Arc<Mutex<Vec<String>>>,
    sns_drain: tokio::task::JoinHandle<()>,
}

impl AlertChannels {
    /// Starts the receivers (failing at `rate`) and subscribes a queue to the stack's topic.
    pub async fn start(harness: &Harness, rate: f64) -> Result<Self, String> {
        let key =
            lifecycle_domain::delivery::webhook_signature::SigningKey::parse(LOCAL_WEBHOOK_SECRET)
                .map_err(|e| e.to_string())?;
        let slack = FaultyReceiver::start(ReceiverKind::Slack, rate).await?;
        let webhook = FaultyReceiver::start(ReceiverKind::Webhook(key), rate).await?;
        let topic = harness
            .stack
            .reference("AlertTopic")
            .ok_or("no AlertTopic in the stack")?;
        let queue = subscribe_queue(
            &harness.clients,
            topic,
            &format!("{}-alert-subscriber", harness.stack_name),
        )
        .await?;
        let sns = Arc::new(Mutex::new(Vec::new()));
        let sns_drain = tokio::spawn({
            let sns = sns.clone();
            crate::subscriber::drain(harness.clients.sqs.clone(), queue, move |body| {
                sns.lock().expect("sns").push(body.to_owned())
            })
        });
        Ok(Self {
            slack,
            webhook,
            email_to: format!("ops@{}.example.org", harness.stack_name),
            sns,
            sns_drain,
        })
    }

    /// What the child's `local` reads to configure the fan-out's channels.
    pub fn child_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "ALERT_SLACK_WEBHOOK_URL".into(),
                self.slack.url().to_owned(),
            ),
            ("ALERT_WEBHOOK_URL".into(), self.webhook.url().to_owned()),
            ("LOCAL_ALERT_EMAIL_TO".into(), self.email_to.clone()),
        ]
    }

    /// The receivers fail `rate` of their requests from now on.
    fn set_rate(&self, rate: f64) {
        self.slack.set_rate(rate);
        self.webhook.set_rate(rate);
    }

    /// Everything the channels got (the SNS queue drained a last time first).
    async fn deliveries(&self) -> Result<Deliveries, String> {
        tokio::time::sleep(Duration::from_secs(3)).await;
        self.sns_drain.abort();
        Ok(Deliveries {
            webhook: self.webhook.requests(),
            slack: self.slack.requests(),
            emails: emails_to(&self.email_to).await?,
            sns: self.sns.lock().expect("sns").clone(),
        })
    }
}

/// The alerts the run raises itself, as the functions do: stored in the alert outbox, which
/// the child's sweeper publishes (through its faults) to the bus and so to the fan-out. Each
/// severity has its own causes: CRITICAL (a breaker of a made-up dependency opening, resolved
/// once its firing notice was decided), HIGH (a failure pattern), MEDIUM (a run with failed
/// recipients), LOW (a breaker probing, resolved too: neither notice goes anywhere).
pub struct RaisedAlerts {
    firing: Vec<Alert>,
    /// Resolutions to raise in all.
    resolutions: usize,
    /// Resolutions raised so far (by the background task).
    resolved: Arc<Mutex<Vec<Alert>>>,
    /// Tells the background task to stop raising resolutions.
    stop: tokio::sync::watch::Sender<bool>,
    /// The background task (taken when it is stopped).
    resolver: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl RaisedAlerts {
    /// Raises `per_severity` firing alerts of each severity now, and each resolution once its
    /// cause's firing notice was decided (a resolution decided first would resolve nothing).
    pub async fn raise(services: &Services, per_severity: usize) -> Result<Self, String> {
        let now = Timestamp::now();
        let mut firing = Vec::new();
        let mut resolutions = Vec::new();
        for i in 1..=per_severity {
            for (dependency, (from, to), back) in [
                (format!("chaos-critical-{i}"), ("CLOSED", "OPEN"), "OPEN"),
                (format!("chaos-low-{i}"), ("OPEN", "HALF_OPEN"), "HALF_OPEN"),
            ] {
                firing.push(Alert::circuit_changed(
                    &dependency,
                    (from, to),
                    1,
                    ("raised by the chaos run", None),
                    None,
                    now,
                ));
                resolutions.push(Alert::circuit_changed(
                    &dependency,
                    (back, "CLOSED"),
                    2,
                    ("resolved by the chaos run", Some(1_000)),
                    None,
                    now,
                ));
            }
            firing.push(Alert::pattern_matched(
                &format!("chaos-pattern-{i}"),
                1,
                "CHAOS",
                &format!("failure pattern chaos-pattern-{i} matched (raised by the chaos run)"),
                now,
            ));
            let run = json!({"campaignId": format!("chaos-campaign-{i}"), "runId": "run-1",
                "failed": i, "total": 10, "sent": 10 - i, "completedAt": now});
            firing.extend(run_failures_alert(&run)?);
        }
        for alert in &firing {
            services
                .store
                .raise_alert(alert)
                .await
                .map_err(|e| format!("raising {}: {e}", alert.dedup_key()))?;
        }
        let resolved = Arc::new(Mutex::new(Vec::new()));
        let count = resolutions.len();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let resolver = tokio::spawn(resolve_when_notified(
            services.clone(),
            resolutions,
            resolved.clone(),
            stopped,
        ));
        Ok(Self {
            firing,
            resolutions: count,
            resolved,
            stop,
            resolver: Mutex::new(Some(resolver)),
        })
    }

    /// Every alert raised so far.
    pub fn all(&self) -> Vec<Alert> {
        let mut all = self.firing.clone();
        all.extend(self.resolved.lock().expect("resolved").iter().cloned());
        all
    }

    /// Waits up to `limit` until every resolution is raised, every alert raised is decided and
    /// no notification is pending — or, all decided, until the next retry pending comes after
    /// `limit` — then stops raising resolutions. `true` if nothing is left.
    pub async fn wait_settled(&self, services: &Services, limit: Duration) -> Result<bool, String> {
        let end = Timestamp::now().plus_millis(limit.as_millis() as i64);
        let settled = loop {
            let all = self.all();
            let decided = all.len() == self.firing.len() + self.resolutions
                && undecided(&all, &alert_states(services, &all).await?).is_empty();
            let pending = pending_states(services).await?;
            if decided && pending.is_empty() {
                break true;
            }
            let next_retry = pending
                .iter()
                .flat_map(|s| s.pending.values().map(|p| p.retry_at))
                .min();
            if Timestamp::now() >= end || (decided && next_retry.is_some_and(|at| at > end)) {
                break false;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        };
        let _ = self.stop.send(true);
        let resolver = self.resolver.lock().expect("resolver").take();
        if let Some(resolver) = resolver {
            let _ = resolver.await;
        }
        Ok(settled)
    }

    /// The notifications the raised alerts call for: a FIRING notice of each cause, and a
    /// RESOLVED one (routed by the firing severity) of each resolved cause.
    fn expected(&self) -> Vec<Expected> {
        let mut expected: Vec<Expected> = self
            .firing
            .iter()
            .map(|alert| {
                Expected::new(
                    Notice::Firing,
                    alert.severity,
                    alert.kind,
                    &alert.subject,
                    "raised by the run".into(),
                )
            })
            .collect();
        for resolution in self.resolved.lock().expect("resolved").iter() {
            let firing = self
                .firing
                .iter()
                .find(|alert| alert.dedup_key() == resolution.dedup_key());
            if let Some(firing) = firing {
                expected.push(Expected::new(
                    Notice::Resolved,
                    firing.severity,
                    firing.kind,
                    &firing.subject,
                    "resolved by the run".into(),
                ));
            }
        }
        expected
    }

    /// Firing alerts raised, by severity.
    fn by_severity(&self) -> Value {
        let mut counts = BTreeMap::new();
        for alert in &self.firing {
            *counts.entry(alert.severity.as_str()).or_insert(0) += 1;
        }
        json!({"firing": counts, "resolutions": self.resolved.lock().expect("resolved").len()})
    }
}

/// Raises each of `resolutions` once its cause's state says the firing notice was decided,
/// until all are or `stop` turns `true`.
async fn resolve_when_notified(
    services: Services,
    mut resolutions: Vec<Alert>,
    resolved: Arc<Mutex<Vec<Alert>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    while !resolutions.is_empty() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        let mut waiting = Vec::new();
        for alert in resolutions {
            let notified = services
                .store
                .alert_state(&alert.dedup_key())
                .await
                .ok()
                .flatten()
                .is_some_and(|s| s.state.last_notice == Some(Notice::Firing));
            if notified && services.store.raise_alert(&alert).await.is_ok() {
                resolved.lock().expect("resolved").push(alert);
            } else {
                waiting.push(alert);
            }
        }
        resolutions = waiting;
    }
}

/// The alerts the bus carried (`AlertRaised` events of the subscriber queue).
fn bus_alerts(events: &BTreeMap<String, Value>) -> Vec<Alert> {
    events
        .values()
        .filter(|event| event["detail-type"] == "AlertRaised")
        .filter_map(|event| serde_json::from_value(event["detail"].clone()).ok())
        .collect()
}

/// `AlertRaised` events on the bus, by kind and severity.
fn bus_alert_counts(events: &BTreeMap<String, Value>) -> Value {
    let mut counts = BTreeMap::new();
    for alert in bus_alerts(events) {
        *counts
            .entry(format!(
                "{} {}",
                alert.kind.as_str(),
                alert.severity.as_str()
            ))
            .or_insert(0) += 1;
    }
    json!(counts)
}

/// The stored state of every cause of `alerts` (consistent reads by key).
async fn alert_states(
    services: &Services,
    alerts: &[Alert],
) -> Result<BTreeMap<String, Option<StoredAlertState>>, String> {
    let causes: BTreeSet<String> = alerts.iter().map(Alert::dedup_key).collect();
    let mut states = BTreeMap::new();
    for cause in causes {
        let state = services
            .store
            .alert_state(&cause)
            .await
            .map_err(|e| e.to_string())?;
        states.insert(cause, state);
    }
    Ok(states)
}

/// The alerts of `alerts` their cause's state does not know (not decided yet). A cause that
/// saw more alerts than a state remembers cannot tell, and is left out.
fn undecided<'a>(
    alerts: &'a [Alert],
    states: &BTreeMap<String, Option<StoredAlertState>>,
) -> Vec<&'a Alert> {
    alerts
        .iter()
        .filter(|alert| match states.get(&alert.dedup_key()) {
            Some(Some(stored)) => {
                let ids = &stored.state.recent_alert_ids;
                ids.len() < lifecycle_domain::alerting::noise::REMEMBERED_ALERTS
                    && !ids.contains(&alert.alert_id)
            }
            _ => true,
        })
        .collect()
}

/// `alert` in a line of the report.
fn describe(alert: &Alert) -> String {
    let status = match alert.status {
        AlertStatus::Resolved => "RESOLVED",
        AlertStatus::Firing => "FIRING",
    };
    format!("{} {status} ({})", alert.dedup_key(), alert.alert_id)
}

/// The states in the due index (`ALERTCHECK#000`, read to a day ahead) with notifications
/// still to send.
async fn pending_states(services: &Services) -> Result<Vec<StoredAlertState>, String> {
    let due = services
        .store
        .due_alert_states(Timestamp::now().plus_millis(DUE_HORIZON_MS), 100)
        .await
        .map_err(|e| e.to_string())?;
    Ok(due.into_iter().filter(|s| !s.pending.is_empty()).collect())
}

/// The last notification `state` records, if any.
fn last_notification(state: &StoredAlertState) -> Option<Expected> {
    let AlertState {
        last_notice,
        severity,
        kind,
        subject,
        key,
        ..
    } = &state.state;
    Some(Expected::new(
        (*last_notice)?,
        *severity,
        *kind,
        subject,
        format!("last notification of {key} in the store"),
    ))
}

/// The fan-out as the child's: the template's function with the local alert environment,
/// over clients without faults.
async fn final_fanout(
    clients: &AwsClients,
    stack: &Stack,
    stack_name: &str,
    channels: &AlertChannels,
) -> Result<FanoutServices, String> {
    let mut spec = crate::functions::functions(stack)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|spec| spec.binary == "alert-fanout")
        .ok_or("no alert-fanout function in template.yaml")?;
    let variables: BTreeMap<String, String> = channels.child_env().into_iter().collect();
    spec.environment.extend(
        local_alert_environment(clients, stack_name, DEFAULT_LOCAL_SENDER, |name| {
            variables.get(name).cloned()
        })
        .await?,
    );
    let environment = crate::runtime::local_environment(&spec);
    let config = Config::from_map(&environment).map_err(|e| e.to_string())?;
    let settings = FanoutSettings::from_lookup(|name| environment.get(name).cloned())
        .map_err(|e| e.to_string())?;
    Ok(FanoutServices::new(
        Services::new(config, clients, RequestCounter::new()),
        settings,
        clients,
    ))
}

/// The final phase, with every fault off (the child stopped, the receivers healthy): the
/// alerts not decided yet are handed to the fan-out again, as the queue would redeliver them
/// (a message handed back waits out the queue's 360 s visibility timeout), then the periodic
/// check runs with its clock moved to the latest retry still pending, until nothing is.
async fn final_alert_phase(
    fanout: &FanoutServices,
    services: &Services,
    alerts: &[Alert],
    channels: &AlertChannels,
) -> Result<Value, String> {
    channels.set_rate(0.0);
    let states = alert_states(services, alerts).await?;
    let (mut redelivered, mut errors) = (0, Vec::new());
    for alert in undecided(alerts, &states) {
        println!(
            "final phase: alert {} not decided yet: handed to the fan-out again",
            describe(alert)
        );
        let body = json!({"version": "0", "source": "campaign-lifecycle",
            "detail-type": "AlertRaised", "detail": alert});
        let event: SqsEvent = serde_json::from_value(json!({"Records": [
            {"messageId": format!("final-{redelivered}"), "body": body.to_string()}]}))
        .map_err(|e| e.to_string())?;
        if !alert_fanout::handle_queue(fanout, event)
            .await
            .batch_item_failures
            .is_empty()
        {
            errors.push(format!("alert {} not decided", alert.alert_id));
        }
        redelivered += 1;
    }
    let clock = ManualClock::at(Timestamp::now());
    let (mut rounds, mut delivered) = (0, 0);
    let mut left = pending_states(services).await?;
    let pending_at_start: usize = left.iter().map(|s| s.pending.len()).sum();
    while !left.is_empty() && rounds < FINAL_CHECK_ROUNDS {
        let latest = left
            .iter()
            .flat_map(|s| s.pending.values().map(|p| p.retry_at))
            .max()
            .unwrap_or_else(Timestamp::now);
        clock.set(latest.plus_millis(1).max(Timestamp::now()));
        let report = alert_fanout::check::check(fanout, &clock).await;
        delivered += report.delivered;
        errors.extend(report.errors);
        rounds += 1;
        left = pending_states(services).await?;
    }
    Ok(json!({
        "alertsRedelivered": redelivered,
        "pendingAtStart": pending_at_start,
        "checks": rounds,
        "delivered": delivered,
        "errors": errors,
        "pendingLeft": left.iter().map(|s| s.pending.len()).sum::<usize>(),
    }))
}

/// The faults the child's injector put on `operation` (`.SendEmail`), by fault.
fn sdk_faults(resilience: &Value, operation: &str) -> BTreeMap<String, u64> {
    let mut faults = BTreeMap::new();
    for (key, count) in resilience["faultsInjected"]
        .as_object()
        .into_iter()
        .flatten()
    {
        if let Some((call, fault)) = key.split_once(':')
            && call.ends_with(operation)
        {
            *faults.entry(fault.to_owned()).or_default() += count.as_u64().unwrap_or(0);
        }
    }
    faults
}

/// What may explain a resend: the lost answers (`timeout` faults) of `SendEmail` and
/// `Publish` the child's injector counted, and the sends the child delivered but could not
/// mark delivered.
fn lost_answers(resilience: &Value, log: &Path) -> LostAnswers {
    let lost = |operation| {
        sdk_faults(resilience, operation)
            .get("timeout")
            .copied()
            .unwrap_or(0)
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    LostAnswers {
        email: lost(SEND_EMAIL),
        sns: lost(PUBLISH),
        unsettled: text.matches(UNSETTLED_SEND_LOG).count() as u64,
    }
}

/// One line per channel of the alert check.
fn print_channels(report: &Value) {
    for channel in ["EMAIL", "SLACK", "WEBHOOK", "SNS"] {
        let numbers = &report[channel];
        println!(
            "alerts on {channel:<7}: {} notifications, {} delivered, {} missing; {} received, {} duplicates; faults injected {}",
            numbers["notifications"],
            numbers["delivered"],
            numbers["missing"],
            numbers["received"],
            numbers["duplicates"],
            numbers["faultsInjected"],
        );
    }
}

/// Subscribes a new SQS queue `<name>` to the topic `topic_arn`; returns the queue's URL.
async fn subscribe_queue(
    clients: &AwsClients,
    topic_arn: &str,
    name: &str,
) -> Result<String, String> {
    let url = clients
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| {
            format!(
                "queue {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?
        .queue_url
        .ok_or("no queue URL")?;
    let arn = clients
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "queue {name}: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .ok_or("no queue ARN")?;
    clients
        .sns
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(arn)
        .send()
        .await
        .map_err(|e| {
            format!(
                "subscribe {name}: {}",
                aws_sdk_sns::error::DisplayErrorContext(e)
            )
        })?;
    Ok(url)
}

/// The emails the emulator recorded as sent to `address`.
async fn emails_to(address: &str) -> Result<Vec<Value>, String> {
    Ok(crate::delivery_record::sent_email()
        .await?
        .into_iter()
        .filter(|message| {
            message["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|to| to.iter().any(|a| a == address))
        })
        .collect())
}
