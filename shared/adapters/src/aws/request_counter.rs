//! Counts the AWS requests a client sends, per service and operation — the basis of the
//! "requests per fired timer" figures in `docs/benchmarks.md`.
//!
//! It is an SDK interceptor, so every attempt (retries included) is counted exactly as AWS
//! bills it, whatever code path sent it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Shared request counts keyed by `Service.Operation` (e.g. `DynamoDB.Query`). Clones share
/// the counts.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestCounter {
    /// A counter starting at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts.lock().expect("counter lock").clone()
    }

    /// Sets every count back to zero.
    pub fn reset(&self) {
        self.counts.lock().expect("counter lock").clear();
    }

    /// Requests of one operation, e.g. `("DynamoDB", "Scan")`.
    pub fn count(&self, service: &str, operation: &str) -> u64 {
        self.counts
            .lock()
            .expect("counter lock")
            .get(&format!("{service}.{operation}"))
            .copied()
            .unwrap_or(0)
    }

    /// Counts one request sent without an SDK client (CloudWatch's `GetMetricData`).
    #[cfg(feature = "queue-ages")]
    pub(crate) fn add(&self, service: &str, operation: &str) {
        self.record(format!("{service}.{operation}"));
    }

    fn record(&self, key: String) {
        *self
            .counts
            .lock()
            .expect("counter lock")
            .entry(key)
            .or_insert(0) += 1;
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = match cfg.load::<Metadata>() {
            Some(metadata) => format!("{}.{}", metadata.service(), metadata.name()),
            None => "unknown.unknown".to_owned(),
        };
        self.record(key);
        Ok(())
    }
}
