//! `make crash-test DEFAULTS=1` (`--defaults`): recovery as a user sees it with the template's
//! defaults — no schedule, grace, lease or lookahead overrides, the template's executor
//! timeout and queue visibility timeout — under a load of campaigns and a few SIGKILLs.
//!
//! One child (the `local` binary, as `make local` runs it) takes campaigns through its API,
//! created one after another over [`LOAD_WINDOW`]: most due within the API's direct-send
//! window, one in four far enough ahead for the dispatcher to queue it, a third with a claim
//! window and a reminder. A client that gets no answer (the child is dying or restarting)
//! retries, as a user would, so a kill during a create can leave a campaign whose direct send
//! was lost. Due times fall on 8 s beats, so several campaigns' timers share a beat (one
//! message, one executor batch); each kill lands 150 ms before the busiest beat of the next
//! 20 s, while the executor holds that beat's messages (their whole-second delays ended
//! within the second before), so work is in flight as it always is under real load. The
//! report counts the messages the killed executor held. The child is restarted at once.
//!
//! Per campaign, the **recovery time** is from its last scheduled end (`claimUntil`, else
//! `endAt`) to its end state (the `updatedAt` of its move to CLOSED or EXPIRED). The run waits
//! for every campaign to end (at most [`END_LIMIT`] after the last scheduled end), then checks
//! the crash suite's invariants. Exit status 1 if an invariant fails or a campaign never ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use lifecycle_domain::{Campaign, Timestamp};
use local_stack::functions::Trigger;
use local_stack::harness::{
    ChildSettings, ChildSpec, Harness, all_campaigns, free_port, invariants_hold, percentile, post,
    stop_gracefully, wait_for_api,
};
use serde_json::{Value, json};
use tokio::time::Instant;

/// Campaigns are created evenly over this window.
const LOAD_WINDOW: Duration = Duration::from_secs(90);
/// Kills happen in this window after the first child listens, one per equal slot.
const KILL_WINDOW: (Duration, Duration) = (Duration::from_secs(20), Duration::from_secs(140));
/// Kills land this long before a beat: the beat's messages became visible (their delays are
/// whole seconds) and the executor holds them until their due millisecond.
const KILL_BEFORE_DUE_MS: i64 = 150;
/// A campaign not ended this long after the last scheduled end counts as never ended.
const END_LIMIT: Duration = Duration::from_secs(600);
/// The recovery the service aims at with its defaults (p95), reported next to the figures.
const TARGET_P95_MS: i64 = 30_000;

/// Options of the defaults mode.
pub(crate) struct Options {
    pub campaigns: usize,
    pub kills: usize,
    /// Store the summary in `bench/crash-results/` ([`crate::record`]).
    pub record: bool,
}

/// What the child's clients and the killer share.
struct Live {
    /// Where the current child's API listens.
    port: AtomicU16,
    /// Due times of the created campaigns' timers (where the kills aim).
    dues: Mutex<Vec<Timestamp>>,
}

/// One kill, for the report.
struct Kill {
    at: Timestamp,
    /// The due time it was aimed at, and how many timers were due then.
    aimed_at: Option<(Timestamp, usize)>,
    /// Timers queue messages the killed executor held (in flight, not deleted).
    in_flight: Option<i64>,
    restart_ms: i64,
}

/// Watches the timers queue's messages in flight (received by an executor, not yet deleted).
struct InFlight {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
}

impl InFlight {
    /// `ApproximateNumberOfMessagesNotVisible` of the timers queue.
    async fn count(&self) -> Option<i64> {
        let output = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .ok()?;
        output
            .attributes()?
            .get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)?
            .parse()
            .ok()
    }
}

/// Sleeps until `at` (at once if it passed).
async fn sleep_until(at: Timestamp) {
    let wait = at.millis_since(Timestamp::now()).max(0);
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
}

/// The due time in `(from, to]` shared by the most timers (the earliest of equals).
fn busiest_due(dues: &[Timestamp], from: Timestamp, to: Timestamp) -> Option<(Timestamp, usize)> {
    let mut counts: BTreeMap<Timestamp, usize> = BTreeMap::new();
    for due in dues.iter().filter(|due| **due > from && **due <= to) {
        *counts.entry(*due).or_default() += 1;
    }
    counts.into_iter().fold(
        None,
        |best: Option<(Timestamp, usize)>, (due, n)| match best {
            Some((_, most)) if most >= n => best,
            _ => Some((due, n)),
        },
    )
}

pub(crate) async fn run(options: Options) -> Result<bool, String> {
    let harness = Harness::prepare_with("crash-defaults", ChildSettings::TemplateDefaults).await?;
    let services = harness.services.clone();
    println!(
        "crash-test (template defaults): {} campaigns over {} s, {} SIGKILLs, stack {}, child logs in {}",
        options.campaigns,
        LOAD_WINDOW.as_secs(),
        options.kills,
        harness.stack_name,
        harness.log_dir.display()
    );
    let settings = template_settings(&harness)?;
    println!("template settings: {settings}");
    let child = harness.child(Vec::new())?;
    let port = free_port()?;
    let mut service = child.spawn(0, "service", port, None)?;
    if !wait_for_api(port, &mut service).await? {
        return Err("the local service exited before listening".into());
    }
    let started = Instant::now();
    let live = Arc::new(Live {
        port: AtomicU16::new(port),
        dues: Mutex::new(Vec::new()),
    });
    let load = tokio::spawn(create_load(live.clone(), options.campaigns, started));
    let in_flight = InFlight {
        sqs: harness.clients.sqs.clone(),
        queue_url: harness
            .stack
            .reference("TimersQueue")
            .ok_or("no TimersQueue")?
            .to_owned(),
    };
    let (mut service, kills) =
        kill_under_load(&child, service, &live, &in_flight, options.kills, started).await?;
    let (created, client_retries) = load.await.map_err(|e| e.to_string())?;
    println!(
        "load created ({created} campaigns, {client_retries} client retries); waiting for every campaign to end"
    );

    let ended = wait_all_ended(&services).await?;
    stop_gracefully(&mut service).await;
    let started_at = harness.started;
    let log_dir = harness.log_dir.clone();
    let (report, verdict, _) = harness.finish().await?;

    let campaigns = all_campaigns(&services).await?;
    let mut recoveries: Vec<(i64, &Campaign)> = campaigns
        .iter()
        .filter(|c| c.scheduled_exit(c.status).is_none())
        .map(|c| (c.updated_at.millis_since(last_end(c)), c))
        .collect();
    recoveries.sort_by_key(|(ms, _)| *ms);
    let times: Vec<i64> = recoveries.iter().map(|(ms, _)| *ms).collect();
    let not_ended = campaigns.len() - recoveries.len();
    let mut slowest = Vec::new();
    for (ms, campaign) in recoveries.iter().rev().take_while(|(ms, _)| *ms > 2_000) {
        slowest.push(describe_slow(&services, campaign, *ms).await?);
    }
    let p95 = percentile(&times, 95.0);
    let summary = json!({
        "mode": "template defaults",
        "settings": settings,
        "startedAt": started_at.to_rfc3339(),
        "campaignsCreated": created,
        "clientRetries": client_retries,
        "campaigns": campaigns.len(),
        "kills": kills.iter().map(|k| json!({
            "at": k.at.to_rfc3339(),
            "aimedAt": k.aimed_at.map(|(due, _)| due.to_rfc3339()),
            "timersDueThen": k.aimed_at.map(|(_, n)| n),
            "messagesHeld": k.in_flight,
            "restartMs": k.restart_ms,
        })).collect::<Vec<_>>(),
        "allEnded": ended,
        "notEnded": not_ended,
        "recoveryMs": {
            "p50": percentile(&times, 50.0),
            "p95": p95,
            "max": times.last().copied().unwrap_or(0),
        },
        "slowest": slowest,
        "finalSweep": {"success": report.success, "totals": report.totals},
        "invariants": verdict,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    println!(
        "recovery from the last scheduled end: p50 {:.1} s, p95 {:.1} s, max {:.1} s (target p95 ≤ {} s: {})",
        percentile(&times, 50.0) as f64 / 1000.0,
        p95 as f64 / 1000.0,
        times.last().copied().unwrap_or(0) as f64 / 1000.0,
        TARGET_P95_MS / 1000,
        if p95 <= TARGET_P95_MS {
            "met"
        } else {
            "missed"
        }
    );
    let ok = invariants_hold(&verdict) && not_ended == 0;
    let mut summary = summary;
    summary["recoveriesMs"] = json!(times);
    summary["passed"] = json!(ok);
    let saved = crate::record::save(&summary, "-defaults", ok, options.record, &log_dir)?;
    println!(
        "summary with every campaign's recovery time: {}",
        saved.display()
    );
    println!("crash-test: {}", if ok { "PASSED" } else { "FAILED" });
    Ok(ok)
}

/// The template's settings recovery depends on: the executor's timeout and its queue's
/// visibility timeout, and the schedules' periods.
fn template_settings(harness: &Harness) -> Result<Value, String> {
    let specs = local_stack::functions::functions(&harness.stack).map_err(|e| e.to_string())?;
    let mut settings = serde_json::Map::new();
    for spec in &specs {
        for trigger in &spec.triggers {
            match trigger {
                Trigger::Sqs {
                    visibility_timeout, ..
                } => {
                    settings.insert("executorTimeoutS".into(), json!(spec.timeout.as_secs()));
                    settings.insert("timersQueueVisibilityS".into(), json!(visibility_timeout));
                }
                Trigger::Schedule { period, .. } => {
                    settings.insert(format!("{}PeriodS", spec.binary), json!(period.as_secs()));
                }
                Trigger::HttpApi => {}
            }
        }
    }
    Ok(Value::Object(settings))
}

/// A campaign's last scheduled end: when its schedule puts it in its end state.
fn last_end(campaign: &Campaign) -> Timestamp {
    campaign.claim_until.unwrap_or(campaign.end_at)
}

/// Due times of the load fall on beats this far apart, so each beat has the timers of a few
/// campaigns, in one message and one executor batch: a kill in a beat hits all of them, as
/// a crash under load hits every timer in flight.
const BEAT_MS: i64 = 8_000;

/// The first beat at or after `at` (beats count from `origin`).
fn beat_after(origin: Timestamp, at: Timestamp) -> Timestamp {
    let beats = (at.millis_since(origin) + BEAT_MS - 1).div_euclid(BEAT_MS);
    origin.plus_millis(beats * BEAT_MS)
}

/// The `i`-th campaign of the load, created at `now`: its body and its timers' due times.
fn plan_campaign(i: usize, origin: Timestamp, now: Timestamp) -> (Value, Vec<Timestamp>) {
    let beats = |low: u64, spread: u64| {
        (low as i64 + lifecycle_domain::jitter::millis(spread) as i64) * BEAT_MS
    };
    let lead = if i % 4 == 3 {
        96_000 + lifecycle_domain::jitter::millis(16_000) as i64 // beyond the direct-send window: the dispatcher queues it
    } else {
        6_000 + lifecycle_domain::jitter::millis(24_000) as i64
    };
    let start = beat_after(origin, now.plus_millis(lead));
    let end = start.plus_millis(beats(1, 2));
    let mut body = json!({
        "name": format!("defaults load {i}"),
        "startAt": start.to_rfc3339(),
        "endAt": end.to_rfc3339(),
    });
    let mut dues = vec![start, end];
    if i.is_multiple_of(3) {
        let claim_until = end.plus_millis(beats(1, 1));
        let remind = end.plus_millis(BEAT_MS / 2);
        body["claimUntil"] = json!(claim_until.to_rfc3339());
        body["rewardReminderAt"] = json!(remind.to_rfc3339());
        dues.extend([remind, claim_until]);
    }
    (body, dues)
}

/// Creates `count` campaigns through the current child's API, evenly over [`LOAD_WINDOW`].
/// A request without an answer is retried (with fresh times) until one is created, as a
/// client would; returns the campaigns created and the retries.
async fn create_load(live: Arc<Live>, count: usize, started: Instant) -> (usize, usize) {
    let spacing = LOAD_WINDOW / count.max(1) as u32;
    let origin = Timestamp::from_millis((Timestamp::now().millis() / 1000 + 1) * 1000);
    let (mut created, mut retries) = (0, 0);
    for i in 0..count {
        // Anywhere in the second: a direct send's delay is whole seconds, so its message
        // becomes visible up to a second before the timer is due.
        let jitter = Duration::from_millis(lifecycle_domain::jitter::millis(999));
        tokio::time::sleep_until(started + spacing * i as u32 + jitter).await;
        loop {
            let (body, dues) = plan_campaign(i, origin, Timestamp::now());
            let port = live.port.load(Ordering::SeqCst);
            match post(port, "/campaigns", &body.to_string()).await {
                Ok(201) => {
                    live.dues.lock().expect("dues").extend(dues);
                    created += 1;
                    break;
                }
                Ok(status) if status < 500 => {
                    eprintln!("campaign {i} refused with {status}: {body}");
                    break;
                }
                _ => {
                    retries += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
    (created, retries)
}

/// SIGKILLs the child `kills` times, one in each equal slot of [`KILL_WINDOW`], each aimed
/// just before the due second of a timer of the load (so that timer is in flight), and
/// restarts it at once. Returns the last child and the kills.
async fn kill_under_load(
    spec: &ChildSpec,
    mut service: std::process::Child,
    live: &Live,
    in_flight: &InFlight,
    kills: usize,
    started: Instant,
) -> Result<(std::process::Child, Vec<Kill>), String> {
    let slot = (KILL_WINDOW.1 - KILL_WINDOW.0) / kills.max(1) as u32;
    let mut done = Vec::new();
    for k in 0..kills {
        let jitter = Duration::from_millis(lifecycle_domain::jitter::millis(
            slot.as_millis() as u64 / 2,
        ));
        tokio::time::sleep_until(started + KILL_WINDOW.0 + slot * k as u32 + jitter).await;
        let now = Timestamp::now();
        let target = busiest_due(
            &live.dues.lock().expect("dues"),
            now.plus_millis(1_000),
            now.plus_millis(20_000),
        );
        // Messages in flight before the beat's delays end (held by a dead executor since an
        // earlier kill) are not the beat's.
        let mut before = None;
        if let Some((due, _)) = target {
            sleep_until(due.plus_millis(-1_500)).await;
            before = in_flight.count().await;
            sleep_until(due.plus_millis(-KILL_BEFORE_DUE_MS)).await;
        }
        let killed_at = Timestamp::now();
        let _ = service.kill();
        let _ = service.wait();
        let died = Timestamp::now();
        let held = match (before, in_flight.count().await) {
            (Some(before), Some(after)) => Some(after - before),
            _ => None,
        };
        let port = free_port()?;
        service = spec.spawn(k + 1, "restart", port, None)?;
        if !wait_for_api(port, &mut service).await? {
            return Err("the restarted local service exited before listening".into());
        }
        live.port.store(port, Ordering::SeqCst);
        let kill = Kill {
            at: killed_at,
            aimed_at: target,
            in_flight: held,
            restart_ms: Timestamp::now().millis_since(died),
        };
        println!(
            "kill {}: SIGKILL at {killed_at}{}, {} messages held by the killed executor, restarted in {} ms",
            k + 1,
            match target {
                Some((due, timers)) => format!(", {timers} timers due at {due}"),
                None => String::new(),
            },
            held.map_or("?".to_owned(), |n| n.to_string()),
            kill.restart_ms
        );
        done.push(kill);
    }
    Ok((service, done))
}

/// Waits until every campaign is in its end state with all its timers done, or until
/// [`END_LIMIT`] after the last scheduled end; `true` if all ended.
async fn wait_all_ended(services: &lifecycle_adapters::services::Services) -> Result<bool, String> {
    let mut finished: BTreeMap<String, ()> = BTreeMap::new();
    let mut last_report = Instant::now();
    loop {
        let campaigns = all_campaigns(services).await?;
        let limit = campaigns
            .iter()
            .map(last_end)
            .max()
            .unwrap_or(Timestamp::now())
            .plus_millis(END_LIMIT.as_millis() as i64);
        let mut open = 0;
        for campaign in &campaigns {
            if finished.contains_key(campaign.id.as_str()) {
                continue;
            }
            if campaign.scheduled_exit(campaign.status).is_some() {
                open += 1;
                continue;
            }
            let partition = services
                .store
                .load_partition(&campaign.id)
                .await
                .map_err(|e| e.to_string())?;
            if partition.timers.iter().all(|t| {
                matches!(
                    t.status,
                    lifecycle_domain::TimerStatus::Completed
                        | lifecycle_domain::TimerStatus::Cancelled
                )
            }) {
                finished.insert(campaign.id.as_str().to_owned(), ());
            } else {
                open += 1;
            }
        }
        if open == 0 {
            return Ok(true);
        }
        if Timestamp::now() > limit {
            return Ok(false);
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            println!("  {open} campaigns not ended yet");
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// A slow campaign's timers: due, fired (or cancelled) and how late, for the report.
async fn describe_slow(
    services: &lifecycle_adapters::services::Services,
    campaign: &Campaign,
    recovery_ms: i64,
) -> Result<Value, String> {
    let partition = services
        .store
        .load_partition(&campaign.id)
        .await
        .map_err(|e| e.to_string())?;
    let timers: Vec<Value> = partition
        .timers
        .iter()
        .map(|t| {
            json!({
                "kind": t.kind.as_str(),
                "status": t.status.as_str(),
                "lateMs": t.fired_at.map(|at| at.millis_since(t.due_at)),
                "attempts": t.attempts,
                "cancelReason": t.cancel_reason,
                "queuedAtCreation": t.queued_at_creation,
            })
        })
        .collect();
    Ok(json!({
        "campaign": campaign.id.as_str(),
        "recoveryMs": recovery_ms,
        "status": campaign.status.as_str(),
        "audit": partition.audit.len(),
        "timers": timers,
    }))
}
