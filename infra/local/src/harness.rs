//! What the crash suite and the chaos run share: starting and stopping the `local` binary as
//! a child process, driving its API, following the store, and checking the invariants
//! (every due timer done, each transition once, its event on the bus, the clock respected)
//! and IAM (every AWS call each function made, as the children appended them to
//! `IAM_CALLS_FILE`, allowed by its policy in template.yaml).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lifecycle_adapters::aws::fault_injection::FAULT_INJECTION_VARIABLE;
use lifecycle_adapters::aws::{AwsClients, RequestCounter};
use lifecycle_adapters::config::{Config, TUNABLE_VARIABLES};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery::RecoveryReport;
use lifecycle_domain::{Campaign, CampaignStatus, TimerStatus};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Stack;
use crate::function_calls::{IAM_CALLS_FILE_VARIABLE, read_calls_file};
use crate::iam::IamCheck;
use crate::local_alerts::LOCAL_ALERT_VARIABLES;

/// Settings the children run with by default ([`ChildSettings::Fast`]): fast schedules and
/// short thresholds, so a run takes seconds (the production defaults are minutes).
const CHILD_ENV: [(&str, &str); 9] = [
    ("LOCAL_SCHEDULE_SECONDS", "1"),
    ("DISPATCH_LOOKAHEAD_SECONDS", "2"),
    // Two ticks, as the template's 120 s are two of its 1-minute ticks.
    ("DISPATCH_CATCH_UP_SPAN_SECONDS", "2"),
    ("SWEEP_GRACE_SECONDS", "3"),
    ("LEASE_SECONDS", "5"),
    ("OUTBOX_REPUBLISH_AFTER_SECONDS", "5"),
    ("DISPATCHER_STALL_SECONDS", "60"),
    ("LOCAL_SQS_POLLERS", "2"),
    ("RUST_LOG", "warn"),
];

/// The grace above, in milliseconds (the clock check allows for it).
pub const GRACE_MS: i64 = 3_000;

/// [`ChildSettings::TemplateDefaults`]: nothing overridden but the log level.
const DEFAULTS_ENV: [(&str, &str); 1] = [("RUST_LOG", "info")];

/// Variables of the `local` binary that change how it runs; a child never inherits them (nor
/// the alert channels' [`LOCAL_ALERT_VARIABLES`]) from the suite's own environment, only from
/// its settings. (Without `LOCAL_EMAIL_SENDER` a child
/// verifies [`DEFAULT_LOCAL_SENDER`](crate::local_delivery::DEFAULT_LOCAL_SENDER), the sender
/// the crash suite's email campaigns use.)
const LOCAL_VARIABLES: [&str; 5] = [
    "LOCAL_SCHEDULE_SECONDS",
    "LOCAL_SWEEP_SECONDS",
    "LOCAL_SQS_POLLERS",
    "LOCAL_EMAIL_SENDER",
    "CRASH_AT",
];

/// How the children of a suite are configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildSettings {
    /// Schedules every second, a 2 s lookahead, a 3 s grace, 5 s leases: recovery in seconds,
    /// so many runs fit in a few minutes.
    Fast,
    /// The template's defaults, exactly as `make local` runs them: schedules on their template
    /// periods, the template's grace, leases, timeouts and visibility timeout.
    TemplateDefaults,
}

impl ChildSettings {
    fn env(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ChildSettings::Fast => &CHILD_ENV,
            ChildSettings::TemplateDefaults => &DEFAULTS_ENV,
        }
    }
}

fn inspection_services(
    stack: &Stack,
    clients: &AwsClients,
    settings: ChildSettings,
) -> Result<Services, String> {
    let specs = crate::functions::functions(stack).map_err(|e| e.to_string())?;
    let mut environment = specs
        .iter()
        .find(|s| s.binary == "sweeper")
        .ok_or("no sweeper in template.yaml")?
        .environment
        .clone();
    for (name, value) in settings.env() {
        environment.insert((*name).to_owned(), (*value).to_owned());
    }
    environment.insert("LOG_FORMAT".into(), "text".into());
    let config = Config::from_map(&environment).map_err(|e| e.to_string())?;
    Ok(Services::new(config, clients, RequestCounter::new()))
}

/// How to start a child: the `local` binary on the suite's stack.
pub struct ChildSpec {
    pub binary: PathBuf,
    pub stack_name: String,
    pub log_dir: PathBuf,
    pub settings: ChildSettings,
    /// Variables set on top of the settings' (e.g. `FAULT_INJECTION`).
    pub extra_env: Vec<(String, String)>,
    /// Where every child appends its functions' calls (`IAM_CALLS_FILE`).
    pub iam_calls_file: PathBuf,
}

impl ChildSpec {
    pub fn spawn(
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
            // Its own Lambda API port: the default (3001) may be `make local`'s, or a
            // previous child's that is still closing.
            .env("LOCAL_LAMBDA_ADDR", format!("127.0.0.1:{}", free_port()?))
            .env(IAM_CALLS_FILE_VARIABLE, &self.iam_calls_file)
            .env_remove("CRASH_AT")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        for name in LOCAL_VARIABLES
            .iter()
            .chain(&TUNABLE_VARIABLES)
            .chain(&LOCAL_ALERT_VARIABLES)
        {
            command.env_remove(name);
        }
        command.env_remove(FAULT_INJECTION_VARIABLE);
        for (name, value) in self.settings.env() {
            command.env(name, value);
        }
        for (name, value) in &self.extra_env {
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
pub fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Waits until the child's API listens (`true`) or the child exits first (`false`).
pub async fn wait_for_api(port: u16, child: &mut Child) -> Result<bool, String> {
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
pub async fn wait_exit(child: &mut Child, limit: Duration) -> bool {
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
pub async fn stop_gracefully(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    if !wait_exit(child, Duration::from_secs(15)).await {
        let _ = child.kill();
    }
    let _ = child.wait();
}

/// A minimal HTTP/1.1 POST; returns the status code.
pub async fn post(port: u16, path: &str, body: &str) -> Result<u16, String> {
    post_answer(port, path, body)
        .await
        .map(|(status, _)| status)
}

/// A minimal HTTP/1.1 POST, signed with the admin key of the local credentials (the child
/// creates them, or reads the same file); returns the status code and the body of the answer.
pub async fn post_answer(port: u16, path: &str, body: &str) -> Result<(u16, String), String> {
    let key = crate::credentials::load_or_create(&crate::credentials::path())?
        .key("campaign-admin")
        .cloned()
        .ok_or("no campaign-admin key")?;
    let host = format!("127.0.0.1:{port}");
    let signed = [
        ("host", host.as_str()),
        ("content-type", "application/json"),
    ];
    let signature: String = api_signing::sign(
        &api_signing::Request {
            method: "POST",
            uri: path,
            headers: &signed,
            body: body.as_bytes(),
        },
        &key,
        &crate::aws_env::region(),
        std::time::SystemTime::now(),
    )
    .map_err(|e| e.to_string())?
    .into_iter()
    .map(|(name, value)| format!("{name}: {value}\r\n"))
    .collect();
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n{signature}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "no HTTP status".to_owned())?;
    let answer = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, answer))
}

/// Every campaign of the stack (one ByStatus query per status, all pages).
pub async fn all_campaigns(services: &Services) -> Result<Vec<Campaign>, String> {
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

pub async fn latest_due(services: &Services) -> Result<Timestamp, String> {
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
/// `None` after `limit`. Campaigns whose timers are all done are remembered in
/// `finished` and not read again (the table grows with every run).
pub async fn wait_recovered(
    services: &Services,
    died_at: Timestamp,
    finished: &mut BTreeSet<String>,
    limit: Duration,
) -> Result<Option<Timestamp>, String> {
    let deadline = tokio::time::Instant::now() + limit;
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

pub fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A suite's stack: provisioned under a fresh name, with inspection services, the bus events
/// drained in the background, and the `local` binary ready to start as a child.
pub struct Harness {
    pub started: Timestamp,
    pub stack_name: String,
    pub stack: Stack,
    /// Uncounted clients without faults (setup and inspection).
    pub clients: AwsClients,
    /// Services configured like the children, for reading the store and the final sweep.
    pub services: Services,
    /// Children's logs go here, and the calls file of the IAM check.
    pub log_dir: PathBuf,
    /// How the children (and the inspection services) are configured.
    pub settings: ChildSettings,
    /// Every event that reached the subscriber queue, by `eventId` (or `alertId`).
    pub events: Arc<Mutex<BTreeMap<String, Value>>>,
    drain: tokio::task::JoinHandle<()>,
}

impl Harness {
    /// Provisions a stack named `<kind>-<millis>` for children with the fast settings, and
    /// starts draining its events.
    pub async fn prepare(kind: &str) -> Result<Self, String> {
        Self::prepare_with(kind, ChildSettings::Fast).await
    }

    /// Like [`Harness::prepare`], for children configured with `settings`.
    pub async fn prepare_with(kind: &str, settings: ChildSettings) -> Result<Self, String> {
        let started = Timestamp::now();
        let stack_name = format!("{kind}-{}", started.millis());
        let sdk_config = crate::aws_env::sdk_config().await;
        let clients = AwsClients::from_sdk_config(&sdk_config, &RequestCounter::new());
        let stack = crate::provision_template(&clients, &stack_name, &crate::aws_env::region())
            .await
            .map_err(|e| format!("{e} (is the emulator running? `make emulator`)"))?;
        let services = inspection_services(&stack, &clients, settings)?;
        let log_dir = PathBuf::from(".local").join(kind).join(&stack_name);
        std::fs::create_dir_all(&log_dir).map_err(|e| e.to_string())?;
        let events = Arc::new(Mutex::new(BTreeMap::new()));
        let drain = tokio::spawn({
            let events = events.clone();
            crate::subscriber::drain(
                clients.sqs.clone(),
                stack
                    .reference("LifecycleEventsQueue")
                    .unwrap_or_default()
                    .to_owned(),
                move |body| record_event(&events, body),
            )
        });
        Ok(Self {
            started,
            stack_name,
            stack,
            clients,
            services,
            log_dir,
            settings,
            events,
            drain,
        })
    }

    /// How to start the `local` binary (next to this executable) on this stack.
    pub fn child(&self, extra_env: Vec<(String, String)>) -> Result<ChildSpec, String> {
        let binary = std::env::current_exe()
            .map_err(|e| e.to_string())?
            .with_file_name("local");
        if !binary.exists() {
            return Err(format!(
                "{} not built (`cargo build -p local-stack --bins`)",
                binary.display()
            ));
        }
        Ok(ChildSpec {
            binary,
            stack_name: self.stack_name.clone(),
            log_dir: self.log_dir.clone(),
            settings: self.settings,
            extra_env,
            iam_calls_file: self.iam_calls_file(),
        })
    }

    /// The file the children append their functions' calls to.
    pub fn iam_calls_file(&self) -> PathBuf {
        self.log_dir.join("iam-calls.jsonl")
    }

    /// The IAM check of every call the children's functions made: prints each denied call
    /// with its function, and each function of the template that made no call (so the check
    /// did not cover it). `Ok(true)` when every function was covered and nothing was denied.
    pub fn check_iam(&self) -> Result<bool, String> {
        let path = self.iam_calls_file();
        let calls = read_calls_file(&path)?;
        let check = IamCheck::for_stack(&self.stack)?;
        let denials = check.denied(&calls);
        let uncovered: Vec<&String> = check
            .policies
            .keys()
            .filter(|function| calls.get(*function).is_none_or(BTreeSet::is_empty))
            .collect();
        for denial in &denials {
            println!("IAM DENIED: {denial}");
        }
        for function in &uncovered {
            println!("IAM NOT COVERED: {function} made no AWS call");
        }
        let distinct: usize = calls.values().map(BTreeSet::len).sum();
        let ok = denials.is_empty() && uncovered.is_empty();
        println!(
            "iam: {distinct} distinct calls of {} functions checked against template.yaml ({}): {}",
            calls.len(),
            path.display(),
            if ok {
                "all allowed".to_owned()
            } else {
                format!("{} denied, {} not covered", denials.len(), uncovered.len())
            }
        );
        Ok(ok)
    }

    /// One clean sweep, then (once the last events reached the queue) the invariants.
    /// Returns the sweep's report and the verdict.
    pub async fn finish(self) -> Result<(RecoveryReport, Value, BTreeMap<String, Value>), String> {
        let report = sweeper::sweep(
            &self.services,
            &sweeper::SweepRequest::default(),
            Timestamp::now(),
            None,
        )
        .await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        self.drain.abort();
        let events = self.events.lock().expect("events").clone();
        let verdict = check_invariants(&self.services, &events).await?;
        Ok((report, verdict, events))
    }
}

/// Whether every invariant of `verdict` holds (all counts 0).
pub fn invariants_hold(verdict: &Value) -> bool {
    verdict["lostTimers"] == 0
        && verdict["duplicateTransitions"] == 0
        && verdict["missingEvents"] == 0
        && verdict["versionMismatches"] == 0
        && verdict["disagreeWithClock"] == 0
}
