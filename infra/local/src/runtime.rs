//! Drives the functions locally the way AWS would, each with its own clients (so each call is
//! known to be its function's, for the IAM check): each schedule on its period, each SQS
//! trigger as pollers with the template's batch size (failed messages stay invisible for the
//! queue's visibility timeout, then come back, and go to the DLQ after `maxReceiveCount` — the
//! endpoint's redrive does that), and the HTTP API on a local address. Stops gracefully when
//! the shutdown signal flips: no new work is taken, work in hand finishes.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alert_fanout::services::FanoutServices;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use delivery_planner::ports::PlannerServices;
use delivery_sender::ports::SenderServices;
use lifecycle_adapters::alerting::FanoutSettings;
use lifecycle_adapters::aws::{AwsClients, FaultInjector, RequestCounter};
use lifecycle_adapters::config::{Config, ConfigError};
use lifecycle_adapters::delivery::DeliveryConfig;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_resilience::ResilienceStats;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::event_source_mappings::EventSourceMappings;
use crate::function_calls::FunctionCalls;
use crate::function_usage::FunctionUsage;
use crate::functions::{FunctionSpec, Trigger};

/// Starts the log line with which `local` reports, when it stops, the resilience counters,
/// the injected faults and the requests of its functions (the chaos run reads it).
pub const RESILIENCE_SUMMARY_PREFIX: &str = "resilience summary: ";

/// How the local runtime runs.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where the HTTP API listens.
    pub api_addr: SocketAddr,
    /// Replaces every schedule's period (local runs want seconds, not minutes).
    pub schedule_period: Option<Duration>,
    /// Replaces the sweeper's period (after `schedule_period`).
    pub sweep_period: Option<Duration>,
    /// Concurrent pollers per SQS trigger (Lambda starts with five).
    pub sqs_pollers: usize,
    /// The HTTP API's gate (SigV4 and the access policies, as API Gateway checks them);
    /// `None` serves the router bare, as the Lambda sees requests after API Gateway.
    pub api_auth: Option<Arc<crate::api_auth::ApiAuth>>,
}

/// The runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{function}: {source}")]
    Config {
        function: String,
        source: ConfigError,
    },
    #[error("{function}: no local handler for binary {binary} with trigger {trigger}")]
    NoHandler {
        function: String,
        binary: String,
        trigger: String,
    },
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// What the runtime builds each function's clients from. Every function gets clients of its
/// own, with its own [`CallRecorder`](lifecycle_adapters::aws::CallRecorder) from
/// `function_calls`, so the IAM check knows who made each call. The SQS polling of an event
/// source mapping (Lambda's, on AWS) is recorded as the function's too: AWS makes it with the
/// function's execution role. It is counted apart (`platform_requests`) and not faulted.
pub struct RuntimeClients {
    pub sdk_config: aws_config::SdkConfig,
    /// Counts every function's requests (one counter for all of them).
    pub function_requests: RequestCounter,
    /// Retries, breaker refusals and failures of every function's requests.
    pub function_resilience: ResilienceStats,
    /// Counts the event source mappings' SQS polling (Lambda's requests on AWS).
    pub platform_requests: RequestCounter,
    /// Faults injected into every function's responses.
    pub faults: Option<FaultInjector>,
    /// The calls of each function, by logical id.
    pub function_calls: FunctionCalls,
    /// The SQS event source mappings' switches, shared by their pollers and the local
    /// Lambda API (`event_source_mappings::router`).
    pub event_source_mappings: EventSourceMappings,
    /// The CPU time and duration of every function's invocations (the HTTP API's requests
    /// are not metered).
    pub function_usage: FunctionUsage,
}

impl RuntimeClients {
    /// Clients for `sdk_config` without faults, recording into `function_calls`.
    pub fn new(sdk_config: &aws_config::SdkConfig, function_calls: FunctionCalls) -> Self {
        Self {
            sdk_config: sdk_config.clone(),
            function_requests: RequestCounter::new(),
            function_resilience: ResilienceStats::default(),
            platform_requests: RequestCounter::new(),
            faults: None,
            function_calls,
            event_source_mappings: EventSourceMappings::default(),
            function_usage: FunctionUsage::new(),
        }
    }

    /// The clients of `function` (a logical id).
    /// The clients of `function`'s code: its calls recorded, faults injected when set.
    pub fn of_function(&self, function: &str) -> AwsClients {
        AwsClients::instrumented(
            &self.sdk_config,
            &self.function_requests,
            self.faults.as_ref(),
            Some(&self.function_calls.recorder(function)),
        )
    }

    /// The SQS client polling `function`'s event source: recorded as `function`'s calls,
    /// counted as the platform's, no faults.
    fn event_source_sqs(&self, function: &str) -> aws_sdk_sqs::Client {
        AwsClients::instrumented(
            &self.sdk_config,
            &self.platform_requests,
            None,
            Some(&self.function_calls.recorder(function)),
        )
        .sqs
    }
}

/// Starts every trigger of every function; returns the running tasks. Flip `shutdown` to
/// `true` to stop them, then await the set.
pub async fn start(
    specs: &[FunctionSpec],
    clients: &RuntimeClients,
    options: &RuntimeOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<JoinSet<()>, RuntimeError> {
    let mut tasks = JoinSet::new();
    for spec in specs {
        let environment = local_environment(spec);
        let config = Config::from_map(&environment).map_err(|source| RuntimeError::Config {
            function: spec.logical_id.clone(),
            source,
        })?;
        let services = Services::counted_in(
            config,
            &clients.of_function(&spec.logical_id),
            clients.function_requests.clone(),
            clients.function_resilience.clone(),
        );
        let fanout_services = match spec.binary.as_str() {
            "alert-fanout" => Some(fanout(spec, &environment, &services, clients)?),
            _ => None,
        };
        for trigger in &spec.triggers {
            let no_handler = || RuntimeError::NoHandler {
                function: spec.logical_id.clone(),
                binary: spec.binary.clone(),
                trigger: format!("{trigger:?}"),
            };
            match (spec.binary.as_str(), trigger) {
                (
                    binary @ ("timer-dispatcher" | "sweeper" | "alert-fanout"),
                    Trigger::Schedule { expression, period },
                ) => {
                    let local_period = if binary == "sweeper" {
                        options.sweep_period.or(options.schedule_period)
                    } else {
                        options.schedule_period
                    };
                    let period = local_period.unwrap_or(*period);
                    tracing::info!(
                        function = spec.logical_id,
                        schedule = expression,
                        every_s = period.as_secs_f64(),
                        "schedule driven locally"
                    );
                    let job = match binary {
                        "sweeper" => ScheduledJob::Sweeper,
                        "alert-fanout" => ScheduledJob::AlertCheck(
                            fanout_services.clone().ok_or_else(no_handler)?,
                        ),
                        _ => ScheduledJob::Dispatcher,
                    };
                    tasks.spawn(run_schedule(
                        services.clone(),
                        job,
                        Schedule {
                            function: spec.logical_id.clone(),
                            period,
                            timeout: spec.timeout,
                        },
                        clients.function_usage.clone(),
                        shutdown.clone(),
                    ));
                }
                (
                    binary @ ("timer-executor" | "delivery-sender" | "delivery-planner"
                    | "alert-fanout"),
                    Trigger::Sqs {
                        queue_url,
                        batch_size,
                        visibility_timeout,
                        report_batch_item_failures,
                        mapping,
                    },
                ) => {
                    let sqs = clients.event_source_sqs(&spec.logical_id);
                    let enabled = clients.event_source_mappings.register(mapping.clone());
                    let config_error = |source| RuntimeError::Config {
                        function: spec.logical_id.clone(),
                        source,
                    };
                    let consumer = if binary == "timer-executor" {
                        QueueConsumer::Executor(Arc::new(services.clone()))
                    } else if binary == "alert-fanout" {
                        QueueConsumer::Fanout(fanout_services.clone().ok_or_else(no_handler)?)
                    } else {
                        let config =
                            DeliveryConfig::from_map(&environment).map_err(config_error)?;
                        let function_clients = clients.of_function(&spec.logical_id);
                        if binary == "delivery-sender" {
                            let sender =
                                SenderServices::new(services.clone(), config, &function_clients)
                                    .await
                                    .map_err(config_error)?;
                            QueueConsumer::Sender(Arc::new(sender))
                        } else {
                            let planner =
                                PlannerServices::new(services.clone(), config, &function_clients)
                                    .map_err(config_error)?;
                            QueueConsumer::Planner(Arc::new(planner))
                        }
                    };
                    for _ in 0..options.sqs_pollers.max(1) {
                        tasks.spawn(run_poller(
                            consumer.clone(),
                            sqs.clone(),
                            enabled.clone(),
                            Poller {
                                function: spec.logical_id.clone(),
                                queue_url: queue_url.clone(),
                                batch_size: *batch_size,
                                visibility_timeout: *visibility_timeout,
                                partial_failures: *report_batch_item_failures,
                                timeout: spec.timeout,
                            },
                            clients.function_usage.clone(),
                            shutdown.clone(),
                        ));
                    }
                }
                ("api", Trigger::HttpApi) => {
                    let listener = tokio::net::TcpListener::bind(options.api_addr)
                        .await
                        .map_err(|error| RuntimeError::Listen {
                            addr: options.api_addr,
                            error,
                        })?;
                    let lists = api::ListBucket::from_lookup(
                        |name| environment.get(name).cloned(),
                        &clients.of_function(&spec.logical_id),
                        services.resilience.clone(),
                    )
                    .map_err(|source| RuntimeError::Config {
                        function: spec.logical_id.clone(),
                        source,
                    })?;
                    let router = api::router(services.clone(), lists);
                    let router = match &options.api_auth {
                        Some(auth) => crate::api_auth::protect(router, auth.clone()),
                        None => router,
                    };
                    let mut stop = shutdown.clone();
                    tasks.spawn(async move {
                        let served = axum::serve(listener, router)
                            .with_graceful_shutdown(async move {
                                let _ = stop.wait_for(|stop| *stop).await;
                            })
                            .await;
                        if let Err(error) = served {
                            tracing::error!(error = %error, "HTTP API stopped");
                        }
                    });
                }
                _ => return Err(no_handler()),
            }
        }
    }
    Ok(tasks)
}

/// The environment `spec`'s function runs with locally: its own, with text logs and the
/// local email sending rate unless it sets one.
pub fn local_environment(spec: &FunctionSpec) -> BTreeMap<String, String> {
    let mut environment = spec.environment.clone();
    environment.insert("LOG_FORMAT".into(), "text".into());
    // SES's sending rate comes from GetAccount on AWS; locally it is a setting.
    environment
        .entry("EMAIL_SEND_RATE".into())
        .or_insert_with(|| LOCAL_EMAIL_SEND_RATE.to_string());
    environment
}

/// The alert fan-out `spec` runs (its schedule and its queue share it).
fn fanout(
    spec: &FunctionSpec,
    environment: &BTreeMap<String, String>,
    services: &Services,
    clients: &RuntimeClients,
) -> Result<Arc<FanoutServices>, RuntimeError> {
    let config_error = |source| RuntimeError::Config {
        function: spec.logical_id.clone(),
        source,
    };
    let settings =
        FanoutSettings::from_lookup(|name| environment.get(name).cloned()).map_err(config_error)?;
    let fanout = FanoutServices::new(
        services.clone(),
        settings,
        &clients.of_function(&spec.logical_id),
    );
    Ok(Arc::new(fanout))
}

/// A function driven by an EventBridge schedule.
#[derive(Clone)]
enum ScheduledJob {
    Dispatcher,
    Sweeper,
    /// The alert fan-out's periodic check.
    AlertCheck(Arc<FanoutServices>),
}

impl std::fmt::Debug for ScheduledJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Dispatcher => "Dispatcher",
            Self::Sweeper => "Sweeper",
            Self::AlertCheck(_) => "AlertCheck",
        })
    }
}

/// When a scheduled function runs, and how long each invocation may take.
#[derive(Debug, Clone)]
struct Schedule {
    /// The function's logical id.
    function: String,
    period: Duration,
    /// The function's template `Timeout`: each invocation's deadline is its start plus this.
    timeout: Duration,
}

/// The deadline of an invocation starting now, as Lambda computes it.
fn deadline(timeout: Duration) -> Timestamp {
    Timestamp::now().plus_millis(timeout.as_millis() as i64)
}

async fn run_schedule(
    services: Services,
    job: ScheduledJob,
    schedule: Schedule,
    usage: FunctionUsage,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(schedule.period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let invocation = async {
            match &job {
                ScheduledJob::Dispatcher => timer_dispatcher::handle(&services).await.err(),
                ScheduledJob::AlertCheck(fanout) => {
                    let report = alert_fanout::handle_check(fanout).await;
                    (!report.errors.is_empty()).then(|| report.errors.join("; "))
                }
                ScheduledJob::Sweeper => {
                    let event = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event"});
                    sweeper::handle(&services, &event, deadline(schedule.timeout))
                        .await
                        .err()
                        .map(|error| error.to_string())
                }
            }
        };
        let failure = usage.metered(&schedule.function, invocation).await;
        if let Some(error) = failure {
            tracing::error!(job = ?job, error, "scheduled invocation failed");
        }
    }
}

/// The email sending rate of local runs (SES's `MaxSendRate` on AWS).
pub const LOCAL_EMAIL_SEND_RATE: u32 = 50;

/// The function an SQS trigger invokes.
#[derive(Clone)]
enum QueueConsumer {
    Executor(Arc<Services>),
    Sender(Arc<SenderServices>),
    Planner(Arc<PlannerServices>),
    Fanout(Arc<FanoutServices>),
}

impl QueueConsumer {
    async fn handle(&self, event: SqsEvent, deadline: Timestamp) -> SqsBatchResponse {
        match self {
            Self::Executor(services) => timer_executor::handle(services, event, deadline).await,
            Self::Sender(sender) => delivery_sender::handle(sender, event, deadline).await,
            Self::Planner(planner) => delivery_planner::handle(planner, event, deadline).await,
            Self::Fanout(fanout) => alert_fanout::handle_queue(fanout, event).await,
        }
    }
}

/// Pause of a poller after an empty receive.
const IDLE_POLL_PAUSE: Duration = Duration::from_millis(100);

/// One SQS event source mapping poller.
struct Poller {
    /// The function's logical id.
    function: String,
    queue_url: String,
    batch_size: i32,
    visibility_timeout: i32,
    partial_failures: bool,
    /// The function's template `Timeout`.
    timeout: Duration,
}

/// Waits while the mapping is disabled; `false` if the runtime stops meanwhile.
async fn wait_enabled(
    enabled: &mut watch::Receiver<bool>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        result = enabled.wait_for(|enabled| *enabled) => result.is_ok(),
        _ = shutdown.wait_for(|stop| *stop) => false,
    }
}

async fn run_poller(
    consumer: QueueConsumer,
    sqs: aws_sdk_sqs::Client,
    mut enabled: watch::Receiver<bool>,
    poller: Poller,
    usage: FunctionUsage,
    mut shutdown: watch::Receiver<bool>,
) {
    while !*shutdown.borrow() {
        // A disabled mapping receives nothing (the batch in hand has finished).
        if !wait_enabled(&mut enabled, &mut shutdown).await {
            return;
        }
        let received = sqs
            .receive_message()
            .queue_url(&poller.queue_url)
            .max_number_of_messages(poller.batch_size.clamp(1, 10))
            .visibility_timeout(poller.visibility_timeout)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "receive failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            // Short polls with a short idle pause: moto's long poll does not wake when a
            // delayed message becomes visible (AWS's does), which would add up to a second.
            tokio::time::sleep(IDLE_POLL_PAUSE).await;
            continue;
        }
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|m| {
                let mut record = SqsMessage::default();
                record.message_id = m.message_id.clone();
                record.receipt_handle = m.receipt_handle.clone();
                record.body = m.body.clone();
                record.attributes = m
                    .attributes
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                    .collect();
                record.event_source = Some("aws:sqs".into());
                record
            })
            .collect();
        let response = usage
            .metered(
                &poller.function,
                consumer.handle(event, deadline(poller.timeout)),
            )
            .await;
        let failed: BTreeSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        let known: BTreeSet<&str> = messages.iter().filter_map(|m| m.message_id()).collect();
        if (!poller.partial_failures && !failed.is_empty())
            || failed.iter().any(|id| !known.contains(id))
        {
            // Without ReportBatchItemFailures a failure fails the whole batch; with it, an
            // empty or unknown identifier does (as Lambda does).
            continue;
        }
        let done: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !failed.contains(m.message_id().unwrap_or_default()))
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        if done.is_empty() {
            continue;
        }
        if let Err(error) = sqs
            .delete_message_batch()
            .queue_url(&poller.queue_url)
            .set_entries(Some(done))
            .send()
            .await
        {
            tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(error), "delete failed; messages will be redelivered (harmless)");
        }
    }
}
