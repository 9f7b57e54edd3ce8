//! The local runtime's HTTP API over real HTTP, behind its gate (`local_stack::api_auth`), as
//! API Gateway's IAM authorization answers: every route of `api::routes()` (sample path
//! parameters) refuses an unsigned request with 403 but `GET /health`; an operator key gets
//! 403 on every Admin route and 2xx on Operator routes; an admin key is refused nowhere; a
//! signature 6 minutes old, a tampered signature and an unknown key are 403; the signer
//! reaches the API (each key's `Idempotency-Key`s are its own). Requests are
//! signed with `api-signing`, the SDKs' signer. The API's calls are IAM-checked on drop.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use api::Access;
use api_signing::AccessKey;
use integration_tests::{LocalRun, TestStack};
use local_stack::credentials::{self, LocalCredentials};
use serde_json::Value;

/// How a request is signed.
#[derive(Clone, Copy)]
enum Signing<'a> {
    Unsigned,
    /// Signed with the key, `age` ago.
    By(&'a AccessKey, Duration),
    /// Signed, then one character of the signature changed.
    Tampered(&'a AccessKey),
}

struct Api {
    addr: SocketAddr,
    http: reqwest::Client,
}

impl Api {
    async fn send(
        &self,
        method: &str,
        path: &str,
        body: &str,
        signing: Signing<'_>,
    ) -> (u16, Value) {
        self.send_keyed(method, path, body, signing, None).await
    }

    /// [`Api::send`] with an optional `Idempotency-Key` (unsigned, as the SDKs leave it).
    async fn send_keyed(
        &self,
        method: &str,
        path: &str,
        body: &str,
        signing: Signing<'_>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let host = self.addr.to_string();
        let mut headers = vec![
            ("host".to_owned(), host.clone()),
            ("content-type".to_owned(), "application/json".to_owned()),
        ];
        if let Some(key) = idempotency_key {
            headers.push((api::IDEMPOTENCY_KEY.to_owned(), key.to_owned()));
        }
        let sign = |key: &AccessKey, at: SystemTime| {
            integration_tests::signature_headers(&host, key, method, path, body, at)
        };
        match signing {
            Signing::Unsigned => {}
            Signing::By(key, age) => headers.extend(sign(key, SystemTime::now() - age)),
            Signing::Tampered(key) => headers.extend(sign(key, SystemTime::now()).into_iter().map(
                |(name, value)| {
                    if name == "authorization" {
                        let last = if value.ends_with('0') { '1' } else { '0' };
                        (name, format!("{}{last}", &value[..value.len() - 1]))
                    } else {
                        (name, value)
                    }
                },
            )),
        }
        let mut request = self.http.request(
            method.parse().expect("a method"),
            format!("http://{}{path}", self.addr),
        );
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request
            .body(body.to_owned())
            .send()
            .await
            .expect("an answer");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// Every route with its path parameters filled in, its method and level.
fn requests() -> Vec<(String, String, Access)> {
    api::routes()
        .into_iter()
        .map(|(method, path, access)| {
            let path = path
                .split('/')
                .map(|part| {
                    if part.starts_with('{') {
                        "it-sample"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            (method.to_string(), path, access)
        })
        .collect()
}

fn body_of(method: &str) -> &'static str {
    if method == "GET" || method == "DELETE" {
        ""
    } else {
        "{}"
    }
}

/// The test stack's API function served by the local runtime with its gate, on a free port.
async fn serve(stack: &TestStack, keys: &LocalCredentials) -> (Api, LocalRun) {
    let (addr, running) = stack.serve_gated_api(keys).await;
    let api = Api {
        addr,
        http: reqwest::Client::new(),
    };
    (api, running)
}

fn message(answer: &Value) -> &str {
    answer["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn the_gate_refuses_what_api_gateway_refuses_and_admits_each_level_its_routes() {
    let stack = TestStack::new().await;
    let keys = credentials::generate();
    let operator = keys.key("campaign-operator").unwrap().clone();
    let admin = keys.key("campaign-admin").unwrap().clone();
    let (api, running) = serve(&stack, &keys).await;
    let now = Duration::ZERO;

    for (method, path, access) in requests() {
        let body = body_of(&method);
        let (status, answer) = api.send(&method, &path, body, Signing::Unsigned).await;
        if access == Access::Public {
            assert_ne!(status, 403, "{method} {path} is public: {answer}");
        } else {
            assert_eq!(
                (status, message(&answer)),
                (403, "Forbidden"),
                "unsigned {method} {path}"
            );
        }
        let (status, answer) = api
            .send(&method, &path, body, Signing::By(&admin, now))
            .await;
        assert_ne!(status, 403, "admin {method} {path}: {answer}");
        let (status, answer) = api
            .send(&method, &path, body, Signing::By(&operator, now))
            .await;
        if access == Access::Admin {
            assert_eq!(status, 403, "operator {method} {path}: {answer}");
            assert!(
                message(&answer).contains("is not authorized")
                    && !message(&answer).contains("arn:"),
                "{answer}"
            );
        } else {
            assert_ne!(status, 403, "operator {method} {path}: {answer}");
        }
    }

    // An operator's work: create a campaign, read it, list (a signed query string).
    let start = chrono_like(3600);
    let end = chrono_like(7200);
    let created = format!(r#"{{"name":"Signed","startAt":"{start}","endAt":"{end}"}}"#);
    let (status, campaign) = api
        .send("POST", "/campaigns", &created, Signing::By(&operator, now))
        .await;
    assert_eq!(status, 201, "{campaign}");
    let id = campaign["id"].as_str().unwrap();
    let (status, read) = api
        .send(
            "GET",
            &format!("/campaigns/{id}"),
            "",
            Signing::By(&operator, now),
        )
        .await;
    assert_eq!((status, read["id"].as_str()), (200, Some(id)));
    let (status, listed) = api
        .send(
            "GET",
            "/campaigns?status=SCHEDULED&limit=5",
            "",
            Signing::By(&operator, now),
        )
        .await;
    assert_eq!(status, 200, "{listed}");

    // The gate passes on who signed: the same Idempotency-Key is each key's own.
    let mut created_ids = Vec::new();
    for signer in [&operator, &admin, &operator] {
        let (status, campaign) = api
            .send_keyed(
                "POST",
                "/campaigns",
                &created,
                Signing::By(signer, now),
                Some("same-key"),
            )
            .await;
        assert_eq!(status, 201, "{campaign}");
        created_ids.push(campaign["id"].clone());
    }
    assert_ne!(
        created_ids[0], created_ids[1],
        "another signer's key is not a replay"
    );
    assert_eq!(
        created_ids[0], created_ids[2],
        "the same signer's retry is a replay"
    );

    let old = Duration::from_secs(6 * 60);
    let (status, answer) = api
        .send(
            "GET",
            "/campaigns?status=SCHEDULED",
            "",
            Signing::By(&admin, old),
        )
        .await;
    assert_eq!(status, 403);
    assert!(
        message(&answer).starts_with("Signature expired: "),
        "{answer}"
    );
    let (status, answer) = api
        .send("GET", "/recovery/report", "", Signing::Tampered(&admin))
        .await;
    assert_eq!(status, 403);
    assert!(
        message(&answer).starts_with("The request signature we calculated does not match"),
        "{answer}"
    );
    let stranger = credentials::generate()
        .key("campaign-admin")
        .unwrap()
        .clone();
    let (status, answer) = api
        .send("GET", "/recovery/report", "", Signing::By(&stranger, now))
        .await;
    assert_eq!(
        (status, message(&answer)),
        (
            403,
            "The security token included in the request is invalid."
        )
    );
    let (status, answer) = api
        .send("GET", "/no-such-route", "", Signing::By(&admin, now))
        .await;
    assert_eq!((status, message(&answer)), (404, "Not Found"));

    running.stop().await;
}

/// RFC 3339 UTC `seconds` from now.
fn chrono_like(seconds: u64) -> String {
    lifecycle_domain::Timestamp::now()
        .plus_millis(seconds as i64 * 1000)
        .to_rfc3339()
}
