//! The runtime configuration as stored (`SETTINGS`/`RUNTIME`): the settings' JSON, kept as
//! written so that it is validated again when read, and a version that every write is
//! conditional on. A write may carry the alert fan-out's configuration too (`SETTINGS`/
//! `ALERTS`, where the fan-out reads it): both are then one transaction, so the alerts'
//! routing changes under the same version as the rest.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::AlertConfig;
use lifecycle_domain::validation::FieldErrors;

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, Entity, Item};
use super::{StoreError, keys};
use crate::aws::SendWith;
use crate::runtime_config::RuntimeSettings;

/// The stored runtime configuration as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRuntimeConfig {
    /// Raised by every write that changed something (the first one stores 1).
    pub version: u64,
    pub updated_at: Option<Timestamp>,
    /// The settings, or what makes them invalid now (stored by an older version).
    pub settings: Result<RuntimeSettings, FieldErrors>,
}

impl Store {
    /// The stored runtime configuration (`None`: none stored; today's values apply). One
    /// consistent GetItem.
    pub async fn runtime_config(&self) -> Result<Option<StoredRuntimeConfig>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::SETTINGS_PK, keys::RUNTIME_CONFIG_SK)))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let text = item
            .get("config")
            .and_then(|value| value.as_s().ok())
            .map_or("", String::as_str);
        let parsed = serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
        Ok(Some(StoredRuntimeConfig {
            version: item
                .get("version")
                .and_then(|value| value.as_n().ok())
                .and_then(|text| text.parse().ok())
                .unwrap_or(0),
            updated_at: item
                .get("updatedAt")
                .and_then(|value| value.as_s().ok())
                .and_then(|text| Timestamp::parse_rfc3339(text).ok()),
            settings: RuntimeSettings::from_json(&parsed),
        }))
    }

    /// Stores `settings` as version `seen + 1`, conditional on the stored version being
    /// `seen` (0: none stored), with `alerts` as the fan-out's configuration in the same
    /// transaction when given. `false` if the stored version is another.
    pub async fn put_runtime_config(
        &self,
        seen: u64,
        settings: &RuntimeSettings,
        alerts: Option<&AlertConfig>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut item: Item = key(keys::SETTINGS_PK, keys::RUNTIME_CONFIG_SK);
        item.insert("entity".to_owned(), items::to_attribute(&Entity::Settings)?);
        item.insert("config".to_owned(), s(settings.to_json().to_string()));
        item.insert("version".to_owned(), n(seen + 1));
        item.insert("updatedAt".to_owned(), s(now.to_rfc3339()));
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let put = if seen == 0 {
            put.condition_expression("attribute_not_exists(#version)")
                .expression_attribute_names("#version", "version")
        } else {
            put.condition_expression("#version = :seen")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":seen", n(seen))
        };
        let Some(alerts) = alerts else {
            let put = put.build()?;
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(put.item))
                .set_condition_expression(put.condition_expression)
                .set_expression_attribute_names(put.expression_attribute_names)
                .set_expression_attribute_values(put.expression_attribute_values)
                .send_with(&self.resilience)
                .await;
            return condition_met("PutItem", result);
        };
        let mut alerts_item = key(keys::SETTINGS_PK, keys::ALERT_CONFIG_SK);
        alerts_item.insert("entity".to_owned(), items::to_attribute(&Entity::Settings)?);
        alerts_item.insert("config".to_owned(), s(alerts.to_json().to_string()));
        alerts_item.insert("updatedAt".to_owned(), n(now.millis()));
        alerts_item.insert("version".to_owned(), n(seen + 1));
        let alerts_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(alerts_item))
            .build()?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put.build()?).build())
            .transact_items(TransactWriteItem::builder().put(alerts_put).build())
            .send_with(&self.resilience)
            .await;
        condition_met("TransactWriteItems", result)
    }
}
