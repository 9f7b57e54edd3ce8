//! The bulk-delivery adapters against the emulator and a real local HTTP receiver: recipient
//! lists in S3 (sizes, byte ranges, missing objects), email through SES v2 (read back from
//! the emulator's record of sent mail), signed webhooks (checked by the receiver with the
//! Standard Webhooks rule) and signing secrets from SSM and Secrets Manager.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use integration_tests::TestStack;
use integration_tests::delivery::{SECRET, checked_webhook, emails_by_address, sent_email};
use lifecycle_adapters::delivery::{
    Email, EmailSender, ListError, RecipientLists, SecretError, SigningSecrets, WebhookCall,
    WebhookClient, WebhookSettings,
};
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::secret_ref::SecretRef;
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use lifecycle_domain::delivery::{ListFormat, RecipientList};
use serde_json::json;

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

fn list(bucket: &str, key: &str) -> RecipientList {
    RecipientList {
        bucket: bucket.into(),
        key: key.into(),
        format: ListFormat::JsonLines,
    }
}

#[tokio::test]
async fn lists_are_stored_sized_and_read_by_range() {
    let stack = TestStack::new().await;
    let s3 = &stack.setup.delivery.s3;
    let bucket = unique("lists");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let lists = RecipientLists::new(s3.clone(), stack.services.resilience.clone());
    let stored = list(&bucket, "inline/c1/recipients.jsonl");
    let body = b"{\"id\":\"r1\"}\n{\"id\":\"r2\"}\n".to_vec();

    lists.put(&stored, body.clone()).await.unwrap();
    lists.put(&stored, body.clone()).await.unwrap(); // a repeat is harmless

    assert_eq!(lists.size(&stored).await.unwrap(), body.len() as u64);
    assert_eq!(lists.read_range(&stored, 0, 12).await.unwrap(), &body[..12]);
    assert_eq!(
        lists.read_range(&stored, 12, 24).await.unwrap(),
        &body[12..]
    );
    // Past the end: what is left, then nothing.
    assert_eq!(
        lists.read_range(&stored, 20, 1000).await.unwrap(),
        &body[20..]
    );
    assert!(
        lists
            .read_range(&stored, 24, 1000)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(lists.read_range(&stored, 5, 5).await.unwrap().is_empty());

    let missing = list(&bucket, "nope.jsonl");
    assert_eq!(
        lists.size(&missing).await,
        Err(ListError::NotFound {
            bucket: bucket.clone(),
            key: "nope.jsonl".into()
        })
    );
    assert!(matches!(
        lists.read_range(&missing, 0, 10).await,
        Err(ListError::NotFound { .. })
    ));
    let no_bucket = list(&unique("absent"), "x.jsonl");
    let error = lists.size(&no_bucket).await.unwrap_err();
    assert!(matches!(error, ListError::NotFound { .. }), "{error:?}");
    assert!(!error.is_transient());
}

#[tokio::test]
async fn email_is_sent_through_ses_and_refusals_are_classified() {
    let stack = TestStack::new().await;
    let ses = &stack.setup.delivery.sesv2;
    let domain = format!("{}.example.com", unique("offers"));
    let from = format!("news@{domain}");
    ses.create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let sender = EmailSender::new(ses.clone());
    let to = format!("{}@example.org", unique("ann"));
    let email = Email {
        from: &from,
        to: std::slice::from_ref(&to),
        subject: "Hi Ann",
        text: Some("Hello Ann"),
        html: Some("<p>Hello Ann</p>"),
    };

    assert_eq!(sender.send(email).await, SendOutcome::Delivered);
    let sent = sent_email().await;
    let ours: Vec<_> = sent
        .iter()
        .filter(|m| m["destinations"].to_string().contains(&to))
        .collect();
    assert_eq!(ours.len(), 1, "{sent:?}");
    assert_eq!(ours[0]["source"], from.as_str());
    assert_eq!(ours[0]["subject"], "Hi Ann");

    // An unverified sender: refused for good, nothing sent.
    let stranger = format!("x@{}.example.com", unique("unverified"));
    let refused = sender
        .send(Email {
            from: &stranger,
            ..email
        })
        .await;
    assert!(
        matches!(&refused, SendOutcome::Rejected(reason) if reason.contains("MessageRejected")),
        "{refused:?}"
    );

    // Throttled: the answer says to slow down and SES applied nothing.
    let (clients, _) = stack.clients_with_faults("SESv2.SendEmail=1:throttle");
    let throttled = EmailSender::new(clients.delivery.sesv2.clone());
    let sent_to = || async { emails_by_address().await.get(&to).copied().unwrap_or(0) };
    let before = sent_to().await;
    assert_eq!(
        throttled.send(email).await,
        SendOutcome::Throttled {
            retry_after_ms: None
        }
    );
    // A lost answer: SES sent it, the outcome is unknown.
    let (clients, _) = stack.clients_with_faults("SESv2.SendEmail=1:timeout");
    let lost = EmailSender::new(clients.delivery.sesv2.clone());
    assert!(matches!(lost.send(email).await, SendOutcome::Unknown(_)));
    assert_eq!(
        sent_to().await,
        before + 1,
        "the throttled send was not applied, the lost one was"
    );
}

/// What the receiver saw: (path, webhook-id, signature valid).
type Seen = Arc<Mutex<Vec<(String, String, bool)>>>;

/// A local HTTP receiver that checks each signature with `key`; its paths answer 200, 429
/// (Retry-After: 2), 410, 500 or hang past the client's timeout.
async fn receiver(key: SigningKey) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let handle = |path: &'static str, key: SigningKey, seen: Seen| {
        move |headers: HeaderMap, body: Bytes| async move {
            let (id, valid) = checked_webhook(&key, &headers, &body);
            seen.lock().unwrap().push((path.to_owned(), id, valid));
            match path {
                "/ok" => StatusCode::OK.into_response(),
                "/busy" => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "2")]).into_response(),
                "/gone" => StatusCode::GONE.into_response(),
                "/hang" => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    StatusCode::OK.into_response()
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            }
        }
    };
    let mut app = Router::new();
    for path in ["/ok", "/busy", "/gone", "/hang", "/boom"] {
        app = app.route(path, post(handle(path, key.clone(), seen.clone())));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

#[tokio::test]
async fn webhooks_are_signed_and_their_answers_classified() {
    let stack = TestStack::new().await;
    let clients = &stack.setup.delivery;
    let parameter = format!("/{}/webhook", unique("it"));
    stack.put_secret_parameter(&parameter, SECRET).await;
    let secrets = SigningSecrets::new(
        clients.ssm.clone(),
        clients.secretsmanager.clone(),
        stack.services.resilience.clone(),
    );
    let settings = WebhookSettings {
        timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
    };
    let client = WebhookClient::new(settings, secrets);
    let (base, seen) = receiver(SigningKey::parse(SECRET).unwrap()).await;
    let secret_ref = SecretRef::Parameter(parameter);
    let body = json!({"hello": "Ann"});
    let post = |path: &str| {
        let url = format!("{base}{path}");
        let client = client.clone();
        let (secret_ref, body) = (secret_ref.clone(), body.clone());
        async move {
            let call = WebhookCall {
                url: &url,
                body: &body,
                secret_ref: &secret_ref,
                webhook_id: "msg_run1_r1",
            };
            client.post(call, Timestamp::now()).await
        }
    };

    assert_eq!(post("/ok").await, SendOutcome::Delivered);
    assert_eq!(
        post("/busy").await,
        SendOutcome::Throttled {
            retry_after_ms: Some(2000)
        }
    );
    assert_eq!(
        post("/gone").await,
        SendOutcome::Rejected("HTTP 410: the endpoint is gone".into())
    );
    assert!(matches!(post("/boom").await, SendOutcome::Transient(_)));
    let hung = post("/hang").await;
    assert!(
        matches!(&hung, SendOutcome::Unknown(reason) if reason.contains("timed out")),
        "{hung:?}"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(
        seen.iter()
            .all(|(_, id, valid)| *valid && id == "msg_run1_r1"),
        "{seen:?}"
    );

    // Nothing listens: nothing was sent, retry.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}/x", closed.local_addr().unwrap());
    drop(closed);
    let call = WebhookCall {
        url: &closed_url,
        body: &body,
        secret_ref: &secret_ref,
        webhook_id: "msg_run1_r2",
    };
    assert!(matches!(
        client.post(call, Timestamp::now()).await,
        SendOutcome::Transient(reason) if reason.starts_with("connection failed")
    ));
    // A missing secret: nothing sent, retried (the batch ends in the DLQ if it lasts).
    let missing = SecretRef::Parameter("/absent/secret".into());
    let call = WebhookCall {
        secret_ref: &missing,
        url: &format!("{base}/ok"),
        ..call
    };
    assert!(matches!(
        client.post(call, Timestamp::now()).await,
        SendOutcome::Transient(reason) if reason.contains("does not exist")
    ));
}

#[tokio::test]
async fn secrets_come_from_ssm_or_secrets_manager_and_are_cached() {
    let stack = TestStack::new().await;
    let clients = &stack.setup.delivery;
    let name = unique("hook");
    clients
        .secretsmanager
        .create_secret()
        .name(&name)
        .secret_string(SECRET)
        .send()
        .await
        .unwrap();
    let bad = unique("bad");
    clients
        .secretsmanager
        .create_secret()
        .name(&bad)
        .secret_string("not a whsec secret")
        .send()
        .await
        .unwrap();
    let (counted, _) = stack.clients_with_faults("");
    let secrets = SigningSecrets::new(
        counted.delivery.ssm.clone(),
        counted.delivery.secretsmanager.clone(),
        stack.services.resilience.clone(),
    );
    let reference = SecretRef::Secret(name);
    let key = secrets.key(&reference).await.unwrap();
    let signature = key.sign("id", 1, b"{}");
    assert!(
        SigningKey::parse(SECRET)
            .unwrap()
            .verify("id", 1, b"{}", &signature, 1)
    );
    let reads = stack.requests.count("Secrets Manager", "GetSecretValue");
    assert_eq!(reads, 1);
    secrets.key(&reference).await.unwrap();
    assert_eq!(
        stack.requests.count("Secrets Manager", "GetSecretValue"),
        reads,
        "the second use reads the cache"
    );

    let invalid = SecretRef::Secret(bad);
    assert_eq!(
        secrets.key(&invalid).await.unwrap_err(),
        SecretError::Invalid(invalid)
    );
    let absent = SecretRef::Secret(unique("absent"));
    assert_eq!(
        secrets.key(&absent).await.unwrap_err(),
        SecretError::NotFound(absent)
    );
}
