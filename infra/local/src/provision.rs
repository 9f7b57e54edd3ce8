//! Creates the template's stateful resources on the local endpoint: DynamoDB tables (keys,
//! indexes, TTL), SQS queues (attributes and redrive policies), EventBridge buses and rules with
//! their targets, S3 buckets, SNS topics and their SQS subscriptions. Idempotent: re-running
//! against an existing stack keeps its data.
//!
//! Local physical names are `<stack>-<LogicalId>` (lower-cased for buckets) unless the
//! template names the resource.
//! Other resource types (functions, alarms, log groups, keys, policies) have no local
//! counterpart and are skipped — functions and the HTTP API are served in-process by
//! [`crate::runtime`] ([`served_in_process`] names them for `!Ref`/`!GetAtt`). So are the
//! properties that would name them (a topic's `KmsMasterKeyId`): they are not resolved.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use lifecycle_adapters::aws::AwsClients;
use serde_yaml_ng::Value;

use crate::template::{
    LOCAL_ACCOUNT, Physical, Resolver, Resource, Template, TemplateError, references, scalar,
};

/// Resource types created locally.
pub const PROVISIONED_TYPES: [&str; 7] = [
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::S3::Bucket",
    "AWS::SNS::Topic",
    "AWS::SNS::Subscription",
];

/// `(type, property)`: properties with no local meaning, dropped before resolution (the
/// resources they name may not be provisioned).
const LOCALLY_IGNORED: [(&str, &str); 1] = [("AWS::SNS::Topic", "KmsMasterKeyId")];

/// `resource`'s properties without those [`LOCALLY_IGNORED`].
fn local_properties(resource: &Resource) -> Value {
    let mut properties = resource.properties.clone();
    if let Some(map) = properties.as_mapping_mut() {
        for (_, property) in LOCALLY_IGNORED
            .iter()
            .filter(|(kind, _)| *kind == resource.kind)
        {
            map.remove(*property);
        }
    }
    properties
}

/// Provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("{resource}: {message}")]
    Aws { resource: String, message: String },
}

fn aws_error(resource: &str, error: impl std::fmt::Display) -> ProvisionError {
    ProvisionError::Aws {
        resource: resource.to_owned(),
        message: error.to_string(),
    }
}

/// A provisioned stack: the template and the local names of its resources.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub template: Template,
    pub resolver: Resolver,
}

impl Stack {
    /// What `!Ref <logical_id>` resolves to (table name, queue URL, bus name…).
    pub fn reference(&self, logical_id: &str) -> Option<&str> {
        self.resolver
            .physical
            .get(logical_id)
            .map(|p| p.reference.as_str())
    }
}

/// Loads `template.yaml` and provisions it under `stack_name`.
pub async fn provision_template(
    clients: &AwsClients,
    stack_name: &str,
    region: &str,
) -> Result<Stack, ProvisionError> {
    let template = Template::load(&crate::template_path())?;
    provision(clients, &template, stack_name, region).await
}

/// Creates every supported resource of `template` under `stack_name`, in dependency order.
pub async fn provision(
    clients: &AwsClients,
    template: &Template,
    stack_name: &str,
    region: &str,
) -> Result<Stack, ProvisionError> {
    let mut resolver = Resolver {
        stack_name: stack_name.to_owned(),
        region: region.to_owned(),
        parameters: template.parameters.clone(),
        physical: BTreeMap::new(),
    };
    let mut pending: Vec<(&String, &Resource)> = template
        .resources
        .iter()
        .filter(|(_, r)| PROVISIONED_TYPES.contains(&r.kind.as_str()))
        .collect();
    while !pending.is_empty() {
        let ready = pending.iter().position(|(_, resource)| {
            references(&local_properties(resource)).iter().all(|name| {
                resolver.physical.contains_key(name)
                    || !template.resources.contains_key(name)
                    || !PROVISIONED_TYPES.contains(&template.resources[name].kind.as_str())
            })
        });
        let Some(index) = ready else {
            return Err(TemplateError::Unsupported(format!(
                "circular references among {:?}",
                pending.iter().map(|(n, _)| n).collect::<Vec<_>>()
            ))
            .into());
        };
        let (name, resource) = pending.remove(index);
        let properties = resolver.resolve(&local_properties(resource))?;
        let physical_name = format!("{stack_name}-{name}");
        let physical = match resource.kind.as_str() {
            "AWS::DynamoDB::Table" => {
                create_table(&clients.dynamodb, name, &physical_name, &properties, region).await?
            }
            "AWS::SQS::Queue" => {
                create_queue(&clients.sqs, name, &physical_name, &properties).await?
            }
            "AWS::Events::EventBus" => {
                let bus_name = properties
                    .get("Name")
                    .and_then(scalar)
                    .unwrap_or(physical_name);
                create_bus(&clients.eventbridge, name, &bus_name, region).await?
            }
            "AWS::Events::Rule" => {
                create_rule(&clients.eventbridge, name, &physical_name, &properties).await?
            }
            "AWS::S3::Bucket" => {
                let bucket = properties
                    .get("BucketName")
                    .and_then(scalar)
                    .unwrap_or_else(|| physical_name.to_ascii_lowercase());
                create_bucket(&clients.delivery.s3, name, &bucket, region).await?
            }
            "AWS::SNS::Topic" => {
                let topic = properties
                    .get("TopicName")
                    .and_then(scalar)
                    .unwrap_or(physical_name);
                create_topic(&clients.sns, name, &topic).await?
            }
            "AWS::SNS::Subscription" => subscribe(&clients.sns, name, &properties).await?,
            _ => unreachable!("filtered to provisioned types"),
        };
        tracing::debug!(
            resource = name.as_str(),
            reference = physical.reference,
            "provisioned"
        );
        resolver.physical.insert(name.clone(), physical);
    }
    resolver
        .physical
        .extend(served_in_process(template, stack_name, region));
    Ok(Stack {
        name: stack_name.to_owned(),
        template: template.clone(),
        resolver,
    })
}

/// What `!Ref`/`!GetAtt` of the resources the runtime serves in-process answer: each
/// `AWS::Serverless::Function` (`<stack>-<LogicalId>`, as the local Invoke API names it, and
/// its `Arn`), each `AWS::Serverless::HttpApi` (its local API id, `<stack>-<LogicalId>`) and
/// each SQS event's mapping (its local UUID, `event_source_mappings::local_uuid`).
pub fn served_in_process(
    template: &Template,
    stack_name: &str,
    region: &str,
) -> BTreeMap<String, Physical> {
    let mut physical = BTreeMap::new();
    for (kind, attributes) in [
        ("AWS::Serverless::Function", true),
        ("AWS::Serverless::HttpApi", false),
    ] {
        for (logical_id, _) in template.resources_of(kind) {
            let name = format!("{stack_name}-{logical_id}");
            let attributes = if attributes {
                BTreeMap::from([(
                    "Arn".to_owned(),
                    format!("arn:aws:lambda:{region}:{LOCAL_ACCOUNT}:function:{name}"),
                )])
            } else {
                BTreeMap::new()
            };
            physical.insert(
                logical_id.to_owned(),
                Physical {
                    reference: name,
                    attributes,
                },
            );
        }
    }
    // SAM's event source mapping of each SQS event, `<FunctionLogicalId><EventName>`, whose
    // `Ref` is its UUID.
    for (function, resource) in template.resources_of("AWS::Serverless::Function") {
        for (event, body) in resource
            .properties
            .get("Events")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            let (Some(event), Some("SQS")) = (event.as_str(), text(body, "Type")) else {
                continue;
            };
            physical.insert(
                format!("{function}{event}"),
                Physical {
                    reference: crate::event_source_mappings::local_uuid(
                        stack_name, function, event,
                    ),
                    attributes: BTreeMap::new(),
                },
            );
        }
    }
    physical
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn key_schema(value: Option<&Value>) -> Vec<KeySchemaElement> {
    value
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()
                .ok()
        })
        .collect()
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    logical: &str,
    name: &str,
    properties: &Value,
    region: &str,
) -> Result<Physical, ProvisionError> {
    let attributes = properties
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            AttributeDefinition::builder()
                .attribute_name(text(a, "AttributeName")?)
                .attribute_type(ScalarAttributeType::from(text(a, "AttributeType")?))
                .build()
                .ok()
        })
        .collect::<Vec<_>>();
    let indexes = properties
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|index| {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(
                    index
                        .get("Projection")
                        .and_then(|p| text(p, "ProjectionType"))
                        .unwrap_or("ALL"),
                ))
                .build();
            GlobalSecondaryIndex::builder()
                .index_name(text(index, "IndexName").unwrap_or_default())
                .set_key_schema(Some(key_schema(index.get("KeySchema"))))
                .projection(projection)
                .build()
                .map_err(|e| aws_error(logical, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(properties.get("KeySchema"))))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    match created {
        Ok(_) => {
            if let Some(ttl) = properties.get("TimeToLiveSpecification")
                && let Some(attribute) = text(ttl, "AttributeName")
            {
                let spec = TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| aws_error(logical, e))?;
                client
                    .update_time_to_live()
                    .table_name(name)
                    .time_to_live_specification(spec)
                    .send()
                    .await
                    .map_err(|e| {
                        aws_error(logical, aws_sdk_dynamodb::error::DisplayErrorContext(e))
                    })?;
            }
        }
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) => {}
        Err(error) => {
            return Err(aws_error(
                logical,
                aws_sdk_dynamodb::error::DisplayErrorContext(error),
            ));
        }
    }
    Ok(Physical {
        reference: name.to_owned(),
        attributes: BTreeMap::from([(
            "Arn".to_owned(),
            format!("arn:aws:dynamodb:{region}:{LOCAL_ACCOUNT}:table/{name}"),
        )]),
    })
}

/// Queue properties passed through as SQS attributes.
const QUEUE_ATTRIBUTES: [(&str, &str); 5] = [
    ("VisibilityTimeout", "VisibilityTimeout"),
    ("MessageRetentionPeriod", "MessageRetentionPeriod"),
    ("DelaySeconds", "DelaySeconds"),
    (
        "ReceiveMessageWaitTimeSeconds",
        "ReceiveMessageWaitTimeSeconds",
    ),
    ("MaximumMessageSize", "MaximumMessageSize"),
];

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    logical: &str,
    name: &str,
    properties: &Value,
) -> Result<Physical, ProvisionError> {
    let mut request = client.create_queue().queue_name(name);
    for (property, attribute) in QUEUE_ATTRIBUTES {
        if let Some(value) = properties.get(property).and_then(scalar) {
            request = request.attributes(QueueAttributeName::from(attribute), value);
        }
    }
    if let Some(redrive) = properties.get("RedrivePolicy") {
        let json = serde_json::json!({
            "deadLetterTargetArn": text(redrive, "deadLetterTargetArn"),
            "maxReceiveCount": redrive.get("maxReceiveCount").and_then(scalar),
        });
        request = request.attributes(QueueAttributeName::RedrivePolicy, json.to_string());
    }
    let url = request
        .send()
        .await
        .map_err(|e| aws_error(logical, aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .queue_url
        .ok_or_else(|| aws_error(logical, "CreateQueue returned no URL"))?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| aws_error(logical, aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| aws_error(logical, "no QueueArn"))?;
    Ok(Physical {
        reference: url.clone(),
        attributes: BTreeMap::from([
            ("Arn".to_owned(), arn),
            ("QueueName".to_owned(), name.to_owned()),
            ("QueueUrl".to_owned(), url),
        ]),
    })
}

async fn create_bucket(
    client: &aws_sdk_s3::Client,
    logical: &str,
    name: &str,
    region: &str,
) -> Result<Physical, ProvisionError> {
    let mut request = client.create_bucket().bucket(name);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) => {}
        Err(error) => {
            return Err(aws_error(
                logical,
                aws_sdk_s3::error::DisplayErrorContext(error),
            ));
        }
    }
    Ok(Physical {
        reference: name.to_owned(),
        attributes: BTreeMap::from([
            ("Arn".to_owned(), format!("arn:aws:s3:::{name}")),
            ("DomainName".to_owned(), format!("{name}.s3.amazonaws.com")),
        ]),
    })
}

async fn create_bus(
    client: &aws_sdk_eventbridge::Client,
    logical: &str,
    name: &str,
    region: &str,
) -> Result<Physical, ProvisionError> {
    let created = client.create_event_bus().name(name).send().await;
    let arn = match created {
        Ok(output) => output.event_bus_arn,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) =>
        {
            None
        }
        Err(error) => {
            return Err(aws_error(
                logical,
                aws_sdk_eventbridge::error::DisplayErrorContext(error),
            ));
        }
    };
    let arn =
        arn.unwrap_or_else(|| format!("arn:aws:events:{region}:{LOCAL_ACCOUNT}:event-bus/{name}"));
    Ok(Physical {
        reference: name.to_owned(),
        attributes: BTreeMap::from([
            ("Arn".to_owned(), arn),
            ("Name".to_owned(), name.to_owned()),
        ]),
    })
}

async fn create_rule(
    client: &aws_sdk_eventbridge::Client,
    logical: &str,
    name: &str,
    properties: &Value,
) -> Result<Physical, ProvisionError> {
    let bus = text(properties, "EventBusName").unwrap_or("default");
    let pattern = properties
        .get("EventPattern")
        .map(|p| serde_json::to_string(p).map_err(|e| aws_error(logical, e)))
        .transpose()?;
    let output = client
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .set_event_pattern(pattern)
        .set_schedule_expression(text(properties, "ScheduleExpression").map(str::to_owned))
        .state(aws_sdk_eventbridge::types::RuleState::Enabled)
        .send()
        .await
        .map_err(|e| aws_error(logical, aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
    let targets = properties
        .get("Targets")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .map(|t| {
            aws_sdk_eventbridge::types::Target::builder()
                .id(text(t, "Id").unwrap_or(logical))
                .arn(text(t, "Arn").unwrap_or_default())
                .build()
                .map_err(|e| aws_error(logical, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !targets.is_empty() {
        client
            .put_targets()
            .rule(name)
            .event_bus_name(bus)
            .set_targets(Some(targets))
            .send()
            .await
            .map_err(|e| aws_error(logical, aws_sdk_eventbridge::error::DisplayErrorContext(e)))?;
    }
    Ok(Physical {
        reference: name.to_owned(),
        attributes: BTreeMap::from([("Arn".to_owned(), output.rule_arn.unwrap_or_default())]),
    })
}

async fn create_topic(
    client: &aws_sdk_sns::Client,
    logical: &str,
    name: &str,
) -> Result<Physical, ProvisionError> {
    // CreateTopic is idempotent: an existing topic's ARN is returned.
    let arn = client
        .create_topic()
        .name(name)
        .send()
        .await
        .map_err(|e| aws_error(logical, aws_sdk_sns::error::DisplayErrorContext(e)))?
        .topic_arn
        .ok_or_else(|| aws_error(logical, "CreateTopic returned no TopicArn"))?;
    Ok(Physical {
        reference: arn.clone(),
        attributes: BTreeMap::from([
            ("TopicArn".to_owned(), arn),
            ("TopicName".to_owned(), name.to_owned()),
        ]),
    })
}

/// Subscribes an SQS queue (`Endpoint`, its ARN) to a topic (`TopicArn`); other protocols have
/// no local counterpart.
async fn subscribe(
    client: &aws_sdk_sns::Client,
    logical: &str,
    properties: &Value,
) -> Result<Physical, ProvisionError> {
    let required =
        |key: &str| text(properties, key).ok_or_else(|| aws_error(logical, format!("no {key}")));
    let protocol = required("Protocol")?;
    if protocol != "sqs" {
        return Err(TemplateError::Unsupported(format!(
            "{logical}: only `sqs` subscriptions are provisioned locally, not `{protocol}`"
        ))
        .into());
    }
    let mut request = client
        .subscribe()
        .topic_arn(required("TopicArn")?)
        .protocol(protocol)
        .endpoint(required("Endpoint")?)
        .return_subscription_arn(true);
    if let Some(raw) = properties.get("RawMessageDelivery").and_then(scalar) {
        request = request.attributes("RawMessageDelivery", raw);
    }
    // Subscribe is idempotent: the existing subscription's ARN is returned.
    let arn = request
        .send()
        .await
        .map_err(|e| aws_error(logical, aws_sdk_sns::error::DisplayErrorContext(e)))?
        .subscription_arn
        .ok_or_else(|| aws_error(logical, "Subscribe returned no SubscriptionArn"))?;
    Ok(Physical {
        reference: arn,
        attributes: BTreeMap::new(),
    })
}
