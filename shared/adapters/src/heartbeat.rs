//! Heartbeats: every function notes that it ran, at most once a minute per process, in its
//! DynamoDB heartbeat record. The sweeper and `GET /health` read them to tell a stopped
//! function from an idle one. A failed beat is logged, never fails the work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::LogFormat;
use crate::store::{HeartbeatRecord, Store};
use lifecycle_domain::Timestamp;
use lifecycle_telemetry::catalogue::HEARTBEAT;
use lifecycle_telemetry::metrics::{self, Metric};

/// At most one heartbeat write per function and process in this interval.
pub const HEARTBEAT_INTERVAL_MS: i64 = 60_000;

/// The heartbeats of one process (one Lambda execution environment); cheap to clone.
#[derive(Debug, Clone)]
pub struct Heartbeats {
    instance: String,
    log_format: LogFormat,
    last: Arc<Mutex<HashMap<&'static str, Timestamp>>>,
}

impl Heartbeats {
    /// Heartbeats of a new process, with a random instance id; `log_format` decides how the
    /// `Heartbeat` metric is written.
    pub fn new(log_format: LogFormat) -> Self {
        Self {
            instance: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            log_format,
            last: Arc::default(),
        }
    }

    /// Records that `function` ran at `now`, unless this process did so within the interval:
    /// the DynamoDB record (read by the sweeper and `/health`) and the `Heartbeat` metric
    /// (its CloudWatch alarm treats missing data as breaching).
    pub async fn beat(&self, store: &Store, function: &'static str, now: Timestamp) {
        {
            let mut last = self.last.lock().expect("heartbeat lock");
            if last
                .get(function)
                .is_some_and(|at| now.millis_since(*at) < HEARTBEAT_INTERVAL_MS)
            {
                return;
            }
            last.insert(function, now);
        }
        metrics::emit(
            self.log_format,
            function,
            &[],
            &[Metric::one(&HEARTBEAT, 1.0)],
        );
        let record = HeartbeatRecord {
            function: function.to_owned(),
            instance: self.instance.clone(),
            last_seen: now,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        };
        if let Err(error) = store.record_heartbeat(&record, HEARTBEAT_INTERVAL_MS).await {
            tracing::warn!(function, error = %error, "heartbeat not recorded");
        }
    }
}
