//! The operators' failure patterns: one item each in the `PATTERNS` partition, read with one
//! Query by every function every few minutes. At most [`MAX_OPERATOR_PATTERNS`] are stored:
//! a create counts the patterns, then writes its pattern (`attribute_not_exists`, so a taken
//! id is refused) in one transaction with a version bump of the pattern set that is
//! conditional on the version it counted under — of two concurrent creates that counted the
//! same set, one must count again. A delete is conditional on the pattern existing.

use aws_sdk_dynamodb::types::{Put, Select, TransactWriteItem, Update};
use serde::{Deserialize, Serialize};

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, Entity};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_resilience::{FailurePattern, MAX_OPERATOR_PATTERNS};

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

/// Most operator patterns read (one page); loading uses the first [`MAX_OPERATOR_PATTERNS`]
/// of them, but all are listed, so that operators see (and can delete) any beyond the limit.
const MAX_PATTERNS_READ: i32 = 200;

/// Counts and transactions tried before a create gives up on a pattern set that keeps
/// changing.
const CREATE_ATTEMPTS: usize = 3;

/// What a pattern create did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternCreate {
    Created,
    /// Another pattern has its id.
    Exists,
    /// [`MAX_OPERATOR_PATTERNS`] patterns are stored already.
    LimitReached,
    /// Patterns were added under every attempt.
    Contended,
}

impl Store {
    /// Stores a new pattern if its id is free and fewer than [`MAX_OPERATOR_PATTERNS`] are
    /// stored.
    pub async fn create_pattern(
        &self,
        pattern: &FailurePattern,
    ) -> Result<PatternCreate, StoreError> {
        for _ in 0..CREATE_ATTEMPTS {
            let version = self.pattern_set_version().await?;
            if self.count_patterns().await? >= MAX_OPERATOR_PATTERNS {
                return Ok(PatternCreate::LimitReached);
            }
            let item = items::to_item(&PatternItem {
                pk: keys::PATTERNS_PK.into(),
                sk: keys::pattern_sk(&pattern.id),
                entity: Entity::Pattern,
                pattern: pattern.clone(),
            })?;
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
                .build()?;
            let guard = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::PATTERN_SET_PK, keys::PATTERN_SET_SK)))
                .update_expression("SET #version = :next, entity = :entity")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":next", n(version + 1))
                .expression_attribute_values(":entity", s("PatternSet"));
            let guard = if version == 0 {
                guard.condition_expression("attribute_not_exists(#version)")
            } else {
                guard
                    .condition_expression("#version = :seen")
                    .expression_attribute_values(":seen", n(version))
            };
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put).build())
                .transact_items(TransactWriteItem::builder().update(guard.build()?).build())
                .send_with(&self.resilience)
                .await;
            if condition_met("TransactWriteItems", result)? {
                return Ok(PatternCreate::Created);
            }
            if self.pattern_exists(&pattern.id).await? {
                return Ok(PatternCreate::Exists);
            }
        }
        Ok(PatternCreate::Contended)
    }

    /// Deletes pattern `id`; `false` if there is none.
    pub async fn delete_pattern(&self, id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::PATTERNS_PK, keys::pattern_sk(id))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .send_with(&self.resilience)
            .await;
        condition_met("DeleteItem", result)
    }

    /// The operators' patterns, in id order (one page of up to 200).
    pub async fn patterns(&self) -> Result<Vec<FailurePattern>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(keys::PATTERNS_PK))
            .limit(MAX_PATTERNS_READ)
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

    /// Whether pattern `id` is stored (strongly consistent).
    async fn pattern_exists(&self, id: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::PATTERNS_PK, keys::pattern_sk(id))))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", keys::PK)
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        Ok(output.item.is_some())
    }

    /// How many patterns are stored, up to one more than the limit (strongly consistent).
    async fn count_patterns(&self) -> Result<usize, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(keys::PATTERNS_PK))
            .select(Select::Count)
            .limit(MAX_OPERATOR_PATTERNS as i32 + 1)
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        Ok(usize::try_from(output.count).unwrap_or(0))
    }

    /// The version of the pattern set, raised by every create (0: no create yet).
    async fn pattern_set_version(&self) -> Result<u64, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::PATTERN_SET_PK, keys::PATTERN_SET_SK)))
            .consistent_read(true)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        Ok(output
            .item
            .as_ref()
            .and_then(|item| item.get("version"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }
}
