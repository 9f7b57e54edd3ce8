//! The timer scenario: N campaigns whose START timers are due uniformly over a window, fired by
//! the dispatcher (on its template schedule) and the executor (SQS pollers); lag from dueAt
//! to commit (percentiles, and by bucket for `docs/plots/timer-lag.svg`), fired/s and requests
//! per fired timer. Its pieces are also the mixed scenario's.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use lifecycle_adapters::services::Services;
use lifecycle_domain::timer_plan::plan_timers;
use lifecycle_domain::{Campaign, CampaignId, CampaignStatus, Timestamp};
use local_stack::aws_env;
use local_stack::function_usage::Usage;

use crate::Options;
use crate::function_time::FunctionTime;
use crate::latency::RequestLatency;
use crate::results::{BenchResult, LagStats, round, write_result};
use crate::setup::{PLATFORM_OPERATIONS, Running, Setup, StartedWatch, runtime_options};

/// The timer functions.
pub(crate) const TIMER_FUNCTIONS: [&str; 2] = ["timer-dispatcher", "timer-executor"];

/// When the timers are due.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimerPlan {
    pub(crate) timers: usize,
    pub(crate) first_due: Timestamp,
    pub(crate) window_ms: i64,
}

impl TimerPlan {
    /// `options.timers` timers, the first due `options.lead_s` after `from`.
    pub(crate) fn new(options: &Options, from: Timestamp) -> Self {
        Self {
            timers: options.timers,
            first_due: from.plus_millis(options.lead_s as i64 * 1000),
            window_ms: options.window_s as i64 * 1000,
        }
    }

    /// When the bench stops waiting for the last timer.
    pub(crate) fn deadline(&self) -> Timestamp {
        self.first_due.plus_millis(self.window_ms + 120_000)
    }
}

/// Runs the timer scenario.
pub(crate) async fn run(options: &Options) -> Result<(), String> {
    let setup = Setup::new().await?;
    let plan = TimerPlan::new(options, setup.started_at);
    println!(
        "bench: {} timers due over {} s from {} (stack {})",
        options.timers, options.window_s, plan.first_due, setup.stack.name
    );
    store_campaigns(&setup, &plan, setup.started_at).await?;

    // Run the functions like `make local`.
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let specs = setup.specs_of(&TIMER_FUNCTIONS, 1);
    let latency = RequestLatency::new();
    let running = Running::start(
        &specs,
        &latency.sdk_config(&setup.sdk_config),
        &runtime_options(options, None),
        shutdown,
    )
    .await?;
    let watch = StartedWatch::spawn(&setup);
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let count = watch.count_except(None);
        println!("  fired {count}/{}", options.timers);
        if count >= options.timers || Timestamp::now() > plan.deadline() {
            break;
        }
    }
    let _ = stop.send(true);
    let (requests, platform) = (running.requests.clone(), running.platform.clone());
    let usage = running.usage.clone();
    running.stopped().await;
    watch.stop();
    let fired = running_campaigns(&setup.services, None).await?;
    let work = TimerWork {
        ours: requests.snapshot(),
        platform: platform.snapshot(),
        latency: latency.stats(),
        usage: usage.snapshot(),
    };
    let result = result(options, &setup, &plan, &fired, work);
    print_result(&result);
    let path = write_result(&result.started_at, "", &result)?;
    crate::docs::write()?;
    println!("written: {} and docs/benchmarks.md", path.display());
    if result.fired < result.timers {
        return Err(format!(
            "only {} of {} timers fired",
            result.fired, result.timers
        ));
    }
    Ok(())
}

/// Stores the plan's campaigns: START due uniformly over the window, END a day later; says
/// how long it took since `since`.
pub(crate) async fn store_campaigns(
    setup: &Setup,
    plan: &TimerPlan,
    since: Timestamp,
) -> Result<(), String> {
    let created = futures_util::stream::iter(0..plan.timers)
        .map(|i| {
            let store = setup.services.store.clone();
            let due = plan
                .first_due
                .plus_millis(plan.window_ms * i as i64 / plan.timers as i64);
            let created_at = setup.started_at;
            async move {
                let campaign = Campaign {
                    id: CampaignId::generate(),
                    name: format!("bench {i}"),
                    status: CampaignStatus::Scheduled,
                    start_at: due,
                    end_at: due.plus_millis(86_400_000),
                    claim_until: None,
                    reward_reminder_at: None,
                    delivery: None,
                    schedule: None,
                    series_progress: Default::default(),
                    version: 1,
                    created_at,
                    updated_at: created_at,
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
        plan.timers,
        setup_done.millis_since(since) as f64 / 1000.0
    );
    if setup_done > plan.first_due {
        println!("warning: setup outlasted --lead; the first timers start late (raise --lead)");
    }
    Ok(())
}

/// The RUNNING campaigns, except `except`.
pub(crate) async fn running_campaigns(
    services: &Services,
    except: Option<&str>,
) -> Result<Vec<Campaign>, String> {
    let mut campaigns = Vec::new();
    let mut page = None;
    loop {
        let result = services
            .store
            .list_campaigns(CampaignStatus::Running, 100, page.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        campaigns.extend(
            result
                .campaigns
                .into_iter()
                .filter(|c| except.is_none_or(|id| c.id.to_string() != id)),
        );
        match result.next {
            Some(next) => page = Some(next),
            None => return Ok(campaigns),
        }
    }
}

/// Lag from dueAt to commit of each fired campaign, in milliseconds.
pub(crate) fn lags(fired: &[Campaign]) -> Vec<i64> {
    fired
        .iter()
        .map(|c| c.updated_at.millis_since(c.start_at))
        .collect()
}

/// What the timer functions did over a run, as the runtime metered it.
pub(crate) struct TimerWork {
    /// The functions' request counts by operation.
    pub(crate) ours: BTreeMap<String, u64>,
    /// The event source polling's.
    pub(crate) platform: BTreeMap<String, u64>,
    /// The functions' request times.
    pub(crate) latency: BTreeMap<String, LagStats>,
    /// Each function's CPU and duration.
    pub(crate) usage: BTreeMap<String, Usage>,
}

/// The timer result of `fired`, with the timer functions' `work`.
pub(crate) fn result(
    options: &Options,
    setup: &Setup,
    plan: &TimerPlan,
    fired: &[Campaign],
    work: TimerWork,
) -> BenchResult {
    let TimerWork {
        ours,
        mut platform,
        latency,
        usage,
    } = work;
    let last_fire = fired
        .iter()
        .map(|c| c.updated_at)
        .max()
        .unwrap_or(plan.first_due);
    let count = fired.len().max(1) as f64;
    let per_timer = |counts: &BTreeMap<String, u64>, platform: bool| -> BTreeMap<String, f64> {
        counts
            .iter()
            .filter(|(op, _)| PLATFORM_OPERATIONS.contains(&op.as_str()) == platform)
            .map(|(op, n)| (op.clone(), round(*n as f64 / count)))
            .collect()
    };
    for op in PLATFORM_OPERATIONS {
        if let Some(n) = ours.get(op) {
            *platform.entry(op.to_owned()).or_default() += n;
        }
    }
    let requests = per_timer(&ours, false);
    let lags = lags(fired);
    BenchResult {
        started_at: setup.started_at.to_rfc3339(),
        code: crate::results::code_version(),
        endpoint: aws_env::endpoint(),
        timers: options.timers,
        window_seconds: options.window_s,
        fired: fired.len(),
        lag_ms: LagStats::of(lags.clone()),
        fired_per_second: round(
            count / (last_fire.millis_since(plan.first_due).max(1) as f64 / 1000.0),
        ),
        requests_per_fired_timer_total: round(requests.values().sum()),
        requests_per_fired_timer: requests,
        platform_requests_per_fired_timer: per_timer(&platform, true),
        scans: ours.get("DynamoDB.Scan").copied().unwrap_or(0),
        request_latency_ms: latency,
        lag_histogram_ms: crate::distribution::lag_histogram(&lags),
        cpu_per_fired_timer: Some(FunctionTime::per(&usage, count)),
    }
}

/// Prints a timer result.
pub(crate) fn print_result(r: &BenchResult) {
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
    if let Some(cpu) = &r.cpu_per_fired_timer {
        println!("CPU per fired timer: {}", cpu.summary());
    }
    print_latency(&r.request_latency_ms);
}

/// Prints the timer functions' request times.
pub(crate) fn print_latency(latency: &BTreeMap<String, LagStats>) {
    println!("the timer functions' request times (p50 / p99 / max):");
    for (op, t) in latency {
        println!("  {op:<32} {} / {} / {} ms", t.p50, t.p99, t.max);
    }
}
