//! The bulk scenario: one email campaign to a stored list of N recipients, sent from its
//! START by the planner and the sender on the local runtime, with the sender's
//! `EMAIL_SEND_RATE` set high (`--send-rate`) so that the engine is measured, not the rate.
//!
//! The list (`{"id":"r<n>","address":"r<n>@<unique>.example.org","vars":{"name":…}}` per line)
//! is uploaded to the stack's `ListsBucket`, the sender identity is verified in SES on the
//! emulator, and the campaign is created with `POST /campaigns` starting now (the API queues
//! its START at once). `GET /campaigns/{id}` is polled until its run is COMPLETED. The
//! functions run in three groups with their own counters and metered clients: `delivery`
//! (planner and sender: the per-recipient figures), `timers` (the START and the dispatcher's
//! ticks) and `api` (the create and the progress polls). After the run one scan of the table
//! gives every item's final size (for the capacity figures) and every ledger entry's
//! `settledAt`: the recipients settled over time (`settledTimeline`, drawn in
//! `docs/plots/bulk-throughput.svg`).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use lifecycle_domain::Timestamp;
use local_stack::aws_env;
use serde_json::{Value, json};

use crate::Options;
use crate::capacity;
use crate::cost;
use crate::distribution::Timeline;
use crate::function_time::FunctionTime;
use crate::meter::Meter;
use crate::results::{BulkResult, Memory, RunFigures, per, round, write_result};
use crate::setup::{
    PLATFORM_OPERATIONS, Running, Setup, StartedWatch, free_address, memory_kib, runtime_options,
};
use crate::timers::TIMER_FUNCTIONS;

/// The delivery functions.
pub(crate) const DELIVERY_FUNCTIONS: [&str; 2] = ["delivery-planner", "delivery-sender"];

/// Time between two progress polls.
const POLL_EVERY: Duration = Duration::from_secs(3);

/// The local HTTP API.
pub(crate) struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    /// The API listening on `addr`.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        Self {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        }
    }

    async fn call(&self, post: Option<String>, path: &str) -> Result<(u16, Value), String> {
        let url = format!("{}{path}", self.base);
        let request = match post {
            Some(body) => self
                .http
                .post(url)
                .header("content-type", "application/json")
                .body(body),
            None => self.http.get(url),
        };
        let response = request.send().await.map_err(|e| format!("{path}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| format!("{path}: {e}"))?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }
}

/// A bulk send under way.
pub(crate) struct BulkSend {
    /// The campaign.
    pub(crate) campaign_id: String,
    /// Rows of its list.
    pub(crate) recipients: usize,
    /// Size of its list.
    pub(crate) list_bytes: usize,
    posted_at: Instant,
}

/// Uploads a list of `recipients`, verifies the sender and creates the campaign, starting now.
pub(crate) async fn start_send(
    setup: &Setup,
    api: &Api,
    recipients: usize,
) -> Result<BulkSend, String> {
    let unique = format!("bench{}", setup.started_at.millis());
    let mut list = String::with_capacity(recipients * 96);
    for n in 0..recipients {
        let row = json!({
            "id": format!("r{n}"),
            "address": format!("r{n}@{unique}.example.org"),
            "vars": {"name": format!("Reader {n}")},
        });
        list.push_str(&row.to_string());
        list.push('\n');
    }
    let bucket = setup.reference("ListsBucket")?;
    let key = format!("bench/{unique}.jsonl");
    let bytes = list.len();
    setup
        .clients
        .delivery
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(list.into_bytes().into())
        .send()
        .await
        .map_err(|e| {
            format!(
                "uploading the list: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    let from = format!("offers@{unique}.example.com");
    setup
        .clients
        .delivery
        .sesv2
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .map_err(|e| {
            format!(
                "verifying {from}: {}",
                aws_sdk_sesv2::error::DisplayErrorContext(e)
            )
        })?;
    let now = Timestamp::now();
    let body = json!({
        "name": "bench bulk send",
        "startAt": now.plus_millis(-1_000).to_rfc3339(),
        "endAt": now.plus_millis(6 * 3_600_000).to_rfc3339(),
        "delivery": {
            "channel": "email",
            "from": from,
            "subject": "Hi {{name}}",
            "text": "Hello {{name}}, this is the bulk benchmark.",
            "recipientsUri": format!("s3://{bucket}/{key}"),
        },
    });
    let posted_at = Instant::now();
    let (status, created) = api.call(Some(body.to_string()), "/campaigns").await?;
    if status != 201 {
        return Err(format!("POST /campaigns answered {status}: {created}"));
    }
    let campaign_id = created["id"]
        .as_str()
        .ok_or_else(|| format!("POST /campaigns answered no id: {created}"))?
        .to_owned();
    println!(
        "bulk: {recipients} recipients ({:.1} MB, s3://{bucket}/{key}), campaign {campaign_id}",
        bytes as f64 / 1e6
    );
    Ok(BulkSend {
        campaign_id,
        recipients,
        list_bytes: bytes,
        posted_at,
    })
}

impl BulkSend {
    /// The campaign's latest run, read through `GET /campaigns/{id}`.
    pub(crate) async fn read(&self, api: &Api) -> Result<RunFigures, String> {
        let (status, campaign) = api
            .call(None, &format!("/campaigns/{}", self.campaign_id))
            .await?;
        if status != 200 {
            return Err(format!(
                "GET /campaigns/{} answered {status}",
                self.campaign_id
            ));
        }
        let run = &campaign["runs"][0];
        let count = |field: &str| run[field].as_u64().unwrap_or(0);
        let time = |field: &str| run[field].as_str().map(str::to_owned);
        let (started_at, completed_at) = (time("startedAt"), time("completedAt"));
        let parse =
            |t: &Option<String>| t.as_deref().and_then(|t| Timestamp::parse_rfc3339(t).ok());
        let send_ms = parse(&started_at).map(|start| {
            parse(&completed_at)
                .unwrap_or_else(Timestamp::now)
                .millis_since(start)
        });
        let mut figures = RunFigures {
            status: run["status"].as_str().unwrap_or("NONE").to_owned(),
            total: count("total"),
            sent: count("sent"),
            failed: count("failed"),
            pending: count("pending"),
            ambiguous: count("ambiguous"),
            duplicates: count("duplicates"),
            started_at,
            completed_at,
            send_seconds: send_ms.map_or(0.0, |ms| round(ms as f64 / 1000.0)),
            ..RunFigures::default()
        };
        if figures.send_seconds > 0.0 {
            figures.recipients_per_second = round(figures.settled() as f64 / figures.send_seconds);
        }
        if figures.completed_at.is_some() {
            figures.post_to_completed_seconds = Some(round(self.posted_at.elapsed().as_secs_f64()));
        }
        Ok(figures)
    }

    /// A progress line.
    pub(crate) fn progress(&self, run: &RunFigures) -> String {
        format!(
            "run {} sent {}/{} (planned {})",
            run.status, run.sent, self.recipients, run.total
        )
    }

    /// Whether the run is over.
    pub(crate) fn over(run: &RunFigures) -> bool {
        run.completed_at.is_some()
    }
}

/// Runs the bulk scenario.
pub(crate) async fn run(options: &Options) -> Result<(), String> {
    let setup = Setup::new().await?;
    println!(
        "bench bulk: {} recipients, EMAIL_SEND_RATE {} /s, {} pollers per queue (stack {})",
        options.recipients, options.send_rate, options.pollers, setup.stack.name
    );
    let meter = Meter::new();
    let api_addr = free_address()?;
    let runtime = runtime_options(options, Some(api_addr));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut groups = BTreeMap::new();
    for (group, binaries) in [
        ("api", &["api"][..]),
        ("timers", &TIMER_FUNCTIONS[..]),
        ("delivery", &DELIVERY_FUNCTIONS[..]),
    ] {
        let specs = setup.specs_of(binaries, options.send_rate);
        let config = meter.sdk_config(&setup.sdk_config, group);
        let running = Running::start(&specs, &config, &runtime, shutdown.clone()).await?;
        groups.insert(group, running);
    }
    let events = StartedWatch::spawn(&setup);
    let api = Api::new(api_addr);
    let mut memory = Memory {
        peak_before_kib: memory_kib("VmHWM"),
        ..Memory::default()
    };
    let send = start_send(&setup, &api, options.recipients).await?;
    let run = wait(&api, &send, options.patience(), &mut memory).await?;
    let _ = stop.send(true);
    let mut counts = BTreeMap::new();
    let delivery_usage = groups["delivery"].usage.clone();
    for (group, running) in groups {
        counts.insert(group, (running.requests.clone(), running.platform.clone()));
        running.stopped().await;
    }
    events.stop();
    memory.peak_after_kib = memory_kib("VmHWM");
    let settled_at = scan_items(&setup, &meter).await?;
    let observed = meter.take();
    let settled_timeline = run
        .started_at
        .as_deref()
        .and_then(|at| Timestamp::parse_rfc3339(at).ok())
        .and_then(|start| {
            let offsets: Vec<i64> = settled_at.iter().map(|at| at.millis_since(start)).collect();
            Timeline::of(&offsets)
        });

    let basis = if BulkSend::over(&run) {
        run.total
    } else {
        run.settled()
    } as f64;
    let (delivery_requests, delivery_platform) = &counts["delivery"];
    let mut ours = delivery_requests.snapshot();
    let mut platform = delivery_platform.snapshot();
    for op in PLATFORM_OPERATIONS {
        if let Some(n) = ours.remove(op) {
            *platform.entry(op.to_owned()).or_default() += n;
        }
    }
    let requests = per(&ours, basis);
    let platform = per(&platform, basis);
    let capacity = capacity::figures(&observed, "delivery", basis);
    let emails = run.sent as f64 / basis.max(1.0);
    let cost = cost::per_million(&capacity, &requests, &platform, emails);
    let other_requests = counts
        .iter()
        .filter(|(group, _)| **group != "delivery")
        .map(|(group, (ours, platform))| {
            let mut all = ours.snapshot();
            for (op, n) in platform.snapshot() {
                *all.entry(format!("{op} (polling)")).or_default() += n;
            }
            ((*group).to_owned(), all)
        })
        .collect();
    let result = BulkResult {
        scenario: "bulk".into(),
        started_at: setup.started_at.to_rfc3339(),
        code: crate::results::code_version(),
        endpoint: aws_env::endpoint(),
        recipients: options.recipients,
        send_rate: options.send_rate,
        pollers: options.pollers,
        run,
        requests_per_recipient_total: round(requests.values().sum()),
        requests_per_recipient: requests,
        platform_requests_per_recipient: platform,
        other_requests,
        capacity: Some(capacity),
        cost_per_million: Some(cost),
        memory,
        settled_timeline,
        cpu_per_recipient: Some(FunctionTime::per(&delivery_usage.snapshot(), basis)),
    };
    print_result(&result);
    let path = write_result(&result.started_at, "-bulk", &result)?;
    crate::docs::write()?;
    println!("written: {} and docs/benchmarks.md", path.display());
    if !BulkSend::over(&result.run) {
        return Err(format!(
            "the run did not complete within {} s ({} of {} settled)",
            options.patience().as_secs(),
            result.run.settled(),
            result.recipients
        ));
    }
    Ok(())
}

/// Polls the run until it is over or `patience` ran out, printing progress; samples the
/// resident memory at each poll.
async fn wait(
    api: &Api,
    send: &BulkSend,
    patience: Duration,
    memory: &mut Memory,
) -> Result<RunFigures, String> {
    let started = Instant::now();
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        let run = send.read(api).await?;
        memory.largest_sampled_kib = memory.largest_sampled_kib.max(memory_kib("VmRSS"));
        println!(
            "  {:>4} s: {}",
            started.elapsed().as_secs(),
            send.progress(&run)
        );
        if BulkSend::over(&run) || started.elapsed() > patience {
            return Ok(run);
        }
    }
}

/// Reads every item of the table once (with the meter, so it knows each item's final size);
/// returns the `settledAt` of every ledger entry (one per recipient settled).
async fn scan_items(setup: &Setup, meter: &Meter) -> Result<Vec<Timestamp>, String> {
    let client = aws_sdk_dynamodb::Client::new(&meter.sdk_config(&setup.sdk_config, "scan"));
    let table = setup.reference("CampaignTable")?;
    let mut start = None;
    let mut settled_at = Vec::new();
    loop {
        let page = client
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("scan: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        let text = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|value| value.as_s().ok()).cloned()
        };
        settled_at.extend(
            page.items()
                .iter()
                .filter(|item| text(item, "entity").as_deref() == Some("Ledger"))
                .filter_map(|item| Timestamp::parse_rfc3339(&text(item, "settledAt")?).ok()),
        );
        start = page.last_evaluated_key;
        if start.is_none() {
            return Ok(settled_at);
        }
    }
}

fn print_result(r: &BulkResult) {
    let run = &r.run;
    println!();
    println!(
        "run {}: {} sent, {} failed, {} ambiguous, {} duplicates of {} in {:.1} s: {:.1} recipients/s (START → completedAt)",
        run.status,
        run.sent,
        run.failed,
        run.ambiguous,
        run.duplicates,
        run.total,
        run.send_seconds,
        run.recipients_per_second
    );
    println!(
        "AWS requests per recipient (planner and sender, provider calls included): {}",
        r.requests_per_recipient_total
    );
    for (op, n) in &r.requests_per_recipient {
        println!("  {op:<32} {n}");
    }
    println!("queue polling by Lambda's event source mapping (on AWS, not our code):");
    for (op, n) in &r.platform_requests_per_recipient {
        println!("  {op:<32} {n}");
    }
    if let Some(cpu) = &r.cpu_per_recipient {
        println!("CPU per recipient: {}", cpu.summary());
    }
    if let Some(c) = &r.capacity {
        println!(
            "DynamoDB per recipient: {} write units ({} of them index writes), {} read units",
            c.write_units_per_recipient,
            c.index_write_units_per_recipient,
            c.read_units_per_recipient
        );
        for (item, n) in &c.write_units_by_item {
            println!("  {item:<32} {n} WRU");
        }
    }
    if let Some(cost) = &r.cost_per_million {
        println!(
            "$ per million recipients: {:.2} without SES, {:.2} with SES",
            cost.without_ses, cost.with_ses
        );
    }
    let kib = |v: Option<u64>| {
        v.map_or("—".to_owned(), |k| {
            format!("{:.0} MiB", k as f64 / 1024.0)
        })
    };
    println!(
        "process peak RSS: {} before the send, {} after (largest sample {})",
        kib(r.memory.peak_before_kib),
        kib(r.memory.peak_after_kib),
        kib(r.memory.largest_sampled_kib)
    );
}
