//! Every Admin route of `api::routes()` works for an admin, end to end: over real HTTP,
//! through the local runtime's SigV4 gate, signed with the `campaign-admin` key, each gets a
//! real, valid request (a pattern that was created, a breaker that tripped, a consumer whose
//! event source mapping the runtime polls, a dead letter in a DLQ of the stack, the
//! configuration's version as read, a campaign whose timers were deleted) and answers 2xx
//! with the field that shows it did its work — and the state behind it changed. The routes
//! sent are exactly the Admin routes of the table, so a new one fails this test until it is
//! added here. The calls of the API and of the sweeper it invokes are IAM-checked on drop.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use api::Access;
use api_signing::AccessKey;
use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::{Method, StatusCode};
use integration_tests::{TestStack, send_signed};
use lifecycle_adapters::store::keys;
use lifecycle_domain::{CampaignId, TimerKind, TimerStatus, Timestamp};
use lifecycle_resilience::{Dependency, SERVER_ERROR};
use local_stack::credentials;
use serde_json::{Value, json};

/// The gated API, signed with the admin key; remembers each Admin route it was sent.
struct Admin {
    addr: SocketAddr,
    key: AccessKey,
    sent: BTreeSet<(String, &'static str)>,
}

impl Admin {
    /// Sends `method route` (a path of `api::routes()`, `{param}`s filled from `params`) and
    /// records it; panics unless the route is an Admin route.
    async fn send(
        &mut self,
        method: Method,
        route: &'static str,
        params: &[(&str, &str)],
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let sent = (method.to_string(), route);
        assert!(
            admin_routes().contains(&sent),
            "{method} {route} is not an Admin route of api::routes()"
        );
        self.sent.insert(sent);
        let path = route
            .split('/')
            .map(
                |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => params
                        .iter()
                        .find(|(param, _)| *param == name)
                        .map(|(_, value)| *value)
                        .unwrap_or_else(|| panic!("{route}: no value for {{{name}}}")),
                    None => part,
                },
            )
            .collect::<Vec<_>>()
            .join("/");
        self.call(method, &path, body).await
    }

    /// Sends any request (a route that is not an Admin one: setup and reads), signed by the
    /// admin too.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        send_signed(self.addr, &self.key, &method, path, &body).await
    }
}

/// The Admin routes of the API's table.
fn admin_routes() -> BTreeSet<(String, &'static str)> {
    api::routes()
        .into_iter()
        .filter(|(_, _, access)| *access == Access::Admin)
        .map(|(method, path, _)| (method.to_string(), path))
        .collect()
}

fn assert_success(status: StatusCode, answer: &Value, what: &str) {
    assert!(status.is_success(), "{what}: {status} {answer}");
}

/// The ids of the custom failure patterns listed by `GET /recovery/patterns`.
async fn custom_patterns(admin: &mut Admin) -> Vec<String> {
    let (status, listed) = admin
        .send(Method::GET, "/recovery/patterns", &[], None)
        .await;
    assert_success(status, &listed, "list patterns");
    assert!(
        listed["defaults"].as_array().is_some_and(|d| !d.is_empty()),
        "{listed}"
    );
    listed["custom"]
        .as_array()
        .expect("custom patterns")
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn every_admin_route_does_its_work_for_an_admin_through_the_gate() {
    let stack = TestStack::new().await;
    let credentials = credentials::generate();
    let (addr, running) = stack.serve_gated_api_with_consumers(&credentials).await;
    let mut admin = Admin {
        addr,
        key: credentials
            .key("campaign-admin")
            .expect("the admin key")
            .clone(),
        sent: BTreeSet::new(),
    };

    // Failure patterns: created, listed, tried in a dry run, deleted.
    let pattern = json!({
        "id": "admin-quota",
        "pattern": "(?i)quota exceeded",
        "category": "RESOURCE_EXHAUSTION",
        "severity": "HIGH",
        "actions": ["RETRY", "ALERT"],
    });
    let (status, created) = admin
        .send(Method::POST, "/recovery/patterns", &[], Some(pattern))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["id"], "admin-quota");
    assert_eq!(custom_patterns(&mut admin).await, ["admin-quota"]);
    let (status, tried) = admin
        .send(
            Method::POST,
            "/recovery/test",
            &[],
            Some(json!({"kind": "pattern", "patternId": "admin-quota",
                "error": {"code": "LimitExceededException", "message": "Quota exceeded"}})),
        )
        .await;
    assert_success(status, &tried, "pattern dry run");
    assert_eq!(
        (&tried["matchedPattern"], &tried["category"]),
        (&json!("admin-quota"), &json!("RESOURCE_EXHAUSTION")),
        "{tried}"
    );
    let (status, deleted) = admin
        .send(
            Method::DELETE,
            "/recovery/patterns/{id}",
            &[("id", "admin-quota")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{deleted}");
    assert!(custom_patterns(&mut admin).await.is_empty(), "deleted");

    // A breaker that tripped (as a function's failures trip it) is reset.
    let breaker = stack.api_services.shared_breaker(Dependency::S3).unwrap();
    for _ in 0..20 {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker
            .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
            .await;
        breaker.flush(Timestamp::now()).await;
    }
    let (_, breakers) = admin
        .call(Method::GET, "/recovery/circuit-breakers", None)
        .await;
    let s3 = breakers
        .as_array()
        .and_then(|all| all.iter().find(|b| b["dependency"] == "s3"))
        .unwrap_or_else(|| panic!("s3 listed: {breakers}"));
    assert_eq!(s3["state"], "OPEN", "{s3}");
    let (status, reset) = admin
        .send(
            Method::POST,
            "/recovery/circuit-breakers/{dependency}/reset",
            &[("dependency", "s3")],
            None,
        )
        .await;
    assert_success(status, &reset, "breaker reset");
    assert_eq!(
        (&reset["dependency"], &reset["state"], &reset["reason"]),
        (&json!("s3"), &json!("CLOSED"), &json!("manual reset")),
        "{reset}"
    );

    // The executor's event source mapping is disabled, then enabled again.
    let (status, paused) = admin
        .send(
            Method::POST,
            "/recovery/consumers/{name}/pause",
            &[("name", "executor")],
            None,
        )
        .await;
    assert_success(status, &paused, "pause");
    assert_eq!(
        (
            &paused["paused"],
            &paused["changed"],
            &paused["mapping"]["state"]
        ),
        (&json!(true), &json!(true), &json!("Disabled")),
        "{paused}"
    );
    let (status, resumed) = admin
        .send(
            Method::POST,
            "/recovery/consumers/{name}/resume",
            &[("name", "executor")],
            None,
        )
        .await;
    assert_success(status, &resumed, "resume");
    assert_eq!(
        (
            &resumed["paused"],
            &resumed["changed"],
            &resumed["mapping"]["state"]
        ),
        (&json!(false), &json!(true), &json!("Enabled")),
        "{resumed}"
    );

    // The configuration as read, with one change, on the version read.
    let (status, read) = admin
        .call(Method::GET, "/recovery/configuration", None)
        .await;
    assert_success(status, &read, "read configuration");
    let version = read["version"].as_u64().expect("a version");
    let mut change = read.clone();
    for member in ["updatedAt", "source", "refreshSeconds", "alerts"] {
        change.as_object_mut().unwrap().remove(member);
    }
    change["misfire"]["windowSeconds"] = json!(1800);
    let (status, changed) = admin
        .send(Method::PUT, "/recovery/configuration", &[], Some(change))
        .await;
    assert_success(status, &changed, "put configuration");
    assert_eq!(
        (
            &changed["version"],
            &changed["source"],
            &changed["misfire"]["windowSeconds"]
        ),
        (&json!(version + 1), &json!("stored"), &json!(1800)),
        "{changed}"
    );

    // A dead letter of the events DLQ: a dry run selects it, a redrive moves it back.
    let dlq = stack.queue_url("LifecycleEventsDeadLetterQueue");
    let letter = json!({"deadLetter": uuid::Uuid::new_v4().to_string()});
    let sent = stack
        .setup
        .sqs
        .send_message()
        .queue_url(&dlq)
        .message_body(letter.to_string())
        .send()
        .await
        .expect("a dead letter");
    let letter_id = json!([sent.message_id().expect("its id")]);
    let (status, dry) = admin
        .send(
            Method::POST,
            "/recovery/dlq/{queue}/redrive",
            &[("queue", "events")],
            Some(json!({"dryRun": true})),
        )
        .await;
    assert_success(status, &dry, "dry redrive");
    assert_eq!(
        (&dry["selected"], &dry["moved"], &dry["messageIds"]),
        (&json!(1), &json!(0), &letter_id),
        "{dry}"
    );
    let (status, redriven) = admin
        .send(
            Method::POST,
            "/recovery/dlq/{queue}/redrive",
            &[("queue", "events")],
            Some(json!({})),
        )
        .await;
    assert_success(status, &redriven, "redrive");
    assert_eq!(
        (&redriven["moved"], &redriven["messageIds"]),
        (&json!(1), &letter_id),
        "{redriven}"
    );
    let arrived = stack.lifecycle_events(1, Duration::from_secs(5)).await;
    assert!(
        arrived.contains(&letter),
        "in the source queue: {arrived:?}"
    );

    // A sweep run by the sweeper through Lambda's Invoke API.
    let (status, report) = admin
        .send(
            Method::POST,
            "/recovery/trigger",
            &[],
            Some(json!({"steps": ["stuck_timers"], "dryRun": true})),
        )
        .await;
    assert_success(status, &report, "trigger");
    assert_eq!(
        (
            &report["dryRun"],
            &report["success"],
            &report["steps"][0]["step"]
        ),
        (&json!(true), &json!(true), &json!("stuck_timers")),
        "{report}"
    );
    assert!(report["runId"].is_string(), "{report}");

    // A campaign whose timers were deleted behind its back is re-armed.
    let now = Timestamp::now();
    let (status, campaign) = admin
        .call(
            Method::POST,
            "/campaigns",
            Some(json!({
                "name": "Admin recover",
                "startAt": now.plus_millis(3_600_000).to_rfc3339(),
                "endAt": now.plus_millis(7_200_000).to_rfc3339(),
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{campaign}");
    let id = CampaignId::new(campaign["id"].as_str().expect("an id"));
    let timers = |id: &CampaignId| {
        let store = &stack.services.store;
        let id = id.clone();
        async move { store.load_partition(&id).await.expect("partition").timers }
    };
    let planned = timers(&id).await;
    assert!(!planned.is_empty(), "timers planned");
    for timer in &planned {
        stack
            .setup
            .dynamodb
            .delete_item()
            .table_name(&stack.services.config.table_name)
            .key(keys::PK, AttributeValue::S(keys::campaign_pk(&id)))
            .key(keys::SK, AttributeValue::S(keys::timer_sk(timer.kind)))
            .send()
            .await
            .expect("timer deleted");
    }
    assert!(timers(&id).await.is_empty());
    let (status, recovered) = admin
        .send(Method::POST, "/campaigns/recover", &[], Some(json!({})))
        .await;
    assert_success(status, &recovered, "recover");
    assert_eq!(
        (
            &recovered["recovered"],
            &recovered["details"]["recovered"][0]["id"]
        ),
        (&json!(1), &json!(id.as_str())),
        "{recovered}"
    );
    let rearmed = timers(&id).await;
    assert_eq!(
        rearmed.iter().map(|t| t.kind).collect::<Vec<TimerKind>>(),
        planned.iter().map(|t| t.kind).collect::<Vec<_>>()
    );
    assert!(rearmed.iter().all(|t| t.status == TimerStatus::Pending));

    running.stop().await;
    assert_eq!(
        admin.sent,
        admin_routes(),
        "the requests of this test are exactly the Admin routes of api::routes()"
    );
}
