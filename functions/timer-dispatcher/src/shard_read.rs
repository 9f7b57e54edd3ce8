//! What a tick takes from one due-index shard: the timers past its watermark (new), and the
//! missed ones — PENDING timers past due by more than the catch-up threshold, whose message
//! died with an executor and whose redelivery did not fire them either, or whose direct send
//! at creation was lost. Both come from one Query that starts at the earlier of the
//! watermark and the catch-up range; with nothing due it reads an empty range, so catching
//! up costs no request at idle.

use lifecycle_adapters::store::{DuePage, StoreError};
use lifecycle_domain::{DueTimer, Timestamp};

use crate::ports::DueIndex;

/// The due times of the missed timers a tick sends again: `(from, until]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchUp {
    /// Older timers are left to the sweeper's missed-timer step.
    pub from: Timestamp,
    /// Younger ones may still be on their way.
    pub until: Timestamp,
}

impl CatchUp {
    /// The catch-up range of a tick at `now`: timers overdue by more than `after_ms`, for
    /// `span_ms`.
    pub fn at(now: Timestamp, after_ms: i64, span_ms: i64) -> Self {
        let until = now.plus_millis(-after_ms);
        Self {
            from: until.plus_millis(-span_ms),
            until,
        }
    }

    /// Whether a timer due at `due` is missed.
    pub fn contains(&self, due: Timestamp) -> bool {
        self.from < due && due <= self.until
    }
}

/// What a tick takes from one shard.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ShardRead {
    /// To send: new timers (past the watermark, not queued at creation) and missed ones.
    pub timers: Vec<DueTimer>,
    /// New timers left out because the API queued them at creation.
    pub queued_at_creation: usize,
    /// Missed timers among `timers`.
    pub caught_up: usize,
    /// Where the read stopped when the limit cut it short before the horizon (every timer of
    /// that millisecond was read).
    pub truncated_at: Option<Timestamp>,
}

impl ShardRead {
    /// Sorts the timers of `page`: missed ones are sent again; past the watermark, new ones
    /// are sent unless the API queued them; the rest were sent already and are not late yet.
    fn take(&mut self, page: DuePage, watermark: Timestamp, missed: &CatchUp) {
        for indexed in page.timers {
            let due = indexed.timer.due_at;
            if missed.contains(due) {
                self.caught_up += 1;
                self.timers.push(indexed.timer);
            } else if due > watermark {
                if indexed.queued_at_creation {
                    self.queued_at_creation += 1;
                } else {
                    self.timers.push(indexed.timer);
                }
            }
        }
    }
}

/// Reads `shard` from the earlier of its `watermark` and the catch-up range up to `until`
/// with one Query. Should the limit stop that read at or before the watermark (more missed or
/// already-sent timers than the limit), a second Query reads past the watermark, so new
/// timers are never starved by old ones (the missed timers beyond the limit are the
/// sweeper's).
pub async fn read_shard<P: DueIndex>(
    index: &P,
    shard: u16,
    watermark: Timestamp,
    missed: &CatchUp,
    until: Timestamp,
    limit: u32,
) -> Result<ShardRead, StoreError> {
    let mut read = ShardRead::default();
    let mut page = index
        .due_timers(shard, watermark.min(missed.from), until, limit)
        .await?;
    let stopped_by_watermark =
        page.truncated && page.last_read_due.is_some_and(|last| last <= watermark);
    if stopped_by_watermark {
        read.take(page, watermark, missed);
        page = index.due_timers(shard, watermark, until, limit).await?;
    }
    read.truncated_at = page.last_read_due.filter(|_| page.truncated);
    read.take(page, watermark, missed);
    Ok(read)
}
