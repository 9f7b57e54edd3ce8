//! Helpers of the alert fan-out tests: the fan-out as `AlertFanoutFunction` runs it, and
//! real local HTTP receivers standing in for Slack and for an operator's webhook.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use alert_fanout::services::FanoutServices;
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use lifecycle_adapters::alerting::FanoutSettings;
use lifecycle_adapters::aws::AwsClients;
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use local_stack::delivery_record::checked_webhook;

use crate::TestStack;

/// The fan-out's logical id in template.yaml.
pub const FANOUT: &str = "AlertFanoutFunction";

/// One request a receiver got: its JSON body, its `webhook-id` and whether its signature
/// verified (always `false` for Slack, which is not signed).
#[derive(Debug, Clone)]
pub struct Received {
    pub body: serde_json::Value,
    pub webhook_id: String,
    pub signed: bool,
}

/// What a receiver got, and the statuses it answers with next (200 once they run out).
#[derive(Debug, Default)]
pub struct Receiver {
    pub received: Vec<Received>,
    pub answers: Vec<u16>,
}

/// A shared [`Receiver`].
pub type SharedReceiver = Arc<Mutex<Receiver>>;

/// A real local HTTP receiver on `127.0.0.1`, checking signatures with `key` when given.
/// Returns its URL.
pub async fn receiver(key: Option<SigningKey>) -> (String, SharedReceiver) {
    let shared: SharedReceiver = Arc::default();
    let app = Router::new().route(
        "/hook",
        post({
            let shared = shared.clone();
            move |headers: HeaderMap, body: Bytes| async move {
                let (webhook_id, signed) = match &key {
                    Some(key) => checked_webhook(key, &headers, &body),
                    None => (String::new(), false),
                };
                let mut receiver = shared.lock().unwrap();
                receiver.received.push(Received {
                    body: serde_json::from_slice(&body).unwrap_or_default(),
                    webhook_id,
                    signed,
                });
                let status = if receiver.answers.is_empty() {
                    200
                } else {
                    receiver.answers.remove(0)
                };
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, shared)
}

impl TestStack {
    /// The alert fan-out of this stack, as `AlertFanoutFunction` (its template environment
    /// with `overrides`, clients recorded as its calls). Each call is a fresh instance.
    pub fn alert_fanout(&self, overrides: &[(&str, &str)]) -> FanoutServices {
        let mut environment: BTreeMap<String, String> = self.spec(FANOUT).environment.clone();
        environment.extend(
            overrides
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        let settings = FanoutSettings::from_lookup(|name| environment.get(name).cloned())
            .expect("valid fan-out settings");
        let clients = AwsClients::instrumented(
            &self.sdk_config,
            &self.requests,
            None,
            Some(&self.calls.recorder(FANOUT)),
        );
        FanoutServices::new(self.function_services(FANOUT), settings, &clients)
    }
}
