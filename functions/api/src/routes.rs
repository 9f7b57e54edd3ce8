//! Every route of the API in one table — method, path, handler. The router is built from
//! it, and the OpenAPI document (`functions/api/openapi.json`, served at
//! `GET /openapi.json`) lists exactly these routes: a test compares the two.

use std::sync::Arc;

use axum::http::{Method, header};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, delete, get, post, put};
use lifecycle_adapters::services::Services;

use crate::{
    campaign_recovery, campaigns, configuration, consumers, dlq, health, recovery, resilience,
    runs, series, sweeps, test_actions,
};

/// The OpenAPI 3.1 document of every route.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Who may call a route. On AWS the HTTP API authorizes every route but the public ones
/// with IAM (SigV4), and template.yaml's managed policies grant each level its routes; the
/// local runtime checks the same policies. A test keeps the template equal to this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone who can reach the API (`GET /health`).
    Public,
    /// Operators: campaigns, runs and the read-only recovery routes.
    Operator,
    /// Admins: every route, including those that change how the service runs.
    Admin,
}

impl Access {
    /// The level's name, as template.yaml's policies and the OpenAPI document say it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }
}

/// A route: its method, its path (axum's `{param}` syntax, as OpenAPI's), who may call it,
/// its handler.
pub(crate) type Route = (Method, &'static str, Access, MethodRouter<Arc<Services>>);

/// Every route the API serves.
pub(crate) fn table() -> Vec<Route> {
    vec![
        (
            Method::POST,
            "/campaigns",
            Access::Operator,
            post(campaigns::create),
        ),
        (
            Method::GET,
            "/campaigns",
            Access::Operator,
            get(campaigns::list),
        ),
        (
            Method::GET,
            "/campaigns/{id}",
            Access::Operator,
            get(campaigns::get),
        ),
        (
            Method::POST,
            "/campaigns/{id}/cancel",
            Access::Operator,
            post(campaigns::cancel),
        ),
        (
            Method::GET,
            "/campaigns/{id}/timers",
            Access::Operator,
            get(campaigns::timers),
        ),
        (
            Method::GET,
            "/campaigns/{id}/runs",
            Access::Operator,
            get(runs::list),
        ),
        (
            Method::GET,
            "/campaigns/{id}/runs/{runId}/recipients",
            Access::Operator,
            get(runs::recipients),
        ),
        (
            Method::GET,
            "/campaigns/{id}/schedule",
            Access::Operator,
            get(series::preview_schedule),
        ),
        (
            Method::POST,
            "/campaigns/{id}/pause",
            Access::Operator,
            post(series::pause),
        ),
        (
            Method::POST,
            "/campaigns/{id}/resume",
            Access::Operator,
            post(series::resume),
        ),
        (Method::GET, "/health", Access::Public, get(health::health)),
        (
            Method::GET,
            "/recovery/patterns",
            Access::Admin,
            get(resilience::list_patterns),
        ),
        (
            Method::POST,
            "/recovery/patterns",
            Access::Admin,
            post(resilience::create_pattern),
        ),
        (
            Method::DELETE,
            "/recovery/patterns/{id}",
            Access::Admin,
            delete(resilience::delete_pattern),
        ),
        (
            Method::GET,
            "/recovery/circuit-breakers",
            Access::Operator,
            get(resilience::list_breakers),
        ),
        (
            Method::POST,
            "/recovery/circuit-breakers/{dependency}/reset",
            Access::Admin,
            post(resilience::reset_breaker),
        ),
        (
            Method::GET,
            "/recovery/events",
            Access::Operator,
            get(recovery::list_events),
        ),
        (
            Method::POST,
            "/recovery/events/{id}/resolve",
            Access::Operator,
            post(recovery::resolve_event),
        ),
        (
            Method::GET,
            "/recovery/statistics",
            Access::Operator,
            get(recovery::get_statistics),
        ),
        (
            Method::GET,
            "/recovery/report",
            Access::Operator,
            get(recovery::get_report),
        ),
        (
            Method::GET,
            "/recovery/sweeps",
            Access::Operator,
            get(sweeps::list),
        ),
        (
            Method::POST,
            "/recovery/trigger",
            Access::Admin,
            post(sweeps::trigger),
        ),
        (
            Method::POST,
            "/campaigns/recover",
            Access::Admin,
            post(campaign_recovery::recover),
        ),
        (
            Method::GET,
            "/recovery/dlq",
            Access::Operator,
            get(dlq::list_queues),
        ),
        (
            Method::GET,
            "/recovery/dlq/{queue}/messages",
            Access::Operator,
            get(dlq::peek),
        ),
        (
            Method::POST,
            "/recovery/dlq/{queue}/redrive",
            Access::Admin,
            post(dlq::redrive),
        ),
        (
            Method::GET,
            "/recovery/consumers",
            Access::Operator,
            get(consumers::list),
        ),
        (
            Method::POST,
            "/recovery/consumers/{name}/pause",
            Access::Admin,
            post(consumers::pause),
        ),
        (
            Method::POST,
            "/recovery/consumers/{name}/resume",
            Access::Admin,
            post(consumers::resume),
        ),
        (
            Method::GET,
            "/recovery/configuration",
            Access::Operator,
            get(configuration::get_configuration),
        ),
        (
            Method::PUT,
            "/recovery/configuration",
            Access::Admin,
            put(configuration::put_configuration),
        ),
        (
            Method::POST,
            "/recovery/test",
            Access::Admin,
            post(test_actions::run_test),
        ),
        (Method::GET, "/openapi.json", Access::Operator, get(openapi)),
    ]
}

/// Every route's method, path and access level.
pub fn routes() -> Vec<(Method, &'static str, Access)> {
    table()
        .into_iter()
        .map(|(method, path, access, _)| (method, path, access))
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
            .map(|(method, path, _)| (method.to_string(), path.to_owned()))
            .collect();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let not_served: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && not_served.is_empty(),
            "served, not documented: {undocumented:?}; documented, not served: {not_served:?}"
        );
    }

    #[test]
    fn each_operation_documents_its_access_level_and_signing() {
        let document: Value = serde_json::from_str(OPENAPI).unwrap();
        let schemes = &document["components"]["securitySchemes"];
        assert_eq!(schemes["sigv4"]["type"], "apiKey");
        assert_eq!(schemes["sigv4"]["x-amazon-apigateway-authtype"], "awsSigv4");
        for (method, path, access) in routes() {
            let operation = &document["paths"][path][method.as_str().to_lowercase()];
            assert_eq!(
                operation["x-access"].as_str(),
                Some(access.as_str()),
                "{method} {path}: x-access"
            );
            let signed = serde_json::json!([{ "sigv4": [] }]);
            if access == Access::Public {
                assert!(operation.get("security").is_none(), "{method} {path}");
            } else {
                assert_eq!(operation["security"], signed, "{method} {path}: security");
            }
        }
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

    #[test]
    fn every_changing_operation_takes_the_idempotency_key() {
        let document: Value = serde_json::from_str(OPENAPI).unwrap();
        let parameter = &document["components"]["parameters"]["IdempotencyKey"];
        assert_eq!(
            (&parameter["name"], &parameter["in"]),
            (&Value::from("Idempotency-Key"), &Value::from("header"))
        );
        let reference = Value::from("#/components/parameters/IdempotencyKey");
        for (method, path, _) in routes() {
            let operation = &document["paths"][path][method.as_str().to_lowercase()];
            let references = operation["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["$ref"] == reference));
            assert_eq!(
                references,
                method != Method::GET,
                "{method} {path}: the Idempotency-Key parameter on every non-GET operation only"
            );
            if method != Method::GET {
                for code in ["409", "422"] {
                    assert!(
                        operation["responses"][code].is_object(),
                        "{method} {path}: {code}"
                    );
                }
            }
        }
    }
}
