//! The alert fan-out's state of each cause (`ALERT_STATE#<dedupKey>`): what noise control
//! decided last ([`AlertState`]) and the notifications still to send, one entry per routed
//! channel (`pending`, keyed `<notificationId>:<CHANNEL>`). A decision is stored with its
//! notification's entries in one Put conditional on the version it was decided from, so two
//! fan-out instances can never both store — and send — the same decision; each channel that
//! delivered removes its own entry (conditional on it being there), so a failing channel is
//! retried alone and nothing decided is lost.
//!
//! A state that needs the periodic check — a notification to retry, a reminder or a held-back
//! notice coming due — is in the due index (`duePk` = `ALERTCHECK#000`, `dueSk` = when), so
//! the check reads only those, never the whole table.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::retry::CLAIM_MS;
use lifecycle_domain::alerting::{AlertChannel, AlertState, Decision, NoiseSettings, Notification};
use serde::{Deserialize, Serialize};

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, Entity};
use super::{StoreError, keys};
use crate::aws::SendWith;

/// A notification waiting for one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingNotification {
    /// The channel it goes to.
    pub channel: AlertChannel,
    /// What it says.
    pub notification: Notification,
    /// Failed attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// When the periodic check may try it (again): a send in progress owns it until then.
    pub retry_at: Timestamp,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl PendingNotification {
    /// `notification` for `channel`, just decided at `now`: owned by the deciding instance's
    /// send for [`CLAIM_MS`].
    pub fn decided(channel: AlertChannel, notification: Notification, now: Timestamp) -> Self {
        Self {
            channel,
            notification,
            attempts: 0,
            retry_at: now.plus_millis(CLAIM_MS),
            last_error: None,
        }
    }

    /// Its entry's key in the state's `pending` map.
    pub fn entry(&self) -> String {
        format!(
            "{}:{}",
            self.notification.notification_id,
            self.channel.as_str()
        )
    }
}

/// A cause's state as stored, with what is still to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAlertState {
    /// The last decision's state.
    pub state: AlertState,
    /// Notifications not yet delivered, by entry key.
    pub pending: BTreeMap<String, PendingNotification>,
    /// When the periodic check looks at it next (`None`: not until another alert).
    pub check_at: Option<Timestamp>,
}

impl StoredAlertState {
    /// The state `decision`, made at `now` from `read`, leaves: the read's pending
    /// notifications plus the decision's own for each of `channels`, and its next check.
    pub fn after(
        read: Option<&StoredAlertState>,
        decision: &Decision,
        channels: &[AlertChannel],
        settings: NoiseSettings,
        now: Timestamp,
    ) -> Self {
        let mut pending = read.map(|read| read.pending.clone()).unwrap_or_default();
        if let Some(notification) = Notification::of(decision) {
            for &channel in channels {
                let entry = PendingNotification::decided(channel, notification.clone(), now);
                pending.insert(entry.entry(), entry);
            }
        }
        let mut stored = Self {
            state: decision.state.clone(),
            pending,
            check_at: None,
        };
        stored.check_at = stored.next_check(settings);
        stored
    }

    /// When the periodic check has something to do: the earliest retry of a pending
    /// notification, or `state`'s reminder or held-back notice.
    pub fn next_check(&self, settings: NoiseSettings) -> Option<Timestamp> {
        let retries = self.pending.values().map(|p| p.retry_at);
        retries.chain(self.state.next_check(settings)).min()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct AlertStateItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: Entity,
    #[serde(flatten)]
    state: AlertState,
    #[serde(default)]
    pending: BTreeMap<String, PendingNotification>,
    #[serde(rename = "duePk", default, skip_serializing_if = "Option::is_none")]
    due_pk: Option<String>,
    #[serde(rename = "dueSk", default, skip_serializing_if = "Option::is_none")]
    due_sk: Option<String>,
}

impl AlertStateItem {
    fn stored(self) -> StoredAlertState {
        StoredAlertState {
            check_at: self.due_sk.as_deref().and_then(keys::due_of_sk),
            state: self.state,
            pending: self.pending,
        }
    }
}

impl Store {
    /// An update of `cause`'s state item.
    fn update_alert_state(&self, cause: &str) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::alert_state_pk(cause), keys::ALERT_STATE_SK)))
    }

    /// The state of `cause` (a dedup key), if it was ever decided (consistent).
    pub async fn alert_state(&self, cause: &str) -> Result<Option<StoredAlertState>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::alert_state_pk(cause), keys::ALERT_STATE_SK)))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        output
            .item
            .map(|item| Ok(items::from_item::<AlertStateItem>(item)?.stored()))
            .transpose()
    }

    /// Stores `decision`, made at `now` from `read` (`None`: the cause was never decided),
    /// with its notification pending for each of `channels` (owned by the caller's send for
    /// [`CLAIM_MS`]). Returns the state as stored, or `None` if another instance stored a
    /// decision from the same read first (decide again from a fresh read).
    pub async fn store_alert_decision(
        &self,
        read: Option<&StoredAlertState>,
        decision: &Decision,
        channels: &[AlertChannel],
        settings: NoiseSettings,
        now: Timestamp,
    ) -> Result<Option<StoredAlertState>, StoreError> {
        let stored = StoredAlertState::after(read, decision, channels, settings, now);
        let item = AlertStateItem {
            pk: keys::alert_state_pk(&decision.state.key),
            sk: keys::ALERT_STATE_SK.to_owned(),
            entity: Entity::AlertState,
            state: stored.state.clone(),
            pending: stored.pending.clone(),
            due_pk: stored.check_at.map(|_| keys::ALERT_CHECK_PK.to_owned()),
            due_sk: stored
                .check_at
                .map(|at| keys::due_sk(at, &decision.state.key)),
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&item)?));
        let put = match read {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK),
            Some(read) => put
                .condition_expression("#version = :read")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":read", n(read.state.version)),
        };
        Ok(condition_met("PutItem", put.send_with(&self.resilience).await)?.then_some(stored))
    }

    /// `sent` was delivered: its entry leaves the pending map; `false` if it had already
    /// (another instance delivered it too).
    pub async fn settle_notification(
        &self,
        cause: &str,
        sent: &PendingNotification,
    ) -> Result<bool, StoreError> {
        let result = self
            .update_alert_state(cause)
            .update_expression("REMOVE #pending.#entry")
            .condition_expression("attribute_exists(#pending.#entry)")
            .expression_attribute_names("#pending", "pending")
            .expression_attribute_names("#entry", sent.entry())
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// Takes `entry` (as read) for one try until `until`: `false` if another try took it (or
    /// it was delivered) since it was read.
    pub async fn claim_notification(
        &self,
        cause: &str,
        entry: &PendingNotification,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = self
            .update_alert_state(cause)
            .update_expression("SET #pending.#entry.#retryAt = :until")
            .condition_expression("#pending.#entry.#retryAt = :read")
            .expression_attribute_names("#pending", "pending")
            .expression_attribute_names("#entry", entry.entry())
            .expression_attribute_names("#retryAt", "retryAt")
            .expression_attribute_values(":until", items::to_attribute(&until)?)
            .expression_attribute_values(":read", items::to_attribute(&entry.retry_at)?)
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// The try of `failed` (its `attempts`, `retry_at` and `last_error` updated by the
    /// caller) did not deliver: the entry is kept for the periodic check, which looks at the
    /// state again at `retry_at` (or earlier, if it was due earlier). `false` if the entry is
    /// gone (delivered by another try).
    pub async fn defer_notification(
        &self,
        cause: &str,
        failed: &PendingNotification,
        stored_check_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let check_at = stored_check_at.map_or(failed.retry_at, |at| at.min(failed.retry_at));
        let result = self
            .update_alert_state(cause)
            .update_expression("SET #pending.#entry = :entry, #duePk = :duePk, #dueSk = :dueSk")
            .condition_expression("attribute_exists(#pending.#entry)")
            .expression_attribute_names("#pending", "pending")
            .expression_attribute_names("#entry", failed.entry())
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK)
            .expression_attribute_values(":entry", items::to_attribute(failed)?)
            .expression_attribute_values(":duePk", s(keys::ALERT_CHECK_PK))
            .expression_attribute_values(":dueSk", s(keys::due_sk(check_at, cause)))
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }

    /// States whose check is due at `now`, earliest first, at most `limit` (and the rest of
    /// the last one's millisecond).
    pub async fn due_alert_states(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredAlertState>, StoreError> {
        let range = self
            .index_range(keys::ALERT_CHECK_PK, None, now, limit)
            .await?;
        range
            .items
            .into_iter()
            .map(|item| Ok(items::from_item::<AlertStateItem>(item)?.stored()))
            .collect()
    }

    /// Moves `read`'s next check to what it holds now (`None`: out of the due index) after a
    /// check that found nothing to decide; `false` if a decision changed it since it was read.
    pub async fn reschedule_alert_check(
        &self,
        read: &StoredAlertState,
        settings: NoiseSettings,
    ) -> Result<bool, StoreError> {
        let cause = &read.state.key;
        let update = self
            .update_alert_state(cause)
            .condition_expression("#version = :read")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":read", n(read.state.version))
            .expression_attribute_names("#duePk", keys::DUE_PK)
            .expression_attribute_names("#dueSk", keys::DUE_SK);
        let update = match read.next_check(settings) {
            Some(at) => update
                .update_expression("SET #duePk = :duePk, #dueSk = :dueSk")
                .expression_attribute_values(":duePk", s(keys::ALERT_CHECK_PK))
                .expression_attribute_values(":dueSk", s(keys::due_sk(at, cause))),
            None => update.update_expression("REMOVE #duePk, #dueSk"),
        };
        condition_met("UpdateItem", update.send_with(&self.resilience).await)
    }
}
