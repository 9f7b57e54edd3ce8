//! Invoking another function of the stack and waiting for its answer (Lambda `Invoke`,
//! `RequestResponse`): the API runs a sweep this way, so the sweep runs as the sweeper — its
//! role, its lease, its timeout — and the API only needs `lambda:InvokeFunction` on it. The
//! same code reaches a deployed function or the local runtime's Invoke API: the client's
//! endpoint comes from the standard configuration (`AWS_ENDPOINT_URL_LAMBDA`, read by the SDK
//! on AWS and, through the function's environment, by [`FunctionInvoker::new`] locally).

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::invoke::InvokeError as SdkInvokeError;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

/// One function of the stack, invoked synchronously.
#[derive(Debug, Clone)]
pub struct FunctionInvoker {
    client: aws_sdk_lambda::Client,
    function: String,
}

/// Why an invocation gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and failed (`X-Amz-Function-Error`); `payload` is its error document
    /// (`{"errorType","errorMessage"}`), for the logs only.
    #[error("the function failed ({kind}): {payload}")]
    FunctionFailed { kind: String, payload: String },
    /// The function does not exist (`ResourceNotFoundException`).
    #[error("no such function")]
    NotFound,
    /// Lambda could not be reached or refused the request (throttled, denied, timed out).
    #[error("the invocation failed: {0}")]
    Unavailable(String),
    /// The function answered something that is not JSON.
    #[error("the answer is not JSON: {0}")]
    BadAnswer(String),
}

impl FunctionInvoker {
    /// The function `function` (a name or an ARN) over `client`, sent to `endpoint` instead
    /// of the client's own when given (the local runtime's Invoke API).
    pub fn new(client: &aws_sdk_lambda::Client, function: &str, endpoint: Option<&str>) -> Self {
        let client = match endpoint {
            Some(url) => aws_sdk_lambda::Client::from_conf(
                client.config().to_builder().endpoint_url(url).build(),
            ),
            None => client.clone(),
        };
        Self {
            client,
            function: function.to_owned(),
        }
    }

    /// The function's name as configured.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// Invokes the function with `payload` and returns its JSON answer.
    pub async fn invoke(
        &self,
        payload: &serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError> {
        let output = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .map_err(|error| match &error {
                SdkError::ServiceError(service)
                    if matches!(service.err(), SdkInvokeError::ResourceNotFoundException(_)) =>
                {
                    InvokeError::NotFound
                }
                _ => InvokeError::Unavailable(
                    aws_smithy_types::error::display::DisplayErrorContext(&error).to_string(),
                ),
            })?;
        let body = output
            .payload()
            .map(|blob| blob.as_ref().to_vec())
            .unwrap_or_default();
        if let Some(kind) = output.function_error() {
            return Err(InvokeError::FunctionFailed {
                kind: kind.to_owned(),
                payload: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        serde_json::from_slice(&body).map_err(|error| InvokeError::BadAnswer(error.to_string()))
    }
}
