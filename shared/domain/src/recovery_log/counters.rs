//! Hourly counters of the recovery log: each recorded entry (and each sweep, and each
//! instance's retry counts) adds to the counters of its hour, in the same write, so the
//! statistics of a window read one counter item per hour instead of every entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::alert::Severity;
use crate::recovery_log::EventCategory;

/// The length of one counter bucket.
pub const HOUR_MS: i64 = 3_600_000;

/// The start of the hour `at` falls in.
pub fn hour_start(at: Timestamp) -> Timestamp {
    Timestamp::from_millis(at.millis().div_euclid(HOUR_MS) * HOUR_MS)
}

/// One counter; its [`Counter::name`] is the stored attribute.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Counter {
    /// Failures recorded, by category and severity.
    Errors(EventCategory, Severity),
    /// Failures recorded with this code.
    Code(String),
    /// A component (a dependency's breaker, the dispatcher) went down: a breaker opened, the
    /// dispatcher stalled.
    Outages(String),
    /// A component came back (a breaker closed, the dispatcher beats again).
    Recoveries(String),
    /// A recovery attempt that failed (a half-open breaker opened again).
    FailedRecoveries(String),
    /// Milliseconds from down to back, summed over the component's recoveries.
    DowntimeMs(String),
    /// Timers a sweep recovered (stuck ones requeued, missed ones fired), by timer kind.
    TimersRecovered(String),
    /// Stuck timers requeued.
    StuckTimers,
    /// Milliseconds from a stuck timer's lease expiry to its requeue, summed.
    StuckRecoveryMs,
    /// Campaigns a sweep moved to the status the clock says.
    CampaignsCorrected,
    /// Sweeps run.
    Sweeps,
    /// Repairs a sweep made (timers recovered or cancelled, campaigns corrected, events
    /// republished, runs and series repaired).
    RecoveryActions,
    /// Repairs that failed (a stuck timer out of attempts, a step error).
    RecoveryFailures,
    /// AWS calls that failed and were retried.
    RetriedCalls,
    /// Of those, the calls a retry made succeed.
    RetrySuccesses,
}

impl Counter {
    /// The stored attribute name, e.g. `errors:TIMER_FAILURE:HIGH`, `outages:sqs`.
    pub fn name(&self) -> String {
        match self {
            Counter::Errors(category, severity) => {
                format!("errors:{}:{}", category.as_str(), severity.as_str())
            }
            Counter::Code(code) => format!("code:{code}"),
            Counter::Outages(component) => format!("outages:{component}"),
            Counter::Recoveries(component) => format!("recoveries:{component}"),
            Counter::FailedRecoveries(component) => format!("failedRecoveries:{component}"),
            Counter::DowntimeMs(component) => format!("downtimeMs:{component}"),
            Counter::TimersRecovered(kind) => format!("timersRecovered:{kind}"),
            Counter::StuckTimers => "stuckTimers".into(),
            Counter::StuckRecoveryMs => "stuckRecoveryMs".into(),
            Counter::CampaignsCorrected => "campaignsCorrected".into(),
            Counter::Sweeps => "sweeps".into(),
            Counter::RecoveryActions => "recoveryActions".into(),
            Counter::RecoveryFailures => "recoveryFailures".into(),
            Counter::RetriedCalls => "retriedCalls".into(),
            Counter::RetrySuccesses => "retrySuccesses".into(),
        }
    }

    /// The counter stored as `name`; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        let plain = match name {
            "stuckTimers" => Some(Counter::StuckTimers),
            "stuckRecoveryMs" => Some(Counter::StuckRecoveryMs),
            "campaignsCorrected" => Some(Counter::CampaignsCorrected),
            "sweeps" => Some(Counter::Sweeps),
            "recoveryActions" => Some(Counter::RecoveryActions),
            "recoveryFailures" => Some(Counter::RecoveryFailures),
            "retriedCalls" => Some(Counter::RetriedCalls),
            "retrySuccesses" => Some(Counter::RetrySuccesses),
            _ => None,
        };
        if plain.is_some() {
            return plain;
        }
        let (prefix, rest) = name.split_once(':')?;
        if rest.is_empty() {
            return None;
        }
        let rest_owned = rest.to_owned();
        match prefix {
            "errors" => {
                let (category, severity) = rest.split_once(':')?;
                Some(Counter::Errors(
                    EventCategory::parse(category)?,
                    Severity::parse(severity)?,
                ))
            }
            "code" => Some(Counter::Code(rest_owned)),
            "outages" => Some(Counter::Outages(rest_owned)),
            "recoveries" => Some(Counter::Recoveries(rest_owned)),
            "failedRecoveries" => Some(Counter::FailedRecoveries(rest_owned)),
            "downtimeMs" => Some(Counter::DowntimeMs(rest_owned)),
            "timersRecovered" => Some(Counter::TimersRecovered(rest_owned)),
            _ => None,
        }
    }
}

/// Increments to add, by counter (zeros left out).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(BTreeMap<Counter, u64>);

impl Counts {
    /// Adds `value` to `counter` (nothing for 0).
    pub fn add(&mut self, counter: Counter, value: u64) {
        if value > 0 {
            *self.0.entry(counter).or_default() += value;
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &Counts) {
        for (counter, value) in &other.0 {
            self.add(counter.clone(), *value);
        }
    }

    /// No count.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Each counter's stored name and increment.
    pub fn named(&self) -> Vec<(String, u64)> {
        self.0.iter().map(|(c, v)| (c.name(), *v)).collect()
    }

    /// The count of `counter` (0 if none).
    pub fn get(&self, counter: &Counter) -> u64 {
        self.0.get(counter).copied().unwrap_or(0)
    }

    /// Every counter and its count.
    pub fn iter(&self) -> impl Iterator<Item = (&Counter, u64)> {
        self.0.iter().map(|(c, v)| (c, *v))
    }
}

/// The counters of one hour, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HourCounts {
    /// The hour's start.
    pub hour: Timestamp,
    /// Counter name → value (names [`Counter::parse`] does not know are ignored).
    pub counts: BTreeMap<String, u64>,
}

impl HourCounts {
    /// The hour's counters that this code knows.
    pub fn counters(&self) -> Counts {
        let mut counts = Counts::default();
        for (name, value) in &self.counts {
            if let Some(counter) = Counter::parse(name) {
                counts.add(counter, *value);
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Counter> {
        let c = || "sqs".to_owned();
        vec![
            Counter::Errors(EventCategory::TimerFailure, Severity::High),
            Counter::Code("AWS_THROTTLED".into()),
            Counter::Outages(c()),
            Counter::Recoveries(c()),
            Counter::FailedRecoveries(c()),
            Counter::DowntimeMs(c()),
            Counter::TimersRecovered("START_CAMPAIGN".into()),
            Counter::StuckTimers,
            Counter::StuckRecoveryMs,
            Counter::CampaignsCorrected,
            Counter::Sweeps,
            Counter::RecoveryActions,
            Counter::RecoveryFailures,
            Counter::RetriedCalls,
            Counter::RetrySuccesses,
        ]
    }

    #[test]
    fn every_counter_reads_back_from_its_name_and_names_are_distinct() {
        let counters = every_kind();
        let mut names: Vec<String> = counters.iter().map(Counter::name).collect();
        for counter in counters {
            assert_eq!(Counter::parse(&counter.name()), Some(counter));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 15);
    }

    #[test]
    fn unknown_or_malformed_names_are_ignored() {
        for name in [
            "",
            "nope",
            "code:",
            "errors:TIMER_FAILURE",
            "errors:NOPE:HIGH",
            "errors:TIMER_FAILURE:URGENT",
            "other:x",
        ] {
            assert_eq!(Counter::parse(name), None, "{name}");
        }
        let hour = HourCounts {
            hour: Timestamp::from_millis(0),
            counts: [("nope".to_owned(), 3), ("sweeps".to_owned(), 2)].into(),
        };
        let counts = hour.counters();
        assert_eq!(counts.get(&Counter::Sweeps), 2);
        assert_eq!(counts.iter().count(), 1);
    }

    #[test]
    fn counts_add_up_and_leave_zeros_out() {
        let mut counts = Counts::default();
        counts.add(Counter::Sweeps, 0);
        assert!(counts.is_empty());
        counts.add(Counter::Sweeps, 2);
        let mut other = Counts::default();
        other.add(Counter::Sweeps, 3);
        other.add(Counter::StuckTimers, 1);
        counts.merge(&other);
        assert_eq!(counts.get(&Counter::Sweeps), 5);
        assert_eq!(
            counts.named(),
            vec![("stuckTimers".to_owned(), 1), ("sweeps".to_owned(), 5)]
        );
    }

    #[test]
    fn hours_start_on_the_hour() {
        assert_eq!(
            hour_start(Timestamp::from_millis(HOUR_MS + 5)).millis(),
            HOUR_MS
        );
        assert_eq!(
            hour_start(Timestamp::from_millis(HOUR_MS)).millis(),
            HOUR_MS
        );
        assert_eq!(hour_start(Timestamp::from_millis(HOUR_MS - 1)).millis(), 0);
    }
}
