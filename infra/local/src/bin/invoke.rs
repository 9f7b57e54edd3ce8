//! `make invoke`: direct invocation of a function of the local stack, like
//! `aws lambda invoke` on AWS. Prints the function's JSON answer on stdout (logs go to
//! stderr), so `make -s invoke FUNCTION=SweeperFunction EVENT='{"dryRun":true}' | jq` works
//! while `make local` runs.
//!
//! Usage: `invoke <LogicalId> [event JSON]`. Functions: SweeperFunction (the recovery
//! report) and TimerDispatcherFunction (one tick's report). Environment as for `local`
//! (`AWS_ENDPOINT_URL`, `LOCAL_STACK_NAME`).

use std::process::ExitCode;

use lifecycle_adapters::aws::{AwsClients, RequestCounter};
use lifecycle_adapters::config::Config;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use local_stack::functions::functions;
use local_stack::{aws_env, provision_template};

/// A direct invocation's time budget, as the sweeper's Lambda timeout minus its margin.
const INVOCATION_BUDGET_MS: i64 = 115_000;

#[tokio::main]
async fn main() -> ExitCode {
    lifecycle_telemetry::logging::init_stderr();
    match run().await {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("invoke failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<String, String> {
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
    let config = Config::from_map(&spec.environment).map_err(|e| e.to_string())?;
    let services = Services::new(config, &clients, RequestCounter::new());
    let now = Timestamp::now();
    let answer = match spec.binary.as_str() {
        "sweeper" => {
            let request = sweeper::SweepRequest::from_event(&event)?;
            let stop_at = now.plus_millis(INVOCATION_BUDGET_MS);
            serde_json::to_value(sweeper::sweep(&services, &request, now, Some(stop_at)).await)
        }
        "timer-dispatcher" => serde_json::to_value(
            timer_dispatcher::dispatch(&services, now)
                .await
                .map_err(|e| e.to_string())?,
        ),
        other => return Err(format!("{function} ({other}) cannot be invoked directly")),
    };
    answer
        .and_then(|value| serde_json::to_string_pretty(&value))
        .map_err(|e| e.to_string())
}
