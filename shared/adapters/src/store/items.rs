//! Item shapes of the table: domain types plus their keys, mapped with serde_dynamo.
//! Index attributes are omitted (not NULL) when an item must not be in that index.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::keys;
use lifecycle_domain::delivery::{RunRecord, RunStatus};
use lifecycle_domain::schedule::status_sort_time;
use lifecycle_domain::{
    Alert, AuditRecord, Campaign, CampaignId, StoredEvent, Timer, TimerStatus, Timestamp,
};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// The `entity` attribute telling item types apart inside a campaign partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Entity {
    Campaign,
    Timer,
    Outbox,
    Alert,
    Audit,
    Report,
    Breaker,
    BreakerWindow,
    Pattern,
    PatternSet,
    Run,
    Ledger,
    AlertState,
    Settings,
    RecoveryEvent,
    RecoveryStats,
    /// An SQS consumer's pause record.
    Consumer,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CampaignItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: Entity,
    #[serde(rename = "statusPk")]
    pub status_pk: String,
    #[serde(rename = "statusSk")]
    pub status_sk: String,
    /// A recurring campaign in ByDue by its next occurrence (see [`series_due_keys`]).
    #[serde(rename = "duePk", default, skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    #[serde(rename = "dueSk", default, skip_serializing_if = "Option::is_none")]
    pub due_sk: Option<String>,
    #[serde(flatten)]
    pub campaign: Campaign,
}

/// The ByDue keys of a recurring campaign whose series awaits `next` (its next occurrence):
/// `SERIES#<shard>`, `<nextMillis>#<campaignId>`. A campaign is listed only while its series
/// has an occurrence left and is not paused.
pub fn series_due_keys(id: &CampaignId, next: Timestamp, shards: u16) -> (String, String) {
    (
        keys::series_due_pk(keys::shard_of(id.as_str(), shards)),
        keys::due_sk(next, id.as_str()),
    )
}

impl CampaignItem {
    pub fn new(campaign: &Campaign, due_shards: u16) -> Self {
        let awaiting = campaign.schedule.is_some()
            && !campaign.series_progress.paused
            && matches!(
                campaign.status,
                lifecycle_domain::CampaignStatus::Scheduled
                    | lifecycle_domain::CampaignStatus::Running
            );
        let series = campaign
            .series_progress
            .next_occurrence
            .filter(|_| awaiting)
            .map(|next| series_due_keys(&campaign.id, next, due_shards));
        Self {
            pk: keys::campaign_pk(&campaign.id),
            sk: keys::CAMPAIGN_SK.to_owned(),
            entity: Entity::Campaign,
            status_pk: keys::status_pk(campaign.status),
            status_sk: keys::status_sk(
                status_sort_time(campaign, campaign.status, campaign.updated_at),
                &campaign.id,
            ),
            due_pk: series.as_ref().map(|(pk, _)| pk.clone()),
            due_sk: series.map(|(_, sk)| sk),
            campaign: campaign.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TimerItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: Entity,
    #[serde(rename = "duePk", default, skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    #[serde(rename = "dueSk", default, skip_serializing_if = "Option::is_none")]
    pub due_sk: Option<String>,
    #[serde(flatten)]
    pub timer: Timer,
}

impl TimerItem {
    /// The item of `timer`: in the due index by due time while PENDING, by lease expiry
    /// while RUNNING, not at all otherwise.
    pub fn new(timer: &Timer, due_shards: u16) -> Self {
        let shard = keys::timer_shard(&timer.timer_id, due_shards);
        let (due_pk, due_sk) = match (timer.status, timer.lease_expires_at) {
            (TimerStatus::Pending, _) => (
                Some(keys::timer_due_pk(shard)),
                Some(keys::due_sk(timer.due_at, timer.timer_id.as_str())),
            ),
            (TimerStatus::Running, Some(expires_at)) => (
                Some(keys::lease_due_pk(shard)),
                Some(keys::due_sk(expires_at, timer.timer_id.as_str())),
            ),
            _ => (None, None),
        };
        Self {
            pk: keys::campaign_pk(&timer.campaign_id),
            sk: keys::timer_sk(timer.kind),
            entity: Entity::Timer,
            due_pk,
            due_sk,
            timer: timer.clone(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct OutboxItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: Entity,
    #[serde(rename = "duePk")]
    pub due_pk: String,
    #[serde(rename = "dueSk")]
    pub due_sk: String,
    #[serde(flatten)]
    pub event: StoredEvent,
}

impl OutboxItem {
    /// The outbox record of `event`, listed in the due index by the time it was written so a
    /// sweep can republish what was never cleared.
    pub fn new(event: &StoredEvent, due_shards: u16) -> Self {
        Self {
            pk: keys::campaign_pk(&event.campaign_id),
            sk: keys::outbox_sk(&event.event_id),
            entity: Entity::Outbox,
            due_pk: keys::outbox_due_pk(keys::shard_of(&event.event_id, due_shards)),
            due_sk: keys::due_sk(event.written_at, &event.event_id),
            event: event.clone(),
        }
    }
}

/// A run in its campaign's partition, listed in ByStatus while it is not over.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: Entity,
    #[serde(rename = "statusPk", default, skip_serializing_if = "Option::is_none")]
    pub status_pk: Option<String>,
    #[serde(rename = "statusSk", default, skip_serializing_if = "Option::is_none")]
    pub status_sk: Option<String>,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
    #[serde(flatten)]
    pub run: RunRecord,
}

impl RunItem {
    /// The item of `run` as of `now`.
    pub fn new(run: &RunRecord, now: Timestamp) -> Self {
        // Listed by when it last moved; a run waiting for its START by when it is due to start
        // (the sweeper cancels one whose START can no longer fire).
        let listed = !run.status.is_terminal();
        let since = if run.status == RunStatus::Scheduled {
            run.scheduled_at
        } else {
            now
        };
        Self {
            pk: keys::campaign_pk(&run.campaign_id),
            sk: keys::run_sk(&run.run_id),
            entity: Entity::Run,
            status_pk: listed.then(|| keys::run_status_pk(run.status)),
            status_sk: listed.then(|| keys::run_status_sk(since, &run.campaign_id, &run.run_id)),
            updated_at: now,
            run: run.clone(),
        }
    }
}

/// An alert, listed in the due index until it is published, kept 30 days.
#[derive(Debug, Serialize, Deserialize)]
pub struct AlertItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: Entity,
    #[serde(rename = "duePk", default, skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    #[serde(rename = "dueSk", default, skip_serializing_if = "Option::is_none")]
    pub due_sk: Option<String>,
    /// TTL attribute (epoch seconds).
    #[serde(rename = "expiresAt")]
    pub expires_at: i64,
    #[serde(flatten)]
    pub alert: Alert,
}

impl AlertItem {
    /// The unpublished record of `alert`.
    pub fn new(alert: &Alert) -> Self {
        Self {
            pk: keys::ALERTS_PK.to_owned(),
            sk: keys::alert_sk(&alert.alert_id),
            entity: Entity::Alert,
            due_pk: Some(keys::ALERT_DUE_PK.to_owned()),
            due_sk: Some(keys::due_sk(alert.raised_at, &alert.alert_id)),
            expires_at: alert
                .raised_at
                .plus_millis(RECORD_RETENTION_MS)
                .epoch_seconds(),
            alert: alert.clone(),
        }
    }
}

/// An audit record in its campaign's partition, kept 30 days.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: Entity,
    /// TTL attribute (epoch seconds).
    #[serde(rename = "expiresAt")]
    pub expires_at: i64,
    #[serde(flatten)]
    pub record: AuditRecord,
}

impl AuditItem {
    /// The audit record of a change of campaign `id`.
    pub fn new(id: &CampaignId, record: &AuditRecord) -> Self {
        Self {
            pk: keys::campaign_pk(id),
            sk: keys::audit_sk(record.at, &format!("{}#{}", record.action, record.to)),
            entity: Entity::Audit,
            expires_at: record.at.plus_millis(RECORD_RETENTION_MS).epoch_seconds(),
            record: record.clone(),
        }
    }
}

/// How long audit records, alerts and recovery reports are kept (DynamoDB TTL).
pub const RECORD_RETENTION_MS: i64 = 30 * 86_400_000;

/// Serialises a value into an item.
pub fn to_item<T: Serialize>(value: &T) -> Result<Item, serde_dynamo::Error> {
    serde_dynamo::to_item(value)
}

/// Serialises a value into one attribute (a map, for a struct).
pub fn to_attribute<T: Serialize>(
    value: &T,
) -> Result<aws_sdk_dynamodb::types::AttributeValue, serde_dynamo::Error> {
    serde_dynamo::to_attribute_value(value)
}

/// Deserialises an item.
pub fn from_item<T: for<'de> Deserialize<'de>>(item: Item) -> Result<T, serde_dynamo::Error> {
    serde_dynamo::from_item(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifecycle_domain::Timestamp;
    use lifecycle_domain::{
        CampaignId, CampaignStatus, EventType, TimerKind, timer_plan::plan_timers,
    };

    fn campaign() -> Campaign {
        Campaign {
            id: CampaignId::new("c1"),
            name: "Spring".into(),
            status: CampaignStatus::Scheduled,
            start_at: Timestamp::from_millis(10_000),
            end_at: Timestamp::from_millis(20_000),
            claim_until: Some(Timestamp::from_millis(30_000)),
            reward_reminder_at: None,
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: Timestamp::from_millis(1_000),
            updated_at: Timestamp::from_millis(1_000),
        }
    }

    #[test]
    fn campaign_items_round_trip_and_carry_index_keys() {
        let item = to_item(&CampaignItem::new(&campaign(), 16)).unwrap();
        assert_eq!(item["PK"].as_s().unwrap(), "CAMPAIGN#c1");
        assert_eq!(item["statusPk"].as_s().unwrap(), "STATUS#SCHEDULED");
        assert_eq!(item["version"].as_n().unwrap(), "1");
        assert!(
            !item.contains_key("rewardReminderAt"),
            "absent options are omitted, not NULL"
        );
        let back: CampaignItem = from_item(item).unwrap();
        assert_eq!(back.campaign, campaign());
    }

    #[test]
    fn pending_timers_are_in_the_due_index_and_others_are_not() {
        let timers = plan_timers(&campaign());
        let item = to_item(&TimerItem::new(&timers[0], 16)).unwrap();
        assert!(item["duePk"].as_s().unwrap().starts_with("DUE#"));
        assert_eq!(
            item["dueSk"].as_s().unwrap(),
            "0000000010000#c1:START_CAMPAIGN"
        );
        assert_eq!(item["effect"].as_s().unwrap(), "MOVE");
        let back: TimerItem = from_item(item).unwrap();
        assert_eq!(back.timer, timers[0]);

        let mut done = timers[0].clone();
        done.status = TimerStatus::Completed;
        let item = to_item(&TimerItem::new(&done, 16)).unwrap();
        assert!(!item.contains_key("duePk") && !item.contains_key("dueSk"));
    }

    #[test]
    fn outbox_items_round_trip() {
        let c = campaign();
        let timer_id = lifecycle_domain::TimerId::new(&c.id, TimerKind::StartCampaign);
        let event = lifecycle_domain::LifecycleEvent::for_timer(
            EventType::CampaignStarted,
            &timer_id,
            &c.id,
            (CampaignStatus::Scheduled, CampaignStatus::Running),
            c.start_at,
            Timestamp::from_millis(10_003),
        );
        let stored = StoredEvent::from(&event);
        let item = to_item(&OutboxItem::new(&stored, 16)).unwrap();
        assert!(item["SK"].as_s().unwrap().starts_with("OUTBOX#"));
        assert!(item["dueSk"].as_s().unwrap().contains("10003"));
        let back: OutboxItem = from_item(item).unwrap();
        assert_eq!(back.event, stored);
    }
}
