//! The `limit` and `nextToken` query parameters shared by the listing routes.

use std::collections::BTreeMap;

use lifecycle_adapters::store::PageToken;

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
    /// Reads `limit` (1 to [`MAX_PAGE`], default [`DEFAULT_PAGE`]) and `nextToken`; each
    /// problem goes into `fields` under its parameter's name.
    pub(crate) fn parse(
        limit: Option<&str>,
        next_token: Option<&str>,
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
        let start = match next_token.map(PageToken::parse) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bounds_and_bad_tokens() {
        let mut fields = BTreeMap::new();
        let page = PageRequest::parse(None, None, &mut fields);
        assert_eq!((page.limit, page.start.is_none()), (DEFAULT_PAGE, true));
        assert_eq!(
            PageRequest::parse(Some("100"), None, &mut fields).limit,
            100
        );
        assert_eq!(PageRequest::parse(Some("1"), None, &mut fields).limit, 1);
        assert!(fields.is_empty());
        for bad in ["0", "101", "ten", "-1"] {
            let mut fields = BTreeMap::new();
            PageRequest::parse(Some(bad), None, &mut fields);
            assert!(fields.contains_key("limit"), "{bad}");
        }
        PageRequest::parse(None, Some("not a token!"), &mut fields);
        assert!(fields.contains_key("nextToken"));
    }
}
