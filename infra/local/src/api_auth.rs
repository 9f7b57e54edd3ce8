//! The local HTTP API's gate, as API Gateway runs it in front of the API function: a request
//! must match a route of the template's `HttpApi` events (else 404); a route whose event says
//! `Auth: {Authorizer: NONE}` (`GET /health`) passes as it is; every other needs a valid SigV4
//! signature ([`crate::sigv4`]) by a key of `.local/credentials` ([`crate::credentials`]), and
//! that key's managed policy in template.yaml (`OperatorAccessPolicy`, `AdminAccessPolicy`,
//! resolved with the local API id, region and account) must allow `execute-api:Invoke` on
//! `arn:aws:execute-api:<region>:<account>:<apiId>/$default/<METHOD><path>`. Refusals are 403
//! with API Gateway's body `{"message": "…"}`, and never name an ARN. An admitted request
//! carries its signer in the request context as API Gateway's IAM authorization gives it
//! (`authorizer.iam.userArn` = `arn:aws:iam::<account>:user/<profile>`).

use std::sync::Arc;
use std::time::SystemTime;

use api_signing::AccessKey;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use iam_policy::{Call, FunctionPolicy, Policy};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerIamDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use serde_yaml_ng::{Mapping, Value};

use crate::credentials::LocalCredentials;
use crate::provision::Stack;
use crate::sigv4::{self, Received};
use crate::template::LOCAL_ACCOUNT;

/// API Gateway's payload limit (10 MB): a larger body is refused with 413.
const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A route of the HTTP API, from a function's `HttpApi` event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HttpRoute {
    pub method: String,
    /// Path template (`/campaigns/{id}`).
    pub path: String,
    /// `Auth.Authorizer: NONE`: no signature needed.
    pub public: bool,
}

impl HttpRoute {
    fn matches(&self, method: &str, path: &str) -> bool {
        let (template, actual): (Vec<&str>, Vec<&str>) =
            (self.path.split('/').collect(), path.split('/').collect());
        self.method == method
            && template.len() == actual.len()
            && template
                .iter()
                .zip(&actual)
                .all(|(t, a)| t == a || (t.starts_with('{') && t.ends_with('}') && !a.is_empty()))
    }
}

/// Every `HttpApi` event of the stack's functions, as routes.
pub fn http_routes(stack: &Stack) -> Result<Vec<HttpRoute>, String> {
    let mut routes = Vec::new();
    for (logical_id, resource) in stack.template.resources_of("AWS::Serverless::Function") {
        let properties = stack
            .resolver
            .resolve(&resource.properties)
            .map_err(|e| format!("{logical_id}: {e}"))?;
        for (name, event) in properties
            .get("Events")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let field = |key: &str| {
                event
                    .get("Properties")
                    .and_then(|p| p.get(key))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{logical_id} event {name:?}: no {key}"))
            };
            routes.push(HttpRoute {
                method: field("Method")?.to_ascii_uppercase(),
                path: field("Path")?,
                public: event
                    .get("Properties")
                    .and_then(|p| p.get("Auth"))
                    .and_then(|a| a.get("Authorizer"))
                    .and_then(Value::as_str)
                    == Some("NONE"),
            });
        }
    }
    Ok(routes)
}

/// The policy document of the template's managed policy `logical_id`, resolved.
pub fn managed_policy(stack: &Stack, logical_id: &str) -> Result<Policy, String> {
    let resource = stack
        .template
        .resources
        .get(logical_id)
        .filter(|r| r.kind == "AWS::IAM::ManagedPolicy")
        .ok_or_else(|| format!("template.yaml has no AWS::IAM::ManagedPolicy {logical_id}"))?;
    let document = stack
        .resolver
        .resolve(
            resource
                .properties
                .get("PolicyDocument")
                .unwrap_or(&Value::Null),
        )
        .map_err(|e| format!("{logical_id}: {e}"))?;
    // A managed policy's document reads like an inline policy of a function.
    let mut properties = Mapping::new();
    properties.insert("Policies".into(), Value::Sequence(vec![document]));
    FunctionPolicy::from_sam_properties(&Value::Mapping(properties))
        .map_err(|e| format!("{logical_id}: {e}"))
}

/// A key the gate knows: who it is, its secret and its level's policy.
#[derive(Debug, Clone)]
struct Caller {
    profile: String,
    key: AccessKey,
    policy: Policy,
}

/// What the gate checks requests against.
#[derive(Debug, Clone)]
pub struct ApiAuth {
    region: String,
    /// `arn:aws:execute-api:<region>:<account>:<apiId>/$default/`.
    resource_prefix: String,
    routes: Vec<HttpRoute>,
    callers: Vec<Caller>,
}

impl ApiAuth {
    /// The gate of `stack`'s HTTP API (its one `AWS::Serverless::HttpApi`) for `credentials`.
    pub fn new(stack: &Stack, credentials: &LocalCredentials) -> Result<Self, String> {
        let apis: Vec<&str> = stack
            .template
            .resources_of("AWS::Serverless::HttpApi")
            .map(|(id, _)| id)
            .collect();
        let [api_id] = apis.as_slice() else {
            return Err(format!(
                "template.yaml needs exactly one AWS::Serverless::HttpApi, has {apis:?}"
            ));
        };
        let local_api_id = stack
            .reference(api_id)
            .ok_or_else(|| format!("{api_id} has no local id"))?;
        let callers = credentials
            .keys
            .iter()
            .map(|key| {
                Ok(Caller {
                    profile: key.profile.clone(),
                    key: key.key.clone(),
                    policy: managed_policy(stack, &key.policy)?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            region: stack.resolver.region.clone(),
            resource_prefix: format!(
                "arn:aws:execute-api:{}:{LOCAL_ACCOUNT}:{local_api_id}/$default/",
                stack.resolver.region
            ),
            routes: http_routes(stack)?,
            callers,
        })
    }

    /// The execute-api ARN a request acts on.
    pub fn resource(&self, method: &str, path: &str) -> String {
        format!("{}{method}{path}", self.resource_prefix)
    }

    /// `Ok` when the request may reach the API; otherwise API Gateway's status and message.
    fn admit(
        &self,
        received: &Received<'_>,
        path: &str,
        now: SystemTime,
    ) -> Result<Option<String>, (StatusCode, String)> {
        let Some(route) = self
            .routes
            .iter()
            .find(|route| route.matches(received.method, path))
        else {
            return Err((StatusCode::NOT_FOUND, "Not Found".into()));
        };
        if route.public {
            return Ok(None);
        }
        let key_id = sigv4::verify(received, now, &self.region, |id| {
            self.callers
                .iter()
                .find(|c| c.key.access_key_id == id)
                .map(|c| &c.key)
        })
        .map_err(|refusal| (StatusCode::FORBIDDEN, refusal.message()))?;
        let caller = self
            .callers
            .iter()
            .find(|c| c.key.access_key_id == key_id)
            .ok_or_else(|| (StatusCode::FORBIDDEN, "Forbidden".to_owned()))?;
        let call = Call {
            action: "execute-api:Invoke".into(),
            resource: self.resource(received.method, path),
        };
        if caller.policy.allows(&call) {
            Ok(Some(format!(
                "arn:aws:iam::{LOCAL_ACCOUNT}:user/{}",
                caller.profile
            )))
        } else {
            Err((
                StatusCode::FORBIDDEN,
                format!(
                    "User: {} is not authorized to perform: execute-api:Invoke on this resource",
                    caller.profile
                ),
            ))
        }
    }
}

/// API Gateway's error body.
fn answer(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

/// `router` behind the gate.
pub fn protect(router: Router, auth: Arc<ApiAuth>) -> Router {
    router.layer(axum::middleware::from_fn_with_state(auth, gate))
}

async fn gate(State(auth): State<Arc<ApiAuth>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large");
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let received = Received {
        method: parts.method.as_str(),
        path_and_query,
        headers: &parts.headers,
        body: &body,
    };
    let principal = match auth.admit(&received, parts.uri.path(), SystemTime::now()) {
        Ok(principal) => principal,
        Err((status, message)) => return answer(status, &message),
    };
    let mut parts = parts;
    if let Some(principal) = principal {
        parts.extensions.insert(signed_by(principal));
    }
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// The request context API Gateway's IAM authorization gives the function for a request
/// signed by `principal` (`requestContext.authorizer.iam.userArn`).
pub fn signed_by(principal: String) -> RequestContext {
    let mut iam = ApiGatewayRequestAuthorizerIamDescription::default();
    iam.user_arn = Some(principal);
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.iam = Some(iam);
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.authorizer = Some(authorizer);
    RequestContext::ApiGatewayV2(context)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_their_parameters_segment_by_segment() {
        let route = HttpRoute {
            method: "POST".into(),
            path: "/campaigns/{id}/cancel".into(),
            public: false,
        };
        assert!(route.matches("POST", "/campaigns/abc/cancel"));
        assert!(!route.matches("GET", "/campaigns/abc/cancel"));
        assert!(!route.matches("POST", "/campaigns//cancel"));
        assert!(!route.matches("POST", "/campaigns/a/b/cancel"));
        assert!(!route.matches("POST", "/campaigns/abc"));
    }
}
