//! Records which AWS calls a client set makes, and on which resources: the input of the IAM
//! check (`infra/local/src/iam.rs`), which proves every call a function makes is allowed by its
//! policy in `template.yaml` — the local emulator enforces no IAM.
//!
//! It is an SDK interceptor reading each request attempt before it is signed (after the
//! endpoint is applied, before any fault injection spoils it): the resources come from the JSON
//! body, exactly as AWS would authorise them (DynamoDB, SQS, EventBridge, SES v2, SSM and
//! Secrets Manager speak JSON protocols), from the form-encoded body for SNS (the AWS query
//! protocol: `Action=Publish&Version=…&TopicArn=…`), or for S3 from the path-style URL the local
//! emulator is addressed with (`/bucket/key`). Only distinct calls are kept, so memory stays
//! bounded however long a run lasts, and a call seen for the first time is handed to the
//! optional sink *before* it is sent — a process killed right after a request has already
//! reported it.
//!
//! Test-only (the `testing` feature): the Lambda binaries carry no recorder.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// One distinct AWS call: service and operation as the SDK names them (`DynamoDB`, `Query`)
/// and the resources the request names, sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedCall {
    pub service: String,
    pub operation: String,
    /// Empty for an operation that names no resource (IAM authorises it on `*`).
    pub resources: Vec<CallResource>,
}

/// A resource named by a request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum CallResource {
    /// A DynamoDB table (`TableName`, or a `RequestItems` key of a batch).
    Table { table: String },
    /// A DynamoDB index (`IndexName` of a `Query` or `Scan`).
    Index { table: String, index: String },
    /// One item of a DynamoDB transaction: `kind` is its member (`Put`, `Update`, `Delete`,
    /// `ConditionCheck`; `Get` in `TransactGetItems`), authorised per item on its table.
    TransactItem { kind: String, table: String },
    /// An SQS queue (`QueueUrl`).
    Queue { url: String },
    /// An EventBridge bus (`Entries[*].EventBusName` of `PutEvents`, `Name` of
    /// `DescribeEventBus`; `default` when absent).
    EventBus { name: String },
    /// An S3 object (`/bucket/key` of the URL).
    Object { bucket: String, key: String },
    /// An S3 bucket (`/bucket` of the URL).
    Bucket { bucket: String },
    /// The SES identity an email is sent from (`FromEmailAddress`).
    EmailIdentity { identity: String },
    /// An SSM parameter (`Name`).
    Parameter { name: String },
    /// A Secrets Manager secret (`SecretId`: a name or an ARN).
    Secret { id: String },
    /// An SNS topic (`TopicArn` of `Publish`, `PublishBatch`, …, percent-decoded). A `Publish`
    /// to a `TargetArn` or a `PhoneNumber` names no topic.
    Topic { arn: String },
    /// A Lambda function (`{FunctionName}` of the URL path `/2015-03-31/functions/{name}/…`:
    /// a name or an ARN, percent-decoded).
    Function { name: String },
    /// A Lambda event source mapping (`{UUID}` of the URL path
    /// `/2015-03-31/event-source-mappings/{uuid}`).
    EventSourceMapping { uuid: String },
    /// The request could not be read (not the JSON, or for SNS the form, expected): the check
    /// reports the call as unverifiable.
    Unreadable { reason: String },
}

/// Called with each call the first time it is seen.
type Sink = Arc<dyn Fn(&RecordedCall) + Send + Sync>;

/// The interceptor; clones share the calls seen and the sink.
#[derive(Clone, Default)]
pub struct CallRecorder {
    seen: Arc<Mutex<HashSet<RecordedCall>>>,
    sink: Option<Sink>,
}

impl fmt::Debug for CallRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallRecorder")
            .field("calls", &self.seen.lock().map(|seen| seen.len()).ok())
            .field("sink", &self.sink.is_some())
            .finish()
    }
}

impl CallRecorder {
    /// A recorder that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// This recorder, also handing each call to `sink` the first time it is seen (before the
    /// request is sent; keep it quick).
    pub fn on_first_sight(mut self, sink: impl Fn(&RecordedCall) + Send + Sync + 'static) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// The distinct calls seen so far.
    pub fn calls(&self) -> BTreeSet<RecordedCall> {
        self.seen
            .lock()
            .expect("recorder lock")
            .iter()
            .cloned()
            .collect()
    }

    /// Records one request of `service`'s `operation` with the serialized `body`.
    pub fn record(&self, service: &str, operation: &str, body: Option<&[u8]>) {
        self.record_request(service, operation, "/", body);
    }

    /// Records one request of `service`'s `operation` sent to `uri` with the serialized `body`.
    pub fn record_request(&self, service: &str, operation: &str, uri: &str, body: Option<&[u8]>) {
        let call = RecordedCall {
            service: service.to_owned(),
            operation: operation.to_owned(),
            resources: if service == "S3" {
                s3_resources(uri)
            } else if service == "Lambda" {
                lambda_resources(uri)
            } else {
                resources(service, operation, body)
            },
        };
        let mut seen = self.seen.lock().expect("recorder lock");
        if seen.contains(&call) {
            return;
        }
        // Under the lock: a call reaches the sink once, before its request is sent.
        if let Some(sink) = &self.sink {
            sink(&call);
        }
        seen.insert(call);
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "CallRecorder"
    }

    // Before signing: after the endpoint is applied (S3's bucket is in the path only from
    // then on), before the fault injector spoils the request.
    fn read_before_signing(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let (service, operation) = match cfg.load::<Metadata>() {
            Some(metadata) => (metadata.service(), metadata.name()),
            None => ("unknown", "unknown"),
        };
        let request = context.request();
        self.record_request(service, operation, request.uri(), request.body().bytes());
        Ok(())
    }
}

/// The fields of a JSON request body that name resources; everything else is skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Body {
    table_name: Option<String>,
    index_name: Option<String>,
    /// `TransactWriteItems`/`TransactGetItems`: one member (`Put`, `Update`, …) per item.
    transact_items: Vec<BTreeMap<String, TableRef>>,
    /// `BatchWriteItem`/`BatchGetItem`: keyed by table name.
    request_items: BTreeMap<String, IgnoredAny>,
    queue_url: Option<String>,
    name: Option<String>,
    entries: Vec<Entry>,
    from_email_address: Option<String>,
    secret_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableRef {
    table_name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct Entry {
    event_bus_name: Option<String>,
}

/// The resources a request names, sorted and deduplicated.
fn resources(service: &str, operation: &str, body: Option<&[u8]>) -> Vec<CallResource> {
    let Some(body) = body else {
        return vec![CallResource::Unreadable {
            reason: "request body is streamed, not in memory".into(),
        }];
    };
    if service == "SNS" {
        return sns_resources(body);
    }
    let body: Body = match serde_json::from_slice(body) {
        Ok(body) => body,
        Err(error) => {
            return vec![CallResource::Unreadable {
                reason: format!("request body is not the JSON expected: {error}"),
            }];
        }
    };
    let mut found = BTreeSet::new();
    match service {
        "DynamoDB" => {
            for item in body.transact_items {
                for (kind, target) in item {
                    found.insert(CallResource::TransactItem {
                        kind,
                        table: target.table_name,
                    });
                }
            }
            for table in body.request_items.into_keys() {
                found.insert(CallResource::Table { table });
            }
            if let Some(table) = body.table_name {
                found.insert(match body.index_name {
                    Some(index) if matches!(operation, "Query" | "Scan") => {
                        CallResource::Index { table, index }
                    }
                    _ => CallResource::Table { table },
                });
            }
        }
        "SQS" => {
            found.extend(body.queue_url.map(|url| CallResource::Queue { url }));
        }
        "SESv2" => {
            found.extend(
                body.from_email_address
                    .map(|identity| CallResource::EmailIdentity { identity }),
            );
        }
        "SSM" => {
            found.extend(body.name.map(|name| CallResource::Parameter { name }));
        }
        "Secrets Manager" => {
            found.extend(body.secret_id.map(|id| CallResource::Secret { id }));
        }
        "EventBridge" => {
            let bus = |name: Option<String>| CallResource::EventBus {
                name: name.unwrap_or_else(|| "default".into()),
            };
            match operation {
                "PutEvents" => {
                    found.extend(body.entries.into_iter().map(|e| bus(e.event_bus_name)))
                }
                "DescribeEventBus" => {
                    found.insert(bus(body.name));
                }
                _ => {}
            }
        }
        _ => {}
    }
    found.into_iter().collect()
}

/// The topic of an SNS request, from its form-encoded query-protocol body
/// (`Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3A…`).
fn sns_resources(body: &[u8]) -> Vec<CallResource> {
    let pairs: Vec<(&str, &str)> = std::str::from_utf8(body)
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    if !pairs.iter().any(|(key, _)| *key == "Action") {
        return vec![CallResource::Unreadable {
            reason: "request body is not the form-encoded query (`Action=…`) expected".into(),
        }];
    }
    let topics: BTreeSet<CallResource> = pairs
        .into_iter()
        .filter(|(key, _)| *key == "TopicArn")
        .map(|(_, value)| CallResource::Topic {
            arn: percent_decoded(&value.replace('+', " ")),
        })
        .collect();
    topics.into_iter().collect()
}

/// The function of a Lambda request, from its URL path (`/2015-03-31/functions/{name}/…`).
fn lambda_resources(uri: &str) -> Vec<CallResource> {
    let path = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest.find('/').map_or("", |at| &rest[at..]));
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_version), Some("functions"), Some(name)) if !name.is_empty() => {
            vec![CallResource::Function {
                name: percent_decoded(name),
            }]
        }
        (Some(_version), Some("event-source-mappings"), Some(uuid)) if !uuid.is_empty() => {
            vec![CallResource::EventSourceMapping {
                uuid: percent_decoded(uuid),
            }]
        }
        _ => vec![CallResource::Unreadable {
            reason: format!("Lambda request path {path:?} names no function"),
        }],
    }
}

/// The bucket and key of a path-style S3 URL (`scheme://host/bucket/key?query`).
fn s3_resources(uri: &str) -> Vec<CallResource> {
    let after_host = uri
        .split_once("://")
        .map_or(uri, |(_, rest)| rest.find('/').map_or("", |at| &rest[at..]));
    let path = after_host.split(['?', '#']).next().unwrap_or_default();
    let (bucket, key) = path
        .trim_start_matches('/')
        .split_once('/')
        .unwrap_or((path.trim_start_matches('/'), ""));
    if bucket.is_empty() {
        Vec::new()
    } else if key.is_empty() {
        vec![CallResource::Bucket {
            bucket: percent_decoded(bucket),
        }]
    } else {
        vec![CallResource::Object {
            bucket: percent_decoded(bucket),
            key: percent_decoded(key),
        }]
    }
}

/// `%XX` escapes decoded (an invalid escape is kept as it is).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_smithy_runtime_api::client::http::{
        HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
    };
    use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn table(table: &str) -> CallResource {
        CallResource::Table {
            table: table.into(),
        }
    }

    fn item(kind: &str, table: &str) -> CallResource {
        CallResource::TransactItem {
            kind: kind.into(),
            table: table.into(),
        }
    }

    #[test]
    fn resources_of_each_request_shape() {
        let cases: Vec<(&str, &str, &str, Vec<CallResource>)> = vec![
            (
                "DynamoDB",
                "GetItem",
                r#"{"TableName":"T","Key":{}}"#,
                vec![table("T")],
            ),
            (
                "DynamoDB",
                "Query",
                r#"{"TableName":"T","KeyConditionExpression":"x"}"#,
                vec![table("T")],
            ),
            (
                "DynamoDB",
                "Query",
                r#"{"TableName":"T","IndexName":"ByDue","Limit":5}"#,
                vec![CallResource::Index {
                    table: "T".into(),
                    index: "ByDue".into(),
                }],
            ),
            (
                "DynamoDB",
                "TransactWriteItems",
                r#"{"TransactItems":[
                    {"Update":{"TableName":"T","Key":{},"UpdateExpression":"SET a = :a"}},
                    {"ConditionCheck":{"TableName":"T","Key":{},"ConditionExpression":"x"}},
                    {"Put":{"TableName":"T","Item":{}}},
                    {"Put":{"TableName":"U","Item":{}}},
                    {"Update":{"TableName":"T","Key":{}}}],
                   "ClientRequestToken":"t"}"#,
                vec![
                    item("ConditionCheck", "T"),
                    item("Put", "T"),
                    item("Put", "U"),
                    item("Update", "T"),
                ],
            ),
            (
                "DynamoDB",
                "TransactGetItems",
                r#"{"TransactItems":[{"Get":{"TableName":"T","Key":{}}}]}"#,
                vec![item("Get", "T")],
            ),
            (
                "DynamoDB",
                "BatchWriteItem",
                r#"{"RequestItems":{"T":[{"DeleteRequest":{"Key":{}}}],"U":[]}}"#,
                vec![table("T"), table("U")],
            ),
            ("DynamoDB", "ListTables", "{}", vec![]),
            (
                "SQS",
                "SendMessageBatch",
                r#"{"QueueUrl":"http://h/1/q","Entries":[{"Id":"0","MessageBody":"b"}]}"#,
                vec![CallResource::Queue {
                    url: "http://h/1/q".into(),
                }],
            ),
            (
                "EventBridge",
                "PutEvents",
                r#"{"Entries":[{"EventBusName":"bus","Detail":"{}"},{"Source":"s"},{"EventBusName":"bus"}]}"#,
                vec![
                    CallResource::EventBus { name: "bus".into() },
                    CallResource::EventBus {
                        name: "default".into(),
                    },
                ],
            ),
            (
                "EventBridge",
                "DescribeEventBus",
                r#"{"Name":"bus"}"#,
                vec![CallResource::EventBus { name: "bus".into() }],
            ),
        ];
        for (service, operation, body, expected) in cases {
            assert_eq!(
                resources(service, operation, Some(body.as_bytes())),
                expected,
                "{service}.{operation} {body}"
            );
        }
        let delivery_cases: Vec<(&str, &str, &str, Vec<CallResource>)> = vec![
            (
                "SESv2",
                "SendEmail",
                r#"{"FromEmailAddress":"news@example.com","Destination":{}}"#,
                vec![CallResource::EmailIdentity {
                    identity: "news@example.com".into(),
                }],
            ),
            (
                "SSM",
                "GetParameter",
                r#"{"Name":"/cl/hook","WithDecryption":true}"#,
                vec![CallResource::Parameter {
                    name: "/cl/hook".into(),
                }],
            ),
            (
                "Secrets Manager",
                "GetSecretValue",
                r#"{"SecretId":"cl/hook"}"#,
                vec![CallResource::Secret {
                    id: "cl/hook".into(),
                }],
            ),
        ];
        for (service, operation, body, expected) in delivery_cases {
            assert_eq!(
                resources(service, operation, Some(body.as_bytes())),
                expected
            );
        }
        let topic = "arn:aws:sns:us-east-1:123456789012:s-AlertTopic";
        let sns_cases: Vec<(&str, &str, Vec<CallResource>)> = vec![
            (
                "Publish",
                "Action=Publish&Version=2010-03-31\
                 &TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3As-AlertTopic\
                 &Message=a%20b+c&Subject=s",
                vec![CallResource::Topic { arn: topic.into() }],
            ),
            (
                "PublishBatch",
                "Action=PublishBatch&Version=2010-03-31&TopicArn=arn:aws:sns:us-east-1:123456789012:s-AlertTopic\
                 &PublishBatchRequestEntries.member.1.Id=0\
                 &PublishBatchRequestEntries.member.1.Message=m",
                vec![CallResource::Topic { arn: topic.into() }],
            ),
            (
                "Publish",
                "Action=Publish&Version=2010-03-31&PhoneNumber=%2B15550100&Message=m",
                vec![],
            ),
        ];
        for (operation, body, expected) in sns_cases {
            assert_eq!(
                resources("SNS", operation, Some(body.as_bytes())),
                expected,
                "SNS.{operation} {body}"
            );
        }
        let json_to_sns = resources("SNS", "Publish", Some(br#"{"TopicArn":"arn"}"#));
        assert!(
            matches!(&json_to_sns[..], [CallResource::Unreadable { reason }] if reason.contains("form")),
            "{json_to_sns:?}"
        );
        let query_protocol =
            resources("SQS", "SendMessage", Some(b"Action=SendMessage&QueueUrl=x"));
        assert!(
            matches!(&query_protocol[..], [CallResource::Unreadable { reason }] if reason.contains("JSON")),
            "{query_protocol:?}"
        );
    }

    #[test]
    fn s3_resources_come_from_the_path_style_url() {
        let object = |bucket: &str, key: &str| {
            vec![CallResource::Object {
                bucket: bucket.into(),
                key: key.into(),
            }]
        };
        assert_eq!(
            s3_resources("http://127.0.0.1:4566/lists/inline/c%201/r.jsonl?x-id=GetObject"),
            object("lists", "inline/c 1/r.jsonl")
        );
        assert_eq!(
            s3_resources("http://h/lists/a%2Gb"),
            object("lists", "a%2Gb")
        );
        assert_eq!(
            s3_resources("http://h/lists?list-type=2"),
            vec![CallResource::Bucket {
                bucket: "lists".into()
            }]
        );
        assert_eq!(
            s3_resources("http://h/lists/"),
            vec![CallResource::Bucket {
                bucket: "lists".into()
            }]
        );
        assert_eq!(s3_resources("http://h/"), vec![]);
        assert_eq!(s3_resources("http://h"), vec![]);
    }

    #[test]
    fn lambda_resources_come_from_the_function_in_the_path() {
        assert_eq!(
            lambda_resources(
                "http://127.0.0.1:3001/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3As-Sweeper/invocations"
            ),
            vec![CallResource::Function {
                name: "arn:aws:lambda:us-east-1:1:function:s-Sweeper".into()
            }]
        );
        assert_eq!(
            lambda_resources(
                "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/s-Sweeper/invocations"
            ),
            vec![CallResource::Function {
                name: "s-Sweeper".into()
            }]
        );
        assert_eq!(
            lambda_resources("http://h/2015-03-31/event-source-mappings/6f1c-2a"),
            vec![CallResource::EventSourceMapping {
                uuid: "6f1c-2a".into()
            }]
        );
        assert!(matches!(
            lambda_resources("http://h/2015-03-31/layers")[..],
            [CallResource::Unreadable { .. }]
        ));
    }

    #[test]
    fn each_distinct_call_is_kept_and_reported_once() {
        let reported = Arc::new(AtomicUsize::new(0));
        let recorder = CallRecorder::new().on_first_sight({
            let reported = reported.clone();
            move |_| {
                reported.fetch_add(1, Ordering::SeqCst);
            }
        });
        for _ in 0..1_000 {
            recorder.record("DynamoDB", "GetItem", Some(br#"{"TableName":"T"}"#));
            recorder
                .clone()
                .record("DynamoDB", "GetItem", Some(br#"{"TableName":"U"}"#));
        }
        recorder.record("DynamoDB", "PutItem", Some(br#"{"TableName":"T"}"#));
        assert_eq!(recorder.calls().len(), 3);
        assert_eq!(reported.load(Ordering::SeqCst), 3);
    }

    /// Answers every request with `200 {}` and keeps its content type and body.
    #[derive(Debug, Clone, Default)]
    struct Capture(Arc<Mutex<Vec<(String, String)>>>);

    impl HttpConnector for Capture {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let content_type = request.headers().get("content-type").unwrap_or_default();
            let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default());
            self.0
                .lock()
                .unwrap()
                .push((content_type.to_owned(), body.into_owned()));
            HttpConnectorFuture::ready(Ok(Response::new(
                StatusCode::try_from(200).unwrap(),
                SdkBody::from("{}"),
            )))
        }
    }

    /// The SQS SDK in use sends JSON (awsJson1_0), so `QueueUrl` is read from the body.
    #[tokio::test]
    async fn sqs_requests_are_json_and_name_their_queue() {
        let capture = Capture::default();
        let recorder = CallRecorder::new();
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .endpoint_url("http://127.0.0.1:1")
            .http_client(http_client_fn({
                let capture = capture.clone();
                move |_, _| SharedHttpConnector::new(capture.clone())
            }))
            .interceptor(recorder.clone())
            .build();
        let url = "http://127.0.0.1:1/123456789012/timers";
        let _ = aws_sdk_sqs::Client::from_conf(config)
            .send_message()
            .queue_url(url)
            .message_body("hello")
            .send()
            .await;
        let sent = capture.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, "application/x-amz-json-1.0");
        let body: serde_json::Value = serde_json::from_str(&sent[0].1).expect("a JSON body");
        assert_eq!(body["QueueUrl"], url);
        assert_eq!(
            recorder.calls().into_iter().collect::<Vec<_>>(),
            [RecordedCall {
                service: "SQS".into(),
                operation: "SendMessage".into(),
                resources: vec![CallResource::Queue { url: url.into() }],
            }]
        );
    }

    /// The SNS SDK in use sends the query protocol (a form body), and `TopicArn` is read from it.
    #[cfg(feature = "alerts")]
    #[tokio::test]
    async fn sns_requests_are_forms_and_name_their_topic() {
        let capture = Capture::default();
        let recorder = CallRecorder::new();
        let config = aws_sdk_sns::Config::builder()
            .behavior_version(aws_sdk_sns::config::BehaviorVersion::latest())
            .region(aws_sdk_sns::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sns::config::Credentials::new(
                "a", "b", None, None, "test",
            ))
            .endpoint_url("http://127.0.0.1:1")
            .http_client(http_client_fn({
                let capture = capture.clone();
                move |_, _| SharedHttpConnector::new(capture.clone())
            }))
            .interceptor(recorder.clone())
            .build();
        let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
        let _ = aws_sdk_sns::Client::from_conf(config)
            .publish()
            .topic_arn(topic)
            .message("hello & goodbye")
            .send()
            .await;
        let sent = capture.0.lock().unwrap().clone();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].0, "application/x-www-form-urlencoded");
        assert!(sent[0].1.starts_with("Action=Publish&"), "{}", sent[0].1);
        assert!(
            sent[0].1.contains("TopicArn=arn%3Aaws%3Asns%3A"),
            "{}",
            sent[0].1
        );
        assert_eq!(
            recorder.calls().into_iter().collect::<Vec<_>>(),
            [RecordedCall {
                service: "SNS".into(),
                operation: "Publish".into(),
                resources: vec![CallResource::Topic { arn: topic.into() }],
            }]
        );
    }
}
