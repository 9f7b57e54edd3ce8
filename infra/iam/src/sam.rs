//! The policy of a SAM `AWS::Serverless::Function`'s generated execution role: its inline
//! `Policies` plus what SAM grants implicitly for its event sources.

use serde_yaml_ng::Value;

use crate::error::PolicyError::{self, Invalid, Unsupported};
use crate::policy::{Effect, Policy, Statement};

/// Builds a function's [`Policy`] from its SAM properties (see [`Self::from_sam_properties`]).
pub enum FunctionPolicy {}

/// Function properties that replace or bound the role SAM builds from `Policies`.
const ROLE_OVERRIDES: [&str; 2] = ["Role", "PermissionsBoundary"];

/// Event source types for which SAM grants role permissions this crate does not model.
const UNMODELLED_EVENT_SOURCES: [&str; 6] = [
    "Kinesis",
    "DynamoDB",
    "MSK",
    "MQ",
    "SelfManagedKafka",
    "DocumentDB",
];

/// What `AWSLambdaSQSQueueExecutionRole` grants on SQS (besides CloudWatch Logs).
const SQS_EVENT_SOURCE_ACTIONS: [&str; 3] = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

impl FunctionPolicy {
    /// The policy of a function from its `Properties`, with intrinsics already resolved to
    /// strings (and `Globals` merged by the caller).
    ///
    /// Each `Policies` item must be an inline policy document (`Statement` a map or a list;
    /// `Action`, `NotAction` and `Resource` a string or a list). A managed policy name, a SAM
    /// policy template, a `Condition`, `NotResource` or `Principal`, a `Role` or
    /// `PermissionsBoundary`, and stream/broker event sources are [`PolicyError::Unsupported`].
    ///
    /// An `SQS` event source adds SAM's implicit grant: SAM attaches the managed policy
    /// `AWSLambdaSQSQueueExecutionRole`
    /// (<https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-sqs.html>),
    /// which allows `sqs:ReceiveMessage`, `sqs:DeleteMessage` and `sqs:GetQueueAttributes` on
    /// `*`. They are granted here on the event's `Queue` only — a subset, so whatever this
    /// allows AWS allows too. The managed policy does not allow `sqs:ChangeMessageVisibility`:
    /// a function changing visibility needs its own statement.
    pub fn from_sam_properties(properties: &Value) -> Result<Policy, PolicyError> {
        if !properties.is_mapping() {
            return Err(Invalid("function Properties must be a map".into()));
        }
        if let Some(key) = ROLE_OVERRIDES
            .iter()
            .find(|key| properties.get(key).is_some())
        {
            return Err(Unsupported(format!(
                "function property `{key}`: the role is not built from Policies alone"
            )));
        }
        let mut statements = Vec::new();
        match properties.get("Policies") {
            None => {}
            Some(Value::Sequence(items)) => {
                for item in items {
                    statements.extend(policy_document(item)?);
                }
            }
            Some(single) => statements.extend(policy_document(single)?),
        }
        if let Some(events) = properties.get("Events") {
            let events = events
                .as_mapping()
                .ok_or_else(|| Invalid("Events must be a map".into()))?;
            for (name, event) in events {
                statements.extend(event_source_grant(name.as_str().unwrap_or("?"), event)?);
            }
        }
        Ok(Policy { statements })
    }
}

/// The statements of one `Policies` item.
fn policy_document(item: &Value) -> Result<Vec<Statement>, PolicyError> {
    match (item, item.get("Statement")) {
        (Value::String(name), _) => {
            Err(Unsupported(format!("managed policy `{name}` in Policies")))
        }
        (Value::Mapping(_), Some(Value::Sequence(list))) => list.iter().map(statement).collect(),
        (Value::Mapping(_), Some(single)) => Ok(vec![statement(single)?]),
        (Value::Mapping(map), None) => {
            let names: Vec<&str> = map.keys().filter_map(Value::as_str).collect();
            Err(Unsupported(format!(
                "SAM policy template `{}` in Policies",
                names.join(", ")
            )))
        }
        (other, _) => Err(Invalid(format!(
            "a Policies item must be a policy document, got {other:?}"
        ))),
    }
}

/// One statement of an inline policy document.
fn statement(value: &Value) -> Result<Statement, PolicyError> {
    let map = value
        .as_mapping()
        .ok_or_else(|| Invalid(format!("a Statement must be a map, got {value:?}")))?;
    for key in map.keys() {
        match key.as_str() {
            Some("Sid" | "Effect" | "Action" | "NotAction" | "Resource") => {}
            Some(key @ ("Condition" | "NotResource" | "Principal" | "NotPrincipal")) => {
                return Err(Unsupported(format!("`{key}` in a Statement")));
            }
            _ => return Err(Invalid(format!("unknown Statement key {key:?}"))),
        }
    }
    let effect = match value.get("Effect").and_then(plain_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        other => {
            return Err(Invalid(format!(
                "Statement Effect must be Allow or Deny, got {other:?}"
            )));
        }
    };
    let (actions, not_actions) = match (value.get("Action"), value.get("NotAction")) {
        (Some(action), None) => (strings(action, "Action")?, None),
        (None, Some(not_action)) => (Vec::new(), Some(strings(not_action, "NotAction")?)),
        _ => {
            return Err(Invalid(
                "a Statement needs exactly one of Action and NotAction".into(),
            ));
        }
    };
    let resource = value
        .get("Resource")
        .ok_or_else(|| Invalid("a Statement needs a Resource".into()))?;
    Ok(Statement {
        effect,
        actions,
        not_actions,
        resources: strings(resource, "Resource")?,
    })
}

/// A string or a list of strings.
fn strings(value: &Value, field: &str) -> Result<Vec<String>, PolicyError> {
    let items = match value {
        Value::Sequence(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    items
        .iter()
        .map(|item| {
            plain_str(item).map(str::to_owned).ok_or_else(|| {
                Invalid(format!(
                    "{field} must be strings (intrinsics resolved), got {item:?}"
                ))
            })
        })
        .collect()
}

/// The string `value` is, unless tagged: `Value::as_str` would read an unresolved
/// `!GetAtt T.Arn` as the string `T.Arn`.
fn plain_str(value: &Value) -> Option<&str> {
    match value {
        Value::String(string) => Some(string),
        _ => None,
    }
}

/// The statement SAM adds to the role for the event source `name`, if any.
fn event_source_grant(name: &str, event: &Value) -> Result<Option<Statement>, PolicyError> {
    match event.get("Type").and_then(plain_str) {
        Some("SQS") => {
            let queue = event
                .get("Properties")
                .and_then(|properties| properties.get("Queue"))
                .and_then(plain_str)
                .ok_or_else(|| {
                    Invalid(format!("SQS event `{name}` needs a Properties.Queue ARN"))
                })?;
            Ok(Some(Statement {
                effect: Effect::Allow,
                actions: SQS_EVENT_SOURCE_ACTIONS.map(String::from).to_vec(),
                not_actions: None,
                resources: vec![queue.to_owned()],
            }))
        }
        Some(kind) if UNMODELLED_EVENT_SOURCES.contains(&kind) => Err(Unsupported(format!(
            "{kind} event source `{name}`: SAM's implicit grants are not modelled"
        ))),
        Some(_) => Ok(None),
        None => Err(Invalid(format!("event `{name}` has no Type"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Call;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/T";
    const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:timers";
    const DLQ: &str = "arn:aws:sqs:us-east-1:123456789012:timers-dlq";

    fn parse(yaml: &str) -> Result<Policy, PolicyError> {
        FunctionPolicy::from_sam_properties(&serde_yaml_ng::from_str(yaml).expect("test YAML"))
    }

    const FUNCTION: &str = r#"
Handler: bootstrap
Events:
  Timers:
    Type: SQS
    Properties:
      Queue: arn:aws:sqs:us-east-1:123456789012:timers
      BatchSize: 10
  Nightly:
    Type: Schedule
    Properties: { Schedule: rate(1 day) }
Policies:
  - Version: "2012-10-17"
    Statement:
      - Sid: Items
        Effect: Allow
        Action: [dynamodb:GetItem, dynamodb:Query]
        Resource: arn:aws:dynamodb:us-east-1:123456789012:table/T
      - Effect: Allow
        Action: dynamodb:Query
        Resource:
          - arn:aws:dynamodb:us-east-1:123456789012:table/T/index/*
      - Effect: Deny
        Action: dynamodb:Query
        Resource: arn:aws:dynamodb:us-east-1:123456789012:table/T/index/Secret
  - Statement:
      Effect: Allow
      Action: sqs:SendMessage
      Resource: [arn:aws:sqs:us-east-1:123456789012:timers]
"#;

    #[test]
    fn inline_documents_and_sqs_event_source() {
        let policy = parse(FUNCTION).expect("supported function");
        let index = |name: &str| format!("{TABLE}/index/{name}");
        let cases = [
            ("dynamodb:GetItem", TABLE.to_owned(), true),
            ("dynamodb:Query", TABLE.to_owned(), true),
            ("dynamodb:Query", index("ByDue"), true),
            ("dynamodb:Query", index("Secret"), false),
            ("dynamodb:GetItem", index("ByDue"), false),
            ("dynamodb:PutItem", TABLE.to_owned(), false),
            ("sqs:SendMessage", QUEUE.to_owned(), true),
            ("sqs:SendMessage", DLQ.to_owned(), false),
            ("sqs:ReceiveMessage", QUEUE.to_owned(), true),
            ("sqs:DeleteMessage", QUEUE.to_owned(), true),
            ("sqs:GetQueueAttributes", QUEUE.to_owned(), true),
            ("sqs:ReceiveMessage", DLQ.to_owned(), false),
            ("sqs:ChangeMessageVisibility", QUEUE.to_owned(), false),
        ];
        for (action, resource, expected) in cases {
            let call = Call {
                action: action.into(),
                resource,
            };
            assert_eq!(policy.allows(&call), expected, "{call}");
        }
    }

    #[test]
    fn no_policies_and_no_events_allow_nothing() {
        assert_eq!(parse("Handler: bootstrap"), Ok(Policy::default()));
    }

    #[test]
    fn unmodelled_or_malformed_input_is_an_error() {
        let statement = |extra: &str| {
            format!(
                "Policies: [{{Statement: {{Effect: Allow, Action: '*', Resource: '*'{extra}}}}}]"
            )
        };
        let cases: Vec<(String, bool, &str)> = vec![
            (
                "Policies: [{SQSPollerPolicy: {QueueName: q}}]".into(),
                true,
                "SQSPollerPolicy",
            ),
            (
                "Policies: [AWSLambdaExecute]".into(),
                true,
                "AWSLambdaExecute",
            ),
            (
                "Policies: AmazonDynamoDBFullAccess".into(),
                true,
                "AmazonDynamoDBFullAccess",
            ),
            (
                statement(", Condition: {Bool: {aws:SecureTransport: 'true'}}"),
                true,
                "Condition",
            ),
            (statement(", NotResource: x"), true, "NotResource"),
            (
                "Role: arn:aws:iam::123456789012:role/r".into(),
                true,
                "Role",
            ),
            (
                "Events: {S: {Type: Kinesis, Properties: {Stream: s}}}".into(),
                true,
                "Kinesis",
            ),
            (statement(", NotAction: x"), false, "exactly one"),
            (statement(", Extra: x"), false, "Extra"),
            (
                "Policies: [{Statement: {Effect: allow, Action: '*', Resource: '*'}}]".into(),
                false,
                "Effect",
            ),
            (
                "Policies: [{Statement: {Action: '*', Resource: '*'}}]".into(),
                false,
                "Effect",
            ),
            (
                "Policies: [{Statement: {Effect: Allow, Action: '*'}}]".into(),
                false,
                "Resource",
            ),
            (
                "Policies: [{Statement: {Effect: Allow, Action: x, Resource: !GetAtt T.Arn}}]"
                    .into(),
                false,
                "Resource",
            ),
            (
                "Events: {Q: {Type: SQS, Properties: {BatchSize: 1}}}".into(),
                false,
                "Queue",
            ),
            ("Events: [x]".into(), false, "Events"),
            ("[x]".into(), false, "Properties"),
        ];
        for (yaml, unsupported, needle) in cases {
            let error = parse(&yaml).expect_err(&yaml);
            let message = match (&error, unsupported) {
                (PolicyError::Unsupported(message), true)
                | (PolicyError::Invalid(message), false) => message,
                _ => panic!("{yaml}: wrong kind of error {error:?}"),
            };
            assert!(message.contains(needle), "{yaml}: {message}");
        }
    }
}
