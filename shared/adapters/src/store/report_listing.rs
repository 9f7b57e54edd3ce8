//! The stored sweep reports, newest first, a page at a time (`GET /recovery/sweeps`): one
//! Query of the `SWEEPER` partition's `REPORT#` items, whose sort keys start with the sweep's
//! start time.

use super::client::{Store, n, s};
use super::items::{self, Item};
use super::sweeps::ReportItem;
use super::{PageToken, StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery::RecoveryReport;

/// One page of sweep reports.
#[derive(Debug, Clone)]
pub struct ReportPage {
    /// Newest first.
    pub reports: Vec<RecoveryReport>,
    /// Where the next page starts, when more may follow.
    pub next: Option<PageToken>,
}

impl Store {
    /// Up to `limit` reports from `page` on (the newest without one), newest first. Expired
    /// ones are left out even before DynamoDB's TTL deletes them, so a page may be short.
    pub async fn list_reports(
        &self,
        now: Timestamp,
        limit: i32,
        page: Option<&PageToken>,
    ) -> Result<ReportPage, StoreError> {
        let start: Option<Item> = page
            .map(PageToken::to_key)
            .transpose()
            .map_err(|_| StoreError::Corrupt("page token".into()))?;
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .filter_expression("#expiresAt > :now")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_names("#expiresAt", "expiresAt")
            .expression_attribute_values(":pk", s(keys::SWEEPER_PK))
            .expression_attribute_values(":prefix", s(keys::REPORT_SK_PREFIX))
            .expression_attribute_values(":now", n(now.epoch_seconds()))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send_with(&self.resilience)
            .await
            .map_err(|e| StoreError::aws("Query", e))?;
        let reports = output
            .items()
            .iter()
            .cloned()
            .map(|item| Ok(items::from_item::<ReportItem>(item)?.report))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(ReportPage {
            reports,
            next: output.last_evaluated_key().and_then(PageToken::from_key),
        })
    }
}
