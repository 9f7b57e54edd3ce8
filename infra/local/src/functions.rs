//! The functions of `template.yaml` as the local runtime runs them: binary, environment
//! (Globals merged with the function's own), and triggers (schedule, SQS, HTTP API).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_yaml_ng::Value;

use crate::event_source_mappings::{MappingSpec, function_arn, local_uuid};
use crate::provision::Stack;
use crate::template::{TemplateError, scalar};

/// A trigger of a function.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// An EventBridge `rate(…)` schedule.
    Schedule {
        expression: String,
        period: Duration,
    },
    /// An SQS event source mapping.
    Sqs {
        queue_url: String,
        batch_size: i32,
        /// The queue's visibility timeout (seconds): how long a failed message stays hidden.
        visibility_timeout: i32,
        report_batch_item_failures: bool,
        /// The event source mapping, as the local Lambda API shows it.
        mapping: MappingSpec,
    },
    /// The HTTP API (its events, however many, are served by one server).
    HttpApi,
}

/// One function as the local runtime runs it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The cargo binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub environment: BTreeMap<String, String>,
    pub triggers: Vec<Trigger>,
    /// `Timeout` (the function's, else `Globals.Function`'s, else Lambda's default of 3 s):
    /// an invocation's deadline is its start plus this.
    pub timeout: Duration,
}

/// Lambda's timeout when the template sets none.
const DEFAULT_TIMEOUT_SECONDS: i32 = 3;

/// Every `AWS::Serverless::Function` of the stack.
pub fn functions(stack: &Stack) -> Result<Vec<FunctionSpec>, TemplateError> {
    let template = &stack.template;
    let globals = stack.resolver.resolve(&template.function_globals)?;
    let mut specs = Vec::new();
    for (logical_id, resource) in template.resources_of("AWS::Serverless::Function") {
        let binary = resource
            .metadata
            .get("BuildProperties")
            .and_then(|p| p.get("Binary"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                TemplateError::Unsupported(format!(
                    "{logical_id}: Metadata.BuildProperties.Binary is required"
                ))
            })?;
        let properties = stack.resolver.resolve(&resource.properties)?;
        let mut environment = variables(&globals);
        environment.extend(variables(&properties));
        let mut triggers = Vec::new();
        for (event_name, event) in properties
            .get("Events")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            let kind = event
                .get("Type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let props = event.get("Properties").cloned().unwrap_or(Value::Null);
            triggers.push(match kind {
                "Schedule" | "ScheduleV2" => {
                    let expression = props
                        .get(if kind == "Schedule" {
                            "Schedule"
                        } else {
                            "ScheduleExpression"
                        })
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    let period = parse_rate(&expression).ok_or_else(|| {
                        TemplateError::Unsupported(format!(
                            "{logical_id}: schedule {expression:?} (only rate(…) runs locally)"
                        ))
                    })?;
                    Trigger::Schedule { expression, period }
                }
                "SQS" => sqs_trigger(
                    stack,
                    logical_id,
                    event_name.as_str().unwrap_or_default(),
                    &props,
                )?,
                // One server serves every route, whatever the number of events.
                "HttpApi" if triggers.contains(&Trigger::HttpApi) => continue,
                "HttpApi" => Trigger::HttpApi,
                other => {
                    return Err(TemplateError::Unsupported(format!(
                        "{logical_id}: event type {other} has no local driver"
                    )));
                }
            });
        }
        let timeout_seconds = number(properties.get("Timeout"))
            .or_else(|| number(globals.get("Timeout")))
            .unwrap_or(DEFAULT_TIMEOUT_SECONDS);
        specs.push(FunctionSpec {
            logical_id: logical_id.to_owned(),
            binary: binary.to_owned(),
            environment,
            triggers,
            timeout: Duration::from_secs(timeout_seconds.max(1) as u64),
        });
    }
    Ok(specs)
}

fn variables(properties: &Value) -> BTreeMap<String, String> {
    properties
        .get("Environment")
        .and_then(|e| e.get("Variables"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), scalar(v)?)))
        .collect()
}

fn sqs_trigger(
    stack: &Stack,
    function: &str,
    event: &str,
    props: &Value,
) -> Result<Trigger, TemplateError> {
    let queue_arn = props
        .get("Queue")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (queue_id, _) = stack
        .resolver
        .physical
        .iter()
        .find(|(_, p)| p.attributes.get("Arn").map(String::as_str) == Some(queue_arn))
        .ok_or_else(|| {
            TemplateError::Unsupported(format!("{function}: SQS queue {queue_arn} not provisioned"))
        })?;
    let queue = &stack.template.resources[queue_id];
    let batch_size = number(props.get("BatchSize")).unwrap_or(10);
    let report_batch_item_failures = props
        .get("FunctionResponseTypes")
        .and_then(Value::as_sequence)
        .is_some_and(|types| {
            types
                .iter()
                .any(|t| t.as_str() == Some("ReportBatchItemFailures"))
        });
    Ok(Trigger::Sqs {
        queue_url: stack.resolver.physical[queue_id].reference.clone(),
        batch_size,
        visibility_timeout: number(queue.properties.get("VisibilityTimeout")).unwrap_or(30),
        report_batch_item_failures,
        mapping: MappingSpec {
            uuid: local_uuid(&stack.name, function, event),
            function_arn: function_arn(&stack.resolver.region, &stack.name, function),
            queue_arn: queue_arn.to_owned(),
            batch_size,
            report_batch_item_failures,
        },
    })
}

fn number(value: Option<&Value>) -> Option<i32> {
    value.and_then(scalar).and_then(|s| s.parse().ok())
}

/// The period of `rate(N unit)`.
pub fn parse_rate(expression: &str) -> Option<Duration> {
    let inner = expression.strip_prefix("rate(")?.strip_suffix(')')?;
    let (count, unit) = inner.trim().split_once(' ')?;
    let count: u64 = count.parse().ok()?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(count * seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rate_expressions() {
        assert_eq!(parse_rate("rate(1 minute)"), Some(Duration::from_secs(60)));
        assert_eq!(
            parse_rate("rate(5 minutes)"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(parse_rate("rate(2 hours)"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_rate("cron(0 * * * ? *)"), None);
        assert_eq!(parse_rate("rate(1 fortnight)"), None);
    }
}
