//! The crash suite's recurring campaigns: one per run, every 2 seconds (the `cron` seconds
//! field) for 12 seconds, so each series lives through the run's death and the next child.
//! Even runs skip an occurrence while the previous run delivers, odd runs buffer one; every
//! third run's series has a 3 s `runDuration`, so its windows outlast the 2 s between
//! occurrences and each run holds its series until its RUN_CLOSE fired.
//!
//! After the last run it checks every series: each occurrence inside its window has exactly
//! one run record, with a terminal status (`COMPLETED`, `MISSED`, `SKIPPED_OVERLAP`); the
//! series' timer is COMPLETED and its progress counts every occurrence with nothing left
//! delivering or waiting; each run that started announced it once (one `CampaignRunStarted`
//! id per started run, none for a run that did not start), and each missed or skipped one its
//! `CampaignRunMissed`/`Skipped`. With a `runDuration`, every run that started has its
//! window (`closesAt` = its start + 3 s, at most the campaign's end), closed once
//! (`closedAt`, one `CampaignRunClosed`), the next run starting no earlier than that close,
//! and the RUN_CLOSE timer COMPLETED. That no delivery of a run is lost or doubled, and that
//! runs that did not start sent nothing, is [`crate::deliveries`]' check, which covers every
//! delivering campaign's runs.

use std::collections::{BTreeMap, BTreeSet};

use lifecycle_adapters::services::Services;
use lifecycle_domain::delivery::{RunRecord, RunStatus};
use lifecycle_domain::{Campaign, TimerKind, TimerStatus, Timestamp};
use local_stack::harness::{all_campaigns, percentile};
use serde_json::{Value, json};

/// Seconds between occurrences.
const PERIOD_MS: i64 = 2_000;
/// How long a series lasts.
const SPAN_MS: i64 = 12_000;
/// The `runDuration` of every third series.
const WINDOW_MS: i64 = 3_000;

/// The `POST /campaigns` body of run `run`'s recurring campaign, starting in a second.
pub(crate) fn campaign(run: usize) -> String {
    let start = Timestamp::now().plus_millis(1_000);
    let recipients: Vec<Value> = (0..3)
        .map(|n| json!({"id": format!("s{n}"), "address": format!("series-{run}-{n}")}))
        .collect();
    let mut schedule = json!({
        "cron": "*/2 * * * * *",
        "overlap": if run.is_multiple_of(2) { "skip" } else { "bufferOne" },
    });
    if run % 3 == 2 {
        schedule["runDuration"] = json!(format!("PT{}S", WINDOW_MS / 1000));
    }
    json!({
        "name": format!("crash series {run}"),
        "startAt": start.to_rfc3339(),
        "endAt": start.plus_millis(SPAN_MS).to_rfc3339(),
        "delivery": {"channel": "event", "detail": {"run": run}, "recipients": recipients},
        "schedule": schedule,
    })
    .to_string()
}

/// The outcome of [`check`].
pub(crate) struct SeriesVerdict {
    /// Every invariant held.
    pub ok: bool,
    /// The figures and the violations.
    pub summary: Value,
}

/// Checks every recurring campaign after the last run (the service stopped); `events` are
/// the bus events by id.
pub(crate) async fn check(
    services: &Services,
    events: &BTreeMap<String, Value>,
) -> Result<SeriesVerdict, String> {
    let announced = announced_runs(events);
    let mut problems = Vec::new();
    let mut by_status: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut late_ms = Vec::new();
    let mut series = 0;
    let mut occurrences = 0;
    let mut windows = 0;
    let mut close_late_ms = Vec::new();
    for campaign in all_campaigns(services).await? {
        let Some(schedule) = &campaign.schedule else {
            continue;
        };
        series += 1;
        let expected = expected_occurrences(schedule.start_at, campaign.end_at);
        occurrences += expected.len();
        let runs = all_runs(services, &campaign).await?;
        let name = campaign.id.as_str();
        let scheduled: Vec<Timestamp> = runs.iter().map(|run| run.scheduled_at).collect();
        if scheduled != expected {
            problems.push(format!(
                "SERIES {name}: occurrences {:?}, runs recorded at {:?}",
                millis(&expected),
                millis(&scheduled)
            ));
        }
        for run in &runs {
            *by_status.entry(run.status.as_str()).or_default() += 1;
            let started = run.started_at.is_some();
            if !matches!(
                run.status,
                RunStatus::Completed | RunStatus::Missed | RunStatus::SkippedOverlap
            ) {
                problems.push(format!(
                    "SERIES {name}/{}: {}",
                    run.run_id,
                    run.status.as_str()
                ));
            }
            if let Some(at) = run.started_at {
                late_ms.push(at.millis_since(run.scheduled_at));
            }
            let key = (name.to_owned(), run.run_id.as_str().to_owned());
            let kinds = announced.get(&key).cloned().unwrap_or_default();
            let expected_kind = match run.status {
                RunStatus::Missed => "CampaignRunMissed",
                RunStatus::SkippedOverlap => "CampaignRunSkipped",
                _ => "CampaignRunStarted",
            };
            let closes = schedule.run_duration_ms.is_some() && started;
            if !kinds.contains(expected_kind)
                || (!started && kinds.contains("CampaignRunStarted"))
                || kinds.contains("CampaignRunClosed") != closes
            {
                problems.push(format!(
                    "SERIES {name}/{}: {} announced as {kinds:?}",
                    run.run_id,
                    run.status.as_str()
                ));
            }
        }
        if schedule.run_duration_ms.is_some() {
            windows += check_windows(services, &campaign, &runs, &mut problems)
                .await?
                .into_iter()
                .inspect(|late| close_late_ms.push(*late))
                .count();
        }
        let timer = services
            .store
            .chain_timer(&campaign.id, TimerKind::Occurrence)
            .await
            .map_err(|e| e.to_string())?;
        if timer.as_ref().map(|t| t.status) != Some(TimerStatus::Completed) {
            problems.push(format!(
                "SERIES {name}: OCCURRENCE timer {:?}",
                timer.map(|t| (t.status, t.due_at, t.cancel_reason))
            ));
        }
        let progress = &campaign.series_progress;
        if progress.occurrences != expected.len() as u64
            || progress.active_run.is_some()
            || progress.buffered_run.is_some()
            || progress.next_occurrence.is_some()
        {
            problems.push(format!("SERIES {name}: progress {progress:?}"));
        }
    }
    for problem in problems.iter().take(20) {
        println!("{problem}");
    }
    late_ms.sort_unstable();
    close_late_ms.sort_unstable();
    Ok(SeriesVerdict {
        ok: problems.is_empty() && series > 0,
        summary: json!({
            "series": series,
            "occurrences": occurrences,
            "runsByStatus": by_status,
            "startLateMs": {
                "p50": percentile(&late_ms, 50.0),
                "p95": percentile(&late_ms, 95.0),
                "max": late_ms.last().copied().unwrap_or(0),
            },
            "windows": windows,
            "windowCloseLateMs": {
                "p50": percentile(&close_late_ms, 50.0),
                "p95": percentile(&close_late_ms, 95.0),
                "max": close_late_ms.last().copied().unwrap_or(0),
            },
            "violations": problems.len(),
        }),
    })
}

/// Checks the run windows of `campaign`'s series (`runs` oldest first), adding what is wrong
/// to `problems`; returns how late each window closed (ms after its `closesAt`).
async fn check_windows(
    services: &Services,
    campaign: &Campaign,
    runs: &[RunRecord],
    problems: &mut Vec<String>,
) -> Result<Vec<i64>, String> {
    let name = campaign.id.as_str();
    let mut late = Vec::new();
    let mut previous_close: Option<Timestamp> = None;
    for run in runs {
        let Some(started) = run.started_at else {
            continue;
        };
        let expected = started.plus_millis(WINDOW_MS).min(campaign.end_at);
        match (run.closes_at, run.closed_at) {
            (Some(closes), Some(closed)) if closes == expected && closed >= closes => {
                late.push(closed.millis_since(closes));
            }
            other => problems.push(format!(
                "WINDOW {name}/{}: started {started}, (closesAt, closedAt) {other:?}",
                run.run_id
            )),
        }
        if previous_close.is_some_and(|closed| started < closed) {
            problems.push(format!(
                "WINDOW {name}/{}: started {started} before the window before it closed ({previous_close:?})",
                run.run_id
            ));
        }
        previous_close = run.closed_at;
    }
    let timer = services
        .store
        .chain_timer(&campaign.id, TimerKind::RunClose)
        .await
        .map_err(|e| e.to_string())?;
    let closed = timer.as_ref().map(|t| t.status);
    if !late.is_empty() && closed != Some(TimerStatus::Completed) {
        problems.push(format!(
            "WINDOW {name}: RUN_CLOSE timer {:?}",
            timer.map(|t| (t.status, t.due_at, t.cancel_reason))
        ));
    }
    Ok(late)
}

/// Every `PERIOD_MS` boundary in `[start, end)`.
fn expected_occurrences(start: Timestamp, end: Timestamp) -> Vec<Timestamp> {
    let first = (start.millis() + PERIOD_MS - 1).div_euclid(PERIOD_MS) * PERIOD_MS;
    (0..)
        .map(|n| Timestamp::from_millis(first + n * PERIOD_MS))
        .take_while(|at| *at < end)
        .collect()
}

/// Every run of `campaign`, oldest first.
async fn all_runs(services: &Services, campaign: &Campaign) -> Result<Vec<RunRecord>, String> {
    let mut runs = Vec::new();
    let mut page = None;
    loop {
        let result = services
            .store
            .list_runs(&campaign.id, 100, page.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        runs.extend(result.runs);
        match result.next {
            Some(next) => page = Some(next),
            None => break,
        }
    }
    runs.reverse();
    Ok(runs)
}

/// The run event kinds seen on the bus, by (campaign, run).
fn announced_runs(
    events: &BTreeMap<String, Value>,
) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut announced: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for event in events.values() {
        let kind = event["detail-type"].as_str().unwrap_or_default();
        if !matches!(
            kind,
            "CampaignRunStarted" | "CampaignRunMissed" | "CampaignRunSkipped" | "CampaignRunClosed"
        ) {
            continue;
        }
        let detail = &event["detail"];
        let key = (
            detail["campaignId"].as_str().unwrap_or_default().to_owned(),
            detail["runId"].as_str().unwrap_or_default().to_owned(),
        );
        announced.entry(key).or_default().insert(kind.to_owned());
    }
    announced
}

fn millis(times: &[Timestamp]) -> Vec<i64> {
    times.iter().map(|at| at.millis() % 100_000).collect()
}
