//! The outbox: each committed event (a lifecycle event, a run's event, a recipient's
//! delivery) is stored with its transaction and deleted once the bus has it. Deleting is idempotent, so a crash between publish and delete only means the event
//! is published again later (consumers dedupe by `eventId`).

use aws_sdk_dynamodb::types::{DeleteRequest, Put, TransactWriteItem, WriteRequest};

use super::client::{Store, key};
use super::items::{self, Item, OutboxItem};
use super::unprocessed::{UNPROCESSED_ROUNDS, before_round};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::{CampaignId, Outboxed, StoredEvent};

/// Deletes per `BatchWriteItem` (the DynamoDB maximum).
const BATCH_DELETES: usize = 25;

impl Store {
    /// Whether the outbox still holds event `event_id` of campaign `campaign_id`.
    pub async fn outbox_holds(
        &self,
        campaign_id: &CampaignId,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::campaign_pk(campaign_id),
                keys::outbox_sk(event_id),
            )))
            .consistent_read(true)
            .projection_expression("#pk")
            .expression_attribute_names("#pk", keys::PK)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("GetItem", e))?;
        Ok(output.item.is_some())
    }

    /// The outbox record of `event`, written inside the transaction that caused it.
    pub(super) fn outbox_put(&self, event: &StoredEvent) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(items::to_item(&OutboxItem::new(
                event,
                self.due_shards,
            ))?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Deletes the outbox records of published `events`.
    pub async fn clear_outbox<E: Outboxed>(&self, events: &[E]) -> Result<(), StoreError> {
        for chunk in events.chunks(BATCH_DELETES) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|event| {
                    let key: Item = key(
                        keys::campaign_pk(event.campaign_id()),
                        keys::outbox_sk(event.event_id()),
                    );
                    DeleteRequest::builder()
                        .set_key(Some(key))
                        .build()
                        .map(|delete| WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_, _>>()?;
            for round in 0..=UNPROCESSED_ROUNDS {
                if requests.is_empty() {
                    break;
                }
                before_round(round, "BatchWriteItem", "UnprocessedItems", requests.len()).await?;
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send_with(&self.resilience)
                    .await
                    .map_err(|e| StoreError::aws("BatchWriteItem", e))?;
                requests = output
                    .unprocessed_items()
                    .and_then(|items| items.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
            }
        }
        Ok(())
    }
}
