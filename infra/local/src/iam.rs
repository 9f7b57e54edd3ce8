//! The IAM check: every AWS call a function made must be allowed by that function's policy in
//! `template.yaml`. The local endpoint enforces no IAM, so without this a missing statement
//! would only show on AWS, as an `AccessDenied` in production.
//!
//! Each function's policy is built by `iam-policy` from its `Properties` (with `Globals.Function`
//! merged in and every intrinsic resolved against the stack's physical names and ARNs): the
//! inline `Policies` plus SAM's grant for an SQS event source. Each call recorded by the
//! function's [`CallRecorder`](lifecycle_adapters::aws::CallRecorder) becomes the IAM calls
//! AWS would authorise — a `Query` on an index acts on the index's ARN, a transaction is
//! authorised per item (kind and table), a batch per table, an SQS call on the queue's ARN
//! from its URL, `PutEvents` on each entry's bus, an SNS `Publish` or `PublishBatch` as
//! `sns:Publish` on its topic's ARN — and every one must be allowed.
//!
//! It runs in the integration tests (`TestStack`), the crash suite and the chaos run
//! (`harness.rs`); `docs/architecture.md` ("Least privilege, proven") says what it covers.

use std::collections::BTreeMap;
use std::fmt;

use iam_policy::{Call, FunctionPolicy, Policy, arn};
use lifecycle_adapters::aws::{CallResource, RecordedCall};
use serde_yaml_ng::Value;

use crate::function_calls::CallsByFunction;
use crate::provision::Stack;
use crate::template::{LOCAL_ACCOUNT, Resolver, Template};

/// A call the check refuses: denied by the function's policy, or not verifiable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// Logical id of the function that made the call.
    pub function: String,
    /// The call as recorded.
    pub recorded: RecordedCall,
    pub reason: DenialReason,
}

/// Why a call is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenialReason {
    /// The policy does not allow this IAM call (one of those the recorded call needs).
    Denied(Call),
    /// The recorded call could not be turned into IAM calls (an unreadable request, an unknown
    /// function, a malformed queue URL): nothing proves it allowed.
    Unverifiable(String),
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let RecordedCall {
            service, operation, ..
        } = &self.recorded;
        match &self.reason {
            DenialReason::Denied(call) => write!(
                f,
                "{}: {call} denied (request {service}.{operation})",
                self.function
            ),
            DenialReason::Unverifiable(problem) => write!(
                f,
                "{}: {service}.{operation} cannot be checked: {problem}",
                self.function
            ),
        }
    }
}

/// The policies of a stack's functions, ready to judge their calls.
#[derive(Debug, Clone)]
pub struct IamCheck {
    /// Policy by function logical id.
    pub policies: BTreeMap<String, Policy>,
    region: String,
}

impl IamCheck {
    /// The policies of `stack`'s functions, resolved against its resources.
    pub fn for_stack(stack: &Stack) -> Result<Self, String> {
        Self::new(&stack.template, &stack.resolver)
    }

    /// The policy of every `AWS::Serverless::Function` of `template`, intrinsics resolved by
    /// `resolver`. A policy `iam-policy` cannot model (a managed policy, a condition, …) is an
    /// error, not a pass.
    pub fn new(template: &Template, resolver: &Resolver) -> Result<Self, String> {
        let globals = resolver
            .resolve(&template.function_globals)
            .map_err(|e| format!("Globals.Function: {e}"))?;
        let mut policies = BTreeMap::new();
        for (logical_id, resource) in template.resources_of("AWS::Serverless::Function") {
            let mut properties = resolver
                .resolve(&resource.properties)
                .map_err(|e| format!("{logical_id}: {e}"))?;
            merge_globals(&mut properties, &globals);
            let policy = FunctionPolicy::from_sam_properties(&properties)
                .map_err(|e| format!("{logical_id}: policy not checkable: {e}"))?;
            policies.insert(logical_id.to_owned(), policy);
        }
        Ok(Self {
            policies,
            region: resolver.region.clone(),
        })
    }

    /// Every call of `calls` (by function) that is not allowed, in function and call order.
    pub fn denied(&self, calls: &CallsByFunction) -> Vec<Denial> {
        let mut denials = Vec::new();
        for (function, recorded_calls) in calls {
            for recorded in recorded_calls {
                let refuse = |reason| Denial {
                    function: function.clone(),
                    recorded: recorded.clone(),
                    reason,
                };
                let Some(policy) = self.policies.get(function) else {
                    denials.push(refuse(DenialReason::Unverifiable(format!(
                        "no function {function} in template.yaml"
                    ))));
                    continue;
                };
                match iam_calls(recorded, &self.region) {
                    Ok(needed) => denials.extend(
                        policy
                            .denied(&needed)
                            .into_iter()
                            .map(|call| refuse(DenialReason::Denied(call.clone()))),
                    ),
                    Err(problem) => denials.push(refuse(DenialReason::Unverifiable(problem))),
                }
            }
        }
        denials
    }
}

/// SAM merges `Globals.Function` into each function; for the role only top-level keys matter
/// (`PermissionsBoundary`, which `iam-policy` refuses; `Policies` and `Events` are not globals),
/// so keys the function does not set are copied.
fn merge_globals(properties: &mut Value, globals: &Value) {
    if let (Some(properties), Some(globals)) = (properties.as_mapping_mut(), globals.as_mapping()) {
        for (key, value) in globals {
            if !properties.contains_key(key) {
                properties.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The IAM calls AWS authorises for one recorded request (tables and buses of the local
/// account, queues of the account their URL names).
pub fn iam_calls(recorded: &RecordedCall, region: &str) -> Result<Vec<Call>, String> {
    let RecordedCall {
        service,
        operation,
        resources,
    } = recorded;
    let table = |name: &str| {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            arn::dynamodb_table(region, LOCAL_ACCOUNT, name)
        }
    };
    if resources.is_empty() {
        // An action without resource-level permissions is authorised on `*`.
        return Ok(vec![Call::for_request(service, operation, "*".to_owned())]);
    }
    resources
        .iter()
        .map(|resource| match resource {
            CallResource::Table { table: name } => {
                Ok(Call::for_request(service, operation, table(name)))
            }
            CallResource::Index { table: name, index } => Ok(Call::for_request(
                service,
                operation,
                format!("{}/index/{index}", table(name)),
            )),
            CallResource::TransactItem { kind, table: name } if kind == "Get" => {
                Ok(Call::for_request(service, "GetItem", table(name)))
            }
            CallResource::TransactItem { kind, table: name } => {
                Call::transact_write_item(kind, table(name)).map_err(|e| e.to_string())
            }
            CallResource::Queue { url } => arn::sqs_queue_from_url(region, url)
                .map(|queue| Call::for_request(service, operation, queue))
                .map_err(|e| e.to_string()),
            CallResource::EventBus { name } => Ok(Call::for_request(
                service,
                operation,
                arn::event_bus(region, LOCAL_ACCOUNT, name),
            )),
            CallResource::Object { bucket, key } => Ok(Call::for_request(
                service,
                operation,
                arn::s3(bucket, Some(key)),
            )),
            CallResource::Bucket { bucket } => {
                Ok(Call::for_request(service, operation, arn::s3(bucket, None)))
            }
            CallResource::EmailIdentity { identity } => Ok(Call::for_request(
                service,
                operation,
                arn::ses_identity(region, LOCAL_ACCOUNT, identity),
            )),
            CallResource::Parameter { name } => Ok(Call::for_request(
                service,
                operation,
                arn::ssm_parameter(region, LOCAL_ACCOUNT, name),
            )),
            CallResource::Secret { id } => Ok(Call::for_request(
                service,
                operation,
                arn::secret(region, LOCAL_ACCOUNT, id),
            )),
            CallResource::Topic { arn } => {
                // `sns:Publish` authorises `PublishBatch` too; IAM has no action of its own for it.
                let operation = match operation.as_str() {
                    "PublishBatch" => "Publish",
                    other => other,
                };
                Ok(Call::for_request(service, operation, arn.clone()))
            }
            CallResource::Function { name } => Ok(Call::for_request(
                service,
                operation,
                arn::lambda_function(region, LOCAL_ACCOUNT, name),
            )),
            CallResource::EventSourceMapping { uuid } => Ok(Call::for_request(
                service,
                operation,
                arn::lambda_event_source_mapping(region, LOCAL_ACCOUNT, uuid),
            )),
            CallResource::Unreadable { reason } => Err(reason.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::template::Physical;

    const REGION: &str = "us-east-1";
    const STACK: &str = "s";
    const QUEUE_HOST: &str = "http://127.0.0.1:4566/123456789012";

    /// What provisioning would resolve on the local endpoint, without one.
    fn resolver(template: &Template) -> Resolver {
        let mut physical = BTreeMap::new();
        for (logical_id, resource) in &template.resources {
            let name = format!("{STACK}-{logical_id}");
            let (reference, arn) = match resource.kind.as_str() {
                "AWS::DynamoDB::Table" => (
                    name.clone(),
                    arn::dynamodb_table(REGION, LOCAL_ACCOUNT, &name),
                ),
                "AWS::SQS::Queue" => (
                    format!("{QUEUE_HOST}/{name}"),
                    arn::sqs_queue(REGION, LOCAL_ACCOUNT, &name),
                ),
                "AWS::Events::EventBus" => {
                    (name.clone(), arn::event_bus(REGION, LOCAL_ACCOUNT, &name))
                }
                "AWS::S3::Bucket" => {
                    let bucket = name.to_ascii_lowercase();
                    (bucket.clone(), arn::s3(&bucket, None))
                }
                "AWS::SNS::Topic" => {
                    let topic = format!("arn:aws:sns:{REGION}:{LOCAL_ACCOUNT}:{name}");
                    (topic.clone(), topic)
                }
                _ => continue,
            };
            physical.insert(
                logical_id.clone(),
                Physical {
                    reference,
                    attributes: BTreeMap::from([("Arn".to_owned(), arn)]),
                },
            );
        }
        physical.extend(crate::provision::served_in_process(template, STACK, REGION));
        Resolver {
            stack_name: STACK.into(),
            region: REGION.into(),
            parameters: template.parameters.clone(),
            physical,
        }
    }

    fn table() -> String {
        format!("{STACK}-CampaignTable")
    }

    fn call(service: &str, operation: &str, resources: Vec<CallResource>) -> RecordedCall {
        RecordedCall {
            service: service.into(),
            operation: operation.into(),
            resources,
        }
    }

    fn on_table(service: &str, operation: &str) -> RecordedCall {
        call(
            service,
            operation,
            vec![CallResource::Table { table: table() }],
        )
    }

    fn queue(logical_id: &str) -> CallResource {
        CallResource::Queue {
            url: format!("{QUEUE_HOST}/{STACK}-{logical_id}"),
        }
    }

    fn bus() -> CallResource {
        CallResource::EventBus {
            name: format!("{STACK}-LifecycleEventBus"),
        }
    }

    fn calls(function: &str, calls: Vec<RecordedCall>) -> CallsByFunction {
        BTreeMap::from([(function.to_owned(), calls.into_iter().collect())])
    }

    /// What the dispatcher sends on a tick (failure patterns and heartbeats are base-table
    /// Queries; an alert goes to the bus).
    fn dispatcher_calls() -> Vec<RecordedCall> {
        vec![
            on_table("DynamoDB", "Query"),
            on_table("DynamoDB", "GetItem"),
            on_table("DynamoDB", "PutItem"),
            call(
                "DynamoDB",
                "Query",
                vec![CallResource::Index {
                    table: table(),
                    index: "ByDue".into(),
                }],
            ),
            call("SQS", "SendMessageBatch", vec![queue("TimersQueue")]),
            call("EventBridge", "PutEvents", vec![bus()]),
        ]
    }

    fn real_template() -> Template {
        Template::load(&crate::template_path()).expect("template.yaml")
    }

    #[test]
    fn the_dispatcher_s_calls_are_allowed_by_template_yaml() {
        let template = real_template();
        let check = IamCheck::new(&template, &resolver(&template)).unwrap();
        let denied = check.denied(&calls("TimerDispatcherFunction", dispatcher_calls()));
        assert!(denied.is_empty(), "{denied:#?}");
    }

    /// The planted failure: template.yaml without the dispatcher's base-table Query statement
    /// denies exactly that call.
    #[test]
    fn removing_a_needed_statement_denies_exactly_its_call() {
        let mut template = real_template();
        let table_arn = format!(
            "arn:aws:dynamodb:{REGION}:{LOCAL_ACCOUNT}:table/{}",
            table()
        );
        let statements = template
            .resources
            .get_mut("TimerDispatcherFunction")
            .unwrap()
            .properties["Policies"][0]["Statement"]
            .as_sequence_mut()
            .unwrap();
        let before = statements.len();
        statements.retain(|s| s.get("Sid").and_then(Value::as_str) != Some("BaseTableQueries"));
        assert_eq!(
            statements.len(),
            before - 1,
            "the statement is in template.yaml"
        );

        let check = IamCheck::new(&template, &resolver(&template)).unwrap();
        let denied = check.denied(&calls("TimerDispatcherFunction", dispatcher_calls()));
        assert_eq!(
            denied,
            [Denial {
                function: "TimerDispatcherFunction".into(),
                recorded: on_table("DynamoDB", "Query"),
                reason: DenialReason::Denied(Call {
                    action: "dynamodb:Query".into(),
                    resource: table_arn.clone(),
                }),
            }]
        );
        assert_eq!(
            denied[0].to_string(),
            format!(
                "TimerDispatcherFunction: dynamodb:Query on {table_arn} denied (request DynamoDB.Query)"
            )
        );
    }

    #[test]
    fn requests_map_to_the_calls_iam_authorises() {
        let table_arn = arn::dynamodb_table(REGION, LOCAL_ACCOUNT, "T");
        let iam = |action: &str, resource: &str| Call {
            action: action.into(),
            resource: resource.into(),
        };
        let t = |name: &str| name.to_owned();
        let cases = [
            (
                call(
                    "DynamoDB",
                    "TransactWriteItems",
                    vec![
                        CallResource::TransactItem {
                            kind: "ConditionCheck".into(),
                            table: t("T"),
                        },
                        CallResource::TransactItem {
                            kind: "Put".into(),
                            table: t("T"),
                        },
                    ],
                ),
                vec![
                    iam("dynamodb:ConditionCheckItem", &table_arn),
                    iam("dynamodb:PutItem", &table_arn),
                ],
            ),
            (
                call(
                    "DynamoDB",
                    "TransactGetItems",
                    vec![CallResource::TransactItem {
                        kind: "Get".into(),
                        table: t("T"),
                    }],
                ),
                vec![iam("dynamodb:GetItem", &table_arn)],
            ),
            (
                call(
                    "DynamoDB",
                    "BatchWriteItem",
                    vec![CallResource::Table { table: t("T") }],
                ),
                vec![iam("dynamodb:BatchWriteItem", &table_arn)],
            ),
            (
                call(
                    "DynamoDB",
                    "Scan",
                    vec![CallResource::Index {
                        table: t("T"),
                        index: t("I"),
                    }],
                ),
                vec![iam("dynamodb:Scan", &format!("{table_arn}/index/I"))],
            ),
            (
                call(
                    "SQS",
                    "DeleteMessageBatch",
                    vec![CallResource::Queue {
                        url: "http://h/111122223333/q".into(),
                    }],
                ),
                vec![iam(
                    "sqs:DeleteMessage",
                    "arn:aws:sqs:us-east-1:111122223333:q",
                )],
            ),
            (
                call(
                    "EventBridge",
                    "DescribeEventBus",
                    vec![CallResource::EventBus { name: t("b") }],
                ),
                vec![iam(
                    "events:DescribeEventBus",
                    "arn:aws:events:us-east-1:123456789012:event-bus/b",
                )],
            ),
            (
                call("SQS", "ListQueues", vec![]),
                vec![iam("sqs:ListQueues", "*")],
            ),
            (
                call(
                    "S3",
                    "HeadObject",
                    vec![CallResource::Object {
                        bucket: t("lists"),
                        key: t("a/b.csv"),
                    }],
                ),
                vec![iam("s3:GetObject", "arn:aws:s3:::lists/a/b.csv")],
            ),
            (
                call(
                    "SESv2",
                    "SendEmail",
                    vec![CallResource::EmailIdentity {
                        identity: t("news@x.com"),
                    }],
                ),
                vec![iam(
                    "ses:SendEmail",
                    "arn:aws:ses:us-east-1:123456789012:identity/news@x.com",
                )],
            ),
            (
                call(
                    "SSM",
                    "GetParameter",
                    vec![CallResource::Parameter { name: t("/cl/h") }],
                ),
                vec![iam(
                    "ssm:GetParameter",
                    "arn:aws:ssm:us-east-1:123456789012:parameter/cl/h",
                )],
            ),
            (
                call(
                    "Secrets Manager",
                    "GetSecretValue",
                    vec![CallResource::Secret { id: t("cl/h") }],
                ),
                vec![iam(
                    "secretsmanager:GetSecretValue",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:cl/h",
                )],
            ),
            (
                call(
                    "SNS",
                    "Publish",
                    vec![CallResource::Topic {
                        arn: t("arn:aws:sns:us-east-1:123456789012:alerts"),
                    }],
                ),
                vec![iam(
                    "sns:Publish",
                    "arn:aws:sns:us-east-1:123456789012:alerts",
                )],
            ),
            (
                call(
                    "SNS",
                    "PublishBatch",
                    vec![CallResource::Topic {
                        arn: t("arn:aws:sns:us-east-1:123456789012:alerts"),
                    }],
                ),
                vec![iam(
                    "sns:Publish",
                    "arn:aws:sns:us-east-1:123456789012:alerts",
                )],
            ),
            (
                call("SNS", "Publish", vec![]),
                vec![iam("sns:Publish", "*")],
            ),
            (
                call(
                    "Lambda",
                    "Invoke",
                    vec![CallResource::Function {
                        name: t("s-SweeperFunction"),
                    }],
                ),
                vec![iam(
                    "lambda:InvokeFunction",
                    "arn:aws:lambda:us-east-1:123456789012:function:s-SweeperFunction",
                )],
            ),
        ];
        for (recorded, expected) in cases {
            assert_eq!(iam_calls(&recorded, REGION), Ok(expected), "{recorded:?}");
        }
        for bad in [
            call(
                "SQS",
                "SendMessage",
                vec![CallResource::Queue { url: t("q") }],
            ),
            call(
                "DynamoDB",
                "TransactWriteItems",
                vec![CallResource::TransactItem {
                    kind: t("Upsert"),
                    table: t("T"),
                }],
            ),
            call(
                "SQS",
                "SendMessage",
                vec![CallResource::Unreadable {
                    reason: t("not JSON"),
                }],
            ),
        ] {
            assert!(iam_calls(&bad, REGION).is_err(), "{bad:?}");
        }
    }

    /// A policy naming `!Ref` of a topic allows publishing to that topic (whose `Ref` is its
    /// ARN), and to no other.
    #[test]
    fn publishing_to_a_topic_is_allowed_by_sns_publish_on_its_ref() {
        let template = Template::parse(
            r#"
Resources:
  AlertTopic:
    Type: AWS::SNS::Topic
  AlertFunction:
    Type: AWS::Serverless::Function
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: sns:Publish
              Resource: !Ref AlertTopic
"#,
        )
        .unwrap();
        let check = IamCheck::new(&template, &resolver(&template)).unwrap();
        let topic = |name: &str| CallResource::Topic {
            arn: format!("arn:aws:sns:{REGION}:{LOCAL_ACCOUNT}:{STACK}-{name}"),
        };
        let allowed = vec![
            call("SNS", "Publish", vec![topic("AlertTopic")]),
            call("SNS", "PublishBatch", vec![topic("AlertTopic")]),
        ];
        let denied = check.denied(&calls("AlertFunction", allowed));
        assert!(denied.is_empty(), "{denied:#?}");
        let elsewhere = vec![
            call("SNS", "Publish", vec![topic("OtherTopic")]),
            call("SNS", "Publish", vec![]),
        ];
        let denied = check.denied(&calls("AlertFunction", elsewhere));
        assert_eq!(denied.len(), 2, "{denied:#?}");
    }

    #[test]
    fn unknown_functions_and_unreadable_calls_fail_the_check() {
        let template = real_template();
        let check = IamCheck::new(&template, &resolver(&template)).unwrap();
        let mut recorded = calls("NoSuchFunction", vec![on_table("DynamoDB", "GetItem")]);
        recorded.insert(
            "SweeperFunction".into(),
            BTreeSet::from([call(
                "SQS",
                "SendMessage",
                vec![CallResource::Unreadable {
                    reason: "not JSON".into(),
                }],
            )]),
        );
        let denied = check.denied(&recorded);
        assert_eq!(denied.len(), 2, "{denied:#?}");
        assert!(
            denied
                .iter()
                .all(|d| matches!(d.reason, DenialReason::Unverifiable(_)))
        );
    }

    #[test]
    fn the_executor_s_event_source_polling_is_allowed_by_sam_s_grant() {
        let template = real_template();
        let check = IamCheck::new(&template, &resolver(&template)).unwrap();
        let polling = vec![
            call("SQS", "ReceiveMessage", vec![queue("TimersQueue")]),
            call("SQS", "DeleteMessageBatch", vec![queue("TimersQueue")]),
        ];
        let denied = check.denied(&calls("TimerExecutorFunction", polling.clone()));
        assert!(denied.is_empty(), "{denied:#?}");
        // Another function polling the queue is not covered by the executor's grant.
        let denied = check.denied(&calls("SweeperFunction", polling));
        assert_eq!(denied.len(), 2, "{denied:#?}");
    }
}
