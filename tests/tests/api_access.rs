//! The HTTP API's access control in `template.yaml` against the route table (`api::routes()`),
//! from the file alone (no emulator):
//!
//! - the API function's `HttpApi` events are exactly the table's routes, on `CampaignHttpApi`,
//!   and `Auth.Authorizer: NONE` exactly on the Public ones; the API's default authorizer is IAM
//!   with stage throttling, and its reserved concurrency is conditional on its parameter;
//! - `OperatorAccessPolicy` grants `execute-api:Invoke` on exactly the Operator routes' ARNs;
//! - `AdminAccessPolicy` allows every non-public route, and running the sweeper and the
//!   dispatcher by hand;
//! - no Operator pattern allows an Admin route: IAM's `*` also matches `/`, so each Admin route
//!   is tried with concrete sample paths;
//! - the API has the fan-out's `ALERT_*` destinations (a test alert is checked against them).

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use api::Access;
use iam_policy::{Call, Policy};
use local_stack::api_auth::{HttpRoute, http_routes, managed_policy};
use local_stack::provision::served_in_process;
use local_stack::template::{Physical, Resolver, Template};
use local_stack::{Stack, template_path};
use serde_yaml_ng::Value;

const STACK: &str = "s";
const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";

/// Values a path parameter is tried with (IAM's `*` matches `/` too).
const SAMPLES: [&str; 4] = ["p-1", "a/b", "x/reset", "patterns"];

/// The template over stand-in names for every resource (`s-<LogicalId>`, its `Arn` and
/// `QueueName`), and the local names of the functions and the HTTP API.
fn stack(template: Template) -> Stack {
    let mut physical: BTreeMap<String, Physical> = template
        .resources
        .keys()
        .map(|id| {
            let name = format!("{STACK}-{id}");
            let attributes = BTreeMap::from([
                (
                    "Arn".to_owned(),
                    format!("arn:aws:stand-in:{REGION}:{ACCOUNT}:{name}"),
                ),
                ("QueueName".to_owned(), name.clone()),
            ]);
            (
                id.clone(),
                Physical {
                    reference: name,
                    attributes,
                },
            )
        })
        .collect();
    physical.extend(served_in_process(&template, STACK, REGION));
    let resolver = Resolver {
        stack_name: STACK.into(),
        region: REGION.into(),
        parameters: template.parameters.clone(),
        physical,
    };
    Stack {
        name: STACK.into(),
        template,
        resolver,
    }
}

fn template() -> Template {
    Template::load(&template_path()).expect("template.yaml parses")
}

fn api_id() -> String {
    format!("{STACK}-CampaignHttpApi")
}

/// The ARN pattern of a route: each `{param}` is one `*`.
fn pattern(method: &str, path: &str) -> String {
    let path: Vec<String> = path
        .split('/')
        .map(|part| {
            if part.starts_with('{') {
                "*".to_owned()
            } else {
                part.to_owned()
            }
        })
        .collect();
    format!(
        "arn:aws:execute-api:{REGION}:{ACCOUNT}:{}/*/{method}{}",
        api_id(),
        path.join("/")
    )
}

/// Concrete requests on a route: every parameter replaced by each sample.
fn samples(path: &str) -> Vec<String> {
    SAMPLES
        .iter()
        .map(|sample| {
            path.split('/')
                .map(|part| if part.starts_with('{') { sample } else { part })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect()
}

fn invoke(method: &str, path: &str) -> Call {
    Call {
        action: "execute-api:Invoke".into(),
        resource: format!(
            "arn:aws:execute-api:{REGION}:{ACCOUNT}:{}/$default/{method}{path}",
            api_id()
        ),
    }
}

fn table() -> Vec<(String, &'static str, Access)> {
    api::routes()
        .into_iter()
        .map(|(method, path, access)| (method.to_string(), path, access))
        .collect()
}

#[test]
fn the_http_api_events_are_exactly_the_route_table() {
    let stack = stack(template());
    let events: BTreeSet<HttpRoute> = http_routes(&stack).unwrap().into_iter().collect();
    let expected: BTreeSet<HttpRoute> = table()
        .into_iter()
        .map(|(method, path, access)| HttpRoute {
            method,
            path: path.to_owned(),
            public: access == Access::Public,
        })
        .collect();
    let missing: Vec<_> = expected.difference(&events).collect();
    let extra: Vec<_> = events.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without their HttpApi event (or with the wrong Auth): {missing:?}; events that are no route: {extra:?}"
    );
    let api = stack
        .resolver
        .resolve(&stack.template.resources["ApiFunction"].properties)
        .unwrap();
    for (name, event) in api["Events"].as_mapping().unwrap() {
        assert_eq!(
            event["Properties"]["ApiId"].as_str(),
            Some(api_id().as_str()),
            "{name:?} is on CampaignHttpApi"
        );
    }
}

#[test]
fn the_api_is_iam_authorized_throttled_and_its_concurrency_capped() {
    let template = template();
    let api = &template.resources["CampaignHttpApi"];
    assert_eq!(api.kind, "AWS::Serverless::HttpApi");
    assert_eq!(
        api.properties["Auth"]["EnableIamAuthorizer"],
        Value::Bool(true)
    );
    assert_eq!(
        api.properties["Auth"]["DefaultAuthorizer"].as_str(),
        Some("AWS_IAM")
    );
    let resolved = stack(template.clone())
        .resolver
        .resolve(&api.properties)
        .unwrap();
    let settings = &resolved["DefaultRouteSettings"];
    assert_eq!(settings["ThrottlingRateLimit"].as_str(), Some("50"));
    assert_eq!(settings["ThrottlingBurstLimit"].as_str(), Some("100"));
    let reserved = |template: &Template| {
        stack(template.clone())
            .resolver
            .resolve(&template.resources["ApiFunction"].properties)
            .unwrap()
            .get("ReservedConcurrentExecutions")
            .cloned()
    };
    assert_eq!(reserved(&template), Some(Value::String("10".into())));
    let text = std::fs::read_to_string(template_path()).unwrap();
    let unreserved = text.replacen(
        "  ApiReservedConcurrency:\n    Type: Number\n    Default: 10",
        "  ApiReservedConcurrency:\n    Type: Number\n    Default: 0",
        1,
    );
    assert_ne!(
        unreserved, text,
        "the parameter's default is where this test looks"
    );
    assert_eq!(reserved(&Template::parse(&unreserved).unwrap()), None);
}

#[test]
fn the_operator_policy_is_exactly_the_operator_routes() {
    let stack = stack(template());
    let document = stack
        .resolver
        .resolve(&stack.template.resources["OperatorAccessPolicy"].properties["PolicyDocument"])
        .unwrap();
    let statements = document["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1, "one statement");
    assert_eq!(statements[0]["Action"].as_str(), Some("execute-api:Invoke"));
    let resources: BTreeSet<String> = statements[0]["Resource"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = table()
        .into_iter()
        .filter(|(_, _, access)| *access == Access::Operator)
        .map(|(method, path, _)| pattern(&method, path))
        .collect();
    assert_eq!(resources, expected);
}

#[test]
fn each_level_is_allowed_its_routes_and_operators_no_admin_route() {
    let stack = stack(template());
    let policies: BTreeMap<&str, Policy> = ["OperatorAccessPolicy", "AdminAccessPolicy"]
        .into_iter()
        .map(|id| (id, managed_policy(&stack, id).unwrap()))
        .collect();
    let (operator, admin) = (
        &policies["OperatorAccessPolicy"],
        &policies["AdminAccessPolicy"],
    );
    for (method, path, access) in table() {
        for sample in samples(path) {
            let call = invoke(&method, &sample);
            match access {
                Access::Public => {}
                Access::Operator => {
                    assert!(operator.allows(&call), "operators may {method} {sample}");
                    assert!(admin.allows(&call), "admins may {method} {sample}");
                }
                Access::Admin => {
                    assert!(
                        !operator.allows(&call),
                        "operators may not {method} {sample}"
                    );
                    assert!(admin.allows(&call), "admins may {method} {sample}");
                }
            }
        }
    }
    for function in ["SweeperFunction", "TimerDispatcherFunction"] {
        let call = Call {
            action: "lambda:InvokeFunction".into(),
            resource: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-{function}"),
        };
        assert!(admin.allows(&call), "admins run {function}");
        assert!(!operator.allows(&call), "operators do not run {function}");
    }
    let executor = Call {
        action: "lambda:InvokeFunction".into(),
        resource: format!(
            "arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-TimerExecutorFunction"
        ),
    };
    assert!(
        !admin.allows(&executor),
        "only the sweeper and the dispatcher"
    );
}

/// The `ALERT_*` variables of `function` (its alert destinations), unresolved.
fn alert_variables(template: &Template, function: &str) -> BTreeMap<String, Value> {
    let Value::Mapping(variables) =
        &template.resources[function].properties["Environment"]["Variables"]
    else {
        panic!("{function} has environment variables");
    };
    variables
        .iter()
        .filter_map(|(name, value)| Some((name.as_str()?.to_owned(), value.clone())))
        .filter(|(name, _)| name.starts_with("ALERT_") && name != "ALERT_CONFIG_REFRESH_SECONDS")
        .collect()
}

#[test]
fn the_api_knows_the_fanouts_alert_destinations() {
    let template = template();
    let fanout = alert_variables(&template, "AlertFanoutFunction");
    assert!(fanout.contains_key("ALERT_TOPIC_ARN"), "{fanout:?}");
    assert_eq!(
        alert_variables(&template, "ApiFunction"),
        fanout,
        "POST /recovery/test checks a channel against the same ALERT_* as the fan-out"
    );
}
