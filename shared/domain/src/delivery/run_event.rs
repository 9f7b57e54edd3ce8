//! The events of a run on the lifecycle bus: `CampaignRunStarted`, `CampaignRunProgress`,
//! `CampaignRunCompleted`, one `RecipientDelivery` per recipient of the event channel, and for
//! a recurring campaign's occurrences that did not run, `CampaignRunMissed` and
//! `CampaignRunSkipped`, and `CampaignRunClosed` when a run's window (`runDuration`) ends.
//! Every id derives from what caused the event, so a republished event keeps its id.

use serde::Serialize;
use serde_json::{Value, json};

use super::run::{Progress, RunId};
use crate::CampaignId;
use crate::Timestamp;
use crate::event::{BusEvent, stable_id};

/// The `detail-type` of a run event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RunEventType {
    /// A run began sending.
    CampaignRunStarted,
    /// A run's counts, at most every few seconds while it sends.
    CampaignRunProgress,
    /// A run settled every recipient (or was cancelled): its final counts.
    CampaignRunCompleted,
    /// One recipient's delivery on the event channel.
    RecipientDelivery,
    /// An occurrence of a series was missed (recorded `MISSED`).
    CampaignRunMissed,
    /// An occurrence of a series was skipped: its previous run still delivered.
    CampaignRunSkipped,
    /// A run's window (its series' `runDuration`) closed.
    CampaignRunClosed,
}

impl RunEventType {
    /// The `detail-type` text.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CampaignRunStarted => "CampaignRunStarted",
            Self::CampaignRunProgress => "CampaignRunProgress",
            Self::CampaignRunCompleted => "CampaignRunCompleted",
            Self::RecipientDelivery => "RecipientDelivery",
            Self::CampaignRunMissed => "CampaignRunMissed",
            Self::CampaignRunSkipped => "CampaignRunSkipped",
            Self::CampaignRunClosed => "CampaignRunClosed",
        }
    }
}

/// A run event: its stable id, type and JSON detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEvent {
    /// Stable id; consumers dedupe on it.
    pub event_id: String,
    /// Its `detail-type`.
    pub event_type: RunEventType,
    /// Its `detail`.
    pub detail: Value,
}

impl RunEvent {
    /// A run began: emitted once, when the run is created.
    pub fn started(campaign: &CampaignId, run: &RunId, at: Timestamp) -> Self {
        let event_id = stable_id(&format!("run/{campaign}/{run}/started"));
        let detail = json!({
            "eventId": event_id, "campaignId": campaign, "runId": run, "startedAt": at,
        });
        Self {
            event_id,
            event_type: RunEventType::CampaignRunStarted,
            detail,
        }
    }

    /// An occurrence scheduled at `scheduled_at` that did not run (`Missed` or `Skipped`),
    /// decided at `at`; emitted once.
    pub fn not_run(
        event_type: RunEventType,
        campaign: &CampaignId,
        run: &RunId,
        scheduled_at: Timestamp,
        at: Timestamp,
    ) -> Self {
        let event_id = stable_id(&format!("run/{campaign}/{run}/{}", event_type.as_str()));
        let detail = json!({
            "eventId": event_id, "campaignId": campaign, "runId": run,
            "scheduledAt": scheduled_at, "decidedAt": at,
        });
        Self {
            event_id,
            event_type,
            detail,
        }
    }

    /// The run's window, due to close at `closes_at`, closed at `at`: emitted once.
    pub fn closed(campaign: &CampaignId, run: &RunId, closes_at: Timestamp, at: Timestamp) -> Self {
        let event_id = stable_id(&format!("run/{campaign}/{run}/closed"));
        let detail = json!({
            "eventId": event_id, "campaignId": campaign, "runId": run,
            "closesAt": closes_at, "closedAt": at,
        });
        Self {
            event_id,
            event_type: RunEventType::CampaignRunClosed,
            detail,
        }
    }

    /// The run's counts now; one per distinct count of settled recipients.
    pub fn progress(
        campaign: &CampaignId,
        run: &RunId,
        progress: &Progress,
        at: Timestamp,
    ) -> Self {
        let settled = progress.counts.settled();
        let event_id = stable_id(&format!("run/{campaign}/{run}/progress/{settled}"));
        Self {
            detail: counts_detail(&event_id, campaign, run, progress, "at", at),
            event_id,
            event_type: RunEventType::CampaignRunProgress,
        }
    }

    /// The run is over: its final counts, emitted once.
    pub fn completed(
        campaign: &CampaignId,
        run: &RunId,
        progress: &Progress,
        at: Timestamp,
    ) -> Self {
        let event_id = stable_id(&format!("run/{campaign}/{run}/completed"));
        Self {
            detail: counts_detail(&event_id, campaign, run, progress, "completedAt", at),
            event_id,
            event_type: RunEventType::CampaignRunCompleted,
        }
    }

    /// A recipient's delivery on the event channel; the same id on every attempt.
    pub fn recipient_delivery(
        campaign: &CampaignId,
        run: &RunId,
        recipient_id: &str,
        address: &str,
        detail: Option<&Value>,
    ) -> Self {
        let event_id = stable_id(&format!("run/{campaign}/{run}/recipient/{recipient_id}"));
        let detail = json!({
            "eventId": event_id, "campaignId": campaign, "runId": run,
            "recipientId": recipient_id, "address": address, "detail": detail,
        });
        Self {
            event_id,
            event_type: RunEventType::RecipientDelivery,
            detail,
        }
    }
}

fn counts_detail(
    event_id: &str,
    campaign: &CampaignId,
    run: &RunId,
    progress: &Progress,
    time_field: &str,
    at: Timestamp,
) -> Value {
    let counts = &progress.counts;
    let mut detail = json!({
        "eventId": event_id, "campaignId": campaign, "runId": run,
        "total": progress.total, "sent": counts.sent, "failed": counts.failed,
        "pending": progress.pending(), "ambiguous": counts.ambiguous(),
        "duplicates": counts.duplicates, "cancelled": counts.cancelled,
        "expired": counts.expired,
    });
    detail[time_field] = json!(at);
    detail
}

impl BusEvent for RunEvent {
    fn event_id(&self) -> &str {
        &self.event_id
    }

    fn detail_type(&self) -> &str {
        self.event_type.as_str()
    }

    fn detail_json(&self) -> String {
        self.detail.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::run::Counts;

    fn ids() -> (CampaignId, RunId, Timestamp) {
        let at = Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap();
        (CampaignId::new("c1"), RunId::for_occurrence(at), at)
    }

    fn progress(sent: u64) -> Progress {
        Progress {
            total: 10,
            planned: true,
            counts: Counts {
                sent,
                failed: 1,
                unconfirmed: 1,
                resent: 2,
                duplicates: 1,
                ..Counts::default()
            },
        }
    }

    #[test]
    fn completed_carries_the_final_counts_under_a_stable_id() {
        let (campaign, run, at) = ids();
        let event = RunEvent::completed(&campaign, &run, &progress(7), at);
        assert_eq!(event.detail_type(), "CampaignRunCompleted");
        let detail: Value = serde_json::from_str(&event.detail_json()).unwrap();
        assert_eq!(
            detail,
            json!({"eventId": event.event_id, "campaignId": "c1", "runId": "20261202T090000000Z",
                   "total": 10, "sent": 7, "failed": 1, "pending": 0, "ambiguous": 3,
                   "duplicates": 1, "cancelled": 0, "expired": 0,
                   "completedAt": "2026-12-02T09:00:00Z"})
        );
        assert_eq!(event.event_id(), event.event_id.as_str());
        assert_eq!(event.event_id.len(), 36, "a UUID");
        let later = RunEvent::completed(&campaign, &run, &progress(7), at.plus_millis(5));
        assert_eq!(later.event_id(), event.event_id());
    }

    #[test]
    fn progress_ids_change_with_the_settled_count_only() {
        let (campaign, run, at) = ids();
        let first = RunEvent::progress(&campaign, &run, &progress(3), at);
        let again = RunEvent::progress(&campaign, &run, &progress(3), at.plus_millis(9));
        let next = RunEvent::progress(&campaign, &run, &progress(4), at);
        assert_eq!(first.event_id, again.event_id);
        assert_ne!(first.event_id, next.event_id);
        assert_eq!(first.detail["pending"], 4);
        assert_eq!(first.detail["at"], "2026-12-02T09:00:00Z");
        assert_eq!(first.detail_type(), "CampaignRunProgress");
    }

    #[test]
    fn each_kind_has_its_own_id_and_type() {
        let (campaign, run, at) = ids();
        let started = RunEvent::started(&campaign, &run, at);
        let completed = RunEvent::completed(&campaign, &run, &progress(7), at);
        let delivery = RunEvent::recipient_delivery(&campaign, &run, "r1", "user-1", None);
        let other = RunEvent::recipient_delivery(&campaign, &run, "r2", "user-2", None);
        assert_eq!(started.detail_type(), "CampaignRunStarted");
        assert_eq!(started.detail["startedAt"], "2026-12-02T09:00:00Z");
        assert_eq!(delivery.detail_type(), "RecipientDelivery");
        assert_eq!(delivery.detail["recipientId"], "r1");
        let later = at.plus_millis(90_000);
        let missed = RunEvent::not_run(RunEventType::CampaignRunMissed, &campaign, &run, at, later);
        let skipped =
            RunEvent::not_run(RunEventType::CampaignRunSkipped, &campaign, &run, at, later);
        assert_eq!(missed.detail_type(), "CampaignRunMissed");
        assert_eq!(skipped.detail_type(), "CampaignRunSkipped");
        assert_eq!(missed.detail["scheduledAt"], "2026-12-02T09:00:00Z");
        assert_eq!(missed.detail["decidedAt"], "2026-12-02T09:01:30Z");
        let closed = RunEvent::closed(&campaign, &run, at, later);
        assert_eq!(closed.detail_type(), "CampaignRunClosed");
        assert_eq!(closed.detail["closesAt"], "2026-12-02T09:00:00Z");
        assert_eq!(closed.detail["closedAt"], "2026-12-02T09:01:30Z");
        assert_eq!(
            RunEvent::closed(&campaign, &run, at, at).event_id,
            closed.event_id
        );
        let ids = [
            &started.event_id,
            &completed.event_id,
            &delivery.event_id,
            &other.event_id,
            &missed.event_id,
            &skipped.event_id,
            &closed.event_id,
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let again = RunEvent::recipient_delivery(&campaign, &run, "r1", "user-1", None);
        assert_eq!(again.event_id, delivery.event_id);
    }
}
