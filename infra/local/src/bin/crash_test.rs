//! `make crash-test`: kills the local service for real, again and again, under a steady load
//! of campaigns, then proves nothing was lost or applied twice.
//!
//! Each run starts the `local` binary (the whole service) as a child process and creates
//! campaigns through its HTTP API, with timers due a few seconds ahead (some sent by the API,
//! some by the dispatcher). Then the child dies: either a named crash point aborts it
//! (`CRASH_AT`, cycling through [`shared::crash::POINTS`]) or it gets a SIGKILL at a random
//! moment. A clean child is started and the run measures the **recovery time**: from the
//! death to the moment every timer due before it is COMPLETED or CANCELLED.
//!
//! After the last run one more sweep runs and the invariants are checked from the store and
//! from the SQS queue subscribed to the bus:
//! - every timer due before the end is COMPLETED or CANCELLED with a reason;
//! - each campaign transition happened exactly once (one `eventId` per move, and the
//!   campaign's version counts exactly its moves);
//! - every transition's event was published at least once;
//! - no campaign's status disagrees with the clock.
//!
//! Options: `--runs N` (default 6: every crash point once; more alternate crash points with
//! random SIGKILLs), `--campaigns N` per run (default 4). Child logs go to
//! `.local/crash-test/`. Exit status 1 if an invariant fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use local_stack::{Stack, aws_env, provision_template, subscriber};
use serde_json::{Value, json};
use shared::Timestamp;
use shared::aws::{AwsClients, RequestCounter};
use shared::config::Config;
use shared::domain::{Campaign, CampaignStatus, TimerStatus};
use shared::services::Services;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Settings the children run with: fast schedules and short thresholds, so a run takes
/// seconds (the production defaults are minutes).
const CHILD_ENV: [(&str, &str); 8] = [
    ("LOCAL_SCHEDULE_SECONDS", "1"),
    ("DISPATCH_LOOKAHEAD_SECONDS", "2"),
    ("SWEEP_GRACE_SECONDS", "3"),
    ("LEASE_SECONDS", "5"),
    ("OUTBOX_REPUBLISH_AFTER_SECONDS", "5"),
    ("DISPATCHER_STALL_SECONDS", "60"),
    ("LOCAL_SQS_POLLERS", "2"),
    ("RUST_LOG", "warn"),
];
/// The grace above, in milliseconds (the clock check allows for it).
const GRACE_MS: i64 = 3_000;
/// A run fails if recovery takes longer than this.
const RECOVERY_LIMIT: Duration = Duration::from_secs(90);

struct Options {
    runs: usize,
    campaigns: usize,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        runs: shared::crash::POINTS.len(),
        campaigns: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number: usize = value
            .parse()
            .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
        match flag.as_str() {
            "--runs" => options.runs = number.max(1),
            "--campaigns" => options.campaigns = number.max(1),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::init_stderr();
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("crash-test failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How a run's child died.
#[derive(Debug, Clone)]
enum Death {
    /// `CRASH_AT` armed this point (`reached`: the child aborted there).
    CrashPoint { point: &'static str, reached: bool },
    /// SIGKILL after this many milliseconds.
    Kill { after_ms: u64 },
}

async fn run() -> Result<bool, String> {
    let options = parse_options()?;
    let started = Timestamp::now();
    let stack_name = format!("crash-{}", started.millis());
    let sdk_config = aws_env::sdk_config().await;
    let clients = AwsClients::from_sdk_config(&sdk_config, &RequestCounter::new(), None);
    let stack = provision_template(&clients, &stack_name, &aws_env::region())
        .await
        .map_err(|e| format!("{e} (is the emulator running? `make emulator`)"))?;
    let services = inspection_services(&stack, &clients)?;
    let local = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("local");
    if !local.exists() {
        return Err(format!(
            "{} not built (`cargo build -p local-stack --bins`)",
            local.display()
        ));
    }
    let log_dir = PathBuf::from(".local/crash-test").join(&stack_name);
    std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
    println!(
        "crash-test: {} runs, {} campaigns each, stack {stack_name}, child logs in {}",
        options.runs,
        options.campaigns,
        log_dir.display()
    );

    let events = Arc::new(Mutex::new(BTreeMap::<String, Value>::new()));
    let drain = tokio::spawn({
        let events = events.clone();
        subscriber::drain(
            clients.sqs.clone(),
            stack
                .reference("LifecycleEventsQueue")
                .unwrap_or_default()
                .to_owned(),
            move |body| record_event(&events, body),
        )
    });
    let child = ChildSpec {
        binary: local,
        stack_name: stack_name.clone(),
        log_dir,
    };

    let mut recoveries = Vec::new();
    let mut finished = BTreeSet::new();
    let mut deaths = Vec::new();
    for run in 0..options.runs {
        let points = shared::crash::POINTS;
        // Every point once, then points (in turn) and SIGKILLs alternate.
        let armed = if run < points.len() {
            Some(points[run])
        } else if run % 2 == 0 {
            Some(points[(run / 2) % points.len()])
        } else {
            None
        };
        let port = free_port()?;
        // A timer lost before this run (due 5 s ago, behind the dispatcher's watermark): only
        // the sweeper can fire it, so the sweeper always has a claim to make.
        store_missed_campaign(&services).await?;
        let mut crashing = child.spawn(run, "crash", port, armed)?;
        let listening = wait_for_api(port, &mut crashing).await?;
        let kill_after_ms = 300 + shared::jitter::millis(5_000);
        let load = create_campaigns(port, options.campaigns);
        let death = match armed {
            // Work left from an earlier run (a timer due later than that run's death) reached
            // the point before the API was up.
            Some(point) if !listening => Death::CrashPoint {
                point,
                reached: true,
            },
            Some(point) => {
                let _ = load.await;
                let reached = wait_exit(&mut crashing, Duration::from_secs(20)).await;
                if !reached {
                    let _ = crashing.kill();
                    let _ = crashing.wait();
                }
                Death::CrashPoint { point, reached }
            }
            None => {
                let kill_at = tokio::time::Instant::now() + Duration::from_millis(kill_after_ms);
                let _ = tokio::time::timeout_at(kill_at, load).await;
                tokio::time::sleep_until(kill_at).await;
                let _ = crashing.kill();
                let _ = crashing.wait();
                Death::Kill {
                    after_ms: kill_after_ms,
                }
            }
        };
        let died_at = Timestamp::now();
        let mut clean = child.spawn(run, "recover", free_port()?, None)?;
        let recovered = wait_recovered(&services, died_at, &mut finished).await?;
        stop_gracefully(&mut clean).await;
        let recovery_ms = recovered.map(|at| at.millis_since(died_at));
        println!(
            "run {:>3}: {:<48} recovery {}",
            run + 1,
            describe(&death),
            recovery_ms.map_or("NOT RECOVERED".to_owned(), |ms| format!("{ms} ms"))
        );
        recoveries.push(recovery_ms);
        deaths.push(death);
    }

    // Let everything come due, sweep once more, then check.
    let last_due = latest_due(&services).await?;
    let mut clean = child.spawn(options.runs, "final", free_port()?, None)?;
    while Timestamp::now() < last_due.plus_millis(GRACE_MS + 2_000) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = wait_recovered(&services, Timestamp::now(), &mut finished).await?;
    stop_gracefully(&mut clean).await;
    let report = sweeper::sweep(
        &services,
        &sweeper::SweepRequest::default(),
        Timestamp::now(),
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await; // the last events reach the queue
    drain.abort();

    let events = events.lock().expect("events").clone();
    let verdict = check_invariants(&services, &events).await?;
    let mut times: Vec<i64> = recoveries.iter().flatten().copied().collect();
    times.sort_unstable();
    let exercised: BTreeSet<&str> = deaths
        .iter()
        .filter_map(|d| match d {
            Death::CrashPoint {
                point,
                reached: true,
            } => Some(*point),
            _ => None,
        })
        .collect();
    let summary = json!({
        "startedAt": started.to_rfc3339(),
        "runs": options.runs,
        "campaignsPerRun": options.campaigns,
        "crashPointsExercised": exercised,
        "crashPointsNotReached": deaths.iter().filter(|d| matches!(d, Death::CrashPoint { reached: false, .. })).count(),
        "sigkills": deaths.iter().filter(|d| matches!(d, Death::Kill { .. })).count(),
        "notRecovered": recoveries.iter().filter(|r| r.is_none()).count(),
        "recoveryMs": {
            "p50": percentile(&times, 50.0),
            "p95": percentile(&times, 95.0),
            "max": times.last().copied().unwrap_or(0),
        },
        "finalSweep": {"success": report.success, "totals": report.totals},
        "invariants": verdict,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    let ok = verdict["lostTimers"] == 0
        && verdict["duplicateTransitions"] == 0
        && verdict["missingEvents"] == 0
        && verdict["versionMismatches"] == 0
        && verdict["disagreeWithClock"] == 0
        && summary["notRecovered"] == 0;
    println!("crash-test: {}", if ok { "PASSED" } else { "FAILED" });
    Ok(ok)
}

fn inspection_services(stack: &Stack, clients: &AwsClients) -> Result<Services, String> {
    let specs = local_stack::functions::functions(stack).map_err(|e| e.to_string())?;
    let mut environment = specs
        .iter()
        .find(|s| s.binary == "sweeper")
        .ok_or("no sweeper in template.yaml")?
        .environment
        .clone();
    for (name, value) in CHILD_ENV {
        environment.insert(name.to_owned(), value.to_owned());
    }
    environment.insert("LOG_FORMAT".into(), "text".into());
    let config = Config::from_map(&environment).map_err(|e| e.to_string())?;
    Ok(Services::new(config, clients, RequestCounter::new()))
}

/// How to start a child: the `local` binary on the suite's stack.
struct ChildSpec {
    binary: PathBuf,
    stack_name: String,
    log_dir: PathBuf,
}

impl ChildSpec {
    fn spawn(
        &self,
        run: usize,
        role: &str,
        port: u16,
        crash_at: Option<&str>,
    ) -> Result<Child, String> {
        let log = std::fs::File::create(self.log_dir.join(format!("run-{run:03}-{role}.log")))
            .map_err(|e| e.to_string())?;
        let mut command = Command::new(&self.binary);
        command
            .env("LOCAL_STACK_NAME", &self.stack_name)
            .env("LOCAL_API_ADDR", format!("127.0.0.1:{port}"))
            .env_remove("CRASH_AT")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        for (name, value) in CHILD_ENV {
            command.env(name, value);
        }
        if let Some(point) = crash_at {
            command.env("CRASH_AT", point);
        }
        command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))
    }
}

/// A TCP port nobody listens on now (the OS picks it).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Waits until the child's API listens (`true`) or the child exits first (`false`).
async fn wait_for_api(port: u16, child: &mut Child) -> Result<bool, String> {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(true);
        }
        if let Ok(Some(_)) = child.try_wait() {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("the local service did not listen on port {port}"))
}

/// `true` if the child exited by itself within `limit`.
async fn wait_exit(child: &mut Child, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// SIGINT (Ctrl-C: the runtime finishes its work in hand), then SIGKILL if it hangs.
async fn stop_gracefully(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    if !wait_exit(child, Duration::from_secs(15)).await {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// Stores a campaign (no API, so no direct send) whose START was due 5 s ago.
async fn store_missed_campaign(services: &Services) -> Result<(), String> {
    let now = Timestamp::now();
    let campaign = Campaign {
        id: shared::domain::CampaignId::generate(),
        name: "crash load (missed)".into(),
        status: CampaignStatus::Scheduled,
        start_at: now.plus_millis(-5_000),
        end_at: now.plus_millis(4_000),
        claim_until: None,
        reward_reminder_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let timers = shared::domain::timer_plan::plan_timers(&campaign);
    services
        .store
        .create_campaign(&campaign, &timers)
        .await
        .map_err(|e| e.to_string())
}

/// Creates `count` campaigns through the child's API, due a few whole seconds ahead (so
/// several share a timer message and an executor batch): a third with a claim window and a
/// reminder. Stops at the first failure (the child may be dying).
async fn create_campaigns(port: u16, count: usize) {
    let base = Timestamp::from_millis((Timestamp::now().millis() / 1000 + 1) * 1000);
    for i in 0..count {
        let start = base.plus_millis(1_000 * (1 + shared::jitter::millis(5) as i64));
        // The first two end 400 ms apart in the same second, beyond the API's direct-send
        // window: the dispatcher sends both CLOSE timers in one message, so one executor batch
        // applies one while the other still waits (the mid-batch crash point).
        let end = if i < 2 {
            base.plus_millis(12_000 + 400 * i as i64)
        } else {
            start.plus_millis(1_000 * (2 + shared::jitter::millis(3) as i64))
        };
        let mut body = json!({
            "name": format!("crash load {i}"),
            "startAt": start.to_rfc3339(),
            "endAt": end.to_rfc3339(),
        });
        if i % 3 == 0 {
            body["claimUntil"] = json!(end.plus_millis(3_000).to_rfc3339());
            body["rewardReminderAt"] = json!(end.plus_millis(1_000).to_rfc3339());
        }
        if post(port, "/campaigns", &body.to_string()).await.is_err() {
            return;
        }
    }
}

/// A minimal HTTP/1.1 POST; returns the status code.
async fn post(port: u16, path: &str, body: &str) -> Result<u16, String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "no HTTP status".to_owned())
}

/// Every campaign of the stack (one ByStatus query per status, all pages).
async fn all_campaigns(services: &Services) -> Result<Vec<Campaign>, String> {
    let mut campaigns = Vec::new();
    for status in CampaignStatus::ALL {
        let mut page = None;
        loop {
            let result = services
                .store
                .list_campaigns(status, 100, page.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            campaigns.extend(result.campaigns);
            match result.next {
                Some(next) => page = Some(next),
                None => break,
            }
        }
    }
    Ok(campaigns)
}

async fn latest_due(services: &Services) -> Result<Timestamp, String> {
    let mut latest = Timestamp::now();
    for campaign in all_campaigns(services).await? {
        for timer in services
            .store
            .load_partition(&campaign.id)
            .await
            .map_err(|e| e.to_string())?
            .timers
        {
            latest = latest.max(timer.due_at);
        }
    }
    Ok(latest)
}

/// Waits until every timer due before `died_at` is COMPLETED or CANCELLED; returns when, or
/// `None` after the recovery limit.
/// `None` after the recovery limit. Campaigns whose timers are all done are remembered in
/// `finished` and not read again (the table grows with every run).
async fn wait_recovered(
    services: &Services,
    died_at: Timestamp,
    finished: &mut BTreeSet<String>,
) -> Result<Option<Timestamp>, String> {
    let deadline = tokio::time::Instant::now() + RECOVERY_LIMIT;
    let watched: Vec<Campaign> = all_campaigns(services)
        .await?
        .into_iter()
        .filter(|c| !finished.contains(c.id.as_str()))
        .collect();
    loop {
        let mut open = 0;
        for campaign in &watched {
            if finished.contains(campaign.id.as_str()) {
                continue;
            }
            let partition = services
                .store
                .load_partition(&campaign.id)
                .await
                .map_err(|e| e.to_string())?;
            open += partition
                .timers
                .iter()
                .filter(|t| t.due_at < died_at && !is_done(t.status))
                .count();
            if partition.timers.iter().all(|t| is_done(t.status)) {
                finished.insert(campaign.id.as_str().to_owned());
            }
        }
        if open == 0 {
            return Ok(Some(Timestamp::now()));
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn is_done(status: TimerStatus) -> bool {
    matches!(status, TimerStatus::Completed | TimerStatus::Cancelled)
}

/// Records a bus event delivered to the subscriber queue, by `eventId` (or `alertId`).
fn record_event(events: &Mutex<BTreeMap<String, Value>>, body: &str) {
    if let Ok(event) = serde_json::from_str::<Value>(body) {
        let id = event["detail"]["eventId"]
            .as_str()
            .or(event["detail"]["alertId"].as_str())
            .unwrap_or_default()
            .to_owned();
        events.lock().expect("events").insert(id, event);
    }
}

/// The invariants, as counts of violations (details printed).
async fn check_invariants(
    services: &Services,
    events: &BTreeMap<String, Value>,
) -> Result<Value, String> {
    let now = Timestamp::now();
    let mut moves_seen: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    for (id, event) in events {
        let detail = &event["detail"];
        if let (Some(campaign), Some(from), Some(to)) = (
            detail["campaignId"].as_str(),
            detail["from"].as_str(),
            detail["to"].as_str(),
        ) && from != to
        {
            moves_seen
                .entry((campaign.to_owned(), from.to_owned(), to.to_owned()))
                .or_default()
                .insert(id.clone());
        }
    }
    let campaigns = all_campaigns(services).await?;
    let (mut lost, mut duplicates, mut missing, mut versions, mut clock) = (0, 0, 0, 0, 0);
    for campaign in &campaigns {
        let partition = services
            .store
            .load_partition(&campaign.id)
            .await
            .map_err(|e| e.to_string())?;
        for timer in partition.timers.iter().filter(|t| t.due_at < now) {
            let fine = timer.status == TimerStatus::Completed
                || (timer.status == TimerStatus::Cancelled && timer.cancel_reason.is_some());
            if !fine {
                lost += 1;
                println!("LOST: {timer:?}");
            }
        }
        let moves: Vec<_> = moves_seen
            .iter()
            .filter(|((id, _, _), _)| id == campaign.id.as_str())
            .collect();
        for ((_, from, to), ids) in &moves {
            if ids.len() > 1 {
                duplicates += 1;
                println!("DUPLICATE: {} {from} -> {to}: {ids:?}", campaign.id);
            }
        }
        let path = lifecycle_path(campaign);
        for pair in path.windows(2) {
            let key = (
                campaign.id.as_str().to_owned(),
                pair[0].as_str().to_owned(),
                pair[1].as_str().to_owned(),
            );
            if !moves_seen.contains_key(&key) {
                missing += 1;
                println!("MISSING EVENT: {} {} -> {}", campaign.id, pair[0], pair[1]);
            }
        }
        if campaign.version != path.len() as u64 {
            versions += 1;
            println!(
                "VERSION: {} is v{} after {} moves",
                campaign.id,
                campaign.version,
                path.len() - 1
            );
        }
        if !campaign.overdue_moves(now, GRACE_MS).is_empty() {
            clock += 1;
            println!("CLOCK: {} is {} at {now}", campaign.id, campaign.status);
        }
    }
    Ok(json!({
        "campaigns": campaigns.len(),
        "eventsOnBus": events.len(),
        "lostTimers": lost,
        "duplicateTransitions": duplicates,
        "missingEvents": missing,
        "versionMismatches": versions,
        "disagreeWithClock": clock,
    }))
}

/// The statuses a campaign went through to reach its current one (the suite never cancels,
/// so the path follows the schedule).
fn lifecycle_path(campaign: &Campaign) -> Vec<CampaignStatus> {
    let mut path = vec![CampaignStatus::Scheduled];
    let mut status = CampaignStatus::Scheduled;
    while status != campaign.status {
        match campaign.scheduled_exit(status) {
            Some((next, _)) => {
                path.push(next);
                status = next;
            }
            None => break,
        }
    }
    path
}

fn describe(death: &Death) -> String {
    match death {
        Death::CrashPoint {
            point,
            reached: true,
        } => format!("crash point {point}"),
        Death::CrashPoint {
            point,
            reached: false,
        } => format!("crash point {point} (not reached; SIGKILL)"),
        Death::Kill { after_ms } => format!("SIGKILL after {after_ms} ms"),
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
