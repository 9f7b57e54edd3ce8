//! `campaignctl invoke …`: runs the sweeper or the dispatcher by hand through Lambda's Invoke
//! API — the deployed function on AWS, or the local runtime's (`--lambda-endpoint`).

use aws_sdk_lambda::primitives::Blob;
use serde_json::{Value, json};

use crate::cli::{Invocable, InvokeArgs};
use crate::exit::CliError;
use crate::output::Output;
use crate::target::{self, DISPATCHER_OUTPUT, SWEEPER_OUTPUT, TargetArgs};

/// Invokes the function and prints its answer; a function error exits with code 6.
pub async fn run(target_args: &TargetArgs, out: Output, args: InvokeArgs) -> Result<(), CliError> {
    let config = target::sdk_config(target_args).await;
    let (output_key, logical_id) = match args.function {
        Invocable::Sweeper => (SWEEPER_OUTPUT, "SweeperFunction"),
        Invocable::Dispatcher => (DISPATCHER_OUTPUT, "TimerDispatcherFunction"),
    };
    let name = target::function_name(
        target_args,
        &config,
        args.function_name.as_deref(),
        output_key,
        logical_id,
    )
    .await?;
    let payload = payload(&args)?;
    let answer = target::lambda_client(target_args, &config)
        .invoke()
        .function_name(&name)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .map_err(|e| {
            CliError::Unreachable(format!(
                "invoking {name}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            ))
        })?;
    let body: Value = answer
        .payload()
        .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
        .unwrap_or(Value::Null);
    if let Some(kind) = answer.function_error() {
        let message = body["errorMessage"].as_str().unwrap_or(kind).to_owned();
        return Err(CliError::FunctionFailed(format!("{name}: {message}")));
    }
    out.record(&body);
    Ok(())
}

/// The invocation's payload: the sweeper's request, or the dispatcher's empty event.
fn payload(args: &InvokeArgs) -> Result<Value, CliError> {
    match args.function {
        Invocable::Sweeper => {
            let mut request = json!({ "dryRun": args.dry_run });
            if !args.steps.is_empty() {
                request["steps"] = Value::from(args.steps.clone());
            }
            Ok(request)
        }
        Invocable::Dispatcher if args.dry_run || !args.steps.is_empty() => Err(CliError::Input(
            "--dry-run and --step are the sweeper's; the dispatcher takes neither".into(),
        )),
        Invocable::Dispatcher => Ok(json!({})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(function: Invocable, dry_run: bool, steps: &[&str]) -> InvokeArgs {
        InvokeArgs {
            function,
            function_name: None,
            dry_run,
            steps: steps.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn the_sweeper_gets_its_request_and_the_dispatcher_none() {
        assert_eq!(
            payload(&args(Invocable::Sweeper, true, &[])).unwrap(),
            json!({"dryRun": true})
        );
        assert_eq!(
            payload(&args(Invocable::Sweeper, false, &["stuckTimers"])).unwrap(),
            json!({"dryRun": false, "steps": ["stuckTimers"]})
        );
        assert_eq!(
            payload(&args(Invocable::Dispatcher, false, &[])).unwrap(),
            json!({})
        );
        assert!(payload(&args(Invocable::Dispatcher, true, &[])).is_err());
    }
}
