//! An event as the outbox holds it: any bus event of a campaign (a lifecycle event, a run's
//! event, a recipient's delivery), kept in one shape so the relay and the sweeper publish
//! them alike.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::campaign::CampaignId;
use crate::delivery::RunEvent;
use crate::event::{BusEvent, LifecycleEvent};

/// A bus event that belongs to a campaign: what the outbox needs to store and clear it.
pub trait Outboxed: BusEvent {
    /// The campaign whose partition holds the outbox record.
    fn campaign_id(&self) -> &CampaignId;
}

/// An outbox record's event: its id, `detail-type`, JSON `detail`, campaign and when it was
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// The stable id consumers dedupe on.
    pub event_id: String,
    /// The `detail-type`.
    pub detail_type: String,
    /// The `detail`, as JSON text.
    pub detail: String,
    /// The campaign it belongs to.
    pub campaign_id: CampaignId,
    /// When it was written (the outbox's due-index sort time).
    pub written_at: Timestamp,
}

impl StoredEvent {
    /// The record of a run's event, written at `at`.
    pub fn run(campaign_id: &CampaignId, event: &RunEvent, at: Timestamp) -> Self {
        Self {
            event_id: event.event_id.clone(),
            detail_type: event.detail_type().to_owned(),
            detail: event.detail_json(),
            campaign_id: campaign_id.clone(),
            written_at: at,
        }
    }
}

impl From<&LifecycleEvent> for StoredEvent {
    fn from(event: &LifecycleEvent) -> Self {
        Self {
            event_id: event.event_id.clone(),
            detail_type: event.detail_type().to_owned(),
            detail: event.detail_json(),
            campaign_id: event.campaign_id.clone(),
            written_at: event.fired_at,
        }
    }
}

impl BusEvent for StoredEvent {
    fn event_id(&self) -> &str {
        &self.event_id
    }

    fn detail_type(&self) -> &str {
        &self.detail_type
    }

    fn detail_json(&self) -> String {
        self.detail.clone()
    }
}

impl Outboxed for StoredEvent {
    fn campaign_id(&self) -> &CampaignId {
        &self.campaign_id
    }
}

impl Outboxed for LifecycleEvent {
    fn campaign_id(&self) -> &CampaignId {
        &self.campaign_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::RunId;
    use crate::{CampaignStatus, EventType, TimerId, TimerKind};

    #[test]
    fn a_lifecycle_event_is_stored_as_it_is_published() {
        let campaign = CampaignId::new("c1");
        let at = Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap();
        let event = LifecycleEvent::for_timer(
            EventType::CampaignStarted,
            &TimerId::new(&campaign, TimerKind::StartCampaign),
            &campaign,
            (CampaignStatus::Scheduled, CampaignStatus::Running),
            at,
            at.plus_millis(3),
        );
        let stored = StoredEvent::from(&event);
        assert_eq!(stored.event_id(), event.event_id());
        assert_eq!(stored.detail_type(), "CampaignStarted");
        assert_eq!(stored.detail_json(), event.detail_json());
        assert_eq!(stored.written_at, at.plus_millis(3));
        assert_eq!(Outboxed::campaign_id(&stored), &campaign);
        assert_eq!(Outboxed::campaign_id(&event), &campaign);
    }

    #[test]
    fn a_run_event_is_stored_with_its_campaign_and_time() {
        let campaign = CampaignId::new("c1");
        let at = Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap();
        let run = RunId::for_occurrence(at);
        let event = RunEvent::started(&campaign, &run, at);
        let stored = StoredEvent::run(&campaign, &event, at.plus_millis(1));
        assert_eq!(stored.detail_type, "CampaignRunStarted");
        assert_eq!(stored.event_id, event.event_id);
        assert_eq!(stored.detail, event.detail_json());
        assert_eq!(stored.written_at, at.plus_millis(1));
        let json = serde_json::to_string(&stored).unwrap();
        assert_eq!(serde_json::from_str::<StoredEvent>(&json).unwrap(), stored);
    }
}
