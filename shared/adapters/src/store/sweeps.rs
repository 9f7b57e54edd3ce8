//! The sweeper's own records: a run lease so sweeps do not overlap (a sweep that dies
//! leaves a lease that simply runs out), and the recovery reports, kept 30 days.

use serde::{Deserialize, Serialize};

use super::client::{Store, key, n, s};
use super::error::condition_met;
use super::items::{self, Entity, RECORD_RETENTION_MS};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::recovery::RecoveryReport;
use lifecycle_domain::recovery_log::from_sweep::records_of_sweep;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct ReportItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    entity: Entity,
    /// TTL attribute (epoch seconds).
    #[serde(rename = "expiresAt")]
    expires_at: i64,
    #[serde(flatten)]
    pub(super) report: RecoveryReport,
}

impl Store {
    /// Takes (or, for its holder, renews) the sweep lease for `owner` until `expires_at`, if
    /// nobody else holds an unexpired one.
    pub async fn claim_sweep(
        &self,
        owner: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::SWEEPER_PK))
            .item(keys::SK, s(keys::SWEEP_LEASE_SK))
            .item("owner", s(owner))
            .item("expiresAtMillis", n(expires_at.millis()))
            .condition_expression(
                "attribute_not_exists(#pk) OR #expires <= :now OR #owner = :owner",
            )
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#expires", "expiresAtMillis")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":now", n(now.millis()))
            .expression_attribute_values(":owner", s(owner))
            .send_with(&self.resilience)
            .await;
        condition_met("PutItem", result)
    }

    /// Gives the sweep lease back, if `owner` still holds it.
    pub async fn release_sweep(&self, owner: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::SWEEPER_PK, keys::SWEEP_LEASE_SK)))
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#owner", "owner")
            .expression_attribute_values(":owner", s(owner))
            .send_with(&self.resilience)
            .await;
        condition_met("DeleteItem", result).map(|_released| ())
    }

    /// Stores `report` for 30 days, with its recovery-log entries and counts
    /// ([`records_of_sweep`]) in the same transaction, so a retried save records them once.
    pub async fn save_report(&self, report: &RecoveryReport) -> Result<(), StoreError> {
        let item = ReportItem {
            pk: keys::SWEEPER_PK.to_owned(),
            sk: keys::report_sk(report.started_at, &report.run_id),
            entity: Entity::Report,
            expires_at: report
                .started_at
                .plus_millis(RECORD_RETENTION_MS)
                .epoch_seconds(),
            report: report.clone(),
        };
        let first = self.put_new(items::to_item(&item)?)?;
        let (events, counts) = records_of_sweep(report);
        self.record_recovery_with(Some(first), &events, &counts, report.started_at)
            .await
            .map(|_stored_now_or_before| ())
    }

    /// The latest reports, newest first, at most `limit`. Expired ones are left out even
    /// before DynamoDB's TTL deletes them (which can take days).
    pub async fn recent_reports(
        &self,
        now: Timestamp,
        limit: i32,
    ) -> Result<Vec<RecoveryReport>, StoreError> {
        Ok(self.list_reports(now, limit, None).await?.reports)
    }
}
