//! The age of the oldest message of SQS queues, from CloudWatch. SQS's own API reports a
//! queue's depth, not its messages' ages; SQS publishes `ApproximateAgeOfOldestMessage` to
//! CloudWatch (namespace `AWS/SQS`, dimension `QueueName`) every minute for an active queue
//! (<https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html>).
//! One `GetMetricData` reads every queue's latest datapoint of the last
//! [`LOOKBACK_MS`] (the metric arrives a few minutes late).
//!
//! The request is CloudWatch's JSON 1.0 protocol (`X-Amz-Target:
//! GraniteServiceVersion20100801.GetMetricData`), SigV4-signed for `monitoring`, sent over
//! the HTTP stack the SDK's own client is built from (hyper with rustls on aws-lc, the
//! machine's root certificates), so the API links no second HTTP client: CloudWatch serves it
//! beside its RPC-v2 CBOR and query protocols, and the Rust SDK speaks only CBOR, which the
//! local emulator does not. The endpoint is the SDK
//! configuration's (`AWS_ENDPOINT_URL` locally), else `https://monitoring.<region>.amazonaws.com`.
//! The request is counted in the [`RequestCounter`] as `CloudWatch.GetMetricData` and, in
//! builds with the `testing` feature, recorded for the IAM check. It is one attempt with a
//! timeout: a reader of ages degrades to "unknown", it does not retry. Its HTTP client is
//! built on first use, not at cold start (building one loads the TLS root certificates).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use lifecycle_domain::Timestamp;
use serde_json::{Value, json};

use super::RequestCounter;
#[cfg(feature = "testing")]
use super::call_recorder::CallRecorder;

/// How far back a datapoint is looked for.
pub const LOOKBACK_MS: i64 = 15 * 60_000;
/// How long the request may take.
const TIMEOUT: Duration = Duration::from_secs(5);
const SERVICE: &str = "CloudWatch";
const OPERATION: &str = "GetMetricData";

/// The latest `ApproximateAgeOfOldestMessage` datapoint of a queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OldestAge {
    /// Seconds, as CloudWatch reports them.
    pub seconds: f64,
    /// The minute the datapoint describes.
    pub at: Timestamp,
}

/// CloudWatch could not be asked or answered something unreadable.
#[derive(Debug, thiserror::Error)]
#[error("CloudWatch GetMetricData failed: {0}")]
pub struct QueueAgeError(String);

/// An HTTPS (or, for a local endpoint, plain HTTP) client over HTTP/1.1.
type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client, with the machine's root certificates; why there is none if they cannot be read.
fn http_client() -> Result<HttpClient, String> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
        .map_err(|e| format!("no TLS root certificates: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector))
}

/// Reads queues' oldest-message ages from CloudWatch; cheap to clone.
#[derive(Clone)]
pub struct QueueAges {
    /// Built on first use; shared by clones.
    http: Arc<OnceLock<Result<HttpClient, String>>>,
    endpoint: String,
    region: String,
    credentials: Option<SharedCredentialsProvider>,
    counter: RequestCounter,
    #[cfg(feature = "testing")]
    recorder: Option<CallRecorder>,
}

impl std::fmt::Debug for QueueAges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueAges")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl QueueAges {
    /// A reader with `sdk_config`'s endpoint, region and credentials, counting its requests
    /// in `counter`.
    pub fn new(sdk_config: &SdkConfig, counter: &RequestCounter) -> Self {
        let region = sdk_config
            .region()
            .map_or_else(|| "us-east-1".to_owned(), |r| r.as_ref().to_owned());
        let endpoint = sdk_config.endpoint_url().map_or_else(
            || format!("https://monitoring.{region}.amazonaws.com/"),
            |url| format!("{}/", url.trim_end_matches('/')),
        );
        Self {
            http: Arc::default(),
            endpoint,
            region,
            credentials: sdk_config.credentials_provider(),
            counter: counter.clone(),
            #[cfg(feature = "testing")]
            recorder: None,
        }
    }

    /// This reader, recording its calls in `recorder` (the IAM check).
    #[cfg(feature = "testing")]
    pub fn recorded_by(mut self, recorder: Option<&CallRecorder>) -> Self {
        self.recorder = recorder.cloned();
        self
    }

    /// The latest datapoint of each of `queue_names` (in their order) within [`LOOKBACK_MS`]
    /// of `now`; `None` for a queue without one.
    pub async fn oldest_ages(
        &self,
        queue_names: &[&str],
        now: Timestamp,
    ) -> Result<Vec<Option<OldestAge>>, QueueAgeError> {
        if queue_names.is_empty() {
            return Ok(Vec::new());
        }
        let body = request_body(queue_names, now).to_string();
        let answer = self.send(body.as_bytes()).await?;
        parse_answer(&answer, queue_names.len())
    }

    async fn send(&self, body: &[u8]) -> Result<Value, QueueAgeError> {
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| QueueAgeError("no credentials are configured".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| QueueAgeError(format!("no credentials: {e}")))?;
        let url: http::Uri = self
            .endpoint
            .parse()
            .map_err(|e| QueueAgeError(format!("bad endpoint: {e}")))?;
        let host = url
            .authority()
            .map(|authority| authority.as_str().to_owned())
            .unwrap_or_default();
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/x-amz-json-1.0"),
            (
                "x-amz-target",
                "GraniteServiceVersion20100801.GetMetricData",
            ),
        ];
        let signed = api_signing::sign_for_service(
            &api_signing::Request {
                method: "POST",
                uri: url.path(),
                headers: &headers,
                body,
            },
            &credentials,
            &self.region,
            "monitoring",
            SystemTime::now(),
        )
        .map_err(|e| QueueAgeError(e.to_string()))?;
        self.counter.add(SERVICE, OPERATION);
        #[cfg(feature = "testing")]
        if let Some(recorder) = &self.recorder {
            recorder.record(SERVICE, OPERATION, Some(body));
        }
        let http = self
            .http
            .get_or_init(http_client)
            .as_ref()
            .map_err(|e| QueueAgeError(e.clone()))?;
        let mut request = http::Request::post(url);
        for (name, value) in headers.iter().skip(1) {
            request = request.header(*name, *value);
        }
        for (name, value) in signed {
            request = request.header(name, value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body)))
            .map_err(|e| QueueAgeError(format!("bad request: {e}")))?;
        let answer = async {
            let response = http
                .request(request)
                .await
                .map_err(|e| QueueAgeError(format!("no answer: {e}")))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| QueueAgeError(format!("unreadable answer: {e}")))?
                .to_bytes();
            Ok::<_, QueueAgeError>((status, body))
        };
        let (status, body) = tokio::time::timeout(TIMEOUT, answer)
            .await
            .map_err(|_| QueueAgeError(format!("no answer in {} s", TIMEOUT.as_secs())))??;
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            return Err(QueueAgeError(format!("status {status}: {text}")));
        }
        serde_json::from_str(&text).map_err(|e| QueueAgeError(format!("not JSON: {e}")))
    }
}

/// The query `q<i>` of each queue: the metric's maximum per minute, newest first.
fn request_body(queue_names: &[&str], now: Timestamp) -> Value {
    let queries: Vec<Value> = queue_names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            json!({
                "Id": format!("q{index}"),
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SQS",
                        "MetricName": "ApproximateAgeOfOldestMessage",
                        "Dimensions": [{ "Name": "QueueName", "Value": name }],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
                "ReturnData": true,
            })
        })
        .collect();
    json!({
        "MetricDataQueries": queries,
        "StartTime": now.plus_millis(-LOOKBACK_MS).epoch_seconds(),
        "EndTime": now.epoch_seconds() + 60,
        "ScanBy": "TimestampDescending",
    })
}

/// Each query's newest datapoint, by its id `q<i>`.
fn parse_answer(answer: &Value, queues: usize) -> Result<Vec<Option<OldestAge>>, QueueAgeError> {
    let results = answer["MetricDataResults"]
        .as_array()
        .ok_or_else(|| QueueAgeError("the answer has no MetricDataResults".into()))?;
    let mut ages = vec![None; queues];
    for result in results {
        let index = result["Id"]
            .as_str()
            .and_then(|id| id.strip_prefix('q'))
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i < queues);
        let Some(index) = index else { continue };
        let newest = result["Values"]
            .as_array()
            .zip(result["Timestamps"].as_array())
            .into_iter()
            .flat_map(|(values, times)| values.iter().zip(times))
            .filter_map(|(value, time)| Some((value.as_f64()?, time.as_f64()?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        ages[index] = newest.map(|(seconds, at)| OldestAge {
            seconds,
            at: Timestamp::from_millis((at * 1000.0) as i64),
        });
    }
    Ok(ages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_query_per_queue_over_the_lookback() {
        let now = Timestamp::from_millis(1_800_000_000_000);
        let body = request_body(&["timers-dlq", "deliveries-dlq"], now);
        let queries = body["MetricDataQueries"].as_array().unwrap();
        assert_eq!(queries.len(), 2);
        assert_eq!(queries[1]["Id"], "q1");
        let stat = &queries[1]["MetricStat"];
        assert_eq!(
            stat["Metric"]["Dimensions"][0]["Value"], "deliveries-dlq",
            "{body}"
        );
        assert_eq!(
            stat["Metric"]["MetricName"],
            "ApproximateAgeOfOldestMessage"
        );
        assert_eq!(stat["Stat"], "Maximum");
        assert_eq!(body["StartTime"], 1_800_000_000 - 900);
        assert_eq!(body["EndTime"], 1_800_000_060);
    }

    #[test]
    fn each_queue_gets_its_newest_datapoint_or_none() {
        let answer = json!({ "MetricDataResults": [
            { "Id": "q1", "Timestamps": [1_800_000_000.0, 1_800_000_120.0, 1_800_000_060.0],
              "Values": [30.0, 150.0, 90.0], "StatusCode": "Complete" },
            { "Id": "q0", "Timestamps": [], "Values": [] },
            { "Id": "q9", "Timestamps": [1.0], "Values": [1.0] },
            { "Id": "other", "Timestamps": [1.0], "Values": [1.0] },
        ]});
        let ages = parse_answer(&answer, 3).unwrap();
        assert_eq!(
            ages,
            vec![
                None,
                Some(OldestAge {
                    seconds: 150.0,
                    at: Timestamp::from_millis(1_800_000_120_000)
                }),
                None
            ]
        );
        assert!(parse_answer(&json!({ "message": "denied" }), 1).is_err());
    }
}
