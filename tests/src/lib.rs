//! Helpers of the integration tests: each test provisions its own stack from template.yaml
//! (unique names) on the local endpoint (`make test` starts it) and talks to it with the
//! real SDK clients.

pub mod alerts;
pub mod delivery;

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use delivery_planner::ports::PlannerServices;
use delivery_sender::ports::SenderServices;
use http_body_util::BodyExt;
use lifecycle_adapters::aws::fault_injection::parse_rules;
use lifecycle_adapters::aws::{AwsClients, FaultInjector, RequestCounter};
use lifecycle_adapters::config::Config;
use lifecycle_adapters::delivery::DeliveryConfig;
use lifecycle_adapters::services::Services;
use lifecycle_domain::Timestamp;
use lifecycle_domain::timer_messages::TimerMessage;
use lifecycle_domain::timer_plan::plan_timers;
use lifecycle_domain::{Campaign, CampaignId, CampaignStatus, DueTimer, Timer, TimerKind};
use local_stack::function_calls::FunctionCalls;
use local_stack::functions::{FunctionSpec, functions};
use local_stack::iam::{Denial, IamCheck};
use local_stack::runtime::{self, LOCAL_EMAIL_SEND_RATE, RuntimeClients, RuntimeOptions};
use local_stack::{Stack, aws_env, provision_template};
use tower::ServiceExt;

/// A freshly provisioned stack and the services of its functions.
///
/// Code of a function runs on [`TestStack::function_services`] (or [`TestStack::api`]): that
/// function's environment and clients of its own, whose calls are recorded as that function's.
/// When the stack is dropped at the end of a test, every recorded call is checked against the
/// function's policy in template.yaml and the test fails if one is denied
/// ([`TestStack::assert_iam_allowed`]).
pub struct TestStack {
    pub stack: Stack,
    pub specs: Vec<FunctionSpec>,
    /// Setup and inspection (storing campaigns, reading the store): no function's calls, so
    /// not IAM-checked. Do not run function code on it.
    pub services: Services,
    /// Requests sent by `services` and by every function's services.
    pub requests: RequestCounter,
    /// Uncounted clients for setup and inspection.
    pub setup: AwsClients,
    /// Each function's recorded calls (its services here, and the local runtime's if passed
    /// to it).
    pub calls: FunctionCalls,
    /// The policies the calls are checked against.
    pub iam: IamCheck,
    /// The API function's services: the instance [`TestStack::api`] requests are served by.
    pub api_services: Services,
    sdk_config: aws_config::SdkConfig,
}

impl TestStack {
    /// Provisions template.yaml under a unique stack name.
    pub async fn new() -> Self {
        let sdk_config = aws_env::sdk_config().await;
        let setup = AwsClients::from_sdk_config(&sdk_config, &RequestCounter::new());
        let name = format!("it-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let stack = provision_with_retries(&setup, &name)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "provisioning on {} failed: {e}\nStart the emulator first: `make emulator` (or run `make test`).",
                aws_env::endpoint()
            )
        });
        let specs = functions(&stack).expect("functions of template.yaml");
        let iam = IamCheck::for_stack(&stack).expect("policies of template.yaml");
        let requests = RequestCounter::new();
        let services = Services::new(
            config_of(&specs, "TimerExecutorFunction"),
            &AwsClients::from_sdk_config(&sdk_config, &requests),
            requests.clone(),
        );
        let mut stack = Self {
            api_services: services.clone(),
            stack,
            specs,
            services,
            requests,
            setup,
            calls: FunctionCalls::new(),
            iam,
            sdk_config,
        };
        stack.api_services = stack.function_services(API);
        stack
    }

    /// Services of the function `logical_id` (e.g. `"TimerExecutorFunction"`): its template
    /// environment, its own recorded clients, requests counted in `requests`. Each call builds
    /// a fresh instance (breakers, failure patterns, heartbeats of its own).
    pub fn function_services(&self, logical_id: &str) -> Services {
        self.function_services_with(logical_id, |_| {})
    }

    /// The AWS clients of the function `logical_id`: its calls recorded for the IAM check.
    pub fn function_clients(&self, logical_id: &str) -> AwsClients {
        AwsClients::instrumented(
            &self.sdk_config,
            &self.requests,
            None,
            Some(&self.calls.recorder(logical_id)),
        )
    }

    /// [`TestStack::function_services`] with `change` applied to the configuration.
    pub fn function_services_with(
        &self,
        logical_id: &str,
        change: impl FnOnce(&mut Config),
    ) -> Services {
        self.function_services_with_faults(logical_id, "", change).0
    }

    /// [`TestStack::function_services_with`] whose AWS responses are turned into failures by
    /// `rules` (the `FAULT_INJECTION` syntax; empty: none).
    pub fn function_services_with_faults(
        &self,
        logical_id: &str,
        rules: &str,
        change: impl FnOnce(&mut Config),
    ) -> (Services, FaultInjector) {
        let mut config = config_of(&self.specs, logical_id);
        change(&mut config);
        let injector = FaultInjector::new(parse_rules(rules).expect("valid fault rules"));
        let clients = AwsClients::instrumented(
            &self.sdk_config,
            &self.requests,
            Some(&injector),
            Some(&self.calls.recorder(logical_id)),
        );
        (
            Services::new(config, &clients, self.requests.clone()),
            injector,
        )
    }

    /// The delivery sender of this stack, as `DeliverySenderFunction` (its template
    /// environment, clients recorded as its calls), sending email at the local rate.
    pub async fn delivery_sender(&self) -> SenderServices {
        self.delivery_sender_with_faults("").await.0
    }

    /// [`TestStack::delivery_sender`] whose AWS responses are turned into failures by
    /// `rules` (the `FAULT_INJECTION` syntax).
    pub async fn delivery_sender_with_faults(
        &self,
        rules: &str,
    ) -> (SenderServices, FaultInjector) {
        let mut environment = self.spec(SENDER).environment.clone();
        environment
            .entry("EMAIL_SEND_RATE".into())
            .or_insert_with(|| LOCAL_EMAIL_SEND_RATE.to_string());
        let config = DeliveryConfig::from_map(&environment).expect("valid delivery settings");
        let injector = FaultInjector::new(parse_rules(rules).expect("valid fault rules"));
        let clients = AwsClients::instrumented(
            &self.sdk_config,
            &self.requests,
            Some(&injector),
            Some(&self.calls.recorder(SENDER)),
        );
        let sender = SenderServices::new(self.function_services(SENDER), config, &clients)
            .await
            .expect("the sender starts");
        (sender, injector)
    }

    /// The delivery planner of this stack, as `DeliveryPlannerFunction` (its template
    /// environment, clients recorded as its calls).
    pub fn delivery_planner(&self) -> PlannerServices {
        let config = DeliveryConfig::from_map(&self.spec(PLANNER).environment)
            .expect("valid delivery settings");
        let clients = AwsClients::instrumented(
            &self.sdk_config,
            &self.requests,
            None,
            Some(&self.calls.recorder(PLANNER)),
        );
        PlannerServices::new(self.function_services(PLANNER), config, &clients)
            .expect("the planner starts")
    }

    /// The template's function `logical_id`.
    fn spec(&self, logical_id: &str) -> &FunctionSpec {
        self.specs
            .iter()
            .find(|s| s.logical_id == logical_id)
            .unwrap_or_else(|| panic!("no function {logical_id} in template.yaml"))
    }

    /// Counted clients (no function's) whose AWS responses are turned into failures by
    /// `rules` (the `FAULT_INJECTION` syntax), for library code no function runs as such.
    pub fn clients_with_faults(&self, rules: &str) -> (AwsClients, FaultInjector) {
        let injector = FaultInjector::new(parse_rules(rules).expect("valid fault rules"));
        let clients = AwsClients::with_faults(&self.sdk_config, &self.requests, Some(&injector));
        (clients, injector)
    }

    /// Every call the functions made so far that their policies in template.yaml do not
    /// allow (or that cannot be checked).
    pub fn iam_denials(&self) -> Vec<Denial> {
        self.iam.denied(&self.calls.snapshot())
    }

    /// Panics, listing them, if a function made a call its policy does not allow.
    pub fn assert_iam_allowed(&self) {
        let denials = self.iam_denials();
        assert!(
            denials.is_empty(),
            "AWS calls denied by template.yaml (IAM would refuse them on AWS):\n  {}",
            denials
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        );
    }

    /// Messages waiting out their delay in queue `logical_id`.
    pub async fn delayed_messages(&self, logical_id: &str) -> u64 {
        let name = aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed;
        self.setup
            .sqs
            .get_queue_attributes()
            .queue_url(self.queue_url(logical_id))
            .attribute_names(name.clone())
            .send()
            .await
            .expect("queue attributes")
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The stored timer of `kind` of campaign `id`.
    pub async fn timer(&self, id: &CampaignId, kind: TimerKind) -> Timer {
        self.services
            .store
            .load_partition(id)
            .await
            .expect("partition read")
            .timers
            .into_iter()
            .find(|t| t.kind == kind)
            .expect("timer exists")
    }

    /// The stored campaign `id` (it must exist).
    pub async fn campaign(&self, id: &CampaignId) -> Campaign {
        self.services
            .store
            .get_campaign(id)
            .await
            .expect("campaign read")
            .expect("campaign exists")
    }

    /// URL of a queue of the template.
    pub fn queue_url(&self, logical_id: &str) -> String {
        self.stack
            .reference(logical_id)
            .unwrap_or_else(|| panic!("{logical_id} provisioned"))
            .to_owned()
    }

    /// Stores a SCHEDULED campaign with its planned timers (no API, no direct send).
    pub async fn store_campaign(
        &self,
        start_in_ms: i64,
        end_in_ms: i64,
        claim_until_in_ms: Option<i64>,
        reminder_in_ms: Option<i64>,
    ) -> (Campaign, Vec<Timer>) {
        let now = Timestamp::now();
        let campaign = Campaign {
            id: CampaignId::generate(),
            name: "integration".into(),
            status: CampaignStatus::Scheduled,
            start_at: now.plus_millis(start_in_ms),
            end_at: now.plus_millis(end_in_ms),
            claim_until: claim_until_in_ms.map(|ms| now.plus_millis(ms)),
            reward_reminder_at: reminder_in_ms.map(|ms| now.plus_millis(ms)),
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let timers = plan_timers(&campaign);
        self.services
            .store
            .create_campaign(&campaign, &timers)
            .await
            .expect("campaign stored");
        (campaign, timers)
    }

    /// Every lifecycle event that reached the example subscriber queue, waiting until at
    /// least `expected` arrived or `patience` passed.
    pub async fn lifecycle_events(
        &self,
        expected: usize,
        patience: Duration,
    ) -> Vec<serde_json::Value> {
        let url = self.queue_url("LifecycleEventsQueue");
        let deadline = tokio::time::Instant::now() + patience;
        let mut events = Vec::new();
        loop {
            let output = self
                .setup
                .sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive lifecycle events");
            for message in output.messages() {
                events.push(
                    serde_json::from_str(message.body().unwrap_or_default())
                        .expect("events are JSON"),
                );
                self.setup
                    .sqs
                    .delete_message()
                    .queue_url(&url)
                    .receipt_handle(message.receipt_handle().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete event");
            }
            if output.messages().is_empty()
                && (events.len() >= expected || tokio::time::Instant::now() >= deadline)
            {
                return events;
            }
        }
    }

    /// Sends a request to the API function's router in-process.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, serde_json::Value) {
        api_of(&self.api_services, &self.api_lists(), method, path, body).await
    }

    /// The local runtime driving every function of this stack but the API (tests call the
    /// router in-process) like AWS, schedules every `schedule_period`; each function's calls
    /// are recorded with the ones `api` makes, for the IAM check.
    pub async fn run_locally(&self, schedule_period: Duration) -> LocalRun {
        let sdk_config = aws_env::sdk_config().await;
        let clients = RuntimeClients::new(&sdk_config, self.calls.clone());
        let specs: Vec<_> = self
            .specs
            .iter()
            .filter(|s| s.binary != "api")
            .cloned()
            .collect();
        let options = RuntimeOptions {
            api_addr: "127.0.0.1:0".parse().expect("an address"),
            schedule_period: Some(schedule_period),
            sweep_period: None,
            sqs_pollers: 2,
            api_auth: None,
        };
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let tasks = runtime::start(&specs, &clients, &options, shutdown)
            .await
            .expect("the local runtime starts");
        LocalRun { stop, tasks }
    }

    /// The API function served by the local runtime behind its SigV4 gate (as API Gateway's
    /// IAM authorization, with `keys`) on a free port: its address and the running runtime.
    pub async fn serve_gated_api(
        &self,
        keys: &local_stack::credentials::LocalCredentials,
    ) -> (std::net::SocketAddr, LocalRun) {
        self.serve_gated(keys, false).await
    }

    /// [`TestStack::serve_gated_api`] with what the admin routes reach, as `make local` runs
    /// it: the SQS consumers (pollers, no schedules) and a local Lambda API (the sweeper's
    /// Invoke, the consumers' event source mappings) that the API's and the sweeper's
    /// `AWS_ENDPOINT_URL_LAMBDA` point at.
    pub async fn serve_gated_api_with_consumers(
        &self,
        keys: &local_stack::credentials::LocalCredentials,
    ) -> (std::net::SocketAddr, LocalRun) {
        self.serve_gated(keys, true).await
    }

    /// Serves the gated API, with the consumers and the Lambda API when `consumers`.
    async fn serve_gated(
        &self,
        keys: &local_stack::credentials::LocalCredentials,
        consumers: bool,
    ) -> (std::net::SocketAddr, LocalRun) {
        let auth = local_stack::api_auth::ApiAuth::new(&self.stack, keys)
            .expect("the gate of template.yaml");
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port");
        let mut specs: Vec<_> = self
            .specs
            .iter()
            .filter(|s| s.binary == "api")
            .cloned()
            .collect();
        assert_eq!(specs.len(), 1, "one API function in template.yaml");
        let lambda = if consumers {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a local port");
            let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
            specs[0]
                .environment
                .insert("AWS_ENDPOINT_URL_LAMBDA".into(), endpoint.clone());
            specs.extend(self.specs.iter().filter_map(|spec| {
                let mut spec = spec.clone();
                spec.triggers
                    .retain(|t| matches!(t, local_stack::functions::Trigger::Sqs { .. }));
                (spec.binary != "api" && !spec.triggers.is_empty()).then_some(spec)
            }));
            Some((listener, endpoint))
        } else {
            None
        };
        let clients = RuntimeClients::new(&aws_env::sdk_config().await, self.calls.clone());
        let options = RuntimeOptions {
            api_addr: addr,
            schedule_period: None,
            sweep_period: None,
            sqs_pollers: 1,
            api_auth: Some(std::sync::Arc::new(auth)),
        };
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let mut tasks = runtime::start(&specs, &clients, &options, shutdown.clone())
            .await
            .expect("the local runtime serves the API");
        if let Some((listener, endpoint)) = lambda {
            let invocable = self
                .specs
                .iter()
                .filter(|spec| local_stack::invocation::INVOCABLE.contains(&spec.binary.as_str()))
                .map(|spec| {
                    let mut spec = spec.clone();
                    if spec.binary == "sweeper" {
                        spec.environment
                            .insert("AWS_ENDPOINT_URL_LAMBDA".into(), endpoint.clone());
                    }
                    let clients = self.function_clients(&spec.logical_id);
                    (spec, clients)
                })
                .collect();
            let router = local_stack::lambda_api::router(&self.stack.name, invocable).merge(
                local_stack::event_source_mappings::router(clients.event_source_mappings.clone()),
            );
            let mut stop = shutdown;
            tasks.spawn(async move {
                let _ = axum::serve(listener, router)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    })
                    .await;
            });
        }
        (addr, LocalRun { stop, tasks })
    }

    /// Serves Lambda's Invoke API for this stack's invocable functions (the sweeper, the
    /// dispatcher) on 127.0.0.1:0, as `make local` does, each running on its own recorded
    /// clients; returns its endpoint. The task ends with the test's runtime.
    pub async fn serve_lambda_api(&self) -> String {
        let specs = self
            .specs
            .iter()
            .filter(|spec| local_stack::invocation::INVOCABLE.contains(&spec.binary.as_str()))
            .map(|spec| (spec.clone(), self.function_clients(&spec.logical_id)))
            .collect();
        let router = local_stack::lambda_api::router(&self.stack.name, specs);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        endpoint
    }

    /// The API function's services with its Lambda client pointed at `endpoint` (what the
    /// local runtime sets as `AWS_ENDPOINT_URL_LAMBDA`), for routes that invoke the sweeper.
    pub fn api_services_invoking(&self, endpoint: &str) -> Services {
        self.function_services_with(API, |config| {
            config.lambda_endpoint = Some(endpoint.to_owned());
        })
    }

    /// The API function's lists bucket (its template `LISTS_BUCKET`, its clients recorded
    /// as its calls).
    pub fn api_lists(&self) -> api::ListBucket {
        let clients = AwsClients::instrumented(
            &self.sdk_config,
            &self.requests,
            None,
            Some(&self.calls.recorder(API)),
        );
        let environment = &self.spec(API).environment;
        api::ListBucket::from_lookup(
            |name| environment.get(name).cloned(),
            &clients,
            self.api_services.resilience.clone(),
        )
        .expect("LISTS_BUCKET in the API's environment")
    }
}

/// The local runtime started by [`TestStack::run_locally`].
pub struct LocalRun {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl LocalRun {
    /// Stops every trigger and waits for the work in hand to finish.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Sends a request to the API router over `services` (e.g. services with injected faults),
/// in-process.
pub async fn api_of(
    services: &Services,
    lists: &api::ListBucket,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.unwrap_or_default().to_owned()))
        .expect("request");
    let response = api::router(services.clone(), lists.clone())
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let json = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, json)
}

/// The headers signing a JSON request `method path` with `body` to `host` with `key` at
/// `time`, as the SDKs sign it (`host` and `content-type` signed).
pub fn signature_headers(
    host: &str,
    key: &api_signing::AccessKey,
    method: &str,
    path: &str,
    body: &str,
    time: std::time::SystemTime,
) -> Vec<(String, String)> {
    api_signing::sign(
        &api_signing::Request {
            method,
            uri: path,
            headers: &[("host", host), ("content-type", "application/json")],
            body: body.as_bytes(),
        },
        key,
        &aws_env::region(),
        time,
    )
    .expect("signed")
}

/// Sends `method path` with the JSON `body` to the API served at `addr` (e.g. by
/// [`TestStack::serve_gated_api`]), signed now with `key` as the SDKs sign: the status and
/// the answer (`Null` when empty, a string when not JSON).
pub async fn send_signed(
    addr: std::net::SocketAddr,
    key: &api_signing::AccessKey,
    method: &Method,
    path: &str,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let host = addr.to_string();
    let signature = signature_headers(
        &host,
        key,
        method.as_str(),
        path,
        body,
        std::time::SystemTime::now(),
    );
    let mut request = reqwest::Client::new()
        .request(
            method.as_str().parse().expect("a method"),
            format!("http://{host}{path}"),
        )
        .header("host", &host)
        .header("content-type", "application/json");
    for (name, value) in signature {
        request = request.header(name, value);
    }
    let response = request
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer");
    let status = StatusCode::from_u16(response.status().as_u16()).expect("a status");
    let text = response.text().await.expect("a body");
    let answer = if text.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    };
    (status, answer)
}

/// Provisions the stack `name`, trying up to three times: the emulator answers a 500 now and
/// then under load, and provisioning is idempotent (an existing resource is kept).
async fn provision_with_retries(
    setup: &AwsClients,
    name: &str,
) -> Result<local_stack::Stack, local_stack::provision::ProvisionError> {
    let mut attempt = 1;
    loop {
        match provision_template(setup, name, &aws_env::region()).await {
            Err(error) if attempt < 3 => {
                eprintln!("provisioning attempt {attempt} failed ({error}); trying again");
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            result => return result,
        }
    }
}

/// The API function's logical id.
const API: &str = "ApiFunction";
const SENDER: &str = "DeliverySenderFunction";
const PLANNER: &str = "DeliveryPlannerFunction";

/// The configuration of function `logical_id` from its template environment.
fn config_of(specs: &[FunctionSpec], logical_id: &str) -> Config {
    let spec = specs
        .iter()
        .find(|s| s.logical_id == logical_id)
        .unwrap_or_else(|| panic!("no function {logical_id} in template.yaml"));
    Config::from_map(&spec.environment).expect("template environment is valid")
}

/// The IAM check at the end of every test (unless it already failed).
impl Drop for TestStack {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_iam_allowed();
        }
    }
}

/// The timer of `kind` among `timers`, as the queue carries it.
pub fn due(timers: &[Timer], kind: TimerKind) -> DueTimer {
    DueTimer::from(
        timers
            .iter()
            .find(|t| t.kind == kind)
            .expect("timer planned"),
    )
}

/// An SQS event of `(message id, timers)` messages, as Lambda would deliver it.
pub fn sqs_event(messages: &[(&str, Vec<DueTimer>)]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|(id, timers)| {
            raw_record(
                id,
                &TimerMessage {
                    timers: timers.clone(),
                }
                .to_body(),
            )
        })
        .collect();
    event
}

/// An SQS record with any body.
pub fn raw_record(id: &str, body: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some((*id).to_owned());
    record.body = Some(body.to_owned());
    record
}

/// Message ids an executor response asks to redeliver.
pub fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

/// Lifecycle events of one campaign with one detail-type.
pub fn events_of<'a>(
    events: &'a [serde_json::Value],
    campaign: &CampaignId,
    detail_type: &str,
) -> Vec<&'a serde_json::Value> {
    events
        .iter()
        .filter(|e| {
            e["detail-type"] == detail_type && e["detail"]["campaignId"] == campaign.as_str()
        })
        .collect()
}
