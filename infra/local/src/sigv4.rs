//! Verifying a SigV4-signed request as API Gateway's IAM authorization does: the
//! `Authorization` header (`AWS4-HMAC-SHA256 Credential=<key>/<yyyymmdd>/<region>/execute-api/aws4_request,
//! SignedHeaders=…, Signature=…`), `X-Amz-Date` within 5 minutes of now either way, a known
//! key, and the signature recomputed with the SDKs' own signer (`api-signing`) over the
//! headers it names, the canonical request and the body's hash. Refusals carry API Gateway's
//! messages.

use std::time::{Duration, SystemTime};

use api_signing::{AccessKey, Request, SERVICE, recompute_authorization};
use axum::http::HeaderMap;
use chrono::{DateTime, NaiveDateTime, Utc};

/// How far `X-Amz-Date` may be from now, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Why a request is refused (each is a 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header or date that cannot be read.
    Malformed(String),
    /// `X-Amz-Date` more than [`MAX_SKEW`] before now.
    Expired { date: String, now: String },
    /// `X-Amz-Date` more than [`MAX_SKEW`] after now.
    NotYetCurrent { date: String, now: String },
    /// An access key nobody issued.
    UnknownKey,
    /// The recomputed signature differs.
    Mismatch,
}

impl Refusal {
    /// API Gateway's `message` for this refusal.
    pub fn message(&self) -> String {
        let shifted = |now: &str, forward: bool| {
            parse_date(now)
                .map(|t| {
                    let skew = chrono::Duration::seconds(MAX_SKEW.as_secs() as i64);
                    let t = if forward { t + skew } else { t - skew };
                    t.format(DATE_FORMAT).to_string()
                })
                .unwrap_or_default()
        };
        match self {
            Self::Missing => "Forbidden".into(),
            Self::Malformed(problem) => problem.clone(),
            Self::Expired { date, now } => format!(
                "Signature expired: {date} is now earlier than {} ({now} - 5 min.)",
                shifted(now, false)
            ),
            Self::NotYetCurrent { date, now } => format!(
                "Signature not yet current: {date} is still later than {} ({now} + 5 min.)",
                shifted(now, true)
            ),
            Self::UnknownKey => "The security token included in the request is invalid.".into(),
            Self::Mismatch => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        }
    }
}

/// A request as received.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    pub method: &'a str,
    /// Path and query, as sent (percent-encoded).
    pub path_and_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorization<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse_authorization<'a>(header: &'a str) -> Result<Authorization<'a>, Refusal> {
    let malformed = |what: &str| Refusal::Malformed(what.to_owned());
    let rest = header
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.starts_with(' '))
        .ok_or_else(|| {
            malformed("Authorization header requires the AWS4-HMAC-SHA256 algorithm.")
        })?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        match part.split_once('=') {
            Some(("Credential", value)) => credential = Some(value),
            Some(("SignedHeaders", value)) => signed_headers = Some(value),
            Some(("Signature", value)) => signature = Some(value),
            _ => {}
        }
    }
    let require = |value: Option<&'a str>, name: &str| {
        value.filter(|v| !v.is_empty()).ok_or_else(|| {
            Refusal::Malformed(format!("Authorization header requires '{name}' parameter."))
        })
    };
    let credential = require(credential, "Credential")?;
    let signed_headers = require(signed_headers, "SignedHeaders")?;
    let signature = require(signature, "Signature")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(malformed(
            "Credential should be scoped to <key>/<date>/<region>/<service>/aws4_request.",
        ));
    };
    Ok(Authorization {
        access_key_id,
        date,
        region,
        service,
        signed_headers,
        signature,
    })
}

fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, DATE_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// Verifies `request` at `now` for `region`, looking keys up with `key_of`; returns the
/// access key id that signed it.
pub fn verify<'k>(
    request: &Received<'_>,
    now: SystemTime,
    region: &str,
    key_of: impl Fn(&str) -> Option<&'k AccessKey>,
) -> Result<String, Refusal> {
    let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = parse_authorization(header("authorization").ok_or(Refusal::Missing)?)?;
    if authorization.service != SERVICE {
        return Err(Refusal::Malformed(format!(
            "Credential should be scoped to correct service: '{SERVICE}'."
        )));
    }
    if authorization.region != region {
        return Err(Refusal::Malformed(format!(
            "Credential should be scoped to a valid region, not '{}'.",
            authorization.region
        )));
    }
    let date_text = header("x-amz-date").ok_or_else(|| {
        Refusal::Malformed(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        )
    })?;
    let date = parse_date(date_text).ok_or_else(|| {
        Refusal::Malformed(format!("X-Amz-Date {date_text:?} is not yyyyMMddTHHmmssZ."))
    })?;
    let now_utc = DateTime::<Utc>::from(now);
    let skew = chrono::Duration::seconds(MAX_SKEW.as_secs() as i64);
    let now_text = now_utc.format(DATE_FORMAT).to_string();
    if date < now_utc - skew {
        return Err(Refusal::Expired {
            date: date_text.to_owned(),
            now: now_text,
        });
    }
    if date > now_utc + skew {
        return Err(Refusal::NotYetCurrent {
            date: date_text.to_owned(),
            now: now_text,
        });
    }
    let key = key_of(authorization.access_key_id).ok_or(Refusal::UnknownKey)?;
    let signed: Vec<&str> = authorization.signed_headers.split(';').collect();
    if !signed.contains(&"host") {
        return Err(Refusal::Mismatch);
    }
    let mut headers = Vec::new();
    for name in signed
        .iter()
        .filter(|name| !matches!(**name, "authorization" | "x-amz-date"))
    {
        let values = request.headers.get_all(*name);
        if values.iter().next().is_none() {
            return Err(Refusal::Mismatch);
        }
        for value in values {
            headers.push((*name, value.to_str().map_err(|_| Refusal::Mismatch)?));
        }
    }
    let recomputed = recompute_authorization(
        &Request {
            method: request.method,
            uri: request.path_and_query,
            headers: &headers,
            body: request.body,
        },
        key,
        region,
        SystemTime::from(date),
    )
    .map_err(|_| Refusal::Mismatch)?;
    let expected = parse_authorization(&recomputed).map_err(|_| Refusal::Mismatch)?;
    let same = expected.date == authorization.date
        && expected.signed_headers == authorization.signed_headers
        && constant_time_eq(expected.signature, authorization.signature);
    if same {
        Ok(authorization.access_key_id.to_owned())
    } else {
        Err(Refusal::Mismatch)
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |difference, (x, y)| difference | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderName, HeaderValue};

    use super::*;

    const REGION: &str = "us-east-1";

    fn key() -> AccessKey {
        AccessKey {
            access_key_id: "AKIALOCALTEST0000001".into(),
            secret_access_key: "secretsecretsecretsecretsecretsecret0000".into(),
        }
    }

    struct Signed {
        method: String,
        path_and_query: String,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    fn signed(method: &str, path_and_query: &str, body: &[u8], at: SystemTime) -> Signed {
        let host = [
            ("host", "127.0.0.1:3000"),
            ("content-type", "application/json"),
        ];
        let signing = api_signing::sign(
            &Request {
                method,
                uri: path_and_query,
                headers: &host,
                body,
            },
            &key(),
            REGION,
            at,
        )
        .unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in host
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .chain(signing)
        {
            headers.append(
                HeaderName::try_from(name).unwrap(),
                HeaderValue::try_from(value).unwrap(),
            );
        }
        Signed {
            method: method.into(),
            path_and_query: path_and_query.into(),
            headers,
            body: body.to_vec(),
        }
    }

    fn check(request: &Signed, now: SystemTime) -> Result<String, Refusal> {
        let key = key();
        verify(
            &Received {
                method: &request.method,
                path_and_query: &request.path_and_query,
                headers: &request.headers,
                body: &request.body,
            },
            now,
            REGION,
            |id| (id == key.access_key_id).then_some(&key),
        )
    }

    fn request() -> Signed {
        signed(
            "POST",
            "/campaigns/abc/cancel?force=1",
            b"{\"a\":1}",
            SystemTime::now(),
        )
    }

    #[test]
    fn a_signed_request_verifies() {
        assert_eq!(
            check(&request(), SystemTime::now()),
            Ok(key().access_key_id)
        );
    }

    #[test]
    fn tampering_with_anything_signed_fails() {
        let now = SystemTime::now();
        let mut path = request();
        path.path_and_query = "/campaigns/abd/cancel?force=1".into();
        let mut query = request();
        query.path_and_query = "/campaigns/abc/cancel?force=2".into();
        let mut body = request();
        body.body = b"{\"a\":2}".to_vec();
        let mut method = request();
        method.method = "DELETE".into();
        let mut header = request();
        header
            .headers
            .insert("content-type", HeaderValue::from_static("text/plain"));
        let mut date = request();
        let later = DateTime::<Utc>::from(now + Duration::from_secs(1));
        date.headers.insert(
            "x-amz-date",
            HeaderValue::try_from(later.format(DATE_FORMAT).to_string()).unwrap(),
        );
        for tampered in [path, query, body, method, header, date] {
            assert_eq!(check(&tampered, now), Err(Refusal::Mismatch));
        }
    }

    #[test]
    fn dates_more_than_five_minutes_away_are_refused_either_way() {
        let now = SystemTime::now();
        let old = signed("GET", "/campaigns", b"", now - Duration::from_secs(6 * 60));
        let refusal = check(&old, now).unwrap_err();
        assert!(matches!(refusal, Refusal::Expired { .. }));
        assert!(
            refusal.message().starts_with("Signature expired: "),
            "{}",
            refusal.message()
        );
        let future = signed("GET", "/campaigns", b"", now + Duration::from_secs(6 * 60));
        assert!(matches!(
            check(&future, now),
            Err(Refusal::NotYetCurrent { .. })
        ));
        let recent = signed("GET", "/campaigns", b"", now - Duration::from_secs(4 * 60));
        assert!(check(&recent, now).is_ok());
    }

    #[test]
    fn missing_unknown_and_malformed_are_refused() {
        let now = SystemTime::now();
        let mut missing = request();
        missing.headers.remove("authorization");
        assert_eq!(check(&missing, now), Err(Refusal::Missing));
        assert_eq!(Refusal::Missing.message(), "Forbidden");
        let mut unknown = request();
        let other = unknown.headers["authorization"]
            .to_str()
            .unwrap()
            .replace("AKIALOCALTEST0000001", "AKIALOCALTEST0000002");
        unknown
            .headers
            .insert("authorization", HeaderValue::try_from(other).unwrap());
        assert_eq!(check(&unknown, now), Err(Refusal::UnknownKey));
        let mut region = request();
        let elsewhere = region.headers["authorization"]
            .to_str()
            .unwrap()
            .replace("/us-east-1/", "/eu-west-1/");
        region
            .headers
            .insert("authorization", HeaderValue::try_from(elsewhere).unwrap());
        assert!(matches!(check(&region, now), Err(Refusal::Malformed(_))));
        let mut garbage = request();
        garbage
            .headers
            .insert("authorization", HeaderValue::from_static("Bearer x"));
        assert!(matches!(check(&garbage, now), Err(Refusal::Malformed(_))));
    }
}
