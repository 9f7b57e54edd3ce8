//! Health of the service as `GET /health` reports it: one result per component, each with its
//! own timeout and response time, and an overall status that is the worst of them. Only
//! component names, numbers and stable error codes: no error text, URLs, ARNs or other
//! secrets (a failed check's details go to the log).

use serde::Serialize;

/// The error code of a check that got no answer within its time limit.
pub const CHECK_TIMEOUT_CODE: &str = "TIMEOUT";

/// A component's (or the service's) health, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Working as it should.
    Healthy,
    /// Working, but something needs a look (a late heartbeat, dead letters).
    Degraded,
    /// Not working: a check failed, timed out or a function stalled.
    Unhealthy,
}

/// One component's check.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentHealth {
    /// The component's name, e.g. `dynamodb`, `dispatcher`.
    pub component: &'static str,
    /// What the check found.
    pub status: HealthStatus,
    /// How long the check took.
    pub response_time_ms: i64,
    /// Numbers behind the status (depths, ages).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub detail: serde_json::Map<String, serde_json::Value>,
    /// Why the check failed: a stable code (`AWS_ACCESS_DENIED`, `AWS_THROTTLED`,
    /// [`CHECK_TIMEOUT_CODE`], …), never the error's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthReport {
    /// The worst status of the components.
    pub status: HealthStatus,
    /// Every component's check.
    pub components: Vec<ComponentHealth>,
}

impl HealthReport {
    /// The report of `components`: as healthy as the worst of them.
    pub fn of(components: Vec<ComponentHealth>) -> Self {
        let status = components
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(HealthStatus::Healthy);
        Self { status, components }
    }
}

/// A dead-letter queue holding messages means work failed for good: degraded.
pub fn dead_letter_status(depth: u64) -> HealthStatus {
    if depth == 0 {
        HealthStatus::Healthy
    } else {
        HealthStatus::Degraded
    }
}

/// A function that runs on a schedule of `period_s`, last seen `age_s` ago (`None`: never):
/// healthy within two periods, degraded within `stall_s` (if longer), unhealthy after.
pub fn scheduled_function_status(age_s: Option<i64>, period_s: i64, stall_s: i64) -> HealthStatus {
    match age_s {
        None => HealthStatus::Degraded,
        Some(age) if age <= 2 * period_s => HealthStatus::Healthy,
        Some(age) if age <= stall_s => HealthStatus::Degraded,
        Some(_) => HealthStatus::Unhealthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(status: HealthStatus) -> ComponentHealth {
        ComponentHealth {
            component: "c",
            status,
            response_time_ms: 1,
            detail: serde_json::Map::new(),
            error_code: None,
        }
    }

    #[test]
    fn the_service_is_as_healthy_as_its_worst_component() {
        use HealthStatus::*;
        assert_eq!(HealthReport::of(vec![]).status, Healthy);
        let report = HealthReport::of(vec![component(Healthy), component(Degraded)]);
        assert_eq!(report.status, Degraded);
        let report = HealthReport::of(vec![component(Unhealthy), component(Degraded)]);
        assert_eq!(report.status, Unhealthy);
    }

    #[test]
    fn dead_letters_degrade() {
        assert_eq!(dead_letter_status(0), HealthStatus::Healthy);
        assert_eq!(dead_letter_status(3), HealthStatus::Degraded);
    }

    #[test]
    fn a_scheduled_function_is_judged_by_its_period_and_the_stall_threshold() {
        use HealthStatus::*;
        assert_eq!(scheduled_function_status(None, 60, 180), Degraded);
        assert_eq!(scheduled_function_status(Some(90), 60, 180), Healthy);
        assert_eq!(scheduled_function_status(Some(150), 60, 180), Degraded);
        assert_eq!(scheduled_function_status(Some(181), 60, 180), Unhealthy);
        assert_eq!(scheduled_function_status(Some(500), 300, 180), Healthy);
    }

    #[test]
    fn the_limits_themselves_still_count_as_the_better_status() {
        use HealthStatus::*;
        assert_eq!(scheduled_function_status(Some(120), 60, 180), Healthy);
        assert_eq!(scheduled_function_status(Some(121), 60, 180), Degraded);
        assert_eq!(scheduled_function_status(Some(180), 60, 180), Degraded);
        // A stall threshold shorter than two periods: healthy, then straight to unhealthy.
        assert_eq!(scheduled_function_status(Some(600), 300, 180), Healthy);
        assert_eq!(scheduled_function_status(Some(601), 300, 180), Unhealthy);
    }
}
