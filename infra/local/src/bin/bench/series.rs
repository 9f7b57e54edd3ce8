//! The series scenario: `--series N` recurring campaigns (default 1,000), each every
//! `--period` seconds (10) for `--window` seconds (120), their occurrences spread evenly over
//! the period (series `i` runs at second `i mod period`), each run sending an event to one
//! member. The campaigns are stored RUNNING with their OCCURRENCE timers at their first
//! occurrence; then the whole service runs (dispatcher and executor: the timer group;
//! planner and sender: the delivery group) until every occurrence was handled. Reported:
//! how late each occurrence was handled (its run started, or it was recorded skipped or
//! missed) and how late the started runs started (p50/p95/p99/max), the runs by status, and
//! each group's AWS requests per occurrence by operation.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use lifecycle_domain::delivery::message::EventMessage;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, CampaignDelivery, Message, RecipientList, RunRecord,
};
use lifecycle_domain::recurrence::{Misfire, Overlap, Series, SeriesProgress};
use lifecycle_domain::timer_plan::plan_timers;
use lifecycle_domain::{Campaign, CampaignId, CampaignStatus, TimerKind, Timestamp};
use local_stack::aws_env;

use crate::Options;
use crate::bulk::DELIVERY_FUNCTIONS;
use crate::function_time::FunctionTime;
use crate::results::{LagStats, SeriesResult, per, round, write_result};
use crate::setup::{Running, Setup, StartedWatch, runtime_options};
use crate::timers::TIMER_FUNCTIONS;

/// Runs the series scenario.
pub(crate) async fn run(options: &Options) -> Result<(), String> {
    let setup = Setup::new().await?;
    let period_ms = options.period_s as i64 * 1000;
    let first_due = Timestamp::from_millis(
        (setup.started_at.millis() / period_ms + 1) * period_ms + options.lead_s as i64 * 1000,
    );
    let window_ms = options.window_s as i64 * 1000;
    let per_series = (window_ms / period_ms) as usize;
    println!(
        "bench series: {} series every {} s for {} s from {first_due} ({} occurrences, stack {})",
        options.series,
        options.period_s,
        options.window_s,
        options.series * per_series,
        setup.stack.name
    );
    let ids = store_series(&setup, options, first_due).await?;

    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let runtime = runtime_options(options, None);
    let mut groups = BTreeMap::new();
    for (group, binaries) in [
        ("timers", &TIMER_FUNCTIONS[..]),
        ("delivery", &DELIVERY_FUNCTIONS[..]),
    ] {
        let specs = setup.specs_of(binaries, options.send_rate);
        let running = Running::start(&specs, &setup.sdk_config, &runtime, shutdown.clone()).await?;
        groups.insert(group, running);
    }
    let drain = StartedWatch::spawn(&setup);
    let last_due = first_due.plus_millis(window_ms);
    while Timestamp::now() < last_due.plus_millis(period_ms) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        println!(
            "  {} s to the last occurrence",
            last_due.millis_since(Timestamp::now()).max(0) / 1000
        );
    }
    // Let the last runs finish before the functions stop.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let _ = stop.send(true);
    let mut counts = BTreeMap::new();
    let mut usage = BTreeMap::new();
    for (group, running) in groups {
        counts.insert(group, running.requests.clone());
        usage.extend(running.usage.snapshot());
        running.stopped().await;
    }
    drain.stop();
    let runs = all_runs(&setup, &ids).await?;
    let occurrences = runs.len();
    let mut handled_lag = Vec::new();
    let mut start_lag = Vec::new();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for run in &runs {
        *by_status.entry(run.status.as_str().to_owned()).or_default() += 1;
        if let Some(started) = run.started_at {
            start_lag.push(started.millis_since(run.scheduled_at));
        }
        if let Some(handled) = run.started_at.or(run.completed_at) {
            handled_lag.push(handled.millis_since(run.scheduled_at));
        }
    }
    let basis = occurrences.max(1) as f64;
    let started = start_lag.len();
    let requests: BTreeMap<String, BTreeMap<String, f64>> = counts
        .iter()
        .map(|(group, counter)| ((*group).to_owned(), per(&counter.snapshot(), basis)))
        .collect();
    let result = SeriesResult {
        scenario: "series".into(),
        started_at: setup.started_at.to_rfc3339(),
        code: crate::results::code_version(),
        endpoint: aws_env::endpoint(),
        series: options.series,
        period_seconds: options.period_s,
        window_seconds: options.window_s,
        expected_occurrences: options.series * per_series,
        occurrences,
        runs_by_status: by_status,
        handled_lag_ms: LagStats::of(handled_lag),
        start_lag_ms: LagStats::of(start_lag),
        requests_per_occurrence_total: requests
            .iter()
            .map(|(group, ops)| (group.clone(), round(ops.values().sum())))
            .collect(),
        requests_per_occurrence: requests,
        pollers: options.pollers,
        cpu_per_occurrence: Some(FunctionTime::per(&usage, basis)),
        cpu_per_started_run: Some(FunctionTime::per(&usage, started as f64)),
    };
    print_result(&result);
    let path = write_result(&result.started_at, "-series", &result)?;
    crate::docs::write()?;
    println!("written: {} and docs/benchmarks.md", path.display());
    Ok(())
}

/// Uploads the one-member list every series sends to, then stores the series RUNNING with
/// their OCCURRENCE and CLOSE timers; their ids.
async fn store_series(
    setup: &Setup,
    options: &Options,
    first_due: Timestamp,
) -> Result<Vec<CampaignId>, String> {
    let bucket = setup.reference("ListsBucket")?;
    let key = format!("bench/series-{}.jsonl", setup.started_at.millis());
    setup
        .clients
        .delivery
        .s3
        .put_object()
        .bucket(&bucket)
        .key(&key)
        .body(
            b"{\"id\":\"m1\",\"address\":\"member-1\"}\n"
                .to_vec()
                .into(),
        )
        .send()
        .await
        .map_err(|e| format!("list upload: {e}"))?;
    let list = RecipientList::parse_uri(&format!("s3://{bucket}/{key}"))
        .map_err(|e| format!("list: {e}"))?;
    let window_ms = options.window_s as i64 * 1000;
    let period = options.period_s;
    let since = Timestamp::now();
    let stored = futures_util::stream::iter(0..options.series)
        .map(|i| {
            let store = setup.services.store.clone();
            let list = list.clone();
            let now = setup.started_at;
            async move {
                let series = Series {
                    cron: format!("{}/{period} * * * * *", i as u64 % period),
                    timezone: "UTC".into(),
                    start_at: first_due,
                    end_at: Some(first_due.plus_millis(window_ms - 1)),
                    max_runs: None,
                    run_duration_ms: None,
                    misfire: Misfire::FireOnceNow,
                    overlap: Overlap::Skip,
                };
                let campaign = Campaign {
                    id: CampaignId::generate(),
                    name: format!("bench series {i}"),
                    status: CampaignStatus::Running,
                    start_at: now,
                    end_at: first_due.plus_millis(window_ms + 600_000),
                    claim_until: None,
                    reward_reminder_at: None,
                    delivery: Some(CampaignDelivery {
                        message: Message::Event(EventMessage { detail: None }),
                        list,
                        on_ambiguous: AmbiguousPolicy::Resend,
                    }),
                    series_progress: SeriesProgress {
                        next_occurrence: series.first_occurrence(),
                        ..SeriesProgress::default()
                    },
                    schedule: Some(series),
                    version: 2,
                    created_at: now,
                    updated_at: now,
                };
                let timers: Vec<_> = plan_timers(&campaign)
                    .into_iter()
                    .filter(|t| t.kind != TimerKind::StartCampaign)
                    .collect();
                store
                    .create_campaign(&campaign, &timers)
                    .await
                    .map(|()| campaign.id)
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let ids = stored
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("setup failed: {e}"))?;
    let done = Timestamp::now();
    println!(
        "setup: {} series stored in {:.1} s",
        ids.len(),
        done.millis_since(since) as f64 / 1000.0
    );
    if done > first_due {
        println!("warning: setup outlasted --lead; the first occurrences are late (raise --lead)");
    }
    Ok(ids)
}

/// Every run of the series `ids`.
async fn all_runs(setup: &Setup, ids: &[CampaignId]) -> Result<Vec<RunRecord>, String> {
    let pages = futures_util::stream::iter(ids.iter().cloned())
        .map(|id| {
            let store = setup.services.store.clone();
            async move { store.list_runs(&id, 100, None).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    let mut runs = Vec::new();
    for page in pages {
        runs.extend(page.map_err(|e| e.to_string())?.runs);
    }
    Ok(runs)
}

fn print_result(r: &SeriesResult) {
    println!();
    println!(
        "{} series: {}/{} occurrences handled, by status {:?}",
        r.series, r.occurrences, r.expected_occurrences, r.runs_by_status
    );
    for (name, lag) in [
        ("handled", &r.handled_lag_ms),
        ("run started", &r.start_lag_ms),
    ] {
        println!(
            "lag occurrence → {name}: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
            lag.p50, lag.p95, lag.p99, lag.max
        );
    }
    for (group, total) in &r.requests_per_occurrence_total {
        println!("AWS requests per occurrence, {group}: {total}");
        for (op, n) in &r.requests_per_occurrence[group] {
            println!("  {op:<32} {n}");
        }
    }
    if let Some(cpu) = &r.cpu_per_occurrence {
        println!("CPU per occurrence: {}", cpu.summary());
    }
    if let Some(cpu) = &r.cpu_per_started_run {
        println!("CPU per run started: {}", cpu.summary());
    }
}
