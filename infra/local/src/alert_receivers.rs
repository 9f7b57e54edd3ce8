//! Alert receivers that fail on their own, for the chaos run: real local HTTP servers standing
//! in for a Slack incoming webhook and an operator's signed webhook. At a rate, a request is
//! answered `500` (nothing taken), `429` with `Retry-After` (Slack only; nothing taken), or
//! taken — recorded — and then its connection closed without an answer: the sender cannot
//! tell that it arrived and sends it again (the ambiguous case a webhook's `webhook-id`
//! dedupes). Every request is recorded with what it was answered.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::delivery_record::checked_webhook;

/// The `Retry-After` of an injected `429`, in seconds: longer than the fan-out's first
/// backoff (30 s), so the retry waits for it.
pub const RETRY_AFTER_SECONDS: u64 = 40;

/// The largest request a receiver reads (a notification is a few hundred bytes).
const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// What a receiver answered one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Answer {
    /// `200`: taken.
    Accepted,
    /// An injected `500`: not taken.
    ServerError,
    /// An injected `429` with `Retry-After`: not taken.
    Throttled,
    /// Injected: taken and recorded, then the connection closed without an answer.
    Dropped,
}

impl Answer {
    /// Whether the receiver took the request (its content arrived, answered or not).
    pub fn taken(self) -> bool {
        matches!(self, Answer::Accepted | Answer::Dropped)
    }

    /// The name the chaos report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Accepted => "accepted",
            Answer::ServerError => "500",
            Answer::Throttled => "429",
            Answer::Dropped => "answerDropped",
        }
    }
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Request {
    /// Its body (`Null` if it was not JSON).
    pub body: Value,
    /// Its `webhook-id` header (empty for Slack).
    pub webhook_id: String,
    /// Whether its Standard Webhooks signature verified (`false` for Slack: not signed).
    pub signed: bool,
    /// What it was answered.
    pub answer: Answer,
}

/// The service a receiver stands for.
#[derive(Clone)]
pub enum ReceiverKind {
    /// A Slack incoming webhook: not signed; fails with `500`, `429` or a dropped answer.
    Slack,
    /// A signed webhook, checked with this key; fails with `500` or a dropped answer.
    Webhook(SigningKey),
}

impl ReceiverKind {
    fn faults(&self) -> &'static [Answer] {
        match self {
            ReceiverKind::Slack => &[Answer::ServerError, Answer::Throttled, Answer::Dropped],
            ReceiverKind::Webhook(_) => &[Answer::ServerError, Answer::Dropped],
        }
    }
}

#[derive(Debug)]
struct State {
    rate: f64,
    requests: Vec<Request>,
}

/// A running receiver; it stops when dropped.
#[derive(Debug)]
pub struct FaultyReceiver {
    url: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl FaultyReceiver {
    /// Starts a receiver on a free port of `127.0.0.1` failing `rate` of its requests (the
    /// faults of `kind` equally likely).
    pub async fn start(kind: ReceiverKind, rate: f64) -> Result<Self, String> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| format!("receiver: {e}"))?;
        let url = format!(
            "http://{}/hook",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let state = Arc::new(Mutex::new(State {
            rate,
            requests: Vec::new(),
        }));
        let server = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, kind.clone(), state.clone()));
                }
            }
        });
        Ok(Self { url, state, server })
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Fails `rate` of the requests from now on (0: none, for a clean final phase).
    pub fn set_rate(&self, rate: f64) {
        self.state.lock().expect("receiver").rate = rate;
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().expect("receiver").requests.clone()
    }
}

impl Drop for FaultyReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// One connection: one request, recorded, then answered as the dice say.
async fn serve(mut stream: TcpStream, kind: ReceiverKind, state: Arc<Mutex<State>>) {
    let Some((headers, body)) = read_request(&mut stream).await else {
        return;
    };
    let (webhook_id, signed) = match &kind {
        ReceiverKind::Webhook(key) => checked_webhook(key, &headers, &body),
        ReceiverKind::Slack => (String::new(), false),
    };
    let answer = {
        let mut state = state.lock().expect("receiver");
        let answer = pick(state.rate, kind.faults());
        state.requests.push(Request {
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
            webhook_id,
            signed,
            answer,
        });
        answer
    };
    let response = match answer {
        Answer::Accepted => {
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_owned()
        }
        Answer::ServerError => {
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                .to_owned()
        }
        Answer::Throttled => format!(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: {RETRY_AFTER_SECONDS}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        ),
        // Taken, and the answer lost: the connection closes with nothing written.
        Answer::Dropped => return,
    };
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// `Accepted`, or with probability `rate` one of `faults`.
fn pick(rate: f64, faults: &[Answer]) -> Answer {
    let roll = lifecycle_domain::jitter::millis(999_999) as f64 / 1_000_000.0;
    if roll >= rate || faults.is_empty() {
        return Answer::Accepted;
    }
    faults[lifecycle_domain::jitter::millis(faults.len() as u64 - 1) as usize]
}

/// Reads one HTTP/1.1 request: its headers and its body (`Content-Length` bytes).
async fn read_request(stream: &mut TcpStream) -> Option<(HeaderMap, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() > MAX_REQUEST_BYTES {
            return None;
        }
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut headers = HeaderMap::new();
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_str(value.trim()),
            )
        {
            headers.append(name, value);
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST_BYTES {
        return None;
    }
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);
    Some((headers, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rate_no_fault_and_a_full_rate_only_faults() {
        let faults = ReceiverKind::Slack.faults();
        assert!((0..100).all(|_| pick(0.0, faults) == Answer::Accepted));
        let picked: std::collections::BTreeSet<Answer> =
            (0..300).map(|_| pick(1.0, faults)).collect();
        assert_eq!(
            picked.into_iter().collect::<Vec<_>>(),
            [Answer::ServerError, Answer::Throttled, Answer::Dropped]
        );
        assert!(Answer::Dropped.taken() && !Answer::Throttled.taken());
    }

    #[tokio::test]
    async fn a_receiver_records_each_request_and_answers_or_drops_it() {
        let receiver = FaultyReceiver::start(ReceiverKind::Slack, 0.0)
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let answer = http
            .post(receiver.url())
            .body(r#"{"text":"one"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        receiver.set_rate(1.0);
        let mut statuses = Vec::new();
        for _ in 0..30 {
            match http
                .post(receiver.url())
                .body(r#"{"text":"two"}"#)
                .send()
                .await
            {
                Ok(answer) => statuses.push(answer.status().as_u16()),
                Err(error) => {
                    assert!(!error.is_connect(), "the request was sent: {error}");
                    statuses.push(0);
                }
            }
        }
        let requests = receiver.requests();
        assert_eq!(requests.len(), 31);
        assert_eq!(requests[0].body["text"], "one");
        assert_eq!(requests[0].answer, Answer::Accepted);
        for (request, status) in requests[1..].iter().zip(&statuses) {
            let expected = match request.answer {
                Answer::ServerError => 500,
                Answer::Throttled => 429,
                Answer::Dropped => 0,
                Answer::Accepted => 200,
            };
            assert_eq!(*status, expected, "{request:?}");
        }
    }
}
