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
    /// The timers to send: those read, less the ones the API queued at creation.
    pub timers: Vec<DueTimer>,
    /// Timers read but left out because the API queued them at creation.
    pub queued_at_creation: usize,
    /// Due time of the last timer read (sent or not): where a truncated read stopped.
    pub last_read_due: Option<Timestamp>,
    /// More timers up to the horizon remain (the limit was reached).
    pub truncated: bool,
}

impl Store {
    /// PENDING timers of `shard` due in `(after, until]`, at most `limit` read; those the
    /// API queued at creation are counted, not returned.
    pub async fn due_timers(
        &self,
        shard: u16,
        after: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<DuePage, StoreError> {
        let mut page = DuePage::default();
        let mut start_key: Option<Item> = None;
        let mut read = 0;
        loop {
            let remaining = limit as usize - read;
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
                read += 1;
                page.last_read_due = Some(timer.due_at);
                if timer.queued_at_creation {
                    page.queued_at_creation += 1;
                } else {
                    page.timers.push(DueTimer::from(&timer));
                }
            }
            match output.last_evaluated_key() {
                Some(key) if read < limit as usize => start_key = Some(key.clone()),
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
