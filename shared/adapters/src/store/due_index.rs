//! Reading the ByDue index: one range of one partition, oldest first, in pages. The
//! dispatcher reads PENDING timers from its watermark up to a horizon; the sweeper reads
//! overdue PENDING timers, expired leases, outbox records nobody cleared and recurring series
//! whose next occurrence went unhandled.

use super::client::{Store, s};
use super::items::{self, AlertItem, CampaignItem, Item, OutboxItem, TimerItem};
use super::{StoreError, keys};
use crate::aws::SendWith;
use lifecycle_domain::Timestamp;
use lifecycle_domain::{Alert, Campaign, DueTimer, StoredEvent, Timer};

/// A PENDING timer read from the due index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedTimer {
    /// The timer, as a timers-queue message carries it.
    pub timer: DueTimer,
    /// The API sent it to the queue itself when its campaign was created.
    pub queued_at_creation: bool,
}

/// PENDING timers of one shard, in due order.
#[derive(Debug, Clone, Default)]
pub struct DuePage {
    /// The timers read (the dispatcher decides which to send).
    pub timers: Vec<IndexedTimer>,
    /// Due time of the last timer read: where a truncated read stopped. Every timer due in
    /// that millisecond was read (a read never ends inside a millisecond).
    pub last_read_due: Option<Timestamp>,
    /// More timers up to the horizon may remain (the limit was reached).
    pub truncated: bool,
}

/// Items of one index range, and whether the limit cut it short.
pub(super) struct Range {
    pub(super) items: Vec<Item>,
    pub(super) truncated: bool,
}

impl Store {
    /// PENDING timers of `shard` due in `(after, until]`, in due order: at most `limit`, plus
    /// the rest of the last one's millisecond.
    pub async fn due_timers(
        &self,
        shard: u16,
        after: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<DuePage, StoreError> {
        let range = self
            .index_range(&keys::timer_due_pk(shard), Some(after), until, limit)
            .await?;
        let timers = range
            .items
            .into_iter()
            .map(|item| {
                let timer = items::from_item::<TimerItem>(item)?.timer;
                Ok(IndexedTimer {
                    timer: DueTimer::from(&timer),
                    queued_at_creation: timer.queued_at_creation,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(DuePage {
            last_read_due: timers.last().map(|t| t.timer.due_at),
            truncated: range.truncated,
            timers,
        })
    }

    /// PENDING timers of `shard` due at or before `until` (however old), at most `limit`.
    pub async fn overdue_timers(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        self.timers_until(&keys::timer_due_pk(shard), until, limit)
            .await
    }

    /// RUNNING timers of `shard` whose lease ran out at or before `now`, at most `limit`.
    pub async fn expired_leases(
        &self,
        shard: u16,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        self.timers_until(&keys::lease_due_pk(shard), now, limit)
            .await
    }

    /// Timers of ByDue partition `due_pk` sorted at or before `until`, at most `limit`.
    async fn timers_until(
        &self,
        due_pk: &str,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Timer>, StoreError> {
        let range = self.index_range(due_pk, None, until, limit).await?;
        range
            .items
            .into_iter()
            .map(|item| Ok(items::from_item::<TimerItem>(item)?.timer))
            .collect()
    }

    /// Outbox events of `shard` written at or before `until` and still not cleared.
    pub async fn stale_outbox(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let range = self
            .index_range(&keys::outbox_due_pk(shard), None, until, limit)
            .await?;
        range
            .items
            .into_iter()
            .map(|item| Ok(items::from_item::<OutboxItem>(item)?.event))
            .collect()
    }

    /// Recurring campaigns of `shard` whose next occurrence is at or before `until`, at most
    /// `limit`.
    pub async fn stalled_series(
        &self,
        shard: u16,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Campaign>, StoreError> {
        let range = self
            .index_range(&keys::series_due_pk(shard), None, until, limit)
            .await?;
        range
            .items
            .into_iter()
            .map(|item| Ok(items::from_item::<CampaignItem>(item)?.campaign))
            .collect()
    }

    /// Alerts raised at or before `until` and not yet published.
    pub async fn unpublished_alerts(
        &self,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Alert>, StoreError> {
        let range = self
            .index_range(keys::ALERT_DUE_PK, None, until, limit)
            .await?;
        range
            .items
            .into_iter()
            .map(|item| Ok(items::from_item::<AlertItem>(item)?.alert))
            .collect()
    }

    /// Entries of ByDue partition `due_pk` with sort time in `(after, until]` (from the
    /// start when `after` is `None`), following pages up to `limit` items.
    pub(super) async fn index_range(
        &self,
        due_pk: &str,
        after: Option<Timestamp>,
        until: Timestamp,
        limit: u32,
    ) -> Result<Range, StoreError> {
        let mut range = Range {
            items: Vec::new(),
            truncated: false,
        };
        let mut start_key: Option<Item> = None;
        let low = after.map_or_else(|| "0".to_owned(), keys::due_sk_after);
        let mut high = keys::due_sk_after(until);
        // Once `limit` items are read, the rest of the last item's millisecond is read too:
        // a range never ends inside a millisecond, so the next read can start after it
        // (ending inside one that holds more than `limit` timers would never progress).
        let mut finishing_millisecond = false;
        loop {
            let page_limit = if finishing_millisecond {
                1000
            } else {
                (limit as usize - range.items.len()).clamp(1, 1000)
            };
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::BY_DUE_INDEX)
                .key_condition_expression("#duePk = :pk AND #dueSk BETWEEN :lo AND :hi")
                .expression_attribute_names("#duePk", keys::DUE_PK)
                .expression_attribute_names("#dueSk", keys::DUE_SK)
                .expression_attribute_values(":pk", s(due_pk))
                .expression_attribute_values(":lo", s(&low))
                .expression_attribute_values(":hi", s(&high))
                .limit(page_limit as i32)
                .set_exclusive_start_key(start_key.take())
                .send_with(&self.resilience)
                .await
                .map_err(|e| StoreError::aws("Query", e))?;
            range.items.extend(output.items().iter().cloned());
            let Some(key) = output.last_evaluated_key() else {
                break;
            };
            if !finishing_millisecond && range.items.len() >= limit as usize {
                range.truncated = true;
                finishing_millisecond = true;
                let last_due = range
                    .items
                    .last()
                    .and_then(|item| item.get(keys::DUE_SK))
                    .and_then(|sk| sk.as_s().ok())
                    .and_then(|sk| keys::due_of_sk(sk))
                    .ok_or_else(|| StoreError::Corrupt("due index item without dueSk".into()))?;
                high = keys::due_sk_after(last_due);
            }
            start_key = Some(key.clone());
        }
        Ok(range)
    }
}
