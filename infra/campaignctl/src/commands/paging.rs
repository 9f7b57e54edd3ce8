//! Listing routes page with `limit` and `nextToken`: one page, or with `--all` every page.

use serde_json::{Value, json};

use crate::cli::Page;
use crate::client::ApiClient;
use crate::exit::CliError;

/// The items under `key` of one page (or every page with `--all`), and the token of the
/// page after the last one read.
pub async fn list(
    client: &ApiClient,
    path: &str,
    mut query: Vec<(&str, String)>,
    key: &str,
    page: &Page,
) -> Result<(Value, Vec<Value>), CliError> {
    if let Some(limit) = page.limit {
        query.push(("limit", limit.to_string()));
    }
    let mut token = page.next_token.clone();
    let mut items = Vec::new();
    loop {
        let mut this_page = query.clone();
        if let Some(token) = &token {
            this_page.push(("nextToken", token.clone()));
        }
        let answer = client.get(path, &this_page).await?.body;
        items.extend(answer[key].as_array().cloned().unwrap_or_default());
        token = answer["nextToken"].as_str().map(str::to_owned);
        if !page.all || token.is_none() {
            let whole = json!({ key: items.clone(), "nextToken": token });
            return Ok((whole, items));
        }
    }
}

/// The footer telling people how to read on.
pub fn footer(whole: &Value) -> Option<String> {
    whole["nextToken"]
        .as_str()
        .map(|token| format!("more: --next-token {token} (or --all)"))
}
