//! The recipient ledger of a run: one item per recipient, sharded by recipient id so a run's
//! writes spread over partitions. A claim is a conditional put, a settlement a conditional
//! update of our claim (or a conditional put when never claimed); the settlement of one
//! recipient and the claim of the next go in one transaction.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, KeysAndAttributes, TransactWriteItem, Update,
};
use lifecycle_domain::delivery::ledger_write::{Claim, LedgerWrite, Settlement, WriteOutcome};
use lifecycle_domain::delivery::{LedgerEntry, LedgerStatus, RunId};
use lifecycle_domain::{CampaignId, StoredEvent, Timestamp};
use lifecycle_resilience::CallError;

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::Item;
use super::unprocessed::{UNPROCESSED_ROUNDS, before_round};
use super::{StoreError, keys};
use crate::aws::SendWith;

/// Keys per `BatchGetItem` (the DynamoDB maximum).
const BATCH_GETS: usize = 100;

/// The run whose ledger is written, and when.
#[derive(Debug, Clone, Copy)]
pub struct LedgerRun<'a> {
    /// The campaign.
    pub campaign: &'a CampaignId,
    /// The run.
    pub run: &'a RunId,
    /// The time written into settlements and events.
    pub now: Timestamp,
}

impl Store {
    /// The ledger entries of `ids` in `run` (consistent reads, 100 keys per request).
    pub async fn ledger_entries(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        ids: &[String],
    ) -> Result<HashMap<String, LedgerEntry>, StoreError> {
        let mut entries = HashMap::new();
        for chunk in ids.chunks(BATCH_GETS) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|id| key(keys::ledger_pk(campaign, run, id), keys::ledger_sk(id)))
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()?,
            );
            for round in 0..=UNPROCESSED_ROUNDS {
                let Some(pending) = request.take() else {
                    break;
                };
                let left = pending.keys().len();
                before_round(round, "BatchGetItem", "UnprocessedKeys", left).await?;
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending)
                    .send_with(&self.resilience)
                    .await
                    .map_err(|e| StoreError::aws("BatchGetItem", e))?;
                for item in output
                    .responses()
                    .and_then(|tables| tables.get(&self.table))
                    .into_iter()
                    .flatten()
                {
                    let (id, entry) = ledger_entry(item)?;
                    entries.insert(id, entry);
                }
                request = output
                    .unprocessed_keys()
                    .and_then(|tables| tables.get(&self.table))
                    .filter(|keys| !keys.keys().is_empty())
                    .cloned();
            }
        }
        Ok(entries)
    }

    /// Writes a settlement and/or a claim (one transaction when both, or with an event).
    pub async fn ledger_write(
        &self,
        run: LedgerRun<'_>,
        write: &LedgerWrite,
    ) -> Result<WriteOutcome, StoreError> {
        if let (Some(settle), Some(claim)) = (&write.settle, &write.claim)
            && settle.recipient_id == claim.recipient_id
        {
            // One transaction cannot touch an item twice; the claimed id is held anyway.
            let alone = LedgerWrite {
                settle: Some(settle.clone()),
                claim: None,
            };
            return match Box::pin(self.ledger_write(run, &alone)).await? {
                WriteOutcome::Written => Ok(WriteOutcome::Taken),
                other => Ok(other),
            };
        }
        let mut items = Vec::new();
        if let Some(settle) = &write.settle {
            items.push(self.settle_write(run, settle)?);
            if let Some(event) = &settle.event {
                items.push(self.outbox_put(&StoredEvent::run(run.campaign, event, run.now))?);
            }
        }
        let settle_items = items.len();
        if let Some(claim) = &write.claim {
            items.push(self.claim_put(run, claim)?);
        }
        if items.is_empty() {
            return Ok(WriteOutcome::Written);
        }
        let reasons = match self.transact(items).await? {
            None => return Ok(WriteOutcome::Written),
            Some(reasons) => reasons,
        };
        let settle_refused = reasons[..settle_items].iter().any(failed_condition);
        match (&write.settle, settle_refused) {
            (Some(settle), true) if settle.claimed => Ok(WriteOutcome::LeaseLost),
            (Some(_), true) => Ok(WriteOutcome::Taken),
            (Some(settle), false) => {
                // Only the claim was refused: the settlement goes alone.
                let alone = LedgerWrite {
                    settle: Some(settle.clone()),
                    claim: None,
                };
                match Box::pin(self.ledger_write(run, &alone)).await? {
                    WriteOutcome::Written => Ok(WriteOutcome::Taken),
                    other => Ok(other),
                }
            }
            (None, _) => Ok(WriteOutcome::Taken),
        }
    }

    /// Removes our claim on a recipient (nothing if it is no longer ours).
    pub async fn ledger_release(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        claim: &Claim,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                keys::ledger_pk(campaign, run, &claim.recipient_id),
                keys::ledger_sk(&claim.recipient_id),
            )))
            .condition_expression("#status = :sending AND #ownerRow = :row")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#ownerRow", "ownerRow")
            .expression_attribute_values(":sending", s(LedgerStatus::Sending.as_str()))
            .expression_attribute_values(":row", n(claim.row))
            .send_with(&self.resilience)
            .await;
        condition_met("DeleteItem", result).map(|_| ())
    }

    /// Sends `items` as one write (a single one without a transaction): `None` if applied,
    /// else the reason each item was refused.
    async fn transact(
        &self,
        mut items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<CancellationReason>>, StoreError> {
        if items.len() == 1 {
            let applied = self.write_one(items.remove(0)).await?;
            let refused = CancellationReason::builder()
                .code("ConditionalCheckFailed")
                .build();
            return Ok((!applied).then(|| vec![refused]));
        }
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send_with(&self.resilience)
            .await
        {
            Ok(_) => return Ok(None),
            Err(error) => error,
        };
        if let CallError::Failed(SdkError::ServiceError(service)) = &error
            && let TransactWriteItemsError::TransactionCanceledException(cancelled) = service.err()
            && cancelled
                .cancellation_reasons()
                .iter()
                .any(failed_condition)
        {
            return Ok(Some(cancelled.cancellation_reasons().to_vec()));
        }
        Err(StoreError::aws("TransactWriteItems", error))
    }

    /// One conditional put or update on its own: `false` if its condition failed.
    async fn write_one(&self, item: TransactWriteItem) -> Result<bool, StoreError> {
        if let Some(put) = item.put {
            let result = self
                .client
                .put_item()
                .table_name(put.table_name)
                .set_item(Some(put.item))
                .set_condition_expression(put.condition_expression)
                .set_expression_attribute_names(put.expression_attribute_names)
                .set_expression_attribute_values(put.expression_attribute_values)
                .send_with(&self.resilience)
                .await;
            return condition_met("PutItem", result);
        }
        if let Some(update) = item.update {
            let result = self
                .client
                .update_item()
                .table_name(update.table_name)
                .set_key(Some(update.key))
                .update_expression(update.update_expression)
                .set_condition_expression(update.condition_expression)
                .set_expression_attribute_names(update.expression_attribute_names)
                .set_expression_attribute_values(update.expression_attribute_values)
                .send_with(&self.resilience)
                .await;
            return condition_met("UpdateItem", result);
        }
        Err(StoreError::Corrupt(
            "a ledger write is a put or an update".into(),
        ))
    }

    /// The claim: `SENDING`, held by its row, conditional on no entry.
    fn claim_put(
        &self,
        run: LedgerRun<'_>,
        claim: &Claim,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut item = key(
            keys::ledger_pk(run.campaign, run.run, &claim.recipient_id),
            keys::ledger_sk(&claim.recipient_id),
        );
        item.extend([
            ("entity".to_owned(), s("Ledger")),
            ("recipientId".to_owned(), s(&claim.recipient_id)),
            ("status".to_owned(), s(LedgerStatus::Sending.as_str())),
            ("ownerRow".to_owned(), n(claim.row)),
            ("token".to_owned(), s(&claim.token)),
            ("claimedAt".to_owned(), s(run.now.to_rfc3339())),
        ]);
        self.put_new(item)
    }

    /// The settlement: an update of our claim, or a put when the recipient was never claimed.
    /// FAILED and UNCONFIRMED entries are listed in ByStatus, for the operator to page.
    fn settle_write(
        &self,
        run: LedgerRun<'_>,
        settle: &Settlement,
    ) -> Result<TransactWriteItem, StoreError> {
        let pk = keys::ledger_pk(run.campaign, run.run, &settle.recipient_id);
        let sk = keys::ledger_sk(&settle.recipient_id);
        let mut attributes = vec![
            ("status", s(settle.status.as_str())),
            ("token", s(&settle.token)),
            ("ambiguous", AttributeValue::Bool(settle.ambiguous)),
            ("settledAt", s(run.now.to_rfc3339())),
        ];
        if let Some(reason) = &settle.reason {
            attributes.push(("reason", s(reason)));
        }
        if matches!(
            settle.status,
            LedgerStatus::Failed | LedgerStatus::Unconfirmed
        ) {
            let listing = keys::ledger_status_pk(run.campaign, run.run, settle.status);
            attributes.push((keys::STATUS_PK, s(listing)));
            attributes.push((keys::STATUS_SK, s(&settle.recipient_id)));
        }
        if !settle.claimed {
            let mut item = key(pk, sk);
            item.insert("entity".to_owned(), s("Ledger"));
            item.insert("recipientId".to_owned(), s(&settle.recipient_id));
            item.insert("ownerRow".to_owned(), n(settle.row));
            for (name, value) in attributes {
                item.insert(name.to_owned(), value);
            }
            return self.put_new(item);
        }
        let assignments: Vec<String> = (0..attributes.len())
            .map(|i| format!("#a{i} = :v{i}"))
            .collect();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(format!("SET {}", assignments.join(", ")))
            .condition_expression("#held = :sending AND #ownerRow = :row")
            .expression_attribute_names("#held", "status")
            .expression_attribute_names("#ownerRow", "ownerRow")
            .expression_attribute_values(":sending", s(LedgerStatus::Sending.as_str()))
            .expression_attribute_values(":row", n(settle.row));
        for (i, (name, value)) in attributes.into_iter().enumerate() {
            update = update
                .expression_attribute_names(format!("#a{i}"), name)
                .expression_attribute_values(format!(":v{i}"), value);
        }
        Ok(TransactWriteItem::builder().update(update.build()?).build())
    }
}

fn failed_condition(reason: &CancellationReason) -> bool {
    reason.code() == Some("ConditionalCheckFailed")
}

/// A ledger item as an entry, with its recipient id.
fn ledger_entry(item: &Item) -> Result<(String, LedgerEntry), StoreError> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|value| value.as_s().ok())
            .ok_or_else(|| StoreError::Corrupt(format!("ledger item without {name}")))
    };
    let status = text("status")?;
    let status = LedgerStatus::parse(status)
        .ok_or_else(|| StoreError::Corrupt(format!("ledger status {status}")))?;
    let owner_row = item
        .get("ownerRow")
        .and_then(|value| value.as_n().ok())
        .and_then(|number| number.parse().ok())
        .ok_or_else(|| StoreError::Corrupt("ledger item without ownerRow".into()))?;
    let ambiguous = item
        .get("ambiguous")
        .and_then(|value| value.as_bool().ok())
        .copied()
        .unwrap_or(false);
    Ok((
        text("recipientId")?.clone(),
        LedgerEntry {
            status,
            owner_row,
            ambiguous,
        },
    ))
}
