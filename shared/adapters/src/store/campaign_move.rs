//! The campaign update of a read-modify-write move (cancel, state correction): conditional on
//! the status and version that were read, so exactly one of concurrent movers wins.

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::client::{Store, key, n, s};
use super::{StoreError, keys};
use lifecycle_domain::Campaign;
use lifecycle_domain::schedule::status_sort_time;

impl Store {
    /// `before` → `after` (new status, version, `updated_at`), conditional on `before`'s
    /// status and version; re-keys the campaign in the ByStatus index. A move to a terminal
    /// status also takes a recurring campaign off the series watch (ByDue `SERIES#`).
    pub(super) fn move_campaign(
        &self,
        before: &Campaign,
        after: &Campaign,
    ) -> Result<TransactWriteItem, StoreError> {
        let sort_time = status_sort_time(after, after.status, after.updated_at);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign_pk(&before.id), keys::CAMPAIGN_SK)))
            .condition_expression("#status = :from AND #version = :version")
            .update_expression(if after.status.is_terminal() {
                "SET #status = :to, #statusPk = :statusPk, #statusSk = :statusSk, #version = :next, #updatedAt = :now REMOVE #duePk, #dueSk"
            } else {
                "SET #status = :to, #statusPk = :statusPk, #statusSk = :statusSk, #version = :next, #updatedAt = :now"
            })
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#statusPk", keys::STATUS_PK)
            .expression_attribute_names("#statusSk", keys::STATUS_SK)
            .expression_attribute_names("#updatedAt", "updatedAt")
            .expression_attribute_values(":from", s(before.status.as_str()))
            .expression_attribute_values(":version", n(before.version))
            .expression_attribute_values(":to", s(after.status.as_str()))
            .expression_attribute_values(":statusPk", s(keys::status_pk(after.status)))
            .expression_attribute_values(":statusSk", s(keys::status_sk(sort_time, &after.id)))
            .expression_attribute_values(":next", n(after.version))
            .expression_attribute_values(":now", s(after.updated_at.to_rfc3339()));
        let update = if after.status.is_terminal() {
            update
                .expression_attribute_names("#duePk", keys::DUE_PK)
                .expression_attribute_names("#dueSk", keys::DUE_SK)
        } else {
            update
        }
        .build()?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
