//! The run events operators hear about: a `CampaignRunCompleted` whose run has recipients
//! that failed for good becomes a `RUN_DELIVERY_FAILURES` alert (MEDIUM: Slack by default),
//! one per run — its id comes from the run, so a republished event is the same alert. A run
//! without failures is no news.

use serde_json::Value;

use crate::Timestamp;
use crate::alert::{Alert, AlertContext, AlertKind, AlertStatus, Severity};
use crate::event::stable_id;

/// The alert a completed run's event (its `detail`) calls for: `Ok(None)` when nothing
/// failed; `Err` names what the detail lacks.
pub fn run_failures_alert(detail: &Value) -> Result<Option<Alert>, String> {
    let text = |field: &str| {
        detail
            .get(field)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .ok_or_else(|| format!("the run event has no {field}"))
    };
    let count = |field: &str| {
        detail
            .get(field)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("the run event has no {field} count"))
    };
    let (campaign, run) = (text("campaignId")?, text("runId")?);
    let failed = count("failed")?;
    if failed == 0 {
        return Ok(None);
    }
    let (total, sent) = (count("total")?, count("sent")?);
    let completed_at = detail
        .get("completedAt")
        .and_then(|at| serde_json::from_value::<Timestamp>(at.clone()).ok())
        .ok_or("the run event has no completedAt")?;
    Ok(Some(Alert {
        alert_id: stable_id(&format!("alert/run-failures/{campaign}/{run}")),
        kind: AlertKind::RunDeliveryFailures,
        severity: Severity::Medium,
        subject: format!("{campaign}/{run}"),
        message: format!(
            "run {run} of campaign {campaign} completed with {failed} of {total} recipients failed ({sent} sent)"
        ),
        raised_at: completed_at,
        error_code: None,
        status: AlertStatus::Firing,
        context: AlertContext {
            campaign_id: Some(campaign.to_owned()),
            run_id: Some(run.to_owned()),
            ..AlertContext::default()
        },
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::CampaignId;
    use crate::delivery::{Counts, Progress, RunEvent, RunId};

    fn completed(failed: u64) -> Value {
        let mut progress = Progress {
            total: 10,
            planned: true,
            counts: Counts::default(),
        };
        progress.counts.sent = 10 - failed;
        progress.counts.failed = failed;
        let event = RunEvent::completed(
            &CampaignId::new("spring"),
            &RunId::new("r1"),
            &progress,
            Timestamp::from_millis(1_800_000_000_000),
        );
        event.detail
    }

    #[test]
    fn a_run_with_failures_is_one_medium_alert_per_run() {
        let alert = run_failures_alert(&completed(3)).unwrap().unwrap();
        assert_eq!(alert.kind, AlertKind::RunDeliveryFailures);
        assert_eq!(alert.severity, Severity::Medium);
        assert_eq!(alert.subject, "spring/r1");
        assert_eq!(
            alert.message,
            "run r1 of campaign spring completed with 3 of 10 recipients failed (7 sent)"
        );
        assert_eq!(alert.raised_at, Timestamp::from_millis(1_800_000_000_000));
        assert_eq!(alert.status, AlertStatus::Firing);
        assert!(!alert.kind.resolves());
        let again = run_failures_alert(&completed(3)).unwrap().unwrap();
        assert_eq!(again.alert_id, alert.alert_id, "a republished event");
        let mut other = completed(3);
        other["runId"] = json!("r2");
        assert_ne!(
            run_failures_alert(&other).unwrap().unwrap().alert_id,
            alert.alert_id
        );
    }

    #[test]
    fn a_run_without_failures_is_no_news_and_a_broken_event_is_named() {
        assert_eq!(run_failures_alert(&completed(0)).unwrap(), None);
        let mut broken = completed(2);
        broken.as_object_mut().unwrap().remove("campaignId");
        assert_eq!(
            run_failures_alert(&broken).unwrap_err(),
            "the run event has no campaignId"
        );
        let mut broken = completed(2);
        broken["failed"] = json!("two");
        assert_eq!(
            run_failures_alert(&broken).unwrap_err(),
            "the run event has no failed count"
        );
        let mut broken = completed(2);
        broken.as_object_mut().unwrap().remove("completedAt");
        assert!(run_failures_alert(&broken).is_err());
    }
}
