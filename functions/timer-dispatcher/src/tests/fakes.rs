//! In-memory ports for the dispatcher's unit tests: a due index with shards and versioned
//! watermarks (conditional save, as the real one), and a timers queue that records what it
//! sends; each able to fail on demand.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use lifecycle_adapters::store::{DuePage, IndexedTimer, StoreError, Watermarks};
use lifecycle_domain::timer_messages::OutgoingMessage;
use lifecycle_domain::{DueTimer, Timestamp};
use lifecycle_resilience::AwsError;

use crate::ports::{DueIndex, TimersQueue};

/// Everything the fakes hold and record.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) shards: BTreeMap<u16, Vec<IndexedTimer>>,
    /// Every due-index read: (shard, after).
    pub(crate) reads: Vec<(u16, Timestamp)>,
    pub(crate) watermarks: Watermarks,
    /// The next load returns these instead (a tick that read before another saved).
    pub(crate) stale_load: Option<Watermarks>,
    /// Reads of these shards fail.
    pub(crate) failing_shards: BTreeSet<u16>,
    /// Sends fail.
    pub(crate) failing_send: bool,
    /// Saves fail (the request, not the condition).
    pub(crate) failing_save: bool,
    /// Every message sent.
    pub(crate) sent: Vec<OutgoingMessage>,
}

/// The dispatcher's ports in memory, with `shard_count` shards.
#[derive(Debug)]
pub(crate) struct FakePorts {
    pub(crate) shard_count: u16,
    pub(crate) world: Mutex<World>,
}

impl FakePorts {
    pub(crate) fn new(shard_count: u16) -> Self {
        Self {
            shard_count,
            world: Mutex::default(),
        }
    }

    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().expect("fake lock")
    }

    /// Puts `timer` PENDING into `shard`.
    pub(crate) fn index(&self, shard: u16, timer: DueTimer, queued_at_creation: bool) {
        self.world()
            .shards
            .entry(shard)
            .or_default()
            .push(IndexedTimer {
                timer,
                queued_at_creation,
            });
    }

    /// Every timer id sent so far, in order.
    pub(crate) fn sent_ids(&self) -> Vec<String> {
        self.world()
            .sent
            .iter()
            .flat_map(|m| m.message.timers.iter().map(|t| t.timer_id.to_string()))
            .collect()
    }
}

fn failure(operation: &'static str) -> AwsError {
    AwsError {
        operation,
        code: "InternalServerError".to_owned(),
        message: "injected by the test".to_owned(),
        status: Some(500),
    }
}

impl DueIndex for FakePorts {
    fn due_shards(&self) -> u16 {
        self.shard_count
    }

    async fn load_watermarks(&self) -> Result<Watermarks, StoreError> {
        let mut world = self.world();
        Ok(world
            .stale_load
            .take()
            .unwrap_or_else(|| world.watermarks.clone()))
    }

    async fn due_timers(
        &self,
        shard: u16,
        after: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<DuePage, StoreError> {
        let mut world = self.world();
        world.reads.push((shard, after));
        if world.failing_shards.contains(&shard) {
            return Err(StoreError::Aws(failure("Query")));
        }
        let mut range: Vec<&IndexedTimer> = world
            .shards
            .get(&shard)
            .into_iter()
            .flatten()
            .filter(|t| t.timer.due_at > after && t.timer.due_at <= until)
            .collect();
        range.sort_by_key(|t| (t.timer.due_at, t.timer.timer_id.clone()));
        // As the real index: reaching the limit counts as truncated (DynamoDB hands back a
        // LastEvaluatedKey then), and a read never ends inside a millisecond.
        let truncated = range.len() >= limit as usize;
        if truncated {
            let last_due = range[limit as usize - 1].timer.due_at;
            range.retain(|t| t.timer.due_at <= last_due);
        }
        Ok(DuePage {
            last_read_due: range.last().map(|t| t.timer.due_at),
            truncated,
            timers: range.into_iter().cloned().collect(),
        })
    }

    async fn save_watermarks(&self, next: &Watermarks, now: Timestamp) -> Result<bool, StoreError> {
        let mut world = self.world();
        if world.failing_save {
            return Err(StoreError::Aws(failure("PutItem")));
        }
        if world.watermarks.version != next.version {
            return Ok(false);
        }
        world.watermarks = Watermarks {
            shards: next.shards.clone(),
            version: next.version + 1,
            saved_at: Some(now),
        };
        Ok(true)
    }
}

impl TimersQueue for FakePorts {
    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), AwsError> {
        let mut world = self.world();
        if world.failing_send {
            return Err(failure("SendMessageBatch"));
        }
        world.sent.extend(messages.iter().cloned());
        Ok(())
    }
}
