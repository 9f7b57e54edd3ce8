//! The catalogue of every CloudWatch metric the code emits: one constant per metric with its
//! name, unit, the `Function` values that emit it, its extra dimensions (names and the values
//! they take) and whether the operations dashboard shows it or why not. [`crate::metrics::emit`]
//! takes only catalogue entries and checks (in debug builds) that a line's function and
//! dimensions are the entry's, so no metric leaves the code uncatalogued. The dashboard
//! test (`tests/tests/dashboard.rs`) holds `template.yaml`'s dashboard and alarms to [`ALL`],
//! and `docs/dashboard.md` describes both.

use crate::metrics::Unit;

/// A metric of namespace [`crate::metrics::NAMESPACE`].
#[derive(Debug, PartialEq, Eq)]
pub struct MetricDef {
    /// The metric name.
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// The values of its `Function` dimension: who emits it.
    pub functions: &'static [&'static str],
    /// Its dimensions besides `Function`, in the order they are emitted.
    pub dimensions: &'static [Dimension],
    /// Whether the dashboard shows it.
    pub placement: Placement,
}

/// A dimension besides `Function`, with every value the code gives it.
#[derive(Debug, PartialEq, Eq)]
pub struct Dimension {
    /// The dimension name.
    pub name: &'static str,
    /// Every value it takes.
    pub values: &'static [&'static str],
}

/// Where a metric is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the operations dashboard.
    Dashboard,
    /// Deliberately left off it, for this reason.
    Off(&'static str),
}

impl MetricDef {
    /// Why a line of this metric from `function` with `dimensions` (besides `Function`) does
    /// not match the entry, if it does not (an entry missing from [`ALL`] matches nothing).
    pub fn check(&self, function: &str, dimensions: &[(&str, &str)]) -> Result<(), String> {
        if !ALL.contains(&self) {
            return Err(format!("{} is not in catalogue::ALL", self.name));
        }
        if !self.functions.contains(&function) {
            return Err(format!(
                "{}: function {function} is not among {:?}",
                self.name, self.functions
            ));
        }
        let names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
        let expected: Vec<&str> = self.dimensions.iter().map(|d| d.name).collect();
        if names != expected {
            return Err(format!(
                "{}: dimensions {names:?}, the catalogue has {expected:?}",
                self.name
            ));
        }
        match self
            .dimensions
            .iter()
            .zip(dimensions)
            .find(|(dimension, (_, value))| !dimension.values.contains(value))
        {
            Some((dimension, (_, value))) => Err(format!(
                "{}: {} = {value} is not among {:?}",
                self.name, dimension.name, dimension.values
            )),
            None => Ok(()),
        }
    }
}

/// Every function, by the name it beats and logs under.
pub const FUNCTIONS: &[&str] = &[
    "api",
    "timer-dispatcher",
    "timer-executor",
    "sweeper",
    "delivery-planner",
    "delivery-sender",
    "alert-fanout",
];

const EXECUTOR: &[&str] = &["timer-executor"];
const SWEEPER: &[&str] = &["sweeper"];
const BREAKER: &[&str] = &["circuit-breaker"];
const FANOUT: &[&str] = &["alert-fanout"];
const SENDER: &[&str] = &["delivery-sender"];

/// The timer kinds' wire names (`TimerKind::as_str`).
const TIMER_KIND: Dimension = Dimension {
    name: "TimerKind",
    values: &[
        "START_CAMPAIGN",
        "CLOSE_CAMPAIGN",
        "EXPIRE_CAMPAIGN",
        "REWARD_REMINDER",
        "OCCURRENCE",
        "RUN_CLOSE",
    ],
};

/// The dependencies with a breaker (`Dependency::as_str`, checked by the dashboard test).
const DEPENDENCY: Dimension = Dimension {
    name: "Dependency",
    values: &[
        "dynamodb",
        "sqs",
        "eventbridge",
        "s3",
        "ssm",
        "secretsmanager",
        "alert-email",
        "alert-slack",
        "alert-webhook",
        "alert-sns",
    ],
};

/// A breaker's new state (`CircuitState::as_str`, checked by the dashboard test).
const TO_STATE: Dimension = Dimension {
    name: "To",
    values: &["CLOSED", "OPEN", "HALF_OPEN"],
};

/// The alert channels (`AlertChannel::as_str`).
const ALERT_CHANNEL: Dimension = Dimension {
    name: "Channel",
    values: &["EMAIL", "SLACK", "WEBHOOK", "SNS"],
};

/// The delivery channels (`delivery::Channel::as_str`).
const DELIVERY_CHANNEL: Dimension = Dimension {
    name: "Channel",
    values: &["email", "webhook", "event"],
};

/// A sweeper count of the recovery report, per sweep, on the dashboard.
const fn sweep_count(name: &'static str) -> MetricDef {
    MetricDef {
        name,
        unit: Unit::Count,
        functions: SWEEPER,
        dimensions: &[],
        placement: Placement::Dashboard,
    }
}

/// A delivery count per recorded batch and channel, on the dashboard.
const fn delivery_count(name: &'static str) -> MetricDef {
    MetricDef {
        name,
        unit: Unit::Count,
        functions: SENDER,
        dimensions: &[DELIVERY_CHANNEL],
        placement: Placement::Dashboard,
    }
}

/// Each function, at most once a minute per instance (alarms: no data means it stopped).
pub const HEARTBEAT: MetricDef = MetricDef {
    name: "Heartbeat",
    unit: Unit::Count,
    functions: FUNCTIONS,
    dimensions: &[],
    placement: Placement::Dashboard,
};

/// Due time → commit of each timer the executor fired, per batch.
pub const TIMER_LAG_MS: MetricDef = MetricDef {
    name: "TimerLagMs",
    unit: Unit::Milliseconds,
    functions: EXECUTOR,
    dimensions: &[],
    placement: Placement::Dashboard,
};

/// Timers the executor fired, per batch.
pub const TIMERS_FIRED: MetricDef = MetricDef {
    name: "TimersFired",
    unit: Unit::Count,
    functions: EXECUTOR,
    dimensions: &[],
    placement: Placement::Dashboard,
};

/// One per sweep, by `Outcome`.
pub const RECOVERY_RUNS: MetricDef = MetricDef {
    name: "RecoveryRuns",
    unit: Unit::Count,
    functions: SWEEPER,
    dimensions: &[Dimension {
        name: "Outcome",
        values: &["success", "failure"],
    }],
    placement: Placement::Dashboard,
};

/// How long a sweep ran.
pub const RECOVERY_DURATION_MS: MetricDef = MetricDef {
    name: "RecoveryDurationMs",
    unit: Unit::Milliseconds,
    functions: SWEEPER,
    dimensions: &[],
    placement: Placement::Off(
        "the sweeper's Lambda Duration on the dashboard shows the same, and each stored \
         recovery report has it",
    ),
};

/// Missed and orphaned timers a sweep cancelled.
pub const TIMERS_CANCELLED: MetricDef = sweep_count("TimersCancelled");
/// Stuck timers out of attempts a sweep set FAILED (`RecoveryAlarm`).
pub const TIMERS_FAILED: MetricDef = sweep_count("TimersFailed");
/// Campaigns a sweep moved to where the clock says they should be.
pub const CAMPAIGNS_FIXED: MetricDef = sweep_count("CampaignsFixed");
/// Outbox events and alerts a sweep published again.
pub const EVENTS_REPUBLISHED: MetricDef = sweep_count("EventsRepublished");
/// Stalled delivery runs a sweep queued again or completed.
pub const RUNS_REPAIRED: MetricDef = sweep_count("RunsRepaired");
/// Recurring series whose lost timer a sweep wrote again.
pub const SERIES_REPAIRED: MetricDef = sweep_count("SeriesRepaired");
/// 1 when a sweep found the dispatcher stalled, else 0 (`RecoveryAlarm`).
pub const DISPATCHER_STALLED: MetricDef = sweep_count("DispatcherStalled");

/// Timers a sweep recovered (stuck ones requeued, missed ones fired), by `TimerKind`.
pub const TIMERS_RECOVERED: MetricDef = MetricDef {
    name: "TimersRecovered",
    unit: Unit::Count,
    functions: SWEEPER,
    dimensions: &[TIMER_KIND],
    placement: Placement::Dashboard,
};

/// Lease expiry → requeue of the stuck timers a sweep took back, averaged per sweep that took
/// any back (their mean time to recovery).
pub const STUCK_TIMER_RECOVERY_MS: MetricDef = MetricDef {
    name: "StuckTimerRecoveryMs",
    unit: Unit::Milliseconds,
    functions: SWEEPER,
    dimensions: &[],
    placement: Placement::Dashboard,
};

/// One per move of a shared circuit breaker, by `Dependency` and new state `To`.
pub const CIRCUIT_TRANSITIONS: MetricDef = MetricDef {
    name: "CircuitTransitions",
    unit: Unit::Count,
    functions: BREAKER,
    dimensions: &[DEPENDENCY, TO_STATE],
    placement: Placement::Dashboard,
};

/// How long a breaker that closed again had been open (the dependency's time to recovery).
pub const CIRCUIT_OPEN_MS: MetricDef = MetricDef {
    name: "CircuitOpenMs",
    unit: Unit::Milliseconds,
    functions: BREAKER,
    dimensions: &[
        DEPENDENCY,
        Dimension {
            name: "To",
            values: &["CLOSED"],
        },
    ],
    placement: Placement::Dashboard,
};

/// A breaker's recoveries / (recoveries + failed recoveries), when a half-open period ends
/// (closed, opened again, or probing again after its probes were lost).
pub const CIRCUIT_RECOVERY_RATE: MetricDef = MetricDef {
    name: "CircuitRecoveryRate",
    unit: Unit::None,
    functions: BREAKER,
    dimensions: &[DEPENDENCY, TO_STATE],
    placement: Placement::Off(
        "a ratio over the breaker's whole life, sampled only when a half-open period ends; \
         GET /recovery/circuit-breakers shows it with the counts behind it",
    ),
};

/// Alert notifications delivered, per queue batch or periodic check and `Channel`.
pub const ALERTS_SENT: MetricDef = MetricDef {
    name: "AlertsSent",
    unit: Unit::Count,
    functions: FANOUT,
    dimensions: &[ALERT_CHANNEL],
    placement: Placement::Dashboard,
};

/// Alert notifications that failed (retried later), per queue batch or periodic check and
/// `Channel` (`AlertsNotDeliveredAlarm`).
pub const ALERTS_NOT_DELIVERED: MetricDef = MetricDef {
    name: "AlertsNotDelivered",
    unit: Unit::Count,
    functions: FANOUT,
    dimensions: &[ALERT_CHANNEL],
    placement: Placement::Dashboard,
};

/// Recipients a recorded batch settled `SENT`, by `Channel`.
pub const DELIVERIES_SENT: MetricDef = delivery_count("DeliveriesSent");
/// Recipients a recorded batch settled `FAILED` (refused for good), by `Channel`.
pub const DELIVERIES_FAILED: MetricDef = delivery_count("DeliveriesFailed");
/// Recipients a recorded batch settled `UNCONFIRMED` (ambiguous, not resent), by `Channel`.
pub const DELIVERIES_UNCONFIRMED: MetricDef = delivery_count("DeliveriesUnconfirmed");
/// Rows a recorded batch settled, whatever the outcome (duplicates, cancelled and expired
/// rows included): the runs' progress, by `Channel`.
pub const RECIPIENTS_SETTLED: MetricDef = delivery_count("RecipientsSettled");

/// Rows of the batch's run planned and not yet settled, once the batch is recorded, by
/// `Channel` (its maximum: the largest run still sending).
pub const RUN_RECIPIENTS_PENDING: MetricDef = delivery_count("RunRecipientsPending");

/// Every metric.
pub const ALL: &[&MetricDef] = &[
    &HEARTBEAT,
    &TIMER_LAG_MS,
    &TIMERS_FIRED,
    &RECOVERY_RUNS,
    &RECOVERY_DURATION_MS,
    &TIMERS_CANCELLED,
    &TIMERS_FAILED,
    &CAMPAIGNS_FIXED,
    &EVENTS_REPUBLISHED,
    &RUNS_REPAIRED,
    &SERIES_REPAIRED,
    &DISPATCHER_STALLED,
    &TIMERS_RECOVERED,
    &STUCK_TIMER_RECOVERY_MS,
    &CIRCUIT_TRANSITIONS,
    &CIRCUIT_OPEN_MS,
    &CIRCUIT_RECOVERY_RATE,
    &ALERTS_SENT,
    &ALERTS_NOT_DELIVERED,
    &DELIVERIES_SENT,
    &DELIVERIES_FAILED,
    &DELIVERIES_UNCONFIRMED,
    &RECIPIENTS_SETTLED,
    &RUN_RECIPIENTS_PENDING,
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use lifecycle_domain::TimerKind;
    use lifecycle_domain::alerting::AlertChannel;
    use lifecycle_domain::delivery::Channel;

    use super::*;

    fn values(dimension: &Dimension) -> BTreeSet<&'static str> {
        dimension.values.iter().copied().collect()
    }

    #[test]
    fn dimension_values_are_the_domain_s_wire_names() {
        let kinds = TimerKind::ALL.map(TimerKind::as_str);
        assert_eq!(values(&TIMER_KIND), BTreeSet::from(kinds));
        let alert_channels = AlertChannel::ALL.map(AlertChannel::as_str);
        assert_eq!(values(&ALERT_CHANNEL), BTreeSet::from(alert_channels));
        // Exhaustive: a new channel does not compile until it is listed here.
        let listed = |channel: Channel| match channel {
            Channel::Email | Channel::Webhook | Channel::Event => channel.as_str(),
        };
        let channels = [Channel::Email, Channel::Webhook, Channel::Event].map(listed);
        assert_eq!(values(&DELIVERY_CHANNEL), BTreeSet::from(channels));
    }

    #[test]
    fn names_are_unique_and_reasons_given() {
        let names: BTreeSet<&str> = ALL.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), ALL.len());
        for metric in ALL {
            if let Placement::Off(reason) = metric.placement {
                assert!(!reason.trim().is_empty(), "{}", metric.name);
            }
        }
    }

    #[test]
    fn checks_function_dimension_names_and_values() {
        assert_eq!(
            CIRCUIT_TRANSITIONS.check("circuit-breaker", &[("Dependency", "sqs"), ("To", "OPEN")]),
            Ok(())
        );
        assert!(TIMERS_FIRED.check("sweeper", &[]).is_err());
        assert!(
            CIRCUIT_TRANSITIONS
                .check("circuit-breaker", &[("To", "OPEN"), ("Dependency", "sqs")])
                .is_err()
        );
        assert!(
            CIRCUIT_TRANSITIONS
                .check("circuit-breaker", &[("Dependency", "sqs")])
                .is_err()
        );
        assert!(
            CIRCUIT_OPEN_MS
                .check("circuit-breaker", &[("Dependency", "sqs"), ("To", "OPEN")])
                .is_err()
        );
        assert!(
            ALERTS_SENT
                .check("alert-fanout", &[("Channel", "email")])
                .is_err()
        );
        assert_eq!(
            DELIVERIES_SENT.check("delivery-sender", &[("Channel", "email")]),
            Ok(())
        );
    }
}
