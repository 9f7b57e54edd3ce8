//! Opaque pagination tokens: a query's `LastEvaluatedKey` (string attributes only), as
//! URL-safe base64 of JSON ([`PageToken`]), and the signature every token the API hands out
//! carries ([`PageTokenKey`]): `<base64url payload>.<base64url HMAC-SHA256>`, the MAC over the
//! listing it belongs to and the payload, so a crafted, truncated, re-signed or borrowed
//! token is refused before it reaches a query.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Length of the signing key, in bytes.
pub const PAGE_TOKEN_KEY_BYTES: usize = 32;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageToken(String);

/// The token is not one this service issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not a valid page token")]
pub struct InvalidPageToken;

impl PageToken {
    /// Parses a token received from a client.
    pub fn parse(text: &str) -> Result<Self, InvalidPageToken> {
        let token = Self(text.to_owned());
        token.to_key().map(|_| token)
    }

    /// The token text to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The token of a query's `LastEvaluatedKey` (string attributes only).
    pub fn from_key(key: &HashMap<String, AttributeValue>) -> Option<Self> {
        let strings: BTreeMap<&str, &str> = key
            .iter()
            .filter_map(|(k, v)| v.as_s().ok().map(|s| (k.as_str(), s.as_str())))
            .collect();
        let json = serde_json::to_vec(&strings).ok()?;
        Some(Self(URL_SAFE_NO_PAD.encode(json)))
    }

    /// The `ExclusiveStartKey` this token stands for.
    pub fn to_key(&self) -> Result<HashMap<String, AttributeValue>, InvalidPageToken> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| InvalidPageToken)?;
        let strings: BTreeMap<String, String> =
            serde_json::from_slice(&bytes).map_err(|_| InvalidPageToken)?;
        if strings.is_empty() {
            return Err(InvalidPageToken);
        }
        Ok(strings
            .into_iter()
            .map(|(k, v)| (k, AttributeValue::S(v)))
            .collect())
    }
}

/// The key signing the API's page tokens (one per table, shared by every instance).
#[derive(Clone)]
pub struct PageTokenKey(Hmac<Sha256>);

/// Shows no key material.
impl std::fmt::Debug for PageTokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokenKey(..)")
    }
}

impl PageTokenKey {
    /// The key of `bytes`.
    pub fn new(bytes: &[u8; PAGE_TOKEN_KEY_BYTES]) -> Self {
        Self(<Hmac<Sha256> as KeyInit>::new_from_slice(bytes).expect("HMAC takes any key length"))
    }

    /// The signed token of `payload` for the listing `scope` (e.g. the route and its
    /// filter): `<base64url payload>.<base64url tag>`.
    pub fn sign(&self, scope: &str, payload: &str) -> String {
        let tag = self.tag(scope, payload.as_bytes()).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The payload of `token` if this key signed it for `scope`.
    pub fn verify(&self, scope: &str, token: &str) -> Result<String, InvalidPageToken> {
        let (payload, tag) = token.split_once('.').ok_or(InvalidPageToken)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| InvalidPageToken)?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| InvalidPageToken)?;
        self.tag(scope, &payload)
            .verify_slice(&tag)
            .map_err(|_| InvalidPageToken)?;
        String::from_utf8(payload).map_err(|_| InvalidPageToken)
    }

    fn tag(&self, scope: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(&(scope.len() as u64).to_be_bytes());
        mac.update(scope.as_bytes());
        mac.update(payload);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: &str = "/campaigns?status=RUNNING";

    fn key(byte: u8) -> PageTokenKey {
        PageTokenKey::new(&[byte; PAGE_TOKEN_KEY_BYTES])
    }

    #[test]
    fn a_signed_token_gives_its_payload_back() {
        let token = key(7).sign(SCOPE, "eyJQSyI6IkMifQ");
        assert_eq!(key(7).verify(SCOPE, &token).unwrap(), "eyJQSyI6IkMifQ");
    }

    #[test]
    fn flipping_any_byte_of_a_token_invalidates_it() {
        let token = key(7).sign(SCOPE, "1799999999000-abc");
        for i in 0..token.len() {
            for flip in [0x01u8, 0x20, 0x80] {
                let mut bytes = token.clone().into_bytes();
                bytes[i] ^= flip;
                let Ok(tampered) = String::from_utf8(bytes) else {
                    continue;
                };
                assert_eq!(
                    key(7).verify(SCOPE, &tampered),
                    Err(InvalidPageToken),
                    "byte {i} ^ {flip:#x}: {tampered}"
                );
            }
        }
    }

    #[test]
    fn truncated_resigned_and_borrowed_tokens_are_refused() {
        let token = key(7).sign(SCOPE, "1799999999000-abc");
        for cut in 0..token.len() {
            assert_eq!(
                key(7).verify(SCOPE, &token[..cut]),
                Err(InvalidPageToken),
                "{cut}"
            );
        }
        let resigned = key(8).sign(SCOPE, "1799999999000-abc");
        assert_eq!(key(7).verify(SCOPE, &resigned), Err(InvalidPageToken));
        assert_eq!(
            key(7).verify("/campaigns?status=CLOSED", &token),
            Err(InvalidPageToken)
        );
        let (payload, _) = token.split_once('.').unwrap();
        for bare in [payload.to_owned(), format!("{payload}."), String::new()] {
            assert_eq!(key(7).verify(SCOPE, &bare), Err(InvalidPageToken));
        }
    }

    #[test]
    fn the_debug_output_shows_no_key_material() {
        assert_eq!(format!("{:?}", key(7)), "PageTokenKey(..)");
    }

    #[test]
    fn round_trips_a_key() {
        let key: HashMap<String, AttributeValue> =
            [("PK".to_owned(), AttributeValue::S("CAMPAIGN#1".into()))]
                .into_iter()
                .collect();
        let token = PageToken::from_key(&key).unwrap();
        assert_eq!(
            PageToken::parse(token.as_str()).unwrap().to_key().unwrap(),
            key
        );
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(PageToken::parse("%%%"), Err(InvalidPageToken));
        assert_eq!(PageToken::parse("bm90anNvbg"), Err(InvalidPageToken));
    }
}
