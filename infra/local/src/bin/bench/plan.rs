//! The planning scenario: the planner's memory on a large list. One email campaign to a stored
//! list of N recipients (default 200,000), as in the bulk scenario, but with only the API,
//! the timer functions and the planner running: the run is planned into batches that nobody
//! sends. The process's peak resident set (`VmHWM`) is reset (`/proc/self/clear_refs`) once
//! the list is uploaded and its buffer freed, then read when the run leaves PLANNING: the
//! growth is what planning the whole list cost in memory, to compare with the list's size.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use local_stack::aws_env;

use crate::Options;
use crate::bulk::{Api, start_send};
use crate::results::{PlanResult, RunFigures, round, write_result};
use crate::setup::{Running, Setup, StartedWatch, free_address, memory_kib, runtime_options};
use crate::timers::TIMER_FUNCTIONS;

/// Time between two progress polls.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Runs the planning scenario.
pub(crate) async fn run(options: &Options) -> Result<(), String> {
    let setup = Setup::new().await?;
    println!(
        "bench plan: {} recipients, planner only (stack {})",
        options.recipients, setup.stack.name
    );
    let api_addr = free_address()?;
    let runtime = runtime_options(options, Some(api_addr));
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut groups = BTreeMap::new();
    for (group, binaries) in [
        ("api", &["api"][..]),
        ("timers", &TIMER_FUNCTIONS[..]),
        ("planner", &["delivery-planner"][..]),
    ] {
        let specs = setup.specs_of(binaries, options.send_rate);
        let running = Running::start(&specs, &setup.sdk_config, &runtime, shutdown.clone()).await?;
        groups.insert(group, running);
    }
    let events = StartedWatch::spawn(&setup);
    let api = Api::new(api_addr);
    let send = start_send(&setup, &api, options.recipients).await?;
    // The list's buffer is freed: from here the peak is what the service holds.
    let rss_at_start_kib = memory_kib("VmRSS");
    reset_peak()?;
    let started = Instant::now();
    let patience = options.patience();
    let mut polls = 0u32;
    let run = loop {
        tokio::time::sleep(POLL_EVERY).await;
        polls += 1;
        let run = send.read(&api).await?;
        if left_planning(&run) || started.elapsed() > patience {
            break run;
        }
        if polls.is_multiple_of(10) {
            println!(
                "  {:>4} s: {} rows planned",
                started.elapsed().as_secs(),
                run.total
            );
        }
    };
    let plan_seconds = round(started.elapsed().as_secs_f64());
    let peak_kib = memory_kib("VmHWM");
    let _ = stop.send(true);
    let planner_requests = groups["planner"].requests.snapshot();
    for (_, running) in groups {
        running.stopped().await;
    }
    events.stop();
    let result = PlanResult {
        scenario: "plan".into(),
        started_at: setup.started_at.to_rfc3339(),
        code: crate::results::code_version(),
        endpoint: aws_env::endpoint(),
        recipients: options.recipients,
        list_bytes: send.list_bytes,
        status: run.status.clone(),
        planned_rows: run.total,
        plan_seconds,
        rss_at_start_kib,
        peak_kib,
        planner_requests,
    };
    print_result(&result);
    let path = write_result(&result.started_at, "-plan", &result)?;
    crate::docs::write()?;
    println!("written: {} and docs/benchmarks.md", path.display());
    if result.planned_rows != result.recipients as u64 || !left_planning(&run) {
        return Err(format!(
            "the run was not planned within {} s ({} of {} rows)",
            patience.as_secs(),
            result.planned_rows,
            result.recipients
        ));
    }
    Ok(())
}

/// Whether the run is planned (its last group committed: SENDING, or over).
fn left_planning(run: &RunFigures) -> bool {
    run.status != "PLANNING" && run.status != "SCHEDULED"
}

/// Resets the process's peak resident set (`VmHWM`) to its current size (Linux ≥ 4.0).
fn reset_peak() -> Result<(), String> {
    std::fs::write("/proc/self/clear_refs", "5")
        .map_err(|e| format!("resetting VmHWM (/proc/self/clear_refs): {e}"))
}

fn print_result(r: &PlanResult) {
    let mib = |kib: Option<u64>| {
        kib.map_or("—".to_owned(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    println!();
    println!(
        "run {}: {} of {} rows planned ({:.1} MB list) in {:.1} s",
        r.status,
        r.planned_rows,
        r.recipients,
        r.list_bytes as f64 / 1e6,
        r.plan_seconds
    );
    println!(
        "process resident set: {} when planning began, peak {} while planning",
        mib(r.rss_at_start_kib),
        mib(r.peak_kib)
    );
    println!("planner requests:");
    for (op, n) in &r.planner_requests {
        println!("  {op:<32} {n}");
    }
}
