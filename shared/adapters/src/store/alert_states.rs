//! The alert fan-out's state of each cause (`ALERT_STATE#<dedupKey>`): what noise control
//! decided last ([`AlertState`]) and the notifications still to send, one entry per routed
//! channel (`pending`, keyed `<notificationId>:<CHANNEL>`). A decision is stored with its
//! notification's entries in one Put conditional on the version it was decided from, so two
//! fan-out instances can never both store — and send — the same decision; each channel that
//! delivered removes its own entry (conditional on it being there), so a failing channel is
//! retried alone and nothing decided is lost.

use std::collections::BTreeMap;

use lifecycle_domain::alerting::{AlertChannel, AlertState, Decision, Notification};
use serde::{Deserialize, Serialize};

use super::client::{Store, key, n};
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
}

impl PendingNotification {
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
}

impl Store {
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
            .map(|item| {
                let stored: AlertStateItem = items::from_item(item)?;
                Ok(StoredAlertState {
                    state: stored.state,
                    pending: stored.pending,
                })
            })
            .transpose()
    }

    /// Stores `decision`, made from `read` (`None`: the cause was never decided), with its
    /// notification pending for each of `channels`; `false` if another instance stored a
    /// decision from the same read first (decide again from a fresh read).
    pub async fn store_alert_decision(
        &self,
        read: Option<&StoredAlertState>,
        decision: &Decision,
        channels: &[AlertChannel],
    ) -> Result<bool, StoreError> {
        let mut pending = read.map(|read| read.pending.clone()).unwrap_or_default();
        if let Some(notification) = Notification::of(decision) {
            for &channel in channels {
                let entry = PendingNotification {
                    channel,
                    notification: notification.clone(),
                };
                pending.insert(entry.entry(), entry);
            }
        }
        let item = AlertStateItem {
            pk: keys::alert_state_pk(&decision.state.key),
            sk: keys::ALERT_STATE_SK.to_owned(),
            entity: Entity::AlertState,
            state: decision.state.clone(),
            pending,
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
        condition_met("PutItem", put.send_with(&self.resilience).await)
    }

    /// `sent` was delivered: its entry leaves the pending map; `false` if it had already
    /// (another instance delivered it too).
    pub async fn settle_notification(
        &self,
        cause: &str,
        sent: &PendingNotification,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::alert_state_pk(cause), keys::ALERT_STATE_SK)))
            .update_expression("REMOVE #pending.#entry")
            .condition_expression("attribute_exists(#pending.#entry)")
            .expression_attribute_names("#pending", "pending")
            .expression_attribute_names("#entry", sent.entry())
            .send_with(&self.resilience)
            .await;
        condition_met("UpdateItem", result)
    }
}
