//! Local provisioning is derived from template.yaml: what the template declares is what exists;
//! `make local` adds what bulk deliveries need on the emulator (a verified sender, a webhook
//! secret).

use std::time::Duration;

use integration_tests::TestStack;
use lifecycle_adapters::aws::{AwsClients, RequestCounter};
use lifecycle_adapters::delivery::{Email, EmailSender, SigningSecrets};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::secret_ref::SecretRef;
use lifecycle_domain::delivery::webhook_signature::SigningKey;
use local_stack::local_delivery::{LOCAL_WEBHOOK_SECRET, provision_delivery_fixtures};
use local_stack::{Template, aws_env, provision};

#[tokio::test]
async fn the_local_table_and_queues_match_the_template() {
    let stack = TestStack::new().await;
    let template = Template::load(&local_stack::template_path()).unwrap();

    let table = stack
        .setup
        .dynamodb
        .describe_table()
        .table_name(stack.stack.reference("CampaignTable").unwrap())
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let mut local: Vec<&str> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    local.sort();
    let declared = template.resources["CampaignTable"].properties["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| i["IndexName"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(local, declared);

    let attributes = stack
        .setup
        .sqs
        .get_queue_attributes()
        .queue_url(stack.queue_url("TimersQueue"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy])
            .unwrap();
    let declared = &template.resources["TimersQueue"].properties;
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        declared["RedrivePolicy"]["maxReceiveCount"]
            .as_u64()
            .unwrap()
            .to_string()
    );
    assert_eq!(
        attributes[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout],
        declared["VisibilityTimeout"].as_u64().unwrap().to_string()
    );
}

/// The alarm topic exists under its local name, and `!Ref` gives its ARN (its KMS key is not
/// provisioned: the topic is created without it).
#[tokio::test]
async fn the_local_topic_matches_the_template() {
    let stack = TestStack::new().await;
    let arn = stack.stack.reference("AlarmTopic").unwrap();
    assert_eq!(
        arn,
        format!(
            "arn:aws:sns:{}:123456789012:{}-AlarmTopic",
            aws_env::region(),
            stack.stack.name
        )
    );
    let attributes = stack
        .setup
        .sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes["TopicArn"], arn);
    assert!(!attributes.contains_key("KmsMasterKeyId"), "{attributes:?}");
}

/// A topic named by the template and an SQS subscription to it: a message published to the
/// topic reaches the queue. Provisioning twice keeps both.
#[tokio::test]
async fn a_named_topic_delivers_to_its_sqs_subscription() {
    let clients = AwsClients::from_sdk_config(&aws_env::sdk_config().await, &RequestCounter::new());
    let name = format!("it-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let template = Template::parse(&format!(
        r#"
Resources:
  AlertTopic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: {name}-alerts
  AlertQueue:
    Type: AWS::SQS::Queue
  AlertSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref AlertTopic
      Protocol: sqs
      Endpoint: !GetAtt AlertQueue.Arn
      RawMessageDelivery: true
"#
    ))
    .unwrap();
    let region = aws_env::region();
    let stack = provision(&clients, &template, &name, &region)
        .await
        .unwrap();
    let again = provision(&clients, &template, &name, &region)
        .await
        .unwrap();
    let topic = stack.reference("AlertTopic").unwrap();
    assert_eq!(
        topic,
        format!("arn:aws:sns:{region}:123456789012:{name}-alerts")
    );
    assert_eq!(again.reference("AlertTopic"), Some(topic));
    assert_eq!(
        again.reference("AlertSubscription"),
        stack.reference("AlertSubscription")
    );

    clients
        .sns
        .publish()
        .topic_arn(topic)
        .message("alert")
        .send()
        .await
        .unwrap();
    let queue = stack.reference("AlertQueue").unwrap();
    let mut bodies = Vec::new();
    for _ in 0..10 {
        let received = clients
            .sqs
            .receive_message()
            .queue_url(queue)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        bodies.extend(
            received
                .messages()
                .iter()
                .filter_map(|m| m.body().map(str::to_owned)),
        );
        if !bodies.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bodies, ["alert"]);
}

#[tokio::test]
async fn make_local_verifies_a_sender_and_stores_a_webhook_secret_idempotently() {
    let stack = TestStack::new().await;
    let sender = format!(
        "campaigns@{}.example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    let first = provision_delivery_fixtures(&stack.setup, &stack.stack.name, &sender)
        .await
        .unwrap();
    let again = provision_delivery_fixtures(&stack.setup, &stack.stack.name, &sender)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(
        first.webhook_secret_ref,
        format!("ssm:/{}/webhooks/local", stack.stack.name)
    );

    let email = Email {
        from: &sender,
        to: &["someone@example.org".to_owned()],
        subject: "s",
        text: Some("t"),
        html: None,
    };
    let ses = EmailSender::new(stack.setup.delivery.sesv2.clone());
    assert_eq!(ses.send(email).await, SendOutcome::Delivered);

    let secrets = SigningSecrets::new(
        stack.setup.delivery.ssm.clone(),
        stack.setup.delivery.secretsmanager.clone(),
        stack.services.resilience.clone(),
    );
    let reference = SecretRef::parse(&first.webhook_secret_ref).unwrap();
    let key = secrets.key(&reference).await.unwrap();
    let expected = SigningKey::parse(LOCAL_WEBHOOK_SECRET).unwrap();
    let signature = key.sign("id", 1, b"{}");
    assert!(expected.verify("id", 1, b"{}", &signature, 1));
}
