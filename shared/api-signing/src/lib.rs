//! SigV4 signing of requests to the campaign-lifecycle HTTP API, exactly as the AWS SDKs and
//! CLI sign them for API Gateway (service `execute-api`, signature in the `Authorization`
//! header, `x-amz-date`, the body's SHA-256 in the canonical request). The local runtime's
//! verifier recomputes signatures with [`sign`], the integration tests and the harnesses sign
//! with it, and so does `campaignctl`. [`sign_for_service`] signs for another service: the
//! adapters' CloudWatch reader sends its one JSON-protocol request with it.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// The signing name of API Gateway's execute API.
pub const SERVICE: &str = "execute-api";

/// An access key: its id and secret.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// A request could not be signed (a URI or header the signer refuses).
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the request: {0}")]
pub struct SigningError(String);

/// What to sign: the request as it will be sent.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// The URL, or the path and query alone when `headers` has `host`; already
    /// percent-encoded.
    pub uri: &'a str,
    /// Headers to sign besides `host` and `x-amz-date` (e.g. `content-type`).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

/// The headers that sign `request` with `key` for `region` at `time`: `authorization` and
/// `x-amz-date` (and `host` is signed from the URL unless given). Add them to the request.
/// Signs as the SDKs do, so `user-agent` and the other headers they leave out are not signed.
pub fn sign(
    request: &Request<'_>,
    key: &AccessKey,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SigningError> {
    sign_with(
        request,
        &key.credentials(),
        region,
        time,
        SigningSettings::default(),
    )
}

/// Like [`sign`], with credentials from the AWS credential chain (a session token, when
/// they have one, is signed as `x-amz-security-token`).
pub fn sign_as(
    request: &Request<'_>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SigningError> {
    sign_with(
        request,
        credentials,
        region,
        time,
        SigningSettings::default(),
    )
}

/// Like [`sign_as`], for the AWS service whose signing name is `service` (`monitoring` for
/// CloudWatch).
pub fn sign_for_service(
    request: &Request<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<Vec<(String, String)>, SigningError> {
    sign_as_service(
        request,
        credentials,
        region,
        service,
        time,
        SigningSettings::default(),
    )
}

/// The `authorization` header of `request` signed over exactly its `headers` (plus `host` and
/// `x-amz-date`), none left out: what a verifier recomputes from the headers a request says
/// it signed.
pub fn recompute_authorization(
    request: &Request<'_>,
    key: &AccessKey,
    region: &str,
    time: SystemTime,
) -> Result<String, SigningError> {
    let mut settings = SigningSettings::default();
    settings.excluded_headers = Some(Vec::new());
    sign_with(request, &key.credentials(), region, time, settings)?
        .into_iter()
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value)
        .ok_or_else(|| SigningError("the signer gave no authorization header".into()))
}

impl AccessKey {
    fn credentials(&self) -> Credentials {
        Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            None,
            None,
            "campaign-lifecycle",
        )
    }
}

fn sign_with(
    request: &Request<'_>,
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<Vec<(String, String)>, SigningError> {
    sign_as_service(request, credentials, region, SERVICE, time, settings)
}

fn sign_as_service(
    request: &Request<'_>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    settings: SigningSettings,
) -> Result<Vec<(String, String)>, SigningError> {
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| SigningError(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        request.method,
        request.uri,
        request.headers.iter().copied(),
        SignableBody::Bytes(request.body),
    )
    .map_err(|e| SigningError(e.to_string()))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| SigningError(e.to_string()))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn key() -> AccessKey {
        AccessKey {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        }
    }

    /// AWS's published SigV4 test suite case `get-vanilla`
    /// (service `service`, 20150830T123600Z), signed through the same code path.
    #[test]
    fn signs_as_the_published_examples() {
        let identity: Identity =
            Credentials::new("AKIDEXAMPLE", key().secret_access_key, None, None, "t").into();
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("service")
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            "GET",
            "https://example.amazonaws.com/",
            std::iter::empty(),
            SignableBody::empty(),
        )
        .unwrap();
        let (_, signature) = aws_sigv4::http_request::sign(signable, &params)
            .unwrap()
            .into_parts();
        assert_eq!(
            signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn signs_host_date_and_the_given_headers_for_execute_api() {
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let headers = sign(
            &Request {
                method: "POST",
                uri: "http://127.0.0.1:3000/campaigns?limit=1",
                headers: &[("content-type", "application/json")],
                body: b"{}",
            },
            &key(),
            "eu-west-1",
            time,
        )
        .unwrap();
        let authorization = &headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1;
        assert!(authorization.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/execute-api/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
        ));
        assert!(headers.contains(&("x-amz-date".to_owned(), "20150830T123600Z".to_owned())));
    }
}
