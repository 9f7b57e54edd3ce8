//! What operators read about runs: a campaign's runs (newest first, one Query of its
//! partition) and a run's recipients in one outcome (FAILED or UNCONFIRMED), paged through
//! the ByStatus index where the ledger lists them.

use lifecycle_domain::delivery::{LedgerStatus, RunId, RunRecord};
use lifecycle_domain::{CampaignId, Timestamp};

use super::client::{Store, s};
use super::items::{self, Item, RunItem};
use super::{PageToken, StoreError, keys};
use crate::aws::SendWith;

/// One page of a campaign's runs.
#[derive(Debug, Clone)]
pub struct RunPage {
    /// Newest first.
    pub runs: Vec<RunRecord>,
    /// Present when more runs follow.
    pub next: Option<PageToken>,
}

/// A recipient's outcome, as its ledger entry records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientOutcome {
    /// The recipient's id in the list.
    pub recipient_id: String,
    /// Its outcome.
    pub status: LedgerStatus,
    /// Why it failed (the provider's answer), if it did.
    pub reason: Option<String>,
    /// Whether its delivery was ambiguous once.
    pub ambiguous: bool,
    /// When it was settled.
    pub settled_at: Option<Timestamp>,
}

/// One page of a run's recipients in one outcome.
#[derive(Debug, Clone)]
pub struct RecipientPage {
    /// By recipient id.
    pub recipients: Vec<RecipientOutcome>,
    /// Present when more recipients follow.
    pub next: Option<PageToken>,
}

impl Store {
    /// Up to `limit` runs of `campaign`, newest first, from `page`.
    pub async fn list_runs(
        &self,
        campaign: &CampaignId,
        limit: i32,
        page: Option<&PageToken>,
    ) -> Result<RunPage, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :runs)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(keys::campaign_pk(campaign)))
            .expression_attribute_values(":runs", s(keys::RUN_SK_PREFIX))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(limit)
            .set_exclusive_start_key(start_key(page)?)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        let runs = output
            .items()
            .iter()
            .cloned()
            .map(|item| items::from_item::<RunItem>(item).map(|i| i.run))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RunPage {
            runs,
            next: output.last_evaluated_key().and_then(PageToken::from_key),
        })
    }

    /// Up to `limit` recipients of `run` settled `status` (FAILED or UNCONFIRMED: the
    /// outcomes the ledger lists), by recipient id, from `page`.
    pub async fn list_recipients(
        &self,
        campaign: &CampaignId,
        run: &RunId,
        status: LedgerStatus,
        limit: i32,
        page: Option<&PageToken>,
    ) -> Result<RecipientPage, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::BY_STATUS_INDEX)
            .key_condition_expression("#spk = :spk")
            .expression_attribute_names("#spk", keys::STATUS_PK)
            .expression_attribute_values(":spk", s(keys::ledger_status_pk(campaign, run, status)))
            .limit(limit)
            .set_exclusive_start_key(start_key(page)?)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        let recipients = output
            .items()
            .iter()
            .map(recipient_outcome)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RecipientPage {
            recipients,
            next: output.last_evaluated_key().and_then(PageToken::from_key),
        })
    }
}

fn start_key(page: Option<&PageToken>) -> Result<Option<Item>, StoreError> {
    page.map(PageToken::to_key)
        .transpose()
        .map_err(|_| StoreError::Corrupt("page token".into()))
}

/// A listed ledger item as an outcome.
fn recipient_outcome(item: &Item) -> Result<RecipientOutcome, StoreError> {
    let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok());
    let status = text("status")
        .and_then(|status| LedgerStatus::parse(status))
        .ok_or_else(|| StoreError::Corrupt("listed ledger item without a status".into()))?;
    Ok(RecipientOutcome {
        recipient_id: text("recipientId")
            .cloned()
            .ok_or_else(|| StoreError::Corrupt("ledger item without recipientId".into()))?,
        status,
        reason: text("reason").cloned(),
        ambiguous: item
            .get("ambiguous")
            .and_then(|value| value.as_bool().ok())
            .copied()
            .unwrap_or(false),
        settled_at: text("settledAt").and_then(|at| Timestamp::parse_rfc3339(at).ok()),
    })
}
