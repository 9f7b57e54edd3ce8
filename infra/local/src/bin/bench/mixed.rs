//! The mixed scenario: the timer scenario while a bulk send is under way. The bulk campaign is
//! created first (its START waits on the timers queue), then the timer campaigns are stored,
//! then the timer functions start, as in the timer scenario (the dispatcher's first tick
//! finds the stored timers): the executor fires the bulk START first, the planner and sender
//! send while the timers come due. Reported: the timers' lag, all of them and those due
//! while the run was sending, and the timer functions' request times, beside the solo
//! figures in `docs/benchmarks.md`.

use std::time::{Duration, Instant};

use lifecycle_domain::Timestamp;
use local_stack::aws_env;

use crate::Options;
use crate::bulk::{Api, BulkSend, DELIVERY_FUNCTIONS, start_send};
use crate::latency::RequestLatency;
use crate::results::{LagStats, MixedResult, write_result};
use crate::setup::{Running, Setup, StartedWatch, free_address, runtime_options};
use crate::timers::{self, TIMER_FUNCTIONS, TimerPlan, lags, running_campaigns, store_campaigns};

/// Runs the mixed scenario.
pub(crate) async fn run(options: &Options) -> Result<(), String> {
    let setup = Setup::new().await?;
    println!(
        "bench mixed: {} timers over {} s while {} recipients are sent (EMAIL_SEND_RATE {} /s, stack {})",
        options.timers, options.window_s, options.recipients, options.send_rate, setup.stack.name
    );
    let api_addr = free_address()?;
    let runtime = runtime_options(options, Some(api_addr));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let latency = RequestLatency::new();
    let timed_config = latency.sdk_config(&setup.sdk_config);
    let start = |binaries: &'static [&'static str], config: &aws_config::SdkConfig| {
        let specs = setup.specs_of(binaries, options.send_rate);
        let (runtime, shutdown, config) = (&runtime, shutdown.clone(), config.clone());
        async move { Running::start(&specs, &config, runtime, shutdown).await }
    };
    let api_functions = start(&["api"], &setup.sdk_config).await?;
    let delivery = start(&DELIVERY_FUNCTIONS, &setup.sdk_config).await?;
    let watch = StartedWatch::spawn(&setup);
    let api = Api::new(api_addr);
    let send = start_send(&setup, &api, options.recipients).await?;

    let stored_from = Timestamp::now();
    let plan = TimerPlan::new(options, stored_from);
    println!(
        "bench: {} timers due over {} s from {} (stack {})",
        options.timers, options.window_s, plan.first_due, setup.stack.name
    );
    store_campaigns(&setup, &plan, stored_from).await?;
    let timer_functions = start(&TIMER_FUNCTIONS, &timed_config).await?;
    let give_up = Instant::now() + options.patience();
    let run = loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let fired = watch.count_except(Some(&send.campaign_id));
        let run = send.read(&api).await?;
        println!(
            "  fired {fired}/{}, {}",
            options.timers,
            send.progress(&run)
        );
        let timers_done = fired >= options.timers || Timestamp::now() > plan.deadline();
        if timers_done && (BulkSend::over(&run) || Instant::now() > give_up) {
            break run;
        }
    };
    let _ = stop.send(true);
    let counts = (
        timer_functions.requests.clone(),
        timer_functions.platform.clone(),
        timer_functions.usage.clone(),
    );
    for running in [api_functions, delivery, timer_functions] {
        running.stopped().await;
    }
    watch.stop();

    let fired = running_campaigns(&setup.services, Some(&send.campaign_id)).await?;
    let work = timers::TimerWork {
        ours: counts.0.snapshot(),
        platform: counts.1.snapshot(),
        latency: latency.stats(),
        usage: counts.2.snapshot(),
    };
    let timer_result = timers::result(options, &setup, &plan, &fired, work);
    let parse = |t: &Option<String>| t.as_deref().and_then(|t| Timestamp::parse_rfc3339(t).ok());
    let (send_start, send_end) = (parse(&run.started_at), parse(&run.completed_at));
    let during: Vec<_> = fired
        .iter()
        .filter(|c| send_start.is_some_and(|start| c.start_at >= start))
        .filter(|c| send_end.is_none_or(|end| c.start_at <= end))
        .cloned()
        .collect();
    let result = MixedResult {
        scenario: "mixed".into(),
        started_at: setup.started_at.to_rfc3339(),
        code: crate::results::code_version(),
        endpoint: aws_env::endpoint(),
        timers: options.timers,
        window_seconds: options.window_s,
        fired: fired.len(),
        lag_ms: timer_result.lag_ms,
        due_during_send: during.len(),
        lag_during_send_ms: (!during.is_empty()).then(|| LagStats::of(lags(&during))),
        requests_per_fired_timer_total: timer_result.requests_per_fired_timer_total,
        request_latency_ms: timer_result.request_latency_ms.clone(),
        recipients: options.recipients,
        send_rate: options.send_rate,
        pollers: options.pollers,
        run,
    };
    timers::print_result(&timer_result);
    if let Some(lag) = &result.lag_during_send_ms {
        println!(
            "lag of the {} timers due while the run was sending: p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
            result.due_during_send, lag.p50, lag.p95, lag.p99, lag.max
        );
    }
    println!(
        "bulk run {}: {} sent of {} in {:.1} s: {:.1} recipients/s",
        result.run.status,
        result.run.sent,
        result.run.total,
        result.run.send_seconds,
        result.run.recipients_per_second
    );
    let path = write_result(&result.started_at, "-mixed", &result)?;
    crate::docs::write()?;
    println!("written: {} and docs/benchmarks.md", path.display());
    if result.fired < result.timers || !BulkSend::over(&result.run) {
        return Err(format!(
            "{} of {} timers fired; the run is {}",
            result.fired, result.timers, result.run.status
        ));
    }
    Ok(())
}
