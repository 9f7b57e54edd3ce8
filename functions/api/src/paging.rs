//! The `limit` and `nextToken` query parameters shared by the listing routes, and the
//! signature of every `nextToken` they hand out ([`ListingTokens`]).

use std::collections::BTreeMap;

use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::{InvalidPageToken, PageToken, PageTokenKey};

use crate::ApiError;

/// Page size when `limit` is not given.
pub(crate) const DEFAULT_PAGE: i32 = 25;
/// Largest accepted `limit`.
pub(crate) const MAX_PAGE: i32 = 100;

/// A page request: its size and where it starts.
#[derive(Debug, Clone)]
pub(crate) struct PageRequest {
    pub limit: i32,
    pub start: Option<PageToken>,
}

impl PageRequest {
    /// Reads `limit` (1 to [`MAX_PAGE`], default [`DEFAULT_PAGE`]) and `nextToken` (signed
    /// by `tokens`); each problem goes into `fields` under its parameter's name.
    pub(crate) fn parse(
        limit: Option<&str>,
        next_token: Option<&str>,
        tokens: &ListingTokens,
        fields: &mut BTreeMap<String, String>,
    ) -> Self {
        let limit = match limit.map(str::parse::<i32>) {
            None => DEFAULT_PAGE,
            Some(Ok(limit)) if (1..=MAX_PAGE).contains(&limit) => limit,
            Some(_) => {
                fields.insert(
                    "limit".into(),
                    format!("must be an integer from 1 to {MAX_PAGE}"),
                );
                DEFAULT_PAGE
            }
        };
        let start = match next_token.map(|t| tokens.open(t).and_then(|p| PageToken::parse(&p))) {
            None => None,
            Some(Ok(token)) => Some(token),
            Some(Err(error)) => {
                fields.insert("nextToken".into(), error.to_string());
                None
            }
        };
        Self { limit, start }
    }
}

/// The `nextToken`s of one listing (a route and the filter its query is built from): signed
/// with the table's page-token key, so a token of another listing, a crafted or a truncated
/// one is refused (400 on `nextToken`) before it reaches a query.
pub(crate) struct ListingTokens {
    key: PageTokenKey,
    scope: String,
}

impl ListingTokens {
    /// The tokens of the listing `scope`, with this instance's key (read once per instance).
    pub(crate) async fn of(app: &Services, scope: String) -> Result<Self, ApiError> {
        let key = app
            .page_token_keys
            .get(&app.store)
            .await
            .map_err(|e| ApiError::store(&e))?;
        Ok(Self {
            key: key.clone(),
            scope,
        })
    }

    /// The token handed out for `payload` (where the next page starts).
    pub(crate) fn seal(&self, payload: &str) -> String {
        self.key.sign(&self.scope, payload)
    }

    /// The payload of a token this listing handed out.
    pub(crate) fn open(&self, token: &str) -> Result<String, InvalidPageToken> {
        self.key.verify(&self.scope, token)
    }
}

#[cfg(test)]
mod tests {
    use lifecycle_adapters::store::PAGE_TOKEN_KEY_BYTES;

    use super::*;

    fn tokens(scope: &str) -> ListingTokens {
        ListingTokens {
            key: PageTokenKey::new(&[3; PAGE_TOKEN_KEY_BYTES]),
            scope: scope.into(),
        }
    }

    #[test]
    fn defaults_bounds_and_bad_tokens() {
        let tokens = tokens("/campaigns?status=RUNNING");
        let mut fields = BTreeMap::new();
        let page = PageRequest::parse(None, None, &tokens, &mut fields);
        assert_eq!((page.limit, page.start.is_none()), (DEFAULT_PAGE, true));
        assert_eq!(
            PageRequest::parse(Some("100"), None, &tokens, &mut fields).limit,
            100
        );
        assert_eq!(
            PageRequest::parse(Some("1"), None, &tokens, &mut fields).limit,
            1
        );
        assert!(fields.is_empty());
        for bad in ["0", "101", "ten", "-1"] {
            let mut fields = BTreeMap::new();
            PageRequest::parse(Some(bad), None, &tokens, &mut fields);
            assert!(fields.contains_key("limit"), "{bad}");
        }
        PageRequest::parse(None, Some("not a token!"), &tokens, &mut fields);
        assert!(fields.contains_key("nextToken"));
    }

    #[test]
    fn a_token_pages_only_the_listing_it_was_given_for() {
        // {"PK":"CAMPAIGN#1"}
        let key = PageToken::parse("eyJQSyI6IkNBTVBBSUdOIzEifQ").unwrap();
        let running = tokens("/campaigns?status=RUNNING");
        let sealed = running.seal(key.as_str());
        let mut fields = BTreeMap::new();
        let page = PageRequest::parse(None, Some(&sealed), &running, &mut fields);
        assert_eq!((page.start, fields.len()), (Some(key.clone()), 0));
        PageRequest::parse(None, Some(key.as_str()), &running, &mut fields);
        assert!(fields.contains_key("nextToken"), "an unsigned token");
        let mut fields = BTreeMap::new();
        PageRequest::parse(
            None,
            Some(&sealed),
            &tokens("/campaigns?status=CLOSED"),
            &mut fields,
        );
        assert!(fields.contains_key("nextToken"), "another listing's token");
    }
}
