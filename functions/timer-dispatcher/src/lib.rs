//! The timer dispatcher: every minute, hands the timers due within
//! `DISPATCH_LOOKAHEAD_SECONDS` to the timers queue. The tick's logic ([`dispatch`]) runs
//! against the dispatcher's ports ([`ports`]), implemented by [`Services`] on AWS and in
//! memory in the unit tests.

pub mod dispatch;
pub mod ports;
pub mod shard_read;
#[cfg(test)]
mod tests;

use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::StoreError;
use lifecycle_domain::{SystemClock, Timestamp};

pub use crate::dispatch::{DispatchReport, Dispatcher, Settings};

/// The dispatcher's handler, called alike by its Lambda `main`, the local runtime and
/// `make invoke`: one tick now (the schedule's event carries nothing it needs). A tick
/// that failed, whole or for some shards, is an error, so the Errors alarm sees it.
pub async fn handle(services: &Services) -> Result<DispatchReport, String> {
    dispatch(services, Timestamp::now())
        .await
        .map_err(|error| format!("dispatch failed: {error}"))?
        .into_result()
}

/// Runs one dispatch tick at `now`: the invocation's wiring around [`Dispatcher::tick`]
/// (heartbeat and failure patterns first, pattern alerts last).
pub async fn dispatch(services: &Services, now: Timestamp) -> Result<DispatchReport, StoreError> {
    services.begin_invocation("timer-dispatcher", now).await;
    let dispatcher = Dispatcher {
        ports: services,
        clock: &SystemClock,
        settings: Settings {
            lookahead_ms: i64::from(services.config.dispatch_lookahead_secs) * 1000,
            max_per_shard: services.config.dispatch_max_per_shard,
            catch_up_after_ms: i64::from(services.config.dispatch_catch_up_after_secs) * 1000,
            catch_up_span_ms: i64::from(services.config.dispatch_catch_up_span_secs) * 1000,
        },
    };
    let result = dispatcher.tick(now).await;
    services.end_invocation().await;
    result
}
