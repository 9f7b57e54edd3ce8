//! What a suite run leaves behind: its summary (the JSON it prints) with the recovery time of
//! every run (`perRun`; the defaults mode: of every campaign, `recoveriesMs`) and whether it
//! passed. With `--record` (`make crash-test`, whose `RECORD` is 1 unless told otherwise) the
//! summary goes to `bench/crash-results/<startedAt>[-defaults][-failed].json` and the many-runs
//! mode redraws `docs/plots/crash-recovery.svg` from the latest stored summary that has
//! `perRun`; without it (`make test`'s short run passes `RECORD=0`) the summary goes to the
//! child logs' directory, `.local/<kind>/<stack>/summary.json`, and the tree stays as it was.

use std::path::{Path, PathBuf};
use std::time::Duration;

use local_stack::harness::percentile;
use local_stack::svg_plot::{Chart, LegendEntry, Mark, Shape, XAxis, color, format_number};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One run of the many-runs mode, as stored in its summary's `perRun`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunRecovery {
    /// The run's number, from 1.
    pub(crate) run: usize,
    /// How its child died (`crash point executor.mid_batch`, `SIGKILL after 1234 ms` …).
    pub(crate) death: String,
    /// Whether a crash point aborted the child (else a SIGKILL killed it).
    pub(crate) crash_point: bool,
    /// From the death to every timer due before it done; `None`: not within the limit.
    pub(crate) recovery_ms: Option<i64>,
}

/// The repository's root directory.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where `--record` stores summaries.
fn results_dir() -> PathBuf {
    repo_root().join("bench/crash-results")
}

/// Where the figure goes.
fn figure_path() -> PathBuf {
    repo_root().join("docs/plots/crash-recovery.svg")
}

/// Writes `summary` (whose `startedAt` names the file) as described in the module
/// documentation; `suffix` tells the mode's files apart (`-defaults`). Returns the path.
pub(crate) fn save(
    summary: &Value,
    suffix: &str,
    passed: bool,
    record: bool,
    log_dir: &Path,
) -> Result<PathBuf, String> {
    let path = if record {
        let started = summary["startedAt"]
            .as_str()
            .unwrap_or("unknown")
            .replace(':', "-");
        let failed = if passed { "" } else { "-failed" };
        results_dir().join(format!("{started}{suffix}{failed}.json"))
    } else {
        log_dir.join("summary.json")
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let json = serde_json::to_string_pretty(summary).map_err(|e| e.to_string())?;
    std::fs::write(&path, json + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Redraws `docs/plots/crash-recovery.svg` from the latest stored summary with `perRun`;
/// returns its path, or `None` when no stored summary has them.
pub(crate) fn draw_latest(limit: Duration) -> Result<Option<PathBuf>, String> {
    let dir = results_dir();
    let mut summaries: Vec<Value> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .filter_map(|text| serde_json::from_str::<Value>(&text).ok())
        .filter(|summary| summary["perRun"].is_array())
        .collect();
    summaries.sort_by(|a, b| a["startedAt"].as_str().cmp(&b["startedAt"].as_str()));
    let Some(latest) = summaries.last() else {
        return Ok(None);
    };
    let runs: Vec<RunRecovery> = serde_json::from_value(latest["perRun"].clone())
        .map_err(|e| format!("perRun of {}: {e}", latest["startedAt"]))?;
    let path = figure_path();
    local_stack::svg_plot::write(&path, &recovery_chart(latest, &runs, limit).render())?;
    Ok(Some(path))
}

/// Seconds of `ms`, to one decimal.
fn seconds(ms: i64) -> String {
    format!("{} s", format_number(ms as f64 / 1000.0, 1))
}

/// Each run's recovery time by run number, crash points and SIGKILLs told apart, a run that
/// did not recover drawn at `limit`; the p50 and p95 of the recovered runs as lines.
fn recovery_chart(summary: &Value, runs: &[RunRecovery], limit: Duration) -> Chart {
    let limit_ms = limit.as_millis() as i64;
    let mut times: Vec<i64> = runs.iter().filter_map(|r| r.recovery_ms).collect();
    times.sort_unstable();
    let not_recovered = runs.len() - times.len();
    let mut marks: Vec<Mark> = runs
        .iter()
        .map(|r| {
            let (color, shape) = match (r.recovery_ms, r.crash_point) {
                (None, _) => (color::RED, Shape::Cross),
                (Some(_), true) => (color::BLUE, Shape::Circle),
                (Some(_), false) => (color::ORANGE, Shape::Square),
            };
            Mark::Point {
                x: r.run as f64,
                y: r.recovery_ms.unwrap_or(limit_ms) as f64 / 1000.0,
                color,
                shape,
            }
        })
        .collect();
    let (p50, p95) = (percentile(&times, 50.0), percentile(&times, 95.0));
    marks.push(Mark::HLine {
        y: p50 as f64 / 1000.0,
        color: color::GREEN,
        label: format!("p50 {}", seconds(p50)),
    });
    marks.push(Mark::HLine {
        y: p95 as f64 / 1000.0,
        color: color::RED,
        label: format!("p95 {}", seconds(p95)),
    });
    let mut legend = vec![
        LegendEntry {
            label: "crash point".into(),
            color: color::BLUE,
            shape: Shape::Circle,
        },
        LegendEntry {
            label: "SIGKILL".into(),
            color: color::ORANGE,
            shape: Shape::Square,
        },
    ];
    if not_recovered > 0 {
        legend.push(LegendEntry {
            label: format!("not recovered within {} (drawn there)", seconds(limit_ms)),
            color: color::RED,
            shape: Shape::Cross,
        });
    }
    let highest = times.last().copied().unwrap_or(0);
    let verdict = match summary["passed"].as_bool() {
        Some(true) => "PASSED",
        Some(false) => "FAILED",
        None => "verdict not recorded",
    };
    Chart {
        title: "Crash suite: recovery time of each run".into(),
        subtitle: format!(
            "{} runs from {}, {}; max {}",
            runs.len(),
            summary["startedAt"].as_str().unwrap_or("an unknown time"),
            verdict,
            seconds(highest)
        ),
        x_axis: XAxis::Linear {
            min: 0.0,
            max: runs.iter().map(|r| r.run).max().unwrap_or(1) as f64,
        },
        x_label: "run (a death, then a clean child until every timer due before it is done)".into(),
        y_label: "recovery time (s)".into(),
        y_max: if not_recovered > 0 {
            highest.max(limit_ms)
        } else {
            highest
        } as f64
            / 1000.0,
        marks,
        legend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(run: usize, crash_point: bool, recovery_ms: Option<i64>) -> RunRecovery {
        RunRecovery {
            run,
            death: if crash_point {
                "crash point api.after_create".into()
            } else {
                "SIGKILL after 900 ms".into()
            },
            crash_point,
            recovery_ms,
        }
    }

    fn points(chart: &Chart) -> Vec<(f64, f64, Shape)> {
        chart
            .marks
            .iter()
            .filter_map(|m| match m {
                Mark::Point { x, y, shape, .. } => Some((*x, *y, *shape)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn each_run_is_a_point_by_its_death_and_the_percentiles_are_lines() {
        let runs: Vec<RunRecovery> = (1..=20)
            .map(|i| run(i, i % 2 == 1, Some(i as i64 * 1000)))
            .collect();
        let summary = serde_json::json!({"startedAt": "2026-12-04T10:00:00Z", "passed": true});
        let chart = recovery_chart(&summary, &runs, Duration::from_secs(90));
        let points = points(&chart);
        assert_eq!(points.len(), 20);
        assert_eq!(points[0], (1.0, 1.0, Shape::Circle));
        assert_eq!(points[1], (2.0, 2.0, Shape::Square));
        let lines: Vec<(f64, &str)> = chart
            .marks
            .iter()
            .filter_map(|m| match m {
                Mark::HLine { y, label, .. } => Some((*y, label.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(lines, [(10.0, "p50 10.0 s"), (19.0, "p95 19.0 s")]);
        assert_eq!(chart.y_max, 20.0);
        assert_eq!(
            chart.x_axis,
            XAxis::Linear {
                min: 0.0,
                max: 20.0
            }
        );
        assert_eq!(chart.legend.len(), 2);
        assert!(chart.subtitle.contains("20 runs") && chart.subtitle.contains("PASSED"));
    }

    #[test]
    fn a_run_that_did_not_recover_is_drawn_at_the_limit() {
        let runs = vec![run(1, true, Some(4000)), run(2, false, None)];
        let summary = serde_json::json!({"startedAt": "2026-12-04T10:00:00Z", "passed": false});
        let chart = recovery_chart(&summary, &runs, Duration::from_secs(90));
        assert_eq!(points(&chart)[1], (2.0, 90.0, Shape::Cross));
        assert_eq!(chart.y_max, 90.0);
        assert_eq!(chart.legend.len(), 3);
        assert!(chart.subtitle.contains("FAILED"));
    }

    #[test]
    fn the_record_round_trips_through_the_summary_json() {
        let runs = vec![run(1, true, Some(3200)), run(2, false, None)];
        let json = serde_json::to_value(&runs).expect("json");
        assert_eq!(
            json[1],
            serde_json::json!({"run": 2, "death": "SIGKILL after 900 ms", "crashPoint": false, "recoveryMs": null})
        );
        let back: Vec<RunRecovery> = serde_json::from_value(json).expect("parsed");
        assert_eq!(back, runs);
    }

    #[test]
    fn without_record_the_summary_stays_in_the_log_directory() {
        let dir = std::env::temp_dir().join(format!("crash-record-test-{}", std::process::id()));
        let summary = serde_json::json!({"startedAt": "2026-12-04T10:00:00Z", "perRun": []});
        let path = save(&summary, "", true, false, &dir).expect("saved");
        assert_eq!(path, dir.join("summary.json"));
        let stored: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(stored, summary);
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
