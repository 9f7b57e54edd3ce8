//! Direct invocation of a function, as Lambda's Invoke API runs it: the function's handler
//! with a JSON payload, through the same code as its Lambda `main`, answering its JSON result
//! or Lambda's error payload. The functions a person invokes by hand: the sweeper (a
//! recovery report; `{"dryRun":true,"steps":[…]}`) and the dispatcher (one tick's report).

use lifecycle_adapters::aws::{AwsClients, RequestCounter};
use lifecycle_adapters::config::Config;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use serde_json::{Value, json};

use crate::functions::FunctionSpec;
use crate::runtime::local_environment;

/// Binaries that can be invoked directly.
pub const INVOCABLE: [&str; 2] = ["sweeper", "timer-dispatcher"];

/// A failed invocation, as Lambda answers it: `{"errorType", "errorMessage"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// e.g. `BadRequest`, `SweepFailed`.
    pub error_type: String,
    /// What went wrong.
    pub message: String,
}

impl FunctionError {
    fn new(error_type: &str, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.to_owned(),
            message: message.into(),
        }
    }

    /// Lambda's error payload.
    pub fn payload(&self) -> Value {
        json!({"errorType": self.error_type, "errorMessage": self.message})
    }
}

/// Invokes `spec`'s function with `payload` over `clients`. `Err` when the function is not
/// invocable or its configuration is invalid (nothing ran).
pub async fn invoke(
    spec: &FunctionSpec,
    clients: &AwsClients,
    payload: &Value,
) -> Result<Result<Value, FunctionError>, String> {
    if !INVOCABLE.contains(&spec.binary.as_str()) {
        return Err(format!(
            "{} ({}) cannot be invoked directly; these can: {}",
            spec.logical_id,
            spec.binary,
            INVOCABLE.join(", ")
        ));
    }
    let config = Config::from_map(&local_environment(spec)).map_err(|e| e.to_string())?;
    let services = Services::new(config, clients, RequestCounter::new());
    let deadline = Timestamp::now().plus_millis(spec.timeout.as_millis() as i64);
    let answer = if spec.binary == "sweeper" {
        match sweeper::handle(&services, payload, deadline).await {
            Ok(report) => serde_json::to_value(report),
            Err(error @ sweeper::SweepError::BadRequest(_)) => {
                return Ok(Err(FunctionError::new("BadRequest", error.to_string())));
            }
            Err(error) => return Ok(Err(FunctionError::new("SweepFailed", error.to_string()))),
        }
    } else {
        match timer_dispatcher::handle(&services).await {
            Ok(report) => serde_json::to_value(report),
            Err(error) => return Ok(Err(FunctionError::new("DispatchFailed", error))),
        }
    };
    Ok(answer.map_err(|e| FunctionError::new("Serialization", e.to_string())))
}
