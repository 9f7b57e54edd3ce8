//! One dispatcher tick over its ports: reads every due-index shard from its watermark up to
//! now + the lookahead (shards in parallel) and hands the timers to the timers queue,
//! grouped by due second across shards, each message delayed to its second. Then it saves
//! the advanced watermarks (one conditional write). A shard whose read failed keeps its
//! watermark; if the send fails, the shards that had timers keep theirs and are read again
//! next tick — duplicates are harmless because the executor applies each timer once. Timers
//! the API already queued when their campaign was created are left out. The same Query per
//! shard also catches up missed timers ([`crate::shard_read`]).

use lifecycle_adapters::store::StoreError;
use lifecycle_domain::timer_messages::plan_messages;
use lifecycle_domain::{Clock, Timestamp};
use serde::Serialize;

use crate::ports::{DueIndex, TimersQueue};
use crate::shard_read::{CatchUp, read_shard};

/// The dispatcher's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How far ahead of now timers are read and sent (with their delay).
    pub lookahead_ms: i64,
    /// At most this many timers per shard and tick; the rest goes next tick.
    pub max_per_shard: u32,
    /// A PENDING timer overdue by more than this is missed and sent again...
    pub catch_up_after_ms: i64,
    /// ... for this long (then it is the sweeper's).
    pub catch_up_span_ms: i64,
}

/// The dispatcher over its ports: `P` is the due index and the timers queue.
pub struct Dispatcher<'a, P> {
    /// The due index and the timers queue.
    pub ports: &'a P,
    /// The time the dispatcher goes by.
    pub clock: &'a dyn Clock,
    /// Its settings.
    pub settings: Settings,
}

/// What one tick did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchReport {
    pub timers_sent: usize,
    pub messages_sent: usize,
    /// Of the timers sent, missed ones sent again.
    pub timers_caught_up: usize,
    /// Due timers left out because the API sent them when their campaign was created.
    pub queued_at_creation: usize,
    /// Shards that had more than `DISPATCH_MAX_PER_SHARD` due; the rest goes next tick.
    pub truncated_shards: usize,
    /// Whether this tick's watermarks were saved (false if a concurrent tick won).
    pub watermarks_saved: bool,
    /// Shards that failed, with the error.
    pub errors: Vec<String>,
}

impl DispatchReport {
    /// The report, or an error naming the failed shards (so the invocation counts as failed
    /// and the Errors alarm sees it).
    pub fn into_result(self) -> Result<Self, String> {
        if self.errors.is_empty() {
            Ok(self)
        } else {
            Err(format!(
                "dispatch failed for shards: {}",
                self.errors.join("; ")
            ))
        }
    }
}

impl<P: DueIndex + TimersQueue> Dispatcher<'_, P> {
    /// Runs one tick at `now`.
    pub async fn tick(&self, now: Timestamp) -> Result<DispatchReport, StoreError> {
        let ports = self.ports;
        let watermarks = ports.load_watermarks().await?;
        let until = now.plus_millis(self.settings.lookahead_ms);
        let missed = CatchUp::at(
            now,
            self.settings.catch_up_after_ms,
            self.settings.catch_up_span_ms,
        );
        let shards = 0..ports.due_shards();
        let reads = futures_util::future::join_all(shards.clone().map(|shard| {
            read_shard(
                ports,
                shard,
                watermarks.of(shard),
                &missed,
                until,
                self.settings.max_per_shard,
            )
        }))
        .await;

        let mut report = DispatchReport::default();
        let mut next = watermarks.clone();
        let mut due = Vec::new();
        let mut shards_with_timers = Vec::new();
        for (shard, read) in shards.zip(reads) {
            let read = match read {
                Ok(read) => read,
                Err(error) => {
                    tracing::error!(shard, error = %error, "shard not read; read again next tick");
                    report.errors.push(format!("shard {shard}: {error}"));
                    continue;
                }
            };
            report.truncated_shards += usize::from(read.truncated_at.is_some());
            report.queued_at_creation += read.queued_at_creation;
            report.timers_caught_up += read.caught_up;
            // A truncated read ends after a whole millisecond (the store never ends one
            // inside it): the next tick starts right after it.
            let watermark = read.truncated_at.unwrap_or(until);
            if !read.timers.is_empty() {
                shards_with_timers.push((shard, watermark));
            } else {
                next.shards
                    .insert(shard, watermark.max(watermarks.of(shard)));
            }
            due.extend(read.timers);
        }

        // Timers of every shard due in the same second share a message. Delays count from the
        // moment each request is sent (the queue takes them then), not from the tick's start:
        // reading the shards and sending the requests before it take time.
        let messages = plan_messages(&due);
        match ports.send(&messages).await {
            Ok(()) => {
                report.timers_sent = due.len();
                report.messages_sent = messages.len();
                for (shard, watermark) in shards_with_timers {
                    next.shards
                        .insert(shard, watermark.max(watermarks.of(shard)));
                }
            }
            Err(error) => {
                tracing::error!(error = %error, "timers not handed to the queue; read again next tick");
                report.errors.push(format!("send: {error}"));
            }
        }
        if report.timers_sent > 0 {
            lifecycle_adapters::crash::point("dispatcher.after_send");
        }
        report.watermarks_saved = ports.save_watermarks(&next, now).await?;
        tracing::info!(
            timers = report.timers_sent,
            messages = report.messages_sent,
            caught_up = report.timers_caught_up,
            truncated_shards = report.truncated_shards,
            queued_at_creation = report.queued_at_creation,
            until = %until,
            "dispatched {} timers in {} messages",
            report.timers_sent,
            report.messages_sent
        );
        Ok(report)
    }
}
