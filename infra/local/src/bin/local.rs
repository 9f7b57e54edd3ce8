//! `make local`: provisions template.yaml's resources on the local endpoint and runs the whole
//! service until Ctrl-C.
//!
//! Environment: `AWS_ENDPOINT_URL` (default http://127.0.0.1:4566), `LOCAL_STACK_NAME`
//! (default `campaign-lifecycle-local`), `LOCAL_API_ADDR` (default 127.0.0.1:3000),
//! `LOCAL_LAMBDA_ADDR` (Lambda's Invoke API, default 127.0.0.1:3001),
//! `LOCAL_SCHEDULE_SECONDS` (replaces every schedule's template period), `LOCAL_SWEEP_SECONDS`
//! (replaces the sweeper's, after `LOCAL_SCHEDULE_SECONDS`), `LOCAL_SQS_POLLERS`
//! (default 4), `LOCAL_EMAIL_SENDER` (the SES sender identity verified for local runs,
//! default `campaigns@example.com`), `RUST_LOG` (default info), and any of
//! [`TUNABLE_VARIABLES`](lifecycle_adapters::config::TUNABLE_VARIABLES) (e.g. `SWEEP_GRACE_SECONDS`),
//! which override the template's value for every function; the alert fan-out's local
//! channels come from `ALERT_WEBHOOK_URL`, `ALERT_SLACK_WEBHOOK_URL` and the others
//! [`local_alerts`](local_stack::local_alerts) names. `LOCAL_DISABLED_FUNCTIONS` (logical ids,
//! comma-separated) leaves functions out, e.g. `TimerDispatcherFunction` to see the stall
//! alert. `CRASH_AT` arms crash points;
//! `IAM_CALLS_FILE` names a file each function's distinct AWS calls are appended to, for the
//! IAM check of the crash suite and the chaos run.
//!
//! The API checks SigV4 signatures and the template's access policies as API Gateway would
//! ([`api_auth`](local_stack::api_auth)); the keys are created once in `.local/credentials`
//! (`LOCAL_CREDENTIALS_FILE` elsewhere), profiles `campaign-operator` and `campaign-admin`.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use lifecycle_adapters::aws::fault_injection::FAULT_INJECTION_VARIABLE;
use lifecycle_adapters::aws::{AwsClients, FaultInjector, RequestCounter};
use lifecycle_adapters::config::{LogFormat, TUNABLE_VARIABLES};
use local_stack::api_auth::ApiAuth;
use local_stack::credentials;
use local_stack::function_calls::{FunctionCalls, IAM_CALLS_FILE_VARIABLE};
use local_stack::functions::functions;
use local_stack::invocation::INVOCABLE;
use local_stack::local_alerts::local_alert_environment;
use local_stack::local_delivery::{DEFAULT_LOCAL_SENDER, provision_delivery_fixtures};
use local_stack::runtime::{RESILIENCE_SUMMARY_PREFIX, RuntimeClients, RuntimeOptions};
use local_stack::{aws_env, provision_template};

#[tokio::main]
async fn main() -> ExitCode {
    lifecycle_telemetry::logging::init(LogFormat::Text);
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// A period in seconds (0.1–86400) from the environment, if set.
fn seconds_variable(name: &str) -> Result<Option<Duration>, String> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .ok()
            .filter(|s: &f64| *s >= 0.1 && *s <= 86_400.0)
            .map(|seconds| Some(Duration::from_secs_f64(seconds)))
            .ok_or(format!(
                "{name} must be a number of seconds from 0.1 to 86400"
            )),
        Err(_) => Ok(None),
    }
}

fn options() -> Result<RuntimeOptions, String> {
    let api_addr: SocketAddr = env_or("LOCAL_API_ADDR", "127.0.0.1:3000")
        .parse()
        .map_err(|e| format!("LOCAL_API_ADDR: {e}"))?;
    let schedule_period = seconds_variable("LOCAL_SCHEDULE_SECONDS")?;
    let sweep_period = seconds_variable("LOCAL_SWEEP_SECONDS")?;
    let sqs_pollers: usize = env_or("LOCAL_SQS_POLLERS", "4")
        .parse()
        .ok()
        .filter(|n| (1..=64).contains(n))
        .ok_or("LOCAL_SQS_POLLERS must be an integer from 1 to 64")?;
    Ok(RuntimeOptions {
        api_addr,
        schedule_period,
        sweep_period,
        sqs_pollers,
        api_auth: None,
    })
}

/// Where Lambda's Invoke API listens: `LOCAL_LAMBDA_ADDR`, default 127.0.0.1:3001.
fn lambda_addr() -> Result<SocketAddr, String> {
    env_or("LOCAL_LAMBDA_ADDR", "127.0.0.1:3001")
        .parse()
        .map_err(|e| format!("LOCAL_LAMBDA_ADDR: {e}"))
}

/// Serves Lambda's Invoke API for the invocable functions on `addr` and prints the
/// `aws lambda invoke` line that uses it.
async fn serve_lambda_api(
    tasks: &mut tokio::task::JoinSet<()>,
    addr: SocketAddr,
    stack_name: &str,
    specs: &[local_stack::functions::FunctionSpec],
    clients: &RuntimeClients,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> Result<(), String> {
    let invocable = specs
        .iter()
        .filter(|spec| INVOCABLE.contains(&spec.binary.as_str()))
        .map(|spec| (spec.clone(), clients.of_function(&spec.logical_id)))
        .collect();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("LOCAL_LAMBDA_ADDR {addr}: {e}"))?;
    // The consumers' event source mappings (the API and the sweeper pause them) beside it.
    let router = local_stack::lambda_api::router(stack_name, invocable).merge(
        local_stack::event_source_mappings::router(clients.event_source_mappings.clone()),
    );
    tasks.spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(error = %error, "Lambda Invoke API stopped");
        }
    });
    tracing::info!(
        "Lambda Invoke API http://{addr}: aws lambda invoke --endpoint-url http://{addr} --function-name {stack_name}-SweeperFunction --cli-binary-format raw-in-base64-out --payload '{{\"dryRun\":true}}' report.json"
    );
    Ok(())
}

async fn run() -> Result<(), String> {
    let mut options = options()?;
    let stack_name = env_or("LOCAL_STACK_NAME", "campaign-lifecycle-local");
    let sdk_config = aws_env::sdk_config().await;
    let setup = AwsClients::from_sdk_config(&sdk_config, &RequestCounter::new());
    tracing::info!(
        endpoint = aws_env::endpoint(),
        stack = stack_name,
        "provisioning template.yaml"
    );
    let stack = provision_template(&setup, &stack_name, &aws_env::region())
        .await
        .map_err(|e| {
            format!("provisioning failed: {e} (is the emulator running? `make emulator`)")
        })?;
    for (logical, physical) in &stack.resolver.physical {
        tracing::info!("  {logical:<32} {}", physical.reference);
    }
    let sender = env_or("LOCAL_EMAIL_SENDER", DEFAULT_LOCAL_SENDER);
    let fixtures = provision_delivery_fixtures(&setup, &stack_name, &sender).await?;
    tracing::info!(
        sender = fixtures.sender,
        webhook_secret = fixtures.webhook_secret_ref,
        "bulk deliveries: verified email sender, and a webhook signing secret to name in secretRef"
    );
    let credentials_path = credentials::path();
    let keys = credentials::load_or_create(&credentials_path)?;
    // Printed without `..` so it can be pasted as it is.
    let credentials_path = credentials_path.canonicalize().unwrap_or(credentials_path);
    options.api_auth = Some(Arc::new(ApiAuth::new(&stack, &keys)?));
    tracing::info!(
        "API access: every route but GET /health needs a SigV4 signature by a key of {} (profiles campaign-operator, campaign-admin), e.g. AWS_SHARED_CREDENTIALS_FILE={} AWS_PROFILE=campaign-admin awscurl --service execute-api --region {} http://{}/campaigns",
        credentials_path.display(),
        credentials_path.display(),
        aws_env::region(),
        options.api_addr
    );
    tracing::info!(
        "campaignctl: cargo build --release -p campaignctl && AWS_SHARED_CREDENTIALS_FILE={} AWS_PROFILE=campaign-admin AWS_REGION={} target/release/campaignctl --endpoint http://{} --lambda-endpoint http://{} campaigns list --status RUNNING",
        credentials_path.display(),
        aws_env::region(),
        options.api_addr,
        lambda_addr()?
    );
    let mut specs = functions(&stack).map_err(|e| e.to_string())?;
    if let Some(disabled) = std::env::var("LOCAL_DISABLED_FUNCTIONS")
        .ok()
        .filter(|names| !names.trim().is_empty())
    {
        let names: Vec<&str> = disabled.split(',').map(str::trim).collect();
        if let Some(unknown) = names
            .iter()
            .find(|name| !specs.iter().any(|spec| spec.logical_id == **name))
        {
            return Err(format!(
                "LOCAL_DISABLED_FUNCTIONS: template.yaml has no function {unknown:?}"
            ));
        }
        specs.retain(|spec| !names.contains(&spec.logical_id.as_str()));
        tracing::warn!(?names, "not run (LOCAL_DISABLED_FUNCTIONS)");
    }
    let alert_environment = local_alert_environment(&setup, &stack_name, &sender, |name| {
        std::env::var(name).ok()
    })
    .await?;
    for (name, value) in &alert_environment {
        if name != "ALERT_WEBHOOK_SECRET" {
            tracing::info!("alert fan-out: {name}={value}");
        }
    }
    for spec in specs.iter_mut().filter(|s| s.binary == "alert-fanout") {
        spec.environment.extend(alert_environment.clone());
    }
    for variable in TUNABLE_VARIABLES {
        if let Ok(value) = std::env::var(variable) {
            tracing::info!("override for every function: {variable}={value}");
            for spec in &mut specs {
                spec.environment.insert(variable.to_owned(), value.clone());
            }
        }
    }
    let injector = FaultInjector::from_env().map_err(|e| e.to_string())?;
    if injector.is_some() {
        let rules = std::env::var(FAULT_INJECTION_VARIABLE).unwrap_or_default();
        tracing::warn!(
            rules,
            "fault injection on: the functions' AWS responses are turned into failures"
        );
    }
    let function_calls = FunctionCalls::from_env()?;
    if let Ok(path) = std::env::var(IAM_CALLS_FILE_VARIABLE) {
        tracing::info!(
            path,
            "each function's AWS calls are appended to this file (IAM check)"
        );
    }
    // The API invokes the sweeper through Lambda's Invoke API, and it and the sweeper switch
    // the consumers' event source mappings through Lambda's API: locally, this runtime's.
    let lambda_addr = lambda_addr()?;
    for spec in specs
        .iter_mut()
        .filter(|s| s.binary == "api" || s.binary == "sweeper")
    {
        spec.environment.insert(
            "AWS_ENDPOINT_URL_LAMBDA".to_owned(),
            format!("http://{lambda_addr}"),
        );
    }
    let clients = RuntimeClients {
        faults: injector.clone(),
        ..RuntimeClients::new(&sdk_config, function_calls)
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let mut tasks = local_stack::runtime::start(&specs, &clients, &options, shutdown.clone())
        .await
        .map_err(|e| e.to_string())?;
    serve_lambda_api(
        &mut tasks,
        lambda_addr,
        &stack_name,
        &specs,
        &clients,
        shutdown,
    )
    .await?;
    tracing::info!(
        "campaign-lifecycle is running: API http://{} — events subscriber queue {} — Ctrl-C (or SIGTERM) stops",
        options.api_addr,
        stack.reference("LifecycleEventsQueue").unwrap_or("-")
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("cannot listen for SIGTERM: {e}"))?;
    tokio::select! {
        signal = tokio::signal::ctrl_c() => {
            signal.map_err(|e| format!("cannot listen for Ctrl-C: {e}"))?;
        }
        _ = terminate.recv() => {}
    }
    tracing::info!("stopping (Ctrl-C or SIGTERM): finishing work in hand");
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    let summary = serde_json::json!({
        "resilience": clients.function_resilience.snapshot(),
        "faultsInjected": injector.as_ref().map(FaultInjector::injected),
        "requests": clients.function_requests.snapshot(),
    });
    tracing::info!("{RESILIENCE_SUMMARY_PREFIX}{summary}");
    tracing::info!("stopped");
    Ok(())
}
