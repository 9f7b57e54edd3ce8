//! Lambda's Invoke API, served by `make local` (`LOCAL_LAMBDA_ADDR`, default
//! 127.0.0.1:3001): `POST /2015-03-31/functions/{name}/invocations`, so `aws lambda invoke
//! --endpoint-url http://127.0.0.1:3001 --function-name <stack>-SweeperFunction …` and the
//! SDKs work locally as against a deployed stack. A function is named by its logical id,
//! `<stack>-<LogicalId>`, or a deployed name starting with `<stack>-<LogicalId>-` (SAM adds a
//! suffix). As Lambda answers: the result with 200; a function error with 200 and
//! `X-Amz-Function-Error: Unhandled`; an unknown function 404 `ResourceNotFoundException`;
//! a payload that is not JSON 400 `InvalidRequestContentException`. Requests are not
//! signature-checked here. `make local` serves the SQS triggers' event source mappings on
//! the same address ([`crate::event_source_mappings`]).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use lifecycle_adapters::aws::AwsClients;
use serde_json::{Value, json};

use crate::functions::FunctionSpec;
use crate::invocation::invoke;

/// The functions the API serves, and the stack they belong to.
struct Functions {
    stack_name: String,
    specs: Vec<(FunctionSpec, AwsClients)>,
}

impl Functions {
    /// The function `name` designates.
    fn find(&self, name: &str) -> Option<&(FunctionSpec, AwsClients)> {
        self.specs.iter().find(|(spec, _)| {
            let qualified = format!("{}-{}", self.stack_name, spec.logical_id);
            name == spec.logical_id
                || name == qualified
                || name.starts_with(&format!("{qualified}-"))
        })
    }
}

/// The Invoke API over `specs` (each with the clients its invocations use) of `stack_name`.
pub fn router(stack_name: &str, specs: Vec<(FunctionSpec, AwsClients)>) -> Router {
    let functions = Arc::new(Functions {
        stack_name: stack_name.to_owned(),
        specs,
    });
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invocation))
        .with_state(functions)
}

async fn invocation(
    State(functions): State<Arc<Functions>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let Some((spec, clients)) = functions.find(&name) else {
        return lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {name}"),
        );
    };
    let payload: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(payload) => payload,
            Err(error) => {
                return lambda_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContentException",
                    &format!("Could not parse request body into json: {error}"),
                );
            }
        }
    };
    match invoke(spec, clients, &payload).await {
        Ok(Ok(result)) => (StatusCode::OK, axum::Json(result)).into_response(),
        Ok(Err(error)) => {
            let mut response = (StatusCode::OK, axum::Json(error.payload())).into_response();
            response.headers_mut().insert(
                "X-Amz-Function-Error",
                HeaderValue::from_static("Unhandled"),
            );
            response
        }
        Err(not_invocable) => lambda_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &not_invocable,
        ),
    }
}

/// An error of the Invoke API itself, in Lambda's shape (`x-amzn-ErrorType` and a body with
/// `Type` and `message`), which the SDKs read into their typed errors.
fn lambda_error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    let mut response = (
        status,
        axum::Json(json!({"Type": "User", "message": message})),
    )
        .into_response();
    response
        .headers_mut()
        .insert("x-amzn-ErrorType", HeaderValue::from_static(error_type));
    response
}
