//! `make bench`: the timer path under load on the local stack.
//!
//! Stores N campaigns whose START timers are due uniformly over a window, runs the dispatcher
//! (on its template schedule) and the executor (SQS pollers) like `make local`, waits until
//! every timer fired, then reports lag from dueAt to commit (p50/p95/p99/max), fired/s and AWS
//! requests per fired timer by operation — our functions' requests apart from the queue
//! polling that Lambda's event source mapping does on AWS. Results go to
//! `bench/results/<time>.json`; `docs/benchmarks.md` is regenerated from all results.
//!
//! Options: `--timers N` (1000), `--window SECONDS` (120), `--lead SECONDS` (20, time for
//! setup before the first timer is due), `--schedule-seconds S` (template period),
//! `--pollers N` (4). `--docs-only` runs nothing: it regenerates `docs/benchmarks.md` from the
//! stored results (after adding or annotating a result file by hand).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use lifecycle_adapters::aws::{AwsClients, RequestCounter};
use lifecycle_adapters::config::{Config, LogFormat};
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer_plan::plan_timers;
use lifecycle_domain::{Campaign, CampaignId, CampaignStatus};
use local_stack::function_calls::FunctionCalls;
use local_stack::functions::functions;
use local_stack::runtime::{RuntimeClients, RuntimeOptions, start};
use local_stack::{aws_env, provision_template, subscriber};
use serde::{Deserialize, Serialize};

/// Requests Lambda's SQS event source mapping makes on AWS (not our code).
const PLATFORM_OPERATIONS: [&str; 3] = [
    "SQS.ReceiveMessage",
    "SQS.DeleteMessageBatch",
    "SQS.DeleteMessage",
];

struct Options {
    timers: usize,
    window_s: u64,
    lead_s: u64,
    schedule_s: Option<f64>,
    pollers: usize,
    docs_only: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        timers: 1000,
        window_s: 120,
        lead_s: 20,
        schedule_s: None,
        pollers: 4,
        docs_only: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--docs-only" {
            options.docs_only = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = || format!("{flag}: {value:?} is not a valid number");
        match flag.as_str() {
            "--timers" => options.timers = value.parse().map_err(|_| bad())?,
            "--window" => options.window_s = value.parse().map_err(|_| bad())?,
            "--lead" => options.lead_s = value.parse().map_err(|_| bad())?,
            "--schedule-seconds" => options.schedule_s = Some(value.parse().map_err(|_| bad())?),
            "--pollers" => options.pollers = value.parse().map_err(|_| bad())?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.timers == 0 || options.window_s == 0 || options.pollers == 0 {
        return Err("--timers, --window and --pollers must be positive".into());
    }
    Ok(options)
}

/// One benchmark run, as stored in `bench/results/*.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BenchResult {
    started_at: String,
    /// The commit the benchmarked code was built from (`git rev-parse --short HEAD`), with
    /// `-dirty` if the tree had changes; absent in runs before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    endpoint: String,
    timers: usize,
    window_seconds: u64,
    fired: usize,
    lag_ms: LagStats,
    fired_per_second: f64,
    /// Our functions' requests per fired timer, by `Service.Operation`.
    requests_per_fired_timer: BTreeMap<String, f64>,
    requests_per_fired_timer_total: f64,
    /// Queue polling Lambda does on AWS, per fired timer.
    platform_requests_per_fired_timer: BTreeMap<String, f64>,
    scans: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct LagStats {
    p50: i64,
    p95: i64,
    p99: i64,
    max: i64,
}

#[tokio::main]
async fn main() -> ExitCode {
    lifecycle_telemetry::logging::init(LogFormat::Text);
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let options = parse_options()?;
    if options.docs_only {
        write_docs()?;
        println!("written: docs/benchmarks.md");
        return Ok(());
    }
    let sdk_config = aws_env::sdk_config().await;
    let setup = AwsClients::from_sdk_config(&sdk_config, &RequestCounter::new());
    let started_at = Timestamp::now();
    let stack_name = format!("bench-{}", started_at.millis());
    let stack = provision_template(&setup, &stack_name, &aws_env::region())
        .await
        .map_err(|e| format!("{e} (is the emulator running? `make emulator`)"))?;
    let specs: Vec<_> = functions(&stack)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|s| s.binary == "timer-dispatcher" || s.binary == "timer-executor")
        .collect();
    let environment = specs[0].environment.clone();
    let config = Config::from_map(&environment).map_err(|e| e.to_string())?;
    let setup_services = Services::new(config, &setup, RequestCounter::new());

    // Setup: N campaigns, START due uniformly over the window, END a day later.
    let first_due = started_at.plus_millis(options.lead_s as i64 * 1000);
    let window_ms = options.window_s as i64 * 1000;
    println!(
        "bench: {} timers due over {} s from {} (stack {stack_name})",
        options.timers, options.window_s, first_due
    );
    let created = futures_util::stream::iter(0..options.timers)
        .map(|i| {
            let store = setup_services.store.clone();
            let due = first_due.plus_millis(window_ms * i as i64 / options.timers as i64);
            async move {
                let campaign = Campaign {
                    id: CampaignId::generate(),
                    name: format!("bench {i}"),
                    status: CampaignStatus::Scheduled,
                    start_at: due,
                    end_at: due.plus_millis(86_400_000),
                    claim_until: None,
                    reward_reminder_at: None,
                    version: 1,
                    created_at: started_at,
                    updated_at: started_at,
                };
                store
                    .create_campaign(&campaign, &plan_timers(&campaign))
                    .await
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    if let Some(Err(error)) = created.into_iter().find(Result::is_err) {
        return Err(format!("setup failed: {error}"));
    }
    let setup_done = Timestamp::now();
    println!(
        "setup: {} campaigns stored in {:.1} s",
        options.timers,
        setup_done.millis_since(started_at) as f64 / 1000.0
    );
    if setup_done > first_due {
        println!("warning: setup outlasted --lead; the first timers start late (raise --lead)");
    }

    // Run the functions like `make local`.
    let clients = RuntimeClients::new(&sdk_config, FunctionCalls::new());
    let (function_requests, platform_requests) = (
        clients.function_requests.clone(),
        clients.platform_requests.clone(),
    );
    let runtime_options = RuntimeOptions {
        api_addr: "127.0.0.1:0".parse().expect("address"),
        schedule_period: options.schedule_s.map(Duration::from_secs_f64),
        sweep_period: None,
        sqs_pollers: options.pollers,
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut tasks = start(&specs, &clients, &runtime_options, shutdown)
        .await
        .map_err(|e| e.to_string())?;

    // A subscriber drains the lifecycle events queue, as consumers would (a deep moto queue
    // slows every delivery to it, and so the executor's PutEvents), and counts the started
    // campaigns from the events: progress without polling the table, whose queries would
    // compete with the functions for the emulator.
    let started = Arc::new(Mutex::new(HashSet::new()));
    let drain = tokio::spawn({
        let started = started.clone();
        subscriber::drain(
            setup.sqs.clone(),
            stack
                .reference("LifecycleEventsQueue")
                .unwrap_or_default()
                .to_owned(),
            move |body| {
                if let Some(id) = started_campaign_id(body) {
                    started.lock().expect("started set").insert(id);
                }
            },
        )
    });
    let deadline = first_due.plus_millis(window_ms + 120_000);
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let count = started.lock().expect("started set").len();
        println!("  fired {count}/{}", options.timers);
        if count >= options.timers || Timestamp::now() > deadline {
            break;
        }
    }
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    drain.abort();
    let fired = running_campaigns(&setup_services).await?;

    let mut lags: Vec<i64> = fired
        .iter()
        .map(|c| c.updated_at.millis_since(c.start_at))
        .collect();
    lags.sort_unstable();
    let last_fire = fired
        .iter()
        .map(|c| c.updated_at)
        .max()
        .unwrap_or(first_due);
    let count = fired.len().max(1) as f64;
    let per_timer = |counts: BTreeMap<String, u64>, platform: bool| -> BTreeMap<String, f64> {
        counts
            .into_iter()
            .filter(|(op, _)| PLATFORM_OPERATIONS.contains(&op.as_str()) == platform)
            .map(|(op, n)| (op, round(n as f64 / count)))
            .collect()
    };
    let ours = function_requests.snapshot();
    let mut platform = platform_requests.snapshot();
    for op in PLATFORM_OPERATIONS {
        if let Some(n) = ours.get(op) {
            *platform.entry(op.to_owned()).or_default() += n;
        }
    }
    let requests = per_timer(ours.clone(), false);
    let result = BenchResult {
        started_at: started_at.to_rfc3339(),
        code: code_version(),
        endpoint: aws_env::endpoint(),
        timers: options.timers,
        window_seconds: options.window_s,
        fired: fired.len(),
        lag_ms: LagStats {
            p50: percentile(&lags, 50.0),
            p95: percentile(&lags, 95.0),
            p99: percentile(&lags, 99.0),
            max: lags.last().copied().unwrap_or(0),
        },
        fired_per_second: round(count / (last_fire.millis_since(first_due).max(1) as f64 / 1000.0)),
        requests_per_fired_timer_total: round(requests.values().sum()),
        requests_per_fired_timer: requests,
        platform_requests_per_fired_timer: per_timer(platform, true),
        scans: ours.get("DynamoDB.Scan").copied().unwrap_or(0),
    };
    print_result(&result);
    let path = save(&result)?;
    println!("written: {} and docs/benchmarks.md", path.display());
    if result.fired < result.timers {
        return Err(format!(
            "only {} of {} timers fired",
            result.fired, result.timers
        ));
    }
    Ok(())
}

/// The campaign id of a `CampaignStarted` bus event delivered to SQS, if `body` is one.
fn started_campaign_id(body: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(body).ok()?;
    if event["detail-type"] != "CampaignStarted" {
        return None;
    }
    event["detail"]["campaignId"].as_str().map(str::to_owned)
}

async fn running_campaigns(services: &Services) -> Result<Vec<Campaign>, String> {
    let mut campaigns = Vec::new();
    let mut page = None;
    loop {
        let result = services
            .store
            .list_campaigns(CampaignStatus::Running, 100, page.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        campaigns.extend(result.campaigns);
        match result.next {
            Some(next) => page = Some(next),
            None => return Ok(campaigns),
        }
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn print_result(r: &BenchResult) {
    println!();
    println!(
        "fired {}/{} timers, {:.1} fired/s",
        r.fired, r.timers, r.fired_per_second
    );
    println!(
        "lag dueAt → commit: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
        r.lag_ms.p50, r.lag_ms.p95, r.lag_ms.p99, r.lag_ms.max
    );
    println!(
        "AWS requests per fired timer (our functions): {}",
        r.requests_per_fired_timer_total
    );
    for (op, n) in &r.requests_per_fired_timer {
        println!("  {op:<32} {n}");
    }
    println!("queue polling by Lambda's event source mapping (on AWS, not our code):");
    for (op, n) in &r.platform_requests_per_fired_timer {
        println!("  {op:<32} {n}");
    }
    println!("Scan requests: {}", r.scans);
}

/// The commit of the working tree, `-dirty` when it has changes; `None` without git.
fn code_version() -> Option<String> {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(repo_root())
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|status| !status.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Writes the result file and regenerates `docs/benchmarks.md`.
fn save(result: &BenchResult) -> Result<PathBuf, String> {
    let dir = repo_root().join("bench/results");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("{}.json", result.started_at.replace(':', "-")));
    let json = serde_json::to_string_pretty(result).map_err(|e| e.to_string())?;
    std::fs::write(&path, json + "\n").map_err(|e| e.to_string())?;
    write_docs()?;
    Ok(path)
}

/// Regenerates `docs/benchmarks.md` from every result in `bench/results`.
fn write_docs() -> Result<(), String> {
    let dir = repo_root().join("bench/results");
    let mut results: Vec<BenchResult> = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .filter_map(|text| serde_json::from_str(&text).ok())
        .collect();
    results.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    let mut doc = String::from(BENCHMARKS_HEADER);
    doc.push_str("| run | code | timers / window | fired | fired/s | lag p50 | p95 | p99 | max | requests / fired timer (ours) | by operation | Lambda polling / fired timer | Scan |\n");
    doc.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in &results {
        let ops = |m: &BTreeMap<String, f64>| {
            m.iter()
                .map(|(op, n)| format!("{op} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        doc.push_str(&format!(
            "| {} | {} | {} / {} s | {} | {} | {} ms | {} ms | {} ms | {} ms | {} | {} | {} | {} |\n",
            r.started_at,
            r.code.as_deref().unwrap_or("—"),
            r.timers,
            r.window_seconds,
            r.fired,
            r.fired_per_second,
            r.lag_ms.p50,
            r.lag_ms.p95,
            r.lag_ms.p99,
            r.lag_ms.max,
            r.requests_per_fired_timer_total,
            ops(&r.requests_per_fired_timer),
            ops(&r.platform_requests_per_fired_timer),
            r.scans,
        ));
    }
    std::fs::write(repo_root().join("docs/benchmarks.md"), doc).map_err(|e| e.to_string())
}

const BENCHMARKS_HEADER: &str = "# Benchmarks

Generated by `make bench` (`infra/local/src/bin/bench.rs`) from `bench/results/*.json`; do not
edit by hand. Reproduce: `make bench` (options: `BENCH_ARGS=\"--timers 1000 --window 120\"`).

What a run does: stores N campaigns whose START timers are due uniformly over the window, then
runs the dispatcher on its template schedule (every 60 s, look-ahead 90 s) and the executor as
SQS pollers (batch size 10) against the local emulator, until every timer fired.

- **lag**: campaign `updatedAt` (the commit of the move) minus the timer's `dueAt`.
- **requests / fired timer (ours)**: every AWS request our functions sent (dispatcher and
  executor), counted by an SDK interceptor including retries, divided by fired timers.
- **Lambda polling**: `ReceiveMessage`/`DeleteMessageBatch` on the timers queue, which Lambda's
  event source mapping makes on AWS (billed SQS requests, but not our code's).
- The bench runs a release build and follows progress through the lifecycle events (it reads
  the table only once, at the end). The first run (2026-11-23T16:33) was a debug build that
  polled the ByStatus index every 5 s, which competed with the functions for the emulator.
- Numbers are from moto_server on a 2-core machine (client and server on the same cores): the
  emulator, not the code, bounds throughput; AWS latencies differ.
- From the 2026-11-23T21:51 run on, the requests include the resilience layer
  (`docs/resilience.md`):
  - each instance reads the shared circuit-breaker record of a dependency at most once a
    second (GetItem), and adds its success counts every 5 s (UpdateItem);
  - it reloads the failure patterns every 5 minutes (one Query).
  That is about +0.25 requests per fired timer at this load, and less per timer as an
  instance gets busier. In the 21:51 run those reads and writes were in the request path
  (p99 627 ms). From the next run on they are done in the background.
- **2026-12-02: the tail moved with the emulator, not the code.** The 2026-11-23 code
  (`d7a12ba`, p99 4 ms that day) run again on 2026-12-02 on the same machine and emulator
  version gives p99 1109 and 816 ms; the code of issue 10 gives 1294, 3131 (a freshly started
  emulator) and 1207 ms. Requests per fired timer stayed at 1.52–1.55. In every run the lag
  grows in the last 40 s, with the timers the dispatcher's second tick sent: its 16 Queries
  walk the whole table on moto under the launcher's DynamoDB lock for 6–7 s, and the
  executor's transactions wait behind them (the dispatcher's catch-up re-reads the timers of
  the last tick that are not due yet, which makes that tick about 1 s longer here; on
  DynamoDB a Query reads only its range).
- **2026-12-02, later: the launcher fixed; the tail is back to milliseconds.** moto's Query
  gathered its candidates from `Table.all_items()`, which sorts the *whole table* on every call
  and every page, even for a Query of one partition: O(n log n) in the table's size, under the
  launcher's DynamoDB lock. `infra/moto_server.py` now hands Query only the partition it names
  (base table) or the unsorted items (an index: moto filters and sorts the matches itself), with
  the same results and order (the integration tests pass unchanged). Alternating runs on
  freshly started emulators, same machine, same binaries: the 2026-11-23 code (`d7a12ba`) p99
  107, 11 and 215 ms (max 156, 111, 339); issue 10's code (`c73f009`) p99 5, 9 and 35 ms (max
  6, 77, 141), better in each pair. Requests per fired timer: 1.51–1.56 old, 1.555–1.564 new,
  with the same requests per operation; the totals move with timing (a slower run clears the
  outbox in larger BatchWriteItems and finds breaker records fresh more often), not with the
  code. The first run after the fix (09:59, p99 372 ms) followed a full build and test run on
  the same cores; a run under a sampling profiler (used to find the cost above) is not kept.

";
