//! A stub of Lambda's Runtime API (what `AWS_LAMBDA_RUNTIME_API` points a function's
//! `bootstrap` at) for one invocation, to time a function binary's cold start and read its
//! memory (`make sizes`: the bench's `init` scenario). On a free port of 127.0.0.1 it serves:
//!
//! - `GET /2018-06-01/runtime/invocation/next`: the first call is timed
//!   ([`RuntimeApiStub::first_next`]) and held until [`RuntimeApiStub::release`], then
//!   answered with the event and the headers Lambda sends (`Lambda-Runtime-Aws-Request-Id`,
//!   `Lambda-Runtime-Deadline-Ms`, `Lambda-Runtime-Invoked-Function-Arn`,
//!   `Lambda-Runtime-Trace-Id`). Later calls are never answered: Lambda freezes a runtime that
//!   waits for its next event, and the stub has one.
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error`: the function's
//!   answer, 202; an id other than the event's, or before the event was handed out, is
//!   refused with 400 `InvalidRequestID` as Lambda does, and a second answer with 400 (the
//!   first is kept).
//! - `POST /2018-06-01/runtime/init/error`: the function's init failed, 202.
//!
//! [`RuntimeApiStub::outcome`] waits for the answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The largest answer Lambda takes from a function (6 MB, buffered responses).
const MAX_ANSWER_BYTES: usize = 6 * 1024 * 1024;

/// The header naming a function error's type, on `…/error` and `/init/error`.
const ERROR_TYPE_HEADER: &str = "Lambda-Runtime-Function-Error-Type";

/// The one invocation the stub hands out.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The event (the `next` call's body).
    pub event: serde_json::Value,
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// The function's timeout: `Lambda-Runtime-Deadline-Ms` is the release time plus this.
    pub timeout: Duration,
}

/// What the function answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST …/invocation/{id}/response`: the result.
    Response(String),
    /// `POST …/invocation/{id}/error`: a function error.
    Error {
        error_type: Option<String>,
        body: String,
    },
    /// `POST /runtime/init/error`: the function could not start.
    InitError {
        error_type: Option<String>,
        body: String,
    },
}

/// How far the invocation got.
#[derive(Debug, Default)]
struct Progress {
    /// When the first `next` call arrived.
    first_next: Option<Instant>,
    /// Whether the event may be handed out.
    released: bool,
    outcome: Option<Outcome>,
}

struct Shared {
    invocation: Invocation,
    /// The event's body, serialised once.
    event_body: Bytes,
    progress: watch::Sender<Progress>,
}

/// A running stub; the server stops when it is dropped.
pub struct RuntimeApiStub {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl RuntimeApiStub {
    /// Starts serving `invocation` on a free port of 127.0.0.1.
    pub async fn start(invocation: Invocation) -> std::io::Result<Self> {
        let event_body = Bytes::from(serde_json::to_vec(&invocation.event)?);
        let shared = Arc::new(Shared {
            invocation,
            event_body,
            progress: watch::Sender::new(Progress::default()),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(error = %error, "the Runtime API stub stopped");
            }
        });
        Ok(Self {
            addr,
            shared,
            server,
        })
    }

    /// Where it listens: the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the function's first `next` call; returns when it arrived.
    pub async fn first_next(&self) -> Instant {
        let mut progress = self.shared.progress.subscribe();
        let progress = progress
            .wait_for(|p| p.first_next.is_some())
            .await
            .expect("the stub holds the sender");
        progress.first_next.expect("waited for it")
    }

    /// Lets the first `next` call be answered with the event.
    pub fn release(&self) {
        self.shared.progress.send_modify(|p| p.released = true);
    }

    /// Waits for the function's answer (or its init error).
    pub async fn outcome(&self) -> Outcome {
        let mut progress = self.shared.progress.subscribe();
        let progress = progress
            .wait_for(|p| p.outcome.is_some())
            .await
            .expect("the stub holds the sender");
        progress.outcome.clone().expect("waited for it")
    }
}

impl Drop for RuntimeApiStub {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .layer(DefaultBodyLimit::max(MAX_ANSWER_BYTES))
        .with_state(shared)
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let first = shared.progress.send_if_modified(|p| {
        let first = p.first_next.is_none();
        if first {
            p.first_next = Some(Instant::now());
        }
        first
    });
    if !first {
        // A runtime asking for its next event is frozen on Lambda; the stub has no more.
        return std::future::pending().await;
    }
    let mut progress = shared.progress.subscribe();
    if progress.wait_for(|p| p.released).await.is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let invocation = &shared.invocation;
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_add(invocation.timeout)
        .as_millis();
    let mut response = (StatusCode::OK, shared.event_body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert("Content-Type", HeaderValue::from_static("application/json"));
    for (name, value) in [
        (
            "Lambda-Runtime-Aws-Request-Id",
            invocation.request_id.clone(),
        ),
        ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
        (
            "Lambda-Runtime-Invoked-Function-Arn",
            invocation.function_arn.clone(),
        ),
        ("Lambda-Runtime-Trace-Id", trace_id()),
    ] {
        match HeaderValue::from_str(&value) {
            Ok(value) => {
                headers.insert(name, value);
            }
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    }
    response
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    answer(
        &shared,
        &id,
        Outcome::Response(String::from_utf8_lossy(&body).into_owned()),
    )
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = Outcome::Error {
        error_type: error_type(&headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    answer(&shared, &id, outcome)
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let outcome = Outcome::InitError {
        error_type: error_type(&headers),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    record(&shared, outcome)
}

/// Records the answer to the invocation `id`.
fn answer(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    let handed_out = shared.progress.borrow().released;
    if !handed_out || id != shared.invocation.request_id {
        return refusal("InvalidRequestID", &format!("Invalid request ID: {id}"));
    }
    record(shared, outcome)
}

/// Keeps `outcome` unless the function already answered.
fn record(shared: &Shared, outcome: Outcome) -> Response {
    let recorded = shared.progress.send_if_modified(|p| {
        let first = p.outcome.is_none();
        if first {
            p.outcome = Some(outcome);
        }
        first
    });
    if !recorded {
        return refusal(
            "InvalidStateTransition",
            "the invocation was already answered",
        );
    }
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn refusal(error_type: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"errorType": error_type, "errorMessage": message})),
    )
        .into_response()
}

fn error_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(ERROR_TYPE_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// An X-Ray trace header in Lambda's form (a root made of the time and random bits).
fn trace_id() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{seconds:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &random[16..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

    async fn stub() -> RuntimeApiStub {
        RuntimeApiStub::start(Invocation {
            event: json!({"dryRun": true}),
            request_id: REQUEST_ID.into(),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:s-SweeperFunction".into(),
            timeout: Duration::from_secs(30),
        })
        .await
        .unwrap()
    }

    fn url(stub: &RuntimeApiStub, path: &str) -> String {
        format!("http://{}/2018-06-01/runtime/{path}", stub.addr())
    }

    /// What a function does once it has the event: `next`, then its answer.
    async fn take_event(stub: &RuntimeApiStub) -> reqwest::Response {
        let client = reqwest::Client::new();
        let next = tokio::spawn(client.get(url(stub, "invocation/next")).send());
        stub.first_next().await;
        stub.release();
        next.await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn holds_the_first_next_until_released_then_hands_out_the_event_with_lambdas_headers() {
        let stub = stub().await;
        let started = Instant::now();
        let next = tokio::spawn(
            reqwest::Client::new()
                .get(url(&stub, "invocation/next"))
                .send(),
        );
        let first_next = stub.first_next().await;
        assert!(first_next >= started);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!next.is_finished(), "answered before the release");
        stub.release();
        let answer = next.await.unwrap().unwrap();
        assert_eq!(answer.status(), 200);
        let header = |name: &str| {
            answer
                .headers()
                .get(name)
                .unwrap_or_else(|| panic!("no {name}"))
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(header("lambda-runtime-aws-request-id"), REQUEST_ID);
        assert_eq!(
            header("lambda-runtime-invoked-function-arn"),
            "arn:aws:lambda:us-east-1:123456789012:function:s-SweeperFunction"
        );
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let deadline: i64 = header("lambda-runtime-deadline-ms").parse().unwrap();
        assert!(
            (deadline - now_ms - 30_000).abs() < 2_000,
            "deadline {deadline} is not 30 s after {now_ms}"
        );
        let trace = header("lambda-runtime-trace-id");
        assert!(
            trace.starts_with("Root=1-") && trace.contains(";Parent="),
            "{trace}"
        );
        assert_eq!(header("content-type"), "application/json");
        let event: serde_json::Value = serde_json::from_str(&answer.text().await.unwrap()).unwrap();
        assert_eq!(event, json!({"dryRun": true}));
        // The first call's time stays the one recorded.
        assert_eq!(stub.first_next().await, first_next);
    }

    #[tokio::test]
    async fn records_the_response_and_refuses_other_ids_and_second_answers() {
        let stub = stub().await;
        let client = reqwest::Client::new();
        // Before the event is handed out, no id is valid.
        let early = client
            .post(url(&stub, &format!("invocation/{REQUEST_ID}/response")))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(early.status(), 400);
        take_event(&stub).await;
        let wrong = client
            .post(url(&stub, "invocation/another-id/response"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 400);
        let body: serde_json::Value = serde_json::from_str(&wrong.text().await.unwrap()).unwrap();
        assert_eq!(body["errorType"], "InvalidRequestID");
        let right = client
            .post(url(&stub, &format!("invocation/{REQUEST_ID}/response")))
            .body(r#"{"swept":0}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(right.status(), 202);
        assert_eq!(
            stub.outcome().await,
            Outcome::Response(r#"{"swept":0}"#.into())
        );
        let again = client
            .post(url(&stub, &format!("invocation/{REQUEST_ID}/error")))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 400);
        assert_eq!(
            stub.outcome().await,
            Outcome::Response(r#"{"swept":0}"#.into())
        );
    }

    #[tokio::test]
    async fn records_function_errors_with_their_type() {
        let stub = stub().await;
        take_event(&stub).await;
        let posted = reqwest::Client::new()
            .post(url(&stub, &format!("invocation/{REQUEST_ID}/error")))
            .header(ERROR_TYPE_HEADER, "&alloc::string::String")
            .body(r#"{"errorType":"&alloc::string::String","errorMessage":"boom"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        assert_eq!(
            stub.outcome().await,
            Outcome::Error {
                error_type: Some("&alloc::string::String".into()),
                body: r#"{"errorType":"&alloc::string::String","errorMessage":"boom"}"#.into(),
            }
        );
    }

    #[tokio::test]
    async fn records_init_errors_without_an_event() {
        let stub = stub().await;
        let posted = reqwest::Client::new()
            .post(url(&stub, "init/error"))
            .header(ERROR_TYPE_HEADER, "Runtime.InitError")
            .body(r#"{"errorMessage":"TABLE_NAME is not set"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 202);
        assert_eq!(
            stub.outcome().await,
            Outcome::InitError {
                error_type: Some("Runtime.InitError".into()),
                body: r#"{"errorMessage":"TABLE_NAME is not set"}"#.into(),
            }
        );
    }

    #[tokio::test]
    async fn never_answers_a_second_next() {
        let stub = stub().await;
        take_event(&stub).await;
        let second = reqwest::Client::new()
            .get(url(&stub, "invocation/next"))
            .timeout(Duration::from_millis(300))
            .send()
            .await;
        assert!(second.unwrap_err().is_timeout());
    }
}
