//! The pause records of the SQS consumers (`PK=CONSUMER#<name>`, `SK=STATE`): who paused or
//! resumed each consumer last and when, replaced only conditionally on their version. Like
//! the breaker records, these calls go straight to DynamoDB (one attempt, no breaker): the
//! sweeper records a pause for an OPEN `dynamodb` breaker while that breaker refuses the
//! guarded calls.

use serde::{Deserialize, Serialize};

use super::client::{Store, key, n};
use super::error::condition_met;
use super::items::{self, Entity};
use super::{StoreError, keys};
use lifecycle_domain::consumers::ConsumerRecord;

#[derive(Debug, Serialize, Deserialize)]
struct ConsumerItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: Entity,
    #[serde(flatten)]
    record: ConsumerRecord,
}

impl Store {
    /// The pause record of `consumer` (strongly consistent), `None` if it was never paused.
    pub async fn consumer_record(
        &self,
        consumer: &str,
    ) -> Result<Option<ConsumerRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::consumer_pk(consumer),
                keys::CONSUMER_STATE_SK,
            )))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        match output.item {
            Some(item) => Ok(Some(items::from_item::<ConsumerItem>(item)?.record)),
            None => Ok(None),
        }
    }

    /// Stores `next` in place of the record whose version is `next.version - 1` (none stored
    /// when that is 0). `false` if another change came first.
    pub async fn replace_consumer_record(&self, next: &ConsumerRecord) -> Result<bool, StoreError> {
        let item = items::to_item(&ConsumerItem {
            pk: keys::consumer_pk(&next.consumer),
            sk: keys::CONSUMER_STATE_SK.into(),
            entity: Entity::Consumer,
            record: next.clone(),
        })?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = if next.version <= 1 {
            put.condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
        } else {
            put.condition_expression("#version = :version")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":version", n(next.version - 1))
        };
        condition_met("PutItem", put.send().await)
    }
}
