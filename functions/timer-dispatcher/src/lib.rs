//! The timer dispatcher: reads each due-index shard from its watermark up to
//! now + `DISPATCH_LOOKAHEAD_SECONDS` and hands the timers to the timers queue, grouped by due
//! second, each message delayed to its second. Then it saves the advanced watermarks (one
//! conditional write). A shard whose send failed keeps its watermark and is read again next
//! tick; duplicates are harmless because the executor applies each timer once.

use serde::Serialize;
use shared::Timestamp;
use shared::services::Services;
use shared::store::{StoreError, Watermarks};
use shared::timer_messages::plan_messages;

/// What one tick did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchReport {
    pub timers_sent: usize,
    pub messages_sent: usize,
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

/// Runs one dispatch tick at `now`.
pub async fn dispatch(services: &Services, now: Timestamp) -> Result<DispatchReport, StoreError> {
    let config = &services.config;
    let store = &services.store;
    let watermarks = store.load_watermarks().await?;
    let until = now.plus_millis(i64::from(config.dispatch_lookahead_secs) * 1000);
    let shards = 0..store.due_shards();
    let results = futures_util::future::join_all(
        shards
            .clone()
            .map(|shard| dispatch_shard(services, shard, watermarks.of(shard), until, now)),
    )
    .await;

    let mut report = DispatchReport::default();
    let mut next = Watermarks {
        shards: watermarks.shards.clone(),
        version: watermarks.version,
    };
    for (shard, result) in shards.zip(results) {
        match result {
            Ok(outcome) => {
                report.timers_sent += outcome.timers;
                report.messages_sent += outcome.messages;
                report.truncated_shards += usize::from(outcome.truncated);
                next.shards.insert(shard, outcome.watermark);
            }
            Err(error) => {
                tracing::error!(shard, error = %error, "shard not dispatched; read again next tick");
                report.errors.push(format!("{shard}: {error}"));
            }
        }
    }
    report.watermarks_saved = store.save_watermarks(&next, now).await?;
    tracing::info!(
        timers = report.timers_sent,
        messages = report.messages_sent,
        truncated_shards = report.truncated_shards,
        until = %until,
        "dispatched {} timers in {} messages",
        report.timers_sent,
        report.messages_sent
    );
    Ok(report)
}

struct ShardOutcome {
    timers: usize,
    messages: usize,
    truncated: bool,
    watermark: Timestamp,
}

async fn dispatch_shard(
    services: &Services,
    shard: u16,
    after: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> Result<ShardOutcome, String> {
    let page = services
        .store
        .due_timers(shard, after, until, services.config.dispatch_max_per_shard)
        .await
        .map_err(|e| e.to_string())?;
    let messages = plan_messages(&page.timers, now);
    services
        .timers
        .send(&messages)
        .await
        .map_err(|e| e.to_string())?;
    // A truncated read stops just before the last timer's millisecond: timers sharing it
    // that were not read are picked up next tick (the ones read are sent twice, harmlessly).
    let watermark = match page.timers.last() {
        Some(last) if page.truncated => last.due_at.plus_millis(-1).max(after),
        _ => until.max(after),
    };
    Ok(ShardOutcome {
        timers: page.timers.len(),
        messages: messages.len(),
        truncated: page.truncated,
        watermark,
    })
}
