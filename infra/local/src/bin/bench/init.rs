//! The init scenario (`make sizes`): each function's deployment artifact, cold start and
//! memory. For every function of template.yaml:
//!
//! 1. builds its `bootstrap` as `sam build` does: cargo-lambda's release build of the
//!    template's `Binary` from the function's `CodeUri` (so with that package's features
//!    alone), with the `--config` entries cargo-lambda adds for the release settings the
//!    workspace's `[profile.release]` leaves out and its target CPU ([`cargo_lambda_config`]),
//!    for x86_64 (the template deploys arm64: sizes and times differ somewhat);
//! 2. zips it as SAM packages it (Python's `zipfile`, deflate, one `bootstrap` entry);
//! 3. starts it `--starts` times (21) against a stub of Lambda's Runtime API
//!    ([`RuntimeApiStub`]), with only the environment Lambda would give it: the template's
//!    variables as the local stack resolves them on the emulator (`local_environment`, the
//!    template's log format kept), Lambda's reserved variables, the emulator's endpoint and test
//!    credentials. Spawn → its first `next` call is the cold init; the peak resident set
//!    (`VmHWM`) is read then, and again once it has answered one typical event
//!    ([`typical_event`]); then it is killed.
//!
//! The figures go to `bench/results/<time>-init.json` and `docs/benchmarks.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use lifecycle_domain::delivery::{BatchJob, PlanJob, PlannedBatch, RunId};
use lifecycle_domain::timer_messages::TimerMessage;
use lifecycle_domain::{
    CampaignId, CampaignStatus, DueTimer, TimerEffect, TimerId, TimerKind, Timestamp,
};
use local_stack::aws_env;
use local_stack::event_source_mappings::function_arn;
use local_stack::functions::{FunctionSpec, Trigger};
use local_stack::package_check;
use local_stack::runtime::local_environment;
use local_stack::runtime_api_stub::{Invocation, Outcome, RuntimeApiStub};
use local_stack::template::{LOCAL_ACCOUNT, Template};
use serde_json::{Value, json};

use crate::Options;
use crate::results::{DeployedArtifact, FunctionInit, InitResult, Spread, repo_root, write_result};
use crate::setup::{Setup, status_kib};

/// What the issue asks of every function's deployment zip (bytes).
pub(crate) const ZIP_TARGET_BYTES: u64 = 4_000_000;
/// What the issue asks of every function's median cold init (ms).
pub(crate) const INIT_TARGET_MS: f64 = 15.0;

/// The target the binaries are built for (this machine's).
const TARGET: &str = "x86_64-unknown-linux-gnu";
/// The CPU cargo-lambda builds x86_64 functions for.
const TARGET_CPU: &str = "haswell";
/// How long a start may take to ask for its event.
const INIT_PATIENCE: Duration = Duration::from_secs(20);
/// How much of an answer is kept.
const ANSWER_CHARS: usize = 160;

/// Runs the init scenario.
pub(crate) async fn run(options: &Options) -> Result<(), String> {
    let load_at_start = load_average();
    let setup = Setup::new().await?;
    println!(
        "bench init: {} functions, {} starts each (stack {})",
        setup.specs.len(),
        options.starts,
        setup.stack.name
    );
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml"))
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    let build_config = cargo_lambda_config(&manifest);
    let work = std::env::temp_dir().join(format!("init-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let mut built = Vec::new();
    for spec in &setup.specs {
        let resource = &setup.stack.template.resources[&spec.logical_id];
        let code_uri = resource
            .properties
            .get("CodeUri")
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{}: no CodeUri", spec.logical_id))?;
        let binary = build(code_uri, &spec.binary, &build_config)?;
        let zip = work.join(format!("{}.zip", spec.binary));
        zip_bootstrap(&binary, &zip)?;
        built.push((spec, binary, zip));
    }
    let mut deployed = deployed_artifacts(&setup.stack.template, &work);
    let mut functions = Vec::new();
    for (spec, binary, zip) in built {
        let memory_size_mib = memory_size(&setup, spec);
        let (event_name, event) = typical_event(spec, &aws_env::region())?;
        let environment = lambda_environment(spec, &setup.stack.name, memory_size_mib);
        let invocation = Invocation {
            event,
            request_id: String::new(),
            function_arn: function_arn(&aws_env::region(), &setup.stack.name, &spec.logical_id),
            timeout: spec.timeout,
        };
        let log = work.join(format!("{}.log", spec.binary));
        let mut samples = Vec::new();
        for _ in 0..options.starts {
            let invocation = Invocation {
                request_id: uuid::Uuid::new_v4().to_string(),
                ..invocation.clone()
            };
            samples.push(start_once(&binary, &environment, invocation, &log).await?);
        }
        let mut figures = figures(spec, &binary, &zip, memory_size_mib, event_name, samples)?;
        figures.deployed = deployed.remove(&spec.logical_id);
        print_function(&figures);
        functions.push(figures);
    }
    let machine = machine_note(&load_at_start, &load_average());
    let result = InitResult {
        scenario: "init".into(),
        started_at: setup.started_at.to_rfc3339(),
        code: crate::results::code_version(),
        endpoint: aws_env::endpoint(),
        machine,
        toolchain: toolchain(),
        target: TARGET.into(),
        build_config,
        starts: options.starts,
        functions,
    };
    let path = write_result(&result.started_at, "-init", &result)?;
    crate::docs::write()?;
    let _ = std::fs::remove_dir_all(&work);
    println!("written: {} and docs/benchmarks.md", path.display());
    Ok(())
}

/// The `--config` entries `cargo lambda build --release` (what `sam build` runs) adds, as
/// cargo-lambda decides from the workspace's `[profile.release]`: symbols stripped unless
/// `strip` is set or debug info is on, thin LTO, one codegen unit and `panic = "abort"`, each
/// unless the profile sets it; always the target CPU of the architecture.
fn cargo_lambda_config(manifest: &str) -> Vec<String> {
    let release = profile_release(manifest);
    let debug_info = release
        .get("debug")
        .is_some_and(|v| !matches!(v.as_str(), "false" | "0" | "\"none\"" | "'none'"));
    let mut config = Vec::new();
    if !release.contains_key("strip") && !debug_info {
        config.push(r#"profile.release.strip="symbols""#.to_owned());
    }
    for (key, entry) in [
        ("lto", r#"profile.release.lto="thin""#),
        ("codegen-units", "profile.release.codegen-units=1"),
        ("panic", r#"profile.release.panic="abort""#),
    ] {
        if !release.contains_key(key) {
            config.push(entry.to_owned());
        }
    }
    config.push(format!(
        r#"build.rustflags=["-C", "target-cpu={TARGET_CPU}"]"#
    ));
    config
}

/// The keys and raw values of the `[profile.release]` table of a manifest.
fn profile_release(manifest: &str) -> BTreeMap<String, String> {
    let mut in_table = false;
    let mut keys = BTreeMap::new();
    for line in manifest.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            in_table = line == "[profile.release]";
        } else if in_table && let Some((key, value)) = line.split_once('=') {
            keys.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    keys
}

/// Builds `binary` from the package at `code_uri` as cargo-lambda does; returns its path.
fn build(code_uri: &str, binary: &str, config: &[String]) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = repo_root().join(code_uri).join("Cargo.toml");
    let mut command = std::process::Command::new(cargo);
    command
        .args(["build", "--release", "--target", TARGET, "--bin", binary])
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--message-format", "json-render-diagnostics"]);
    for entry in config {
        command.args(["--config", entry]);
    }
    println!("building {binary} ({code_uri})");
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cargo build {binary}: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo build {binary} failed ({})", output.status));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == binary
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("cargo build {binary} named no executable"))
}

/// Zips `binary` as SAM packages a function: one entry `bootstrap`, deflate (Python's
/// `zipfile`, which SAM uses, at its default level).
fn zip_bootstrap(binary: &Path, zip: &Path) -> Result<(), String> {
    let script = "import sys, zipfile\n\
                  with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED) as z:\n\
                  \x20   z.write(sys.argv[1], 'bootstrap')\n";
    let status = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(binary)
        .arg(zip)
        .status()
        .map_err(|e| format!("python3 (zipping {}): {e}", binary.display()))?;
    if !status.success() {
        return Err(format!("zipping {} failed ({status})", binary.display()));
    }
    Ok(())
}

/// What `make package` built (`.aws-sam/build`), zipped into `work` as SAM packages it, by
/// logical id; empty when it has not been run or its build does not match the template.
fn deployed_artifacts(template: &Template, work: &Path) -> BTreeMap<String, DeployedArtifact> {
    let built_dir = repo_root().join(".aws-sam/build");
    let functions = match package_check::check(template, &built_dir) {
        Ok(functions) => functions,
        Err(problems) => {
            println!(
                "no deployed sizes: .aws-sam/build is not a build of template.yaml (run `make package` first): {}",
                problems.join("; ")
            );
            return BTreeMap::new();
        }
    };
    let architecture = package_check::architecture(template).unwrap_or_else(|| "x86_64".into());
    functions
        .into_iter()
        .filter_map(|function| {
            let bootstrap = built_dir.join(&function.logical_id).join("bootstrap");
            let zip = work.join(format!("{}-deployed.zip", function.logical_id));
            zip_bootstrap(&bootstrap, &zip).ok()?;
            let zip_bytes = std::fs::metadata(&zip).ok()?.len();
            let built_at = std::fs::metadata(&bootstrap).ok()?.modified().ok()?;
            let artifact = DeployedArtifact {
                architecture: architecture.clone(),
                bootstrap_bytes: function.bootstrap_bytes,
                zip_bytes,
                built_at: chrono::DateTime::<chrono::Utc>::from(built_at).to_rfc3339(),
            };
            Some((function.logical_id, artifact))
        })
        .collect()
}

/// `MemorySize` of the function, else of `Globals.Function`, else Lambda's 128 MiB.
fn memory_size(setup: &Setup, spec: &FunctionSpec) -> u32 {
    let template = &setup.stack.template;
    let of = |properties: &serde_yaml_ng::Value| {
        properties
            .get("MemorySize")
            .and_then(local_stack::template::scalar)
            .and_then(|v| v.parse().ok())
    };
    of(&template.resources[&spec.logical_id].properties)
        .or_else(|| of(&template.function_globals))
        .unwrap_or(128)
}

/// The environment of `spec`'s process: the template's variables as the local stack resolves
/// them (with the template's log format), what Lambda sets, and the emulator's endpoint with
/// test credentials. Nothing of the bench's own environment.
fn lambda_environment(
    spec: &FunctionSpec,
    stack_name: &str,
    memory_size_mib: u32,
) -> BTreeMap<String, String> {
    let mut environment = local_environment(spec);
    if let Some(format) = spec.environment.get("LOG_FORMAT") {
        environment.insert("LOG_FORMAT".into(), format.clone());
    }
    let name = format!("{stack_name}-{}", spec.logical_id);
    let region = aws_env::region();
    for (key, value) in [
        ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            memory_size_mib.to_string(),
        ),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "init-bench/[$LATEST]0".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("AWS_REGION", region.clone()),
        ("AWS_DEFAULT_REGION", region),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_SESSION_TOKEN", "test".into()),
        ("AWS_ENDPOINT_URL", aws_env::endpoint()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
        ("LANG", "en_US.UTF-8".into()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".into()),
    ] {
        environment.insert(key.into(), value);
    }
    environment
}

/// One start: its init time, its peaks after init and after the event, its answer.
struct Sample {
    init_ms: f64,
    init_peak_kib: u64,
    peak_kib: u64,
    invocation_ms: f64,
    answer: String,
}

/// Starts `binary` once, hands it `invocation`'s event, kills it.
async fn start_once(
    binary: &Path,
    environment: &BTreeMap<String, String>,
    invocation: Invocation,
    log: &Path,
) -> Result<Sample, String> {
    let timeout = invocation.timeout;
    let stub = RuntimeApiStub::start(invocation)
        .await
        .map_err(|e| format!("Runtime API stub: {e}"))?;
    let log_file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let log_err = log_file.try_clone().map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(binary);
    command
        .env_clear()
        .envs(environment)
        .env("AWS_LAMBDA_RUNTIME_API", stub.addr().to_string())
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .kill_on_drop(true);
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let pid = child.id().ok_or("the process is gone")?;
    let failed = |what: String| format!("{}: {what}\n{}", binary.display(), log_tail(log));
    let first_next = tokio::select! {
        at = stub.first_next() => at,
        status = child.wait() => return Err(failed(format!("exited before asking for an event ({status:?})"))),
        () = tokio::time::sleep(INIT_PATIENCE) => return Err(failed("did not ask for an event".into())),
    };
    let init_peak_kib = vm_hwm_kib(pid).ok_or_else(|| failed("no VmHWM after init".into()))?;
    let released = Instant::now();
    stub.release();
    let outcome = tokio::select! {
        outcome = stub.outcome() => outcome,
        status = child.wait() => return Err(failed(format!("exited before answering ({status:?})"))),
        () = tokio::time::sleep(timeout + Duration::from_secs(5)) => return Err(failed("did not answer".into())),
    };
    let invocation_ms = released.elapsed().as_secs_f64() * 1000.0;
    let peak_kib = vm_hwm_kib(pid).ok_or_else(|| failed("no VmHWM after the event".into()))?;
    let _ = child.kill().await;
    let answer = match outcome {
        Outcome::Response(body) => body,
        other => return Err(failed(format!("answered with {other:?}"))),
    };
    Ok(Sample {
        init_ms: first_next.duration_since(spawned).as_secs_f64() * 1000.0,
        init_peak_kib,
        peak_kib,
        invocation_ms,
        answer,
    })
}

/// `VmHWM` of process `pid`, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_kib(&status, "VmHWM")
}

/// The last lines the function logged.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A function's figures from its samples.
fn figures(
    spec: &FunctionSpec,
    binary: &Path,
    zip: &Path,
    memory_size_mib: u32,
    event: &str,
    samples: Vec<Sample>,
) -> Result<FunctionInit, String> {
    let size = |path: &Path| {
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    let spread = |values: Vec<f64>| Spread::of(values).ok_or("no starts (--starts 0?)");
    let answer: String = samples
        .first()
        .map(|s| s.answer.chars().take(ANSWER_CHARS).collect())
        .unwrap_or_default();
    Ok(FunctionInit {
        function: spec.logical_id.clone(),
        binary: spec.binary.clone(),
        memory_size_mib,
        bootstrap_bytes: size(binary)?,
        zip_bytes: size(zip)?,
        deployed: None,
        init_ms: spread(samples.iter().map(|s| s.init_ms).collect())?,
        init_peak_kib: spread(samples.iter().map(|s| s.init_peak_kib as f64).collect())?,
        peak_kib: spread(samples.iter().map(|s| s.peak_kib as f64).collect())?,
        invocation_ms: spread(samples.iter().map(|s| s.invocation_ms).collect())?,
        event: event.to_owned(),
        answer,
    })
}

/// The event `spec`'s function is given, and its description: what it most often handles,
/// on the empty stack (so messages name campaigns and runs that do not exist).
fn typical_event(spec: &FunctionSpec, region: &str) -> Result<(&'static str, Value), String> {
    let queue_arn = || {
        spec.triggers
            .iter()
            .find_map(|t| match t {
                Trigger::Sqs { mapping, .. } => Some(mapping.queue_arn.clone()),
                _ => None,
            })
            .ok_or_else(|| format!("{}: no SQS trigger", spec.logical_id))
    };
    let now = Timestamp::now();
    Ok(match spec.binary.as_str() {
        "api" => (
            "GET /health (HTTP API, payload 2.0)",
            http_get("/health", region),
        ),
        "sweeper" => ("a dry run: {\"dryRun\": true}", json!({"dryRun": true})),
        "timer-dispatcher" | "alert-fanout" => (
            "its schedule's event",
            scheduled_event(&spec.logical_id, region),
        ),
        "timer-executor" => {
            let campaign_id = CampaignId::generate();
            let timer = DueTimer {
                timer_id: TimerId::new(&campaign_id, TimerKind::StartCampaign),
                campaign_id,
                kind: TimerKind::StartCampaign,
                due_at: now,
                effect: TimerEffect::Move {
                    from: CampaignStatus::Scheduled,
                    to: CampaignStatus::Running,
                },
                run_id: None,
                next_deadline: None,
            };
            let body = TimerMessage {
                timers: vec![timer],
            }
            .to_body();
            (
                "one message: the START timer of a campaign that does not exist",
                sqs_event(&queue_arn()?, region, body),
            )
        }
        "delivery-planner" => {
            let job = PlanJob {
                campaign_id: CampaignId::generate(),
                run_id: RunId::for_occurrence(now),
            };
            (
                "one message: a run to plan that does not exist",
                sqs_event(&queue_arn()?, region, job.to_body()),
            )
        }
        "delivery-sender" => {
            let job = BatchJob {
                campaign_id: CampaignId::generate(),
                run_id: RunId::for_occurrence(now),
                batch: PlannedBatch {
                    seq: 0,
                    first_row: 0,
                    rows: 50,
                    start_byte: 0,
                    end_byte: 4_096,
                },
            };
            (
                "one message: a batch of a run that does not exist",
                sqs_event(&queue_arn()?, region, job.to_body()),
            )
        }
        other => {
            return Err(format!(
                "{}: no typical event for binary {other} (add one to bench/init.rs)",
                spec.logical_id
            ));
        }
    })
}

/// An SQS event of one message, as Lambda's event source mapping delivers it.
fn sqs_event(queue_arn: &str, region: &str, body: String) -> Value {
    let sent = Timestamp::now().millis().to_string();
    json!({"Records": [{
        "messageId": uuid::Uuid::new_v4().to_string(),
        "receiptHandle": "AQEBinitbench",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": sent,
            "SenderId": "AROAINITBENCH:dispatcher",
            "ApproximateFirstReceiveTimestamp": sent,
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }]})
}

/// An EventBridge schedule's event.
fn scheduled_event(logical_id: &str, region: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": Timestamp::now().to_rfc3339(),
        "region": region,
        "resources": [format!("arn:aws:events:{region}:{LOCAL_ACCOUNT}:rule/{logical_id}Schedule")],
        "detail": {},
    })
}

/// An HTTP API (payload format 2.0) `GET` of `path` without an IAM identity.
fn http_get(path: &str, region: &str) -> Value {
    let now = Timestamp::now();
    let host = format!("initbench1.execute-api.{region}.amazonaws.com");
    json!({
        "version": "2.0",
        "routeKey": format!("GET {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "content-length": "0",
            "host": host,
            "user-agent": "curl/8.5.0",
            "x-forwarded-for": "198.51.100.7",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https",
        },
        "requestContext": {
            "accountId": LOCAL_ACCOUNT,
            "apiId": "initbench1",
            "domainName": host,
            "domainPrefix": "initbench1",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "198.51.100.7",
                "userAgent": "curl/8.5.0",
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": format!("GET {path}"),
            "stage": "$default",
            "time": now.to_rfc3339(),
            "timeEpoch": now.millis(),
        },
        "isBase64Encoded": false,
    })
}

/// The 1-minute load average (`/proc/loadavg`).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// CPUs, memory and the load average at the start and the end.
fn machine_note(load_at_start: &str, load_at_end: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("?", |(_, model)| model.trim());
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| status_kib(&text, "MemTotal"))
        .map_or("?".into(), |kib| {
            format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    format!(
        "{cpus} CPUs ({model}), {memory}; load average {load_at_start} at the start, {load_at_end} at the end"
    )
}

/// `rustc -V`.
fn toolchain() -> String {
    std::process::Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or("?".into(), |output| {
            String::from_utf8_lossy(&output.stdout).trim().to_owned()
        })
}

fn print_function(f: &FunctionInit) {
    println!(
        "  {:<26} bootstrap {:>5.2} MB, zip {:>5.2} MB; init median {} ms (p90 {}); peak {:.1} MiB after init, {:.1} MiB after the event",
        f.function,
        f.bootstrap_bytes as f64 / 1e6,
        f.zip_bytes as f64 / 1e6,
        f.init_ms.median,
        f.init_ms.p90,
        f.init_peak_kib.median / 1024.0,
        f.peak_kib.median / 1024.0,
    );
    if let Some(deployed) = &f.deployed {
        println!(
            "  {:<26} {}: bootstrap {:>5.2} MB, zip {:>5.2} MB (make package, {})",
            "",
            deployed.architecture,
            deployed.bootstrap_bytes as f64 / 1e6,
            deployed.zip_bytes as f64 / 1e6,
            deployed.built_at
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_lambda_events::event::sqs::SqsEvent;
    use local_stack::event_source_mappings::MappingSpec;

    use super::*;

    #[test]
    fn adds_what_cargo_lambda_adds_for_the_settings_the_profile_leaves_out() {
        let haswell = r#"build.rustflags=["-C", "target-cpu=haswell"]"#;
        // Nothing set: all four defaults.
        assert_eq!(
            cargo_lambda_config("[workspace]\nmembers = []\n"),
            vec![
                r#"profile.release.strip="symbols""#,
                r#"profile.release.lto="thin""#,
                "profile.release.codegen-units=1",
                r#"profile.release.panic="abort""#,
                haswell,
            ]
        );
        // Debug info on keeps the symbols; another profile's keys do not count.
        let manifest = "[profile.dev]\npanic = \"abort\"\n\n[profile.release]\ndebug = 1 # why\nlto = \"fat\"\n[profile.bench]\ncodegen-units = 4\n";
        assert_eq!(
            cargo_lambda_config(manifest),
            vec![
                "profile.release.codegen-units=1",
                r#"profile.release.panic="abort""#,
                haswell,
            ]
        );
        assert!(
            cargo_lambda_config("[profile.release]\ndebug = false\n")
                .contains(&r#"profile.release.strip="symbols""#.to_owned())
        );
    }

    #[test]
    fn the_workspace_profile_leaves_cargo_lambda_only_panic_abort_to_add() {
        let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
        assert_eq!(
            cargo_lambda_config(&manifest),
            vec![
                r#"profile.release.panic="abort""#.to_owned(),
                r#"build.rustflags=["-C", "target-cpu=haswell"]"#.to_owned(),
            ]
        );
    }

    fn spec(binary: &str, triggers: Vec<Trigger>) -> FunctionSpec {
        FunctionSpec {
            logical_id: format!("{binary}Function"),
            binary: binary.into(),
            environment: BTreeMap::new(),
            triggers,
            timeout: Duration::from_secs(30),
        }
    }

    fn sqs_trigger() -> Trigger {
        Trigger::Sqs {
            queue_url: "http://127.0.0.1:4566/123456789012/q".into(),
            batch_size: 10,
            visibility_timeout: 30,
            report_batch_item_failures: true,
            mapping: MappingSpec {
                uuid: "u".into(),
                function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
                queue_arn: "arn:aws:sqs:us-east-1:123456789012:q".into(),
                batch_size: 10,
                report_batch_item_failures: true,
            },
        }
    }

    /// The one message body of an SQS event, checked as Lambda's SQS event.
    fn body(event: Value) -> String {
        let event: SqsEvent = serde_json::from_value(event).unwrap();
        assert_eq!(event.records.len(), 1);
        let record = &event.records[0];
        assert_eq!(
            record.event_source_arn.as_deref(),
            Some("arn:aws:sqs:us-east-1:123456789012:q")
        );
        record.body.clone().unwrap()
    }

    #[test]
    fn queue_events_carry_one_message_each_consumer_accepts() {
        let event = |binary| {
            typical_event(&spec(binary, vec![sqs_trigger()]), "us-east-1")
                .unwrap()
                .1
        };
        let timers = TimerMessage::parse(&body(event("timer-executor"))).unwrap();
        assert_eq!(timers.timers.len(), 1);
        PlanJob::parse(&body(event("delivery-planner"))).unwrap();
        BatchJob::parse(&body(event("delivery-sender"))).unwrap();
        // A queue consumer without its queue has no event.
        assert!(typical_event(&spec("timer-executor", vec![]), "us-east-1").is_err());
    }

    #[test]
    fn the_api_gets_an_http_api_v2_get_of_health() {
        let (_, event) = typical_event(&spec("api", vec![Trigger::HttpApi]), "us-east-1").unwrap();
        let request: lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest =
            serde_json::from_value(event).unwrap();
        assert_eq!(request.raw_path.as_deref(), Some("/health"));
        assert_eq!(request.request_context.http.method, "GET");
        assert_eq!(request.version.as_deref(), Some("2.0"));
    }

    #[test]
    fn schedules_and_the_sweeper_get_their_events_and_unknown_binaries_none() {
        let schedule = Trigger::Schedule {
            expression: "rate(1 minute)".into(),
            period: Duration::from_secs(60),
        };
        let (_, event) = typical_event(
            &spec("timer-dispatcher", vec![schedule.clone()]),
            "us-east-1",
        )
        .unwrap();
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["source"], "aws.events");
        let (_, event) = typical_event(&spec("sweeper", vec![schedule]), "us-east-1").unwrap();
        assert_eq!(event, json!({"dryRun": true}));
        assert!(typical_event(&spec("reporter", vec![]), "us-east-1").is_err());
    }
}
