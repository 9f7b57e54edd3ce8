//! The dead-letter queue routes through the API router against the emulator: the listing
//! shows each DLQ's depth, a peek shows the messages with their error attributes and leaves
//! them all in place (each receive count one higher), a dry run moves nothing, and a redrive
//! by ids, by error code and by limit moves each selected message exactly once into the
//! source queue and leaves the rest; unknown queues and bad input are refused. The listing's
//! oldest-message age is CloudWatch's latest datapoint of the queue, one request per listing. The API's
//! calls pass its IAM policy (checked when the stack is dropped).

use std::collections::{BTreeMap, BTreeSet};

use aws_credential_types::Credentials;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use axum::http::{Method, StatusCode};
use integration_tests::TestStack;
use lifecycle_domain::Timestamp;
use local_stack::aws_env;
use serde_json::{Value, json};

/// A message put into the DLQ: its body and, when the service dead-lettered it, its code.
struct Letter {
    body: String,
    error_code: Option<&'static str>,
}

fn string(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .expect("attribute")
}

/// Puts `letters` into `url`: the ones with a code carry the service's error attributes, the
/// others none (as SQS moves them after maxReceiveCount).
async fn put(stack: &TestStack, url: &str, letters: &[Letter]) {
    for letter in letters {
        let mut send = stack
            .setup
            .sqs
            .send_message()
            .queue_url(url)
            .message_body(&letter.body);
        if let Some(code) = letter.error_code {
            send = send
                .message_attributes("errorCode", string(code))
                .message_attributes("errorCategory", string("Validation"))
                .message_attributes("errorMessage", string("the body is not a timer message"))
                .message_attributes("failedAt", string("2026-12-04T02:00:00Z"));
        }
        send.send().await.expect("message put");
    }
}

/// Puts an `ApproximateAgeOfOldestMessage` datapoint of `queue` into the emulator's
/// CloudWatch, as SQS publishes it (CloudWatch's JSON protocol, SigV4-signed for `monitoring`:
/// the Rust SDK speaks a protocol the emulator lacks).
async fn put_age_datapoint(queue: &str, seconds: f64, at: Timestamp) {
    let body = json!({
        "Namespace": "AWS/SQS",
        "MetricData": [{
            "MetricName": "ApproximateAgeOfOldestMessage",
            "Dimensions": [{ "Name": "QueueName", "Value": queue }],
            "Timestamp": at.epoch_seconds(),
            "Value": seconds,
            "Unit": "Seconds",
        }],
    })
    .to_string();
    let endpoint = aws_env::endpoint();
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let headers = [
        ("host", host),
        ("content-type", "application/x-amz-json-1.0"),
        (
            "x-amz-target",
            "GraniteServiceVersion20100801.PutMetricData",
        ),
    ];
    let credentials = Credentials::new("test", "test", None, None, "test");
    let signed = api_signing::sign_for_service(
        &api_signing::Request {
            method: "POST",
            uri: "/",
            headers: &headers,
            body: body.as_bytes(),
        },
        &credentials,
        &aws_env::region(),
        "monitoring",
        std::time::SystemTime::now(),
    )
    .expect("signed");
    let mut request = reqwest::Client::new()
        .post(format!("{}/", endpoint.trim_end_matches('/')))
        .body(body);
    for (name, value) in headers.iter().skip(1) {
        request = request.header(*name, *value);
    }
    for (name, value) in signed {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("an answer");
    assert!(
        response.status().is_success(),
        "{:?}",
        response.text().await
    );
}

/// Every message of `url`, received and deleted: (redrivenFrom attribute, body) of each copy.
async fn drain(stack: &TestStack, url: &str) -> Vec<(String, String)> {
    let mut copies = Vec::new();
    loop {
        let output = stack
            .setup
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        if output.messages().is_empty() {
            return copies;
        }
        for message in output.messages() {
            let from = message
                .message_attributes()
                .and_then(|a| a.get("redrivenFrom"))
                .and_then(|v| v.string_value())
                .unwrap_or_default();
            copies.push((
                from.to_owned(),
                message.body().unwrap_or_default().to_owned(),
            ));
            stack
                .setup
                .sqs
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
}

/// Visible messages of `url`, read with the setup client.
async fn visible(stack: &TestStack, url: &str) -> u64 {
    let name = QueueAttributeName::ApproximateNumberOfMessages;
    stack
        .setup
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("attributes")
        .attributes()
        .and_then(|a| a.get(&name))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The peeked messages of the timers DLQ by message id.
async fn peek(stack: &TestStack, limit: usize) -> BTreeMap<String, Value> {
    let (status, body) = stack
        .api(
            Method::GET,
            &format!("/recovery/dlq/timers/messages?limit={limit}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["queue"], "timers");
    body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| (m["messageId"].as_str().expect("id").to_owned(), m.clone()))
        .collect()
}

async fn redrive(stack: &TestStack, request: Value) -> Value {
    let (status, body) = stack
        .api(
            Method::POST,
            "/recovery/dlq/timers/redrive",
            Some(&request.to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn ids(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .expect("a list of ids")
        .iter()
        .map(|id| id.as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn dead_letters_are_listed_peeked_in_place_and_redriven_exactly_once() {
    let stack = TestStack::new().await;
    let dlq = stack.queue_url("TimersDeadLetterQueue");
    let source = stack.queue_url("TimersQueue");
    let letters: Vec<Letter> = (0..6)
        .map(|i| Letter {
            body: format!("{{\"letter\":{i}}}"),
            error_code: [
                Some("SCHEMA"),
                Some("SCHEMA"),
                Some("OTHER"),
                None,
                None,
                None,
            ][i],
        })
        .collect();
    put(&stack, &dlq, &letters).await;

    // The listing: every DLQ by name, its source, its depth; the age is unknown, with why.
    let (status, listing) = stack.api(Method::GET, "/recovery/dlq", None).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let queues = listing["queues"].as_array().expect("queues");
    let names: Vec<&str> = queues.iter().filter_map(|q| q["name"].as_str()).collect();
    assert_eq!(
        names,
        ["timers", "planning", "deliveries", "alerts", "events"]
    );
    let timers = &queues[0];
    assert_eq!(
        (timers["visible"].clone(), timers["inFlight"].clone()),
        (json!(6), json!(0))
    );
    assert!(
        timers["queue"]
            .as_str()
            .unwrap()
            .ends_with("TimersDeadLetterQueue")
    );
    assert!(
        timers["sourceQueue"]
            .as_str()
            .unwrap()
            .ends_with("TimersQueue")
    );
    assert!(timers["oldestMessageAgeSeconds"].is_null());
    assert!(
        timers["oldestMessageAgeReason"]
            .as_str()
            .unwrap()
            .contains("ApproximateAgeOfOldestMessage")
    );
    assert_eq!(queues[1]["visible"], 0);

    // CloudWatch's datapoint of the DLQ (SQS publishes it on AWS; put here by hand) is its
    // oldest message's age.
    let queue_name = timers["queue"].as_str().unwrap().to_owned();
    let minute_ago = Timestamp::now().plus_millis(-60_000);
    put_age_datapoint(&queue_name, 420.0, minute_ago).await;
    let (status, listing) = stack.api(Method::GET, "/recovery/dlq", None).await;
    assert_eq!(status, StatusCode::OK, "{listing}");
    let timers = &listing["queues"][0];
    assert_eq!(timers["oldestMessageAgeSeconds"], 420, "{listing}");
    assert_eq!(
        timers["oldestMessageAgeAt"],
        Timestamp::from_millis(minute_ago.epoch_seconds() * 1000).to_rfc3339()
    );
    assert!(timers.get("oldestMessageAgeReason").is_none());
    assert_eq!(
        stack.requests.count("CloudWatch", "GetMetricData"),
        2,
        "one request per listing"
    );
    assert!(
        !listing.to_string().contains("arn:") && !listing.to_string().contains("http"),
        "queue names only: {listing}"
    );

    // A peek shows every message with its error attributes; all stay, each received once more.
    let first = peek(&stack, 100).await;
    assert_eq!(first.len(), 6);
    let by_body: BTreeMap<&str, &Value> = first
        .values()
        .map(|m| (m["body"].as_str().expect("body"), m))
        .collect();
    for letter in &letters {
        let message = by_body[letter.body.as_str()];
        assert_eq!(message["errorCode"], json!(letter.error_code), "{message}");
        assert_eq!(message["receiveCount"], 1, "{message}");
        assert!(message["sentAt"].is_string(), "{message}");
        if letter.error_code.is_some() {
            assert_eq!(message["errorCategory"], "Validation");
            assert_eq!(message["errorMessage"], "the body is not a timer message");
            assert_eq!(message["failedAt"], "2026-12-04T02:00:00Z");
        } else {
            assert!(message["errorCategory"].is_null() && message["failedAt"].is_null());
        }
    }
    let second = peek(&stack, 100).await;
    assert_eq!(
        second.keys().collect::<Vec<_>>(),
        first.keys().collect::<Vec<_>>(),
        "a peek leaves every message in the DLQ"
    );
    assert!(
        second.values().all(|m| m["receiveCount"] == 2),
        "{second:?}"
    );
    assert_eq!(visible(&stack, &dlq).await, 6, "visible again at once");
    assert_eq!(peek(&stack, 2).await.len(), 2);
    let id_of = |body: &str| {
        first
            .iter()
            .find(|(_, m)| m["body"] == body)
            .map(|(id, _)| id.clone())
            .expect("peeked")
    };

    // Dry runs move nothing and say what would move.
    let dry = redrive(&stack, json!({ "dryRun": true })).await;
    assert_eq!(
        (
            dry["dryRun"].clone(),
            dry["selected"].clone(),
            dry["moved"].clone(),
            dry["failed"].clone()
        ),
        (json!(true), json!(6), json!(0), json!(0))
    );
    assert_eq!(ids(&dry["messageIds"]), first.keys().cloned().collect());
    let dry_schema = redrive(&stack, json!({ "dryRun": true, "errorCode": "SCHEMA" })).await;
    let schema_ids: BTreeSet<String> = [id_of(&letters[0].body), id_of(&letters[1].body)].into();
    assert_eq!(ids(&dry_schema["messageIds"]), schema_ids);
    assert_eq!(
        (dry_schema["selected"].clone(), dry_schema["moved"].clone()),
        (json!(2), json!(0))
    );
    assert_eq!(visible(&stack, &dlq).await, 6);
    assert_eq!(visible(&stack, &source).await, 0, "a dry run moves nothing");

    // By ids (one unknown), by error code with a limit, by error code again, by limit alone.
    let chosen = id_of(&letters[3].body);
    let by_id = redrive(&stack, json!({ "messageIds": [chosen, "no-such-id"] })).await;
    assert_eq!(ids(&by_id["messageIds"]), [chosen.clone()].into());
    assert_eq!(
        (by_id["moved"].clone(), by_id["failed"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(ids(&by_id["notFound"]), ["no-such-id".to_owned()].into());
    let schema_one = redrive(&stack, json!({ "errorCode": "SCHEMA", "limit": 1 })).await;
    assert_eq!(schema_one["moved"], 1, "{schema_one}");
    let schema_rest = redrive(&stack, json!({ "errorCode": "SCHEMA" })).await;
    assert_eq!(schema_rest["moved"], 1, "{schema_rest}");
    let schema_moved: BTreeSet<String> = ids(&schema_one["messageIds"])
        .union(&ids(&schema_rest["messageIds"]))
        .cloned()
        .collect();
    assert_eq!(schema_moved, schema_ids);
    let two = redrive(&stack, json!({ "limit": 2 })).await;
    assert_eq!(
        (two["selected"].clone(), two["moved"].clone()),
        (json!(2), json!(2))
    );
    let moved: BTreeSet<String> = [&by_id, &schema_one, &schema_rest, &two]
        .iter()
        .flat_map(|report| ids(&report["messageIds"]))
        .collect();
    assert_eq!(moved.len(), 5, "five distinct messages moved");

    // Each moved message is in the source queue exactly once; the sixth is still in the DLQ.
    let copies = drain(&stack, &source).await;
    let sources: Vec<&String> = copies.iter().map(|(from, _)| from).collect();
    assert_eq!(copies.len(), 5, "{copies:?}");
    assert_eq!(sources.into_iter().cloned().collect::<BTreeSet<_>>(), moved);
    for (from, body) in &copies {
        assert_eq!(
            first[from]["body"],
            json!(body),
            "the copy carries the body"
        );
    }
    let left = peek(&stack, 100).await;
    let expected_left: BTreeSet<String> = first
        .keys()
        .filter(|id| !moved.contains(*id))
        .cloned()
        .collect();
    assert_eq!(left.keys().cloned().collect::<BTreeSet<_>>(), expected_left);
    let (_, listing) = stack.api(Method::GET, "/recovery/dlq", None).await;
    assert_eq!(listing["queues"][0]["visible"], 1);
}

#[tokio::test]
async fn unknown_queues_and_bad_input_are_refused() {
    let stack = TestStack::new().await;
    for (method, path, body) in [
        (Method::GET, "/recovery/dlq/nope/messages", None),
        (Method::POST, "/recovery/dlq/nope/redrive", Some("{}")),
    ] {
        let (status, answer) = stack.api(method, path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
        assert_eq!(answer["error"]["code"], "DLQ_NOT_FOUND");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains("timers")
        );
    }

    let (status, answer) = stack
        .api(Method::GET, "/recovery/dlq/timers/messages?limit=0", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], "VALIDATION_FAILED");
    assert!(answer["error"]["fields"]["limit"].is_string(), "{answer}");

    let (status, answer) = stack
        .api(
            Method::POST,
            "/recovery/dlq/events/redrive",
            Some(r#"{"limit":0,"messageIds":[],"dryRun":"yes","everything":true}"#),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let fields: Vec<&String> = answer["error"]["fields"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        fields,
        ["dryRun", "everything", "limit", "messageIds"],
        "{answer}"
    );

    let (status, answer) = stack
        .api(
            Method::POST,
            "/recovery/dlq/events/redrive",
            Some("not json"),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("INVALID_BODY"))
    );

    // An empty DLQ: nothing to move, an empty body is the default request.
    let (status, answer) = stack
        .api(Method::POST, "/recovery/dlq/alerts/redrive", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["selected"].clone(), answer["moved"].clone()),
        (json!(0), json!(0))
    );
    assert!(
        answer["sourceQueue"]
            .as_str()
            .unwrap()
            .ends_with("AlertsQueue")
    );
}
