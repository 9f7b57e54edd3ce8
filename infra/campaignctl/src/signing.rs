//! The CLI's signer: the standard chain's credentials and region, signing each request as
//! API Gateway's IAM authorization expects (crate `api-signing`, the SDKs' own signer).

use std::time::SystemTime;

use aws_credential_types::Credentials;

/// Signs requests with one set of credentials for one region.
#[derive(Debug, Clone)]
pub struct Signer {
    credentials: Credentials,
    region: String,
}

impl Signer {
    /// A signer with `credentials` for `region`.
    pub fn new(credentials: Credentials, region: impl Into<String>) -> Self {
        Self {
            credentials,
            region: region.into(),
        }
    }

    /// The headers to add to a request of `method` to `url` with `headers` and `body`,
    /// signed at `time`.
    pub fn headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, api_signing::SigningError> {
        let request = api_signing::Request {
            method,
            uri: url,
            headers,
            body,
        };
        api_signing::sign_as(&request, &self.credentials, &self.region, time)
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn signer() -> Signer {
        Signer::new(
            Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"),
            "eu-west-1",
        )
    }

    fn authorization(headers: &[(String, String)]) -> &str {
        headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .map(|(_, value)| value.as_str())
            .expect("an authorization header")
    }

    #[test]
    fn the_signature_is_scoped_to_execute_api_in_the_region_at_the_given_time() {
        let time = UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let headers = signer()
            .headers("GET", "https://api.example/campaigns", &[], b"", time)
            .unwrap();
        let auth = authorization(&headers);
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/eu-west-1/execute-api/aws4_request"),
            "{auth}"
        );
        assert!(
            headers
                .iter()
                .any(|(n, v)| n == "x-amz-date" && v == "20261130T005320Z")
        );
    }

    #[test]
    fn the_body_method_and_path_change_the_signature() {
        let time = UNIX_EPOCH + Duration::from_secs(1_796_000_000);
        let sign = |method, url, body: &[u8]| {
            authorization(&signer().headers(method, url, &[], body, time).unwrap()).to_owned()
        };
        let base = sign("POST", "https://api.example/campaigns", b"{}");
        assert_eq!(base, sign("POST", "https://api.example/campaigns", b"{}"));
        assert_ne!(base, sign("POST", "https://api.example/campaigns", b"{ }"));
        assert_ne!(base, sign("PUT", "https://api.example/campaigns", b"{}"));
        assert_ne!(base, sign("POST", "https://api.example/campaign", b"{}"));
    }
}
