//! The statistics of `GET /recovery/statistics?window=1h|24h|7d`, computed from the hourly
//! [counters](crate::recovery_log::counters) alone.
//!
//! - The window is rounded out to whole hours ([`hours_of`]): from the start of the hour
//!   `now - window` falls in to the start of the hour `now` falls in, both included, so
//!   1 h reads 2 counter items, 24 h 25 and 7 d 169, whatever the traffic.
//! - Errors are the failures recorded ([`Counter::Errors`]), by category and severity, every
//!   category and severity listed (zeros included); the top error codes are the 10 most
//!   frequent [`Counter::Code`]s, by count then code.
//! - Breaker trips are the outages of every component but the dispatcher
//!   ([`DISPATCHER`]), whose outages are its stalls.
//! - A mean time to recovery is the downtime summed over a component's recoveries divided by
//!   their number (only components that recovered at least once); the stuck timers' is the
//!   time from lease expiry to requeue summed, divided by the timers requeued.
//! - A rate ([`rate`]) is a share in `0..=1` rounded to 4 decimals, `None` when there is
//!   nothing to share: the retries' is the calls a retry made succeed over the calls
//!   retried, the sweeps' repairs made over repairs attempted (made and failed).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Timestamp;
use crate::alert::Severity;
use crate::recovery_log::counters::{Counter, Counts, HOUR_MS, HourCounts, hour_start};
use crate::recovery_log::entry::EventCategory;
use crate::recovery_log::from_alert::DISPATCHER;

/// How many error codes [`Statistics::top_error_codes`] lists.
pub const TOP_ERROR_CODES: usize = 10;

/// The time range statistics cover, ending now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum Window {
    /// The last hour (`1h`).
    #[serde(rename = "1h")]
    Hour,
    /// The last 24 hours (`24h`), the default.
    #[default]
    #[serde(rename = "24h")]
    Day,
    /// The last 7 days (`7d`).
    #[serde(rename = "7d")]
    Week,
}

impl Window {
    /// Every window, shortest first.
    pub const ALL: [Window; 3] = [Window::Hour, Window::Day, Window::Week];

    /// The query parameter's value, e.g. `24h`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Window::Hour => "1h",
            Window::Day => "24h",
            Window::Week => "7d",
        }
    }

    /// Parses `1h`, `24h` or `7d`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.as_str() == text)
    }

    /// The window's length in milliseconds.
    pub const fn millis(self) -> i64 {
        match self {
            Window::Hour => HOUR_MS,
            Window::Day => 24 * HOUR_MS,
            Window::Week => 7 * 24 * HOUR_MS,
        }
    }
}

/// The starts of the first and the last hour of `window` at `now`: the window rounded out to
/// whole hours. The store reads exactly the counter items of these hours, both included, in
/// one Query: 2 items for 1 h, 25 for 24 h, 169 for 7 d, whatever the traffic.
pub fn hours_of(window: Window, now: Timestamp) -> (Timestamp, Timestamp) {
    (
        hour_start(now.plus_millis(-window.millis())),
        hour_start(now),
    )
}

/// The counters of `hours` summed over the hours of `window` at `now` (hours outside it are
/// ignored): what the statistics and the health report are computed from.
pub fn window_counts(window: Window, now: Timestamp, hours: &[HourCounts]) -> Counts {
    let (first, last) = hours_of(window, now);
    let mut counts = Counts::default();
    for hour in in_range(hours, first, last) {
        counts.merge(&hour.counters());
    }
    counts
}

/// `part / whole`, at most 1, rounded to 4 decimals; `None` when `whole` is 0.
pub fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| {
        let share = (part as f64 / whole as f64).min(1.0);
        (share * 10_000.0).round() / 10_000.0
    })
}

/// `total / count` in whole milliseconds (rounded down); `None` when `count` is 0.
pub fn average_ms(total: u64, count: u64) -> Option<u64> {
    (count > 0).then(|| total / count)
}

/// The statistics of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    /// The window asked for, e.g. `24h`.
    pub window: Window,
    /// The start of the window's first hour.
    pub from: Timestamp,
    /// Now.
    pub to: Timestamp,
    /// The failures recorded.
    pub errors: ErrorStatistics,
    /// One point per hour of the window, oldest first, quiet hours included.
    pub hourly_trend: Vec<HourTrend>,
    /// The most frequent error codes ([`TOP_ERROR_CODES`] at most), most frequent first, ties
    /// by code.
    pub top_error_codes: Vec<CodeCount>,
    /// Calls retried and how many a retry made succeed.
    pub retries: RetryStatistics,
    /// Breaker openings by dependency (the dispatcher is counted in
    /// [`Statistics::dispatcher_stalls`]).
    pub breaker_trips: BTreeMap<String, u64>,
    /// Times the timer dispatcher stalled.
    pub dispatcher_stalls: u64,
    /// Timers the sweeps recovered.
    pub timers_recovered: TimersRecovered,
    /// Campaigns a sweep moved to the status the clock says.
    pub campaigns_corrected: u64,
    /// Mean times to recovery.
    pub mean_time_to_recovery_ms: MeanTimeToRecovery,
    /// The sweeps' repairs.
    pub recovery: RecoveryStatistics,
    /// Sweeps run.
    pub sweeps: u64,
}

/// The failures of a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorStatistics {
    /// All failures.
    pub total: u64,
    /// Failures by category, every category listed.
    pub by_category: BTreeMap<String, u64>,
    /// Failures by severity, every severity listed.
    pub by_severity: BTreeMap<String, u64>,
}

/// One hour of the trend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HourTrend {
    /// The hour's start.
    pub hour: Timestamp,
    /// Failures recorded in it.
    pub errors: u64,
    /// Repairs sweeps made in it.
    pub recovery_actions: u64,
}

/// An error code and how often it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CodeCount {
    /// The code, e.g. `AWS_THROTTLED`.
    pub code: String,
    /// Failures recorded with it.
    pub count: u64,
}

/// Retried calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryStatistics {
    /// Calls that failed and were retried.
    pub retried_calls: u64,
    /// Of those, the calls a retry made succeed.
    pub succeeded: u64,
    /// `succeeded / retriedCalls`; `None` when nothing was retried.
    pub success_rate: Option<f64>,
}

/// Timers the sweeps recovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimersRecovered {
    /// All timers recovered (stuck ones requeued, missed ones fired).
    pub total: u64,
    /// Timers recovered by timer kind.
    pub by_kind: BTreeMap<String, u64>,
    /// Stuck timers requeued.
    pub stuck: u64,
}

/// Mean times to recovery, in milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeanTimeToRecovery {
    /// Mean downtime by component, for components that recovered at least once.
    pub by_component: BTreeMap<String, u64>,
    /// Mean time from a stuck timer's lease expiry to its requeue; `None` when none was stuck.
    pub stuck_timers: Option<u64>,
}

/// The sweeps' repairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryStatistics {
    /// Repairs made.
    pub actions: u64,
    /// Repairs that failed.
    pub failures: u64,
    /// `actions / (actions + failures)`; `None` when nothing was attempted.
    pub success_rate: Option<f64>,
}

/// The statistics of `window` at `now` from the counter items `hours` (hours outside the
/// window, see [`hours_of`], are ignored).
pub fn statistics(window: Window, now: Timestamp, hours: &[HourCounts]) -> Statistics {
    let (first, last) = hours_of(window, now);
    let totals = window_counts(window, now, hours);

    let mut by_category: BTreeMap<String, u64> = EventCategory::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), 0))
        .collect();
    let mut by_severity: BTreeMap<String, u64> = Severity::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    let mut codes = Vec::new();
    let mut breaker_trips = BTreeMap::new();
    let mut by_kind = BTreeMap::new();
    let mut by_component = BTreeMap::new();
    for (counter, value) in totals.iter() {
        match counter {
            Counter::Errors(category, severity) => {
                *by_category.entry(category.as_str().to_owned()).or_default() += value;
                *by_severity.entry(severity.as_str().to_owned()).or_default() += value;
            }
            Counter::Code(code) => codes.push(CodeCount {
                code: code.clone(),
                count: value,
            }),
            Counter::Outages(component) if component != DISPATCHER => {
                breaker_trips.insert(component.clone(), value);
            }
            Counter::Recoveries(component) => {
                let downtime = totals.get(&Counter::DowntimeMs(component.clone()));
                if let Some(mean) = average_ms(downtime, value) {
                    by_component.insert(component.clone(), mean);
                }
            }
            Counter::TimersRecovered(kind) => {
                by_kind.insert(kind.clone(), value);
            }
            _ => {}
        }
    }
    codes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    codes.truncate(TOP_ERROR_CODES);

    let retried_calls = totals.get(&Counter::RetriedCalls);
    let succeeded = totals.get(&Counter::RetrySuccesses);
    let stuck = totals.get(&Counter::StuckTimers);
    let actions = totals.get(&Counter::RecoveryActions);
    let failures = totals.get(&Counter::RecoveryFailures);
    Statistics {
        window,
        from: first,
        to: now,
        errors: ErrorStatistics {
            total: by_category.values().sum(),
            by_category,
            by_severity,
        },
        hourly_trend: trend(first, last, hours),
        top_error_codes: codes,
        retries: RetryStatistics {
            retried_calls,
            succeeded,
            success_rate: rate(succeeded, retried_calls),
        },
        breaker_trips,
        dispatcher_stalls: totals.get(&Counter::Outages(DISPATCHER.to_owned())),
        timers_recovered: TimersRecovered {
            total: by_kind.values().sum(),
            by_kind,
            stuck,
        },
        campaigns_corrected: totals.get(&Counter::CampaignsCorrected),
        mean_time_to_recovery_ms: MeanTimeToRecovery {
            by_component,
            stuck_timers: average_ms(totals.get(&Counter::StuckRecoveryMs), stuck),
        },
        recovery: RecoveryStatistics {
            actions,
            failures,
            success_rate: rate(actions, actions + failures),
        },
        sweeps: totals.get(&Counter::Sweeps),
    }
}

/// The items of `hours` whose hour lies from `first` to `last`, both included.
fn in_range(
    hours: &[HourCounts],
    first: Timestamp,
    last: Timestamp,
) -> impl Iterator<Item = &HourCounts> {
    hours
        .iter()
        .filter(move |h| (first..=last).contains(&h.hour))
}

/// One point per hour from `first` to `last`, zeros for hours without an item.
fn trend(first: Timestamp, last: Timestamp, hours: &[HourCounts]) -> Vec<HourTrend> {
    let mut points = BTreeMap::new();
    for item in in_range(hours, first, last) {
        let counts = item.counters();
        let errors: u64 = counts
            .iter()
            .filter(|(counter, _)| matches!(counter, Counter::Errors(..)))
            .map(|(_, value)| value)
            .sum();
        let point = points
            .entry(hour_start(item.hour))
            .or_insert((0_u64, 0_u64));
        point.0 += errors;
        point.1 += counts.get(&Counter::RecoveryActions);
    }
    let count = last.millis_since(first) / HOUR_MS + 1;
    (0..count)
        .map(|i| {
            let hour = first.plus_millis(i * HOUR_MS);
            let (errors, recovery_actions) = points.get(&hour).copied().unwrap_or_default();
            HourTrend {
                hour,
                errors,
                recovery_actions,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// 2027-01-15T08:00:00Z, on the hour.
    const T0: i64 = 1_800_000_000_000;

    fn now() -> Timestamp {
        // 20 minutes past the hour.
        Timestamp::from_millis(T0 + 20 * 60_000)
    }

    fn hour(offset: i64, counts: &[(&str, u64)]) -> HourCounts {
        HourCounts {
            hour: Timestamp::from_millis(T0 + offset * HOUR_MS),
            counts: counts.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect(),
        }
    }

    #[test]
    fn windows_parse_their_names_and_default_to_a_day() {
        for window in Window::ALL {
            assert_eq!(Window::parse(window.as_str()), Some(window));
            assert_eq!(serde_json::to_value(window).unwrap(), window.as_str());
        }
        assert_eq!(Window::parse("24H"), None);
        assert_eq!(Window::parse("1d"), None);
        assert_eq!(Window::default(), Window::Day);
        assert_eq!(Window::Hour.millis(), 3_600_000);
        assert_eq!(Window::Day.millis(), 86_400_000);
        assert_eq!(Window::Week.millis(), 604_800_000);
    }

    #[test]
    fn a_window_is_rounded_out_to_whole_hours() {
        for (window, buckets) in [(Window::Hour, 2), (Window::Day, 25), (Window::Week, 169)] {
            let (first, last) = hours_of(window, now());
            assert_eq!(last.millis(), T0);
            assert_eq!(
                last.millis_since(first) / HOUR_MS + 1,
                buckets,
                "{window:?}"
            );
            assert_eq!(first.millis(), T0 - window.millis());
        }
        let on_the_hour = Timestamp::from_millis(T0);
        assert_eq!(
            hours_of(Window::Hour, on_the_hour),
            (Timestamp::from_millis(T0 - HOUR_MS), on_the_hour)
        );
    }

    #[test]
    fn rates_are_shares_rounded_to_four_decimals() {
        assert_eq!(rate(2, 3), Some(0.6667));
        assert_eq!(rate(1, 3), Some(0.3333));
        assert_eq!(rate(5, 4), Some(1.0), "at most 1");
        assert_eq!(rate(0, 7), Some(0.0));
        assert_eq!(rate(3, 0), None);
        assert_eq!(average_ms(10, 3), Some(3));
        assert_eq!(average_ms(10, 0), None);
    }

    #[test]
    fn a_day_of_counters_gives_exact_statistics() {
        let hours = vec![
            hour(
                -24,
                &[
                    ("errors:TIMER_FAILURE:HIGH", 2),
                    ("code:TIMER_FAILED", 2),
                    ("recoveryActions", 4),
                    ("sweeps", 6),
                ],
            ),
            hour(
                -3,
                &[
                    ("errors:CIRCUIT_BREAKER:CRITICAL", 3),
                    ("errors:DISPATCHER:CRITICAL", 1),
                    ("code:CIRCUIT_OPENED", 3),
                    ("code:DISPATCHER_STALLED", 1),
                    ("outages:sqs", 2),
                    ("outages:dynamodb", 1),
                    ("outages:timer-dispatcher", 1),
                    ("recoveries:sqs", 2),
                    ("downtimeMs:sqs", 90_001),
                    ("failedRecoveries:sqs", 1),
                    ("recoveries:timer-dispatcher", 1),
                    ("downtimeMs:timer-dispatcher", 600_000),
                    ("retriedCalls", 3),
                    ("retrySuccesses", 2),
                ],
            ),
            hour(
                0,
                &[
                    ("errors:FAILURE_PATTERN:HIGH", 5),
                    ("code:AWS_THROTTLED", 5),
                    ("timersRecovered:START_CAMPAIGN", 2),
                    ("timersRecovered:END_CAMPAIGN", 1),
                    ("stuckTimers", 2),
                    ("stuckRecoveryMs", 9_001),
                    ("campaignsCorrected", 1),
                    ("recoveryActions", 5),
                    ("recoveryFailures", 1),
                    ("sweeps", 6),
                    ("unknown", 99),
                ],
            ),
            // Outside the window: an hour before its first and an hour after its last.
            hour(-25, &[("errors:TIMER_FAILURE:HIGH", 50), ("sweeps", 50)]),
            hour(1, &[("errors:TIMER_FAILURE:HIGH", 50), ("sweeps", 50)]),
        ];
        let stats = statistics(Window::Day, now(), &hours);

        assert_eq!(stats.from.millis(), T0 - 24 * HOUR_MS);
        assert_eq!(stats.to, now());
        assert_eq!(stats.errors.total, 11);
        assert_eq!(stats.errors.by_category["TIMER_FAILURE"], 2);
        assert_eq!(stats.errors.by_category["CIRCUIT_BREAKER"], 3);
        assert_eq!(stats.errors.by_category["DISPATCHER"], 1);
        assert_eq!(stats.errors.by_category["FAILURE_PATTERN"], 5);
        assert_eq!(stats.errors.by_category["DELIVERY_FAILURE"], 0);
        assert_eq!(stats.errors.by_category["RECOVERY"], 0);
        assert_eq!(stats.errors.by_category.len(), 6);
        let severities: Vec<(&str, u64)> = stats
            .errors
            .by_severity
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            severities,
            vec![("CRITICAL", 4), ("HIGH", 7), ("LOW", 0), ("MEDIUM", 0)]
        );

        assert_eq!(stats.hourly_trend.len(), 25);
        assert_eq!(stats.hourly_trend[0].hour, stats.from);
        assert_eq!(
            (
                stats.hourly_trend[0].errors,
                stats.hourly_trend[0].recovery_actions
            ),
            (2, 4)
        );
        assert_eq!(stats.hourly_trend[21].hour.millis(), T0 - 3 * HOUR_MS);
        assert_eq!(
            (
                stats.hourly_trend[21].errors,
                stats.hourly_trend[21].recovery_actions
            ),
            (4, 0)
        );
        assert_eq!(stats.hourly_trend[24].hour.millis(), T0);
        assert_eq!(
            (
                stats.hourly_trend[24].errors,
                stats.hourly_trend[24].recovery_actions
            ),
            (5, 5)
        );
        let quiet: u64 = stats
            .hourly_trend
            .iter()
            .map(|p| p.errors + p.recovery_actions)
            .sum();
        assert_eq!(quiet, 2 + 4 + 4 + 5 + 5, "every other hour is zero");

        assert_eq!(
            stats.top_error_codes,
            vec![
                CodeCount {
                    code: "AWS_THROTTLED".into(),
                    count: 5
                },
                CodeCount {
                    code: "CIRCUIT_OPENED".into(),
                    count: 3
                },
                CodeCount {
                    code: "TIMER_FAILED".into(),
                    count: 2
                },
                CodeCount {
                    code: "DISPATCHER_STALLED".into(),
                    count: 1
                },
            ]
        );
        assert_eq!(
            stats.retries,
            RetryStatistics {
                retried_calls: 3,
                succeeded: 2,
                success_rate: Some(0.6667)
            }
        );
        assert_eq!(
            stats.breaker_trips,
            BTreeMap::from([("dynamodb".to_owned(), 1), ("sqs".to_owned(), 2)])
        );
        assert_eq!(stats.dispatcher_stalls, 1);
        assert_eq!(stats.timers_recovered.total, 3);
        assert_eq!(stats.timers_recovered.by_kind["START_CAMPAIGN"], 2);
        assert_eq!(stats.timers_recovered.by_kind["END_CAMPAIGN"], 1);
        assert_eq!(stats.timers_recovered.stuck, 2);
        assert_eq!(stats.campaigns_corrected, 1);
        assert_eq!(
            stats.mean_time_to_recovery_ms.by_component,
            BTreeMap::from([
                ("sqs".to_owned(), 45_000),
                ("timer-dispatcher".to_owned(), 600_000)
            ]),
            "dynamodb never recovered"
        );
        assert_eq!(stats.mean_time_to_recovery_ms.stuck_timers, Some(4_500));
        assert_eq!(
            stats.recovery,
            RecoveryStatistics {
                actions: 9,
                failures: 1,
                success_rate: Some(0.9)
            }
        );
        assert_eq!(stats.sweeps, 12);
    }

    #[test]
    fn only_the_ten_most_frequent_codes_are_listed_ties_by_code() {
        let names: Vec<String> = (0..12).map(|i| format!("code:C{i:02}")).collect();
        let counts: Vec<(&str, u64)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), if i < 3 { 7 } else { i as u64 }))
            .collect();
        let stats = statistics(Window::Hour, now(), &[hour(0, &counts)]);
        let top: Vec<(&str, u64)> = stats
            .top_error_codes
            .iter()
            .map(|c| (c.code.as_str(), c.count))
            .collect();
        assert_eq!(
            top,
            vec![
                ("C11", 11),
                ("C10", 10),
                ("C09", 9),
                ("C08", 8),
                ("C00", 7),
                ("C01", 7),
                ("C02", 7),
                ("C07", 7),
                ("C06", 6),
                ("C05", 5),
            ]
        );
    }

    #[test]
    fn a_quiet_window_is_all_zeros_and_no_rates() {
        let stats = statistics(Window::Hour, now(), &[]);
        assert_eq!(
            serde_json::to_value(&stats).unwrap(),
            json!({
                "window": "1h",
                "from": "2027-01-15T07:00:00Z",
                "to": "2027-01-15T08:20:00Z",
                "errors": {
                    "total": 0,
                    "byCategory": {"CIRCUIT_BREAKER": 0, "DELIVERY_FAILURE": 0, "DISPATCHER": 0,
                        "FAILURE_PATTERN": 0, "RECOVERY": 0, "TIMER_FAILURE": 0},
                    "bySeverity": {"CRITICAL": 0, "HIGH": 0, "LOW": 0, "MEDIUM": 0}
                },
                "hourlyTrend": [
                    {"hour": "2027-01-15T07:00:00Z", "errors": 0, "recoveryActions": 0},
                    {"hour": "2027-01-15T08:00:00Z", "errors": 0, "recoveryActions": 0}
                ],
                "topErrorCodes": [],
                "retries": {"retriedCalls": 0, "succeeded": 0, "successRate": null},
                "breakerTrips": {},
                "dispatcherStalls": 0,
                "timersRecovered": {"total": 0, "byKind": {}, "stuck": 0},
                "campaignsCorrected": 0,
                "meanTimeToRecoveryMs": {"byComponent": {}, "stuckTimers": null},
                "recovery": {"actions": 0, "failures": 0, "successRate": null},
                "sweeps": 0
            })
        );
    }
}
