//! The SQS consumers an operator or the sweeper can pause (each function's SQS event source
//! mapping), who paused one and why, and the sweeper's decision to pause a consumer while the
//! dependency it needs has an OPEN circuit breaker and to resume it once the breaker no
//! longer refuses calls: only a pause of its own, never an operator's.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// An SQS consumer: a function's SQS trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Consumer {
    /// The timer executor, on the timers queue.
    Executor,
    /// The delivery sender, on the deliveries queue.
    Sender,
    /// The alert fan-out, on the alerts queue.
    Fanout,
    /// The delivery planner, on the planning queue.
    Planner,
}

impl Consumer {
    /// Every consumer, in display order.
    pub const ALL: [Consumer; 4] = [
        Consumer::Executor,
        Consumer::Sender,
        Consumer::Fanout,
        Consumer::Planner,
    ];

    /// Its name in routes and records, e.g. `executor`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Executor => "executor",
            Self::Sender => "sender",
            Self::Fanout => "fanout",
            Self::Planner => "planner",
        }
    }

    /// The consumer named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The dependency (a circuit breaker's name) without which every message of this consumer
    /// fails, so that it is better left in its queue: the executor and the sender write each
    /// timer or recipient to DynamoDB; the planner reads recipient lists from S3. The fan-out
    /// has none: each alert channel has a breaker of its own that holds back that channel
    /// alone, and alerts about an outage must still go out.
    pub fn dependency(self) -> Option<&'static str> {
        match self {
            Self::Executor | Self::Sender => Some("dynamodb"),
            Self::Planner => Some("s3"),
            Self::Fanout => None,
        }
    }
}

/// Who made a consumer's last change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangedBy {
    /// An operator, through the API.
    Operator,
    /// The sweeper, for the OPEN breaker of this dependency.
    Breaker(String),
}

impl ChangedBy {
    /// `operator` or `breaker:<dependency>`.
    pub fn as_string(&self) -> String {
        match self {
            Self::Operator => "operator".into(),
            Self::Breaker(dependency) => format!("breaker:{dependency}"),
        }
    }

    /// Reads `operator` or `breaker:<dependency>`.
    pub fn parse(text: &str) -> Option<Self> {
        match text.split_once(':') {
            None if text == "operator" => Some(Self::Operator),
            Some(("breaker", dependency)) if !dependency.is_empty() => {
                Some(Self::Breaker(dependency.to_owned()))
            }
            _ => None,
        }
    }
}

impl Serialize for ChangedBy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_string())
    }
}

impl<'de> Deserialize<'de> for ChangedBy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is neither `operator` nor `breaker:<dependency>`"
            ))
        })
    }
}

/// The stored pause state of one consumer: its last change (a pause or a resume), by whom
/// and when. Every change is conditional on `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerRecord {
    /// The consumer's name.
    pub consumer: String,
    /// Whether it should be paused (its mapping disabled).
    pub paused: bool,
    /// Who made the last change.
    pub by: ChangedBy,
    /// When.
    pub at: Timestamp,
    /// Raised by every change; 0 = never stored.
    pub version: u64,
}

impl ConsumerRecord {
    /// The record of a consumer nobody ever paused (not stored).
    pub fn never_paused(consumer: Consumer, since: Timestamp) -> Self {
        Self {
            consumer: consumer.name().to_owned(),
            paused: false,
            by: ChangedBy::Operator,
            at: since,
            version: 0,
        }
    }

    /// This record changed to `paused` by `by` at `at` (the next version).
    pub fn changed(&self, paused: bool, by: ChangedBy, at: Timestamp) -> Self {
        Self {
            consumer: self.consumer.clone(),
            paused,
            by,
            at,
            version: self.version + 1,
        }
    }

    /// Whether an operator's change to `paused` changes this record (is not already in
    /// place): an operator's pause of a consumer the breaker paused does (it becomes the
    /// operator's).
    pub fn operator_change_needed(&self, paused: bool) -> bool {
        self.paused != paused || (paused && self.by != ChangedBy::Operator)
    }
}

/// What the breaker says about the consumer's dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyState {
    /// OPEN (refusing calls).
    Open {
        /// When this open period began.
        since: Timestamp,
    },
    /// CLOSED, or HALF_OPEN: calls (probes) pass again.
    Passing,
}

/// The sweeper's decision for one consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerDecision {
    /// Pause it, as `breaker:<dependency>`.
    Pause(String),
    /// Resume the pause that `breaker:<dependency>` made.
    Resume(String),
    /// Leave it as it is.
    Leave,
}

/// Decides what the sweeper does with `consumer`, whose record is `record` and whose
/// dependency's breaker is `dependency`:
/// - OPEN and the consumer runs: pause it, unless an operator resumed it after the breaker
///   opened (an operator's decision stands for the rest of that outage);
/// - no longer OPEN and paused by the breaker: resume it. HALF_OPEN counts as no longer
///   OPEN: the consumer's own calls may be the probes that close the breaker (the planner is
///   the only caller of S3), so waiting for CLOSED could keep it paused forever;
/// - anything else, in particular an operator's pause: leave it.
pub fn decide(
    consumer: Consumer,
    record: &ConsumerRecord,
    dependency: DependencyState,
) -> ConsumerDecision {
    let Some(name) = consumer.dependency() else {
        return ConsumerDecision::Leave;
    };
    let by_this_breaker = record.by == ChangedBy::Breaker(name.to_owned());
    match dependency {
        DependencyState::Open { since } if !record.paused => {
            let operator_resumed_since =
                record.version > 0 && record.by == ChangedBy::Operator && record.at >= since;
            if operator_resumed_since {
                ConsumerDecision::Leave
            } else {
                ConsumerDecision::Pause(name.to_owned())
            }
        }
        DependencyState::Passing if record.paused && by_this_breaker => {
            ConsumerDecision::Resume(name.to_owned())
        }
        _ => ConsumerDecision::Leave,
    }
}

/// One pause or resume a sweep made (or, in a dry run, would make): a field of the sweep
/// report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerChange {
    /// The consumer's name.
    pub consumer: String,
    /// `paused` or `resumed`.
    pub action: String,
    /// `breaker:<dependency>`.
    pub by: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_millis(seconds * 1000)
    }

    fn record(paused: bool, by: ChangedBy, at_s: i64) -> ConsumerRecord {
        ConsumerRecord {
            consumer: "executor".into(),
            paused,
            by,
            at: at(at_s),
            version: 3,
        }
    }

    fn breaker(dependency: &str) -> ChangedBy {
        ChangedBy::Breaker(dependency.into())
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_none() {
        for consumer in Consumer::ALL {
            assert_eq!(Consumer::parse(consumer.name()), Some(consumer));
        }
        assert_eq!(Consumer::parse("dispatcher"), None);
        assert_eq!(Consumer::parse("Executor"), None);
    }

    #[test]
    fn changed_by_is_operator_or_breaker_with_a_dependency() {
        for by in [ChangedBy::Operator, breaker("dynamodb")] {
            assert_eq!(ChangedBy::parse(&by.as_string()), Some(by.clone()));
            let json = serde_json::to_string(&by).unwrap();
            assert_eq!(serde_json::from_str::<ChangedBy>(&json).unwrap(), by);
        }
        assert_eq!(breaker("s3").as_string(), "breaker:s3");
        for bad in ["", "breaker:", "breaker", "someone", "operator:x"] {
            assert_eq!(ChangedBy::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_open_breaker_pauses_a_running_consumer() {
        let since = at(100);
        let running = ConsumerRecord::never_paused(Consumer::Executor, at(0));
        assert_eq!(
            decide(
                Consumer::Executor,
                &running,
                DependencyState::Open { since }
            ),
            ConsumerDecision::Pause("dynamodb".into())
        );
        let resumed_by_breaker = record(false, breaker("dynamodb"), 50);
        assert_eq!(
            decide(
                Consumer::Planner,
                &resumed_by_breaker,
                DependencyState::Open { since }
            ),
            ConsumerDecision::Pause("s3".into())
        );
        // An operator's resume before this outage does not hold the breaker back.
        let resumed_before = record(false, ChangedBy::Operator, 99);
        assert_eq!(
            decide(
                Consumer::Sender,
                &resumed_before,
                DependencyState::Open { since }
            ),
            ConsumerDecision::Pause("dynamodb".into())
        );
    }

    #[test]
    fn an_operators_resume_during_the_outage_stands() {
        let since = at(100);
        for resumed_at in [100, 150] {
            let resumed = record(false, ChangedBy::Operator, resumed_at);
            assert_eq!(
                decide(
                    Consumer::Executor,
                    &resumed,
                    DependencyState::Open { since }
                ),
                ConsumerDecision::Leave
            );
        }
    }

    #[test]
    fn a_paused_consumer_is_not_paused_again() {
        let since = at(100);
        for by in [ChangedBy::Operator, breaker("dynamodb"), breaker("s3")] {
            assert_eq!(
                decide(
                    Consumer::Executor,
                    &record(true, by, 10),
                    DependencyState::Open { since }
                ),
                ConsumerDecision::Leave
            );
        }
    }

    #[test]
    fn the_breakers_own_pause_is_resumed_once_calls_pass() {
        assert_eq!(
            decide(
                Consumer::Executor,
                &record(true, breaker("dynamodb"), 10),
                DependencyState::Passing
            ),
            ConsumerDecision::Resume("dynamodb".into())
        );
    }

    #[test]
    fn an_operators_pause_or_another_breakers_is_never_resumed() {
        for by in [ChangedBy::Operator, breaker("s3")] {
            assert_eq!(
                decide(
                    Consumer::Executor,
                    &record(true, by, 10),
                    DependencyState::Passing
                ),
                ConsumerDecision::Leave
            );
        }
        let running = ConsumerRecord::never_paused(Consumer::Executor, at(0));
        assert_eq!(
            decide(Consumer::Executor, &running, DependencyState::Passing),
            ConsumerDecision::Leave
        );
    }

    #[test]
    fn the_fanout_is_never_paused_by_a_breaker() {
        let running = ConsumerRecord::never_paused(Consumer::Fanout, at(0));
        assert_eq!(
            decide(
                Consumer::Fanout,
                &running,
                DependencyState::Open { since: at(1) }
            ),
            ConsumerDecision::Leave
        );
        assert_eq!(Consumer::Fanout.dependency(), None);
    }

    #[test]
    fn operator_changes_are_needed_only_when_they_change_something() {
        let never = ConsumerRecord::never_paused(Consumer::Executor, at(0));
        assert!(never.operator_change_needed(true));
        assert!(!never.operator_change_needed(false));
        assert!(!record(true, ChangedBy::Operator, 1).operator_change_needed(true));
        assert!(record(true, breaker("dynamodb"), 1).operator_change_needed(true));
        assert!(record(true, breaker("dynamodb"), 1).operator_change_needed(false));
        assert!(!record(false, breaker("dynamodb"), 1).operator_change_needed(false));
        let next = never.changed(true, ChangedBy::Operator, at(5));
        assert_eq!((next.version, next.paused, next.at), (1, true, at(5)));
    }
}
