//! The health report of `GET /recovery/report`: each component's health over the window, the
//! worst of them, and recommendations, all from the window's summed counters
//! ([`window_counts`](crate::recovery_log::statistics::window_counts)) and its
//! [`Statistics`].
//!
//! - A component's recovery rate is the share of its outages (breaker openings, dispatcher
//!   stalls) that ended in a recovery, at most 1 (an outage that began before the window may
//!   end in it); a breaker still open counts as not recovered. No outage in the window: no
//!   rate, and healthy.
//! - Its status follows the rate ([`health_of`]): from [`HEALTHY_RECOVERY_RATE`] healthy,
//!   from [`DEGRADED_RECOVERY_RATE`] degraded, from [`UNHEALTHY_RECOVERY_RATE`] unhealthy,
//!   below it critical. The overall status is the worst ([`overall`]).
//! - Each recommendation rule has its threshold as a named constant; the rules run in the
//!   order of [`recommendations`]' list, components in the order given.

use serde::Serialize;

use crate::recovery_log::counters::{Counter, Counts};
use crate::recovery_log::entry::EventCategory;
use crate::recovery_log::from_alert::DISPATCHER;
use crate::recovery_log::statistics::{Statistics, Window, average_ms, rate};

/// From this recovery rate a component is healthy.
pub const HEALTHY_RECOVERY_RATE: f64 = 0.9;
/// From this recovery rate (and below [`HEALTHY_RECOVERY_RATE`]) a component is degraded.
pub const DEGRADED_RECOVERY_RATE: f64 = 0.7;
/// From this recovery rate (and below [`DEGRADED_RECOVERY_RATE`]) a component is unhealthy;
/// below it, critical.
pub const UNHEALTHY_RECOVERY_RATE: f64 = 0.5;

/// `LONG_RECOVERY` when a component's average downtime is over this.
pub const LONG_RECOVERY_MS: u64 = 5 * 60_000;
/// `FREQUENT_STUCK_TIMERS` from this many stuck timers per 24 hours (pro rata for other
/// windows, at least 1).
pub const STUCK_TIMERS_PER_DAY: u64 = 10;
/// `SLOW_STUCK_RECOVERY` when stuck timers' mean time to requeue is over this.
pub const SLOW_STUCK_RECOVERY_MS: u64 = 2 * 60_000;
/// `MANY_CAMPAIGN_CORRECTIONS` from this many campaigns corrected in the window.
pub const MANY_CAMPAIGN_CORRECTIONS: u64 = 10;
/// `LOW_RETRY_SUCCESS` needs at least this many retried calls...
pub const LOW_RETRY_MIN_CALLS: u64 = 20;
/// ...and a retry success rate below this.
pub const LOW_RETRY_SUCCESS_RATE: f64 = 0.5;
/// `FAILED_TIMERS` from this many FAILED timers in the window.
pub const FAILED_TIMERS_MIN: u64 = 1;
/// `DISPATCHER_STALLS` from this many dispatcher stalls in the window.
pub const DISPATCHER_STALLS_MIN: u64 = 1;
/// `SWEEP_REPAIRS_FAILING` when the sweeps' repair success rate is below this.
pub const SWEEP_REPAIR_SUCCESS_RATE: f64 = 0.9;

/// How well a component recovers, least worrying first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthStatus {
    /// Recovers from (nearly) every outage, or had none.
    Healthy,
    /// Some outages did not end.
    Degraded,
    /// Many outages did not end.
    Unhealthy,
    /// Most outages did not end.
    Critical,
}

/// The status of a component with `recovery_rate` (`None`: no outage in the window).
pub fn health_of(recovery_rate: Option<f64>) -> HealthStatus {
    match recovery_rate {
        None => HealthStatus::Healthy,
        Some(r) if r >= HEALTHY_RECOVERY_RATE => HealthStatus::Healthy,
        Some(r) if r >= DEGRADED_RECOVERY_RATE => HealthStatus::Degraded,
        Some(r) if r >= UNHEALTHY_RECOVERY_RATE => HealthStatus::Unhealthy,
        Some(_) => HealthStatus::Critical,
    }
}

/// One component's health over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyHealth {
    /// The component: a dependency's name, or [`DISPATCHER`].
    pub dependency: String,
    /// Its status, from its recovery rate.
    pub status: HealthStatus,
    /// `min(1, recoveries / outages)`, 4 decimals; `None` when it had no outage.
    pub recovery_rate: Option<f64>,
    /// Times it went down (a breaker opened, the dispatcher stalled).
    pub outages: u64,
    /// Times it came back.
    pub recoveries: u64,
    /// Recovery attempts that failed (a half-open breaker opened again).
    pub failed_recoveries: u64,
    /// Mean downtime of its recoveries; `None` when it did not recover.
    pub average_downtime_ms: Option<u64>,
}

/// The health of each of `dependencies` (in that order) from the window's summed `counts`.
pub fn dependency_health(dependencies: &[&str], counts: &Counts) -> Vec<DependencyHealth> {
    dependencies
        .iter()
        .map(|&dependency| {
            let get = |counter: fn(String) -> Counter| counts.get(&counter(dependency.to_owned()));
            let outages = get(Counter::Outages);
            let recoveries = get(Counter::Recoveries);
            let recovery_rate = rate(recoveries, outages);
            DependencyHealth {
                dependency: dependency.to_owned(),
                status: health_of(recovery_rate),
                recovery_rate,
                outages,
                recoveries,
                failed_recoveries: get(Counter::FailedRecoveries),
                average_downtime_ms: average_ms(get(Counter::DowntimeMs), recoveries),
            }
        })
        .collect()
}

/// The worst status of `health`; healthy when there is none.
pub fn overall(health: &[DependencyHealth]) -> HealthStatus {
    health
        .iter()
        .map(|d| d.status)
        .max()
        .unwrap_or(HealthStatus::Healthy)
}

/// Something an operator should do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    /// The rule, e.g. `LOW_RECOVERY_RATE`.
    pub code: &'static str,
    /// The component it concerns, if one.
    pub component: Option<String>,
    /// What to do, with the numbers that raised it.
    pub message: String,
}

/// The recommendations of a window, in this order (components in the order of `health`):
/// 1. `LOW_RECOVERY_RATE`: a component unhealthy or critical;
/// 2. `LONG_RECOVERY`: a component's average downtime over [`LONG_RECOVERY_MS`];
/// 3. `FREQUENT_STUCK_TIMERS`: stuck timers at least [`STUCK_TIMERS_PER_DAY`] per 24 h;
/// 4. `SLOW_STUCK_RECOVERY`: stuck timers' mean time to requeue over
///    [`SLOW_STUCK_RECOVERY_MS`];
/// 5. `MANY_CAMPAIGN_CORRECTIONS`: at least [`MANY_CAMPAIGN_CORRECTIONS`] campaigns corrected;
/// 6. `LOW_RETRY_SUCCESS`: at least [`LOW_RETRY_MIN_CALLS`] retried calls and a success rate
///    below [`LOW_RETRY_SUCCESS_RATE`];
/// 7. `FAILED_TIMERS`: at least [`FAILED_TIMERS_MIN`] FAILED timers;
/// 8. `DISPATCHER_STALLS`: at least [`DISPATCHER_STALLS_MIN`] dispatcher stalls;
/// 9. `SWEEP_REPAIRS_FAILING`: a repair success rate below [`SWEEP_REPAIR_SUCCESS_RATE`].
pub fn recommendations(stats: &Statistics, health: &[DependencyHealth]) -> Vec<Recommendation> {
    let window = stats.window.as_str();
    let mut found = Vec::new();
    let mut add = |code: &'static str, component: Option<&str>, message: String| {
        found.push(Recommendation {
            code,
            component: component.map(str::to_owned),
            message,
        });
    };

    for d in health {
        if let (HealthStatus::Unhealthy | HealthStatus::Critical, Some(rate)) =
            (d.status, d.recovery_rate)
        {
            add(
                "LOW_RECOVERY_RATE",
                Some(&d.dependency),
                format!(
                    "review the breaker thresholds of {} (failure rate, minimum calls, open duration): only {} % of its {} recovered in the last {window} ({} failed recovery attempts)",
                    d.dependency,
                    percent(rate),
                    plural(d.outages, "opening"),
                    d.failed_recoveries,
                ),
            );
        }
    }
    for d in health {
        if let Some(downtime) = d.average_downtime_ms.filter(|&ms| ms > LONG_RECOVERY_MS) {
            add(
                "LONG_RECOVERY",
                Some(&d.dependency),
                format!(
                    "{} took {} ({downtime} ms) on average to recover over {}, more than {}: check its quotas and limits (throttling, capacity) and set an alarm on it",
                    d.dependency,
                    minutes(downtime),
                    plural(d.recoveries, "recovery"),
                    minutes(LONG_RECOVERY_MS),
                ),
            );
        }
    }

    let stuck = stats.timers_recovered.stuck;
    let stuck_limit = stuck_timers_threshold(stats.window);
    if stuck >= stuck_limit {
        add(
            "FREQUENT_STUCK_TIMERS",
            None,
            format!(
                "{} stuck in the last {window} (from {stuck_limit} it is too many): compare the timer executor's timeouts with the lease length, and check its concurrency and errors",
                plural(stuck, "timer was"),
            ),
        );
    }
    if let Some(ms) = stats
        .mean_time_to_recovery_ms
        .stuck_timers
        .filter(|&ms| ms > SLOW_STUCK_RECOVERY_MS)
    {
        add(
            "SLOW_STUCK_RECOVERY",
            None,
            format!(
                "stuck timers waited {} ({ms} ms) on average from lease expiry to requeue, more than {}: run the sweeper more often or shorten the lease length",
                minutes(ms),
                minutes(SLOW_STUCK_RECOVERY_MS),
            ),
        );
    }
    if stats.campaigns_corrected >= MANY_CAMPAIGN_CORRECTIONS {
        add(
            "MANY_CAMPAIGN_CORRECTIONS",
            None,
            format!(
                "sweeps corrected the status of {} in the last {window}: their timers are being missed; check the timer dispatcher's health and errors",
                plural(stats.campaigns_corrected, "campaign"),
            ),
        );
    }
    let retries = &stats.retries;
    if let Some(success) = retries
        .success_rate
        .filter(|&r| retries.retried_calls >= LOW_RETRY_MIN_CALLS && r < LOW_RETRY_SUCCESS_RATE)
    {
        add(
            "LOW_RETRY_SUCCESS",
            None,
            format!(
                "only {} % of {} succeeded on retry: these failures are not transient; review their classification or add a failure pattern for them",
                percent(success),
                plural(retries.retried_calls, "retried call"),
            ),
        );
    }
    let failed_timers = stats
        .errors
        .by_category
        .get(EventCategory::TimerFailure.as_str())
        .copied()
        .unwrap_or(0);
    if failed_timers >= FAILED_TIMERS_MIN {
        add(
            "FAILED_TIMERS",
            None,
            format!(
                "{} FAILED in the last {window}: list them with GET /recovery/events?category=TIMER_FAILURE and fire or cancel them",
                plural(failed_timers, "timer"),
            ),
        );
    }
    if stats.dispatcher_stalls >= DISPATCHER_STALLS_MIN {
        add(
            "DISPATCHER_STALLS",
            Some(DISPATCHER),
            format!(
                "the timer dispatcher stalled {} in the last {window}: check its logs, errors and concurrency (meanwhile the sweeper fires missed timers late)",
                plural(stats.dispatcher_stalls, "time"),
            ),
        );
    }
    let repairs = &stats.recovery;
    if let Some(success) = repairs
        .success_rate
        .filter(|&r| r < SWEEP_REPAIR_SUCCESS_RATE)
    {
        add(
            "SWEEP_REPAIRS_FAILING",
            None,
            format!(
                "only {} % of the sweeps' repairs succeeded in the last {window} ({} of {} failed): list them with GET /recovery/events?category=RECOVERY and fix the step errors they name",
                percent(success),
                repairs.failures,
                repairs.actions + repairs.failures,
            ),
        );
    }
    found
}

/// Stuck timers that make `FREQUENT_STUCK_TIMERS` in `window`: [`STUCK_TIMERS_PER_DAY`] pro
/// rata, rounded up, at least 1.
fn stuck_timers_threshold(window: Window) -> u64 {
    (STUCK_TIMERS_PER_DAY * window.millis().unsigned_abs())
        .div_ceil(Window::Day.millis().unsigned_abs())
        .max(1)
}

/// A rate as a percentage, e.g. 0.6999 → 69.99.
fn percent(rate: f64) -> f64 {
    (rate * 10_000.0).round() / 100.0
}

/// Milliseconds as minutes with one decimal, e.g. `5.0 min`.
fn minutes(ms: u64) -> String {
    format!("{:.1} min", ms as f64 / 60_000.0)
}

/// `n` and `word`, plural unless `n` is 1: `2 timers`, `2 recoveries`, and a trailing `was`
/// becomes `were` (`2 timers were`).
fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        return format!("1 {word}");
    }
    let (noun, rest) = match word.rsplit_once(' ') {
        Some((noun, "was")) => (noun, " were"),
        _ => (word, ""),
    };
    let noun = match noun.strip_suffix("ry") {
        Some(stem) => format!("{stem}ries"),
        None => format!("{noun}s"),
    };
    format!("{n} {noun}{rest}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::Timestamp;
    use crate::recovery_log::counters::{HOUR_MS, HourCounts};
    use crate::recovery_log::statistics::{
        RecoveryStatistics, RetryStatistics, statistics, window_counts,
    };

    fn now() -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + 20 * 60_000)
    }

    fn quiet(window: Window) -> Statistics {
        statistics(window, now(), &[])
    }

    fn counts(values: &[(Counter, u64)]) -> Counts {
        let mut counts = Counts::default();
        for (counter, value) in values {
            counts.add(counter.clone(), *value);
        }
        counts
    }

    /// `sqs` with `outages`, `recoveries` and `downtime` ms in all.
    fn sqs(outages: u64, recoveries: u64, downtime: u64) -> Vec<DependencyHealth> {
        let c = || "sqs".to_owned();
        dependency_health(
            &["sqs"],
            &counts(&[
                (Counter::Outages(c()), outages),
                (Counter::Recoveries(c()), recoveries),
                (Counter::DowntimeMs(c()), downtime),
            ]),
        )
    }

    fn codes(stats: &Statistics, health: &[DependencyHealth]) -> Vec<&'static str> {
        recommendations(stats, health)
            .iter()
            .map(|r| r.code)
            .collect()
    }

    fn only(stats: &Statistics, health: &[DependencyHealth]) -> Recommendation {
        let mut found = recommendations(stats, health);
        assert_eq!(found.len(), 1, "{found:?}");
        found.remove(0)
    }

    #[test]
    fn status_follows_the_recovery_rate_at_each_threshold() {
        for (rate, status) in [
            (None, HealthStatus::Healthy),
            (Some(1.0), HealthStatus::Healthy),
            (Some(0.9), HealthStatus::Healthy),
            (Some(0.8999), HealthStatus::Degraded),
            (Some(0.7), HealthStatus::Degraded),
            (Some(0.6999), HealthStatus::Unhealthy),
            (Some(0.5), HealthStatus::Unhealthy),
            (Some(0.4999), HealthStatus::Critical),
            (Some(0.0), HealthStatus::Critical),
        ] {
            assert_eq!(health_of(rate), status, "{rate:?}");
        }
        assert_eq!(
            serde_json::to_value(HealthStatus::Unhealthy).unwrap(),
            "UNHEALTHY"
        );
    }

    #[test]
    fn a_components_health_is_the_share_of_its_outages_that_recovered() {
        let d = DISPATCHER.to_owned();
        let window = counts(&[
            (Counter::Outages("sqs".into()), 3),
            (Counter::Recoveries("sqs".into()), 2),
            (Counter::FailedRecoveries("sqs".into()), 1),
            (Counter::DowntimeMs("sqs".into()), 90_001),
            (Counter::Outages(d.clone()), 1),
            (Counter::Recoveries(d.clone()), 2),
            (Counter::DowntimeMs(d), 600_000),
        ]);
        let health = dependency_health(&["sqs", "dynamodb", DISPATCHER], &window);
        assert_eq!(
            serde_json::to_value(&health).unwrap(),
            json!([
                {"dependency": "sqs", "status": "UNHEALTHY", "recoveryRate": 0.6667, "outages": 3,
                    "recoveries": 2, "failedRecoveries": 1, "averageDowntimeMs": 45_000},
                {"dependency": "dynamodb", "status": "HEALTHY", "recoveryRate": null, "outages": 0,
                    "recoveries": 0, "failedRecoveries": 0, "averageDowntimeMs": null},
                {"dependency": "timer-dispatcher", "status": "HEALTHY", "recoveryRate": 1.0,
                    "outages": 1, "recoveries": 2, "failedRecoveries": 0, "averageDowntimeMs": 300_000}
            ])
        );
        assert_eq!(overall(&health), HealthStatus::Unhealthy);
        assert_eq!(overall(&health[1..]), HealthStatus::Healthy);
        assert_eq!(overall(&[]), HealthStatus::Healthy);
    }

    #[test]
    fn a_quiet_window_recommends_nothing_and_everything_is_healthy() {
        let hours = [HourCounts {
            hour: Timestamp::from_millis(1_800_000_000_000 - HOUR_MS),
            counts: [
                ("sweeps".to_owned(), 12),
                ("recoveryActions".to_owned(), 9),
                ("recoveryFailures".to_owned(), 1),
                ("outages:sqs".to_owned(), 1),
                ("recoveries:sqs".to_owned(), 1),
                ("downtimeMs:sqs".to_owned(), 60_000),
                ("stuckTimers".to_owned(), 9),
                ("stuckRecoveryMs".to_owned(), 9 * 120_000),
                ("campaignsCorrected".to_owned(), 9),
                ("retriedCalls".to_owned(), 19),
            ]
            .into(),
        }];
        let stats = statistics(Window::Day, now(), &hours);
        let health = dependency_health(
            &["dynamodb", "sqs", DISPATCHER],
            &window_counts(Window::Day, now(), &hours),
        );
        assert!(
            health.iter().all(|d| d.status == HealthStatus::Healthy),
            "{health:?}"
        );
        assert_eq!(overall(&health), HealthStatus::Healthy);
        assert_eq!(recommendations(&stats, &health), vec![]);
        assert_eq!(recommendations(&quiet(Window::Hour), &[]), vec![]);
    }

    #[test]
    fn low_recovery_rate_from_unhealthy() {
        let stats = quiet(Window::Day);
        assert_eq!(
            codes(&stats, &sqs(10_000, 7_000, 0)),
            Vec::<&str>::new(),
            "0.7 is degraded"
        );
        let found = only(&stats, &sqs(10_000, 6_999, 0));
        assert_eq!(found.code, "LOW_RECOVERY_RATE");
        assert_eq!(found.component.as_deref(), Some("sqs"));
        assert_eq!(
            found.message,
            "review the breaker thresholds of sqs (failure rate, minimum calls, open duration): only 69.99 % of its 10000 openings recovered in the last 24h (0 failed recovery attempts)"
        );
        let critical = only(&stats, &sqs(1, 0, 0));
        assert!(
            critical
                .message
                .contains("only 0 % of its 1 opening recovered"),
            "{}",
            critical.message
        );
    }

    #[test]
    fn long_recovery_over_five_minutes() {
        let stats = quiet(Window::Day);
        assert_eq!(codes(&stats, &sqs(2, 2, 2 * 300_000)), Vec::<&str>::new());
        let found = only(&stats, &sqs(2, 2, 2 * 300_001));
        assert_eq!(found.code, "LONG_RECOVERY");
        assert_eq!(found.component.as_deref(), Some("sqs"));
        assert_eq!(
            found.message,
            "sqs took 5.0 min (300001 ms) on average to recover over 2 recoveries, more than 5.0 min: check its quotas and limits (throttling, capacity) and set an alarm on it"
        );
    }

    #[test]
    fn frequent_stuck_timers_from_ten_a_day_pro_rata() {
        assert_eq!(stuck_timers_threshold(Window::Hour), 1);
        assert_eq!(stuck_timers_threshold(Window::Day), 10);
        assert_eq!(stuck_timers_threshold(Window::Week), 70);
        for (window, limit) in [(Window::Hour, 1), (Window::Day, 10), (Window::Week, 70)] {
            let mut stats = quiet(window);
            stats.timers_recovered.stuck = limit - 1;
            assert_eq!(codes(&stats, &[]), Vec::<&str>::new(), "{window:?}");
            stats.timers_recovered.stuck = limit;
            assert_eq!(
                only(&stats, &[]).code,
                "FREQUENT_STUCK_TIMERS",
                "{window:?}"
            );
        }
        let mut stats = quiet(Window::Day);
        stats.timers_recovered.stuck = 10;
        assert_eq!(
            only(&stats, &[]).message,
            "10 timers were stuck in the last 24h (from 10 it is too many): compare the timer executor's timeouts with the lease length, and check its concurrency and errors"
        );
    }

    #[test]
    fn slow_stuck_recovery_over_two_minutes() {
        let mut stats = quiet(Window::Day);
        stats.mean_time_to_recovery_ms.stuck_timers = Some(120_000);
        assert_eq!(codes(&stats, &[]), Vec::<&str>::new());
        stats.mean_time_to_recovery_ms.stuck_timers = Some(120_001);
        assert_eq!(
            only(&stats, &[]),
            Recommendation {
                code: "SLOW_STUCK_RECOVERY",
                component: None,
                message: "stuck timers waited 2.0 min (120001 ms) on average from lease expiry to requeue, more than 2.0 min: run the sweeper more often or shorten the lease length".into(),
            }
        );
    }

    #[test]
    fn many_campaign_corrections_from_ten() {
        let mut stats = quiet(Window::Day);
        stats.campaigns_corrected = 9;
        assert_eq!(codes(&stats, &[]), Vec::<&str>::new());
        stats.campaigns_corrected = 10;
        assert_eq!(
            only(&stats, &[]).message,
            "sweeps corrected the status of 10 campaigns in the last 24h: their timers are being missed; check the timer dispatcher's health and errors"
        );
    }

    #[test]
    fn low_retry_success_from_twenty_calls_below_half() {
        let mut stats = quiet(Window::Day);
        for (retried, succeeded, fires) in [
            (19, 0, false),
            (20, 9, true),
            (10_000, 5_000, false),
            (10_000, 4_999, true),
        ] {
            stats.retries = RetryStatistics {
                retried_calls: retried,
                succeeded,
                success_rate: rate(succeeded, retried),
            };
            let expected = if fires {
                vec!["LOW_RETRY_SUCCESS"]
            } else {
                vec![]
            };
            assert_eq!(codes(&stats, &[]), expected, "{retried} {succeeded}");
        }
        assert_eq!(
            only(&stats, &[]).message,
            "only 49.99 % of 10000 retried calls succeeded on retry: these failures are not transient; review their classification or add a failure pattern for them"
        );
    }

    #[test]
    fn failed_timers_from_one() {
        let hours = |n| {
            [HourCounts {
                hour: Timestamp::from_millis(1_800_000_000_000),
                counts: [("errors:TIMER_FAILURE:HIGH".to_owned(), n)].into(),
            }]
        };
        assert_eq!(
            codes(&statistics(Window::Day, now(), &hours(0)), &[]),
            Vec::<&str>::new()
        );
        assert_eq!(
            only(&statistics(Window::Day, now(), &hours(1)), &[]).message,
            "1 timer FAILED in the last 24h: list them with GET /recovery/events?category=TIMER_FAILURE and fire or cancel them"
        );
        assert!(
            only(&statistics(Window::Day, now(), &hours(3)), &[])
                .message
                .starts_with("3 timers FAILED")
        );
    }

    #[test]
    fn dispatcher_stalls_from_one() {
        let mut stats = quiet(Window::Hour);
        assert_eq!(codes(&stats, &[]), Vec::<&str>::new());
        stats.dispatcher_stalls = 1;
        let found = only(&stats, &[]);
        assert_eq!(found.code, "DISPATCHER_STALLS");
        assert_eq!(found.component.as_deref(), Some(DISPATCHER));
        assert_eq!(
            found.message,
            "the timer dispatcher stalled 1 time in the last 1h: check its logs, errors and concurrency (meanwhile the sweeper fires missed timers late)"
        );
    }

    #[test]
    fn sweep_repairs_failing_below_ninety_percent() {
        let mut stats = quiet(Window::Day);
        for (actions, failures, fires) in
            [(9_000, 1_000, false), (8_999, 1_001, true), (0, 0, false)]
        {
            stats.recovery = RecoveryStatistics {
                actions,
                failures,
                success_rate: rate(actions, actions + failures),
            };
            let expected = if fires {
                vec!["SWEEP_REPAIRS_FAILING"]
            } else {
                vec![]
            };
            assert_eq!(codes(&stats, &[]), expected, "{actions} {failures}");
        }
        stats.recovery = RecoveryStatistics {
            actions: 8_999,
            failures: 1_001,
            success_rate: Some(0.8999),
        };
        assert_eq!(
            only(&stats, &[]).message,
            "only 89.99 % of the sweeps' repairs succeeded in the last 24h (1001 of 10000 failed): list them with GET /recovery/events?category=RECOVERY and fix the step errors they name"
        );
    }

    #[test]
    fn every_rule_at_once_comes_in_a_stable_order() {
        let mut stats = quiet(Window::Day);
        stats.timers_recovered.stuck = 10;
        stats.mean_time_to_recovery_ms.stuck_timers = Some(120_001);
        stats.campaigns_corrected = 10;
        stats.retries = RetryStatistics {
            retried_calls: 20,
            succeeded: 0,
            success_rate: Some(0.0),
        };
        stats.errors.by_category.insert("TIMER_FAILURE".into(), 1);
        stats.dispatcher_stalls = 1;
        stats.recovery = RecoveryStatistics {
            actions: 0,
            failures: 1,
            success_rate: Some(0.0),
        };
        let mut health = sqs(1, 0, 0);
        health.extend(sqs(1, 1, 300_001));
        health.extend(sqs(2, 0, 0));
        health[1].dependency = "dynamodb".into();
        health[2].dependency = "s3".into();
        let found: Vec<(&str, Option<String>)> = recommendations(&stats, &health)
            .into_iter()
            .map(|r| (r.code, r.component))
            .collect();
        let some = |c: &str| Some(c.to_owned());
        assert_eq!(
            found,
            vec![
                ("LOW_RECOVERY_RATE", some("sqs")),
                ("LOW_RECOVERY_RATE", some("s3")),
                ("LONG_RECOVERY", some("dynamodb")),
                ("FREQUENT_STUCK_TIMERS", None),
                ("SLOW_STUCK_RECOVERY", None),
                ("MANY_CAMPAIGN_CORRECTIONS", None),
                ("LOW_RETRY_SUCCESS", None),
                ("FAILED_TIMERS", None),
                ("DISPATCHER_STALLS", some(DISPATCHER)),
                ("SWEEP_REPAIRS_FAILING", None),
            ]
        );
    }
}
