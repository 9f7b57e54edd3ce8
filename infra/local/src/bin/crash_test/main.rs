//! `make crash-test`: kills the local service for real, again and again, under a steady load
//! of campaigns, then proves nothing was lost or applied twice.
//!
//! Each run starts the `local` binary (the whole service) as a child process and creates
//! campaigns through its HTTP API: three delivering campaigns starting in a second (email,
//! webhook, event; [`deliveries`]), a recurring campaign every 2 seconds for 12 ([`series`]),
//! then campaigns with timers due a few seconds ahead (some
//! sent by the API, some by the dispatcher). Then the child dies: either a named crash point
//! aborts it (`CRASH_AT`, cycling through [`lifecycle_adapters::crash::POINTS`], timer and
//! delivery points in turn) or it gets a SIGKILL at a random moment, mostly while runs plan
//! and send. A clean child is started and the run measures the **recovery time**: from the
//! death to the moment every timer due before it is COMPLETED or CANCELLED. Delivery runs
//! are not waited for run by run (a batch whose sender died stays leased for 120 s): they
//! finish in the later runs' children, and their recovery (from the last death each went
//! through to its completion) is reported at the end.
//!
//! After the last run the service runs until every delivery run is over, one more sweep runs,
//! and the invariants are checked from the store, from the SQS queue subscribed to the bus
//! and from where the deliveries arrived:
//! - every timer due before the end is COMPLETED or CANCELLED with a reason;
//! - each campaign transition happened exactly once (one `eventId` per move, and the
//!   campaign's version counts exactly its moves);
//! - every transition's event was published at least once;
//! - no campaign's status disagrees with the clock;
//! - every delivery run COMPLETED with its counts adding up, every recipient delivered at
//!   least once (or settled UNCONFIRMED), more than once only if counted ambiguous
//!   ([`deliveries`]);
//! - every occurrence of every series has exactly one run record with a terminal status, none
//!   started twice, its timer done ([`series`]);
//! - every AWS call each function made is allowed by its policy in template.yaml (IAM check).
//!
//! Options: `--runs N` (default 10: every crash point once; more alternate crash points with
//! random SIGKILLs), `--campaigns N` timer campaigns per run (default 4). Child logs go to
//! `.local/crash-test/`. Exit status 1 if an invariant fails or a call is denied.
//!
//! `--defaults` runs the other mode, [`defaults`]: the template's default settings (no fast
//! schedules or short thresholds), `--campaigns N` (default 30) under load and `--kills N`
//! (default 4) SIGKILLs, measuring per campaign the time from its last scheduled end to its
//! end state.
//!
//! Either mode saves its summary with every run's (or campaign's) recovery time: with
//! `--record` in `bench/crash-results/`, the many-runs mode also redrawing
//! `docs/plots/crash-recovery.svg`; without, in the child logs' directory ([`record`]).
//! `--plot-only` runs nothing: it redraws the figure from the stored summaries.

mod defaults;
mod deliveries;
mod record;
mod series;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Duration;

use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::{Campaign, CampaignStatus};
use local_stack::harness::{
    GRACE_MS, Harness, free_port, invariants_hold, latest_due, percentile, post, post_answer,
    stop_gracefully, wait_exit, wait_for_api, wait_recovered,
};
use serde_json::json;

use crate::deliveries::{DeliveryLoad, wait_runs_over};

/// A run fails if recovery takes longer than this.
const RECOVERY_LIMIT: Duration = Duration::from_secs(90);

/// After the last run, every delivery run must be over within this: the sender's 120 s lease
/// of a batch whose sender died and the sweeper's 120 s stall threshold, or, for a batch
/// whose message died with a sender before it took the lease (and is not in its run's last
/// group, which the sweeper queues again), the deliveries queue's 540 s visibility timeout.
const DELIVERY_LIMIT: Duration = Duration::from_secs(600);

/// The crash points in the order the runs go through them: timer and delivery points in
/// turn, so a short suite (`make test`'s six runs) reaches both kinds.
fn rotation() -> Vec<&'static str> {
    let (delivery, timers): (Vec<&str>, Vec<&str>) = lifecycle_adapters::crash::POINTS
        .iter()
        .partition(|point| point.starts_with("planner.") || point.starts_with("sender."));
    let mut order = Vec::new();
    for i in 0..timers.len().max(delivery.len()) {
        order.extend(timers.get(i));
        order.extend(delivery.get(i));
    }
    order
}

struct Options {
    runs: usize,
    campaigns: usize,
    /// Store the summary in `bench/crash-results/` and redraw the figure ([`record`]).
    record: bool,
}

/// The suite's two modes.
enum Mode {
    /// Many short runs with fast settings, cycling through the crash points.
    Runs(Options),
    /// One run with the template's defaults ([`defaults`]).
    Defaults(defaults::Options),
    /// No run: the figure redrawn from the stored summaries.
    PlotOnly,
}

fn parse_options() -> Result<Mode, String> {
    let mut runs = lifecycle_adapters::crash::POINTS.len();
    let mut campaigns = None;
    let mut kills = 4;
    let mut template_defaults = false;
    let mut record = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--defaults" => {
                template_defaults = true;
                continue;
            }
            "--record" => {
                record = true;
                continue;
            }
            "--plot-only" => return Ok(Mode::PlotOnly),
            _ => {}
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
            record,
        })
    } else {
        Mode::Runs(Options {
            runs,
            campaigns: campaigns.unwrap_or(4),
            record,
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
        Mode::PlotOnly => {
            match record::draw_latest(RECOVERY_LIMIT)? {
                Some(path) => println!("written: {}", path.display()),
                None => println!("no stored summary has per-run recovery times: nothing drawn"),
            }
            return Ok(true);
        }
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
    let delivery = DeliveryLoad::start(&harness.clients, &harness.stack_name).await?;

    let mut recoveries = Vec::new();
    let mut finished = BTreeSet::new();
    let mut deaths = Vec::new();
    let mut died = Vec::new();
    let refused = Cell::new(0);
    let points = rotation();
    for run in 0..options.runs {
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
        let mut bodies = delivery.campaigns(run, armed == Some("planner.mid_list"));
        bodies.push(series::campaign(run));
        let load = async {
            if post_all(port, &bodies, &refused).await {
                create_campaigns(port, options.campaigns).await;
            }
        };
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
        died.push(died_at);
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

    // Let everything come due and every delivery run end, sweep once more, then check.
    let last_due = latest_due(services).await?;
    let final_start = tokio::time::Instant::now();
    let mut clean = child.spawn(options.runs, "final", free_port()?, None)?;
    while Timestamp::now() < last_due.plus_millis(GRACE_MS + 2_000) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let _ = wait_recovered(services, Timestamp::now(), &mut finished, RECOVERY_LIMIT).await?;
    let runs_over = wait_runs_over(services, DELIVERY_LIMIT).await?;
    let final_ms = final_start.elapsed().as_millis();
    stop_gracefully(&mut clean).await;
    let started = harness.started;
    let log_dir = harness.log_dir.clone();
    let iam_allowed = harness.check_iam()?;
    let (inspection, clients) = (harness.services.clone(), harness.clients.clone());
    let (report, verdict, events) = harness.finish().await?;
    let delivered = delivery
        .check(&inspection, &clients, &events, &died)
        .await?;
    let recurring = series::check(&inspection, &events).await?;
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
    let mut reached: BTreeMap<&str, usize> = BTreeMap::new();
    for death in &deaths {
        if let Death::CrashPoint {
            point,
            reached: true,
        } = death
        {
            *reached.entry(point).or_default() += 1;
        }
    }
    let while_delivering = |kill: bool| {
        deaths
            .iter()
            .zip(&delivered.open_at_death)
            .filter(|(death, open)| **open && matches!(death, Death::Kill { .. }) == kill)
            .count()
    };
    let summary = json!({
        "startedAt": started.to_rfc3339(),
        "runs": options.runs,
        "campaignsPerRun": options.campaigns,
        "crashPointsExercised": exercised,
        "crashPointsReached": reached,
        "crashPointsNotReached": deaths.iter().filter(|d| matches!(d, Death::CrashPoint { reached: false, .. })).count(),
        "sigkills": deaths.iter().filter(|d| matches!(d, Death::Kill { .. })).count(),
        "deathsWhileRunsOpen": {
            "crashPoints": while_delivering(false),
            "sigkills": while_delivering(true),
        },
        "notRecovered": recoveries.iter().filter(|r| r.is_none()).count(),
        "deliveringCampaignsRefused": refused.get(),
        "recoveryMs": {
            "p50": percentile(&times, 50.0),
            "p95": percentile(&times, 95.0),
            "max": times.last().copied().unwrap_or(0),
        },
        "finalPhaseMs": final_ms,
        "finalSweep": {"success": report.success, "totals": report.totals},
        "invariants": verdict,
        "deliveries": delivered.summary,
        "series": recurring.summary,
        "deliveryRunsOverInTime": runs_over,
        "iamAllowed": iam_allowed,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&summary).unwrap_or_default()
    );
    let ok = invariants_hold(&verdict)
        && delivered.ok
        && recurring.ok
        && runs_over
        && summary["notRecovered"] == 0
        && refused.get() == 0
        && iam_allowed;
    let per_run: Vec<record::RunRecovery> = deaths
        .iter()
        .zip(&recoveries)
        .enumerate()
        .map(|(i, (death, recovery_ms))| record::RunRecovery {
            run: i + 1,
            death: describe(death),
            crash_point: matches!(death, Death::CrashPoint { reached: true, .. }),
            recovery_ms: *recovery_ms,
        })
        .collect();
    let mut summary = summary;
    summary["perRun"] = json!(per_run);
    summary["passed"] = json!(ok);
    let saved = record::save(&summary, "", ok, options.record, &log_dir)?;
    println!(
        "summary with every run's recovery time: {}",
        saved.display()
    );
    if options.record
        && let Some(figure) = record::draw_latest(RECOVERY_LIMIT)?
    {
        println!("figure: {}", figure.display());
    }
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
        delivery: None,
        schedule: None,
        series_progress: Default::default(),
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

/// Posts each campaign body to the child's API, counting (and printing) refusals: the suite's
/// own load must be valid. `false` at the first request that gets no answer (the child may be
/// dying).
async fn post_all(port: u16, bodies: &[String], refused: &Cell<usize>) -> bool {
    for body in bodies {
        match post_answer(port, "/campaigns", body).await {
            Ok((201, _)) => {}
            Ok((status, answer)) => {
                refused.set(refused.get() + 1);
                println!("DELIVERING CAMPAIGN REFUSED: HTTP {status} {answer}");
            }
            Err(_) => return false,
        }
    }
    true
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
