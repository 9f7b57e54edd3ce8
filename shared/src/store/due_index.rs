//! Reading one shard of the due index: PENDING timers due after a watermark and up to a
//! horizon, oldest first.

use super::client::{Store, s};
use super::items::{self, Item, TimerItem};
use super::{StoreError, keys};
use crate::Timestamp;
use crate::domain::DueTimer;

/// Timers of one shard, in due order.
#[derive(Debug, Clone, Default)]
pub struct DuePage {
    pub timers: Vec<DueTimer>,
    /// More timers up to the horizon remain (the limit was reached).
    pub truncated: bool,
}

impl Store {
    /// PENDING timers of `shard` due in `(after, until]`, at most `limit`.
    pub async fn due_timers(
        &self,
        shard: u16,
        after: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<DuePage, StoreError> {
        let mut page = DuePage::default();
        let mut start_key: Option<Item> = None;
        loop {
            let remaining = limit as usize - page.timers.len();
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::BY_DUE_INDEX)
                .key_condition_expression("#duePk = :pk AND #dueSk BETWEEN :lo AND :hi")
                .expression_attribute_names("#duePk", keys::DUE_PK)
                .expression_attribute_names("#dueSk", keys::DUE_SK)
                .expression_attribute_values(":pk", s(keys::timer_due_pk(shard)))
                .expression_attribute_values(":lo", s(keys::due_sk_after(after)))
                .expression_attribute_values(":hi", s(keys::due_sk_after(until)))
                .limit(remaining.min(1000) as i32)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            for item in output.items().iter().cloned() {
                let timer = items::from_item::<TimerItem>(item)?.timer;
                page.timers.push(DueTimer::from(&timer));
            }
            match output.last_evaluated_key() {
                Some(key) if page.timers.len() < limit as usize => start_key = Some(key.clone()),
                Some(_) => {
                    page.truncated = true;
                    break;
                }
                None => break,
            }
        }
        Ok(page)
    }
}
