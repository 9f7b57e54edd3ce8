//! Pausing and resuming the SQS consumers against the emulator, with the local runtime's
//! pollers and its Lambda API of event source mappings: a paused executor leaves its queue's
//! messages alone and a resumed one consumes them; pause and resume are idempotent; the
//! sweeper pauses a consumer while its dependency's breaker is OPEN and resumes it once the
//! breaker is CLOSED, never an operator's pause. The IAM check runs when the stack drops.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, api_of};
use lifecycle_adapters::aws::CallResource;
use lifecycle_adapters::services::Services;
use lifecycle_adapters::store::Store;
use lifecycle_domain::recovery::SweepStep;
use lifecycle_domain::{Alert, CampaignId, CampaignStatus, Timestamp};
use lifecycle_resilience::{BreakerConfig, BreakerRecord, FailMode};
use local_stack::aws_env;
use local_stack::functions::Trigger;
use local_stack::runtime::{self, RuntimeClients, RuntimeOptions};
use serde_json::{Value, json};
use sweeper::SweepRequest;

const API: &str = "ApiFunction";
const SWEEPER: &str = "SweeperFunction";

/// The local runtime driving only the SQS triggers of `stack` (no schedules: no sweeper or
/// dispatcher runs behind the test's back), and the Lambda API of their mappings.
struct Consumers {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
    /// The local Lambda API (`AWS_ENDPOINT_URL_LAMBDA`).
    endpoint: String,
}

impl Consumers {
    async fn start(stack: &TestStack) -> Self {
        let sdk_config = aws_env::sdk_config().await;
        let clients = RuntimeClients::new(&sdk_config, stack.calls.clone());
        let specs: Vec<_> = stack
            .specs
            .iter()
            .filter(|spec| spec.binary != "api")
            .map(|spec| {
                let mut spec = spec.clone();
                spec.triggers.retain(|t| matches!(t, Trigger::Sqs { .. }));
                spec
            })
            .filter(|spec| !spec.triggers.is_empty())
            .collect();
        let options = RuntimeOptions {
            api_addr: "127.0.0.1:0".parse().expect("an address"),
            schedule_period: None,
            sweep_period: None,
            sqs_pollers: 1,
            api_auth: None,
        };
        let (stop, shutdown) = tokio::sync::watch::channel(false);
        let tasks = runtime::start(&specs, &clients, &options, shutdown)
            .await
            .expect("the local runtime starts");
        let router =
            local_stack::event_source_mappings::router(clients.event_source_mappings.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let endpoint = format!("http://{}", listener.local_addr().expect("its address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            stop,
            tasks,
            endpoint,
        }
    }

    /// The services of `function` with their Lambda client on the local Lambda API.
    fn services(&self, stack: &TestStack, function: &str) -> Services {
        stack.function_services_with(function, |config| {
            config.lambda_endpoint = Some(self.endpoint.clone());
        })
    }

    async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn call(
    stack: &TestStack,
    api: &Services,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> (StatusCode, Value) {
    api_of(api, &stack.api_lists(), method, path, body).await
}

/// `name`'s entry of `GET /recovery/consumers`.
async fn consumer(stack: &TestStack, api: &Services, name: &str) -> Value {
    let (status, body) = call(stack, api, Method::GET, "/recovery/consumers", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["consumers"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("{name} listed: {body}"))
}

/// Polls until `campaign` has `status`, at most `patience`.
async fn wait_for_status(
    stack: &TestStack,
    id: &CampaignId,
    status: CampaignStatus,
    patience: Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + patience;
    while tokio::time::Instant::now() < deadline {
        if stack.campaign(id).await.status == status {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

#[tokio::test]
async fn a_paused_executor_leaves_its_messages_queued_until_it_is_resumed() {
    let stack = TestStack::new().await;
    let local = Consumers::start(&stack).await;
    let api = local.services(&stack, API);

    let (status, body) = call(&stack, &api, Method::GET, "/recovery/consumers", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let names: Vec<&str> = body["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["executor", "sender", "fanout", "planner"]);
    let executor = consumer(&stack, &api, "executor").await;
    assert_eq!(
        (&executor["paused"], &executor["version"], &executor["by"]),
        (&json!(false), &json!(0), &Value::Null)
    );
    assert_eq!(executor["mapping"]["state"], "Enabled");
    assert_eq!(executor["dependency"], "dynamodb");

    let pause = "/recovery/consumers/executor/pause";
    let (status, paused) = call(&stack, &api, Method::POST, pause, None).await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    assert_eq!(
        (&paused["paused"], &paused["by"], &paused["version"]),
        (&json!(true), &json!("operator"), &json!(1))
    );
    assert_eq!(paused["mapping"]["state"], "Disabled");
    assert_eq!(paused["changed"], true);
    // Pausing a paused consumer answers its state and writes nothing.
    let (status, again) = call(&stack, &api, Method::POST, pause, None).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (&again["changed"], &again["version"]),
        (&json!(false), &json!(1))
    );
    assert_eq!(again["at"], paused["at"]);

    // A campaign starting in 1 s: the API queues its START timer itself.
    let now = Timestamp::now();
    let body = json!({
        "name": "paused executor",
        "startAt": now.plus_millis(1_000).to_rfc3339(),
        "endAt": now.plus_millis(3_600_000).to_rfc3339(),
    })
    .to_string();
    let (status, created) = call(&stack, &api, Method::POST, "/campaigns", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = CampaignId::new(created["id"].as_str().unwrap());
    assert!(
        !wait_for_status(&stack, &id, CampaignStatus::Running, Duration::from_secs(5)).await,
        "a paused executor fired the timer"
    );
    let queued = stack
        .setup
        .sqs
        .get_queue_attributes()
        .queue_url(stack.queue_url("TimersQueue"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    let visible: u64 = queued
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(visible >= 1, "the START timer waits in the queue");

    let resume = "/recovery/consumers/executor/resume";
    let (status, resumed) = call(&stack, &api, Method::POST, resume, None).await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(
        (&resumed["paused"], &resumed["version"], &resumed["changed"]),
        (&json!(false), &json!(2), &json!(true))
    );
    assert_eq!(resumed["mapping"]["state"], "Enabled");
    assert!(
        wait_for_status(
            &stack,
            &id,
            CampaignStatus::Running,
            Duration::from_secs(30)
        )
        .await,
        "the resumed executor fired the timer"
    );
    let (_, again) = call(&stack, &api, Method::POST, resume, None).await;
    assert_eq!(
        (&again["changed"], &again["version"]),
        (&json!(false), &json!(2))
    );

    let (status, unknown) = call(
        &stack,
        &api,
        Method::POST,
        "/recovery/consumers/dispatcher/pause",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}");
    assert_eq!(unknown["error"]["code"], "CONSUMER_NOT_FOUND");
    local.stop().await;
}

/// Forces `dependency`'s shared breaker OPEN (as a trip would, through the breaker store).
async fn force_open(stack: &TestStack, dependency: &str) {
    let store = Store::new(
        stack.setup.dynamodb.clone(),
        &stack.services.config.table_name,
        stack.services.config.due_shards,
    );
    let now = Timestamp::now();
    let closed = store
        .breaker_record(dependency)
        .await
        .unwrap()
        .unwrap_or_else(|| BreakerRecord::closed(dependency, now));
    let config = BreakerConfig::standard(FailMode::Open);
    let open = closed.tripped(&config, now, "forced by the test".into());
    let alert = Alert::circuit_changed(
        dependency,
        ("CLOSED", "OPEN"),
        open.version,
        ("forced by the test", None),
        None,
        now,
    );
    assert!(
        store
            .transition_breaker(&closed, &open, &alert)
            .await
            .unwrap()
    );
}

async fn sweep_consumers(sweeper: &Services) -> lifecycle_domain::recovery::RecoveryReport {
    let request = SweepRequest {
        dry_run: false,
        steps: Some(vec![SweepStep::Consumers]),
    };
    sweeper::sweep(sweeper, &request, Timestamp::now(), None).await
}

#[tokio::test]
async fn the_sweeper_pauses_consumers_while_their_breaker_is_open_and_never_resumes_an_operators_pause()
 {
    let stack = TestStack::new().await;
    let local = Consumers::start(&stack).await;
    let api = local.services(&stack, API);
    let sweeper = local.services(&stack, SWEEPER);

    // Breakers closed: nothing to do, nothing written.
    let report = sweep_consumers(&sweeper).await;
    assert!(report.consumers.is_empty(), "{report:?}");
    assert_eq!(report.steps[0].get("checked"), 3);

    force_open(&stack, "dynamodb").await;
    let report = sweep_consumers(&sweeper).await;
    let changes: Vec<(&str, &str, &str)> = report
        .consumers
        .iter()
        .map(|c| (c.consumer.as_str(), c.action.as_str(), c.by.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            ("executor", "paused", "breaker:dynamodb"),
            ("sender", "paused", "breaker:dynamodb"),
        ],
        "{report:?}"
    );
    for name in ["executor", "sender"] {
        let paused = consumer(&stack, &api, name).await;
        assert_eq!(
            (&paused["paused"], &paused["by"]),
            (&json!(true), &json!("breaker:dynamodb"))
        );
        assert_eq!(paused["mapping"]["state"], "Disabled");
    }
    assert_eq!(consumer(&stack, &api, "planner").await["paused"], false);
    // A second sweep during the outage changes nothing.
    assert!(sweep_consumers(&sweeper).await.consumers.is_empty());

    // The operator takes the sender's pause over; the breaker closes.
    let (status, sender) = call(
        &stack,
        &api,
        Method::POST,
        "/recovery/consumers/sender/pause",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sender}");
    assert_eq!(
        (&sender["by"], &sender["changed"]),
        (&json!("operator"), &json!(true))
    );
    let (status, reset) = call(
        &stack,
        &api,
        Method::POST,
        "/recovery/circuit-breakers/dynamodb/reset",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    assert_eq!(reset["state"], "CLOSED");

    let report = sweep_consumers(&sweeper).await;
    let changes: Vec<(&str, &str)> = report
        .consumers
        .iter()
        .map(|c| (c.consumer.as_str(), c.action.as_str()))
        .collect();
    assert_eq!(changes, [("executor", "resumed")], "{report:?}");
    let executor = consumer(&stack, &api, "executor").await;
    assert_eq!(
        (&executor["paused"], &executor["mapping"]["state"]),
        (&json!(false), &json!("Enabled"))
    );
    let sender = consumer(&stack, &api, "sender").await;
    assert_eq!(
        (
            &sender["paused"],
            &sender["by"],
            &sender["mapping"]["state"]
        ),
        (&json!(true), &json!("operator"), &json!("Disabled"))
    );
    assert!(sweep_consumers(&sweeper).await.consumers.is_empty());
    local.stop().await;

    // The API read the mappings, the sweeper switched them, and their policies allow it
    // (checked again on drop).
    let calls = stack.calls.snapshot();
    for (function, operation) in [
        (API, "GetEventSourceMapping"),
        (SWEEPER, "UpdateEventSourceMapping"),
    ] {
        let made = calls[function].iter().any(|call| {
            call.operation == operation
                && matches!(
                    call.resources[..],
                    [CallResource::EventSourceMapping { .. }]
                )
        });
        assert!(made, "{function} {operation}: {:?}", calls[function]);
    }
    stack.assert_iam_allowed();
}
