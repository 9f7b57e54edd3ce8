//! The API client: builds each request's URL, signs it (SigV4, from the standard AWS
//! credential chain), gives every request that changes something an `Idempotency-Key`, and
//! retries throttled, failed or unanswered requests with the same key, so a retry never
//! applies a change twice.

use std::time::{Duration, SystemTime};

use reqwest::{Method, Url};
use serde_json::Value;

use crate::exit::CliError;
use crate::signing::Signer;

/// Attempts per request (the first and two retries).
const ATTEMPTS: u32 = 3;
/// The wait before the first retry; doubled for each next one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// A signed client of one API endpoint.
#[derive(Debug, Clone)]
pub struct ApiClient {
    base: Url,
    http: reqwest::Client,
    signer: Signer,
}

/// The API's answer to a request that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    /// The JSON body (`Null` when empty).
    pub body: Value,
}

impl ApiClient {
    /// A client of the API at `endpoint` (e.g. `http://127.0.0.1:3000` or the stack's
    /// `ApiUrl`), signing with `signer`.
    pub fn new(endpoint: &str, signer: Signer) -> Result<Self, CliError> {
        let base = Url::parse(endpoint.trim_end_matches('/'))
            .map_err(|e| CliError::Input(format!("--endpoint {endpoint}: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| CliError::Input(format!("HTTP client: {e}")))?;
        Ok(Self { base, http, signer })
    }

    /// `GET path?query`.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<ApiResponse, CliError> {
        self.send(Method::GET, path, query, None).await
    }

    /// `GET path` once, whatever its status (no retry, no error for 4xx/5xx).
    pub async fn get_once(&self, path: &str) -> Result<ApiResponse, CliError> {
        self.attempt(&Method::GET, &self.url(path, &[]), None, &[], true)
            .await
    }

    /// `method path` with a JSON `body`: an `Idempotency-Key` is generated once and kept
    /// across retries.
    pub async fn change(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<ApiResponse, CliError> {
        self.send(method, path, &[], body).await
    }

    /// The URL of `path` with `query` (empty values left out).
    pub fn url(&self, path: &str, query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        let base_path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base_path}{path}"));
        let pairs: Vec<_> = query.iter().filter(|(_, v)| !v.is_empty()).collect();
        if !pairs.is_empty() {
            let mut serializer = url.query_pairs_mut();
            for (name, value) in pairs {
                serializer.append_pair(name, value);
            }
        }
        url
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<ApiResponse, CliError> {
        let url = self.url(path, query);
        let body = body.map(Value::to_string).unwrap_or_default().into_bytes();
        let idempotency_key = (method != Method::GET).then(|| uuid::Uuid::new_v4().to_string());
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            let outcome = self
                .attempt(&method, &url, idempotency_key.as_deref(), &body, false)
                .await;
            let retry = match &outcome {
                Err(CliError::Unreachable(_)) => true,
                Err(CliError::Api { status, .. }) => *status == 429 || *status >= 500,
                _ => false,
            };
            if !retry || attempt >= ATTEMPTS {
                return outcome;
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        idempotency_key: Option<&str>,
        body: &[u8],
        any_status: bool,
    ) -> Result<ApiResponse, CliError> {
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let mut headers: Vec<(&str, &str)> = vec![("host", &host)];
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        if let Some(key) = idempotency_key {
            headers.push(("idempotency-key", key));
        }
        let signed = self
            .signer
            .headers(
                method.as_str(),
                url.as_str(),
                &headers,
                body,
                SystemTime::now(),
            )
            .map_err(|e| CliError::Input(e.to_string()))?;
        let mut request = self.http.request(method.clone(), url.clone());
        for (name, value) in headers.iter().filter(|(name, _)| *name != "host") {
            request = request.header(*name, *value);
        }
        for (name, value) in &signed {
            request = request.header(name, value);
        }
        let response = request
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| CliError::Unreachable(without_url(e)))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CliError::Unreachable(without_url(e)))?;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| {
                CliError::Unreachable(format!(
                    "answer {status} is not JSON; is --endpoint the API's URL?"
                ))
            })?
        };
        if status >= 400 && !any_status {
            return Err(api_error(status, &body));
        }
        Ok(ApiResponse { status, body })
    }
}

/// The error of an error answer: ours (`{"error":{…}}`) or API Gateway's (`{"message"}`).
pub fn api_error(status: u16, body: &Value) -> CliError {
    let error = &body["error"];
    let fields = error["fields"]
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(field, message)| {
                    (
                        field.clone(),
                        message.as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let code = error["code"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| match status {
            401 | 403 => "FORBIDDEN".to_owned(),
            429 => "THROTTLED".to_owned(),
            _ => format!("HTTP_{status}"),
        });
    let message = error["message"]
        .as_str()
        .or_else(|| body["message"].as_str())
        .unwrap_or("no message")
        .to_owned();
    CliError::Api {
        status,
        code,
        message,
        fields,
    }
}

/// A transport error's text without the request URL (kept short for people).
fn without_url(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection refused or no route"
    } else {
        "request failed"
    };
    format!("{kind} ({})", error.without_url())
}

#[cfg(test)]
mod tests {
    use aws_credential_types::Credentials;
    use serde_json::json;

    use super::*;

    fn client(endpoint: &str) -> ApiClient {
        let credentials = Credentials::new("AKID", "secret", None, None, "test");
        ApiClient::new(endpoint, Signer::new(credentials, "us-east-1")).unwrap()
    }

    #[test]
    fn urls_keep_the_stage_path_and_encode_the_query() {
        let staged = client("https://abc.execute-api.eu-west-1.amazonaws.com/prod/");
        let url = staged.url(
            "/campaigns",
            &[
                ("status", "ACTIVE".into()),
                ("nextToken", "a+b/c=".into()),
                ("limit", String::new()),
            ],
        );
        assert_eq!(
            url.as_str(),
            "https://abc.execute-api.eu-west-1.amazonaws.com/prod/campaigns?status=ACTIVE&nextToken=a%2Bb%2Fc%3D"
        );
        assert_eq!(
            client("http://127.0.0.1:3000").url("/health", &[]).as_str(),
            "http://127.0.0.1:3000/health"
        );
    }

    #[test]
    fn our_errors_and_api_gateways_are_read() {
        let ours = api_error(
            400,
            &json!({"error": {"code": "VALIDATION_FAILED", "message": "bad", "fields": {"name": "is required"}}}),
        );
        match ours {
            CliError::Api {
                status,
                code,
                message,
                fields,
            } => {
                assert_eq!(
                    (status, code.as_str(), message.as_str()),
                    (400, "VALIDATION_FAILED", "bad")
                );
                assert_eq!(fields, vec![("name".to_owned(), "is required".to_owned())]);
            }
            other => panic!("{other:?}"),
        }
        let gateway = api_error(403, &json!({"message": "Forbidden"}));
        assert_eq!(gateway.to_string(), "403 FORBIDDEN: Forbidden");
        assert_eq!(
            api_error(502, &Value::Null).to_string(),
            "502 HTTP_502: no message"
        );
    }
}
