//! The sweeper's steps, one per file, each filling its [`StepReport`](lifecycle_domain::recovery::StepReport).

pub mod consumers;
pub mod missed;
pub mod orphans;
pub mod outbox;
pub mod runs;
pub mod series;
pub mod states;
pub mod stuck;

use futures_util::future::join_all;
use lifecycle_adapters::store::StoreError;

use crate::Sweep;
use crate::ports::SweepPorts;

pub use lifecycle_domain::recovery::RECOVERED_PREFIX;

/// Runs `read` for every due-index shard in parallel; returns the items of the shards that
/// answered and the errors of those that did not.
pub async fn read_shards<P: SweepPorts, T, F, Fut>(
    sweep: &Sweep<'_, P>,
    read: F,
) -> (Vec<T>, Vec<String>)
where
    F: Fn(u16) -> Fut,
    Fut: Future<Output = Result<Vec<T>, StoreError>>,
{
    let shards = 0..sweep.ports.due_shards();
    let results = join_all(shards.clone().map(read)).await;
    let mut items = Vec::new();
    let mut errors = Vec::new();
    for (shard, result) in shards.zip(results) {
        match result {
            Ok(found) => items.extend(found),
            Err(error) => errors.push(format!("shard {shard}: {error}")),
        }
    }
    (items, errors)
}
