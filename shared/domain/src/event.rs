//! Lifecycle events published to the EventBridge bus (`source` = `campaign-lifecycle`).

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::campaign::{CampaignId, CampaignStatus};
pub use crate::event_type::EventType;
use crate::timer::TimerId;

/// The EventBridge `source` of every lifecycle event.
pub const EVENT_SOURCE: &str = "campaign-lifecycle";

/// Anything published on the bus: its id (for dedupe), `detail-type` and JSON `detail`.
pub trait BusEvent {
    /// The stable id consumers dedupe on.
    fn event_id(&self) -> &str;
    /// The EventBridge `detail-type`.
    fn detail_type(&self) -> &str;
    /// The EventBridge `detail`.
    fn detail_json(&self) -> String;
}

/// One lifecycle event: the `detail` published on the bus plus its `detail-type`.
/// `event_id` is derived from what caused the event, so a republished event keeps its id and
/// consumers can dedupe on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleEvent {
    /// Stable UUIDv5 of the event's cause; consumers dedupe on it.
    pub event_id: String,
    /// Its `detail-type`.
    pub event_type: EventType,
    /// The campaign that moved.
    pub campaign_id: CampaignId,
    /// The status before the move.
    pub from: CampaignStatus,
    /// The status after the move (equal to `from` for a reminder).
    pub to: CampaignStatus,
    /// The timer that fired; `None` for a move without a timer (a cancel).
    pub timer_id: Option<TimerId>,
    /// When that timer was due; `None` for a move without a timer.
    pub due_at: Option<Timestamp>,
    /// When the move was applied.
    pub fired_at: Timestamp,
}

/// The JSON `detail` of an event on the bus.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Detail<'a> {
    event_id: &'a str,
    campaign_id: &'a CampaignId,
    from: CampaignStatus,
    to: CampaignStatus,
    timer_id: Option<&'a TimerId>,
    due_at: Option<Timestamp>,
    fired_at: Timestamp,
}

impl LifecycleEvent {
    /// The event a fired timer emits. Its id is stable for the timer and its due time.
    pub fn for_timer(
        event_type: EventType,
        timer_id: &TimerId,
        campaign_id: &CampaignId,
        (from, to): (CampaignStatus, CampaignStatus),
        due_at: Timestamp,
        fired_at: Timestamp,
    ) -> Self {
        let key = format!("timer/{timer_id}/{}", due_at.millis());
        Self {
            event_id: stable_id(&key),
            event_type,
            campaign_id: campaign_id.clone(),
            from,
            to,
            timer_id: Some(timer_id.clone()),
            due_at: Some(due_at),
            fired_at,
        }
    }

    /// The event of a move made without a timer (e.g. cancel through the API). Its id is
    /// stable for the campaign and the version the move produced.
    pub fn for_move(
        event_type: EventType,
        campaign_id: &CampaignId,
        (from, to): (CampaignStatus, CampaignStatus),
        new_version: u64,
        fired_at: Timestamp,
    ) -> Self {
        let key = format!("campaign/{campaign_id}/v{new_version}");
        Self {
            event_id: stable_id(&key),
            event_type,
            campaign_id: campaign_id.clone(),
            from,
            to,
            timer_id: None,
            due_at: None,
            fired_at,
        }
    }
}

impl BusEvent for LifecycleEvent {
    fn event_id(&self) -> &str {
        &self.event_id
    }

    fn detail_type(&self) -> &str {
        self.event_type.as_str()
    }

    fn detail_json(&self) -> String {
        let detail = Detail {
            event_id: &self.event_id,
            campaign_id: &self.campaign_id,
            from: self.from,
            to: self.to,
            timer_id: self.timer_id.as_ref(),
            due_at: self.due_at,
            fired_at: self.fired_at,
        };
        serde_json::to_string(&detail).expect("event detail is always serialisable")
    }
}

/// A UUIDv5 of `key`: the same cause always gets the same id.
pub(crate) fn stable_id(key: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, key.as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TimerKind;

    #[test]
    fn timer_event_ids_are_stable_per_timer_and_due_time() {
        let campaign = CampaignId::new("c1");
        let timer = TimerId::new(&campaign, TimerKind::StartCampaign);
        let moved = (CampaignStatus::Scheduled, CampaignStatus::Running);
        let due = Timestamp::from_millis(1_000);
        let a = LifecycleEvent::for_timer(
            EventType::CampaignStarted,
            &timer,
            &campaign,
            moved,
            due,
            Timestamp::from_millis(1_005),
        );
        let b = LifecycleEvent::for_timer(
            EventType::CampaignStarted,
            &timer,
            &campaign,
            moved,
            due,
            Timestamp::from_millis(9_999),
        );
        let later = LifecycleEvent::for_timer(
            EventType::CampaignStarted,
            &timer,
            &campaign,
            moved,
            Timestamp::from_millis(2_000),
            Timestamp::from_millis(2_000),
        );
        assert_eq!(a.event_id, b.event_id);
        assert_ne!(a.event_id, later.event_id);
    }

    #[test]
    fn detail_carries_the_documented_fields() {
        let campaign = CampaignId::new("c1");
        let timer = TimerId::new(&campaign, TimerKind::CloseCampaign);
        let event = LifecycleEvent::for_timer(
            EventType::CampaignClosed,
            &timer,
            &campaign,
            (CampaignStatus::Running, CampaignStatus::Closed),
            Timestamp::from_millis(0),
            Timestamp::from_millis(250),
        );
        let detail: serde_json::Value = serde_json::from_str(&event.detail_json()).unwrap();
        assert_eq!(detail["campaignId"], "c1");
        assert_eq!(detail["from"], "RUNNING");
        assert_eq!(detail["to"], "CLOSED");
        assert_eq!(detail["timerId"], "c1:CLOSE_CAMPAIGN");
        assert_eq!(detail["dueAt"], "1970-01-01T00:00:00Z");
        assert_eq!(detail["firedAt"], "1970-01-01T00:00:00.25Z");
        assert_eq!(detail["eventId"], event.event_id);
    }

    #[test]
    fn is_published_under_its_type_with_its_own_id() {
        let campaign = CampaignId::new("c1");
        let moved = (CampaignStatus::Running, CampaignStatus::Cancelled);
        let at = Timestamp::from_millis(0);
        let event = LifecycleEvent::for_move(EventType::CampaignCancelled, &campaign, moved, 3, at);
        assert_eq!(event.event_id(), event.event_id);
        assert_eq!(event.event_id().len(), 36, "a UUID: {}", event.event_id());
        assert_eq!(event.detail_type(), "CampaignCancelled");
        let detail: serde_json::Value = serde_json::from_str(&event.detail_json()).unwrap();
        assert_eq!(detail["timerId"], serde_json::Value::Null);
        assert_eq!(detail["dueAt"], serde_json::Value::Null);
        let next = LifecycleEvent::for_move(EventType::CampaignCancelled, &campaign, moved, 4, at);
        assert_ne!(next.event_id, event.event_id);
    }
}
