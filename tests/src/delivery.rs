//! Helpers of the bulk-delivery tests: the emulator's record of sent email, the Standard
//! Webhooks check a receiver makes, storing lists, senders and signing secrets on the
//! emulator, and driving a run through its queues by hand (executor, planner, sender).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use lifecycle_domain::delivery::{ListFormat, RecipientList};
use local_stack::delivery_record;
pub use local_stack::delivery_record::checked_webhook;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};

use crate::TestStack;

/// A `whsec_` signing secret of 32 bytes.
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The email the emulator recorded as sent (see [`delivery_record::sent_email`]).
pub async fn sent_email() -> Vec<serde_json::Value> {
    delivery_record::sent_email()
        .await
        .expect("the emulator's record of sent email")
}

/// How many recorded emails went to each address.
pub async fn emails_by_address() -> std::collections::HashMap<String, usize> {
    delivery_record::emails_by_address()
        .await
        .expect("the emulator's record of sent email")
}

impl TestStack {
    /// Stores `body` as the JSON Lines list `key` of the stack's lists bucket.
    pub async fn upload_list(&self, key: &str, body: &str) -> RecipientList {
        let bucket = self
            .stack
            .reference("ListsBucket")
            .expect("ListsBucket provisioned")
            .to_owned();
        self.setup
            .delivery
            .s3
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
        RecipientList {
            bucket,
            key: key.into(),
            format: ListFormat::JsonLines,
        }
    }

    /// Stores `value` as the SSM `SecureString` parameter `name`.
    pub async fn put_secret_parameter(&self, name: &str, value: &str) {
        self.setup
            .delivery
            .ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }

    /// Verifies `from` as an SES sender identity on the emulator.
    pub async fn verify_sender(&self, from: &str) {
        self.setup
            .delivery
            .sesv2
            .create_email_identity()
            .email_identity(from)
            .send()
            .await
            .unwrap();
    }

    /// Every message waiting in the queue `logical_id`, received and deleted.
    pub async fn drain(&self, logical_id: &str) -> Vec<String> {
        let url = self.queue_url(logical_id);
        let mut bodies = Vec::new();
        loop {
            let received = self
                .setup
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return bodies;
            }
            for message in messages {
                bodies.push(message.body.clone().unwrap_or_default());
                self.setup
                    .sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle.unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Fires what waits on the timers queue with the executor (as `TimerExecutorFunction`),
    /// then plans what that queued on the planning queue (as `DeliveryPlannerFunction`);
    /// returns the batches it queued for the sender (drained from the deliveries queue).
    pub async fn start_and_plan(&self) -> Vec<String> {
        let executor = self.function_services("TimerExecutorFunction");
        for body in self.drain("TimersQueue").await {
            let response = timer_executor::handle_batch(&executor, one_message(&body)).await;
            assert!(response.batch_item_failures.is_empty(), "{body}");
        }
        let planner = self.delivery_planner();
        for body in self.drain("PlanningQueue").await {
            let response = delivery_planner::handle_until(&planner, one_message(&body), None).await;
            assert!(response.batch_item_failures.is_empty(), "{body}");
        }
        self.drain("DeliveriesQueue").await
    }
}

/// What a [`webhook_receiver`] saw: (path, webhook-id, signature valid), in order.
pub type SeenWebhooks = Arc<Mutex<Vec<(String, String, bool)>>>;

/// A real local HTTP receiver: `/ok` answers 200 and any other path 410 (gone); it checks
/// each request's signature with `key` and keeps what it saw. Returns its base URL.
pub async fn webhook_receiver(key: SigningKey) -> (String, SeenWebhooks) {
    let seen: SeenWebhooks = Arc::default();
    let app = Router::new().route(
        "/{path}",
        post({
            let seen = seen.clone();
            move |Path(path): Path<String>, headers: HeaderMap, body: Bytes| async move {
                let (id, valid) = checked_webhook(&key, &headers, &body);
                seen.lock().unwrap().push((path.clone(), id, valid));
                if path == "ok" {
                    StatusCode::OK
                } else {
                    StatusCode::GONE
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

/// An SQS event of one message with `body`.
pub fn one_message(body: &str) -> SqsEvent {
    let mut record = SqsMessage::default();
    record.message_id = Some(uuid::Uuid::new_v4().to_string());
    record.body = Some(body.into());
    record
        .attributes
        .insert("ApproximateReceiveCount".into(), "1".into());
    let mut event = SqsEvent::default();
    event.records = vec![record];
    event
}
