//! `make invoke`: direct invocation of a function of the local stack, like
//! `aws lambda invoke` on AWS (which `make local` also serves: `local_stack::lambda_api`),
//! through the same handler as its Lambda `main` (`local_stack::invocation`). Prints only the
//! function's JSON answer on stdout — or, when the invocation fails, Lambda's error payload
//! `{"errorType", "errorMessage"}` and exits 1 — while logs and metric lines go to stderr, so
//! `make -s invoke FUNCTION=SweeperFunction EVENT='{"dryRun":true}' | jq` works while
//! `make local` runs.
//!
//! Usage: `invoke <LogicalId> [event JSON]`. Functions: SweeperFunction (the recovery
//! report) and TimerDispatcherFunction (one tick's report). Environment as for `local`
//! (`AWS_ENDPOINT_URL`, `LOCAL_STACK_NAME`).

use std::process::ExitCode;

use lifecycle_adapters::aws::{AwsClients, RequestCounter};
use local_stack::functions::functions;
use local_stack::invocation::invoke;
use local_stack::{aws_env, provision_template};

#[tokio::main]
async fn main() -> ExitCode {
    lifecycle_telemetry::logging::init_stderr();
    match run().await {
        Ok(Ok(answer)) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Ok(Err(function_error)) => {
            println!("{function_error}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("invoke failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The function's answer (or its error payload); `Err` when it could not be invoked.
async fn run() -> Result<Result<String, String>, String> {
    let mut args = std::env::args().skip(1);
    let function = args
        .next()
        .ok_or("usage: invoke <LogicalId> [event JSON]")?;
    let event: serde_json::Value = match args.next() {
        Some(text) if !text.trim().is_empty() => {
            serde_json::from_str(&text).map_err(|e| format!("event is not JSON: {e}"))?
        }
        _ => serde_json::json!({}),
    };
    let stack_name =
        std::env::var("LOCAL_STACK_NAME").unwrap_or_else(|_| "campaign-lifecycle-local".into());
    let sdk_config = aws_env::sdk_config().await;
    let clients = AwsClients::from_sdk_config(&sdk_config, &RequestCounter::new());
    let stack = provision_template(&clients, &stack_name, &aws_env::region())
        .await
        .map_err(|e| format!("{e} (is the emulator running? `make emulator`)"))?;
    let specs = functions(&stack).map_err(|e| e.to_string())?;
    let spec = specs
        .iter()
        .find(|s| s.logical_id == function)
        .ok_or_else(|| {
            let names: Vec<&str> = specs.iter().map(|s| s.logical_id.as_str()).collect();
            format!(
                "no function {function} in template.yaml ({})",
                names.join(", ")
            )
        })?;
    // Metric lines go to the log (stderr): `invoke` runs the function with text logs.
    let answer = match invoke(spec, &clients, &event).await? {
        Ok(answer) => answer,
        Err(error) => return Ok(Err(error.payload().to_string())),
    };
    serde_json::to_string_pretty(&answer)
        .map(Ok)
        .map_err(|e| e.to_string())
}
