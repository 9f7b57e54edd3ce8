//! What the dispatcher needs from the outside world, as small traits it owns: the due index
//! with its watermarks, and the timers queue. [`Services`] implements them over DynamoDB and
//! SQS; the unit tests implement them in memory.

use std::future::Future;

use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{DuePage, StoreError, Watermarks};
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer_messages::OutgoingMessage;
use lifecycle_resilience::AwsError;

/// The due index and the dispatcher's watermarks.
pub trait DueIndex: Sync {
    /// How many shards the due index has.
    fn due_shards(&self) -> u16;

    /// Reads the watermarks (strongly consistent).
    fn load_watermarks(&self) -> impl Future<Output = Result<Watermarks, StoreError>> + Send;

    /// PENDING timers of `shard` due after `after` up to `until`, at most `limit`.
    fn due_timers(
        &self,
        shard: u16,
        after: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> impl Future<Output = Result<DuePage, StoreError>> + Send;

    /// Saves `next` if the stored watermarks are still at `next.version`; `false` if another
    /// tick saved first.
    fn save_watermarks(
        &self,
        next: &Watermarks,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The timers queue.
pub trait TimersQueue: Sync {
    /// Sends every message (each with its delay).
    fn send(
        &self,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Result<(), AwsError>> + Send;
}

impl DueIndex for Services {
    fn due_shards(&self) -> u16 {
        self.store.due_shards()
    }

    async fn load_watermarks(&self) -> Result<Watermarks, StoreError> {
        self.store.load_watermarks().await
    }

    async fn due_timers(
        &self,
        shard: u16,
        after: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<DuePage, StoreError> {
        self.store.due_timers(shard, after, until, limit).await
    }

    async fn save_watermarks(&self, next: &Watermarks, now: Timestamp) -> Result<bool, StoreError> {
        self.store.save_watermarks(next, now).await
    }
}

impl TimersQueue for Services {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), AwsError> {
        self.timers.send(messages).await
    }
}
