//! `make bench`: the service under load on the local stack, in one of three scenarios.
//!
//! - `timers` (the default): stores N campaigns whose START timers are due uniformly over a
//!   window, runs the dispatcher (on its template schedule) and the executor (SQS pollers)
//!   like `make local`, waits until every timer fired, then reports lag from dueAt to commit
//!   (p50/p95/p99/max), fired/s and AWS requests per fired timer by operation — our
//!   functions' requests apart from the queue polling that Lambda's event source mapping does
//!   on AWS ([`timers`]).
//! - `bulk`: one email campaign to a stored list of N recipients, created through the API and
//!   sent by the planner and the sender; reports recipients/s, requests and DynamoDB capacity
//!   per recipient and the cost per million recipients ([`bulk`]).
//! - `mixed`: the timer scenario while a bulk send is under way; reports the timers' lag
//!   ([`mixed`]).
//! - `plan`: the planner alone on a list of N recipients (default 200,000: a 19 MB list,
//!   nineteen of the planner's 1 MiB ranges); reports the process's peak memory while
//!   planning beside the list's size, and the planning time ([`plan`]).
//! - `series`: many recurring campaigns (default 1,000 every 10 s for 2 minutes) on the whole
//!   service; reports how late occurrences were handled and runs started, the runs by status
//!   and requests per occurrence ([`series`]).
//! - `init` (`make sizes`): every function built as `sam build` builds it; reports its
//!   `bootstrap` and zip sizes, its cold init (process spawn → first Runtime API call) and its
//!   peak memory on a typical event, over N starts against a Runtime API stub ([`init`]).
//!
//! Results go to `bench/results/<time>[-bulk|-mixed|-plan|-series|-init].json`; `docs/benchmarks.md` is
//! regenerated from all results ([`docs`]), with its figures in `docs/plots/` ([`plots`]), and
//! `docs/cost.md` from the latest of each kind ([`cost_doc`]; list prices in [`prices`]).
//!
//! Options: `--scenario timers|bulk|mixed|plan|series|init` (timers); timers: `--timers N` (1000),
//! `--window SECONDS` (120), `--lead SECONDS` (20, time for setup before the first timer is
//! due), `--schedule-seconds S` (template period); bulk and plan: `--recipients N` (bulk
//! 10000, plan 200000); bulk: `--send-rate R` (2000 emails a second, the sender's `EMAIL_SEND_RATE`), `--patience SECONDS` (how long to
//! wait for the run; default max(300, N/20)); series: `--series N` (1000), `--period SECONDS`
//! (10), with `--window` (120) and `--lead` (20); init: `--starts N` (21 per function); all:
//! `--pollers N` (4 per queue). `--docs-only`
//! runs nothing: it regenerates `docs/benchmarks.md` and `docs/cost.md` from the stored results
//! (after adding or annotating a result file by hand); `--cost-only` (`make cost`) regenerates
//! `docs/cost.md` alone.

mod bulk;
mod capacity;
mod cost;
mod cost_doc;
mod cost_model;
mod distribution;
mod docs;
mod function_time;
mod init;
mod latency;
mod meter;
mod mixed;
mod observed_client;
mod plan;
mod plots;
mod prices;
mod results;
mod series;
mod setup;
mod timers;

use std::process::ExitCode;

use lifecycle_adapters::config::LogFormat;

/// Which scenario runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    Timers,
    Bulk,
    Mixed,
    Plan,
    Series,
    Init,
}

/// The command line.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) scenario: Scenario,
    pub(crate) timers: usize,
    pub(crate) window_s: u64,
    pub(crate) lead_s: u64,
    pub(crate) schedule_s: Option<f64>,
    pub(crate) pollers: usize,
    pub(crate) recipients: usize,
    pub(crate) send_rate: u32,
    pub(crate) patience_s: Option<u64>,
    pub(crate) docs_only: bool,
    /// Regenerate `docs/cost.md` only.
    pub(crate) cost_only: bool,
    /// Series of the series scenario.
    pub(crate) series: usize,
    /// Seconds between a series' occurrences.
    pub(crate) period_s: u64,
    /// Starts of each function in the init scenario.
    pub(crate) starts: usize,
}

impl Options {
    /// How long a bulk run may take before the bench gives up waiting.
    pub(crate) fn patience(&self) -> std::time::Duration {
        let default = (self.recipients as u64 / 20).max(300);
        std::time::Duration::from_secs(self.patience_s.unwrap_or(default))
    }
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        scenario: Scenario::Timers,
        timers: 1000,
        window_s: 120,
        lead_s: 20,
        schedule_s: None,
        pollers: 4,
        recipients: 10_000,
        send_rate: 2000,
        patience_s: None,
        docs_only: false,
        cost_only: false,
        series: 1000,
        period_s: 10,
        starts: 21,
    };
    let mut recipients = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--docs-only" {
            options.docs_only = true;
            continue;
        }
        if flag == "--cost-only" {
            options.cost_only = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let bad = || format!("{flag}: {value:?} is not a valid number");
        match flag.as_str() {
            "--scenario" => {
                options.scenario = match value.as_str() {
                    "timers" => Scenario::Timers,
                    "bulk" => Scenario::Bulk,
                    "mixed" => Scenario::Mixed,
                    "plan" => Scenario::Plan,
                    "series" => Scenario::Series,
                    "init" => Scenario::Init,
                    other => {
                        return Err(format!(
                            "--scenario: {other:?} (timers, bulk, mixed, plan, series or init)"
                        ));
                    }
                }
            }
            "--timers" => options.timers = value.parse().map_err(|_| bad())?,
            "--window" => options.window_s = value.parse().map_err(|_| bad())?,
            "--lead" => options.lead_s = value.parse().map_err(|_| bad())?,
            "--schedule-seconds" => options.schedule_s = Some(value.parse().map_err(|_| bad())?),
            "--pollers" => options.pollers = value.parse().map_err(|_| bad())?,
            "--recipients" => recipients = Some(value.parse().map_err(|_| bad())?),
            "--send-rate" => options.send_rate = value.parse().map_err(|_| bad())?,
            "--patience" => options.patience_s = Some(value.parse().map_err(|_| bad())?),
            "--series" => options.series = value.parse().map_err(|_| bad())?,
            "--period" => options.period_s = value.parse().map_err(|_| bad())?,
            "--starts" => options.starts = value.parse().map_err(|_| bad())?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    options.recipients = recipients.unwrap_or(if options.scenario == Scenario::Plan {
        200_000
    } else {
        10_000
    });
    if options.series == 0 || !(1..=59).contains(&options.period_s) {
        return Err("--series must be positive and --period 1–59 seconds".into());
    }
    if options.timers == 0 || options.window_s == 0 || options.pollers == 0 || options.starts == 0 {
        return Err("--timers, --window, --pollers and --starts must be positive".into());
    }
    if options.recipients == 0 {
        return Err("--recipients must be positive".into());
    }
    if !(1..=10_000).contains(&options.send_rate) {
        return Err("--send-rate must be 1 to 10000 (EMAIL_SEND_RATE's range)".into());
    }
    Ok(options)
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
        docs::write()?;
        println!("written: docs/benchmarks.md, docs/plots/ and docs/cost.md");
        return Ok(());
    }
    if options.cost_only {
        cost_doc::write()?;
        println!("written: docs/cost.md");
        return Ok(());
    }
    match options.scenario {
        Scenario::Timers => timers::run(&options).await,
        Scenario::Bulk => bulk::run(&options).await,
        Scenario::Mixed => mixed::run(&options).await,
        Scenario::Plan => plan::run(&options).await,
        Scenario::Series => series::run(&options).await,
        Scenario::Init => init::run(&options).await,
    }
}
