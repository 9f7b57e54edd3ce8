//! What every scenario starts from: the template provisioned on the emulator under a stack
//! name of its own, the functions of the template, and clients for the bench's own setup
//! (not counted with the functions). Functions are started in groups, each group with its own
//! request counters (and SDK configuration, so a [`Meter`](crate::meter::Meter) can tell the
//! groups apart).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use lifecycle_adapters::aws::{AwsClients, RequestCounter};
use lifecycle_adapters::config::Config;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use local_stack::function_calls::FunctionCalls;
use local_stack::function_usage::FunctionUsage;
use local_stack::functions::{FunctionSpec, functions};
use local_stack::runtime::{RuntimeClients, RuntimeOptions, start};
use local_stack::{Stack, aws_env, provision_template, subscriber};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::Options;

/// Requests Lambda's SQS event source mapping makes on AWS (not our code).
pub(crate) const PLATFORM_OPERATIONS: [&str; 3] = [
    "SQS.ReceiveMessage",
    "SQS.DeleteMessageBatch",
    "SQS.DeleteMessage",
];

/// A provisioned stack and the bench's own clients.
pub(crate) struct Setup {
    pub(crate) sdk_config: aws_config::SdkConfig,
    /// The bench's clients (their requests are not the functions').
    pub(crate) clients: AwsClients,
    /// The bench's store and bus.
    pub(crate) services: Services,
    pub(crate) started_at: Timestamp,
    pub(crate) stack: Stack,
    /// Every function of the template.
    pub(crate) specs: Vec<FunctionSpec>,
}

impl Setup {
    /// Provisions the template under `bench-<millis>`.
    pub(crate) async fn new() -> Result<Self, String> {
        let sdk_config = aws_env::sdk_config().await;
        let clients = AwsClients::from_sdk_config(&sdk_config, &RequestCounter::new());
        let started_at = Timestamp::now();
        let stack_name = format!("bench-{}", started_at.millis());
        let stack = provision_template(&clients, &stack_name, &aws_env::region())
            .await
            .map_err(|e| format!("{e} (is the emulator running? `make emulator`)"))?;
        let specs = functions(&stack).map_err(|e| e.to_string())?;
        let environment = specs
            .iter()
            .find(|s| s.binary == "timer-dispatcher")
            .ok_or("the template has no timer-dispatcher function")?
            .environment
            .clone();
        let config = Config::from_map(&environment).map_err(|e| e.to_string())?;
        let services = Services::new(config, &clients, RequestCounter::new());
        Ok(Self {
            sdk_config,
            clients,
            services,
            started_at,
            stack,
            specs,
        })
    }

    /// The specs of the functions built from `binaries`, with the bulk scenarios' send rate
    /// in the delivery sender's environment.
    pub(crate) fn specs_of(&self, binaries: &[&str], send_rate: u32) -> Vec<FunctionSpec> {
        let mut specs: Vec<FunctionSpec> = self
            .specs
            .iter()
            .filter(|s| binaries.contains(&s.binary.as_str()))
            .cloned()
            .collect();
        for spec in &mut specs {
            if spec.binary == "delivery-sender" {
                spec.environment
                    .insert("EMAIL_SEND_RATE".into(), send_rate.to_string());
            }
        }
        specs
    }

    /// The name of the stack's `logical_id` (table name, queue URL, bucket …).
    pub(crate) fn reference(&self, logical_id: &str) -> Result<String, String> {
        self.stack
            .reference(logical_id)
            .map(str::to_owned)
            .ok_or_else(|| format!("{logical_id} is not provisioned"))
    }
}

/// The local runtime's options for `options`, the API on `api_addr`.
pub(crate) fn runtime_options(options: &Options, api_addr: Option<SocketAddr>) -> RuntimeOptions {
    RuntimeOptions {
        api_addr: api_addr.unwrap_or_else(|| "127.0.0.1:0".parse().expect("address")),
        schedule_period: options.schedule_s.map(std::time::Duration::from_secs_f64),
        sweep_period: None,
        sqs_pollers: options.pollers,
        // The bench measures the service behind API Gateway, not the local gate.
        api_auth: None,
    }
}

/// A free local address for the API (bound and released: another process could take it in
/// between, which a bench on its own machine does not expect).
pub(crate) fn free_address() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// A group of functions running on the local runtime.
pub(crate) struct Running {
    /// The group's requests.
    pub(crate) requests: RequestCounter,
    /// The group's event source polling.
    pub(crate) platform: RequestCounter,
    /// The CPU time and duration of the group's invocations.
    pub(crate) usage: FunctionUsage,
    tasks: JoinSet<()>,
}

impl Running {
    /// Starts `specs` with clients from `sdk_config`.
    pub(crate) async fn start(
        specs: &[FunctionSpec],
        sdk_config: &aws_config::SdkConfig,
        options: &RuntimeOptions,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, String> {
        let clients = RuntimeClients::new(sdk_config, FunctionCalls::new());
        let tasks = start(specs, &clients, options, shutdown)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            requests: clients.function_requests.clone(),
            platform: clients.platform_requests.clone(),
            usage: clients.function_usage.clone(),
            tasks,
        })
    }

    /// Waits until every task stopped (after the shutdown signal flipped).
    pub(crate) async fn stopped(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Drains the lifecycle events queue, as consumers would (a deep moto queue slows every
/// delivery to it, and so every `PutEvents`), and keeps the ids of the started campaigns:
/// progress without polling the table, whose queries would compete with the functions for
/// the emulator.
pub(crate) struct StartedWatch {
    started: Arc<Mutex<HashSet<String>>>,
    task: JoinHandle<()>,
}

impl StartedWatch {
    /// Starts draining.
    pub(crate) fn spawn(setup: &Setup) -> Self {
        let started = Arc::new(Mutex::new(HashSet::new()));
        let task = tokio::spawn({
            let started = started.clone();
            subscriber::drain(
                setup.clients.sqs.clone(),
                setup
                    .stack
                    .reference("LifecycleEventsQueue")
                    .unwrap_or_default()
                    .to_owned(),
                move |body| {
                    if let Some(id) = started_campaign_id(body) {
                        started.lock().expect("started set").insert(id);
                    }
                },
            )
        });
        Self { started, task }
    }

    /// Campaigns started so far, except `except`.
    pub(crate) fn count_except(&self, except: Option<&str>) -> usize {
        let started = self.started.lock().expect("started set");
        started.len() - except.map_or(0, |id| usize::from(started.contains(id)))
    }

    /// Stops draining.
    pub(crate) fn stop(self) {
        self.task.abort();
    }
}

/// The campaign id of a `CampaignStarted` bus event delivered to SQS, if `body` is one.
fn started_campaign_id(body: &str) -> Option<String> {
    let event: serde_json::Value = serde_json::from_str(body).ok()?;
    if event["detail-type"] != "CampaignStarted" {
        return None;
    }
    event["detail"]["campaignId"].as_str().map(str::to_owned)
}

/// A field of `/proc/self/status` in KiB (`VmHWM`, `VmRSS`); `None` where there is none.
pub(crate) fn memory_kib(field: &str) -> Option<u64> {
    status_kib(&std::fs::read_to_string("/proc/self/status").ok()?, field)
}

/// A `<field>: <n> kB` line of a `/proc` status text (`/proc/<pid>/status`, `/proc/meminfo`)
/// in KiB; `None` where there is none.
pub(crate) fn status_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kib_fields_of_proc_status_texts() {
        let status =
            "Name:\tbootstrap\nVmPeak:\t  120000 kB\nVmHWM:\t   14336 kB\nVmRSS:\t   12000 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(14336));
        assert_eq!(status_kib(status, "VmRSS"), Some(12000));
        assert_eq!(status_kib(status, "VmSwap"), None);
        assert_eq!(status_kib("VmHWM:\tlots kB\n", "VmHWM"), None);
    }
}
