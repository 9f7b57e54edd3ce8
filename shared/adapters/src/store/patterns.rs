//! The operators' failure patterns: one item each in the `PATTERNS` partition, created with
//! `attribute_not_exists` so a duplicate id is refused (`PATTERN_EXISTS`), read with one
//! Query by every function every few minutes.

use serde::{Deserialize, Serialize};

use super::client::{Store, s};
use super::error::condition_met;
use super::items::{self, Entity};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_resilience::FailurePattern;

#[derive(Debug, Serialize, Deserialize)]
struct PatternItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: Entity,
    #[serde(flatten)]
    pattern: FailurePattern,
}

/// Most operator patterns read (one page).
const MAX_PATTERNS: i32 = 200;

impl Store {
    /// Stores a new pattern; `false` if one with its id exists.
    pub async fn create_pattern(&self, pattern: &FailurePattern) -> Result<bool, StoreError> {
        let item = items::to_item(&PatternItem {
            pk: keys::PATTERNS_PK.into(),
            sk: keys::pattern_sk(&pattern.id),
            entity: Entity::Pattern,
            pattern: pattern.clone(),
        })?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send_with(&self.resilience)
            .await;
        condition_met("PutItem", result)
    }

    /// The operators' patterns, in id order.
    pub async fn patterns(&self) -> Result<Vec<FailurePattern>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(keys::PATTERNS_PK))
            .limit(MAX_PATTERNS)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        output
            .items()
            .iter()
            .cloned()
            .map(|item| Ok(items::from_item::<PatternItem>(item)?.pattern))
            .collect()
    }
}
