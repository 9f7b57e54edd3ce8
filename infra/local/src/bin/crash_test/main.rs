//! `make crash-test`: kills the local service for real, again and again, under a steady load
//! of campaigns, then proves nothing was lost or applied twice.
//!
//! Each run starts the `local` binary (the whole service) as a child process and creates
//! campaigns through its HTTP API, with timers due a few seconds ahead (some sent by the API,
//! some by the dispatcher). Then the child dies: either a named crash point aborts it
//! (`CRASH_AT`, cycling through [`lifecycle_adapters::crash::POINTS`]) or it gets a SIGKILL at a random
//! moment. A clean child is started and the run measures the **recovery time**: from the
//! death to the moment every timer due before it is COMPLETED or CANCELLED.
//!
//! After the last run one more sweep runs and the invariants are checked from the store and
//! from the SQS queue subscribed to the bus:
//! - every timer due before the end is COMPLETED or CANCELLED with a reason;
//! - each campaign transition happened exactly once (one `eventId` per move, and the
//!   campaign's version counts exactly its moves);
//! - every transition's event was published at least once;
//! - no campaign's status disagrees with the clock;
//! - every AWS call each function made is allowed by its policy in template.yaml (IAM check).
//!
//! Options: `--runs N` (default 6: every crash point once; more alternate crash points with
//! random SIGKILLs), `--campaigns N` per run (default 4). Child logs go to
//! `.local/crash-test/`. Exit status 1 if an invariant fails or a call is denied.
//!
//! `--defaults` runs the other mode, [`defaults`]: the template's default settings (no fast
//! schedules or short thresholds), `--campaigns N` (default 30) under load and `--kills N`
//! (default 4) SIGKILLs, measuring per campaign the time from its last scheduled end to its
//! end state.

mod defaults;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::{Campaign, CampaignStatus};
use local_stack::harness::{
    GRACE_MS, Harness, free_port, invariants_hold, latest_due, percentile, post, stop_gracefully,
    wait_exit, wait_for_api, wait_recovered,
};
use serde_json::json;

/// A run fails if recovery takes longer than this.
const RECOVERY_LIMIT: Duration = Duration::from_secs(90);

struct Options {
    runs: usize,
    campaigns: usize,
}

/// The suite's two modes.
enum Mode {
    /// Many short runs with fast settings, cycling through the crash points.
    Runs(Options),
    /// One run with the template's defaults ([`defaults`]).
    Defaults(defaults::Options),
}

fn parse_options() -> Result<Mode, String> {
    let mut runs = lifecycle_adapters::crash::POINTS.len();
    let mut campaigns = None;
    let mut kills = 4;
    let mut template_defaults = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--defaults" {
            template_defaults = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number: usize = value
            .parse()
            .map_err(|_| format!("{flag}: {value:?} is not a number"))?;
        match flag.as_str() {
            "--runs" => runs = number.max(1),
            "--campaigns" => campaigns = Some(number.max(1)),
            "--kills" => kills = number,
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(if template_defaults {
        Mode::Defaults(defaults::Options {
            campaigns: campaigns.unwrap_or(30),
            kills,
        })
    } else {
        Mode::Runs(Options {
            runs,
            campaigns: campaigns.unwrap_or(4),
        })
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    lifecycle_telemetry::logging::init_stderr();
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
    let options = match parse_options()? {
        Mode::Runs(options) => options,
        Mode::Defaults(options) => return defaults::run(options).await,
    };
    let harness = Harness::prepare("crash-test").await?;
    let services = &harness.services;
    println!(
        "crash-test: {} runs, {} campaigns each, stack {}, child logs in {}",
        options.runs,
        options.campaigns,
        harness.stack_name,
        harness.log_dir.display()
    );
    let child = harness.child(Vec::new())?;

    let mut recoveries = Vec::new();
    let mut finished = BTreeSet::new();
    let mut deaths = Vec::new();
    for run in 0..options.runs {
        let points = lifecycle_adapters::crash::POINTS;
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
        store_missed_campaign(services).await?;
        let mut crashing = child.spawn(run, "crash", port, armed)?;
        let listening = wait_for_api(port, &mut crashing).await?;
        let kill_after_ms = 300 + lifecycle_domain::jitter::millis(5_000);
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
        let recovered = wait_recovered(services, died_at, &mut finished, RECOVERY_LIMIT).await?;
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
    let last_due = latest_due(services).await?;
    let mut clean = child.spawn(options.runs, "final", free_port()?, None)?;
    while Timestamp::now() < last_due.plus_millis(GRACE_MS + 2_000) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = wait_recovered(services, Timestamp::now(), &mut finished, RECOVERY_LIMIT).await?;
    stop_gracefully(&mut clean).await;
    let started = harness.started;
    let iam_allowed = harness.check_iam()?;
    let (report, verdict, _) = harness.finish().await?;
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
        "iamAllowed": iam_allowed,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    let ok = invariants_hold(&verdict) && summary["notRecovered"] == 0 && iam_allowed;
    println!("crash-test: {}", if ok { "PASSED" } else { "FAILED" });
    Ok(ok)
}

/// Stores a campaign (no API, so no direct send) whose START was due 5 s ago.
async fn store_missed_campaign(services: &Services) -> Result<(), String> {
    let now = Timestamp::now();
    let campaign = Campaign {
        id: lifecycle_domain::CampaignId::generate(),
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
    let timers = lifecycle_domain::timer_plan::plan_timers(&campaign);
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
        let start = base.plus_millis(1_000 * (1 + lifecycle_domain::jitter::millis(5) as i64));
        // The first two end 400 ms apart in the same second, beyond the API's direct-send
        // window: the dispatcher sends both CLOSE timers in one message, so one executor batch
        // applies one while the other still waits (the mid-batch crash point).
        let end = if i < 2 {
            base.plus_millis(12_000 + 400 * i as i64)
        } else {
            start.plus_millis(1_000 * (2 + lifecycle_domain::jitter::millis(3) as i64))
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
