//! `make chaos`: the whole local service under injected faults, then proof that nothing was
//! lost or applied twice — timers and alerts alike.
//!
//! One child `local` process runs with `FAULT_INJECTION="*=<rate>:mixed"`: every AWS request
//! of every function (DynamoDB, SQS, EventBridge, SES, SNS, SSM; the breakers' own records
//! included) fails at that rate — throttled or a 500 (nothing applied), or its answer lost
//! after it *was* applied. The alert fan-out's channels fail too
//! ([`chaos_alerts`](local_stack::chaos_alerts)): Slack and the webhook are local receivers
//! answering `500`, `429` with `Retry-After` (Slack) or dropping the answer of a request they
//! took, at the same rate; email goes to SES on the emulator, SNS to a subscribed queue.
//!
//! Campaigns are created through the child's API (a refused create is retried like a client
//! would) until at least `--timers` timers are planned, due over `--spread-seconds`; the run
//! raises alerts of every severity into the alert outbox (5 each, 10 for 1,000 timers; the
//! CRITICAL and LOW ones resolved once their firing notice is decided). When every timer is due and done and the
//! fan-out has delivered what it can with the faults on (at most 60 s more), the child stops,
//! one clean sweep runs, and the invariants are checked from the store and the bus subscriber
//! queue, and every AWS call of every function against its policy in template.yaml (IAM
//! check). Then the alerts' final phase runs without faults (the periodic check, its clock
//! moved to each pending retry) and every notification decided must have reached every
//! channel its severity routes to; duplicates are counted per channel — on the webhook the
//! same `webhook-id`, on Slack, email and SNS ambiguous resends that only a lost answer may
//! explain ([`alert_check`](local_stack::alert_check)). The report adds what the resilience
//! layer did: attempts, retries, budget and breaker refusals, failures by code, faults
//! injected, breaker trips and DLQ depths, and the per-channel alert numbers.
//!
//! Options: `--timers N` (default 1000), `--rate R` (default 0.1), `--spread-seconds S`
//! (default 120). Exit status 1 if an invariant fails, an alert is missing from a channel or
//! resent without a lost answer, or a call is denied. The child log and the calls file are in
//! `.local/chaos/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use lifecycle_adapters::aws::AwsClients;
use lifecycle_adapters::services::Services;
use lifecycle_domain::{TimerStatus, Timestamp};
use lifecycle_resilience::Dependency;
use local_stack::Stack;
use local_stack::chaos_alerts::{AlertChannels, FinishedRun, RaisedAlerts, check_alerts};
use local_stack::harness::{
    Harness, free_port, percentile, post, stop_gracefully, wait_for_api, wait_recovered,
};
use local_stack::runtime::RESILIENCE_SUMMARY_PREFIX;
use serde_json::{Value, json};

/// How long the timers may take to be done after the last one is due.
const SETTLE_LIMIT: Duration = Duration::from_secs(240);
/// Waiting for events ends early when none came for this long.
const QUIET_LIMIT: Duration = Duration::from_secs(60);
/// How long the final store check may wait for the last timers.
const CONFIRM_LIMIT: Duration = Duration::from_secs(60);
/// Attempts per campaign create (the API answers 5xx when its own retries ran out).
const CREATE_ATTEMPTS: usize = 10;
/// A claim window's length. The reminder is due 1 s into it; a reminder still unfired when
/// the window ends is cancelled (the campaign is EXPIRED), so the window leaves it room.
const CLAIM_WINDOW_MS: i64 = 60_000;
/// Concurrent API clients.
const CLIENTS: usize = 4;
/// How long the run waits, once the timers are done, for the fan-out to deliver every
/// notification with the faults still on (what is left goes to the final phase).
const ALERT_SETTLE_LIMIT: Duration = Duration::from_secs(60);

struct Options {
    timers: usize,
    rate: f64,
    spread_secs: u64,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        timers: 1000,
        rate: 0.1,
        spread_secs: 120,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |_| format!("{flag}: {value:?} is not a number");
        match flag.as_str() {
            "--timers" => options.timers = value.parse::<usize>().map_err(bad)?.max(1),
            "--rate" => {
                options.rate = value
                    .parse::<f64>()
                    .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
                if !(0.0..=0.5).contains(&options.rate) {
                    return Err("--rate must be between 0 and 0.5".into());
                }
            }
            "--spread-seconds" => options.spread_secs = value.parse::<u64>().map_err(bad)?.max(1),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    lifecycle_telemetry::logging::init_stderr();
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("chaos failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<bool, String> {
    let options = parse_options()?;
    let harness = Harness::prepare("chaos").await?;
    let services = harness.services.clone();
    let rules = format!("*={}:mixed", options.rate);
    println!(
        "chaos: {} timers over {} s, FAULT_INJECTION={rules}, stack {}, child log in {}",
        options.timers,
        options.spread_secs,
        harness.stack_name,
        harness.log_dir.display()
    );
    let channels = AlertChannels::start(&harness, options.rate).await?;
    let mut child_env = vec![
        ("FAULT_INJECTION".into(), rules.clone()),
        (
            "RUST_LOG".into(),
            "warn,local=info,alert_fanout=info".into(),
        ),
        // The normal path fires every timer; the sweeper is the safety net, not a racer:
        // with the crash suite's 3 s grace and 1 s period it would correct campaigns of
        // merely slow timers, and its Queries (each walks the whole table on moto) would
        // starve the dispatcher and executor.
        ("SWEEP_GRACE_SECONDS".into(), "30".into()),
        ("LOCAL_SWEEP_SECONDS".into(), "15".into()),
        // The production ratio of tick to lookahead (60 s / 90 s), scaled down: the
        // dispatcher's 16 shard Queries each walk the whole table on moto, so a 1 s tick
        // would spend the emulator on the dispatcher instead of the timers. The alert
        // fan-out's periodic check runs on this tick too (1 minute in the template).
        ("LOCAL_SCHEDULE_SECONDS".into(), "5".into()),
        ("DISPATCH_LOOKAHEAD_SECONDS".into(), "10".into()),
        // Missed timers are sent again for two ticks, as with the template's schedule (120 s
        // for 1-minute ticks); 120 s here would send each one 24 times.
        ("DISPATCH_CATCH_UP_SPAN_SECONDS".into(), "10".into()),
    ];
    child_env.extend(channels.child_env());
    let child = harness.child(child_env)?;
    let port = free_port()?;
    let mut service = child.spawn(0, "chaos", port, None)?;
    if !wait_for_api(port, &mut service).await? {
        return Err("the local service exited before listening".into());
    }
    let raised = RaisedAlerts::raise(&services, alerts_per_severity(options.timers)).await?;

    let load = create_load(port, &options).await;
    println!(
        "created {} campaigns ({} timers planned) in {:.1} s; {} API answers were 5xx and retried, {} campaigns refused",
        load.campaigns,
        load.timers,
        load.elapsed.as_secs_f64(),
        load.api_errors,
        load.refused
    );
    // Follow progress through the bus events (reading the store would compete with the
    // service for the emulator), then confirm from the store once.
    let fired = wait_for_events(&harness.events, load.timers, load.last_due).await;
    let mut finished = BTreeSet::new();
    let done = wait_recovered(
        &services,
        load.last_due.plus_millis(1),
        &mut finished,
        CONFIRM_LIMIT,
    )
    .await?
    .is_some();
    println!(
        "{fired} timer events on the bus; every timer done: {}",
        if done { "yes" } else { "NO" }
    );
    let settling = std::time::Instant::now();
    let settled_in_run = raised.wait_settled(&services, ALERT_SETTLE_LIMIT).await?;
    println!(
        "alerts: {} raised by the run; every notification delivered with the faults on: {} (waited {:.0} s after the timers)",
        raised.all().len(),
        if settled_in_run {
            "yes"
        } else {
            "not yet (the final phase retries the rest)"
        },
        settling.elapsed().as_secs_f64()
    );
    stop_gracefully(&mut service).await;
    let child_log = harness.log_dir.join("run-000-chaos.log");
    let resilience = read_summary(&child_log);

    let (clients, stack, started, stack_name) = (
        harness.clients.clone(),
        harness.stack.clone(),
        harness.started,
        harness.stack_name.clone(),
    );
    let iam_allowed = harness.check_iam()?;
    let (report, verdict, events) = harness.finish().await?;
    let (completed, cancelled) = timer_outcomes(&services).await?;
    let lag = firing_lag(&events);
    let breakers = breaker_trips(&services).await;
    let dead_letters = dead_letter_depths(&clients, &stack).await;

    let alerts = check_alerts(FinishedRun {
        channels: &channels,
        raised: &raised,
        clients: &clients,
        stack: &stack,
        stack_name: &stack_name,
        services: &services,
        events: &events,
        resilience: &resilience,
        child_log: &child_log,
    })
    .await?;
    let mut alert_report = alerts.report;
    alert_report["settledWithFaultsOn"] = json!(settled_in_run);

    let summary = json!({
        "startedAt": started.to_rfc3339(),
        "faultInjection": rules,
        "campaigns": load.campaigns,
        "timersPlanned": load.timers,
        "timersCompleted": completed,
        "timersCancelled": cancelled,
        "apiErrorsRetried": load.api_errors,
        "campaignsRefused": load.refused,
        "createSeconds": load.elapsed.as_secs_f64(),
        "firingLagMs": lag,
        "resilience": resilience,
        "breakerTrips": breakers,
        "deadLetters": dead_letters,
        "finalSweep": {"success": report.success, "totals": report.totals},
        "invariants": verdict,
        "alerts": alert_report,
        "iamAllowed": iam_allowed,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    let ok = done
        && iam_allowed
        && load.timers >= options.timers
        && load.refused == 0
        && verdict["lostTimers"] == 0
        && verdict["duplicateTransitions"] == 0
        && verdict["missingEvents"] == 0
        && verdict["versionMismatches"] == 0
        && verdict["disagreeWithClock"] == 0
        && alerts.problems.is_empty();
    println!("chaos: {}", if ok { "PASSED" } else { "FAILED" });
    Ok(ok)
}

/// Alerts the run raises of each severity: 5, and one more per 100 timers beyond 500 (10
/// for the default 1,000), at most 20 — the alert channels' traffic grows with the run.
fn alerts_per_severity(timers: usize) -> usize {
    (timers / 100).clamp(5, 20)
}

/// What creating the load took.
struct Load {
    campaigns: usize,
    timers: usize,
    /// 5xx answers (retried).
    api_errors: usize,
    /// Campaigns the API refused (4xx): a failure of the run.
    refused: usize,
    elapsed: Duration,
    /// When the last planned timer is due (at the latest).
    last_due: Timestamp,
}

/// Creates campaigns through the API until `options.timers` timers are planned: starts
/// spread over the window (never closer than 3 s to the moment of the request), running
/// 2–5 s, a third with a 60 s claim window and a reminder (4 timers, else 2). A 5xx answer is retried like a client
/// would; a 4xx answer is a failure of the run.
async fn create_load(port: u16, options: &Options) -> Load {
    let clock = std::time::Instant::now();
    let base = Timestamp::now().plus_millis(5_000);
    let mut plans = Vec::new();
    let mut timers = 0;
    while timers < options.timers {
        let with_claim = plans.len() % 3 == 0;
        timers += if with_claim { 4 } else { 2 };
        let offset = lifecycle_domain::jitter::millis(options.spread_secs * 1000) as i64;
        let length = 2_000 + lifecycle_domain::jitter::millis(3_000) as i64;
        plans.push((plans.len(), offset, length, with_claim));
    }
    let campaigns = plans.len();
    let latest_offset = plans
        .iter()
        .map(|(_, offset, length, _)| offset + length)
        .max()
        .unwrap_or(0);
    let queue = Arc::new(Mutex::new(plans));
    let counts = Arc::new(Mutex::new((0usize, 0usize)));
    let clients = (0..CLIENTS).map(|_| {
        let (queue, counts) = (queue.clone(), counts.clone());
        tokio::spawn(async move {
            loop {
                let Some((i, offset, length, with_claim)) = queue.lock().expect("queue").pop()
                else {
                    return;
                };
                for _ in 0..CREATE_ATTEMPTS {
                    let start = base
                        .plus_millis(offset)
                        .max(Timestamp::now().plus_millis(3_000));
                    let end = start.plus_millis(length);
                    let mut body = json!({
                        "name": format!("chaos {i}"),
                        "startAt": start.to_rfc3339(),
                        "endAt": end.to_rfc3339(),
                    });
                    if with_claim {
                        body["claimUntil"] = json!(end.plus_millis(CLAIM_WINDOW_MS).to_rfc3339());
                        body["rewardReminderAt"] = json!(end.plus_millis(1_000).to_rfc3339());
                    }
                    match post(port, "/campaigns", &body.to_string()).await {
                        Ok(201) => break,
                        Ok(status) if (400..500).contains(&status) => {
                            eprintln!("chaos: campaign {i} refused with {status}");
                            counts.lock().expect("counts").1 += 1;
                            break;
                        }
                        _ => {
                            counts.lock().expect("counts").0 += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }
        })
    });
    futures_util::future::join_all(clients).await;
    let (api_errors, refused) = *counts.lock().expect("counts");
    Load {
        campaigns,
        timers,
        api_errors,
        refused,
        elapsed: clock.elapsed(),
        // Starts are pushed to at least 3 s after their request; claims end a window after.
        last_due: base
            .plus_millis(latest_offset + CLAIM_WINDOW_MS)
            .max(Timestamp::now().plus_millis(3_000 + 5_000 + CLAIM_WINDOW_MS)),
    }
}

/// Waits until `expected` lifecycle events reached the bus, or none came for
/// [`QUIET_LIMIT`] after the last timer was due, or [`SETTLE_LIMIT`] passed after it;
/// returns how many came.
async fn wait_for_events(
    events: &Mutex<BTreeMap<String, Value>>,
    expected: usize,
    last_due: Timestamp,
) -> usize {
    let count = || {
        events
            .lock()
            .expect("events")
            .values()
            .filter(|e| e["detail"]["campaignId"].is_string())
            .count()
    };
    let (mut seen, mut since) = (count(), std::time::Instant::now());
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = Timestamp::now();
        let current = count();
        if current != seen {
            (seen, since) = (current, std::time::Instant::now());
        }
        let after_due = now > last_due;
        if current >= expected
            || (after_due && since.elapsed() > QUIET_LIMIT)
            || now > last_due.plus_millis(SETTLE_LIMIT.as_millis() as i64)
        {
            return current;
        }
    }
}

/// The resilience summary the child logged when it stopped.
fn read_summary(log: &Path) -> Value {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let rest =
                &line[line.find(RESILIENCE_SUMMARY_PREFIX)? + RESILIENCE_SUMMARY_PREFIX.len()..];
            let json = &rest[..=rest.rfind('}')?];
            serde_json::from_str(json).ok()
        })
        .next_back()
        .unwrap_or(Value::Null)
}

async fn timer_outcomes(services: &Services) -> Result<(usize, usize), String> {
    let (mut completed, mut cancelled) = (0, 0);
    for campaign in local_stack::harness::all_campaigns(services).await? {
        for timer in services
            .store
            .load_partition(&campaign.id)
            .await
            .map_err(|e| e.to_string())?
            .timers
        {
            match timer.status {
                TimerStatus::Completed => completed += 1,
                TimerStatus::Cancelled => cancelled += 1,
                _ => {}
            }
        }
    }
    Ok((completed, cancelled))
}

/// Lag from due time to commit of the timers whose events reached the bus.
fn firing_lag(events: &BTreeMap<String, Value>) -> Value {
    let mut lags: Vec<i64> = events
        .values()
        .filter_map(|event| {
            let detail = &event["detail"];
            let due = Timestamp::parse_rfc3339(detail["dueAt"].as_str()?).ok()?;
            let fired = Timestamp::parse_rfc3339(detail["firedAt"].as_str()?).ok()?;
            Some(fired.millis_since(due))
        })
        .collect();
    lags.sort_unstable();
    json!({
        "timers": lags.len(),
        "p50": percentile(&lags, 50.0),
        "p99": percentile(&lags, 99.0),
        "max": lags.last().copied().unwrap_or(0),
    })
}

/// Trips and recoveries of every dependency's shared breaker.
async fn breaker_trips(services: &Services) -> Value {
    let mut trips = serde_json::Map::new();
    for dependency in Dependency::ALL {
        let record = services
            .store
            .breaker_record(dependency.as_str())
            .await
            .ok()
            .flatten();
        trips.insert(
            dependency.as_str().into(),
            match record {
                Some(r) => json!({"trips": r.trips, "recoveries": r.recoveries, "failedRecoveries": r.failed_recoveries, "openMsTotal": r.open_ms_total, "state": r.state}),
                None => json!({"trips": 0}),
            },
        );
    }
    Value::Object(trips)
}

/// Messages in each dead-letter queue of the stack.
async fn dead_letter_depths(clients: &AwsClients, stack: &Stack) -> Value {
    let mut depths = serde_json::Map::new();
    for logical in [
        "TimersDeadLetterQueue",
        "LifecycleEventsDeadLetterQueue",
        "AlertsDeadLetterQueue",
    ] {
        let Some(url) = stack.reference(logical) else {
            continue;
        };
        let count = clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .ok()
            .and_then(|o| {
                o.attributes()
                    .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
                    .and_then(|v| v.parse::<u64>().ok())
            })
            .unwrap_or(0);
        depths.insert(logical.into(), json!(count));
    }
    Value::Object(depths)
}
