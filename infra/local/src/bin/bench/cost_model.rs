//! The arithmetic of `docs/cost.md`: dollars per million units of work (fired timers,
//! delivered recipients, recurring runs) from the bench's measured requests per unit, the
//! monthly cost of a deployed stack doing nothing from `template.yaml`'s resources, and the
//! price of the same timers on EventBridge Scheduler or Step Functions. Prices come from
//! [`crate::prices`]; whatever the bench does not measure (Lambda durations, billing units of
//! the runs without a meter, idle request counts) is an [`Assumption`], listed in the
//! document. Every figure is a [`Line`] that carries the formula it was computed by.

use std::collections::BTreeMap;

use lifecycle_telemetry::catalogue::{self, MetricDef};
use local_stack::Template;
use local_stack::template::scalar;
use serde_yaml_ng::Value;

use crate::capacity::CapacityFigures;
use crate::cost;
use crate::prices::{self, Price};
use crate::results::{BenchResult, BulkResult, SeriesResult};

/// A million, the unit of the per-work figures.
pub(crate) const MILLION: f64 = 1e6;
/// Seconds in the month of the idle figures (30 days).
pub(crate) const MONTH_SECONDS: f64 = 30.0 * 86_400.0;

/// Something the bench does not measure, and the value the model takes for it.
#[derive(Debug)]
pub(crate) struct Assumption {
    pub(crate) value: f64,
    /// What the value counts.
    pub(crate) what: &'static str,
    /// Where it comes from.
    pub(crate) why: &'static str,
}

/// WRU of the executor's transaction for a fired one-shot timer.
pub(crate) const FIRE_WRU: Assumption = Assumption {
    value: 10.0,
    what: "WRU per TransactWriteItems of a fired timer",
    why: "3 items ≤ 1 KB × 2 WRU (transactional) + 4 index writes (ByDue −timer, ByStatus move 2, \
          ByDue +outbox); docs/architecture.md, what each fired timer costs",
};
/// WRU of a recurring campaign's step transaction.
pub(crate) const STEP_WRU: Assumption = Assumption {
    value: 14.0,
    what: "WRU per TransactWriteItems of a recurring occurrence",
    why: "timer, campaign, run and event: 4 items × 2 WRU + 6 index writes (the timer's and the \
          series listing's ByDue moves, 2 each; the run's ByStatus entry; the event's outbox \
          entry); docs/data-model.md, fire an OCCURRENCE",
};
/// Lifecycle events per fired timer or occurrence.
pub(crate) const EVENTS_PER_MOVE: Assumption = Assumption {
    value: 1.0,
    what: "lifecycle events per fired timer or occurrence",
    why: "one outbox event per move, put on the bus (PutEvents carries up to 10) and then cleared",
};
/// WRU to clear one published outbox event.
pub(crate) const OUTBOX_CLEAR_WRU: Assumption = Assumption {
    value: 2.0,
    what: "WRU per outbox event cleared",
    why: "its BatchWriteItem delete (1) and its ByDue entry's removal (1)",
};
/// WRU of a write outside a transaction on the timer path.
pub(crate) const PLAIN_WRITE_WRU: Assumption = Assumption {
    value: 1.0,
    what: "WRU per PutItem, UpdateItem or DeleteItem of the timer functions",
    why: "items ≤ 1 KB outside transactions and indexes: watermarks, heartbeats, breaker counts",
};
/// RRU of a GetItem.
pub(crate) const GET_RRU: Assumption = Assumption {
    value: 1.0,
    what: "RRU per GetItem",
    why: "strongly consistent, items ≤ 4 KB",
};
/// RRU of a Query, before the items it returns.
pub(crate) const QUERY_RRU: Assumption = Assumption {
    value: 0.5,
    what: "RRU per Query, besides the timers it returns",
    why: "eventually consistent; an empty or small range costs this minimum",
};
/// How many dispatcher ticks read each timer.
pub(crate) const DISPATCH_READS: Assumption = Assumption {
    value: 1.5,
    what: "dispatcher reads of each timer",
    why: "the catch-up range reads a timer again on the next tick (docs/reliability.md)",
};
/// The size of a timer item.
pub(crate) const TIMER_KB: Assumption = Assumption {
    value: 0.5,
    what: "KB per timer item read by the dispatcher",
    why: "docs/architecture.md; 0.5 RRU per 4 KB read eventually consistent",
};
/// Billed seconds of an executor invocation.
pub(crate) const EXECUTOR_SECONDS: Assumption = Assumption {
    value: 0.8,
    what: "billed seconds per executor invocation",
    why: "a message arrives 0.25–1.25 s before its first timer and the invocation waits for it \
          (0.75 s on average), then ~50 ms of requests (docs/architecture.md, step 3)",
};
/// Billed sender seconds per recipient.
pub(crate) const SENDER_SECONDS: Assumption = Assumption {
    value: 0.05,
    what: "billed sender seconds per recipient",
    why: "a ledger transaction and a provider call one after the other (~2 round trips)",
};
/// Billed planner seconds per recipient.
pub(crate) const PLANNER_SECONDS: Assumption = Assumption {
    value: 0.0001,
    what: "billed planner seconds per recipient",
    why: "1 MiB list ranges (~10,000 rows each) and one commit per 500 rows",
};
/// Fixed billed seconds of a planner, sender or fan-out invocation.
pub(crate) const INVOCATION_SECONDS: Assumption = Assumption {
    value: 0.05,
    what: "fixed billed seconds per planner, sender or fan-out invocation",
    why: "reading the run and the settings, leasing and recording the batch",
};
/// Billed seconds of an idle dispatcher tick.
pub(crate) const TICK_SECONDS: Assumption = Assumption {
    value: 0.2,
    what: "billed seconds per idle dispatcher tick",
    why: "one Query per shard in parallel on empty ranges, the watermarks' read and write",
};
/// Billed seconds of an idle sweep.
pub(crate) const SWEEP_SECONDS: Assumption = Assumption {
    value: 1.0,
    what: "billed seconds per idle sweep",
    why: "8 steps one after the other, each a few parallel Queries on empty ranges",
};
/// Billed seconds of an idle alert check.
pub(crate) const CHECK_SECONDS: Assumption = Assumption {
    value: 0.1,
    what: "billed seconds per idle alert check",
    why: "one Query of the due alert states, the heartbeat",
};
/// Pollers of an idle SQS event source mapping.
pub(crate) const POLLERS: Assumption = Assumption {
    value: 5.0,
    what: "pollers per SQS event source mapping at idle",
    why: "Lambda polls a queue with 5 concurrent long polls when it has no messages \
          (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html)",
};
/// ReceiveMessage requests a poller makes a minute at idle.
pub(crate) const POLLS_PER_MINUTE: Assumption = Assumption {
    value: 3.0,
    what: "ReceiveMessage requests per poller and minute at idle",
    why: "20 s long polls that return nothing",
};
/// Log bytes of an idle invocation.
pub(crate) const LOG_KB: Assumption = Assumption {
    value: 1.5,
    what: "KB of logs per idle invocation",
    why: "Lambda's START, END and REPORT lines (JSON), EMF lines, a summary line",
};
/// Size of a stored sweep report.
pub(crate) const REPORT_KB: Assumption = Assumption {
    value: 2.0,
    what: "KB per stored sweep report (kept 30 days)",
    why: "the table's only growth at idle; settings, heartbeats and watermarks are a few KB",
};
/// SQS requests of each message a run passes through (planning, deliveries, alerts).
pub(crate) const MESSAGE_REQUESTS: Assumption = Assumption {
    value: 2.0,
    what: "SQS requests of the event source mapping per message of a recurring run",
    why: "its receive and its delete, unbatched (runs of one recipient; the series bench \
          records no polling)",
};
/// Billed seconds of a scheduler target that applies one timer.
pub(crate) const TARGET_SECONDS: Assumption = Assumption {
    value: 0.05,
    what: "billed seconds of a Lambda target applying one timer (comparison)",
    why: "the same transaction and event, invoked at the due time: no early arrival to wait for",
};
/// State transitions of a timer as a Step Functions Standard workflow.
pub(crate) const TRANSITIONS: Assumption = Assumption {
    value: 3.0,
    what: "state transitions per timer as a Step Functions Standard workflow (comparison)",
    why: "a Wait state until the due time, a DynamoDB task (direct integration), Succeed",
};

/// Every assumption, in the order `docs/cost.md` lists them.
pub(crate) const ASSUMPTIONS: [&Assumption; 23] = [
    &FIRE_WRU,
    &STEP_WRU,
    &EVENTS_PER_MOVE,
    &OUTBOX_CLEAR_WRU,
    &PLAIN_WRITE_WRU,
    &GET_RRU,
    &QUERY_RRU,
    &DISPATCH_READS,
    &TIMER_KB,
    &EXECUTOR_SECONDS,
    &SENDER_SECONDS,
    &PLANNER_SECONDS,
    &INVOCATION_SECONDS,
    &TICK_SECONDS,
    &SWEEP_SECONDS,
    &CHECK_SECONDS,
    &POLLERS,
    &POLLS_PER_MINUTE,
    &LOG_KB,
    &REPORT_KB,
    &MESSAGE_REQUESTS,
    &TARGET_SECONDS,
    &TRANSITIONS,
];

/// What a scheduled function does when there is nothing to do, per invocation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdleProfile {
    pub(crate) seconds: &'static Assumption,
    /// GetItem requests (1 RRU each).
    pub(crate) gets: f64,
    /// Queries besides those per shard.
    pub(crate) queries: f64,
    /// Queries per due-index shard.
    pub(crate) queries_per_shard: f64,
    /// Write units.
    pub(crate) write_units: f64,
    /// Where the counts come from.
    pub(crate) why: &'static str,
}

/// The idle profile of a scheduled function, by binary; `None` for one the model does not know
/// (the generator then fails rather than leave it out).
pub(crate) fn idle_profile(binary: &str) -> Option<IdleProfile> {
    Some(match binary {
        "timer-dispatcher" => IdleProfile {
            seconds: &TICK_SECONDS,
            gets: 3.0,
            queries: 0.0,
            queries_per_shard: 1.0,
            write_units: 3.0,
            why: "a tick: the watermarks' GetItem, the runtime settings and the store breaker's \
                  record; one Query per ByDue shard; the watermarks' PutItem, the heartbeat, the \
                  breaker counts (docs/architecture.md, fixed cost per tick)",
        },
        "sweeper" => IdleProfile {
            seconds: &SWEEP_SECONDS,
            gets: 5.0,
            queries: 9.0,
            queries_per_shard: 5.0,
            write_units: 14.0,
            why: "a sweep: 5 steps read every ByDue shard (leases, missed, outbox, orphans, \
                  series), 3 ByStatus Queries for campaign states, 4 for stalled runs, 1 each for \
                  alerts and heartbeats; the consumers' 3 records, the settings and the breaker; \
                  8 lease writes, the report's transaction (4 WRU), the heartbeat, the breaker \
                  counts (functions/sweeper/src/steps, docs/reliability.md)",
        },
        "alert-fanout" => IdleProfile {
            seconds: &CHECK_SECONDS,
            gets: 2.0,
            queries: 1.0,
            queries_per_shard: 0.0,
            write_units: 2.0,
            why: "a check: the settings and the breaker's record, the Query of due alert \
                  states, the heartbeat and the breaker counts (docs/data-model.md)",
        },
        _ => return None,
    })
}

/// The metrics every sweep emits with nothing to recover (`functions/sweeper/src/lib.rs`,
/// `emit_metrics`: `RecoveryRuns` with `Outcome = success` and the report's totals).
pub(crate) const IDLE_SWEEP_METRICS: [&MetricDef; 9] = [
    &catalogue::RECOVERY_RUNS,
    &catalogue::RECOVERY_DURATION_MS,
    &catalogue::TIMERS_CANCELLED,
    &catalogue::TIMERS_FAILED,
    &catalogue::CAMPAIGNS_FIXED,
    &catalogue::EVENTS_REPUBLISHED,
    &catalogue::RUNS_REPAIRED,
    &catalogue::SERIES_REPAIRED,
    &catalogue::DISPATCHER_STALLED,
];

/// The metric streams (billed custom metrics) of a catalogue entry when every function and
/// dimension value it can take is emitted.
pub(crate) fn metric_streams(def: &MetricDef) -> usize {
    def.functions.len()
        * def
            .dimensions
            .iter()
            .map(|d| d.values.len())
            .product::<usize>()
}

/// One function of the template, as the model prices it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunctionFacts {
    pub(crate) logical_id: String,
    pub(crate) binary: String,
    pub(crate) memory_mb: u32,
    /// Its schedules: expression and period in seconds.
    pub(crate) schedules: Vec<(String, u64)>,
    /// Its SQS events (event source mappings), by event name.
    pub(crate) sqs_events: Vec<String>,
}

/// What of `template.yaml` the idle cost depends on, read by program.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StackFacts {
    pub(crate) functions: Vec<FunctionFacts>,
    /// `AWS::CloudWatch::Alarm` resources.
    pub(crate) alarms: usize,
    /// Metrics the standard-resolution alarms evaluate (a metric math alarm counts each
    /// metric it reads).
    pub(crate) alarm_metrics: usize,
    /// Metrics of alarms with a period under 60 s.
    pub(crate) high_res_alarm_metrics: usize,
    pub(crate) dashboards: usize,
    pub(crate) kms_keys: usize,
    /// Keys with automatic rotation.
    pub(crate) rotated_kms_keys: usize,
    /// The `DueShards` parameter's default.
    pub(crate) due_shards: u32,
    /// Whether a table has point-in-time recovery.
    pub(crate) pitr: bool,
}

/// Binaries whose memory the per-work figures read.
const PRICED_FUNCTIONS: [&str; 4] = [
    "timer-executor",
    "delivery-planner",
    "delivery-sender",
    "alert-fanout",
];

impl StackFacts {
    /// Reads the facts of `template`; every function must be arm64 (the only Lambda duration
    /// price in [`crate::prices`]) and schedules `rate(…)` expressions.
    pub(crate) fn of(template: &Template) -> Result<Self, String> {
        let globals = &template.function_globals;
        let mut functions = Vec::new();
        for (logical_id, resource) in template.resources_of("AWS::Serverless::Function") {
            let props = &resource.properties;
            let binary = resource
                .metadata
                .get("BuildProperties")
                .and_then(|p| p.get("Binary"))
                .and_then(Value::as_str)
                .ok_or(format!("{logical_id}: no Metadata.BuildProperties.Binary"))?;
            let memory_mb = props
                .get("MemorySize")
                .or_else(|| globals.get("MemorySize"))
                .and_then(scalar)
                .map_or(Ok(128), |m| m.parse::<u32>())
                .map_err(|_| format!("{logical_id}: MemorySize is not a number"))?;
            let architecture = props
                .get("Architectures")
                .or_else(|| globals.get("Architectures"))
                .and_then(Value::as_sequence)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .unwrap_or("x86_64");
            if architecture != "arm64" {
                return Err(format!(
                    "{logical_id}: {architecture} (only arm64 Lambda is priced in prices.rs)"
                ));
            }
            let mut schedules = Vec::new();
            let mut sqs_events = Vec::new();
            for (name, event) in props
                .get("Events")
                .and_then(Value::as_mapping)
                .into_iter()
                .flatten()
            {
                let name = name.as_str().unwrap_or_default();
                let event_props = event.get("Properties");
                match event.get("Type").and_then(Value::as_str) {
                    Some(kind @ ("Schedule" | "ScheduleV2")) => {
                        let field = if kind == "Schedule" {
                            "Schedule"
                        } else {
                            "ScheduleExpression"
                        };
                        let expression = event_props
                            .and_then(|p| p.get(field))
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let period = local_stack::functions::parse_rate(expression).ok_or(
                            format!("{logical_id}.{name}: {expression:?} is not a rate(…)"),
                        )?;
                        schedules.push((expression.to_owned(), period.as_secs()));
                    }
                    Some("SQS") => sqs_events.push(name.to_owned()),
                    _ => {}
                }
            }
            functions.push(FunctionFacts {
                logical_id: logical_id.to_owned(),
                binary: binary.to_owned(),
                memory_mb,
                schedules,
                sqs_events,
            });
        }
        for binary in PRICED_FUNCTIONS {
            if !functions.iter().any(|f| f.binary == binary) {
                return Err(format!("template.yaml has no function of binary {binary}"));
            }
        }
        let (mut alarms, mut alarm_metrics, mut high_res_alarm_metrics) = (0, 0, 0);
        for (_, alarm) in template.resources_of("AWS::CloudWatch::Alarm") {
            let props = &alarm.properties;
            let periods: Vec<Option<u64>> = match props.get("Metrics").and_then(Value::as_sequence)
            {
                Some(queries) => queries
                    .iter()
                    .filter_map(|q| q.get("MetricStat"))
                    .map(|stat| period(stat.get("Period")))
                    .collect(),
                None => vec![period(props.get("Period"))],
            };
            alarms += 1;
            if periods.iter().any(|p| p.is_some_and(|p| p < 60)) {
                high_res_alarm_metrics += periods.len();
            } else {
                alarm_metrics += periods.len();
            }
        }
        let keys: Vec<_> = template.resources_of("AWS::KMS::Key").collect();
        let rotated_kms_keys = keys
            .iter()
            .filter(|(_, k)| {
                k.properties.get("EnableKeyRotation").and_then(scalar) == Some("true".into())
            })
            .count();
        let pitr = template.resources_of("AWS::DynamoDB::Table").any(|(_, t)| {
            t.properties
                .get("PointInTimeRecoverySpecification")
                .and_then(|p| p.get("PointInTimeRecoveryEnabled"))
                .and_then(scalar)
                == Some("true".into())
        });
        Ok(Self {
            functions,
            alarms,
            alarm_metrics,
            high_res_alarm_metrics,
            dashboards: template.resources_of("AWS::CloudWatch::Dashboard").count(),
            kms_keys: keys.len(),
            rotated_kms_keys,
            due_shards: template
                .parameters
                .get("DueShards")
                .and_then(|s| s.parse().ok())
                .unwrap_or(16),
            pitr,
        })
    }

    /// The memory of the function of `binary`, in GB (Lambda's 128 MB default if none).
    pub(crate) fn memory_gb(&self, binary: &str) -> f64 {
        let mb = self
            .functions
            .iter()
            .find(|f| f.binary == binary)
            .map_or(128, |f| f.memory_mb);
        f64::from(mb) / 1024.0
    }

    /// The SQS event source mappings: function and event name.
    pub(crate) fn sqs_mappings(&self) -> Vec<(&str, &str)> {
        self.functions
            .iter()
            .flat_map(|f| {
                f.sqs_events
                    .iter()
                    .map(|e| (f.logical_id.as_str(), e.as_str()))
            })
            .collect()
    }
}

fn period(value: Option<&Value>) -> Option<u64> {
    value.and_then(scalar).and_then(|s| s.parse().ok())
}

/// One figure: what it is, the quantity per unit (or per month) with its formula, the price
/// it is multiplied by, and the dollars.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Line {
    pub(crate) item: String,
    pub(crate) quantity: String,
    pub(crate) price: String,
    pub(crate) dollars: f64,
}

/// The lines of one cost, and their sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Breakdown {
    pub(crate) lines: Vec<Line>,
}

impl Breakdown {
    fn add(&mut self, item: impl Into<String>, quantity: String, price: String, dollars: f64) {
        self.lines.push(Line {
            item: item.into(),
            quantity,
            price,
            dollars,
        });
    }

    /// Dollars of a quantity per unit at `price`, per million units.
    fn per_million(&mut self, item: &str, quantity: String, amount: f64, price: &Price) {
        self.add(
            item,
            quantity,
            price.label(),
            amount * price.each() * MILLION,
        );
    }

    /// The sum of the lines.
    pub(crate) fn total(&self) -> f64 {
        self.lines.iter().map(|l| l.dollars).sum()
    }
}

/// Requests per unit, by `Service.Operation`.
type Counts = BTreeMap<String, f64>;

fn count(counts: &Counts, op: &str) -> f64 {
    counts.get(op).copied().unwrap_or(0.0)
}

/// A number for the formulas: thousands separated, at most 4 decimals (trailing zeros off).
pub(crate) fn num(x: f64) -> String {
    if x.abs() >= 1000.0 {
        let rounded = x.round() as i64;
        let digits = rounded.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        return if rounded < 0 { format!("-{out}") } else { out };
    }
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "0" && x != 0.0 {
        format!("{x:.1e}")
    } else {
        text.to_owned()
    }
}

/// `n` and the noun for it, singular for exactly 1.
pub(crate) fn counted(n: f64, one: &str, many: &str) -> String {
    format!("{} {}", num(n), if n == 1.0 { one } else { many })
}

/// Dollars: cents, or four decimals under a cent.
pub(crate) fn usd(x: f64) -> String {
    if x != 0.0 && x.abs() < 0.01 {
        format!("${x:.4}")
    } else if x.abs() >= 1000.0 {
        format!("${}", num(x))
    } else {
        format!("${x:.2}")
    }
}

fn lambda_label() -> String {
    format!(
        "{} + {}",
        prices::LAMBDA_REQUEST.label(),
        prices::LAMBDA_ARM_GB_SECOND.label()
    )
}

/// Dollars of `invocations` Lambda requests and `gb_seconds`.
fn lambda_dollars(invocations: f64, gb_seconds: f64) -> f64 {
    invocations * prices::LAMBDA_REQUEST.each() + gb_seconds * prices::LAMBDA_ARM_GB_SECOND.each()
}

/// The timer functions' cost per unit (fired timer or occurrence), per million units: their
/// requests per unit `ours`, `invocations` of the executor per unit (each also one receive
/// with messages and one delete of the event source mapping), `step` WRU per transaction.
fn timer_functions(
    b: &mut Breakdown,
    ours: &Counts,
    invocations: f64,
    invocations_basis: &str,
    step: &Assumption,
    executor_gb: f64,
) {
    let transactions = count(ours, "DynamoDB.TransactWriteItems");
    let plain = count(ours, "DynamoDB.PutItem")
        + count(ours, "DynamoDB.UpdateItem")
        + count(ours, "DynamoDB.DeleteItem");
    let events = EVENTS_PER_MOVE.value;
    let wru =
        transactions * step.value + events * OUTBOX_CLEAR_WRU.value + plain * PLAIN_WRITE_WRU.value;
    b.per_million(
        "DynamoDB writes",
        format!(
            "TransactWriteItems {} × {} WRU + {} event cleared × {} WRU + (PutItem, UpdateItem, DeleteItem) {} × {} WRU = **{} WRU**",
            num(transactions),
            num(step.value),
            num(events),
            num(OUTBOX_CLEAR_WRU.value),
            num(plain),
            num(PLAIN_WRITE_WRU.value),
            num(wru)
        ),
        wru,
        &prices::DYNAMODB_WRITE,
    );
    let gets = count(ours, "DynamoDB.GetItem");
    let queries = count(ours, "DynamoDB.Query");
    let timer_reads = DISPATCH_READS.value * TIMER_KB.value / 4.0 * QUERY_RRU.value;
    let rru = gets * GET_RRU.value + queries * QUERY_RRU.value + timer_reads;
    b.per_million(
        "DynamoDB reads",
        format!(
            "GetItem {} × {} + Query {} × {} + {} reads × {} KB / 4 KB × {} = **{} RRU**",
            num(gets),
            num(GET_RRU.value),
            num(queries),
            num(QUERY_RRU.value),
            num(DISPATCH_READS.value),
            num(TIMER_KB.value),
            num(QUERY_RRU.value),
            num(rru)
        ),
        rru,
        &prices::DYNAMODB_READ,
    );
    let sent: f64 = ours
        .iter()
        .filter(|(op, _)| op.starts_with("SQS."))
        .map(|(_, n)| n)
        .sum();
    let sqs = sent + 2.0 * invocations + events;
    b.per_million(
        "SQS",
        format!(
            "sent {} + {} × 2 (a receive with messages and a delete per invocation) + {} event delivered to LifecycleEventsQueue = **{} requests**",
            num(sent),
            num(invocations),
            num(events),
            num(sqs)
        ),
        sqs,
        &prices::SQS_REQUEST,
    );
    b.per_million(
        "EventBridge",
        format!("**{} event**", num(events)),
        events,
        &prices::EVENTBRIDGE_EVENT,
    );
    let gb_seconds = invocations * executor_gb * EXECUTOR_SECONDS.value;
    b.add(
        "Lambda (executor)",
        format!(
            "{} ({invocations_basis}); × {} GB × {} s = **{} GB-s**",
            counted(invocations, "invocation", "invocations"),
            num(executor_gb),
            num(EXECUTOR_SECONDS.value),
            num(gb_seconds)
        ),
        lambda_label(),
        lambda_dollars(invocations, gb_seconds) * MILLION,
    );
}

/// Dollars per million fired timers at the bench run's density: executor invocations per
/// timer are the event source mapping's deletes (one per invocation that received messages).
pub(crate) fn fired_timers(r: &BenchResult, stack: &StackFacts) -> Breakdown {
    let mut b = Breakdown::default();
    let invocations = count(
        &r.platform_requests_per_fired_timer,
        "SQS.DeleteMessageBatch",
    );
    timer_functions(
        &mut b,
        &r.requests_per_fired_timer,
        invocations,
        "measured: DeleteMessageBatch per timer",
        &FIRE_WRU,
        stack.memory_gb("timer-executor"),
    );
    b
}

/// Dollars per million fired timers when each is alone in its second: one message, one
/// SendMessageBatch and one executor invocation per timer.
pub(crate) fn sparse_timers(r: &BenchResult, stack: &StackFacts) -> Breakdown {
    let mut ours = r.requests_per_fired_timer.clone();
    ours.insert("SQS.SendMessageBatch".into(), 1.0);
    let mut b = Breakdown::default();
    timer_functions(
        &mut b,
        &ours,
        1.0,
        "one per timer",
        &FIRE_WRU,
        stack.memory_gb("timer-executor"),
    );
    b
}

/// Dollars per million delivered recipients, the provider left out; and the provider's line.
pub(crate) fn recipients(
    r: &BulkResult,
    capacity: &CapacityFigures,
    stack: &StackFacts,
) -> (Breakdown, Line) {
    let emails = r.run.sent as f64 / r.run.total.max(1) as f64;
    let cost = cost::per_million(
        capacity,
        &r.requests_per_recipient,
        &r.platform_requests_per_recipient,
        emails,
    );
    let mut b = Breakdown::default();
    b.add(
        "DynamoDB writes",
        format!(
            "**{} WRU** (metered: ledger {} of them)",
            num(capacity.write_units_per_recipient),
            num(capacity
                .write_units_by_item
                .get("ledger")
                .copied()
                .unwrap_or(0.0))
        ),
        prices::DYNAMODB_WRITE.label(),
        cost.dynamodb_writes,
    );
    b.add(
        "DynamoDB reads",
        format!(
            "**{} RRU** (metered)",
            num(capacity.read_units_per_recipient)
        ),
        prices::DYNAMODB_READ.label(),
        cost.dynamodb_reads,
    );
    b.add(
        "SQS",
        format!(
            "**{} requests** (sent, receives with messages, deletes)",
            num(cost.sqs_requests_per_recipient)
        ),
        prices::SQS_REQUEST.label(),
        cost.sqs,
    );
    let events = capacity.events_per_recipient;
    b.per_million(
        "SQS (events delivered to LifecycleEventsQueue)",
        format!("**{} requests** (one per event)", num(events)),
        events,
        &prices::SQS_REQUEST,
    );
    b.add(
        "EventBridge",
        format!("**{} events** (metered)", num(events)),
        prices::EVENTBRIDGE_EVENT.label(),
        cost.eventbridge,
    );
    b.add(
        "S3 GET (list ranges)",
        format!(
            "**{} GET**",
            num(count(&r.requests_per_recipient, "S3.GetObject"))
        ),
        prices::S3_GET.label(),
        cost.s3,
    );
    let invocations = count(&r.platform_requests_per_recipient, "SQS.DeleteMessageBatch");
    let sender_gb = stack.memory_gb("delivery-sender");
    let planner_gb = stack.memory_gb("delivery-planner");
    let gb_seconds = invocations * sender_gb * INVOCATION_SECONDS.value
        + sender_gb * SENDER_SECONDS.value
        + planner_gb * PLANNER_SECONDS.value;
    b.add(
        "Lambda (planner, sender)",
        format!(
            "{} invocations (measured: DeleteMessageBatch per recipient, one per batch of 50); {} × {} GB × {} s + {} GB × {} s (sender) + {} GB × {} s (planner) = **{} GB-s**",
            num(invocations),
            num(invocations),
            num(sender_gb),
            num(INVOCATION_SECONDS.value),
            num(sender_gb),
            num(SENDER_SECONDS.value),
            num(planner_gb),
            num(PLANNER_SECONDS.value),
            num(gb_seconds)
        ),
        lambda_label(),
        lambda_dollars(invocations, gb_seconds) * MILLION,
    );
    let provider = Line {
        item: "SES".into(),
        quantity: format!(
            "**{}** (one per recipient sent)",
            counted(emails, "email", "emails")
        ),
        price: prices::SES_EMAIL.label(),
        dollars: cost.ses,
    };
    (b, provider)
}

/// WRU per request of `op` on the delivery path, from the bulk run's metered units, or
/// `default` where the bulk run made no such request; and where the figure comes from.
fn delivery_wru(
    op: &str,
    bulk: &BulkResult,
    capacity: &CapacityFigures,
    default: f64,
) -> (f64, bool) {
    let requests = count(&bulk.requests_per_recipient, op);
    match capacity.write_units_by_operation.get(op) {
        Some(units) if requests > 0.0 => (units / requests, true),
        _ => (default, false),
    }
}

/// Dollars per million recurring runs of one recipient each (the series bench's): the timer
/// functions per occurrence (every occurrence starts a run) and the delivery functions per
/// completed run, whose DynamoDB units per request are the bulk run's metered ones.
/// `None` when the series run completed no run.
pub(crate) fn recurring_runs(
    r: &SeriesResult,
    bulk: &BulkResult,
    capacity: &CapacityFigures,
    stack: &StackFacts,
) -> Option<(Breakdown, Breakdown)> {
    let completed = r.runs_by_status.get("COMPLETED").copied().unwrap_or(0);
    if completed == 0 {
        return None;
    }
    let empty = Counts::new();
    let timers = r.requests_per_occurrence.get("timers").unwrap_or(&empty);
    let mut occurrence = Breakdown::default();
    timer_functions(
        &mut occurrence,
        timers,
        1.0,
        "assumed one per occurrence: the series run records no polling",
        &STEP_WRU,
        stack.memory_gb("timer-executor"),
    );

    let scale = r.occurrences as f64 / completed as f64;
    let delivery: Counts = r
        .requests_per_occurrence
        .get("delivery")
        .unwrap_or(&empty)
        .iter()
        .map(|(op, n)| (op.clone(), n * scale))
        .collect();
    let mut run = Breakdown::default();
    let mut terms = Vec::new();
    let mut wru = 0.0;
    for (op, n) in delivery.iter().filter(|(op, _)| {
        op.starts_with("DynamoDB.") && !matches!(op.as_str(), "DynamoDB.GetItem" | "DynamoDB.Query")
    }) {
        let default = if op == "DynamoDB.BatchWriteItem" {
            OUTBOX_CLEAR_WRU.value
        } else if op == "DynamoDB.TransactWriteItems" {
            4.0
        } else {
            PLAIN_WRITE_WRU.value
        };
        let (per, metered) = delivery_wru(op, bulk, capacity, default);
        wru += n * per;
        terms.push(format!(
            "{} {} × {}{}",
            op.trim_start_matches("DynamoDB."),
            num(*n),
            num(per),
            if metered { "" } else { " (assumed)" }
        ));
    }
    run.per_million(
        "DynamoDB writes",
        format!("{} = **{} WRU**", terms.join(" + "), num(wru)),
        wru,
        &prices::DYNAMODB_WRITE,
    );
    let gets = count(&delivery, "DynamoDB.GetItem");
    let queries = count(&delivery, "DynamoDB.Query");
    let rru = gets * GET_RRU.value + queries * QUERY_RRU.value;
    run.per_million(
        "DynamoDB reads",
        format!(
            "GetItem {} × {} + Query {} × {} = **{} RRU**",
            num(gets),
            num(GET_RRU.value),
            num(queries),
            num(QUERY_RRU.value),
            num(rru)
        ),
        rru,
        &prices::DYNAMODB_READ,
    );
    let gets_s3 = count(&delivery, "S3.GetObject");
    run.per_million(
        "S3 GET (the list)",
        format!("**{} GET**", num(gets_s3)),
        gets_s3,
        &prices::S3_GET,
    );
    let events = count(&delivery, "EventBridge.PutEvents");
    run.per_million(
        "EventBridge",
        format!(
            "PutEvents {} × 1 event (a run of one recipient has nothing to batch) = **{} events**",
            num(events),
            num(events)
        ),
        events,
        &prices::EVENTBRIDGE_EVENT,
    );
    let sent: f64 = delivery
        .iter()
        .filter(|(op, _)| op.starts_with("SQS."))
        .map(|(_, n)| n)
        .sum();
    // The planning, deliveries and alerts (CampaignRunCompleted) messages of the run.
    let messages = 3.0;
    let sqs = sent + messages * MESSAGE_REQUESTS.value + 1.0 + events;
    run.per_million(
        "SQS",
        format!(
            "sent {} + {} messages (planning, deliveries, alerts) × {} + the completion event into AlertsQueue 1 + {} events delivered to LifecycleEventsQueue = **{} requests**",
            num(sent),
            num(messages),
            num(MESSAGE_REQUESTS.value),
            num(events),
            num(sqs)
        ),
        sqs,
        &prices::SQS_REQUEST,
    );
    let invocations = 3.0;
    let gb_seconds = stack.memory_gb("delivery-planner")
        * (INVOCATION_SECONDS.value + PLANNER_SECONDS.value)
        + stack.memory_gb("delivery-sender") * (INVOCATION_SECONDS.value + SENDER_SECONDS.value)
        + stack.memory_gb("alert-fanout") * INVOCATION_SECONDS.value;
    run.add(
        "Lambda (planner, sender, fan-out)",
        format!(
            "{} invocations (one each); planner {} s + sender {} s + fan-out {} s of {} GB = **{} GB-s**",
            num(invocations),
            num(INVOCATION_SECONDS.value + PLANNER_SECONDS.value),
            num(INVOCATION_SECONDS.value + SENDER_SECONDS.value),
            num(INVOCATION_SECONDS.value),
            num(stack.memory_gb("delivery-sender")),
            num(gb_seconds)
        ),
        lambda_label(),
        lambda_dollars(invocations, gb_seconds) * MILLION,
    );
    Some((occurrence, run))
}

/// The monthly cost of the deployed stack with nothing to do; fails on a scheduled function
/// without an [`IdleProfile`].
pub(crate) fn idle(stack: &StackFacts) -> Result<Breakdown, String> {
    let mut b = Breakdown::default();
    let mut idle_invocations = 0.0;
    let mut sweeps = 0.0;
    let mut scheduled = Vec::new();
    for f in &stack.functions {
        for (expression, period) in &f.schedules {
            let profile = idle_profile(&f.binary).ok_or(format!(
                "{} runs on a schedule ({expression}) but cost_model.rs has no idle profile for it",
                f.logical_id
            ))?;
            let invocations = MONTH_SECONDS / *period as f64;
            idle_invocations += invocations;
            if f.binary == "sweeper" {
                sweeps += invocations;
            }
            scheduled.push(f.binary.as_str());
            let gb = f64::from(f.memory_mb) / 1024.0;
            let gb_seconds = invocations * gb * profile.seconds.value;
            b.add(
                format!("Lambda: {} `{expression}`", f.logical_id),
                format!(
                    "{} invocations; × {} GB × {} s = {} GB-s",
                    num(invocations),
                    num(gb),
                    num(profile.seconds.value),
                    num(gb_seconds)
                ),
                lambda_label(),
                lambda_dollars(invocations, gb_seconds),
            );
            let queries = profile.queries + profile.queries_per_shard * f64::from(stack.due_shards);
            let rru = invocations * (profile.gets * GET_RRU.value + queries * QUERY_RRU.value);
            let wru = invocations * profile.write_units;
            b.add(
                format!("DynamoDB: {}", f.logical_id),
                format!(
                    "{} × ({} GetItem × {} + {} Query × {}) = {} RRU; {} × {} WRU = {} WRU",
                    num(invocations),
                    num(profile.gets),
                    num(GET_RRU.value),
                    num(queries),
                    num(QUERY_RRU.value),
                    num(rru),
                    num(invocations),
                    num(profile.write_units),
                    num(wru)
                ),
                format!(
                    "{}; {}",
                    prices::DYNAMODB_READ.label(),
                    prices::DYNAMODB_WRITE.label()
                ),
                rru * prices::DYNAMODB_READ.each() + wru * prices::DYNAMODB_WRITE.each(),
            );
        }
    }
    scheduled.sort_unstable();
    scheduled.dedup();
    let sweep_metrics = if scheduled.contains(&"sweeper") {
        IDLE_SWEEP_METRICS.len()
    } else {
        0
    };
    let metrics = scheduled.len() + sweep_metrics;
    b.add(
        "CloudWatch custom metrics (EMF)",
        format!(
            "Heartbeat × {} scheduled functions + {} metrics every sweep emits = {} metrics",
            scheduled.len(),
            sweep_metrics,
            metrics
        ),
        prices::CLOUDWATCH_METRIC.label(),
        metrics as f64 * prices::CLOUDWATCH_METRIC.each(),
    );
    b.add(
        "CloudWatch alarms",
        format!(
            "{} alarms evaluating {} metrics (a metric math alarm counts each metric it reads)",
            stack.alarms, stack.alarm_metrics
        ),
        prices::CLOUDWATCH_ALARM.label(),
        stack.alarm_metrics as f64 * prices::CLOUDWATCH_ALARM.each()
            + stack.high_res_alarm_metrics as f64 * prices::CLOUDWATCH_HIGH_RES_ALARM.each(),
    );
    b.add(
        "CloudWatch dashboard",
        format!("{} dashboard", stack.dashboards),
        prices::CLOUDWATCH_DASHBOARD.label(),
        stack.dashboards as f64 * prices::CLOUDWATCH_DASHBOARD.each(),
    );
    b.add(
        "KMS customer managed key",
        format!(
            "{} key ({} with automatic rotation: +$1 a month after each of its first two rotations)",
            stack.kms_keys, stack.rotated_kms_keys
        ),
        prices::KMS_KEY.label(),
        stack.kms_keys as f64 * prices::KMS_KEY.each(),
    );
    let mappings = stack.sqs_mappings().len() as f64;
    let polls = mappings * POLLERS.value * POLLS_PER_MINUTE.value * MONTH_SECONDS / 60.0;
    b.add(
        "SQS: Lambda's long polling of idle queues",
        format!(
            "{} event source mappings × {} pollers × {} ReceiveMessage a minute × {} minutes = {} requests",
            num(mappings),
            num(POLLERS.value),
            num(POLLS_PER_MINUTE.value),
            num(MONTH_SECONDS / 60.0),
            num(polls)
        ),
        prices::SQS_REQUEST.label(),
        polls * prices::SQS_REQUEST.each(),
    );
    let log_gb = idle_invocations * LOG_KB.value / (1024.0 * 1024.0);
    b.add(
        "CloudWatch Logs",
        format!(
            "{} idle invocations × {} KB = {} GB ingested, kept 30 days",
            num(idle_invocations),
            num(LOG_KB.value),
            num(log_gb)
        ),
        format!(
            "{}; {}",
            prices::LOGS_INGESTION.label(),
            prices::LOGS_STORAGE.label()
        ),
        log_gb * (prices::LOGS_INGESTION.each() + prices::LOGS_STORAGE.each()),
    );
    let table_gb = sweeps * REPORT_KB.value / (1024.0 * 1024.0);
    let storage = prices::DYNAMODB_STORAGE.each()
        + if stack.pitr {
            prices::DYNAMODB_PITR.each()
        } else {
            0.0
        };
    b.add(
        "DynamoDB storage",
        format!(
            "{} sweep reports × {} KB = {} GB{}",
            num(sweeps),
            num(REPORT_KB.value),
            num(table_gb),
            if stack.pitr {
                ", with point-in-time recovery"
            } else {
                ""
            }
        ),
        if stack.pitr {
            format!(
                "{} + {}",
                prices::DYNAMODB_STORAGE.label(),
                prices::DYNAMODB_PITR.label()
            )
        } else {
            prices::DYNAMODB_STORAGE.label()
        },
        table_gb * storage,
    );
    Ok(b)
}

/// One way to run a million one-shot timers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Alternative {
    pub(crate) name: &'static str,
    /// The scheduling mechanism, per million timers, with its formula.
    pub(crate) mechanism: String,
    pub(crate) mechanism_dollars: f64,
    /// Applying each move once and publishing it (DynamoDB and EventBridge, as here).
    pub(crate) state_dollars: f64,
}

impl Alternative {
    /// Everything, per million timers.
    pub(crate) fn total(&self) -> f64 {
        self.mechanism_dollars + self.state_dollars
    }
}

/// This stack, EventBridge Scheduler and Step Functions Standard for a million one-shot timers,
/// from this stack's measured breakdown `fired`: the DynamoDB and EventBridge lines are the
/// state change every alternative still needs; the rest is this stack's mechanism.
pub(crate) fn alternatives(fired: &Breakdown, stack: &StackFacts) -> [Alternative; 3] {
    let state: f64 = fired
        .lines
        .iter()
        .filter(|l| l.item.starts_with("DynamoDB") || l.item == "EventBridge")
        .map(|l| l.dollars)
        .sum();
    let ours = fired.total() - state;
    let gb = stack.memory_gb("timer-executor");
    let target = lambda_dollars(1.0, gb * TARGET_SECONDS.value) * MILLION;
    let scheduler = prices::SCHEDULER_INVOCATION.each() * MILLION;
    let transitions = TRANSITIONS.value * prices::STEP_FUNCTIONS_TRANSITION.each() * MILLION;
    [
        Alternative {
            name: "this stack (measured)",
            mechanism: "dispatcher's SendMessageBatch, SQS, executor Lambda (the lines above \
                        besides DynamoDB and EventBridge)"
                .into(),
            mechanism_dollars: ours,
            state_dollars: state,
        },
        Alternative {
            name: "EventBridge Scheduler + a Lambda target",
            mechanism: format!(
                "1 schedule invocation × {} = {}; + 1 Lambda invocation of {} GB × {} s = {}",
                prices::SCHEDULER_INVOCATION.label(),
                usd(scheduler),
                num(gb),
                num(TARGET_SECONDS.value),
                usd(target)
            ),
            mechanism_dollars: scheduler + target,
            state_dollars: state,
        },
        Alternative {
            name: "Step Functions Standard",
            mechanism: format!(
                "{} transitions × {}",
                num(TRANSITIONS.value),
                prices::STEP_FUNCTIONS_TRANSITION.label()
            ),
            mechanism_dollars: transitions,
            state_dollars: state,
        },
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{actual} is not {expected}"
        );
    }

    const TEMPLATE: &str = r#"
Parameters:
  DueShards:
    Type: Number
    Default: 4
Globals:
  Function:
    Architectures: [arm64]
    MemorySize: 512
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      PointInTimeRecoverySpecification:
        PointInTimeRecoveryEnabled: true
  Dispatcher:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: timer-dispatcher}}
    Properties:
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: rate(2 minutes)}}
  Executor:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: timer-executor}}
    Properties:
      MemorySize: 1024
      Events:
        Timers: {Type: SQS, Properties: {Queue: !GetAtt Q.Arn}}
  Planner:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: delivery-planner}}
    Properties:
      Events:
        Plans: {Type: SQS, Properties: {Queue: !GetAtt P.Arn}}
  Sender:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: delivery-sender}}
  Fanout:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: alert-fanout}}
  Plain:
    Type: AWS::CloudWatch::Alarm
    Properties: {MetricName: Errors, Period: 60}
  Math:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Metrics:
        - Id: sum
          Expression: a + b
        - Id: a
          MetricStat: {Period: 300}
        - Id: b
          MetricStat: {Period: 300}
  Fast:
    Type: AWS::CloudWatch::Alarm
    Properties: {MetricName: Lag, Period: 10}
  Board:
    Type: AWS::CloudWatch::Dashboard
  Key:
    Type: AWS::KMS::Key
    Properties: {EnableKeyRotation: true}
"#;

    fn stack() -> StackFacts {
        StackFacts::of(&Template::parse(TEMPLATE).expect("template")).expect("facts")
    }

    #[test]
    fn reads_the_template_by_program() {
        let s = stack();
        assert_eq!(
            (s.alarms, s.alarm_metrics, s.high_res_alarm_metrics),
            (3, 3, 1)
        );
        assert_eq!((s.dashboards, s.kms_keys, s.rotated_kms_keys), (1, 1, 1));
        assert_eq!(s.due_shards, 4);
        assert!(s.pitr);
        close(s.memory_gb("timer-executor"), 1.0);
        close(s.memory_gb("delivery-sender"), 0.5);
        assert_eq!(
            s.sqs_mappings(),
            vec![("Executor", "Timers"), ("Planner", "Plans")]
        );
        let dispatcher = s.functions.iter().find(|f| f.binary == "timer-dispatcher");
        assert_eq!(
            dispatcher.map(|f| f.schedules.clone()),
            Some(vec![("rate(2 minutes)".to_owned(), 120)])
        );
    }

    #[test]
    fn refuses_what_it_cannot_price() {
        let x86 = TEMPLATE.replace("Architectures: [arm64]", "Architectures: [x86_64]");
        assert!(StackFacts::of(&Template::parse(&x86).expect("template")).is_err());
        let cron = TEMPLATE.replace("rate(2 minutes)", "cron(0 * * * ? *)");
        assert!(StackFacts::of(&Template::parse(&cron).expect("template")).is_err());
        let no_sender = TEMPLATE.replace("Binary: delivery-sender", "Binary: other");
        assert!(StackFacts::of(&Template::parse(&no_sender).expect("template")).is_err());
        let mut unknown = stack();
        unknown.functions[0].binary = "reporter".into();
        assert!(idle(&unknown).is_err());
    }

    #[test]
    fn the_template_s_own_facts() {
        let path = crate::results::repo_root().join("template.yaml");
        let s = StackFacts::of(&Template::load(&path).expect("template.yaml")).expect("facts");
        assert!(s.alarms > 0 && s.alarm_metrics >= s.alarms);
        assert_eq!(s.dashboards, 1);
        assert!(idle(&s).is_ok());
    }

    /// A result as the bench stores it (fields added later default).
    fn parse<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).expect("a stored result")
    }

    fn lag() -> serde_json::Value {
        json!({"p50": 0, "p95": 0, "p99": 0, "max": 0})
    }

    /// A timer run of 10 timers (also `cost_doc`'s tests').
    pub(crate) fn timer_run() -> BenchResult {
        parse(json!({
            "startedAt": "2026-12-04T00:00:00Z",
            "endpoint": "",
            "timers": 10,
            "windowSeconds": 10,
            "fired": 10,
            "lagMs": lag(),
            "firedPerSecond": 1.0,
            "requestsPerFiredTimer": {
                "DynamoDB.TransactWriteItems": 1.0,
                "DynamoDB.GetItem": 1.0,
                "DynamoDB.Query": 0.2,
                "DynamoDB.UpdateItem": 0.5,
                "SQS.SendMessageBatch": 0.1,
                "EventBridge.PutEvents": 0.1
            },
            "requestsPerFiredTimerTotal": 2.9,
            "platformRequestsPerFiredTimer": {
                "SQS.DeleteMessageBatch": 0.1,
                "SQS.ReceiveMessage": 3.0
            },
            "scans": 0
        }))
    }

    #[test]
    fn prices_a_million_fired_timers() {
        let s = stack();
        let b = fired_timers(&timer_run(), &s);
        let dollars: Vec<f64> = b.lines.iter().map(|l| l.dollars).collect();
        // 1 × 10 + 1 × 2 + 0.5 × 1 = 12.5 WRU at $0.625 per million.
        close(dollars[0], 7.8125);
        // 1 × 1 + 0.2 × 0.5 + 1.5 × 0.5 / 4 × 0.5 = 1.19375 RRU at $0.125 per million.
        close(dollars[1], 0.14921875);
        // 0.1 sent + 0.1 receives + 0.1 deletes + 1 event delivered = 1.3 requests.
        close(dollars[2], 0.52);
        close(dollars[3], 1.0);
        // 0.1 invocations of 1 GB × 0.8 s: 0.1 × $0.20 + 0.08 GB-s × $13.3334.
        close(dollars[4], 0.02 + 0.08 * 13.3334);
        close(
            b.total(),
            7.8125 + 0.14921875 + 0.52 + 1.0 + 0.02 + 1.066672,
        );

        let sparse = sparse_timers(&timer_run(), &s);
        // 1 sent + 1 receive + 1 delete + 1 event delivered; one 0.8 GB-s invocation per timer.
        close(sparse.lines[2].dollars, 1.6);
        close(sparse.lines[4].dollars, 0.2 + 0.8 * 13.3334);
    }

    /// A bulk run of 1,000 recipients and its capacity (also `cost_doc`'s tests').
    pub(crate) fn bulk_run() -> (BulkResult, CapacityFigures) {
        let bulk: BulkResult = parse(json!({
            "scenario": "bulk",
            "startedAt": "2026-12-04T00:00:00Z",
            "endpoint": "",
            "recipients": 1000,
            "sendRate": 100,
            "pollers": 1,
            "run": {
                "status": "COMPLETED", "total": 1000, "sent": 1000, "failed": 0, "pending": 0,
                "ambiguous": 0, "duplicates": 0, "sendSeconds": 10.0, "recipientsPerSecond": 100.0
            },
            "requestsPerRecipient": {
                "DynamoDB.TransactWriteItems": 1.0,
                "DynamoDB.UpdateItem": 0.1,
                "SESv2.SendEmail": 1.0,
                "S3.GetObject": 0.02
            },
            "requestsPerRecipientTotal": 2.12,
            "platformRequestsPerRecipient": {"SQS.DeleteMessageBatch": 0.02},
            "otherRequests": {},
            "capacity": {
                "writeUnitsPerRecipient": 4.0,
                "indexWriteUnitsPerRecipient": 0.0,
                "writeUnitsByItem": {},
                "writeUnitsByOperation": {
                    "DynamoDB.TransactWriteItems": 5.0,
                    "DynamoDB.UpdateItem": 0.2
                },
                "readUnitsPerRecipient": 0.2,
                "readUnitsByOperation": {},
                "refusedWrites": 0,
                "largestItemBytes": {},
                "eventsPerRecipient": 0.01,
                "receivesWithMessagesPerRecipient": 0.02,
                "emptyReceivesPerRecipient": 0.9
            },
            "memory": {}
        }));
        let capacity = bulk.capacity.clone().expect("capacity");
        (bulk, capacity)
    }

    #[test]
    fn prices_a_million_recipients_with_and_without_the_provider() {
        let s = stack();
        let (bulk, capacity) = bulk_run();
        let (b, ses) = recipients(&bulk, &capacity, &s);
        let dollars: Vec<f64> = b.lines.iter().map(|l| l.dollars).collect();
        close(dollars[0], 2.5);
        close(dollars[1], 0.025);
        // 0.02 receives with messages + 0.02 deletes = 0.04 requests.
        close(dollars[2], 0.016);
        close(dollars[3], 0.004);
        close(dollars[4], 0.01);
        close(dollars[5], 0.008);
        // 0.02 × 0.5 GB × 0.05 s + 0.5 GB × 0.05 s + 0.5 GB × 0.0001 s = 0.02555 GB-s.
        close(dollars[6], 0.02 * 0.2 + 0.02555 * 13.3334);
        close(ses.dollars, 100.0);
    }

    #[test]
    fn prices_a_million_recurring_runs() {
        let s = stack();
        let (bulk, capacity) = bulk_run();
        let series: SeriesResult = parse(json!({
            "scenario": "series",
            "startedAt": "2026-12-04T00:00:00Z",
            "endpoint": "",
            "series": 10,
            "periodSeconds": 10,
            "windowSeconds": 100,
            "expectedOccurrences": 100,
            "occurrences": 100,
            "runsByStatus": {"COMPLETED": 50, "SKIPPED_OVERLAP": 50},
            "handledLagMs": lag(),
            "startLagMs": lag(),
            "requestsPerOccurrence": {
                "timers": {"DynamoDB.TransactWriteItems": 1.0},
                "delivery": {
                    "DynamoDB.TransactWriteItems": 1.0,
                    "DynamoDB.BatchWriteItem": 0.5,
                    "DynamoDB.GetItem": 1.0,
                    "EventBridge.PutEvents": 0.5,
                    "S3.GetObject": 0.5
                }
            },
            "requestsPerOccurrenceTotal": {},
            "pollers": 1
        }));
        let (occurrence, run) = recurring_runs(&series, &bulk, &capacity, &s).expect("runs");
        // 1 × 14 + 1 event × 2 = 16 WRU.
        close(occurrence.lines[0].dollars, 10.0);
        // Per completed run (×2): TransactWriteItems 2 × 5 (metered) + BatchWriteItem 1 × 2.
        close(run.lines[0].dollars, 12.0 * 0.625);
        close(run.lines[1].dollars, 2.0 * 0.125);
        close(run.lines[2].dollars, 0.4);
        close(run.lines[3].dollars, 1.0);
        // 3 messages × 2 + 1 into AlertsQueue + 1 event delivered = 8 requests.
        close(run.lines[4].dollars, 3.2);
        // Planner 0.0501 s + sender 0.1 s + fan-out 0.05 s, all 0.5 GB.
        close(run.lines[5].dollars, 0.6 + 0.5 * 0.2001 * 13.3334);
        let mut none = series;
        none.runs_by_status.clear();
        assert!(recurring_runs(&none, &bulk, &capacity, &s).is_none());
    }

    #[test]
    fn prices_an_idle_month() {
        let s = stack();
        let b = idle(&s).expect("idle");
        let line = |item: &str| {
            b.lines
                .iter()
                .find(|l| l.item.starts_with(item))
                .unwrap_or_else(|| panic!("no {item}"))
                .dollars
        };
        // rate(2 minutes): 21,600 ticks of 0.5 GB × 0.2 s.
        close(
            line("Lambda: Dispatcher"),
            21_600.0 * 0.2e-6 + 21_600.0 * 0.1 * 0.000_013_333_4,
        );
        // 3 GetItem + 4 shards × 0.5 = 5 RRU and 3 WRU per tick.
        close(
            line("DynamoDB: Dispatcher"),
            21_600.0 * 5.0 * 0.125e-6 + 21_600.0 * 3.0 * 0.625e-6,
        );
        // One scheduled function (no sweeper): its heartbeat only.
        close(line("CloudWatch custom metrics"), 0.3);
        close(line("CloudWatch alarms"), 3.0 * 0.1 + 0.3);
        close(line("CloudWatch dashboard"), 3.0);
        close(line("KMS"), 1.0);
        // 2 mappings × 5 pollers × 3 a minute × 43,200 minutes = 1,296,000 requests.
        close(line("SQS"), 0.5184);
        close(line("DynamoDB storage"), 0.0);
        let logs = 21_600.0 * 1.5 / (1024.0 * 1024.0) * 0.53;
        close(line("CloudWatch Logs"), logs);
    }

    #[test]
    fn alternatives_share_the_state_change() {
        let s = stack();
        let fired = fired_timers(&timer_run(), &s);
        let [ours, scheduler, steps] = alternatives(&fired, &s);
        let state = fired.lines[0].dollars + fired.lines[1].dollars + fired.lines[3].dollars;
        close(ours.state_dollars, state);
        close(ours.total(), fired.total());
        // $1 of invocations + a 1 GB × 0.05 s target per timer.
        close(scheduler.mechanism_dollars, 1.0 + 0.2 + 0.05 * 13.3334);
        close(steps.mechanism_dollars, 75.0);
        close(steps.total(), 75.0 + state);
    }

    #[test]
    fn idle_metrics_are_what_a_quiet_sweep_emits() {
        for def in IDLE_SWEEP_METRICS {
            assert!(catalogue::ALL.contains(&def), "{}", def.name);
            assert_eq!(def.functions, ["sweeper"], "{}", def.name);
        }
        assert_eq!(
            metric_streams(&catalogue::HEARTBEAT),
            catalogue::FUNCTIONS.len()
        );
        assert_eq!(metric_streams(&catalogue::CIRCUIT_TRANSITIONS), 30);
    }

    #[test]
    fn formats_numbers_and_dollars() {
        assert_eq!(num(43_200.0), "43,200");
        assert_eq!(num(2_592_000.4), "2,592,000");
        assert_eq!(num(12.055), "12.055");
        assert_eq!(num(0.09375), "0.0938");
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.00001), "1.0e-5");
        assert_eq!(usd(7.534375), "$7.53");
        assert_eq!(usd(0.0043), "$0.0043");
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(1234.5), "$1,235");
        assert_eq!(counted(1.0, "email", "emails"), "1 email");
        assert_eq!(counted(0.02, "email", "emails"), "0.02 emails");
    }
}
