//! What the API answers for campaigns and timers: response types mapped from the stored
//! ones, carrying only what a client needs. The engine's own bookkeeping on a timer — its
//! lease (owner, expiry), the direct-send mark, the next deadline kept for the status index
//! and the text of internal errors — never reaches a response. Each mapping names every
//! stored field, so a field added to a stored type stays private until it is added here.

use lifecycle_domain::delivery::RunId;
use lifecycle_domain::recurrence::Series;
use lifecycle_domain::{
    Campaign, CampaignId, CampaignStatus, Timer, TimerEffect, TimerId, TimerKind, TimerStatus,
    Timestamp,
};
use serde::Serialize;

use crate::delivery_views::{DeliveryView, RunView};

/// A campaign as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CampaignView {
    pub id: CampaignId,
    pub name: String,
    pub status: CampaignStatus,
    pub start_at: Timestamp,
    pub end_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_until: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reward_reminder_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryView>,
    /// Its recurring series, as validated (defaults filled in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Series>,
    /// Where its series stands (a recurring campaign only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesView>,
    /// The delivery's runs, newest first (`GET /campaigns/{id}` of a delivering campaign).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs: Option<Vec<RunView>>,
    /// Incremented by every status move.
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A recurring campaign's series as the API returns it (its version is the engine's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SeriesView {
    /// Occurrences handled so far (run, missed or skipped).
    pub occurrences: u64,
    /// The run still delivering, or whose window (`runDuration`) is still open.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_run: Option<RunId>,
    /// The occurrence waiting for it (overlap `bufferOne`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffered_run: Option<RunId>,
    /// Whether an operator paused it.
    pub paused: bool,
}

impl From<Campaign> for CampaignView {
    fn from(campaign: Campaign) -> Self {
        let Campaign {
            id,
            name,
            status,
            start_at,
            end_at,
            claim_until,
            reward_reminder_at,
            delivery,
            schedule,
            series_progress,
            version,
            created_at,
            updated_at,
        } = campaign;
        let series = schedule.is_some().then_some(SeriesView {
            occurrences: series_progress.occurrences,
            active_run: series_progress.active_run,
            buffered_run: series_progress.buffered_run,
            paused: series_progress.paused,
        });
        Self {
            id,
            name,
            status,
            start_at,
            end_at,
            claim_until,
            reward_reminder_at,
            delivery: delivery.as_ref().map(DeliveryView::from),
            schedule,
            series,
            runs: None,
            version,
            created_at,
            updated_at,
        }
    }
}

/// A timer as the API returns it: what it does, when, and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TimerView {
    pub timer_id: TimerId,
    pub campaign_id: CampaignId,
    pub kind: TimerKind,
    pub status: TimerStatus,
    pub due_at: Timestamp,
    /// `effect` (`MOVE` with `from` and `to`, or `REMIND`).
    #[serde(flatten)]
    pub effect: TimerEffect,
    /// The delivery run a START begins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
}

impl From<Timer> for TimerView {
    fn from(timer: Timer) -> Self {
        let Timer {
            timer_id,
            campaign_id,
            kind,
            status,
            due_at,
            effect,
            run_id,
            attempts,
            fired_at,
            cancel_reason,
            last_error: _,
            queued_at_creation: _,
            next_deadline: _,
            lease_owner: _,
            lease_expires_at: _,
        } = timer;
        Self {
            timer_id,
            campaign_id,
            kind,
            status,
            due_at,
            effect,
            run_id,
            attempts,
            fired_at,
            cancel_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: impl Serialize) -> Vec<String> {
        match serde_json::to_value(value).unwrap() {
            serde_json::Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn a_timer_view_shows_no_lease_mark_deadline_or_internal_error() {
        let campaign = CampaignId::new("c");
        let timer = Timer {
            timer_id: TimerId::new(&campaign, TimerKind::StartCampaign),
            campaign_id: campaign,
            kind: TimerKind::StartCampaign,
            status: TimerStatus::Running,
            due_at: at("2026-11-23T10:00:00Z"),
            effect: TimerEffect::Move {
                from: CampaignStatus::Scheduled,
                to: CampaignStatus::Running,
            },
            run_id: None,
            attempts: 2,
            last_error: Some("lease of sweep-7f3a expired at 2026-11-23T10:01:00Z".into()),
            fired_at: Some(at("2026-11-23T10:00:01Z")),
            cancel_reason: Some("campaign is CANCELLED".into()),
            queued_at_creation: true,
            next_deadline: Some(at("2026-11-24T10:00:00Z")),
            lease_owner: Some("sweep-7f3a".into()),
            lease_expires_at: Some(at("2026-11-23T10:01:00Z")),
        };
        let view = TimerView::from(timer);
        assert_eq!(
            keys(&view),
            [
                "attempts",
                "campaignId",
                "cancelReason",
                "dueAt",
                "effect",
                "firedAt",
                "from",
                "kind",
                "status",
                "timerId",
                "to"
            ]
        );
        assert!(!serde_json::to_string(&view).unwrap().contains("sweep-7f3a"));
    }

    #[test]
    fn a_campaign_view_keeps_the_fields_clients_read() {
        let start = at("2026-11-23T10:00:00Z");
        let campaign = Campaign {
            id: CampaignId::new("c"),
            name: "Black Friday".into(),
            status: CampaignStatus::Scheduled,
            start_at: start,
            end_at: at("2026-11-24T10:00:00Z"),
            claim_until: Some(at("2026-11-30T10:00:00Z")),
            reward_reminder_at: Some(at("2026-11-29T10:00:00Z")),
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: start,
            updated_at: start,
        };
        let stored = serde_json::to_value(&campaign).unwrap();
        let view = serde_json::to_value(CampaignView::from(campaign)).unwrap();
        assert_eq!(view, stored);
    }

    #[test]
    fn a_delivering_campaign_shows_its_channel_list_and_policy_not_its_message() {
        use lifecycle_domain::delivery::message::EmailMessage;
        use lifecycle_domain::delivery::{
            AmbiguousPolicy, CampaignDelivery, Message, RecipientList, Template,
        };
        let start = at("2026-11-23T10:00:00Z");
        let message = Message::Email(EmailMessage {
            from: "offers@example.com".into(),
            subject: Template::parse("Secret subject").unwrap(),
            text: Some(Template::parse("Secret body").unwrap()),
            html: None,
        });
        let campaign = Campaign {
            id: CampaignId::new("c"),
            name: "Spring".into(),
            status: CampaignStatus::Scheduled,
            start_at: start,
            end_at: at("2026-11-24T10:00:00Z"),
            claim_until: None,
            reward_reminder_at: None,
            delivery: Some(CampaignDelivery {
                message,
                list: RecipientList::parse_uri("s3://lists/inline/c.jsonl").unwrap(),
                on_ambiguous: AmbiguousPolicy::Skip,
            }),
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: start,
            updated_at: start,
        };
        let view = serde_json::to_value(CampaignView::from(campaign)).unwrap();
        let delivery = &view["delivery"];
        assert_eq!(delivery["recipientsUri"], "s3://lists/inline/c.jsonl");
        assert_eq!(delivery["onAmbiguous"], "skip");
        assert_eq!(delivery["channel"], "email");
        assert!(!view.to_string().contains("Secret"));
        assert!(view.get("runs").is_none());
    }
}
