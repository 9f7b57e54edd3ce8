//! Pausing and resuming the SQS consumers: each change is recorded first (the consumer's
//! pause record, conditional on its version), then applied to the consumer's event source
//! mapping (disabled while paused). A crash between the two leaves a record whose mapping
//! disagrees; the same request again, or the sweeper's `consumers` step, brings the mapping
//! in line without a second record write. The API's routes and the sweeper share this.

use lifecycle_domain::Timestamp;
use lifecycle_domain::consumers::{ChangedBy, Consumer, ConsumerRecord, DependencyState};
use lifecycle_resilience::CircuitState;

use crate::aws::{EventSourceMappings, MappingError, MappingState};
use crate::consumer_mappings::ConsumerMappings;
use crate::store::{Store, StoreError};

/// Attempts of an operator's change that loses the race to concurrent ones.
const ATTEMPTS: usize = 3;

/// A consumer's record and its mapping's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerView {
    pub consumer: Consumer,
    /// Its pause record (version 0: never paused).
    pub record: ConsumerRecord,
    /// Its event source mapping.
    pub mapping: MappingState,
}

/// Why a consumer could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// This function has no `CONSUMER_<NAME>_MAPPING` for it.
    #[error("no event source mapping is configured for consumer {0}")]
    NotConfigured(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// Concurrent changes kept winning.
    #[error("the consumer kept changing concurrently")]
    Concurrent,
}

/// The consumers' records and mappings.
#[derive(Debug, Clone)]
pub struct ConsumerControl {
    store: Store,
    uuids: ConsumerMappings,
    mappings: EventSourceMappings,
}

impl ConsumerControl {
    /// Control over the consumers of `uuids`, recorded in `store`, switched through `mappings`.
    pub fn new(store: Store, uuids: ConsumerMappings, mappings: EventSourceMappings) -> Self {
        Self {
            store,
            uuids,
            mappings,
        }
    }

    /// The consumers this function can pause (their mappings are configured).
    pub fn configured(&self) -> Vec<Consumer> {
        Consumer::ALL
            .into_iter()
            .filter(|c| self.uuids.uuid(*c).is_some())
            .collect()
    }

    fn uuid(&self, consumer: Consumer) -> Result<&str, ConsumerError> {
        self.uuids
            .uuid(consumer)
            .ok_or(ConsumerError::NotConfigured(consumer.name()))
    }

    /// `consumer`'s record (strongly consistent; never paused when none is stored).
    pub async fn record(
        &self,
        consumer: Consumer,
        now: Timestamp,
    ) -> Result<ConsumerRecord, StoreError> {
        Ok(self
            .store
            .consumer_record(consumer.name())
            .await?
            .unwrap_or_else(|| ConsumerRecord::never_paused(consumer, now)))
    }

    /// What the shared breaker of `dependency` says at `now`: OPEN while it refuses calls
    /// (an OPEN record past its `openUntil` lets the next call probe: passing).
    pub async fn dependency_state(
        &self,
        dependency: &str,
        now: Timestamp,
    ) -> Result<DependencyState, StoreError> {
        let record = self.store.breaker_record(dependency).await?;
        Ok(match record {
            Some(record)
                if record.state == CircuitState::Open
                    && record.open_until.is_some_and(|until| until > now) =>
            {
                DependencyState::Open {
                    since: record.opened_at.unwrap_or(record.changed_at),
                }
            }
            _ => DependencyState::Passing,
        })
    }

    /// `consumer`'s record and mapping.
    pub async fn view(
        &self,
        consumer: Consumer,
        now: Timestamp,
    ) -> Result<ConsumerView, ConsumerError> {
        let uuid = self.uuid(consumer)?;
        let record = self.record(consumer, now).await?;
        let mapping = self.mappings.state(uuid).await?;
        Ok(ConsumerView {
            consumer,
            record,
            mapping,
        })
    }

    /// An operator pauses (`paused`) or resumes `consumer`: the record is written only when
    /// it changes something (a consumer the breaker paused becomes the operator's), and the
    /// mapping switched only when it is not already where the operator wants it. Answers the
    /// consumer's view and whether the record was written.
    pub async fn operator_set(
        &self,
        consumer: Consumer,
        paused: bool,
        now: Timestamp,
    ) -> Result<(ConsumerView, bool), ConsumerError> {
        let uuid = self.uuid(consumer)?;
        for _ in 0..ATTEMPTS {
            let record = self.record(consumer, now).await?;
            let (record, written) = if record.operator_change_needed(paused) {
                let next = record.changed(paused, ChangedBy::Operator, now);
                if !self.store.replace_consumer_record(&next).await? {
                    continue;
                }
                (next, true)
            } else {
                (record, false)
            };
            let mapping = self.switch(uuid, paused).await?;
            return Ok((
                ConsumerView {
                    consumer,
                    record,
                    mapping,
                },
                written,
            ));
        }
        Err(ConsumerError::Concurrent)
    }

    /// The sweeper's change of `expected` (as it read it) to `paused` by `by`: `false`, with
    /// nothing done, if the record changed since.
    pub async fn breaker_set(
        &self,
        consumer: Consumer,
        expected: &ConsumerRecord,
        paused: bool,
        by: ChangedBy,
        now: Timestamp,
    ) -> Result<bool, ConsumerError> {
        let uuid = self.uuid(consumer)?;
        let next = expected.changed(paused, by, now);
        if !self.store.replace_consumer_record(&next).await? {
            return Ok(false);
        }
        self.switch(uuid, paused).await?;
        Ok(true)
    }

    /// Brings `consumer`'s mapping in line with `record` (a recorded change whose mapping
    /// call was lost); `Some` with the new state when it had to switch it. A consumer never
    /// paused through here is left as it is.
    pub async fn align(
        &self,
        consumer: Consumer,
        record: &ConsumerRecord,
    ) -> Result<Option<MappingState>, ConsumerError> {
        let uuid = self.uuid(consumer)?;
        if record.version == 0 {
            return Ok(None);
        }
        let state = self.mappings.state(uuid).await?;
        if in_line(&state, record.paused) {
            return Ok(None);
        }
        Ok(Some(self.mappings.set_enabled(uuid, !record.paused).await?))
    }

    /// The mapping `uuid` disabled (`paused`) or enabled, switched only if it is not already.
    async fn switch(&self, uuid: &str, paused: bool) -> Result<MappingState, ConsumerError> {
        let state = self.mappings.state(uuid).await?;
        if in_line(&state, paused) {
            return Ok(state);
        }
        Ok(self.mappings.set_enabled(uuid, !paused).await?)
    }
}

/// Whether a mapping in `state` is where a consumer that is `paused` (or not) should be.
fn in_line(state: &MappingState, paused: bool) -> bool {
    if paused {
        state.stopping()
    } else {
        state.running()
    }
}
