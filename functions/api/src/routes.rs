//! Every route of the API in one table — method, path, handler. The router is built from
//! it, and the OpenAPI document (`functions/api/openapi.json`, served at
//! `GET /openapi.json`) lists exactly these routes: a test compares the two.

use std::sync::Arc;

use axum::http::{Method, header};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, delete, get, post};
use lifecycle_adapters::services::Services;

use crate::{campaigns, health, recovery, resilience, runs, series};

/// The OpenAPI 3.1 document of every route.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// A route: its method, its path (axum's `{param}` syntax, as OpenAPI's), its handler.
pub(crate) type Route = (Method, &'static str, MethodRouter<Arc<Services>>);

/// Every route the API serves.
pub(crate) fn table() -> Vec<Route> {
    vec![
        (Method::POST, "/campaigns", post(campaigns::create)),
        (Method::GET, "/campaigns", get(campaigns::list)),
        (Method::GET, "/campaigns/{id}", get(campaigns::get)),
        (
            Method::POST,
            "/campaigns/{id}/cancel",
            post(campaigns::cancel),
        ),
        (
            Method::GET,
            "/campaigns/{id}/timers",
            get(campaigns::timers),
        ),
        (Method::GET, "/campaigns/{id}/runs", get(runs::list)),
        (
            Method::GET,
            "/campaigns/{id}/runs/{runId}/recipients",
            get(runs::recipients),
        ),
        (
            Method::GET,
            "/campaigns/{id}/schedule",
            get(series::preview_schedule),
        ),
        (Method::POST, "/campaigns/{id}/pause", post(series::pause)),
        (Method::POST, "/campaigns/{id}/resume", post(series::resume)),
        (Method::GET, "/health", get(health::health)),
        (
            Method::GET,
            "/failure-patterns",
            get(resilience::list_patterns),
        ),
        (
            Method::POST,
            "/failure-patterns",
            post(resilience::create_pattern),
        ),
        (
            Method::DELETE,
            "/failure-patterns/{id}",
            delete(resilience::delete_pattern),
        ),
        (
            Method::GET,
            "/circuit-breakers",
            get(resilience::list_breakers),
        ),
        (
            Method::POST,
            "/circuit-breakers/{dependency}/reset",
            post(resilience::reset_breaker),
        ),
        (Method::GET, "/recovery/events", get(recovery::list_events)),
        (
            Method::POST,
            "/recovery/events/{id}/resolve",
            post(recovery::resolve_event),
        ),
        (
            Method::GET,
            "/recovery/statistics",
            get(recovery::get_statistics),
        ),
        (Method::GET, "/recovery/report", get(recovery::get_report)),
        (Method::GET, "/openapi.json", get(openapi)),
    ]
}

/// Every route's method and path.
pub fn routes() -> Vec<(Method, &'static str)> {
    table()
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect()
}

/// `GET /openapi.json`: the OpenAPI document of every route.
async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::*;

    #[test]
    fn the_document_lists_exactly_the_routes_the_router_serves() {
        let document: Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        assert!(
            document["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.1"))
        );
        let mut documented = BTreeSet::new();
        for (path, operations) in document["paths"].as_object().expect("paths") {
            for (method, operation) in operations.as_object().expect("operations") {
                if method == "parameters" {
                    continue;
                }
                assert!(
                    operation["responses"].is_object() && operation["summary"].is_string(),
                    "{method} {path}: a summary and responses"
                );
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let served: BTreeSet<(String, String)> = routes()
            .into_iter()
            .map(|(method, path)| (method.to_string(), path.to_owned()))
            .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let not_served: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && not_served.is_empty(),
            "served, not documented: {undocumented:?}; documented, not served: {not_served:?}"
        );
    }

    #[test]
    fn every_path_parameter_is_documented() {
        let document: Value = serde_json::from_str(OPENAPI).unwrap();
        for (path, operations) in document["paths"].as_object().unwrap() {
            let in_path: BTreeSet<&str> = path
                .split('/')
                .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let documented: BTreeSet<&str> = operations["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(in_path, documented, "{path}");
        }
    }
}
