//! What a run stores in `bench/results/`: one JSON file per run. A timer run's file has no
//! `scenario` field (the format of every run before the bulk scenarios); a bulk or mixed run's
//! says `"scenario": "bulk"`, `"mixed"`, `"plan"`, `"series"` or `"init"`. Also the small helpers every scenario uses
//! (percentiles, rounding, the code version, the repository root).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::capacity::CapacityFigures;
use crate::cost::CostPerMillion;
use crate::distribution::Timeline;
use crate::function_time::FunctionTime;

/// One timer run, as stored in `bench/results/*.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BenchResult {
    pub(crate) started_at: String,
    /// The commit the benchmarked code was built from (`git rev-parse --short HEAD`), with
    /// `-dirty` if the tree had changes; absent in runs before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    pub(crate) endpoint: String,
    pub(crate) timers: usize,
    pub(crate) window_seconds: u64,
    pub(crate) fired: usize,
    pub(crate) lag_ms: LagStats,
    pub(crate) fired_per_second: f64,
    /// Our functions' requests per fired timer, by `Service.Operation`.
    pub(crate) requests_per_fired_timer: BTreeMap<String, f64>,
    pub(crate) requests_per_fired_timer_total: f64,
    /// Queue polling Lambda does on AWS, per fired timer.
    pub(crate) platform_requests_per_fired_timer: BTreeMap<String, f64>,
    pub(crate) scans: u64,
    /// How long the timer functions' requests took, by `Service.Operation` (absent in runs
    /// before it was recorded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) request_latency_ms: BTreeMap<String, LagStats>,
    /// Fired timers by lag bucket, keyed by the bucket's upper bound in ms
    /// ([`crate::distribution::lag_histogram`]); absent in runs before it was recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) lag_histogram_ms: BTreeMap<i64, u64>,
    /// The timer functions' CPU per fired timer; absent in runs before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_per_fired_timer: Option<FunctionTime>,
}

/// Lag percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct LagStats {
    pub(crate) p50: i64,
    pub(crate) p95: i64,
    pub(crate) p99: i64,
    pub(crate) max: i64,
}

impl LagStats {
    /// The percentiles of `lags` (sorted here).
    pub(crate) fn of(mut lags: Vec<i64>) -> Self {
        lags.sort_unstable();
        Self {
            p50: percentile(&lags, 50.0),
            p95: percentile(&lags, 95.0),
            p99: percentile(&lags, 99.0),
            max: lags.last().copied().unwrap_or(0),
        }
    }
}

/// What became of a bulk run, read back through `GET /campaigns/{id}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunFigures {
    /// The run's status when the bench stopped waiting (`COMPLETED` unless it ran out of time).
    pub(crate) status: String,
    /// Rows planned so far (the list's rows once `planned`).
    pub(crate) total: u64,
    pub(crate) sent: u64,
    pub(crate) failed: u64,
    /// Planned rows not settled yet.
    pub(crate) pending: u64,
    pub(crate) ambiguous: u64,
    pub(crate) duplicates: u64,
    /// The run's `startedAt`: when its START committed.
    pub(crate) started_at: Option<String>,
    pub(crate) completed_at: Option<String>,
    /// `startedAt` → `completedAt` (or → the last poll when not completed).
    pub(crate) send_seconds: f64,
    /// Settled recipients per second over `send_seconds`.
    pub(crate) recipients_per_second: f64,
    /// `POST /campaigns` → the first poll that saw the run completed.
    pub(crate) post_to_completed_seconds: Option<f64>,
}

impl RunFigures {
    /// Rows settled so far (sent, failed, unconfirmed, duplicate or cancelled).
    pub(crate) fn settled(&self) -> u64 {
        self.total.saturating_sub(self.pending)
    }
}

/// Resident memory of the bench process (which runs every function), from `/proc/self/status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Memory {
    /// `VmHWM` (peak resident set) when the send began, in KiB.
    pub(crate) peak_before_kib: Option<u64>,
    /// `VmHWM` when the run was over, in KiB.
    pub(crate) peak_after_kib: Option<u64>,
    /// The largest `VmRSS` seen at the progress polls, in KiB.
    pub(crate) largest_sampled_kib: Option<u64>,
}

/// One bulk run, as stored in `bench/results/*-bulk.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BulkResult {
    /// Always `bulk`.
    pub(crate) scenario: String,
    pub(crate) started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    pub(crate) endpoint: String,
    /// Rows of the uploaded list.
    pub(crate) recipients: usize,
    /// `EMAIL_SEND_RATE` of the sender (sends a second, shared by every sender).
    pub(crate) send_rate: u32,
    /// SQS pollers per queue (concurrent invocations of each function).
    pub(crate) pollers: usize,
    pub(crate) run: RunFigures,
    /// The delivery functions' (planner and sender) requests per recipient, by
    /// `Service.Operation`, provider calls included.
    pub(crate) requests_per_recipient: BTreeMap<String, f64>,
    pub(crate) requests_per_recipient_total: f64,
    /// Queue polling of the delivery queues by Lambda's event source mapping, per recipient.
    pub(crate) platform_requests_per_recipient: BTreeMap<String, f64>,
    /// Requests of the other functions over the whole run (not per recipient): `timers` (the
    /// campaign's START and the dispatcher's ticks) and `api` (the create and the progress
    /// polls), by `Service.Operation`.
    pub(crate) other_requests: BTreeMap<String, BTreeMap<String, u64>>,
    /// DynamoDB capacity, events and billed queue requests of the delivery functions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) capacity: Option<CapacityFigures>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cost_per_million: Option<CostPerMillion>,
    pub(crate) memory: Memory,
    /// Recipients settled over time from the run's START, by their ledger entries'
    /// `settledAt`; absent in runs before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) settled_timeline: Option<Timeline>,
    /// The delivery functions' CPU per recipient; absent in runs before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_per_recipient: Option<FunctionTime>,
}

/// One mixed run (the timer scenario while a bulk send is under way), as stored in
/// `bench/results/*-mixed.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MixedResult {
    /// Always `mixed`.
    pub(crate) scenario: String,
    pub(crate) started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    pub(crate) endpoint: String,
    pub(crate) timers: usize,
    pub(crate) window_seconds: u64,
    pub(crate) fired: usize,
    /// Lag of every timer campaign.
    pub(crate) lag_ms: LagStats,
    /// Timers due before the run completed (due while the send was under way).
    pub(crate) due_during_send: usize,
    pub(crate) lag_during_send_ms: Option<LagStats>,
    /// The timer functions' requests per fired timer (the bulk campaign's START included).
    pub(crate) requests_per_fired_timer_total: f64,
    /// How long the timer functions' requests took, by `Service.Operation` (absent in runs
    /// before it was recorded).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) request_latency_ms: BTreeMap<String, LagStats>,
    pub(crate) recipients: usize,
    pub(crate) send_rate: u32,
    pub(crate) pollers: usize,
    pub(crate) run: RunFigures,
}

/// One planning run (the planner alone on a large list), as stored in
/// `bench/results/*-plan.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlanResult {
    /// Always `plan`.
    pub(crate) scenario: String,
    pub(crate) started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    pub(crate) endpoint: String,
    /// Rows of the uploaded list.
    pub(crate) recipients: usize,
    /// Size of the list in bytes.
    pub(crate) list_bytes: usize,
    /// The run's status when the bench stopped waiting (SENDING once planned).
    pub(crate) status: String,
    /// Rows planned into batches.
    pub(crate) planned_rows: u64,
    /// The campaign's creation → the poll that saw the run planned (1 s polls).
    pub(crate) plan_seconds: f64,
    /// `VmRSS` of the bench process (every function) when planning began, in KiB.
    pub(crate) rss_at_start_kib: Option<u64>,
    /// `VmHWM` once the run was planned, the peak reset when planning began, in KiB.
    pub(crate) peak_kib: Option<u64>,
    /// The planner's requests over the whole run, by `Service.Operation`.
    pub(crate) planner_requests: BTreeMap<String, u64>,
}

/// One series run (many recurring campaigns), as stored in `bench/results/*-series.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SeriesResult {
    /// Always `series`.
    pub(crate) scenario: String,
    pub(crate) started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    pub(crate) endpoint: String,
    pub(crate) series: usize,
    pub(crate) period_seconds: u64,
    pub(crate) window_seconds: u64,
    /// Occurrences inside the window, over every series.
    pub(crate) expected_occurrences: usize,
    /// Occurrences with a run record.
    pub(crate) occurrences: usize,
    pub(crate) runs_by_status: BTreeMap<String, u64>,
    /// From an occurrence's time to its run's start, or to its record as skipped or missed.
    pub(crate) handled_lag_ms: LagStats,
    /// From an occurrence's time to its run's start (started runs only).
    pub(crate) start_lag_ms: LagStats,
    /// Requests per occurrence by function group (`timers`, `delivery`) and operation.
    pub(crate) requests_per_occurrence: BTreeMap<String, BTreeMap<String, f64>>,
    pub(crate) requests_per_occurrence_total: BTreeMap<String, f64>,
    pub(crate) pollers: usize,
    /// Every function's CPU per occurrence; absent in runs before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_per_occurrence: Option<FunctionTime>,
    /// Every function's CPU per run started (skipped occurrences' work included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_per_started_run: Option<FunctionTime>,
}

/// One init run (`make sizes`): every function's deployment artifact, cold init and memory,
/// as stored in `bench/results/*-init.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InitResult {
    /// Always `init`.
    pub(crate) scenario: String,
    pub(crate) started_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    pub(crate) endpoint: String,
    /// CPUs, memory and load average of the machine.
    pub(crate) machine: String,
    /// `rustc -V` of the build.
    pub(crate) toolchain: String,
    /// The build's target triple.
    pub(crate) target: String,
    /// The `--config` entries cargo-lambda adds to the release build.
    pub(crate) build_config: Vec<String>,
    /// Starts of each function.
    pub(crate) starts: usize,
    pub(crate) functions: Vec<FunctionInit>,
}

/// One function of an init run.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FunctionInit {
    /// The logical id in template.yaml.
    pub(crate) function: String,
    pub(crate) binary: String,
    /// Its `MemorySize` (MiB).
    pub(crate) memory_size_mib: u32,
    /// The stripped `bootstrap`.
    pub(crate) bootstrap_bytes: u64,
    /// The deployment zip (deflate).
    pub(crate) zip_bytes: u64,
    /// What `make package` built for the template's architecture (`.aws-sam/build`), when
    /// it had been run; absent in runs before it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deployed: Option<DeployedArtifact>,
    /// Process spawn → its first `next` call, in ms.
    pub(crate) init_ms: Spread,
    /// `VmHWM` when it asked for its event (its init's peak), in KiB.
    pub(crate) init_peak_kib: Spread,
    /// `VmHWM` once it answered the typical event, in KiB.
    pub(crate) peak_kib: Spread,
    /// The event handed out → the answer, in ms.
    pub(crate) invocation_ms: Spread,
    /// The typical event.
    pub(crate) event: String,
    /// The first start's answer (its beginning).
    pub(crate) answer: String,
}

/// A function's `bootstrap` as `sam build` made it for the template's architecture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeployedArtifact {
    /// `arm64` or `x86_64` (the template's `Architectures`).
    pub(crate) architecture: String,
    pub(crate) bootstrap_bytes: u64,
    /// Zipped as SAM packages it.
    pub(crate) zip_bytes: u64,
    /// When `sam build` wrote it (RFC 3339).
    pub(crate) built_at: String,
}

impl FunctionInit {
    /// The zip the size target is held to: the deployed architecture's when `make package`
    /// built it, else this machine's build.
    pub(crate) fn target_zip_bytes(&self) -> u64 {
        self.deployed
            .as_ref()
            .map_or(self.zip_bytes, |deployed| deployed.zip_bytes)
    }
}

/// Median, 90th percentile (nearest rank), least and most of a set of samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) p90: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// The spread of `samples` (rounded to three decimals); `None` without samples. The
    /// median of an even number of samples is the mean of the middle two.
    pub(crate) fn of(mut samples: Vec<f64>) -> Option<Self> {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let (&min, &max) = (samples.first()?, samples.last()?);
        let median = if n % 2 == 1 {
            samples[n / 2]
        } else {
            (samples[n / 2 - 1] + samples[n / 2]) / 2.0
        };
        let rank = (0.9 * n as f64).ceil() as usize;
        Some(Self {
            median: round(median),
            p90: round(samples[rank.clamp(1, n) - 1]),
            min: round(min),
            max: round(max),
        })
    }
}

/// Any stored result.
pub(crate) enum Stored {
    Timers(BenchResult),
    Bulk(Box<BulkResult>),
    Mixed(MixedResult),
    Plan(PlanResult),
    Series(SeriesResult),
    Init(InitResult),
}

impl Stored {
    fn parse(text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        match value.get("scenario").and_then(|s| s.as_str()) {
            None | Some("timers") => serde_json::from_value(value).ok().map(Self::Timers),
            Some("bulk") => serde_json::from_value(value)
                .ok()
                .map(|r| Self::Bulk(Box::new(r))),
            Some("mixed") => serde_json::from_value(value).ok().map(Self::Mixed),
            Some("plan") => serde_json::from_value(value).ok().map(Self::Plan),
            Some("series") => serde_json::from_value(value).ok().map(Self::Series),
            Some("init") => serde_json::from_value(value).ok().map(Self::Init),
            Some(_) => None,
        }
    }

    fn started_at(&self) -> &str {
        match self {
            Self::Timers(r) => &r.started_at,
            Self::Bulk(r) => &r.started_at,
            Self::Mixed(r) => &r.started_at,
            Self::Plan(r) => &r.started_at,
            Self::Series(r) => &r.started_at,
            Self::Init(r) => &r.started_at,
        }
    }
}

/// Every result in `bench/results`, oldest first.
pub(crate) fn load_all() -> Result<Vec<Stored>, String> {
    let dir = repo_root().join("bench/results");
    let mut results: Vec<Stored> = std::fs::read_dir(&dir)
        .map_err(|e| e.to_string())?
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .filter_map(|text| Stored::parse(&text))
        .collect();
    results.sort_by(|a, b| a.started_at().cmp(b.started_at()));
    Ok(results)
}

/// Writes `result` as `bench/results/<started_at><suffix>.json`; returns the path.
pub(crate) fn write_result(
    started_at: &str,
    suffix: &str,
    result: &impl Serialize,
) -> Result<PathBuf, String> {
    let dir = repo_root().join("bench/results");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("{}{suffix}.json", started_at.replace(':', "-")));
    let json = serde_json::to_string_pretty(result).map_err(|e| e.to_string())?;
    std::fs::write(&path, json + "\n").map_err(|e| e.to_string())?;
    Ok(path)
}

/// The `p`th percentile of `sorted` (nearest rank).
pub(crate) fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `value` to three decimals.
pub(crate) fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Counts divided by `basis`, rounded.
pub(crate) fn per(counts: &BTreeMap<String, u64>, basis: f64) -> BTreeMap<String, f64> {
    counts
        .iter()
        .map(|(op, n)| (op.clone(), round(*n as f64 / basis.max(1.0))))
        .collect()
}

/// The commit of the working tree, `-dirty` when it has changes; `None` without git.
pub(crate) fn code_version() -> Option<String> {
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

/// The repository's root directory.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_take_the_middle_and_the_nearest_rank() {
        let odd = Spread::of(vec![5.0, 1.0, 3.0]).unwrap();
        assert_eq!(
            odd,
            Spread {
                median: 3.0,
                p90: 5.0,
                min: 1.0,
                max: 5.0
            }
        );
        let even = Spread::of(vec![4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((even.median, even.p90), (2.5, 4.0));
        // 21 starts: the 11th is the median, the 19th the 90th percentile.
        let starts = Spread::of((1..=21).rev().map(f64::from).collect()).unwrap();
        assert_eq!((starts.median, starts.p90), (11.0, 19.0));
        assert_eq!((starts.min, starts.max), (1.0, 21.0));
        let one = Spread::of(vec![7.25]).unwrap();
        assert_eq!(
            (one.median, one.p90, one.min, one.max),
            (7.25, 7.25, 7.25, 7.25)
        );
        assert_eq!(Spread::of(vec![]), None);
        assert_eq!(Spread::of(vec![1.23456]).unwrap().median, 1.235);
    }
}
