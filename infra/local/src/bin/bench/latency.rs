//! How long the functions' requests took, by operation: the wait a timer spends in the
//! services it calls. A [`RequestLatency`] observes the HTTP client of the SDK configuration a
//! group of functions gets and times each request from sending to the last byte of its answer
//! (on the emulator this includes the wait behind other requests for the service's lock).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::observed_client::{self, Exchange, Observer};
use crate::results::LagStats;

/// Times the requests of the clients built from [`RequestLatency::sdk_config`]; clones share
/// what they timed.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestLatency {
    /// Milliseconds by `Service.Operation` (the `x-amz-target` header).
    timed: Arc<Mutex<BTreeMap<String, Vec<i64>>>>,
}

impl RequestLatency {
    /// A recorder that timed nothing yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// `base` with an HTTP client whose requests this recorder times.
    pub(crate) fn sdk_config(&self, base: &aws_config::SdkConfig) -> aws_config::SdkConfig {
        observed_client::sdk_config(base, self.clone())
    }

    /// The percentiles of each operation's request times, in milliseconds.
    pub(crate) fn stats(&self) -> BTreeMap<String, LagStats> {
        let timed = self.timed.lock().expect("latency lock");
        timed
            .iter()
            .map(|(operation, ms)| (operation.clone(), LagStats::of(ms.clone())))
            .collect()
    }
}

impl Observer for RequestLatency {
    fn observes(&self, _target: &str) -> bool {
        true
    }

    fn observe(&self, exchange: &Exchange<'_>) {
        let ms = exchange.elapsed.as_millis() as i64;
        let mut timed = self.timed.lock().expect("latency lock");
        timed
            .entry(operation_name(exchange.target))
            .or_default()
            .push(ms);
    }
}

/// `DynamoDB.TransactWriteItems` of `DynamoDB_20120810.TransactWriteItems`, `SQS.SendMessageBatch`
/// of `AmazonSQS.SendMessageBatch`: the names the request counts use.
fn operation_name(target: &str) -> String {
    let (service, operation) = target.split_once('.').unwrap_or(("", target));
    let service = match service {
        s if s.starts_with("DynamoDB") => "DynamoDB",
        "AmazonSQS" => "SQS",
        "AWSEvents" => "EventBridge",
        other => other,
    };
    format!("{service}.{operation}")
}
