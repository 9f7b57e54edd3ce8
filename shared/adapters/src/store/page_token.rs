//! Opaque pagination tokens: a query's `LastEvaluatedKey` (string attributes only), as
//! URL-safe base64 of JSON.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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

#[cfg(test)]
mod tests {
    use super::*;

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
