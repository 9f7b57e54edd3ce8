//! The alert fan-out's configuration as operators store it (`SETTINGS`/`ALERTS`): the JSON
//! [`AlertConfig::from_json`] validates, kept as written so that it is validated again when
//! read (a configuration stored by an older version that no longer validates is reported,
//! never half-applied).

use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::AlertConfig;
use lifecycle_domain::validation::FieldErrors;

use super::client::{Store, key, n, s};
use super::items::{self, Entity};
use super::{StoreError, keys};
use crate::aws::SendWith;

/// A stored configuration that no longer validates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the stored alert configuration is invalid: {0}")]
pub struct InvalidAlertConfig(pub FieldErrors);

impl Store {
    /// The stored alert configuration (`Ok(None)`: none stored, the environment's applies).
    pub async fn alert_config(
        &self,
    ) -> Result<Option<Result<AlertConfig, InvalidAlertConfig>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::SETTINGS_PK, keys::ALERT_CONFIG_SK)))
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
        Ok(Some(
            AlertConfig::from_json(&parsed).map_err(InvalidAlertConfig),
        ))
    }

    /// Stores `config` (replacing any), as of `now`.
    pub async fn put_alert_config(
        &self,
        config: &AlertConfig,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut item = key(keys::SETTINGS_PK, keys::ALERT_CONFIG_SK);
        item.insert("entity".to_owned(), items::to_attribute(&Entity::Settings)?);
        item.insert("config".to_owned(), s(config.to_json().to_string()));
        item.insert("updatedAt".to_owned(), n(now.millis()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("PutItem", e))?;
        Ok(())
    }
}
