//! Alert records: written with (or in the transaction of) what raised them, listed in the due
//! index until published, marked published once the bus has them, kept 30 days.

use super::client::{Store, key};
use super::error::condition_met;
use super::items::{self, AlertItem};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Alert;

impl Store {
    /// Stores `alert` for publishing; `false` if an alert with its id exists already.
    pub async fn raise_alert(&self, alert: &Alert) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&AlertItem::new(alert))?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send_with(&self.resilience)
            .await;
        condition_met("PutItem", result)
    }

    /// Takes published `alerts` out of the due index (their records stay until the TTL).
    /// Alerts are rare, so one conditional UpdateItem each.
    pub async fn mark_alerts_published(&self, alerts: &[Alert]) -> Result<(), StoreError> {
        for alert in alerts {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(keys::ALERTS_PK, keys::alert_sk(&alert.alert_id))))
                .condition_expression("attribute_exists(#pk)")
                .update_expression("REMOVE #duePk, #dueSk")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#duePk", keys::DUE_PK)
                .expression_attribute_names("#dueSk", keys::DUE_SK)
                .send_with(&self.resilience)
                .await;
            condition_met("UpdateItem", result)?;
        }
        Ok(())
    }
}
