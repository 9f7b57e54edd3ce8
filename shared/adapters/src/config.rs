//! Configuration read from environment variables, validated once at cold start.
//! Every function of the service reads the same variables (template.yaml sets them in
//! `Globals`), so a misconfiguration fails fast with the variable's name.

use std::collections::BTreeMap;

pub use lifecycle_telemetry::LogFormat;

use lifecycle_domain::alerting::AlertConfig;

use crate::consumer_mappings::ConsumerMappings;
use crate::dead_letter_queues::DeadLetterQueues;

/// A variable is missing or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {variable} {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

/// Tuning variables a local run may set in its own environment to override the template's
/// value for every function (`make local`, the crash suite); names of resources are not.
pub const TUNABLE_VARIABLES: [&str; 15] = [
    "DISPATCH_LOOKAHEAD_SECONDS",
    "DISPATCH_MAX_PER_SHARD",
    "DISPATCH_CATCH_UP_AFTER_SECONDS",
    "DISPATCH_CATCH_UP_SPAN_SECONDS",
    "EXECUTOR_MAX_EARLY_WAIT_MS",
    "OCCURRENCE_GRACE_SECONDS",
    "SWEEP_GRACE_SECONDS",
    "MISFIRE_WINDOW_SECONDS",
    "LEASE_SECONDS",
    "MAX_TIMER_ATTEMPTS",
    "OUTBOX_REPUBLISH_AFTER_SECONDS",
    "DISPATCHER_STALL_SECONDS",
    "SWEEP_BATCH_LIMIT",
    "RETRY_MAX_ATTEMPTS",
    "CIRCUIT_BREAKERS",
];

/// Settings shared by every function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table_name: String,
    /// `TIMERS_QUEUE_URL`: the queue the dispatcher fills and the executor drains.
    pub timers_queue_url: String,
    /// `EVENT_BUS_NAME`: where lifecycle events are published.
    pub event_bus_name: String,
    /// `TIMERS_DLQ_URL` (optional): the timers dead-letter queue, watched by `GET /health`.
    pub timers_dlq_url: Option<String>,
    /// `PLANNING_QUEUE_URL` (optional; the executor, planner and sweeper of a stack with
    /// deliveries have it): runs to plan, queued when a START begins one, when a planner runs
    /// out of time, and by the sweeper for a run stuck mid-plan.
    pub planning_queue_url: Option<String>,
    /// `DELIVERIES_QUEUE_URL` (optional; the planner, sender and sweeper of a stack with
    /// deliveries have it): batches for the sender.
    pub deliveries_queue_url: Option<String>,
    /// `DLQ_<NAME>_URL` and `DLQ_<NAME>_SOURCE_URL` (the API function's): the dead-letter
    /// queues its recovery routes list and redrive, each with its source queue.
    pub dead_letter_queues: DeadLetterQueues,
    /// `CONSUMER_<NAME>_MAPPING` (the API's and the sweeper's): the SQS event source mapping
    /// of each consumer they pause and resume.
    pub consumer_mappings: ConsumerMappings,
    /// The `ALERT_*` alert configuration ([`crate::alert_defaults`]; the fan-out's and the
    /// API's): what the fan-out uses while none is stored.
    pub alert_defaults: AlertConfig,
    /// `DUE_SHARDS` (default 16, 1–256): partitions of the due index. Changing it on a live
    /// table strands timers in the old shards, so it is fixed per deployment.
    pub due_shards: u16,
    /// `DISPATCH_LOOKAHEAD_SECONDS` (default 90, 1–840): how far ahead the dispatcher hands
    /// timers to the queue. Longer than the schedule period so a late tick costs no precision.
    pub dispatch_lookahead_secs: u32,
    /// `DISPATCH_MAX_PER_SHARD` (default 2000): timers handed over per shard per tick; the rest
    /// waits for the next tick (the watermark stops at the last one handed over).
    pub dispatch_max_per_shard: u32,
    /// `DISPATCH_CATCH_UP_AFTER_SECONDS` (default 30, 1–3600): a PENDING timer this long past
    /// due is missed — its message died with an executor and its redelivery after the queue's
    /// 24 s visibility timeout did not fire it either, or its direct send was lost — and each
    /// dispatcher tick sends it again, for `dispatch_catch_up_span_secs` (then it is the
    /// sweeper's).
    pub dispatch_catch_up_after_secs: u32,
    /// `DISPATCH_CATCH_UP_SPAN_SECONDS` (default 120, 1–3600): how long a missed timer is sent
    /// again: two ticks of the dispatcher's 1-minute schedule, so each is sent once or twice.
    /// A schedule with another period wants twice that period (the local harnesses set it).
    pub dispatch_catch_up_span_secs: u32,
    /// `EXECUTOR_MAX_EARLY_WAIT_MS` (default 2000, 0–60000): a timer delivered this early is
    /// held in the executor until its due millisecond; earlier ones are put back on the
    /// queue. Delays are whole seconds and a message carries the timers of one second, so a
    /// timer arrives less than 2 s early; the executor's 4 s timeout is this plus its 2 s
    /// deadline margin.
    pub executor_max_early_wait_ms: u32,
    /// `OCCURRENCE_GRACE_SECONDS` (default 60, 1–86400): an occurrence of a recurring
    /// campaign started no later than this after its time runs whatever the series' misfire
    /// policy; a later one is missed (docs/recurring.md).
    pub occurrence_grace_secs: u32,
    /// `LOG_FORMAT` (`json` default, or `text`).
    pub log_format: LogFormat,
    /// `RECOVERY_LOG_RETENTION_DAYS` (default 30, 1–365): how long recovery-log entries are
    /// kept (DynamoDB TTL; the hourly counters at least 8 days).
    pub recovery_retention_days: u32,
    /// `RETRY_MAX_ATTEMPTS` (default 3, 1–10): attempts per AWS request, the first included.
    pub retry_max_attempts: u32,
    /// `CIRCUIT_BREAKERS` (`on` default, or `off`): the shared per-dependency breakers.
    pub circuit_breakers: bool,
    /// `IDEMPOTENCY_LEASE_SECONDS` (default 30, 1–900; the API sets it to its function's
    /// Timeout): how long an `Idempotency-Key` claim holds before a retry may run it again.
    pub idempotency_lease_secs: u32,
    /// `SWEEPER_FUNCTION_NAME` (optional; the API has it): the sweeper function that
    /// `POST /recovery/trigger` and `POST /campaigns/recover` invoke.
    pub sweeper_function: Option<String>,
    /// `AWS_ENDPOINT_URL_LAMBDA` (optional): where Lambda's Invoke API is reached instead of
    /// the standard endpoint (the local runtime sets it to its own Invoke API).
    pub lambda_endpoint: Option<String>,
    /// The sweeper's settings.
    pub sweep: SweepConfig,
}

/// Settings of the sweeper (recovery), read by every function so one place validates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepConfig {
    /// `SWEEP_GRACE_SECONDS` (default 120, 1–3600): a PENDING timer (or a campaign status)
    /// this long past its time counts as missed; before that the normal path has its chance.
    pub grace_secs: u32,
    /// `MISFIRE_WINDOW_SECONDS` (default 3600): a missed timer later than this is cancelled,
    /// not fired; the state correction still moves its campaign.
    pub misfire_window_secs: u32,
    /// `LEASE_SECONDS` (default 60, 5–900): how long a claimed timer is held.
    pub lease_secs: u32,
    /// `MAX_TIMER_ATTEMPTS` (default 5, 1–100): expired leases before a timer is FAILED.
    pub max_attempts: u32,
    /// `OUTBOX_REPUBLISH_AFTER_SECONDS` (default 60): outbox events and alerts older than
    /// this are published again.
    pub outbox_republish_after_secs: u32,
    /// `DISPATCHER_STALL_SECONDS` (default 180): watermarks older than this mean the
    /// dispatcher stopped (the report's `wasCrash`).
    pub dispatcher_stall_secs: u32,
    /// `SWEEP_BATCH_LIMIT` (default 500, 1–10000): items read per shard and step per sweep;
    /// the rest waits for the next sweep.
    pub batch_limit: u32,
    /// `RUN_STALL_SECONDS` (default 120, 5–86400): a delivery run that has not moved for
    /// this long (no plan commit, no batch recorded) is stalled: the sweeper queues its
    /// planning or its unfinished batches again (a repeat is harmless).
    pub run_stall_secs: u32,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables from a map (the local runtime passes each function its template.yaml
    /// environment this way).
    pub fn from_map(vars: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| vars.get(name).cloned())
    }

    /// Reads variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let log_format = match lookup("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("") | Some("json") => LogFormat::Json,
            Some("text") => LogFormat::Text,
            Some(other) => {
                return Err(ConfigError {
                    variable: "LOG_FORMAT",
                    problem: format!("must be json or text, not {other:?}"),
                });
            }
        };
        let circuit_breakers = match lookup("CIRCUIT_BREAKERS").as_deref().map(str::trim) {
            None | Some("") | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError {
                    variable: "CIRCUIT_BREAKERS",
                    problem: format!("must be on or off, not {other:?}"),
                });
            }
        };
        Ok(Self {
            table_name: required(&lookup, "TABLE_NAME")?,
            timers_queue_url: required(&lookup, "TIMERS_QUEUE_URL")?,
            event_bus_name: required(&lookup, "EVENT_BUS_NAME")?,
            timers_dlq_url: lookup("TIMERS_DLQ_URL")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            planning_queue_url: lookup("PLANNING_QUEUE_URL")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            deliveries_queue_url: lookup("DELIVERIES_QUEUE_URL")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            dead_letter_queues: DeadLetterQueues::from_lookup(&lookup)?,
            consumer_mappings: ConsumerMappings::from_lookup(&lookup),
            alert_defaults: crate::alert_defaults::from_lookup(&lookup)?,
            due_shards: number(&lookup, "DUE_SHARDS", 16, 1, 256)? as u16,
            dispatch_lookahead_secs: number(&lookup, "DISPATCH_LOOKAHEAD_SECONDS", 90, 1, 840)?
                as u32,
            dispatch_max_per_shard: number(&lookup, "DISPATCH_MAX_PER_SHARD", 2000, 1, 100_000)?
                as u32,
            dispatch_catch_up_after_secs: number(
                &lookup,
                "DISPATCH_CATCH_UP_AFTER_SECONDS",
                30,
                1,
                3600,
            )? as u32,
            dispatch_catch_up_span_secs: number(
                &lookup,
                "DISPATCH_CATCH_UP_SPAN_SECONDS",
                120,
                1,
                3600,
            )? as u32,
            executor_max_early_wait_ms: number(
                &lookup,
                "EXECUTOR_MAX_EARLY_WAIT_MS",
                2000,
                0,
                60_000,
            )? as u32,
            occurrence_grace_secs: number(&lookup, "OCCURRENCE_GRACE_SECONDS", 60, 1, 86_400)?
                as u32,
            log_format,
            retry_max_attempts: number(&lookup, "RETRY_MAX_ATTEMPTS", 3, 1, 10)? as u32,
            recovery_retention_days: number(&lookup, "RECOVERY_LOG_RETENTION_DAYS", 30, 1, 365)?
                as u32,
            circuit_breakers,
            idempotency_lease_secs: number(&lookup, "IDEMPOTENCY_LEASE_SECONDS", 30, 1, 900)?
                as u32,
            sweeper_function: lookup("SWEEPER_FUNCTION_NAME")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            lambda_endpoint: lookup("AWS_ENDPOINT_URL_LAMBDA")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
            sweep: SweepConfig {
                grace_secs: number(&lookup, "SWEEP_GRACE_SECONDS", 120, 1, 3600)? as u32,
                misfire_window_secs: number(&lookup, "MISFIRE_WINDOW_SECONDS", 3600, 60, 2_592_000)?
                    as u32,
                lease_secs: number(&lookup, "LEASE_SECONDS", 60, 5, 900)? as u32,
                max_attempts: number(&lookup, "MAX_TIMER_ATTEMPTS", 5, 1, 100)? as u32,
                outbox_republish_after_secs: number(
                    &lookup,
                    "OUTBOX_REPUBLISH_AFTER_SECONDS",
                    60,
                    5,
                    86_400,
                )? as u32,
                dispatcher_stall_secs: number(&lookup, "DISPATCHER_STALL_SECONDS", 180, 60, 86_400)?
                    as u32,
                batch_limit: number(&lookup, "SWEEP_BATCH_LIMIT", 500, 1, 10_000)? as u32,
                run_stall_secs: number(&lookup, "RUN_STALL_SECONDS", 120, 5, 86_400)? as u32,
            },
        })
    }

    /// Timers due within this many milliseconds are sent to the queue at creation: the
    /// dispatcher's watermark can be at most one lookahead (plus clock skew) ahead of now.
    pub fn direct_send_window_millis(&self) -> i64 {
        i64::from(self.dispatch_lookahead_secs) * 1000 + 5_000
    }
}

pub(crate) fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<String, ConfigError> {
    match lookup(variable) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(ConfigError {
            variable,
            problem: "is required".into(),
        }),
    }
}

pub(crate) fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(text) = lookup(variable).filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    match text.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            variable,
            problem: format!("must be a whole number from {min} to {max}, not {text:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut map: BTreeMap<String, String> = [
            ("TABLE_NAME", "t"),
            ("TIMERS_QUEUE_URL", "q"),
            ("EVENT_BUS_NAME", "b"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        map.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        map
    }

    #[test]
    fn applies_defaults() {
        let config = Config::from_map(&vars(&[])).unwrap();
        assert_eq!(config.due_shards, 16);
        assert_eq!(config.dispatch_lookahead_secs, 90);
        assert_eq!(config.dispatch_catch_up_after_secs, 30);
        assert_eq!(config.dispatch_catch_up_span_secs, 120);
        assert_eq!(config.executor_max_early_wait_ms, 2000);
        assert_eq!(config.occurrence_grace_secs, 60);
        assert_eq!(config.log_format, LogFormat::Json);
        assert_eq!(config.direct_send_window_millis(), 95_000);
        assert_eq!(config.sweep.grace_secs, 120);
        assert_eq!(config.sweep.misfire_window_secs, 3600);
        assert_eq!(config.sweep.max_attempts, 5);
        assert_eq!(config.retry_max_attempts, 3);
        assert!(config.circuit_breakers);
    }

    #[test]
    fn names_the_missing_variable() {
        let mut map = vars(&[]);
        map.remove("TIMERS_QUEUE_URL");
        assert_eq!(
            Config::from_map(&map).unwrap_err().variable,
            "TIMERS_QUEUE_URL"
        );
    }

    #[test]
    fn rejects_out_of_range_numbers_and_unknown_formats() {
        assert_eq!(
            Config::from_map(&vars(&[("DUE_SHARDS", "0")]))
                .unwrap_err()
                .variable,
            "DUE_SHARDS"
        );
        assert_eq!(
            Config::from_map(&vars(&[("DISPATCH_LOOKAHEAD_SECONDS", "901")]))
                .unwrap_err()
                .variable,
            "DISPATCH_LOOKAHEAD_SECONDS"
        );
        assert_eq!(
            Config::from_map(&vars(&[("SWEEP_GRACE_SECONDS", "0")]))
                .unwrap_err()
                .variable,
            "SWEEP_GRACE_SECONDS"
        );
        assert_eq!(
            Config::from_map(&vars(&[("LOG_FORMAT", "xml")]))
                .unwrap_err()
                .variable,
            "LOG_FORMAT"
        );
        assert_eq!(
            Config::from_map(&vars(&[("CIRCUIT_BREAKERS", "maybe")]))
                .unwrap_err()
                .variable,
            "CIRCUIT_BREAKERS"
        );
        assert_eq!(
            Config::from_map(&vars(&[("RETRY_MAX_ATTEMPTS", "0")]))
                .unwrap_err()
                .variable,
            "RETRY_MAX_ATTEMPTS"
        );
        assert_eq!(
            Config::from_map(&vars(&[("LOG_FORMAT", "text")]))
                .unwrap()
                .log_format,
            LogFormat::Text
        );
    }
}
